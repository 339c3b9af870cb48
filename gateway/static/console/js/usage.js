// Usage and cost per day, by key, model or provider, as stacked bars and a table of totals.

import { api, h, money, table } from "./api.js";
import { stackedBars } from "./chart.js";

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

export async function render(root, who) {
  // An admin sees every key's usage: name the keys rather than show their ids.
  const names = new Map();
  if (who.admin) {
    for (const key of (await api("GET", "/api/v1/admin/keys")).data) names.set(key.id, key.name);
  }
  const label = (dim, value) => (dim === "key" && names.has(value) ? names.get(value) : value);
  const days = h("select", { id: "usage-days" }, [7, 14, 30, 90].map((n) => h("option", { value: n }, `${n} days`)));
  const group = h("select", { id: "usage-group" }, ["model", "key", "provider"].map((g) => h("option", { value: g }, g)));
  const out = h("div", { id: "usage-charts" });

  async function refresh() {
    const until = new Date();
    const since = new Date(until.getTime() - (Number(days.value) - 1) * 86400000);
    const dim = group.value;
    const query = new URLSearchParams({ from: isoDay(since), to: isoDay(until), group_by: `day,${dim}` });
    const rows = (await api("GET", `/api/v1/usage?${query}`)).data;
    const dayList = [];
    for (let t = since.getTime(); isoDay(new Date(t)) <= isoDay(until); t += 86400000) dayList.push(isoDay(new Date(t)));
    const values = [...new Set(rows.map((r) => r[dim]))].sort();
    const seriesOf = (metric) => values.map((name) => ({
      name: label(dim, name),
      values: dayList.map((day) => rows.filter((r) => r.day === day && r[dim] === name).reduce((sum, r) => sum + metric(r), 0)),
    }));
    const tokens = (r) => r.prompt_tokens + r.completion_tokens;
    const totals = values.map((name) => {
      const mine = rows.filter((r) => r[dim] === name);
      const sum = (f) => mine.reduce((s, r) => s + f(r), 0);
      return { name: label(dim, name), requests: sum((r) => r.requests), tokens: sum(tokens), cost: sum((r) => r.cost_usd),
        hits: sum((r) => r.cache_hits) };
    });
    out.replaceChildren(
      h("div", { class: "grid2" },
        stackedBars(`Tokens per day by ${dim}`, dayList, seriesOf(tokens), (v) => Math.round(v).toLocaleString()),
        stackedBars(`Cost per day by ${dim}`, dayList, seriesOf((r) => r.cost_usd), (v) => money(v))),
      table(
        [
          { title: dim, cell: (t) => t.name },
          { title: "Requests", num: true, cell: (t) => t.requests.toLocaleString() },
          { title: "Tokens", num: true, cell: (t) => t.tokens.toLocaleString() },
          { title: "Cache hits", num: true, cell: (t) => t.hits.toLocaleString() },
          { title: "Cost", num: true, cell: (t) => money(t.cost) },
        ],
        totals,
      ),
    );
  }

  days.addEventListener("change", refresh);
  group.addEventListener("change", refresh);
  root.append(
    h("h2", {}, "Usage and cost"),
    h("div", { class: "row card" }, h("label", {}, "Period", days), h("label", {}, "Group by", group)),
    out,
  );
  await refresh();
}

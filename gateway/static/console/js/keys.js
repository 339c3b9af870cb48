// Keys (admin key only): create with models, limits and a budget; list; revoke.

import { api, badge, errorBox, h, money, table, when } from "./api.js";

function limitsOf(key) {
  const l = key.limits || {};
  const parts = [];
  if (l.requests_per_minute) parts.push(`${l.requests_per_minute} rpm`);
  if (l.tokens_per_minute) parts.push(`${l.tokens_per_minute} tpm`);
  if (l.concurrent_jobs) parts.push(`${l.concurrent_jobs} at once`);
  return parts.join(" · ") || "none";
}

function number(input) {
  return input.value === "" ? undefined : Number(input.value);
}

export async function render(root, who) {
  root.append(h("h2", {}, "Keys"));
  if (!who.admin) {
    root.append(h("p", { class: "muted" }, "Managing keys needs the admin key."));
    return;
  }
  const name = h("input", { id: "key-name", required: true, placeholder: "team-a" });
  const models = h("input", { id: "key-models", placeholder: "all models" });
  const rpm = h("input", { id: "key-rpm", type: "number", min: 1 });
  const tpm = h("input", { id: "key-tpm", type: "number", min: 1 });
  const concurrency = h("input", { id: "key-concurrency", type: "number", min: 1 });
  const budget = h("input", { id: "key-budget", type: "number", min: 0, step: "0.01" });
  const period = h("select", { id: "key-period" }, h("option", {}, "month"), h("option", {}, "day"));
  const created = h("div", { id: "created" });
  const list = h("div", { id: "key-list" });

  async function refresh() {
    const keys = (await api("GET", "/api/v1/admin/keys")).data;
    keys.sort((a, b) => b.created_at - a.created_at);
    list.replaceChildren(
      table(
        [
          { title: "Name", cell: (k) => k.name },
          { title: "Id", cell: (k) => h("code", {}, k.id) },
          { title: "Models", cell: (k) => (k.allowed_models || ["all"]).join(", ") },
          { title: "Limits", cell: limitsOf },
          { title: "Budget", cell: (k) => (k.budget ? `${money(k.budget.limit_usd)} / ${k.budget.period}` : "none") },
          { title: "Created", cell: (k) => when(k.created_at) },
          { title: "State", cell: (k) => badge(k.revoked ? "revoked" : "ok") },
          {
            title: "",
            cell: (k) => k.revoked ? "" : h("button", {
              class: "danger", "data-revoke": k.id,
              onclick: async () => {
                if (!confirm(`Revoke ${k.name}? Every gateway refuses it from its next request.`)) return;
                await api("DELETE", `/api/v1/admin/keys/${k.id}`);
                refresh();
              },
            }, "Revoke"),
          },
        ],
        keys,
      ),
    );
  }

  async function create(event) {
    event.preventDefault();
    created.replaceChildren();
    const body = { name: name.value.trim(), limits: {} };
    if (models.value.trim()) body.allowed_models = models.value.split(",").map((m) => m.trim()).filter(Boolean);
    if (number(rpm)) body.limits.requests_per_minute = number(rpm);
    if (number(tpm)) body.limits.tokens_per_minute = number(tpm);
    if (number(concurrency)) body.limits.concurrent_jobs = number(concurrency);
    if (number(budget)) body.budget = { limit_usd: number(budget), period: period.value };
    try {
      const key = await api("POST", "/api/v1/admin/keys", body);
      created.append(h("div", { class: "secret" }, `Key for ${key.name} (shown once): `, h("code", { id: "new-key" }, key.key)));
      event.target.reset();
      refresh();
    } catch (error) {
      created.append(errorBox(error));
    }
  }

  root.append(
    h("form", { class: "card", onsubmit: create },
      h("h3", {}, "Create a key"),
      h("div", { class: "row" },
        h("label", {}, "Name", name),
        h("label", {}, "Models (comma list)", models),
        h("label", {}, "Requests / min", rpm),
        h("label", {}, "Tokens / min", tpm),
        h("label", {}, "Concurrent jobs", concurrency),
        h("label", {}, "Budget USD", budget),
        h("label", {}, "per", period),
        h("button", { type: "submit", id: "create-key" }, "Create")),
      created),
    list,
  );
  await refresh();
}

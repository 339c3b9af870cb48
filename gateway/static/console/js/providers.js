// Providers: health, each model's circuit, recent error rate and latency; refreshed every 5 s.

import { api, badge, h, table } from "./api.js";

export async function render(root) {
  const out = h("div", { id: "provider-list" });
  const health = h("div", { class: "card", id: "health" });

  async function refresh() {
    const providers = (await api("GET", "/api/v1/llm/providers")).data;
    out.replaceChildren(
      table(
        [
          { title: "Provider", cell: (p) => h("strong", {}, p.name) },
          { title: "Kind", cell: (p) => p.kind },
          { title: "Health", cell: (p) => badge(p.enabled ? p.health : "disabled") },
          {
            title: "Circuits (model: state)",
            cell: (p) => h("div", {}, p.circuits.map((c) => h("div", { class: "circuit" }, h("code", {}, c.model), " ", badge(c.state)))),
          },
          { title: "Requests", num: true, cell: (p) => p.recent.requests },
          { title: "Error rate", num: true, cell: (p) => (p.recent.error_rate === null ? "–" : `${(p.recent.error_rate * 100).toFixed(1)}%`) },
          { title: "TTFT", num: true, cell: (p) => (p.recent.avg_time_to_first_token_ms === null ? "–" : `${Math.round(p.recent.avg_time_to_first_token_ms)} ms`) },
        ],
        providers,
      ),
      h("p", { class: "muted" }, `Figures over the last ${providers[0]?.recent.window_minutes ?? "?"} minutes.`),
    );
    try {
      const report = await api("GET", "/api/v1/health");
      health.replaceChildren(h("strong", {}, "Gateway: "), badge(report.status));
    } catch (error) {
      health.replaceChildren(h("strong", {}, "Gateway: "), badge(error.status === 503 ? "degraded" : "unavailable"));
    }
  }

  root.append(h("h2", {}, "Providers"), health, out);
  await refresh();
  const timer = setInterval(() => refresh().catch(() => {}), 5000);
  return () => clearInterval(timer);
}

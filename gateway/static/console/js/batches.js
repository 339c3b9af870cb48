// Batches of this key: status and progress, refreshed every 3 s.

import { api, badge, h, table, when } from "./api.js";

function progress(batch) {
  const c = batch.request_counts || { total: 0, completed: 0, failed: 0 };
  const share = (n) => (c.total ? (100 * n) / c.total : 0);
  return h("span", {},
    h("span", { class: "progress", title: `${c.completed} done, ${c.failed} failed of ${c.total}` },
      h("span", { class: "failed", style: `width:${share(c.failed)}%` }),
      h("span", { style: `width:${share(c.completed)}%` })),
    `${c.completed + c.failed} / ${c.total}`);
}

export async function render(root) {
  const out = h("div", { id: "batch-list" });

  async function refresh() {
    const batches = (await api("GET", "/v1/batches?limit=50")).data;
    out.replaceChildren(
      table(
        [
          { title: "Batch", cell: (b) => h("code", {}, b.id) },
          { title: "Status", cell: (b) => badge(b.status) },
          { title: "Progress", cell: progress },
          { title: "Created", cell: (b) => when(b.created_at) },
          { title: "Metadata", cell: (b) => (b.metadata ? Object.entries(b.metadata).map(([k, v]) => `${k}=${v}`).join(" ") : "") },
        ],
        batches,
      ),
    );
  }

  root.append(h("h2", {}, "Batches"), h("p", { class: "muted" }, "The batches of the key in use (llm-gateway batch submit, or the Batch API)."), out);
  await refresh();
  const timer = setInterval(() => refresh().catch(() => {}), 3000);
  return () => clearInterval(timer);
}

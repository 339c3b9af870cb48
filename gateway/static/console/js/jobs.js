// Jobs: the latest (or only the live) jobs, refreshed every 2 s; follow one live with
// EventSource and its stream token (links.event_source), as a page on another origin would.

import { api, badge, h, money, table, when } from "./api.js";

export async function render(root) {
  const live = h("input", { id: "live-only", type: "checkbox" });
  const out = h("div", { id: "job-list" });
  const follow = h("div", { class: "live", id: "follow" }, "Follow a job to see its events arrive.");
  let source = null;

  function watch(job) {
    if (source) source.close();
    follow.textContent = "";
    api("GET", `/api/v1/jobs/${job.id}`).then((full) => {
      if (!full.links.event_source) {
        follow.textContent = "stream tokens are off on this gateway";
        return;
      }
      source = new EventSource(full.links.event_source);
      source.addEventListener("delta", (e) => { follow.textContent += JSON.parse(e.data).content || ""; });
      source.addEventListener("done", () => { follow.textContent += "\n[done]"; });
      source.addEventListener("error", (e) => {
        if (e.data) follow.textContent += `\n[error] ${JSON.parse(e.data).message}`;
      });
    }, (error) => { follow.textContent = error.message; });
  }

  async function refresh() {
    const jobs = (await api("GET", `/api/v1/jobs?limit=50${live.checked ? "&live=true" : ""}`)).data;
    out.replaceChildren(
      table(
        [
          { title: "Job", cell: (j) => h("code", { class: "job-id" }, j.id) },
          { title: "Status", cell: (j) => badge(j.status) },
          { title: "Kind", cell: (j) => j.kind },
          { title: "Model", cell: (j) => j.model },
          { title: "Provider", cell: (j) => j.provider || "–" },
          { title: "Queued", cell: (j) => when(j.timings.queued_at) },
          { title: "Events", num: true, cell: (j) => j.last_seq },
          { title: "Tokens", num: true, cell: (j) => (j.usage ? j.usage.total_tokens : "–") },
          { title: "Cost", num: true, cell: (j) => money(j.cost) },
          { title: "", cell: (j) => h("button", { class: "secondary", onclick: () => watch(j) }, "Follow") },
        ],
        jobs,
      ),
    );
  }

  live.addEventListener("change", refresh);
  root.append(
    h("h2", {}, "Jobs"),
    h("div", { class: "row card" }, h("label", {}, "Only live jobs", live)),
    out,
    h("h3", {}, "Events"),
    follow,
  );
  await refresh();
  const timer = setInterval(() => refresh().catch(() => {}), 2000);
  return () => {
    clearInterval(timer);
    if (source) source.close();
  };
}

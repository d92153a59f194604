// The experiments list: trace counts, last activity; create, rename, delete.

import { ApiError } from "./api.js";
import { askDialog, counted, formatTime, h, refreshTimes, timeAgo } from "./dom.js";

const POLL_MS = 5000;

export function mountExperiments(element, _state, app) {
  const status = h("p", { class: "tg-status", role: "status" });
  const tbody = h("tbody");
  const table = h("table", { class: "tg-table tg-experiments", "aria-label": "Experiments" },
    h("thead", null, h("tr", null,
      h("th", { scope: "col" }, "Name"), h("th", { scope: "col", class: "tg-num" }, "Traces"),
      h("th", { scope: "col" }, "Last activity"), h("th", { scope: "col" }, "Created"),
      h("th", { scope: "col" }, h("span", { class: "tg-visually-hidden" }, "Actions")))),
    tbody);
  const create = h("button", { type: "button", class: "tg-primary", "aria-label": "Create experiment" }, "+ New experiment");
  element.replaceChildren(
    h("div", { class: "tg-pagehead" }, h("h1", null, "Experiments"), create),
    status, table);
  app.setCrumbs({ label: "Experiments" });
  document.title = "Experiments · traceglass";
  let experiments = [];
  let signature = "";
  let timer = null;
  let stopped = false;

  function open(experiment) {
    app.navigate({ experiment: String(experiment.experiment_id), tab: "", search: "", filter: "", sort: "",
      trace: "", span: "", compare: "" });
  }

  function row(experiment) {
    const link = h("a", { href: `/?experiment=${experiment.experiment_id}` }, experiment.name);
    link.addEventListener("click", (event) => { event.preventDefault(); open(experiment); });
    return h("tr", null,
      h("th", { scope: "row" }, link),
      h("td", { class: "tg-num" }, String(experiment.trace_count)),
      h("td", null, experiment.last_activity_ms ? timeAgo(experiment.last_activity_ms)
        : h("span", { class: "tg-muted" }, "no traces")),
      h("td", null, formatTime(experiment.created_ms)),
      h("td", { class: "tg-actions" },
        h("button", { type: "button", "aria-label": `Rename experiment ${experiment.name}`,
          onclick: () => rename(experiment) }, "Rename"),
        h("button", { type: "button", class: "tg-danger-text", "aria-label": `Delete experiment ${experiment.name}`,
          onclick: () => remove(experiment) }, "Delete")));
  }

  async function load() {
    try {
      const data = await app.apiFetch("/experiments");
      experiments = data.experiments;
      const next = JSON.stringify(experiments);
      if (next !== signature) {
        signature = next;
        tbody.replaceChildren(...experiments.map(row));
        status.textContent = experiments.length ? counted(experiments.length, "experiment") : "No experiments yet: send traces, or create one.";
      } else {
        refreshTimes(tbody);
      }
    } catch (exc) {
      status.textContent = `Could not load the experiments: ${exc.message}`;
    }
  }

  async function ask(title, confirm, value, act) {
    let message = null;
    for (;;) {
      const answer = await askDialog({ title, confirm, message, fields: [{ name: "name", label: "Name", value }] });
      if (!answer) return;
      try {
        await act(answer.name.trim());
        await load();
        return;
      } catch (exc) {
        message = exc instanceof ApiError ? exc.message : String(exc);
        value = answer.name;
      }
    }
  }

  function rename(experiment) {
    return ask(`Rename experiment ${experiment.name}`, "Rename", experiment.name,
      (name) => app.apiFetch(`/experiments/${experiment.experiment_id}`, { method: "PATCH", body: { name } }));
  }

  async function remove(experiment) {
    const traces = experiment.trace_count === 1 ? "Its one trace is" : `Its ${counted(experiment.trace_count, "trace")} are`;
    const answer = await askDialog({
      title: `Delete experiment ${experiment.name}?`, confirm: "Delete", danger: true,
      message: `${traces} deleted with it. This cannot be undone.`,
    });
    if (!answer) return;
    await app.apiFetch(`/experiments/${experiment.experiment_id}`, { method: "DELETE" }).catch((exc) => {
      status.textContent = `Could not delete: ${exc.message}`;
    });
    await load();
  }

  create.addEventListener("click", () => ask("Create experiment", "Create", "",
    (name) => app.apiFetch("/experiments", { method: "POST", body: { name } })));

  async function poll() {
    if (stopped) return;
    if (document.visibilityState === "visible") await load();
    timer = setTimeout(poll, POLL_MS);
  }
  load().then(() => { timer = setTimeout(poll, POLL_MS); });

  return {
    update() {},
    destroy() { stopped = true; clearTimeout(timer); },
  };
}

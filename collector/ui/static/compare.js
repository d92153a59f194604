// Two or more traces side by side, each in the trace view (compact: tree above details).

import { MAX_VALUE_LENGTH, segment } from "./api.js";
import { h } from "./dom.js";
import { mountTraceView } from "./trace-view.js";

export function mountCompare(element, state, app) {
  const ids = state.compare.split(",").filter(Boolean);
  const back = h("button", { type: "button", onclick: () => app.navigate({ compare: "" }) }, "Back to traces");
  const grid = h("div", { class: "tg-compare" });
  element.replaceChildren(h("div", { class: "tg-pagehead" }, h("h1", null, `Compare ${ids.length} traces`), back), grid);
  document.title = "Compare traces · traceglass";
  app.setCrumbs({ label: "Experiments", href: "/", state: { experiment: "", compare: "", tab: "", search: "", filter: "",
    sort: "", trace: "", span: "" } },
  ...(state.experiment ? [{ label: "Traces", href: `/?experiment=${segment(state.experiment)}`, state: { compare: "" } }] : []),
  { label: "Compare" });
  const views = [];
  for (const id of ids) {
    const column = h("section", { class: "tg-compare-col", "aria-label": `Trace ${id}` },
      h("p", { class: "tg-muted", role: "status" }, "Loading trace…"));
    grid.append(column);
    app.apiFetch(`/traces/${segment(id)}?max_value_length=${MAX_VALUE_LENGTH}`).then((trace) => {
      views.push(mountTraceView(column, trace, {
        compact: true, fetchSpan: (tid, sid) => app.apiFetch(`/traces/${segment(tid)}/spans/${segment(sid)}`),
      }));
    }, (exc) => column.replaceChildren(h("p", { class: "tg-error", role: "alert" }, `Could not load trace ${id}: ${exc.message}`)));
  }
  return { update() {}, destroy() { for (const view of views) view.destroy(); } };
}

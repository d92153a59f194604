// The tag editor: a dialog listing the tags of one or more traces, to add, replace or remove them.

import { segment } from "./api.js";
import { h } from "./dom.js";

// The key in the query string: a key "." or ".." would be resolved away as a path segment.
function tagPath(traceId, key) {
  return `/traces/${segment(traceId)}/tags?key=${encodeURIComponent(key)}`;
}

// Resolves when the dialog is closed; every change is sent as it is made.
export async function tagDialog(app, infos) {
  const many = infos.length > 1;
  const list = h("ul", { class: "tg-taglist", "aria-label": "Current tags" });
  const error = h("p", { class: "tg-error", role: "alert" });
  const key = h("input", { "aria-label": "Tag key", placeholder: "key", autocomplete: "off", required: true });
  const value = h("input", { "aria-label": "Tag value", placeholder: "value", autocomplete: "off" });
  const tags = new Map(); // key -> set of values across the traces
  const refreshList = () => {
    tags.clear();
    for (const info of infos) {
      for (const [k, v] of Object.entries(info.tags || {})) (tags.get(k) || tags.set(k, new Set()).get(k)).add(v);
    }
    list.replaceChildren(...[...tags].map(([k, values]) => h("li", null,
      h("span", { class: "tg-chip" }, `${k}: ${[...values].join(" | ")}`),
      h("button", { type: "button", "aria-label": `Remove tag ${k}`, onclick: async () => {
        try {
          await Promise.all(infos.map((info) => app.apiFetch(tagPath(info.trace_id, k),
            { method: "DELETE" })));
          for (const info of infos) delete info.tags[k];
          refreshList();
        } catch (exc) { error.textContent = exc.message; }
      } }, "Remove"))));
    if (!tags.size) list.append(h("li", { class: "tg-muted" }, "No tags."));
  };
  infos = infos.map((info) => ({ ...info, tags: { ...(info.tags || {}) } }));
  refreshList();
  const add = h("form", { class: "tg-tagform" }, key, value, h("button", { type: "submit", class: "tg-primary" }, "Add tag"));
  add.addEventListener("submit", async (event) => {
    event.preventDefault();
    const k = key.value.trim();
    if (!k) return;
    try {
      await Promise.all(infos.map((info) => app.apiFetch(tagPath(info.trace_id, k),
        { method: "PUT", body: { value: value.value } })));
      for (const info of infos) info.tags[k] = value.value;
      key.value = "";
      value.value = "";
      error.textContent = "";
      refreshList();
      key.focus();
    } catch (exc) { error.textContent = exc.message; }
  });
  const title = many ? `Tags of ${infos.length} traces` : `Tags of trace ${infos[0].trace_id}`;
  const done = h("button", { type: "button" }, "Done");
  const dialog = h("dialog", { class: "tg-dialog", "aria-label": title },
    h("h2", null, title), list, add, error, h("div", { class: "tg-dialog-buttons" }, done));
  document.body.append(dialog);
  await new Promise((resolve) => {
    done.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", resolve);
    dialog.showModal();
    key.focus();
  });
  dialog.remove();
}

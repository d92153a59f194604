// DOM building for the app: every string becomes a text node or an attribute value, never HTML.

export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value == null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "checked" || key === "disabled" || key === "hidden" || key === "value") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

// "1 experiment", "2 experiments".
export function counted(n, singular, plural = `${singular}s`) {
  return `${n.toLocaleString("en-US")} ${n === 1 ? singular : plural}`;
}

export function formatTime(ms) {
  if (ms == null) return "–";
  const date = new Date(ms);
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

export function relativeTime(ms) {
  if (ms == null) return "never";
  const seconds = Math.round((Date.now() - ms) / 1000);
  if (seconds < 60) return seconds <= 1 ? "just now" : `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return formatTime(ms);
}

// "5 min ago" as a <time> (its exact local time in the tooltip), kept current by refreshTimes().
export function timeAgo(ms) {
  return h("time", { datetime: new Date(ms).toISOString(), title: formatTime(ms), "data-ms": ms }, relativeTime(ms));
}

// Bring every timeAgo() under `root` up to date: "just now" must not stay so while nothing changes.
export function refreshTimes(root) {
  for (const time of root.querySelectorAll("time[data-ms]")) {
    const text = relativeTime(Number(time.dataset.ms));
    if (time.textContent !== text) time.textContent = text;
  }
}

// A modal <dialog> with a form; resolves with the form's values, or null when cancelled.
export function askDialog({ title, fields = [], confirm, danger = false, message }) {
  return new Promise((resolve) => {
    const inputs = fields.map((field) => h("input", {
      name: field.name, value: field.value || "", required: field.required !== false, "aria-label": field.label,
      autocomplete: "off", spellcheck: "false",
    }));
    const cancel = h("button", { type: "button", value: "cancel" }, "Cancel");
    const ok = h("button", { type: "submit", class: danger ? "tg-danger" : "tg-primary" }, confirm);
    const error = h("p", { class: "tg-error", role: "alert" });
    const form = h("form", { method: "dialog" },
      h("h2", null, title),
      message ? h("p", null, message) : null,
      fields.map((field, i) => h("label", { class: "tg-field" }, h("span", null, field.label), inputs[i])),
      error,
      h("div", { class: "tg-dialog-buttons" }, cancel, ok));
    const dialog = h("dialog", { class: "tg-dialog", "aria-label": title }, form);
    let done = false;
    const finish = (value) => {
      if (done) return;
      done = true;
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    cancel.addEventListener("click", () => finish(null));
    dialog.addEventListener("cancel", () => finish(null));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const values = Object.fromEntries(fields.map((field, i) => [field.name, inputs[i].value]));
      finish(values);
    });
    document.body.append(dialog);
    dialog.showModal();
    (inputs[0] || ok).focus();
  });
}

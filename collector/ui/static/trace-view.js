// The trace view: header, span tree beside a waterfall timeline, and the selected span's details
// (Chat, Inputs / Outputs, Attributes, Events).
//
//   import { mountTraceView } from "./trace-view.js";
//   const view = mountTraceView(element, trace, { fetchSpan, selectedSpanId, onSelectSpan, compact });
//
// `trace` is the JSON of GET /api/v1/traces/{trace_id}. `fetchSpan(traceId, spanId)` (optional)
// returns a span in full, for spans whose `truncated_attributes` were cut by the server; without
// it the view shows what is embedded. The module stands alone (no imports, no app shell): pair it
// with trace-view.css. Span data only ever reaches the DOM as text (textContent, text nodes,
// attribute values), never as HTML: LLM output is untrusted input.

const ROW_HEIGHT = 28; // px; every tree row has this height, so only the visible rows are built
const OVERSCAN = 12;

// span type -> [two-letter icon, css class]. Types outside the table get "··".
const TYPE_ICONS = {
  LLM: ["AI", "llm"], CHAT_MODEL: ["AI", "llm"], AGENT: ["AG", "agent"], TOOL: ["TL", "tool"],
  RETRIEVER: ["RT", "retriever"], EMBEDDING: ["EM", "embedding"], RERANKER: ["RR", "retriever"],
  CHAIN: ["CH", "chain"], WORKFLOW: ["WF", "chain"], TASK: ["TK", "chain"], PARSER: ["PA", "other"],
  MEMORY: ["ME", "other"], GUARDRAIL: ["GR", "other"], EVALUATOR: ["EV", "other"], UNKNOWN: ["··", "other"],
};
const OPERATION_TYPES = {
  chat: "CHAT_MODEL", text_completion: "LLM", generate_content: "CHAT_MODEL", embeddings: "EMBEDDING",
  retrieval: "RETRIEVER", execute_tool: "TOOL", invoke_agent: "AGENT", invoke_workflow: "WORKFLOW",
  create_agent: "AGENT", handle_conversation_turn: "AGENT",
};

const A = {
  system: "gen_ai.system_instructions",
  input: "gen_ai.input.messages",
  output: "gen_ai.output.messages",
  tools: "gen_ai.tool.definitions",
  spanInputs: "traceglass.span.inputs",
  spanOutputs: "traceglass.span.outputs",
  toolArgs: "gen_ai.tool.call.arguments",
  toolResult: "gen_ai.tool.call.result",
  query: "gen_ai.retrieval.query.text",
  documents: "gen_ai.retrieval.documents",
  // OpenInference's (Arize Phoenix's instrumentations) inputs and outputs.
  inputValue: "input.value",
  outputValue: "output.value",
};

let instances = 0;

// OpenInference (Arize Phoenix's instrumentations) flattens messages into attributes
// (llm.input_messages.0.message.role, ....content, ....tool_calls.0.tool_call.function.name):
// read back as the conventions' messages, for the Chat tab.
function openInferenceMessages(attrs, prefix) {
  const messages = [];
  for (let i = 0; attrs[`${prefix}.${i}.message.role`] != null; i++) {
    const base = `${prefix}.${i}.message.`;
    const role = String(attrs[`${base}role`]);
    if (attrs[`${base}tool_call_id`] != null) {  // a tool's answer: its content is the response
      messages.push({ role, parts: [{ type: "tool_call_response", id: attrs[`${base}tool_call_id`],
        response: attrs[`${base}content`] }] });
      continue;
    }
    const parts = [];
    if (attrs[`${base}content`] != null) parts.push({ type: "text", content: String(attrs[`${base}content`]) });
    for (let j = 0; attrs[`${base}contents.${j}.message_content.type`] != null; j++) {
      const text = attrs[`${base}contents.${j}.message_content.text`];
      if (text != null) parts.push({ type: "text", content: String(text) });
    }
    for (let k = 0; attrs[`${base}tool_calls.${k}.tool_call.function.name`] != null; k++) {
      const call = `${base}tool_calls.${k}.tool_call.`;
      parts.push({ type: "tool_call", id: attrs[`${call}id`], name: String(attrs[`${call}function.name`]),
        arguments: parseJson(attrs[`${call}function.arguments`]) });
    }
    messages.push({ role, parts });
  }
  return messages;
}

function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value == null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

// A token count with its thousands separated: 1,234,567.
export function formatCount(n) {
  return n == null ? "–" : Number(n).toLocaleString("en-US");
}

// An estimated cost in US dollars: cents and more to the cent, less with two significant digits
// (a single call often costs a fraction of a cent).
export function formatCost(usd) {
  if (usd == null || Number.isNaN(usd)) return "–";
  if (usd === 0) return "$0";
  if (usd >= 1) return `$${usd.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  if (usd < 1e-8) return "< $0.00000001";
  const decimals = Math.max(2, 1 - Math.floor(Math.log10(usd)));
  return `$${usd.toFixed(decimals).replace(/(\.\d\d\d*?)0+$/, "$1")}`;
}

// A trace's execution time is in whole milliseconds: 0 stands for anything shorter.
export function formatTraceDuration(ms) {
  return ms === 0 ? "< 1 ms" : formatDuration(ms);
}

export function formatDuration(ms) {
  if (ms == null || Number.isNaN(ms)) return "–";
  if (ms === 0) return "0";
  if (ms < 1) return `${ms < 0.01 ? Number((ms * 1000).toFixed(1)) : Math.round(ms * 1000)} µs`;
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  // Rounded to the second first, so that 1 min 59.6 s is 2 min 0 s, not 1 min 60 s.
  const seconds = Math.round(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function spanTypeOf(span) {
  if (span.span_type) return span.span_type;
  const attrs = span.attributes || {};
  return OPERATION_TYPES[attrs["gen_ai.operation.name"]] || "UNKNOWN";
}

// A JSON attribute value as data: strings holding JSON are parsed; anything else is returned as is.
export function parseJson(value) {
  if (typeof value !== "string") return value;
  const text = value.trim();
  if (!text || !"[{\"".includes(text[0])) return value;
  try {
    return JSON.parse(text);
  } catch {
    return value;
  }
}

function pretty(value) {
  const parsed = parseJson(value);
  return typeof parsed === "string" ? parsed : JSON.stringify(parsed, null, 2);
}

function durationMs(span) {
  return (span.end_ns - span.start_ns) / 1e6;
}

function isError(span) {
  return span.status_code === "ERROR";
}

function exceptionEvents(span) {
  return (span.events || []).filter((event) => event.name === "exception");
}

async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
  } catch {
    // No clipboard permission (e.g. an http page on another host): select the text instead.
    const range = document.createRange();
    range.selectNodeContents(button.previousElementSibling);
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    button.textContent = "Selected";
  }
  setTimeout(() => { button.textContent = "Copy"; }, 1500);
}

export function mountTraceView(element, trace, options = {}) {
  const id = `tgv${++instances}`;
  const info = trace.info || {};
  const spans = (trace.spans || []).map((span) => ({ ...span })); // copies: the caller's trace stays as given
  const full = new Map(); // span id -> span fetched in full
  const byId = new Map(spans.map((span) => [span.span_id, span]));
  const children = new Map();
  const roots = [];
  for (const span of spans) {
    const parent = span.parent_span_id && byId.has(span.parent_span_id) ? span.parent_span_id : null;
    if (parent === null) roots.push(span);
    else (children.get(parent) || children.set(parent, []).get(parent)).push(span);
  }
  const byStart = (a, b) => a.start_ns - b.start_ns;
  const depth = new Map();
  const walkFrom = (starts) => {
    const walk = starts.map((span) => [span, 0]);
    while (walk.length) {
      const [span, level] = walk.pop();
      if (depth.has(span.span_id)) continue;
      depth.set(span.span_id, level);
      for (const child of children.get(span.span_id) || []) walk.push([child, level + 1]);
    }
  };
  walkFrom(roots);
  // Spans whose parents form a loop (malformed data) are reached from no root: show them as roots.
  for (const span of spans) {
    if (depth.has(span.span_id)) continue;
    const siblings = children.get(span.parent_span_id);
    siblings.splice(siblings.indexOf(span), 1);
    span.parent_span_id = null;
    roots.push(span);
    walkFrom([span]);
  }
  roots.sort(byStart);
  for (const list of children.values()) list.sort(byStart);
  let t0 = Infinity;
  let t1 = -Infinity;
  for (const span of spans) {
    t0 = Math.min(t0, span.start_ns);
    t1 = Math.max(t1, span.end_ns);
  }
  if (!spans.length) [t0, t1] = [0, 1];
  const total = Math.max(t1 - t0, 1);

  const collapsed = new Set();
  let rows = [];
  let selected = options.selectedSpanId && byId.has(options.selectedSpanId)
    ? options.selectedSpanId : (roots[0] && roots[0].span_id);
  let active = selected;
  let tab = null;
  let chosenTab = null; // the tab the user picked: kept while moving between spans that have it

  function flatten() {
    rows = [];
    const stack = roots.slice().reverse();
    while (stack.length) {
      const span = stack.pop();
      rows.push(span);
      if (!collapsed.has(span.span_id)) {
        const kids = children.get(span.span_id) || [];
        for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]);
      }
    }
  }

  // Reveal a span: expand its ancestors.
  function reveal(spanId) {
    let span = byId.get(spanId);
    while (span && span.parent_span_id && byId.has(span.parent_span_id)) {
      collapsed.delete(span.parent_span_id);
      span = byId.get(span.parent_span_id);
    }
  }

  // -- header -------------------------------------------------------------------------------
  const tokens = info.input_tokens != null || info.output_tokens != null
    ? `${formatCount(info.input_tokens)} in / ${formatCount(info.output_tokens)} out` : "–";
  const idCode = h("code", { class: "tgv-id" }, info.trace_id || "");
  const copyButton = h("button", { type: "button", class: "tgv-copy", "aria-label": "Copy trace ID" }, "Copy");
  copyButton.addEventListener("click", () => copyText(info.trace_id || "", copyButton));
  const tags = Object.entries(info.tags || {});
  const header = h("header", { class: "tgv-header" },
    h("div", { class: "tgv-title" },
      h("h2", { class: "tgv-name" }, info.name || "(unnamed trace)"),
      h("span", { class: `tgv-status tgv-status-${(info.status || "").toLowerCase()}` }, info.status || "")),
    h("dl", { class: "tgv-facts" },
      h("div", null, h("dt", null, "Trace ID"), h("dd", null, idCode, copyButton)),
      h("div", null, h("dt", null, "Duration"), h("dd", null, formatTraceDuration(info.execution_time_ms))),
      h("div", null, h("dt", null, "Tokens"), h("dd", null, tokens)),
      info.cost_usd == null ? null
        : h("div", { title: "Estimated from published prices" }, h("dt", null, "Cost"), h("dd", null, formatCost(info.cost_usd))),
      h("div", null, h("dt", null, "Spans"), h("dd", null, String(spans.length))),
      h("div", null, h("dt", null, "Started"),
        h("dd", null, info.timestamp_ms ? new Date(info.timestamp_ms).toLocaleString() : "–"))),
    tags.length ? h("ul", { class: "tgv-tags", "aria-label": "Tags" },
      tags.map(([key, value]) => h("li", { class: "tgv-tag" }, value ? `${key}: ${value}` : key))) : null);

  // -- span tree + waterfall ----------------------------------------------------------------
  const scale = h("div", { class: "tgv-scale", "aria-hidden": "true" },
    [0, 0.25, 0.5, 0.75, 1].map((f) => {
      const tick = h("span", { class: "tgv-tick" }, formatDuration((total * f) / 1e6));
      tick.style.left = `${f * 100}%`;
      return tick;
    }));
  const treeHead = h("div", { class: "tgv-treehead", "aria-hidden": "true" },
    h("span", { class: "tgv-col-name" }, "Span"), scale);
  const spacer = h("div", { class: "tgv-spacer" });
  const tree = h("div", {
    class: "tgv-tree", role: "tree", tabindex: "0", "aria-label": "Spans",
  }, spacer);
  const treePane = h("section", { class: "tgv-treepane", "aria-label": "Span tree and timeline" }, treeHead, tree);
  const details = h("section", { class: "tgv-details", "aria-label": "Span details", "aria-live": "off" });
  const body = h("div", { class: "tgv-body" }, treePane, details);

  element.replaceChildren();
  const root = h("div", { class: `tgv${options.compact ? " tgv-compact" : ""}` }, header, body);
  element.append(root);

  function siblingsOf(span) {
    return span.parent_span_id && byId.has(span.parent_span_id) ? children.get(span.parent_span_id) : roots;
  }

  function rowId(spanId) {
    return `${id}-span-${spanId}`;
  }

  function buildRow(span, index) {
    const type = spanTypeOf(span);
    const [icon, cls] = TYPE_ICONS[type] || ["··", "other"];
    const kids = children.get(span.span_id);
    const expanded = kids ? !collapsed.has(span.span_id) : null;
    const level = depth.get(span.span_id) || 0;
    const error = isError(span) || exceptionEvents(span).length > 0;
    const duration = formatDuration(durationMs(span));
    const row = h("div", {
      class: `tgv-row${span.span_id === selected ? " tgv-selected" : ""}${span.span_id === active ? " tgv-active" : ""}`,
      role: "treeitem", id: rowId(span.span_id), "aria-level": level + 1,
      // Position among its siblings (what a screen reader announces), not in the flattened list.
      "aria-setsize": siblingsOf(span).length, "aria-posinset": siblingsOf(span).indexOf(span) + 1,
      "aria-expanded": expanded == null ? null : String(expanded),
      "aria-selected": String(span.span_id === selected),
      "aria-label": `${span.name}, ${type.toLowerCase().replace("_", " ")}, ${duration}${error ? ", error" : ""}`,
      "data-span-id": span.span_id,
    });
    row.style.top = `${index * ROW_HEIGHT}px`;
    const name = h("div", { class: "tgv-cell-name" },
      h("span", { class: `tgv-toggle${kids ? "" : " tgv-leaf"}`, "aria-hidden": "true", "data-toggle": "1" },
        kids ? (expanded ? "▾" : "▸") : ""),
      h("span", { class: `tgv-icon tgv-type-${cls}`, "aria-hidden": "true", title: type }, icon),
      h("span", { class: "tgv-span-name", title: span.name }, span.name),
      error ? h("span", { class: "tgv-error-mark", "aria-hidden": "true", title: "error" }, "!") : null,
      h("span", { class: "tgv-duration", "aria-hidden": "true" }, duration));
    // Deep trees stop indenting at 40% of the column: the name and duration keep their room.
    name.style.paddingLeft = `min(${4 + level * 14}px, 40%)`;
    const bar = h("span", { class: `tgv-bar tgv-type-${cls}${error ? " tgv-bar-error" : ""}`, "aria-hidden": "true" });
    bar.style.left = `${((span.start_ns - t0) / total) * 100}%`;
    bar.style.width = `max(2px, ${(Math.max(span.end_ns - span.start_ns, 0) / total) * 100}%)`;
    row.append(name, h("div", { class: "tgv-cell-bar", "aria-hidden": "true" }, bar));
    return row;
  }

  let rendered = { from: -1, to: -1 };
  function renderRows(force = false) {
    const height = tree.clientHeight || 400;
    const from = Math.max(0, Math.floor(tree.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const to = Math.min(rows.length, Math.ceil((tree.scrollTop + height) / ROW_HEIGHT) + OVERSCAN);
    if (!force && from === rendered.from && to === rendered.to) return;
    rendered = { from, to };
    spacer.style.height = `${rows.length * ROW_HEIGHT}px`;
    const fragment = document.createDocumentFragment();
    for (let i = from; i < to; i++) fragment.append(buildRow(rows[i], i));
    spacer.replaceChildren(fragment);
    if (active && rows.some((span, i) => i >= from && i < to && span.span_id === active)) {
      tree.setAttribute("aria-activedescendant", rowId(active));
    } else {
      tree.removeAttribute("aria-activedescendant");
    }
  }

  function scrollToActive() {
    const index = rows.findIndex((span) => span.span_id === active);
    if (index < 0) return;
    const top = index * ROW_HEIGHT;
    if (top < tree.scrollTop) tree.scrollTop = top;
    else if (top + ROW_HEIGHT > tree.scrollTop + tree.clientHeight) tree.scrollTop = top + ROW_HEIGHT - tree.clientHeight;
  }

  function setActive(spanId, select = true) {
    active = spanId;
    scrollToActive();
    if (select) selectSpan(spanId, true);
    else renderRows(true);
  }

  function toggle(spanId, open) {
    if (!children.has(spanId)) return;
    const isOpen = !collapsed.has(spanId);
    if (open === isOpen) return;
    if (isOpen) collapsed.add(spanId);
    else collapsed.delete(spanId);
    flatten();
    renderRows(true);
  }

  tree.addEventListener("scroll", () => renderRows());
  tree.addEventListener("click", (event) => {
    const row = event.target.closest(".tgv-row");
    if (!row) return;
    const spanId = row.dataset.spanId;
    if (event.target.closest("[data-toggle]")) toggle(spanId, collapsed.has(spanId));
    active = spanId;
    selectSpan(spanId, true);
    tree.focus({ preventScroll: true });
  });
  tree.addEventListener("keydown", (event) => {
    const index = rows.findIndex((span) => span.span_id === active);
    const span = rows[index];
    if (!span) return;
    const page = Math.max(1, Math.floor(tree.clientHeight / ROW_HEIGHT) - 1);
    let next = null;
    switch (event.key) {
      case "ArrowDown": next = rows[Math.min(index + 1, rows.length - 1)]; break;
      case "ArrowUp": next = rows[Math.max(index - 1, 0)]; break;
      case "PageDown": next = rows[Math.min(index + page, rows.length - 1)]; break;
      case "PageUp": next = rows[Math.max(index - page, 0)]; break;
      case "Home": next = rows[0]; break;
      case "End": next = rows[rows.length - 1]; break;
      case "ArrowRight":
        if (children.has(span.span_id) && collapsed.has(span.span_id)) toggle(span.span_id, true);
        else if (children.has(span.span_id)) next = children.get(span.span_id)[0];
        break;
      case "ArrowLeft":
        if (children.has(span.span_id) && !collapsed.has(span.span_id)) toggle(span.span_id, false);
        else if (span.parent_span_id && byId.has(span.parent_span_id)) next = byId.get(span.parent_span_id);
        break;
      case "Enter": case " ": selectSpan(span.span_id, true); break;
      default: return;
    }
    event.preventDefault();
    if (next) setActive(next.span_id);
  });

  // -- details ------------------------------------------------------------------------------
  function currentSpan(spanId) {
    return full.get(spanId) || byId.get(spanId);
  }

  function chatOf(span) {
    const attrs = span.attributes || {};
    const parsed = {};
    const unreadable = []; // recorded, but not a JSON list (malformed): said so, not left out unseen
    const cut = new Set(span.truncated_attributes || []); // cut by the server: whole once fetched
    for (const key of ["system", "input", "output", "tools"]) {
      const value = parseJson(attrs[A[key]]);
      if (Array.isArray(value)) parsed[key] = value;
      else if (key === "system" && typeof value === "string") parsed.system = [{ type: "text", content: value }];
      else if (value != null && !cut.has(A[key])) unreadable.push(A[key]);
    }
    if (!parsed.input && !parsed.output) {
      const input = openInferenceMessages(attrs, "llm.input_messages");
      const output = openInferenceMessages(attrs, "llm.output_messages");
      if (input.length) parsed.input = input;
      if (output.length) parsed.output = output;
    }
    if (!Object.keys(parsed).length) return null;
    if (unreadable.length) parsed.unreadable = unreadable;
    return parsed;
  }

  function ioOf(span) {
    const attrs = span.attributes || {};
    const pick = (keys) => keys.map((key) => [key, attrs[key]]).find(([, value]) => value != null);
    return {
      inputs: pick([A.spanInputs, A.input, A.toolArgs, A.query, A.inputValue]),
      outputs: pick([A.spanOutputs, A.output, A.toolResult, A.documents, A.outputValue]),
    };
  }

  function selectSpan(spanId, notify = false) {
    if (!byId.has(spanId)) return;
    selected = spanId;
    reveal(spanId);
    flatten();
    renderRows(true);
    renderDetails();
    if (notify && options.onSelectSpan) options.onSelectSpan(spanId);
    const span = byId.get(spanId);
    if (span.truncated_attributes && span.truncated_attributes.length && options.fetchSpan && !full.has(spanId)) {
      full.set(spanId, null); // one request per span, even if it is selected again meanwhile
      Promise.resolve(options.fetchSpan(info.trace_id || span.trace_id, spanId)).then((whole) => {
        if (whole) full.set(spanId, whole);
        else full.delete(spanId);
        if (selected === spanId) renderDetails();
      }, () => {
        full.delete(spanId);
        if (selected === spanId) renderDetails("The full span could not be loaded.");
      });
    }
  }

  function renderDetails(problem) {
    const base = byId.get(selected);
    if (!base) {
      details.replaceChildren(h("p", { class: "tgv-empty" }, "Select a span to see its details."));
      return;
    }
    const loaded = full.get(selected);
    const span = loaded || base;
    const loading = full.has(selected) && loaded === null;
    const chat = chatOf(span);
    const io = ioOf(span);
    const exceptions = exceptionEvents(span).length;
    const tabs = [];
    if (chat) tabs.push(["chat", "Chat"]);
    if (io.inputs || io.outputs) tabs.push(["io", "Inputs / Outputs"]);
    tabs.push(["attributes", "Attributes"]);
    tabs.push(["events", "Events"]);
    tab = chosenTab && tabs.some(([key]) => key === chosenTab) ? chosenTab : tabs[0][0];

    const tablist = h("div", { class: "tgv-tabs", role: "tablist", "aria-label": "Span details" });
    const panel = h("div", { class: "tgv-panel", role: "tabpanel", id: `${id}-panel`, tabindex: "0" });
    for (const [key, label] of tabs) {
      const button = h("button", {
        type: "button", role: "tab", id: `${id}-tab-${key}`, "aria-selected": String(key === tab),
        "aria-controls": `${id}-panel`, tabindex: key === tab ? "0" : "-1", class: "tgv-tab",
      }, label, key === "events" && (span.events || []).length ? h("span", {
        class: `tgv-badge${exceptions ? " tgv-badge-error" : ""}`,
        "aria-label": `${span.events.length} event${span.events.length === 1 ? "" : "s"}`
          + (exceptions ? `, ${exceptions} exception${exceptions === 1 ? "" : "s"}` : ""),
      }, String(span.events.length)) : null);
      button.addEventListener("click", () => { chosenTab = key; renderDetails(); focusTab(); });
      tablist.append(button);
    }
    tablist.addEventListener("keydown", (event) => {
      const keys = tabs.map(([key]) => key);
      const at = keys.indexOf(tab);
      if (event.key === "ArrowRight") chosenTab = keys[(at + 1) % keys.length];
      else if (event.key === "ArrowLeft") chosenTab = keys[(at - 1 + keys.length) % keys.length];
      else return;
      event.preventDefault();
      renderDetails();
      focusTab();
    });
    panel.setAttribute("aria-labelledby", `${id}-tab-${tab}`);

    const type = spanTypeOf(span);
    const status = span.status_code || "UNSET";
    const title = h("div", { class: "tgv-span-head" },
      h("h3", null, span.name),
      h("span", { class: "tgv-chip" }, type),
      // UNSET (the default status) says nothing to a reader; OK and ERROR do.
      status === "UNSET" ? null : h("span", { class: `tgv-status tgv-status-${status.toLowerCase()}` }, status),
      h("span", { class: "tgv-chip" }, formatDuration(durationMs(span))),
      span.cost_usd == null ? null
        : h("span", { class: "tgv-chip", title: "Estimated cost, from published prices" }, formatCost(span.cost_usd)),
      span.attributes && span.attributes["gen_ai.request.model"]
        ? h("span", { class: "tgv-chip" }, String(span.attributes["gen_ai.request.model"])) : null);
    const notes = [];
    if (span.status_message) notes.push(h("p", { class: "tgv-error-text" }, span.status_message));
    if (loading) notes.push(h("p", { class: "tgv-note", role: "status" }, "Loading the full span…"));
    if (problem) notes.push(h("p", { class: "tgv-note", role: "status" }, problem));
    if (!loaded && !loading && base.truncated_attributes && base.truncated_attributes.length && !options.fetchSpan) {
      notes.push(h("p", { class: "tgv-note" }, `Long values were cut: ${base.truncated_attributes.join(", ")}.`));
    }

    if (tab === "chat") panel.append(renderChat(chat));
    else if (tab === "io") panel.append(renderIo(io));
    else if (tab === "attributes") panel.append(renderAttributes(span));
    else panel.append(renderEvents(span));
    details.replaceChildren(title, ...notes, tablist, panel);
  }

  function focusTab() {
    const button = details.querySelector('[role="tab"][aria-selected="true"]');
    if (button) button.focus();
  }

  function renderIo(io) {
    const section = (label, entry) => h("section", { class: "tgv-io" },
      h("h4", null, label, entry ? h("span", { class: "tgv-key" }, entry[0]) : null),
      entry ? h("pre", { class: "tgv-json" }, pretty(entry[1])) : h("p", { class: "tgv-empty" }, "None recorded."));
    return h("div", null, section("Inputs", io.inputs), section("Outputs", io.outputs));
  }

  function renderAttributes(span) {
    const table = (caption, attrs) => {
      const entries = Object.entries(attrs || {}).sort(([a], [b]) => a.localeCompare(b));
      if (!entries.length) return null;
      return h("table", { class: "tgv-attrs" }, h("caption", null, caption),
        h("tbody", null, entries.map(([key, value]) => h("tr", null,
          h("th", { scope: "row" }, key),
          h("td", null, h("pre", null, typeof value === "string" ? pretty(value) : JSON.stringify(value, null, 2)))))));
    };
    const meta = {
      span_id: span.span_id, parent_span_id: span.parent_span_id || "(root)", kind: span.kind,
      status: span.status_code, start: new Date(span.start_ns / 1e6).toISOString(),
      duration_ms: Number(durationMs(span).toFixed(3)), scope: [span.scope_name, span.scope_version].filter(Boolean).join(" "),
    };
    return h("div", null, table("Span", meta), table("Attributes", span.attributes),
      table("Resource", span.resource_attributes));
  }

  function renderEvents(span) {
    const events = span.events || [];
    if (!events.length) return h("p", { class: "tgv-empty" }, "This span has no events.");
    return h("ol", { class: "tgv-events" }, events.map((event) => {
      const attrs = event.attributes || {};
      // Offset into the span; an event stamped outside it (a clock apart) gets its own time.
      const inside = event.time_ns >= span.start_ns - 1e6 && event.time_ns <= span.end_ns + 1e9;
      const offset = inside ? formatDuration((event.time_ns - span.start_ns) / 1e6)
        : new Date(event.time_ns / 1e6).toISOString();
      if (event.name === "exception") {
        return h("li", { class: "tgv-event tgv-exception" },
          h("h4", null, String(attrs["exception.type"] || "Exception"), h("span", { class: "tgv-key" }, inside ? `+${offset}` : offset)),
          attrs["exception.message"] != null ? h("p", { class: "tgv-error-text" }, String(attrs["exception.message"])) : null,
          attrs["exception.stacktrace"] ? h("pre", { class: "tgv-stack" }, String(attrs["exception.stacktrace"])) : null);
      }
      return h("li", { class: "tgv-event" }, h("h4", null, event.name,
        h("span", { class: "tgv-key" }, inside ? `+${offset}` : offset)),
        Object.keys(attrs).length ? h("pre", { class: "tgv-json" }, JSON.stringify(attrs, null, 2)) : null);
    }));
  }

  selectSpan(selected);
  // The tree's height is known once the element is in the document and laid out.
  requestAnimationFrame(() => { scrollToActive(); renderRows(true); });
  const resize = typeof ResizeObserver === "function" ? new ResizeObserver(() => renderRows()) : null;
  if (resize) resize.observe(tree);

  return {
    selectSpan: (spanId) => { active = spanId; selectSpan(spanId); scrollToActive(); },
    focusTree: () => tree.focus(),
    destroy: () => { if (resize) resize.disconnect(); element.replaceChildren(); },
  };
}

// -- chat -----------------------------------------------------------------------------------

function renderPart(part) {
  if (part == null || typeof part !== "object") return h("div", { class: "tgv-text", dir: "auto" }, String(part));
  switch (part.type) {
    case "text":
      return h("div", { class: "tgv-text", dir: "auto" }, String(part.content ?? ""));
    case "reasoning":
      return h("details", { class: "tgv-reasoning" }, h("summary", null, "Reasoning"),
        h("div", { class: "tgv-text", dir: "auto" }, String(part.content ?? "")));
    case "tool_call":
      return h("div", { class: "tgv-toolcall" },
        h("div", { class: "tgv-toolcall-head" }, "Tool call ", h("code", null, String(part.name ?? "")),
          part.id ? h("span", { class: "tgv-key" }, String(part.id)) : null),
        part.arguments !== undefined ? h("pre", { class: "tgv-json" }, pretty(part.arguments)) : null);
    case "tool_call_response":
      return h("div", { class: "tgv-toolresult" },
        h("div", { class: "tgv-toolcall-head" }, "Tool result", part.id ? h("span", { class: "tgv-key" }, String(part.id)) : null),
        h("pre", { class: "tgv-json" }, pretty(part.response)));
    case "server_tool_call":
      return h("div", { class: "tgv-toolcall" },
        h("div", { class: "tgv-toolcall-head" }, "Server tool call ", h("code", null, String(part.name ?? ""))),
        h("pre", { class: "tgv-json" }, JSON.stringify(part.server_tool_call ?? {}, null, 2)));
    case "server_tool_call_response":
      return h("div", { class: "tgv-toolresult" }, h("div", { class: "tgv-toolcall-head" }, "Server tool result"),
        h("pre", { class: "tgv-json" }, JSON.stringify(part.server_tool_call_response ?? {}, null, 2)));
    case "blob": case "file": case "uri":
      // Media is named, not loaded: a URI from span data is never fetched by the page.
      return h("div", { class: "tgv-media" }, `[${part.modality || "media"}${part.mime_type ? `, ${part.mime_type}` : ""}] `,
        part.uri ? h("code", null, String(part.uri)) : part.file_id ? h("code", null, String(part.file_id))
          : `${String(part.content ?? "").length} base64 characters`);
    default:
      return h("pre", { class: "tgv-json" }, JSON.stringify(part, null, 2));
  }
}

function renderMessage(message, extra) {
  const role = typeof message === "object" && message ? String(message.role || "unknown") : "unknown";
  const parts = Array.isArray(message && message.parts) ? message.parts
    : message && message.content != null ? [{ type: "text", content: message.content }] : [];
  const roleClass = ["system", "user", "assistant", "tool"].includes(role) ? role : "other";
  return h("li", { class: `tgv-msg tgv-msg-${roleClass}` },
    h("div", { class: "tgv-role" }, role, message && message.name ? ` (${message.name})` : "", extra || null,
      message && message.finish_reason ? h("span", { class: "tgv-key" }, `finish: ${message.finish_reason}`) : null),
    parts.map(renderPart));
}

function renderChat(chat) {
  const list = h("ol", { class: "tgv-chat", "aria-label": "Conversation" });
  if (chat.system) list.append(renderMessage({ role: "system", parts: chat.system }, h("span", { class: "tgv-key" }, "instructions")));
  for (const message of chat.input || []) list.append(renderMessage(message));
  for (const message of chat.output || []) list.append(renderMessage(message, h("span", { class: "tgv-key" }, "output")));
  const parts = [];
  if (chat.tools) {
    parts.push(h("details", { class: "tgv-tooldefs" }, h("summary", null, `Tool definitions (${chat.tools.length})`),
      h("ul", null, chat.tools.map((tool) => (tool && typeof tool === "object" ? h("li", null,
        h("code", null, String(tool.name ?? "")), tool.description ? ` — ${tool.description}` : "",
        tool.parameters ? h("pre", { class: "tgv-json" }, JSON.stringify(tool.parameters, null, 2)) : null)
        : h("li", null, h("pre", { class: "tgv-json" }, JSON.stringify(tool))))))));
  }
  if (chat.unreadable) {
    parts.push(h("p", { class: "tgv-note" }, `Not a readable list of messages, so not shown here: ${chat.unreadable.join(", ")} `
      + "(see Attributes for the value as recorded)."));
  }
  parts.push(list);
  return h("div", null, parts);
}

// An experiment's page: the Traces tab (search, filter, sort, pages, columns, selection, tags,
// delete, the open trace) and the Overview tab.

import { ApiError, MAX_VALUE_LENGTH, segment } from "./api.js";
import { askDialog, counted, h, refreshTimes, timeAgo } from "./dom.js";
import { tagDialog } from "./tags.js";
import { formatCost, formatCount, formatTraceDuration, mountTraceView, parseJson } from "./trace-view.js";

const PAGE_SIZE = 50;
const POLL_MS = 3000;
const COLUMNS_KEY = "traceglass.hiddenColumns";

const COLUMNS = [
  { id: "trace_id", label: "Trace ID", sort: "trace_id" },
  { id: "request", label: "Request" },
  { id: "response", label: "Response" },
  { id: "name", label: "Trace name", sort: "name" },
  { id: "status", label: "Status", sort: "status" },
  { id: "tokens", label: "Tokens (in/out)", sort: "total_tokens" },
  { id: "cost", label: "Cost", sort: "cost_usd" },
  { id: "execution_time", label: "Execution time", sort: "execution_time_ms" },
  { id: "request_time", label: "Request time", sort: "timestamp_ms" },
  { id: "session", label: "Session", sort: "session_id" },
  { id: "user", label: "User", sort: "user_id" },
  { id: "tags", label: "Tags" },
];

// The readable text of a request/response preview: the last user (or first output) message's
// text when the preview is a GenAI message list, else the value itself. Previews are cut at
// 1,000 characters by the store, so broken JSON is read with a pattern instead.
export function previewText(preview, wantLast) {
  if (preview == null) return "";
  const value = parseJson(preview);
  if (Array.isArray(value)) {
    const messages = value.filter((m) => m && typeof m === "object" && Array.isArray(m.parts));
    if (messages.length) {
      const users = messages.filter((m) => m.role === "user");
      const message = wantLast ? (users[users.length - 1] || messages[messages.length - 1]) : messages[0];
      const texts = message.parts.map((p) => (!p ? "" : p.type === "text" ? p.content
        : p.type === "tool_call" ? `${p.name}(${JSON.stringify(p.arguments ?? {})})` : "")).filter(Boolean);
      if (texts.length) return texts.join(" ");
    }
  }
  if (typeof value === "string") {
    // No closing quote needed: a long text is cut inside itself, perhaps inside a \u escape.
    const matches = [...value.matchAll(/"content"\s*:\s*"((?:[^"\\]|\\.)*)/g)];
    if (matches.length) {
      const match = matches[wantLast ? matches.length - 1 : 0][1].replace(/\\u[0-9a-fA-F]{0,3}$/, "");
      try { return JSON.parse(`"${match}"`); } catch { return match; }
    }
    return value;
  }
  return JSON.stringify(value);
}

function quote(text) {
  return `'${text.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}

// The full-text search as a filter clause: the words anywhere in a span's searchable text.
export function searchClause(search) {
  const term = search.trim();
  if (!term) return "";
  return `trace.text LIKE ${quote(`%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`)}`;
}

// The tokens of the pages up to the one the URL names: the ones this history entry remembers when
// they lead to it (Back, Forward, reload), else the first page, a gap ("") and that one (a link).
function tokensFor(pageToken) {
  if (!pageToken) return [null];
  const remembered = history.state && history.state.pageTokens;
  if (Array.isArray(remembered) && remembered[remembered.length - 1] === pageToken) return remembered;
  return [null, "", pageToken];
}

function hiddenColumns() {
  try {
    return new Set(JSON.parse(localStorage.getItem(COLUMNS_KEY) || "[]"));
  } catch {
    return new Set();
  }
}

export function mountExperiment(element, initial, app) {
  let state = initial;
  let experiment = null;
  const heading = h("h1", null, "Experiment");
  const tabs = [["traces", "Traces"]];
  if (app.config.overview) tabs.push(["overview", "Overview"]);
  const tablist = h("div", { class: "tg-tabs", role: "tablist", "aria-label": "Experiment views" });
  const panels = {};
  for (const [key, label] of tabs) {
    const tab = h("button", { type: "button", role: "tab", id: `tab-${key}`, "aria-controls": `panel-${key}`,
      class: "tg-tab" }, label);
    tab.addEventListener("click", () => app.navigate({ tab: key === "traces" ? "" : key, trace: "", span: "" }));
    tablist.append(tab);
    panels[key] = h("section", { role: "tabpanel", id: `panel-${key}`, "aria-labelledby": `tab-${key}`, class: "tg-panel" });
  }
  tablist.addEventListener("keydown", (event) => {
    if (event.key !== "ArrowRight" && event.key !== "ArrowLeft") return;
    const buttons = [...tablist.querySelectorAll('[role="tab"]')];
    const at = buttons.indexOf(document.activeElement);
    const next = buttons[(at + (event.key === "ArrowRight" ? 1 : buttons.length - 1)) % buttons.length];
    next.focus();
    next.click();
  });
  element.replaceChildren(h("div", { class: "tg-pagehead" }, heading), tablist, ...Object.values(panels));

  const traces = mountTracesTab(panels.traces, state, app);
  let overviewMounted = false;

  function showTab() {
    const current = state.tab === "overview" && panels.overview ? "overview" : "traces";
    for (const [key] of tabs) {
      const selected = key === current;
      const tab = tablist.querySelector(`#tab-${key}`);
      tab.setAttribute("aria-selected", String(selected));
      tab.tabIndex = selected ? 0 : -1;
      panels[key].hidden = !selected;
    }
    traces.setActive(current === "traces");
    if (current === "overview" && !overviewMounted) {
      overviewMounted = true;
      import("./overview.js").then((module) => module.mountOverview(panels.overview, Number(state.experiment), app.apiFetch))
        .catch((exc) => panels.overview.replaceChildren(h("p", { class: "tg-error" }, `The overview failed: ${exc.message}`)));
    }
  }

  async function loadExperiment() {
    try {
      const data = await app.apiFetch("/experiments");
      experiment = data.experiments.find((e) => String(e.experiment_id) === state.experiment) || null;
    } catch {
      experiment = null;
    }
    const name = experiment ? experiment.name : `Experiment ${state.experiment}`;
    heading.textContent = name;
    document.title = `${name} · traceglass`;
    app.setCrumbs({ label: "Experiments", href: "/", state: { experiment: "", tab: "", search: "", filter: "",
      sort: "", trace: "", span: "", compare: "" } }, { label: name });
    if (!experiment) heading.after(h("p", { class: "tg-error", role: "alert" }, "No such experiment."));
  }

  loadExperiment();
  showTab();
  return {
    update(next) {
      state = next;
      showTab();
      traces.update(next);
    },
    destroy() { traces.destroy(); },
  };
}

function mountTracesTab(element, initial, app) {
  let state = initial;
  let active = true;
  let pageTokens = tokensFor(initial.page); // token of each page up to the current one (null: the first)
  let page = { traces: [], next_page_token: null };
  let signature = "";
  let requestId = 0;
  let timer = null;
  let stopped = false;
  const selected = new Set();
  let hidden = hiddenColumns();
  let traceView = null;
  let openTraceId = "";
  let invalidFilter = false;

  // -- toolbar ------------------------------------------------------------------------------
  const search = h("input", { type: "search", "aria-label": "Search", placeholder: "Search requests, responses and spans",
    value: state.search, class: "tg-search" });
  const filter = h("input", { type: "text", "aria-label": "Filter", value: state.filter, class: "tg-filter",
    placeholder: "trace.status = 'ERROR' AND span.type = 'TOOL'", spellcheck: "false", autocomplete: "off",
    "aria-describedby": "filter-help filter-error" });
  const filterError = h("div", { class: "tg-filter-error", id: "filter-error", role: "alert" });
  const form = h("form", { class: "tg-query", role: "search", "aria-label": "Search traces" },
    search, filter,
    h("button", { type: "submit", class: "tg-primary", "aria-label": "Apply search and filter" }, "Apply"),
    h("button", { type: "button", "aria-label": "Clear search and filter",
      onclick: () => { search.value = ""; filter.value = ""; submit(); } }, "Clear"));
  const help = h("details", { class: "tg-help" }, h("summary", { id: "filter-help" }, "Filter syntax"),
    h("p", null, "Clauses joined by AND, e.g. ",
      h("code", null, "trace.status = 'ERROR'"), ", ", h("code", null, "trace.execution_time_ms > 1000"), ", ",
      h("code", null, "span.type = 'TOOL'"), ", ", h("code", null, "span.attributes.`gen_ai.request.model` LIKE '%gpt%'"),
      ", ", h("code", null, "tag.env = 'prod'"), ", ", h("code", null, "metadata.user = 'alice'"), "."));
  form.addEventListener("submit", (event) => { event.preventDefault(); submit(); });

  const refresh = h("button", { type: "button", "aria-label": "Refresh traces", onclick: () => load() }, "Refresh");
  const columnsButton = h("button", { type: "button", "aria-expanded": "false", "aria-controls": "column-chooser",
    "aria-label": "Choose columns" }, "Columns");
  const chooser = h("fieldset", { class: "tg-popover", id: "column-chooser", hidden: true },
    h("legend", null, "Visible columns"),
    COLUMNS.map((column) => h("label", null,
      h("input", { type: "checkbox", checked: !hidden.has(column.id), onchange: (event) => {
        if (event.target.checked) hidden.delete(column.id);
        else hidden.add(column.id);
        localStorage.setItem(COLUMNS_KEY, JSON.stringify([...hidden]));
        renderTable();
      } }), ` ${column.label}`)));
  const showChooser = (open) => {
    chooser.hidden = !open;
    columnsButton.setAttribute("aria-expanded", String(open));
  };
  columnsButton.addEventListener("click", () => showChooser(chooser.hidden));
  chooser.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    event.stopPropagation();
    showChooser(false);
    columnsButton.focus();
  });
  // A click anywhere else closes the chooser, as menus do.
  const closeOutside = (event) => {
    if (!chooser.hidden && !event.target.closest(".tg-popover-anchor")) showChooser(false);
  };
  document.addEventListener("click", closeOutside);
  const compare = h("button", { type: "button", onclick: () => compareSelected() }, "Compare selected");
  const editTags = h("button", { type: "button", onclick: () => editTagsOf([...selected]) }, "Edit tags");
  const remove = h("button", { type: "button", class: "tg-danger-text", onclick: () => deleteSelected() }, "Delete selected");
  const selectedCount = h("span", { class: "tg-muted", "aria-live": "polite" });
  const previous = h("button", { type: "button", onclick: () => turn(-1) }, "Previous page");
  const next = h("button", { type: "button", onclick: () => turn(1) }, "Next page");
  const range = h("span", { class: "tg-muted", role: "status" });
  const actions = h("div", { class: "tg-actions-bar" },
    refresh, h("div", { class: "tg-popover-anchor" }, columnsButton, chooser),
    h("span", { class: "tg-sep" }), selectedCount, compare, editTags, remove,
    h("span", { class: "tg-spacer" }), range, previous, next);

  const thead = h("thead");
  const tbody = h("tbody");
  const table = h("table", { class: "tg-table tg-traces", "aria-label": "Traces" }, thead, tbody);
  const drawer = h("section", { class: "tg-drawer", hidden: true, "aria-label": "Trace" });
  element.replaceChildren(form, filterError, help, actions, h("div", { class: "tg-tablewrap" }, table), drawer);

  function submit() {
    app.navigate({ search: search.value.trim(), filter: filter.value.trim(), trace: "", span: "" });
  }

  function query(token) {
    const params = new URLSearchParams();
    params.append("experiment_id", state.experiment);
    const clauses = [state.filter.trim(), searchClause(state.search)].filter(Boolean);
    if (clauses.length) params.set("filter", clauses.join(" AND "));
    if (state.sort) params.append("order_by", state.sort);
    params.set("max_results", String(PAGE_SIZE));
    if (token) params.set("page_token", token);
    return `/traces?${params}`;
  }

  async function load({ quiet = false } = {}) {
    const id = ++requestId;
    const token = pageTokens[pageTokens.length - 1];
    try {
      const data = await app.apiFetch(query(token));
      if (id !== requestId) return; // a newer query was sent meanwhile
      filterError.replaceChildren();
      filter.removeAttribute("aria-invalid");
      invalidFilter = false;
      page = data;
      const next = JSON.stringify(data);
      if (next !== signature || !quiet) {
        signature = next;
        renderTable();
      } else {
        refreshTimes(tbody);
      }
    } catch (exc) {
      if (id !== requestId) return;
      if (exc instanceof ApiError && exc.code === "INVALID_FILTER") {
        filter.setAttribute("aria-invalid", "true");
        invalidFilter = true;
        filterError.replaceChildren(h("pre", null, exc.message));
        page = { traces: [], next_page_token: null };
        signature = "";
        renderTable();
      } else if (exc instanceof ApiError && exc.code === "INVALID_PAGE_TOKEN") {
        app.navigate({ page: "" }, { push: false, memo: null }); // a link cut short or edited: page one
      } else if (!quiet) {
        filterError.replaceChildren(h("p", null, `Could not load traces: ${exc.message}`));
      }
    }
  }

  function turn(step) {
    let tokens;
    if (step > 0 && page.next_page_token) tokens = [...pageTokens, page.next_page_token];
    else if (step < 0 && pageTokens.length > 1) tokens = pageTokens.slice(0, -1);
    else return;
    app.navigate({ page: tokens[tokens.length - 1] || "" }, { memo: { pageTokens: tokens } });
  }

  // -- table --------------------------------------------------------------------------------
  function sortState(column) {
    const [key, direction] = (state.sort || "timestamp_ms DESC").split(/\s+/);
    if (key !== column.sort) return "none";
    return (direction || "ASC").toUpperCase() === "DESC" ? "descending" : "ascending";
  }

  function renderHead(columns) {
    const all = h("input", { type: "checkbox", "aria-label": "Select all traces on this page",
      checked: page.traces.length > 0 && page.traces.every((t) => selected.has(t.trace_id)) });
    all.addEventListener("change", () => {
      for (const t of page.traces) {
        if (all.checked) selected.add(t.trace_id);
        else selected.delete(t.trace_id);
      }
      renderTable();
    });
    thead.replaceChildren(h("tr", null, h("th", { scope: "col", class: "tg-check" }, all),
      columns.map((column) => {
        if (!column.sort) return h("th", { scope: "col", class: `tg-col-${column.id}` }, column.label);
        const sorted = sortState(column);
        const button = h("button", { type: "button", class: "tg-sort" }, column.label,
          h("span", { "aria-hidden": "true" }, sorted === "ascending" ? " ▲" : sorted === "descending" ? " ▼" : ""));
        button.addEventListener("click", () => {
          // First click: descending for times and counts (largest first), ascending for text.
          const textual = ["trace_id", "name", "status", "session_id", "user_id"].includes(column.sort);
          const direction = sorted === "none" ? (textual ? "ASC" : "DESC") : sorted === "descending" ? "ASC" : "DESC";
          app.navigate({ sort: `${column.sort} ${direction}` }, { push: false });
        });
        return h("th", { scope: "col", "aria-sort": sorted, class: `tg-col-${column.id}` }, button);
      })));
  }

  function cell(column, trace) {
    switch (column.id) {
      case "trace_id": {
        const link = h("a", { href: `/?experiment=${segment(state.experiment)}&trace=${segment(trace.trace_id)}`,
          class: "tg-mono", "aria-label": `Open trace ${trace.trace_id}`, tabindex: "-1" }, trace.trace_id.slice(0, 12) + "…");
        link.addEventListener("click", (event) => { event.preventDefault(); openTrace(trace.trace_id); });
        return link;
      }
      case "request": return previewCell(trace.request_preview, true);
      case "response": return previewCell(trace.response_preview, false);
      // Long names are cut to two lines (whole in the tooltip), as previews are.
      case "name": return trace.name
        ? h("span", { class: "tg-preview", dir: "auto", title: trace.name.slice(0, 1000) }, trace.name) : "";
      case "status": return h("span", { class: `tg-status tg-status-${trace.status.toLowerCase()}` }, trace.status);
      case "tokens":
        return trace.input_tokens == null && trace.output_tokens == null ? ""
          : `${formatCount(trace.input_tokens)} / ${formatCount(trace.output_tokens)}`;
      case "cost": return trace.cost_usd == null ? "" : formatCost(trace.cost_usd);
      case "execution_time": return formatTraceDuration(trace.execution_time_ms);
      case "request_time": return timeAgo(trace.timestamp_ms);
      case "session": return trace.session_id ? filterLink("session_id", trace.session_id, "session") : "";
      case "user": return trace.user_id ? filterLink("user_id", trace.user_id, "user") : "";
      case "tags":
        return h("span", { class: "tg-chips" }, Object.entries(trace.tags || {}).map(([key, value]) =>
          h("span", { class: "tg-chip" }, value ? `${key}: ${value}` : key)));
      default: return "";
    }
  }

  // A session or user that, clicked, shows only its traces (the filter a user would type).
  function filterLink(field, value, what) {
    const clause = `trace.${field} = ${quote(value)}`;
    const link = h("a", { href: `/?experiment=${segment(state.experiment)}&filter=${encodeURIComponent(clause)}`,
      title: `Show only the traces of this ${what}`, tabindex: "-1" }, value);
    link.addEventListener("click", (event) => {
      event.preventDefault();
      search.value = "";
      filter.value = clause;
      submit();
    });
    return link;
  }

  function previewCell(preview, wantLast) {
    const text = previewText(preview, wantLast);
    // dir=auto: a right-to-left message reads right to left (its punctuation on the correct side).
    return h("span", { class: "tg-preview", dir: "auto", title: text.slice(0, 500) }, text.slice(0, 300));
  }

  function renderTable() {
    const columns = COLUMNS.filter((column) => !hidden.has(column.id));
    const focusedId = document.activeElement && document.activeElement.closest
      && document.activeElement.closest("tr[data-trace-id]") ? document.activeElement.closest("tr").dataset.traceId : null;
    renderHead(columns);
    if (!page.traces.length) {
      tbody.replaceChildren(h("tr", null, h("td", { colspan: columns.length + 1, class: "tg-empty" },
        invalidFilter ? "Correct the filter to see traces."
          // A later page emptied (its traces deleted): the earlier pages still hold traces.
          : pageTokens.length > 1 ? "No more traces: see the previous page."
          : state.filter || state.search ? "No trace matches." : "No traces yet in this experiment.")));
    } else {
      tbody.replaceChildren(...page.traces.map((trace, index) => {
        const box = h("input", { type: "checkbox", "aria-label": `Select trace ${trace.trace_id}`,
          checked: selected.has(trace.trace_id), tabindex: "-1" });
        box.addEventListener("change", () => {
          if (box.checked) selected.add(trace.trace_id);
          else selected.delete(trace.trace_id);
          updateActions();
          renderHead(columns);
        });
        const row = h("tr", { "data-trace-id": trace.trace_id, tabindex: index === 0 ? "0" : "-1",
          "aria-selected": String(selected.has(trace.trace_id)),
          class: trace.trace_id === openTraceId ? "tg-open" : "" },
        h("td", { class: "tg-check" }, box),
        columns.map((column) => h("td", { class: `tg-col-${column.id}` }, cell(column, trace))));
        row.addEventListener("click", (event) => {
          if (event.target.closest("input, a, button")) return;
          openTrace(trace.trace_id);
        });
        return row;
      }));
    }
    const first = (pageTokens.length - 1) * PAGE_SIZE;
    // After a page opened from a link, the number of earlier pages is unknown.
    const numbered = !pageTokens.includes("");
    range.textContent = !page.traces.length ? ""
      : numbered ? `Traces ${first + 1}–${first + page.traces.length}` : `${counted(page.traces.length, "trace")} of a later page`;
    previous.disabled = pageTokens.length <= 1;
    next.disabled = !page.next_page_token;
    updateActions();
    if (focusedId) {
      const row = tbody.querySelector(`tr[data-trace-id="${CSS.escape(focusedId)}"]`);
      if (row) focusRow(row);
    }
  }

  function updateActions() {
    for (const id of [...selected]) if (!page.traces.some((t) => t.trace_id === id)) selected.delete(id);
    selectedCount.textContent = selected.size ? `${selected.size} selected` : "";
    compare.disabled = selected.size < 2;
    editTags.disabled = selected.size < 1;
    remove.disabled = selected.size < 1;
    for (const row of tbody.querySelectorAll("tr[data-trace-id]")) {
      row.setAttribute("aria-selected", String(selected.has(row.dataset.traceId)));
    }
  }

  function focusRow(row) {
    for (const other of tbody.querySelectorAll("tr[tabindex='0']")) other.tabIndex = -1;
    row.tabIndex = 0;
    row.focus();
  }

  // Keyboard: arrows move between rows, Enter opens, Space selects, Home/End jump.
  tbody.addEventListener("keydown", (event) => {
    const row = event.target.closest("tr[data-trace-id]");
    if (!row || event.target !== row) return;
    const rows = [...tbody.querySelectorAll("tr[data-trace-id]")];
    const at = rows.indexOf(row);
    let target = null;
    if (event.key === "ArrowDown") target = rows[at + 1];
    else if (event.key === "ArrowUp") target = rows[at - 1];
    else if (event.key === "Home") target = rows[0];
    else if (event.key === "End") target = rows[rows.length - 1];
    else if (event.key === "Enter") openTrace(row.dataset.traceId);
    else if (event.key === " ") {
      const box = row.querySelector("input[type=checkbox]");
      box.checked = !box.checked;
      box.dispatchEvent(new Event("change"));
    } else return;
    event.preventDefault();
    if (target) focusRow(target);
  });

  // -- actions ------------------------------------------------------------------------------
  function openTrace(traceId) {
    app.navigate({ trace: traceId, span: "" });
  }

  function compareSelected() {
    if (selected.size < 2) return;
    app.navigate({ compare: [...selected].join(","), trace: "", span: "" });
  }

  async function deleteSelected() {
    const ids = [...selected];
    if (!ids.length) return;
    const answer = await askDialog({ title: `Delete ${ids.length} trace${ids.length > 1 ? "s" : ""}?`, confirm: "Delete",
      danger: true, message: "Their spans, tags and metadata are deleted too. This cannot be undone." });
    if (!answer) return;
    await app.apiFetch("/traces", { method: "DELETE", body: { trace_ids: ids } });
    selected.clear();
    if (ids.includes(state.trace)) app.navigate({ trace: "", span: "" }, { push: false });
    await load();
  }

  async function editTagsOf(ids) {
    if (!ids.length) return;
    const infos = ids.map((id) => page.traces.find((t) => t.trace_id === id) || { trace_id: id, tags: {} });
    await tagDialog(app, infos);
    await load();
    if (state.trace && ids.includes(state.trace)) showTrace(true);
  }

  // -- the open trace -----------------------------------------------------------------------
  async function showTrace(force = false) {
    if (!state.trace) {
      if (openTraceId) {
        const row = tbody.querySelector(`tr[data-trace-id="${CSS.escape(openTraceId)}"]`);
        openTraceId = "";
        drawer.hidden = true;
        if (traceView) traceView.destroy();
        traceView = null;
        renderTable();
        if (row) focusRow(tbody.querySelector(`tr[data-trace-id="${CSS.escape(row.dataset.traceId)}"]`) || row);
      }
      return;
    }
    if (state.trace === openTraceId && !force) {
      if (traceView && state.span) traceView.selectSpan(state.span);
      return;
    }
    openTraceId = state.trace;
    const traceId = state.trace;
    const close = h("button", { type: "button", class: "tg-close", onclick: () => app.navigate({ trace: "", span: "" }) },
      "Close trace");
    // Enabled once the trace is loaded: a trace that does not exist has no tags to edit.
    const tags = h("button", { type: "button", disabled: true, onclick: async () => {
      await tagDialog(app, [current.info]);
      await load();
      showTrace(true);
    } }, "Edit tags");
    const content = h("div", { class: "tg-drawer-body" }, h("p", { class: "tg-muted", role: "status" }, "Loading trace…"));
    let current = null;
    drawer.replaceChildren(h("div", { class: "tg-drawer-bar" }, tags, h("span", { class: "tg-spacer" }), close), content);
    drawer.setAttribute("aria-label", `Trace ${traceId}`);
    drawer.hidden = false;
    renderTable();
    try {
      current = await app.apiFetch(`/traces/${segment(traceId)}?max_value_length=${MAX_VALUE_LENGTH}`);
    } catch (exc) {
      content.replaceChildren(h("p", { class: "tg-error", role: "alert" },
        exc.status === 404 ? "This trace no longer exists." : `Could not load the trace: ${exc.message}`));
      return;
    }
    if (openTraceId !== traceId) return;
    tags.disabled = false;
    if (traceView) traceView.destroy();
    traceView = mountTraceView(content, current, {
      selectedSpanId: state.span || null,
      fetchSpan: (tid, sid) => app.apiFetch(`/traces/${segment(tid)}/spans/${segment(sid)}`),
      onSelectSpan: (spanId) => app.navigate({ span: spanId }, { push: false }),
    });
    if (!force) traceView.focusTree();
  }

  drawer.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !event.defaultPrevented) {
      event.preventDefault();
      app.navigate({ trace: "", span: "" });
    }
  });

  async function poll() {
    if (stopped) return;
    // New traces appear without a reload; paused while the tab is hidden or a dialog is open, and
    // while the filter is refused: it stays refused until changed, and asking again would replace
    // (and so announce again) its error every few seconds.
    if (active && !invalidFilter && document.visibilityState === "visible" && !document.querySelector("dialog[open]")) {
      await load({ quiet: true });
    }
    timer = setTimeout(poll, POLL_MS);
  }

  load();
  showTrace();
  timer = setTimeout(poll, POLL_MS);

  return {
    setActive(value) { active = value; },
    update(nextState) {
      const queryChanged = ["search", "filter", "sort", "page"].some((key) => nextState[key] !== state[key]);
      state = nextState;
      if (search.value.trim() !== state.search) search.value = state.search;
      if (filter.value.trim() !== state.filter) filter.value = state.filter;
      if (queryChanged) {
        pageTokens = tokensFor(state.page);
        selected.clear();
        load();
      }
      showTrace();
    },
    destroy() {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener("click", closeOutside);
      if (traceView) traceView.destroy();
    },
  };
}

// The Overview tab of an experiment: requests, errors, latency percentiles and token usage over
// time, and per model, drawn as inline SVG from GET /api/v1/experiments/{id}/overview.
//
// mountOverview(element, experimentId, apiFetch): apiFetch(path) resolves to parsed JSON (paths
// relative to /api/v1). Every string from the data (model names) reaches the DOM as text nodes;
// each chart is an <svg role="img"> named by its <title> and summarised by its <desc>, and every
// bar or point carries a <title> with its figures.

import { formatCost } from "./trace-view.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 640;
const HEIGHT = 180;
// left: a y label of 7 characters ("100.0 %") at LABEL_CHAR_WIDTH, right-aligned 6 px off the plot.
const PAD = { top: 10, right: 12, bottom: 26, left: 60 };
const LABEL_CHAR_WIDTH = 7.2; // px, at most, of a character of an axis label (12px text)
const COLORS = ["#2457c5", "#e8590c", "#15803d", "#7c3aed", "#0891b2", "#a16207", "#db2777", "#64748b"];
const RANGES = [
  ["all", "All traces", null],
  ["1h", "Last hour", 3_600_000],
  ["24h", "Last 24 hours", 86_400_000],
  ["7d", "Last 7 days", 7 * 86_400_000],
  ["30d", "Last 30 days", 30 * 86_400_000],
];
let chartIds = 0;

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value == null) continue;
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) if (child != null) node.append(child instanceof Node ? child : String(child));
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value == null) continue;
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) if (child != null) node.append(child);
  return node;
}

function tip(text) {
  return svg("title", { text });
}

function ensureStylesheet() {
  if (document.querySelector('link[data-tg-overview]')) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = new URL("./overview.css", import.meta.url).href;
  link.dataset.tgOverview = "";
  document.head.append(link);
}

export function formatCount(n) {
  if (n == null) return "–";
  if (Math.abs(n) >= 1e9) return `${(n / 1e9).toFixed(1)} B`;
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (Math.abs(n) >= 1e4) return `${(n / 1e3).toFixed(1)} k`;
  return String(n);
}

export function formatDuration(ms) {
  if (ms == null) return "–";
  // Axis steps of a few milliseconds are fractions: 0.75 ms, not a second "1 ms".
  if (ms < 999.5) return `${ms < 10 ? Number(ms.toFixed(2)) : Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  // At most seven characters, the room an axis label has: "9.5 min", "45 min", "2.5 h", "36 h".
  const minutes = ms / 60_000;
  if (minutes < 9.95) return `${minutes.toFixed(1)} min`;
  if (minutes < 59.5) return `${Math.round(minutes)} min`;
  const hours = ms / 3_600_000;
  return hours < 9.95 ? `${hours.toFixed(1)} h` : `${Math.round(hours).toLocaleString("en-US")} h`;
}

// A cost on an axis, in at most seven characters: "$0", "$3.9e-4", "$0.0039", "$0.25", "$9.50", "$120",
// "$12.3k", "$1.2M".
function formatCostAxis(usd) {
  if (!usd) return "$0";
  if (usd < 0.001) return `$${usd.toExponential(1)}`;
  if (usd < 1) return `$${Number(usd.toPrecision(2))}`;
  if (usd < 1000) return `$${usd.toFixed(usd < 10 ? 2 : 0)}`;
  if (usd < 999_950) return `$${(usd / 1000).toFixed(1)}k`;
  return `$${(usd / 1e6).toFixed(1)}M`;
}

function formatWidth(ms) {
  for (const [unit, size] of [["day", 86_400_000], ["h", 3_600_000], ["min", 60_000], ["s", 1000]]) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${unit}${unit === "day" && ms !== size ? "s" : ""}`;
  }
  return `${ms} ms`;
}

function formatRate(rate) {
  return rate == null ? "–" : `${(rate * 100).toFixed(rate > 0 && rate < 0.01 ? 2 : 1)} %`;
}

function pad(n) {
  return String(n).padStart(2, "0");
}

// Buckets of a day or more start at midnight UTC (the server aligns every bucket on a multiple of
// its width): they are named by their UTC date, which the local date would put a day off.
function utcDate(ms) {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

function formatBucket(ms, bucketMs) {
  if (bucketMs >= 86_400_000) return `${utcDate(ms)} UTC`;
  const d = new Date(ms);
  const date = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return bucketMs < 60_000 ? `${date} ${time}:${pad(d.getSeconds())}` : `${date} ${time}`;
}

function axisLabel(ms, bucketMs, spanMs) {
  if (bucketMs >= 86_400_000) return utcDate(ms).slice(5);
  const d = new Date(ms);
  if (spanMs > 3 * 86_400_000) return `${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (spanMs > 86_400_000) return `${pad(d.getDate())} ${time}`;
  if (spanMs > 10 * 60_000) return time;
  // A range of minutes or seconds: the labels must differ within one minute.
  if (spanMs > 10_000) return `${time}:${pad(d.getSeconds())}`;
  return `${pad(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, "0")} s`;
}

// The top of the y axis: four round steps covering `value` (whole steps for counts).
function niceMax(value, integer) {
  if (!(value > 0)) return 4;
  const quarter = integer ? Math.max(1, Math.ceil(value / 4)) : value / 4;
  const magnitude = 10 ** Math.floor(Math.log10(quarter));
  const steps = integer && magnitude === 1 ? [1, 2, 3, 4, 5, 6, 8, 10] : [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10];
  for (const step of steps) if (step * magnitude >= quarter) return 4 * step * magnitude;
  return 40 * magnitude;
}

// A chart frame: the <svg> with title and description, y grid and labels, x labels; returns
// helpers to place marks in it.
// `yLimit`: the axis never goes past it (a rate stops at 100 %, even with no errors at all).
function frame({ title, description, buckets, bucketMs, yMax, yFormat, integer = false, yLimit = Infinity }) {
  const id = `tg-chart-${++chartIds}`;
  const root = svg("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-labelledby": `${id}-title`, "aria-describedby": `${id}-desc`,
    class: "tg-ov-chart",
  });
  root.append(svg("title", { id: `${id}-title`, text: title }), svg("desc", { id: `${id}-desc`, text: description }));
  const innerW = WIDTH - PAD.left - PAD.right;
  const innerH = HEIGHT - PAD.top - PAD.bottom;
  const max = Math.min(niceMax(yMax, integer), yLimit);
  const y = (v) => PAD.top + innerH - (innerH * v) / max;
  const band = innerW / Math.max(buckets.length, 1);
  const x = (i) => PAD.left + i * band;
  const grid = svg("g", { class: "tg-ov-axes", "aria-hidden": "true" });
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4;
    grid.append(svg("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(v), y2: y(v) }),
      svg("text", { x: PAD.left - 6, y: y(v) + 4, "text-anchor": "end", text: yFormat(v) }));
  }
  const spanMs = buckets.length * bucketMs;
  const every = Math.max(1, Math.ceil(buckets.length / 6));
  buckets.forEach((bucket, i) => {
    if (i % every) return;
    const label = axisLabel(bucket.start_ms, bucketMs, spanMs);
    // A label that would run past the chart's right edge (cut off) is left out.
    if (x(i) + label.length * LABEL_CHAR_WIDTH > WIDTH) return;
    grid.append(svg("text", { x: x(i), y: HEIGHT - 8, "text-anchor": "start", text: label }));
  });
  root.append(grid);
  return { root, x, y, band, innerH, base: y(0) };
}

function legend(items) {
  return el("ul", { class: "tg-ov-legend" }, items.map(([label, color]) =>
    el("li", null, el("span", { class: "tg-ov-swatch", "data-color": color }), el("span", { text: label }))));
}

function paintSwatches(root) {
  // Colours set through the CSSOM (the page's CSP allows no inline style attributes).
  for (const swatch of root.querySelectorAll(".tg-ov-swatch")) swatch.style.background = swatch.dataset.color;
}

// Stacked bars: of counts (requests, tokens, calls), with whole numbers on the axis, or of amounts
// (cost) with `integer: false`; `tipFormat` writes a bar's figures in its tooltip.
function stackedBars({ title, description, buckets, bucketMs, series, yFormat, integer = true, tipFormat = yFormat }) {
  const totals = buckets.map((b) => series.reduce((sum, s) => sum + (s.value(b) || 0), 0));
  const chart = frame({ title, description, buckets, bucketMs, yMax: Math.max(0, ...totals), yFormat, integer });
  const marks = svg("g");
  buckets.forEach((bucket, i) => {
    let top = 0;
    const lines = [formatBucket(bucket.start_ms, bucketMs)];
    const bar = svg("g", { class: "tg-ov-bar" });
    for (const s of series) {
      const v = s.value(bucket) || 0;
      lines.push(`${s.label}: ${tipFormat(v)}`);
      if (!v) continue;
      const y0 = chart.y(top);
      const y1 = chart.y(top + v);
      bar.append(svg("rect", { x: chart.x(i) + chart.band * 0.1, width: Math.max(chart.band * 0.8, 1), y: y1,
        height: Math.max(y0 - y1, 0.5), fill: s.color }));
      top += v;
    }
    // A full-height target, so the figures show on hover whatever the bar's height.
    bar.append(svg("rect", { x: chart.x(i), width: chart.band, y: PAD.top, height: chart.innerH, fill: "transparent" }),
      tip(lines.join("\n")));
    marks.append(bar);
  });
  chart.root.append(marks);
  return el("figure", { class: "tg-ov-figure" }, el("figcaption", { text: title }), chart.root,
    legend(series.map((s) => [s.label, s.color])));
}

function lines({ title, description, buckets, bucketMs, series, yFormat, yLimit }) {
  const values = buckets.flatMap((b) => series.map((s) => s.value(b))).filter((v) => v != null);
  const chart = frame({ title, description, buckets, bucketMs, yMax: Math.max(0, ...values), yFormat, yLimit });
  // Highest percentile first, so a lower line stays visible where they coincide.
  for (const s of [...series].reverse()) {
    let path = "";
    let pen = false;
    const points = svg("g");
    buckets.forEach((bucket, i) => {
      const v = s.value(bucket);
      if (v == null) {
        pen = false;
        return;
      }
      const px = chart.x(i) + chart.band / 2;
      const py = chart.y(v);
      path += `${pen ? "L" : "M"}${px.toFixed(1)},${py.toFixed(1)}`;
      pen = true;
      points.append(svg("circle", { cx: px, cy: py, r: 2.5, fill: s.color },
        tip(`${formatBucket(bucket.start_ms, bucketMs)}\n${s.label}: ${yFormat(v)}`)));
    });
    chart.root.append(svg("path", { d: path, fill: "none", stroke: s.color, "stroke-width": 1.5 }), points);
  }
  return el("figure", { class: "tg-ov-figure" }, el("figcaption", { text: title }), chart.root,
    legend(series.map((s) => [s.label, s.color])));
}

function tile(label, value, detail) {
  return el("div", { class: "tg-ov-tile" }, el("div", { class: "tg-ov-tile-label", text: label }),
    el("div", { class: "tg-ov-tile-value", text: value }), detail ? el("div", { class: "tg-ov-tile-detail", text: detail }) : null);
}

function modelsTable(models) {
  const head = ["Model", "Calls", "Errors", "Input tokens", "Output tokens", "Cost", "p50", "p95", "p99"];
  return el("table", { class: "tg-table tg-ov-models" },
    el("caption", { class: "tg-visually-hidden", text: "Calls per model" }),
    el("thead", null, el("tr", null, head.map((label) => el("th", { scope: "col", text: label })))),
    el("tbody", null, models.map((m) => el("tr", null,
      el("th", { scope: "row", class: "tg-mono", text: m.model }),
      el("td", { text: formatCount(m.requests) }),
      el("td", { text: formatCount(m.errors) }),
      el("td", { text: formatCount(m.input_tokens) }),
      el("td", { text: formatCount(m.output_tokens) }),
      el("td", { text: formatCost(m.cost_usd) }),
      el("td", { text: formatDuration(m.p50_ms) }),
      el("td", { text: formatDuration(m.p95_ms) }),
      el("td", { text: formatDuration(m.p99_ms) })))));
}

function describeSeries(buckets, label, value, format) {
  let peak = null;
  for (const b of buckets) {
    const v = value(b);
    if (v != null && (peak == null || v > value(peak))) peak = b;
  }
  if (peak == null) return `No ${label} in this range.`;
  return `${buckets.length} buckets; highest ${label}: ${format(value(peak))} at ${formatBucket(peak.start_ms, 1)}.`;
}

// `modelsPending`: `data` was asked for without the per-model figures, which follow.
export function renderOverview(data, { modelsPending = false } = {}) {
  const { buckets, bucket_ms: bucketMs, totals, models, model_buckets: modelBuckets } = data;
  const range = `${formatBucket(data.start_ms, bucketMs)} – ${formatBucket(data.end_ms, bucketMs)}`;
  const width = formatWidth(bucketMs);
  const tiles = el("div", { class: "tg-ov-tiles" },
    tile("Requests", formatCount(totals.requests), range),
    tile("Errors", formatCount(totals.errors), `${formatRate(totals.error_rate)} of requests`),
    tile("Latency p50", formatDuration(totals.p50_ms), `p95 ${formatDuration(totals.p95_ms)} · p99 ${formatDuration(totals.p99_ms)}`),
    tile("Input tokens", formatCount(totals.input_tokens)),
    tile("Output tokens", formatCount(totals.output_tokens)),
    totals.cost_usd == null ? null : tile("Cost", formatCost(totals.cost_usd), "estimated, at published prices"));
  if (!totals.requests) {
    return el("div", { class: "tg-ov" }, tiles, el("p", { class: "tg-muted", text: "No traces in this range." }));
  }
  const count = (v) => formatCount(Math.round(v));
  const charts = [
    stackedBars({
      title: "Requests", buckets, bucketMs, yFormat: count,
      description: `Traces per ${width} bucket, failed ones in red. ` +
        describeSeries(buckets, "requests", (b) => b.requests, count),
      series: [
        { label: "OK", color: COLORS[0], value: (b) => b.requests - b.errors },
        { label: "Error", color: "#b42318", value: (b) => b.errors },
      ],
    }),
    lines({
      title: "Latency", buckets, bucketMs, yFormat: formatDuration,
      description: "Execution time percentiles (p50, p95, p99) of the traces in each bucket. " +
        describeSeries(buckets, "p95", (b) => b.p95_ms, formatDuration),
      series: [
        { label: "p50", color: COLORS[0], value: (b) => b.p50_ms },
        { label: "p95", color: COLORS[1], value: (b) => b.p95_ms },
        { label: "p99", color: COLORS[3], value: (b) => b.p99_ms },
      ],
    }),
    lines({
      title: "Error rate", buckets, bucketMs, yFormat: (v) => formatRate(v), yLimit: 1,
      description: "Share of the traces in each bucket whose status is ERROR. " +
        describeSeries(buckets, "error rate", (b) => b.error_rate, formatRate),
      series: [{ label: "Error rate", color: "#b42318", value: (b) => b.error_rate }],
    }),
    stackedBars({
      title: "Token usage", buckets, bucketMs, yFormat: count,
      description: "Input and output tokens of the traces in each bucket. " +
        describeSeries(buckets, "token count", (b) => b.input_tokens + b.output_tokens, count),
      series: [
        { label: "Input tokens", color: COLORS[0], value: (b) => b.input_tokens },
        { label: "Output tokens", color: COLORS[2], value: (b) => b.output_tokens },
      ],
    }),
  ];
  if (totals.cost_usd != null) {
    charts.push(stackedBars({
      title: "Cost", buckets, bucketMs, yFormat: formatCostAxis, tipFormat: formatCost, integer: false,
      description: "Estimated cost (US dollars, at the providers' published prices) of the traces in each bucket. " +
        describeSeries(buckets, "cost", (b) => b.cost_usd, formatCost),
      series: [{ label: "Cost", color: COLORS[5], value: (b) => b.cost_usd }],
    }));
  }
  const sections = [tiles, el("div", { class: "tg-ov-grid" }, charts)];
  if (modelsPending) {
    sections.push(el("h2", { class: "tg-ov-heading", text: "By model" }),
      el("p", { class: "tg-muted", role: "status", text: "Loading the figures per model…" }));
  } else if (models.length) {
    // One colour per model for the most called ones; the rest share "Other models".
    const shown = models.length > COLORS.length ? models.slice(0, COLORS.length - 1) : models;
    const other = models.length > shown.length ? { model: "Other models", requests: 0 } : null;
    const index = new Map(buckets.map((b, i) => [b.start_ms, i]));
    const perModel = new Map([...shown, ...(other ? [other] : [])].map((m) => [m.model, buckets.map(() => 0)]));
    const named = new Set(shown.map((m) => m.model));
    for (const cell of modelBuckets) {
      if (!index.has(cell.start_ms)) continue;
      const row = perModel.get(named.has(cell.model) ? cell.model : other && other.model);
      if (!row) continue;
      row[index.get(cell.start_ms)] += cell.requests;
      if (!named.has(cell.model)) other.requests += cell.requests;
    }
    const series = [...shown, ...(other ? [other] : [])];
    sections.push(el("h2", { class: "tg-ov-heading", text: "By model" }), el("div", { class: "tg-ov-grid" },
      stackedBars({
        title: "Calls per model", buckets, bucketMs, yFormat: count,
        description: `Model calls (chat, completion and embedding spans, named by ${data.model_attribute}) per bucket: ` +
          series.map((m) => `${m.model} ${formatCount(m.requests)}`).join(", ") + ".",
        series: series.map((m, i) => ({ label: m.model, color: COLORS[i], value: (b) => perModel.get(m.model)[index.get(b.start_ms)] })),
      })), el("div", { class: "tg-ov-table-wrap" }, modelsTable(models)));
  }
  const root = el("div", { class: "tg-ov" }, sections);
  paintSwatches(root);
  return root;
}

export function mountOverview(element, experimentId, apiFetch) {
  ensureStylesheet();
  const select = el("select", { "aria-label": "Time range" },
    RANGES.map(([key, label]) => el("option", { value: key, text: label })));
  const refresh = el("button", { type: "button", text: "Refresh overview" });
  const status = el("p", { class: "tg-status", role: "status", "aria-live": "polite" });
  const body = el("div", { class: "tg-ov-body" });
  element.replaceChildren(el("div", { class: "tg-ov-controls" }, select, refresh, status), body);
  let generation = 0;

  async function load() {
    const mine = ++generation;
    const range = RANGES.find(([key]) => key === select.value);
    let query = "buckets=60";
    if (range && range[2]) {
      const end = Date.now() + 1;
      query += `&start_ms=${end - range[2]}&end_ms=${end}`;
    }
    status.textContent = "Loading…";
    refresh.disabled = true;
    const path = `/experiments/${encodeURIComponent(experimentId)}/overview?${query}`;
    // The figures per model read every model call's span: on a large experiment they take much
    // longer than the rest, which is asked for first (alone, so that nothing slows it down) and
    // drawn at once; the whole overview follows.
    try {
      const quick = await apiFetch(`${path}&models=false`);
      if (mine !== generation) return;
      body.replaceChildren(renderOverview(quick, { modelsPending: quick.totals.requests > 0 }));
      status.textContent = "";
      if (!quick.totals.requests) return;
      const data = await apiFetch(path);
      if (mine !== generation) return;
      body.replaceChildren(renderOverview(data));
    } catch (error) {
      if (mine !== generation) return;
      body.replaceChildren(el("p", { class: "tg-error", role: "alert", text: `The overview failed: ${error.message}` }));
      status.textContent = "";
    } finally {
      if (mine === generation) refresh.disabled = false;
    }
  }

  select.addEventListener("change", load);
  refresh.addEventListener("click", load);
  load();
  return { refresh: load };
}

"""Markdown report for bench/overhead.py (input: the results dict it also writes as JSON)."""

from __future__ import annotations


def _kib(b: float) -> str:
    return f"{b / 1024:+,.0f} KiB"


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _header(*names: str) -> list[str]:
    return [_row(*names), "|" + "---|" * len(names)]


def _providers(scen: dict) -> str:
    names = [("OpenAI", lambda s: "_" not in s), ("Anthropic", lambda s: s.startswith("anthropic_")),
             ("Ollama", lambda s: s.startswith("ollama_"))]
    return ", ".join(n for n, match in names if any(match(s) for s in scen)) or "no scenario"


def render(res: dict) -> str:
    meta, scen = res["meta"], res["scenarios"]
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    L = [f"## traceglass instrumentor overhead: {_providers(scen)} ({meta['date']})", "",
         f"{meta['python']}, {meta['machine']}; {versions}.",
         f"CPU per call (`time.process_time`, whole process): median over {meta['repeats']} repeats of the "
         f"per-repeat median; uninstrumented and instrumented blocks interleaved ({meta['blocks']} blocks "
         f"per mode per repeat); capture_content={meta['capture_content']}.", ""]
    if meta.get("anthropic_sdk_tracing") is not None:
        L[-1:-1] = ["The anthropic SDK's own tracing: " + (
            "on in both modes (SDK default; its span is the baseline's, traceglass's replaces it)."
            if meta["anthropic_sdk_tracing"] else "off in both modes (clients built with open_telemetry=False).")]
    L[-1:-1] = [f"Note: {n}." for n in meta.get("notes", [])]
    if not res["instrumented"]:
        L += ["**traceglass not importable: uninstrumented figures only.**", ""]
        L += _header("scenario", "calls/repeat", "uninstrumented µs (median)", "mean incl. flush µs")
        L += [_row(s, r["calls_per_mode_per_repeat"], f"{r['off']['median_us']:,.0f}",
                   f"{r['off']['mean_us']:,.0f}") for s, r in scen.items()]
        return "\n".join([*L, ""])

    L += _header("scenario", "calls/repeat", "uninstrumented µs", "instrumented µs", "added µs", "added %",
                 "target", "result")
    for s, r in scen.items():
        L.append(_row(s, r["calls_per_mode_per_repeat"], f"{r['off']['median_us']:,.0f}",
                      f"{r['on']['median_us']:,.0f}", f"{r['added_us']:+,.0f}", f"{r['added_pct']:+.1f}%",
                      f"≤ {r['target_pct']:.0f}%", "PASS" if r["pass"] else "FAIL"))

    if any("floor_us" in r for r in scen.values()):
        L += ["", "The OpenTelemetry SDK's floor (`--floor`, `_floor.py`): the uninstrumented client with each call "
              "wrapped in one span and the required metric points, nothing read from the request or response; "
              "no instrumentor can add less. Same run, interleaved with the two modes above.", ""]
        L += _header("scenario", "floor µs", "floor added µs", "floor added %", "target",
                     "traceglass added beyond the floor")
        L += [_row(s, f"{r['floor']['median_us']:,.0f}", f"{r['floor_us']:+,.0f}", f"{r['floor_pct']:+.1f}%",
                   f"≤ {r['target_pct']:.0f}%", f"{r['added_us'] - r['floor_us']:+,.0f} µs")
              for s, r in scen.items()]

    L += ["", "Other estimates of the added %: `mean` = whole windows incl. the final flush (all export "
          "work counted); `ratio` = median of the per-repeat paired ratios (insensitive to drift).", ""]
    L += _header("scenario", "mean incl. flush: off → on µs", "added % (mean)", "added % (ratio)",
                 "per-repeat added %")
    for s, r in scen.items():
        per = ", ".join(f"{100 * (x['on']['median_us'] / x['off']['median_us'] - 1):+.0f}"
                        for x in r["repeats"])
        L.append(_row(s, f"{r['off']['mean_us']:,.0f} → {r['on']['mean_us']:,.0f}",
                      f"{r['added_mean_pct']:+.1f}%", f"{r['added_ratio_pct']:+.1f}%", per))

    L += ["", "Checks (spans and logs counted over the timed blocks; content from 3 captured calls):", ""]
    L += _header("scenario", "spans/call on / off", "logs/call", "span name", "prompt on span",
                 "answer on span", "response unaltered", "content attributes")
    for s, v in res["verify"].items():
        r = scen[s]
        prompt = "yes" if v["prompt_on_span"] else ("no (not required)" if s == "embeddings" else "NO")
        L.append(_row(s, f"{r['on']['spans_per_call']:.2f} / {r['off']['spans_per_call']:.2f}",
                      f"{r['on']['logs_per_call']:.2f}", ", ".join(v["span_names"]) or "—", prompt,
                      "yes" if v["answer_on_span"] else "no",
                      "yes" if v["on"]["response_ok"] and v["off"]["response_ok"] else "NO",
                      ", ".join(v["content_keys"]) or "—"))
    if res.get("metrics_seen") is not None:
        L += ["", f"Metric instruments recorded: {', '.join(res['metrics_seen']) or 'none'}."]

    m = res.get("memory")
    if m:
        rss, tr = m["rss"], m.get("traced")
        L += ["", f"Memory: {rss['calls']:,} instrumented OpenAI chat calls ({rss['cpu_s']} s CPU) with RSS from "
              "/proc/self/statm and live gc-tracked objects counted after gc.collect(); then "
              f"{tr['calls'] if tr else 0:,} more with tracemalloc on. Growth over the second half of each "
              f"should be ~0 ({m['spans_per_call']:.2f} spans/call).", ""]
        L += _header("RSS at start", "RSS growth, whole run", "RSS growth, 2nd half", "gc objects, 2nd half",
                     "traced memory, 2nd half", "result")
        L.append(_row(f"{rss['rss_start'] / 1048576:,.1f} MiB", _kib(rss["rss_growth_total"]),
                      _kib(rss["rss_growth_second_half"]) + ("" if m["rss_ok"] else " (!)"),
                      f"{rss['gc_objects_growth_second_half']:+,}" + ("" if m["objects_ok"] else " (!)"),
                      (_kib(tr["traced_growth_second_half"]) if tr else "—") + ("" if m["traced_ok"] else " (!)"),
                      "PASS" if m["pass"] else "FAIL"))
        if tr and tr["top_growth_sites"] and not m["traced_ok"]:
            L += ["", "Top tracemalloc growth sites (2nd half):", *(f"- {t}" for t in tr["top_growth_sites"])]
    if res["problems"]:
        L += ["", "**Problems:**", *(f"- {p}" for p in res["problems"])]
    return "\n".join([*L, ""])

"""Synthetic GenAI traces for the store benchmarks: deterministic, realistic in shape and size.

Pure Python with no imports beyond the standard library, so the same traces can be generated in
the traceglass environment and in a separate MLflow environment (bench/_mlflow_store.py).

A trace is a list of span dicts (the neutral form both sides convert from):
    trace_id, span_id (lowercase hex), parent_span_id, name, kind, start_ns, end_ns,
    status_code (UNSET | OK | ERROR), status_message, attributes (dict of OTel attribute values).

Two shapes:
- 10 spans (`make_trace(..., spans=10)`, the search store): an agent root (CHAIN) with JSON
  inputs/outputs, tags, metadata, session and user; a guardrail, an embedding call, a retriever
  with documents, three chat calls (gen_ai.* attributes incl. input/output messages of ~1-2 KB),
  two tool calls and an output parser.
- 5 spans (`spans=5`, the write benchmark): root chain, retriever, chat, tool, chat.

Distributions the queries rely on (per trace, all seeded):
- experiments: EXPERIMENTS with EXPERIMENT_WEIGHTS; the list-page query reads LIST_EXPERIMENT.
- chat model: MODELS with weights; COMMON_MODEL on ~40 % of traces, RARE_MODEL on ~0.2 %.
- ~3 % of traces fail (a tool span and the root with status ERROR).
- COMMON_PHRASE in ~10 % of traces' user messages, RARE_PHRASE in ~0.1 %.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

EXPERIMENTS = ("Default", "support-bot", "rag-eval", "agent-v2", "summarizer", "nightly-regression")
EXPERIMENT_WEIGHTS = (10, 30, 20, 20, 15, 5)
LIST_EXPERIMENT = "support-bot"

# (model, provider, weight): gpt-4o-mini is the common one, gpt-4.1-nano the rare one.
MODELS = (
    ("gpt-4o-mini", "openai", 400),
    ("gpt-4o", "openai", 150),
    ("claude-sonnet-4-5", "anthropic", 150),
    ("claude-haiku-4-5", "anthropic", 100),
    ("llama3.2", "ollama", 80),
    ("gemini-2.5-flash", "gcp.gemini", 80),
    ("o4-mini", "openai", 38),
    ("gpt-4.1-nano", "openai", 2),
)
COMMON_MODEL = "gpt-4o-mini"
RARE_MODEL = "gpt-4.1-nano"
COMMON_PHRASE = "order status"
RARE_PHRASE = "quantum warranty clause"
MISSING_PHRASE = "zebra marmalade telescope"  # in no trace: a search that must scan the index for nothing

TOOLS = ("lookup_order", "search_kb", "get_weather", "create_ticket", "refund_payment", "send_email")
TAGS = ("prod", "staging", "canary", "eval", "beta", "regression", "vip", "mobile", "web", "api")
REGIONS = ("eu-west-1", "us-east-1", "us-west-2", "ap-south-1")
APP_VERSIONS = ("1.4.0", "1.4.1", "1.5.0", "1.5.1", "1.6.0-rc1")
TOPICS = (
    "I want to check the order status of my last purchase",
    "how do I reset my password on the mobile app",
    "can you summarize the attached quarterly report",
    "please translate this paragraph into German",
    "what is your return policy for electronics",
    "my invoice shows a duplicate charge",
    "recommend a laptop for data science under 1500 dollars",
    "write a polite reply to this customer complaint",
    "explain the difference between TCP and UDP",
    "book a table for four people on Friday evening",
    "why was my account suspended",
    "draft release notes for version 2.3",
    "compare the premium and business plans",
    "the delivery address on my order is wrong",
    "generate a SQL query for monthly active users",
    "what does error code E1042 mean on the printer",
)

_SYLLABLES = ("ka", "lo", "mi", "ra", "te", "sun", "vel", "dor", "pri", "ex", "on", "al", "qui", "ber",
              "tan", "zo", "mu", "ne", "fi", "gra", "stro", "pel", "win", "har", "cos", "lin", "tra", "vi")
_COMMON_WORDS = (
    "the", "a", "of", "to", "and", "in", "is", "for", "that", "with", "on", "as", "this", "be", "are",
    "customer", "order", "account", "payment", "delivery", "product", "service", "request", "support",
    "policy", "update", "invoice", "refund", "shipping", "model", "answer", "question", "document",
    "report", "result", "system", "user", "data", "time", "issue", "team", "price", "plan", "feature",
    "please", "thanks", "could", "would", "should", "will", "can", "need", "want", "check", "help",
)


def _vocabulary(rng: random.Random, n: int = 3000) -> list[str]:
    words = set()
    while len(words) < n:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))))
    return list(_COMMON_WORDS) * 6 + sorted(words)


class _Text:
    """A pool of pre-built paragraphs: composing messages from it keeps generation fast (1M spans)
    while the text stays varied (3,000 invented words, 4,000 distinct paragraphs)."""

    def __init__(self, seed: int = 7) -> None:
        rng = random.Random(seed)
        vocab = _vocabulary(rng)
        self.paragraphs = []
        for _ in range(4000):
            sentences = []
            for _ in range(rng.randint(2, 5)):
                words = [rng.choice(vocab) for _ in range(rng.randint(6, 18))]
                sentences.append(" ".join(words).capitalize() + ".")
            self.paragraphs.append(" ".join(sentences))

    def some(self, rng: random.Random, lo: int, hi: int) -> str:
        """Paragraphs joined until at least `lo` characters (at most ~`hi`)."""
        out: list[str] = []
        size = 0
        target = rng.randint(lo, hi)
        while size < target:
            p = self.paragraphs[rng.randrange(len(self.paragraphs))]
            out.append(p)
            size += len(p) + 1
        return " ".join(out)[:hi]


_TEXT: _Text | None = None


def _text() -> _Text:
    global _TEXT
    if _TEXT is None:
        _TEXT = _Text()
    return _TEXT


_MODEL_NAMES = [m for m, _, _ in MODELS]
_MODEL_PROVIDER = {m: p for m, p, _ in MODELS}
_MODEL_WEIGHTS = [w for _, _, w in MODELS]
BASE_NS = 1_761_955_200_000_000_000  # 2025-11-01T00:00:00Z
TRACE_GAP_NS = 2_000_000_000  # a trace every ~2 s (100k traces ~ 2.3 days)


def _msgs(role: str, content: str, **extra: object) -> dict:
    return {"role": role, "parts": [{"type": "text", "content": content}], **extra}


class _Builder:
    def __init__(self, rng: random.Random, trace_id: str, start_ns: int) -> None:
        self.rng = rng
        self.trace_id = trace_id
        self.t = start_ns
        self.spans: list[dict] = []

    def span(self, name: str, parent: dict | None, dur_ms: float, attrs: dict, kind: str = "INTERNAL",
             status: str = "UNSET", message: str | None = None) -> dict:
        start = self.t
        end = start + int(dur_ms * 1e6)
        s = {"trace_id": self.trace_id, "span_id": f"{self.rng.getrandbits(64):016x}",
             "parent_span_id": parent["span_id"] if parent else None, "name": name, "kind": kind,
             "start_ns": start, "end_ns": end, "status_code": status, "status_message": message,
             "attributes": attrs}
        self.spans.append(s)
        self.t = end + self.rng.randint(50_000, 2_000_000)
        return s


def _chat_attrs(rng: random.Random, model: str, question: str, tool: str | None, final: bool) -> dict:
    text = _text()
    inp = [_msgs("system", "You are a helpful assistant for ACME. " + text.some(rng, 150, 300)),
           _msgs("user", question + ". " + text.some(rng, 250, 600))]
    if tool is None:
        out = [_msgs("assistant", text.some(rng, 300, 900), finish_reason="stop")]
    else:
        out = [{"role": "assistant", "parts": [{"type": "tool_call", "id": f"call_{rng.getrandbits(48):012x}",
                                                "name": tool, "arguments": {"query": question[:60]}}],
                "finish_reason": "tool_calls"}]
    in_tok, out_tok = rng.randint(200, 3000), rng.randint(20, 800)
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": _MODEL_PROVIDER[model],
        "gen_ai.request.model": model,
        "gen_ai.response.model": model + ("-2025-07-18" if model.startswith("gpt") else ""),
        "gen_ai.request.temperature": rng.choice((0.0, 0.2, 0.7, 1.0)),
        "gen_ai.request.max_tokens": rng.choice((256, 512, 1024, 4096)),
        "gen_ai.response.id": f"resp_{rng.getrandbits(96):024x}",
        "gen_ai.response.finish_reasons": ["stop" if final or tool is None else "tool_calls"],
        "gen_ai.usage.input_tokens": in_tok,
        "gen_ai.usage.output_tokens": out_tok,
        "server.address": {"openai": "api.openai.com", "anthropic": "api.anthropic.com",
                           "ollama": "localhost", "gcp.gemini": "generativelanguage.googleapis.com"}[
            _MODEL_PROVIDER[model]],
        "gen_ai.input.messages": json.dumps(inp),
        "gen_ai.output.messages": json.dumps(out),
    }


def make_trace(i: int, spans: int = 10, seed: int = 1) -> list[dict]:
    """Trace number `i` (deterministic for (i, spans, seed)), as span dicts, root first."""
    rng = random.Random(seed * 1_000_003 + i)
    text = _text()
    trace_id = f"{rng.getrandbits(128):032x}"
    b = _Builder(rng, trace_id, BASE_NS + i * TRACE_GAP_NS + rng.randint(0, 1_000_000_000))
    experiment = rng.choices(EXPERIMENTS, EXPERIMENT_WEIGHTS)[0]
    model = rng.choices(_MODEL_NAMES, _MODEL_WEIGHTS)[0]
    failed = rng.random() < 0.03
    question = rng.choice(TOPICS)
    r = rng.random()
    if r < 0.001:
        question += f", and what about the {RARE_PHRASE}"
    elif r < 0.10:
        question += f", tell me the {COMMON_PHRASE} please"
    question += f" (ref {rng.randint(10000, 99999)})"
    tags = rng.sample(TAGS, rng.randint(1, 3))
    root_attrs = {
        "traceglass.experiment": experiment,
        "traceglass.span.type": "AGENT" if spans == 10 else "CHAIN",
        "traceglass.span.inputs": json.dumps({"question": question, "history_len": rng.randint(0, 12)}),
        "traceglass.trace.tags": tags,
        "traceglass.trace.metadata.app_version": rng.choice(APP_VERSIONS),
        "traceglass.trace.metadata.region": rng.choice(REGIONS),
        "session.id": f"sess-{i // 8:07d}",
        "user.id": f"user-{rng.randrange(5000):05d}",
    }
    root = b.span("support_agent" if spans == 10 else "rag_chain", None, 0, root_attrs, kind="SERVER")
    tools = rng.sample(TOOLS, 2)
    if spans == 10:
        b.span("input_guardrail", root, rng.uniform(2, 20),
               {"traceglass.span.type": "GUARDRAIL", "traceglass.span.inputs": json.dumps({"text": question}),
                "traceglass.span.outputs": json.dumps({"allowed": True})})
        b.span("embeddings text-embedding-3-small", root, rng.uniform(20, 120),
               {"gen_ai.operation.name": "embeddings", "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "text-embedding-3-small", "gen_ai.usage.input_tokens": rng.randint(10, 80),
                "gen_ai.embeddings.dimension.count": 1536}, kind="CLIENT")
    docs = [{"id": f"kb-{rng.randrange(20000)}", "score": round(rng.random(), 3),
             "content": text.some(rng, 120, 300)} for _ in range(3)]
    b.span("retrieve_documents", root, rng.uniform(10, 80),
           {"traceglass.span.type": "RETRIEVER", "gen_ai.operation.name": "retrieval",
            "traceglass.span.inputs": json.dumps({"query": question}),
            "traceglass.span.outputs": json.dumps(docs), "gen_ai.data_source.id": "kb-main"})
    n_chats = 3 if spans == 10 else 2
    answer = ""
    for c in range(n_chats):
        final = c == n_chats - 1
        tool = None if final else tools[c]
        attrs = _chat_attrs(rng, model, question, tool, final)
        chat = b.span(f"chat {model}", root, rng.uniform(300, 4000), attrs, kind="CLIENT")
        if final:
            answer = json.loads(chat["attributes"]["gen_ai.output.messages"])[0]["parts"][0]["content"]
        else:
            err = failed and c == 0
            result = {"error": "upstream timeout"} if err else {"ok": True, "data": text.some(rng, 60, 200)}
            b.span(f"execute_tool {tool}", root, rng.uniform(5, 400),
                   {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool,
                    "gen_ai.tool.call.arguments": json.dumps({"query": question[:60]}),
                    "gen_ai.tool.call.result": json.dumps(result),
                    **({"error.type": "TimeoutError"} if err else {})},
                   status="ERROR" if err else "UNSET", message="upstream timeout" if err else None)
    if spans == 10:
        b.span("parse_output", root, rng.uniform(1, 5),
               {"traceglass.span.type": "PARSER", "traceglass.span.outputs": json.dumps({"answer": answer[:200]})})
    root_attrs["traceglass.span.outputs"] = json.dumps({"answer": answer[:500]})
    root["end_ns"] = b.t
    if failed:
        root["status_code"], root["status_message"] = "ERROR", "tool lookup failed: upstream timeout"
    else:
        root["status_code"] = "OK"
    assert len(b.spans) == spans, len(b.spans)
    return b.spans


def iter_traces(n_traces: int, spans: int = 10, seed: int = 1, start: int = 0) -> Iterator[list[dict]]:
    for i in range(start, start + n_traces):
        yield make_trace(i, spans, seed)


RESOURCE = {"service.name": "support-bot", "service.version": "1.5.0", "deployment.environment": "prod",
            "telemetry.sdk.name": "opentelemetry", "telemetry.sdk.language": "python",
            "telemetry.sdk.version": "1.45.2"}
SCOPE = ("traceglass", "0.1.0")
# What content capture adds (store_write.py --no-content leaves these out).
CONTENT_KEYS = frozenset({"gen_ai.input.messages", "gen_ai.output.messages", "traceglass.span.inputs",
                          "traceglass.span.outputs", "gen_ai.tool.call.arguments", "gen_ai.tool.call.result"})


def to_span_records(trace: list[dict]) -> list:
    """One trace's span dicts -> traceglass SpanRecords (imported here: the MLflow side has no traceglass)."""
    from traceglass.collector.store import SpanRecord

    return [SpanRecord(trace_id=s["trace_id"], span_id=s["span_id"], name=s["name"], start_ns=s["start_ns"],
                       end_ns=s["end_ns"], parent_span_id=s["parent_span_id"], kind=s["kind"],
                       status_code=s["status_code"], status_message=s["status_message"],
                       attributes=s["attributes"], resource_attributes=RESOURCE, scope_name=SCOPE[0],
                       scope_version=SCOPE[1]) for s in trace]

"""autolog(): one call that sets up the pipeline and instruments a provider's SDK.

`traceglass.openai.autolog()` (and `.anthropic`, `.langchain`, `.ollama`) instruments one SDK;
`traceglass.autolog()` every one that is installed. Each call replaces the previous one for
that provider (uninstrument, then instrument with the new options), so calling it twice never
doubles spans.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import logging
from typing import Any

from traceglass import semconv
from traceglass._env import CaptureMode, autolog_capture

__all__ = ["PROVIDERS", "autolog", "autolog_provider"]

_log = logging.getLogger("traceglass")


@dataclasses.dataclass(frozen=True)
class _Provider:
    sdk_module: str  # importable when the SDK is installed
    sdk_package: str  # what to pip install
    instrumentor: str  # "module:Class"

    def load(self) -> Any:
        module, name = self.instrumentor.split(":")
        return getattr(importlib.import_module(module), name)


PROVIDERS: dict[str, _Provider] = {
    "openai": _Provider("openai", "openai", "traceglass.instrumentors.openai:OpenAIInstrumentor"),
    "anthropic": _Provider("anthropic", "anthropic", "traceglass.instrumentors.anthropic:AnthropicInstrumentor"),
    "langchain": _Provider("langchain_core", "langchain-core",
                           "traceglass.instrumentors.langchain:LangChainInstrumentor"),
    "ollama": _Provider("ollama", "ollama", "traceglass.instrumentors.ollama:OllamaInstrumentor"),
}


def autolog_provider(
    provider: str,
    *,
    disable: bool = False,
    log_traces: bool = True,
    capture_content: str | bool | CaptureMode | None = None,
    quiet_if_missing: bool = False,
) -> bool:
    """Instrument one provider's SDK (see `autolog`). Returns True if it is now instrumented."""
    spec = PROVIDERS[provider]
    if importlib.util.find_spec(spec.sdk_module) is None:
        if not quiet_if_missing:
            _log.warning("traceglass: %s.autolog(): the %s package is not installed (pip install %s); "
                         "nothing to trace.", provider, spec.sdk_package, spec.sdk_package)
        return False
    try:
        instrumentor = spec.load()()
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()  # new options replace the old ones: never two wrappers
        if disable:
            return False
        capture = autolog_capture(capture_content)
        options: dict[str, Any] = {"capture_content": capture}
        from traceglass import _pipeline

        providers = _pipeline.ensure()
        if providers is not None:
            options["tracer_provider"] = providers.tracer_provider
            if providers.meter_provider is not None:
                options["meter_provider"] = providers.meter_provider
            if providers.logger_provider is not None:
                options["logger_provider"] = providers.logger_provider
        if not log_traces:
            from opentelemetry.trace import NoOpTracerProvider

            options["tracer_provider"] = NoOpTracerProvider()  # spans are not recorded; metrics are
        instrumentor.instrument(**options)
        from traceglass import _config

        _config.set_capture(capture)
        return bool(instrumentor.is_instrumented_by_opentelemetry)
    except Exception:
        semconv.report_failure(f"{provider}.autolog")
        return False


def autolog(
    disable: bool = False,
    log_traces: bool = True,
    capture_content: str | bool | CaptureMode | None = None,
) -> None:
    """Trace every supported SDK that is installed (OpenAI, Anthropic, LangChain/LangGraph,
    Ollama); SDKs that are not installed are skipped quietly. Options as for
    `traceglass.openai.autolog()`."""
    for provider in PROVIDERS:
        autolog_provider(provider, disable=disable, log_traces=log_traces, capture_content=capture_content,
                         quiet_if_missing=True)


AUTOLOG_DOC = """Trace every {title} call from now on, to the tracking destination.

    import traceglass
    traceglass.set_experiment("quickstart")      # optional
    traceglass.{provider}.autolog()

Sets up the pipeline on first use (see traceglass.set_tracking_uri()), then instruments the
{package} SDK. Calling it again replaces the previous options; spans are never doubled.

disable: True stops tracing {title} (restores the SDK's own methods).
log_traces: False records metrics only: {title} calls produce no spans.
capture_content: record prompts and replies on spans: NO_CONTENT | SPAN_ONLY | EVENT_ONLY |
    SPAN_AND_EVENT, or a bool. Default: OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT, else
    SPAN_ONLY (on: autolog feeds a trace viewer). Also applied to @traceglass.trace spans.
Never raises: a failure is logged on the `traceglass` logger and the app runs on untraced.
"""

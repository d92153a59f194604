"""What every traceglass instrumentor shares: its target table, wrapping and unwrapping.

Each provider declares one `_TARGETS` tuple of `Target`s; `instrument()` and `uninstrument()`
both iterate it, so nothing is wrapped that is not also restored.

Each target keeps one `_Relay` for the life of the process, installed as the wrapper every time it
is instrumented. A wrapper the app took hold of (`from ollama import chat`, a client's
`with_raw_response`) therefore calls straight through once uninstrumented, and traces again, with
the new settings, when instrumented again: autolog() re-instruments that way under
opentelemetry-instrument, or when called twice.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
from collections.abc import Callable, Collection, Sequence
from typing import Any

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import unwrap
from traceglass.semconv import Adapter, Telemetry, async_wrapper, sync_wrapper
from wrapt import wrap_function_wrapper

from traceglass._env import Settings
from traceglass._version import __version__

__all__ = ["GenAIInstrumentor", "Target"]

_log = logging.getLogger("traceglass")


class _Relay:
    """The wrapt wrapper of one target: the current instrumentation's wrapper, or a plain call."""

    __slots__ = ("current",)

    def __init__(self) -> None:
        self.current: Any = None

    def __call__(self, wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        current = self.current
        if current is None:
            return wrapped(*args, **kwargs)
        return current(wrapped, instance, args, kwargs)


@dataclasses.dataclass(frozen=True)
class Target:
    """One SDK method to wrap: `module`, `Class.method`, and how to translate it.

    `method` may also name a module attribute ("chat" in module "ollama"): a function, or a method
    bound at import time to a module-level client, which wrapping its class never reaches.
    """

    module: str
    method: str
    adapter: Callable[[Settings], Adapter]  # built once per instrument() call
    is_async: bool = False

    def owner(self) -> tuple[Any, str] | None:
        try:
            obj: Any = importlib.import_module(self.module)
        except ImportError:
            return None
        *path, attr = self.method.split(".")
        for name in path:
            obj = getattr(obj, name, None)
            if obj is None:
                return None
        return (obj, attr) if hasattr(obj, attr) else None


class GenAIInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """A BaseInstrumentor driven by a target table.

    instrument(tracer_provider=, meter_provider=, logger_provider=, capture_content=,
    max_content_length=, full_tool_definitions=, provider_name=) where capture_content is NO_CONTENT | SPAN_ONLY |
    EVENT_ONLY | SPAN_AND_EVENT or a bool.
    """

    _name: str = "traceglass"
    _instruments: Sequence[str] = ()
    _targets: Sequence[Target] = ()
    _provider_name_env: str | None = None  # the variable that overrides gen_ai.provider.name
    _relays: dict[tuple[str, str], _Relay]  # per target, kept across uninstrument() (see _Relay)

    def instrumentation_dependencies(self) -> Collection[str]:
        return self._instruments

    def _load_targets(self) -> Sequence[Target]:
        """The target table; imports the SDK, so it is called only when instrumenting."""
        raise NotImplementedError

    def _instrument(self, **kwargs: Any) -> None:
        try:
            self._targets = self._load_targets()
        except ImportError:
            # opentelemetry-instrument loads every traceglass instrumentor when any one SDK is
            # installed; the others have nothing to do.
            _log.debug("traceglass: %s skipped, its SDK is not installed", self._name, exc_info=True)
            self._targets = ()
            return
        settings = Settings.resolve(
            capture_content=kwargs.get("capture_content"),
            max_content_length=kwargs.get("max_content_length"),
            full_tool_definitions=kwargs.get("full_tool_definitions"),
            provider_name=kwargs.get("provider_name"),
            provider_name_env=self._provider_name_env,
        )
        self.telemetry = Telemetry(
            self._name, __version__, settings,
            tracer_provider=kwargs.get("tracer_provider"),
            meter_provider=kwargs.get("meter_provider"),
            logger_provider=kwargs.get("logger_provider"),
        )
        relays = self.__dict__.setdefault("_relays", {})
        for target in self._targets:
            if target.owner() is None:
                _log.debug("traceglass: %s.%s not found in this SDK version; skipped",
                           target.module, target.method)
                continue
            make = async_wrapper if target.is_async else sync_wrapper
            relay = relays.setdefault((target.module, target.method), _Relay())
            relay.current = make(self.telemetry, target.adapter(settings))
            wrap_function_wrapper(target.module, target.method, relay)

    def _uninstrument(self, **kwargs: Any) -> None:
        telemetry = getattr(self, "telemetry", None)
        if telemetry is not None:
            telemetry.active = False
        # A wrapper the app still holds (a method bound while instrumented) stops tracing too.
        for relay in self.__dict__.get("_relays", {}).values():
            relay.current = None
        for target in self._targets:
            found = target.owner()
            if found is not None:
                unwrap(*found)

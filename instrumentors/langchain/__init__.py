"""traceglass.instrumentors.langchain: OpenTelemetry spans for LangChain and LangGraph runs.

    from traceglass.instrumentors.langchain import LangChainInstrumentor
    LangChainInstrumentor().instrument(tracer_provider=tp, capture_content="SPAN_ONLY")

Every LangChain run becomes a span under its parent run (chains, prompts, parsers, tools,
retrievers, LangGraph graphs and nodes); chat models and LLMs become GenAI inference spans. With a
provider instrumentor on too (OpenAI, Anthropic), each model call still has exactly one inference
span: the provider's details are merged into the LangChain one (see traceglass.semconv).

The handler is added to every callback manager by wrapping `BaseCallbackManager.__init__`
(restored by uninstrument()), so runs are traced without passing `callbacks=`. A chat model's
`generate()` over several prompts starts all its runs before the first call; wrapping
`BaseChatModel._(a)generate_with_cache` makes each run current during its own call, so the provider
call inside still merges into it. `BaseLLM._(a)generate_helper` does the same for a text LLM's one
run (its async start runs in a task of its own, whose context the call does not see).

A model run's start makes it current in the caller's context, and its end restores that; but
LangChain runs the end callbacks of async runs in a task of their own (a copy of the context), so
the async entry points of a model call (`agenerate`, `astream`) are wrapped to leave the caller's
context as they found it.

LangChain runs a runnable's own code (a RunnableLambda's function, a tool, a LangGraph node) in a
copy of the caller's context that it prepares in `_set_config_context`; wrapping that function
makes the run's span current in that copy, so a provider call made there nests under the run. The
copy is discarded afterwards, so nothing leaks into the caller's context, also when a batch starts
many runs at once.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from .._base import GenAIInstrumentor, Target

__all__ = ["LangChainInstrumentor"]

_log = logging.getLogger("traceglass")
_MODULE = "langchain_core.callbacks.base"
_METHOD = "BaseCallbackManager.__init__"
_CHAT_MODULE = "langchain_core.language_models.chat_models"
_LLM_MODULE = "langchain_core.language_models.llms"
# The call of one model run, sync and async (the provider call is made inside).
_CHAT_CALLS = ("BaseChatModel._generate_with_cache", "BaseChatModel._agenerate_with_cache")
_LLM_CALLS = ("BaseLLM._generate_helper", "BaseLLM._agenerate_helper")
# The async entry points of a model call, on both model classes.
_ASYNC_CALL, _ASYNC_STREAM = "agenerate", "astream"
_MODEL_CLASSES = ((_CHAT_MODULE, "BaseChatModel"), (_LLM_MODULE, "BaseLLM"))
# Where LangChain, and LangGraph for its nodes, set up the context a runnable's code runs in.
_CONFIG_CONTEXTS = ("langchain_core.runnables.config", "langgraph._internal._runnable")


class LangChainInstrumentor(GenAIInstrumentor):
    """Traces LangChain runnables and LangGraph graphs through a global callback handler."""

    _name = "traceglass.instrumentors.langchain"
    _instruments = ("langchain-core >= 1.0",)

    def _load_targets(self) -> tuple[Target, ...]:
        import langchain_core.callbacks.base  # noqa: F401  (ImportError: LangChain is not installed)

        return ()  # no SDK method is wrapped: the callback manager is, in _instrument

    def _instrument(self, **kwargs: Any) -> None:
        try:
            from ._handler import TraceglassCallbackHandler  # imports langchain_core
        except ImportError:
            _log.debug("traceglass: %s skipped, langchain-core is not installed", self._name, exc_info=True)
            return
        super()._instrument(**kwargs)
        handler = TraceglassCallbackHandler(self.telemetry)
        self._handler = handler

        def init(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            wrapped(*args, **kwargs)
            try:
                if not any(h is handler for h in instance.inheritable_handlers):
                    instance.add_handler(handler, True)
            except Exception:  # never break the app
                pass

        def enter(run_manager: Any) -> object | None:
            try:
                context = handler.call_context(run_manager)
                return None if context is None else otel_context.attach(context)
            except Exception:  # never break the app
                return None

        def calls(find: Callable[[tuple[Any, ...], dict[str, Any]], Any]) -> tuple[Any, Any]:
            """Wrappers of a model run's call, sync and async, that make the run current during it."""

            def call(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
                token = enter(find(args, kwargs))
                try:
                    return wrapped(*args, **kwargs)
                finally:
                    if token is not None:
                        otel_context.detach(token)

            async def acall(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
                token = enter(find(args, kwargs))
                try:
                    return await wrapped(*args, **kwargs)
                finally:
                    if token is not None:
                        otel_context.detach(token)

            return call, acall

        def config_context(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            result = wrapped(*args, **kwargs)
            try:  # runs inside the copy LangChain made for the runnable's code: attach, never detach
                context = handler.step_context(args[0] if args else kwargs.get("config"))
                if context is not None:
                    otel_context.attach(context)
            except Exception:  # never break the app
                pass
            return result

        wrap_function_wrapper(_MODULE, _METHOD, init)
        for module, methods, find in ((_CHAT_MODULE, _CHAT_CALLS, _chat_run), (_LLM_MODULE, _LLM_CALLS, _llm_run)):
            for method, wrapper in zip(methods, calls(find), strict=True):
                wrap_function_wrapper(module, method, wrapper)
        for module, cls in _MODEL_CLASSES:
            wrap_function_wrapper(module, f"{cls}.{_ASYNC_CALL}", _keep_context)
            wrap_function_wrapper(module, f"{cls}.{_ASYNC_STREAM}", _keep_context_stream)
        self._config_modules = []
        for module in _CONFIG_CONTEXTS:
            try:
                wrap_function_wrapper(module, "_set_config_context", config_context)
                self._config_modules.append(module)
            except (ImportError, AttributeError):  # LangGraph not installed, or another version's layout
                _log.debug("traceglass: %s._set_config_context not wrapped", module, exc_info=True)
        self._wrapped = True

    def _uninstrument(self, **kwargs: Any) -> None:
        if getattr(self, "_wrapped", False):
            import langchain_core.callbacks.base as base
            import langchain_core.language_models.chat_models as chat_models
            import langchain_core.language_models.llms as llms

            unwrap(base.BaseCallbackManager, "__init__")
            for cls, methods in ((chat_models.BaseChatModel, _CHAT_CALLS), (llms.BaseLLM, _LLM_CALLS)):
                for name in (*(m.split(".")[1] for m in methods), _ASYNC_CALL, _ASYNC_STREAM):
                    unwrap(cls, name)
            for module in self._config_modules:
                unwrap(importlib.import_module(module), "_set_config_context")
            self._wrapped = False
        super()._uninstrument(**kwargs)


def _chat_run(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return kwargs.get("run_manager")


def _llm_run(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    # _(a)generate_helper(prompts, stop, run_managers, ...): one call for all the prompts' runs,
    # so only a single run can be made current.
    managers = args[2] if len(args) > 2 else kwargs.get("run_managers")
    return managers[0] if isinstance(managers, list) and len(managers) == 1 else None


async def _keep_context(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    token = otel_context.attach(otel_context.get_current())
    try:
        return await wrapped(*args, **kwargs)
    finally:
        otel_context.detach(token)  # the caller's context as it was, whatever the run's start attached


def _keep_context_stream(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return _restoring(wrapped(*args, **kwargs))


async def _restoring(stream: AsyncIterator[Any]) -> AsyncIterator[Any]:
    """`stream`, each step of which leaves the caller's context as it found it."""
    try:
        while True:
            before = otel_context.get_current()
            try:
                item = await anext(stream)
            except StopAsyncIteration:
                return
            finally:
                if otel_context.get_current() is not before:
                    otel_context.attach(before)
            yield item
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:  # stopped early: stop the model's stream now, as without the wrapper
            await aclose()

"""The global LangChain callback handler: LangChain runs → spans, chat/LLM runs → GenAI inferences.

Parenting follows LangChain's run tree (run_id → parent_run_id), never the ambient context:
callbacks of async runs may run in executors. A root run starts in the caller's current context, so
it nests under the application's own spans.

While a chat/LLM run is open its invocation is made current (attached in `on_*_start`, which runs
inline in the caller's context, restored in `on_llm_end/error`): a provider instrumentor's call
inside it then merges into it instead of opening a second span (see traceglass.semconv nesting).
The code a chain, tool or retriever runs (a RunnableLambda's function, a LangGraph node) runs with
that run's span current (`step_context`, see the instrumentor), so what it calls nests under it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from opentelemetry import context as otel_context
from traceglass.semconv import InvocationHandle, StepHandle, Telemetry, names, report_failure, span_type_attributes

from ._request import chat_invocation, tool_arguments, tool_result
from ._response import apply_result
from ._runs import chain_type, is_control_flow, is_graph, is_graph_step, run_name, thread_id

__all__ = ["TraceglassCallbackHandler"]

_TOOL_ARGUMENTS = "gen_ai.tool.call.arguments"
_TOOL_RESULT = "gen_ai.tool.call.result"
_TOOL_CALL_ID = "gen_ai.tool.call.id"
_TOOL_DESCRIPTION = "gen_ai.tool.description"
_TOOL_TYPE = "gen_ai.tool.type"
_WORKFLOW_NAME = "gen_ai.workflow.name"
# error.type of a tool whose exception LangChain turned into an error result for the model.
_HANDLED_TOOL_ERROR = "tool_error"
_MESSAGE_LENGTH = 1000  # of the span status description taken from that result
_AGENT_NAME = "gen_ai.agent.name"
_QUERY_TEXT = "gen_ai.retrieval.query.text"
_CONVERSATION_ID = names.CONVERSATION_ID


_WORKFLOW = "WORKFLOW"
_AGENT = "AGENT"


@dataclass(slots=True)
class _Run:
    handle: InvocationHandle | StepHandle
    parent: UUID | None
    name: str = ""
    graph_type: str | None = None  # LangGraph graphs: WORKFLOW, or AGENT once a step calls a tool
    children: list[UUID] = field(default_factory=list)
    # chat/LLM runs: the context attached at start, and the one to restore at the end
    attached: otel_context.Context | None = None
    previous: otel_context.Context | None = None


class TraceglassCallbackHandler(BaseCallbackHandler):
    """Added to every LangChain callback manager while LangChainInstrumentor is on."""

    run_inline = True  # called in the caller's context, also for async runs (no executor hop)
    raise_error = False

    def __init__(self, telemetry: Telemetry) -> None:
        super().__init__()
        self._telemetry = telemetry
        self._content = telemetry.settings.capture.captures
        self._runs: dict[UUID, _Run] = {}
        self._lock = threading.Lock()

    # -- bookkeeping ----------------------------------------------------------------------------

    def _parent_context(self, parent_run_id: UUID | None) -> otel_context.Context | None:
        parent = self._runs.get(parent_run_id) if parent_run_id is not None else None
        return None if parent is None else parent.handle.context()

    def _add(self, run_id: UUID, parent_run_id: UUID | None, run: _Run) -> None:
        with self._lock:
            self._runs[run_id] = run
            parent = self._runs.get(parent_run_id) if parent_run_id is not None else None
            if parent is not None:
                parent.children.append(run_id)

    def _pop(self, run_id: UUID) -> _Run | None:
        with self._lock:
            run = self._runs.pop(run_id, None)
            if run is None:
                return None
            orphans = self._descendants(run)
        for orphan in orphans:  # still open when their parent ends: an abandoned stream, a lost callback
            self._close(orphan, None)
        return run

    def _descendants(self, run: _Run) -> list[_Run]:
        found: list[_Run] = []
        for child_id in run.children:
            child = self._runs.pop(child_id, None)
            if child is not None:
                found.extend(self._descendants(child))
                found.append(child)
        return found

    @staticmethod
    def _restore(run: _Run) -> None:
        """Undo the attach of a chat/LLM run's start where its context is still the current one
        (the caller's context, or a copy of it where the model call runs: both may hold it)."""
        if run.attached is not None and otel_context.get_current() is run.attached:
            # attach() rather than detach(token): the end may run in a copy of the start context,
            # where the token is invalid; restoring the value is what detaching means there.
            otel_context.attach(run.previous or otel_context.Context())

    def _close(self, run: _Run, exc: BaseException | None, outputs: Any = None,
               handled: tuple[str, str] | None = None) -> None:
        self._restore(run)
        handle = run.handle
        if run.graph_type == _WORKFLOW and isinstance(handle, StepHandle):
            handle.set_attributes({_WORKFLOW_NAME: run.name})  # at the end: the graph may turn out an agent
        elif isinstance(handle, InvocationHandle) and handle.invocation.stream and not handle.invocation.finish_reasons:
            # A stream that ends with no result (stopped, abandoned, failed): the conventions' finish
            # reason where one was expected and none came.
            handle.invocation.finish_reasons = ["error"]
        # GeneratorExit: the caller stopped a stream; LangGraph's control flow: not a failure either.
        if exc is None or isinstance(exc, GeneratorExit) or is_control_flow(exc):
            if isinstance(handle, StepHandle) and handled is not None:
                handle.finish_failed(*handled, outputs)
            elif isinstance(handle, StepHandle):
                handle.finish(outputs)
            else:
                handle.finish()
        else:
            handle.fail(exc)

    def _end(self, run_id: UUID, exc: BaseException | None, outputs: Any = None,
             handled: tuple[str, str] | None = None) -> None:
        try:
            run = self._pop(run_id)
            if run is not None:
                self._close(run, exc, outputs, handled)
        except Exception:
            report_failure("LangChain.end")

    def _step(self, run_id: UUID, parent_run_id: UUID | None, name: str, span_type: str,
              inputs: Any, attributes: dict[str, Any] | None = None) -> StepHandle:
        handle = self._telemetry.start_step(name, span_type, context=self._parent_context(parent_run_id),
                                            attributes=attributes)
        handle.set_inputs(inputs)
        self._add(run_id, parent_run_id, _Run(handle, parent_run_id, name))
        return handle

    # -- chains ---------------------------------------------------------------------------------

    def on_chain_start(self, serialized: dict[str, Any] | None, inputs: Any, *, run_id: UUID,
                       parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        try:
            name = run_name(serialized, kwargs, "Chain")
            graph = is_graph(kwargs)
            self._step(run_id, parent_run_id, name, _WORKFLOW if graph else chain_type(name), inputs,
                       {_CONVERSATION_ID: thread_id(kwargs)})
            if graph:
                self._runs[run_id].graph_type = _WORKFLOW
            elif parent_run_id is not None and is_graph_step(kwargs):
                self._mark_graph(parent_run_id, _WORKFLOW)
        except Exception:
            report_failure("LangChain.on_chain_start")

    def _mark_graph(self, run_id: UUID, graph_type: str) -> None:
        """Make a graph's span a workflow (a subgraph, known when its first step starts) or an
        agent (a graph whose step executes a tool call chosen by a model)."""
        run = self._runs.get(run_id)
        if run is None or run.graph_type in (graph_type, _AGENT) or not isinstance(run.handle, StepHandle):
            return
        run.graph_type = graph_type
        extra = {_AGENT_NAME: run.name} if graph_type == _AGENT else {}
        run.handle.set_attributes({**span_type_attributes(graph_type, run.name), **extra})

    def _enclosing_graph(self, run_id: UUID | None) -> UUID | None:
        while run_id is not None:
            run = self._runs.get(run_id)
            if run is None:
                return None
            if run.graph_type is not None:
                return run_id
            run_id = run.parent
        return None

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, None, outputs)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error)

    # -- tools and retrievers -------------------------------------------------------------------

    def on_tool_start(self, serialized: dict[str, Any] | None, input_str: str, *, run_id: UUID,
                      parent_run_id: UUID | None = None, inputs: Any = None, **kwargs: Any) -> None:
        try:
            name = run_name(serialized, kwargs, "tool")
            description = (serialized or {}).get("description")
            call_id = kwargs.get("tool_call_id")
            attributes = {_TOOL_TYPE: "function", _TOOL_CALL_ID: call_id if isinstance(call_id, str) else None,
                          _TOOL_DESCRIPTION: description if isinstance(description, str) else None,
                          _CONVERSATION_ID: thread_id(kwargs)}
            graph = self._enclosing_graph(parent_run_id) if isinstance(call_id, str) else None
            if graph is not None:
                self._mark_graph(graph, _AGENT)
                agent = self._runs.get(graph)
                if agent is not None:
                    # The agent running the tool: conditionally required on execute_tool spans, and
                    # sampling-relevant, so set at the span's start.
                    attributes[_AGENT_NAME] = agent.name
            handle = self._step(run_id, parent_run_id, name, "TOOL", inputs if inputs is not None else input_str,
                                attributes)
            handle.set_content(_TOOL_ARGUMENTS, tool_arguments(inputs, input_str))
        except Exception:
            report_failure("LangChain.on_tool_start")

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        run = self._runs.get(run_id)
        if run is not None and isinstance(run.handle, StepHandle) and run.handle.captures_content:
            run.handle.set_content(_TOOL_RESULT, tool_result(output))
        handled = None
        if getattr(output, "status", None) == "error":
            # The tool raised and LangChain handled it (handle_tool_error, handle_validation_error):
            # the model gets the error as the tool's result; the call still failed.
            handled = (_HANDLED_TOOL_ERROR, str(getattr(output, "content", ""))[:_MESSAGE_LENGTH])
        self._end(run_id, None, output, handled)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error)

    def on_retriever_start(self, serialized: dict[str, Any] | None, query: str, *, run_id: UUID,
                           parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        try:
            name = run_name(serialized, kwargs, "Retriever")
            handle = self._step(run_id, parent_run_id, name, "RETRIEVER", query, {_CONVERSATION_ID: thread_id(kwargs)})
            handle.set_text(_QUERY_TEXT, query)  # a plain string attribute, not JSON
        except Exception:
            report_failure("LangChain.on_retriever_start")

    def on_retriever_end(self, documents: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, None, documents)

    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error)

    # -- models ---------------------------------------------------------------------------------

    def on_chat_model_start(self, serialized: dict[str, Any] | None, messages: list[list[Any]], *,
                            run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        self._model_start(names.CHAT, messages[0] if messages else [], None, run_id, parent_run_id, kwargs)

    def on_llm_start(self, serialized: dict[str, Any] | None, prompts: list[str], *, run_id: UUID,
                     parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        self._model_start(names.TEXT_COMPLETION, None, prompts, run_id, parent_run_id, kwargs)

    def _model_start(self, operation: str, messages: list[Any] | None, prompts: list[str] | None, run_id: UUID,
                     parent_run_id: UUID | None, kwargs: dict[str, Any]) -> None:
        try:
            invocation = chat_invocation(operation, messages, prompts, kwargs, self._content)
            parent = self._parent_context(parent_run_id)
            handle = self._telemetry.start(invocation, context=parent, enrichable=True)
            run = _Run(handle, parent_run_id)
            batch_size = kwargs.get("batch_size")
            if not isinstance(batch_size, int) or batch_size <= 1:
                # generate() over several prompts starts every run before any call: no one run
                # can claim the context here; each call claims its own in call_context().
                run.previous = otel_context.get_current()
                run.attached = handle.context()
                otel_context.attach(run.attached)
            self._add(run_id, parent_run_id, run)
        except Exception:
            report_failure("LangChain.on_model_start")

    def call_context(self, run_manager: Any) -> otel_context.Context | None:
        """The context that makes a chat/LLM run's invocation current for the duration of its own
        model call (None when it already is current here, or the run is unknown): the runs of a
        batch, which attach nothing at start, and a run whose start ran in another context."""
        run = self._runs.get(getattr(run_manager, "run_id", None))  # type: ignore[arg-type]
        if run is None or not isinstance(run.handle, InvocationHandle):
            return None
        if run.attached is not None and otel_context.get_current() is run.attached:
            return None
        return run.handle.context()

    def step_context(self, config: Any) -> otel_context.Context | None:
        """The context of the chain, tool or retriever run whose child config `config` is (its
        callbacks name the run as their parent), for the code LangChain runs inside that run."""
        callbacks = config.get("callbacks") if isinstance(config, dict) else None
        run = self._runs.get(getattr(callbacks, "parent_run_id", None))  # type: ignore[arg-type]
        if run is None or not isinstance(run.handle, StepHandle):
            return None
        return run.handle.context()

    def on_llm_new_token(self, token: Any, *, run_id: UUID, **kwargs: Any) -> None:
        run = self._runs.get(run_id)
        if run is not None and isinstance(run.handle, InvocationHandle):
            if run.attached is not None:
                # A streamed chunk: the provider call has been made, and `stream()` yields the chunk
                # to the caller next, in the context the start attached to. Restore the caller's,
                # so its own code (another model call, its spans) does not run inside this run.
                self._restore(run)
            run.handle.first_chunk()
            invocation = run.handle.invocation
            if not invocation.stream:  # invocation_params say stream=False for .stream() calls
                invocation.stream = True
                invocation.attributes[names.REQUEST_STREAM] = True

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        run = self._runs.get(run_id)
        if run is not None and isinstance(run.handle, InvocationHandle):
            try:
                apply_result(run.handle.invocation, response, self._content)
            except Exception:
                report_failure("LangChain.on_llm_end")
        self._end(run_id, None)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error)

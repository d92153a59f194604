"""Names and span types of LangChain / LangGraph runs (chains, prompts, parsers, graphs, nodes).

Reads the `on_chain_start` arguments: `serialized` (a dict with `name`, `id` = import path, or
None: langchain-core 1.x passes None for most runnables and for LangGraph graphs and nodes), the
kwargs `name`, `tags` (LangGraph nodes: `graph:step:N`) and `metadata` (LangGraph: thread_id),
and the exceptions LangGraph passes to `on_*_error` to pause or redirect a graph.
"""

from __future__ import annotations

from typing import Any

__all__ = ["chain_type", "is_control_flow", "is_graph", "is_graph_step", "run_name", "thread_id"]


def run_name(serialized: dict[str, Any] | None, kwargs: dict[str, Any], default: str) -> str:
    name = kwargs.get("name")
    if isinstance(name, str) and name:
        return name
    if isinstance(serialized, dict):
        if isinstance(serialized.get("name"), str) and serialized["name"]:
            return str(serialized["name"])
        path = serialized.get("id")
        if isinstance(path, list) and path and isinstance(path[-1], str):
            return path[-1]
    return default


def chain_type(name: str) -> str:
    """traceglass.span.type of a chain run at its start: PARSER or CHAIN (langchain-core 1.x passes
    serialized=None for most runnables, so the name is what is known). A LangGraph graph becomes
    WORKFLOW at its start (see `is_graph`), or, run as a node of another graph, when its own first
    step starts (see `is_graph_step`)."""
    return "PARSER" if name.endswith(("OutputParser", "Parser")) else "CHAIN"


def is_graph(kwargs: dict[str, Any]) -> bool:
    """True for a LangGraph graph invoked by the application (not as a node of another graph):
    LangGraph marks its runs with `ls_integration`, and only a graph's own run has no node."""
    metadata = kwargs.get("metadata") or {}
    return (isinstance(metadata, dict) and metadata.get("ls_integration") == "langgraph"
            and "langgraph_node" not in metadata and not is_graph_step(kwargs))


def is_graph_step(kwargs: dict[str, Any]) -> bool:
    """True for a LangGraph superstep's node run (tag `graph:step:N`): its parent run is a graph."""
    tags = kwargs.get("tags") or ()
    return any(isinstance(t, str) and t.startswith("graph:step:") for t in tags)


def thread_id(kwargs: dict[str, Any]) -> str | None:
    """LangGraph's conversation thread (`configurable.thread_id`), which LangGraph copies into the
    metadata of every run under the graph, model runs included."""
    metadata = kwargs.get("metadata") or {}
    value = metadata.get("thread_id") if isinstance(metadata, dict) else None
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        return None
    return str(value)


def is_control_flow(exc: BaseException) -> bool:
    """True for LangGraph's `GraphBubbleUp` exceptions, which end runs without a failure: an
    `interrupt()` pausing the graph for input (`GraphInterrupt`), a `Command(graph=Command.PARENT)`
    handing over to the parent graph (`ParentCommand`). They pass through every run up to the graph
    that handles them, and that graph's caller gets a result, not an error."""
    return any(cls.__name__ == "GraphBubbleUp" and cls.__module__.startswith("langgraph.")
               for cls in type(exc).__mro__)

"""The `traceglass` command.

    traceglass traces search [--experiment NAME]... [--filter F] [--order-by K]... [--max-results N]
                             [--page-token T] [--output table|json] [--tracking-uri URI]
    traceglass traces export [same selection] [--all-pages] [-o FILE]
    traceglass traces reprice [--tracking-uri URI]

`main` is a click group: further command groups (server, ui, experiments) are added to it with
`main.add_command()`. --tracking-uri takes a store URL or a traceglass server's address (search
and export; reprice writes, so it needs the store's URL).
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from traceglass._terminal import printable
from traceglass._version import __version__

if TYPE_CHECKING:
    from traceglass._query import Backend
    from traceglass.collector.store import TraceInfo

__all__ = ["main"]


class _CommandError(click.ClickException):
    """A message for the user, no traceback. Exit code 2 for a bad request (filter, page token,
    experiment name), as click uses for usage errors; 1 when the store could not answer."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="traceglass")
def main() -> None:
    """traceglass: OpenTelemetry-native observability for GenAI applications."""


@main.group()
def traces() -> None:
    """Search and export stored traces."""


def _selection(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options that choose traces, shared by `search` and `export`."""
    options = [
        click.option("--experiment", "-e", "experiments", multiple=True, metavar="NAME",
                     help="Experiment to search (repeatable). Default: TRACEGLASS_EXPERIMENT, else all."),
        click.option("--filter", "-f", "filter_string", metavar="FILTER",
                     help="e.g. \"trace.status = 'ERROR' AND span.attributes.gen_ai.request.model = 'gpt-4o'\""),
        click.option("--order-by", "order_by", multiple=True, metavar="KEY",
                     help="e.g. 'timestamp_ms DESC' (repeatable). Default: newest first."),
        click.option("--max-results", "-n", type=click.IntRange(min=1), default=100, show_default=True,
                     help="Traces per page."),
        click.option("--page-token", metavar="TOKEN", help="The next_page_token of a previous page."),
        click.option("--tracking-uri", metavar="URI",
                     help="Store URL (sqlite:///..., postgresql://...) or server address (http://127.0.0.1:5000). "
                          "Default: TRACEGLASS_TRACKING_URI, else the local store."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@traces.command()
@_selection
@click.option("--output", "output", type=click.Choice(["table", "json"]), default="table", show_default=True)
def search(experiments: tuple[str, ...], filter_string: str | None, order_by: tuple[str, ...], max_results: int,
           page_token: str | None, tracking_uri: str | None, output: str) -> None:
    """List traces, newest first: one line each (or JSON with --output json)."""
    with _errors():
        store = _store(tracking_uri)
        traces_, token = _page(store, experiments, filter_string, order_by, max_results, page_token)
    if output == "json":
        click.echo(json.dumps({"traces": [t.to_dict() for t in traces_], "next_page_token": token}, indent=2))
        return
    _print_table(traces_)
    if token:
        click.echo(f"\nMore traces: --page-token {token}", err=True)


@traces.command()
@_selection
@click.option("--all-pages", is_flag=True, help="Follow next-page tokens to the last page.")
@click.option("--output-file", "-o", "output_file", type=click.File("w", encoding="utf-8"), default="-",
              help="Write here instead of standard output.")
def export(experiments: tuple[str, ...], filter_string: str | None, order_by: tuple[str, ...], max_results: int,
           page_token: str | None, tracking_uri: str | None, all_pages: bool, output_file: IO[str]) -> None:
    """Write whole traces (info and every span) as JSON lines, one trace per line."""
    count = 0
    with _errors():
        store = _store(tracking_uri)
        for info in _infos(store, experiments, filter_string, order_by, max_results, page_token, all_pages):
            trace = store.get_trace(info.trace_id)
            if trace is None:  # deleted since the page was read
                continue
            output_file.write(json.dumps(trace.to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n")
            count += 1
    if not count:
        # The file opens at the first write (a bad filter leaves an existing file alone); with nothing
        # to write it is still created, or emptied, as "0 trace(s) written" says.
        output_file.write("")
    if getattr(output_file, "name", "-") not in ("-", "<stdout>"):
        click.echo(f"{count} trace(s) written to {output_file.name}", err=True)


@traces.command()
@click.option("--tracking-uri", metavar="URI",
              help="Store URL (sqlite:///..., postgresql://...). "
                   "Default: TRACEGLASS_TRACKING_URI, else the local store.")
def reprice(tracking_uri: str | None) -> None:
    """Price every stored model call again with the installed price table (genai-prices), and total
    each trace's cost anew: for traces stored before costs were recorded, or after an upgrade of
    genai-prices. A running server may keep writing meanwhile."""
    from traceglass.collector.store import Store

    with _errors():
        store = _store(tracking_uri)
        if not isinstance(store, Store):
            raise _CommandError("traces reprice needs the store itself (a sqlite:/// or postgresql:// URL, "
                                "the server's --store), not a server's address", exit_code=2)
        calls, priced = store.reprice()
    click.echo(f"{calls} model call(s) stored, {priced} priced")


def _store(tracking_uri: str | None) -> Backend:
    """The store or server to read. A SQLite file named by the user must exist: opening a SQLite URL
    creates its file, and a mistyped path would read as an empty store ("No traces found"). The
    default store may not exist yet: then nothing has been recorded, and that is the answer."""
    from sqlalchemy.engine import make_url

    from traceglass._query import _backend
    from traceglass._tracking import default_store_url, get_tracking_uri, is_store_url
    from traceglass.collector.store import StoreError

    uri = tracking_uri or get_tracking_uri()
    if is_store_url(uri) and uri.startswith("sqlite") and uri != default_store_url():
        database = make_url(uri).database
        # As the store opens it: `~` is the user's home.
        if database and database != ":memory:" and not database.startswith("file:") \
                and not Path(database).expanduser().exists():
            raise StoreError(f"No store at {database}: nothing has been recorded there yet.")
    return _backend(uri)


def _page(store: Backend, experiments: tuple[str, ...], filter_string: str | None, order_by: tuple[str, ...],
          max_results: int, page_token: str | None) -> tuple[list[TraceInfo], str | None]:
    from traceglass._query import search_page

    return search_page(store, experiment_names=list(experiments) or None, filter_string=filter_string,
                       order_by=list(order_by) or None, max_results=max_results, page_token=page_token)


def _infos(store: Backend, experiments: tuple[str, ...], filter_string: str | None, order_by: tuple[str, ...],
           max_results: int, page_token: str | None, all_pages: bool) -> Iterator[TraceInfo]:
    token = page_token
    while True:
        infos, token = _page(store, experiments, filter_string, order_by, max_results, token)
        yield from infos
        if not all_pages or not token:
            return


@contextlib.contextmanager
def _errors() -> Iterator[None]:
    """Turns the query API's errors into one-line messages."""
    from sqlalchemy.exc import SQLAlchemyError

    from traceglass._tracking import describe_error
    from traceglass.collector.store import StoreError

    try:
        yield
    except ValueError as exc:  # FilterError, a bad page token, an unknown experiment, a bad URI
        raise _CommandError(str(exc), exit_code=2) from exc
    except (StoreError, NotImplementedError) as exc:
        raise _CommandError(str(exc), exit_code=1) from exc
    except SQLAlchemyError as exc:  # the database failed mid-query (locked, connection lost)
        raise _CommandError(f"The store could not answer: {describe_error(exc)}", exit_code=1) from exc


_TABLE = (("TRACE ID", 32), ("EXPERIMENT", 16), ("START (UTC)", 19), ("STATUS", 11), ("MS", 7),
          ("TOKENS", 6), ("COST $", 9), ("NAME", 24), ("REQUEST", 40))


def _print_table(infos: list[TraceInfo]) -> None:
    if not infos:
        click.echo("No traces found.")
        return
    click.echo("  ".join(title.ljust(width) for title, width in _TABLE).rstrip())
    for info in infos:
        start = datetime.fromtimestamp(info.timestamp_ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        cells = (info.trace_id, info.experiment_name or str(info.experiment_id), start, info.status,
                 _text(info.execution_time_ms), _text(info.total_tokens), _dollars(info.cost_usd), info.name or "",
                 _readable(info.request_preview))
        click.echo("  ".join(_fit(cell, width) for cell, (_, width) in zip(cells, _TABLE, strict=True)).rstrip())


def _dollars(cost: float | None) -> str:
    """A cost as the web UI shows it: to the cent from $1, two significant digits below."""
    if cost is None:
        return ""
    if cost == 0:
        return "0"
    if cost >= 1 or cost < 0:
        return f"{cost:,.2f}"
    if cost < 1e-8:
        return "<0.00000001"
    text = f"{cost:.{max(2, 1 - math.floor(math.log10(cost)))}f}"
    return re.sub(r"(\.\d\d\d*?)0+$", r"\1", text)


# A text part of a GenAI message, as the conventions serialise it: {"type":"text","content":"..."}.
_TEXT_PART = re.compile(r'"type":\s*"text",\s*"content":\s*"((?:[^"\\]|\\.)*)')


def _readable(preview: str | None) -> str:
    """The text of a request preview: the last text part of GenAI messages (the preview is cut at
    1000 characters, so it may not parse as JSON), else the preview on one line."""
    if not preview:
        return ""
    texts = _TEXT_PART.findall(preview)
    if texts:
        try:
            return " ".join(json.loads(f'"{texts[-1]}"').split())
        except ValueError:  # cut inside an escape sequence
            return " ".join(texts[-1].split())
    return " ".join(preview.split())


def _text(value: int | None) -> str:
    return "" if value is None else str(value)


def _fit(text: str, width: int) -> str:
    text = printable(text)
    return text.ljust(width) if len(text) <= width else text[: width - 1] + "…"


from traceglass import _cli_experiments, _cli_server  # noqa: E402  (imported last: they add commands to `main`)

_cli_server.register(main)
_cli_experiments.register(main)

from traceglass.demo import register as _register_demo  # noqa: E402

_register_demo(main)

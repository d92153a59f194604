"""`traceglass experiments`: list, create, rename and delete experiments, in a store or through a
traceglass server's query API (--tracking-uri, as for `traceglass traces`).

    traceglass experiments list [--output table|json]
    traceglass experiments create NAME
    traceglass experiments rename ID NEW_NAME
    traceglass experiments delete ID [--yes]
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import click

from traceglass._terminal import printable

if TYPE_CHECKING:
    from traceglass._query import Backend

__all__ = ["experiments", "register"]

_TRACKING_URI = click.option(
    "--tracking-uri", metavar="URI",
    help="Store URL (sqlite:///..., postgresql://...) or server address (http://127.0.0.1:5000). "
         "Default: TRACEGLASS_TRACKING_URI, else the local store.")


@click.group()
def experiments() -> None:
    """List, create, rename and delete experiments."""


def _backend(tracking_uri: str | None) -> Backend:
    # A store that exists: only `create` may bring a new one into being.
    from traceglass.cli import _store

    return _store(tracking_uri)


def _new_or_existing(tracking_uri: str | None) -> Backend:
    from traceglass._query import _backend as backend

    return backend(tracking_uri)


def _run(action: Callable[[], Any]) -> Any:
    # The same one-line messages and exit codes as `traceglass traces`.
    from traceglass.cli import _errors

    with _errors():
        return action()


@experiments.command("list")
@_TRACKING_URI
@click.option("--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
def list_(tracking_uri: str | None, output: str) -> None:
    """Every experiment, oldest first, with its number of traces and latest activity."""
    found = _run(lambda: _backend(tracking_uri).list_experiments())
    if output == "json":
        click.echo(json.dumps([experiment.to_dict() for experiment in found], indent=2))
        return
    if not found:
        click.echo("No experiments.")
        return
    click.echo(f"{'ID':>6}  {'NAME':<32}  {'TRACES':>7}  LAST ACTIVITY (UTC)")
    for experiment in found:
        last = _time(experiment.last_activity_ms) if experiment.last_activity_ms is not None else ""
        line = f"{experiment.experiment_id:>6}  {printable(experiment.name):<32}  {experiment.trace_count:>7}  {last}"
        click.echo(line.rstrip())


@experiments.command()
@click.argument("name")
@_TRACKING_URI
def create(name: str, tracking_uri: str | None) -> None:
    """Create the experiment NAME."""
    experiment = _run(lambda: _new_or_existing(tracking_uri).create_experiment(name))
    click.echo(f"Created experiment {experiment.name!r} (id {experiment.experiment_id}).")


@experiments.command()
@click.argument("experiment_id", type=int)
@click.argument("new_name")
@_TRACKING_URI
def rename(experiment_id: int, new_name: str, tracking_uri: str | None) -> None:
    """Rename the experiment with id EXPERIMENT_ID to NEW_NAME."""
    _check_id(experiment_id)
    experiment = _run(lambda: _backend(tracking_uri).rename_experiment(experiment_id, new_name))
    click.echo(f"Experiment {experiment.experiment_id} is now {experiment.name!r}.")


@experiments.command()
@click.argument("experiment_id", type=int)
@_TRACKING_URI
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def delete(experiment_id: int, tracking_uri: str | None, yes: bool) -> None:
    """Delete the experiment with id EXPERIMENT_ID and all its traces."""
    _check_id(experiment_id)
    if not yes:
        click.confirm(f"Delete experiment {experiment_id} and all its traces?", abort=True)
    _run(lambda: _backend(tracking_uri).delete_experiment(experiment_id))
    click.echo(f"Deleted experiment {experiment_id}.")


def _check_id(experiment_id: int) -> None:
    # Ids are 64-bit integers: a larger number names no experiment (SQLite would raise OverflowError).
    if not -(2**63) <= experiment_id < 2**63:
        from traceglass.cli import _CommandError

        raise _CommandError(f"No experiment with id {experiment_id}", exit_code=1)


def _time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def register(group: click.Group) -> None:
    """Add `experiments` to the `traceglass` command."""
    group.add_command(experiments)

"""The `traceglass demo` command (importing it costs click only; the demo loads when it runs)."""

from __future__ import annotations

import click

__all__ = ["demo", "register"]


@click.command()
@click.option("--tracking-uri", metavar="URI",
              help="Where to record: a traceglass server's address or a store URL. Default: "
                   "TRACEGLASS_TRACKING_URI, else the server at http://127.0.0.1:5000 if one is running, "
                   "else the local store.")
@click.option("--experiment", "-e", default="demo", show_default=True, metavar="NAME",
              help="Experiment to record the traces under.")
def demo(tracking_uri: str | None, experiment: str) -> None:
    """Record a handful of example traces, with no API key and no network.

    Real OpenAI, Anthropic and LangChain clients talk to a local server that answers like the
    providers: a chat, a streamed answer, a tool-calling agent, a LangChain chain, an Anthropic
    message and a rate-limited call. Steps whose SDK is not installed are skipped.
    """
    from traceglass.demo._run import DemoError, run

    if not experiment.strip():
        raise click.BadParameter("must not be empty", param_hint="--experiment")
    try:
        status = run(tracking_uri, experiment.strip(), echo=click.echo)
    except DemoError as exc:
        raise click.ClickException(str(exc)) from exc
    raise SystemExit(status)


def register(group: click.Group) -> None:
    """Add `demo` to the `traceglass` command."""
    group.add_command(demo)

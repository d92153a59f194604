"""Where traces go: the tracking URI, and the destination it and the environment choose.

Precedence, first match wins:

1. `set_tracking_uri(uri)` in code;
2. `TRACEGLASS_TRACKING_URI`;
3. the standard OpenTelemetry settings (`OTEL_TRACES_EXPORTER`, `OTEL_EXPORTER_OTLP_ENDPOINT`,
   `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`): telemetry is exported as they say;
4. the local store, `default_store_url()`.

A tracking URI is a store URL (`sqlite:///...`, `postgresql://...`: spans are written straight
into it) or the http(s) address of a traceglass server (spans, metrics and logs go there over
OTLP/HTTP). `get_tracking_uri()` is also where `search_traces()` reads.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit, urlunsplit

from traceglass._env import TRACKING_URI, TrackingEnv, warn_once

if TYPE_CHECKING:
    from traceglass.collector.store import Store

__all__ = [
    "Destination",
    "close_stores",
    "default_store_url",
    "describe_error",
    "display_url",
    "get_tracking_uri",
    "is_server_url",
    "is_store_url",
    "open_store",
    "resolve_destination",
    "set_tracking_uri",
    "store_open_error",
    "warn_store_unavailable",
]

_DB_FILE = "traceglass.db"
_STORE_SCHEMES = ("sqlite", "postgresql", "postgres")
_SERVER_SCHEMES = ("http", "https")

_explicit_uri: str | None = None
_stores: dict[str, Store] = {}
_lock = threading.Lock()


def default_store_url(home: str | None = None) -> str:
    """`sqlite:///<home>/traceglass.db` with an absolute path; `home` defaults to TRACEGLASS_HOME,
    else ~/.traceglass."""
    if home is None:
        home = TrackingEnv.resolve().home
    directory = Path(home).expanduser() if home else Path.home() / ".traceglass"
    return f"sqlite:///{(directory / _DB_FILE).resolve()}"


def set_tracking_uri(uri: str | None) -> None:
    """Send traces to `uri` from now on, and search them there; wins over every variable.

    uri: a store URL (`sqlite:////abs/path.db`, `sqlite:///relative.db`,
    `postgresql://user:pw@host/db`), the http(s) address of a traceglass server, or None to go
    back to the environment and the default. Spans already recorded are flushed to the previous
    destination first. Raises ValueError for anything else.
    """
    global _explicit_uri
    text = None if uri is None else str(uri).strip()
    if text is not None:
        _kind(text, source="set_tracking_uri()")  # raises on a bad URI, before anything changes
    with _lock:
        _explicit_uri = text or None
    # Imported here: the pipeline imports this module.
    from traceglass import _pipeline

    _pipeline.retarget()


def get_tracking_uri() -> str:
    """The tracking URI in force: `set_tracking_uri()`, else TRACEGLASS_TRACKING_URI, else the
    default local store. (Traces may still go where OTEL_* variables say; see the module doc.)"""
    if _explicit_uri is not None:
        return _explicit_uri
    env = TrackingEnv.resolve()
    if env.tracking_uri and _valid(env.tracking_uri):
        return env.tracking_uri
    return default_store_url(env.home)


def is_store_url(uri: str) -> bool:
    return _scheme(uri) in _STORE_SCHEMES


def is_server_url(uri: str) -> bool:
    """An http(s) address with a host: a traceglass server."""
    return _scheme(uri) in _SERVER_SCHEMES and bool(urlsplit(uri).netloc)


@dataclasses.dataclass(frozen=True)
class Destination:
    """Where spans go: `store` (url: a store URL), `server` (url: a traceglass server's base
    address) or `otel` (url None: as the OTEL_* variables say)."""

    kind: Literal["store", "server", "otel"]
    url: str | None = None


def resolve_destination() -> Destination:
    """The destination in force now (see the precedence in the module doc)."""
    env = TrackingEnv.resolve()
    uri = _explicit_uri
    if uri is None and env.tracking_uri and _valid(env.tracking_uri):
        uri = env.tracking_uri
    if uri is not None:
        kind = _kind(uri, source=TRACKING_URI)
        return Destination(kind, uri.rstrip("/") if kind == "server" else uri)
    if env.otel.configured:
        return Destination("otel")
    return Destination("store", default_store_url(env.home))


def open_store(url: str) -> Store:
    """The one Store of this process for `url` (opened, and migrated, on first use)."""
    store = _stores.get(url)
    if store is not None:
        return store
    with _lock:
        store = _stores.get(url)
        if store is None:
            from traceglass.collector.store import Store

            try:
                store = Store.open(url)
            except Exception as exc:
                raise store_open_error(url, exc) from exc
            _stores[url] = store
        return store


def store_open_error(url: str, error: Exception) -> Exception:
    """One StoreError naming the store, whatever failed beneath (a directory that cannot be
    created, a file that is not a database, a server that refuses connections)."""
    from traceglass.collector.store import StoreError

    return StoreError(f"Cannot open the store at {display_url(url)}: {describe_error(error)}")


def warn_store_unavailable(error: Exception) -> None:
    """Log once that spans cannot be recorded because the store did not open (`error`, from
    open_store()): a setting to fix, so one line and no traceback."""
    text = str(error)
    end = "" if text.endswith((".", "?", "!")) else "."
    warn_once(f"{text}{end} Traces are not recorded there. The application is not affected.")


def display_url(url: str) -> str:
    """`url` with its password masked: URLs end up in logs and error messages."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{userinfo.partition(':')[0]}:***@{host}"))


def describe_error(exc: BaseException) -> str:
    """The gist of `exc` on one line: the database driver's own message when SQLAlchemy wraps one
    (SQLAlchemy's text adds the SQL statement and a documentation link)."""
    cause = getattr(exc, "orig", None) or exc
    return " ".join(str(cause).split()) or type(cause).__name__


def _after_fork_in_child() -> None:
    # A forked child must not talk over its parent's database connections: a PostgreSQL
    # connection's protocol state and a SQLite file's locks belong to the parent. Each store gets
    # a new pool here; the inherited connections are left open, for the parent. A lock held by
    # another thread of the parent at the fork would never be released in the child.
    global _lock
    _lock = threading.Lock()
    for store in list(_stores.values()):
        engine = store.engine
        if engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:"):
            continue  # an in-memory store is the child's own copy, reachable only through its connection
        try:
            engine.dispose(close=False)
        except Exception:  # the store then fails in the child, where the exporter reports it
            pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def close_stores() -> None:
    """Close every store this process opened (they reopen on next use)."""
    with _lock:
        stores = list(_stores.values())
        _stores.clear()
    for store in stores:
        try:
            store.close()
        except Exception:  # a store that fails to close is dropped all the same
            pass


def _scheme(uri: str) -> str:
    # postgresql+psycopg:// and sqlite+pysqlite:// name a driver; the dialect decides.
    return urlsplit(uri).scheme.lower().split("+", 1)[0]


def _kind(uri: str, source: str) -> Literal["store", "server"]:
    scheme = _scheme(uri)
    if scheme in _STORE_SCHEMES:
        return "store"
    if scheme in _SERVER_SCHEMES and urlsplit(uri).netloc:
        return "server"
    raise ValueError(
        f"{source}: unsupported tracking URI {display_url(uri)!r}. Use a store URL (sqlite:////path/to/traces.db, "
        f"postgresql://user:password@host/db) or the address of a traceglass server (http://127.0.0.1:5000)."
    )


def _valid(uri: str) -> bool:
    """A bad TRACEGLASS_TRACKING_URI is logged once and ignored, like any bad setting."""
    try:
        _kind(uri, source=TRACKING_URI)
    except ValueError as exc:
        # Not "the default store": with OTEL_* exporter settings, traces go where those say.
        warn_once(str(exc) + " It is ignored: traces go where they would without it.")
        return False
    return True


def _reset() -> None:
    """Forget the explicit URI (the pipeline's reset calls this, and forgets the warnings given)."""
    global _explicit_uri
    _explicit_uri = None


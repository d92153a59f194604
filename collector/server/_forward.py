"""--forward-otlp: every request received is also sent on to other OTLP/HTTP backends.

Each target has its own buffer and thread, so a slow or absent backend never slows ingest. The
protobuf payload is sent as received (a JSON request goes as its protobuf equivalent), gzip
compressed, to `{target}/v1/{signal}`. Failures the OTLP specification calls retryable
(connection errors, 429, 502, 503, 504) are retried with backoff, honouring Retry-After; other
answers drop that one request with a log line. While a backend stays down its buffer is bounded
in bytes: the oldest requests are dropped first and the count is logged.
"""

from __future__ import annotations

import collections
import dataclasses
import gzip
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence

__all__ = ["ForwardTarget", "Forwarder"]

_log = logging.getLogger("traceglass.server")

_RETRYABLE = frozenset({429, 502, 503, 504})
_MAX_BACKOFF = 30.0
_TIMEOUT = 10.0
_REPORT_EVERY = 30.0  # seconds between "still dropping" log lines


@dataclasses.dataclass(frozen=True)
class _Item:
    signal: str
    body: bytes  # gzip-compressed protobuf


class ForwardTarget:
    """One backend: a bounded buffer and the thread that empties it."""

    def __init__(self, base_url: str, max_bytes: int, headers: dict[str, str] | None = None) -> None:
        self.base_url = _base(base_url)
        self._max_bytes = max_bytes
        self._headers = dict(headers or {})
        self._items: collections.deque[_Item] = collections.deque()
        self._bytes = 0
        self._closed = False
        self._stop = threading.Event()
        self._condition = threading.Condition()
        self.sent = 0
        self.dropped = 0
        self._dropped_reported = 0
        self._last_report = 0.0
        self._thread = threading.Thread(target=self._run, name=f"traceglass-forward {self.base_url}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, signal: str, body: bytes) -> None:
        item = _Item(signal, body)
        with self._condition:
            if self._closed:
                return
            while self._items and self._bytes + len(body) > self._max_bytes:
                oldest = self._items.popleft()
                self._bytes -= len(oldest.body)
                self.dropped += 1
            self._items.append(item)
            self._bytes += len(body)
            self._condition.notify()
        self._report_drops()

    def close(self, timeout: float) -> None:
        """Send what is buffered for up to `timeout` seconds, then stop."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._stop.set()
            with self._condition:
                self._condition.notify_all()
            self._thread.join(_TIMEOUT + 1)
        self._report_drops(force=True)
        left = len(self._items)
        if left:
            self.dropped += left
            self._dropped_reported = self.dropped
            _log.warning("traceglass server: %d requests were not forwarded to %s before shutdown.", left,
                         self.base_url)

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            with self._condition:
                self._condition.wait_for(lambda: self._items or self._closed or self._stop.is_set())
                if not self._items or self._stop.is_set():
                    return
                item = self._items[0]
            delay = self._send(item)
            if delay is None:
                with self._condition:
                    if self._items and self._items[0] is item:  # not dropped as oldest meanwhile
                        self._items.popleft()
                        self._bytes -= len(item.body)
                backoff = 0.5
                continue
            self._stop.wait(max(delay, backoff))
            backoff = min(backoff * 2, _MAX_BACKOFF)

    def _send(self, item: _Item) -> float | None:
        """None when done with the item (sent, or refused for good); else seconds to wait."""
        request = urllib.request.Request(
            f"{self.base_url}/v1/{item.signal}",
            data=item.body,
            method="POST",
            headers={"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip", **self._headers},
        )
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:
                response.read()
            self.sent += 1
            return None
        except urllib.error.HTTPError as error:
            error.close()
            if error.code in _RETRYABLE:
                return _retry_after(error.headers.get("Retry-After"))
            self.dropped += 1
            _log.warning("traceglass server: %s refused forwarded %s (HTTP %d); that request is dropped.",
                         self.base_url, item.signal, error.code)
            return None
        except (OSError, ValueError) as error:  # connection refused, timeout, reset
            _log.debug("traceglass server: cannot forward to %s: %s", self.base_url, error)
            return 0.0

    def _report_drops(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.dropped > self._dropped_reported and (force or now - self._last_report >= _REPORT_EVERY):
            _log.warning("traceglass server: %s is unreachable; dropped the %d oldest requests waiting for it "
                         "(%d so far).", self.base_url, self.dropped - self._dropped_reported, self.dropped)
            self._dropped_reported = self.dropped
            self._last_report = now


class Forwarder:
    """Every forward target of the server."""

    def __init__(self, urls: Sequence[str], max_bytes: int) -> None:
        self.targets = [ForwardTarget(url, max_bytes) for url in urls]

    def start(self) -> None:
        for target in self.targets:
            target.start()

    def submit(self, signal: str, protobuf: bytes) -> None:
        if not self.targets:
            return
        body = gzip.compress(protobuf, compresslevel=1)  # once for every target; level 1: cheap
        for target in self.targets:
            target.submit(signal, body)

    def close(self, timeout: float = 5.0) -> None:
        for target in self.targets:
            target.close(timeout)


def _base(url: str) -> str:
    """The backend's base URL: `http://host:4318`, also when given with a signal path."""
    base = url.strip().rstrip("/")
    for suffix in ("/v1/traces", "/v1/metrics", "/v1/logs"):
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base


def _retry_after(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value else 0.0
    except ValueError:  # an HTTP date: rare from OTLP backends; fall back to the backoff
        return 0.0

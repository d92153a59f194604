"""The one way traceglass swallows its own failures.

A failure inside telemetry code must never reach the application. The first failure at each
site is logged at WARNING with its traceback, later ones at DEBUG, so a recurring bug is visible
once without flooding the user's logs.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["guarded", "report_failure"]

_log = logging.getLogger("traceglass")
_reported: set[str] = set()

F = TypeVar("F", bound=Callable[..., Any])


def report_failure(site: str) -> None:
    """Log the exception being handled, as coming from `site`."""
    if site in _reported:
        _log.debug("traceglass: %s failed again", site, exc_info=True)
        return
    _reported.add(site)
    _log.warning("traceglass: %s failed; telemetry for this call may be incomplete. "
                 "The application is not affected.", site, exc_info=True)


def guarded(func: F) -> F:
    """Run `func`; on any Exception, report it and return None."""
    site = func.__qualname__

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception:
            report_failure(site)
            return None

    return wrapper  # type: ignore[return-value]

"""`traceglass demo`: example traces from real SDK clients talking to a local replay of providers.

    traceglass demo                    # into `traceglass ui` if it runs, else the local store
    traceglass ui --demo               # start the server and record the demo into it

Nothing here imports an SDK until the demo runs.
"""

from __future__ import annotations

from traceglass.demo._cli import demo, register
from traceglass.demo._launch import record_when_ready

__all__ = ["demo", "record_when_ready", "register"]

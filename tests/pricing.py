"""Whether this interpreter prices model calls: genai-prices installs on Python 3.11 and later."""

from __future__ import annotations

import importlib.util

PRICED = importlib.util.find_spec("genai_prices") is not None

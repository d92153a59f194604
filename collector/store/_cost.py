"""What a model call cost, in US dollars, from the span's provider, model and token counts.

Prices come from genai-prices (the maintained price table Pydantic Logfire also uses), as of the
installed version's data and the day of the call. The store prices each span as it writes it, so
calls recorded by any instrumentation that follows the GenAI conventions are priced alike.

Pricing one call through genai-prices takes about 90 µs, too much for the writer's path. Below a
model's first price tier (Anthropic's and Google's long-context prices start at 128k-200k input
tokens) a price is linear in the token counts, so the table is asked once per provider, model,
service tier and day (and part of the day, for DeepSeek's off-peak prices) for the price of one
token of each kind, and a call costs a few multiplications. A call at or beyond a tier, and only
such a call, is priced by genai-prices itself. A provider genai-prices does not know (local
servers such as Ollama and vLLM), a model it does not list, or a span without token counts has
no cost (None), never a guess.
"""

from __future__ import annotations

import bisect
import functools
import logging
import math
from collections.abc import Callable, Mapping
from datetime import datetime, time, timedelta, timezone
from typing import Any

from traceglass.semconv import names as N

__all__ = ["PROVIDER_IDS", "span_cost", "token_count"]

_log = logging.getLogger("traceglass")

# gen_ai.provider.name -> genai-prices provider id, for the providers that bill per token.
PROVIDER_IDS: Mapping[str, str] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "aws.bedrock": "aws",
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "gcp.gen_ai": "google",
    "groq": "groq",
    "deepseek": "deepseek",
    "mistral_ai": "mistral",
    "x_ai": "x-ai",
    "perplexity": "perplexity",
    "together_ai": "together",
    "fireworks": "fireworks",
    "openrouter": "openrouter",
    "cohere": "cohere",
    "moonshot_ai": "moonshotai",
    # gen_ai.system's values before gen_ai.provider.name replaced it (older instrumentations).
    "az.ai.openai": "azure",
    "az.ai.inference": "azure",
    "vertex_ai": "google",
    "gemini": "google",
    "xai": "x-ai",
}
_LEGACY_PROVIDER = "gen_ai.system"
_CACHE_WRITE_KEYS = (N.USAGE_CACHE_WRITE_INPUT_TOKENS, "gen_ai.usage.cache_creation.input_tokens")
_SECONDS_PER_DAY = 86_400
_PROBE = 1000  # tokens of one kind per probe: far below every price tier


# A span's token count is counted up to 2**31 - 1 (far beyond any model's context): a trace's sums
# (of at most 2**31 - 1 spans) and its total then always fit a 64-bit integer. A larger count is
# garbage that would make every write of its trace fail ("integer overflow"): it is kept in the
# span's attributes, not counted.
_MAX_TOKENS = 2**31 - 1


def token_count(value: Any) -> int | None:
    """A token count attribute as an int (a float is truncated), None when it is not a count."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value if -_MAX_TOKENS <= value <= _MAX_TOKENS else None
    if isinstance(value, float) and -_MAX_TOKENS <= value <= _MAX_TOKENS:  # NaN compares false
        return int(value)
    return None


def _count(value: Any) -> int:
    count = token_count(value)
    return count if count is not None and count > 0 else 0


def span_cost(attributes: Mapping[str, Any], start_ns: int, input_tokens: int | None,
              output_tokens: int | None) -> float | None:
    """The call's cost in USD, or None when it cannot be priced. Never raises."""
    if input_tokens is None and output_tokens is None:
        return None
    name = attributes.get(N.PROVIDER_NAME) or attributes.get(_LEGACY_PROVIDER)
    provider = PROVIDER_IDS.get(name) if isinstance(name, str) else None
    if provider is None:
        return None
    tier = attributes.get(N.OPENAI_RESPONSE_SERVICE_TIER) if provider in ("openai", "azure") else None
    tier = tier if isinstance(tier, str) else None
    usage = (max(input_tokens or 0, 0), max(output_tokens or 0, 0),
             _count(attributes.get(N.USAGE_CACHE_READ_INPUT_TOKENS)),
             max(_count(attributes.get(key)) for key in _CACHE_WRITE_KEYS))
    model = None
    try:
        # The model that answered, else the one asked for (an alias the table knows when the
        # answering snapshot is newer than the table).
        for model in (attributes.get(N.RESPONSE_MODEL), attributes.get(N.REQUEST_MODEL)):
            found = _model(provider, model) if isinstance(model, str) and model else None
            if found is not None:
                break
        else:
            return None
        day, second = divmod(start_ns // 10**9, _SECONDS_PER_DAY)
        rates = _rates(provider, model, tier, day, bisect.bisect_right(found[2], second))
        return rates(*usage)
    except Exception:  # a price is an extra: the span is stored without one
        _log.debug("traceglass: could not price %s %s", provider, model, exc_info=True)
        return None


@functools.lru_cache(maxsize=1024)
def _model(provider_id: str, model_ref: str) -> tuple[Any, Any, tuple[int, ...]] | None:
    """(genai-prices provider, model, the seconds of the day at which its prices change), or None
    when genai-prices does not list the model."""
    try:
        from genai_prices.data_snapshot import get_snapshot
        from genai_prices.types import TimeOfDateConstraint
    except ImportError:  # Python 3.10, where genai-prices does not install
        return None
    try:
        provider, model = get_snapshot().find_provider_model(model_ref, None, provider_id, None)
    except LookupError:
        return None
    # Off-peak prices (DeepSeek's) change within a day; every other price changes at most daily.
    conditions = [*(model.prices if isinstance(model.prices, list) else ()), *(model.price_variants or ())]
    changes = {_second_of_day(moment) for condition in conditions
               if isinstance(condition.constraint, TimeOfDateConstraint)
               for moment in (condition.constraint.start_time, condition.constraint.end_time)}
    return provider, model, tuple(sorted(changes))


def _second_of_day(moment: time) -> int:
    offset = moment.utcoffset() or timedelta(0)
    return int((moment.hour * 3600 + moment.minute * 60 + moment.second - offset.total_seconds())
               % _SECONDS_PER_DAY)


@functools.lru_cache(maxsize=4096)
def _rates(provider_id: str, model_ref: str, tier: str | None, day: int,
           period: int) -> Callable[[int, int, int, int], float]:
    """A function of (input, output, cache read, cache write) tokens -> USD for one model, on one
    day, in one period of that day between two price changes."""
    from genai_prices import Usage

    provider, model, changes = _model(provider_id, model_ref)  # type: ignore[misc]
    start = day * _SECONDS_PER_DAY + (changes[period - 1] if period else 0)
    when = datetime.fromtimestamp(start, tz=timezone.utc)
    context = {"service_tier": tier} if tier else None

    def exact(inputs: int, outputs: int, cache_read: int, cache_write: int) -> float:
        usage = Usage(input_tokens=inputs, output_tokens=outputs, cache_read_tokens=cache_read,
                      cache_write_tokens=cache_write)
        price = model.calc_price(usage, provider, genai_request_timestamp=when, price_context=context)
        return float(price.total_price)

    fixed = exact(0, 0, 0, 0)
    per_input = (exact(_PROBE, 0, 0, 0) - fixed) / _PROBE
    per_output = (exact(0, _PROBE, 0, 0) - fixed) / _PROBE
    per_cache_read = (exact(_PROBE, 0, _PROBE, 0) - fixed) / _PROBE
    per_cache_write = (exact(_PROBE, 0, 0, _PROBE) - fixed) / _PROBE
    first_tier = _first_tier(model.get_prices(when, context))

    def cost(inputs: int, outputs: int, cache_read: int, cache_write: int) -> float:
        if inputs >= first_tier:
            return exact(inputs, outputs, cache_read, cache_write)
        uncached = max(inputs - cache_read - cache_write, 0)
        return (fixed + uncached * per_input + outputs * per_output + cache_read * per_cache_read
                + cache_write * per_cache_write)

    return cost


def _first_tier(prices: Any) -> float:
    """The fewest input tokens at which any of a model's prices changes (inf: none does)."""
    from genai_prices.types import TieredPrices

    starts = [tier.start for value in vars(prices).values() if isinstance(value, TieredPrices)
              for tier in value.tiers]
    return float(min(starts)) if starts else math.inf

"""Failed calls, finish-once, and failures of the telemetry itself (never reach the application)."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import openai
import pytest
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.trace import StatusCode
from semconv_kit import Pipelines, text_invocation
from traceglass.semconv import Invocation, error_type

DURATION = "gen_ai.client.operation.duration"


def _rate_limit_error() -> openai.RateLimitError:
    request = httpx.Request("POST", "https://api.openai.com/v1/chat/completions")
    response = httpx.Response(429, request=request, json={"error": {"message": "Rate limit reached"}})
    return openai.RateLimitError("Rate limit reached", response=response, body=None)


class Unprintable:
    """A provider value the SDK cannot turn into an attribute: its __str__ raises."""

    def __str__(self) -> str:
        raise RuntimeError("cannot render")


def _records(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "traceglass" and r.levelno == level]


@pytest.mark.parametrize(("exc", "expected"), [
    (_rate_limit_error(), "openai.RateLimitError"),
    (ValueError("bad"), "ValueError"),
    (TimeoutError(), "TimeoutError"),
    (KeyboardInterrupt(), "KeyboardInterrupt"),
])
def test_fail_records_error_type_status_and_exception_event(kit: Pipelines, exc: BaseException, expected: str
                                                           ) -> None:
    handle = kit.telemetry().start(text_invocation())
    handle.fail(exc)
    span = kit.span()
    assert (span.attributes or {})["error.type"] == expected
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == (str(exc) or expected)
    (event,) = [e for e in span.events if e.name == "exception"]
    assert (event.attributes or {})["exception.message"] == str(exc)
    (point,) = kit.points(DURATION)
    assert point.attributes["error.type"] == expected


def test_error_type_uses_the_public_import_path() -> None:
    def make(module: str) -> BaseException:
        cls = type("ProviderError", (Exception,), {"__module__": module})
        return cls()

    assert error_type(make("acme._internal.errors")) == "acme.ProviderError"
    assert error_type(make("acme.sdk._base")) == "acme.sdk.ProviderError"
    assert error_type(make("acme.errors")) == "acme.errors.ProviderError"
    assert error_type(make("_acme")) == "ProviderError"
    assert error_type(openai.APITimeoutError(httpx.Request("GET", "https://x.example"))) == "openai.APITimeoutError"


def test_successful_call_has_no_error(kit: Pipelines) -> None:
    kit.telemetry().start(text_invocation()).finish()
    span = kit.span()
    assert span.status.status_code is StatusCode.UNSET
    assert "error.type" not in (span.attributes or {})
    assert span.events == ()
    assert "error.type" not in kit.points(DURATION)[0].attributes


def test_finish_twice_records_one_span_and_one_point(kit: Pipelines) -> None:
    handle = kit.telemetry().start(text_invocation())
    assert not handle.ended
    handle.finish()
    handle.finish()
    handle.fail(ValueError("late"))
    assert handle.ended
    span = kit.span()
    assert span.status.status_code is StatusCode.UNSET
    (point,) = kit.points(DURATION)
    assert point.count == 1


def test_fail_then_finish_keeps_the_failure(kit: Pipelines) -> None:
    handle = kit.telemetry().start(text_invocation())
    handle.fail(ValueError("first"))
    handle.finish()
    handle.fail(TypeError("second"))
    span = kit.span()
    assert (span.attributes or {})["error.type"] == "ValueError"
    (point,) = kit.points(DURATION)
    assert point.count == 1 and point.attributes["error.type"] == "ValueError"


def test_a_telemetry_failure_never_raises_and_warns_once(kit: Pipelines, tg_log: pytest.LogCaptureFixture) -> None:
    telemetry = kit.telemetry(capture_content="SPAN_AND_EVENT")
    for _ in range(3):
        telemetry.start(text_invocation(attributes={"vendor.thing": Unprintable()})).finish()
    warnings = _records(tg_log, logging.WARNING)
    assert len(warnings) == 1
    assert warnings[0].exc_info is not None and "not affected" in warnings[0].getMessage()
    assert len(_records(tg_log, logging.DEBUG)) == 2
    # Each call still produced its span and its duration point.
    assert len(kit.spans()) == 3
    assert kit.points(DURATION)[0].count == 3


def test_a_failed_call_stays_visibly_failed_despite_a_telemetry_failure(
    kit: Pipelines, tg_log: pytest.LogCaptureFixture
) -> None:
    handle = kit.telemetry().start(text_invocation(attributes={"vendor.thing": Unprintable()}))
    handle.fail(_rate_limit_error())
    span = kit.span()
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "openai.RateLimitError"
    assert kit.points(DURATION)[0].attributes["error.type"] == "openai.RateLimitError"
    assert len(_records(tg_log, logging.WARNING)) == 1


def test_unsupported_attribute_types_are_tolerated(kit: Pipelines, tg_log: pytest.LogCaptureFixture) -> None:
    # The SDK itself coerces or drops these; nothing reaches the application.
    odd: dict[str, Any] = {"vendor.set": {1, 2}, "vendor.obj": object(), "vendor.nested": [object()]}
    kit.telemetry(capture_content="SPAN_AND_EVENT").start(text_invocation(attributes=odd)).finish()
    span = kit.span()
    assert (span.attributes or {})["gen_ai.operation.name"] == "chat"
    assert len(kit.logs()) == 1


def test_a_broken_exporter_does_not_reach_the_caller(kit: Pipelines, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*_: Any) -> None:
        raise ConnectionError("collector down")

    monkeypatch.setattr(kit.span_exporter, "export", explode)
    monkeypatch.setattr(kit.log_exporter, "export", explode)
    telemetry = kit.telemetry(capture_content="SPAN_AND_EVENT")
    telemetry.start(text_invocation()).finish()
    telemetry.start(text_invocation()).fail(ValueError("x"))
    assert kit.points(DURATION)  # metrics are a separate pipeline and unaffected


class _ExplodingProcessor(SpanProcessor):
    def on_end(self, span: ReadableSpan) -> None:
        raise RuntimeError("processor bug")


def test_a_broken_span_processor_is_reported_once(kit: Pipelines, tg_log: pytest.LogCaptureFixture) -> None:
    kit.tracer_provider.add_span_processor(_ExplodingProcessor())
    telemetry = kit.telemetry()
    telemetry.start(text_invocation()).finish()
    telemetry.start(text_invocation()).finish()
    assert len(_records(tg_log, logging.WARNING)) == 1
    assert len(_records(tg_log, logging.DEBUG)) == 1
    assert len(kit.spans()) == 2  # the exporting processor ran before the broken one
    assert kit.points(DURATION)[0].count == 2


def test_a_broken_event_pipeline_loses_only_the_event(kit: Pipelines, tg_log: pytest.LogCaptureFixture,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*_: Any, **__: Any) -> None:
        raise RuntimeError("logger bug")

    telemetry = kit.telemetry(capture_content="EVENT_ONLY")
    assert telemetry._logger is not None
    monkeypatch.setattr(telemetry._logger, "emit", explode)
    telemetry.start(text_invocation()).finish()
    assert len(_records(tg_log, logging.WARNING)) == 1
    assert len(kit.spans()) == 1
    assert kit.points(DURATION)[0].count == 1


def test_invocation_without_model_or_server(kit: Pipelines) -> None:
    kit.telemetry().start(Invocation("chat", "openai")).finish()
    (point,) = kit.points(DURATION)
    assert dict(point.attributes) == {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai"}


class _Refusing:
    """An adapter whose SDK call raises an exception that carries the response it refused."""

    def request(self, instance: Any, args: Any, kwargs: Any) -> Invocation:
        return Invocation(operation="chat", provider="openai", request_model="gpt-4o-mini")

    def respond(self, handle: Any, result: Any) -> Any:
        handle.finish()
        return result

    def failed(self, handle: Any, exc: BaseException) -> None:
        handle.invocation.response_id = exc.args[0]


def test_the_adapter_sees_the_exception_before_the_span_ends(kit: Pipelines) -> None:
    from traceglass.semconv import sync_wrapper

    refused = ValueError("chatcmpl-1")

    def sdk_call() -> Any:
        raise refused

    with pytest.raises(ValueError) as raised:
        sync_wrapper(kit.telemetry(), _Refusing())(sdk_call, None, (), {})

    assert raised.value is refused
    attributes = kit.span().attributes or {}
    assert (attributes["gen_ai.response.id"], attributes["error.type"]) == ("chatcmpl-1", "ValueError")


def test_an_inactive_telemetry_leaves_its_wrappers_inert(kit: Pipelines) -> None:
    from traceglass.semconv import sync_wrapper

    telemetry = kit.telemetry()
    wrapper = sync_wrapper(telemetry, _Refusing())
    telemetry.active = False  # its instrumentor was uninstrumented; the app still holds the wrapper

    assert wrapper(lambda: "answer", None, (), {}) == "answer"
    assert kit.spans() == [] and kit.points(DURATION) == []

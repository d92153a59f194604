"""Every environment variable traceglass reads, resolved in one place.

`Settings` is built once per `instrument()` call: an explicit argument wins, then the
environment variable, then the default. `TrackingEnv` says where traces go (traceglass's own
variables and the standard OpenTelemetry exporter ones). Nothing else in the package reads
`os.environ`.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import os
from collections.abc import Mapping

__all__ = [
    "AUTH_TOKEN",
    "CAPTURE_MESSAGE_CONTENT",
    "EMIT_EVENT",
    "EXPERIMENT",
    "FULL_TOOL_DEFINITIONS",
    "HOME",
    "MAX_CONTENT_LENGTH",
    "OPENAI_PROVIDER_NAME",
    "TRACKING_URI",
    "CaptureMode",
    "OtelExportEnv",
    "Settings",
    "TrackingEnv",
    "autolog_capture",
    "otlp_http_credential_provider",
    "parse_bool",
    "reset_warnings",
    "sdk_disabled",
    "server_auth_token",
    "warn_once",
]

_log = logging.getLogger("traceglass")

CAPTURE_MESSAGE_CONTENT = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
"""NO_CONTENT (default) | SPAN_ONLY | EVENT_ONLY | SPAN_AND_EVENT, case-insensitive.
`true`/`false` are accepted as SPAN_ONLY/NO_CONTENT for users of older instrumentations."""

EMIT_EVENT = "OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT"
"""true/false: emit the gen_ai.client.inference.operation.details log event. Defaults to true
for EVENT_ONLY and SPAN_AND_EVENT, else false."""

MAX_CONTENT_LENGTH = "TRACEGLASS_MAX_CONTENT_LENGTH"
"""Cap, in characters, on each content attribute (messages, instructions, tool definitions).
Default 65536; 0 means no cap."""

FULL_TOOL_DEFINITIONS = "TRACEGLASS_FULL_TOOL_DEFINITIONS"
"""true/false: with content capture on, record each tool definition whole (description and
parameter schema). Default false: type and name only, as the conventions recommend because
definitions can be large."""

OPENAI_PROVIDER_NAME = "TRACEGLASS_OPENAI_PROVIDER_NAME"
"""gen_ai.provider.name for every call of the OpenAI instrumentor, overriding what it derives
from the client's base URL (e.g. `groq` for a proxy in front of Groq)."""

TRACKING_URI = "TRACEGLASS_TRACKING_URI"
"""Where traces go and where search_traces() reads them: a store URL (`sqlite:///path.db`,
`postgresql://...`) or the http(s) address of a traceglass server. `traceglass.set_tracking_uri()`
wins over it. Default: the local store in TRACEGLASS_HOME."""

EXPERIMENT = "TRACEGLASS_EXPERIMENT"
"""The experiment of the spans this process records, until `traceglass.set_experiment()` names
another. Default: none (the store files such traces under "Default")."""

HOME = "TRACEGLASS_HOME"
"""The directory holding the default local store, `traceglass.db`. Default: ~/.traceglass."""

AUTH_TOKEN = "TRACEGLASS_AUTH_TOKEN"
"""The bearer token `traceglass server` requires on every request (`--auth-token` wins over it).
Required when the server listens on an address other than loopback. A process whose tracking URI
is a server's address sends it too (`Authorization: Bearer ...`)."""


def server_auth_token(environ: Mapping[str, str] | None = None) -> str | None:
    """TRACEGLASS_AUTH_TOKEN, or None when unset or blank."""
    env = os.environ if environ is None else environ
    return env.get(AUTH_TOKEN, "").strip() or None


def otlp_http_credential_provider(signal: str, environ: Mapping[str, str] | None = None) -> str | None:
    """OTEL_PYTHON_EXPORTER_OTLP_HTTP_CREDENTIAL_PROVIDER, or its variable for `signal` (traces,
    metrics, logs): the entry point the OTLP/HTTP exporters load their HTTP session from. None
    when neither is set."""
    env = os.environ if environ is None else environ
    return (env.get("OTEL_PYTHON_EXPORTER_OTLP_HTTP_CREDENTIAL_PROVIDER", "").strip()
            or env.get(f"OTEL_PYTHON_EXPORTER_OTLP_HTTP_{signal.upper()}_CREDENTIAL_PROVIDER", "").strip() or None)


def sdk_disabled(environ: Mapping[str, str] | None = None) -> bool:
    """OTEL_SDK_DISABLED=true, read as the OpenTelemetry SDK reads it: its providers then hand out
    no-op tracers, meters and loggers, so traceglass makes no exporter and opens no store."""
    env = os.environ if environ is None else environ
    return env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


_DEFAULT_MAX_CONTENT_LENGTH = 65536


class CaptureMode(enum.Enum):
    """Where message content goes; the conventions' default is NO_CONTENT."""

    NO_CONTENT = "NO_CONTENT"
    SPAN_ONLY = "SPAN_ONLY"
    EVENT_ONLY = "EVENT_ONLY"
    SPAN_AND_EVENT = "SPAN_AND_EVENT"

    @property
    def captures(self) -> bool:
        return self is not CaptureMode.NO_CONTENT

    @property
    def on_span(self) -> bool:
        return self in (CaptureMode.SPAN_ONLY, CaptureMode.SPAN_AND_EVENT)

    @property
    def on_event(self) -> bool:
        return self in (CaptureMode.EVENT_ONLY, CaptureMode.SPAN_AND_EVENT)

    @classmethod
    def parse(cls, value: str | bool | CaptureMode, source: str) -> CaptureMode:
        if isinstance(value, CaptureMode):
            return value
        if value is True:
            return cls.SPAN_ONLY
        if value is False:
            return cls.NO_CONTENT
        text = str(value).strip().upper()
        if text in cls.__members__:
            return cls[text]
        if text in _TRUE:
            return cls.SPAN_ONLY
        if text in _FALSE or not text:
            return cls.NO_CONTENT
        _warn("%s has value %r; expected one of %s. Capturing no content.",
              source, value, ", ".join(cls.__members__))
        return cls.NO_CONTENT


_warned: set[str] = set()


def _warn(message: str, *args: object) -> None:
    # Every instrument() and autolog() call reads the variables again: a bad value is reported at
    # WARNING the first time only, not once per instrumented SDK.
    warn_once(message % args)


def warn_once(text: str) -> None:
    """Log a setting to fix at WARNING the first time, at DEBUG after that (prefixed "traceglass: ")."""
    text = "traceglass: " + text
    if text in _warned:
        _log.debug("%s", text)
        return
    _warned.add(text)
    _log.warning("%s", text)


def reset_warnings() -> None:
    """Report bad values again, as in a new process."""
    _warned.clear()


_TRUE = frozenset({"TRUE", "1", "YES", "ON"})
_FALSE = frozenset({"FALSE", "0", "NO", "OFF"})


def parse_bool(value: str, source: str, default: bool) -> bool:
    """The one boolean parser: true/1/yes/on and false/0/no/off, any case."""
    text = value.strip().upper()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    _warn("%s has value %r; not a valid bool. Using %s.", source, value, default)
    return default


@dataclasses.dataclass(frozen=True)
class Settings:
    """What one instrumentor was asked to do, resolved once."""

    capture: CaptureMode = CaptureMode.NO_CONTENT
    emit_event: bool = False
    max_content_length: int = _DEFAULT_MAX_CONTENT_LENGTH
    full_tool_definitions: bool = False
    provider_name: str | None = None  # overrides the instrumentor's own choice when set

    @classmethod
    def resolve(
        cls,
        capture_content: str | bool | CaptureMode | None = None,
        emit_event: bool | None = None,
        max_content_length: int | None = None,
        full_tool_definitions: bool | None = None,
        provider_name: str | None = None,
        provider_name_env: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        environment = os.environ if environ is None else environ

        def get(name: str) -> str | None:  # a blank variable reads as unset, as for the OTEL_* ones
            return environment.get(name, "").strip() or None

        if capture_content is not None:
            capture = CaptureMode.parse(capture_content, "capture_content")
        else:
            capture = CaptureMode.parse(get(CAPTURE_MESSAGE_CONTENT) or "", CAPTURE_MESSAGE_CONTENT)
        if emit_event is None:
            raw = get(EMIT_EVENT)
            emit_event = capture.on_event if raw is None else parse_bool(raw, EMIT_EVENT, capture.on_event)
        if max_content_length is None:
            raw = get(MAX_CONTENT_LENGTH)
            max_content_length = _DEFAULT_MAX_CONTENT_LENGTH
            if raw is not None:
                try:
                    max_content_length = max(0, int(raw))
                except ValueError:
                    _warn("%s has value %r; not an integer. Using %d.",
                          MAX_CONTENT_LENGTH, raw, _DEFAULT_MAX_CONTENT_LENGTH)
        if full_tool_definitions is None:
            raw = get(FULL_TOOL_DEFINITIONS)
            full_tool_definitions = False if raw is None else parse_bool(raw, FULL_TOOL_DEFINITIONS, False)
        if provider_name is None and provider_name_env is not None:
            provider_name = get(provider_name_env)
        return cls(capture=capture, emit_event=emit_event, max_content_length=max(0, max_content_length),
                   full_tool_definitions=full_tool_definitions, provider_name=provider_name)


def autolog_capture(capture_content: str | bool | CaptureMode | None = None,
                    environ: Mapping[str, str] | None = None) -> CaptureMode:
    """Content capture for autolog(): the argument, then the environment variable, then SPAN_ONLY.

    autolog() records content by default (it feeds a local trace viewer, like MLflow's autolog);
    the instrumentors used on their own keep the conventions' default, NO_CONTENT.
    """
    if capture_content is not None:
        return CaptureMode.parse(capture_content, "capture_content")
    env = os.environ if environ is None else environ
    raw = env.get(CAPTURE_MESSAGE_CONTENT, "").strip()
    if raw:
        return CaptureMode.parse(raw, CAPTURE_MESSAGE_CONTENT)
    return CaptureMode.SPAN_ONLY


@dataclasses.dataclass(frozen=True)
class OtelExportEnv:
    """The standard OpenTelemetry exporter settings that decide where telemetry goes (read here,
    so the rest of the package never reads os.environ; the SDK's exporters read their own
    endpoint, header and timeout variables themselves)."""

    traces_exporter: str | None = None  # OTEL_TRACES_EXPORTER
    metrics_exporter: str | None = None  # OTEL_METRICS_EXPORTER
    logs_exporter: str | None = None  # OTEL_LOGS_EXPORTER
    endpoint: str | None = None  # OTEL_EXPORTER_OTLP_ENDPOINT
    traces_endpoint: str | None = None  # OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
    metrics_endpoint: str | None = None  # OTEL_EXPORTER_OTLP_METRICS_ENDPOINT
    logs_endpoint: str | None = None  # OTEL_EXPORTER_OTLP_LOGS_ENDPOINT
    protocol: str | None = None  # OTEL_EXPORTER_OTLP_PROTOCOL
    traces_protocol: str | None = None  # OTEL_EXPORTER_OTLP_TRACES_PROTOCOL
    metrics_protocol: str | None = None  # OTEL_EXPORTER_OTLP_METRICS_PROTOCOL
    logs_protocol: str | None = None  # OTEL_EXPORTER_OTLP_LOGS_PROTOCOL

    @property
    def configured(self) -> bool:
        """True when the user told OpenTelemetry where traces go: an exporter or an endpoint."""
        return any((self.traces_exporter, self.endpoint, self.traces_endpoint))

    def exporter_names(self, signal: str) -> list[str] | None:
        """OTEL_<SIGNAL>_EXPORTER as a list; [] for `none`; None when unset."""
        raw = getattr(self, f"{signal}_exporter")
        if raw is None:
            return None
        names = [name.strip() for name in raw.split(",") if name.strip()]
        return [] if [name.lower() for name in names] in ([], ["none"]) else names

    def otlp_protocol(self, signal: str) -> str | None:
        return getattr(self, f"{signal}_protocol") or self.protocol

    def has_otlp_endpoint(self, signal: str) -> bool:
        return bool(self.endpoint or getattr(self, f"{signal}_endpoint"))


@dataclasses.dataclass(frozen=True)
class TrackingEnv:
    """Where traces go, as the environment says; read afresh at each use (it is cheap), so a
    variable set before the first traced call is honoured."""

    tracking_uri: str | None = None
    experiment: str | None = None
    home: str | None = None
    otel: OtelExportEnv = dataclasses.field(default_factory=OtelExportEnv)

    @classmethod
    def resolve(cls, environ: Mapping[str, str] | None = None) -> TrackingEnv:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            return env.get(name, "").strip() or None

        otel = OtelExportEnv(**{
            field.name: get("OTEL_" + _OTEL_SUFFIX[field.name]) for field in dataclasses.fields(OtelExportEnv)
        })
        return cls(tracking_uri=get(TRACKING_URI), experiment=_experiment(get(EXPERIMENT)), home=get(HOME),
                   otel=otel)


def _experiment(name: str | None) -> str | None:
    """TRACEGLASS_EXPERIMENT, or None (the default, "Default") when no store could hold it."""
    if name is None:
        return None
    from traceglass.semconv import names  # semconv reads this module's Settings: imported on use

    if len(name) > names.EXPERIMENT_NAME_LENGTH:
        _warn("%s is longer than %d characters; it is ignored: traces go to the experiment \"Default\".",
              EXPERIMENT, names.EXPERIMENT_NAME_LENGTH)
        return None
    return name


# OtelExportEnv field -> variable name after "OTEL_".
_OTEL_SUFFIX = {
    "traces_exporter": "TRACES_EXPORTER",
    "metrics_exporter": "METRICS_EXPORTER",
    "logs_exporter": "LOGS_EXPORTER",
    "endpoint": "EXPORTER_OTLP_ENDPOINT",
    "traces_endpoint": "EXPORTER_OTLP_TRACES_ENDPOINT",
    "metrics_endpoint": "EXPORTER_OTLP_METRICS_ENDPOINT",
    "logs_endpoint": "EXPORTER_OTLP_LOGS_ENDPOINT",
    "protocol": "EXPORTER_OTLP_PROTOCOL",
    "traces_protocol": "EXPORTER_OTLP_TRACES_PROTOCOL",
    "metrics_protocol": "EXPORTER_OTLP_METRICS_PROTOCOL",
    "logs_protocol": "EXPORTER_OTLP_LOGS_PROTOCOL",
}

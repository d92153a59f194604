"""GenAI semantic-convention names, in one table.

Source: GenAI semconv gen-ai-dev 1.42.0-dev (Development), GenAI repo main @a685613a (2026-08-15),
https://github.com/open-telemetry/semantic-conventions-genai/tree/main/model/gen-ai.

Where the conventions moved after that snapshot ([late-2026] in the digest) we follow what the
official Python packages (opentelemetry-util-genai 1.3b0) emit. Those choices are the LATE_2026
block below: the next change of the conventions is an edit there and nowhere else.
"""

from __future__ import annotations

__all__ = [name for name in dir() if name.isupper()]

SCHEMA_URL = "https://opentelemetry.io/schemas/gen-ai-dev/1.42.0-dev"

# --- [late-2026] choices: what official Python 1.3b0 emits ------------------------------------
# PR #440 renamed cache_creation -> cache_write; 1.3b0 already writes cache_write.
USAGE_CACHE_WRITE_INPUT_TOKENS = "gen_ai.usage.cache_write.input_tokens"
# PR #374 restructured the metrics; 1.3b0 still emits the released instruments.
METRIC_OPERATION_DURATION = "gen_ai.client.operation.duration"
METRIC_TOKEN_USAGE = "gen_ai.client.token.usage"
METRIC_TIME_TO_FIRST_CHUNK = "gen_ai.client.operation.time_to_first_chunk"
# The output-message finish_reason became optional/deprecated; 1.3b0 still writes it: so do we.
OUTPUT_MESSAGE_FINISH_REASON = True
# PR #579: the details event is recommended with severity DEBUG (5).
DETAILS_EVENT_SEVERITY_NUMBER = 5
# -------------------------------------------------------------------------------------------------

OPERATION_NAME = "gen_ai.operation.name"
PROVIDER_NAME = "gen_ai.provider.name"
REQUEST_MODEL = "gen_ai.request.model"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
ERROR_TYPE = "error.type"

CONVERSATION_ID = "gen_ai.conversation.id"
OUTPUT_TYPE = "gen_ai.output.type"
REQUEST_CHOICE_COUNT = "gen_ai.request.choice.count"
REQUEST_SEED = "gen_ai.request.seed"
REQUEST_TOP_K = "gen_ai.request.top_k"
REQUEST_STREAM = "gen_ai.request.stream"
REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
REQUEST_TEMPERATURE = "gen_ai.request.temperature"
REQUEST_TOP_P = "gen_ai.request.top_p"
REQUEST_STOP_SEQUENCES = "gen_ai.request.stop_sequences"
REQUEST_FREQUENCY_PENALTY = "gen_ai.request.frequency_penalty"
REQUEST_PRESENCE_PENALTY = "gen_ai.request.presence_penalty"
REQUEST_REASONING_LEVEL = "gen_ai.request.reasoning.level"
REQUEST_PREVIOUS_RESPONSE_ID = "gen_ai.request.previous_response.id"
REQUEST_ENCODING_FORMATS = "gen_ai.request.encoding_formats"
REQUEST_STREAM_CURSOR = "gen_ai.request.stream_cursor"
PROMPT_NAME = "gen_ai.prompt.name"
PROMPT_VERSION = "gen_ai.prompt.version"

RESPONSE_ID = "gen_ai.response.id"
RESPONSE_MODEL = "gen_ai.response.model"
RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
RESPONSE_STATUS = "gen_ai.response.status"
RESPONSE_TIME_TO_FIRST_CHUNK = "gen_ai.response.time_to_first_chunk"
EMBEDDINGS_DIMENSION_COUNT = "gen_ai.embeddings.dimension.count"

USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
USAGE_CACHE_READ_INPUT_TOKENS = "gen_ai.usage.cache_read.input_tokens"
USAGE_REASONING_OUTPUT_TOKENS = "gen_ai.usage.reasoning.output_tokens"
TOKEN_TYPE = "gen_ai.token.type"

SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
TOOL_DEFINITIONS = "gen_ai.tool.definitions"

DETAILS_EVENT = "gen_ai.client.inference.operation.details"

OPENAI_API_TYPE = "openai.api.type"
OPENAI_REQUEST_SERVICE_TIER = "openai.request.service_tier"
OPENAI_RESPONSE_SERVICE_TIER = "openai.response.service_tier"
OPENAI_RESPONSE_SYSTEM_FINGERPRINT = "openai.response.system_fingerprint"

# Not in the conventions: Anthropic's extended-thinking request (a mode and a token budget, not a
# level, so not gen_ai.request.reasoning.level). Named as the anthropic SDK's own spans name them.
ANTHROPIC_THINKING_TYPE = "anthropic.thinking.type"
ANTHROPIC_THINKING_BUDGET_TOKENS = "anthropic.thinking.budget_tokens"
# As the anthropic SDK's own span names them: the tier asked for, and the tier that served.
ANTHROPIC_REQUEST_SERVICE_TIER = "anthropic.request.service_tier"
ANTHROPIC_RESPONSE_SERVICE_TIER = "anthropic.response.service_tier"

# Not in the conventions: Ollama's own server-side timings, in seconds (it reports nanoseconds).
OLLAMA_LOAD_DURATION = "ollama.load_duration"
OLLAMA_PROMPT_EVAL_DURATION = "ollama.prompt_eval_duration"
OLLAMA_EVAL_DURATION = "ollama.eval_duration"
OLLAMA_TOTAL_DURATION = "ollama.total_duration"

# Operations (gen_ai.operation.name well-known values).
CHAT = "chat"
TEXT_COMPLETION = "text_completion"
GENERATE_CONTENT = "generate_content"
EMBEDDINGS = "embeddings"
# Reads a stored response back by its id; no inference (spans.yaml gen_ai.fetch_response.client).
FETCH_RESPONSE = "fetch_response"

# Operations used by the manual tracing API's span types (see _span_types.py).
RETRIEVAL = "retrieval"
EXECUTE_TOOL = "execute_tool"
INVOKE_AGENT = "invoke_agent"
INVOKE_WORKFLOW = "invoke_workflow"
TOOL_NAME = "gen_ai.tool.name"

# General (non-GenAI) conventions: session and user of the request.
SESSION_ID = "session.id"
USER_ID = "user.id"

# Not in the conventions: traceglass's manual tracing API (@traceglass.trace, start_span).
SPAN_TYPE = "traceglass.span.type"
SPAN_INPUTS = "traceglass.span.inputs"  # JSON; opt-in content, like gen_ai.input.messages
SPAN_OUTPUTS = "traceglass.span.outputs"  # JSON; opt-in content
TRACE_TAGS = "traceglass.trace.tags"  # string[]: tags without a value
TRACE_TAG_PREFIX = "traceglass.trace.tag."  # + key; string value: a tag with a value
TRACE_METADATA_PREFIX = "traceglass.trace.metadata."  # + key; string values
# The experiment a span belongs to: stamped on spans by set_experiment(), or set on the resource
# (OTEL_RESOURCE_ATTRIBUTES=traceglass.experiment=...) for a whole process.
EXPERIMENT = "traceglass.experiment"
DEFAULT_EXPERIMENT = "Default"
EXPERIMENT_NAME_LENGTH = 256  # the longest experiment name a store holds

# An observable instrument that reports nothing: its callback flushes batched measurements
# before each collection (see _metrics.py).
METRIC_FLUSH_HOOK = "traceglass.metrics.flush"

# Advised histogram boundaries.
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
TOKEN_BUCKETS = tuple(4**i for i in range(14))  # 1, 4, 16, ..., 67108864

# Marker left where content was cut to the size cap.
TRUNCATION_MARKER = "…[truncated]"

__all__ = [name for name in dir() if name.isupper()]

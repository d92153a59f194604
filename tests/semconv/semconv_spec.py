"""The official model, read from fixtures/ (see fixtures/README.md): registry types, span, metric and event
definitions, and JSON-schema checks of content attributes. Never reads anything outside the repository.
"""

from __future__ import annotations

import ast
import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import traceglass.semconv._names as N
import yaml
from jsonschema import Draft202012Validator

FIXTURES = Path(__file__).parent / "fixtures"

# Core attributes (open-telemetry/semantic-conventions model/server, model/error; Stable). The core
# registry is not part of the fixtures, so their registered types are written out here.
CORE_ATTRIBUTE_TYPES: dict[str, str] = {"server.address": "string", "server.port": "int", "error.type": "string"}

CONTENT_KEYS = (N.SYSTEM_INSTRUCTIONS, N.INPUT_MESSAGES, N.OUTPUT_MESSAGES, N.TOOL_DEFINITIONS)
CONTENT_SCHEMAS: dict[str, str] = {
    N.SYSTEM_INSTRUCTIONS: "gen-ai-system-instructions.json",
    N.INPUT_MESSAGES: "gen-ai-input-messages.json",
    N.OUTPUT_MESSAGES: "gen-ai-output-messages.json",
    N.TOOL_DEFINITIONS: "gen-ai-tool-definitions.json",
}


@functools.cache
def load_yaml(relative: str) -> Any:
    with (FIXTURES / relative).open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@functools.cache
def load_schema(file_name: str) -> dict[str, Any]:
    with (FIXTURES / "gen-ai" / file_name).open(encoding="utf-8") as handle:
        result: dict[str, Any] = json.load(handle)
    return result


def _type_name(declared: Any) -> str:
    if isinstance(declared, str):
        return declared
    # An enum: its type is the type of its members' values.
    values = [member["value"] for member in declared["members"]]
    if all(isinstance(value, str) for value in values):
        return "string"
    if all(isinstance(value, int) and not isinstance(value, bool) for value in values):
        return "int"
    return "double"


@functools.cache
def registry() -> dict[str, str]:
    """{attribute key: registered type}: GenAI + OpenAI registries of the fixture, plus the core attributes."""
    types = dict(CORE_ATTRIBUTE_TYPES)
    for relative in ("gen-ai/registry.yaml", "openai/registry.yaml"):
        for attribute in load_yaml(relative)["attributes"]:
            types[attribute["key"]] = _type_name(attribute["type"])
    return types


@functools.cache
def late_2026_names() -> frozenset[str]:
    """String constants assigned inside the `[late-2026]` block of semconv/_names.py."""
    source = Path(N.__file__).read_text(encoding="utf-8")
    lines = source.splitlines()
    start = next(i for i, line in enumerate(lines, 1) if line.startswith("# --- [late-2026]"))
    end = next(i for i, line in enumerate(lines, 1) if i > start and line.startswith("# ---"))
    names = {
        target.id
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign) and start < node.lineno < end
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    return frozenset(value for name in names if isinstance(value := getattr(N, name), str))


def _attribute_groups() -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for relative in ("gen-ai/spans.yaml", "gen-ai/metrics.yaml"):
        for group in load_yaml(relative).get("attribute_groups", []):
            groups[group["id"]] = group["attributes"]
    for span in load_yaml("gen-ai/spans.yaml")["spans"]:
        groups[f"span.{span['type']}"] = span["attributes"]
    return groups


def resolve_refs(entries: Iterable[Mapping[str, Any]], into: dict[str, dict[str, Any]] | None = None
                 ) -> dict[str, dict[str, Any]]:
    """{key: merged ref properties} of a list of `ref`/`ref_group` entries; later refs override earlier ones."""
    resolved: dict[str, dict[str, Any]] = {} if into is None else into
    groups = _attribute_groups()
    for entry in entries:
        if "ref_group" in entry:
            resolve_refs(groups[entry["ref_group"]], resolved)
        else:
            merged = resolved.setdefault(entry["ref"], {})
            merged.update({k: v for k, v in entry.items() if k != "ref"})
    return resolved


def span_definition(span_type: str, refinement: str | None = None) -> dict[str, dict[str, Any]]:
    """The attributes of a span type of spans.yaml, optionally with a span refinement applied."""
    spans = load_yaml("gen-ai/spans.yaml")
    span = next(s for s in spans["spans"] if s["type"] == span_type)
    resolved = resolve_refs(span["attributes"])
    if refinement is not None:
        refined = next(r for r in spans["span_refinements"] if r["id"] == refinement)
        assert refined["ref"] == span_type
        resolve_refs(refined["attributes"], resolved)
    return resolved


def metric_definition(name: str) -> dict[str, Any]:
    return next(m for m in load_yaml("gen-ai/metrics.yaml")["metrics"] if m["name"] == name)


def event_definition(name: str) -> dict[str, Any]:
    return next(e for e in load_yaml("gen-ai/events.yaml")["events"] if e["name"] == name)


def requirement(props: Mapping[str, Any]) -> str:
    """'required', 'conditionally_required', 'recommended' or 'opt_in'."""
    level = props.get("requirement_level", "recommended")
    return level if isinstance(level, str) else next(iter(level))


def type_errors(attributes: Mapping[str, Any], structured_content: bool = False) -> list[str]:
    """Problems of `attributes` against the registry: unknown keys and values of the wrong type.

    Content attributes (registered as `any`) must be JSON strings on spans and structured on events.
    """
    known = registry()
    late = late_2026_names()
    errors: list[str] = []
    for key, value in attributes.items():
        if key in late:
            expected = "int" if key.startswith("gen_ai.usage.") else "any"
        elif key in known:
            expected = known[key]
        else:
            errors.append(f"{key}: not in the registry nor in the [late-2026] block")
            continue
        if not _matches(expected, value, structured_content):
            errors.append(f"{key}: {type(value).__name__} {value!r} is not {expected}")
    return errors


def _matches(expected: str, value: Any, structured: bool) -> bool:
    if expected == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "double":
        return isinstance(value, float)
    if expected == "string":
        return isinstance(value, str)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "string[]":
        return isinstance(value, Sequence) and not isinstance(value, str) and all(isinstance(v, str) for v in value)
    if expected == "any":
        if structured:
            return isinstance(value, (Sequence, Mapping)) and not isinstance(value, str)
        return isinstance(value, str) and isinstance(json.loads(value), list)
    return False


def plain(value: Any) -> Any:
    """Tuples (how the SDK stores sequences) back to lists, recursively, for JSON-schema validation."""
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    return value


def schema_errors(attribute: str, value: Any) -> list[str]:
    """Validation errors of a content attribute value (a JSON string or structured) against its schema,
    including each typed part against its own definition: the schema's GenericPart branch accepts a
    broken typed part (e.g. a `text` part without `content`), so `anyOf` alone proves little."""
    document = json.loads(value) if isinstance(value, str) else plain(value)
    schema = load_schema(CONTENT_SCHEMAS[attribute])
    errors = [f"{attribute}: {e.message}" for e in Draft202012Validator(schema).iter_errors(document)]
    definitions: dict[str, Any] = schema["$defs"]
    by_type = {d["properties"]["type"]["const"]: name for name, d in definitions.items()
               if "const" in d.get("properties", {}).get("type", {})}
    for where, part in _typed_items(attribute, document):
        name = by_type.get(part.get("type"))
        if name is None:
            errors.append(f"{attribute}{where}: type {part.get('type')!r} is not a typed part of the schema")
            continue
        validator = Draft202012Validator({"$ref": f"#/$defs/{name}", "$defs": definitions})
        errors.extend(f"{attribute}{where} ({name}): {e.message}" for e in validator.iter_errors(part))
    return errors


def _typed_items(attribute: str, document: list[Any]) -> list[tuple[str, dict[str, Any]]]:
    if attribute in (N.INPUT_MESSAGES, N.OUTPUT_MESSAGES):
        return [(f"[{i}].parts[{j}]", part) for i, message in enumerate(document)
                for j, part in enumerate(message.get("parts", []))]
    if attribute == N.SYSTEM_INSTRUCTIONS:
        return [(f"[{i}]", part) for i, part in enumerate(document)]
    # Tool definitions: only the function kind is typed; others are GenericToolDefinition by design.
    return [(f"[{i}]", tool) for i, tool in enumerate(document) if tool.get("type") == "function"]

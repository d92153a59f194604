"""Metric and label names a PromQL expression reads, for checking dashboards against what
traceglass emits. Enough PromQL for dashboard queries: selectors, ranges, aggregations with
by/without, binary operators, label_values() template queries, Grafana $variables."""

from __future__ import annotations

import re

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^}]*)\}")
_MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
_RANGE = re.compile(r"\[[^\]]*\]")
_IDENTIFIER = re.compile(r"(?<![\w$.:])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])(?!\s*\()")
_LABEL_VALUES = re.compile(r"^\s*label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$")
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool",
             "offset", "inf", "nan"}


def names(expr: str) -> tuple[set[str], set[str]]:
    """(metric names, label names) read by a PromQL expression or a label_values() query."""
    template = _LABEL_VALUES.match(expr)
    if template:
        metrics, labels = names(template.group(1))
        return metrics, labels | {template.group(2)}
    expr = _STRING.sub('""', expr)
    labels: set[str] = set()
    for group in _GROUPING.findall(expr):
        labels |= {label.strip() for label in group.split(",") if label.strip()}
    expr = _GROUPING.sub(" ", expr)
    metrics: set[str] = set()
    for metric, matchers in _SELECTOR.findall(expr):
        if metric:
            metrics.add(metric)
        labels |= set(_MATCHER.findall(matchers))
    expr = _SELECTOR.sub(" ", expr)
    expr = _RANGE.sub(" ", expr)
    metrics |= {name for name in _IDENTIFIER.findall(expr) if name.lower() not in _KEYWORDS}
    return metrics, labels

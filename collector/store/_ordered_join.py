"""A join whose left side SQLite must loop over first.

SQLite has no statistics unless ANALYZE ran, and may drive a join from the side that is
cheapest in general but quadratic for the query at hand (every row of a common value, once per
trace). CROSS JOIN is SQLite's way of fixing the order; elsewhere this is a plain JOIN, and
PostgreSQL's planner chooses from its statistics.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.selectable import Join

__all__ = ["OrderedJoin"]


class OrderedJoin(Join):
    inherit_cache = True


@compiles(OrderedJoin, "sqlite")
def _sqlite_ordered_join(join: OrderedJoin, compiler: Any, **kw: Any) -> str:
    kw["asfrom"] = True
    left = compiler.process(join.left, **kw)
    right = compiler.process(join.right, **kw)
    return f"{left} CROSS JOIN {right} ON {compiler.process(join.onclause, **kw)}"

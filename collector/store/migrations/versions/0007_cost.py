"""What each model call cost, and each trace: spans.cost_usd and traces.cost_usd.

Both are nullable and added empty, which neither database copies a table for. Traces are sorted
and filtered by cost through an index per experiment, and the overview's index covers the cost
too, so that its time buckets still read that index alone. Spans stored before this revision
keep no cost (pricing them means reading every span's attributes).

On PostgreSQL the per-experiment indexes of the sort keys that may be empty (execution time,
name, cost) put NULLs first and end with the trace id: read forward or backward, they give the
order search_traces sorts in (NULLs first ascending, last descending, as on SQLite), which the
earlier ones did not, so such a sort read every trace of the experiment.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The overview index's columns before this revision (0003).
_OVERVIEW = ("experiment_id", "timestamp_ms", "status", "execution_time_ms", "input_tokens", "output_tokens",
             "trace_id")
_REPLACED_ON_POSTGRESQL = ("execution_time_ms", "name")  # (experiment_id, key) since 0001


def upgrade() -> None:
    op.add_column("spans", sa.Column("cost_usd", sa.Double()))
    op.add_column("traces", sa.Column("cost_usd", sa.Double()))
    op.drop_index("ix_traces_overview", table_name="traces")
    op.create_index("ix_traces_overview", "traces", [*_OVERVIEW[:-1], "cost_usd", _OVERVIEW[-1]])
    if op.get_bind().dialect.name == "sqlite":
        op.create_index("ix_traces_experiment_id_cost_usd", "traces", ["experiment_id", "cost_usd"])
        return
    for key in _REPLACED_ON_POSTGRESQL:
        op.drop_index(f"ix_traces_experiment_id_{key}", table_name="traces")
    for key in (*_REPLACED_ON_POSTGRESQL, "cost_usd"):
        op.create_index(f"ix_traces_experiment_id_{key}_trace_id", "traces",
                        ["experiment_id", sa.text(f"{key} NULLS FIRST"), "trace_id"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index("ix_traces_experiment_id_cost_usd", table_name="traces")
    else:
        for key in (*_REPLACED_ON_POSTGRESQL, "cost_usd"):
            op.drop_index(f"ix_traces_experiment_id_{key}_trace_id", table_name="traces")
        for key in _REPLACED_ON_POSTGRESQL:
            op.create_index(f"ix_traces_experiment_id_{key}", "traces", ["experiment_id", key])
    op.drop_index("ix_traces_overview", table_name="traces")
    op.create_index("ix_traces_overview", "traces", list(_OVERVIEW))
    op.drop_column("traces", "cost_usd")  # SQLite 3.35+ drops a column in place
    op.drop_column("spans", "cost_usd")

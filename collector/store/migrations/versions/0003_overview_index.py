"""The index of an experiment's overview (collector/store/_overview.py): traces by
(experiment_id, timestamp_ms) with the columns an overview sums and ranks, so that its time
buckets are read from the index alone.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_traces_overview",
        "traces",
        ["experiment_id", "timestamp_ms", "status", "execution_time_ms", "input_tokens", "output_tokens", "trace_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_traces_overview", table_name="traces")

"""The server's metrics and log requests, kept whole: the `otlp_requests` table.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "otlp_requests",
        sa.Column("id", _Id, autoincrement=True),
        sa.Column("signal", sa.String(16), nullable=False),
        sa.Column("received_ms", sa.BigInteger, nullable=False),
        sa.Column("item_count", sa.Integer, nullable=False),
        sa.Column("experiment", sa.String(256)),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_otlp_requests"),
    )
    op.create_index("ix_otlp_requests_signal_received_ms", "otlp_requests", ["signal", "received_ms"])


def downgrade() -> None:
    op.drop_table("otlp_requests")

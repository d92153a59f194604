"""Revisions, oldest first: 0001_initial creates the trace schema, 0002_otlp_requests the table of
the server's metrics and log requests, 0003_overview_index the index of experiment overviews,
0004_append_order_indexes indexes that new spans append to, 0005_bucketed_attribute_indexes
attribute indexes by bucket of span ids before the value, 0006_no_span_attribute_span_index no
index of attribute rows by span on SQLite, 0007_cost the cost of each span and trace."""

# The newest revision, so that opening a store already at head needs no Alembic import (a third
# of a second): keep it equal to the last revision's id (a test checks).
HEAD = "0007"

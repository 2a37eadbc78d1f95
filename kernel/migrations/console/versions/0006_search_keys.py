"""Search keys of tickets (issue 27): order numbers, the phone suffix the customer gave and the customer id, found
through an index by the console's search. The console fills the keys of older tickets once at start.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_search_keys",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["console_tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ticket_id", "kind", "value"),
    )
    op.create_index("ix_console_search_keys_kind_value", "console_search_keys", ["kind", "value"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_console_search_keys_kind_value", table_name="console_search_keys")
    op.drop_table("console_search_keys")

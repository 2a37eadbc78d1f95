"""Agent presence, capacity and automatic assignment (issue 27): five columns of console_agents.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("console_agents") as batch:
        batch.add_column(sa.Column("presence", sa.String(length=16), server_default="offline", nullable=False))
        batch.add_column(sa.Column("presence_at", sa.Float(), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.Float(), nullable=True))
        batch.add_column(sa.Column("capacity", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("last_assigned_at", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("console_agents") as batch:
        batch.drop_column("last_assigned_at")
        batch.drop_column("capacity")
        batch.drop_column("heartbeat_at")
        batch.drop_column("presence_at")
        batch.drop_column("presence")

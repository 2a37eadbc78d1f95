"""Baseline of the WeChat outbox store: the table as ``bot.channels.wechat.outbox`` made it with ``create_all``
before this store was migrated (commit 606e5ad).

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

from typing import Any, Callable

import sqlalchemy as sa

from kernel.migrations.baseline import apply

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def schema(create_table: Callable[..., Any], create_index: Callable[..., Any]) -> None:
    create_table(
        "kefu_wechat_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("account", sa.String(length=128), nullable=False),
        sa.Column("recipient", sa.String(length=256), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("claimed_until", sa.Float(), nullable=True),
        sa.Column("claim_token", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.String(length=256), nullable=True),
        sa.Column("finished_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index("ix_kefu_wechat_outbox_due", "kefu_wechat_outbox", ["status", "next_attempt_at"], unique=False)


def upgrade() -> None:
    apply(schema, "wechat_outbox")


def downgrade() -> None:
    raise NotImplementedError("the baseline is not reverted: restore the backup taken before the upgrade")

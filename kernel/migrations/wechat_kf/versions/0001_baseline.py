"""Baseline of the 微信客服 state store: the tables as ``bot.channels.wechat_kf.state`` made them with
``create_all`` before this store was migrated (commit 606e5ad).

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
        "kefu_wxkf_cursor",
        sa.Column("corp_id", sa.String(length=64), nullable=False),
        sa.Column("open_kfid", sa.String(length=128), nullable=False),
        sa.Column("cursor", sa.String(length=256), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("corp_id", "open_kfid"),
    )
    create_table(
        "kefu_wxkf_messages",
        sa.Column("corp_id", sa.String(length=64), nullable=False),
        sa.Column("msgid", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("claimed_until", sa.Float(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("done_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("corp_id", "msgid"),
    )
    create_table(
        "kefu_wxkf_sessions",
        sa.Column("corp_id", sa.String(length=64), nullable=False),
        sa.Column("open_kfid", sa.String(length=128), nullable=False),
        sa.Column("external_userid", sa.String(length=128), nullable=False),
        sa.Column("servicer", sa.String(length=128), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("corp_id", "open_kfid", "external_userid"),
    )


def upgrade() -> None:
    apply(schema, "wechat_kf")


def downgrade() -> None:
    raise NotImplementedError("the baseline is not reverted: restore the backup taken before the upgrade")

"""Baseline of the knowledge store: the tables as release 0.x (commit b5e7bd9) made them with ``create_all``.

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
        "kb_unanswered",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("top_score", sa.Float(), nullable=False),
        sa.Column("candidates", sa.Text(), nullable=False),
        sa.Column("kb_version", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index("ix_kb_unanswered_conversation_id", "kb_unanswered", ["conversation_id"], unique=False)
    create_index("ix_kb_unanswered_created_at", "kb_unanswered", ["created_at"], unique=False)
    create_index("ix_kb_unanswered_outcome", "kb_unanswered", ["outcome"], unique=False)
    create_table(
        "kb_unanswered_reviewed",
        sa.Column("row_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("entry_id", sa.String(length=128), nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("row_id"),
    )
    create_table(
        "kb_learned_entries",
        sa.Column("entry_id", sa.String(length=128), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("questions", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("entry_id"),
    )
    create_table(
        "kb_learned_phrasings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("entry_id", sa.String(length=128), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("row_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index("ix_kb_learned_phrasings_entry_id", "kb_learned_phrasings", ["entry_id"], unique=False)


def upgrade() -> None:
    apply(schema, "knowledge")


def downgrade() -> None:
    raise NotImplementedError("the baseline is not reverted: restore the backup taken before the upgrade")

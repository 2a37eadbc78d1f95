"""Baseline of the verification store: the tables as release 0.x (commit b5e7bd9) made them with ``create_all``.

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
        "kefu_verify_attempts",
        sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), autoincrement=True, nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("attempt", sa.String(length=32), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index("ix_kefu_verify_attempts_at", "kefu_verify_attempts", ["at"], unique=False)
    create_index("ix_kefu_verify_attempts_subject_at", "kefu_verify_attempts", ["subject", "at"], unique=False)


def upgrade() -> None:
    apply(schema, "verification")


def downgrade() -> None:
    raise NotImplementedError("the baseline is not reverted: restore the backup taken before the upgrade")

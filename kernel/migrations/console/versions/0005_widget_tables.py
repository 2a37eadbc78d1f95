"""The web widget's tables (issue 27): attachments, contacts left off hours, what the shopper has seen, CSAT
comments.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_attachments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("mime", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("stored_name", sa.String(length=64), nullable=False),
        sa.Column("text", sa.String(length=255), nullable=False),
        sa.Column("event_key", sa.String(length=64), nullable=False),
        sa.Column("event_at", sa.Float(), nullable=False),
        sa.Column("delivered_at", sa.Float(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("conversation_id", "client_id", name="uq_console_attachment_client"),
    )
    op.create_index("ix_console_attachments_conversation_id", "console_attachments", ["conversation_id"], unique=False)
    op.create_index("ix_console_attachments_event_key", "console_attachments", ["event_key"], unique=False)
    op.create_index("ix_console_attachments_created_at", "console_attachments", ["created_at"], unique=False)
    op.create_table(
        "console_contacts",
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("wechat", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id"),
    )
    op.create_index("ix_console_contacts_ticket_id", "console_contacts", ["ticket_id"], unique=False)
    op.create_index("ix_console_contacts_updated_at", "console_contacts", ["updated_at"], unique=False)
    op.create_table(
        "console_widget_seen",
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("seen_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id"),
    )
    op.create_index("ix_console_widget_seen_updated_at", "console_widget_seen", ["updated_at"], unique=False)
    op.create_table(
        "console_csat_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_id"),
    )
    op.create_index("ix_console_csat_comments_conversation_id", "console_csat_comments", ["conversation_id"],
                    unique=False)
    op.create_index("ix_console_csat_comments_ticket_id", "console_csat_comments", ["ticket_id"], unique=False)
    op.create_index("ix_console_csat_comments_created_at", "console_csat_comments", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_console_csat_comments_created_at", table_name="console_csat_comments")
    op.drop_index("ix_console_csat_comments_ticket_id", table_name="console_csat_comments")
    op.drop_index("ix_console_csat_comments_conversation_id", table_name="console_csat_comments")
    op.drop_table("console_csat_comments")
    op.drop_index("ix_console_widget_seen_updated_at", table_name="console_widget_seen")
    op.drop_table("console_widget_seen")
    op.drop_index("ix_console_contacts_updated_at", table_name="console_contacts")
    op.drop_index("ix_console_contacts_ticket_id", table_name="console_contacts")
    op.drop_table("console_contacts")
    op.drop_index("ix_console_attachments_created_at", table_name="console_attachments")
    op.drop_index("ix_console_attachments_event_key", table_name="console_attachments")
    op.drop_index("ix_console_attachments_conversation_id", table_name="console_attachments")
    op.drop_table("console_attachments")

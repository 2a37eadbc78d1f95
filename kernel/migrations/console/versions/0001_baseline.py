"""Baseline of the console store: the tables as release 0.x (commit b5e7bd9) made them with ``create_all``.

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
        "console_agents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("teams", sa.String(length=255), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("last_seen_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    create_table(
        "console_conversation_days",
        sa.Column("sender_id", sa.String(length=255), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("user_messages", sa.Integer(), nullable=False),
        sa.Column("faq_answered", sa.Integer(), nullable=False),
        sa.Column("faq_clarify", sa.Integer(), nullable=False),
        sa.Column("faq_no_answer", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.Float(), nullable=False),
        sa.Column("last_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("sender_id", "day"),
    )
    create_table(
        "console_conversations",
        sa.Column("sender_id", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("verified_via", sa.String(length=16), nullable=True),
        sa.Column("verified_at", sa.Float(), nullable=True),
        sa.Column("user_messages", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.Float(), nullable=False),
        sa.Column("last_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("sender_id"),
    )
    create_index("ix_console_conversations_customer_id", "console_conversations", ["customer_id"], unique=False)
    create_index("ix_console_conversations_first_at", "console_conversations", ["first_at"], unique=False)
    create_index("ix_console_conversations_last_at", "console_conversations", ["last_at"], unique=False)
    create_table(
        "console_dead_letters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("sender_id", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index("ix_console_dead_letters_created_at", "console_dead_letters", ["created_at"], unique=False)
    create_index("ix_console_dead_letters_event_id", "console_dead_letters", ["event_id"], unique=False)
    create_table(
        "console_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_key", sa.String(length=128), nullable=False),
        sa.Column("sender_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.String(length=128), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_key"),
    )
    create_index("ix_console_feedback_created_at", "console_feedback", ["created_at"], unique=False)
    create_index("ix_console_feedback_entry_id", "console_feedback", ["entry_id"], unique=False)
    create_index("ix_console_feedback_kind", "console_feedback", ["kind"], unique=False)
    create_index("ix_console_feedback_sender_id", "console_feedback", ["sender_id"], unique=False)
    create_index("ix_console_feedback_ticket_id", "console_feedback", ["ticket_id"], unique=False)
    create_table(
        "console_lead_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("lead_id", sa.String(length=64), nullable=False),
        sa.Column("payload_json", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("locked_until", sa.Float(), nullable=True),
        sa.Column("locked_by", sa.String(length=64), nullable=True),
        sa.Column("delivered_at", sa.Float(), nullable=True),
        sa.Column("dead_at", sa.Float(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    create_index("ix_console_lead_outbox_lead_id", "console_lead_outbox", ["lead_id"], unique=False)
    create_index(
        "ix_console_lead_outbox_pending",
        "console_lead_outbox",
        ["delivered_at", "dead_at", "next_attempt_at"],
        unique=False,
    )
    create_table(
        "console_presales_days",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("checkouts", sa.Integer(), nullable=False),
        sa.Column("cancelled", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )
    create_table(
        "console_privacy_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_digest", sa.String(length=64), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("counts_json", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index("ix_console_privacy_audit_at", "console_privacy_audit", ["at"], unique=False)
    create_index("ix_console_privacy_audit_subject_digest", "console_privacy_audit", ["subject_digest"], unique=False)
    create_table(
        "console_privacy_locks",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=True),
        sa.Column("until", sa.Float(), nullable=False),
        sa.Column("last_day", sa.String(length=10), nullable=True),
        sa.Column("last_finished_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    create_table(
        "console_tail_cursor",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    create_table(
        "console_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["console_agents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index("ix_console_sessions_agent_id", "console_sessions", ["agent_id"], unique=False)
    create_table(
        "console_tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handoff_id", sa.String(length=64), nullable=False),
        sa.Column("sender_id", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("team", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("trigger", sa.String(length=128), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("customer_json", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("sentiment_json", sa.Text(), nullable=False),
        sa.Column("context_json", sa.Text(), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("assigned_at", sa.Float(), nullable=True),
        sa.Column("first_response_at", sa.Float(), nullable=True),
        sa.Column("closed_at", sa.Float(), nullable=True),
        sa.Column("resolution", sa.String(length=32), nullable=True),
        sa.Column("csat_rating", sa.Integer(), nullable=True),
        sa.Column("csat_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["console_agents.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("handoff_id"),
    )
    create_index("ix_console_tickets_created_at", "console_tickets", ["created_at"], unique=False)
    create_index("ix_console_tickets_sender_id", "console_tickets", ["sender_id"], unique=False)
    create_index("ix_console_tickets_state", "console_tickets", ["state"], unique=False)
    create_index("ix_console_tickets_team", "console_tickets", ["team"], unique=False)
    create_table(
        "console_followups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("done_at", sa.Float(), nullable=True),
        sa.Column("done_by", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["done_by"],
            ["console_agents.id"],
        ),
        sa.ForeignKeyConstraint(["ticket_id"], ["console_tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id"),
    )
    create_index("ix_console_followups_created_at", "console_followups", ["created_at"], unique=False)
    create_index("ix_console_followups_done_at", "console_followups", ["done_at"], unique=False)
    create_table(
        "console_leads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.String(length=64), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("sender_id", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("product_line", sa.String(length=64), nullable=True),
        sa.Column("region", sa.String(length=64), nullable=True),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("fields_json", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("contacted_at", sa.Float(), nullable=True),
        sa.Column("quoted_at", sa.Float(), nullable=True),
        sa.Column("closed_at", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["console_agents.id"],
        ),
        sa.ForeignKeyConstraint(["ticket_id"], ["console_tickets.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("lead_id"),
    )
    create_index("ix_console_leads_created_at", "console_leads", ["created_at"], unique=False)
    create_index("ix_console_leads_customer_id", "console_leads", ["customer_id"], unique=False)
    create_index("ix_console_leads_sender_id", "console_leads", ["sender_id"], unique=False)
    create_index("ix_console_leads_status", "console_leads", ["status"], unique=False)
    create_index("ix_console_leads_ticket_id", "console_leads", ["ticket_id"], unique=False)
    create_table(
        "console_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=16), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("data_json", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("event_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["console_agents.id"],
        ),
        sa.ForeignKeyConstraint(["ticket_id"], ["console_tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id", "event_key", name="uq_console_message_event"),
    )
    create_index("ix_console_messages_ticket_id", "console_messages", ["ticket_id"], unique=False)
    create_table(
        "console_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["console_agents.id"],
        ),
        sa.ForeignKeyConstraint(["ticket_id"], ["console_tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index("ix_console_notes_ticket_id", "console_notes", ["ticket_id"], unique=False)
    create_table(
        "console_read_marks",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("seen_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["console_agents.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["console_tickets.id"],
        ),
        sa.PrimaryKeyConstraint("agent_id", "ticket_id"),
    )
    create_table(
        "console_ticket_links",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("repeat_of", sa.Integer(), nullable=True),
        sa.Column("previous_agent_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["previous_agent_id"], ["console_agents.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["repeat_of"], ["console_tickets.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["ticket_id"], ["console_tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    create_index("ix_console_ticket_links_created_at", "console_ticket_links", ["created_at"], unique=False)
    create_index("ix_console_ticket_links_customer_id", "console_ticket_links", ["customer_id"], unique=False)
    create_index("ix_console_ticket_links_repeat_of", "console_ticket_links", ["repeat_of"], unique=False)
    create_table(
        "console_transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("from_state", sa.String(length=32), nullable=False),
        sa.Column("to_state", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("team", sa.String(length=32), nullable=False),
        sa.Column("detail_json", sa.Text(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["console_tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index("ix_console_transitions_ticket_id", "console_transitions", ["ticket_id"], unique=False)
    create_table(
        "console_lead_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_row_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("changes_json", sa.Text(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["lead_row_id"], ["console_leads.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index("ix_console_lead_changes_lead_row_id", "console_lead_changes", ["lead_row_id"], unique=False)


def upgrade() -> None:
    apply(schema, "console")


def downgrade() -> None:
    raise NotImplementedError("the baseline is not reverted: restore the backup taken before the upgrade")

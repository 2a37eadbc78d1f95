--
-- PostgreSQL database dump
--

-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: kefu_release_b5e7bd9; Type: SCHEMA; Schema: -; Owner: -
--

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: channel_identities; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE channel_identities (
    id integer NOT NULL,
    customer_id character varying(16) NOT NULL,
    channel character varying(16) NOT NULL,
    external_id character varying(128) NOT NULL
);

--
-- Name: channel_identities_id_seq; Type: SEQUENCE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE SEQUENCE channel_identities_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: channel_identities_id_seq; Type: SEQUENCE OWNED BY; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER SEQUENCE channel_identities_id_seq OWNED BY channel_identities.id;

--
-- Name: console_agents; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE console_agents (
    id integer NOT NULL,
    username character varying(64) NOT NULL,
    display_name character varying(64) NOT NULL,
    role character varying(16) NOT NULL,
    teams character varying(255) NOT NULL,
    password_hash character varying(255) NOT NULL,
    active boolean NOT NULL,
    created_at double precision NOT NULL,
    last_seen_at double precision
);

--
-- Name: console_agents_id_seq; Type: SEQUENCE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE SEQUENCE console_agents_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: console_agents_id_seq; Type: SEQUENCE OWNED BY; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER SEQUENCE console_agents_id_seq OWNED BY console_agents.id;

--
-- Name: console_conversation_days; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE console_conversation_days (
    sender_id character varying(255) NOT NULL,
    day character varying(10) NOT NULL,
    channel character varying(64) NOT NULL,
    user_messages integer NOT NULL,
    faq_answered integer NOT NULL,
    faq_clarify integer NOT NULL,
    faq_no_answer integer NOT NULL,
    first_at double precision NOT NULL,
    last_at double precision NOT NULL
);

--
-- Name: console_conversations; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE console_conversations (
    sender_id character varying(255) NOT NULL,
    channel character varying(64) NOT NULL,
    language character varying(16) NOT NULL,
    customer_id character varying(64),
    verified_via character varying(16),
    verified_at double precision,
    user_messages integer NOT NULL,
    first_at double precision NOT NULL,
    last_at double precision NOT NULL
);

--
-- Name: console_dead_letters; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE console_dead_letters (
    id integer NOT NULL,
    source character varying(64) NOT NULL,
    event_id bigint NOT NULL,
    sender_id text NOT NULL,
    raw text NOT NULL,
    error text NOT NULL,
    tries integer NOT NULL,
    created_at double precision NOT NULL
);

--
-- Name: console_dead_letters_id_seq; Type: SEQUENCE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE SEQUENCE console_dead_letters_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: console_dead_letters_id_seq; Type: SEQUENCE OWNED BY; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER SEQUENCE console_dead_letters_id_seq OWNED BY console_dead_letters.id;

--
-- Name: console_feedback; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE console_feedback (
    id integer NOT NULL,
    event_key character varying(128) NOT NULL,
    sender_id character varying(255) NOT NULL,
    kind character varying(16) NOT NULL,
    value integer NOT NULL,
    entry_id character varying(128),
    question text NOT NULL,
    ticket_id integer,
    channel character varying(64) NOT NULL,
    language character varying(16) NOT NULL,
    created_at double precision NOT NULL
);

--
-- Name: console_feedback_id_seq; Type: SEQUENCE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE SEQUENCE console_feedback_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: console_feedback_id_seq; Type: SEQUENCE OWNED BY; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER SEQUENCE console_feedback_id_seq OWNED BY console_feedback.id;

--
-- Name: console_followups; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE console_followups (
    id integer NOT NULL,
    ticket_id integer NOT NULL,
    reason character varying(32) NOT NULL,
    rating integer NOT NULL,
    created_at double precision NOT NULL,
    done_at double precision,
    done_by integer,
    note text NOT NULL
);

--
-- Name: console_followups_id_seq; Type: SEQUENCE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE SEQUENCE console_followups_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: console_followups_id_seq; Type: SEQUENCE OWNED BY; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER SEQUENCE console_followups_id_seq OWNED BY console_followups.id;

--
-- Name: console_lead_changes; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE console_lead_changes (
    id integer NOT NULL,
    lead_row_id integer NOT NULL,
    kind character varying(16) NOT NULL,
    actor character varying(128) NOT NULL,
    changes_json text NOT NULL,
    at double precision NOT NULL
);

--
-- Name: console_lead_changes_id_seq; Type: SEQUENCE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE SEQUENCE console_lead_changes_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: console_lead_changes_id_seq; Type: SEQUENCE OWNED BY; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER SEQUENCE console_lead_changes_id_seq OWNED BY console_lead_changes.id;

--
-- Name: console_lead_outbox; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE console_lead_outbox (
    id integer NOT NULL,
    event_id character varying(36) NOT NULL,
    event_type character varying(32) NOT NULL,
    lead_id character varying(64) NOT NULL,
    payload_json text NOT NULL,
    created_at double precision NOT NULL,
    attempts integer NOT NULL,
    next_attempt_at double precision NOT NULL,
    locked_until double precision,
    locked_by character varying(64),
    delivered_at double precision,
    dead_at double precision,
    last_error text
);

--
-- Name: console_lead_outbox_id_seq; Type: SEQUENCE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE SEQUENCE console_lead_outbox_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: console_lead_outbox_id_seq; Type: SEQUENCE OWNED BY; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER SEQUENCE console_lead_outbox_id_seq OWNED BY console_lead_outbox.id;

--
-- Name: console_leads; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE console_leads (
    id integer NOT NULL,
    lead_id character varying(64) NOT NULL,
    ticket_id integer,
    sender_id character varying(255) NOT NULL,
    channel character varying(64) NOT NULL,
    customer_id character varying(64),
    product_line character varying(64),
    region character varying(64),
    priority character varying(16) NOT NULL,
    fields_json text NOT NULL,
    status character varying(16) NOT NULL,
    owner_id integer,
    created_at double precision NOT NULL,
    contacted_at double precision,
    quoted_at double precision,
    closed_at double precision,
    updated_at double precision NOT NULL
);

--
-- Name: console_leads_id_seq; Type: SEQUENCE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE SEQUENCE console_leads_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: console_leads_id_seq; Type: SEQUENCE OWNED BY; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER SEQUENCE console_leads_id_seq OWNED BY console_leads.id;

--
-- Name: console_messages; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE console_messages (
    id integer NOT NULL,
    ticket_id integer NOT NULL,
    author character varying(16) NOT NULL,
    agent_id integer,
    text text NOT NULL,
    data_json text,
    source character varying(16) NOT NULL,
    event_key character varying(64) NOT NULL,
    created_at double precision NOT NULL
);

--
-- Name: console_messages_id_seq; Type: SEQUENCE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE SEQUENCE console_messages_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: console_messages_id_seq; Type: SEQUENCE OWNED BY; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER SEQUENCE console_messages_id_seq OWNED BY console_messages.id;

--
-- Name: console_notes; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE console_notes (
    id integer NOT NULL,
    ticket_id integer NOT NULL,
    agent_id integer NOT NULL,
    text text NOT NULL,
    created_at double precision NOT NULL
);

--
-- Name: console_notes_id_seq; Type: SEQUENCE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE SEQUENCE console_notes_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: console_notes_id_seq; Type: SEQUENCE OWNED BY; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER SEQUENCE console_notes_id_seq OWNED BY console_notes.id;

--
-- Name: console_presales_days; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE console_presales_days (
    day character varying(10) NOT NULL,
    checkouts integer NOT NULL,
    cancelled integer NOT NULL
);

--
-- Name: console_privacy_audit; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE console_privacy_audit (
    id integer NOT NULL,
    at double precision NOT NULL,
    actor character varying(128) NOT NULL,
    action character varying(16) NOT NULL,
    subject_kind character varying(16) NOT NULL,
    subject_digest character varying(64) NOT NULL,
    dry_run boolean NOT NULL,
    counts_json text NOT NULL,
    error text
);

--
-- Name: console_privacy_audit_id_seq; Type: SEQUENCE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE SEQUENCE console_privacy_audit_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: console_privacy_audit_id_seq; Type: SEQUENCE OWNED BY; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER SEQUENCE console_privacy_audit_id_seq OWNED BY console_privacy_audit.id;

--
-- Name: console_privacy_locks; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE console_privacy_locks (
    name character varying(64) NOT NULL,
    holder character varying(128),
    until double precision NOT NULL,
    last_day character varying(10),
    last_finished_at double precision
);

--
-- Name: console_read_marks; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE console_read_marks (
    agent_id integer NOT NULL,
    ticket_id integer NOT NULL,
    seen_at double precision NOT NULL
);

--
-- Name: console_sessions; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE console_sessions (
    id character varying(64) NOT NULL,
    agent_id integer NOT NULL,
    csrf_token character varying(64) NOT NULL,
    created_at double precision NOT NULL,
    expires_at double precision NOT NULL
);

--
-- Name: console_tail_cursor; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE console_tail_cursor (
    name character varying(64) NOT NULL,
    last_id bigint NOT NULL,
    updated_at double precision NOT NULL
);

--
-- Name: console_ticket_links; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE console_ticket_links (
    ticket_id integer NOT NULL,
    customer_id character varying(64),
    repeat_of integer,
    previous_agent_id integer,
    created_at double precision NOT NULL
);

--
-- Name: console_tickets; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE console_tickets (
    id integer NOT NULL,
    handoff_id character varying(64) NOT NULL,
    sender_id character varying(255) NOT NULL,
    channel character varying(64) NOT NULL,
    state character varying(32) NOT NULL,
    team character varying(32) NOT NULL,
    category character varying(32) NOT NULL,
    reason character varying(32) NOT NULL,
    trigger character varying(128) NOT NULL,
    priority integer NOT NULL,
    language character varying(16) NOT NULL,
    customer_json text NOT NULL,
    summary text NOT NULL,
    sentiment_json text NOT NULL,
    context_json text NOT NULL,
    assignee_id integer,
    created_at double precision NOT NULL,
    updated_at double precision NOT NULL,
    assigned_at double precision,
    first_response_at double precision,
    closed_at double precision,
    resolution character varying(32),
    csat_rating integer,
    csat_at double precision
);

--
-- Name: console_tickets_id_seq; Type: SEQUENCE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE SEQUENCE console_tickets_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: console_tickets_id_seq; Type: SEQUENCE OWNED BY; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER SEQUENCE console_tickets_id_seq OWNED BY console_tickets.id;

--
-- Name: console_transitions; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE console_transitions (
    id integer NOT NULL,
    ticket_id integer NOT NULL,
    from_state character varying(32) NOT NULL,
    to_state character varying(32) NOT NULL,
    action character varying(32) NOT NULL,
    actor character varying(128) NOT NULL,
    team character varying(32) NOT NULL,
    detail_json text NOT NULL,
    at double precision NOT NULL
);

--
-- Name: console_transitions_id_seq; Type: SEQUENCE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE SEQUENCE console_transitions_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: console_transitions_id_seq; Type: SEQUENCE OWNED BY; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER SEQUENCE console_transitions_id_seq OWNED BY console_transitions.id;

--
-- Name: coupons; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE coupons (
    code character varying(24) NOT NULL,
    customer_id character varying(16) NOT NULL,
    title_zh character varying(64) NOT NULL,
    title_en character varying(96) NOT NULL,
    scope character varying(16) NOT NULL,
    kind character varying(16) NOT NULL,
    value integer NOT NULL,
    min_spend_cents integer NOT NULL,
    valid_from date NOT NULL,
    valid_until date NOT NULL,
    used_at timestamp with time zone
);

--
-- Name: customers; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE customers (
    id character varying(16) NOT NULL,
    name character varying(64) NOT NULL,
    phone character varying(20) NOT NULL,
    tier character varying(16) NOT NULL
);

--
-- Name: kb_learned_entries; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE kb_learned_entries (
    entry_id character varying(128) NOT NULL,
    category character varying(64) NOT NULL,
    questions text NOT NULL,
    answer text NOT NULL,
    created_by character varying(64) NOT NULL,
    created_at timestamp with time zone NOT NULL
);

--
-- Name: kb_learned_phrasings; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE kb_learned_phrasings (
    id integer NOT NULL,
    entry_id character varying(128) NOT NULL,
    language character varying(16) NOT NULL,
    text text NOT NULL,
    row_id integer,
    created_by character varying(64) NOT NULL,
    created_at timestamp with time zone NOT NULL
);

--
-- Name: kb_learned_phrasings_id_seq; Type: SEQUENCE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE SEQUENCE kb_learned_phrasings_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: kb_learned_phrasings_id_seq; Type: SEQUENCE OWNED BY; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER SEQUENCE kb_learned_phrasings_id_seq OWNED BY kb_learned_phrasings.id;

--
-- Name: kb_unanswered; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE kb_unanswered (
    id integer NOT NULL,
    created_at timestamp with time zone NOT NULL,
    conversation_id character varying(128),
    text text NOT NULL,
    language character varying(16) NOT NULL,
    outcome character varying(16) NOT NULL,
    top_score double precision NOT NULL,
    candidates text NOT NULL,
    kb_version character varying(64)
);

--
-- Name: kb_unanswered_id_seq; Type: SEQUENCE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE SEQUENCE kb_unanswered_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: kb_unanswered_id_seq; Type: SEQUENCE OWNED BY; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER SEQUENCE kb_unanswered_id_seq OWNED BY kb_unanswered.id;

--
-- Name: kb_unanswered_reviewed; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE kb_unanswered_reviewed (
    row_id integer NOT NULL,
    action character varying(16) NOT NULL,
    entry_id character varying(128),
    reviewed_by character varying(64) NOT NULL,
    reviewed_at timestamp with time zone NOT NULL
);

--
-- Name: kb_unanswered_reviewed_row_id_seq; Type: SEQUENCE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE SEQUENCE kb_unanswered_reviewed_row_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: kb_unanswered_reviewed_row_id_seq; Type: SEQUENCE OWNED BY; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER SEQUENCE kb_unanswered_reviewed_row_id_seq OWNED BY kb_unanswered_reviewed.row_id;

--
-- Name: kefu_notice_optouts; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE kefu_notice_optouts (
    channel character varying(32) NOT NULL,
    sender_id character varying(256) NOT NULL,
    at timestamp with time zone NOT NULL
);

--
-- Name: kefu_notices; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE kefu_notices (
    id integer NOT NULL,
    key character varying(64) NOT NULL,
    kind character varying(16) NOT NULL,
    channel character varying(32) NOT NULL,
    sender_id character varying(256) NOT NULL,
    state character varying(16) NOT NULL,
    owner character varying(64),
    lease_until timestamp with time zone,
    next_try timestamp with time zone,
    attempts integer NOT NULL,
    created_at timestamp with time zone NOT NULL,
    sent_at timestamp with time zone,
    detail character varying(200)
);

--
-- Name: kefu_notices_id_seq; Type: SEQUENCE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE SEQUENCE kefu_notices_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: kefu_notices_id_seq; Type: SEQUENCE OWNED BY; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER SEQUENCE kefu_notices_id_seq OWNED BY kefu_notices.id;

--
-- Name: kefu_order_watches; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE kefu_order_watches (
    id integer NOT NULL,
    order_id character varying(32) NOT NULL,
    channel character varying(32) NOT NULL,
    sender_id character varying(256) NOT NULL,
    language character varying(8) NOT NULL,
    status character varying(24) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    until timestamp with time zone NOT NULL,
    active boolean NOT NULL
);

--
-- Name: kefu_order_watches_id_seq; Type: SEQUENCE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE SEQUENCE kefu_order_watches_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: kefu_order_watches_id_seq; Type: SEQUENCE OWNED BY; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER SEQUENCE kefu_order_watches_id_seq OWNED BY kefu_order_watches.id;

--
-- Name: kefu_verify_attempts; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE kefu_verify_attempts (
    id bigint NOT NULL,
    subject character varying(64) NOT NULL,
    attempt character varying(32) NOT NULL,
    at double precision NOT NULL
);

--
-- Name: kefu_verify_attempts_id_seq; Type: SEQUENCE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE SEQUENCE kefu_verify_attempts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: kefu_verify_attempts_id_seq; Type: SEQUENCE OWNED BY; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER SEQUENCE kefu_verify_attempts_id_seq OWNED BY kefu_verify_attempts.id;

--
-- Name: locations; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE locations (
    id character varying(16) NOT NULL,
    kind character varying(16) NOT NULL,
    city character varying(32) NOT NULL,
    name_zh character varying(64) NOT NULL,
    name_en character varying(96) NOT NULL,
    address_zh character varying(160) NOT NULL,
    address_en character varying(200) NOT NULL,
    hours character varying(32) NOT NULL
);

--
-- Name: order_events; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE order_events (
    id integer NOT NULL,
    order_id character varying(16) NOT NULL,
    seq integer NOT NULL,
    status character varying(24) NOT NULL,
    at timestamp with time zone NOT NULL,
    note_zh character varying(160) NOT NULL,
    note_en character varying(200) NOT NULL
);

--
-- Name: order_events_id_seq; Type: SEQUENCE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE SEQUENCE order_events_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: order_events_id_seq; Type: SEQUENCE OWNED BY; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER SEQUENCE order_events_id_seq OWNED BY order_events.id;

--
-- Name: order_lines; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE order_lines (
    id integer NOT NULL,
    order_id character varying(16) NOT NULL,
    line_no integer NOT NULL,
    sku_code character varying(32) NOT NULL,
    name_zh character varying(96) NOT NULL,
    name_en character varying(128) NOT NULL,
    variant_zh character varying(64) NOT NULL,
    variant_en character varying(64) NOT NULL,
    quantity integer NOT NULL,
    unit_price_cents integer NOT NULL
);

--
-- Name: order_lines_id_seq; Type: SEQUENCE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE SEQUENCE order_lines_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: order_lines_id_seq; Type: SEQUENCE OWNED BY; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER SEQUENCE order_lines_id_seq OWNED BY order_lines.id;

--
-- Name: orders; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE orders (
    order_id character varying(16) NOT NULL,
    customer_id character varying(16) NOT NULL,
    status character varying(24) NOT NULL,
    channel character varying(24) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    contact_name character varying(64) NOT NULL,
    contact_phone character varying(20) NOT NULL,
    shipping_address character varying(200) NOT NULL,
    subtotal_cents integer NOT NULL,
    shipping_fee_cents integer NOT NULL,
    discount_cents integer NOT NULL,
    total_cents integer NOT NULL,
    carrier character varying(32),
    tracking_number character varying(32),
    expected_delivery date,
    store_id character varying(16),
    payment_deadline timestamp with time zone,
    refund_cents integer
);

--
-- Name: product_aliases; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE product_aliases (
    id integer NOT NULL,
    product_id character varying(16) NOT NULL,
    alias character varying(96) NOT NULL
);

--
-- Name: product_aliases_id_seq; Type: SEQUENCE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE SEQUENCE product_aliases_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: product_aliases_id_seq; Type: SEQUENCE OWNED BY; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER SEQUENCE product_aliases_id_seq OWNED BY product_aliases.id;

--
-- Name: product_specs; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE product_specs (
    id integer NOT NULL,
    product_id character varying(16) NOT NULL,
    key character varying(32) NOT NULL,
    value_zh character varying(200) NOT NULL,
    value_en character varying(400) NOT NULL
);

--
-- Name: product_specs_id_seq; Type: SEQUENCE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE SEQUENCE product_specs_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: product_specs_id_seq; Type: SEQUENCE OWNED BY; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER SEQUENCE product_specs_id_seq OWNED BY product_specs.id;

--
-- Name: products; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE products (
    id character varying(16) NOT NULL,
    name_zh character varying(96) NOT NULL,
    name_en character varying(128) NOT NULL,
    category character varying(32) NOT NULL,
    brand character varying(48) NOT NULL
);

--
-- Name: restock_subscriptions; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE restock_subscriptions (
    id integer NOT NULL,
    sku_code character varying(32) NOT NULL,
    channel character varying(32) NOT NULL,
    sender_id character varying(256) NOT NULL,
    language character varying(8) NOT NULL,
    customer_id character varying(16),
    city character varying(32),
    created_at timestamp with time zone NOT NULL
);

--
-- Name: restock_subscriptions_id_seq; Type: SEQUENCE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE SEQUENCE restock_subscriptions_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: restock_subscriptions_id_seq; Type: SEQUENCE OWNED BY; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER SEQUENCE restock_subscriptions_id_seq OWNED BY restock_subscriptions.id;

--
-- Name: skus; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE skus (
    code character varying(32) NOT NULL,
    product_id character varying(16) NOT NULL,
    price_cents integer NOT NULL,
    color_zh character varying(16) NOT NULL,
    color_en character varying(24) NOT NULL,
    size character varying(8) NOT NULL,
    capacity character varying(16) NOT NULL
);

--
-- Name: stock_levels; Type: TABLE; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE TABLE stock_levels (
    sku_code character varying(32) NOT NULL,
    location_id character varying(16) NOT NULL,
    quantity integer NOT NULL
);

--
-- Name: channel_identities id; Type: DEFAULT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY channel_identities ALTER COLUMN id SET DEFAULT nextval('channel_identities_id_seq'::regclass);

--
-- Name: console_agents id; Type: DEFAULT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_agents ALTER COLUMN id SET DEFAULT nextval('console_agents_id_seq'::regclass);

--
-- Name: console_dead_letters id; Type: DEFAULT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_dead_letters ALTER COLUMN id SET DEFAULT nextval('console_dead_letters_id_seq'::regclass);

--
-- Name: console_feedback id; Type: DEFAULT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_feedback ALTER COLUMN id SET DEFAULT nextval('console_feedback_id_seq'::regclass);

--
-- Name: console_followups id; Type: DEFAULT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_followups ALTER COLUMN id SET DEFAULT nextval('console_followups_id_seq'::regclass);

--
-- Name: console_lead_changes id; Type: DEFAULT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_lead_changes ALTER COLUMN id SET DEFAULT nextval('console_lead_changes_id_seq'::regclass);

--
-- Name: console_lead_outbox id; Type: DEFAULT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_lead_outbox ALTER COLUMN id SET DEFAULT nextval('console_lead_outbox_id_seq'::regclass);

--
-- Name: console_leads id; Type: DEFAULT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_leads ALTER COLUMN id SET DEFAULT nextval('console_leads_id_seq'::regclass);

--
-- Name: console_messages id; Type: DEFAULT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_messages ALTER COLUMN id SET DEFAULT nextval('console_messages_id_seq'::regclass);

--
-- Name: console_notes id; Type: DEFAULT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_notes ALTER COLUMN id SET DEFAULT nextval('console_notes_id_seq'::regclass);

--
-- Name: console_privacy_audit id; Type: DEFAULT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_privacy_audit ALTER COLUMN id SET DEFAULT nextval('console_privacy_audit_id_seq'::regclass);

--
-- Name: console_tickets id; Type: DEFAULT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_tickets ALTER COLUMN id SET DEFAULT nextval('console_tickets_id_seq'::regclass);

--
-- Name: console_transitions id; Type: DEFAULT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_transitions ALTER COLUMN id SET DEFAULT nextval('console_transitions_id_seq'::regclass);

--
-- Name: kb_learned_phrasings id; Type: DEFAULT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY kb_learned_phrasings ALTER COLUMN id SET DEFAULT nextval('kb_learned_phrasings_id_seq'::regclass);

--
-- Name: kb_unanswered id; Type: DEFAULT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY kb_unanswered ALTER COLUMN id SET DEFAULT nextval('kb_unanswered_id_seq'::regclass);

--
-- Name: kb_unanswered_reviewed row_id; Type: DEFAULT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY kb_unanswered_reviewed ALTER COLUMN row_id SET DEFAULT nextval('kb_unanswered_reviewed_row_id_seq'::regclass);

--
-- Name: kefu_notices id; Type: DEFAULT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY kefu_notices ALTER COLUMN id SET DEFAULT nextval('kefu_notices_id_seq'::regclass);

--
-- Name: kefu_order_watches id; Type: DEFAULT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY kefu_order_watches ALTER COLUMN id SET DEFAULT nextval('kefu_order_watches_id_seq'::regclass);

--
-- Name: kefu_verify_attempts id; Type: DEFAULT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY kefu_verify_attempts ALTER COLUMN id SET DEFAULT nextval('kefu_verify_attempts_id_seq'::regclass);

--
-- Name: order_events id; Type: DEFAULT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY order_events ALTER COLUMN id SET DEFAULT nextval('order_events_id_seq'::regclass);

--
-- Name: order_lines id; Type: DEFAULT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY order_lines ALTER COLUMN id SET DEFAULT nextval('order_lines_id_seq'::regclass);

--
-- Name: product_aliases id; Type: DEFAULT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY product_aliases ALTER COLUMN id SET DEFAULT nextval('product_aliases_id_seq'::regclass);

--
-- Name: product_specs id; Type: DEFAULT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY product_specs ALTER COLUMN id SET DEFAULT nextval('product_specs_id_seq'::regclass);

--
-- Name: restock_subscriptions id; Type: DEFAULT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY restock_subscriptions ALTER COLUMN id SET DEFAULT nextval('restock_subscriptions_id_seq'::regclass);

--
-- Data for Name: channel_identities; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

INSERT INTO channel_identities VALUES (1, 'C0001', 'wechat', 'o-release-user');

--
-- Data for Name: console_agents; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

INSERT INTO console_agents VALUES (1, 'wang.fang', '王芳', 'agent', 'orders', 'scrypt$16384$8$1$7jCVE2kvJ1DQNCDMx77fZg==$Kk1dHX3nkIqgiJmNFb8BxvBzKCsbC/udxJ2UHsbmA74=', true, 1796620194.037362, NULL);

--
-- Data for Name: console_conversation_days; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

--
-- Data for Name: console_conversations; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

--
-- Data for Name: console_dead_letters; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

--
-- Data for Name: console_feedback; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

--
-- Data for Name: console_followups; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

--
-- Data for Name: console_lead_changes; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

--
-- Data for Name: console_lead_outbox; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

--
-- Data for Name: console_leads; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

INSERT INTO console_leads VALUES (1, 'L-release-1', 1, 'web:release-user', 'socketio', 'C0001', 'laptops', '上海', 'hot', '{"company": "示例科技", "quantity": 20}', 'new', 1, 1764547250, NULL, NULL, NULL, 1764547250);

--
-- Data for Name: console_messages; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

INSERT INTO console_messages VALUES (1, 1, 'customer', NULL, '我的订单什么时候发货？', NULL, 'live', 'k0', 1764547240);
INSERT INTO console_messages VALUES (2, 1, 'agent', 1, '您好，今天下午发出。', NULL, 'live', 'k1', 1764547241);

--
-- Data for Name: console_notes; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

--
-- Data for Name: console_presales_days; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

--
-- Data for Name: console_privacy_audit; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

--
-- Data for Name: console_privacy_locks; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

--
-- Data for Name: console_read_marks; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

--
-- Data for Name: console_sessions; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

--
-- Data for Name: console_tail_cursor; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

--
-- Data for Name: console_ticket_links; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

--
-- Data for Name: console_tickets; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

INSERT INTO console_tickets VALUES (1, 'h-release-1', 'web:release-user', 'socketio', 'assigned', 'orders', 'order', 'customer_request', '转人工', 1, 'zh-CN', '{"customer_id": "C0001"}', '催发货', '{}', '{}', 1, 1764547200, 1764547260, 1764547230, NULL, NULL, NULL, NULL, NULL);

--
-- Data for Name: console_transitions; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

INSERT INTO console_transitions VALUES (1, 1, 'queued', 'assigned', 'claim', 'agent:wang.fang', 'orders', '{}', 1764547230);

--
-- Data for Name: coupons; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

--
-- Data for Name: customers; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

INSERT INTO customers VALUES ('C0001', '李雷', '13800138000', 'gold');

--
-- Data for Name: kb_learned_entries; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

--
-- Data for Name: kb_learned_phrasings; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

--
-- Data for Name: kb_unanswered; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

INSERT INTO kb_unanswered VALUES (1, '2025-12-01 08:30:00+00', 'web:release-user', '你们支持以旧换新吗', 'zh-CN', 'no_answer', 0.41, '[{"id": "returns_policy", "score": 0.41}]', 'release');

--
-- Data for Name: kb_unanswered_reviewed; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

--
-- Data for Name: kefu_notice_optouts; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

INSERT INTO kefu_notice_optouts VALUES ('wechat', 'o-release', '2025-12-01 08:30:00+00');

--
-- Data for Name: kefu_notices; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

INSERT INTO kefu_notices VALUES (1, 'restock:1', 'restock', 'socketio', 'web:release-user', 'sent', 'release:1', NULL, NULL, 1, '2025-12-01 08:30:00+00', '2025-12-01 08:30:00+00', NULL);

--
-- Data for Name: kefu_order_watches; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

--
-- Data for Name: kefu_verify_attempts; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

INSERT INTO kefu_verify_attempts VALUES (1, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', '25fdee2daedf44e986d4460b61891bfe', 1764547200);

--
-- Data for Name: locations; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

INSERT INTO locations VALUES ('SH01', 'store', '上海', '上海南京路店', 'Shanghai Nanjing Rd', '南京东路 1 号', '1 East Nanjing Rd', '10:00-22:00');

--
-- Data for Name: order_events; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

INSERT INTO order_events VALUES (1, 'KF20251201001', 1, 'paid', '2025-12-01 08:30:00+00', '', '');
INSERT INTO order_events VALUES (2, 'KF20251201001', 2, 'shipped', '2025-12-01 08:30:00+00', '', '');

--
-- Data for Name: order_lines; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

INSERT INTO order_lines VALUES (1, 'KF20251201001', 1, 'P001-SLV-16G', '轻薄笔记本', 'Slim laptop', '银色 16G', 'silver 16G', 1, 599900);

--
-- Data for Name: orders; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

INSERT INTO orders VALUES ('KF20251201001', 'C0001', 'shipped', 'web', '2025-12-01 08:30:00+00', '李雷', '13800138000', '上海市黄浦区南京东路 1 号', 599900, 0, 10000, 589900, 'SF', 'SF1234567890', '2025-12-03', NULL, NULL, NULL);

--
-- Data for Name: product_aliases; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

INSERT INTO product_aliases VALUES (1, 'P001', '笔记本');

--
-- Data for Name: product_specs; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

INSERT INTO product_specs VALUES (1, 'P001', 'weight', '1.2 千克', '1.2 kg');

--
-- Data for Name: products; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

INSERT INTO products VALUES ('P001', '轻薄笔记本', 'Slim laptop', 'laptop', 'Kefu');

--
-- Data for Name: restock_subscriptions; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

--
-- Data for Name: skus; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

INSERT INTO skus VALUES ('P001-SLV-16G', 'P001', 599900, '银色', 'silver', '', '16G');

--
-- Data for Name: stock_levels; Type: TABLE DATA; Schema: kefu_release_b5e7bd9; Owner: -
--

INSERT INTO stock_levels VALUES ('P001-SLV-16G', 'SH01', 3);

--
-- Name: channel_identities_id_seq; Type: SEQUENCE SET; Schema: kefu_release_b5e7bd9; Owner: -
--

SELECT pg_catalog.setval('channel_identities_id_seq', 1, true);

--
-- Name: console_agents_id_seq; Type: SEQUENCE SET; Schema: kefu_release_b5e7bd9; Owner: -
--

SELECT pg_catalog.setval('console_agents_id_seq', 1, true);

--
-- Name: console_dead_letters_id_seq; Type: SEQUENCE SET; Schema: kefu_release_b5e7bd9; Owner: -
--

SELECT pg_catalog.setval('console_dead_letters_id_seq', 1, false);

--
-- Name: console_feedback_id_seq; Type: SEQUENCE SET; Schema: kefu_release_b5e7bd9; Owner: -
--

SELECT pg_catalog.setval('console_feedback_id_seq', 1, false);

--
-- Name: console_followups_id_seq; Type: SEQUENCE SET; Schema: kefu_release_b5e7bd9; Owner: -
--

SELECT pg_catalog.setval('console_followups_id_seq', 1, false);

--
-- Name: console_lead_changes_id_seq; Type: SEQUENCE SET; Schema: kefu_release_b5e7bd9; Owner: -
--

SELECT pg_catalog.setval('console_lead_changes_id_seq', 1, false);

--
-- Name: console_lead_outbox_id_seq; Type: SEQUENCE SET; Schema: kefu_release_b5e7bd9; Owner: -
--

SELECT pg_catalog.setval('console_lead_outbox_id_seq', 1, false);

--
-- Name: console_leads_id_seq; Type: SEQUENCE SET; Schema: kefu_release_b5e7bd9; Owner: -
--

SELECT pg_catalog.setval('console_leads_id_seq', 1, true);

--
-- Name: console_messages_id_seq; Type: SEQUENCE SET; Schema: kefu_release_b5e7bd9; Owner: -
--

SELECT pg_catalog.setval('console_messages_id_seq', 2, true);

--
-- Name: console_notes_id_seq; Type: SEQUENCE SET; Schema: kefu_release_b5e7bd9; Owner: -
--

SELECT pg_catalog.setval('console_notes_id_seq', 1, false);

--
-- Name: console_privacy_audit_id_seq; Type: SEQUENCE SET; Schema: kefu_release_b5e7bd9; Owner: -
--

SELECT pg_catalog.setval('console_privacy_audit_id_seq', 1, false);

--
-- Name: console_tickets_id_seq; Type: SEQUENCE SET; Schema: kefu_release_b5e7bd9; Owner: -
--

SELECT pg_catalog.setval('console_tickets_id_seq', 1, true);

--
-- Name: console_transitions_id_seq; Type: SEQUENCE SET; Schema: kefu_release_b5e7bd9; Owner: -
--

SELECT pg_catalog.setval('console_transitions_id_seq', 1, true);

--
-- Name: kb_learned_phrasings_id_seq; Type: SEQUENCE SET; Schema: kefu_release_b5e7bd9; Owner: -
--

SELECT pg_catalog.setval('kb_learned_phrasings_id_seq', 1, false);

--
-- Name: kb_unanswered_id_seq; Type: SEQUENCE SET; Schema: kefu_release_b5e7bd9; Owner: -
--

SELECT pg_catalog.setval('kb_unanswered_id_seq', 1, true);

--
-- Name: kb_unanswered_reviewed_row_id_seq; Type: SEQUENCE SET; Schema: kefu_release_b5e7bd9; Owner: -
--

SELECT pg_catalog.setval('kb_unanswered_reviewed_row_id_seq', 1, false);

--
-- Name: kefu_notices_id_seq; Type: SEQUENCE SET; Schema: kefu_release_b5e7bd9; Owner: -
--

SELECT pg_catalog.setval('kefu_notices_id_seq', 1, true);

--
-- Name: kefu_order_watches_id_seq; Type: SEQUENCE SET; Schema: kefu_release_b5e7bd9; Owner: -
--

SELECT pg_catalog.setval('kefu_order_watches_id_seq', 1, false);

--
-- Name: kefu_verify_attempts_id_seq; Type: SEQUENCE SET; Schema: kefu_release_b5e7bd9; Owner: -
--

SELECT pg_catalog.setval('kefu_verify_attempts_id_seq', 1, true);

--
-- Name: order_events_id_seq; Type: SEQUENCE SET; Schema: kefu_release_b5e7bd9; Owner: -
--

SELECT pg_catalog.setval('order_events_id_seq', 2, true);

--
-- Name: order_lines_id_seq; Type: SEQUENCE SET; Schema: kefu_release_b5e7bd9; Owner: -
--

SELECT pg_catalog.setval('order_lines_id_seq', 1, true);

--
-- Name: product_aliases_id_seq; Type: SEQUENCE SET; Schema: kefu_release_b5e7bd9; Owner: -
--

SELECT pg_catalog.setval('product_aliases_id_seq', 1, true);

--
-- Name: product_specs_id_seq; Type: SEQUENCE SET; Schema: kefu_release_b5e7bd9; Owner: -
--

SELECT pg_catalog.setval('product_specs_id_seq', 1, true);

--
-- Name: restock_subscriptions_id_seq; Type: SEQUENCE SET; Schema: kefu_release_b5e7bd9; Owner: -
--

SELECT pg_catalog.setval('restock_subscriptions_id_seq', 1, false);

--
-- Name: channel_identities channel_identities_channel_external_id_key; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY channel_identities
    ADD CONSTRAINT channel_identities_channel_external_id_key UNIQUE (channel, external_id);

--
-- Name: channel_identities channel_identities_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY channel_identities
    ADD CONSTRAINT channel_identities_pkey PRIMARY KEY (id);

--
-- Name: console_agents console_agents_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_agents
    ADD CONSTRAINT console_agents_pkey PRIMARY KEY (id);

--
-- Name: console_agents console_agents_username_key; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_agents
    ADD CONSTRAINT console_agents_username_key UNIQUE (username);

--
-- Name: console_conversation_days console_conversation_days_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_conversation_days
    ADD CONSTRAINT console_conversation_days_pkey PRIMARY KEY (sender_id, day);

--
-- Name: console_conversations console_conversations_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_conversations
    ADD CONSTRAINT console_conversations_pkey PRIMARY KEY (sender_id);

--
-- Name: console_dead_letters console_dead_letters_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_dead_letters
    ADD CONSTRAINT console_dead_letters_pkey PRIMARY KEY (id);

--
-- Name: console_feedback console_feedback_event_key_key; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_feedback
    ADD CONSTRAINT console_feedback_event_key_key UNIQUE (event_key);

--
-- Name: console_feedback console_feedback_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_feedback
    ADD CONSTRAINT console_feedback_pkey PRIMARY KEY (id);

--
-- Name: console_followups console_followups_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_followups
    ADD CONSTRAINT console_followups_pkey PRIMARY KEY (id);

--
-- Name: console_followups console_followups_ticket_id_key; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_followups
    ADD CONSTRAINT console_followups_ticket_id_key UNIQUE (ticket_id);

--
-- Name: console_lead_changes console_lead_changes_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_lead_changes
    ADD CONSTRAINT console_lead_changes_pkey PRIMARY KEY (id);

--
-- Name: console_lead_outbox console_lead_outbox_event_id_key; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_lead_outbox
    ADD CONSTRAINT console_lead_outbox_event_id_key UNIQUE (event_id);

--
-- Name: console_lead_outbox console_lead_outbox_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_lead_outbox
    ADD CONSTRAINT console_lead_outbox_pkey PRIMARY KEY (id);

--
-- Name: console_leads console_leads_lead_id_key; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_leads
    ADD CONSTRAINT console_leads_lead_id_key UNIQUE (lead_id);

--
-- Name: console_leads console_leads_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_leads
    ADD CONSTRAINT console_leads_pkey PRIMARY KEY (id);

--
-- Name: console_messages console_messages_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_messages
    ADD CONSTRAINT console_messages_pkey PRIMARY KEY (id);

--
-- Name: console_notes console_notes_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_notes
    ADD CONSTRAINT console_notes_pkey PRIMARY KEY (id);

--
-- Name: console_presales_days console_presales_days_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_presales_days
    ADD CONSTRAINT console_presales_days_pkey PRIMARY KEY (day);

--
-- Name: console_privacy_audit console_privacy_audit_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_privacy_audit
    ADD CONSTRAINT console_privacy_audit_pkey PRIMARY KEY (id);

--
-- Name: console_privacy_locks console_privacy_locks_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_privacy_locks
    ADD CONSTRAINT console_privacy_locks_pkey PRIMARY KEY (name);

--
-- Name: console_read_marks console_read_marks_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_read_marks
    ADD CONSTRAINT console_read_marks_pkey PRIMARY KEY (agent_id, ticket_id);

--
-- Name: console_sessions console_sessions_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_sessions
    ADD CONSTRAINT console_sessions_pkey PRIMARY KEY (id);

--
-- Name: console_tail_cursor console_tail_cursor_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_tail_cursor
    ADD CONSTRAINT console_tail_cursor_pkey PRIMARY KEY (name);

--
-- Name: console_ticket_links console_ticket_links_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_ticket_links
    ADD CONSTRAINT console_ticket_links_pkey PRIMARY KEY (ticket_id);

--
-- Name: console_tickets console_tickets_handoff_id_key; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_tickets
    ADD CONSTRAINT console_tickets_handoff_id_key UNIQUE (handoff_id);

--
-- Name: console_tickets console_tickets_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_tickets
    ADD CONSTRAINT console_tickets_pkey PRIMARY KEY (id);

--
-- Name: console_transitions console_transitions_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_transitions
    ADD CONSTRAINT console_transitions_pkey PRIMARY KEY (id);

--
-- Name: coupons coupons_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY coupons
    ADD CONSTRAINT coupons_pkey PRIMARY KEY (code);

--
-- Name: customers customers_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY customers
    ADD CONSTRAINT customers_pkey PRIMARY KEY (id);

--
-- Name: kb_learned_entries kb_learned_entries_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY kb_learned_entries
    ADD CONSTRAINT kb_learned_entries_pkey PRIMARY KEY (entry_id);

--
-- Name: kb_learned_phrasings kb_learned_phrasings_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY kb_learned_phrasings
    ADD CONSTRAINT kb_learned_phrasings_pkey PRIMARY KEY (id);

--
-- Name: kb_unanswered kb_unanswered_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY kb_unanswered
    ADD CONSTRAINT kb_unanswered_pkey PRIMARY KEY (id);

--
-- Name: kb_unanswered_reviewed kb_unanswered_reviewed_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY kb_unanswered_reviewed
    ADD CONSTRAINT kb_unanswered_reviewed_pkey PRIMARY KEY (row_id);

--
-- Name: kefu_notice_optouts kefu_notice_optouts_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY kefu_notice_optouts
    ADD CONSTRAINT kefu_notice_optouts_pkey PRIMARY KEY (channel, sender_id);

--
-- Name: kefu_notices kefu_notices_key_key; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY kefu_notices
    ADD CONSTRAINT kefu_notices_key_key UNIQUE (key);

--
-- Name: kefu_notices kefu_notices_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY kefu_notices
    ADD CONSTRAINT kefu_notices_pkey PRIMARY KEY (id);

--
-- Name: kefu_order_watches kefu_order_watches_order_id_channel_sender_id_key; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY kefu_order_watches
    ADD CONSTRAINT kefu_order_watches_order_id_channel_sender_id_key UNIQUE (order_id, channel, sender_id);

--
-- Name: kefu_order_watches kefu_order_watches_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY kefu_order_watches
    ADD CONSTRAINT kefu_order_watches_pkey PRIMARY KEY (id);

--
-- Name: kefu_verify_attempts kefu_verify_attempts_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY kefu_verify_attempts
    ADD CONSTRAINT kefu_verify_attempts_pkey PRIMARY KEY (id);

--
-- Name: locations locations_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY locations
    ADD CONSTRAINT locations_pkey PRIMARY KEY (id);

--
-- Name: order_events order_events_order_id_seq_key; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY order_events
    ADD CONSTRAINT order_events_order_id_seq_key UNIQUE (order_id, seq);

--
-- Name: order_events order_events_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY order_events
    ADD CONSTRAINT order_events_pkey PRIMARY KEY (id);

--
-- Name: order_lines order_lines_order_id_line_no_key; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY order_lines
    ADD CONSTRAINT order_lines_order_id_line_no_key UNIQUE (order_id, line_no);

--
-- Name: order_lines order_lines_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY order_lines
    ADD CONSTRAINT order_lines_pkey PRIMARY KEY (id);

--
-- Name: orders orders_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY orders
    ADD CONSTRAINT orders_pkey PRIMARY KEY (order_id);

--
-- Name: product_aliases product_aliases_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY product_aliases
    ADD CONSTRAINT product_aliases_pkey PRIMARY KEY (id);

--
-- Name: product_specs product_specs_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY product_specs
    ADD CONSTRAINT product_specs_pkey PRIMARY KEY (id);

--
-- Name: product_specs product_specs_product_id_key_key; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY product_specs
    ADD CONSTRAINT product_specs_product_id_key_key UNIQUE (product_id, key);

--
-- Name: products products_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY products
    ADD CONSTRAINT products_pkey PRIMARY KEY (id);

--
-- Name: restock_subscriptions restock_subscriptions_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY restock_subscriptions
    ADD CONSTRAINT restock_subscriptions_pkey PRIMARY KEY (id);

--
-- Name: restock_subscriptions restock_subscriptions_sku_code_channel_sender_id_key; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY restock_subscriptions
    ADD CONSTRAINT restock_subscriptions_sku_code_channel_sender_id_key UNIQUE (sku_code, channel, sender_id);

--
-- Name: skus skus_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY skus
    ADD CONSTRAINT skus_pkey PRIMARY KEY (code);

--
-- Name: stock_levels stock_levels_pkey; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY stock_levels
    ADD CONSTRAINT stock_levels_pkey PRIMARY KEY (sku_code, location_id);

--
-- Name: console_messages uq_console_message_event; Type: CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_messages
    ADD CONSTRAINT uq_console_message_event UNIQUE (ticket_id, event_key);

--
-- Name: ix_channel_identities_customer_id; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_channel_identities_customer_id ON channel_identities USING btree (customer_id);

--
-- Name: ix_console_conversations_customer_id; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_console_conversations_customer_id ON console_conversations USING btree (customer_id);

--
-- Name: ix_console_conversations_first_at; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_console_conversations_first_at ON console_conversations USING btree (first_at);

--
-- Name: ix_console_conversations_last_at; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_console_conversations_last_at ON console_conversations USING btree (last_at);

--
-- Name: ix_console_dead_letters_created_at; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_console_dead_letters_created_at ON console_dead_letters USING btree (created_at);

--
-- Name: ix_console_dead_letters_event_id; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_console_dead_letters_event_id ON console_dead_letters USING btree (event_id);

--
-- Name: ix_console_feedback_created_at; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_console_feedback_created_at ON console_feedback USING btree (created_at);

--
-- Name: ix_console_feedback_entry_id; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_console_feedback_entry_id ON console_feedback USING btree (entry_id);

--
-- Name: ix_console_feedback_kind; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_console_feedback_kind ON console_feedback USING btree (kind);

--
-- Name: ix_console_feedback_sender_id; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_console_feedback_sender_id ON console_feedback USING btree (sender_id);

--
-- Name: ix_console_feedback_ticket_id; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_console_feedback_ticket_id ON console_feedback USING btree (ticket_id);

--
-- Name: ix_console_followups_created_at; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_console_followups_created_at ON console_followups USING btree (created_at);

--
-- Name: ix_console_followups_done_at; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_console_followups_done_at ON console_followups USING btree (done_at);

--
-- Name: ix_console_lead_changes_lead_row_id; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_console_lead_changes_lead_row_id ON console_lead_changes USING btree (lead_row_id);

--
-- Name: ix_console_lead_outbox_lead_id; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_console_lead_outbox_lead_id ON console_lead_outbox USING btree (lead_id);

--
-- Name: ix_console_lead_outbox_pending; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_console_lead_outbox_pending ON console_lead_outbox USING btree (delivered_at, dead_at, next_attempt_at);

--
-- Name: ix_console_leads_created_at; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_console_leads_created_at ON console_leads USING btree (created_at);

--
-- Name: ix_console_leads_customer_id; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_console_leads_customer_id ON console_leads USING btree (customer_id);

--
-- Name: ix_console_leads_sender_id; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_console_leads_sender_id ON console_leads USING btree (sender_id);

--
-- Name: ix_console_leads_status; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_console_leads_status ON console_leads USING btree (status);

--
-- Name: ix_console_leads_ticket_id; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_console_leads_ticket_id ON console_leads USING btree (ticket_id);

--
-- Name: ix_console_messages_ticket_id; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_console_messages_ticket_id ON console_messages USING btree (ticket_id);

--
-- Name: ix_console_notes_ticket_id; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_console_notes_ticket_id ON console_notes USING btree (ticket_id);

--
-- Name: ix_console_privacy_audit_at; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_console_privacy_audit_at ON console_privacy_audit USING btree (at);

--
-- Name: ix_console_privacy_audit_subject_digest; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_console_privacy_audit_subject_digest ON console_privacy_audit USING btree (subject_digest);

--
-- Name: ix_console_sessions_agent_id; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_console_sessions_agent_id ON console_sessions USING btree (agent_id);

--
-- Name: ix_console_ticket_links_created_at; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_console_ticket_links_created_at ON console_ticket_links USING btree (created_at);

--
-- Name: ix_console_ticket_links_customer_id; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_console_ticket_links_customer_id ON console_ticket_links USING btree (customer_id);

--
-- Name: ix_console_ticket_links_repeat_of; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_console_ticket_links_repeat_of ON console_ticket_links USING btree (repeat_of);

--
-- Name: ix_console_tickets_created_at; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_console_tickets_created_at ON console_tickets USING btree (created_at);

--
-- Name: ix_console_tickets_sender_id; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_console_tickets_sender_id ON console_tickets USING btree (sender_id);

--
-- Name: ix_console_tickets_state; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_console_tickets_state ON console_tickets USING btree (state);

--
-- Name: ix_console_tickets_team; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_console_tickets_team ON console_tickets USING btree (team);

--
-- Name: ix_console_transitions_ticket_id; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_console_transitions_ticket_id ON console_transitions USING btree (ticket_id);

--
-- Name: ix_coupons_customer_id; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_coupons_customer_id ON coupons USING btree (customer_id);

--
-- Name: ix_customers_phone; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_customers_phone ON customers USING btree (phone);

--
-- Name: ix_kb_learned_phrasings_entry_id; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_kb_learned_phrasings_entry_id ON kb_learned_phrasings USING btree (entry_id);

--
-- Name: ix_kb_unanswered_conversation_id; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_kb_unanswered_conversation_id ON kb_unanswered USING btree (conversation_id);

--
-- Name: ix_kb_unanswered_created_at; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_kb_unanswered_created_at ON kb_unanswered USING btree (created_at);

--
-- Name: ix_kb_unanswered_outcome; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_kb_unanswered_outcome ON kb_unanswered USING btree (outcome);

--
-- Name: ix_kefu_verify_attempts_at; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_kefu_verify_attempts_at ON kefu_verify_attempts USING btree (at);

--
-- Name: ix_kefu_verify_attempts_subject_at; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_kefu_verify_attempts_subject_at ON kefu_verify_attempts USING btree (subject, at);

--
-- Name: ix_locations_city; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_locations_city ON locations USING btree (city);

--
-- Name: ix_order_events_order_id; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_order_events_order_id ON order_events USING btree (order_id);

--
-- Name: ix_order_lines_order_id; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_order_lines_order_id ON order_lines USING btree (order_id);

--
-- Name: ix_orders_created_at; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_orders_created_at ON orders USING btree (created_at);

--
-- Name: ix_orders_customer_id; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_orders_customer_id ON orders USING btree (customer_id);

--
-- Name: ix_orders_status; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_orders_status ON orders USING btree (status);

--
-- Name: ix_product_aliases_product_id; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_product_aliases_product_id ON product_aliases USING btree (product_id);

--
-- Name: ix_product_specs_product_id; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_product_specs_product_id ON product_specs USING btree (product_id);

--
-- Name: ix_restock_subscriptions_sku_code; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_restock_subscriptions_sku_code ON restock_subscriptions USING btree (sku_code);

--
-- Name: ix_skus_product_id; Type: INDEX; Schema: kefu_release_b5e7bd9; Owner: -
--

CREATE INDEX ix_skus_product_id ON skus USING btree (product_id);

--
-- Name: channel_identities channel_identities_customer_id_fkey; Type: FK CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY channel_identities
    ADD CONSTRAINT channel_identities_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers(id);

--
-- Name: console_followups console_followups_done_by_fkey; Type: FK CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_followups
    ADD CONSTRAINT console_followups_done_by_fkey FOREIGN KEY (done_by) REFERENCES console_agents(id);

--
-- Name: console_followups console_followups_ticket_id_fkey; Type: FK CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_followups
    ADD CONSTRAINT console_followups_ticket_id_fkey FOREIGN KEY (ticket_id) REFERENCES console_tickets(id) ON DELETE CASCADE;

--
-- Name: console_lead_changes console_lead_changes_lead_row_id_fkey; Type: FK CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_lead_changes
    ADD CONSTRAINT console_lead_changes_lead_row_id_fkey FOREIGN KEY (lead_row_id) REFERENCES console_leads(id) ON DELETE CASCADE;

--
-- Name: console_leads console_leads_owner_id_fkey; Type: FK CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_leads
    ADD CONSTRAINT console_leads_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES console_agents(id);

--
-- Name: console_leads console_leads_ticket_id_fkey; Type: FK CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_leads
    ADD CONSTRAINT console_leads_ticket_id_fkey FOREIGN KEY (ticket_id) REFERENCES console_tickets(id) ON DELETE SET NULL;

--
-- Name: console_messages console_messages_agent_id_fkey; Type: FK CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_messages
    ADD CONSTRAINT console_messages_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES console_agents(id);

--
-- Name: console_messages console_messages_ticket_id_fkey; Type: FK CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_messages
    ADD CONSTRAINT console_messages_ticket_id_fkey FOREIGN KEY (ticket_id) REFERENCES console_tickets(id) ON DELETE CASCADE;

--
-- Name: console_notes console_notes_agent_id_fkey; Type: FK CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_notes
    ADD CONSTRAINT console_notes_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES console_agents(id);

--
-- Name: console_notes console_notes_ticket_id_fkey; Type: FK CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_notes
    ADD CONSTRAINT console_notes_ticket_id_fkey FOREIGN KEY (ticket_id) REFERENCES console_tickets(id) ON DELETE CASCADE;

--
-- Name: console_read_marks console_read_marks_agent_id_fkey; Type: FK CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_read_marks
    ADD CONSTRAINT console_read_marks_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES console_agents(id);

--
-- Name: console_read_marks console_read_marks_ticket_id_fkey; Type: FK CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_read_marks
    ADD CONSTRAINT console_read_marks_ticket_id_fkey FOREIGN KEY (ticket_id) REFERENCES console_tickets(id);

--
-- Name: console_sessions console_sessions_agent_id_fkey; Type: FK CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_sessions
    ADD CONSTRAINT console_sessions_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES console_agents(id) ON DELETE CASCADE;

--
-- Name: console_ticket_links console_ticket_links_previous_agent_id_fkey; Type: FK CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_ticket_links
    ADD CONSTRAINT console_ticket_links_previous_agent_id_fkey FOREIGN KEY (previous_agent_id) REFERENCES console_agents(id) ON DELETE SET NULL;

--
-- Name: console_ticket_links console_ticket_links_repeat_of_fkey; Type: FK CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_ticket_links
    ADD CONSTRAINT console_ticket_links_repeat_of_fkey FOREIGN KEY (repeat_of) REFERENCES console_tickets(id) ON DELETE SET NULL;

--
-- Name: console_ticket_links console_ticket_links_ticket_id_fkey; Type: FK CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_ticket_links
    ADD CONSTRAINT console_ticket_links_ticket_id_fkey FOREIGN KEY (ticket_id) REFERENCES console_tickets(id) ON DELETE CASCADE;

--
-- Name: console_tickets console_tickets_assignee_id_fkey; Type: FK CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_tickets
    ADD CONSTRAINT console_tickets_assignee_id_fkey FOREIGN KEY (assignee_id) REFERENCES console_agents(id);

--
-- Name: console_transitions console_transitions_ticket_id_fkey; Type: FK CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY console_transitions
    ADD CONSTRAINT console_transitions_ticket_id_fkey FOREIGN KEY (ticket_id) REFERENCES console_tickets(id) ON DELETE CASCADE;

--
-- Name: coupons coupons_customer_id_fkey; Type: FK CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY coupons
    ADD CONSTRAINT coupons_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers(id);

--
-- Name: order_events order_events_order_id_fkey; Type: FK CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY order_events
    ADD CONSTRAINT order_events_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders(order_id);

--
-- Name: order_lines order_lines_order_id_fkey; Type: FK CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY order_lines
    ADD CONSTRAINT order_lines_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders(order_id);

--
-- Name: order_lines order_lines_sku_code_fkey; Type: FK CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY order_lines
    ADD CONSTRAINT order_lines_sku_code_fkey FOREIGN KEY (sku_code) REFERENCES skus(code);

--
-- Name: orders orders_customer_id_fkey; Type: FK CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY orders
    ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers(id);

--
-- Name: orders orders_store_id_fkey; Type: FK CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY orders
    ADD CONSTRAINT orders_store_id_fkey FOREIGN KEY (store_id) REFERENCES locations(id);

--
-- Name: product_aliases product_aliases_product_id_fkey; Type: FK CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY product_aliases
    ADD CONSTRAINT product_aliases_product_id_fkey FOREIGN KEY (product_id) REFERENCES products(id);

--
-- Name: product_specs product_specs_product_id_fkey; Type: FK CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY product_specs
    ADD CONSTRAINT product_specs_product_id_fkey FOREIGN KEY (product_id) REFERENCES products(id);

--
-- Name: restock_subscriptions restock_subscriptions_customer_id_fkey; Type: FK CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY restock_subscriptions
    ADD CONSTRAINT restock_subscriptions_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers(id);

--
-- Name: restock_subscriptions restock_subscriptions_sku_code_fkey; Type: FK CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY restock_subscriptions
    ADD CONSTRAINT restock_subscriptions_sku_code_fkey FOREIGN KEY (sku_code) REFERENCES skus(code);

--
-- Name: skus skus_product_id_fkey; Type: FK CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY skus
    ADD CONSTRAINT skus_product_id_fkey FOREIGN KEY (product_id) REFERENCES products(id);

--
-- Name: stock_levels stock_levels_location_id_fkey; Type: FK CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY stock_levels
    ADD CONSTRAINT stock_levels_location_id_fkey FOREIGN KEY (location_id) REFERENCES locations(id);

--
-- Name: stock_levels stock_levels_sku_code_fkey; Type: FK CONSTRAINT; Schema: kefu_release_b5e7bd9; Owner: -
--

ALTER TABLE ONLY stock_levels
    ADD CONSTRAINT stock_levels_sku_code_fkey FOREIGN KEY (sku_code) REFERENCES skus(code);

--
-- PostgreSQL database dump complete
--



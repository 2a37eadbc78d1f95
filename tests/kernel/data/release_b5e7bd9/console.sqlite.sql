BEGIN TRANSACTION;
CREATE TABLE console_agents (
	id INTEGER NOT NULL, 
	username VARCHAR(64) NOT NULL, 
	display_name VARCHAR(64) NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	teams VARCHAR(255) NOT NULL, 
	password_hash VARCHAR(255) NOT NULL, 
	active BOOLEAN NOT NULL, 
	created_at FLOAT NOT NULL, 
	last_seen_at FLOAT, 
	PRIMARY KEY (id), 
	UNIQUE (username)
);
INSERT INTO "console_agents" VALUES(1,'wang.fang','王芳','agent','orders','scrypt$16384$8$1$j7QSkjPtjkZ9Zy/85Ifbaw==$FWRxJ920knkaUpBgMIjRqqtxX5nX1nM5E+2LeEzXmQM=',1,1.79662019049799203873e+09,NULL);
CREATE TABLE console_conversation_days (
	sender_id VARCHAR(255) NOT NULL, 
	day VARCHAR(10) NOT NULL, 
	channel VARCHAR(64) NOT NULL, 
	user_messages INTEGER NOT NULL, 
	faq_answered INTEGER NOT NULL, 
	faq_clarify INTEGER NOT NULL, 
	faq_no_answer INTEGER NOT NULL, 
	first_at FLOAT NOT NULL, 
	last_at FLOAT NOT NULL, 
	PRIMARY KEY (sender_id, day)
);
CREATE TABLE console_conversations (
	sender_id VARCHAR(255) NOT NULL, 
	channel VARCHAR(64) NOT NULL, 
	language VARCHAR(16) NOT NULL, 
	customer_id VARCHAR(64), 
	verified_via VARCHAR(16), 
	verified_at FLOAT, 
	user_messages INTEGER NOT NULL, 
	first_at FLOAT NOT NULL, 
	last_at FLOAT NOT NULL, 
	PRIMARY KEY (sender_id)
);
CREATE TABLE console_dead_letters (
	id INTEGER NOT NULL, 
	source VARCHAR(64) NOT NULL, 
	event_id BIGINT NOT NULL, 
	sender_id TEXT NOT NULL, 
	raw TEXT NOT NULL, 
	error TEXT NOT NULL, 
	tries INTEGER NOT NULL, 
	created_at FLOAT NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE console_feedback (
	id INTEGER NOT NULL, 
	event_key VARCHAR(128) NOT NULL, 
	sender_id VARCHAR(255) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	value INTEGER NOT NULL, 
	entry_id VARCHAR(128), 
	question TEXT NOT NULL, 
	ticket_id INTEGER, 
	channel VARCHAR(64) NOT NULL, 
	language VARCHAR(16) NOT NULL, 
	created_at FLOAT NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (event_key)
);
CREATE TABLE console_followups (
	id INTEGER NOT NULL, 
	ticket_id INTEGER NOT NULL, 
	reason VARCHAR(32) NOT NULL, 
	rating INTEGER NOT NULL, 
	created_at FLOAT NOT NULL, 
	done_at FLOAT, 
	done_by INTEGER, 
	note TEXT NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (ticket_id), 
	FOREIGN KEY(ticket_id) REFERENCES console_tickets (id) ON DELETE CASCADE, 
	FOREIGN KEY(done_by) REFERENCES console_agents (id)
);
CREATE TABLE console_lead_changes (
	id INTEGER NOT NULL, 
	lead_row_id INTEGER NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	actor VARCHAR(128) NOT NULL, 
	changes_json TEXT NOT NULL, 
	at FLOAT NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(lead_row_id) REFERENCES console_leads (id) ON DELETE CASCADE
);
CREATE TABLE console_lead_outbox (
	id INTEGER NOT NULL, 
	event_id VARCHAR(36) NOT NULL, 
	event_type VARCHAR(32) NOT NULL, 
	lead_id VARCHAR(64) NOT NULL, 
	payload_json TEXT NOT NULL, 
	created_at FLOAT NOT NULL, 
	attempts INTEGER NOT NULL, 
	next_attempt_at FLOAT NOT NULL, 
	locked_until FLOAT, 
	locked_by VARCHAR(64), 
	delivered_at FLOAT, 
	dead_at FLOAT, 
	last_error TEXT, 
	PRIMARY KEY (id), 
	UNIQUE (event_id)
);
CREATE TABLE console_leads (
	id INTEGER NOT NULL, 
	lead_id VARCHAR(64) NOT NULL, 
	ticket_id INTEGER, 
	sender_id VARCHAR(255) NOT NULL, 
	channel VARCHAR(64) NOT NULL, 
	customer_id VARCHAR(64), 
	product_line VARCHAR(64), 
	region VARCHAR(64), 
	priority VARCHAR(16) NOT NULL, 
	fields_json TEXT NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	owner_id INTEGER, 
	created_at FLOAT NOT NULL, 
	contacted_at FLOAT, 
	quoted_at FLOAT, 
	closed_at FLOAT, 
	updated_at FLOAT NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (lead_id), 
	FOREIGN KEY(ticket_id) REFERENCES console_tickets (id) ON DELETE SET NULL, 
	FOREIGN KEY(owner_id) REFERENCES console_agents (id)
);
INSERT INTO "console_leads" VALUES(1,'L-release-1',1,'web:release-user','socketio','C0001','laptops','上海','hot','{"company": "示例科技", "quantity": 20}','new',1,1764547250.0,NULL,NULL,NULL,1764547250.0);
CREATE TABLE console_messages (
	id INTEGER NOT NULL, 
	ticket_id INTEGER NOT NULL, 
	author VARCHAR(16) NOT NULL, 
	agent_id INTEGER, 
	text TEXT NOT NULL, 
	data_json TEXT, 
	source VARCHAR(16) NOT NULL, 
	event_key VARCHAR(64) NOT NULL, 
	created_at FLOAT NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_console_message_event UNIQUE (ticket_id, event_key), 
	FOREIGN KEY(ticket_id) REFERENCES console_tickets (id) ON DELETE CASCADE, 
	FOREIGN KEY(agent_id) REFERENCES console_agents (id)
);
INSERT INTO "console_messages" VALUES(1,1,'customer',NULL,'我的订单什么时候发货？',NULL,'live','k0',1764547240.0);
INSERT INTO "console_messages" VALUES(2,1,'agent',1,'您好，今天下午发出。',NULL,'live','k1',1764547241.0);
CREATE TABLE console_notes (
	id INTEGER NOT NULL, 
	ticket_id INTEGER NOT NULL, 
	agent_id INTEGER NOT NULL, 
	text TEXT NOT NULL, 
	created_at FLOAT NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(ticket_id) REFERENCES console_tickets (id) ON DELETE CASCADE, 
	FOREIGN KEY(agent_id) REFERENCES console_agents (id)
);
CREATE TABLE console_presales_days (
	day VARCHAR(10) NOT NULL, 
	checkouts INTEGER NOT NULL, 
	cancelled INTEGER NOT NULL, 
	PRIMARY KEY (day)
);
CREATE TABLE console_privacy_audit (
	id INTEGER NOT NULL, 
	at FLOAT NOT NULL, 
	actor VARCHAR(128) NOT NULL, 
	action VARCHAR(16) NOT NULL, 
	subject_kind VARCHAR(16) NOT NULL, 
	subject_digest VARCHAR(64) NOT NULL, 
	dry_run BOOLEAN NOT NULL, 
	counts_json TEXT NOT NULL, 
	error TEXT, 
	PRIMARY KEY (id)
);
CREATE TABLE console_privacy_locks (
	name VARCHAR(64) NOT NULL, 
	holder VARCHAR(128), 
	until FLOAT NOT NULL, 
	last_day VARCHAR(10), 
	last_finished_at FLOAT, 
	PRIMARY KEY (name)
);
CREATE TABLE console_read_marks (
	agent_id INTEGER NOT NULL, 
	ticket_id INTEGER NOT NULL, 
	seen_at FLOAT NOT NULL, 
	PRIMARY KEY (agent_id, ticket_id), 
	FOREIGN KEY(agent_id) REFERENCES console_agents (id), 
	FOREIGN KEY(ticket_id) REFERENCES console_tickets (id)
);
CREATE TABLE console_sessions (
	id VARCHAR(64) NOT NULL, 
	agent_id INTEGER NOT NULL, 
	csrf_token VARCHAR(64) NOT NULL, 
	created_at FLOAT NOT NULL, 
	expires_at FLOAT NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(agent_id) REFERENCES console_agents (id) ON DELETE CASCADE
);
CREATE TABLE console_tail_cursor (
	name VARCHAR(64) NOT NULL, 
	last_id BIGINT NOT NULL, 
	updated_at FLOAT NOT NULL, 
	PRIMARY KEY (name)
);
CREATE TABLE console_ticket_links (
	ticket_id INTEGER NOT NULL, 
	customer_id VARCHAR(64), 
	repeat_of INTEGER, 
	previous_agent_id INTEGER, 
	created_at FLOAT NOT NULL, 
	PRIMARY KEY (ticket_id), 
	FOREIGN KEY(ticket_id) REFERENCES console_tickets (id) ON DELETE CASCADE, 
	FOREIGN KEY(repeat_of) REFERENCES console_tickets (id) ON DELETE SET NULL, 
	FOREIGN KEY(previous_agent_id) REFERENCES console_agents (id) ON DELETE SET NULL
);
CREATE TABLE console_tickets (
	id INTEGER NOT NULL, 
	handoff_id VARCHAR(64) NOT NULL, 
	sender_id VARCHAR(255) NOT NULL, 
	channel VARCHAR(64) NOT NULL, 
	state VARCHAR(32) NOT NULL, 
	team VARCHAR(32) NOT NULL, 
	category VARCHAR(32) NOT NULL, 
	reason VARCHAR(32) NOT NULL, 
	"trigger" VARCHAR(128) NOT NULL, 
	priority INTEGER NOT NULL, 
	language VARCHAR(16) NOT NULL, 
	customer_json TEXT NOT NULL, 
	summary TEXT NOT NULL, 
	sentiment_json TEXT NOT NULL, 
	context_json TEXT NOT NULL, 
	assignee_id INTEGER, 
	created_at FLOAT NOT NULL, 
	updated_at FLOAT NOT NULL, 
	assigned_at FLOAT, 
	first_response_at FLOAT, 
	closed_at FLOAT, 
	resolution VARCHAR(32), 
	csat_rating INTEGER, 
	csat_at FLOAT, 
	PRIMARY KEY (id), 
	UNIQUE (handoff_id), 
	FOREIGN KEY(assignee_id) REFERENCES console_agents (id)
);
INSERT INTO "console_tickets" VALUES(1,'h-release-1','web:release-user','socketio','assigned','orders','order','customer_request','转人工',1,'zh-CN','{"customer_id": "C0001"}','催发货','{}','{}',1,1764547200.0,1764547260.0,1764547230.0,NULL,NULL,NULL,NULL,NULL);
CREATE TABLE console_transitions (
	id INTEGER NOT NULL, 
	ticket_id INTEGER NOT NULL, 
	from_state VARCHAR(32) NOT NULL, 
	to_state VARCHAR(32) NOT NULL, 
	action VARCHAR(32) NOT NULL, 
	actor VARCHAR(128) NOT NULL, 
	team VARCHAR(32) NOT NULL, 
	detail_json TEXT NOT NULL, 
	at FLOAT NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(ticket_id) REFERENCES console_tickets (id) ON DELETE CASCADE
);
INSERT INTO "console_transitions" VALUES(1,1,'queued','assigned','claim','agent:wang.fang','orders','{}',1764547230.0);
CREATE INDEX ix_console_dead_letters_event_id ON console_dead_letters (event_id);
CREATE INDEX ix_console_dead_letters_created_at ON console_dead_letters (created_at);
CREATE INDEX ix_console_lead_outbox_pending ON console_lead_outbox (delivered_at, dead_at, next_attempt_at);
CREATE INDEX ix_console_lead_outbox_lead_id ON console_lead_outbox (lead_id);
CREATE INDEX ix_console_conversations_last_at ON console_conversations (last_at);
CREATE INDEX ix_console_conversations_customer_id ON console_conversations (customer_id);
CREATE INDEX ix_console_conversations_first_at ON console_conversations (first_at);
CREATE INDEX ix_console_feedback_entry_id ON console_feedback (entry_id);
CREATE INDEX ix_console_feedback_ticket_id ON console_feedback (ticket_id);
CREATE INDEX ix_console_feedback_created_at ON console_feedback (created_at);
CREATE INDEX ix_console_feedback_sender_id ON console_feedback (sender_id);
CREATE INDEX ix_console_feedback_kind ON console_feedback (kind);
CREATE INDEX ix_console_privacy_audit_subject_digest ON console_privacy_audit (subject_digest);
CREATE INDEX ix_console_privacy_audit_at ON console_privacy_audit (at);
CREATE INDEX ix_console_sessions_agent_id ON console_sessions (agent_id);
CREATE INDEX ix_console_tickets_team ON console_tickets (team);
CREATE INDEX ix_console_tickets_sender_id ON console_tickets (sender_id);
CREATE INDEX ix_console_tickets_created_at ON console_tickets (created_at);
CREATE INDEX ix_console_tickets_state ON console_tickets (state);
CREATE INDEX ix_console_messages_ticket_id ON console_messages (ticket_id);
CREATE INDEX ix_console_notes_ticket_id ON console_notes (ticket_id);
CREATE INDEX ix_console_transitions_ticket_id ON console_transitions (ticket_id);
CREATE INDEX ix_console_leads_status ON console_leads (status);
CREATE INDEX ix_console_leads_created_at ON console_leads (created_at);
CREATE INDEX ix_console_leads_sender_id ON console_leads (sender_id);
CREATE INDEX ix_console_leads_customer_id ON console_leads (customer_id);
CREATE INDEX ix_console_leads_ticket_id ON console_leads (ticket_id);
CREATE INDEX ix_console_ticket_links_customer_id ON console_ticket_links (customer_id);
CREATE INDEX ix_console_ticket_links_created_at ON console_ticket_links (created_at);
CREATE INDEX ix_console_ticket_links_repeat_of ON console_ticket_links (repeat_of);
CREATE INDEX ix_console_followups_created_at ON console_followups (created_at);
CREATE INDEX ix_console_followups_done_at ON console_followups (done_at);
CREATE INDEX ix_console_lead_changes_lead_row_id ON console_lead_changes (lead_row_id);
COMMIT;

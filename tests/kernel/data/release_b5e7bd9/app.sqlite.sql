BEGIN TRANSACTION;
CREATE TABLE kb_learned_entries (
	entry_id VARCHAR(128) NOT NULL, 
	category VARCHAR(64) NOT NULL, 
	questions TEXT NOT NULL, 
	answer TEXT NOT NULL, 
	created_by VARCHAR(64) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (entry_id)
);
CREATE TABLE kb_learned_phrasings (
	id INTEGER NOT NULL, 
	entry_id VARCHAR(128) NOT NULL, 
	language VARCHAR(16) NOT NULL, 
	text TEXT NOT NULL, 
	row_id INTEGER, 
	created_by VARCHAR(64) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE kb_unanswered (
	id INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	conversation_id VARCHAR(128), 
	text TEXT NOT NULL, 
	language VARCHAR(16) NOT NULL, 
	outcome VARCHAR(16) NOT NULL, 
	top_score FLOAT NOT NULL, 
	candidates TEXT NOT NULL, 
	kb_version VARCHAR(64), 
	PRIMARY KEY (id)
);
INSERT INTO "kb_unanswered" VALUES(1,'2025-12-01 08:30:00.000000','web:release-user','你们支持以旧换新吗','zh-CN','no_answer',0.41,'[{"id": "returns_policy", "score": 0.41}]','release');
CREATE TABLE kb_unanswered_reviewed (
	row_id INTEGER NOT NULL, 
	action VARCHAR(16) NOT NULL, 
	entry_id VARCHAR(128), 
	reviewed_by VARCHAR(64) NOT NULL, 
	reviewed_at DATETIME NOT NULL, 
	PRIMARY KEY (row_id)
);
CREATE TABLE kefu_notice_optouts (
	channel VARCHAR(32) NOT NULL, 
	sender_id VARCHAR(256) NOT NULL, 
	at DATETIME NOT NULL, 
	PRIMARY KEY (channel, sender_id)
);
INSERT INTO "kefu_notice_optouts" VALUES('wechat','o-release','2025-12-01 08:30:00.000000');
CREATE TABLE kefu_notices (
	id INTEGER NOT NULL, 
	"key" VARCHAR(64) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	channel VARCHAR(32) NOT NULL, 
	sender_id VARCHAR(256) NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	owner VARCHAR(64), 
	lease_until DATETIME, 
	next_try DATETIME, 
	attempts INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	sent_at DATETIME, 
	detail VARCHAR(200), 
	PRIMARY KEY (id), 
	UNIQUE ("key")
);
INSERT INTO "kefu_notices" VALUES(1,'restock:1','restock','socketio','web:release-user','sent','release:1',NULL,NULL,1,'2025-12-01 08:30:00.000000','2025-12-01 08:30:00.000000',NULL);
CREATE TABLE kefu_order_watches (
	id INTEGER NOT NULL, 
	order_id VARCHAR(32) NOT NULL, 
	channel VARCHAR(32) NOT NULL, 
	sender_id VARCHAR(256) NOT NULL, 
	language VARCHAR(8) NOT NULL, 
	status VARCHAR(24) NOT NULL, 
	created_at DATETIME NOT NULL, 
	until DATETIME NOT NULL, 
	active BOOLEAN NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (order_id, channel, sender_id)
);
CREATE INDEX ix_kb_unanswered_created_at ON kb_unanswered (created_at);
CREATE INDEX ix_kb_unanswered_conversation_id ON kb_unanswered (conversation_id);
CREATE INDEX ix_kb_unanswered_outcome ON kb_unanswered (outcome);
CREATE INDEX ix_kb_learned_phrasings_entry_id ON kb_learned_phrasings (entry_id);
COMMIT;

BEGIN TRANSACTION;
CREATE TABLE kefu_verify_attempts (
	id INTEGER NOT NULL, 
	subject VARCHAR(64) NOT NULL, 
	attempt VARCHAR(32) NOT NULL, 
	at FLOAT NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "kefu_verify_attempts" VALUES(1,'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','dccfc41b78d946ef8be624837b62d020',1764547200.0);
CREATE INDEX ix_kefu_verify_attempts_subject_at ON kefu_verify_attempts (subject, at);
CREATE INDEX ix_kefu_verify_attempts_at ON kefu_verify_attempts (at);
COMMIT;

-- Kefu's databases on one PostgreSQL server, one database per store (docs/operations.md).
--
-- docker-compose mounts this file into /docker-entrypoint-initdb.d/: the postgres image runs it
-- once, as POSTGRES_USER (kefu), when the data volume is first created. On a managed server
-- run it once as the application role: psql "postgresql://kefu@HOST:5432/postgres" -f init.sql
--
-- Every process creates its own tables at start; this file only makes the empty databases.
-- Rasa's tracker store and its SQL event broker both use a table named "events", so they must
-- live in separate databases.

CREATE DATABASE kefu_tracker;   -- Rasa SQL tracker store: conversations   (KEFU_TRACKER_DB_URL)
CREATE DATABASE kefu_events;    -- Rasa SQL event broker, tailed by the console (KEFU_EVENTS_DB_URL)
CREATE DATABASE kefu_console;   -- handoff tickets, messages, agents, CSAT  (KEFU_CONSOLE_DB_URL)
CREATE DATABASE kefu_app;       -- unanswered FAQ questions                  (KEFU_APP_DB_URL)
CREATE DATABASE kefu_store;     -- demo store: orders, stock, customers      (KEFU_STORE_DB_URL)

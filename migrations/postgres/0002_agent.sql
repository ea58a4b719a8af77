-- rolldex team archive, schema 2: sessions of several agents. Which agent wrote each
-- session (`codex`, `claude`); every session pushed before was Codex's.
ALTER TABLE sessions ADD COLUMN agent text NOT NULL DEFAULT 'codex';
CREATE INDEX sessions_agent ON sessions (agent, updated_ms DESC);

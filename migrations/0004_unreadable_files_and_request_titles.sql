-- rolldex index, schema 4: files that could not be read are remembered; titles of IDE and
-- Desktop sessions are the request, not the wrapper; shell_command calls index as commands.
--
-- Titles and command summaries are derived while reading a rollout, so the mirror is
-- cleared and the next refresh reads every rollout again, as `rolldex index --full` would.
-- Names (session_index.jsonl) stay: they did not change meaning.
INSERT INTO items_fts(items_fts) VALUES('delete-all');
DELETE FROM items;
DELETE FROM files;
DELETE FROM sessions;
DELETE FROM dirs;

-- A rollout that could not be read (a corrupt .zst, an unreadable file, a file with no
-- session id), with its size and mtime then. It is not read again, nor reported again by
-- every query, until its size or mtime changes; `index`, `verify` and `du` name it.
CREATE TABLE failures (
    path     TEXT PRIMARY KEY,
    size     INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    error    TEXT NOT NULL,    -- what went wrong, as first reported
    seen_ms  INTEGER NOT NULL  -- when it was first seen failing (Unix ms)
) STRICT;

-- Sessions of several agents (src/agents/): which agent wrote the session.
ALTER TABLE sessions ADD COLUMN agent TEXT NOT NULL DEFAULT 'codex';
CREATE INDEX sessions_agent ON sessions(agent, updated_ms DESC);
-- A title written in the file (Claude Code's summary: 1, its custom title: 2) beats the
-- first prompt; `title` holds it when title_rank > 0.
ALTER TABLE sessions ADD COLUMN title_rank INTEGER NOT NULL DEFAULT 0;
-- Agents that repeat one reply's usage over several lines (Claude Code): the last reply
-- counted, so that an appended part continuing it replaces its count.
ALTER TABLE sessions ADD COLUMN last_reply TEXT;
ALTER TABLE sessions ADD COLUMN last_reply_tokens INTEGER NOT NULL DEFAULT 0;
-- The SHA-256 of the session's folder, for an agent that names its folder only so (Gemini
-- CLI's projectHash); the indexer recovers `cwd` from it when a folder it knows hashes to it.
ALTER TABLE sessions ADD COLUMN folder_hash TEXT;

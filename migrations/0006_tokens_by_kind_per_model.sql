-- rolldex index, schema 6: what each session's tokens were spent on, to say what it cost
-- (src/cost.rs). Money is not stored: it is computed when asked, from the price table, so
-- a changed price or the user's own prices.json applies without re-indexing.
--
-- Tokens by kind are derived while reading a session, so the mirror is cleared and the
-- next refresh reads every session again, as `rolldex index --full` would. Names stay.
INSERT INTO items_fts(items_fts) VALUES('delete-all');
DELETE FROM items;
DELETE FROM files;
DELETE FROM sessions;
DELETE FROM dirs;

-- Tokens of one session spent by one model, in one context band (0: a prompt of at most
-- 200,000 tokens, 1: at most 272,000, 2: more; providers bill long prompts higher), fast
-- (1: a fast/priority service tier) or not. `input` excludes cache reads and writes;
-- `output` includes `reasoning`.
CREATE TABLE session_tokens (
    session_key    INTEGER NOT NULL REFERENCES sessions(key) ON DELETE CASCADE,
    model          TEXT NOT NULL,
    band           INTEGER NOT NULL,
    fast           INTEGER NOT NULL,
    input          INTEGER NOT NULL,
    cache_read     INTEGER NOT NULL,
    cache_write_5m INTEGER NOT NULL,
    cache_write_1h INTEGER NOT NULL,
    output         INTEGER NOT NULL,
    reasoning      INTEGER NOT NULL,
    PRIMARY KEY (session_key, model, band, fast)
) STRICT, WITHOUT ROWID;

-- The last reply counted (see schema 4's last_reply) by kind and bucket, as JSON, so that
-- an appended line continuing it replaces what it added.
ALTER TABLE sessions ADD COLUMN last_reply_usage TEXT;
-- Whether the session's turns now run at a fast/priority service tier (Codex's
-- thread_settings_applied), for the tokens an appended part spends.
ALTER TABLE sessions ADD COLUMN fast INTEGER NOT NULL DEFAULT 0;

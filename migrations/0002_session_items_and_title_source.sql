-- rolldex index, schema 2.
-- items: how many searchable items a session has, for list and stats without a count(*)
-- over the items table.
-- title_typed: whether the title is what the person typed (a user_message event) rather
-- than the fallback (the first user item that is not injected context). An appended part of
-- a file may bring that event later; without the flag the incremental indexer could not
-- tell whether the event's text should replace the title.
ALTER TABLE sessions ADD COLUMN items INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN title_typed INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET items = (SELECT count(*) FROM items WHERE items.session_key = sessions.key);
-- Sessions by start, for `stats --by day` and date filters.
CREATE INDEX sessions_created ON sessions(created_ms);

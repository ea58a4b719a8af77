-- rolldex index, schema 7: the heartbeat of `rolldex watch` (src/watch.rs). One row while
-- a watcher keeps this index current; queries skip their walk only while its lock is
-- held and `beat_ms` is recent, so a dead or hung watcher never makes an answer wrong.
CREATE TABLE watcher (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    pid           INTEGER NOT NULL,
    started_ms    INTEGER NOT NULL,
    beat_ms       INTEGER NOT NULL,
    last_event_ms INTEGER,
    refreshed_ms  INTEGER
) STRICT;

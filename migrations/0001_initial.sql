-- rolldex index, schema 1. The rollout files are the source of truth: everything here can
-- be rebuilt from them (`rolldex index --full`).

-- One row per rollout file on disk.
CREATE TABLE files (
    path           TEXT PRIMARY KEY,
    session_key    INTEGER REFERENCES sessions(key) ON DELETE SET NULL,
    size           INTEGER NOT NULL,           -- bytes on disk
    mtime_ns       INTEGER NOT NULL,
    compressed     INTEGER NOT NULL DEFAULT 0,
    indexed_offset INTEGER NOT NULL DEFAULT 0, -- decompressed offset after the last indexed whole line
    indexed_lines  INTEGER NOT NULL DEFAULT 0, -- lines before indexed_offset
    checksum       TEXT                        -- of the stored bytes, once computed (archive, verify)
) STRICT;
CREATE INDEX files_session ON files(session_key);

-- One row per session (a file's own session meta, or the uuid in its name).
CREATE TABLE sessions (
    key            INTEGER PRIMARY KEY,
    id             TEXT NOT NULL UNIQUE,       -- lowercase uuid
    path           TEXT NOT NULL,              -- the authoritative file (plain over .zst)
    created_ms     INTEGER,                    -- unix ms, UTC
    updated_ms     INTEGER NOT NULL,           -- last activity: last line timestamp, else mtime
    cwd            TEXT,
    originator     TEXT,
    cli_version    TEXT,
    source         TEXT,
    model_provider TEXT,
    model          TEXT,
    title          TEXT,                       -- first message the person typed
    git_commit     TEXT,
    git_branch     TEXT,
    git_url        TEXT,                       -- credentials stripped
    repo_key       TEXT,                       -- host/owner/repo, lowercase
    forked_from_id TEXT,
    messages       INTEGER NOT NULL DEFAULT 0,
    tool_calls     INTEGER NOT NULL DEFAULT 0,
    errors         INTEGER NOT NULL DEFAULT 0, -- malformed lines
    tokens         INTEGER NOT NULL DEFAULT 0,
    raw_bytes      INTEGER NOT NULL DEFAULT 0,
    stored_bytes   INTEGER NOT NULL DEFAULT 0,
    archived       INTEGER NOT NULL DEFAULT 0,
    compressed     INTEGER NOT NULL DEFAULT 0
) STRICT;
-- The queries `list` runs: newest first, optionally narrowed by repo, branch, commit, cwd.
CREATE INDEX sessions_updated ON sessions(updated_ms DESC);
CREATE INDEX sessions_repo ON sessions(repo_key, updated_ms DESC) WHERE repo_key IS NOT NULL;
CREATE INDEX sessions_branch ON sessions(git_branch, updated_ms DESC) WHERE git_branch IS NOT NULL;
CREATE INDEX sessions_commit ON sessions(git_commit) WHERE git_commit IS NOT NULL;
CREATE INDEX sessions_cwd ON sessions(cwd, updated_ms DESC) WHERE cwd IS NOT NULL;

-- What each line contributes to search. seq is the line number in the file.
CREATE TABLE items (
    rowid       INTEGER PRIMARY KEY,
    session_key INTEGER NOT NULL REFERENCES sessions(key) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    ts_ms       INTEGER,
    kind        TEXT NOT NULL,
    role        TEXT,
    summary     TEXT NOT NULL,
    offset      INTEGER NOT NULL
) STRICT;
CREATE INDEX items_session ON items(session_key, seq);

-- Full-text search over item summaries. External content: the text lives once, in items;
-- the indexer writes both in one transaction (a trigger was measured 2-3.6x slower).
CREATE VIRTUAL TABLE items_fts USING fts5(
    summary,
    content = 'items',
    content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);

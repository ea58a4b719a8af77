-- rolldex team archive, schema 1: sessions pushed from many machines, their searchable
-- item summaries, and their rollout bytes as zstd frames. Applied in one transaction; the
-- version lives in rolldex_schema (a newer one is refused by older binaries).

CREATE TABLE rolldex_schema (
    version integer NOT NULL
);
INSERT INTO rolldex_schema(version) VALUES (0);

-- One row per session. What a local index knows of it, plus where it came from and what
-- of its bytes the archive holds.
CREATE TABLE sessions (
    -- "C" collation: ids, commits and folders compare byte-wise, so a prefix is a range
    -- that the index answers.
    id              text COLLATE "C" PRIMARY KEY,
    -- The machine that pushed it last.
    host            text NOT NULL,
    -- Its rollout's path under a home, plain (`sessions/2025/06/03/rollout-….jsonl`):
    -- where `resume` puts it on a machine that never had it.
    rel_path        text NOT NULL,
    created_ms      bigint,
    updated_ms      bigint NOT NULL,
    cwd             text COLLATE "C",
    repo_key        text COLLATE "C",
    git_url         text,
    git_branch      text,
    git_commit      text COLLATE "C",
    title           text,
    source          text,
    model           text,
    items           bigint NOT NULL DEFAULT 0,
    messages        bigint NOT NULL DEFAULT 0,
    tool_calls      bigint NOT NULL DEFAULT 0,
    errors          bigint NOT NULL DEFAULT 0,
    tokens          bigint NOT NULL DEFAULT 0,
    archived        boolean NOT NULL DEFAULT false,
    forked_from_id  text,
    name            text,
    parent_id       text COLLATE "C",
    agent_nickname  text,
    agent_role      text,
    -- The rollout's bytes held in `chunks`: decompressed length, stored (zstd) length and
    -- the SHA-256 of the decompressed bytes, which `resume` checks after downloading.
    raw_bytes       bigint NOT NULL,
    stored_bytes    bigint NOT NULL,
    sha256          text NOT NULL,
    -- The decompressed bytes by kind of content (as `rolldex du` reports them).
    bytes_images                bigint NOT NULL DEFAULT 0,
    bytes_encrypted_reasoning   bigint NOT NULL DEFAULT 0,
    bytes_compaction_history    bigint NOT NULL DEFAULT 0,
    bytes_turn_context          bigint NOT NULL DEFAULT 0,
    bytes_instructions          bigint NOT NULL DEFAULT 0,
    bytes_tool_output           bigint NOT NULL DEFAULT 0,
    bytes_tool_calls            bigint NOT NULL DEFAULT 0,
    bytes_messages              bigint NOT NULL DEFAULT 0,
    bytes_events                bigint NOT NULL DEFAULT 0,
    bytes_other                 bigint NOT NULL DEFAULT 0,
    -- The last item line pushed (items are sent from the one after it on an append).
    items_through   bigint NOT NULL DEFAULT 0,
    pushed_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sessions_updated ON sessions (updated_ms DESC);
CREATE INDEX sessions_repo ON sessions (repo_key);
CREATE INDEX sessions_parent ON sessions (parent_id);
CREATE INDEX sessions_name ON sessions (lower(name));

-- Searchable item summaries (the same text the local index holds), with their words.
CREATE TABLE items (
    session_id  text COLLATE "C" NOT NULL REFERENCES sessions(id) ON DELETE CASCADE
                DEFERRABLE INITIALLY DEFERRED,
    seq         bigint NOT NULL,
    -- When it was said: its own timestamp, else its session's start. Newest-first search
    -- walks this, so it is never null.
    at_ms       bigint NOT NULL,
    ts_ms       bigint,
    kind        text NOT NULL,
    role        text,
    ordinal     bigint,
    summary     text NOT NULL,
    -- 'simple': lowercased words, no stemming and no stop words, as the local index.
    words       tsvector GENERATED ALWAYS AS (to_tsvector('simple', summary)) STORED,
    PRIMARY KEY (session_id, seq)
);
CREATE INDEX items_words ON items USING gin (words);
-- Word statistics from a sample of 300k items instead of 30k: a rare word then looks rare
-- to the planner, which takes the word index for it (a few rows to sort) rather than walk
-- the time index hoping for a match (measured at 3M items: 106 ms -> 5 ms).
ALTER TABLE items ALTER COLUMN words SET STATISTICS 1000;
CREATE INDEX items_at ON items (at_ms DESC);

-- A session's rollout: consecutive ranges of its decompressed bytes, each one or more
-- complete zstd frames. Concatenated in `raw_offset` order they decompress to the rollout.
CREATE TABLE chunks (
    session_id  text COLLATE "C" NOT NULL REFERENCES sessions(id) ON DELETE CASCADE
                DEFERRABLE INITIALLY DEFERRED,
    raw_offset  bigint NOT NULL,
    raw_len     bigint NOT NULL,
    data        bytea NOT NULL,
    PRIMARY KEY (session_id, raw_offset)
);

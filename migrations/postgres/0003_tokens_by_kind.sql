-- rolldex team archive, schema 3: the tokens each session's models spent, by kind and
-- context band (as the local index keeps them, src/cost.rs), so that `stats --remote`
-- says what a team's work cost per repository, person (host) and model. Sessions pushed
-- before have none until their next push, which sends them (their bytes held stay).
CREATE TABLE session_tokens (
    session_id     text COLLATE "C" NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    model          text NOT NULL,
    band           smallint NOT NULL,
    fast           boolean NOT NULL,
    input          bigint NOT NULL,
    cache_read     bigint NOT NULL,
    cache_write_5m bigint NOT NULL,
    cache_write_1h bigint NOT NULL,
    output         bigint NOT NULL,
    reasoning      bigint NOT NULL,
    PRIMARY KEY (session_id, model, band, fast)
);
-- Whether this session's tokens were sent (a session pushed before schema 3 has none).
ALTER TABLE sessions ADD COLUMN tokens_sent boolean NOT NULL DEFAULT false;

//! The team archive: sessions from many machines in one PostgreSQL database.
//!
//! Every machine pushes its home ([`push`]): each new or changed session's facts, its item
//! summaries (searchable with PostgreSQL's own full-text machinery: a `tsvector` per item
//! and a GIN index) and its rollout bytes as zstd frames. Any machine then reads the
//! archive through the same door as its own home ([`crate::Home::with_team`]): list, search,
//! show, stats and resume answer from it, with the machine each session came from.
//!
//! The schema lives in `migrations/postgres/`, versioned like the local index's; a newer
//! schema than this binary knows is refused untouched. The password is taken from the URL,
//! `PGPASSWORD` or the password file and never shown or stored (see [`url`]).

pub mod push;
pub mod tls;
pub mod url;

use std::io::Write;
use std::path::{Path, PathBuf};

use postgres::types::ToSql;
use postgres::{Client, Row};
use sha2::{Digest, Sha256};

use crate::cost::Spent;
use crate::error::{Error, Result};
use crate::query::{Filters, GroupBy, Hit, Order, SearchQuery, Session, Stats};

pub use url::{Address, TlsMode};

/// Every migration of the team archive's schema, in order: migration `i` brings it to
/// version `i + 1`.
pub const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_team_archive",
        include_str!("../../migrations/postgres/0001_team_archive.sql"),
    ),
    (
        "0002_agent",
        include_str!("../../migrations/postgres/0002_agent.sql"),
    ),
    (
        "0003_tokens_by_kind",
        include_str!("../../migrations/postgres/0003_tokens_by_kind.sql"),
    ),
];

/// The schema version this build writes.
pub const LATEST: i64 = MIGRATIONS.len() as i64;

/// Key of the advisory lock that makes two machines migrating at once take turns.
const MIGRATION_LOCK: i64 = 0x726f_6c6c_6465_7801;

/// A connection to a team archive.
pub struct Team {
    client: Client,
    address: Address,
}

impl std::fmt::Debug for Team {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Team")
            .field("address", &self.address.shown)
            .finish()
    }
}

/// What the archive holds of one session, to decide what a push must send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// Decompressed bytes held.
    pub raw_bytes: i64,
    /// Their stored (zstd) size.
    pub stored_bytes: i64,
    /// Their SHA-256, hex.
    pub sha256: String,
    /// The last item line held.
    pub items_through: i64,
    /// The name held.
    pub name: Option<String>,
    /// Whether its tokens by kind were sent (schema 3).
    pub tokens_sent: bool,
}

impl Team {
    /// Connects to the archive at `url` and brings its schema up to date (refusing a newer
    /// one). The password never appears in an error.
    pub fn connect(url: &str) -> Result<Team> {
        let address = Address::parse(url)?;
        let (tls, mode) = tls::connector(&address)?;
        let mut config = address.config.clone();
        config.ssl_mode(mode);
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(15));
        }
        config.application_name("rolldex");
        let client = config
            .connect(tls)
            .map_err(|e| address.error("connecting", describe(&e)))?;
        let mut team = Team { client, address };
        team.migrate()?;
        Ok(team)
    }

    /// The archive's address, password masked.
    pub fn shown(&self) -> &str {
        &self.address.shown
    }

    fn err(&self, action: &'static str) -> impl Fn(postgres::Error) -> Error + '_ {
        move |e| self.address.error(action, describe(&e))
    }

    /// The schema version found (0 for an empty database).
    pub fn schema_version(&mut self) -> Result<i64> {
        version_in(&mut self.client).map_err(|e| {
            self.address
                .error("reading the schema version", describe(&e))
        })
    }

    fn migrate(&mut self) -> Result<()> {
        let found = self.schema_version()?;
        if found > LATEST {
            return Err(Error::RemoteSchemaTooNew {
                url: self.address.shown.clone(),
                found,
                known: LATEST,
            });
        }
        if found == LATEST {
            return Ok(());
        }
        let address = self.address.clone();
        let err = |e: postgres::Error| address.error("migrating the schema", describe(&e));
        let mut tx = self.client.transaction().map_err(err)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .map_err(err)?;
        // Read again under the lock: another machine may have migrated meanwhile.
        let version = version_in(&mut tx).map_err(err)?;
        if version > LATEST {
            return Err(Error::RemoteSchemaTooNew {
                url: address.shown.clone(),
                found: version,
                known: LATEST,
            });
        }
        for (_, sql) in &MIGRATIONS[version as usize..] {
            tx.batch_execute(sql).map_err(err)?;
        }
        tx.execute(
            "UPDATE rolldex_schema SET version = $1",
            &[&(LATEST as i32)],
        )
        .map_err(err)?;
        tx.commit().map_err(err)
    }

    /// What the archive holds of every session, by id.
    pub fn held(&mut self) -> Result<std::collections::HashMap<String, Held>> {
        let rows = self
            .client
            .query(
                "SELECT id, raw_bytes, stored_bytes, sha256, items_through, name, tokens_sent
                 FROM sessions",
                &[],
            )
            .map_err(self.err("reading what the archive holds"))?;
        Ok(rows
            .into_iter()
            .map(|r| {
                (
                    r.get(0),
                    Held {
                        raw_bytes: r.get(1),
                        stored_bytes: r.get(2),
                        sha256: r.get(3),
                        items_through: r.get(4),
                        name: r.get(5),
                        tokens_sent: r.get(6),
                    },
                )
            })
            .collect())
    }

    pub(crate) fn client(&mut self) -> (&mut Client, &Address) {
        (&mut self.client, &self.address)
    }

    /// Sessions matching `filters`, newest activity first.
    pub fn list(&mut self, filters: &Filters, limit: usize) -> Result<Vec<Session>> {
        let mut w = Where::build(filters)?;
        let limit = w.param(limit_i64(limit));
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s WHERE true{} ORDER BY s.updated_ms DESC, s.id LIMIT {limit}",
            w.and()
        );
        let rows = self
            .client
            .query(&sql, &w.refs())
            .map_err(self.err("listing sessions"))?;
        Ok(rows.iter().map(session_from_row).collect())
    }

    /// How many sessions match `filters`.
    pub fn count(&mut self, filters: &Filters) -> Result<u64> {
        let w = Where::build(filters)?;
        let sql = format!("SELECT count(*) FROM sessions s WHERE true{}", w.and());
        let n: i64 = self
            .client
            .query_one(&sql, &w.refs())
            .map_err(self.err("counting sessions"))?
            .get(0);
        Ok(n as u64)
    }

    /// The session with exactly this id.
    pub fn get(&mut self, id: &str) -> Result<Option<Session>> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.id = $1");
        let id = id.trim().to_ascii_lowercase();
        let row = self
            .client
            .query_opt(&sql, &[&id])
            .map_err(self.err("looking up a session"))?;
        Ok(row.as_ref().map(session_from_row))
    }

    /// Sessions whose id starts with `prefix` (dashes optional), at most 50.
    pub fn find_by_prefix(&mut self, prefix: &str) -> Result<Vec<Session>> {
        let hex = crate::layout::normalize_id_prefix(prefix)?;
        let mut dashed = String::with_capacity(36);
        for (i, c) in hex.chars().enumerate() {
            if matches!(i, 8 | 12 | 16 | 20) {
                dashed.push('-');
            }
            dashed.push(c);
        }
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.id >= $1 AND s.id < $2 ORDER BY s.id LIMIT 50"
        );
        let upper = format!("{dashed}~");
        let rows = self
            .client
            .query(&sql, &[&dashed, &upper])
            .map_err(self.err("looking up a session"))?;
        Ok(rows.iter().map(session_from_row).collect())
    }

    /// Sessions whose name is `name`, compared case-insensitively, at most 50.
    pub fn find_by_name(&mut self, name: &str) -> Result<Vec<Session>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s WHERE lower(s.name) = $1 ORDER BY s.updated_ms DESC LIMIT 50"
        );
        let key = crate::names::name_key(name);
        let rows = self
            .client
            .query(&sql, &[&key])
            .map_err(self.err("looking up a session by name"))?;
        Ok(rows.iter().map(session_from_row).collect())
    }

    /// The subagents a session spawned, oldest first.
    pub fn children(&mut self, parent_id: &str) -> Result<Vec<Session>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.parent_id = $1
             ORDER BY coalesce(s.created_ms, s.updated_ms), s.id"
        );
        let rows = self
            .client
            .query(&sql, &[&parent_id])
            .map_err(self.err("listing subagents"))?;
        Ok(rows.iter().map(session_from_row).collect())
    }

    /// Full-text search with PostgreSQL's machinery: the same query language as the local
    /// index (all words, `"phrases"`, `prefix*`), newest first or by relevance among the
    /// newest [`crate::query::RANK_WINDOW`] matches.
    pub fn search(&mut self, q: &SearchQuery) -> Result<Vec<Hit>> {
        let mut w = Where::build(&q.filters)?;
        let tsquery = tsquery(&q.text, &mut w)?;
        let options = w.param(headline_options(&q.marks));
        let limit = w.param(limit_i64(q.limit));
        let conditions = w.and();
        // The query is written out where it is used, not computed once in a CTE: the
        // planner then sees its words and their frequencies, and picks the word index for
        // a rare word (a few rows to sort) or the time index for a common one (the newest
        // rows match soon). Behind a CTE it guessed, and walked 200k rows for a rare word.
        let sql = match q.order {
            Order::Newest => format!(
                "WITH top AS MATERIALIZED (
                    SELECT i.session_id, i.seq, i.at_ms FROM items i JOIN sessions s ON s.id = i.session_id
                    WHERE i.words @@ ({tsquery}){conditions}
                    ORDER BY i.at_ms DESC, i.session_id DESC, i.seq DESC LIMIT {limit})
                 SELECT {SESSION_COLUMNS}, i.seq, i.ts_ms, i.kind, i.role,
                    ts_headline('simple', i.summary, ({tsquery}), {options}), NULL::float8, i.ordinal
                 FROM top JOIN items i ON i.session_id = top.session_id AND i.seq = top.seq
                 JOIN sessions s ON s.id = i.session_id
                 ORDER BY top.at_ms DESC, top.session_id DESC, top.seq DESC"
            ),
            Order::Rank => format!(
                "WITH recent AS MATERIALIZED (
                    SELECT i.session_id, i.seq, i.at_ms, ts_rank_cd(i.words, ({tsquery})) AS r
                    FROM items i JOIN sessions s ON s.id = i.session_id
                    WHERE i.words @@ ({tsquery}){conditions}
                    ORDER BY i.at_ms DESC LIMIT {window}),
                 top AS MATERIALIZED (SELECT * FROM recent ORDER BY r DESC, at_ms DESC LIMIT {limit})
                 SELECT {SESSION_COLUMNS}, i.seq, i.ts_ms, i.kind, i.role,
                    ts_headline('simple', i.summary, ({tsquery}), {options}), (-top.r)::float8, i.ordinal
                 FROM top JOIN items i ON i.session_id = top.session_id AND i.seq = top.seq
                 JOIN sessions s ON s.id = i.session_id
                 ORDER BY top.r DESC, top.at_ms DESC",
                window = crate::query::RANK_WINDOW
            ),
        };
        let rows = self
            .client
            .query(&sql, &w.refs())
            .map_err(self.err("searching"))?;
        let n = SESSION_COLUMN_COUNT;
        Ok(rows
            .iter()
            .map(|r| Hit {
                session: session_from_row(r),
                seq: r.get(n),
                ts_ms: r.get(n + 1),
                kind: r.get(n + 2),
                role: r.get(n + 3),
                snippet: r.get(n + 4),
                score: r.get(n + 5),
                ordinal: r.get(n + 6),
            })
            .collect())
    }

    /// Totals, overall or per group, with what each group's models spent; `offset` is
    /// the local time zone for days, weeks and months.
    pub fn stats(
        &mut self,
        filters: &Filters,
        by: Option<GroupBy>,
        offset: time::UtcOffset,
    ) -> Result<Vec<Stats>> {
        let mut w = Where::build(filters)?;
        let local = |w: &mut Where, format: &str| {
            let secs = w.param(i64::from(offset.whole_seconds()));
            format!(
                "to_char(to_timestamp((coalesce(s.created_ms, s.updated_ms) / 1000 + {secs})::float8) AT TIME ZONE 'UTC', '{format}')"
            )
        };
        let (group, order) = match by {
            None => ("NULL::text".to_string(), "1"),
            Some(GroupBy::Repo) => ("s.repo_key".to_string(), "2 DESC, 1"),
            Some(GroupBy::Model) => ("s.model".to_string(), "2 DESC, 1"),
            Some(GroupBy::Agent) => ("s.agent".to_string(), "2 DESC, 1"),
            Some(GroupBy::Host) => ("s.host".to_string(), "2 DESC, 1"),
            Some(GroupBy::Day) => (local(&mut w, "YYYY-MM-DD"), "1 DESC"),
            Some(GroupBy::Week) => (local(&mut w, "IYYY-\"W\"IW"), "1 DESC"),
            Some(GroupBy::Month) => (local(&mut w, "YYYY-MM"), "1 DESC"),
        };
        let sql = format!(
            "SELECT {group}, count(*), coalesce(sum(s.items), 0)::int8, coalesce(sum(s.tokens), 0)::int8,
                    coalesce(sum(s.raw_bytes), 0)::int8, coalesce(sum(s.stored_bytes), 0)::int8
             FROM sessions s WHERE true{} GROUP BY 1 ORDER BY {order}",
            w.and()
        );
        let rows = self
            .client
            .query(&sql, &w.refs())
            .map_err(self.err("computing stats"))?;
        let mut stats: Vec<Stats> = rows
            .iter()
            .map(|r| Stats {
                group: r.get(0),
                sessions: r.get(1),
                items: r.get(2),
                tokens: r.get(3),
                raw_bytes: r.get(4),
                stored_bytes: r.get(5),
                spent: Spent::new(),
            })
            .collect();
        let token_group = if by == Some(GroupBy::Model) {
            "t.model".to_string()
        } else {
            group
        };
        let sql = format!(
            "SELECT {token_group}, t.model, t.band::int8, t.fast, sum(t.input)::int8,
                    sum(t.cache_read)::int8, sum(t.cache_write_5m)::int8,
                    sum(t.cache_write_1h)::int8, sum(t.output)::int8, sum(t.reasoning)::int8
             FROM sessions s JOIN session_tokens t ON t.session_id = s.id
             WHERE true{} GROUP BY 1, 2, 3, 4",
            w.and()
        );
        let rows = self
            .client
            .query(&sql, &w.refs())
            .map_err(self.err("computing stats"))?;
        for r in &rows {
            let g: Option<String> = r.get(0);
            let (bucket, tokens) = spent_row(r, 1);
            crate::query::add_spent(&mut stats, g, bucket, &tokens);
        }
        if by == Some(GroupBy::Model) {
            crate::query::tokens_as_spent(&mut stats);
        }
        Ok(stats)
    }

    /// What each model spent in session `id`, as pushed.
    pub fn spent(&mut self, id: &str) -> Result<Spent> {
        let rows = self
            .client
            .query(
                "SELECT model, band::int8, fast, input, cache_read, cache_write_5m,
                        cache_write_1h, output, reasoning
                 FROM session_tokens WHERE session_id = $1",
                &[&id],
            )
            .map_err(self.err("reading a session's tokens"))?;
        let mut out = Spent::new();
        for r in &rows {
            let (b, t) = spent_row(r, 0);
            crate::cost::spend(&mut out, b, &t);
        }
        Ok(out)
    }

    /// Where the bytes go (see [`crate::query::usage`]): the archive holds every session
    /// compressed, so nothing is left to archive.
    pub fn usage(
        &mut self,
        filters: &Filters,
        by: Option<crate::query::UsageBy>,
        largest: usize,
        offset: time::UtcOffset,
    ) -> Result<crate::query::Usage> {
        use crate::query::{Usage, UsageBy, UsageGroup};
        use crate::usage::Kind;
        let mut w = Where::build(filters)?;
        let kinds: Vec<String> = Kind::ALL
            .iter()
            .map(|k| format!("coalesce(sum(s.bytes_{}), 0)::int8", k.as_str()))
            .collect();
        let sql = format!(
            "SELECT count(*), coalesce(sum(s.raw_bytes), 0)::int8, coalesce(sum(s.stored_bytes), 0)::int8, {}
             FROM sessions s WHERE true{}",
            kinds.join(", "),
            w.and()
        );
        let row = self
            .client
            .query_one(&sql, &w.refs())
            .map_err(self.err("measuring usage"))?;
        let (sessions, raw_bytes, stored_bytes): (i64, i64, i64) =
            (row.get(0), row.get(1), row.get(2));
        let mut by_kind: Vec<(Kind, i64)> = Kind::ALL
            .iter()
            .enumerate()
            .map(|(i, k)| (*k, row.get::<_, i64>(3 + i)))
            .collect();
        let classified: i64 = by_kind.iter().map(|(_, b)| b).sum();
        if let Some((_, other)) = by_kind.iter_mut().find(|(k, _)| *k == Kind::Other) {
            *other += raw_bytes - classified;
        }
        let limit = w.param(limit_i64(largest));
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s WHERE true{} ORDER BY s.raw_bytes DESC, s.id LIMIT {limit}",
            w.and()
        );
        let biggest = self
            .client
            .query(&sql, &w.refs())
            .map_err(self.err("measuring usage"))?
            .iter()
            .map(session_from_row)
            .collect();
        w.params.pop();
        let groups = match by {
            None => Vec::new(),
            Some(by) => {
                let (key, order) = match by {
                    UsageBy::Session => ("s.id".to_string(), "3 DESC, 1 LIMIT 1000"),
                    UsageBy::Repo => ("s.repo_key".to_string(), "3 DESC, 1"),
                    UsageBy::Agent => ("s.agent".to_string(), "3 DESC, 1"),
                    UsageBy::Month => {
                        let secs = w.param(i64::from(offset.whole_seconds()));
                        (
                            format!(
                                "to_char(to_timestamp((coalesce(s.created_ms, s.updated_ms) / 1000 + {secs})::float8) AT TIME ZONE 'UTC', 'YYYY-MM')"
                            ),
                            "1 DESC",
                        )
                    }
                };
                let sql = format!(
                    "SELECT {key}::text, count(*), coalesce(sum(s.raw_bytes), 0)::int8, coalesce(sum(s.stored_bytes), 0)::int8
                     FROM sessions s WHERE true{} GROUP BY 1 ORDER BY {order}",
                    w.and()
                );
                self.client
                    .query(&sql, &w.refs())
                    .map_err(self.err("measuring usage"))?
                    .iter()
                    .map(|r| UsageGroup {
                        group: r.get(0),
                        sessions: r.get(1),
                        raw_bytes: r.get(2),
                        stored_bytes: r.get(3),
                    })
                    .collect()
            }
        };
        Ok(Usage {
            sessions,
            raw_bytes,
            stored_bytes,
            by_kind,
            largest: biggest,
            groups,
            compressed_raw: raw_bytes,
            compressed_stored: stored_bytes,
            archivable_raw: 0,
        })
    }

    /// Where a session's rollout goes under a home (`sessions/YYYY/MM/DD/rollout-….jsonl`).
    pub fn rel_path(&mut self, id: &str) -> Result<Option<PathBuf>> {
        let row = self
            .client
            .query_opt("SELECT rel_path FROM sessions WHERE id = $1", &[&id])
            .map_err(self.err("looking up a session"))?;
        Ok(row.map(|r| PathBuf::from(r.get::<_, String>(0))))
    }

    /// Writes a session's rollout bytes to `out`, chunk by chunk (memory holds one chunk),
    /// and checks their length and SHA-256 against what the archive recorded. Returns the
    /// bytes written.
    pub fn download(&mut self, id: &str, out: &mut dyn Write, to: &Path) -> Result<u64> {
        let address = self.address.clone();
        let err = |e: postgres::Error| address.error("downloading a session", describe(&e));
        let mut tx = self.client.transaction().map_err(err)?;
        let head = tx
            .query_opt(
                "SELECT raw_bytes, sha256 FROM sessions WHERE id = $1",
                &[&id],
            )
            .map_err(err)?
            .ok_or_else(|| {
                address.error(
                    "downloading a session",
                    format!("{id} is not in the archive"),
                )
            })?;
        let (raw_bytes, sha256): (i64, String) = (head.get(0), head.get(1));
        let offsets: Vec<(i64, i64)> = tx
            .query(
                "SELECT raw_offset, raw_len FROM chunks WHERE session_id = $1 ORDER BY raw_offset",
                &[&id],
            )
            .map_err(err)?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let mut hash = Sha256::new();
        let mut written = 0i64;
        for (offset, len) in offsets {
            if offset != written {
                return Err(address.error(
                    "downloading a session",
                    format!("{id}: the archive's bytes have a gap at {written}"),
                ));
            }
            let data: Vec<u8> = tx
                .query_one(
                    "SELECT data FROM chunks WHERE session_id = $1 AND raw_offset = $2",
                    &[&id, &offset],
                )
                .map_err(err)?
                .get(0);
            let raw = zstd::decode_all(&data[..]).map_err(|e| {
                address.error(
                    "downloading a session",
                    format!("{id}: a chunk does not decode: {e}"),
                )
            })?;
            if raw.len() as i64 != len {
                return Err(address.error(
                    "downloading a session",
                    format!("{id}: a chunk decodes to {} bytes, not {len}", raw.len()),
                ));
            }
            hash.update(&raw);
            out.write_all(&raw)
                .map_err(|e| Error::io(to, "writing the download", e))?;
            written += len;
        }
        tx.commit().map_err(err)?;
        let got = hex(&hash.finalize());
        if written != raw_bytes || got != sha256 {
            return Err(address.error(
                "downloading a session",
                format!(
                    "{id}: downloaded {written} bytes with SHA-256 {got}, the archive recorded {raw_bytes} bytes with {sha256}"
                ),
            ));
        }
        Ok(written as u64)
    }
}

/// The schema version in `c` (0 when there is no schema yet).
fn version_in(c: &mut impl postgres::GenericClient) -> std::result::Result<i64, postgres::Error> {
    let exists: bool = c
        .query_one("SELECT to_regclass('rolldex_schema') IS NOT NULL", &[])?
        .get(0);
    if !exists {
        return Ok(0);
    }
    Ok(c.query_opt("SELECT version FROM rolldex_schema", &[])?
        .map_or(0, |r| i64::from(r.get::<_, i32>(0))))
}

/// Lowercase hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A driver error with its causes: the driver's own text is only its kind ("db error").
fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return db.message().to_string();
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

const SESSION_COLUMNS: &str = "s.id, s.rel_path, s.created_ms, s.updated_ms, s.cwd, s.repo_key, \
     s.git_url, s.git_branch, s.git_commit, s.title, s.source, s.model, s.items, s.messages, \
     s.tool_calls, s.errors, s.tokens, s.raw_bytes, s.stored_bytes, s.archived, \
     s.forked_from_id, s.name, s.parent_id, s.agent_nickname, s.agent_role, s.host, s.agent";
const SESSION_COLUMN_COUNT: usize = 27;

/// A `session_tokens` row from column `at` on: model, band, fast, then the kinds.
fn spent_row(r: &Row, at: usize) -> (crate::cost::Bucket, crate::cost::Tokens) {
    let n = |i: usize| r.get::<_, i64>(at + i).max(0) as u64;
    (
        crate::cost::Bucket {
            model: r.get(at),
            band: crate::cost::Band::from_i64(r.get(at + 1)),
            fast: r.get(at + 2),
        },
        crate::cost::Tokens {
            input: n(3),
            cache_read: n(4),
            cache_write_5m: n(5),
            cache_write_1h: n(6),
            output: n(7),
            reasoning: n(8),
        },
    )
}

fn session_from_row(r: &Row) -> Session {
    Session {
        id: r.get(0),
        path: r.get(1),
        created_ms: r.get(2),
        updated_ms: r.get(3),
        cwd: r.get(4),
        repo: r.get(5),
        repository_url: r.get(6),
        branch: r.get(7),
        commit: r.get(8),
        title: r.get(9),
        source: r.get(10),
        model: r.get(11),
        items: r.get(12),
        messages: r.get(13),
        tool_calls: r.get(14),
        errors: r.get(15),
        tokens: r.get(16),
        raw_bytes: r.get(17),
        stored_bytes: r.get(18),
        // The archive holds zstd frames whatever the machine had.
        compressed: true,
        archived: r.get(19),
        forked_from_id: r.get(20),
        name: r.get(21),
        parent_id: r.get(22),
        agent_nickname: r.get(23),
        agent_role: r.get(24),
        pinned: false,
        host: r.get(25),
        agent: r.get(26),
        preserved: false,
        spent: None,
    }
}

fn limit_i64(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// `ts_headline` options: the marks around matched words, one fragment of ~24 words.
fn headline_options(marks: &(String, String)) -> String {
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    format!(
        "StartSel={}, StopSel={}, MaxWords=24, MinWords=8, ShortWord=0, MaxFragments=1, FragmentDelimiter=\"…\"",
        quote(&marks.0),
        quote(&marks.1)
    )
}

/// The `tsquery` expression for what a person typed, its texts as parameters of `w`: each
/// word through `plainto_tsquery`, each `"phrase"` through `phraseto_tsquery`, a `prefix*`
/// as a phrase whose last word matches as a prefix; all must match. PostgreSQL's own
/// parser splits them, so they match the words its `to_tsvector` stored.
fn tsquery(input: &str, w: &mut Where) -> Result<String> {
    let mut parts = Vec::new();
    let cleaned = input.replace('\0', " ");
    let mut rest = cleaned.trim();
    while !rest.is_empty() {
        let (term, phrase, prefix, after) = if let Some(quoted) = rest.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => (&quoted[..end], true, false, &quoted[end + 1..]),
                None => (quoted, true, false, ""),
            }
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let word = &rest[..end];
            match word.strip_suffix('*') {
                Some(wd) => (wd, false, true, &rest[end..]),
                None => (word, false, false, &rest[end..]),
            }
        };
        rest = after.trim_start();
        if !term.chars().any(char::is_alphanumeric) {
            continue;
        }
        let p = w.param(term.to_string());
        parts.push(if prefix {
            // A query of no word would not cast; the `CASE` keeps it empty instead.
            format!(
                "(CASE WHEN numnode(phraseto_tsquery('simple', {p})) = 0 THEN ''::tsquery
                  ELSE (phraseto_tsquery('simple', {p})::text || ':*')::tsquery END)"
            )
        } else if phrase {
            format!("phraseto_tsquery('simple', {p})")
        } else {
            format!("plainto_tsquery('simple', {p})")
        });
    }
    if parts.is_empty() {
        return Err(Error::BadArgument(format!(
            "search {input:?}: no word to search for"
        )));
    }
    Ok(parts.join(" && "))
}

/// SQL conditions on `sessions s` and their parameters (`$1`, `$2`... in order).
struct Where {
    sql: Vec<String>,
    params: Vec<Box<dyn ToSql + Sync>>,
}

impl Where {
    fn param(&mut self, v: impl ToSql + Sync + 'static) -> String {
        self.params.push(Box::new(v));
        format!("${}", self.params.len())
    }

    fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params.iter().map(|p| p.as_ref()).collect()
    }

    fn and(&self) -> String {
        self.sql.iter().map(|c| format!(" AND {c}")).collect()
    }

    fn build(f: &Filters) -> Result<Where> {
        let mut w = Where {
            sql: Vec::new(),
            params: Vec::new(),
        };
        if let Some(repo) = &f.repo {
            let (wanted, is_url) = crate::query::wanted_repo(repo)?;
            let p = w.param(wanted.clone());
            if is_url {
                w.sql.push(format!("s.repo_key = {p}"));
            } else {
                let suffix = w.param(format!("/{wanted}"));
                w.sql.push(format!(
                    "(s.repo_key = {p} OR right(s.repo_key, length({suffix})) = {suffix})"
                ));
            }
        }
        if let Some(branch) = &f.branch {
            let p = w.param(branch.clone());
            w.sql.push(format!("s.git_branch = {p}"));
        }
        if let Some(commit) = &f.commit {
            let prefix = crate::query::commit_prefix(commit)?;
            let lo = w.param(prefix.clone());
            let hi = w.param(format!("{prefix}g"));
            w.sql
                .push(format!("(s.git_commit >= {lo} AND s.git_commit < {hi})"));
        }
        if let Some(dir) = &f.cwd {
            let dir = crate::query::normalize_dir(dir)?;
            if dir != "/" {
                let a = w.param(dir.clone());
                let b = w.param(format!("{dir}/"));
                let c = w.param(format!("{dir}0"));
                w.sql
                    .push(format!("(s.cwd = {a} OR (s.cwd >= {b} AND s.cwd < {c}))"));
            }
        }
        if let Some(since) = f.since_ms {
            let p = w.param(since);
            w.sql.push(format!("s.updated_ms >= {p}"));
        }
        if let Some(until) = f.until_ms {
            let p = w.param(until);
            w.sql
                .push(format!("coalesce(s.created_ms, s.updated_ms) <= {p}"));
        }
        if let Some(name) = &f.name {
            let p = w.param(crate::query::name_filter_key(name)?);
            w.sql.push(format!("strpos(lower(s.name), {p}) > 0"));
        }
        if f.roots {
            w.sql.push("s.parent_id IS NULL".into());
        }
        if let Some(agent) = &f.agent {
            let p = w.param(agent.clone());
            w.sql.push(format!("s.agent = {p}"));
        }
        Ok(w)
    }
}

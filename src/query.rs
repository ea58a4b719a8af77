//! Questions asked of the index: list sessions, search items, find a session by id, stats.
//!
//! Every query is a read on a pooled read-only connection. User input never reaches SQL
//! as text: values are bound parameters, search words are quoted into FTS5 phrases, and a
//! repository given in any spelling is first resolved to the keys the index holds.

use std::path::{Component, Path, PathBuf};

use rusqlite::types::Value;
use rusqlite::{Connection, Row, params_from_iter};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime, Time, UtcOffset};

use crate::cost::{Band, Bucket, Spent, Tokens};
use crate::error::{Error, Result};
use crate::layout;
use crate::repo_url::repo_key;

/// How many of the newest matches `--rank` orders by relevance: ranking every match of a
/// common word (bm25 over a million rows) takes seconds, the newest few thousand do not.
pub const RANK_WINDOW: i64 = 2000;

/// What to narrow sessions to. Empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    /// A repository: any URL spelling, `host/owner/repo`, `owner/repo` or the bare name.
    pub repo: Option<String>,
    /// Exact branch name.
    pub branch: Option<String>,
    /// A commit hash prefix (4 to 40 hex digits).
    pub commit: Option<String>,
    /// Sessions that ran in this folder or below it.
    pub cwd: Option<PathBuf>,
    /// Sessions active at or after this instant (unix ms).
    pub since_ms: Option<i64>,
    /// Sessions started at or before this instant (unix ms).
    pub until_ms: Option<i64>,
    /// Sessions whose current name contains this text, case-insensitively.
    pub name: Option<String>,
    /// Top-level sessions only: no subagents.
    pub roots: bool,
    /// Sessions of this agent only (`codex`, `claude`).
    pub agent: Option<String>,
}

/// A session as the index knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Session {
    /// Lowercase session uuid.
    pub id: String,
    /// Its authoritative rollout file.
    pub path: String,
    /// Start (unix ms).
    pub created_ms: Option<i64>,
    /// Last activity (unix ms).
    pub updated_ms: i64,
    /// Working directory.
    pub cwd: Option<String>,
    /// Normalized repository key `host/owner/repo`.
    pub repo: Option<String>,
    /// Origin URL without credentials.
    pub repository_url: Option<String>,
    /// Git branch.
    pub branch: Option<String>,
    /// Git commit.
    pub commit: Option<String>,
    /// First message the person typed.
    pub title: Option<String>,
    /// `cli`, `vscode`, `exec`...
    pub source: Option<String>,
    /// Last model used.
    pub model: Option<String>,
    /// Searchable items.
    pub items: i64,
    /// Message items.
    pub messages: i64,
    /// Tool calls.
    pub tool_calls: i64,
    /// Malformed lines.
    pub errors: i64,
    /// Total tokens.
    pub tokens: i64,
    /// Decompressed size.
    pub raw_bytes: i64,
    /// Size on disk.
    pub stored_bytes: i64,
    /// Stored as `.zst`.
    pub compressed: bool,
    /// Under `archived_sessions/`.
    pub archived: bool,
    /// The session it was forked from.
    pub forked_from_id: Option<String>,
    /// The name the person gave it (`session_index.jsonl`), if any.
    pub name: Option<String>,
    /// The session that spawned it, for a subagent.
    pub parent_id: Option<String>,
    /// What its parent calls it, for a subagent.
    pub agent_nickname: Option<String>,
    /// Its role, for a subagent (`explorer`, `worker`...).
    pub agent_role: Option<String>,
    /// Pinned by the person (from the pins file; set by [`crate::Home`]).
    pub pinned: bool,
    /// The machine it was pushed from, for a session from a team archive.
    pub host: Option<String>,
    /// The agent that wrote it: `codex`, `claude` (see [`crate::agents::Agent`]).
    pub agent: String,
    /// Read from rolldex's preserved copy: the agent's own file is gone (set by
    /// [`crate::Home`]; see [`crate::preserve`]).
    pub preserved: bool,
    /// The tokens each model spent, by kind, when asked for ([`crate::Home::load_spent`]):
    /// what [`crate::cost::Prices::cost`] prices.
    pub spent: Option<Spent>,
}

impl Session {
    /// What to call it: its name, else its title.
    pub fn label(&self) -> Option<&str> {
        self.name.as_deref().or(self.title.as_deref())
    }

    /// `name · title` when it has both (and they differ), else whichever it has.
    pub fn name_and_title(&self) -> Option<String> {
        match (self.name.as_deref(), self.title.as_deref()) {
            (Some(n), Some(t)) if n != t => Some(format!("{n} · {t}")),
            _ => self.label().map(str::to_string),
        }
    }
}

const SESSION_COLUMNS: &str = "s.id, s.path, s.created_ms, s.updated_ms, s.cwd, s.repo_key, \
     s.git_url, s.git_branch, s.git_commit, s.title, s.source, s.model, s.items, s.messages, \
     s.tool_calls, s.errors, s.tokens, s.raw_bytes, s.stored_bytes, s.compressed, s.archived, \
     s.forked_from_id, n.name, s.parent_id, s.agent_nickname, s.agent_role, s.agent";
const SESSION_COLUMN_COUNT: usize = 27;
/// The tables every session query reads: a session and its current name.
const SESSION_TABLES: &str = "sessions s LEFT JOIN names n ON n.id = s.id";

fn session_from_row(r: &Row<'_>) -> rusqlite::Result<Session> {
    Ok(Session {
        id: r.get(0)?,
        path: r.get(1)?,
        created_ms: r.get(2)?,
        updated_ms: r.get(3)?,
        cwd: r.get(4)?,
        repo: r.get(5)?,
        repository_url: r.get(6)?,
        branch: r.get(7)?,
        commit: r.get(8)?,
        title: r.get(9)?,
        source: r.get(10)?,
        model: r.get(11)?,
        items: r.get(12)?,
        messages: r.get(13)?,
        tool_calls: r.get(14)?,
        errors: r.get(15)?,
        tokens: r.get(16)?,
        raw_bytes: r.get(17)?,
        stored_bytes: r.get(18)?,
        compressed: r.get(19)?,
        archived: r.get(20)?,
        forked_from_id: r.get(21)?,
        name: r.get(22)?,
        parent_id: r.get(23)?,
        agent_nickname: r.get(24)?,
        agent_role: r.get(25)?,
        pinned: false,
        host: None,
        agent: r.get(26)?,
        preserved: false,
        spent: None,
    })
}

/// A search hit: an item and its session.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The session.
    pub session: Session,
    /// The item's line number in the rollout.
    pub seq: i64,
    /// The item's timestamp (unix ms), when the line had one.
    pub ts_ms: Option<i64>,
    /// The line's `ordinal` (paginated history), when written.
    pub ordinal: Option<i64>,
    /// The item's kind (`message`, `function_call`...).
    pub kind: String,
    /// The message role, for messages.
    pub role: Option<String>,
    /// The matching part of the item's text.
    pub snippet: String,
    /// bm25 relevance (lower is better), with `rank`.
    pub score: Option<f64>,
}

/// A full-text search: what to look for, in which sessions, how many hits, in what order.
///
/// ```
/// use rolldex::query::{Order, SearchQuery};
/// let q = SearchQuery::new("mismatched types").limit(5).order(Order::Rank);
/// assert_eq!(q.limit, 5);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    /// The words, as a person typed them (see [`fts_query`]).
    pub text: String,
    /// Which sessions to look in.
    pub filters: Filters,
    /// At most this many hits.
    pub limit: usize,
    /// Newest first, or by relevance.
    pub order: Order,
    /// Put around matched words in snippets (`("", "")` for none).
    pub marks: (String, String),
}

impl SearchQuery {
    /// A search for `text` in every session: the 20 newest hits, no marks.
    pub fn new(text: impl Into<String>) -> Self {
        SearchQuery {
            text: text.into(),
            filters: Filters::default(),
            limit: 20,
            order: Order::Newest,
            marks: (String::new(), String::new()),
        }
    }

    /// Only in the sessions `filters` selects.
    pub fn filters(mut self, filters: Filters) -> Self {
        self.filters = filters;
        self
    }

    /// At most `limit` hits.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// In this order.
    pub fn order(mut self, order: Order) -> Self {
        self.order = order;
        self
    }

    /// Matched words in snippets between `open` and `close` (e.g. terminal bold).
    pub fn marks(mut self, open: &str, close: &str) -> Self {
        self.marks = (open.to_string(), close.to_string());
        self
    }
}

/// How search orders hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// Most recently indexed first (sessions by start, items by line).
    #[default]
    Newest,
    /// By bm25 relevance among the [`RANK_WINDOW`] newest matches.
    Rank,
}

/// SQL conditions and their parameters for a set of filters.
struct Where {
    sql: Vec<String>,
    params: Vec<Value>,
    /// The filters cannot match anything (e.g. no indexed repo matches `--repo`).
    impossible: bool,
}

impl Where {
    fn build(conn: &Connection, db: &Path, f: &Filters) -> Result<Where> {
        let mut w = Where {
            sql: Vec::new(),
            params: Vec::new(),
            impossible: false,
        };
        if let Some(repo) = &f.repo {
            let keys = matching_repo_keys(conn, db, repo)?;
            if keys.is_empty() {
                w.impossible = true;
            } else {
                let marks = vec!["?"; keys.len()].join(", ");
                w.sql.push(format!("s.repo_key IN ({marks})"));
                w.params.extend(keys.into_iter().map(Value::Text));
            }
        }
        if let Some(branch) = &f.branch {
            w.sql.push("s.git_branch = ?".into());
            w.params.push(Value::Text(branch.clone()));
        }
        if let Some(commit) = &f.commit {
            let prefix = commit_prefix(commit)?;
            // A range on the column: every hex continuation of the prefix sorts below "g".
            w.sql
                .push("(s.git_commit >= ? AND s.git_commit < ?)".into());
            w.params.push(Value::Text(prefix.clone()));
            w.params.push(Value::Text(format!("{prefix}g")));
        }
        if let Some(dir) = &f.cwd {
            let dir = normalize_dir(dir)?;
            if dir != "/" {
                // DIR itself, or anything below it: "DIR/..." sorts between "DIR/" and "DIR0".
                w.sql
                    .push("(s.cwd = ? OR (s.cwd >= ? AND s.cwd < ?))".into());
                w.params.push(Value::Text(dir.clone()));
                w.params.push(Value::Text(format!("{dir}/")));
                w.params.push(Value::Text(format!("{dir}0")));
            }
        }
        if let Some(since) = f.since_ms {
            w.sql.push("s.updated_ms >= ?".into());
            w.params.push(Value::Integer(since));
        }
        if let Some(until) = f.until_ms {
            w.sql
                .push("coalesce(s.created_ms, s.updated_ms) <= ?".into());
            w.params.push(Value::Integer(until));
        }
        if let Some(name) = &f.name {
            let key = name_filter_key(name)?;
            w.sql.push("instr(n.name_key, ?) > 0".into());
            w.params.push(Value::Text(key));
        }
        if f.roots {
            w.sql.push("s.parent_id IS NULL".into());
        }
        if let Some(agent) = &f.agent {
            w.sql.push("s.agent = ?".into());
            w.params.push(Value::Text(agent.clone()));
        }
        Ok(w)
    }

    /// ` AND cond AND cond...`, or nothing.
    fn and(&self) -> String {
        self.sql.iter().map(|c| format!(" AND {c}")).collect()
    }
}

/// What `--commit` asks for: a lowercase hex prefix of 4 to 64 digits.
pub(crate) fn commit_prefix(commit: &str) -> Result<String> {
    let prefix = commit.trim().to_ascii_lowercase();
    if prefix.len() < 4 || prefix.len() > 64 || !prefix.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::BadArgument(format!(
            "--commit {commit:?}: give at least 4 hex digits of a commit hash"
        )));
    }
    Ok(prefix)
}

/// What `--name` asks for: the name key sessions' names must contain (never empty).
pub(crate) fn name_filter_key(name: &str) -> Result<String> {
    let key = crate::names::name_key(name);
    if key.is_empty() {
        return Err(Error::BadArgument(
            "--name: give some text to look for".into(),
        ));
    }
    Ok(key)
}

/// What `--repo` asks for: the key a URL names (exactly), or the `host/owner/repo`,
/// `owner/repo` or `repo` that keys must end with; and whether it was a URL.
pub(crate) fn wanted_repo(repo: &str) -> Result<(String, bool)> {
    let is_url = repo.contains("://") || (repo.contains('@') && repo.contains(':'));
    let wanted = if is_url {
        repo_key(repo)
    } else {
        let r = repo.trim().trim_matches('/').to_lowercase();
        let r = r.strip_suffix(".git").unwrap_or(&r).to_string();
        (!r.is_empty()).then_some(r)
    };
    match wanted {
        Some(w) => Ok((w, is_url)),
        None => Err(Error::BadArgument(format!(
            "--repo {repo:?}: empty repository"
        ))),
    }
}

/// The repository keys in the index that `repo` names. A URL (any spelling) names one key
/// exactly; `host/owner/repo`, `owner/repo` or `repo` match the keys ending with it.
pub fn matching_repo_keys(conn: &Connection, db: &Path, repo: &str) -> Result<Vec<String>> {
    let dberr = |e| Error::db(db, "listing repositories", e);
    let (wanted, is_url) = wanted_repo(repo)?;
    // The distinct keys, by hopping through the repo index from one key to the next: a
    // few lookups per repository instead of a scan of every session (DISTINCT reads the
    // whole index: 5 ms at 100k sessions).
    let mut stmt = conn
        .prepare_cached("SELECT min(repo_key) FROM sessions WHERE repo_key > ?1")
        .map_err(dberr)?;
    let mut keys = Vec::new();
    let mut last = String::new();
    while let Some(key) = stmt
        .query_row([&last], |r| r.get::<_, Option<String>>(0))
        .map_err(dberr)?
    {
        last.clone_from(&key);
        keys.push(key);
    }
    let suffix = format!("/{wanted}");
    Ok(keys
        .into_iter()
        .filter(|k| *k == wanted || (!is_url && k.ends_with(&suffix)))
        .collect())
}

/// An absolute, lexically clean folder (no trailing slash, no `.`/`..`).
pub(crate) fn normalize_dir(dir: &Path) -> Result<String> {
    let abs = std::path::absolute(dir)
        .map_err(|e| Error::BadArgument(format!("--cwd {}: {e}", dir.display())))?;
    let mut clean = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                clean.pop();
            }
            Component::CurDir => {}
            other => clean.push(other),
        }
    }
    clean
        .to_str()
        .map(str::to_owned)
        .ok_or_else(|| Error::BadArgument(format!("--cwd {}: not UTF-8", dir.display())))
}

/// Sessions matching `filters`, newest activity first.
pub fn list(conn: &Connection, db: &Path, filters: &Filters, limit: usize) -> Result<Vec<Session>> {
    let Some((sql, params)) = list_sql(conn, db, filters, limit)? else {
        return Ok(Vec::new());
    };
    let dberr = |e| Error::db(db, "listing sessions", e);
    let mut stmt = conn.prepare(&sql).map_err(dberr)?;
    let rows = stmt
        .query_map(params_from_iter(params), session_from_row)
        .map_err(dberr)?;
    rows.collect::<rusqlite::Result<_>>().map_err(dberr)
}

/// The statement `list` runs, `None` when nothing can match.
fn list_sql(
    conn: &Connection,
    db: &Path,
    filters: &Filters,
    limit: usize,
) -> Result<Option<(String, Vec<Value>)>> {
    let w = Where::build(conn, db, filters)?;
    if w.impossible {
        return Ok(None);
    }
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM {SESSION_TABLES} WHERE 1{} ORDER BY s.updated_ms DESC LIMIT ?",
        w.and()
    );
    let mut params = w.params;
    params.push(Value::Integer(limit_i64(limit)));
    Ok(Some((sql, params)))
}

/// How many sessions match `filters`.
pub fn count(conn: &Connection, db: &Path, filters: &Filters) -> Result<u64> {
    let w = Where::build(conn, db, filters)?;
    if w.impossible {
        return Ok(0);
    }
    let sql = format!("SELECT count(*) FROM {SESSION_TABLES} WHERE 1{}", w.and());
    conn.query_row(&sql, params_from_iter(w.params), |r| r.get::<_, i64>(0))
        .map(|n| n as u64)
        .map_err(|e| Error::db(db, "counting sessions", e))
}

fn limit_i64(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// Turns what a person typed into an FTS5 query that cannot be a syntax error: every word
/// becomes a quoted phrase (so `AND`, `-`, `:` or `(` are just text), `"several words"`
/// stays a phrase, and a trailing `*` asks for a prefix. All words must match.
pub fn fts_query(input: &str) -> Result<String> {
    let mut terms = Vec::new();
    // SQLite reads the query as a C string: a NUL would end it inside a quoted phrase (an
    // "unterminated string"). It separates words here, as the tokenizer would.
    let spaced;
    let mut rest = if input.contains('\0') {
        spaced = input.replace('\0', " ");
        spaced.trim()
    } else {
        input.trim()
    };
    while !rest.is_empty() {
        let (term, prefix, after) = if let Some(quoted) = rest.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => (&quoted[..end], false, &quoted[end + 1..]),
                None => (quoted, false, ""),
            }
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let word = &rest[..end];
            match word.strip_suffix('*') {
                Some(w) => (w, true, &rest[end..]),
                None => (word, false, &rest[end..]),
            }
        };
        rest = after.trim_start();
        // A term without a letter or digit tokenizes to nothing: leave it out.
        if !term.chars().any(char::is_alphanumeric) {
            continue;
        }
        let quoted = format!("\"{}\"", term.replace('"', "\"\""));
        terms.push(if prefix { format!("{quoted}*") } else { quoted });
    }
    if terms.is_empty() {
        return Err(Error::BadArgument(format!(
            "search {input:?}: no word to search for"
        )));
    }
    Ok(terms.join(" "))
}

/// Full-text search over item summaries.
pub fn search(conn: &Connection, db: &Path, q: &SearchQuery) -> Result<Vec<Hit>> {
    let Some((sql, params)) = search_sql(conn, db, q)? else {
        return Ok(Vec::new());
    };
    let dberr = |e| Error::db(db, "searching", e);
    let mut stmt = conn.prepare(&sql).map_err(dberr)?;
    let n = SESSION_COLUMN_COUNT;
    let rows = stmt
        .query_map(params_from_iter(params), |r| {
            Ok(Hit {
                session: session_from_row(r)?,
                seq: r.get(n)?,
                ts_ms: r.get(n + 1)?,
                kind: r.get(n + 2)?,
                role: r.get(n + 3)?,
                snippet: r.get(n + 4)?,
                score: r.get(n + 5)?,
                ordinal: r.get(n + 6)?,
            })
        })
        .map_err(dberr)?;
    rows.collect::<rusqlite::Result<_>>().map_err(dberr)
}

/// The statement `search` runs, `None` when nothing can match.
fn search_sql(
    conn: &Connection,
    db: &Path,
    q: &SearchQuery,
) -> Result<Option<(String, Vec<Value>)>> {
    let (filters, limit, order) = (&q.filters, q.limit, q.order);
    let fts = fts_query(&q.text)?;
    let w = Where::build(conn, db, filters)?;
    if w.impossible {
        return Ok(None);
    }
    let snippet = "snippet(items_fts, 0, ?, ?, '…', 24)";
    // FTS5 walks its matches in rowid order, so newest-first with a LIMIT never sorts
    // the whole match set.
    let sql = match order {
        Order::Newest => format!(
            "SELECT {SESSION_COLUMNS}, i.seq, i.ts_ms, i.kind, i.role, {snippet}, NULL, i.ordinal
             FROM items_fts JOIN items i ON i.rowid = items_fts.rowid
             JOIN sessions s ON s.key = i.session_key LEFT JOIN names n ON n.id = s.id
             WHERE items_fts MATCH ?{} ORDER BY items_fts.rowid DESC LIMIT ?",
            w.and()
        ),
        // Scores for the window, snippets for the hits shown only: a snippet costs far more
        // than a bm25 score.
        Order::Rank => format!(
            "WITH recent AS MATERIALIZED (
                SELECT items_fts.rowid AS rid, bm25(items_fts) AS score
                FROM items_fts JOIN items i ON i.rowid = items_fts.rowid
                JOIN sessions s ON s.key = i.session_key LEFT JOIN names n ON n.id = s.id
                WHERE items_fts MATCH ?{} ORDER BY items_fts.rowid DESC LIMIT {RANK_WINDOW}),
             top AS MATERIALIZED (
                SELECT rid, score FROM recent ORDER BY score, rid DESC LIMIT ?)
             SELECT {SESSION_COLUMNS}, i.seq, i.ts_ms, i.kind, i.role, {snippet}, top.score,
                i.ordinal
             FROM top JOIN items_fts ON items_fts.rowid = top.rid
             JOIN items i ON i.rowid = top.rid
             JOIN sessions s ON s.key = i.session_key LEFT JOIN names n ON n.id = s.id
             WHERE items_fts MATCH ?
             ORDER BY top.score, top.rid DESC",
            w.and()
        ),
    };
    // Parameters in the order their `?` appear.
    let marks = [
        Value::Text(q.marks.0.clone()),
        Value::Text(q.marks.1.clone()),
    ];
    let limit = Value::Integer(limit_i64(limit));
    let mut params = Vec::new();
    match order {
        Order::Newest => {
            params.extend(marks);
            params.push(Value::Text(fts));
            params.extend(w.params);
            params.push(limit);
        }
        Order::Rank => {
            params.push(Value::Text(fts.clone()));
            params.extend(w.params);
            params.push(limit);
            params.extend(marks);
            params.push(Value::Text(fts));
        }
    }
    Ok(Some((sql, params)))
}

/// Sessions whose id starts with `prefix` (a uuid prefix, dashes optional), at most a few.
pub fn find_by_prefix(conn: &Connection, db: &Path, prefix: &str) -> Result<Vec<Session>> {
    let hex = layout::normalize_id_prefix(prefix)?;
    // The stored ids are dashed: put the dashes where a uuid has them.
    let mut dashed = String::with_capacity(36);
    if hex.starts_with(layout::AGENT_ID_PREFIX) {
        dashed.push_str(&hex);
    } else {
        for (i, c) in hex.chars().enumerate() {
            if matches!(i, 8 | 12 | 16 | 20) {
                dashed.push('-');
            }
            dashed.push(c);
        }
    }
    let sql = find_sql();
    let dberr = |e| Error::db(db, "looking up a session", e);
    let mut stmt = conn.prepare_cached(&sql).map_err(dberr)?;
    // '~' sorts after every hex digit and '-'.
    let rows = stmt
        .query_map([dashed.clone(), format!("{dashed}~")], session_from_row)
        .map_err(dberr)?;
    rows.collect::<rusqlite::Result<_>>().map_err(dberr)
}

/// The statement `find_by_prefix` runs: a range on the unique id index.
fn find_sql() -> String {
    format!(
        "SELECT {SESSION_COLUMNS} FROM {SESSION_TABLES} WHERE s.id >= ?1 AND s.id < ?2 ORDER BY s.id LIMIT 50"
    )
}

/// Sessions whose current name is `name`, compared case-insensitively (at most a few).
pub fn find_by_name(conn: &Connection, db: &Path, name: &str) -> Result<Vec<Session>> {
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM names n JOIN sessions s ON s.id = n.id
         WHERE n.name_key = ?1 ORDER BY s.updated_ms DESC LIMIT 50"
    );
    let dberr = |e| Error::db(db, "looking up a session by name", e);
    let mut stmt = conn.prepare_cached(&sql).map_err(dberr)?;
    let rows = stmt
        .query_map([crate::names::name_key(name)], session_from_row)
        .map_err(dberr)?;
    rows.collect::<rusqlite::Result<_>>().map_err(dberr)
}

/// The session with exactly this id, if the index knows it.
pub fn get(conn: &Connection, db: &Path, id: &str) -> Result<Option<Session>> {
    use rusqlite::OptionalExtension;
    let sql = format!("SELECT {SESSION_COLUMNS} FROM {SESSION_TABLES} WHERE s.id = ?1");
    let dberr = |e| Error::db(db, "looking up a session", e);
    let mut stmt = conn.prepare_cached(&sql).map_err(dberr)?;
    stmt.query_row([id.trim().to_ascii_lowercase()], session_from_row)
        .optional()
        .map_err(dberr)
}

/// One searchable item as the index holds it (what a team archive push sends).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Its line number in the rollout.
    pub seq: i64,
    /// Its timestamp (unix ms), when the line had one.
    pub ts_ms: Option<i64>,
    /// Its kind (`message`, `function_call`...).
    pub kind: String,
    /// The message role, for messages.
    pub role: Option<String>,
    /// Its summary, the searchable text.
    pub summary: String,
    /// The line's `ordinal`, when written.
    pub ordinal: Option<i64>,
}

/// A session's decompressed bytes by kind, in [`crate::usage::Kind::ALL`] order.
pub fn bytes_by_kind(conn: &Connection, db: &Path, id: &str) -> Result<Vec<i64>> {
    use crate::usage::Kind;
    let columns: Vec<String> = Kind::ALL
        .iter()
        .map(|k| format!("bytes_{}", k.as_str()))
        .collect();
    let sql = format!("SELECT {} FROM sessions WHERE id = ?1", columns.join(", "));
    conn.query_row(&sql, [id], |r| {
        (0..Kind::ALL.len())
            .map(|i| r.get::<_, i64>(i))
            .collect::<rusqlite::Result<Vec<i64>>>()
    })
    .map_err(|e| Error::db(db, "reading a session's sizes", e))
}

/// A session's items after line `after`, in line order.
pub fn items_after(conn: &Connection, db: &Path, id: &str, after: i64) -> Result<Vec<Item>> {
    let dberr = |e| Error::db(db, "reading a session's items", e);
    let mut stmt = conn
        .prepare_cached(
            "SELECT i.seq, i.ts_ms, i.kind, i.role, i.summary, i.ordinal
             FROM sessions s JOIN items i ON i.session_key = s.key
             WHERE s.id = ?1 AND i.seq > ?2 ORDER BY i.seq",
        )
        .map_err(dberr)?;
    let rows = stmt
        .query_map(rusqlite::params![id, after], |r| {
            Ok(Item {
                seq: r.get(0)?,
                ts_ms: r.get(1)?,
                kind: r.get(2)?,
                role: r.get(3)?,
                summary: r.get(4)?,
                ordinal: r.get(5)?,
            })
        })
        .map_err(dberr)?;
    rows.collect::<rusqlite::Result<_>>().map_err(dberr)
}

/// The subagents `parent_id` spawned, oldest first.
pub fn children(conn: &Connection, db: &Path, parent_id: &str) -> Result<Vec<Session>> {
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM {SESSION_TABLES} WHERE s.parent_id = ?1
         ORDER BY coalesce(s.created_ms, s.updated_ms), s.id"
    );
    let dberr = |e| Error::db(db, "listing subagents", e);
    let mut stmt = conn.prepare_cached(&sql).map_err(dberr)?;
    let rows = stmt
        .query_map([parent_id.trim().to_ascii_lowercase()], session_from_row)
        .map_err(dberr)?;
    rows.collect::<rusqlite::Result<_>>().map_err(dberr)
}

/// Sessions in tree order for display: each one followed by the subagents of it that are
/// in `sessions` (at any time, recursively, in their original order), with their depth.
/// Sessions whose parent is not in `sessions` stay top-level, in their original order.
pub fn tree_order(sessions: &[Session]) -> Vec<(usize, &Session)> {
    use std::collections::{HashMap, HashSet};
    let present: HashSet<&str> = sessions.iter().map(|s| s.id.as_str()).collect();
    let mut kids: HashMap<&str, Vec<&Session>> = HashMap::new();
    let mut roots = Vec::new();
    for s in sessions {
        match s.parent_id.as_deref() {
            Some(p) if present.contains(p) && p != s.id => kids.entry(p).or_default().push(s),
            _ => roots.push(s),
        }
    }
    let mut out = Vec::with_capacity(sessions.len());
    let mut seen: HashSet<&str> = HashSet::new();
    // Roots first; then whatever a parent cycle in damaged files left unreached (every
    // member of a cycle is somebody's child, so none of them is a root).
    for start in roots.into_iter().chain(sessions) {
        // Depth-first with an explicit stack: subagents can nest deeply.
        let mut stack = vec![(0usize, start)];
        while let Some((depth, s)) = stack.pop() {
            if !seen.insert(s.id.as_str()) {
                continue;
            }
            out.push((depth, s));
            if let Some(children) = kids.get(s.id.as_str()) {
                stack.extend(children.iter().rev().map(|c| (depth + 1, *c)));
            }
        }
    }
    out
}

/// Every file the index knows, with its stored content checksum (set by the archive job).
pub fn indexed_files(conn: &Connection, db: &Path) -> Result<Vec<(PathBuf, Option<String>)>> {
    let dberr = |e| Error::db(db, "listing indexed files", e);
    // The files that could not be read are among them, indexed or not: verify reads them.
    let mut stmt = conn
        .prepare(
            "SELECT path, checksum FROM files
             UNION ALL
             SELECT path, NULL FROM failures WHERE path NOT IN (SELECT path FROM files)
             ORDER BY path",
        )
        .map_err(dberr)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((PathBuf::from(r.get::<_, String>(0)?), r.get(1)?))
        })
        .map_err(dberr)?;
    rows.collect::<rusqlite::Result<_>>().map_err(dberr)
}

/// The rollouts that could not be read when last seen, with what went wrong, by path. They
/// are not read again until they change (see [`crate::index::ingest`]).
pub fn unreadable_files(conn: &Connection, db: &Path) -> Result<Vec<(PathBuf, String)>> {
    let dberr = |e| Error::db(db, "listing unreadable files", e);
    let mut stmt = conn
        .prepare("SELECT path, error FROM failures ORDER BY path")
        .map_err(dberr)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((PathBuf::from(r.get::<_, String>(0)?), r.get(1)?))
        })
        .map_err(dberr)?;
    rows.collect::<rusqlite::Result<_>>().map_err(dberr)
}

/// The agents whose files `archive` compresses in place, as an SQL list: only they count
/// in what archiving would save.
fn compressible_agents() -> String {
    crate::agents::Agent::ALL
        .iter()
        .filter(|a| crate::agents::of(**a).compress_in_place())
        .map(|a| format!("'{}'", a.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where to start reading a session to show line `seq` with `back` items before it: the
/// byte offset and line number of the item `back` items before the last one at or before
/// `seq`; `None` when there are not that many (read from the start).
pub fn item_start_before(
    conn: &Connection,
    db: &Path,
    id: &str,
    seq: u64,
    back: usize,
) -> Result<Option<(u64, u64)>> {
    use rusqlite::OptionalExtension;
    conn.query_row(
        "SELECT i.offset, i.seq FROM items i JOIN sessions s ON s.key = i.session_key
         WHERE s.id = ?1 AND i.seq <= ?2 ORDER BY i.seq DESC LIMIT 1 OFFSET ?3",
        rusqlite::params![id, seq as i64, back as i64],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
    )
    .optional()
    .map_err(|e| Error::db(db, "finding where an item starts", e))
}

/// What `stats` groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// Repository key.
    Repo,
    /// Local day the session started (`YYYY-MM-DD`).
    Day,
    /// ISO week the session started, in local time (`YYYY-Www`).
    Week,
    /// Local month the session started (`YYYY-MM`).
    Month,
    /// Model: a session's items and bytes go to the model it used last, its tokens to
    /// the model that spent them.
    Model,
    /// The agent that wrote the session.
    Agent,
    /// The machine a session was pushed from (a team archive; locally, this machine).
    Host,
}

/// Totals over a group of sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// The group (`None` for the grand total or sessions without the grouped field).
    pub group: Option<String>,
    /// Sessions.
    pub sessions: i64,
    /// Searchable items.
    pub items: i64,
    /// Tokens, as the agents total them.
    pub tokens: i64,
    /// Decompressed bytes.
    pub raw_bytes: i64,
    /// Bytes on disk.
    pub stored_bytes: i64,
    /// The tokens each model spent, by kind: what the group cost.
    pub spent: Spent,
}

/// The SQL that names a session's group, and the order of groups.
fn group_sql(by: Option<GroupBy>) -> (&'static str, &'static str) {
    // Local times, from the offset read at start-up (the first parameter).
    match by {
        None => ("NULL", "1"),
        Some(GroupBy::Repo) => ("s.repo_key", "2 DESC, 1"),
        Some(GroupBy::Model) => ("s.model", "2 DESC, 1"),
        Some(GroupBy::Agent) => ("s.agent", "2 DESC, 1"),
        Some(GroupBy::Host) => ("NULL", "1"),
        Some(GroupBy::Day) => (
            "strftime('%Y-%m-%d', (coalesce(s.created_ms, s.updated_ms) / 1000) + ?, 'unixepoch')",
            "1 DESC",
        ),
        Some(GroupBy::Week) => (
            "strftime('%G-W%V', (coalesce(s.created_ms, s.updated_ms) / 1000) + ?, 'unixepoch')",
            "1 DESC",
        ),
        Some(GroupBy::Month) => (
            "strftime('%Y-%m', (coalesce(s.created_ms, s.updated_ms) / 1000) + ?, 'unixepoch')",
            "1 DESC",
        ),
    }
}

/// Totals of the sessions matching `filters`, overall or per group (biggest first; days,
/// weeks and months newest first), with what each group's models spent.
pub fn stats(
    conn: &Connection,
    db: &Path,
    filters: &Filters,
    by: Option<GroupBy>,
    offset: UtcOffset,
) -> Result<Vec<Stats>> {
    let w = Where::build(conn, db, filters)?;
    let (group, order) = group_sql(by);
    let mut params = Vec::new();
    let local = matches!(by, Some(GroupBy::Day | GroupBy::Week | GroupBy::Month));
    if local {
        params.push(Value::Integer(i64::from(offset.whole_seconds())));
    }
    let conditions = w.and();
    params.extend(w.params.iter().cloned());
    let possible = if w.impossible { "0" } else { "1" };
    let sql = format!(
        "SELECT {group}, count(*), coalesce(sum(s.items), 0), coalesce(sum(s.tokens), 0),
                coalesce(sum(s.raw_bytes), 0), coalesce(sum(s.stored_bytes), 0)
         FROM {SESSION_TABLES} WHERE {possible}{conditions} GROUP BY 1 ORDER BY {order}"
    );
    let dberr = |e| Error::db(db, "computing stats", e);
    let mut stmt = conn.prepare(&sql).map_err(dberr)?;
    let mut rows: Vec<Stats> = stmt
        .query_map(params_from_iter(params.iter()), |r| {
            Ok(Stats {
                group: r.get(0)?,
                sessions: r.get(1)?,
                items: r.get(2)?,
                tokens: r.get(3)?,
                raw_bytes: r.get(4)?,
                stored_bytes: r.get(5)?,
                spent: Spent::new(),
            })
        })
        .map_err(dberr)?
        .collect::<rusqlite::Result<_>>()
        .map_err(dberr)?;
    // What the groups' models spent: tokens of a model go to the model's group.
    let token_group = if by == Some(GroupBy::Model) {
        "t.model"
    } else {
        group
    };
    let sql = format!(
        "SELECT {token_group}, t.model, t.band, t.fast, sum(t.input), sum(t.cache_read),
                sum(t.cache_write_5m), sum(t.cache_write_1h), sum(t.output), sum(t.reasoning)
         FROM {SESSION_TABLES} JOIN session_tokens t ON t.session_key = s.key
         WHERE {possible}{conditions} GROUP BY 1, 2, 3, 4"
    );
    let mut stmt = conn.prepare(&sql).map_err(dberr)?;
    let spent = stmt
        .query_map(params_from_iter(params.iter()), |r| {
            Ok((r.get::<_, Option<String>>(0)?, spent_row(r, 1)?))
        })
        .map_err(dberr)?;
    for row in spent {
        let (g, (bucket, tokens)) = row.map_err(dberr)?;
        add_spent(&mut rows, g, bucket, &tokens);
    }
    if by == Some(GroupBy::Model) {
        tokens_as_spent(&mut rows);
    }
    Ok(rows)
}

/// Adds tokens spent in `bucket` to the row of `group`, making the row when no session
/// row has it (a model that only ever spent tokens mid-session, no session's last).
pub(crate) fn add_spent(rows: &mut Vec<Stats>, group: Option<String>, bucket: Bucket, t: &Tokens) {
    let i = match rows.iter().position(|s| s.group == group) {
        Some(i) => i,
        None => {
            rows.push(Stats {
                group,
                sessions: 0,
                items: 0,
                tokens: 0,
                raw_bytes: 0,
                stored_bytes: 0,
                spent: Spent::new(),
            });
            rows.len() - 1
        }
    };
    crate::cost::spend(&mut rows[i].spent, bucket, t);
}

/// Per model, tokens are what a row is about: each row's tokens become those it spent.
pub(crate) fn tokens_as_spent(rows: &mut [Stats]) {
    for r in rows {
        if !r.spent.is_empty() {
            r.tokens = r.spent.values().map(|t| t.total() as i64).sum();
        }
    }
}

/// A `session_tokens` row read from column `at` on: model, band, fast, then the kinds.
pub(crate) fn spent_row(r: &Row<'_>, at: usize) -> rusqlite::Result<(Bucket, Tokens)> {
    let n = |i: usize| r.get::<_, i64>(at + i).map(|v| v.max(0) as u64);
    Ok((
        Bucket {
            model: r.get(at)?,
            band: Band::from_i64(r.get(at + 1)?),
            fast: r.get(at + 2)?,
        },
        Tokens {
            input: n(3)?,
            cache_read: n(4)?,
            cache_write_5m: n(5)?,
            cache_write_1h: n(6)?,
            output: n(7)?,
            reasoning: n(8)?,
        },
    ))
}

/// What each model spent in the session `id`.
pub fn spent(conn: &Connection, db: &Path, id: &str) -> Result<Spent> {
    let dberr = |e| Error::db(db, "reading a session's tokens", e);
    let mut stmt = conn
        .prepare_cached(
            "SELECT t.model, t.band, t.fast, t.input, t.cache_read, t.cache_write_5m,
                    t.cache_write_1h, t.output, t.reasoning
             FROM session_tokens t JOIN sessions s ON s.key = t.session_key WHERE s.id = ?1",
        )
        .map_err(dberr)?;
    let rows = stmt.query_map([id], |r| spent_row(r, 0)).map_err(dberr)?;
    let mut out = Spent::new();
    for row in rows {
        let (b, t) = row.map_err(dberr)?;
        crate::cost::spend(&mut out, b, &t);
    }
    Ok(out)
}

/// What `du` groups by, besides kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageBy {
    /// Each session (the largest first).
    Session,
    /// Repository key.
    Repo,
    /// Local month the session started.
    Month,
    /// The agent that wrote the session.
    Agent,
}

/// Bytes of a group of sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageGroup {
    /// The group (a session id, repo key or `YYYY-MM`; `None` for no repository).
    pub group: Option<String>,
    /// Sessions in it.
    pub sessions: i64,
    /// Decompressed bytes.
    pub raw_bytes: i64,
    /// Bytes on disk.
    pub stored_bytes: i64,
}

/// Where the bytes of the sessions matching some filters go.
#[derive(Debug, Clone, PartialEq)]
pub struct Usage {
    /// Sessions counted.
    pub sessions: i64,
    /// Their decompressed bytes.
    pub raw_bytes: i64,
    /// Their bytes on disk.
    pub stored_bytes: i64,
    /// Decompressed bytes by kind; they sum to `raw_bytes` exactly (bytes not classified
    /// yet, such as a torn last line, are `other`).
    pub by_kind: Vec<(crate::usage::Kind, i64)>,
    /// The largest sessions, by decompressed bytes.
    pub largest: Vec<Session>,
    /// The grouping asked for.
    pub groups: Vec<UsageGroup>,
    /// Decompressed bytes of the sessions stored compressed, and their bytes on disk: the
    /// measured ratio.
    pub compressed_raw: i64,
    /// See `compressed_raw`.
    pub compressed_stored: i64,
    /// Plain sessions idle for `idle_ms` or more: what `archive` would compress now.
    pub archivable_raw: i64,
}

/// Where the bytes go: totals, by kind, the `largest` biggest sessions, the grouping
/// asked for, and what archiving plain sessions idle since `idle_before_ms` would take.
pub fn usage(
    conn: &Connection,
    db: &Path,
    filters: &Filters,
    by: Option<UsageBy>,
    largest: usize,
    idle_before_ms: i64,
    offset: UtcOffset,
) -> Result<Usage> {
    use crate::usage::Kind;
    let dberr = |e| Error::db(db, "measuring usage", e);
    let w = Where::build(conn, db, filters)?;
    let cond = format!("WHERE {}{}", if w.impossible { "0" } else { "1" }, w.and());
    let kinds: Vec<String> = Kind::ALL
        .iter()
        .map(|k| format!("coalesce(sum(s.bytes_{}), 0)", k.as_str()))
        .collect();
    let sql = format!(
        "SELECT count(*), coalesce(sum(s.raw_bytes), 0), coalesce(sum(s.stored_bytes), 0),
                coalesce(sum(CASE WHEN s.compressed THEN s.raw_bytes END), 0),
                coalesce(sum(CASE WHEN s.compressed THEN s.stored_bytes END), 0),
                coalesce(sum(CASE WHEN NOT s.compressed AND s.updated_ms < ? AND s.agent IN ({})
                    THEN s.raw_bytes END), 0),
                {}
         FROM {SESSION_TABLES} {cond}",
        compressible_agents(),
        kinds.join(", ")
    );
    let mut params = vec![Value::Integer(idle_before_ms)];
    params.extend(w.params.iter().cloned());
    let row: Vec<i64> = conn
        .query_row(&sql, params_from_iter(params), |r| {
            (0..6 + Kind::ALL.len())
                .map(|i| r.get::<_, i64>(i))
                .collect::<rusqlite::Result<Vec<i64>>>()
        })
        .map_err(dberr)?;
    let raw_bytes = row[1];
    let mut by_kind: Vec<(Kind, i64)> = Kind::ALL
        .iter()
        .enumerate()
        .map(|(i, k)| (*k, row[6 + i]))
        .collect();
    // What no line accounts for (a torn tail, a file read only in part) is other, so that
    // the kinds always add up to the total.
    let classified: i64 = by_kind.iter().map(|(_, b)| b).sum();
    if let Some((_, other)) = by_kind.iter_mut().find(|(k, _)| *k == Kind::Other) {
        *other += raw_bytes - classified;
    }
    let largest_sql = format!(
        "SELECT {SESSION_COLUMNS} FROM {SESSION_TABLES} {cond} ORDER BY s.raw_bytes DESC, s.id LIMIT ?"
    );
    let mut params: Vec<Value> = w.params.clone();
    params.push(Value::Integer(limit_i64(largest)));
    let mut stmt = conn.prepare(&largest_sql).map_err(dberr)?;
    let largest = stmt
        .query_map(params_from_iter(params), session_from_row)
        .map_err(dberr)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(dberr)?;
    let groups = match by {
        None => Vec::new(),
        Some(by) => {
            let (key, order) = match by {
                UsageBy::Session => ("s.id", "3 DESC, 1 LIMIT 1000"),
                UsageBy::Repo => ("s.repo_key", "3 DESC, 1"),
                UsageBy::Agent => ("s.agent", "3 DESC, 1"),
                UsageBy::Month => (
                    "strftime('%Y-%m', (coalesce(s.created_ms, s.updated_ms) / 1000) + ?, 'unixepoch')",
                    "1 DESC",
                ),
            };
            let sql = format!(
                "SELECT {key}, count(*), coalesce(sum(s.raw_bytes), 0), coalesce(sum(s.stored_bytes), 0)
                 FROM {SESSION_TABLES} {cond} GROUP BY 1 ORDER BY {order}"
            );
            let mut params = Vec::new();
            if by == UsageBy::Month {
                params.push(Value::Integer(i64::from(offset.whole_seconds())));
            }
            params.extend(w.params.iter().cloned());
            let mut stmt = conn.prepare(&sql).map_err(dberr)?;
            stmt.query_map(params_from_iter(params), |r| {
                Ok(UsageGroup {
                    group: r.get(0)?,
                    sessions: r.get(1)?,
                    raw_bytes: r.get(2)?,
                    stored_bytes: r.get(3)?,
                })
            })
            .map_err(dberr)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(dberr)?
        }
    };
    Ok(Usage {
        sessions: row[0],
        raw_bytes,
        stored_bytes: row[2],
        by_kind,
        largest,
        groups,
        compressed_raw: row[3],
        compressed_stored: row[4],
        archivable_raw: row[5],
    })
}

/// Which end of a day a bare date means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// `--since 2025-09-01`: from the start of that day.
    Start,
    /// `--until 2025-09-01`: through the end of that day.
    End,
}

/// Parses `--since`/`--until`: `YYYY-MM-DD` (a local day), RFC 3339, or a duration back
/// from `now` (`90s`, `30m`, `12h`, `7d`, `2w`). Returns unix ms.
pub fn parse_when(text: &str, now: OffsetDateTime, offset: UtcOffset, bound: Bound) -> Result<i64> {
    let t = text.trim();
    let bad = || {
        Error::BadArgument(format!(
            "{text:?} is not a date (YYYY-MM-DD), an RFC 3339 time, or a duration such as 7d, 12h, 30m"
        ))
    };
    let ms =
        |t: OffsetDateTime| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).map_err(|_| bad());
    if let Some(secs) = duration_secs(t) {
        let secs = secs.ok_or_else(bad)?;
        return ms(now.checked_sub(Duration::seconds(secs)).ok_or_else(bad)?);
    }
    if let Ok(date) = Date::parse(t, format_description!("[year]-[month]-[day]")) {
        let start = date.with_time(Time::MIDNIGHT).assume_offset(offset);
        return match bound {
            Bound::Start => ms(start),
            Bound::End => Ok(ms(start + Duration::days(1))? - 1),
        };
    }
    OffsetDateTime::parse(t, &Rfc3339)
        .map_err(|_| bad())
        .and_then(ms)
}

/// `None` when `t` is not shaped like a duration (digits and one unit letter);
/// `Some(None)` when it is but is out of range or has an unknown unit.
fn duration_secs(t: &str) -> Option<Option<i64>> {
    let is_duration = t.len() >= 2
        && t[..t.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && t.bytes().last().is_some_and(|b| b.is_ascii_alphabetic());
    if !is_duration {
        return None;
    }
    let unit_secs = match t.as_bytes()[t.len() - 1] {
        b's' => 1,
        b'm' => 60,
        b'h' => 3600,
        b'd' => 86_400,
        b'w' => 604_800,
        _ => return Some(None),
    };
    Some(
        t[..t.len() - 1]
            .parse::<i64>()
            .ok()
            .and_then(|n| n.checked_mul(unit_secs)),
    )
}

/// Parses a duration such as `90s`, `30m`, `12h`, `30d` or `2w`.
pub fn parse_duration(text: &str) -> Result<std::time::Duration> {
    match duration_secs(text.trim()) {
        Some(Some(secs)) => Ok(std::time::Duration::from_secs(secs as u64)),
        _ => Err(Error::BadArgument(format!(
            "{text:?} is not a duration such as 30d, 12h, 30m, 90s or 2w"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("30d").ok(),
            Some(std::time::Duration::from_secs(30 * 86_400))
        );
        assert_eq!(parse_duration("0s").ok(), Some(std::time::Duration::ZERO));
        for bad in ["30", "d", "-1d", "1y", "99999999999999999999w", "1.5d", ""] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn typed_words_never_become_fts_syntax() {
        assert_eq!(
            fts_query("cargo test").ok().as_deref(),
            Some(r#""cargo" "test""#)
        );
        assert_eq!(
            fts_query(r#"  "mismatched types"  E0308 "#).ok().as_deref(),
            Some(r#""mismatched types" "E0308""#)
        );
        assert_eq!(fts_query("refact*").ok().as_deref(), Some(r#""refact"*"#));
        assert_eq!(
            fts_query(r#"NOT a"b OR ( -"#).ok().as_deref(),
            Some(r#""NOT" "a""b" "OR""#)
        );
        assert_eq!(
            fts_query(r#""unclosed phrase"#).ok().as_deref(),
            Some(r#""unclosed phrase""#)
        );
        assert!(fts_query(" - ( ) ").is_err());
        assert!(fts_query("").is_err());
        // Found by fuzzing: SQLite would stop reading the query at a NUL.
        assert_eq!(
            fts_query("a\0b \"c\0").ok().as_deref(),
            Some(r#""a" "b" "c""#)
        );
        assert!(fts_query("\0\0").is_err());
    }

    #[test]
    fn times_are_dates_rfc3339_or_durations() {
        let now = datetime!(2026-03-10 12:00 UTC);
        let utc = UtcOffset::UTC;
        let plus2 = UtcOffset::from_hms(2, 0, 0).expect("offset");
        let ms = |t: OffsetDateTime| (t.unix_timestamp_nanos() / 1_000_000) as i64;
        assert_eq!(
            parse_when("2025-09-01", now, utc, Bound::Start).ok(),
            Some(ms(datetime!(2025-09-01 0:00 UTC)))
        );
        assert_eq!(
            parse_when("2025-09-01", now, plus2, Bound::Start).ok(),
            Some(ms(datetime!(2025-08-31 22:00 UTC)))
        );
        assert_eq!(
            parse_when("2025-09-01", now, utc, Bound::End).ok(),
            Some(ms(datetime!(2025-09-02 0:00 UTC)) - 1)
        );
        assert_eq!(
            parse_when("2025-09-01T10:00:00+02:00", now, utc, Bound::Start).ok(),
            Some(ms(datetime!(2025-09-01 8:00 UTC)))
        );
        assert_eq!(
            parse_when("2025-09-01T10:00:00Z", now, utc, Bound::End).ok(),
            Some(ms(datetime!(2025-09-01 10:00 UTC)))
        );
        assert_eq!(
            parse_when("7d", now, utc, Bound::Start).ok(),
            Some(ms(datetime!(2026-03-03 12:00 UTC)))
        );
        assert_eq!(
            parse_when("12h", now, utc, Bound::Start).ok(),
            Some(ms(datetime!(2026-03-10 0:00 UTC)))
        );
        assert_eq!(
            parse_when("30m", now, utc, Bound::Start).ok(),
            Some(ms(datetime!(2026-03-10 11:30 UTC)))
        );
        for bad in [
            "yesterday",
            "7x",
            "d",
            "-3d",
            "2025-13-01",
            "99999999999999999999d",
            "999999999999999w",
            "",
        ] {
            assert!(parse_when(bad, now, utc, Bound::Start).is_err(), "{bad}");
        }
    }

    /// The plan SQLite picks for `sql`, one detail per line.
    fn plan(conn: &Connection, sql: &str, params: Vec<Value>) -> String {
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("explain");
        let rows = stmt
            .query_map(params_from_iter(params), |r| r.get::<_, String>(3))
            .expect("plan");
        rows.map(|r| r.expect("row")).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn the_queries_use_their_indexes() {
        let dir = tempfile::tempdir().expect("tmp");
        let db = dir.path().join("i.sqlite");
        let mut index = crate::index::Index::open(&db).expect("open");
        let conn = index.writer();
        for i in 0..200 {
            conn.execute(
                "INSERT INTO sessions(id, path, created_ms, updated_ms, cwd, git_branch, git_commit, repo_key)
                 VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7)",
                rusqlite::params![
                    format!("{i:08x}-0000-0000-0000-000000000000"),
                    format!("/p/{i}"),
                    i * 1000,
                    format!("/home/u/p{}", i % 10),
                    format!("b{}", i % 7),
                    format!("{i:040x}"),
                    format!("github.com/o/r{}", i % 13)
                ],
            )
            .expect("insert");
        }
        // No ANALYZE: a fresh index has no statistics and must still plan well.

        let conn = index.reader().expect("reader");
        let list = |f: Filters| {
            let (sql, params) = list_sql(&conn, &db, &f, 20).expect("sql").expect("some");
            plan(&conn, &sql, params)
        };
        let p = list(Filters::default());
        assert!(
            p.contains("USING INDEX sessions_updated") && !p.contains("TEMP B-TREE"),
            "{p}"
        );
        let p = list(Filters {
            repo: Some("o/r3".into()),
            ..Default::default()
        });
        assert!(p.contains("sessions_repo"), "{p}");
        let p = list(Filters {
            commit: Some("0000000000000000000000000000000000000a".into()),
            ..Default::default()
        });
        assert!(p.contains("sessions_commit"), "{p}");
        let p = list(Filters {
            cwd: Some("/home/u/p3".into()),
            ..Default::default()
        });
        assert!(p.contains("sessions_cwd"), "{p}");
        let p = list(Filters {
            branch: Some("b3".into()),
            ..Default::default()
        });
        assert!(p.contains("sessions_branch"), "{p}");

        for order in [Order::Newest, Order::Rank] {
            let (sql, params) = search_sql(&conn, &db, &SearchQuery::new("word").order(order))
                .expect("sql")
                .expect("some");
            let p = plan(&conn, &sql, params);
            assert!(p.contains("SCAN items_fts VIRTUAL TABLE INDEX"), "{p}");
            // The FTS table hands rows over newest first: no sort of every match. Ranking
            // sorts the bounded window only (after it is materialized), never the matches.
            let lines: Vec<&str> = p.lines().collect();
            let sorts: Vec<usize> = (0..lines.len())
                .filter(|i| lines[*i].contains("TEMP B-TREE"))
                .collect();
            match order {
                Order::Newest => assert!(sorts.is_empty(), "{p}"),
                Order::Rank => {
                    let window = lines
                        .iter()
                        .position(|l| l.contains("SCAN recent"))
                        .expect("the window is scanned");
                    assert!(sorts.len() == 1 && sorts[0] > window, "{p}");
                }
            }
        }
        let p = plan(
            &conn,
            "SELECT min(repo_key) FROM sessions WHERE repo_key > ?1",
            vec![Value::Text(String::new())],
        );
        assert!(p.contains("sessions_repo"), "{p}");
        let p = plan(
            &conn,
            &find_sql(),
            vec![Value::Text("0000".into()), Value::Text("0000~".into())],
        );
        assert!(p.contains("sqlite_autoindex_sessions_1"), "{p}");
    }

    #[test]
    fn subagents_follow_their_parent_in_tree_order() {
        let s = |id: &str, parent: Option<&str>| Session {
            id: id.into(),
            parent_id: parent.map(str::to_string),
            ..Default::default()
        };
        // Newest first, as `list` gives them: a child newer than its parent, a child older
        // than an unrelated session, a grandchild, an orphan whose parent is not listed,
        // and a cycle of two (damaged files).
        let sessions = [
            s("c1", Some("p")),
            s("p", None),
            s("x", None),
            s("g", Some("c2")),
            s("c2", Some("p")),
            s("o", Some("missing")),
            s("y1", Some("y2")),
            s("y2", Some("y1")),
        ];
        let order: Vec<(usize, &str)> = tree_order(&sessions)
            .into_iter()
            .map(|(d, s)| (d, s.id.as_str()))
            .collect();
        assert_eq!(
            order,
            [
                (0, "p"),
                (1, "c1"),
                (1, "c2"),
                (2, "g"),
                (0, "x"),
                (0, "o"),
                (0, "y1"),
                (1, "y2")
            ]
        );
    }

    #[test]
    fn cwd_filters_are_absolute_and_clean() {
        assert_eq!(
            normalize_dir(Path::new("/a/b/../c/./")).ok().as_deref(),
            Some("/a/c")
        );
        assert_eq!(normalize_dir(Path::new("/")).ok().as_deref(), Some("/"));
    }
}

//! `rolldex mcp`: what an agent may ask of the archive, as Model Context Protocol tools.
//!
//! Three read-only tools answer through the same [`Home`] door as the CLI (every agent's
//! sessions; a team archive when the home answers from one):
//! - [`search_sessions`]: full-text hits, newest first or ranked, each with the facts that
//!   place it (agent, time, repo@branch, commit, folder, name or title) and how to read on;
//! - [`list_sessions`]: sessions by repo, branch, folder, agent, time or name;
//! - [`read_session`]: the transcript `show` renders, around a line when asked, within a byte
//!   budget (cut at entry boundaries, saying how to ask for the rest).
//!
//! Every answer is text for the model and the same facts as JSON (`structuredContent`).
//! Every string that leaves is redacted (`[REDACTED:kind]`), whatever the archive holds.
//! This module holds the answers; the protocol (framing, schemas, errors as tool results)
//! is `rmcp`'s, wired in `serve`.

use std::fmt::Write as _;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::Home;
use crate::error::{Error, Result};
use crate::query::{Bound, Filters, Order, SearchQuery, Session, parse_when};
use crate::render::{ShowOptions, transcript_within};

/// `read_session`'s budget when none is asked for...
pub const DEFAULT_MAX_BYTES: usize = 16 * 1024;
/// ...and the most it gives, whatever is asked: an agent's context is the scarce thing.
pub const MAX_BYTES: usize = 64 * 1024;
/// Hits or sessions when no limit is asked for, and the most given.
const DEFAULT_LIMIT: usize = 10;
const MAX_LIMIT: usize = 100;

/// An answer: text for the model, and the same facts as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// What the model reads.
    pub text: String,
    /// The structured content: `{"hits": [...]}`, `{"sessions": [...]}` or
    /// `{"session": {...}, "text": ..., "next_seq": ...}`.
    pub json: Value,
}

/// Which sessions to look in (the filters `search_sessions` and `list_sessions` share).
#[derive(Debug, Clone, Default)]
pub struct Where {
    /// See [`SearchArgs::repo`].
    pub repo: Option<String>,
    /// See [`SearchArgs::branch`].
    pub branch: Option<String>,
    /// See [`SearchArgs::cwd`].
    pub cwd: Option<String>,
    /// See [`SearchArgs::agent`].
    pub agent: Option<String>,
    /// See [`SearchArgs::since`].
    pub since: Option<String>,
    /// See [`SearchArgs::until`].
    pub until: Option<String>,
}

/// The shared filters of an arguments type.
macro_rules! where_of {
    ($args:expr) => {
        Where {
            repo: $args.repo.clone(),
            branch: $args.branch.clone(),
            cwd: $args.cwd.clone(),
            agent: $args.agent.clone(),
            since: $args.since.clone(),
            until: $args.until.clone(),
        }
    };
}

/// `search_sessions`' arguments.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    /// Words to find, as on the command line: words (all must occur), "a phrase",
    /// prefix* .
    pub query: String,
    /// Repository: a URL in any spelling, host/owner/repo, owner/repo or the bare name.
    #[serde(default)]
    pub repo: Option<String>,
    /// Git branch, exactly.
    #[serde(default)]
    pub branch: Option<String>,
    /// Sessions that ran in this folder or below it (an absolute path).
    #[serde(default)]
    pub cwd: Option<String>,
    /// One agent's sessions: "codex", "claude" or "gemini".
    #[serde(default)]
    pub agent: Option<String>,
    /// Active at or after: YYYY-MM-DD, RFC 3339, or a duration back such as 7d, 12h, 30m.
    #[serde(default)]
    pub since: Option<String>,
    /// Started at or before: YYYY-MM-DD (through that day), RFC 3339, or a duration back.
    #[serde(default)]
    pub until: Option<String>,
    /// Best matches first instead of newest first.
    #[serde(default)]
    pub rank: bool,
    /// At most this many hits (default 10, at most 100).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// `list_sessions`' arguments.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListArgs {
    /// Repository: a URL in any spelling, host/owner/repo, owner/repo or the bare name.
    #[serde(default)]
    pub repo: Option<String>,
    /// Git branch, exactly.
    #[serde(default)]
    pub branch: Option<String>,
    /// Sessions that ran in this folder or below it (an absolute path).
    #[serde(default)]
    pub cwd: Option<String>,
    /// One agent's sessions: "codex", "claude" or "gemini".
    #[serde(default)]
    pub agent: Option<String>,
    /// Active at or after: YYYY-MM-DD, RFC 3339, or a duration back such as 7d, 12h, 30m.
    #[serde(default)]
    pub since: Option<String>,
    /// Started at or before: YYYY-MM-DD (through that day), RFC 3339, or a duration back.
    #[serde(default)]
    pub until: Option<String>,
    /// Sessions whose name contains this text (case-insensitive).
    #[serde(default)]
    pub name: Option<String>,
    /// At most this many sessions, newest activity first (default 10, at most 100).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// `read_session`'s arguments.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadArgs {
    /// The session: its id, a unique id prefix (at least 4 hex digits) or its name.
    pub session: String,
    /// Read around this line (the `seq` of a search hit) instead of from the start.
    #[serde(default)]
    pub seq: Option<u64>,
    /// Entries to show before and after `seq` (default 3).
    #[serde(default)]
    pub context: Option<usize>,
    /// Most bytes of text to return (default 16384, at most 65536).
    #[serde(default)]
    pub max_bytes: Option<usize>,
}

/// The library's filters from a tool's, times read in UTC (an agent has no local day).
fn filters(w: &Where, name: Option<&str>) -> Result<Filters> {
    let now = OffsetDateTime::now_utc();
    let when = |text: &Option<String>, bound, what: &str| -> Result<Option<i64>> {
        text.as_deref()
            .map(|t| parse_when(t, now, time::UtcOffset::UTC, bound))
            .transpose()
            .map_err(|e| Error::BadArgument(format!("{what}: {e}")))
    };
    let agent = match w.agent.as_deref() {
        None => None,
        Some(a) => Some(
            crate::agents::Agent::parse(a)
                .ok_or_else(|| {
                    Error::BadArgument(format!(
                        "agent: no agent {a:?}; give one of codex, claude, gemini"
                    ))
                })?
                .as_str()
                .to_string(),
        ),
    };
    Ok(Filters {
        repo: w.repo.clone(),
        branch: w.branch.clone(),
        cwd: w.cwd.as_deref().map(Into::into),
        since_ms: when(&w.since, Bound::Start, "since")?,
        until_ms: when(&w.until, Bound::End, "until")?,
        name: name.map(str::to_string),
        agent,
        ..Default::default()
    })
}

fn limit(asked: Option<usize>) -> Result<usize> {
    match asked {
        None => Ok(DEFAULT_LIMIT),
        Some(0) => Err(Error::BadArgument("limit: give at least 1".into())),
        Some(n) => Ok(n.min(MAX_LIMIT)),
    }
}

/// Full-text search over every session.
pub fn search_sessions(home: &mut Home, args: &SearchArgs) -> Result<Answer> {
    if args.query.trim().is_empty() {
        return Err(Error::BadArgument(
            "query: give the words to look for".into(),
        ));
    }
    let q = SearchQuery {
        text: args.query.clone(),
        filters: filters(&where_of!(args), None)?,
        limit: limit(args.limit)?,
        order: if args.rank {
            Order::Rank
        } else {
            Order::Newest
        },
        marks: (String::new(), String::new()),
    };
    let hits = home.search(&q)?;
    let mut text = String::new();
    let mut rows = Vec::new();
    if hits.is_empty() {
        text.push_str("No session said that. Try fewer or other words, or a prefix*.\n");
    }
    for h in &hits {
        let _ = writeln!(text, "{}", place(&h.session));
        let _ = writeln!(
            text,
            "  line {} {}{}: {}",
            h.seq,
            h.kind,
            h.role
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default(),
            crate::index::summary::one_line(&h.snippet, usize::MAX)
        );
        let _ = writeln!(
            text,
            "  read more: read_session {{\"session\": \"{}\", \"seq\": {}}}",
            h.session.id, h.seq
        );
        let mut row = facts(&h.session);
        row.insert("seq".into(), json!(h.seq));
        row.insert("kind".into(), json!(h.kind));
        row.insert("role".into(), json!(h.role));
        row.insert(
            "time".into(),
            json!(h.ts_ms.and_then(crate::export::rfc3339)),
        );
        row.insert("snippet".into(), json!(h.snippet));
        rows.push(Value::Object(row));
    }
    Ok(redacted(Answer {
        text,
        json: json!({ "hits": rows }),
    }))
}

/// Sessions matching the filters, newest activity first.
pub fn list_sessions(home: &mut Home, args: &ListArgs) -> Result<Answer> {
    let f = filters(&where_of!(args), args.name.as_deref())?;
    let sessions = home.list(&f, limit(args.limit)?)?;
    let mut text = String::new();
    if sessions.is_empty() {
        text.push_str("No session matches. Loosen a filter.\n");
    }
    let mut rows = Vec::new();
    for s in &sessions {
        let _ = writeln!(
            text,
            "{}  {} tokens, {} bytes",
            place(s),
            s.tokens,
            s.raw_bytes
        );
        let mut row = facts(s);
        row.insert("tokens".into(), json!(s.tokens));
        row.insert("bytes".into(), json!(s.raw_bytes));
        rows.push(Value::Object(row));
    }
    Ok(redacted(Answer {
        text,
        json: json!({ "sessions": rows }),
    }))
}

/// A session's transcript within a byte budget.
pub fn read_session(home: &mut Home, args: &ReadArgs) -> Result<Answer> {
    let budget = match args.max_bytes {
        None => DEFAULT_MAX_BYTES,
        Some(n) if n < 256 => {
            return Err(Error::BadArgument(
                "max_bytes: give at least 256 (the default is 16384)".into(),
            ));
        }
        Some(n) => n.min(MAX_BYTES),
    };
    let t = home.transcript(&args.session)?;
    let opts = ShowOptions {
        at: args.seq.map(|s| (s, args.context.unwrap_or(3))),
        ..Default::default()
    };
    // The note that says what was left out must fit too.
    let (mut text, report, cut) = transcript_within(home, &t, opts, budget.saturating_sub(200))?;
    if let Some(c) = cut {
        let _ = writeln!(
            text,
            "-- cut at {budget} bytes: the rest starts at line {}; ask read_session {{\"session\": \"{}\", \"seq\": {}}} --",
            c.next_seq,
            session_id(&t),
            c.next_seq
        );
    } else if report.at_missed {
        let _ = writeln!(
            text,
            "-- no entry covers line {}: the session has {} lines; read it from the start without seq --",
            args.seq.unwrap_or_default(),
            report.records
        );
    }
    let session = t.resolved.session.as_ref().map(|s| Value::Object(facts(s)));
    Ok(redacted(Answer {
        json: json!({
            "session": session,
            "text": text,
            "next_seq": cut.map(|c| c.next_seq),
            "truncated": cut.is_some(),
        }),
        text,
    }))
}

fn session_id(t: &crate::transcript::Transcript) -> String {
    t.resolved
        .id
        .clone()
        .or_else(|| t.resolved.session.as_ref().map(|s| s.id.clone()))
        .unwrap_or_default()
}

/// `id  agent  time  repo@branch  commit  folder  name · title`: what places a session.
fn place(s: &Session) -> String {
    let mut parts = vec![s.id.clone(), s.agent.clone()];
    if let Some(t) = crate::export::rfc3339(s.updated_ms) {
        parts.push(t);
    }
    match (&s.repo, &s.branch) {
        (Some(r), Some(b)) => parts.push(format!("{r}@{b}")),
        (Some(r), None) => parts.push(r.clone()),
        (None, Some(b)) => parts.push(format!("@{b}")),
        (None, None) => {}
    }
    if let Some(c) = &s.commit {
        parts.push(c.chars().take(10).collect());
    }
    if let Some(c) = &s.cwd {
        parts.push(c.clone());
    }
    if let Some(l) = s.name_and_title() {
        parts.push(l);
    }
    parts.join("  ")
}

/// The facts of a session an agent can act on (the `list --json` row without storage).
fn facts(s: &Session) -> Map<String, Value> {
    let mut m = crate::export::session_json(s);
    for k in [
        "path",
        "stored_bytes",
        "compressed",
        "archived",
        "pinned",
        "source",
    ] {
        m.remove(k);
    }
    m
}

/// Redacts every string of an answer.
fn redacted(a: Answer) -> Answer {
    fn walk(v: &mut Value) {
        match v {
            Value::String(s) => {
                if let std::borrow::Cow::Owned(r) = crate::redact::redact(s) {
                    *s = r;
                }
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            Value::Object(m) => m.values_mut().for_each(walk),
            _ => {}
        }
    }
    let mut json = a.json;
    walk(&mut json);
    Answer {
        text: crate::redact::redact(&a.text).into_owned(),
        json,
    }
}

/// How stale the index may get between two questions (see [`serve_stdio`]).
const REFRESH_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// What the server's tools ask of the home: run on the thread that owns it.
type Job = Box<dyn FnOnce(&mut Home) + Send>;

/// The handle the protocol side holds: a channel to the thread that owns the [`Home`]
/// (a `Home` is not `Send`: it holds its notice callback and its index connections). The
/// one thread also serialises the questions, as the CLI asks them one at a time.
#[derive(Clone)]
struct HomeThread(std::sync::mpsc::Sender<Job>);

impl HomeThread {
    /// Asks `f` of the home and waits for the answer without blocking the runtime.
    async fn ask<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Home) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |home| {
            let _ = tx.send(f(home));
        });
        let gone =
            || Error::BadArgument("the archive's thread stopped; restart rolldex mcp".into());
        self.0.send(job).map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }
}

/// The MCP server: three tools over the home.
struct Server {
    home: HomeThread,
    tool_router: rmcp::handler::server::router::tool::ToolRouter<Server>,
}

/// A tool's answer as MCP wants it: the text for the model, the JSON as
/// `structuredContent`; a failure is a tool error (`isError`) saying what to do next, never
/// a protocol error, so the agent can correct itself and the server goes on.
fn result(answer: Result<Answer>) -> rmcp::model::CallToolResult {
    use rmcp::model::{CallToolResult, Content};
    match answer {
        Ok(a) => {
            let mut r = CallToolResult::structured(a.json);
            r.content = vec![Content::text(a.text)];
            r
        }
        Err(e) => {
            let hint = match &e {
                Error::SessionNotFound { .. } => {
                    " (find it with search_sessions or list_sessions, then pass its id)".into()
                }
                Error::Ambiguous { candidates, .. } => {
                    let mut h = String::from("; pass one of these ids:");
                    for c in candidates {
                        let _ = write!(h, "\n  {}", c.id);
                        if let Some(a) = &c.agent {
                            let _ = write!(h, "  [{a}]");
                        }
                        if let Some(l) = &c.label {
                            let _ = write!(h, "  {l}");
                        }
                    }
                    h
                }
                _ => String::new(),
            };
            let text = crate::redact::redact(&format!("{e}{hint}")).into_owned();
            CallToolResult::error(vec![Content::text(text)])
        }
    }
}

#[rmcp::tool_router]
impl Server {
    #[rmcp::tool(
        description = "Search every past coding-agent session (Codex, Claude Code, Gemini CLI) for words said in it: prompts, replies, commands, tool outputs. Use it before redoing work: to find how something was fixed, which command worked, what was decided. Query syntax: words (all must occur), \"an exact phrase\", prefix*. Filters narrow by repo, branch, folder (cwd), agent and time. Each hit gives the session id, its line (seq) and a snippet; read around it with read_session {session, seq}.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn search_sessions(
        &self,
        rmcp::handler::server::wrapper::Parameters(args): rmcp::handler::server::wrapper::Parameters<SearchArgs>,
    ) -> rmcp::model::CallToolResult {
        result(self.home.ask(move |h| search_sessions(h, &args)).await)
    }

    #[rmcp::tool(
        description = "List past coding-agent sessions, newest activity first, by repo, branch, folder (cwd), agent, time or name: which sessions touched this repository or branch lately, and how big they were (tokens, bytes). Read one with read_session {session}.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn list_sessions(
        &self,
        rmcp::handler::server::wrapper::Parameters(args): rmcp::handler::server::wrapper::Parameters<ListArgs>,
    ) -> rmcp::model::CallToolResult {
        result(self.home.ask(move |h| list_sessions(h, &args)).await)
    }

    #[rmcp::tool(
        description = "Read a past session's transcript (prompts, replies, thinking, commands with their output, tool calls), secrets redacted. Give the session id (or a unique prefix, or its name); give seq (a search hit's line) to read around it. At most max_bytes (default 16384, at most 65536) come back, cut between entries; the last line then says from which seq to ask again.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn read_session(
        &self,
        rmcp::handler::server::wrapper::Parameters(args): rmcp::handler::server::wrapper::Parameters<ReadArgs>,
    ) -> rmcp::model::CallToolResult {
        result(self.home.ask(move |h| read_session(h, &args)).await)
    }
}

#[rmcp::tool_handler(router = self.tool_router)]
impl rmcp::ServerHandler for Server {
    fn get_info(&self) -> rmcp::model::ServerInfo {
        use rmcp::model::{Implementation, ServerCapabilities, ServerInfo};
        ServerInfo::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("rolldex", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "rolldex is the archive of this person's past coding-agent sessions (Codex, \
                 Claude Code, Gemini CLI), on this machine or a team's. Before redoing work, \
                 search it: search_sessions for words said, list_sessions by repo, branch or \
                 folder, then read_session around a hit. Read-only.",
            )
    }
}

/// Serves the MCP protocol on stdin/stdout until stdin ends: the home is made by `open` on
/// a thread of its own (see [`HomeThread`]); nothing is written but rolldex's own index.
/// Logs go to stderr, never stdout (which carries the protocol).
pub fn serve_stdio(open: impl FnOnce() -> Result<Home> + Send + 'static) -> Result<()> {
    use rmcp::ServiceExt;
    let (tx, rx) = std::sync::mpsc::channel::<Job>();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<()>>();
    let owner = std::thread::Builder::new()
        .name("rolldex-mcp-home".into())
        .spawn(move || {
            let mut home = match open() {
                Ok(h) => {
                    let _ = ready_tx.send(Ok(()));
                    h
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            // A long session of an agent: the index is brought up to date again before a
            // question when the last refresh is older than this (a walk costs a few ms
            // per thousand sessions; a watcher keeps it fresher).
            let mut refreshed = std::time::Instant::now();
            for job in rx {
                if refreshed.elapsed() >= REFRESH_EVERY {
                    home.refresh_before_next();
                    refreshed = std::time::Instant::now();
                }
                job(&mut home);
            }
        })
        .map_err(|e| Error::io("<thread>", "starting the archive's thread", e))?;
    ready_rx
        .recv()
        .map_err(|_| Error::BadArgument("the archive could not be opened".into()))??;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("<runtime>", "starting", e))?;
    let served = runtime.block_on(async move {
        let server = Server {
            home: HomeThread(tx),
            tool_router: Server::tool_router(),
        };
        match server.serve(rmcp::transport::stdio()).await {
            Ok(running) => running
                .waiting()
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            // Input ended before the handshake: nothing was asked, nothing to answer.
            Err(rmcp::service::ServerInitializeError::ConnectionClosed(_)) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    });
    // The server (and with it the last sender) is gone: the owner's loop ends.
    runtime.shutdown_background();
    let _ = owner.join();
    served.map_err(|e| Error::BadArgument(format!("the MCP session failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_checked_and_unknown_fields_refused() {
        let ok: SearchArgs =
            serde_json::from_value(json!({"query": "x", "repo": "r", "limit": 3})).expect("ok");
        assert_eq!(where_of!(ok).repo.as_deref(), Some("r"));
        assert!(serde_json::from_value::<SearchArgs>(json!({"query": "x", "nope": 1})).is_err());
        assert!(serde_json::from_value::<ReadArgs>(json!({})).is_err());
        assert!(limit(Some(0)).is_err());
        assert_eq!(limit(Some(1000)).ok(), Some(MAX_LIMIT));
        let bad = Where {
            agent: Some("cursor".into()),
            ..Default::default()
        };
        assert!(filters(&bad, None).is_err());
        let bad = Where {
            since: Some("yesterday-ish".into()),
            ..Default::default()
        };
        assert!(filters(&bad, None).is_err());
    }

    #[test]
    fn every_string_of_an_answer_is_redacted() {
        let key = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789";
        let a = redacted(Answer {
            text: format!("use {key}"),
            json: json!({"hits": [{"snippet": format!("key {key}")}]}),
        });
        assert!(!a.text.contains(key), "{}", a.text);
        assert!(!a.json.to_string().contains(key), "{}", a.json);
        assert!(a.text.contains("[REDACTED:"));
    }
}

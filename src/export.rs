//! Exports: a session as a document to attach to a pull request, share or keep, in
//! Markdown (GitHub-flavoured), self-contained HTML or JSON.
//!
//! Every format is rendered from the [transcript model](crate::transcript), so they say the
//! same things: redaction, collapsed context and shortened outputs are decided once, when
//! the model is built. An export describes the session, not how it is stored: the path is
//! the plain rollout's and the storage fields (`compressed`, `stored_bytes`) are left out,
//! so a `.zst` session exports exactly as its plain twin.
//!
//! HTML is one file with inline CSS and nothing else: no script, stylesheet, font or image
//! is loaded, a Content-Security-Policy forbids them anyway, long outputs fold into
//! `<details>` (readable with JavaScript off), and everything taken from the rollout is
//! escaped, because a rollout can contain `<script>`.

use std::io::Write;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{Error, Result};
use crate::layout;
use crate::query::Session;
use crate::transcript::{Body, Entry, Header, Output, Transcript, TranscriptOptions};

/// The document formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// GitHub-flavoured Markdown.
    Markdown,
    /// One self-contained HTML document.
    Html,
    /// One JSON document: `{"session", "skipped_lines", "items"}`.
    Json,
}

/// A session read whole into the model, ready to render in any format.
#[derive(Debug, Clone)]
pub struct Document {
    /// The session's facts (from the index when it knows the session, else from the file).
    pub session: Session,
    /// The session that spawned it.
    pub parent: Option<Session>,
    /// Everything that happened.
    pub entries: Vec<Entry>,
    /// Lines that are not rollout lines, skipped.
    pub skipped_lines: usize,
    /// What the session cost, when the index counted its tokens ([`Document::priced`]).
    pub cost: Option<crate::cost::Cost>,
}

impl Document {
    /// Reads a transcript whole, with `opts`.
    pub fn read(t: &Transcript, opts: TranscriptOptions) -> Result<Document> {
        let mut reader = t.read(opts)?;
        let header = reader.header()?;
        let entries = reader.collect_entries()?;
        let mut session = match &t.resolved.session {
            Some(s) => s.clone(),
            None => from_file(t, &header, &entries),
        };
        if session.model.is_none() {
            session.model.clone_from(&reader.model);
        }
        if let Some(tokens) = reader.tokens() {
            session.tokens = tokens as i64;
        }
        // What the export says of the session must not depend on how it is stored.
        session.path = layout::plain_path(std::path::Path::new(&session.path))
            .to_string_lossy()
            .into_owned();
        if opts.redact {
            let r = |s: &mut Option<String>| {
                if let Some(v) = s.as_mut() {
                    *v = crate::redact::redact(v).into_owned();
                }
            };
            r(&mut session.title);
            r(&mut session.name);
            r(&mut session.cwd);
        }
        Ok(Document {
            session,
            parent: t.parent.clone(),
            entries,
            skipped_lines: reader.malformed.len(),
            cost: None,
        })
    }

    /// Says what the session cost, from the tokens `home`'s index counted and its prices.
    pub fn priced(mut self, home: &mut crate::Home) -> Result<Document> {
        self.cost = home.cost(&self.session.id)?;
        Ok(self)
    }

    /// Writes the document in `format`.
    pub fn render(&self, format: Format, out: &mut dyn Write) -> Result<()> {
        let io = |e| Error::io("<output>", "writing the export", e);
        match format {
            Format::Markdown => markdown(self, out).map_err(io),
            Format::Html => html(self, out).map_err(io),
            Format::Json => {
                let doc = json(self);
                serde_json::to_writer_pretty(&mut *out, &doc).map_err(|e| io(e.into()))?;
                writeln!(out).map_err(io)
            }
        }
    }
}

/// The session's facts when the index does not know it: from its own meta and items.
fn from_file(t: &Transcript, header: &Header, entries: &[Entry]) -> Session {
    let meta = header.meta.clone().unwrap_or_default();
    let git = meta.git.clone().unwrap_or_default();
    let ms = |ts: &str| crate::index::ingest::parse_ms(ts);
    let title = entries.iter().find_map(|e| match &e.body {
        Body::User { text, .. } => Some(
            crate::model::request_text(text)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        ),
        _ => None,
    });
    let created_ms = meta.timestamp.as_deref().and_then(ms);
    let updated_ms = entries
        .iter()
        .filter_map(|e| e.timestamp.as_deref().and_then(ms))
        .max()
        .or(created_ms)
        .unwrap_or(0);
    Session {
        id: t
            .resolved
            .id
            .clone()
            .or(meta.id.clone())
            .unwrap_or_default(),
        path: t.resolved.path.to_string_lossy().into_owned(),
        created_ms,
        updated_ms,
        cwd: meta.cwd.clone(),
        repo: git
            .repository_url
            .as_deref()
            .and_then(crate::repo_url::repo_key),
        repository_url: git.repository_url.clone(),
        branch: git.branch.clone(),
        commit: git.commit_hash.clone(),
        title,
        source: meta.source.clone(),
        forked_from_id: meta.forked_from_id.clone(),
        parent_id: meta.parent_thread_id.clone(),
        agent_nickname: meta.agent_nickname.clone(),
        agent_role: meta.agent_role.clone(),
        archived: t
            .resolved
            .path
            .components()
            .any(|c| c.as_os_str() == layout::ARCHIVED_DIR),
        agent: crate::agents::for_path(&t.resolved.path)
            .agent()
            .as_str()
            .to_string(),
        ..Default::default()
    }
}

/// Unix ms to RFC 3339 UTC.
pub fn rfc3339(ms: i64) -> Option<String> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
}

/// A session as `list --json` prints it: stable snake_case fields, RFC 3339 UTC times,
/// `null` for what is unknown.
pub fn session_json(s: &Session) -> Map<String, Value> {
    let v = json!({
        "id": s.id,
        "path": s.path,
        "created_at": s.created_ms.and_then(rfc3339),
        "updated_at": rfc3339(s.updated_ms),
        "cwd": s.cwd,
        "repo": s.repo,
        "repository_url": s.repository_url,
        "branch": s.branch,
        "commit": s.commit,
        "title": s.title,
        "source": s.source,
        "model": s.model,
        "items": s.items,
        "messages": s.messages,
        "tool_calls": s.tool_calls,
        "errors": s.errors,
        "tokens": s.tokens,
        "bytes": s.raw_bytes,
        "stored_bytes": s.stored_bytes,
        "compressed": s.compressed,
        "archived": s.archived,
        "forked_from_id": s.forked_from_id,
        "name": s.name,
        "parent_id": s.parent_id,
        "agent_nickname": s.agent_nickname,
        "agent_role": s.agent_role,
        "pinned": s.pinned,
        "agent": s.agent,
        "preserved": s.preserved,
    });
    match v {
        Value::Object(mut m) => {
            // Only sessions from a team archive came from a machine.
            if let Some(host) = &s.host {
                m.insert("host".into(), Value::String(host.clone()));
            }
            m
        }
        _ => Map::new(),
    }
}

/// The JSON document: `{"session": {list --json fields but storage}, "skipped_lines",
/// "items": [...]}`.
pub fn json(doc: &Document) -> Value {
    let mut session = session_json(&doc.session);
    session.remove("compressed");
    session.remove("stored_bytes");
    if let Some(c) = &doc.cost {
        session.extend(c.json());
    }
    let items: Vec<Value> = doc.entries.iter().map(item_json).collect();
    json!({
        "session": session,
        "skipped_lines": doc.skipped_lines,
        "items": items,
    })
}

fn output_json(o: &Option<Output>) -> Value {
    match o {
        Some(o) => json!({"text": o.text, "omitted_lines": o.omitted_lines}),
        None => Value::Null,
    }
}

/// One entry: `seq`, `last_seq`, `ordinal`, `timestamp`, `turn`, `kind`, `role`, `text`,
/// and the fields of its kind.
fn item_json(e: &Entry) -> Value {
    let (kind, role, text, extra): (&str, Option<&str>, String, Value) = match &e.body {
        Body::Context { label, lines, text } => (
            "context",
            None,
            text.clone().unwrap_or_else(|| label.clone()),
            json!({"lines": lines, "collapsed": text.is_none()}),
        ),
        Body::User { text, images } => (
            "message",
            Some("user"),
            text.clone(),
            json!({"images": images.iter().map(|i| json!({"kind": i.kind, "bytes": i.bytes})).collect::<Vec<_>>()}),
        ),
        Body::Assistant { text, phase } => (
            "message",
            Some("assistant"),
            text.clone(),
            json!({"phase": phase}),
        ),
        Body::Reasoning { text } => ("reasoning", None, text.clone(), json!({})),
        Body::Command {
            command,
            workdir,
            stdin_of,
            output,
        } => (
            "command",
            None,
            command.clone(),
            json!({"workdir": workdir, "stdin_of": stdin_of, "output": output_json(output)}),
        ),
        Body::Patch {
            files,
            diff,
            output,
        } => (
            "patch",
            None,
            diff.clone(),
            json!({"files": files, "output": output_json(output)}),
        ),
        Body::ToolCall {
            name,
            input,
            output,
        } => (
            "tool_call",
            None,
            input.clone(),
            json!({"name": name, "output": output_json(output)}),
        ),
        Body::ToolOutput { output } => (
            "tool_output",
            None,
            output.text.clone(),
            json!({"omitted_lines": output.omitted_lines}),
        ),
        Body::WebSearch { query } => ("web_search", None, query.clone(), json!({})),
        Body::ToolSearch { query, found } => {
            ("tool_search", None, query.clone(), json!({"found": found}))
        }
        Body::AgentMessage {
            author,
            recipient,
            text,
        } => (
            "agent_message",
            None,
            text.clone(),
            json!({"author": author, "recipient": recipient}),
        ),
        Body::Spawn(s) => (
            "spawn",
            None,
            s.label.clone().unwrap_or_default(),
            json!({"id": s.id, "nickname": s.nickname, "role": s.role}),
        ),
        Body::ImageGenerated { prompt, bytes } => (
            "image_generated",
            None,
            prompt.clone().unwrap_or_default(),
            json!({"bytes": bytes}),
        ),
        Body::Compaction { items } => ("compaction", None, String::new(), json!({"items": items})),
        Body::WorldState { full, keys } => (
            "world_state",
            None,
            String::new(),
            json!({"full": full, "keys": keys}),
        ),
        Body::Inherited(h) => (
            "inherited",
            None,
            String::new(),
            json!({"thread_id": h.thread_id, "rollout_path": h.rollout_path, "end_offset": h.end_offset, "fork": h.fork}),
        ),
    };
    let mut v = json!({
        "seq": e.seq,
        "last_seq": e.last_seq,
        "ordinal": e.ordinal,
        "timestamp": e.timestamp,
        "turn": e.turn,
        "kind": kind,
        "role": role,
        "text": text,
    });
    if let (Value::Object(m), Value::Object(x)) = (&mut v, extra) {
        m.extend(x);
    }
    v
}

/// What to call the session in a heading: its name, else its title, else its id.
fn heading(s: &Session) -> String {
    s.name
        .clone()
        .or_else(|| s.title.clone())
        .unwrap_or_else(|| format!("Session {}", s.id))
}

/// The facts a header lists, as (label, value) pairs.
fn facts(doc: &Document) -> Vec<(&'static str, String)> {
    let s = &doc.session;
    let mut f = vec![("Session", s.id.clone()), ("Agent", s.agent.clone())];
    if let (Some(n), Some(t)) = (&s.name, &s.title) {
        f.push(("Name", n.clone()));
        f.push(("Title", t.clone()));
    }
    if let Some(t) = s.created_ms.and_then(rfc3339) {
        f.push(("Started", t));
    }
    let repo = s
        .repo
        .clone()
        .or(s.repository_url.clone())
        .map(|r| match &s.branch {
            Some(b) => format!("{r}@{b}"),
            None => r,
        });
    if let Some(r) = repo {
        f.push(("Repository", r));
    }
    if let Some(c) = &s.commit {
        f.push(("Commit", c.clone()));
    }
    if let Some(c) = &s.cwd {
        f.push(("Folder", c.clone()));
    }
    if let Some(m) = &s.model {
        f.push(("Model", m.clone()));
    }
    f.push(("Tokens", s.tokens.to_string()));
    if let Some(c) = &doc.cost {
        f.push(("Cost", crate::render::cost_line(c)));
    }
    if let Some(p) = &doc.parent {
        let who = match (&p.name, &p.title) {
            (Some(n), _) | (None, Some(n)) => format!("{} ({n})", p.id),
            _ => p.id.clone(),
        };
        f.push(("Subagent of", who));
    } else if let Some(p) = &s.parent_id {
        f.push(("Subagent of", p.clone()));
    }
    if doc.skipped_lines > 0 {
        f.push((
            "Skipped",
            format!("{} line(s) that are not rollout lines", doc.skipped_lines),
        ));
    }
    f
}

fn turn_heading(turn: u32) -> String {
    if turn == 0 {
        "Before the first message".to_string()
    } else {
        format!("Turn {turn}")
    }
}

/// A fence longer than any run of backticks in `text` (at least three).
fn fence(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}

fn md_block(out: &mut dyn Write, lang: &str, text: &str) -> std::io::Result<()> {
    let f = fence(text);
    writeln!(out, "{f}{lang}\n{}\n{f}\n", text.trim_end())
}

fn time_of(e: &Entry) -> String {
    e.timestamp
        .as_deref()
        .and_then(|t| t.get(11..19))
        .map(|t| format!(" · {t}"))
        .unwrap_or_default()
}

/// Markdown text taken from the rollout: kept as written (it is usually Markdown), but
/// raw HTML in it is neutralized so that a viewer never renders a `<script>`.
fn md_text(text: &str) -> String {
    text.replace('<', "&lt;").replace('>', "&gt;")
}

fn markdown(doc: &Document, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "# {}\n", md_text(&heading(&doc.session)).trim())?;
    for (label, value) in facts(doc) {
        writeln!(out, "- **{label}:** {}", md_text(&value))?;
    }
    writeln!(out)?;
    let mut turn = None;
    for e in &doc.entries {
        if turn != Some(e.turn) {
            turn = Some(e.turn);
            writeln!(out, "## {}\n", turn_heading(e.turn))?;
        }
        let when = time_of(e);
        match &e.body {
            Body::Context { label, lines, text } => match text {
                Some(t) => {
                    writeln!(out, "**Context**{when}\n")?;
                    md_block(out, "text", t)?;
                }
                None => writeln!(
                    out,
                    "> *Context:* `{}` ({lines} lines)\n",
                    label.replace('`', "'")
                )?,
            },
            Body::User { text, images } => {
                writeln!(out, "**User**{when}\n\n{}\n", md_text(text))?;
                for i in images {
                    writeln!(out, "*[image: {}, {} KB]*\n", i.kind, i.bytes / 1024)?;
                }
            }
            Body::Assistant { text, .. } => {
                writeln!(out, "**Assistant**{when}\n\n{}\n", md_text(text))?
            }
            Body::Reasoning { text } => {
                let quoted: Vec<String> = md_text(text).lines().map(|l| format!("> {l}")).collect();
                writeln!(out, "*Thinking*{when}\n\n{}\n", quoted.join("\n"))?;
            }
            Body::Command { output, .. } => {
                let Some(line) = e.body.command_line() else {
                    continue;
                };
                let note = line
                    .note
                    .as_deref()
                    .map(|n| format!(" ({})", md_text(n)))
                    .unwrap_or_default();
                writeln!(out, "**Command**{when}{note}\n")?;
                md_block(out, "sh", &format!("{} {}", line.prompt, line.text))?;
                md_output(out, output)?;
            }
            Body::Patch {
                files,
                diff,
                output,
            } => {
                let names: Vec<String> = files.iter().map(|f| format!("`{f}`")).collect();
                writeln!(out, "**Patch**{when}: {}\n", names.join(", "))?;
                md_block(out, "diff", diff)?;
                md_output(out, output)?;
            }
            Body::ToolCall {
                name,
                input,
                output,
            } => {
                writeln!(out, "**Tool** `{name}`{when}\n")?;
                md_block(out, "json", input)?;
                md_output(out, output)?;
            }
            Body::ToolOutput { output } => md_output(out, &Some(output.clone()))?,
            Body::WebSearch { query } => {
                writeln!(out, "**Web search**{when}: {}\n", md_text(query))?
            }
            Body::ToolSearch { query, found } => writeln!(
                out,
                "**Tool search**{when}: {}{}\n",
                md_text(query),
                found.map(|n| format!(" ({n} found)")).unwrap_or_default()
            )?,
            Body::AgentMessage {
                author,
                recipient,
                text,
            } => writeln!(
                out,
                "**{} → {}**{when}\n\n{}\n",
                md_text(author),
                md_text(recipient),
                md_text(text)
            )?,
            Body::Spawn(s) => writeln!(
                out,
                "> *Spawned subagent* `{}`{}{}\n",
                s.id,
                agent(s.nickname.as_deref(), s.role.as_deref()),
                s.label
                    .as_deref()
                    .map(|l| format!(": {}", md_text(l)))
                    .unwrap_or_default()
            )?,
            Body::ImageGenerated { prompt, bytes } => writeln!(
                out,
                "*[generated image, {} KB]*{}\n",
                bytes / 1024,
                prompt
                    .as_deref()
                    .map(|p| format!(" {}", md_text(p)))
                    .unwrap_or_default()
            )?,
            Body::Compaction { items } => writeln!(out, "---\n\n*{}*\n", compaction(*items))?,
            Body::WorldState { .. } => {}
            Body::Inherited(h) => writeln!(out, "> *{}*\n", inherited(h))?,
        }
    }
    Ok(())
}

fn md_output(out: &mut dyn Write, output: &Option<Output>) -> std::io::Result<()> {
    if let Some(o) = output {
        md_block(out, "text", &o.text)?;
    }
    Ok(())
}

fn agent(nickname: Option<&str>, role: Option<&str>) -> String {
    match (nickname, role) {
        (Some(n), Some(r)) => format!(" ({n}, {r})"),
        (Some(x), None) | (None, Some(x)) => format!(" ({x})"),
        (None, None) => String::new(),
    }
}

fn compaction(items: Option<usize>) -> String {
    match items {
        Some(n) => format!("Context compacted ({n} items)"),
        None => "Context compacted".to_string(),
    }
}

fn inherited(h: &crate::transcript::Inherited) -> String {
    let from = h
        .thread_id
        .as_deref()
        .or(h.rollout_path.as_deref())
        .unwrap_or("another file");
    let size = h
        .end_offset
        .map(|b| format!("{b} bytes of "))
        .unwrap_or_default();
    if h.fork {
        format!("Forked from {size}{from}")
    } else {
        format!("Inherited history: {size}{from}")
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A message as agents write it, Markdown (CommonMark with tables, strikethrough and task
/// lists), as HTML that can hold nothing active: raw HTML in the Markdown is shown as text,
/// a link is a link only to `http(s):` or `mailto:` (any other is its text), an image is
/// a placeholder (the page loads nothing), and every text is escaped by the renderer.
pub fn markdown_html(text: &str) -> String {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_GFM;
    // Whether each open link was kept, to drop the end of those that were not.
    let mut links: Vec<bool> = Vec::new();
    let events = Parser::new_ext(text, options).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Link { ref dest_url, .. }) => {
            let kept = safe_link(dest_url);
            links.push(kept);
            if kept { event } else { Event::Text("".into()) }
        }
        Event::End(TagEnd::Link) => {
            if links.pop().unwrap_or(false) {
                event
            } else {
                Event::Text("".into())
            }
        }
        Event::Start(Tag::Image { .. }) => Event::Text("[image: ".into()),
        Event::End(TagEnd::Image) => Event::Text("]".into()),
        other => other,
    });
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    pulldown_cmark::html::push_html(&mut out, events);
    out
}

/// Whether a link target may stay a link: only web and mail addresses, spelled plainly (a
/// browser ignores leading spaces and control characters in a scheme; we refuse them).
fn safe_link(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    ["http://", "https://", "mailto:"]
        .iter()
        .any(|s| lower.starts_with(s))
}

const CSS: &str = "
:root{color-scheme:light dark;--bg:#fff;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--code:#f6f8fa;--user:#ddf4ff;--agent:#fff8c5}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#3d444d;--code:#151b23;--user:#0c2d6b;--agent:#3a2f00}}
body{background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
h1{font-size:1.6rem;margin:0 0 .5rem}h2{font-size:1.2rem;border-bottom:1px solid var(--line);padding-bottom:.2rem;margin-top:2rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;color:var(--muted)}dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}
article{margin:1rem 0;padding:.5rem .8rem;border-left:3px solid var(--line)}
article.user{background:var(--user);border-color:#0969da}article.assistant{border-color:#1a7f37}
article.agent{background:var(--agent)}.who{font-weight:600}.when{color:var(--muted);font-size:.85em;margin-left:.5rem}
.note{color:var(--muted);font-style:italic}.text{white-space:pre-wrap;overflow-wrap:anywhere}
.md{overflow-wrap:anywhere}.md>:first-child{margin-top:.3rem}.md>:last-child{margin-bottom:0}
.md code{background:var(--code);padding:.1em .3em;border-radius:4px;font:13px ui-monospace,SFMono-Regular,Menlo,monospace}.md pre code{background:none;padding:0}
.md table{border-collapse:collapse;margin:.5rem 0}.md th,.md td{border:1px solid var(--line);padding:.2rem .5rem}.md blockquote{margin:.5rem 0;padding-left:.8rem;border-left:3px solid var(--line);color:var(--muted)}
pre{background:var(--code);padding:.6rem;overflow-x:auto;white-space:pre-wrap;overflow-wrap:anywhere;border-radius:6px;font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,monospace}
details summary{cursor:pointer;color:var(--muted)}
@media print{body{max-width:none;margin:0;font-size:11pt}details>*{display:block}article{break-inside:avoid}pre{white-space:pre-wrap}}
";

fn html(doc: &Document, out: &mut dyn Write) -> std::io::Result<()> {
    let e = escape_html;
    let title = heading(&doc.session);
    write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<header>\n<h1>{}</h1>\n<dl>\n",
        e(&title),
        e(&title)
    )?;
    for (label, value) in facts(doc) {
        writeln!(out, "<dt>{}</dt><dd>{}</dd>", e(label), e(&value))?;
    }
    writeln!(out, "</dl>\n</header>\n<main>")?;
    let mut turn = None;
    for entry in &doc.entries {
        if turn != Some(entry.turn) {
            if turn.is_some() {
                writeln!(out, "</section>")?;
            }
            turn = Some(entry.turn);
            writeln!(out, "<section>\n<h2>{}</h2>", e(&turn_heading(entry.turn)))?;
        }
        html_entry(out, entry)?;
    }
    if turn.is_some() {
        writeln!(out, "</section>")?;
    }
    writeln!(out, "</main>\n</body>\n</html>")
}

fn html_output(out: &mut dyn Write, o: &Option<Output>) -> std::io::Result<()> {
    let Some(o) = o else { return Ok(()) };
    let lines = o.text.lines().count();
    if lines > 12 {
        writeln!(
            out,
            "<details><summary>output ({lines} lines{})</summary><pre>{}</pre></details>",
            if o.omitted_lines > 0 {
                format!(", {} more left out", o.omitted_lines)
            } else {
                String::new()
            },
            escape_html(&o.text)
        )
    } else {
        writeln!(out, "<pre>{}</pre>", escape_html(&o.text))
    }
}

fn html_entry(out: &mut dyn Write, entry: &Entry) -> std::io::Result<()> {
    let e = escape_html;
    let when = entry
        .timestamp
        .as_deref()
        .and_then(|t| t.get(11..19))
        .map(|t| format!("<span class=\"when\">{}</span>", e(t)))
        .unwrap_or_default();
    let seq = entry.seq;
    match &entry.body {
        Body::Context { label, lines, text } => match text {
            Some(t) => writeln!(
                out,
                "<article id=\"l{seq}\" class=\"context\"><span class=\"who\">Context</span>{when}<pre>{}</pre></article>",
                e(t)
            ),
            None => writeln!(
                out,
                "<p id=\"l{seq}\" class=\"note\">Context: <code>{}</code> ({lines} lines)</p>",
                e(label)
            ),
        },
        Body::User { text, images } => {
            write!(
                out,
                "<article id=\"l{seq}\" class=\"user\"><span class=\"who\">User</span>{when}<div class=\"md\">{}</div>",
                markdown_html(text)
            )?;
            for i in images {
                write!(
                    out,
                    "<p class=\"note\">[image: {}, {} KB]</p>",
                    e(&i.kind),
                    i.bytes / 1024
                )?;
            }
            writeln!(out, "</article>")
        }
        Body::Assistant { text, .. } => writeln!(
            out,
            "<article id=\"l{seq}\" class=\"assistant\"><span class=\"who\">Assistant</span>{when}<div class=\"md\">{}</div></article>",
            markdown_html(text)
        ),
        Body::Reasoning { text } => writeln!(
            out,
            "<article id=\"l{seq}\" class=\"reasoning\"><span class=\"who\">Thinking</span>{when}<div class=\"md note\">{}</div></article>",
            markdown_html(text)
        ),
        Body::Command { output, .. } => {
            let Some(line) = entry.body.command_line() else {
                return Ok(());
            };
            let note = line
                .note
                .as_deref()
                .map(|n| format!(" <span class=\"note\">{}</span>", e(n)))
                .unwrap_or_default();
            write!(
                out,
                "<article id=\"l{seq}\" class=\"command\"><span class=\"who\">Command</span>{when}{note}<pre>{} {}</pre>",
                line.prompt,
                e(line.text)
            )?;
            html_output(out, output)?;
            writeln!(out, "</article>")
        }
        Body::Patch {
            files,
            diff,
            output,
        } => {
            let names: Vec<String> = files
                .iter()
                .map(|f| format!("<code>{}</code>", e(f)))
                .collect();
            write!(
                out,
                "<article id=\"l{seq}\" class=\"patch\"><span class=\"who\">Patch</span>{when} {}<pre>{}</pre>",
                names.join(", "),
                e(diff)
            )?;
            html_output(out, output)?;
            writeln!(out, "</article>")
        }
        Body::ToolCall {
            name,
            input,
            output,
        } => {
            write!(
                out,
                "<article id=\"l{seq}\" class=\"tool\"><span class=\"who\">Tool <code>{}</code></span>{when}<pre>{}</pre>",
                e(name),
                e(input)
            )?;
            html_output(out, output)?;
            writeln!(out, "</article>")
        }
        Body::ToolOutput { output } => html_output(out, &Some(output.clone())),
        Body::WebSearch { query } => writeln!(
            out,
            "<p id=\"l{seq}\" class=\"note\">Web search: {}</p>",
            e(query)
        ),
        Body::ToolSearch { query, found } => writeln!(
            out,
            "<p id=\"l{seq}\" class=\"note\">Tool search: {}{}</p>",
            e(query),
            found.map(|n| format!(" ({n} found)")).unwrap_or_default()
        ),
        Body::AgentMessage {
            author,
            recipient,
            text,
        } => writeln!(
            out,
            "<article id=\"l{seq}\" class=\"agent\"><span class=\"who\">{} → {}</span>{when}<div class=\"md\">{}</div></article>",
            e(author),
            e(recipient),
            markdown_html(text)
        ),
        Body::Spawn(s) => writeln!(
            out,
            "<p id=\"l{seq}\" class=\"note\">Spawned subagent <code>{}</code>{}{}</p>",
            e(&s.id),
            e(&agent(s.nickname.as_deref(), s.role.as_deref())),
            s.label
                .as_deref()
                .map(|l| format!(": {}", e(l)))
                .unwrap_or_default()
        ),
        Body::ImageGenerated { prompt, bytes } => writeln!(
            out,
            "<p id=\"l{seq}\" class=\"note\">[generated image, {} KB]{}</p>",
            bytes / 1024,
            prompt
                .as_deref()
                .map(|p| format!(" {}", e(p)))
                .unwrap_or_default()
        ),
        Body::Compaction { items } => writeln!(
            out,
            "<hr><p id=\"l{seq}\" class=\"note\">{}</p>",
            e(&compaction(*items))
        ),
        Body::Inherited(h) => writeln!(
            out,
            "<p id=\"l{seq}\" class=\"note\">{}</p>",
            e(&inherited(h))
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_are_longer_than_any_backtick_run_inside() {
        assert_eq!(fence("plain"), "```");
        assert_eq!(fence("a ``` b"), "````");
        assert_eq!(fence("`````"), "``````");
    }

    #[test]
    fn html_escaping_leaves_no_markup() {
        assert_eq!(
            escape_html(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
    }
}
#[cfg(test)]
mod markdown_tests {
    use super::markdown_html;

    #[test]
    fn markdown_renders_but_nothing_in_it_can_run_or_load() {
        let html = markdown_html(
            "**bold** and `<b>code</b>`\n\n<img src=x onerror=alert(1)>\n\n\
             [evil](javascript:alert(1)) [Evil](JaVaScRiPt:alert(2)) [ok](https://example.com/a?b=1&c=2) \
             [mail](mailto:a@b.c) [rel](../x)\n\n![pic](https://example.com/p.png)\n\n\
             | a | b |\n|---|---|\n| 1 | <script>x</script> |\n\n```rust\nfn main() {}\n```\n",
        );
        assert!(html.contains("<strong>bold</strong>"), "{html}");
        assert!(
            html.contains("<code>&lt;b&gt;code&lt;/b&gt;</code>"),
            "{html}"
        );
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{html}"
        );
        assert!(!html.contains("<img"), "{html}");
        assert!(
            !html.to_ascii_lowercase().contains("javascript:alert"),
            "{html}"
        );
        assert!(
            html.contains("evil") && html.contains("Evil"),
            "link text kept: {html}"
        );
        assert!(
            html.contains(r#"<a href="https://example.com/a?b=1&amp;c=2">ok</a>"#),
            "{html}"
        );
        assert!(
            html.contains(r#"<a href="mailto:a@b.c">mail</a>"#),
            "{html}"
        );
        assert!(!html.contains(r#"href="../x""#), "{html}");
        assert!(html.contains("[image: pic]"), "{html}");
        assert!(
            html.contains("<table>") && html.contains("<td>&lt;script&gt;x&lt;/script&gt;</td>"),
            "{html}"
        );
        assert!(
            html.contains("<pre><code class=\"language-rust\">fn main() {}\n</code></pre>"),
            "{html}"
        );
    }
}

//! Claude Code: sessions under `$CLAUDE_CONFIG_DIR/projects/<project>/` (else
//! `~/.claude`), one JSON object a line (`../shared/AGENT-FORMATS.md`).
//!
//! - `<sessionId>.jsonl` is a session; its subagents are `agent-<agentId>.jsonl` beside it
//!   (2.0) or in `<sessionId>/subagents/` (2.1). A subagent's lines carry the parent's
//!   `sessionId`: its own id is its file's name, its parent that `sessionId`.
//! - `user` lines are what the person typed (a string or `text` blocks), injected context
//!   (`isMeta`, `<command-name>` and other wrappers), or tool results; `assistant` lines
//!   carry one content block each (text, thinking, a tool call) and repeat the reply's
//!   `usage`, which is counted once, with its last line's figures.
//! - Large tool outputs may live in `<sessionId>/tool-results/<tool_use_id>.txt`: the
//!   output shown and indexed is that file's.
//! - `summary` (an AI-written title) and `custom-title` (`/rename`) lines title the session.
//!
//! Everything else (`progress`, `file-history-snapshot`, `queue-operation`, `system`
//! bookkeeping, including the `compact_boundary` marker: the `isCompactSummary` line that
//! follows is the compaction) carries no item; unknown types are kept as unknown lines.

use std::path::{Path, PathBuf};

use serde_json::Value;
use serde_json::value::RawValue;

use super::{Agent, Connector, LineParser};
use crate::cost::Tokens;
use crate::error::LineErrorKind;
use crate::model::{
    Compacted, ContentItem, EventMsg, GitInfo, ParsedLine, ResponseItem, RolloutItem, SessionMeta,
    TurnContext,
};

/// The Claude Code connector.
#[derive(Debug, Clone, Copy)]
pub struct Claude;

/// Folder of Claude Code's sessions under its root.
pub const PROJECTS_DIR: &str = "projects";
/// Longest tool output read from a `tool-results/` file: the index keeps its head and
/// tail, the transcript its first and last lines.
const TOOL_RESULT_MAX: u64 = 4 << 20;

impl Connector for Claude {
    fn agent(&self) -> Agent {
        Agent::Claude
    }

    fn owns(&self, path: &Path) -> bool {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            return false;
        };
        self.is_session_name(name)
            && path
                .ancestors()
                .skip(1)
                .any(|a| a.file_name().is_some_and(|n| n == PROJECTS_DIR))
    }

    fn session_dirs(&self, root: &Path) -> Vec<(PathBuf, usize)> {
        // projects/<project>/<sessionId>/subagents/agent-*.jsonl is three levels down.
        vec![(root.join(PROJECTS_DIR), 3)]
    }

    fn is_session_name(&self, name: &str) -> bool {
        // `.jsonl.zst`: rolldex's own preserved copies (see `crate::preserve`).
        let name = name.strip_suffix(".zst").unwrap_or(name);
        name.ends_with(".jsonl") && !name.starts_with('.') && !name.starts_with("rollout-")
    }

    fn session_id(&self, path: &Path) -> Option<String> {
        let name = path.file_name()?.to_str()?;
        let stem = name
            .strip_suffix(".zst")
            .unwrap_or(name)
            .strip_suffix(".jsonl")?;
        Some(match uuid::Uuid::try_parse(stem) {
            Ok(u) => u.to_string(),
            Err(_) => stem.to_string(),
        })
    }

    fn compress_in_place(&self) -> bool {
        // Claude Code cannot read a `.zst`: rolldex keeps copies of its own instead.
        false
    }

    fn forget_moves_originals(&self) -> bool {
        false
    }

    fn parser(&self, path: &Path) -> Box<dyn LineParser> {
        Box::new(Lines::new(path))
    }

    fn companions(&self, session_file: &Path) -> Vec<PathBuf> {
        let lines = Lines::new(session_file);
        // A subagent's outputs are its session's, kept with that session's file.
        let Some(dir) = lines.tool_results.filter(|_| !lines.subagent) else {
            return Vec::new();
        };
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.path())
            .filter(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    !n.starts_with('.') && (n.ends_with(".txt") || n.ends_with(".txt.zst"))
                })
            })
            .collect();
        files.sort();
        files
    }

    fn resume_command(
        &self,
        id: &str,
        cwd: Option<&str>,
        parent: Option<(&str, Option<&str>)>,
    ) -> String {
        // A subagent is part of its session's conversation: that is what continues, in
        // that session's folder (`claude --resume` looks for it under the project).
        let (id, cwd) = match parent {
            Some((p, parent_cwd)) => (p, parent_cwd.or(cwd)),
            None => (id, cwd),
        };
        match cwd {
            Some(dir) => format!("cd {} && claude --resume {id}", super::shell_quote(dir)),
            None => format!("claude --resume {id}"),
        }
    }
}

/// Parses the lines of one Claude Code file.
struct Lines {
    /// The session the file holds (its name's uuid, or `agent-<id>` for a subagent).
    own_id: Option<String>,
    /// A subagent's file (its lines' `sessionId` is its parent).
    subagent: bool,
    /// `<sessionId>/tool-results/`, where large outputs live; checked once.
    tool_results: Option<PathBuf>,
    tool_results_checked: bool,
    /// The session meta was given (from the first line that has a `cwd` or `sessionId`).
    meta_sent: bool,
}

impl Lines {
    fn new(path: &Path) -> Lines {
        let own_id = Claude.session_id(path);
        let subagent = own_id.as_deref().is_some_and(|id| id.starts_with("agent-"));
        Lines {
            own_id,
            subagent,
            tool_results: None,
            tool_results_checked: false,
            meta_sent: false,
        }
        .with_tool_results_of(path)
    }

    /// Where this file's session keeps its large tool outputs: beside a session file,
    /// `<sessionId>/tool-results/`; for a 2.1 subagent, its session's folder, two up.
    fn with_tool_results_of(mut self, path: &Path) -> Lines {
        let dir = path.parent().unwrap_or(Path::new("."));
        self.tool_results = if dir.file_name().is_some_and(|n| n == "subagents") {
            dir.parent().map(|s| s.join("tool-results"))
        } else if !self.subagent {
            self.own_id
                .as_ref()
                .map(|id| dir.join(id).join("tool-results"))
        } else {
            None
        };
        self
    }

    /// The stored output of a tool call, when Claude Code kept it in a file of its own.
    fn stored_output(&mut self, tool_use_id: &str) -> Option<String> {
        if !self.tool_results_checked {
            self.tool_results_checked = true;
            if !self.tool_results.as_ref().is_some_and(|d| d.is_dir()) {
                self.tool_results = None;
            }
        }
        if tool_use_id.contains(['/', '\0']) || tool_use_id.starts_with('.') {
            return None;
        }
        let dir = self.tool_results.as_ref()?;
        let mut text = Vec::new();
        use std::io::Read;
        // The agent's file, else rolldex's preserved copy of it (a session read from its
        // copy finds the outputs' copies beside it).
        let plain = dir.join(format!("{tool_use_id}.txt"));
        let read = match std::fs::File::open(&plain) {
            Ok(f) => f.take(TOOL_RESULT_MAX).read_to_end(&mut text),
            Err(_) => std::fs::File::open(dir.join(format!("{tool_use_id}.txt.zst")))
                .and_then(zstd::stream::read::Decoder::new)
                .ok()?
                .take(TOOL_RESULT_MAX)
                .read_to_end(&mut text),
        };
        read.ok()?;
        Some(String::from_utf8_lossy(&text).into_owned())
    }

    fn meta(&mut self, v: &Value, ts: Option<&str>) -> Option<ParsedLine> {
        if self.meta_sent {
            return None;
        }
        let session_id = str_of(v, "sessionId");
        let cwd = str_of(v, "cwd");
        if session_id.is_none() && cwd.is_none() {
            return None;
        }
        self.meta_sent = true;
        let branch = str_of(v, "gitBranch").filter(|b| !b.trim().is_empty());
        let parent = if self.subagent {
            session_id.clone()
        } else {
            None
        };
        let meta = SessionMeta {
            id: self.own_id.clone().or(session_id),
            timestamp: ts.map(str::to_string),
            cwd,
            originator: Some("claude-code".into()),
            cli_version: str_of(v, "version"),
            source: Some(if self.subagent { "subagent" } else { "cli" }.into()),
            model_provider: Some("anthropic".into()),
            git: branch.map(|b| GitInfo {
                branch: Some(b),
                ..Default::default()
            }),
            parent_thread_id: parent,
            agent_nickname: str_of(v, "agentId").filter(|_| self.subagent),
            ..Default::default()
        };
        Some(line(ts, RolloutItem::SessionMeta(Box::new(meta))))
    }

    fn user(&mut self, v: &Value, ts: Option<&str>, out: &mut Vec<ParsedLine>) {
        let content = v.pointer("/message/content");
        let is_meta = v.get("isMeta").and_then(Value::as_bool).unwrap_or(false);
        let mut texts = Vec::new();
        let mut parts = Vec::new();
        match content {
            Some(Value::String(s)) => texts.push(s.clone()),
            Some(Value::Array(blocks)) => {
                for b in blocks {
                    match b.get("type").and_then(Value::as_str) {
                        Some("text") => {
                            if let Some(t) = str_of(b, "text") {
                                texts.push(t);
                            }
                        }
                        Some("image") => parts.push(image(b)),
                        Some("tool_result") => {
                            let id = str_of(b, "tool_use_id");
                            let mut text = match id.as_deref().and_then(|i| self.stored_output(i)) {
                                Some(stored) => stored,
                                None => block_text(b.get("content")),
                            };
                            if b.get("is_error").and_then(Value::as_bool) == Some(true) {
                                text = format!("Error: {text}");
                            }
                            out.push(line(
                                ts,
                                RolloutItem::ResponseItem(ResponseItem::FunctionCallOutput {
                                    call_id: id,
                                    output: text,
                                }),
                            ));
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        if texts.is_empty() && parts.is_empty() {
            return;
        }
        let text = texts.join("\n");
        if v.get("isCompactSummary").and_then(Value::as_bool) == Some(true) {
            out.push(line(
                ts,
                RolloutItem::Compacted(Compacted {
                    message: Some(text),
                    replacement_items: 0,
                }),
            ));
            return;
        }
        let typed = !is_meta && !is_wrapper(&text);
        let images = parts.len();
        let image_bytes = parts
            .iter()
            .map(|p| match p {
                ContentItem::Image { url_len, .. } => *url_len,
                _ => 0,
            })
            .sum();
        let mut content: Vec<ContentItem> = vec![ContentItem::Text(text.clone())];
        content.extend(parts);
        // Injected context reads as context, never as what the person said.
        let role = if typed { "user" } else { "developer" };
        out.push(line(
            ts,
            RolloutItem::ResponseItem(ResponseItem::Message {
                role: role.into(),
                content,
                phase: None,
            }),
        ));
        if typed {
            out.push(line(
                ts,
                RolloutItem::EventMsg(EventMsg::UserMessage {
                    message: text,
                    images,
                    image_bytes,
                }),
            ));
        }
    }

    fn assistant(&mut self, v: &Value, ts: Option<&str>, out: &mut Vec<ParsedLine>) {
        let Some(message) = v.get("message") else {
            return;
        };
        let model = str_of(message, "model").filter(|m| m != "<synthetic>");
        if let Some(m) = &model {
            out.push(line(
                ts,
                RolloutItem::TurnContext(TurnContext {
                    model: Some(m.clone()),
                    cwd: str_of(v, "cwd"),
                    ..Default::default()
                }),
            ));
        }
        let mut texts = Vec::new();
        let blocks = match message.get("content") {
            Some(Value::String(s)) => {
                texts.push(s.clone());
                &[][..]
            }
            Some(Value::Array(b)) => &b[..],
            _ => &[][..],
        };
        for b in blocks {
            match b.get("type").and_then(Value::as_str) {
                Some("text") => texts.extend(str_of(b, "text")),
                Some("thinking") => out.push(line(
                    ts,
                    RolloutItem::ResponseItem(ResponseItem::Reasoning {
                        summary: str_of(b, "thinking").into_iter().collect(),
                        content: Vec::new(),
                        encrypted: false,
                    }),
                )),
                Some("redacted_thinking") => out.push(line(
                    ts,
                    RolloutItem::ResponseItem(ResponseItem::Reasoning {
                        summary: Vec::new(),
                        content: Vec::new(),
                        encrypted: true,
                    }),
                )),
                Some("tool_use") => out.push(line(ts, tool_call(b))),
                _ => {}
            }
        }
        if !texts.is_empty() {
            out.push(line(
                ts,
                RolloutItem::ResponseItem(ResponseItem::Message {
                    role: "assistant".into(),
                    content: vec![ContentItem::Text(texts.join("\n"))],
                    phase: None,
                }),
            ));
        }
        // Every line of a streamed reply repeats its usage, its output growing until the
        // last: the reply is counted once, with the figures of its last line.
        if let (Some(id), Some(usage), Some(model)) =
            (str_of(message, "id"), message.get("usage"), model)
        {
            let (tokens, usage, fast) = reply_usage(usage);
            out.push(line(
                ts,
                RolloutItem::ReplyUsage {
                    reply: id,
                    tokens,
                    model,
                    usage,
                    fast,
                },
            ));
        }
    }
}

/// A reply's `usage`: its total (input, output, cache writes and reads), its tokens by
/// billing kind (cache writes split into 1-hour and 5-minute ones where
/// `cache_creation` says so), and whether it ran in fast mode (`speed: "fast"`).
fn reply_usage(usage: &Value) -> (u64, Tokens, bool) {
    let n = |v: &Value, k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
    let written = n(usage, "cache_creation_input_tokens");
    let hour = usage
        .get("cache_creation")
        .map_or(0, |c| n(c, "ephemeral_1h_input_tokens"))
        .min(written);
    let tokens = Tokens {
        input: n(usage, "input_tokens"),
        cache_read: n(usage, "cache_read_input_tokens"),
        cache_write_5m: written - hour,
        cache_write_1h: hour,
        output: n(usage, "output_tokens"),
        reasoning: 0,
    };
    let fast = usage.get("speed").and_then(Value::as_str) == Some("fast");
    (tokens.total(), tokens, fast)
}

impl LineParser for Lines {
    fn parse(&mut self, bytes: &[u8], out: &mut Vec<ParsedLine>) -> Result<(), LineErrorKind> {
        let text = std::str::from_utf8(bytes.trim_ascii_end()).map_err(|e| {
            LineErrorKind::InvalidUtf8 {
                valid_up_to: e.valid_up_to(),
            }
        })?;
        // Read once, keeping only the fields used: the rest (`toolUseResult`, which repeats
        // a tool's output, `progress` data, uuids) is skipped unbuilt. Most lines are
        // bookkeeping (`progress` alone is two thirds of them): once the session's facts
        // are known, their type is all that is used. A line the narrow reading refuses (a
        // repeated key) is read whole, as any JSON object.
        let v = match serde_json::from_str::<Top<'_>>(text) {
            Ok(top) => {
                if self.meta_sent
                    && let Some(kind) = top.kind.and_then(raw_str)
                    && BOOKKEEPING.contains(&kind)
                {
                    let ts = top.timestamp.and_then(raw_str);
                    out.push(line(ts, RolloutItem::State));
                    return Ok(());
                }
                top.into_value()
            }
            Err(_) => serde_json::from_str::<Value>(text)
                .map_err(|e| LineErrorKind::Json(e.to_string()))?,
        };
        let Some(kind) = v.get("type").and_then(Value::as_str) else {
            return Err(LineErrorKind::Shape(
                "a Claude Code line is an object with a \"type\"".into(),
            ));
        };
        let ts = v.get("timestamp").and_then(Value::as_str);
        if let Some(meta) = self.meta(&v, ts) {
            out.push(meta);
        }
        match kind {
            "user" => self.user(&v, ts, out),
            "assistant" => self.assistant(&v, ts, out),
            "summary" => out.extend(title(&v, ts, "summary", 1)),
            "custom-title" => {
                out.extend(title(&v, ts, "customTitle", 2).or_else(|| title(&v, ts, "title", 2)))
            }
            "system" | "progress" | "file-history-snapshot" | "queue-operation" => {
                out.push(line(ts, RolloutItem::State))
            }
            other => match serde_json::value::RawValue::from_string(text.to_string()) {
                Ok(raw) => out.push(line(
                    ts,
                    RolloutItem::Unknown {
                        kind: other.to_string(),
                        payload: crate::model::RawJson(raw),
                    },
                )),
                Err(_) => out.push(line(ts, RolloutItem::State)),
            },
        }
        Ok(())
    }
}

/// Line types that carry nothing to index or show.
const BOOKKEEPING: [&str; 4] = [
    "progress",
    "file-history-snapshot",
    "queue-operation",
    "system",
];

/// The fields of a line the connector reads, each left as raw JSON until used (so no
/// field's type can make the line unreadable: it is checked where it is read, as with a
/// `Value`); every other field is skipped without being built.
#[derive(serde::Deserialize)]
struct Top<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<&'a RawValue>,
    #[serde(borrow, default)]
    timestamp: Option<&'a RawValue>,
    #[serde(rename = "sessionId", borrow, default)]
    session_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    cwd: Option<&'a RawValue>,
    #[serde(rename = "gitBranch", borrow, default)]
    git_branch: Option<&'a RawValue>,
    #[serde(borrow, default)]
    version: Option<&'a RawValue>,
    #[serde(rename = "agentId", borrow, default)]
    agent_id: Option<&'a RawValue>,
    #[serde(rename = "isMeta", borrow, default)]
    is_meta: Option<&'a RawValue>,
    #[serde(rename = "isCompactSummary", borrow, default)]
    is_compact_summary: Option<&'a RawValue>,
    #[serde(borrow, default)]
    message: Option<&'a RawValue>,
    #[serde(borrow, default)]
    summary: Option<&'a RawValue>,
    #[serde(rename = "customTitle", borrow, default)]
    custom_title: Option<&'a RawValue>,
    #[serde(borrow, default)]
    title: Option<&'a RawValue>,
}

impl Top<'_> {
    /// The fields read, as the object the rest of the connector reads.
    fn into_value(self) -> Value {
        let mut m = serde_json::Map::new();
        let fields = [
            ("type", self.kind),
            ("timestamp", self.timestamp),
            ("sessionId", self.session_id),
            ("cwd", self.cwd),
            ("gitBranch", self.git_branch),
            ("version", self.version),
            ("agentId", self.agent_id),
            ("isMeta", self.is_meta),
            ("isCompactSummary", self.is_compact_summary),
            ("message", self.message),
            ("summary", self.summary),
            ("customTitle", self.custom_title),
            ("title", self.title),
        ];
        for (key, raw) in fields {
            // Valid JSON already (the line parsed): a value always comes out.
            if let Some(v) = raw.and_then(|r| serde_json::from_str::<Value>(r.get()).ok()) {
                m.insert(key.to_string(), v);
            }
        }
        Value::Object(m)
    }
}

/// A raw JSON string without escapes, borrowed (`"progress"`): enough for a type or a
/// time; anything else reads as absent here and is read in full elsewhere.
fn raw_str(raw: &RawValue) -> Option<&str> {
    let s = raw.get().strip_prefix('"')?.strip_suffix('"')?;
    (!s.contains(['\\', '"'])).then_some(s)
}

use super::{line, str_of};

fn title(v: &Value, ts: Option<&str>, key: &str, rank: u8) -> Option<ParsedLine> {
    let text = str_of(v, key).filter(|t| !t.trim().is_empty())?;
    Some(line(ts, RolloutItem::TitleHint { text, rank }))
}

/// An image block as a placeholder: its data's size and media type, never the data.
fn image(b: &Value) -> ContentItem {
    let source = b.get("source");
    ContentItem::Image {
        url_len: source
            .and_then(|s| s.get("data"))
            .and_then(Value::as_str)
            .map_or(0, str::len),
        mime: source.and_then(|s| str_of(s, "media_type")),
    }
}

/// A tool result's content (a string, or blocks of text and images) as text.
fn block_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .filter_map(|b| match b.get("type").and_then(Value::as_str) {
                Some("text") => str_of(b, "text"),
                Some("image") => Some("[image]".into()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// A `tool_use` block as a call of the common model: the Bash tool is a shell command.
fn tool_call(b: &Value) -> RolloutItem {
    let name = str_of(b, "name").unwrap_or_else(|| "tool".into());
    let input = b.get("input").cloned().unwrap_or(Value::Null);
    let call_id = str_of(b, "id");
    let item = match (name.as_str(), input.get("command").and_then(Value::as_str)) {
        ("Bash", Some(command)) => ResponseItem::FunctionCall {
            name: "shell_command".into(),
            arguments: serde_json::json!({ "command": command }).to_string(),
            call_id,
        },
        _ => ResponseItem::FunctionCall {
            name,
            arguments: input.to_string(),
            call_id,
        },
    };
    RolloutItem::ResponseItem(item)
}

/// Text Claude Code wraps around what was not typed: slash-command echoes, local command
/// output, reminders, interruptions.
fn is_wrapper(text: &str) -> bool {
    let t = text.trim_start();
    t.is_empty()
        || t.starts_with('<')
        || t.starts_with("Caveat:")
        || t.starts_with("[Request interrupted")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(path: &Path, lines: &[Value]) -> Vec<ParsedLine> {
        let mut p = Claude.parser(path);
        let mut out = Vec::new();
        for l in lines {
            p.parse(l.to_string().as_bytes(), &mut out).expect("parses");
        }
        out
    }

    #[test]
    fn a_session_gives_meta_typed_prompts_tool_calls_outputs_and_reply_usage() {
        let path = Path::new(
            "/h/.claude/projects/-home-ann-proj/0b5e1c2d-1111-4222-8333-444455556666.jsonl",
        );
        let base = serde_json::json!({"sessionId":"0b5e1c2d-1111-4222-8333-444455556666",
            "cwd":"/home/ann/proj","gitBranch":"main","version":"2.1.3"});
        let with = |extra: Value| {
            let mut v = base.clone();
            for (k, x) in extra.as_object().expect("object") {
                v[k] = x.clone();
            }
            v
        };
        let reply = |block: Value, out: u64| {
            with(
                serde_json::json!({"type":"assistant","timestamp":"2025-11-20T10:00:02Z",
                "message":{"id":"msg_1","model":"claude-sonnet-4-5-20250929","role":"assistant",
                "content":[block],"usage":{"input_tokens":10,"output_tokens":out,
                "cache_creation_input_tokens":100,"cache_read_input_tokens":1000}}}),
            )
        };
        let got = parse_all(
            path,
            &[
                with(
                    serde_json::json!({"type":"user","isMeta":true,"timestamp":"2025-11-20T10:00:00Z",
                    "message":{"role":"user","content":"Caveat: the messages below were generated"}}),
                ),
                with(
                    serde_json::json!({"type":"user","timestamp":"2025-11-20T10:00:01Z",
                    "message":{"role":"user","content":"fix the flaky test"}}),
                ),
                reply(
                    serde_json::json!({"type":"thinking","thinking":"look at the retry"}),
                    5,
                ),
                reply(
                    serde_json::json!({"type":"tool_use","id":"toolu_1","name":"Bash",
                    "input":{"command":"cargo test","description":"run"}}),
                    9,
                ),
                with(
                    serde_json::json!({"type":"user","timestamp":"2025-11-20T10:00:03Z",
                    "message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1",
                    "content":"test result: ok"}]}}),
                ),
                serde_json::json!({"type":"summary","summary":"Flaky test fixed","leafUuid":"x"}),
            ],
        );
        let items: Vec<&RolloutItem> = got.iter().map(|l| &l.item).collect();
        let RolloutItem::SessionMeta(meta) = items[0] else {
            panic!("meta first: {items:?}")
        };
        assert_eq!(
            meta.id.as_deref(),
            Some("0b5e1c2d-1111-4222-8333-444455556666")
        );
        assert_eq!(meta.cwd.as_deref(), Some("/home/ann/proj"));
        assert_eq!(
            meta.git.as_ref().and_then(|g| g.branch.as_deref()),
            Some("main")
        );
        assert!(
            matches!(items[1], RolloutItem::ResponseItem(ResponseItem::Message { role, .. }) if role == "developer")
        );
        assert!(
            matches!(items[3], RolloutItem::EventMsg(EventMsg::UserMessage { message, .. }) if message == "fix the flaky test")
        );
        let usage: Vec<(&str, u64)> = items
            .iter()
            .filter_map(|i| match i {
                RolloutItem::ReplyUsage { reply, tokens, .. } => Some((reply.as_str(), *tokens)),
                _ => None,
            })
            .collect();
        assert_eq!(usage, [("msg_1", 1115), ("msg_1", 1119)]);
        assert!(items.iter().any(|i| matches!(i, RolloutItem::ResponseItem(r) if r.shell_command().as_deref() == Some("cargo test"))));
        assert!(items.iter().any(|i| matches!(i, RolloutItem::ResponseItem(ResponseItem::FunctionCallOutput { call_id: Some(c), output }) if c == "toolu_1" && output == "test result: ok")));
        assert!(items.iter().any(
            |i| matches!(i, RolloutItem::TitleHint { rank: 1, text } if text == "Flaky test fixed")
        ));
    }

    #[test]
    fn a_subagent_is_its_own_session_whose_parent_is_the_lines_session_id() {
        for path in [
            "/h/.claude/projects/-p/agent-a1b2c3d4.jsonl",
            "/h/.claude/projects/-p/0b5e1c2d-1111-4222-8333-444455556666/subagents/agent-a1b2c3d4.jsonl",
        ] {
            let path = Path::new(path);
            assert!(Claude.owns(path));
            let got = parse_all(
                path,
                &[
                    serde_json::json!({"type":"user","sessionId":"0b5e1c2d-1111-4222-8333-444455556666",
                    "agentId":"a1b2c3d4","isSidechain":true,"cwd":"/w","timestamp":"2025-11-20T10:00:00Z",
                    "message":{"role":"user","content":"explore the parser"}}),
                ],
            );
            let RolloutItem::SessionMeta(meta) = &got[0].item else {
                panic!("{got:?}")
            };
            assert_eq!(meta.id.as_deref(), Some("agent-a1b2c3d4"));
            assert_eq!(
                meta.parent_thread_id.as_deref(),
                Some("0b5e1c2d-1111-4222-8333-444455556666")
            );
        }
        assert!(!Claude.owns(Path::new("/h/.codex/sessions/rollout-x.jsonl")));
        assert!(!Claude.owns(Path::new("/h/elsewhere/a.jsonl")));
    }

    #[test]
    fn broken_and_glued_lines_are_errors_not_panics() {
        let mut p = Claude.parser(Path::new("/h/.claude/projects/-p/s.jsonl"));
        let mut out = Vec::new();
        for bad in [
            &b"{\"type\":\"user\"}{\"type\":\"user\"}"[..],
            b"{\"type\":",
            b"\xff\xfe",
            b"[1,2]",
        ] {
            assert!(p.parse(bad, &mut out).is_err(), "{bad:?}");
        }
    }
}

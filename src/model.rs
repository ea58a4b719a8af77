//! The rollout line format: both shapes, typed where we read, raw JSON everywhere else.
//!
//! A rollout is JSON Lines in one of two shapes (see `FORMAT.md`):
//! - **envelope** (Codex since September 2025): `{"timestamp","type","payload"}` per line;
//! - **legacy**: a bare session-meta object first, then bare response items and
//!   `{"record_type":"state"}` lines.
//!
//! [`parse_line`] recognises the shape of each line on its own, so a legacy file that a
//! newer recorder appended envelope lines to reads as well as a pure one. Parsing is
//! lenient on purpose: a field of the wrong type becomes `None` instead of failing the line,
//! and kinds we do not know are returned as [`RolloutItem::Unknown`] with their payload kept
//! as raw JSON. Only a line that is not JSON, or JSON of no rollout shape, is an error.
//!
//! Nothing here serializes a parsed line back: the files are never rewritten, so the exact
//! bytes of a line are whatever the reader read.

use std::marker::PhantomData;

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::error::LineErrorKind;

/// JSON kept exactly as it was written, for what rolldex does not read.
#[derive(Debug, Clone)]
pub struct RawJson(pub Box<RawValue>);

impl RawJson {
    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

/// Which of the two shapes a line has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `{"timestamp","type","payload"}`.
    Envelope,
    /// A bare meta object, a bare response item or a `record_type` line.
    Legacy,
}

/// One parsed line.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedLine {
    /// The shape the line was written in.
    pub shape: Shape,
    /// The line's UTC timestamp (envelope lines only), as written.
    pub timestamp: Option<String>,
    /// The line's `ordinal`, written in paginated history (envelope lines only). It need
    /// not start at 0 (a forked child continues its parent's numbering) and can repeat in
    /// damaged files: a label, never a key.
    pub ordinal: Option<u64>,
    /// What the line carries.
    pub item: RolloutItem,
}

/// What a line carries.
#[derive(Debug, Clone, PartialEq)]
pub enum RolloutItem {
    /// A `session_meta` line, or the legacy first line.
    SessionMeta(Box<SessionMeta>),
    /// A response item: envelope `response_item`, or a bare legacy item.
    ResponseItem(ResponseItem),
    /// An `event_msg` line.
    EventMsg(EventMsg),
    /// A `turn_context` line.
    TurnContext(TurnContext),
    /// A `compacted` line.
    Compacted(Compacted),
    /// A legacy `{"record_type":"state"}` line; it carries no item.
    State,
    /// A `token_usage_record` line (one per model response).
    TokenUsageRecord {
        /// `thread_token_usage.total_tokens`: the thread's cumulative total so far.
        thread_total: Option<u64>,
        /// `thread_token_usage` by kind.
        thread: Option<TokenUsage>,
    },
    /// A `world_state` line: a baseline (`full`) or a patch of the agent's world state.
    WorldState {
        /// Whether it is a full baseline rather than a patch.
        full: bool,
        /// How many top-level keys its `state` has.
        keys: usize,
    },
    /// An `inter_agent_communication` line: one agent's message to another.
    InterAgent(AgentMessage),
    /// A `rollout_reference` or `fork_reference` line: this file continues history that
    /// is stored in another file.
    HistoryReference(HistoryReference),
    /// One model reply's token usage, for agents that write usage per reply rather than a
    /// running total (Claude Code streams a reply over several lines, each repeating it):
    /// the session's tokens are the sum over replies of each one's last usage.
    ReplyUsage {
        /// The reply's id: lines with the same id repeat one reply's usage.
        reply: String,
        /// Its tokens (input, output and cache reads and writes), as the agent totals them.
        tokens: u64,
        /// The model that wrote the reply.
        model: String,
        /// Its tokens by the kind they are billed as.
        usage: crate::cost::Tokens,
        /// Run at a fast/priority service tier.
        fast: bool,
    },
    /// A title the agent or the person gave the session inside its file (Claude Code's
    /// `summary` and `custom-title` lines): it beats the first prompt, and a higher rank
    /// beats a lower one.
    TitleHint {
        /// The title.
        text: String,
        /// 1 for a title the agent wrote, 2 for one the person chose.
        rank: u8,
    },
    /// An envelope kind this version does not know, kept as raw JSON.
    Unknown {
        /// The line's `type`.
        kind: String,
        /// The line's payload, as written.
        payload: RawJson,
    },
}

/// A message between agents (an `inter_agent_communication` line, or an `agent_message`
/// response item).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentMessage {
    /// The sending agent's path, e.g. `/root`.
    pub author: Option<String>,
    /// The receiving agent's path, e.g. `/root/scout`.
    pub recipient: Option<String>,
    /// The readable text (empty when only encrypted content was written).
    pub text: String,
    /// Whether encrypted content was present (never decoded).
    pub encrypted: bool,
}

/// Where a file's earlier history lives (`rollout_reference` / `fork_reference`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryReference {
    /// `fork_reference` rather than `rollout_reference`.
    pub fork: bool,
    /// The file holding the history, as written.
    pub rollout_path: Option<String>,
    /// The session whose file it is.
    pub thread_id: Option<String>,
}

/// Git information of a session's working directory, each part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct GitInfo {
    /// `HEAD` commit hash.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub commit_hash: Option<String>,
    /// Current branch name.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub branch: Option<String>,
    /// URL of the `origin` remote.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub repository_url: Option<String>,
}

impl GitInfo {
    /// True when no part is known.
    pub fn is_empty(&self) -> bool {
        self.commit_hash.is_none() && self.branch.is_none() && self.repository_url.is_none()
    }
}

/// Session metadata, from either shape.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionMeta {
    /// The session id as written (normally a UUID; see [`SessionMeta::uuid`]).
    pub id: Option<String>,
    /// Session start, as written (UTC).
    pub timestamp: Option<String>,
    /// Working directory.
    pub cwd: Option<String>,
    /// Which program wrote it, e.g. `codex_cli_rs`.
    pub originator: Option<String>,
    /// Version of that program.
    pub cli_version: Option<String>,
    /// `cli`, `vscode`, `exec`, `mcp`, or for an object such as `{"subagent":...}` its key.
    pub source: Option<String>,
    /// Model provider id.
    pub model_provider: Option<String>,
    /// `instructions`, or `base_instructions.text` in newer files.
    pub instructions: Option<String>,
    /// The session this one was forked from.
    pub forked_from_id: Option<String>,
    /// Git information, when the writer collected it.
    pub git: Option<GitInfo>,
    /// The session that spawned this one: `parent_thread_id`, else
    /// `source.subagent.thread_spawn.parent_thread_id`.
    pub parent_thread_id: Option<String>,
    /// What the parent calls this subagent (`agent_nickname`, else the spawn's).
    pub agent_nickname: Option<String>,
    /// The subagent's role (`agent_role`, else the spawn's).
    pub agent_role: Option<String>,
    /// The subagent's path in its agent tree, e.g. `/root/scout`.
    pub agent_path: Option<String>,
    /// `thread_source`: `user`, `subagent`, `guardian_review`...
    pub thread_source: Option<String>,
    /// History this file continues without holding it: the parent file's bytes before
    /// an offset.
    pub history_base: Option<HistoryBase>,
    /// The SHA-256 (hex) of the session's folder, for an agent that names the folder only
    /// so (Gemini CLI's project hash): the index recovers `cwd` from it when a folder it
    /// knows hashes to it.
    pub folder_hash: Option<String>,
}

/// Where a child's inherited history lives (`session_meta.history_base`): its parent's
/// file, up to a byte offset. It is not copied into the child's file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct HistoryBase {
    /// The session whose file holds the history.
    #[serde(default, deserialize_with = "lenient_str")]
    pub thread_id: Option<String>,
    /// The first ordinal after the inherited part.
    #[serde(default, deserialize_with = "lenient")]
    pub end_ordinal_exclusive: Option<u64>,
    /// The inherited history is the parent file's bytes before this offset.
    #[serde(default, deserialize_with = "lenient")]
    pub end_byte_offset: Option<u64>,
}

impl SessionMeta {
    /// The id as a UUID, when it is one.
    pub fn uuid(&self) -> Option<Uuid> {
        self.id
            .as_deref()
            .and_then(|s| Uuid::parse_str(s.trim()).ok())
    }
}

/// A response item, the unit of conversation history.
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseItem {
    /// A message from the user, the assistant, or an injected developer/system block.
    Message {
        /// `user`, `assistant`, `developer`, `system`.
        role: String,
        /// Text and image parts.
        content: Vec<ContentItem>,
        /// `commentary` or `final_answer`, when written.
        phase: Option<String>,
    },
    /// Model reasoning: readable summaries, optional content, opaque encrypted content.
    Reasoning {
        /// The summary texts.
        summary: Vec<String>,
        /// Readable reasoning content, when present.
        content: Vec<String>,
        /// Whether opaque `encrypted_content` is present (never decoded).
        encrypted: bool,
    },
    /// A function (tool) call; `arguments` is a JSON string.
    FunctionCall {
        /// Tool name, e.g. `shell`, `exec_command`.
        name: String,
        /// The arguments, a JSON document in a string.
        arguments: String,
        /// Call id linking the output.
        call_id: Option<String>,
    },
    /// The output of a function call, flattened to text.
    FunctionCallOutput {
        /// Call id.
        call_id: Option<String>,
        /// Output text.
        output: String,
    },
    /// A local shell call.
    LocalShellCall {
        /// Call id.
        call_id: Option<String>,
        /// Status as written.
        status: Option<String>,
        /// The command's argv.
        command: Vec<String>,
        /// The folder it ran in (`action.working_directory`), when written.
        workdir: Option<String>,
    },
    /// A custom tool call such as `apply_patch`.
    CustomToolCall {
        /// Tool name.
        name: String,
        /// Input text (the patch for apply_patch).
        input: String,
        /// Call id.
        call_id: Option<String>,
    },
    /// The output of a custom tool call, flattened to text.
    CustomToolCallOutput {
        /// Call id.
        call_id: Option<String>,
        /// Output text.
        output: String,
    },
    /// A web search.
    WebSearchCall {
        /// Status as written.
        status: Option<String>,
        /// The query, when the action is a search.
        query: Option<String>,
    },
    /// A message from one agent to another (`agent_message`).
    AgentMessage(AgentMessage),
    /// A search for tools to use (`tool_search_call`).
    ToolSearchCall {
        /// Call id.
        call_id: Option<String>,
        /// What was searched for: the `query` argument, else the arguments as JSON.
        query: String,
    },
    /// The tools a tool search found (`tool_search_output`).
    ToolSearchOutput {
        /// Call id.
        call_id: Option<String>,
        /// How many tools it returned.
        tools: usize,
    },
    /// An image the model generated; only the size of its (base64) result is kept.
    ImageGenerationCall {
        /// Status as written.
        status: Option<String>,
        /// The prompt as the model revised it.
        revised_prompt: Option<String>,
        /// Length in bytes of `result`.
        result_len: usize,
    },
    /// A compaction marker (`compaction`, `compaction_summary`, `context_compaction`); its
    /// content is encrypted.
    Compaction {
        /// The item's `type`.
        kind: String,
    },
    /// Any other item type, kept as raw JSON.
    Other {
        /// The item's `type`.
        kind: String,
        /// The whole item, as written.
        raw: RawJson,
    },
}

/// One part of a message's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentItem {
    /// `input_text` or `output_text`.
    Text(String),
    /// `input_image`; only the URL's length and media type are kept (it is often a
    /// multi-MB data URL).
    Image {
        /// Length in bytes of `image_url`.
        url_len: usize,
        /// The media type of a `data:` URL, e.g. `image/png`.
        mime: Option<String>,
    },
    /// Another part type, by its `type`.
    Other(String),
}

impl ResponseItem {
    /// The item's `type` tag as written in the file.
    pub fn kind(&self) -> &str {
        match self {
            ResponseItem::Message { .. } => "message",
            ResponseItem::Reasoning { .. } => "reasoning",
            ResponseItem::FunctionCall { .. } => "function_call",
            ResponseItem::FunctionCallOutput { .. } => "function_call_output",
            ResponseItem::LocalShellCall { .. } => "local_shell_call",
            ResponseItem::CustomToolCall { .. } => "custom_tool_call",
            ResponseItem::CustomToolCallOutput { .. } => "custom_tool_call_output",
            ResponseItem::WebSearchCall { .. } => "web_search_call",
            ResponseItem::AgentMessage(_) => "agent_message",
            ResponseItem::ToolSearchCall { .. } => "tool_search_call",
            ResponseItem::ToolSearchOutput { .. } => "tool_search_output",
            ResponseItem::ImageGenerationCall { .. } => "image_generation_call",
            ResponseItem::Compaction { kind } => kind,
            ResponseItem::Other { kind, .. } => kind,
        }
    }

    /// The text parts of a message joined by newlines; empty for other items.
    pub fn message_text(&self) -> String {
        match self {
            ResponseItem::Message { content, .. } => content
                .iter()
                .filter_map(|c| match c {
                    ContentItem::Text(t) => Some(t.as_str()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("\n"),
            _ => String::new(),
        }
    }

    /// For a shell-like call, the command as one line: `local_shell_call`'s argv, or the
    /// `command`/`cmd` argument of a `shell`/`shell_command`/`exec_command` function call,
    /// or what `write_stdin` typed into a running command.
    pub fn shell_command(&self) -> Option<String> {
        self.shell_call().map(|c| c.command)
    }

    /// A shell-like call as a person reads it: the command, the folder it ran in when the
    /// call names one, and whether it is input to a command already running.
    pub fn shell_call(&self) -> Option<ShellCall> {
        match self {
            ResponseItem::LocalShellCall {
                command, workdir, ..
            } => Some(ShellCall {
                command: join_argv(command),
                workdir: workdir.clone(),
                stdin_of: None,
            }),
            ResponseItem::FunctionCall {
                name, arguments, ..
            } => {
                let shell = matches!(
                    name.as_str(),
                    "shell" | "shell_command" | "exec_command" | "container.exec"
                );
                if !shell && name != "write_stdin" {
                    return None;
                }
                let args: Value = serde_json::from_str(arguments).ok()?;
                let text = |k: &str| args.get(k).and_then(Value::as_str).map(str::to_string);
                if !shell {
                    // Keys pressed in a running `exec_command` session; empty input only
                    // waits for more output.
                    let session = match args.get("session_id")? {
                        Value::String(s) => s.clone(),
                        v => v.to_string(),
                    };
                    return Some(ShellCall {
                        command: visible_keys(&text("chars").unwrap_or_default()),
                        workdir: None,
                        stdin_of: Some(session),
                    });
                }
                let command = match args.get("command").or_else(|| args.get("cmd"))? {
                    Value::String(s) => s.clone(),
                    Value::Array(parts) => {
                        let argv: Vec<String> = parts
                            .iter()
                            .filter_map(|p| p.as_str().map(str::to_string))
                            .collect();
                        join_argv(&argv)
                    }
                    _ => return None,
                };
                Some(ShellCall {
                    command,
                    workdir: text("workdir").or_else(|| text("cwd")),
                    stdin_of: None,
                })
            }
            _ => None,
        }
    }
}

/// A shell-like call (`shell`, `shell_command`, `exec_command`, `local_shell_call`,
/// `write_stdin`): what every agent's shell tool comes down to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellCall {
    /// The command line; for input to a running command, the keys typed (control keys as
    /// `^C`, a final newline left out).
    pub command: String,
    /// The folder the call asked to run in, as written (absolute or relative to the
    /// session's folder).
    pub workdir: Option<String>,
    /// For `write_stdin`: the running command's session id.
    pub stdin_of: Option<String>,
}

impl ShellCall {
    /// The folder to show beside the command: the call's own, unless it is the session's
    /// folder `cwd` (or `.`).
    pub fn shown_workdir(&self, cwd: Option<&str>) -> Option<String> {
        let w = self.workdir.as_deref()?.trim();
        let same = |a: &str, b: &str| a.trim_end_matches('/') == b.trim_end_matches('/');
        if w.is_empty() || w == "." || w == "./" || cwd.is_some_and(|c| same(c, w)) {
            return None;
        }
        Some(w.to_string())
    }
}

/// Keys typed into a terminal as a person reads them: a final newline (Enter) dropped,
/// other control characters as `^X`.
fn visible_keys(chars: &str) -> String {
    let chars = chars.strip_suffix('\n').unwrap_or(chars);
    let mut out = String::with_capacity(chars.len());
    for c in chars.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            c if (c as u32) < 0x20 => {
                out.push('^');
                out.push(char::from(b'@' + c as u8));
            }
            '\u{7f}' => out.push_str("^?"),
            c => out.push(c),
        }
    }
    out
}

/// Whether a user-role message is context the agent injected (permissions, AGENTS.md,
/// environment blocks): those start with a tag or a heading, which a person rarely does.
pub fn is_injected(text: &str) -> bool {
    let t = text.trim_start();
    t.is_empty() || t.starts_with('<') || t.starts_with("# AGENTS.md")
}

/// The heading under which the Codex IDE extension and Codex Desktop put what the person
/// typed, after the context they wrap around it (`# Context from my IDE setup:`, `# Files
/// mentioned by the user:`).
pub const REQUEST_MARKER: &str = "## My request for Codex:";

/// What the person asked, for a title: the text after the first [`REQUEST_MARKER`] that
/// starts a line, when a wrapper put one there (and something follows it); else the text.
/// The message itself keeps the wrapper: it is what the agent read.
///
/// ```
/// let m = "# Context from my IDE setup:\n\n## Active file: a.rs\n\n## My request for Codex:\nreview a.rs";
/// assert_eq!(rolldex::model::request_text(m), "review a.rs");
/// assert_eq!(rolldex::model::request_text("fix the build"), "fix the build");
/// ```
pub fn request_text(text: &str) -> &str {
    // Wrappers are headings put before what the person typed; a person's own text that
    // merely mentions the marker further down is left alone.
    if !text.trim_start().starts_with('#') {
        return text;
    }
    let mut found = None;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        if let Some(rest) = line.trim_start().strip_prefix(REQUEST_MARKER) {
            // The request may start on the marker's own line or on the next ones.
            found = Some(at + (line.len() - rest.len()));
            break;
        }
        at += line.len();
    }
    match found.map(|i| text[i..].trim()) {
        Some(request) if !request.is_empty() => request,
        _ => text,
    }
}

/// A tool output as a person reads it: older Codex versions wrap shell output as a JSON
/// string `{"output":"...","metadata":{}}`, whose escapes and metadata nobody wants.
pub fn unwrap_output(output: &str) -> std::borrow::Cow<'_, str> {
    #[derive(serde::Deserialize)]
    struct Wrapped {
        output: String,
    }
    if output.trim_start().starts_with("{\"output\"")
        && let Ok(w) = serde_json::from_str::<Wrapped>(output)
    {
        return std::borrow::Cow::Owned(w.output);
    }
    std::borrow::Cow::Borrowed(output)
}

/// The files an `apply_patch` input touches, in the order it names them.
///
/// ```
/// let p = "*** Begin Patch\n*** Update File: src/a.rs\n@@\n*** Add File: b.md\n*** End Patch";
/// assert_eq!(rolldex::model::patch_files(p), ["src/a.rs", "b.md"]);
/// ```
pub fn patch_files(input: &str) -> Vec<&str> {
    input
        .lines()
        .filter_map(|l| {
            ["*** Update File: ", "*** Add File: ", "*** Delete File: "]
                .iter()
                .find_map(|p| l.strip_prefix(p))
        })
        .map(str::trim)
        .collect()
}

fn is_shell(s: &str) -> bool {
    matches!(
        s.rsplit('/').next().unwrap_or(s),
        "bash" | "sh" | "zsh" | "dash"
    )
}

/// An argv as one command line; `["bash","-lc","cargo test"]` reads as `cargo test`.
fn join_argv(argv: &[String]) -> String {
    if let [sh, flag, script] = argv
        && is_shell(sh)
        && (flag == "-lc" || flag == "-c")
    {
        return script.clone();
    }
    argv.iter()
        .map(|a| {
            if a.is_empty() || a.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'') {
                format!("{a:?}")
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Token usage counters of a `token_count` event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct TokenUsage {
    /// Input tokens.
    #[serde(default, deserialize_with = "lenient_u64")]
    pub input_tokens: u64,
    /// Input tokens served from cache.
    #[serde(default, deserialize_with = "lenient_u64")]
    pub cached_input_tokens: u64,
    /// Output tokens.
    #[serde(default, deserialize_with = "lenient_u64")]
    pub output_tokens: u64,
    /// Output tokens spent on reasoning.
    #[serde(default, deserialize_with = "lenient_u64")]
    pub reasoning_output_tokens: u64,
    /// Total.
    #[serde(default, deserialize_with = "lenient_u64")]
    pub total_tokens: u64,
}

/// An `event_msg` payload. Only the types rolldex summarizes are typed.
#[derive(Debug, Clone, PartialEq)]
pub enum EventMsg {
    /// What the person typed.
    UserMessage {
        /// The text.
        message: String,
        /// How many images came with it.
        images: usize,
        /// Their total size (they are data URLs, often MBs each).
        image_bytes: usize,
    },
    /// A message shown to the person.
    AgentMessage {
        /// The text.
        message: String,
    },
    /// Reasoning text shown to the person.
    AgentReasoning {
        /// The text.
        text: String,
    },
    /// Token usage; `total` is cumulative over the session (`None` when `info` is null).
    TokenCount {
        /// `info.total_token_usage`.
        total: Option<TokenUsage>,
        /// `info.last_token_usage`: the last model response's, whose input is the size of
        /// its prompt.
        last: Option<TokenUsage>,
    },
    /// A turn started.
    TaskStarted {
        /// The turn id.
        turn_id: Option<String>,
    },
    /// A turn completed.
    TaskComplete {
        /// The turn id.
        turn_id: Option<String>,
        /// The last message of the turn.
        last_agent_message: Option<String>,
    },
    /// The thread's settings changed (`thread_settings_applied`); only the service tier
    /// is kept, which prices the turns after it.
    ThreadSettings {
        /// `thread_settings.service_tier` (`fast`, `priority`, `standard`...).
        service_tier: Option<String>,
    },
    /// Any other event type, kept as raw JSON.
    Other {
        /// The event's `type`.
        kind: String,
        /// The payload, as written.
        raw: RawJson,
    },
}

impl EventMsg {
    /// The event's `type` as written.
    pub fn kind(&self) -> &str {
        match self {
            EventMsg::UserMessage { .. } => "user_message",
            EventMsg::AgentMessage { .. } => "agent_message",
            EventMsg::AgentReasoning { .. } => "agent_reasoning",
            EventMsg::TokenCount { .. } => "token_count",
            EventMsg::TaskStarted { .. } => "task_started",
            EventMsg::TaskComplete { .. } => "task_complete",
            EventMsg::ThreadSettings { .. } => "thread_settings_applied",
            EventMsg::Other { kind, .. } => kind,
        }
    }
}

/// A `turn_context` payload (the parts rolldex reads).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct TurnContext {
    /// The turn id.
    #[serde(default, deserialize_with = "lenient_str")]
    pub turn_id: Option<String>,
    /// Working directory of the turn.
    #[serde(default, deserialize_with = "lenient_str")]
    pub cwd: Option<String>,
    /// Model used for the turn.
    #[serde(default, deserialize_with = "lenient_str")]
    pub model: Option<String>,
    /// Reasoning effort.
    #[serde(default, deserialize_with = "lenient_str")]
    pub effort: Option<String>,
}

/// A `compacted` payload. The replacement history repeats earlier conversation, so only
/// its length is kept; its items stay in the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Compacted {
    /// The summary message.
    pub message: Option<String>,
    /// Number of items in `replacement_history`.
    pub replacement_items: usize,
}

/// Parses one line (without its newline) in either shape.
///
/// Errors only when the bytes are not UTF-8, not JSON, or JSON that is no rollout line.
/// Wrongly typed fields are read as absent, unknown kinds are kept raw.
pub fn parse_line(bytes: &[u8]) -> Result<ParsedLine, LineErrorKind> {
    // serde_json does not check UTF-8 inside strings it skips, so check it once up front.
    let text =
        std::str::from_utf8(bytes.trim_ascii_end()).map_err(|e| LineErrorKind::InvalidUtf8 {
            valid_up_to: e.valid_up_to(),
        })?;
    match parse_envelope_fast(text) {
        Some(line) => Ok(line),
        None => parse_general(text),
    }
}

/// Any line, in either shape: the shape-deciding keys first, then the payload.
pub(crate) fn parse_general(text: &str) -> Result<ParsedLine, LineErrorKind> {
    let probe: Probe<'_> = serde_json::from_str(text).map_err(|e| {
        if e.is_data() {
            LineErrorKind::Shape(e.to_string())
        } else {
            LineErrorKind::Json(e.to_string())
        }
    })?;
    if !text.trim_start().starts_with('{') {
        return Err(LineErrorKind::Shape("not a JSON object".into()));
    }
    let kind = probe.kind.and_then(raw_str);
    let timestamp = probe.timestamp.and_then(raw_str);

    if let (Some(kind), Some(payload)) = (kind.as_deref(), probe.payload) {
        let item = parse_envelope_payload(kind, payload)?;
        return Ok(ParsedLine {
            shape: Shape::Envelope,
            timestamp,
            ordinal: probe
                .ordinal
                .and_then(|o| serde_json::from_str::<u64>(o.get()).ok()),
            item,
        });
    }
    let legacy = |item| {
        Ok(ParsedLine {
            shape: Shape::Legacy,
            timestamp: None,
            ordinal: None,
            item,
        })
    };
    if probe.record_type.and_then(raw_str).is_some() {
        return legacy(RolloutItem::State);
    }
    if kind.is_some() {
        return legacy(RolloutItem::ResponseItem(parse_response_item(whole(
            text,
        )?)?));
    }
    if probe.id.is_some() {
        return legacy(RolloutItem::SessionMeta(Box::new(parse_session_meta(
            whole(text)?,
        )?)));
    }
    Err(LineErrorKind::Shape(
        "neither an envelope, a response item nor a session meta".into(),
    ))
}

fn parse_envelope_payload(kind: &str, payload: &RawValue) -> Result<RolloutItem, LineErrorKind> {
    Ok(match kind {
        "session_meta" => RolloutItem::SessionMeta(Box::new(parse_session_meta(payload)?)),
        "response_item" => RolloutItem::ResponseItem(parse_response_item(payload)?),
        "event_msg" => RolloutItem::EventMsg(parse_event(payload)?),
        "turn_context" => RolloutItem::TurnContext(parse_object(payload, "turn_context")?),
        "compacted" => {
            let raw: RawCompacted = parse_object(payload, "compacted")?;
            RolloutItem::Compacted(Compacted {
                message: raw.message,
                replacement_items: raw.replacement_history.map_or(0, |h| h.len()),
            })
        }
        "token_usage_record" => {
            let raw: RawUsageRecord = parse_object(payload, "token_usage_record")?;
            RolloutItem::TokenUsageRecord {
                thread_total: raw.thread_token_usage.map(|u| u.total_tokens),
                thread: raw.thread_token_usage,
            }
        }
        "world_state" => {
            let raw: RawWorldState = parse_object(payload, "world_state")?;
            RolloutItem::WorldState {
                full: raw.full.unwrap_or(false),
                keys: raw.state.map_or(0, |s| s.len()),
            }
        }
        "inter_agent_communication" => {
            let raw: RawInterAgent = parse_object(payload, "inter_agent_communication")?;
            RolloutItem::InterAgent(AgentMessage {
                author: raw.author,
                recipient: raw.recipient,
                text: raw.content.unwrap_or_default(),
                encrypted: raw.encrypted_content.is_some(),
            })
        }
        "rollout_reference" | "fork_reference" => {
            let raw: RawReference = parse_object(payload, kind)?;
            RolloutItem::HistoryReference(HistoryReference {
                fork: kind == "fork_reference",
                rollout_path: raw.rollout_path,
                thread_id: raw.thread_id,
            })
        }
        other => RolloutItem::Unknown {
            kind: other.to_string(),
            payload: RawJson(payload.to_owned()),
        },
    })
}

/// One pass over the common envelope lines, `response_item` and `event_msg` with `type`
/// before `payload` (the order every writer emits): the payload is read straight into its
/// typed form instead of being scanned once to find its end and again to read it.
/// `None` for anything else, or anything unusual (duplicate keys, a kind kept raw, a
/// payload of another shape): [`parse_line`]'s general path then decides, so both paths
/// always agree.
pub(crate) fn parse_envelope_fast(text: &str) -> Option<ParsedLine> {
    // Lives on the stack for one line: boxing the item would cost an allocation per line
    // on the indexer's hottest path.
    #[allow(clippy::large_enum_variant)]
    enum Payload {
        Item(RawItem),
        Event(RawEvent),
        TurnContext(TurnContext),
    }
    struct Envelope {
        timestamp: Option<String>,
        ordinal: Option<u64>,
        payload: Payload,
    }
    struct Fast;
    impl<'de> serde::de::Visitor<'de> for Fast {
        type Value = Envelope;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an envelope line")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Envelope, A::Error> {
            use serde::de::Error;
            let (mut timestamp, mut kind, mut payload, mut ordinal) = (None, None, None, None);
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                match key.as_ref() {
                    "timestamp" if timestamp.is_none() => {
                        timestamp = Some(map.next_value::<Lenient<String>>()?.0)
                    }
                    "type" if kind.is_none() => kind = Some(map.next_value::<Lenient<String>>()?.0),
                    "ordinal" if ordinal.is_none() => {
                        ordinal = Some(map.next_value::<Lenient<u64>>()?.0)
                    }
                    "payload" if payload.is_none() => {
                        payload = Some(match kind.as_ref().and_then(|k| k.as_deref()) {
                            Some("response_item") => {
                                Payload::Item(map.next_value_seed(MapOnly(PhantomData))?)
                            }
                            Some("event_msg") => {
                                Payload::Event(map.next_value_seed(MapOnly(PhantomData))?)
                            }
                            // One in eight bytes of a real rollout: worth one pass, not two.
                            Some("turn_context") => {
                                Payload::TurnContext(map.next_value_seed(MapOnly(PhantomData))?)
                            }
                            _ => return Err(A::Error::custom("not a fast kind")),
                        })
                    }
                    // A key only the general path reads, or one seen twice.
                    "timestamp" | "type" | "payload" | "ordinal" | "record_type" | "id" => {
                        return Err(A::Error::custom("not a plain envelope"));
                    }
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            match payload {
                Some(payload) => Ok(Envelope {
                    timestamp: timestamp.flatten(),
                    ordinal: ordinal.flatten(),
                    payload,
                }),
                None => Err(A::Error::custom("no payload")),
            }
        }
    }
    struct Line(Envelope);
    impl<'de> Deserialize<'de> for Line {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Line, D::Error> {
            d.deserialize_map(Fast).map(Line)
        }
    }
    let Line(env) = serde_json::from_str(text).ok()?;
    let item = match env.payload {
        Payload::Item(it) => RolloutItem::ResponseItem(build_item(it).ok()?),
        Payload::Event(ev) => RolloutItem::EventMsg(build_event(ev).ok()?),
        Payload::TurnContext(tc) => RolloutItem::TurnContext(tc),
    };
    Some(ParsedLine {
        shape: Shape::Envelope,
        timestamp: env.timestamp,
        ordinal: env.ordinal,
        item,
    })
}

/// Deserializes `T` from a JSON object only: a derived struct would also accept an array,
/// which the general path rejects as a payload.
struct MapOnly<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> serde::de::DeserializeSeed<'de> for MapOnly<T> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for V<T> {
            type Value = T;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// A value read leniently: absent when it has another type (as `lenient` fields are).
struct Lenient<T>(Option<T>);

impl<'de, T: DeserializeOwned> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        lenient(d).map(Lenient)
    }
}

/// Only the keys that decide a line's shape; everything else is skipped without being
/// materialized. Values are raw so that no type mismatch can fail the probe.
#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(borrow, default)]
    timestamp: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "type")]
    kind: Option<&'a RawValue>,
    #[serde(borrow, default)]
    payload: Option<&'a RawValue>,
    #[serde(borrow, default)]
    ordinal: Option<&'a RawValue>,
    #[serde(borrow, default)]
    record_type: Option<&'a RawValue>,
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
}

/// A raw JSON value read as a string, when it is one.
fn raw_str(raw: &RawValue) -> Option<String> {
    serde_json::from_str::<String>(raw.get()).ok()
}

/// The whole line as one raw value (already known to be valid JSON).
fn whole(text: &str) -> Result<&RawValue, LineErrorKind> {
    serde_json::from_str(text).map_err(|e| LineErrorKind::Json(e.to_string()))
}

fn parse_object<T: DeserializeOwned>(raw: &RawValue, what: &str) -> Result<T, LineErrorKind> {
    if !raw.get().trim_start().starts_with('{') {
        return Err(LineErrorKind::Shape(format!(
            "{what} payload is not an object"
        )));
    }
    serde_json::from_str(raw.get()).map_err(|e| LineErrorKind::Shape(format!("{what}: {e}")))
}

#[derive(Deserialize)]
struct RawMeta {
    #[serde(default, deserialize_with = "lenient_str")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    timestamp: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    cwd: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    originator: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    cli_version: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    source: Option<Value>,
    #[serde(default, deserialize_with = "lenient_str")]
    model_provider: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    instructions: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    base_instructions: Option<Value>,
    #[serde(default, deserialize_with = "lenient_str")]
    forked_from_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    git: Option<GitInfo>,
    #[serde(default, deserialize_with = "lenient_str")]
    parent_thread_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    agent_nickname: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    agent_role: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    agent_path: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    thread_source: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    history_base: Option<HistoryBase>,
}

/// `source.subagent.thread_spawn`: who spawned a subagent and what it calls it.
#[derive(Deserialize, Default)]
struct ThreadSpawn {
    #[serde(default, deserialize_with = "lenient_str")]
    parent_thread_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    agent_path: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    agent_nickname: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    agent_role: Option<String>,
}

fn parse_session_meta(raw: &RawValue) -> Result<SessionMeta, LineErrorKind> {
    let m: RawMeta = parse_object(raw, "session_meta")?;
    let spawn: ThreadSpawn = m
        .source
        .as_ref()
        .and_then(|s| s.get("subagent")?.get("thread_spawn"))
        .and_then(|t| ThreadSpawn::deserialize(t).ok())
        .unwrap_or_default();
    // A short string: `cli`, or the key of an object source (`subagent`, `custom`...).
    let source = m.source.and_then(|s| match s {
        Value::String(s) => Some(s),
        Value::Object(map) => map.keys().next().cloned(),
        _ => None,
    });
    let nonempty = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
    let instructions = m.instructions.or_else(|| match m.base_instructions? {
        Value::String(s) => Some(s),
        Value::Object(map) => map.get("text")?.as_str().map(str::to_string),
        _ => None,
    });
    Ok(SessionMeta {
        id: m.id,
        timestamp: m.timestamp,
        cwd: m.cwd,
        originator: m.originator,
        cli_version: m.cli_version,
        source,
        model_provider: m.model_provider,
        instructions,
        forked_from_id: m.forked_from_id,
        git: m.git.filter(|g| !g.is_empty()),
        parent_thread_id: nonempty(m.parent_thread_id).or(nonempty(spawn.parent_thread_id)),
        agent_nickname: nonempty(m.agent_nickname).or(nonempty(spawn.agent_nickname)),
        agent_role: nonempty(m.agent_role).or(nonempty(spawn.agent_role)),
        agent_path: nonempty(m.agent_path).or(nonempty(spawn.agent_path)),
        thread_source: m.thread_source,
        history_base: m.history_base,
        folder_hash: None,
    })
}

/// Every field any response item has; the `type` decides which are read.
#[derive(Deserialize)]
struct RawItem {
    #[serde(default, rename = "type", deserialize_with = "lenient_str")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    role: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    content: Option<Vec<RawPart>>,
    #[serde(default, deserialize_with = "lenient")]
    summary: Option<Vec<RawPart>>,
    #[serde(default)]
    encrypted_content: Option<IgnoredAny>,
    #[serde(default, deserialize_with = "lenient_str")]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    arguments: Option<Value>,
    #[serde(default, deserialize_with = "lenient_str")]
    call_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    output: Option<Value>,
    #[serde(default, deserialize_with = "lenient_str")]
    status: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    action: Option<Value>,
    #[serde(default, deserialize_with = "lenient_str")]
    input: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    author: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    recipient: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    phase: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    tools: Option<Vec<IgnoredAny>>,
    #[serde(default, deserialize_with = "lenient_str")]
    revised_prompt: Option<String>,
    #[serde(default, deserialize_with = "lenient_len")]
    result: usize,
}

/// A content or summary part. `image_url` is measured, not kept.
#[derive(Deserialize)]
struct RawPart {
    #[serde(default, rename = "type", deserialize_with = "lenient_str")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    text: Option<String>,
    #[serde(default, deserialize_with = "lenient_url")]
    image_url: UrlInfo,
}

fn parse_response_item(raw: &RawValue) -> Result<ResponseItem, LineErrorKind> {
    let it: RawItem = parse_object(raw, "response item")?;
    Ok(build_item(it).unwrap_or_else(|kind| ResponseItem::Other {
        kind,
        raw: RawJson(raw.to_owned()),
    }))
}

/// The typed item, or `Err(kind)` for a kind kept raw (the caller has the raw JSON).
fn build_item(it: RawItem) -> Result<ResponseItem, String> {
    let kind = it.kind.unwrap_or_default();
    let texts = |parts: Option<Vec<RawPart>>| -> Vec<String> {
        parts
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| p.text)
            .collect()
    };
    Ok(match kind.as_str() {
        "message" => ResponseItem::Message {
            role: it.role.unwrap_or_default(),
            phase: it.phase,
            content: it
                .content
                .unwrap_or_default()
                .into_iter()
                .map(|p| match (p.kind.as_deref(), p.text) {
                    (Some("input_image"), _) => ContentItem::Image {
                        url_len: p.image_url.len,
                        mime: p.image_url.mime,
                    },
                    (_, Some(text)) => ContentItem::Text(text),
                    (kind, None) => ContentItem::Other(kind.unwrap_or_default().to_string()),
                })
                .collect(),
        },
        "reasoning" => ResponseItem::Reasoning {
            summary: texts(it.summary),
            content: texts(it.content),
            encrypted: it.encrypted_content.is_some(),
        },
        "function_call" => ResponseItem::FunctionCall {
            name: it.name.unwrap_or_default(),
            arguments: match it.arguments {
                Some(Value::String(s)) => s,
                Some(other) => other.to_string(),
                None => String::new(),
            },
            call_id: it.call_id,
        },
        "function_call_output" => ResponseItem::FunctionCallOutput {
            call_id: it.call_id,
            output: flatten_output(it.output),
        },
        "custom_tool_call" => ResponseItem::CustomToolCall {
            name: it.name.unwrap_or_default(),
            input: it.input.unwrap_or_default(),
            call_id: it.call_id,
        },
        "custom_tool_call_output" => ResponseItem::CustomToolCallOutput {
            call_id: it.call_id,
            output: flatten_output(it.output),
        },
        "local_shell_call" => ResponseItem::LocalShellCall {
            call_id: it.call_id,
            status: it.status,
            command: it
                .action
                .as_ref()
                .and_then(|a| a.get("command"))
                .and_then(Value::as_array)
                .map(|argv| {
                    argv.iter()
                        .filter_map(|p| p.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            workdir: it
                .action
                .as_ref()
                .and_then(|a| a.get("working_directory"))
                .and_then(Value::as_str)
                .map(str::to_string),
        },
        "agent_message" => ResponseItem::AgentMessage(AgentMessage {
            author: it.author,
            recipient: it.recipient,
            encrypted: it.content.as_ref().is_some_and(|parts| {
                parts
                    .iter()
                    .any(|p| p.kind.as_deref() == Some("encrypted_content"))
            }),
            text: texts(it.content).join("\n"),
        }),
        "tool_search_call" => ResponseItem::ToolSearchCall {
            call_id: it.call_id,
            query: match it.arguments {
                Some(Value::String(s)) => s,
                Some(Value::Object(map)) => match map.get("query") {
                    Some(Value::String(q)) => q.clone(),
                    _ => Value::Object(map).to_string(),
                },
                Some(other) => other.to_string(),
                None => String::new(),
            },
        },
        "tool_search_output" => ResponseItem::ToolSearchOutput {
            call_id: it.call_id,
            tools: it.tools.map_or(0, |t| t.len()),
        },
        "image_generation_call" => ResponseItem::ImageGenerationCall {
            status: it.status,
            revised_prompt: it.revised_prompt,
            result_len: it.result,
        },
        "compaction" | "compaction_summary" | "context_compaction" => {
            ResponseItem::Compaction { kind }
        }
        "web_search_call" => ResponseItem::WebSearchCall {
            status: it.status,
            query: it
                .action
                .as_ref()
                .and_then(|a| a.get("query"))
                .and_then(Value::as_str)
                .map(str::to_string),
        },
        _ => return Err(kind),
    })
}

/// Tool outputs are a string, a list of content parts, or (older Codex) an object with a
/// `content` string.
fn flatten_output(output: Option<Value>) -> String {
    match output {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s,
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        Some(Value::Object(map)) => match map.get("content") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => Value::Object(map).to_string(),
        },
        Some(other) => other.to_string(),
    }
}

#[derive(Deserialize)]
struct RawEvent {
    #[serde(default, rename = "type", deserialize_with = "lenient_str")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    message: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    text: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    images: Option<Vec<Measured>>,
    #[serde(default, deserialize_with = "lenient")]
    info: Option<RawTokenInfo>,
    #[serde(default, deserialize_with = "lenient_str")]
    turn_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    last_agent_message: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    thread_settings: Option<RawThreadSettings>,
}

#[derive(Deserialize)]
struct RawThreadSettings {
    #[serde(default, deserialize_with = "lenient_str")]
    service_tier: Option<String>,
}

#[derive(Deserialize)]
struct RawTokenInfo {
    #[serde(default, deserialize_with = "lenient")]
    total_token_usage: Option<TokenUsage>,
    #[serde(default, deserialize_with = "lenient")]
    last_token_usage: Option<TokenUsage>,
}

#[derive(Deserialize)]
struct RawUsageRecord {
    #[serde(default, deserialize_with = "lenient")]
    thread_token_usage: Option<TokenUsage>,
}

#[derive(Deserialize)]
struct RawWorldState {
    #[serde(default, deserialize_with = "lenient")]
    full: Option<bool>,
    #[serde(default, deserialize_with = "lenient")]
    state: Option<serde_json::Map<String, Value>>,
}

#[derive(Deserialize)]
struct RawInterAgent {
    #[serde(default, deserialize_with = "lenient_str")]
    author: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    recipient: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    content: Option<String>,
    #[serde(default)]
    encrypted_content: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct RawReference {
    #[serde(default, deserialize_with = "lenient_str")]
    rollout_path: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    thread_id: Option<String>,
}

#[derive(Deserialize)]
struct RawCompacted {
    #[serde(default, deserialize_with = "lenient_str")]
    message: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    replacement_history: Option<Vec<IgnoredAny>>,
}

fn parse_event(raw: &RawValue) -> Result<EventMsg, LineErrorKind> {
    let ev: RawEvent = parse_object(raw, "event_msg")?;
    Ok(build_event(ev).unwrap_or_else(|kind| EventMsg::Other {
        kind,
        raw: RawJson(raw.to_owned()),
    }))
}

/// The typed event, or `Err(kind)` for a kind kept raw (the caller has the raw JSON).
fn build_event(ev: RawEvent) -> Result<EventMsg, String> {
    let kind = ev.kind.unwrap_or_default();
    Ok(match kind.as_str() {
        "user_message" => EventMsg::UserMessage {
            message: ev.message.unwrap_or_default(),
            images: ev.images.as_ref().map_or(0, Vec::len),
            image_bytes: ev.images.map_or(0, |i| i.iter().map(|m| m.0).sum()),
        },
        "agent_message" => EventMsg::AgentMessage {
            message: ev.message.unwrap_or_default(),
        },
        "agent_reasoning" => EventMsg::AgentReasoning {
            text: ev.text.unwrap_or_default(),
        },
        "token_count" => {
            let (total, last) = ev
                .info
                .map_or((None, None), |i| (i.total_token_usage, i.last_token_usage));
            EventMsg::TokenCount { total, last }
        }
        "task_started" => EventMsg::TaskStarted {
            turn_id: ev.turn_id,
        },
        "task_complete" => EventMsg::TaskComplete {
            turn_id: ev.turn_id,
            last_agent_message: ev.last_agent_message,
        },
        "thread_settings_applied" => EventMsg::ThreadSettings {
            service_tier: ev.thread_settings.and_then(|t| t.service_tier),
        },
        _ => return Err(kind),
    })
}

/// Reads a field leniently: a value of the wrong type is `None`, not an error, so one odd
/// field never costs a user a line.
fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let v = Value::deserialize(d)?;
    Ok(T::deserialize(v).ok())
}

/// [`lenient`] for the most common field, a string, in one pass without building a
/// [`Value`]: anything but a string is skipped and read as absent.
fn lenient_str<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct Str;
    impl<'de> serde::de::Visitor<'de> for Str {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("any value")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_owned()))
        }
        fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
    d.deserialize_any(Str)
}

fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(lenient::<D, u64>(d)?.unwrap_or(0))
}

/// What is kept of an image URL: its length and a `data:` URL's media type.
#[derive(Debug, Default)]
struct UrlInfo {
    len: usize,
    mime: Option<String>,
}

fn lenient_url<'de, D: Deserializer<'de>>(d: D) -> Result<UrlInfo, D::Error> {
    struct Url;
    impl<'de> serde::de::Visitor<'de> for Url {
        type Value = UrlInfo;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("any value")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<UrlInfo, E> {
            let mime = v
                .strip_prefix("data:")
                .and_then(|rest| rest.find([';', ',']).map(|end| &rest[..end]))
                .filter(|m| !m.is_empty() && m.len() <= 64)
                .map(str::to_string);
            Ok(UrlInfo { len: v.len(), mime })
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<UrlInfo, E> {
            Ok(UrlInfo::default())
        }
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<UrlInfo, E> {
            Ok(UrlInfo::default())
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<UrlInfo, E> {
            Ok(UrlInfo::default())
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<UrlInfo, E> {
            Ok(UrlInfo::default())
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<UrlInfo, E> {
            Ok(UrlInfo::default())
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<UrlInfo, A::Error> {
            Len.visit_seq(seq).map(|_| UrlInfo::default())
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<UrlInfo, A::Error> {
            Len.visit_map(map).map(|_| UrlInfo::default())
        }
    }
    d.deserialize_any(Url)
}

/// The length of a string field, without keeping the string (image data URLs are MBs).
fn lenient_len<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    d.deserialize_any(Len)
}

/// A string's length, read without keeping the string (0 for anything else).
struct Measured(usize);

impl<'de> Deserialize<'de> for Measured {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        lenient_len(d).map(Measured)
    }
}

/// Measures a string, skips anything else.
struct Len;

impl<'de> serde::de::Visitor<'de> for Len {
    type Value = usize;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any value")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<usize, E> {
        Ok(v.len())
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<usize, E> {
        Ok(0)
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<usize, E> {
        Ok(0)
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<usize, E> {
        Ok(0)
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<usize, E> {
        Ok(0)
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<usize, E> {
        Ok(0)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(0)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(0)
    }
}

#[cfg(test)]
mod fuzz {
    //! Property tests: whatever the bytes, parsing returns an answer (never panics), and the
    //! one-pass envelope path never disagrees with the general one.
    use super::*;
    use proptest::prelude::*;

    /// Lines that look like rollout lines, with random kinds, values and key orders.
    fn envelope_like() -> impl Strategy<Value = String> {
        let kind = prop_oneof![
            Just("response_item"),
            Just("event_msg"),
            Just("session_meta"),
            Just("turn_context"),
            Just("compacted"),
            Just("x")
        ];
        let item_kind = prop_oneof![
            Just("message"),
            Just("reasoning"),
            Just("function_call"),
            Just("function_call_output"),
            Just("user_message"),
            Just("token_count"),
            Just("?")
        ];
        let value = prop_oneof![
            Just("null".to_string()),
            Just("7".to_string()),
            Just("[]".to_string()),
            Just("{}".to_string()),
            "[a-z\\\"]{0,8}".prop_map(|s| format!("{s:?}")),
            Just("[{\"type\":\"input_text\",\"text\":\"t\"}]".to_string())
        ];
        (kind, item_kind, value.clone(), value, any::<bool>(), any::<bool>()).prop_map(
            |(kind, item, v1, v2, swap, payload_object)| {
                let payload = if payload_object {
                    format!(r#"{{"type":"{item}","role":{v1},"content":{v2},"message":{v1},"output":{v2}}}"#)
                } else {
                    v1.clone()
                };
                if swap {
                    format!(r#"{{"payload":{payload},"type":"{kind}","ordinal":{v2},"timestamp":{v2}}}"#)
                } else {
                    format!(r#"{{"timestamp":{v2},"type":"{kind}","payload":{payload}}}"#)
                }
            },
        )
    }

    proptest! {
        #[test]
        fn any_bytes_get_an_answer(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_line(&bytes);
        }

        #[test]
        fn both_paths_agree_on_envelope_like_lines(line in envelope_like()) {
            let general = parse_general(&line);
            prop_assert_eq!(parse_line(line.as_bytes()), general.clone());
            if let Some(fast) = parse_envelope_fast(&line) {
                prop_assert_eq!(Ok(fast), general);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_one_pass_envelope_path_agrees_with_the_general_path() {
        let lines = [
            r#"{"timestamp":"2026-01-01T00:00:00Z","type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"hi \u00e9"}]}}"#,
            r#"{"timestamp":"t","type":"response_item","payload":{"type":"function_call","name":"shell","arguments":"{\"command\":[\"ls\"]}","call_id":"c"}}"#,
            r#"{"timestamp":"t","type":"response_item","payload":{"type":"function_call_output","call_id":"c","output":[{"type":"text","text":"a"}]}}"#,
            r#"{"timestamp":"t","type":"response_item","payload":{"type":"reasoning","summary":[{"type":"summary_text","text":"s"}],"encrypted_content":"xyz"}}"#,
            r#"{"timestamp":"t","type":"response_item","payload":{"type":"brand_new","x":1}}"#,
            r#"{"timestamp":"t","type":"event_msg","payload":{"type":"token_count","info":{"total_token_usage":{"total_tokens":5}}}}"#,
            r#"{"timestamp":"t","type":"event_msg","payload":{"type":"mystery","x":[1,2]}}"#,
            r#"{"timestamp":"t","type":"event_msg","payload":{"type":"user_message","message":5}}"#,
            r#"{"timestamp":7,"type":"event_msg","payload":{"type":"agent_message","message":"m"}}"#,
            r#"{"payload":{"type":"message","role":"user","content":[]},"type":"response_item"}"#,
            r#"{"timestamp":"t","type":"response_item","payload":["message","user"]}"#,
            r#"{"timestamp":"t","type":"response_item","payload":"nope"}"#,
            r#"{"timestamp":"t","type":"response_item","type":"event_msg","payload":{}}"#,
            r#"{"timestamp":"t","type":"event_msg","payload":{"type":"user_message"},"payload":{}}"#,
            r#"{"timestamp":"t","type":"response_item","payload":{"type":"message"},"extra":[1,{"a":2}]}"#,
            r#"{"timestamp":"t","type":"response_item","payload":{"type":"message","role":"user","role":"x"}}"#,
            r#"{"timestamp":"t","type":"turn_context","payload":{"model":"m"}}"#,
            r#"{"timestamp":"t","type":"turn_context","payload":{"turn_id":"u","cwd":"/w","model":"m","effort":"high","user_instructions":"long \" text","sandbox_policy":{"mode":"x"}}}"#,
            r#"{"timestamp":"t","type":"turn_context","payload":{"model":7,"cwd":["x"]}}"#,
            r#"{"timestamp":"t","type":"turn_context","payload":["model"]}"#,
            r#"{"timestamp":"t","type":"turn_context","payload":{"model":"a","model":"b"}}"#,
            r#"{"id":"abc","timestamp":"t"}"#,
            r#"{"type":"message","role":"user","content":[]}"#,
            r#"{"timestamp":"t","ordinal":7,"type":"response_item","payload":{"type":"message","role":"user","content":[]},"metadata":{"client_authored":true}}"#,
            r#"{"timestamp":"t","type":"event_msg","payload":{"type":"agent_message","message":"m"},"ordinal":8}"#,
            r#"{"timestamp":"t","ordinal":-1,"type":"event_msg","payload":{"type":"agent_message","message":"m"}}"#,
            r#"{"timestamp":"t","ordinal":"9","type":"event_msg","payload":{"type":"agent_message","message":"m"}}"#,
            r#"{"timestamp":"t","ordinal":1,"ordinal":2,"type":"event_msg","payload":{"type":"agent_message","message":"m"}}"#,
            r#"{"timestamp":"t","ordinal":3,"type":"response_item","payload":{"type":"agent_message","author":"/root","recipient":"/root/a","content":[{"type":"input_text","text":"go"}]}}"#,
            r#"{"timestamp":"t","ordinal":4,"type":"world_state","payload":{"full":true,"state":{}}}"#,
        ];
        for line in lines {
            let general = parse_general(line);
            let any = parse_line(line.as_bytes());
            assert_eq!(any, general, "{line}");
            if let Some(fast) = parse_envelope_fast(line) {
                assert_eq!(Ok(fast), general, "{line}");
            }
        }
    }

    fn parse(s: &str) -> ParsedLine {
        match parse_line(s.as_bytes()) {
            Ok(p) => p,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn envelope_session_meta_with_git_and_base_instructions() {
        let p = parse(
            r#"{"timestamp":"2026-02-23T12:19:42.561Z","type":"session_meta","payload":{"id":"0199a213-81c0-7800-8aa1-bbab2a035a53","timestamp":"2026-02-23T12:19:42.500Z","cwd":"/w","originator":"codex_cli_rs","cli_version":"0.99.0","source":{"subagent":"review"},"model_provider":"openai","base_instructions":{"text":"be brief"},"git":{"commit_hash":"abc","branch":"main","repository_url":"git@github.com:o/r.git"}}}"#,
        );
        assert_eq!(p.shape, Shape::Envelope);
        assert_eq!(p.timestamp.as_deref(), Some("2026-02-23T12:19:42.561Z"));
        let RolloutItem::SessionMeta(m) = p.item else {
            panic!("not meta")
        };
        assert_eq!(
            *m,
            SessionMeta {
                id: Some("0199a213-81c0-7800-8aa1-bbab2a035a53".into()),
                timestamp: Some("2026-02-23T12:19:42.500Z".into()),
                cwd: Some("/w".into()),
                originator: Some("codex_cli_rs".into()),
                cli_version: Some("0.99.0".into()),
                source: Some("subagent".into()),
                model_provider: Some("openai".into()),
                instructions: Some("be brief".into()),
                forked_from_id: None,
                git: Some(GitInfo {
                    commit_hash: Some("abc".into()),
                    branch: Some("main".into()),
                    repository_url: Some("git@github.com:o/r.git".into()),
                }),
                ..Default::default()
            }
        );
        assert!(m.uuid().is_some());
    }

    #[test]
    fn legacy_meta_item_and_state_lines() {
        let meta = parse(
            r#"{"id":"5973b6c0-94b8-487b-a530-2aeb6098ae0e","timestamp":"2025-05-07T17:24:21.123Z","instructions":null,"git":{"branch":"dev"}}"#,
        );
        assert_eq!(meta.shape, Shape::Legacy);
        let RolloutItem::SessionMeta(m) = meta.item else {
            panic!()
        };
        assert_eq!(m.git.and_then(|g| g.branch).as_deref(), Some("dev"));
        assert_eq!(m.instructions, None);

        let item = parse(
            r#"{"type":"message","role":"user","content":[{"type":"input_text","text":"hi"},{"type":"input_image","image_url":"data:image/png;base64,AAAA"}]}"#,
        );
        assert_eq!(
            item.item,
            RolloutItem::ResponseItem(ResponseItem::Message {
                role: "user".into(),
                phase: None,
                content: vec![
                    ContentItem::Text("hi".into()),
                    ContentItem::Image {
                        url_len: 26,
                        mime: Some("image/png".into())
                    }
                ],
            })
        );
        assert_eq!(parse(r#"{"record_type":"state"}"#).item, RolloutItem::State);
    }

    #[test]
    fn wrong_field_types_are_read_as_absent() {
        let p = parse(
            r#"{"timestamp":5,"type":"session_meta","payload":{"id":7,"cwd":["x"],"git":"nope","source":3,"originator":{"a":1}}}"#,
        );
        assert_eq!(p.timestamp, None);
        assert_eq!(p.item, RolloutItem::SessionMeta(Box::default()));
    }

    #[test]
    fn unknown_kinds_are_kept_raw() {
        let p = parse(r#"{"timestamp":"t","type":"brand_new","payload":{"x":[1,2]}}"#);
        let RolloutItem::Unknown { kind, payload } = p.item else {
            panic!()
        };
        assert_eq!(kind, "brand_new");
        assert_eq!(payload.get(), r#"{"x":[1,2]}"#);

        let p = parse(r#"{"type":"response_item","payload":{"type":"ghost","z":1}}"#);
        let RolloutItem::ResponseItem(ResponseItem::Other { kind, raw }) = p.item else {
            panic!()
        };
        assert_eq!(
            (kind.as_str(), raw.get()),
            ("ghost", r#"{"type":"ghost","z":1}"#)
        );

        let p = parse(r#"{"type":"event_msg","payload":{"type":"mystery","n":2}}"#);
        assert!(
            matches!(p.item, RolloutItem::EventMsg(EventMsg::Other { ref kind, .. }) if kind == "mystery")
        );
    }

    #[test]
    fn tool_calls_and_outputs() {
        let call = parse(
            r#"{"type":"response_item","payload":{"type":"function_call","name":"shell","arguments":"{\"command\":[\"bash\",\"-lc\",\"cargo test\"]}","call_id":"c1"}}"#,
        );
        let RolloutItem::ResponseItem(item) = call.item else {
            panic!()
        };
        assert_eq!(item.shell_command().as_deref(), Some("cargo test"));

        let out = parse(
            r#"{"type":"response_item","payload":{"type":"function_call_output","call_id":"c1","output":[{"type":"input_text","text":"ok"}]}}"#,
        );
        assert_eq!(
            out.item,
            RolloutItem::ResponseItem(ResponseItem::FunctionCallOutput {
                call_id: Some("c1".into()),
                output: "ok".into()
            })
        );
        let local = parse(
            r#"{"type":"local_shell_call","call_id":"x","status":"completed","action":{"type":"exec","command":["ls","-la","my dir"]}}"#,
        );
        let RolloutItem::ResponseItem(item) = local.item else {
            panic!()
        };
        assert_eq!(item.shell_command().as_deref(), Some("ls -la \"my dir\""));
    }

    #[test]
    fn events_token_counts_and_compaction() {
        let tc = parse(
            r#"{"timestamp":"t","type":"event_msg","payload":{"type":"token_count","info":{"total_token_usage":{"input_tokens":10,"output_tokens":5,"total_tokens":15},"last_token_usage":{}},"rate_limits":null}}"#,
        );
        let RolloutItem::EventMsg(EventMsg::TokenCount { total: Some(u), .. }) = tc.item else {
            panic!()
        };
        assert_eq!(u.total_tokens, 15);
        let null = parse(r#"{"type":"event_msg","payload":{"type":"token_count","info":null}}"#);
        assert_eq!(
            null.item,
            RolloutItem::EventMsg(EventMsg::TokenCount {
                total: None,
                last: None
            })
        );
        let c = parse(
            r#"{"type":"compacted","payload":{"message":"sum","replacement_history":[{"type":"message"},{"type":"message"}]}}"#,
        );
        assert_eq!(
            c.item,
            RolloutItem::Compacted(Compacted {
                message: Some("sum".into()),
                replacement_items: 2
            })
        );
    }

    #[test]
    fn late_2026_session_meta_names_parent_agent_and_inherited_history() {
        let p = parse(
            r#"{"timestamp":"t","ordinal":10,"type":"session_meta","payload":{"session_id":"0199a213-81c0-7800-8aa1-bbab2a035a53","id":"019ab000-0000-7000-8000-000000000002","source":{"subagent":{"thread_spawn":{"parent_thread_id":"0199a213-81c0-7800-8aa1-bbab2a035a53","depth":1,"agent_path":"/root/scout","agent_nickname":"scout","agent_role":"explorer"}}},"thread_source":"subagent","model_provider":null,"base_instructions":null,"history_mode":"paginated","history_base":{"thread_id":"0199a213-81c0-7800-8aa1-bbab2a035a53","end_ordinal_exclusive":10,"end_byte_offset":2508}}}"#,
        );
        assert_eq!(p.ordinal, Some(10));
        let RolloutItem::SessionMeta(m) = p.item else {
            panic!("not meta")
        };
        assert_eq!(
            m.id.as_deref(),
            Some("019ab000-0000-7000-8000-000000000002")
        );
        assert_eq!(m.source.as_deref(), Some("subagent"));
        assert_eq!(
            m.parent_thread_id.as_deref(),
            Some("0199a213-81c0-7800-8aa1-bbab2a035a53")
        );
        assert_eq!(
            (
                m.agent_nickname.as_deref(),
                m.agent_role.as_deref(),
                m.agent_path.as_deref()
            ),
            (Some("scout"), Some("explorer"), Some("/root/scout"))
        );
        assert_eq!(m.thread_source.as_deref(), Some("subagent"));
        assert_eq!(
            m.history_base,
            Some(HistoryBase {
                thread_id: Some("0199a213-81c0-7800-8aa1-bbab2a035a53".into()),
                end_ordinal_exclusive: Some(10),
                end_byte_offset: Some(2508),
            })
        );
        // The meta's own fields win over the spawn's.
        let p = parse(
            r#"{"type":"session_meta","payload":{"id":"x","parent_thread_id":"p","agent_nickname":"n","source":{"subagent":{"thread_spawn":{"parent_thread_id":"q","agent_nickname":"m","agent_role":null}}}}}"#,
        );
        let RolloutItem::SessionMeta(m) = p.item else {
            panic!("not meta")
        };
        assert_eq!(
            (
                m.parent_thread_id.as_deref(),
                m.agent_nickname.as_deref(),
                m.agent_role.as_deref()
            ),
            (Some("p"), Some("n"), None)
        );
    }

    #[test]
    fn every_late_2026_line_type_parses() {
        let item = |s: &str| parse(s).item;
        assert_eq!(
            item(
                r#"{"type":"token_usage_record","payload":{"usage":{"total_tokens":5},"thread_token_usage":{"input_tokens":700,"total_tokens":820}}}"#
            ),
            RolloutItem::TokenUsageRecord {
                thread_total: Some(820),
                thread: Some(TokenUsage {
                    input_tokens: 700,
                    total_tokens: 820,
                    ..TokenUsage::default()
                })
            }
        );
        assert_eq!(
            item(r#"{"type":"world_state","payload":{"full":false,"state":{"a":1,"b":[2]}}}"#),
            RolloutItem::WorldState {
                full: false,
                keys: 2
            }
        );
        assert_eq!(
            item(
                r#"{"type":"inter_agent_communication","payload":{"author":"/root","recipient":"/root/scout","other_recipients":[],"content":"look","trigger_turn":true}}"#
            ),
            RolloutItem::InterAgent(AgentMessage {
                author: Some("/root".into()),
                recipient: Some("/root/scout".into()),
                text: "look".into(),
                encrypted: false,
            })
        );
        assert_eq!(
            item(
                r#"{"type":"fork_reference","payload":{"rollout_path":"/h/sessions/r.jsonl","nth_user_message":3}}"#
            ),
            RolloutItem::HistoryReference(HistoryReference {
                fork: true,
                rollout_path: Some("/h/sessions/r.jsonl".into()),
                thread_id: None,
            })
        );
        for kind in [
            "inter_agent_communication_metadata",
            "security_risk_score",
            "retained_context",
            "realtime_item",
        ] {
            let line = format!(r#"{{"type":"{kind}","payload":{{"x":1}}}}"#);
            assert!(
                matches!(item(&line), RolloutItem::Unknown { kind: ref k, .. } if k == kind),
                "{kind}"
            );
        }
        let resp = |s: &str| match parse(s).item {
            RolloutItem::ResponseItem(i) => i,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            resp(
                r#"{"type":"response_item","payload":{"type":"agent_message","author":"/root/a","recipient":"/root","content":[{"type":"input_text","text":"done"},{"type":"encrypted_content","encrypted_content":"gAAA"}]}}"#
            ),
            ResponseItem::AgentMessage(AgentMessage {
                author: Some("/root/a".into()),
                recipient: Some("/root".into()),
                text: "done".into(),
                encrypted: true,
            })
        );
        assert_eq!(
            resp(
                r#"{"type":"response_item","payload":{"type":"tool_search_call","call_id":null,"execution":"client","arguments":{"query":"git tools"}}}"#
            ),
            ResponseItem::ToolSearchCall {
                call_id: None,
                query: "git tools".into()
            }
        );
        assert_eq!(
            resp(
                r#"{"type":"response_item","payload":{"type":"tool_search_output","call_id":"c","status":"completed","execution":"client","tools":[{},{}]}}"#
            ),
            ResponseItem::ToolSearchOutput {
                call_id: Some("c".into()),
                tools: 2
            }
        );
        assert_eq!(
            resp(
                r#"{"type":"response_item","payload":{"type":"image_generation_call","status":"completed","revised_prompt":"a cat","result":"iVBORw0KGgo="}}"#
            ),
            ResponseItem::ImageGenerationCall {
                status: Some("completed".into()),
                revised_prompt: Some("a cat".into()),
                result_len: 12,
            }
        );
        for kind in ["compaction", "compaction_summary", "context_compaction"] {
            let line = format!(
                r#"{{"type":"response_item","payload":{{"type":"{kind}","encrypted_content":"gAAA"}}}}"#
            );
            assert_eq!(resp(&line), ResponseItem::Compaction { kind: kind.into() });
        }
        for kind in ["configuration_update", "additional_tools", "ghost_snapshot"] {
            let line = format!(r#"{{"type":"response_item","payload":{{"type":"{kind}"}}}}"#);
            assert!(matches!(resp(&line), ResponseItem::Other { .. }), "{kind}");
        }
    }

    #[test]
    fn malformed_lines_are_classified() {
        assert!(matches!(
            parse_line(b"{\"type\":\"mess"),
            Err(LineErrorKind::Json(_))
        ));
        assert!(matches!(
            parse_line(b"{\"type\":\"message\",\"role\":\"\xff\"}"),
            Err(LineErrorKind::InvalidUtf8 { valid_up_to: 26 })
        ));
        assert!(matches!(parse_line(b"[1,2]"), Err(LineErrorKind::Shape(_))));
        assert!(matches!(
            parse_line(b"{\"a\":1}"),
            Err(LineErrorKind::Shape(_))
        ));
        assert!(matches!(
            parse_line(br#"{"type":"session_meta","payload":5}"#),
            Err(LineErrorKind::Shape(_))
        ));
        assert!(matches!(parse_line(b""), Err(LineErrorKind::Json(_))));
    }
}

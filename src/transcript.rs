//! The transcript model: a session as a person reads it, shared by `show` and every export.
//!
//! A rollout is a log of what the agent's harness persisted; a transcript is what
//! happened: turns in order, what the person said, what the agent answered and thought,
//! each tool call with its output (paired by `call_id`), shell commands as commands, patches
//! as diffs, web and tool searches, subagents spawned and agents talking to each other,
//! compactions as markers, images as placeholders. The injected context that agents put in
//! front of the first message collapses to one line, and long tool outputs keep their head
//! and tail, unless asked otherwise ([`TranscriptOptions`]). Secrets are redacted as the
//! model is built when [`TranscriptOptions::redact`] is set, so no renderer can forget to.
//!
//! [`TranscriptReader`] streams: memory follows the longest item and the few calls still
//! waiting for their output, never the file.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};

use crate::error::{LineError, Result};
use crate::home::Resolved;
use crate::model::{
    AgentMessage, ContentItem, EventMsg, HistoryBase, ResponseItem, RolloutItem, SessionMeta,
    patch_files,
};
use crate::query::Session;
use crate::reader::{Entry as ReadEntry, MetaResolver, Record, RolloutReader};
use crate::redact::redact;

/// How a transcript is built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TranscriptOptions {
    /// Replace secrets with `[REDACTED:kind]` (see [`crate::redact`]).
    pub redact: bool,
    /// Keep injected context (permissions, AGENTS.md, environment blocks) in full.
    pub include_context: bool,
    /// Keep tool outputs whole.
    pub full_output: bool,
}

/// Lines of a long tool output kept at its start...
pub const OUTPUT_HEAD_LINES: usize = 20;
/// ...and at its end, where build logs put the error.
pub const OUTPUT_TAIL_LINES: usize = 10;
/// Characters kept of one very long output line (minified JSON, base64).
const OUTPUT_LINE_CHARS: usize = 2000;
/// Entries held back while a call waits for its output; past this the call is shown
/// without it, so memory stays bounded.
const MAX_HELD: usize = 256;

/// A session with what the index knows around it: the door's answer to "show me this".
#[derive(Debug, Clone)]
pub struct Transcript {
    /// The session's rollout and what the index knows of it.
    pub resolved: Resolved,
    /// The session that spawned it, when the index knows it.
    pub parent: Option<Session>,
    /// The subagents it spawned, oldest first.
    pub children: Vec<Session>,
}

impl Transcript {
    /// Streams the transcript of the whole file.
    pub fn read(&self, opts: TranscriptOptions) -> Result<TranscriptReader> {
        let mut reader = TranscriptReader::open(&self.resolved.path, opts, None)?;
        reader.children = self
            .children
            .iter()
            .map(|c| Spawn {
                id: c.id.clone(),
                nickname: c.agent_nickname.clone(),
                role: c.agent_role.clone(),
                label: c.label().map(str::to_string),
                created_ms: c.created_ms.unwrap_or(c.updated_ms),
            })
            .collect();
        reader.children.sort_by_key(|c| c.created_ms);
        Ok(reader)
    }
}

/// One thing that happened, with where it is in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The turn it belongs to: 0 before the person's first message, then one per message.
    pub turn: u32,
    /// Line number of its first line in the rollout (a search hit's `seq`).
    pub seq: u64,
    /// Line number of its last line (a call's output comes later).
    pub last_seq: u64,
    /// The line's `ordinal`, in paginated history.
    pub ordinal: Option<u64>,
    /// The line's timestamp, as written (UTC).
    pub timestamp: Option<String>,
    /// What happened.
    pub body: Body,
}

/// What an [`Entry`] is.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Body {
    /// Context the agent injected (instructions, environment): its first line, and the
    /// whole text with [`TranscriptOptions::include_context`].
    Context {
        /// The first line, e.g. `<environment_context>`.
        label: String,
        /// How many lines it has.
        lines: usize,
        /// The whole text, when asked for.
        text: Option<String>,
    },
    /// What the person said.
    User {
        /// The text.
        text: String,
        /// Images that came with it.
        images: Vec<Image>,
    },
    /// What the agent said.
    Assistant {
        /// The text.
        text: String,
        /// `commentary` or `final_answer`, when written.
        phase: Option<String>,
    },
    /// The agent's reasoning summary.
    Reasoning {
        /// The summary text.
        text: String,
    },
    /// A shell command and what it printed; or keys typed into a command still running.
    Command {
        /// The command line (or the keys typed, see `stdin_of`).
        command: String,
        /// The folder it ran in, when the call named one other than the session's.
        workdir: Option<String>,
        /// Input to a running command: that command's session id (`write_stdin`).
        stdin_of: Option<String>,
        /// Its output, when seen.
        output: Option<Output>,
    },
    /// A patch: the files it touches and the patch itself.
    Patch {
        /// Files added, updated or deleted.
        files: Vec<String>,
        /// The patch text (`*** Begin Patch` format, whose `+`/`-` lines read as a diff).
        diff: String,
        /// The tool's answer, when seen.
        output: Option<Output>,
    },
    /// Any other tool call.
    ToolCall {
        /// The tool.
        name: String,
        /// Its arguments or input.
        input: String,
        /// Its output, when seen.
        output: Option<Output>,
    },
    /// An output whose call was not seen.
    ToolOutput {
        /// The output.
        output: Output,
    },
    /// A web search.
    WebSearch {
        /// What was searched for.
        query: String,
    },
    /// A search for tools.
    ToolSearch {
        /// What was searched for.
        query: String,
        /// How many tools it found, when seen.
        found: Option<usize>,
    },
    /// A message between agents.
    AgentMessage {
        /// Sender, e.g. `/root`.
        author: String,
        /// Receiver, e.g. `/root/scout`.
        recipient: String,
        /// The text (`[encrypted]` when only encrypted content was written).
        text: String,
    },
    /// A subagent this session spawned (from the index).
    Spawn(Spawn),
    /// An image the model generated.
    ImageGenerated {
        /// The prompt, as the model revised it.
        prompt: Option<String>,
        /// Size of the (base64) result.
        bytes: usize,
    },
    /// The conversation was compacted.
    Compaction {
        /// How many items the replacement history holds, when written.
        items: Option<usize>,
    },
    /// The agent's world state: a baseline or a patch.
    WorldState {
        /// A full baseline rather than a patch.
        full: bool,
        /// Its top-level keys.
        keys: usize,
    },
    /// History this session inherited and does not hold: its parent's file up to an
    /// offset (`history_base`), or another file (`rollout_reference`, `fork_reference`).
    Inherited(Inherited),
}

/// How a shell command reads, for every renderer: `$` and the command, or `>` and the keys
/// typed into a running command; with a note naming a folder other than the session's, or
/// the command that input went to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLine<'a> {
    /// `$` for a command, `>` for input to a running one.
    pub prompt: &'static str,
    /// The command, or the keys typed.
    pub text: &'a str,
    /// `in DIR`, `input to command N`, or `reads the output of command N`.
    pub note: Option<String>,
}

impl Body {
    /// How a [`Body::Command`] reads; `None` for other bodies.
    pub fn command_line(&self) -> Option<CommandLine<'_>> {
        match self {
            Body::Command {
                command,
                workdir,
                stdin_of,
                ..
            } => Some(CommandLine::of(
                command,
                workdir.as_deref(),
                stdin_of.as_deref(),
            )),
            _ => None,
        }
    }
}

impl<'a> CommandLine<'a> {
    /// The line of a [`Body::Command`]'s fields.
    pub fn of(command: &'a str, workdir: Option<&str>, stdin_of: Option<&str>) -> Self {
        match stdin_of {
            Some(id) => CommandLine {
                prompt: ">",
                text: command,
                note: Some(if command.is_empty() {
                    format!("reads the output of command {id}")
                } else {
                    format!("input to command {id}")
                }),
            },
            None => CommandLine {
                prompt: "$",
                text: command,
                note: workdir.map(|w| format!("in {w}")),
            },
        }
    }
}

/// A subagent spawned by the session.
#[derive(Debug, Clone, PartialEq)]
pub struct Spawn {
    /// Its session id.
    pub id: String,
    /// What the parent calls it.
    pub nickname: Option<String>,
    /// Its role.
    pub role: Option<String>,
    /// Its name or title.
    pub label: Option<String>,
    created_ms: i64,
}

/// Where inherited history lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inherited {
    /// The session whose file holds it.
    pub thread_id: Option<String>,
    /// The file, as written in a reference line.
    pub rollout_path: Option<String>,
    /// The history is that file's bytes before this offset.
    pub end_offset: Option<u64>,
    /// A `fork_reference`.
    pub fork: bool,
}

impl Inherited {
    fn from_base(base: &HistoryBase) -> Inherited {
        Inherited {
            thread_id: base.thread_id.clone(),
            rollout_path: None,
            end_offset: base.end_byte_offset,
            fork: false,
        }
    }
}

/// A tool's output, possibly shortened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The text kept: all of it, or its head, a `... N lines ...` line and its tail.
    pub text: String,
    /// Lines left out in the middle (0 when whole).
    pub omitted_lines: usize,
}

/// An image, never its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Its media type (`image/png`), or `image` when the URL does not say.
    pub kind: String,
    /// Size of its URL (a base64 data URL is ~4/3 of the image).
    pub bytes: usize,
}

/// What the header of a transcript says, from the file's own session meta.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Header {
    /// The file's own session meta (credentials stripped from the repository URL).
    pub meta: Option<SessionMeta>,
}

/// Streams a transcript's [`Entry`]s from a rollout.
pub struct TranscriptReader {
    reader: RolloutReader,
    resolver: MetaResolver,
    opts: TranscriptOptions,
    end_offset: Option<u64>,
    /// The first record after the metas, read to find the header.
    first: Option<Record>,
    /// Bookkeeping read before the first meta (a title line an agent writes first).
    before_meta: Vec<Record>,
    /// The metas at the head have been read.
    head_read: bool,
    /// The first entries (inherited history, the first record) have been queued.
    started: bool,
    children: Vec<Spawn>,
    held: VecDeque<Entry>,
    /// Calls waiting for their output: call id to absolute position in `held`.
    waiting: HashMap<String, u64>,
    popped: u64,
    turn: u32,
    done: bool,
    /// Lines read well-formed.
    pub records: u64,
    /// Lines that are not rollout lines, skipped.
    pub malformed: Vec<LineError>,
    /// The last line, still being written: (line number, offset, bytes so far).
    pub pending: Option<(u64, u64, u64)>,
    /// The last cumulative `token_count` total.
    pub tokens_counted: Option<u64>,
    /// The last `token_usage_record` thread total.
    pub tokens_recorded: Option<u64>,
    /// The last model a turn used.
    pub model: Option<String>,
    /// The folder the current turn runs in: a command's own folder is shown when it is
    /// another one.
    cwd: Option<String>,
}

impl std::fmt::Debug for TranscriptReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TranscriptReader")
            .field("path", &self.reader.path())
            .finish()
    }
}

/// Most bookkeeping lines read before a session's first meta.
const BEFORE_META_MAX: usize = 64;

impl TranscriptReader {
    /// Reads `path` (plain or `.zst`); with `end_offset`, only the lines that start before
    /// it (inherited history is a prefix of its parent's file).
    pub fn open(
        path: &Path,
        opts: TranscriptOptions,
        end_offset: Option<u64>,
    ) -> Result<TranscriptReader> {
        Ok(TranscriptReader {
            reader: RolloutReader::open(path)?,
            resolver: MetaResolver::for_path(path),
            opts,
            end_offset,
            first: None,
            before_meta: Vec::new(),
            head_read: false,
            started: false,
            children: Vec::new(),
            held: VecDeque::new(),
            waiting: HashMap::new(),
            popped: 0,
            turn: 0,
            done: false,
            records: 0,
            malformed: Vec::new(),
            pending: None,
            tokens_counted: None,
            tokens_recorded: None,
            model: None,
            cwd: None,
        })
    }

    /// The file being read.
    pub fn path(&self) -> PathBuf {
        self.reader.path().to_path_buf()
    }

    /// The session's total tokens: the last `token_count`, else the last usage record.
    pub fn tokens(&self) -> Option<u64> {
        self.tokens_counted.or(self.tokens_recorded)
    }

    /// The header: reads the session metas at the head of the file (a fork carries its
    /// parent's first; the file's own is the one named by the file) up to the first item.
    pub fn header(&mut self) -> Result<Header> {
        self.read_head()?;
        let mut meta = self.resolver.current().cloned();
        if let Some(m) = meta.as_mut() {
            if let Some(git) = m.git.as_mut() {
                git.repository_url = git
                    .repository_url
                    .as_deref()
                    .map(crate::repo_url::strip_credentials);
            }
            if self.opts.redact {
                m.cwd = m.cwd.as_deref().map(|c| redact(c).into_owned());
            }
        }
        Ok(Header { meta })
    }

    fn read_head(&mut self) -> Result<()> {
        while !self.head_read {
            match self.next_record()? {
                Some(rec) => match &rec.line.item {
                    RolloutItem::SessionMeta(m) => self.resolver.offer(m),
                    // What carries no entry may come before the session's facts (Claude
                    // Code writes a title line first): kept, and the metas looked for on.
                    RolloutItem::TitleHint { .. }
                    | RolloutItem::State
                    | RolloutItem::ReplyUsage { .. }
                        if self.resolver.current().is_none()
                            && self.before_meta.len() < BEFORE_META_MAX =>
                    {
                        self.before_meta.push(rec)
                    }
                    _ => {
                        self.first = Some(rec);
                        self.head_read = true;
                    }
                },
                None => self.head_read = true,
            }
        }
        Ok(())
    }

    /// Goes on from `offset`, the start of line `lines_before + 1`, once the header is read:
    /// for reading around a line of a long session without building every entry before it
    /// (the index knows where each item starts). What came before is then unknown to the
    /// entries (a call whose output comes after, the turn's folder). A document rewritten
    /// whole (no line offsets) and an offset before where reading is already stay as they
    /// are.
    pub fn skip_to(&mut self, offset: u64, lines_before: u64) -> Result<()> {
        self.read_head()?;
        let path = self.reader.path().to_path_buf();
        if offset <= self.reader.offset() || crate::agents::for_path(&path).whole_document() {
            return Ok(());
        }
        self.reader = RolloutReader::open_at(&path, offset, lines_before)?;
        self.first = None;
        self.before_meta.clear();
        self.started = true;
        Ok(())
    }

    /// The next entry, `None` at the end. An `Err` (the file cannot be read further)
    /// ends the transcript.
    pub fn next_entry(&mut self) -> Option<Result<Entry>> {
        loop {
            if let Some(e) = self.pop_ready() {
                return Some(Ok(e));
            }
            if self.done {
                return None;
            }
            if !self.started {
                if let Err(e) = self.read_head() {
                    self.done = true;
                    return Some(Err(e));
                }
                self.started = true;
                if let Some(base) = self.resolver.current().and_then(|m| m.history_base.clone()) {
                    let at = self.first.as_ref();
                    let entry = self.entry_at(at, Body::Inherited(Inherited::from_base(&base)));
                    self.hold(entry, None);
                }
                for rec in std::mem::take(&mut self.before_meta) {
                    self.add(&rec);
                }
                match self.first.take() {
                    Some(first) => self.add(&first),
                    None => self.finish(),
                }
                continue;
            }
            match self.next_record() {
                Ok(Some(rec)) => {
                    if let RolloutItem::SessionMeta(m) = &rec.line.item {
                        self.resolver.offer(m);
                    } else {
                        self.add(&rec);
                    }
                }
                Ok(None) => self.finish(),
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }

    /// The end of the file: subagents spawned after its last line come last.
    fn finish(&mut self) {
        for child in std::mem::take(&mut self.children) {
            let mut entry = self.entry_at(None, Body::Spawn(child));
            entry.seq = self.reader.lines_read();
            entry.last_seq = entry.seq;
            self.hold(entry, None);
        }
        self.done = true;
    }

    /// Every remaining entry, collected.
    pub fn collect_entries(&mut self) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        while let Some(e) = self.next_entry() {
            out.push(e?);
        }
        Ok(out)
    }

    fn next_record(&mut self) -> Result<Option<Record>> {
        while let Some(entry) = self.reader.next_entry() {
            match entry? {
                ReadEntry::Record(r) => {
                    if self.end_offset.is_some_and(|end| r.offset >= end) {
                        return Ok(None);
                    }
                    self.records += 1;
                    return Ok(Some(r));
                }
                ReadEntry::Malformed(e) => self.malformed.push(e),
                ReadEntry::Pending {
                    number,
                    offset,
                    len,
                } => {
                    if self.end_offset.is_none_or(|end| offset < end) {
                        self.pending = Some((number, offset, len));
                    }
                }
            }
        }
        Ok(None)
    }

    /// The front of the queue, once it is not a call still waiting for its output.
    fn pop_ready(&mut self) -> Option<Entry> {
        if self.held.is_empty() {
            return None;
        }
        let waiting = self.waiting.values().any(|&n| n == self.popped);
        if waiting && !self.done && self.held.len() <= MAX_HELD {
            return None;
        }
        let e = self.held.pop_front()?;
        self.waiting.retain(|_, n| *n != self.popped);
        self.popped += 1;
        Some(e)
    }

    fn hold(&mut self, entry: Entry, call_id: Option<&str>) {
        if let Some(id) = call_id.filter(|id| !id.is_empty()) {
            self.waiting
                .insert(id.to_string(), self.popped + self.held.len() as u64);
        }
        self.held.push_back(entry);
    }

    fn text(&self, s: &str) -> String {
        if self.opts.redact {
            redact(s).into_owned()
        } else {
            s.to_string()
        }
    }

    fn entry_at(&self, rec: Option<&Record>, body: Body) -> Entry {
        Entry {
            turn: self.turn,
            seq: rec.map_or(0, |r| r.number),
            last_seq: rec.map_or(0, |r| r.number),
            ordinal: rec.and_then(|r| r.line.ordinal),
            timestamp: rec.and_then(|r| r.line.timestamp.clone()),
            body,
        }
    }

    /// Subagents spawned before `rec`'s time come first.
    fn spawns_before(&mut self, rec: &Record) {
        let Some(ts) = rec
            .line
            .timestamp
            .as_deref()
            .and_then(crate::index::ingest::parse_ms)
        else {
            return;
        };
        while self.children.first().is_some_and(|c| c.created_ms <= ts) {
            let child = self.children.remove(0);
            let entry = self.entry_at(Some(rec), Body::Spawn(child));
            self.hold(entry, None);
        }
    }

    fn add(&mut self, rec: &Record) {
        self.spawns_before(rec);
        let body = match &rec.line.item {
            RolloutItem::ResponseItem(item) => return self.add_item(rec, item),
            RolloutItem::EventMsg(EventMsg::TokenCount { total: Some(t), .. }) => {
                self.tokens_counted = Some(t.total_tokens);
                return;
            }
            RolloutItem::TokenUsageRecord {
                thread_total: Some(t),
                ..
            } => {
                self.tokens_recorded = Some(*t);
                return;
            }
            RolloutItem::TurnContext(tc) => {
                if tc.model.is_some() {
                    self.model.clone_from(&tc.model);
                }
                if tc.cwd.is_some() {
                    self.cwd.clone_from(&tc.cwd);
                }
                return;
            }
            RolloutItem::Compacted(c) => Body::Compaction {
                items: Some(c.replacement_items),
            },
            RolloutItem::InterAgent(m) => self.agent_message(m),
            RolloutItem::WorldState { full, keys } => Body::WorldState {
                full: *full,
                keys: *keys,
            },
            RolloutItem::HistoryReference(r) => Body::Inherited(Inherited {
                thread_id: r.thread_id.clone(),
                rollout_path: r.rollout_path.clone(),
                end_offset: None,
                fork: r.fork,
            }),
            _ => return,
        };
        let entry = self.entry_at(Some(rec), body);
        self.hold(entry, None);
    }

    fn agent_message(&self, m: &AgentMessage) -> Body {
        Body::AgentMessage {
            author: m.author.clone().unwrap_or_else(|| "?".into()),
            recipient: m.recipient.clone().unwrap_or_else(|| "?".into()),
            text: if m.text.trim().is_empty() && m.encrypted {
                "[encrypted]".into()
            } else {
                self.text(&m.text)
            },
        }
    }

    fn command(&self, call: &crate::model::ShellCall) -> Body {
        let cwd = self
            .cwd
            .as_deref()
            .or_else(|| self.resolver.current().and_then(|m| m.cwd.as_deref()));
        Body::Command {
            command: self.text(&call.command),
            workdir: call.shown_workdir(cwd).map(|w| self.text(&w)),
            stdin_of: call.stdin_of.clone(),
            output: None,
        }
    }

    fn output(&self, text: &str) -> Output {
        let text = crate::model::unwrap_output(text);
        shorten_output(&self.text(&text), self.opts.full_output)
    }

    /// Attaches an output to its waiting call; `false` when no call waits for it.
    fn attach(&mut self, rec: &Record, call_id: Option<&str>, out: Output) -> bool {
        let Some(n) = call_id.and_then(|id| self.waiting.remove(id)) else {
            return false;
        };
        let Some(entry) = self.held.get_mut((n - self.popped) as usize) else {
            return false;
        };
        entry.last_seq = rec.number;
        match &mut entry.body {
            Body::Command { output, .. }
            | Body::Patch { output, .. }
            | Body::ToolCall { output, .. } => *output = Some(out),
            _ => return false,
        }
        true
    }

    fn add_item(&mut self, rec: &Record, item: &ResponseItem) {
        let mut call_id = None;
        let body = match item {
            ResponseItem::Message {
                role,
                content,
                phase,
            } => {
                let mut texts = Vec::new();
                let mut images = Vec::new();
                for c in content {
                    match c {
                        ContentItem::Text(t) => texts.push(t.as_str()),
                        ContentItem::Image { url_len, mime } => images.push(Image {
                            kind: mime.clone().unwrap_or_else(|| "image".into()),
                            bytes: *url_len,
                        }),
                        ContentItem::Other(_) => {}
                    }
                }
                let text = texts.join("\n");
                let injected = role == "developer"
                    || role == "system"
                    || (role == "user" && images.is_empty() && crate::model::is_injected(&text));
                if injected {
                    let label = text.trim().lines().next().unwrap_or("").trim();
                    Body::Context {
                        label: self.text(&clip_chars(label, 100)),
                        lines: text.trim().lines().count(),
                        text: self.opts.include_context.then(|| self.text(&text)),
                    }
                } else if role == "user" {
                    self.turn += 1;
                    Body::User {
                        text: self.text(&text),
                        images,
                    }
                } else {
                    Body::Assistant {
                        text: self.text(&text),
                        phase: phase.clone(),
                    }
                }
            }
            ResponseItem::Reasoning { summary, .. } => {
                if summary.is_empty() {
                    return;
                }
                Body::Reasoning {
                    text: self.text(&summary.join("\n")),
                }
            }
            ResponseItem::FunctionCall {
                name,
                arguments,
                call_id: id,
            } => {
                call_id = id.as_deref();
                match item.shell_call() {
                    Some(call) => self.command(&call),
                    None if name == "apply_patch" => {
                        let patch = serde_json::from_str::<serde_json::Value>(arguments)
                            .ok()
                            .and_then(|v| {
                                v.get("input")
                                    .or_else(|| v.get("patch"))
                                    .and_then(|p| p.as_str().map(str::to_string))
                            })
                            .unwrap_or_else(|| arguments.clone());
                        self.patch(&patch)
                    }
                    None => Body::ToolCall {
                        name: name.clone(),
                        input: self.text(arguments),
                        output: None,
                    },
                }
            }
            ResponseItem::LocalShellCall { call_id: id, .. } => {
                call_id = id.as_deref();
                match item.shell_call() {
                    Some(call) => self.command(&call),
                    None => return,
                }
            }
            ResponseItem::CustomToolCall {
                name,
                input,
                call_id: id,
            } => {
                call_id = id.as_deref();
                if name == "apply_patch" || !patch_files(input).is_empty() {
                    self.patch(input)
                } else {
                    Body::ToolCall {
                        name: name.clone(),
                        input: self.text(input),
                        output: None,
                    }
                }
            }
            ResponseItem::FunctionCallOutput {
                call_id: id,
                output,
            }
            | ResponseItem::CustomToolCallOutput {
                call_id: id,
                output,
            } => {
                let out = self.output(output);
                if self.attach(rec, id.as_deref(), out.clone()) {
                    return;
                }
                Body::ToolOutput { output: out }
            }
            ResponseItem::WebSearchCall { query, .. } => Body::WebSearch {
                query: self.text(query.as_deref().unwrap_or("")),
            },
            ResponseItem::ToolSearchCall { query, call_id: id } => {
                call_id = id.as_deref();
                Body::ToolSearch {
                    query: self.text(query),
                    found: None,
                }
            }
            ResponseItem::ToolSearchOutput { call_id: id, tools } => {
                if let Some(n) = id.as_deref().and_then(|id| self.waiting.remove(id))
                    && let Some(Entry {
                        body: Body::ToolSearch { found, .. },
                        last_seq,
                        ..
                    }) = self.held.get_mut((n - self.popped) as usize)
                {
                    *found = Some(*tools);
                    *last_seq = rec.number;
                    return;
                }
                Body::ToolSearch {
                    query: String::new(),
                    found: Some(*tools),
                }
            }
            ResponseItem::AgentMessage(m) => self.agent_message(m),
            ResponseItem::ImageGenerationCall {
                revised_prompt,
                result_len,
                ..
            } => Body::ImageGenerated {
                prompt: revised_prompt.as_deref().map(|p| self.text(p)),
                bytes: *result_len,
            },
            ResponseItem::Compaction { .. } => Body::Compaction { items: None },
            ResponseItem::Other { .. } => return,
        };
        let entry = self.entry_at(Some(rec), body);
        self.hold(entry, call_id);
    }

    fn patch(&self, input: &str) -> Body {
        Body::Patch {
            files: patch_files(input).into_iter().map(str::to_string).collect(),
            diff: self.text(input.trim_end()),
            output: None,
        }
    }
}

fn clip_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        s.chars().take(max - 1).chain(['…']).collect()
    }
}

/// A long output keeps its first and last lines with `... N lines ...` between them, and
/// very long lines keep their start; `full` keeps everything.
pub fn shorten_output(text: &str, full: bool) -> Output {
    let text = text.trim_end();
    if full {
        return Output {
            text: text.to_string(),
            omitted_lines: 0,
        };
    }
    let clip = |l: &str| {
        if l.chars().count() > OUTPUT_LINE_CHARS {
            let kept: String = l.chars().take(OUTPUT_LINE_CHARS).collect();
            format!(
                "{kept} … ({} more characters)",
                l.chars().count() - OUTPUT_LINE_CHARS
            )
        } else {
            l.to_string()
        }
    };
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= OUTPUT_HEAD_LINES + OUTPUT_TAIL_LINES {
        return Output {
            text: lines.iter().map(|l| clip(l)).collect::<Vec<_>>().join("\n"),
            omitted_lines: 0,
        };
    }
    let omitted = lines.len() - OUTPUT_HEAD_LINES - OUTPUT_TAIL_LINES;
    let mut kept: Vec<String> = lines[..OUTPUT_HEAD_LINES].iter().map(|l| clip(l)).collect();
    kept.push(format!("... {omitted} lines ..."));
    kept.extend(
        lines[lines.len() - OUTPUT_TAIL_LINES..]
            .iter()
            .map(|l| clip(l)),
    );
    Output {
        text: kept.join("\n"),
        omitted_lines: omitted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The entries of a rollout made of `lines`.
    fn entries(lines: &[&str], opts: TranscriptOptions) -> Vec<Entry> {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir
            .path()
            .join("rollout-2026-01-01T00-00-00-0199a213-81c0-7800-8aa1-bbab2a035a53.jsonl");
        std::fs::write(&path, lines.join("\n") + "\n").expect("write");
        TranscriptReader::open(&path, opts, None)
            .expect("open")
            .collect_entries()
            .expect("read")
    }

    fn call(id: &str, cmd: &str) -> String {
        serde_json::json!({"type":"function_call","name":"shell","call_id":id,
            "arguments": serde_json::json!({"command":["bash","-lc",cmd]}).to_string()})
        .to_string()
    }

    fn output(id: &str, text: &str) -> String {
        serde_json::json!({"type":"function_call_output","call_id":id,"output":text}).to_string()
    }

    #[test]
    fn every_shell_like_call_reads_as_a_command_with_its_folder_when_it_is_another() {
        let f = |name: &str, args: serde_json::Value| {
            serde_json::json!({"type":"function_call","name":name,"call_id":name,
                "arguments": args.to_string()})
            .to_string()
        };
        let lines = [
            r#"{"type":"session_meta","payload":{"id":"0199a213-81c0-7800-8aa1-bbab2a035a53","cwd":"/w"}}"#.to_string(),
            f("shell_command", serde_json::json!({"command":"ls -la","workdir":"/w","timeout_ms":1000})),
            f("exec_command", serde_json::json!({"cmd":"cargo test","workdir":"/w/crates/core"})),
            f("write_stdin", serde_json::json!({"session_id":7,"chars":"y\n"})),
            f("write_stdin", serde_json::json!({"session_id":7,"chars":""})),
            r#"{"type":"local_shell_call","call_id":"x","status":"completed","action":{"type":"exec","command":["pwd"],"working_directory":"sub"}}"#.to_string(),
        ];
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let got = entries(&refs, TranscriptOptions::default());
        let lines: Vec<CommandLine<'_>> =
            got.iter().filter_map(|e| e.body.command_line()).collect();
        let want = [
            ("$", "ls -la", None),
            ("$", "cargo test", Some("in /w/crates/core")),
            (">", "y", Some("input to command 7")),
            (">", "", Some("reads the output of command 7")),
            ("$", "pwd", Some("in sub")),
        ];
        assert_eq!(lines.len(), want.len(), "{got:?}");
        for (l, (prompt, text, note)) in lines.iter().zip(want) {
            assert_eq!((l.prompt, l.text, l.note.as_deref()), (prompt, text, note));
        }
    }

    #[test]
    fn parallel_calls_get_their_own_outputs_and_a_stray_output_stands_alone() {
        let lines = [
            r#"{"type":"message","role":"user","content":[{"type":"input_text","text":"go"}]}"#
                .to_string(),
            call("a", "ls"),
            call("b", "pwd"),
            output("b", "/work"),
            output("a", "README.md"),
            output("zz", "orphan"),
        ];
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let got = entries(&refs, TranscriptOptions::default());
        let bodies: Vec<&Body> = got.iter().map(|e| &e.body).collect();
        let cmd = |c: &str, o: &str| Body::Command {
            command: c.into(),
            workdir: None,
            stdin_of: None,
            output: Some(Output {
                text: o.into(),
                omitted_lines: 0,
            }),
        };
        assert_eq!(bodies[1], &cmd("ls", "README.md"));
        assert_eq!(bodies[2], &cmd("pwd", "/work"));
        assert!(matches!(bodies[3], Body::ToolOutput { output } if output.text == "orphan"));
        assert_eq!((got[1].seq, got[1].last_seq), (2, 5));
        assert!(got.iter().all(|e| e.turn == 1));
    }

    #[test]
    fn context_collapses_outputs_shorten_and_secrets_go_when_asked() {
        let long: String = (1..=100).map(|i| format!("line {i}\n")).collect();
        let lines = [
            r#"{"type":"message","role":"user","content":[{"type":"input_text","text":"<environment_context>\n  <cwd>/w</cwd>\n</environment_context>"}]}"#.to_string(),
            r#"{"type":"message","role":"user","content":[{"type":"input_text","text":"use sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"}]}"#.to_string(),
            call("c", "make"),
            output("c", &long),
        ];
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let got = entries(
            &refs,
            TranscriptOptions {
                redact: true,
                ..Default::default()
            },
        );
        assert_eq!(
            got[0].body,
            Body::Context {
                label: "<environment_context>".into(),
                lines: 3,
                text: None
            }
        );
        assert_eq!(got[0].turn, 0);
        assert!(matches!(&got[1].body, Body::User { text, .. } if text == "use [REDACTED:openai]"));
        let Body::Command {
            output: Some(o), ..
        } = &got[2].body
        else {
            panic!("{:?}", got[2])
        };
        assert_eq!(o.omitted_lines, 100 - OUTPUT_HEAD_LINES - OUTPUT_TAIL_LINES);
        assert!(o.text.starts_with("line 1\n") && o.text.ends_with("line 100"));
        assert!(o.text.contains("... 70 lines ..."));

        let whole = entries(
            &refs,
            TranscriptOptions {
                include_context: true,
                full_output: true,
                ..Default::default()
            },
        );
        assert!(
            matches!(&whole[0].body, Body::Context { text: Some(t), .. } if t.contains("<cwd>/w</cwd>"))
        );
        assert!(matches!(&whole[1].body, Body::User { text, .. } if text.contains("sk-proj-")));
        assert!(
            matches!(&whole[2].body, Body::Command { output: Some(o), .. } if o.omitted_lines == 0 && o.text.lines().count() == 100)
        );
    }

    #[test]
    fn a_call_whose_output_never_comes_is_shown_without_it() {
        let mut lines = vec![call("lost", "sleep 1")];
        for i in 0..(MAX_HELD + 5) {
            lines.push(format!(
                r#"{{"type":"message","role":"assistant","content":[{{"type":"output_text","text":"m{i}"}}]}}"#
            ));
        }
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let got = entries(&refs, TranscriptOptions::default());
        assert_eq!(got.len(), MAX_HELD + 6);
        assert!(matches!(&got[0].body, Body::Command { output: None, .. }));
    }
}

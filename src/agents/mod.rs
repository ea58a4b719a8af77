//! Connectors: one module per coding agent whose sessions rolldex reads.
//!
//! Each connector knows one agent's files: which files are its sessions, which session a
//! file holds, how its lines become the common model of [`crate::model`] (the one the
//! index, the transcript, `du` and every front end read), whether rolldex may compress its
//! files in place, and how a session is continued. Nothing above the connectors knows
//! which agent wrote a file: they ask [`for_path`]. A new agent is one module here, one
//! entry in [`CONNECTORS`] and a fixture.

pub mod claude;
pub mod codex;
pub mod gemini;

use std::path::{Path, PathBuf};

use crate::error::LineErrorKind;
use crate::model::ParsedLine;

/// The agents rolldex reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Agent {
    /// OpenAI's Codex CLI, IDE extension and Desktop (`~/.codex`).
    Codex,
    /// Anthropic's Claude Code (`~/.claude`).
    Claude,
    /// Google's Gemini CLI (`~/.gemini`).
    Gemini,
}

impl Agent {
    /// Every agent, in the order they are listed.
    pub const ALL: [Agent; 3] = [Agent::Codex, Agent::Claude, Agent::Gemini];

    /// The name used in JSON, filters and the index: `codex`, `claude`, `gemini`.
    pub fn as_str(self) -> &'static str {
        match self {
            Agent::Codex => "codex",
            Agent::Claude => "claude",
            Agent::Gemini => "gemini",
        }
    }

    /// The agent of a name as [`Agent::as_str`] writes it (any case).
    pub fn parse(name: &str) -> Option<Agent> {
        Agent::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(name.trim()))
    }
}

impl std::fmt::Display for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Turns the lines of one file into lines of the common model. One line of the agent's
/// file may give several (a Claude Code user line holding several tool results) or none
/// (bookkeeping); a parser may keep state from line to line (the session's own id).
pub trait LineParser: Send {
    /// Parses one complete line (without its newline) into `out`.
    fn parse(&mut self, line: &[u8], out: &mut Vec<ParsedLine>) -> Result<(), LineErrorKind>;
}

/// One agent's files.
pub trait Connector: Sync {
    /// Which agent this is.
    fn agent(&self) -> Agent;
    /// Whether `path` is one of this agent's session files, by its name and folders.
    fn owns(&self, path: &Path) -> bool;
    /// Where this agent keeps its sessions under `root`, to walk (at most `depth` levels).
    fn session_dirs(&self, root: &Path) -> Vec<(PathBuf, usize)>;
    /// Whether a file name found in those folders is a session file.
    fn is_session_name(&self, name: &str) -> bool;
    /// The session a file holds, from its path alone, when the path says.
    fn session_id(&self, path: &Path) -> Option<String>;
    /// Whether rolldex may compress this agent's files in place: only when the agent
    /// itself reads `.zst` files.
    fn compress_in_place(&self) -> bool;
    /// Whether `forget` may move the agent's own files into rolldex's trash: only for an
    /// agent whose home rolldex shares (Codex). Another agent's files are never moved;
    /// what rolldex retires of them is its own preserved copies.
    fn forget_moves_originals(&self) -> bool;
    /// Files beside a session file that its transcript reads (Claude Code's
    /// `<sessionId>/tool-results/*.txt`), for a session file of the agent's or a preserved
    /// copy of one (then the copies of those files, `*.zst`): rolldex preserves, restores
    /// and retires them with the session.
    fn companions(&self, _session_file: &Path) -> Vec<PathBuf> {
        Vec::new()
    }
    /// Whether a file is one document, rewritten whole as the session grows (Gemini CLI)
    /// rather than lines appended: its parser gets the whole file as one line, and a
    /// changed file is read again from its start.
    fn whole_document(&self) -> bool {
        false
    }
    /// A parser for the lines of `path`.
    fn parser(&self, path: &Path) -> Box<dyn LineParser>;
    /// The shell command that continues session `id`, which ran in `cwd`; for a subagent,
    /// `parent` is the session that spawned it, with the folder that one ran in.
    fn resume_command(
        &self,
        id: &str,
        cwd: Option<&str>,
        parent: Option<(&str, Option<&str>)>,
    ) -> String;
}

/// Every connector; [`for_path`] asks them in this order, Codex last (its rollouts are the
/// default when no other agent claims a file).
pub static CONNECTORS: [&dyn Connector; 3] = [&claude::Claude, &gemini::Gemini, &codex::Codex];

/// The connector of a session file.
pub fn for_path(path: &Path) -> &'static dyn Connector {
    CONNECTORS
        .iter()
        .copied()
        .find(|c| c.owns(path))
        .unwrap_or(&codex::Codex)
}

/// The connector of an agent.
pub fn of(agent: Agent) -> &'static dyn Connector {
    match agent {
        Agent::Codex => &codex::Codex,
        Agent::Claude => &claude::Claude,
        Agent::Gemini => &gemini::Gemini,
    }
}

/// A line of the common model, written in the envelope shape at `ts`: what connectors of
/// agents other than Codex make of what they read.
pub(crate) fn line(ts: Option<&str>, item: crate::model::RolloutItem) -> ParsedLine {
    ParsedLine {
        shape: crate::model::Shape::Envelope,
        timestamp: ts.map(str::to_string),
        ordinal: None,
        item,
    }
}

/// A string field of a JSON object.
pub(crate) fn str_of(v: &serde_json::Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(serde_json::Value::as_str)
        .map(str::to_string)
}

/// A path quoted for a POSIX shell when it needs it.
pub(crate) fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:@%=,".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

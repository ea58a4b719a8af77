//! The library's error types.
//!
//! Two kinds of failure exist and they are kept apart on purpose:
//! - [`Error`] stops the operation at hand (a file cannot be opened, a write failed, a
//!   compressed stream is corrupt). It always names the path involved.
//! - [`LineError`] describes one bad line inside an otherwise readable rollout. Readers
//!   report it and carry on with the next line, because rejecting a whole file for one
//!   torn or garbled line would make a user's session silently disappear.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Result type of the library, defaulting to [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error that stops the current operation. Every variant names the path it concerns.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O operation on `path` failed; `action` says what was being done.
    #[error("{}: {action}: {source}", path.display())]
    Io {
        /// The file or folder concerned.
        path: PathBuf,
        /// What was being done, e.g. "opening", "decompressing", "appending".
        action: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The recorder's writer could not write a line to disk. Lines queued after the failure
    /// were not written; the file holds every line up to the last one reported as written.
    #[error("{}: writing the rollout failed: {source}", path.display())]
    Write {
        /// The rollout being written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A recorder was used after its writer stopped (after a write error or a shutdown).
    #[error("{}: the recorder stopped earlier: {reason}", path.display())]
    RecorderStopped {
        /// The rollout that was being written.
        path: PathBuf,
        /// Why it stopped.
        reason: String,
    },
    /// Another process holds the advisory lock of this rollout: its session is live.
    #[error("{}: the session is live in another process (its rollout is locked)", path.display())]
    Locked {
        /// The locked rollout.
        path: PathBuf,
    },
    /// A value handed to the recorder cannot be recorded.
    #[error("cannot record this value: {reason}")]
    InvalidInput {
        /// What is wrong with it.
        reason: String,
    },
    /// Another process is doing the same job (e.g. a second `rolldex archive`).
    #[error("{what} (it holds {})", path.display())]
    Busy {
        /// The lock file held.
        path: PathBuf,
        /// Who holds it.
        what: &'static str,
    },
    /// No session matches the reference (id, id prefix or name) that was asked for.
    #[error("no session matches {id:?} under {}", home.display())]
    SessionNotFound {
        /// The reference asked for.
        id: String,
        /// The home that was searched.
        home: PathBuf,
    },
    /// Several sessions match a reference: an id prefix, or a name two sessions share.
    #[error("{reference:?} matches {} sessions; give more of the id", candidates.len())]
    Ambiguous {
        /// The reference asked for.
        reference: String,
        /// The matching sessions.
        candidates: Vec<Candidate>,
    },
    /// An SQLite operation on the index at `path` failed.
    #[error("{}: {action}: {source}", path.display())]
    Db {
        /// The index database.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The underlying error.
        #[source]
        source: rusqlite::Error,
    },
    /// The pool of index readers could not be set up or ran dry.
    #[error("{}: index connection pool: {reason}", path.display())]
    Pool {
        /// The index database.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The index was written by a newer rolldex; it is left untouched.
    #[error(
        "{}: this index was written by a newer rolldex (schema {found}; this one knows {known}); \
         upgrade rolldex, or use another index file with --db",
        path.display()
    )]
    SchemaTooNew {
        /// The index database.
        path: PathBuf,
        /// Its schema version.
        found: i64,
        /// The newest version this build knows.
        known: i64,
    },
    /// Another `rolldex watch` keeps this index current: one watcher per index.
    #[error(
        "another rolldex watch{} keeps this index current (it holds {}); stop it first, or use another index with --db",
        match (pid, since_ms) {
            (Some(p), Some(s)) => format!(" (pid {p}, since {})", crate::export::rfc3339(*s).unwrap_or_default()),
            (Some(p), None) => format!(" (pid {p})"),
            _ => String::new(),
        },
        path.display()
    )]
    Watching {
        /// The watcher lock.
        path: PathBuf,
        /// The watcher's process id, from its heartbeat.
        pid: Option<i64>,
        /// When it started (Unix ms).
        since_ms: Option<i64>,
    },
    /// A price file (the shipped table or the user's `prices.json`) cannot be used.
    #[error("{}: {message}", path.display())]
    Prices {
        /// The price file.
        path: PathBuf,
        /// What is wrong with it, with its line where known.
        message: String,
    },
    /// An argument is malformed (an id that is no uuid prefix, a bad duration...).
    #[error("{0}")]
    BadArgument(String),
    /// Talking to a team archive (PostgreSQL) failed. `url` has its password masked, and
    /// `reason` never holds the password.
    #[error("team archive {url}: {action}: {reason}")]
    Remote {
        /// The archive's address, password masked.
        url: String,
        /// What was being done, e.g. "connecting", "pushing".
        action: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// The team archive's schema is newer than this binary knows: it is left untouched.
    #[error(
        "team archive {url}: schema version {found} is newer than this rolldex knows ({known}); upgrade rolldex"
    )]
    RemoteSchemaTooNew {
        /// The archive's address, password masked.
        url: String,
        /// The version found.
        found: i64,
        /// The newest version this build knows.
        known: i64,
    },
}

impl Error {
    /// Wraps an SQLite error with the index path and the action that failed.
    pub fn db(path: impl Into<PathBuf>, action: &'static str, source: rusqlite::Error) -> Self {
        Error::Db {
            path: path.into(),
            action,
            source,
        }
    }

    /// Wraps an I/O error with the path and the action that failed.
    pub fn io(path: impl Into<PathBuf>, action: &'static str, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            action,
            source,
        }
    }
}

/// One of several sessions a reference matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The session id.
    pub id: String,
    /// Its name or title, when known.
    pub label: Option<String>,
    /// Its rollout.
    pub path: PathBuf,
    /// The agent that wrote it (`codex`, `claude`...), when known.
    pub agent: Option<String>,
}

impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.id)?;
        if let Some(agent) = &self.agent {
            write!(f, "  [{agent}]")?;
        }
        if let Some(label) = &self.label {
            write!(f, "  {label}")?;
        }
        write!(f, "  {}", self.path.display())
    }
}

/// One malformed line of a rollout. Reading goes on after it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {kind}", path.display())]
pub struct LineError {
    /// The rollout the line is in.
    pub path: PathBuf,
    /// 1-based line number.
    pub line: u64,
    /// Byte offset of the line's start in the (decompressed) stream.
    pub offset: u64,
    /// What is wrong with the line.
    pub kind: LineErrorKind,
}

/// What is wrong with a malformed line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineErrorKind {
    /// The bytes are not UTF-8; `valid_up_to` bytes of the line are.
    InvalidUtf8 {
        /// Length of the valid UTF-8 prefix of the line.
        valid_up_to: usize,
    },
    /// The line is not valid JSON.
    Json(String),
    /// The line is JSON but not of a shape a rollout line takes.
    Shape(String),
}

impl fmt::Display for LineErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineErrorKind::InvalidUtf8 { valid_up_to } => {
                write!(f, "invalid UTF-8 after byte {valid_up_to} of the line")
            }
            LineErrorKind::Json(msg) => write!(f, "invalid JSON: {msg}"),
            LineErrorKind::Shape(msg) => write!(f, "not a rollout line: {msg}"),
        }
    }
}

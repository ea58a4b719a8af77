//! Recording a session: one writer task per rollout, fed through a bounded channel.
//!
//! The agent's side only serializes and queues ([`Recorder::record_items`] never touches
//! the disk); the writer runs on tokio's blocking pool, writes in arrival order, hands
//! data to the OS whenever the queue is drained, and fsyncs on [`Recorder::flush`] and
//! [`Recorder::shutdown`]. A write error is kept and returned by the next call, never
//! dropped. Dropping a recorder without `shutdown` still writes and syncs everything
//! queued (tokio waits for blocking tasks when a runtime shuts down).
//!
//! New files are written in the envelope shape. While the writer has a file open it holds
//! an exclusive advisory lock (`flock`) on it: the archive job skips locked files.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde_json::value::RawValue;
use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::git_info;
use crate::layout;
use crate::model::{GitInfo, Shape};
use crate::reader::{self, SessionFile};

/// `2026-02-23T12:19:42.561Z`: UTC with milliseconds, as Codex writes.
const TIMESTAMP: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// The current time as a rollout timestamp.
pub fn now_timestamp() -> String {
    OffsetDateTime::now_utc()
        .format(TIMESTAMP)
        .unwrap_or_else(|_| String::from("1970-01-01T00:00:00.000Z"))
}

/// What a new session's meta line says about it.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// Working directory; git info is collected from it.
    pub cwd: PathBuf,
    /// The program recording, e.g. `codex_cli_rs` or `rolldex`.
    pub originator: String,
    /// Its version.
    pub cli_version: String,
    /// `cli`, `exec`, `vscode`...
    pub source: String,
    /// Model provider id, when known.
    pub model_provider: Option<String>,
    /// Base instructions, when any.
    pub instructions: Option<String>,
    /// The session this one forks, when it does.
    pub forked_from_id: Option<Uuid>,
}

/// Tuning of a recorder.
#[derive(Debug, Clone)]
pub struct RecorderOptions {
    /// The local UTC offset for the file name, read before threads started
    /// ([`layout::local_offset`]). `None`: try now, else UTC with a warning.
    pub local_offset: Option<UtcOffset>,
    /// Collect git info from the cwd for the meta line.
    pub collect_git: bool,
    /// How long git may take.
    pub git_timeout: Duration,
    /// Queue length (in calls) before `record_*` waits for the writer.
    pub capacity: usize,
}

impl Default for RecorderOptions {
    fn default() -> Self {
        RecorderOptions {
            local_offset: None,
            collect_git: true,
            git_timeout: git_info::DEFAULT_TIMEOUT,
            capacity: 1024,
        }
    }
}

enum Command {
    /// One or more complete lines, each ending in `\n`.
    Lines(Vec<u8>),
    /// Make everything so far durable (fsync), then reply.
    Flush(oneshot::Sender<Result<()>>),
    /// As `Flush`, then stop.
    Shutdown(oneshot::Sender<Result<()>>),
}

/// The first write error, kept for every later call.
#[derive(Default)]
struct Shared {
    failure: Mutex<Option<(io::ErrorKind, String)>>,
}

impl Shared {
    fn failure(&self) -> Option<(io::ErrorKind, String)> {
        self.failure
            .lock()
            .map(|f| f.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }
    fn fail(&self, e: &io::Error) {
        let mut slot = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert_with(|| (e.kind(), e.to_string()));
    }
}

/// Records one session into its rollout file.
pub struct Recorder {
    id: Uuid,
    path: PathBuf,
    tx: mpsc::Sender<Command>,
    shared: Arc<Shared>,
    warnings: Vec<String>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("id", &self.id)
            .field("path", &self.path)
            .finish()
    }
}

#[derive(Serialize)]
struct MetaPayload<'a> {
    id: Uuid,
    timestamp: &'a str,
    cwd: &'a str,
    originator: &'a str,
    cli_version: &'a str,
    source: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    model_provider: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    base_instructions: Option<Instructions<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    forked_from_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    git: Option<&'a GitInfo>,
}

#[derive(Serialize)]
struct Instructions<'a> {
    text: &'a str,
}

fn meta_line(id: Uuid, timestamp: &str, info: &SessionInfo, git: Option<&GitInfo>) -> Vec<u8> {
    let cwd = info.cwd.to_string_lossy();
    let payload = MetaPayload {
        id,
        timestamp,
        cwd: &cwd,
        originator: &info.originator,
        cli_version: &info.cli_version,
        source: &info.source,
        model_provider: info.model_provider.as_deref(),
        base_instructions: info
            .instructions
            .as_deref()
            .map(|text| Instructions { text }),
        forked_from_id: info.forked_from_id,
        git,
    };
    let mut line = Vec::with_capacity(256);
    // Plain strings, uuids and an object: this cannot fail.
    let _ = write_envelope(&mut line, timestamp, "session_meta", &payload);
    line
}

impl Recorder {
    /// Starts a new session: creates
    /// `home/sessions/YYYY/MM/DD/rollout-<local time>-<id>.jsonl` (folders 0700, file 0600,
    /// locked) and returns at once. The meta line, with git info collected in the
    /// background from `info.cwd`, is the file's first line; items recorded meanwhile
    /// queue behind it.
    pub async fn create(
        home: &Path,
        id: Uuid,
        info: SessionInfo,
        opts: RecorderOptions,
    ) -> Result<Recorder> {
        let mut warnings = Vec::new();
        let offset = match opts.local_offset {
            Some(o) => o,
            None => layout::local_offset().unwrap_or_else(|e| {
                warnings.push(format!(
                    "the local time offset is unknown ({e}); the file name uses UTC"
                ));
                UtcOffset::UTC
            }),
        };
        let now = OffsetDateTime::now_utc();
        let path = layout::new_rollout_path(home, now.to_offset(offset), id);
        let file = {
            let path = path.clone();
            blocking(move || create_rollout_file(&path)).await?
        };
        let timestamp = now.format(TIMESTAMP).unwrap_or_default();
        // Written by the writer if the git task never answers (runtime shut down early).
        let fallback = meta_line(id, &timestamp, &info, None);
        let (meta_tx, meta_rx) = oneshot::channel();
        if opts.collect_git {
            tokio::spawn(async move {
                let git = git_info::collect(&info.cwd, opts.git_timeout).await;
                let _ = meta_tx.send(meta_line(id, &timestamp, &info, git.as_ref()));
            });
        } else {
            drop(meta_tx);
        }
        let first = FirstLine {
            fallback,
            rx: meta_rx,
        };
        Ok(Self::start(
            id,
            path,
            file,
            0,
            Some(first),
            opts.capacity,
            warnings,
        ))
    }

    /// Continues an existing session from its `.jsonl` or `.jsonl.zst` file and returns
    /// what the file holds so far.
    ///
    /// A compressed file is first restored to its plain `.jsonl` ([`restore_plain`]).
    /// When the file ends in a torn line (a crash mid-write), a newline is appended first
    /// so that new lines never fuse with it; the torn line stays, reported as malformed.
    pub async fn resume(path: &Path, opts: RecorderOptions) -> Result<(Recorder, SessionFile)> {
        let path = path.to_path_buf();
        let (plain, file, len, history) = blocking(move || open_for_resume(&path)).await?;
        let id = history
            .meta
            .as_ref()
            .and_then(|m| m.uuid())
            .or_else(|| layout::session_id_from_path(&plain))
            .unwrap_or_else(Uuid::nil);
        let rec = Self::start(id, plain, file, len, None, opts.capacity, Vec::new());
        Ok((rec, history))
    }

    fn start(
        id: Uuid,
        path: PathBuf,
        file: File,
        len: u64,
        first: Option<FirstLine>,
        capacity: usize,
        warnings: Vec<String>,
    ) -> Recorder {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let shared = Arc::new(Shared::default());
        let writer = Writer {
            file,
            pending: Vec::new(),
            path: path.clone(),
            written_len: len,
            shared: shared.clone(),
        };
        tokio::task::spawn_blocking(move || writer.run(first, rx));
        Recorder {
            id,
            path,
            tx,
            shared,
            warnings,
        }
    }

    /// The session id.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The rollout being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Things the caller should tell the user (e.g. the UTC fallback for file names).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Queues response items (each serializes to a JSON object) as `response_item` lines.
    pub async fn record_items<T: Serialize>(&self, items: &[T]) -> Result<()> {
        self.record("response_item", items).await
    }

    /// Queues event payloads as `event_msg` lines.
    pub async fn record_events<T: Serialize>(&self, events: &[T]) -> Result<()> {
        self.record("event_msg", events).await
    }

    /// Queues payloads of any envelope kind (`turn_context`, `compacted`...), stamped now.
    pub async fn record<T: Serialize>(&self, kind: &str, payloads: &[T]) -> Result<()> {
        if payloads.is_empty() {
            return self.check();
        }
        let timestamp = now_timestamp();
        let mut buf = Vec::with_capacity(256 * payloads.len());
        for payload in payloads {
            write_envelope(&mut buf, &timestamp, kind, payload)?;
        }
        self.send(Command::Lines(buf)).await
    }

    /// Queues whole envelope lines exactly as given (e.g. piped from another rollout).
    /// Each must be one envelope-shaped JSON object on one line.
    pub async fn record_envelope_lines(&self, lines: &[&RawValue]) -> Result<()> {
        let mut buf = Vec::new();
        for line in lines {
            let text = line.get().trim();
            if text.contains('\n') {
                return Err(Error::InvalidInput {
                    reason: "a rollout line cannot contain a line break".into(),
                });
            }
            match crate::model::parse_line(text.as_bytes()) {
                Ok(p) if p.shape == Shape::Envelope => {}
                Ok(_) => {
                    return Err(Error::InvalidInput {
                        reason: "not an envelope line (needs \"type\" and \"payload\")".into(),
                    });
                }
                Err(kind) => {
                    return Err(Error::InvalidInput {
                        reason: kind.to_string(),
                    });
                }
            }
            buf.extend_from_slice(text.as_bytes());
            buf.push(b'\n');
        }
        self.send(Command::Lines(buf)).await
    }

    /// Waits until everything queued so far is on disk and synced.
    pub async fn flush(&self) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Flush(tx)).await?;
        rx.await.map_err(|_| self.stopped())?
    }

    /// Writes and syncs everything queued, releases the file, and returns once it is
    /// durable, or with the first write error.
    pub async fn shutdown(self) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Shutdown(tx)).await?;
        rx.await.map_err(|_| self.stopped())?
    }

    fn check(&self) -> Result<()> {
        match self.shared.failure() {
            Some((kind, msg)) => Err(Error::Write {
                path: self.path.clone(),
                source: io::Error::new(kind, msg),
            }),
            None => Ok(()),
        }
    }

    async fn send(&self, cmd: Command) -> Result<()> {
        self.check()?;
        self.tx.send(cmd).await.map_err(|_| self.stopped())
    }

    fn stopped(&self) -> Error {
        self.check()
            .err()
            .unwrap_or_else(|| Error::RecorderStopped {
                path: self.path.clone(),
                reason: "its writer task ended".into(),
            })
    }
}

/// Appends `{"timestamp":..,"type":..,"payload":..}` and a newline to `buf`, in the key
/// order Codex writes. The payload must serialize to one JSON object: anything else would
/// not be a rollout line.
fn write_envelope<T: Serialize + ?Sized>(
    buf: &mut Vec<u8>,
    timestamp: &str,
    kind: &str,
    payload: &T,
) -> Result<()> {
    let invalid = |reason: String| Error::InvalidInput { reason };
    let start = buf.len();
    let result = (|| {
        buf.extend_from_slice(b"{\"timestamp\":");
        serde_json::to_writer(&mut *buf, timestamp).map_err(|e| invalid(e.to_string()))?;
        buf.extend_from_slice(b",\"type\":");
        serde_json::to_writer(&mut *buf, kind).map_err(|e| invalid(e.to_string()))?;
        buf.extend_from_slice(b",\"payload\":");
        let payload_start = buf.len();
        serde_json::to_writer(&mut *buf, payload).map_err(|e| invalid(e.to_string()))?;
        if buf.get(payload_start) != Some(&b'{') {
            return Err(invalid(format!("a {kind} payload must be a JSON object")));
        }
        // serde_json escapes newlines in strings; a raw one can only come from a RawValue.
        if buf[payload_start..].contains(&b'\n') {
            return Err(invalid("a rollout line cannot contain a line break".into()));
        }
        buf.extend_from_slice(b"}\n");
        Ok(())
    })();
    if result.is_err() {
        buf.truncate(start);
    }
    result
}

struct FirstLine {
    fallback: Vec<u8>,
    rx: oneshot::Receiver<Vec<u8>>,
}

struct Writer {
    file: File,
    /// Complete lines not yet handed to the OS.
    pending: Vec<u8>,
    path: PathBuf,
    /// Length of the file made of complete lines we (or earlier writers) wrote.
    written_len: u64,
    shared: Arc<Shared>,
}

/// Pending bytes past which the writer hands data over without waiting for the queue to
/// drain, so a burst does not grow memory without bound.
const HAND_OVER_AT: usize = 1024 * 1024;

impl Writer {
    fn run(mut self, first: Option<FirstLine>, mut rx: mpsc::Receiver<Command>) {
        if let Some(first) = first {
            let line = first.rx.blocking_recv().unwrap_or(first.fallback);
            self.write(&line);
            // On its own, so that a failure in the first batch of items still leaves a
            // file that says which session it is.
            self.hand_over();
        }
        while let Some(cmd) = rx.blocking_recv() {
            match cmd {
                Command::Lines(buf) => {
                    self.write(&buf);
                    // Hand data to the OS once the queue is drained: batches under load,
                    // and a crash of this process never loses what was queued before.
                    if rx.is_empty() || self.pending.len() >= HAND_OVER_AT {
                        self.hand_over();
                    }
                }
                Command::Flush(reply) => {
                    let _ = reply.send(self.sync());
                }
                Command::Shutdown(reply) => {
                    let _ = reply.send(self.sync());
                    return;
                }
            }
        }
        // Every sender is gone (dropped without shutdown): still make it all durable.
        let _ = self.sync();
    }

    fn failed(&self) -> bool {
        self.shared.failure().is_some()
    }

    fn write(&mut self, buf: &[u8]) {
        if !self.failed() {
            self.pending.extend_from_slice(buf);
        }
    }

    fn hand_over(&mut self) {
        if self.failed() || self.pending.is_empty() {
            return;
        }
        match self.file.write_all(&self.pending) {
            Ok(()) => {
                self.written_len += self.pending.len() as u64;
                self.pending.clear();
                if self.pending.capacity() > 8 * HAND_OVER_AT {
                    self.pending = Vec::new();
                }
            }
            Err(e) => self.fail(e),
        }
    }

    fn sync(&mut self) -> Result<()> {
        self.hand_over();
        if !self.failed()
            && let Err(e) = self.file.sync_data()
        {
            self.fail(e);
        }
        match self.shared.failure() {
            Some((kind, msg)) => Err(Error::Write {
                path: self.path.clone(),
                source: io::Error::new(kind, msg),
            }),
            None => Ok(()),
        }
    }

    /// Keeps the error for the caller and cuts off the partial line a failed write may
    /// have left, so the file still ends on a line boundary. Only bytes this writer just
    /// failed to write completely are removed.
    fn fail(&mut self, e: io::Error) {
        self.shared.fail(&e);
        self.pending = Vec::new();
        if self.file.metadata().map(|m| m.len()).unwrap_or(0) > self.written_len {
            let _ = self.file.set_len(self.written_len);
        }
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::RecorderStopped {
            path: PathBuf::new(),
            reason: format!("a blocking task failed: {e}"),
        })?
}

/// Creates the folders (0700) and a new rollout (0600, append-only, locked).
///
/// The rollout is locked from the instant its name appears: an archive run with a tiny
/// `--older-than` would otherwise find a new, empty, not yet locked file and compress it
/// under the recorder. So the file is made and locked under a temp name, then hard-linked
/// into place (which, like `create_new`, fails when the name exists), and the temp name is
/// dropped. A crash in between leaves an empty temp, or a second name of the rollout, which
/// the next archive run removes.
fn create_rollout_file(path: &Path) -> Result<File> {
    create_rollout_file_with(path, &mut |_| {})
}

/// [`create_rollout_file`], calling `on_visible` once the rollout's name exists (tests check
/// that the file is locked by then).
fn create_rollout_file_with(path: &Path, on_visible: &mut dyn FnMut(&Path)) -> Result<File> {
    let dir = path.parent().unwrap_or(Path::new("."));
    layout::create_private_dir(dir)?;
    let (tmp, file) = layout::create_temp(dir, layout::CREATE_TEMP)?;
    let placed = lock(&file, &tmp)
        .and_then(|()| fs::hard_link(&tmp, path).map_err(|e| Error::io(path, "creating", e)));
    if placed.is_ok() {
        on_visible(path);
    }
    let _ = fs::remove_file(&tmp);
    placed?;
    Ok(file)
}

fn lock(file: &File, path: &Path) -> Result<()> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(fs::TryLockError::WouldBlock) => Err(Error::Locked {
            path: path.to_path_buf(),
        }),
        Err(fs::TryLockError::Error(e)) => Err(Error::io(path, "locking", e)),
    }
}

/// Opens the plain rollout for appending, locked, and reads its history. Retries when an
/// archive run swapped the file between our open and our lock.
fn open_for_resume(path: &Path) -> Result<(PathBuf, File, u64, SessionFile)> {
    // Appending to anything but a rollout would damage a file that is not ours.
    if !path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(layout::is_rollout_name)
    {
        return Err(Error::BadArgument(format!(
            "{}: not a rollout file name (rollout-*.jsonl or rollout-*.jsonl.zst)",
            path.display()
        )));
    }
    for _ in 0..5 {
        let plain = if layout::is_compressed(path) {
            restore_plain(path)?
        } else {
            path.to_path_buf()
        };
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&plain)
            .map_err(|e| Error::io(&plain, "opening for append", e))?;
        lock(&file, &plain)?;
        // Still the file at that path? (An archive run may have replaced it meanwhile.)
        let same = match (file.metadata(), fs::metadata(&plain)) {
            (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
            _ => false,
        };
        if !same {
            continue;
        }
        let history = reader::read_session(&plain)?;
        let mut len = file
            .metadata()
            .map_err(|e| Error::io(&plain, "reading metadata", e))?
            .len();
        if len > 0
            && !ends_with_newline(&mut file, len).map_err(|e| Error::io(&plain, "reading", e))?
        {
            file.write_all(b"\n")
                .and_then(|_| file.sync_data())
                .map_err(|e| Error::io(&plain, "appending", e))?;
            len += 1;
        }
        return Ok((plain, file, len, history));
    }
    Err(Error::Locked {
        path: path.to_path_buf(),
    })
}

fn ends_with_newline(file: &mut File, len: u64) -> io::Result<bool> {
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

/// Restores `X.jsonl` from `X.jsonl.zst` and returns the plain path.
///
/// Never loses a byte at any instant: the stream is decompressed into a temp file in the
/// same folder (0600), synced, hard-linked into place (which never overwrites), the folder
/// synced; only then is the `.zst` removed. When `X.jsonl` already exists it is
/// authoritative and is returned untouched.
pub fn restore_plain(zst: &Path) -> Result<PathBuf> {
    let plain = layout::plain_path(zst);
    if plain.exists() {
        return Ok(plain);
    }
    let dir = zst.parent().unwrap_or(Path::new("."));
    let mut src = reader::open_stream(zst)?;
    let (tmp, mut out) = layout::create_temp(dir, layout::RESTORE_TEMP)?;
    let result = (|| -> Result<bool> {
        io::copy(&mut src, &mut out).map_err(|e| Error::io(zst, "decompressing", e))?;
        if let Ok(m) = fs::metadata(zst).and_then(|m| m.modified()) {
            let _ = out.set_modified(m);
        }
        out.sync_all().map_err(|e| Error::io(&tmp, "syncing", e))?;
        match fs::hard_link(&tmp, &plain) {
            Ok(()) => Ok(true),
            // Restored meanwhile by someone else: theirs is authoritative.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(Error::io(&plain, "linking restored file", e)),
        }
    })();
    let _ = fs::remove_file(&tmp);
    let linked = result?;
    sync_dir(dir)?;
    if linked {
        fs::remove_file(zst).map_err(|e| Error::io(zst, "removing after restore", e))?;
        sync_dir(dir)?;
    }
    Ok(plain)
}

/// Makes a folder's entries (creations, renames, removals) durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, "syncing folder", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ResponseItem, RolloutItem};
    use serde_json::json;
    use std::os::unix::fs::PermissionsExt;

    fn info(cwd: &Path) -> SessionInfo {
        SessionInfo {
            cwd: cwd.to_path_buf(),
            originator: "test".into(),
            cli_version: "0".into(),
            source: "cli".into(),
            model_provider: None,
            instructions: Some("be careful".into()),
            forked_from_id: None,
        }
    }

    fn opts() -> RecorderOptions {
        RecorderOptions {
            local_offset: Some(UtcOffset::UTC),
            collect_git: false,
            ..Default::default()
        }
    }

    fn msg(text: &str) -> serde_json::Value {
        json!({"type":"message","role":"user","content":[{"type":"input_text","text":text}]})
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn records_meta_then_items_in_order_with_private_permissions() -> Result<()> {
        let home = tempfile::tempdir().map_err(|e| Error::io("tmp", "tmp", e))?;
        let id = Uuid::now_v7();
        let rec = Recorder::create(home.path(), id, info(home.path()), opts()).await?;
        for i in 0..500 {
            rec.record_items(&[msg(&format!("m{i}"))]).await?;
        }
        rec.record_events(&[json!({"type":"agent_message","message":"done"})])
            .await?;
        let path = rec.path().to_path_buf();
        rec.shutdown().await?;

        let s = reader::read_session(&path)?;
        assert!(s.malformed.is_empty() && s.pending.is_none());
        assert_eq!(s.records.len(), 502);
        assert_eq!(s.meta.as_ref().and_then(|m| m.uuid()), Some(id));
        assert_eq!(
            s.meta
                .as_ref()
                .and_then(|m| m.instructions.clone())
                .as_deref(),
            Some("be careful")
        );
        for (i, r) in s.records[1..501].iter().enumerate() {
            let RolloutItem::ResponseItem(item) = &r.line.item else {
                panic!("line {} is not an item", r.number)
            };
            assert_eq!(item.message_text(), format!("m{i}"));
            assert_eq!(r.line.shape, Shape::Envelope);
        }
        let mode = |p: &Path| fs::metadata(p).map(|m| m.permissions().mode() & 0o777).ok();
        assert_eq!(mode(&path), Some(0o600));
        assert_eq!(mode(path.parent().expect("dir")), Some(0o700));
        assert_eq!(mode(&home.path().join("sessions")), Some(0o700));
        Ok(())
    }

    #[test]
    fn a_new_rollout_is_locked_from_the_instant_its_name_appears() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("d/rollout-2025-01-01T00-00-00-x.jsonl");
        let mut seen = 0;
        // What an archive run with `--older-than 0` would do the moment the name shows up.
        let file = create_rollout_file_with(&path, &mut |p| {
            seen += 1;
            let f = File::open(p).expect("the name exists");
            assert!(
                matches!(f.try_lock_shared(), Err(fs::TryLockError::WouldBlock)),
                "visible but not locked"
            );
        })
        .expect("created");
        assert_eq!(seen, 1);
        let mode = fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        drop(file);
        // An existing name is refused like `create_new`, and no temp name is left either way.
        let err = create_rollout_file(&path).expect_err("exists");
        assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
        let names: Vec<_> = fs::read_dir(path.parent().expect("dir"))
            .expect("ls")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, vec![path.file_name().expect("name").to_owned()]);
    }

    #[tokio::test]
    async fn dropping_without_shutdown_still_writes_everything() -> Result<()> {
        let home = tempfile::tempdir().map_err(|e| Error::io("tmp", "tmp", e))?;
        let path;
        {
            let rec =
                Recorder::create(home.path(), Uuid::new_v4(), info(home.path()), opts()).await?;
            rec.record_items(&[msg("a"), msg("b")]).await?;
            path = rec.path().to_path_buf();
        }
        // The writer drains on the blocking pool; wait for it by taking the lock (off the
        // runtime's only thread, which the writer may still need).
        let f = File::open(&path).map_err(|e| Error::io(&path, "open", e))?;
        tokio::task::spawn_blocking(move || f.lock())
            .await
            .map_err(|e| Error::BadArgument(e.to_string()))?
            .map_err(|e| Error::io(&path, "lock", e))?;
        assert_eq!(reader::read_session(&path)?.records.len(), 3);
        Ok(())
    }

    #[tokio::test]
    async fn a_live_session_is_locked_against_a_second_writer() -> Result<()> {
        let home = tempfile::tempdir().map_err(|e| Error::io("tmp", "tmp", e))?;
        let rec = Recorder::create(home.path(), Uuid::new_v4(), info(home.path()), opts()).await?;
        rec.flush().await?;
        let err = Recorder::resume(rec.path(), opts())
            .await
            .expect_err("locked");
        assert!(matches!(err, Error::Locked { .. }), "{err}");
        rec.shutdown().await?;
        Ok(())
    }

    #[tokio::test]
    async fn bad_payloads_are_refused_without_stopping_the_recorder() -> Result<()> {
        let home = tempfile::tempdir().map_err(|e| Error::io("tmp", "tmp", e))?;
        let rec = Recorder::create(home.path(), Uuid::new_v4(), info(home.path()), opts()).await?;
        assert!(rec.record_items(&[json!("a string")]).await.is_err());
        let pretty = RawValue::from_string("{\n\"type\":\"x\",\"payload\":{}}".into())
            .map_err(|e| Error::BadArgument(e.to_string()))?;
        assert!(rec.record_envelope_lines(&[&pretty]).await.is_err());
        rec.record_items(&[msg("fine")]).await?;
        let path = rec.path().to_path_buf();
        rec.shutdown().await?;
        assert_eq!(reader::read_session(&path)?.records.len(), 2);
        Ok(())
    }

    #[tokio::test]
    async fn create_in_a_home_that_is_a_file_fails_with_the_path() {
        let dir = tempfile::tempdir().expect("tmp");
        let home = dir.path().join("home");
        fs::write(&home, b"not a folder").expect("write");
        let err = Recorder::create(&home, Uuid::new_v4(), info(dir.path()), opts())
            .await
            .expect_err("must fail");
        assert!(err.to_string().contains("home"), "{err}");
    }

    #[tokio::test]
    async fn resume_restores_zst_and_appends_after_a_torn_line() -> Result<()> {
        let home = tempfile::tempdir().map_err(|e| Error::io("tmp", "tmp", e))?;
        let id = Uuid::new_v4();
        let plain = layout::new_rollout_path(home.path(), OffsetDateTime::now_utc(), id);
        fs::create_dir_all(plain.parent().expect("dir")).map_err(|e| Error::io("d", "d", e))?;
        // A legacy file whose last line was torn by a crash.
        let legacy = format!(
            "{{\"id\":\"{id}\",\"timestamp\":\"2025-05-07T17:24:21.123Z\",\"instructions\":null}}\n{{\"type\":\"message\",\"role\":\"user\",\"content\":[{{\"type\":\"input_text\",\"text\":\"old\"}}]}}\n{{\"type\":\"mess"
        );
        let zst = layout::zst_path(&plain);
        fs::write(
            &zst,
            zstd::encode_all(legacy.as_bytes(), 3).map_err(|e| Error::io("z", "z", e))?,
        )
        .map_err(|e| Error::io("z", "z", e))?;

        let (rec, history) = Recorder::resume(&zst, opts()).await?;
        assert_eq!(rec.path(), plain);
        assert_eq!(rec.id(), id);
        assert_eq!(history.records.len(), 2);
        assert!(history.pending.is_some());
        assert!(
            !zst.exists(),
            "the .zst goes once the plain file is durable"
        );
        rec.record_items(&[msg("new")]).await?;
        rec.shutdown().await?;

        let bytes = fs::read(&plain).map_err(|e| Error::io(&plain, "read", e))?;
        assert!(
            bytes.starts_with(legacy.as_bytes()),
            "old bytes are kept as they were"
        );
        let s = reader::read_session(&plain)?;
        assert_eq!(s.malformed.len(), 1, "the torn line stays, reported");
        let last = s.records.last().map(|r| &r.line.item);
        assert!(
            matches!(last, Some(RolloutItem::ResponseItem(item @ ResponseItem::Message { .. })) if item.message_text() == "new")
        );
        Ok(())
    }
}

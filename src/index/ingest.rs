//! Bringing the index up to date with the rollouts on disk, incrementally.
//!
//! The unit of work is a **session**: every file on disk whose name carries the session's
//! uuid (a plain file, its `.zst` twin, a copy in `archived_sessions/`) and every row the
//! index holds for it. For each session:
//! - nothing changed (same paths, sizes and mtimes): no file is opened, nothing is written;
//! - one file is the session's **primary**: plain over `.zst` (the plain one is the live,
//!   authoritative copy), then the one the index already follows, then the biggest. The
//!   others are recorded (so they are not looked at again) but never read;
//! - the primary grew: it is read from the byte offset indexed last time, and a torn last
//!   line is left for next time;
//! - the primary moved, was compressed, archived or restored: the index follows it without
//!   re-reading items (a moved plain file of the indexed size is not opened at all; a `.zst`
//!   is decompressed up to that offset to check for lines written before compression);
//! - the primary shrank or does not reach the indexed offset: its items are rebuilt;
//! - no file is left: the session and its items are removed.
//!
//! Work is committed in batches, one transaction each, with the files' offsets in the same
//! transaction as their items: a crash leaves a consistent index and the next run carries
//! on where the last commit left off. A lock file keeps two indexers from interleaving.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Index;
use super::feed::{self, Fed, Job, Opened, Plan};
use super::scan::Found;
use super::summary::{LastReply, SessionFacts};
use crate::cost::{Band, Bucket, Spent, Tokens};
use crate::error::{Error, LineError, Result};
use crate::layout;
use crate::model::{RolloutItem, SessionMeta};
use crate::reader::{Entry, MetaResolver, read_head_meta};
use crate::repo_url::{redact_urls, repo_key, strip_credentials};

/// Commit after this many sessions that needed writing...
///
/// Each commit flushes the full-text index's pending segment and syncs the WAL; at 100,000
/// small sessions, 2,000 a commit instead of 500 took indexing from 28.5-32.9 s to
/// 25.0-27.0 s (with [`FTS_TEXT`] at 2 MiB).
const BATCH_SESSIONS: usize = 2000;
/// ...or after reading this many bytes, whichever comes first.
const BATCH_BYTES: u64 = 256 * 1024 * 1024;
/// Sessions planned at a time: their groups, plans and reads are what a refresh holds
/// beyond the walk's paths. One batch: a chunk's end is a commit anyway.
const CHUNK_SESSIONS: usize = BATCH_SESSIONS;
/// Full-text rows are written after this many bytes of item text (and at the end of a
/// batch): one FTS5 segment each. Fewer, larger segments cost less merging (merging was
/// 30% of the writer's instructions at 20,000 sessions with 1 MiB); smaller ones keep the
/// writer's work spread over the read instead of piled up at its end, where the reading
/// thread has nothing left to overlap it with, and FTS5's pending terms in less memory.
const FTS_TEXT: usize = 2 << 20;
/// Malformed lines kept in full in a report; the rest are counted.
const MALFORMED_KEPT: usize = 200;

/// What a refresh should do.
#[derive(Debug, Clone, Copy, Default)]
pub struct RefreshOptions {
    /// Forget everything and index every file from scratch.
    pub full: bool,
    /// List every folder and examine every file, instead of only what can have changed
    /// (see [`super::scan`]): catches a `.zst` rewritten in place.
    pub complete: bool,
    /// Read and parse the rollouts on the writer's thread instead of one of their own
    /// (the index is the same; for comparing the two and for debugging).
    pub single_thread: bool,
}

/// How far a refresh has got, for a progress display.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    /// Sessions that needed work, done so far.
    pub done: u64,
    /// Sessions that need work in this run.
    pub total: u64,
}

/// What a refresh did.
#[derive(Debug, Default)]
pub struct RefreshReport {
    /// Rollout files found on disk.
    pub files_scanned: u64,
    /// Files opened and read (new, grown, moved `.zst`).
    pub files_opened: u64,
    /// Files whose index rows changed (read, moved, compressed, archived).
    pub files_indexed: u64,
    /// Index rows of files no longer on disk, removed.
    pub files_removed: u64,
    /// Sessions whose last file disappeared, removed from the index.
    pub sessions_removed: u64,
    /// Sessions in the index after the run.
    pub sessions: u64,
    /// Searchable items added.
    pub items_indexed: u64,
    /// Malformed lines met (each also counted in its session's `errors`).
    pub malformed_lines: u64,
    /// The first malformed lines, with path and line number.
    pub malformed: Vec<LineError>,
    /// Files or folders that could not be read; indexing went on without them.
    pub errors: Vec<Error>,
    /// Every rollout remembered as unreadable after the run: those first met in this run
    /// (also in `errors`) and those met before and unchanged since, which were not read
    /// again.
    pub unreadable: Vec<Unreadable>,
    /// Lines of the names file (`session_index.jsonl`) read in this run.
    pub name_lines: u64,
    /// Wall time of the run.
    pub seconds: f64,
}

impl RefreshReport {
    /// Every problem met: unreadable files and folders plus malformed lines.
    pub fn error_count(&self) -> u64 {
        self.errors.len() as u64 + self.earlier_unreadable().count() as u64 + self.malformed_lines
    }

    /// The files that could not be read in an earlier run and have not changed since: not
    /// read again, and not in `errors`.
    pub fn earlier_unreadable(&self) -> impl Iterator<Item = &Unreadable> {
        self.unreadable.iter().filter(|u| !u.new)
    }
}

/// A rollout that could not be read, remembered with its size and mtime so that it is not
/// read (nor reported) again until it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// The file.
    pub path: PathBuf,
    /// What went wrong, as first reported.
    pub error: String,
    /// First met in this run (and reported in its `errors`).
    pub new: bool,
}

/// A `failures` row: a file that could not be read, as it was then.
#[derive(Debug, Clone)]
struct Failure {
    size: i64,
    mtime_ns: i64,
    error: String,
    seen_ms: i64,
}

/// The `failures` table, by path.
type Failures = HashMap<String, Failure>;

/// Whether a file found on disk is, size and mtime, the one that failed before.
fn still_failing(failures: &Failures, path: &str, size: i64, mtime_ns: i64) -> bool {
    failures
        .get(path)
        .is_some_and(|f| f.size == size && f.mtime_ns == mtime_ns)
}

/// A session id as a refresh sorts files by it: a uuid (most) in 16 bytes, else its text.
/// A home of 100,000 sessions holds one per file while it is indexed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum SessionId {
    Uuid([u8; 16]),
    Text(Box<str>),
}

impl SessionId {
    fn new(id: String) -> SessionId {
        if let Ok(u) = uuid::Uuid::try_parse(&id) {
            let mut buf = uuid::Uuid::encode_buffer();
            // Only a uuid written as the index writes it comes back the same.
            if u.hyphenated().encode_lower(&mut buf) == id.as_str() {
                return SessionId::Uuid(u.into_bytes());
            }
        }
        SessionId::Text(id.into_boxed_str())
    }

    fn into_string(self) -> String {
        match self {
            SessionId::Uuid(b) => uuid::Uuid::from_bytes(b).hyphenated().to_string(),
            SessionId::Text(t) => t.into_string(),
        }
    }
}

impl Default for SessionId {
    fn default() -> SessionId {
        SessionId::Text(Box::default())
    }
}

/// A rollout file as found on disk.
#[derive(Debug, Clone, Default)]
struct DiskFile {
    /// Its session's id (until its group takes it).
    id: SessionId,
    /// Its path (UTF-8: other paths are not indexed).
    key: String,
    size: i64,
    mtime_ns: i64,
    compressed: bool,
}

impl DiskFile {
    fn path(&self) -> &Path {
        Path::new(&self.key)
    }
}

/// A `files` row.
#[derive(Debug, Clone)]
struct FileRow {
    path: String,
    size: i64,
    mtime_ns: i64,
    indexed_offset: i64,
    indexed_lines: i64,
    /// Of a document rewritten whole (see [`whole_document_plan`]).
    content_hash: Option<String>,
}

/// Everything known about one session id, on disk and in the index.
#[derive(Debug, Default)]
struct Group {
    disk: Vec<DiskFile>,
    rows: Vec<FileRow>,
    /// `(key, path)` of its `sessions` row.
    session: Option<(i64, String)>,
    /// The content hash of its primary file taken this run, when that is a document
    /// rewritten whole.
    content_hash: Option<String>,
}

impl Group {
    fn row(&self, path: &str) -> Option<&FileRow> {
        self.rows.iter().find(|r| r.path == path)
    }

    /// The file to index: plain over `.zst`, then the one followed so far, then the
    /// biggest, then the first by path.
    fn primary(&self) -> Option<&DiskFile> {
        let current = self.session.as_ref().map(|(_, p)| p.as_str());
        let rank = |f: &DiskFile| {
            (
                f.compressed,
                Some(f.key.as_str()) != current,
                std::cmp::Reverse(f.size),
            )
        };
        self.disk
            .iter()
            .min_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.key.cmp(&b.key)))
    }

    fn unchanged(&self) -> bool {
        let Some((_, current)) = &self.session else {
            return false;
        };
        self.disk.len() == self.rows.len()
            && self.primary().is_some_and(|p| &p.key == current)
            && self.disk.iter().all(|f| {
                self.row(&f.key)
                    .is_some_and(|r| r.size == f.size && r.mtime_ns == f.mtime_ns)
            })
    }
}

/// Brings the index at `index` up to date with the sessions under `roots`: each agent with
/// its root folder (Codex's home first; its names file is read too).
///
/// `progress` is called as sessions are done, for a progress display; the library prints
/// nothing itself.
pub fn refresh(
    index: &mut Index,
    roots: &[(crate::agents::Agent, PathBuf)],
    opts: RefreshOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<RefreshReport> {
    let started = Instant::now();
    let db_path = index.path().to_path_buf();
    let db_path = db_path.as_path();
    let _lock = lock_indexer(db_path)?;
    let conn = index.writer();
    let db = |action| move |e| Error::db(db_path, action, e);
    if opts.full {
        conn.execute_batch(
            "BEGIN IMMEDIATE;
             INSERT INTO items_fts(items_fts) VALUES('delete-all');
             DELETE FROM items; DELETE FROM files; DELETE FROM sessions;
             DELETE FROM names; DELETE FROM name_files; DELETE FROM dirs;
             DELETE FROM failures;
             COMMIT;
             VACUUM;",
        )
        .map_err(db("clearing the index"))?;
    }
    let mut report = RefreshReport::default();
    if let Some((_, home)) = roots
        .iter()
        .find(|(a, _)| *a == crate::agents::Agent::Codex)
    {
        // rolldex's own names file sits in its data folder, the index's.
        let data = db_path.parent().unwrap_or(home);
        let files = crate::names::names_files(home, data);
        sync_names(conn, db_path, &files, opts.full, &mut report)?;
    }
    let failures = load_failures(conn, db_path)?;
    let known = if opts.full || opts.complete {
        None
    } else {
        Some(load_known(conn, db_path, &failures)?)
    };
    let super::scan::Scan {
        files,
        dirs,
        errors: walk_errors,
        listed,
        differs,
        ..
    } = super::scan::scan(roots, known.as_ref());
    // Rows under a folder that could not be listed are not "deleted files".
    let unlisted: Vec<PathBuf> = walk_errors
        .iter()
        .filter_map(|e| match e {
            Error::Io { path, .. } => Some(path.clone()),
            _ => None,
        })
        .collect();
    report.errors.extend(walk_errors);
    report.files_scanned = files.len() as u64;

    let indexed = match known.as_ref() {
        Some(known) => IndexedFiles::Known(known),
        None => IndexedFiles::Read(read_file_rows(conn, db_path)?),
    };
    let quick = !opts.full
        && report.errors.is_empty()
        && unchanged_by_walk(&files, known.as_ref(), listed, differs);
    let rows = if quick {
        HashMap::new()
    } else {
        indexed.sizes()
    };
    if quick
        || (!opts.full && report.errors.is_empty() && nothing_changed(&files, &rows, &failures))
    {
        // The common case, answered from one table: every file is where it was, as it was
        // (the unreadable ones too). Nothing is written.
        save_dirs(
            conn,
            db_path,
            &dirs,
            known.as_ref(),
            &report.errors,
            &HashSet::new(),
        )?;
        report.unreadable = failures
            .into_iter()
            .map(|(path, f)| Unreadable {
                path: PathBuf::from(path),
                error: f.error,
                new: false,
            })
            .collect();
        report.unreadable.sort_by(|a, b| a.path.cmp(&b.path));
        return finish(conn, db_path, report, started);
    }
    // Rows whose session is gone (`ON DELETE SET NULL`) are not "indexed files": their
    // files are indexed anew. The walk's picture of the table had them, so it is read again.
    let orphans = conn
        .execute("DELETE FROM files WHERE session_key IS NULL", [])
        .map_err(db("reading the index"))?;
    let reread;
    let rows = if orphans > 0 {
        reread = IndexedFiles::Read(read_file_rows(conn, db_path)?);
        reread.sizes()
    } else {
        rows
    };
    let mut failing = Failing {
        known: &failures,
        kept: HashSet::new(),
        new: Vec::new(),
    };
    let changes = find_changes(
        conn,
        db_path,
        files,
        &rows,
        &unlisted,
        &mut report,
        &mut failing,
    )?;
    drop(rows);
    let Changes {
        mut disk,
        groups: order,
        removed,
        skip: skip_ids,
    } = changes;

    // A chunk of sessions at a time, oldest first by file name (which starts with the local
    // start time), so item rowids follow time and "newest first" search can walk rowids
    // backwards. Only a chunk's groups, plans and reads are in memory at once: indexing a
    // home from nothing takes memory for the walk's paths, not for every session's work.
    let total = (removed.len() + order.len()) as u64;
    let mut done = 0u64;
    let mut next = 0usize;
    let mut removed = removed.into_iter().peekable();
    while removed.peek().is_some() || next < order.len() {
        let mut groups: Vec<(String, Group)> = Vec::with_capacity(CHUNK_SESSIONS);
        for id in removed.by_ref().take(CHUNK_SESSIONS) {
            if skip_ids.contains(&id) {
                done += 1;
                continue;
            }
            groups.push((id.into_string(), Group::default()));
        }
        while groups.len() < CHUNK_SESSIONS && next < order.len() {
            let g = &order[next];
            next += 1;
            let files = &mut disk[g.start..g.start + g.len];
            let id = std::mem::take(&mut files[0].id);
            if skip_ids.contains(&id) {
                done += 1;
                continue;
            }
            let group = Group {
                disk: files.iter_mut().map(std::mem::take).collect(),
                ..Group::default()
            };
            groups.push((id.into_string(), group));
        }
        let chunk = groups.len() as u64;
        let mut work: Vec<(String, Group, Plan)> = Vec::with_capacity(groups.len());
        for (id, mut g) in groups {
            load_indexed(conn, db_path, &id, &mut g)?;
            // A file that could not be read before, unchanged since: not read again.
            if let Some(p) = g.primary()
                && still_failing(&failures, &p.key, p.size, p.mtime_ns)
            {
                failing.kept.insert(p.key.clone());
                continue;
            }
            // A file row under an unlisted folder means we do not know the session's full
            // picture: leave it as it is (as a session with a file that could not be
            // examined was left above).
            if g.rows.iter().any(|r| {
                unlisted
                    .iter()
                    .any(|dir| Path::new(&r.path).starts_with(dir))
            }) || g.unchanged()
            {
                continue;
            }
            let plan = plan_for(&mut g, opts.full);
            work.push((id, g, plan));
        }
        done += chunk - work.len() as u64;
        let jobs = work
            .iter()
            .map(|(_, g, plan)| match g.primary() {
                Some(f) => Job {
                    path: f.path().to_path_buf(),
                    compressed: f.compressed,
                    plan: *plan,
                },
                None => Job {
                    path: PathBuf::new(),
                    compressed: false,
                    plan: Plan::Keep,
                },
            })
            .collect();
        feed::run(jobs, opts.single_thread, |feed| -> Result<()> {
            let mut iter = work.into_iter().peekable();
            while iter.peek().is_some() {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(db("starting a transaction"))?;
                // Until the commit: a new session's items come before its row (see
                // `sync_session`). Reset by every commit.
                tx.execute_batch("PRAGMA defer_foreign_keys = ON")
                    .map_err(db("starting a transaction"))?;
                let mut batch = Batch {
                    tx: &tx,
                    db_path,
                    feed: &mut *feed,
                    report: &mut report,
                    failed: &mut failing.new,
                    first_rowid: None,
                    text_pending: 0,
                };
                let (mut sessions, mut bytes) = (0, 0);
                for (id, group, plan) in iter.by_ref() {
                    bytes += batch.sync_session(&id, group, plan, opts.full)?;
                    sessions += 1;
                    done += 1;
                    if sessions >= BATCH_SESSIONS || bytes >= BATCH_BYTES {
                        break;
                    }
                }
                batch.index_text().map_err(db("indexing the text"))?;
                tx.commit().map_err(db("committing"))?;
                progress(Progress { done, total });
            }
            Ok(())
        })?;
    }
    if opts.full && report.items_indexed > 0 {
        // A rebuild leaves a segment per megabyte of text; merged into one, ranked search
        // reads less (real-shaped corpus: `--rank` 10.2 -> 7.3 ms) for ~60 ms per 7 MB of
        // text. Only on the rebuild a person asked for: the first index of a home is built
        // by their first query, which should not wait for it (a fifth of the build time);
        // FTS5's automerge keeps the segments in check meanwhile.
        conn.execute("INSERT INTO items_fts(items_fts) VALUES('optimize')", [])
            .map_err(db("merging the full-text index"))?;
    }
    if total > 0 {
        // Keeps the planner's statistics current as the index grows; cheap when they are.
        conn.execute_batch("PRAGMA optimize")
            .map_err(db("optimizing"))?;
    }
    if total > 0 {
        recover_folders(conn, db_path)?;
    }
    save_failures(conn, db_path, &failing, &mut report)?;
    // Last, once every batch is committed: a crash before this lists the folders again.
    // A file remembered as unreadable is examined by every walk: its folder need not be.
    let remembered: HashSet<&Path> = failing.new.iter().map(|f| Path::new(&f.path)).collect();
    save_dirs(
        conn,
        db_path,
        &dirs,
        known.as_ref(),
        &report.errors,
        &remembered,
    )?;
    finish(conn, db_path, report, started)
}

/// Gives a folder to the sessions that name theirs only by its SHA-256 (Gemini CLI's
/// project hash), when a folder the index knows hashes to it: a folder another session
/// ran in, or one above it, or the current directory. Never a guess: no match, no folder.
fn recover_folders(conn: &mut Connection, db_path: &Path) -> Result<()> {
    use sha2::{Digest, Sha256};
    let db = |e| Error::db(db_path, "recovering folders", e);
    let unknown: Vec<(i64, String)> = {
        let mut stmt = conn
            .prepare_cached(
                "SELECT key, folder_hash FROM sessions WHERE cwd IS NULL AND folder_hash IS NOT NULL",
            )
            .map_err(db)?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(db)?
            .collect::<rusqlite::Result<_>>()
            .map_err(db)?
    };
    if unknown.is_empty() {
        return Ok(());
    }
    let mut candidates: HashSet<String> = HashSet::new();
    {
        let mut stmt = conn
            .prepare_cached("SELECT DISTINCT cwd FROM sessions WHERE cwd IS NOT NULL")
            .map_err(db)?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(db)?;
        for cwd in rows {
            let cwd = cwd.map_err(db)?;
            for a in Path::new(&cwd).ancestors() {
                if let Some(s) = a.to_str().filter(|s| !s.is_empty()) {
                    candidates.insert(s.to_string());
                }
            }
        }
    }
    if let Some(here) = std::env::current_dir()
        .ok()
        .and_then(|d| d.to_str().map(str::to_string))
    {
        candidates.insert(here);
    }
    let by_hash: HashMap<String, String> = candidates
        .into_iter()
        .map(|c| {
            let hash = Sha256::digest(c.as_bytes());
            let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
            (hex, c)
        })
        .collect();
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)?;
    for (key, hash) in unknown {
        if let Some(folder) = by_hash.get(&hash) {
            tx.execute(
                "UPDATE sessions SET cwd = ?2 WHERE key = ?1",
                params![key, folder],
            )
            .map_err(db)?;
        }
    }
    tx.commit().map_err(db)
}

/// What a slow refresh learns of unreadable files.
struct Failing<'a> {
    /// The `failures` table as it was.
    known: &'a Failures,
    /// Paths of known failures found again unchanged (not read).
    kept: HashSet<String>,
    /// Files that failed in this run.
    new: Vec<NewFailure>,
}

/// A file that failed in this run, as it was.
struct NewFailure {
    path: String,
    size: i64,
    mtime_ns: i64,
    /// What went wrong, without the path (the row's key).
    error: String,
}

impl DiskFile {
    /// This file, as one that `error` kept from being read.
    fn failure(&self, error: &str) -> NewFailure {
        let error = error
            .strip_prefix(self.key.as_str())
            .and_then(|e| e.strip_prefix(": "))
            .unwrap_or(error);
        NewFailure {
            path: self.key.clone(),
            size: self.size,
            mtime_ns: self.mtime_ns,
            error: error.to_string(),
        }
    }
}

/// Reads the `failures` table.
fn load_failures(conn: &Connection, db_path: &Path) -> Result<Failures> {
    let db = |e| Error::db(db_path, "reading the index", e);
    let mut stmt = conn
        .prepare_cached("SELECT path, size, mtime_ns, error, seen_ms FROM failures")
        .map_err(db)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Failure {
                    size: r.get(1)?,
                    mtime_ns: r.get(2)?,
                    error: r.get(3)?,
                    seen_ms: r.get(4)?,
                },
            ))
        })
        .map_err(db)?;
    rows.collect::<rusqlite::Result<Failures>>().map_err(db)
}

/// Brings the `failures` table to what this run found: the known failures found again
/// unchanged, plus the new ones. A failure whose file changed and was read, or is gone, is
/// dropped, so the file is read (and reported) anew. Writes only when something differs.
fn save_failures(
    conn: &mut Connection,
    db_path: &Path,
    failing: &Failing<'_>,
    report: &mut RefreshReport,
) -> Result<()> {
    let now = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    let mut after: BTreeMap<&str, Failure> = failing
        .known
        .iter()
        .filter(|(p, _)| failing.kept.contains(p.as_str()))
        .map(|(p, f)| (p.as_str(), f.clone()))
        .collect();
    let mut fresh: HashSet<&str> = HashSet::new();
    for f in &failing.new {
        fresh.insert(f.path.as_str());
        after.insert(
            &f.path,
            Failure {
                size: f.size,
                mtime_ns: f.mtime_ns,
                error: f.error.clone(),
                seen_ms: now as i64,
            },
        );
    }
    report.unreadable = after
        .iter()
        .map(|(p, f)| Unreadable {
            path: PathBuf::from(p),
            error: f.error.clone(),
            new: fresh.contains(p),
        })
        .collect();
    if failing.new.is_empty() && after.len() == failing.known.len() {
        return Ok(());
    }
    let db = |e| Error::db(db_path, "recording unreadable files", e);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)?;
    tx.execute("DELETE FROM failures", []).map_err(db)?;
    {
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO failures(path, size, mtime_ns, error, seen_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(db)?;
        for (p, f) in &after {
            insert
                .execute(params![p, f.size, f.mtime_ns, f.error, f.seen_ms])
                .map_err(db)?;
        }
    }
    tx.commit().map_err(db)
}

fn finish(
    conn: &Connection,
    db_path: &Path,
    mut report: RefreshReport,
    started: Instant,
) -> Result<RefreshReport> {
    report.sessions = conn
        .query_row("SELECT count(*) FROM sessions", [], |r| r.get::<_, i64>(0))
        .map_err(|e| Error::db(db_path, "counting sessions", e))? as u64;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// What the fast walk alone says: no folder changed (none was listed), every file it took
/// from the index is as the index had it, and it found every one. Then nothing changed,
/// and no path needs hashing or comparing.
fn unchanged_by_walk(
    files: &[Found],
    known: Option<&super::scan::Known>,
    listed: u64,
    differs: usize,
) -> bool {
    known.is_some_and(|k| {
        listed == 0 && differs == 0 && files.len() == k.files.values().map(Vec::len).sum::<usize>()
    })
}

/// Whether the files on disk are exactly the rows of the `files` table (`rows`: path to
/// size and mtime), with the same sizes and mtimes: then there is nothing to do, and no
/// session needs to be looked at.
fn nothing_changed(files: &[Found], rows: &HashMap<&str, (i64, i64)>, failures: &Failures) -> bool {
    // Every file found is as its row says, or is a known failure as it was then; and every
    // row's file is still there.
    let mut rows_found = 0;
    for (path, meta) in files {
        let (Some(p), Ok(found)) = (path.to_str(), meta) else {
            return false;
        };
        let row = rows.get(p);
        if row == Some(found) {
            rows_found += 1;
        } else if still_failing(failures, p, found.0, found.1) {
            rows_found += usize::from(row.is_some());
        } else {
            return false;
        }
    }
    rows_found == rows.len()
}

/// The `files` table as a refresh compares it with the disk: from the walk's picture of
/// it, or read for the occasion.
enum IndexedFiles<'k> {
    Known(&'k super::scan::Known),
    /// Path, size, mtime.
    Read(Vec<(String, i64, i64)>),
}

impl IndexedFiles<'_> {
    /// Path to size and mtime, of the rows (not of the known failures the walk added).
    fn sizes(&self) -> HashMap<&str, (i64, i64)> {
        match self {
            IndexedFiles::Known(known) => known
                .files
                .values()
                .flatten()
                .filter(|(p, ..)| known.failure_only.is_empty() || !known.failure_only.contains(p))
                .map(|(p, size, mtime, _)| (p.as_str(), (*size, *mtime)))
                .collect(),
            IndexedFiles::Read(rows) => rows
                .iter()
                .map(|(p, s, m)| (p.as_str(), (*s, *m)))
                .collect(),
        }
    }
}

/// Every `files` row's path, size and mtime.
fn read_file_rows(conn: &Connection, db_path: &Path) -> Result<Vec<(String, i64, i64)>> {
    let db = |e| Error::db(db_path, "reading the index", e);
    let mut stmt = conn
        .prepare_cached("SELECT path, size, mtime_ns FROM files")
        .map_err(db)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map_err(db)?;
    rows.collect::<rusqlite::Result<_>>().map_err(db)
}

/// Mirrors the names files (Codex's, then rolldex's own: see
/// [`crate::names::names_files`]) into the `names` table: unchanged (same size and mtime),
/// nothing is read; grown, only the new lines; one shrunk, replaced or gone, every file is
/// read again from the start (a later file's line wins over an earlier one's). One
/// transaction, so names and the offsets read up to always agree.
fn sync_names(
    conn: &mut Connection,
    db_path: &Path,
    files: &[PathBuf],
    full: bool,
    report: &mut RefreshReport,
) -> Result<()> {
    let db = |e| Error::db(db_path, "indexing names", e);
    /// One names file: its key, what the disk says (size, mtime, inode) and where the
    /// index's reading of it ended (offset, lines).
    type Plan = (String, Option<(i64, i64, i64)>, Option<(i64, i64)>);
    let mut plans: Vec<Plan> = Vec::new();
    let mut restart = full;
    let mut changed = false;
    for path in files {
        let Some(key) = path.to_str() else {
            continue;
        };
        let on_disk = match std::fs::metadata(path) {
            Ok(m) => Some((
                m.len() as i64,
                m.mtime() * 1_000_000_000 + m.mtime_nsec(),
                m.ino() as i64,
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                // Unreadable for now: keep the names known so far.
                report
                    .errors
                    .push(Error::io(path, "examining the names file", e));
                return Ok(());
            }
        };
        let row: Option<(i64, i64, i64, i64, i64)> = conn
            .query_row(
                "SELECT ino, size, mtime_ns, indexed_offset, indexed_lines FROM name_files
                 WHERE path = ?1",
                [key],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()
            .map_err(db)?;
        let from = match (on_disk, row) {
            (Some((size, mtime, ino)), Some((i, s, m, offset, lines)))
                if i == ino && s == size && m == mtime =>
            {
                Some((offset, lines))
            }
            (None, None) => None,
            // The same file, appended to: read only what is new.
            (Some((size, _, ino)), Some((i, _, _, offset, lines)))
                if i == ino && size >= offset =>
            {
                changed = true;
                Some((offset, lines))
            }
            (Some(_), None) => {
                changed = true;
                Some((0, 0))
            }
            _ => {
                restart = true;
                None
            }
        };
        plans.push((key.to_string(), on_disk, from));
    }
    if !restart && !changed {
        return Ok(());
    }
    let mut reads = Vec::new();
    for (key, on_disk, from) in &plans {
        let Some(stat) = on_disk else {
            continue;
        };
        let (start, lines) = if restart {
            (0, 0)
        } else {
            from.unwrap_or((0, 0))
        };
        match crate::names::read_from(Path::new(key), start as u64, lines as u64) {
            Ok(read) => reads.push((key, *stat, lines, read)),
            Err(e) => {
                report.errors.push(e);
                return Ok(());
            }
        }
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)?;
    if restart {
        tx.execute_batch("DELETE FROM names; DELETE FROM name_files;")
            .map_err(db)?;
    }
    for (key, (size, mtime, ino), lines_before, read) in reads {
        {
            let mut set = tx
                .prepare_cached(
                    "INSERT INTO names(id, name, name_key, updated_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(id) DO UPDATE SET name = ?2, name_key = ?3, updated_at = ?4",
                )
                .map_err(db)?;
            let mut clear = tx
                .prepare_cached("DELETE FROM names WHERE id = ?1")
                .map_err(db)?;
            for e in &read.entries {
                let name = e.name.trim();
                if name.is_empty() {
                    clear.execute([&e.id]).map_err(db)?;
                } else {
                    set.execute(params![
                        e.id,
                        name,
                        crate::names::name_key(name),
                        e.updated_at
                    ])
                    .map_err(db)?;
                }
            }
        }
        report.name_lines += read.lines.saturating_sub(lines_before as u64);
        report.malformed_lines += read.malformed.len() as u64;
        let room = MALFORMED_KEPT.saturating_sub(report.malformed.len());
        report
            .malformed
            .extend(read.malformed.into_iter().take(room));
        tx.execute(
            "INSERT INTO name_files(path, ino, size, mtime_ns, indexed_offset, indexed_lines)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(path) DO UPDATE SET ino = ?2, size = ?3, mtime_ns = ?4,
                indexed_offset = ?5, indexed_lines = ?6",
            params![key, ino, size, mtime, read.offset as i64, read.lines as i64],
        )
        .map_err(db)?;
    }
    tx.commit().map_err(db)
}

/// What the index knew of the folders and files at the last walk, for the fast walk. Known
/// failures are among the files, to be examined (a `.zst` too): a broken file replaced in
/// place must be seen by the next query.
fn load_known(
    conn: &Connection,
    db_path: &Path,
    failures: &Failures,
) -> Result<super::scan::Known> {
    let db = |e| Error::db(db_path, "reading the index", e);
    let mut known = super::scan::Known::default();
    let mut stmt = conn
        .prepare_cached("SELECT path, mtime_ns FROM dirs")
        .map_err(db)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .map_err(db)?;
    for row in rows {
        let (path, mtime) = row.map_err(db)?;
        known.dirs.insert(path, mtime);
    }
    let mut indexed_failures = HashSet::new();
    let mut stmt = conn
        .prepare_cached("SELECT path, size, mtime_ns, compressed FROM files")
        .map_err(db)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, bool>(3)?,
            ))
        })
        .map_err(db)?;
    // Rows come mostly folder by folder (in the order they were indexed): a run of one
    // folder's rows is gathered before its folder is looked up, not each row hashed.
    let mut run: Option<(String, Vec<super::scan::KnownFile>)> = None;
    for row in rows {
        let (path, size, mtime, compressed) = row.map_err(db)?;
        let dir = Path::new(&path)
            .parent()
            .and_then(|p| p.to_str())
            .unwrap_or_default();
        // (Most homes have no failures: no hashing of every path then.)
        let examine = !failures.is_empty() && failures.contains_key(&path);
        if examine {
            indexed_failures.insert(path.clone());
        }
        if run.as_ref().is_none_or(|(d, _)| d != dir) {
            let dir = dir.to_string();
            if let Some((d, files)) = run.replace((dir, Vec::new())) {
                known.files.entry(d).or_default().extend(files);
            }
        }
        if let Some((_, files)) = run.as_mut() {
            files.push((path, size, mtime, compressed && !examine));
        }
    }
    if let Some((d, files)) = run {
        known.files.entry(d).or_default().extend(files);
    }
    for (path, f) in failures {
        // A path that is not UTF-8 is kept lossily; it cannot be examined by that name.
        if indexed_failures.contains(path) || path.contains(char::REPLACEMENT_CHARACTER) {
            continue;
        }
        known.failure_only.insert(path.clone());
        let dir = Path::new(path)
            .parent()
            .and_then(|p| p.to_str())
            .unwrap_or_default()
            .to_string();
        known
            .files
            .entry(dir)
            .or_default()
            .push((path.clone(), f.size, f.mtime_ns, false));
    }
    Ok(known)
}

/// Records the folders walked with their mtimes, for the next fast walk. A folder where
/// something could not be examined is recorded with an mtime no folder has, so that it is
/// listed again next time (and still known as its parent's subfolder).
fn save_dirs(
    conn: &mut Connection,
    db_path: &Path,
    dirs: &[(PathBuf, i64)],
    known: Option<&super::scan::Known>,
    errors: &[Error],
    remembered: &HashSet<&Path>,
) -> Result<()> {
    let troubled: HashSet<&Path> = errors
        .iter()
        .filter_map(|e| match e {
            Error::Io { path, .. } if !remembered.contains(path.as_path()) => Some(path.as_path()),
            _ => None,
        })
        .flat_map(|p| [Some(p), p.parent()])
        .flatten()
        .collect();
    let keep: Vec<(&str, i64)> = dirs
        .iter()
        .filter_map(|(d, m)| {
            let m = if troubled.contains(d.as_path()) {
                i64::MIN
            } else {
                *m
            };
            d.to_str().map(|s| (s, m))
        })
        .collect();
    if let Some(k) = known
        && k.dirs.len() == keep.len()
        && keep.iter().all(|(d, m)| k.dirs.get(*d) == Some(m))
    {
        return Ok(());
    }
    let db = |e| Error::db(db_path, "recording folders", e);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)?;
    tx.execute("DELETE FROM dirs", []).map_err(db)?;
    {
        let mut insert = tx
            .prepare_cached("INSERT OR REPLACE INTO dirs(path, mtime_ns) VALUES (?1, ?2)")
            .map_err(db)?;
        for (d, m) in keep {
            insert.execute(params![d, m]).map_err(db)?;
        }
    }
    tx.commit().map_err(db)
}

/// See [`Index::record_compressed`].
pub fn record_compressed(
    index: &mut Index,
    plain: &Path,
    zst: &Path,
    checksum: &str,
) -> Result<()> {
    let db_path = index.path().to_path_buf();
    let db = |e| Error::db(&db_path, "recording a compressed file", e);
    let (Some(plain_s), Some(zst_s)) = (plain.to_str(), zst.to_str()) else {
        return Ok(());
    };
    let meta = std::fs::metadata(zst).map_err(|e| Error::io(zst, "examining", e))?;
    let _lock = lock_indexer(&db_path)?;
    let tx = index
        .writer()
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)?;
    let known = tx
        .query_row("SELECT 1 FROM files WHERE path = ?1", [plain_s], |_| Ok(()))
        .optional()
        .map_err(db)?
        .is_some();
    if known {
        // A row for the .zst may exist already, as a twin seen earlier.
        tx.execute("DELETE FROM files WHERE path = ?1", [zst_s])
            .map_err(db)?;
        tx.execute(
            "UPDATE files SET path = ?2, size = ?3, mtime_ns = ?4, compressed = 1, checksum = ?5
             WHERE path = ?1",
            params![
                plain_s,
                zst_s,
                meta.len() as i64,
                meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
                checksum
            ],
        )
        .map_err(db)?;
        tx.execute(
            "UPDATE sessions SET path = ?2, stored_bytes = ?3, compressed = 1 WHERE path = ?1",
            params![plain_s, zst_s, meta.len() as i64],
        )
        .map_err(db)?;
    }
    tx.commit().map_err(db)
}

/// Takes the indexer lock (`<db>.lock`, 0600), waiting for another indexer to finish. A
/// separate file, because closing any descriptor of the database itself would drop
/// SQLite's own POSIX locks.
pub(crate) fn lock_indexer(db_path: &Path) -> Result<File> {
    let mut name = db_path.as_os_str().to_owned();
    name.push(".lock");
    let path = PathBuf::from(name);
    let file = layout::open_lock_file(&path)?;
    file.lock()
        .map_err(|e| Error::io(&path, "taking the indexer lock", e))?;
    Ok(file)
}

/// The files of one session that may need work: a run of [`Changes::disk`].
#[derive(Debug)]
struct GroupFiles {
    start: usize,
    len: usize,
    /// The file whose name places the session in the order of work.
    first: usize,
}

/// What a slow refresh must look at: the sessions with a file that is new, changed or gone,
/// with all their files, and nothing of the others.
#[derive(Debug, Default)]
struct Changes {
    /// Their files on disk, by session id.
    disk: Vec<DiskFile>,
    /// Each session's run of `disk`, oldest first by file name.
    groups: Vec<GroupFiles>,
    /// Sessions with indexed files gone and none on disk.
    removed: Vec<SessionId>,
    /// Sessions with a file that could not be examined: left as they are.
    skip: HashSet<SessionId>,
}

/// Sorts the files found into the sessions that need looking at (see [`Changes`]):
/// those with a file unlike its row (size, mtime) or with no row, and those with a row
/// whose file is gone (unless under a folder that could not be listed). A file that
/// could not be examined keeps its session as it is. `rows` is the `files` table (path to
/// size and mtime). Memory: the paths of the files found, once, and the ids of the
/// sessions that changed.
fn find_changes(
    conn: &Connection,
    db_path: &Path,
    files: Vec<Found>,
    rows: &HashMap<&str, (i64, i64)>,
    unlisted: &[PathBuf],
    report: &mut RefreshReport,
    failing: &mut Failing<'_>,
) -> Result<Changes> {
    let mut changes = Changes::default();
    // Files as their rows have them: their sessions are looked at only when another of
    // their files changed.
    let mut same: Vec<DiskFile> = Vec::new();
    let mut changed_ids: HashSet<SessionId> = HashSet::new();
    let mut on_disk = 0usize;
    // Files that could not be examined: on disk, as far as anyone knows.
    let mut unexamined: Vec<String> = Vec::new();
    if rows.is_empty() {
        // From nothing: every file is new (no room to spare at 100,000 of them).
        changes.disk.reserve_exact(files.len());
    }
    for (path, meta) in files {
        let key = match path.into_os_string().into_string() {
            Ok(key) => key,
            Err(path) => {
                report.errors.push(Error::BadArgument(format!(
                    "{}: path is not UTF-8; not indexed",
                    Path::new(&path).display()
                )));
                continue;
            }
        };
        let (size, mtime_ns) = match meta {
            Ok(m) => m,
            Err(e) => {
                // Vanished since the walk, or unreadable: its rows stay as they are.
                if rows.contains_key(key.as_str()) {
                    on_disk += 1;
                }
                if let Some(id) = id_of(conn, db_path, &key)? {
                    changes.skip.insert(SessionId::new(id));
                }
                report
                    .errors
                    .push(Error::io(Path::new(&key), "examining", e));
                unexamined.push(key);
                continue;
            }
        };
        let mut file = DiskFile {
            id: SessionId::default(),
            compressed: layout::is_compressed(Path::new(&key)),
            size,
            mtime_ns,
            key,
        };
        let row = rows.get(file.key.as_str());
        on_disk += usize::from(row.is_some());
        if row == Some(&(size, mtime_ns)) {
            if still_failing(failing.known, &file.key, size, mtime_ns) {
                failing.kept.insert(file.key.clone());
            }
            same.push(file);
            continue;
        }
        let Some(id) = session_of(conn, db_path, &file, report, failing)?.map(SessionId::new)
        else {
            continue;
        };
        if !rows.is_empty() {
            changed_ids.insert(id.clone());
        }
        file.id = id;
        changes.disk.push(file);
    }
    if on_disk < rows.len() {
        // Some rows' files are gone: their sessions change too.
        let found: HashSet<&str> = changes
            .disk
            .iter()
            .chain(&same)
            .map(|f| f.key.as_str())
            .chain(unexamined.iter().map(String::as_str))
            .collect();
        for path in rows.keys().filter(|p| !found.contains(*p)) {
            if unlisted.iter().any(|dir| Path::new(path).starts_with(dir)) {
                continue;
            }
            if let Some(id) = id_of(conn, db_path, path)? {
                changed_ids.insert(SessionId::new(id));
            }
        }
    }
    if !changed_ids.is_empty() {
        for mut file in same {
            let id = named_or_indexed(conn, db_path, &file)?.map(SessionId::new);
            if let Some(id) = id.filter(|id| changed_ids.contains(id)) {
                file.id = id;
                changes.disk.push(file);
            }
        }
    }
    changes
        .disk
        .sort_unstable_by(|a, b| a.id.cmp(&b.id).then_with(|| a.key.cmp(&b.key)));
    let disk = &changes.disk;
    let mut start = 0;
    while start < disk.len() {
        let id = &disk[start].id;
        changed_ids.remove(id);
        let len = disk[start..].iter().take_while(|f| &f.id == id).count();
        // The group's likely primary (plain, then biggest) names its place in time.
        let first = (start..start + len)
            .min_by_key(|&i| {
                (
                    disk[i].compressed,
                    std::cmp::Reverse(disk[i].size),
                    &disk[i].key,
                )
            })
            .unwrap_or(start);
        changes.groups.push(GroupFiles { start, len, first });
        start += len;
    }
    let name = |g: &GroupFiles| disk[g.first].path().file_name().unwrap_or_default();
    changes.groups.sort_by(|a, b| {
        name(a)
            .cmp(name(b))
            .then_with(|| disk[a.start].id.cmp(&disk[b.start].id))
    });
    // What is left of the changed ids has no file on disk: those sessions are gone.
    changes.removed = changed_ids.into_iter().collect();
    changes.removed.sort_unstable();
    Ok(changes)
}

/// The session a changed file belongs to: the id in its name, else the one the index
/// has it under, else the id its own session meta gives (a file that fails to say is
/// remembered as unreadable, and `None`).
fn session_of(
    conn: &Connection,
    db_path: &Path,
    file: &DiskFile,
    report: &mut RefreshReport,
    failing: &mut Failing<'_>,
) -> Result<Option<String>> {
    if let Some(id) = named_or_indexed(conn, db_path, file)? {
        return Ok(Some(id));
    }
    if still_failing(failing.known, &file.key, file.size, file.mtime_ns) {
        failing.kept.insert(file.key.clone());
        return Ok(None);
    }
    // No uuid in the name: the file's own meta says which session it is.
    report.files_opened += 1;
    let error = match read_head_meta(file.path()) {
        Ok(Some(m)) if m.id.as_deref().is_some_and(|s| !s.trim().is_empty()) => {
            return Ok(Some(
                m.uuid()
                    .map(|u| u.to_string())
                    .or(m.id.map(|s| s.trim().to_string()))
                    .unwrap_or_default(),
            ));
        }
        Ok(_) => Error::BadArgument(format!(
            "{}: no session id in the file name or its session meta; not indexed",
            file.key
        )),
        Err(e) => e,
    };
    failing.new.push(file.failure(&error.to_string()));
    report.errors.push(error);
    Ok(None)
}

/// The id in a file's name, else the one the index has it under.
fn named_or_indexed(conn: &Connection, db_path: &Path, file: &DiskFile) -> Result<Option<String>> {
    match crate::agents::for_path(file.path()).session_id(file.path()) {
        Some(id) => Ok(Some(id)),
        None => id_of(conn, db_path, &file.key),
    }
}

/// The id of the session the index has the file at `path` under.
fn id_of(conn: &Connection, db_path: &Path, path: &str) -> Result<Option<String>> {
    conn.prepare_cached(
        "SELECT s.id FROM files f JOIN sessions s ON s.key = f.session_key WHERE f.path = ?1",
    )
    .and_then(|mut stmt| stmt.query_row([path], |r| r.get(0)).optional())
    .map_err(|e| Error::db(db_path, "reading the index", e))
}

/// Adds to `group` what the index holds of session `id`: its row and its files' rows.
fn load_indexed(conn: &Connection, db_path: &Path, id: &str, group: &mut Group) -> Result<()> {
    let db = |e| Error::db(db_path, "reading the index", e);
    let session: Option<(i64, String)> = conn
        .prepare_cached("SELECT key, path FROM sessions WHERE id = ?1")
        .and_then(|mut stmt| {
            stmt.query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(db)?;
    let Some((key, _)) = &session else {
        return Ok(());
    };
    let mut stmt = conn
        .prepare_cached(
            "SELECT path, size, mtime_ns, indexed_offset, indexed_lines, content_hash
             FROM files WHERE session_key = ?1",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map([key], |r| {
            Ok(FileRow {
                path: r.get(0)?,
                size: r.get(1)?,
                mtime_ns: r.get(2)?,
                indexed_offset: r.get(3)?,
                indexed_lines: r.get(4)?,
                content_hash: r.get(5)?,
            })
        })
        .map_err(db)?;
    group.rows = rows.collect::<rusqlite::Result<_>>().map_err(db)?;
    group.session = session;
    Ok(())
}

/// The `sessions` row's values that an incremental read continues from.
#[derive(Debug, Default)]
struct SessionState {
    facts: SessionFacts,
    meta: Option<SessionMeta>,
    /// Whether `meta` came from a session-meta line (not only the row's id).
    has_meta: bool,
    created_ms: Option<i64>,
    updated_ms: Option<i64>,
    errors: i64,
    items: i64,
    /// The decompressed size stored last time.
    raw_bytes: i64,
    /// Bytes of the complete lines read so far, by kind.
    bytes: crate::usage::Bytes,
}

/// How much of a session's primary file to read: from where the indexed content ends,
/// from the start, or nothing.
fn plan_for(group: &mut Group, full: bool) -> Plan {
    let Some(primary) = group.primary() else {
        return Plan::Keep;
    };
    if crate::agents::for_path(primary.path()).whole_document() {
        return whole_document_plan(group, full);
    }
    let Some(followed) = followed(group, full) else {
        return Plan::Rebuild;
    };
    let same_file = followed.path == primary.key;
    if same_file && followed.size == primary.size && followed.mtime_ns == primary.mtime_ns {
        return Plan::Keep;
    }
    let r = followed;
    match () {
        // A `.zst` is never appended to: one changed in place was rewritten whole.
        () if primary.compressed && same_file => Plan::Rebuild,
        () if primary.compressed => Plan::From(r.indexed_offset, r.indexed_lines),
        () if primary.size < r.indexed_offset => Plan::Rebuild,
        // A moved or touched plain file of the indexed length holds nothing new.
        () if primary.size == r.indexed_offset => Plan::Keep,
        () => Plan::From(r.indexed_offset, r.indexed_lines),
    }
}

/// A document rewritten whole (Gemini CLI's) has no offset to continue from: it is read
/// whole when it changed. Changed means another size or mtime and then another content
/// hash (a touch is no change); the hash taken here is the one stored, so a rewrite while
/// it is read shows as a change next time.
fn whole_document_plan(group: &mut Group, full: bool) -> Plan {
    let Some(primary) = group.primary() else {
        return Plan::Keep;
    };
    let followed = followed(group, full).filter(|f| f.path == primary.key);
    if followed.is_some_and(|f| f.size == primary.size && f.mtime_ns == primary.mtime_ns) {
        return Plan::Keep;
    }
    // Unreadable now: reading it reports why.
    let hash = File::open(primary.path())
        .and_then(crate::archive::checksum)
        .ok()
        .map(|c| c.to_string());
    let same = hash.is_some() && followed.is_some_and(|f| f.content_hash == hash);
    group.content_hash = hash;
    if same { Plan::Keep } else { Plan::Rebuild }
}

/// How close to its last write (ns) a whole document may have been read and still be
/// trusted by size and mtime alone: a rewrite within a coarse mtime's granularity leaves
/// both as they were. Such a row keeps a mtime that matches nothing, so the next walk
/// checks the file by hash (git's "racy clean" entries are handled the same way).
const RACY_NS: i64 = 2_000_000_000;

/// The mtime to store for a whole document read now: its own, or one that makes the next
/// walk look at it again (see [`RACY_NS`]).
fn stored_mtime(mtime_ns: i64) -> i64 {
    let now = OffsetDateTime::now_utc().unix_timestamp_nanos() as i64;
    if now - mtime_ns < RACY_NS {
        mtime_ns - 1
    } else {
        mtime_ns
    }
}

/// The row of the file whose content is indexed so far (none when rebuilding everything).
fn followed(group: &Group, full: bool) -> Option<&FileRow> {
    group
        .session
        .as_ref()
        .and_then(|(_, p)| group.row(p))
        .filter(|_| !full)
}

/// What the sessions of one transaction share while they are written.
struct Batch<'a, 't> {
    tx: &'a Transaction<'t>,
    db_path: &'a Path,
    /// The rollouts, read and parsed in the order of the work (see [`feed`]).
    feed: &'a mut dyn Iterator<Item = Fed>,
    report: &'a mut RefreshReport,
    /// Files that could not be read (see [`save_failures`]).
    failed: &'a mut Vec<NewFailure>,
    /// The rowid of the batch's first item: every later one is above it, and nothing above
    /// it is older (it was the largest plus one). Their full-text rows are written together
    /// at the end (see [`index_batch_text`]).
    first_rowid: Option<i64>,
    /// Bytes of item text since `first_rowid`.
    text_pending: usize,
}

impl Batch<'_, '_> {
    /// Writes the full-text rows of the items inserted since the last time.
    fn index_text(&mut self) -> rusqlite::Result<()> {
        self.text_pending = 0;
        match self.first_rowid.take() {
            Some(first) => index_batch_text(self.tx, first),
            None => Ok(()),
        }
    }

    /// Brings one session's rows in line with its files, as `plan` says. Returns the bytes
    /// read.
    fn sync_session(&mut self, id: &str, group: Group, plan: Plan, full: bool) -> Result<u64> {
        let (tx, db_path) = (self.tx, self.db_path);
        let db = |action| move |e| Error::db(db_path, action, e);
        // Every session has its `Begin` in the feed, read or not.
        let opened = match self.feed.next() {
            Some(Fed::Begin(opened)) => opened,
            _ => return Err(feed_stopped(&id_path(&group))),
        };
        let Some(primary) = group.primary().cloned() else {
            // No file left: the session is gone.
            if let Some((key, _)) = group.session {
                delete_items(tx, key).map_err(db("removing a session"))?;
                tx.execute("DELETE FROM files WHERE session_key = ?1", [key])
                    .map_err(db("removing a session"))?;
                tx.execute("DELETE FROM sessions WHERE key = ?1", [key])
                    .map_err(db("removing a session"))?;
                self.report.sessions_removed += 1;
                self.report.files_removed += group.rows.len() as u64;
            }
            return Ok(0);
        };
        let followed = followed(&group, full).cloned();
        let session_key = group.session.as_ref().map(|(k, _)| *k);
        let mut state = match (session_key, plan) {
            (Some(key), Plan::Keep | Plan::From(..)) => {
                load_state(tx, key).map_err(db("reading a session"))?
            }
            _ => SessionState::default(),
        };
        let start = match opened {
            Opened::Nothing => None,
            Opened::Failed { opens, error } => {
                self.report.files_opened += opens;
                self.failed.push(primary.failure(&error.to_string()));
                self.report.errors.push(error);
                return Ok(0);
            }
            Opened::Reading {
                start,
                from_start,
                opens,
            } => {
                self.report.files_opened += opens;
                if from_start {
                    // Rebuild: from the start, without the items indexed before.
                    if let Some(key) = session_key {
                        delete_items(tx, key).map_err(db("clearing a session's items"))?;
                    }
                    state = SessionState::default();
                }
                Some(start)
            }
        };

        let mut offsets = followed
            .as_ref()
            .map(|r| (r.indexed_offset, r.indexed_lines))
            .unwrap_or((0, 0));
        let (mut raw_bytes, mut read_bytes) = (None, 0u64);
        let mut new_key = None;
        if let Some(start) = start {
            // Items need their session's key. A new session's row is written once, after its items (the batch defers the
            // foreign keys to its commit): written first and then again with what was read,
            // every one of the table's indexes was updated twice.
            let key = match session_key {
                Some(k) => k,
                None => {
                    let k = tx
                        .prepare_cached("SELECT coalesce(max(key), 0) + 1 FROM sessions")
                        .and_then(|mut s| s.query_row([], |r| r.get(0)))
                        .map_err(db("writing a session"))?;
                    new_key = Some(k);
                    k
                }
            };
            let end = self.read_items(key, primary.path(), start, &mut state)?;
            offsets = (end.offset as i64, end.lines as i64);
            raw_bytes = Some((end.offset + end.pending) as i64);
            read_bytes = end.offset - start;
            if let Some(error) = end.failed {
                // What was read is kept; the file is not read again until it changes.
                self.failed.push(primary.failure(&error));
            }
        }
        let raw_bytes = raw_bytes.unwrap_or(if primary.compressed {
            // Not re-read: what was indexed before.
            offsets.0.max(state.raw_bytes)
        } else {
            primary.size
        });
        let key = upsert_session(tx, id, new_key, &primary, &state, Some(raw_bytes))
            .map_err(db("writing a session"))?;
        if start.is_some() {
            write_spent(tx, key, new_key.is_none(), &state.facts.spent)
                .map_err(db("writing a session's tokens"))?;
        }

        // The files' rows: the primary with its offsets, the others as seen-only copies.
        let on_disk: HashSet<&str> = group.disk.iter().map(|f| f.key.as_str()).collect();
        for row in &group.rows {
            if !on_disk.contains(row.path.as_str()) {
                tx.execute("DELETE FROM files WHERE path = ?1", [&row.path])
                    .map_err(db("removing a file"))?;
                self.report.files_removed += 1;
            }
        }
        let mut upsert = tx
            .prepare_cached(
                "INSERT INTO files(path, session_key, size, mtime_ns, compressed, indexed_offset,
                    indexed_lines, content_hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT(path) DO UPDATE SET session_key = ?2, size = ?3, mtime_ns = ?4,
                    compressed = ?5, indexed_offset = ?6, indexed_lines = ?7, content_hash = ?8",
            )
            .map_err(db("writing a file"))?;
        let whole = crate::agents::for_path(primary.path()).whole_document();
        for f in &group.disk {
            let row = group.row(&f.key);
            let is_primary = f.key == primary.key;
            let (offset, lines) = if is_primary { offsets } else { (0, 0) };
            let (mtime_ns, hash) = if whole && is_primary {
                let hash = group
                    .content_hash
                    .clone()
                    .or_else(|| row.and_then(|r| r.content_hash.clone()));
                (stored_mtime(f.mtime_ns), hash)
            } else {
                (f.mtime_ns, row.and_then(|r| r.content_hash.clone()))
            };
            let size = f.size;
            let changed = row.is_none_or(|r| {
                r.size != size
                    || r.mtime_ns != mtime_ns
                    || r.indexed_offset != offset
                    || r.indexed_lines != lines
                    || r.content_hash != hash
            });
            if changed {
                upsert
                    .execute(params![
                        f.key,
                        key,
                        size,
                        mtime_ns,
                        f.compressed,
                        offset,
                        lines,
                        hash
                    ])
                    .map_err(db("writing a file"))?;
                self.report.files_indexed += 1;
            }
        }
        Ok(read_bytes)
    }
}

/// A path to name when the feed broke off for a session (its primary file, else its first
/// indexed row).
fn id_path(group: &Group) -> PathBuf {
    group
        .primary()
        .map(|f| f.path().to_path_buf())
        .or_else(|| group.rows.first().map(|r| PathBuf::from(&r.path)))
        .unwrap_or_default()
}

/// The reading thread ended without handing over what the writer waits for (it panicked).
fn feed_stopped(path: &Path) -> Error {
    Error::io(
        path,
        "reading",
        std::io::Error::other("the reading thread stopped"),
    )
}

/// Writes the full-text rows of every item from `first_rowid` on, in one statement.
///
/// FTS5 keeps new rows in memory and writes a segment whenever a statement opens a
/// savepoint, which every upsert of a session or a file does: written per item, a batch
/// left hundreds of tiny segments to merge (a quarter of indexing time). Written last, the
/// whole batch becomes one segment at commit.
fn index_batch_text(tx: &Connection, first_rowid: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO items_fts(rowid, summary) SELECT rowid, summary FROM items WHERE rowid >= ?1",
    )?
    .execute([first_rowid])?;
    Ok(())
}

/// Removes a session's items and their full-text rows. External-content FTS5 needs the
/// exact indexed text to delete a row, which is still in `items` at this point.
fn delete_items(tx: &Connection, key: i64) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO items_fts(items_fts, rowid, summary)
         SELECT 'delete', rowid, summary FROM items WHERE session_key = ?1",
        [key],
    )?;
    tx.execute("DELETE FROM items WHERE session_key = ?1", [key])?;
    Ok(())
}

/// Reads a session's stored facts back, to continue from them.
fn load_state(tx: &Connection, key: i64) -> rusqlite::Result<SessionState> {
    let mut state = load_row(tx, key)?;
    state.facts.spent = read_spent(tx, key)?;
    Ok(state)
}

/// A session's row, as [`load_state`] continues from it.
fn load_row(tx: &Connection, key: i64) -> rusqlite::Result<SessionState> {
    tx.query_row(
        "SELECT title, title_typed, model, tokens, messages, tool_calls, created_ms, updated_ms,
                errors, items, cwd, originator, cli_version, source, model_provider,
                git_commit, git_branch, git_url, forked_from_id, id, raw_bytes,
                parent_id, agent_nickname, agent_role, tokens_counted,
                bytes_images, bytes_encrypted_reasoning, bytes_compaction_history,
                bytes_turn_context, bytes_instructions, bytes_tool_output, bytes_tool_calls,
                bytes_messages, bytes_events, bytes_other,
                title_rank, last_reply, last_reply_tokens, last_reply_usage, fast
         FROM sessions WHERE key = ?1",
        [key],
        |r| {
            let title: Option<String> = r.get(0)?;
            let typed: bool = r.get(1)?;
            let git = crate::model::GitInfo {
                commit_hash: r.get(15)?,
                branch: r.get(16)?,
                repository_url: r.get(17)?,
            };
            let meta = SessionMeta {
                id: r.get(19)?,
                cwd: r.get(10)?,
                originator: r.get(11)?,
                cli_version: r.get(12)?,
                source: r.get(13)?,
                model_provider: r.get(14)?,
                forked_from_id: r.get(18)?,
                git: (!git.is_empty()).then_some(git),
                parent_thread_id: r.get(21)?,
                agent_nickname: r.get(22)?,
                agent_role: r.get(23)?,
                ..Default::default()
            };
            let has_meta = meta.cwd.is_some() || meta.originator.is_some() || meta.git.is_some();
            let rank: u8 = r.get::<_, i64>(35)?.clamp(0, 255) as u8;
            let last_reply: Option<String> = r.get(36)?;
            Ok(SessionState {
                facts: SessionFacts {
                    hint: title.clone().filter(|_| rank > 0).map(|t| (rank, t)),
                    last_reply: last_reply.map(|id| {
                        let (bucket, usage) = r
                            .get::<_, Option<String>>(38)
                            .ok()
                            .flatten()
                            .and_then(|j| serde_json::from_str::<StoredReply>(&j).ok())
                            .map(StoredReply::into_parts)
                            .unwrap_or_default();
                        LastReply {
                            id,
                            tokens: r.get::<_, i64>(37).unwrap_or(0) as u64,
                            bucket,
                            usage,
                        }
                    }),
                    spent: Spent::new(),
                    fast: r.get(39)?,
                    title: if typed { title.clone() } else { None },
                    fallback_title: if typed { None } else { title },
                    model: r.get(2)?,
                    tokens: r.get::<_, i64>(3)? as u64,
                    tokens_counted: r.get(24)?,
                    messages: r.get::<_, i64>(4)? as u64,
                    tool_calls: r.get::<_, i64>(5)? as u64,
                    first_timestamp: None,
                    last_timestamp: None,
                },
                meta: Some(meta),
                has_meta,
                created_ms: r.get(6)?,
                updated_ms: r.get(7)?,
                errors: r.get(8)?,
                items: r.get(9)?,
                raw_bytes: r.get(20)?,
                bytes: {
                    let mut b = crate::usage::Bytes::default();
                    for (i, v) in b.iter_mut().enumerate() {
                        *v = r.get::<_, i64>(25 + i)?.max(0) as u64;
                    }
                    b
                },
            })
        },
    )
}

/// Where reading a file ended.
struct ReadEnd {
    offset: u64,
    lines: u64,
    /// Bytes of a torn last line, not indexed yet.
    pending: u64,
    /// Reading stopped on an error before the end: the error.
    failed: Option<String>,
}

impl Batch<'_, '_> {
    /// Takes a session's entries from the feed to their end, inserting their items and
    /// updating `state`. `start` is where reading began in `path`.
    fn read_items(
        &mut self,
        key: i64,
        path: &Path,
        start: u64,
        state: &mut SessionState,
    ) -> Result<ReadEnd> {
        let (tx, db_path) = (self.tx, self.db_path);
        let db = |e| Error::db(db_path, "inserting items", e);
        let mut resolver = MetaResolver::for_path(path);
        let had_meta = state.has_meta;
        let mut insert_item = tx
            .prepare_cached(
                "INSERT INTO items(session_key, seq, ts_ms, kind, role, summary, offset, ordinal)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .map_err(db)?;
        let mut pending = 0;
        let mut failed = None;
        // Where the last line ended: blank lines between two lines count as other.
        let mut last_end = start;
        // How the last line's bytes were counted, while a later record of it may move them.
        let mut counted: crate::usage::Counted = (crate::usage::Kind::Other, 0, true);
        let other = crate::usage::Kind::Other.index();
        let (offset, lines) = loop {
            let chunk = match self.feed.next() {
                Some(Fed::Entries(chunk)) => chunk,
                Some(Fed::End {
                    offset,
                    lines,
                    error,
                }) => {
                    if let Some(e) = error {
                        // The rest of the file cannot be read (corrupt .zst, I/O error):
                        // keep what was read, report it, and try again once it changes.
                        failed = Some(e.to_string());
                        self.report.errors.push(e);
                    }
                    break (offset, lines);
                }
                _ => return Err(feed_stopped(path)),
            };
            for feed::FedEntry {
                entry,
                end,
                ts_ms,
                item,
            } in chunk
            {
                match entry {
                    Entry::Record(rec) => {
                        // One line of an agent's file may give several records: its bytes
                        // count once, with the first, or the first that is content.
                        if rec.offset >= last_end {
                            state.bytes[other] += rec.offset - last_end;
                            counted = crate::usage::count_line(
                                &mut state.bytes,
                                &rec.line,
                                end - rec.offset,
                            );
                            last_end = end;
                        } else {
                            counted = crate::usage::recount_line(
                                &mut state.bytes,
                                counted,
                                &rec.line,
                                end - rec.offset,
                            );
                        }
                        if let RolloutItem::SessionMeta(m) = &rec.line.item {
                            resolver.offer(m);
                        }
                        if let Some(ts) = ts_ms {
                            state.created_ms.get_or_insert(ts);
                            state.updated_ms = Some(state.updated_ms.map_or(ts, |u| u.max(ts)));
                        }
                        state.facts.note(&rec.line);
                        // Made (and redacted) by the feed, on the reading thread.
                        let Some(item) = item else {
                            continue;
                        };
                        let text = item.text;
                        insert_item
                            .execute(params![
                                key,
                                rec.number as i64,
                                ts_ms,
                                item.kind,
                                item.role,
                                text,
                                rec.offset as i64,
                                rec.line.ordinal.and_then(|o| i64::try_from(o).ok())
                            ])
                            .map_err(db)?;
                        self.first_rowid
                            .get_or_insert_with(|| tx.last_insert_rowid());
                        self.text_pending += text.len();
                        if self.text_pending >= FTS_TEXT {
                            self.index_text().map_err(db)?;
                        }
                        state.items += 1;
                        self.report.items_indexed += 1;
                    }
                    Entry::Malformed(e) => {
                        state.bytes[other] += end.saturating_sub(last_end);
                        last_end = end;
                        state.errors += 1;
                        self.report.malformed_lines += 1;
                        if self.report.malformed.len() < MALFORMED_KEPT {
                            self.report.malformed.push(e);
                        }
                    }
                    Entry::Pending { len, .. } => pending = len,
                }
            }
        };
        if let Some(meta) = resolver.finish() {
            // An appended part only replaces the meta when the file had none, or brings the
            // file's own meta (a fork's copied parent metas come first).
            let own = layout::session_id_from_path(path).is_some_and(|u| meta.uuid() == Some(u));
            if !had_meta || own {
                if let Some(ts) = meta.timestamp.as_deref().and_then(parse_ms) {
                    state.created_ms = Some(ts);
                }
                state.meta = Some(meta);
                state.has_meta = true;
            }
        }
        Ok(ReadEnd {
            offset,
            lines,
            pending,
            failed,
        })
    }
}

/// Inserts or updates a session's row; returns its key. `raw_bytes` is written when known.
fn upsert_session(
    tx: &Connection,
    id: &str,
    new_key: Option<i64>,
    primary: &DiskFile,
    state: &SessionState,
    raw_bytes: Option<i64>,
) -> rusqlite::Result<i64> {
    let meta = state.meta.clone().unwrap_or_default();
    let git = meta.git.unwrap_or_default();
    let git_url = git.repository_url.as_deref().map(strip_credentials);
    let repo = git.repository_url.as_deref().and_then(repo_key);
    let title = state
        .facts
        .best_title()
        .map(|t| redact_urls(t).into_owned());
    // Legacy files have no line timestamps: their last activity is the file's mtime.
    let updated = state
        .updated_ms
        .unwrap_or(primary.mtime_ns / 1_000_000)
        .max(state.created_ms.unwrap_or(i64::MIN));
    let archived = primary
        .path()
        .components()
        .any(|c| c.as_os_str() == layout::ARCHIVED_DIR);
    let mut stmt = tx.prepare_cached(
        "INSERT INTO sessions(key, id, path, created_ms, updated_ms, cwd, originator, cli_version,
            source, model_provider, model, title, title_typed, git_commit, git_branch, git_url,
            repo_key, forked_from_id, messages, tool_calls, errors, tokens, items, raw_bytes,
            stored_bytes, archived, compressed, parent_id, agent_nickname, agent_role,
            tokens_counted, bytes_images, bytes_encrypted_reasoning, bytes_compaction_history,
            bytes_turn_context, bytes_instructions, bytes_tool_output, bytes_tool_calls,
            bytes_messages, bytes_events, bytes_other, agent, title_rank, last_reply,
            last_reply_tokens, folder_hash, last_reply_usage, fast)
         VALUES (?48, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
            ?18, ?19, ?20, ?21, ?22, coalesce(?23, 0), ?24, ?25, ?26, ?27, ?28, ?29, ?30,
            ?31, ?32, ?33, ?34, ?35, ?36, ?37, ?38, ?39, ?40, ?41, ?42, ?43, ?44, ?45, ?46, ?47)
         ON CONFLICT(id) DO UPDATE SET path = ?2, created_ms = ?3, updated_ms = ?4, cwd = ?5,
            originator = ?6, cli_version = ?7, source = ?8, model_provider = ?9, model = ?10,
            title = ?11, title_typed = ?12, git_commit = ?13, git_branch = ?14, git_url = ?15,
            repo_key = ?16, forked_from_id = ?17, messages = ?18, tool_calls = ?19,
            errors = ?20, tokens = ?21, items = ?22, raw_bytes = coalesce(?23, raw_bytes),
            stored_bytes = ?24, archived = ?25, compressed = ?26, parent_id = ?27,
            agent_nickname = ?28, agent_role = ?29, tokens_counted = ?30,
            bytes_images = ?31, bytes_encrypted_reasoning = ?32, bytes_compaction_history = ?33,
            bytes_turn_context = ?34, bytes_instructions = ?35, bytes_tool_output = ?36,
            bytes_tool_calls = ?37, bytes_messages = ?38, bytes_events = ?39, bytes_other = ?40,
            agent = ?41, title_rank = ?42, last_reply = ?43, last_reply_tokens = ?44,
            folder_hash = ?45, last_reply_usage = ?46, fast = ?47
         RETURNING key",
    )?;
    let b = state.bytes.map(|v| i64::try_from(v).unwrap_or(i64::MAX));
    stmt.query_row(
        params![
            id,
            primary.key,
            state.created_ms,
            updated,
            meta.cwd,
            meta.originator,
            meta.cli_version,
            meta.source,
            meta.model_provider,
            state.facts.model,
            title,
            state.facts.title.is_some(),
            git.commit_hash,
            git.branch,
            git_url,
            repo,
            meta.forked_from_id,
            state.facts.messages as i64,
            state.facts.tool_calls as i64,
            state.errors,
            state.facts.tokens as i64,
            state.items,
            raw_bytes,
            primary.size,
            archived,
            primary.compressed,
            meta.parent_thread_id.as_deref().map(normalize_id),
            meta.agent_nickname,
            meta.agent_role,
            state.facts.tokens_counted,
            b[0],
            b[1],
            b[2],
            b[3],
            b[4],
            b[5],
            b[6],
            b[7],
            b[8],
            b[9],
            crate::agents::for_path(primary.path()).agent().as_str(),
            state
                .facts
                .hint
                .as_ref()
                .map_or(0, |(rank, _)| i64::from(*rank)),
            state.facts.last_reply.as_ref().map(|l| l.id.as_str()),
            state
                .facts
                .last_reply
                .as_ref()
                .map_or(0, |l| l.tokens as i64),
            meta.folder_hash,
            state.facts.last_reply.as_ref().map(|l| {
                serde_json::to_string(&StoredReply::of(&l.bucket, &l.usage)).unwrap_or_default()
            }),
            state.facts.fast,
            new_key,
        ],
        |r| r.get(0),
    )
}

/// Replaces the tokens a session's models spent with `spent` (`replace`: the session
/// had a row before, and may have tokens).
fn write_spent(tx: &Connection, key: i64, replace: bool, spent: &Spent) -> rusqlite::Result<()> {
    if replace {
        tx.prepare_cached("DELETE FROM session_tokens WHERE session_key = ?1")?
            .execute([key])?;
    }
    let mut insert = tx.prepare_cached(
        "INSERT INTO session_tokens(session_key, model, band, fast, input, cache_read,
            cache_write_5m, cache_write_1h, output, reasoning)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    for (b, t) in spent {
        insert.execute(params![
            key,
            b.model,
            b.band.as_i64(),
            b.fast,
            n(t.input),
            n(t.cache_read),
            n(t.cache_write_5m),
            n(t.cache_write_1h),
            n(t.output),
            n(t.reasoning),
        ])?;
    }
    Ok(())
}

/// A session's spent tokens as the index holds them.
pub(crate) fn read_spent(conn: &Connection, key: i64) -> rusqlite::Result<Spent> {
    let mut stmt = conn.prepare_cached(
        "SELECT model, band, fast, input, cache_read, cache_write_5m, cache_write_1h, output,
                reasoning
         FROM session_tokens WHERE session_key = ?1",
    )?;
    let rows = stmt.query_map([key], |r| crate::query::spent_row(r, 0))?;
    rows.collect()
}

/// The last reply's bucket and tokens, as `sessions.last_reply_usage` keeps them.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredReply {
    model: String,
    band: i64,
    fast: bool,
    usage: Tokens,
}

impl StoredReply {
    fn of(b: &Bucket, usage: &Tokens) -> StoredReply {
        StoredReply {
            model: b.model.clone(),
            band: b.band.as_i64(),
            fast: b.fast,
            usage: *usage,
        }
    }

    fn into_parts(self) -> (Bucket, Tokens) {
        (
            Bucket {
                model: self.model,
                band: Band::from_i64(self.band),
                fast: self.fast,
            },
            self.usage,
        )
    }
}

/// A session id as the index keys it: a uuid in lowercase, dashed; anything else trimmed.
fn normalize_id(id: &str) -> String {
    uuid::Uuid::parse_str(id.trim())
        .map(|u| u.to_string())
        .unwrap_or_else(|_| id.trim().to_string())
}

/// RFC 3339 to unix milliseconds.
pub fn parse_ms(ts: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(ts.trim(), &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

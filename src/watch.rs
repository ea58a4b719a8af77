//! `rolldex watch`: keeping the index current from file-system events, so that one-shot
//! commands answer from it at once instead of walking every agent's folders.
//!
//! A walk costs microseconds per plain file (Codex appends to old rollouts when a session
//! is resumed, so each must be looked at): half a second at 100,000 sessions, paid by
//! every query. A watcher pays it once at start and then refreshes only when the file
//! system says something changed, a burst of appends being one refresh (debounced).
//!
//! Safety first: a watcher that died, hangs or is stopped can never make an answer
//! wrong. It holds an exclusive lock on `<index>.watch.lock` for as long as it lives
//! (the kernel drops it when the process dies, even by SIGKILL) and records a heartbeat
//! in the index every second. A query skips its walk only when the lock is held *and*
//! the heartbeat is under [`STALE_MS`] old; otherwise it walks, as without a watcher.
//! One watcher per index: a second finds the lock held and refuses, naming the first.
//!
//! What the events cannot say is covered by walking: at start, after the kernel's event
//! queue overflowed (notify's rescan flag), and when a watched folder was removed or
//! replaced (it is watched again once it exists).

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use notify::{EventKind, RecursiveMode, Watcher as _};
use rusqlite::{Connection, OptionalExtension, params};

use crate::Home;
use crate::error::{Error, Result};
use crate::index::ingest::{RefreshOptions, RefreshReport};

/// A heartbeat older than this (ms) is a watcher that no longer answers for the index.
pub const STALE_MS: i64 = 5_000;

/// What the index says of its watcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heartbeat {
    /// The watcher's process id.
    pub pid: u32,
    /// When it started (Unix ms).
    pub started_ms: i64,
    /// Its last heartbeat (Unix ms).
    pub beat_ms: i64,
    /// The last file-system event it took in (Unix ms), if any yet.
    pub last_event_ms: Option<i64>,
    /// Its last refresh of the index (Unix ms).
    pub refreshed_ms: Option<i64>,
}

/// How a watcher behaves.
#[derive(Debug, Clone, Copy)]
pub struct WatchOptions {
    /// Quiet time after an event before refreshing: a burst of appends is one refresh.
    pub debounce: Duration,
    /// The longest an event waits for its refresh however busy the folders are.
    pub max_delay: Duration,
    /// How often the heartbeat is written.
    pub beat: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            debounce: Duration::from_millis(150),
            max_delay: Duration::from_millis(700),
            beat: Duration::from_secs(1),
        }
    }
}

/// What a watcher tells its front end.
#[derive(Debug)]
pub enum WatchEvent<'a> {
    /// Watching: the folders watched, after the first (complete) refresh.
    Ready {
        /// Folders watched (recursively or not).
        folders: &'a [PathBuf],
        /// The first refresh.
        report: &'a RefreshReport,
    },
    /// A refresh after events.
    Refreshed {
        /// File-system events it answers.
        events: u64,
        /// A complete walk (an overflow or a folder replaced), not the fast one.
        complete: bool,
        /// What it did.
        report: &'a RefreshReport,
    },
    /// Something went wrong that the watcher survives (it walks completely next).
    Trouble(&'a Error),
}

/// The lock a watcher holds while it lives.
pub fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".watch.lock");
    PathBuf::from(name)
}

/// Whether a healthy watcher keeps the index at `db` current: its lock is held and its
/// heartbeat (read through `conn`) is fresh. Never creates a file.
pub fn live(db: &Path, conn: &Connection) -> Result<Option<Heartbeat>> {
    let path = lock_path(db);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&path, "checking for a watcher", e)),
    };
    match file.try_lock_shared() {
        // Nobody holds it exclusively: no watcher lives.
        Ok(()) => return Ok(None),
        Err(std::fs::TryLockError::WouldBlock) => {}
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(Error::io(&path, "checking for a watcher", e));
        }
    }
    let beat = heartbeat(conn, db)?;
    Ok(beat.filter(|b| now_ms() - b.beat_ms < STALE_MS))
}

/// The heartbeat the index holds, fresh or not.
pub fn heartbeat(conn: &Connection, db: &Path) -> Result<Option<Heartbeat>> {
    conn.query_row(
        "SELECT pid, started_ms, beat_ms, last_event_ms, refreshed_ms FROM watcher WHERE id = 1",
        [],
        |r| {
            Ok(Heartbeat {
                pid: r.get::<_, i64>(0)?.clamp(0, i64::from(u32::MAX)) as u32,
                started_ms: r.get(1)?,
                beat_ms: r.get(2)?,
                last_event_ms: r.get(3)?,
                refreshed_ms: r.get(4)?,
            })
        },
    )
    .optional()
    .map_err(|e| Error::db(db, "reading the watcher's heartbeat", e))
}

fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis(),
    )
    .unwrap_or(i64::MAX)
}

/// Where a home's sessions live, as the watcher watches them.
struct Places {
    /// Folders of session files, watched recursively when they exist.
    trees: Vec<PathBuf>,
    /// Files whose changes matter outside those trees (the names files).
    files: Vec<PathBuf>,
}

impl Places {
    fn of(home: &Home) -> Places {
        let mut trees = Vec::new();
        for (agent, root) in home.roots() {
            for (dir, _) in crate::agents::of(agent).session_dirs(&root) {
                trees.push(dir);
            }
        }
        trees.sort();
        trees.dedup();
        Places {
            trees,
            files: home.names_files(),
        }
    }

    /// Whether an event at `path` can change what the index holds.
    fn matters(&self, path: &Path) -> bool {
        self.trees
            .iter()
            .any(|t| path.starts_with(t) || t.starts_with(path))
            || self.files.iter().any(|f| f == path)
    }

    /// The folders to watch: each existing tree recursively; for each tree or file, the
    /// nearest existing folder above it, not recursively, to see it made or replaced.
    fn watches(&self) -> BTreeSet<(PathBuf, bool)> {
        let mut out = BTreeSet::new();
        for t in &self.trees {
            if t.is_dir() {
                out.insert((t.clone(), true));
            }
        }
        for p in self.trees.iter().chain(&self.files) {
            if let Some(above) = p.ancestors().skip(1).find(|a| a.is_dir())
                && !out.contains(&(above.to_path_buf(), true))
            {
                out.insert((above.to_path_buf(), false));
            }
        }
        out
    }
}

/// Keeps `home`'s index current until `stop` is set: a complete refresh first, then one
/// after each burst of file-system events on every agent's session folders. Refuses when
/// another watcher keeps the same index.
pub fn watch(
    home: &mut Home,
    opts: &WatchOptions,
    stop: &AtomicBool,
    on: &mut dyn FnMut(WatchEvent<'_>),
) -> Result<()> {
    let db = home.db_path().to_path_buf();
    if let Some(dir) = db.parent() {
        crate::layout::create_private_dir(dir)?;
    }
    let lock = take_lock(home, &db)?;
    let started = now_ms();
    let complete = RefreshOptions {
        complete: true,
        ..RefreshOptions::default()
    };
    let report = home.refresh(complete)?;
    beat(home, started, None, Some(now_ms()))?;

    let places = Places::of(home);
    let (tx, rx) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |ev| {
        // The receiver gone means the watcher is stopping: nothing to do.
        let _ = tx.send(ev);
    })
    .map_err(|e| notify_error(&db, e))?;
    let mut watched = BTreeSet::new();
    rewatch(&mut watcher, &places, &mut watched, &db, on);
    let folders: Vec<PathBuf> = watched.iter().map(|(p, _)| p.clone()).collect();
    on(WatchEvent::Ready {
        folders: &folders,
        report: &report,
    });

    let mut pending: Option<(Instant, Instant, u64)> = None; // first, last, count
    let mut walk_all = false;
    let mut last_event_ms = None;
    let mut last_beat = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(Ok(ev)) => {
                let relevant = ev.need_rescan()
                    || (!matches!(ev.kind, EventKind::Access(_))
                        && ev.paths.iter().any(|p| places.matters(p)));
                if ev.need_rescan() {
                    walk_all = true;
                }
                if relevant {
                    let now = Instant::now();
                    let p = pending.get_or_insert((now, now, 0));
                    p.1 = now;
                    p.2 += 1;
                    last_event_ms = Some(now_ms());
                }
            }
            Ok(Err(e)) => {
                // Events may have been lost: walk everything.
                on(WatchEvent::Trouble(&notify_error(&db, e)));
                walk_all = true;
                pending.get_or_insert((Instant::now(), Instant::now(), 0));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        // A watched folder removed or one that now exists: watch anew, walk everything.
        if last_beat.elapsed() >= opts.beat || pending.is_some() {
            let want = places.watches();
            if want != watched {
                rewatch(&mut watcher, &places, &mut watched, &db, on);
                walk_all = true;
                pending.get_or_insert((Instant::now(), Instant::now(), 0));
            }
        }
        if let Some((first, last, events)) = pending
            && (last.elapsed() >= opts.debounce || first.elapsed() >= opts.max_delay)
        {
            pending = None;
            let refresh = RefreshOptions {
                complete: walk_all,
                ..RefreshOptions::default()
            };
            match home.refresh(refresh) {
                Ok(report) => {
                    on(WatchEvent::Refreshed {
                        events,
                        complete: walk_all,
                        report: &report,
                    });
                    walk_all = false;
                }
                Err(e) => {
                    on(WatchEvent::Trouble(&e));
                    walk_all = true;
                }
            }
            beat(home, started, last_event_ms, Some(now_ms()))?;
            last_beat = Instant::now();
        }
        if last_beat.elapsed() >= opts.beat {
            beat(home, started, last_event_ms, None)?;
            last_beat = Instant::now();
        }
    }
    // Stopping: the heartbeat goes, then the lock (queries walk again from now on).
    drop(watcher);
    let _ = home.with_index(|c, db| {
        c.execute("DELETE FROM watcher WHERE id = 1", [])
            .map_err(|e| Error::db(db, "removing the watcher's heartbeat", e))
    });
    drop(lock);
    Ok(())
}

/// Takes the watcher lock, or says who holds it. A query's shared check holds it for
/// microseconds, so a few tries tell a query from a watcher.
fn take_lock(home: &mut Home, db: &Path) -> Result<File> {
    let path = lock_path(db);
    let file = crate::layout::open_lock_file(&path)?;
    for _ in 0..20 {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => {
                std::thread::sleep(Duration::from_millis(25));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(Error::io(&path, "taking the watcher lock", e));
            }
        }
    }
    let first = home.with_index(heartbeat).ok().flatten();
    Err(Error::Watching {
        path,
        pid: first.as_ref().map(|b| i64::from(b.pid)),
        since_ms: first.map(|b| b.started_ms),
    })
}

/// Writes the heartbeat: now, and what changed.
fn beat(
    home: &mut Home,
    started_ms: i64,
    last_event_ms: Option<i64>,
    refreshed_ms: Option<i64>,
) -> Result<()> {
    let pid = i64::from(std::process::id());
    home.with_index(|c, db| {
        c.execute(
            "INSERT INTO watcher(id, pid, started_ms, beat_ms, last_event_ms, refreshed_ms)
             VALUES (1, ?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(id) DO UPDATE SET pid = ?1, started_ms = ?2, beat_ms = ?3,
                last_event_ms = coalesce(?4, last_event_ms),
                refreshed_ms = coalesce(?5, refreshed_ms)",
            params![pid, started_ms, now_ms(), last_event_ms, refreshed_ms],
        )
        .map(|_| ())
        .map_err(|e| Error::db(db, "writing the watcher's heartbeat", e))
    })
}

/// Brings the watches in line with what exists now.
fn rewatch(
    watcher: &mut notify::RecommendedWatcher,
    places: &Places,
    watched: &mut BTreeSet<(PathBuf, bool)>,
    db: &Path,
    on: &mut dyn FnMut(WatchEvent<'_>),
) {
    let want = places.watches();
    for (path, _) in watched.difference(&want) {
        // A folder gone is no longer watched anyway.
        let _ = watcher.unwatch(path);
    }
    for (path, recursive) in want.difference(watched) {
        let mode = if *recursive {
            RecursiveMode::Recursive
        } else {
            RecursiveMode::NonRecursive
        };
        if let Err(e) = watcher.watch(path, mode) {
            on(WatchEvent::Trouble(&notify_error(db, e)));
        }
    }
    *watched = want;
}

fn notify_error(db: &Path, e: notify::Error) -> Error {
    let path = e.paths.first().cloned().unwrap_or_else(|| db.to_path_buf());
    let what = match &e.kind {
        notify::ErrorKind::MaxFilesWatch => "the system's limit of watched folders is reached \
             (raise fs.inotify.max_user_watches)"
            .to_string(),
        notify::ErrorKind::Io(e) => e.to_string(),
        notify::ErrorKind::PathNotFound => "not found".to_string(),
        other => format!("{other:?}"),
    };
    Error::io(path, "watching for changes", std::io::Error::other(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_matter_inside_trees_and_for_names_files_only() {
        let p = Places {
            trees: vec![PathBuf::from("/h/.codex/sessions")],
            files: vec![PathBuf::from("/h/.codex/session_index.jsonl")],
        };
        assert!(p.matters(Path::new("/h/.codex/sessions/2026/11/03/rollout-x.jsonl")));
        assert!(
            p.matters(Path::new("/h/.codex/sessions")),
            "the tree replaced"
        );
        assert!(p.matters(Path::new("/h/.codex")), "a folder above it");
        assert!(p.matters(Path::new("/h/.codex/session_index.jsonl")));
        assert!(
            !p.matters(Path::new("/h/.codex/rolldex.sqlite-wal")),
            "the index itself"
        );
        assert!(!p.matters(Path::new("/h/.codex/config.toml")));
    }
}

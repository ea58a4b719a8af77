//! The SQLite index: a rebuildable mirror of the rollouts for listing and search.
//!
//! One writer connection (the indexer) and a pool of read-only connections (queries). The
//! database runs in WAL mode so readers never wait for the writer, with a busy timeout so
//! that two processes meeting on the same file wait instead of failing with "database is
//! locked". It is created 0600: summaries of people's sessions are private.

mod feed;
pub mod ingest;
pub mod migrate;
pub mod scan;
pub mod summary;

use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};

/// File name of the index in a home, unless `--db` / `ROLLDEX_DB` says otherwise.
pub const DEFAULT_DB_NAME: &str = "rolldex.sqlite";

/// How long a connection waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A pooled read-only connection.
pub type Reader = r2d2::PooledConnection<SqliteConnectionManager>;

/// An open index.
pub struct Index {
    path: PathBuf,
    writer: Connection,
    /// Built on first use: a pool starts a thread, which a one-shot command answering from
    /// the writer's connection does not need.
    readers: std::sync::OnceLock<r2d2::Pool<SqliteConnectionManager>>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index").field("path", &self.path).finish()
    }
}

impl Index {
    /// The default index path in a home.
    pub fn default_path(home: &Path) -> PathBuf {
        home.join(DEFAULT_DB_NAME)
    }

    /// Opens (creating it 0600 if needed) and migrates the index at `path`.
    pub fn open(path: &Path) -> Result<Index> {
        create_private(path)?;
        let mut writer = Connection::open(path).map_err(|e| Error::db(path, "opening", e))?;
        writer
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| Error::db(path, "configuring", e))?;
        // Refuse a newer schema before anything writes (even switching to WAL rewrites the
        // header): that database is not ours to touch.
        migrate::refuse_newer(&writer, path)?;
        // WAL: readers never block on the writer. synchronous=NORMAL: a power loss may drop
        // the last transactions, never corrupt the file, and the index is rebuildable from
        // the rollouts anyway. Switching a new file to WAL takes a lock SQLite does not
        // wait for (two processes creating the index at once): that is retried here.
        // temp_store=MEMORY: statement journals stay in memory instead of spilling to an
        // unlinked temp file past 64 KiB. Every upsert that follows a full-text write opens
        // a savepoint in which FTS5 flushes its segment, and journaling those pages through
        // pwrite was 13% of indexing's profile (100,000 sessions: system time 13-18 s ->
        // 8 s); a statement journal holds only the pages one statement changes.
        let started = std::time::Instant::now();
        loop {
            let configured = writer.execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA cache_size = -16384;
                 PRAGMA temp_store = MEMORY;
                 PRAGMA foreign_keys = ON;",
            );
            match configured {
                Ok(()) => break,
                Err(rusqlite::Error::SqliteFailure(f, _))
                    if matches!(
                        f.code,
                        rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                    ) && started.elapsed() < BUSY_TIMEOUT =>
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(Error::db(path, "configuring", e)),
            }
        }
        migrate::migrate(&mut writer, path)?;
        Ok(Index {
            path: path.to_path_buf(),
            writer,
            readers: std::sync::OnceLock::new(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Brings the index up to date with the Codex rollouts under `home`; see [`ingest`].
    pub fn refresh(
        &mut self,
        home: &Path,
        opts: ingest::RefreshOptions,
        progress: &mut dyn FnMut(ingest::Progress),
    ) -> Result<ingest::RefreshReport> {
        ingest::refresh(
            self,
            &[(crate::agents::Agent::Codex, home.to_path_buf())],
            opts,
            progress,
        )
    }

    /// Brings the index up to date with the sessions of every agent root (each agent with
    /// its root folder); see [`ingest`].
    pub fn refresh_roots(
        &mut self,
        roots: &[(crate::agents::Agent, PathBuf)],
        opts: ingest::RefreshOptions,
        progress: &mut dyn FnMut(ingest::Progress),
    ) -> Result<ingest::RefreshReport> {
        ingest::refresh(self, roots, opts, progress)
    }

    /// Follows a rollout that the archive job compressed: its rows move to the `.zst`, with
    /// the content checksum, and nothing is read again. A file the index does not know is
    /// left to the next refresh.
    pub fn record_compressed(&mut self, plain: &Path, zst: &Path, checksum: &str) -> Result<()> {
        ingest::record_compressed(self, plain, zst, checksum)
    }

    /// Records the content checksums of files the index knows (preserved copies just
    /// written), for `verify`: one transaction for all of them.
    pub fn record_checksums<'a>(
        &mut self,
        files: impl IntoIterator<Item = (&'a Path, &'a str)>,
    ) -> Result<()> {
        let db = self.path.clone();
        let err = |e| Error::db(&db, "recording checksums", e);
        let _lock = ingest::lock_indexer(&db)?;
        let tx = self
            .writer
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(err)?;
        {
            let mut update = tx
                .prepare_cached("UPDATE files SET checksum = ?2 WHERE path = ?1")
                .map_err(err)?;
            for (path, checksum) in files {
                if let Some(key) = path.to_str() {
                    update
                        .execute(rusqlite::params![key, checksum])
                        .map_err(err)?;
                }
            }
        }
        tx.commit().map_err(err)
    }

    /// The writer connection (the indexer's).
    pub fn writer(&mut self) -> &mut Connection {
        &mut self.writer
    }

    /// The writer's connection, to read from where one connection is all a caller needs
    /// (a one-shot command): no pool, no thread, no second open.
    pub fn connection(&self) -> &Connection {
        &self.writer
    }

    /// A read-only connection from the pool (built on first use).
    pub fn reader(&self) -> Result<Reader> {
        let pool = match self.readers.get() {
            Some(p) => p,
            None => {
                let manager = SqliteConnectionManager::file(&self.path)
                    .with_flags(OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                    .with_init(|c| {
                        c.busy_timeout(BUSY_TIMEOUT)?;
                        c.execute_batch("PRAGMA foreign_keys = ON;")
                    });
                let pool = r2d2::Pool::builder()
                    .max_size(4)
                    .min_idle(Some(0))
                    .build(manager)
                    .map_err(|e| Error::Pool {
                        path: self.path.clone(),
                        reason: e.to_string(),
                    })?;
                self.readers.get_or_init(|| pool)
            }
        };
        pool.get().map_err(|e| Error::Pool {
            path: self.path.clone(),
            reason: e.to_string(),
        })
    }
}

/// Creates the database file 0600 (and its folder 0700) before SQLite does, so it is never
/// readable by others, not even for a moment. SQLite gives its -wal and -shm files the
/// same mode as the database.
fn create_private(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::layout::create_private_dir(dir)?;
    }
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::io(path, "creating the index", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_new_index_is_private_migrated_and_readable_from_the_pool() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tmp", "tmp", e))?;
        let path = dir.path().join("sub/idx.sqlite");
        let mut index = Index::open(&path)?;
        index
            .writer()
            .execute_batch("INSERT INTO sessions(id, path, updated_ms) VALUES ('a', '/p', 1)")
            .map_err(|e| Error::db(&path, "insert", e))?;
        let n: i64 = index
            .reader()?
            .query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
            .map_err(|e| Error::db(&path, "count", e))?;
        assert_eq!(n, 1);
        for p in [path.clone(), dir.path().join("sub/idx.sqlite-wal")] {
            let mode = std::fs::metadata(&p)
                .map_err(|e| Error::io(&p, "stat", e))?
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{}", p.display());
        }
        // Readers cannot write.
        assert!(
            index
                .reader()?
                .execute_batch("DELETE FROM sessions")
                .is_err()
        );
        // Reopening finds the data and the schema as they were.
        drop(index);
        let index = Index::open(&path)?;
        let v = migrate::version(&*index.reader()?).map_err(|e| Error::db(&path, "v", e))?;
        assert_eq!(v, migrate::LATEST);
        Ok(())
    }
}

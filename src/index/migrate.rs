//! Schema migrations: plain SQL files in `migrations/`, embedded at build time, applied in
//! order in one transaction; the schema version lives in `PRAGMA user_version`.

use std::path::Path;

use rusqlite::Connection;

use crate::error::{Error, Result};

/// Every migration, in order: migration `i` brings the schema to version `i + 1`.
pub const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_initial",
        include_str!("../../migrations/0001_initial.sql"),
    ),
    (
        "0002_session_items_and_title_source",
        include_str!("../../migrations/0002_session_items_and_title_source.sql"),
    ),
    (
        "0003_names_subagents_ordinals_usage",
        include_str!("../../migrations/0003_names_subagents_ordinals_usage.sql"),
    ),
    (
        "0004_unreadable_files_and_request_titles",
        include_str!("../../migrations/0004_unreadable_files_and_request_titles.sql"),
    ),
    (
        "0005_whole_document_hashes",
        include_str!("../../migrations/0005_whole_document_hashes.sql"),
    ),
    (
        "0006_tokens_by_kind_per_model",
        include_str!("../../migrations/0006_tokens_by_kind_per_model.sql"),
    ),
    (
        "0007_watcher_heartbeat",
        include_str!("../../migrations/0007_watcher_heartbeat.sql"),
    ),
    (
        "0008_fts_automerge",
        include_str!("../../migrations/0008_fts_automerge.sql"),
    ),
];

/// The schema version this build writes.
pub const LATEST: i64 = MIGRATIONS.len() as i64;

/// Brings the database to [`LATEST`]. A database written by a newer rolldex is refused,
/// untouched: this build cannot know what its newer tables mean.
pub fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let db = |e| Error::db(path, "migrating the index", e);
    // Up to date, the common case: no write lock needed to find that out.
    if version(conn).map_err(db)? == LATEST {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(db)?;
    let version: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(db)?;
    if version > LATEST {
        return Err(Error::SchemaTooNew {
            path: path.to_path_buf(),
            found: version,
            known: LATEST,
        });
    }
    for (_name, sql) in &MIGRATIONS[version as usize..] {
        tx.execute_batch(sql).map_err(db)?;
    }
    if version < LATEST {
        // PRAGMA takes no parameters; LATEST is a compile-time integer.
        tx.execute_batch(&format!("PRAGMA user_version = {LATEST}"))
            .map_err(db)?;
    }
    tx.commit().map_err(db)
}

/// Fails with [`Error::SchemaTooNew`] when the database was written by a newer rolldex.
/// Only reads.
pub fn refuse_newer(conn: &Connection, path: &Path) -> Result<()> {
    let found = version(conn).map_err(|e| Error::db(path, "reading the schema version", e))?;
    if found > LATEST {
        return Err(Error::SchemaTooNew {
            path: path.to_path_buf(),
            found,
            known: LATEST,
        });
    }
    Ok(())
}

/// The schema version of an open database.
pub fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_database_migrates_to_latest_and_again_is_a_no_op() -> Result<()> {
        let mut conn = Connection::open_in_memory().map_err(|e| Error::db("mem", "open", e))?;
        migrate(&mut conn, Path::new(":memory:"))?;
        assert_eq!(version(&conn).ok(), Some(LATEST));
        migrate(&mut conn, Path::new(":memory:"))?;
        assert_eq!(version(&conn).ok(), Some(LATEST));
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name IN ('files','sessions','items','items_fts')",
                [],
                |r| r.get(0),
            )
            .map_err(|e| Error::db("mem", "q", e))?;
        assert_eq!(tables, 4);
        Ok(())
    }

    #[test]
    fn schema_2_gives_a_schema_1_database_item_counts() -> Result<()> {
        let conn = Connection::open_in_memory().map_err(|e| Error::db("mem", "open", e))?;
        let db = |e| Error::db("mem", "setup", e);
        // Schema 1 exactly as an earlier rolldex wrote it, with data in it.
        conn.execute_batch(MIGRATIONS[0].1).map_err(db)?;
        conn.execute_batch(
            "INSERT INTO sessions(key, id, path, updated_ms, title) VALUES (1, 'a', '/a', 5, 'fix it');
             INSERT INTO items(session_key, seq, kind, summary, offset) VALUES (1, 2, 'message', 'x', 0), (1, 3, 'message', 'y', 9);",
        )
        .map_err(db)?;
        conn.execute_batch(MIGRATIONS[1].1).map_err(db)?;
        let (title, items, typed): (String, i64, i64) = conn
            .query_row(
                "SELECT title, items, title_typed FROM sessions WHERE key = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(db)?;
        assert_eq!((title.as_str(), items, typed), ("fix it", 2, 0));
        Ok(())
    }

    #[test]
    fn schema_3_clears_an_older_mirror_so_the_next_refresh_reads_the_new_fields() -> Result<()> {
        let mut conn = Connection::open_in_memory().map_err(|e| Error::db("mem", "open", e))?;
        let db = |e| Error::db("mem", "setup", e);
        for (_, sql) in &MIGRATIONS[..2] {
            conn.execute_batch(sql).map_err(db)?;
        }
        conn.execute_batch(
            "PRAGMA user_version = 2;
             INSERT INTO sessions(key, id, path, updated_ms) VALUES (1, 'a', '/a', 5);
             INSERT INTO files(path, session_key, size, mtime_ns) VALUES ('/a', 1, 10, 1);
             INSERT INTO items(session_key, seq, kind, summary, offset) VALUES (1, 2, 'message', 'x', 0);
             INSERT INTO items_fts(rowid, summary) SELECT rowid, summary FROM items;",
        )
        .map_err(db)?;
        migrate(&mut conn, Path::new(":memory:"))?;
        assert_eq!(version(&conn).ok(), Some(LATEST));
        let left: i64 = conn
            .query_row(
                "SELECT (SELECT count(*) FROM sessions) + (SELECT count(*) FROM files)
                      + (SELECT count(*) FROM items)
                      + (SELECT count(*) FROM items_fts WHERE items_fts MATCH 'x')",
                [],
                |r| r.get(0),
            )
            .map_err(db)?;
        assert_eq!(left, 0);
        conn.execute_batch(
            "INSERT INTO sessions(id, path, updated_ms, parent_id, agent_nickname, agent_role)
             VALUES ('b', '/b', 1, 'a', 'scout', 'explorer');
             INSERT INTO names(id, name, name_key) VALUES ('b', 'Scout', 'scout');",
        )
        .map_err(db)?;
        Ok(())
    }

    #[test]
    fn a_newer_schema_is_refused_untouched() -> Result<()> {
        let mut conn = Connection::open_in_memory().map_err(|e| Error::db("mem", "open", e))?;
        conn.execute_batch("CREATE TABLE future(x); PRAGMA user_version = 99;")
            .map_err(|e| Error::db("mem", "setup", e))?;
        let err = migrate(&mut conn, Path::new("idx.sqlite")).expect_err("refused");
        assert!(
            matches!(err, Error::SchemaTooNew { found: 99, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("newer rolldex"), "{err}");
        assert_eq!(version(&conn).ok(), Some(99));
        Ok(())
    }
}

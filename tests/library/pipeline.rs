//! The indexer reads and parses on a thread of its own, ahead of the SQLite writer. Its
//! index must be the one the single-threaded indexer builds: same rows in every table,
//! same full-text answers, on the bench corpus and on the odd files (torn, compressed,
//! legacy, archived), from nothing and after appends.

use std::fs;
use std::io::Write;
use std::path::Path;

use rolldex::index::Index;
use rolldex::index::ingest::RefreshOptions;
use rusqlite::Connection;

use crate::util::archive::generate;
use crate::util::corpus::{self, CorpusSpec, Profile};

/// Every row of the tables the indexer writes, as text, in key order.
fn dump(db: &Path) -> Vec<String> {
    let conn = Connection::open(db).expect("open");
    let mut out = Vec::new();
    for table in ["sessions", "items", "files", "names", "dirs"] {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM {table} ORDER BY 1"))
            .expect("select");
        let columns = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                let mut line = format!("{table}:");
                for i in 0..columns {
                    let v: rusqlite::types::Value = r.get(i)?;
                    line.push_str(&format!(" {v:?}"));
                }
                Ok(line)
            })
            .expect("query")
            .collect::<Result<Vec<_>, _>>()
            .expect("rows");
        out.extend(rows);
    }
    out
}

/// Rowids matching each query, through the full-text index.
fn answers(db: &Path, queries: &[&str]) -> Vec<Vec<i64>> {
    let conn = Connection::open(db).expect("open");
    // The full-text index agrees with the items it was built from.
    conn.execute(
        "INSERT INTO items_fts(items_fts) VALUES('integrity-check')",
        [],
    )
    .expect("fts integrity-check");
    queries
        .iter()
        .map(|q| {
            conn.prepare("SELECT rowid FROM items_fts WHERE items_fts MATCH ?1 ORDER BY rowid")
                .expect("prepare")
                .query_map([q], |r| r.get(0))
                .expect("match")
                .collect::<Result<Vec<i64>, _>>()
                .expect("rows")
        })
        .collect()
}

fn refresh(home: &Path, db: &Path, single_thread: bool) {
    let mut index = Index::open(db).expect("open index");
    let report = index
        .refresh(
            home,
            RefreshOptions {
                complete: true,
                single_thread,
                ..RefreshOptions::default()
            },
            &mut |_| {},
        )
        .expect("refresh");
    assert!(report.items_indexed > 0 || report.files_indexed > 0 || report.sessions > 0);
}

#[test]
fn the_reading_thread_builds_the_index_the_single_thread_builds() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path().join("home");
    let bench = corpus::generate_profile(
        &home,
        &CorpusSpec {
            sessions: 80,
            total_bytes: 30_000_000,
            seed: 7,
        },
        Profile::Bench,
    )
    .expect("corpus");
    // Torn, compressed, legacy and archived files next to them.
    generate(&home, 40, 8);
    let (one, two) = (dir.path().join("one.sqlite"), dir.path().join("two.sqlite"));
    let queries: Vec<String> = ["error", "the AND fix", "refactor*"]
        .iter()
        .map(|q| q.to_string())
        .chain(bench.sessions.iter().take(20).map(|s| s.rare_word.clone()))
        .collect();
    let queries: Vec<&str> = queries.iter().map(String::as_str).collect();

    refresh(&home, &one, true);
    refresh(&home, &two, false);
    let rows = dump(&one);
    let items = rows.iter().filter(|r| r.starts_with("items:")).count();
    assert!(items > 8_000, "{items} items");
    assert_eq!(rows, dump(&two), "same rows from nothing");
    let found = answers(&one, &queries);
    assert!(
        found.iter().all(|f| !f.is_empty()),
        "every query finds something"
    );
    assert_eq!(found, answers(&two, &queries), "same answers from nothing");

    // Appends to some sessions: both continue from where they were.
    for s in bench.sessions.iter().step_by(9) {
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(&s.path)
            .expect("open");
        writeln!(
            f,
            r#"{{"timestamp":"2026-01-01T00:00:00.000Z","type":"response_item","payload":{{"type":"message","role":"user","content":[{{"type":"input_text","text":"appended{} later"}}]}}}}"#,
            &s.id[..8]
        )
        .expect("append");
    }
    refresh(&home, &one, true);
    refresh(&home, &two, false);
    assert_eq!(dump(&one), dump(&two), "same rows after appends");
    let appended: Vec<String> = bench
        .sessions
        .iter()
        .step_by(9)
        .map(|s| format!("appended{}", &s.id[..8]))
        .collect();
    let appended: Vec<&str> = appended.iter().map(String::as_str).collect();
    let found = answers(&one, &appended);
    assert!(
        found.iter().all(|f| f.len() == 1),
        "each appended word once"
    );
    assert_eq!(found, answers(&two, &appended));
}

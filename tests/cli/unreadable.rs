//! A file that cannot be read is read once, named once, and read again only when it
//! changes: queries stay on the fast path, print nothing new and write nothing.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::util::archive::{generate, json_lines};
use crate::util::{ok, plant_bad_files, run};

const CORRUPT: &str = "rollout-2025-01-01T00-00-41-0bad0000-0000-4000-8000-000000000041.jsonl.zst";
const NO_ID: &str = "rollout-nothing.jsonl";

/// A home of good sessions, plus a corrupt `.zst` and a file with no session id.
fn home_with_broken_files() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let home = tempfile::tempdir().expect("tmp");
    generate(home.path(), 20, 11);
    let planted = plant_bad_files(home.path(), &[CORRUPT, NO_ID]);
    let (corrupt, no_id) = (planted[0].clone(), planted[1].clone());
    (home, corrupt, no_id)
}

/// What tells that the index file was written: its size, mtime and bytes.
fn db_state(home: &Path) -> (u64, i64, i64, Vec<u8>) {
    let db = home.join("rolldex.sqlite");
    let m = fs::metadata(&db).expect("db");
    (
        m.len(),
        m.mtime(),
        m.mtime_nsec(),
        fs::read(&db).expect("read"),
    )
}

fn stderr_of(home: &Path, args: &[&str]) -> String {
    let out = run(home, args, b"");
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_broken_file_is_named_once_not_read_again_and_seen_again_once_it_changes() {
    let (home, corrupt, no_id) = home_with_broken_files();
    let h = home.path();
    let first = stderr_of(h, &["list"]);
    for p in [&corrupt, &no_id] {
        assert_eq!(
            first.matches(&*p.to_string_lossy()).count(),
            1,
            "named once when first seen: {first}"
        );
    }

    // Later queries: nothing is named again (one line counts them), nothing is written.
    let before = db_state(h);
    for args in [&["list"][..], &["search", "flamingo"], &["stats"]] {
        let err = stderr_of(h, args);
        assert!(
            !err.contains(CORRUPT) && !err.contains(NO_ID),
            "{args:?} named a known broken file again: {err}"
        );
        assert!(
            err.contains("2 file(s) could not be read") && err.lines().count() == 1,
            "{args:?}: one line counts them: {err}"
        );
    }
    assert!(
        db_state(h) == before,
        "a query with nothing changed wrote to the index"
    );

    // `index` reads nothing again and names both; `verify` and `du` name them too.
    let out = run(h, &["index", "--json"], b"");
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let report: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).expect("json");
    assert_eq!(report["files_opened"], 0, "{report}");
    let named: Vec<&str> = report["unreadable"]
        .as_array()
        .expect("unreadable")
        .iter()
        .map(|u| u["path"].as_str().expect("path"))
        .collect();
    assert_eq!(named.len(), 2, "{report}");
    let err = String::from_utf8_lossy(&out.stderr);
    for p in [&corrupt, &no_id] {
        assert!(named.contains(&&*p.to_string_lossy()), "{report}");
        assert!(err.contains(&*p.to_string_lossy()), "index names it: {err}");
    }
    let out = run(h, &["verify"], b"");
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    for p in [&corrupt, &no_id] {
        assert!(
            text.contains(&*p.to_string_lossy()),
            "verify names it: {text}"
        );
    }
    let du = json_lines(&ok(h, &["du", "--json"], b""));
    assert_eq!(
        du[0]["unreadable"].as_array().map(Vec::len),
        Some(2),
        "{}",
        du[0]
    );
    assert!(ok(h, &["du"], b"").contains("2 file(s) could not be read"));

    // Each file replaced by a good one, in place (the folder's mtime does not move): the
    // next query reads it.
    let good = r#"{"timestamp":"2025-01-01T00:00:41.000Z","type":"session_meta","payload":{"id":"0bad0000-0000-4000-8000-000000000041","timestamp":"2025-01-01T00:00:41.000Z","cwd":"/w"}}
{"timestamp":"2025-01-01T00:00:42.000Z","type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"mended at last"}]}}
"#;
    let dir_mtime = fs::metadata(corrupt.parent().expect("dir"))
        .expect("dir")
        .mtime_nsec();
    fs::write(
        &corrupt,
        zstd::encode_all(good.as_bytes(), 3).expect("zstd"),
    )
    .expect("write");
    fs::write(
        &no_id,
        good.replace(
            "0bad0000-0000-4000-8000-000000000041",
            "0bad0000-0000-4000-8000-000000000999",
        ),
    )
    .expect("write");
    assert_eq!(
        fs::metadata(corrupt.parent().expect("dir"))
            .expect("dir")
            .mtime_nsec(),
        dir_mtime,
        "rewritten in place"
    );
    let out = run(h, &["list", "--json"], b"");
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ids: Vec<String> = json_lines(&String::from_utf8_lossy(&out.stdout))
        .iter()
        .map(|s| s["id"].as_str().expect("id").to_string())
        .collect();
    for id in [
        "0bad0000-0000-4000-8000-000000000041",
        "0bad0000-0000-4000-8000-000000000999",
    ] {
        assert!(ids.iter().any(|i| i == id), "{id} not listed: {ids:?}");
    }
    let out = run(h, &["verify"], b"");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = run(h, &["index"], b"");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

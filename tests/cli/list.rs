//! `rolldex list` on the fixture home: every layout, twins once, a clear empty message.

use std::fs;

use crate::util::{copied_home, ok};

#[test]
fn list_shows_every_session_once_with_its_own_meta() {
    let home = copied_home();
    // A stale .zst twin of a plain file is the same session, listed once.
    let legacy = home.path().join(
        "sessions/2025/05/07/rollout-2025-05-07T17-24-21-5973b6c0-94b8-487b-a530-2aeb6098ae0e.jsonl",
    );
    fs::write(
        legacy.with_extension("jsonl.zst"),
        zstd::encode_all(&b"{}\n"[..], 3).expect("z"),
    )
    .expect("write");
    let out = ok(home.path(), &["list"], b"");
    // `2026-02-23 12:20Z  <id>  owner/repo@branch  title`
    let ids: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "0199a213-81c0-7800-8aa1-bbab2a035a53",
            "0199a5f0-0000-7000-8000-00000000f0c1",
            "019a0000-aaaa-7bbb-8ccc-dddddddddddd",
            "3c0ffee0-1111-4222-8333-444455556666",
            "5973b6c0-94b8-487b-a530-2aeb6098ae0e",
        ]
    );
    // The fork file carries its parent's meta first: its own is the one shown.
    let json = ok(home.path(), &["list", "--json"], b"");
    let fork: serde_json::Value = json
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .find(|v: &serde_json::Value| v["id"] == "0199a5f0-0000-7000-8000-00000000f0c1")
        .expect("fork listed");
    assert_eq!(fork["cwd"], "/home/dev/widget-fork");
    assert_eq!(fork["branch"], "fork-branch");
    let limited = ok(home.path(), &["list", "--limit", "2"], b"");
    assert!(limited.ends_with("... 3 more (use --limit)\n"), "{limited}");
}

#[test]
fn list_of_an_empty_home_says_so() {
    let home = tempfile::tempdir().expect("tmp");
    let out = ok(home.path(), &["list"], b"");
    assert!(out.starts_with("No sessions under "), "{out}");
    // Saying so does not create an index in a home that has nothing.
    assert!(!home.path().join("rolldex.sqlite").exists());
}

//! The refresh queries run first lists only folders whose mtime changed and examines only
//! plain files: every kind of change must still be seen by the very next query.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use crate::util::archive::{generate, ids};
use crate::util::{ok, rollouts};

fn listed(home: &Path) -> Vec<String> {
    let mut v = ids(&ok(home, &["list", "--json", "--limit", "10000"], b""));
    v.sort();
    v
}

fn session(home: &Path, id: &str) -> Value {
    ok(home, &["list", "--json", "--limit", "10000"], b"")
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("json"))
        .find(|v| v["id"] == id)
        .unwrap_or(Value::Null)
}

fn set_mtime(path: &Path, t: SystemTime) {
    fs::File::open(path)
        .and_then(|f| f.set_modified(t))
        .expect("set mtime");
}

/// A plain rollout in a day folder, written like Codex does.
fn rollout(dir: &Path, id: &str, word: &str) -> PathBuf {
    fs::create_dir_all(dir).expect("mkdir");
    let p = dir.join(format!("rollout-2025-06-03T10-00-00-{id}.jsonl"));
    let meta = json!({"timestamp":"2025-06-03T10:00:00.000Z","type":"session_meta",
        "payload":{"id":id,"timestamp":"2025-06-03T10:00:00.000Z","cwd":"/w"}});
    let msg = json!({"timestamp":"2025-06-03T10:00:01.000Z","type":"response_item",
        "payload":{"type":"message","role":"user","content":[{"type":"input_text","text":word}]}});
    fs::write(&p, format!("{meta}\n{msg}\n")).expect("write");
    p
}

fn hits(home: &Path, word: &str) -> usize {
    ok(home, &["search", "--json", word], b"").lines().count()
}

#[test]
fn every_change_is_seen_by_the_very_next_query() {
    let home = tempfile::tempdir().expect("tmp");
    let h = home.path();
    let specs = generate(h, 120, 31);
    ok(h, &["index"], b"");
    let before = listed(h);
    assert_eq!(before.len(), 120);
    // An old day folder, already indexed.
    let old = specs
        .iter()
        .find(|s| !s.compressed && !s.torn && !s.legacy && !s.archived)
        .expect("a plain session");
    let day = old.path.parent().expect("day").to_path_buf();

    // A new file in an old folder.
    let new_id = "0f0f0f0f-0000-4000-8000-000000000001";
    let new = rollout(&day, new_id, "newinoldfolder");
    assert!(listed(h).contains(&new_id.to_string()));
    assert_eq!(hits(h, "newinoldfolder"), 1);

    // An append to an old plain file in an old folder.
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(&old.path)
        .expect("open");
    writeln!(
        f,
        r#"{{"timestamp":"2026-01-01T00:00:00.000Z","type":"response_item","payload":{{"type":"message","role":"assistant","content":[{{"type":"output_text","text":"appendedlater"}}]}}}}"#
    )
    .expect("append");
    drop(f);
    assert_eq!(hits(h, "appendedlater"), 1);

    // A .zst replaced by its plain twin (resume), and back (archive).
    let zst = specs
        .iter()
        .find(|s| s.compressed && !s.torn)
        .expect("a compressed session");
    let printed = ok(h, &["resume", &zst.id], b"");
    assert!(session(h, &zst.id)["compressed"] == false, "{printed}");
    ok(h, &["archive", "--older-than", "0s"], b"");
    assert!(session(h, &zst.id)["compressed"] == true);
    // Archived outside rolldex (another tool): only the folder's mtime tells.
    let plain = rollout(
        &day,
        "0f0f0f0f-0000-4000-8000-000000000002",
        "zstbyothertool",
    );
    assert_eq!(hits(h, "zstbyothertool"), 1);
    let bytes = fs::read(&plain).expect("read");
    fs::write(
        format!("{}.zst", plain.display()),
        zstd::encode_all(&bytes[..], 3).expect("zstd"),
    )
    .expect("write");
    fs::remove_file(&plain).expect("rm");
    assert!(session(h, "0f0f0f0f-0000-4000-8000-000000000002")["compressed"] == true);

    // A removed file (archive compressed it above).
    fs::remove_file(format!("{}.zst", new.display())).expect("rm");
    assert!(!listed(h).contains(&new_id.to_string()));

    // A renamed folder: its sessions follow.
    let renamed = day.with_file_name("99");
    fs::rename(&day, &renamed).expect("rename");
    let moved = session(h, &old.id);
    assert!(
        moved["path"].as_str().is_some_and(|p| p.contains("/99/")),
        "{moved}"
    );

    // A changed session_index.jsonl.
    let names = h.join("session_index.jsonl");
    fs::write(
        &names,
        format!(
            r#"{{"id":"{}","thread_name":"found by name","updated_at":"2026-01-01T00:00:00Z"}}"#,
            old.id
        ) + "\n",
    )
    .expect("write");
    assert_eq!(session(h, &old.id)["name"], "found by name");

    // A clock that goes backwards: a new file, and its folder's mtime set before the one
    // recorded.
    let back_id = "0f0f0f0f-0000-4000-8000-000000000003";
    rollout(&renamed, back_id, "clockwentback");
    set_mtime(
        &renamed,
        SystemTime::now() - Duration::from_secs(86_400 * 400),
    );
    assert_eq!(hits(h, "clockwentback"), 1);

    // And the complete walk of `index` agrees with the fast one.
    let fast = listed(h);
    ok(h, &["index", "--full"], b"");
    assert_eq!(listed(h), fast);
    assert_eq!(rollouts(h).len(), fast.len());
}

#[test]
fn a_zst_rewritten_in_place_is_seen_by_index() {
    let home = tempfile::tempdir().expect("tmp");
    let h = home.path();
    let p = rollout(
        &h.join("sessions/2025/06/03"),
        "0f0f0f0f-0000-4000-8000-000000000009",
        "firstversion",
    );
    let bytes = fs::read(&p).expect("read");
    let zst = PathBuf::from(format!("{}.zst", p.display()));
    fs::write(&zst, zstd::encode_all(&bytes[..], 3).expect("zstd")).expect("write");
    fs::remove_file(&p).expect("rm");
    ok(h, &["index"], b"");
    assert_eq!(hits(h, "firstversion"), 1);
    // Rewritten in place (same name, so the folder's mtime does not move): queries may not
    // see it, `rolldex index` does.
    let text = String::from_utf8(bytes)
        .expect("utf8")
        .replace("firstversion", "secondversion");
    let mut f = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&zst)
        .expect("open");
    f.write_all(&zstd::encode_all(text.as_bytes(), 3).expect("zstd"))
        .expect("write");
    drop(f);
    ok(h, &["index"], b"");
    assert_eq!(hits(h, "secondversion"), 1);
    assert_eq!(hits(h, "firstversion"), 0);
}

/// A session rewritten shorter is read again from the start. When it holds the newest items,
/// its new items reuse the rowids its old ones had, and their full-text rows must follow
/// (the indexer writes a batch's text from its first new rowid, not from the old maximum).
#[test]
fn a_rewritten_newest_session_is_searchable_by_its_new_words() {
    let home = tempfile::tempdir().expect("tmp");
    let h = home.path();
    let day = h.join("sessions/2025/06/03");
    rollout(&day, "0f0f0f0f-0000-4000-8000-0000000000a1", "olderword");
    let newest = rollout(&day, "0f0f0f0f-0000-4000-8000-0000000000a2", "firstword");
    // Several items, so the rewrite is shorter than what was indexed.
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(&newest)
        .expect("open");
    for i in 0..5 {
        writeln!(
            f,
            r#"{{"timestamp":"2025-06-03T10:00:0{i}.000Z","type":"response_item","payload":{{"type":"message","role":"assistant","content":[{{"type":"output_text","text":"filler number {i}"}}]}}}}"#
        )
        .expect("append");
    }
    drop(f);
    ok(h, &["index"], b"");
    assert_eq!(hits(h, "firstword"), 1);

    rollout(&day, "0f0f0f0f-0000-4000-8000-0000000000a2", "secondword");
    assert_eq!(hits(h, "secondword"), 1, "the rewritten session's new word");
    assert_eq!(hits(h, "firstword"), 0, "the old word is gone");
    assert_eq!(hits(h, "filler"), 0, "the old items are gone");
    assert_eq!(hits(h, "olderword"), 1);
    // The index agrees with one built from nothing.
    ok(h, &["index", "--full"], b"");
    assert_eq!(hits(h, "secondword"), 1);
    assert_eq!(hits(h, "filler"), 0);
}

/// `rolldex index --json` of `home`.
fn index_report(home: &Path) -> Value {
    serde_json::from_str(&ok(home, &["index", "--json"], b"")).expect("json")
}

#[test]
fn a_refresh_opens_only_the_sessions_that_changed() {
    let home = tempfile::tempdir().expect("tmp");
    let h = home.path();
    let day = h.join("sessions/2025/06/03");
    let ids = [
        "0f0f0f0f-0000-4000-8000-00000000000a",
        "0f0f0f0f-0000-4000-8000-00000000000b",
        "0f0f0f0f-0000-4000-8000-00000000000c",
    ];
    let paths: Vec<PathBuf> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| rollout(&day, id, &format!("onlyword{i}")))
        .collect();
    // The second session has a copy in archived_sessions/: its twin, seen but not read.
    let archived = h.join("archived_sessions");
    fs::create_dir_all(&archived).expect("mkdir");
    let twin = archived.join(paths[1].file_name().expect("name"));
    fs::copy(&paths[1], &twin).expect("copy");
    let first = index_report(h);
    assert_eq!(first["sessions"], 3, "{first}");
    assert_eq!(first["files_opened"], 3, "{first}");
    assert_eq!(first["files_indexed"], 4, "{first}");

    // An append to one session: only its file is opened, and only its row written.
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(&paths[0])
        .expect("open");
    writeln!(
        f,
        r#"{{"timestamp":"2025-06-03T11:00:00.000Z","type":"response_item","payload":{{"type":"message","role":"assistant","content":[{{"type":"output_text","text":"appendedonce"}}]}}}}"#
    )
    .expect("append");
    drop(f);
    let appended = index_report(h);
    assert_eq!(appended["files_opened"], 1, "{appended}");
    assert_eq!(appended["files_indexed"], 1, "{appended}");
    assert_eq!(hits(h, "appendedonce"), 1);

    // The twin removed: its row goes, its session stays, nothing is read.
    fs::remove_file(&twin).expect("rm");
    let untwinned = index_report(h);
    assert_eq!(untwinned["files_removed"], 1, "{untwinned}");
    assert_eq!(untwinned["files_opened"], 0, "{untwinned}");
    assert_eq!(untwinned["sessions"], 3, "{untwinned}");
    assert_eq!(hits(h, "onlyword1"), 1);

    // A session's only file removed: the session goes.
    fs::remove_file(&paths[2]).expect("rm");
    let removed = index_report(h);
    assert_eq!(removed["sessions_removed"], 1, "{removed}");
    assert_eq!(removed["sessions"], 2, "{removed}");
    assert_eq!(hits(h, "onlyword2"), 0);
    let fast = listed(h);
    ok(h, &["index", "--full"], b"");
    assert_eq!(listed(h), fast);
}

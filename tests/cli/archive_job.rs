//! `rolldex archive` and `rolldex verify` on generated archives, with real zstd.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use crate::util::archive::{self, Spec, json_lines};
use crate::util::{ok, run};

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out.trim()).expect("one JSON object")
}

/// The stock `zstd` CLI, when this machine has one (CI installs it).
fn zstd_cli() -> Option<PathBuf> {
    Command::new("zstd")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| PathBuf::from("zstd"))
}

/// Decodes a `.zst` with the reference decoder at default limits, and with `zstd -d`.
fn decode(path: &Path) -> Vec<u8> {
    let bytes = fs::read(path).expect("read zst");
    let mut dec = zstd::stream::read::Decoder::new(&bytes[..]).expect("decoder");
    let mut out = Vec::new();
    std::io::copy(&mut dec, &mut out).expect("decodes with default limits");
    if let Some(cli) = zstd_cli() {
        let o = Command::new(cli)
            .arg("-dc")
            .arg(path)
            .output()
            .expect("zstd -d");
        assert!(
            o.status.success(),
            "zstd -d {}: {}",
            path.display(),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            o.stdout == out,
            "zstd -d and the library disagree on {}",
            path.display()
        );
    }
    out
}

fn set_mtime(path: &Path, t: SystemTime) {
    fs::File::options()
        .write(true)
        .open(path)
        .expect("open")
        .set_modified(t)
        .expect("mtime");
}

/// `list --json` without the fields archiving is expected to change.
fn listing(home: &Path) -> Vec<serde_json::Value> {
    let mut v = json_lines(&ok(home, &["list", "--json", "--limit", "10000"], b""));
    for o in &mut v {
        let m = o.as_object_mut().expect("object");
        for k in ["path", "compressed", "stored_bytes"] {
            m.remove(k);
        }
    }
    v
}

#[test]
fn archive_compresses_exactly_the_old_files_and_loses_nothing() {
    let home = tempfile::tempdir().expect("tmp");
    let h = home.path();
    let specs = archive::generate(h, 40, 5);
    // Half the plain files are recent.
    let plain: Vec<&Spec> = specs.iter().filter(|s| !s.compressed).collect();
    let now = SystemTime::now();
    let mut old = Vec::new();
    let mut recent = Vec::new();
    for (i, s) in plain.iter().enumerate() {
        if i % 2 == 0 {
            set_mtime(&s.path, now - Duration::from_secs(3600));
            recent.push(*s);
        } else {
            old.push(*s);
        }
    }
    let originals: Vec<(PathBuf, Vec<u8>, SystemTime)> = plain
        .iter()
        .map(|s| {
            let m = fs::metadata(&s.path).expect("meta");
            (
                s.path.clone(),
                fs::read(&s.path).expect("read"),
                m.modified().expect("mtime"),
            )
        })
        .collect();
    let before = listing(h);
    let word_of_old = old[0].word.clone();
    // A live session: a recorder holds its lock.
    let live = old.pop().expect("an old file to lock");
    let lock = fs::File::open(&live.path).expect("open");
    lock.lock().expect("lock");

    let r = json(&ok(h, &["archive", "--older-than", "30d", "--json"], b""));
    assert_eq!(r["compressed"], old.len(), "{r}");
    assert_eq!(r["errors"], 0, "{r}");
    assert_eq!(r["skipped_by_reason"]["live"], 1, "{r}");
    assert_eq!(r["skipped_by_reason"]["recent"], recent.len(), "{r}");
    for (path, bytes, mtime) in &originals {
        let zst = archive::zst(path);
        if old.iter().any(|s| &s.path == path) {
            assert!(!path.exists(), "{} not removed", path.display());
            assert!(
                decode(&zst) == *bytes,
                "{} does not decode to the original",
                zst.display()
            );
            assert_eq!(
                fs::metadata(&zst).expect("meta").modified().expect("mtime"),
                *mtime
            );
        } else {
            assert!(!zst.exists(), "{} compressed", path.display());
            assert!(
                fs::read(path).expect("read") == *bytes,
                "{} changed",
                path.display()
            );
        }
    }
    drop(lock);
    // The index followed: nothing to read again, and the answers are the same.
    let r = json(&ok(h, &["index", "--json"], b""));
    assert_eq!(r["files_opened"], 0, "{r}");
    assert_eq!(listing(h), before);
    let hits = json_lines(&ok(h, &["search", &word_of_old, "--json"], b""));
    assert!(!hits.is_empty());
    assert!(
        hits[0]["path"]
            .as_str()
            .expect("path")
            .ends_with(".jsonl.zst")
    );
    assert!(
        hits[0]["snippet"]
            .as_str()
            .expect("snippet")
            .contains(&word_of_old)
    );
    let shown = ok(h, &["show", &old[0].id], b"");
    assert!(shown.contains(&word_of_old));
    let resumed = ok(h, &["resume", &old[0].id[..8]], b"");
    assert_eq!(Path::new(resumed.trim()), old[0].path);
    let original = &originals
        .iter()
        .find(|o| o.0 == old[0].path)
        .expect("orig")
        .1;
    assert!(fs::read(&old[0].path).expect("read") == *original);
    // verify finds nothing wrong.
    let v = json_lines(&ok(h, &["verify", "--json"], b""));
    assert_eq!(v[0]["problems"], 0, "{v:?}");
    // The next run compresses the two left: the one resumed meanwhile (restored with its
    // old mtime, nothing appended) and the one that is no longer live.
    let r = json(&ok(h, &["archive", "--older-than", "30d", "--json"], b""));
    assert_eq!(r["compressed"], 2, "{r}");
    let r = json(&ok(h, &["archive", "--older-than", "30d", "--json"], b""));
    assert_eq!(r["compressed"], 0, "a third run has nothing to do: {r}");
}

#[test]
fn a_second_archive_run_at_once_is_refused() {
    let home = tempfile::tempdir().expect("tmp");
    archive::generate(home.path(), 3, 2);
    let lock = fs::File::create(home.path().join(".rolldex-archive.lock")).expect("create");
    lock.lock().expect("lock");
    let out = run(home.path(), &["archive", "--older-than", "1d"], b"");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("another `rolldex archive` is running"),
        "{err}"
    );
    assert!(archive::zst_count(home.path()) == 1, "nothing compressed");
}

#[test]
fn leftover_temp_files_are_removed_and_anything_else_is_left_alone() {
    let home = tempfile::tempdir().expect("tmp");
    let specs = archive::generate(home.path(), 3, 4);
    let dir = specs[0].path.parent().expect("dir");
    let hour_ago = SystemTime::now() - Duration::from_secs(3700);
    let temp = |name: &str, bytes: &[u8], old: bool| {
        let p = dir.join(format!(".rolldex-{name}.tmp"));
        fs::write(&p, bytes).expect("write");
        if old {
            set_mtime(&p, hour_ago);
        }
        p
    };
    // Ours to remove: an archive run's (any age); an old partial restore; an old empty
    // create temp (a recorder died before linking it).
    let gone = [
        temp("archive-0123abcd", b"half a frame", false),
        temp("restore-89abcdef", b"half restored", true),
        temp("create-00000001", b"", true),
    ];
    // A recorder that died between linking its rollout and dropping the temp name: the
    // temp is a second name of a real rollout, removed without touching the rollout.
    let linked = dir.join(".rolldex-create-00000002.tmp");
    fs::hard_link(&specs[1].path, &linked).expect("link");
    let rollout = fs::read(&specs[1].path).expect("read");
    // Not ours to remove: a restore or create in progress (fresh), and an old create temp
    // holding the only copy of some bytes.
    let kept = [
        temp("restore-4567abcd", b"being restored", false),
        temp("create-00000003", b"", false),
        temp("create-00000004", b"{\"only\":\"copy\"}\n", true),
    ];
    let r = json(&ok(
        home.path(),
        &["archive", "--older-than", "3650d", "--json"],
        b"",
    ));
    assert_eq!(r["temps_removed"], 4, "{r}");
    for p in gone.iter().chain([&linked]) {
        assert!(!p.exists(), "{} left", p.display());
    }
    for p in &kept {
        assert!(p.exists(), "{} removed", p.display());
    }
    assert_eq!(fs::read(&specs[1].path).expect("read"), rollout);
}

#[test]
fn a_failure_on_one_file_keeps_its_original_and_exits_1() {
    let home = tempfile::tempdir().expect("tmp");
    let dir = home.path().join("sessions/2025/01/01");
    fs::create_dir_all(&dir).expect("mkdir");
    // Incompressible content bigger than the file-size limit below, and a small file.
    let mut big = Vec::new();
    let mut x: u64 = 1;
    while big.len() < 200_000 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        big.extend_from_slice(format!("{{\"n\":\"{x:016x}\"}}\n").as_bytes());
    }
    let big_path =
        dir.join("rollout-2025-01-01T00-00-00-00000000-0000-4000-8000-000000000001.jsonl");
    let small_path =
        dir.join("rollout-2025-01-01T00-00-01-00000000-0000-4000-8000-000000000002.jsonl");
    fs::write(&big_path, &big).expect("write");
    fs::write(&small_path, b"{\"type\":\"message\"}\n").expect("write");
    let old = SystemTime::now() - Duration::from_secs(86_400 * 60);
    set_mtime(&big_path, old);
    set_mtime(&small_path, old);
    // A real write error: the file-size limit makes writing the big temp file fail (EFBIG).
    let script = format!(
        "trap '' XFSZ; ulimit -f 64; exec {} --home {} archive --older-than 30d",
        env!("CARGO_BIN_EXE_rolldex"),
        home.path().display()
    );
    let out = Command::new("bash")
        .env("CLAUDE_CONFIG_DIR", crate::util::NO_AGENT_ROOT)
        .env("ROLLDEX_GEMINI_HOME", crate::util::NO_AGENT_ROOT)
        .arg("-c")
        .arg(&script)
        .output()
        .expect("bash");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    let name = big_path.file_name().expect("name").to_str().expect("utf-8");
    assert!(
        err.contains(name) && err.contains("writing its compressed copy"),
        "{err}"
    );
    assert!(fs::read(&big_path).expect("original kept") == big);
    assert!(!archive::zst(&big_path).exists());
    // The other file was still compressed, and no temp file is left.
    assert!(!small_path.exists() && archive::zst(&small_path).exists());
    let leftovers: Vec<_> = fs::read_dir(&dir)
        .expect("ls")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".rolldex-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn verify_names_a_corrupt_archive() {
    let home = tempfile::tempdir().expect("tmp");
    let specs = archive::generate(home.path(), 6, 9);
    ok(home.path(), &["index"], b"");
    ok(home.path(), &["archive", "--older-than", "1d"], b"");
    let clean = json_lines(&ok(home.path(), &["verify", "--json"], b""));
    assert_eq!(clean[0]["problems"], 0, "{clean:?}");
    assert_eq!(clean[0]["files"], 6);
    let victim = archive::zst(
        specs
            .iter()
            .find(|s| !s.compressed)
            .map(|s| &s.path)
            .expect("plain"),
    );
    let mut bytes = fs::read(&victim).expect("read");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    fs::write(&victim, &bytes).expect("write");
    let out = run(home.path(), &["verify"], b"");
    // Done, but a file could not be read: 3 (README, "Exit codes").
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(victim.to_str().expect("utf-8")), "{text}");
}

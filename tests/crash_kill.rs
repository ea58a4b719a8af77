//! Crash tests: `rolldex archive`, `rolldex index` and `rolldex watch` killed with SIGKILL at seeded random
//! moments, 100 kills in all. After every kill: each session's bytes are whole in its
//! `.jsonl` or its `.jsonl.zst` (a twin left by a kill between link and removal must hold
//! the same bytes), no `.zst` is truncated, the index passes `PRAGMA integrity_check`; at
//! the end a normal run converges (no twins, the index matches the files). `rolldex forget`
//! is killed the same way: every session stays whole, in place or in the trash. And for
//! another agent's sessions (Claude Code): `archive` keeping copies and `forget` retiring
//! them, killed at random moments, never touch the agent's files, never leave a torn copy
//! at its name, and leave each deleted original's session in exactly one copy.

#[allow(dead_code)]
#[path = "util/mod.rs"]
mod util;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use util::corpus::{self, Rng};

/// The content of every session, by its plain path.
fn contents(home: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    util::rollouts(home)
        .into_iter()
        .map(|p| {
            let bytes = fs::read(&p).expect("read");
            if p.to_string_lossy().ends_with(".zst") {
                let plain = PathBuf::from(p.to_string_lossy().trim_end_matches(".zst"));
                (plain, zstd::decode_all(&bytes[..]).expect("decode"))
            } else {
                (p, bytes)
            }
        })
        .collect()
}

/// Nothing lost, nothing truncated, the index intact.
fn check(home: &Path, truth: &BTreeMap<PathBuf, Vec<u8>>, what: &str) {
    for (plain, bytes) in truth {
        let zst = util::archive::zst(plain);
        let mut copies = 0;
        if plain.exists() {
            assert!(
                fs::read(plain).expect("read") == *bytes,
                "{what}: {} changed",
                plain.display()
            );
            copies += 1;
        }
        if zst.exists() {
            let z = fs::read(&zst).expect("read");
            let decoded = zstd::decode_all(&z[..]).unwrap_or_else(|e| {
                panic!("{what}: {} is truncated or corrupt: {e}", zst.display())
            });
            assert!(
                decoded == *bytes,
                "{what}: {} holds other bytes",
                zst.display()
            );
            copies += 1;
        }
        assert!(copies >= 1, "{what}: {} is gone", plain.display());
    }
    let db = home.join("rolldex.sqlite");
    if db.exists() {
        let conn = rusqlite::Connection::open(&db).expect("open db");
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .expect("integrity_check");
        assert_eq!(ok, "ok", "{what}");
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("schema version");
        if version == 0 {
            // Killed after the file was made, before its schema committed: an empty index
            // the next run migrates, never a half-made schema.
            let objects: i64 = conn
                .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
                .expect("schema");
            assert_eq!(objects, 0, "{what}: a half-made schema");
            return;
        }
        // The full-text index agrees with the items it indexes (a killed indexer wrote both
        // or neither).
        conn.execute(
            "INSERT INTO items_fts(items_fts) VALUES('integrity-check')",
            [],
        )
        .unwrap_or_else(|e| panic!("{what}: full-text index: {e}"));
    }
}

/// Starts rolldex, lets it run `delay`, then SIGKILLs it.
fn kill_after(home: &Path, args: &[&str], delay: Duration) {
    let mut child = util::rolldex()
        .arg("--home")
        .arg(home)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    std::thread::sleep(delay);
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
}

#[test]
fn sigkill_at_random_moments_loses_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    corpus::generate(
        home,
        &corpus::CorpusSpec {
            sessions: 40,
            total_bytes: 24_000_000,
            seed: 99,
        },
    )
    .expect("corpus");
    let truth = contents(home);
    // Kills land anywhere in the first 250 ms; a full archive of this home takes about that.
    let mut rng = Rng::new(2026);
    let kills = 100;
    for k in 0..kills {
        let delay = Duration::from_micros(rng.below(250_000));
        let job: &[&str] = if k % 6 == 5 {
            // From nothing: the kill lands among the reading thread's and the writer's work.
            &["index", "--full"]
        } else if k % 6 == 4 {
            // A watcher killed mid-refresh: its first (complete) refresh, of an index made
            // anew, is where the kill lands.
            for f in ["rolldex.sqlite", "rolldex.sqlite-wal", "rolldex.sqlite-shm"] {
                let _ = fs::remove_file(home.join(f));
            }
            &["watch"]
        } else if k % 3 == 2 {
            &["index"]
        } else {
            &["archive", "--older-than", "0s"]
        };
        kill_after(home, job, delay);
        check(
            home,
            &truth,
            &format!("kill {k} of {job:?} after {delay:?}"),
        );
        // Once everything is compressed, bring some files back so later kills land on work.
        if k % 10 == 9 {
            for plain in truth.keys().step_by(2) {
                let zst = util::archive::zst(plain);
                if zst.exists() && !plain.exists() {
                    let out = util::rolldex()
                        .arg("--home")
                        .arg(home)
                        .args(["--no-refresh", "resume"])
                        .arg(session_id(plain))
                        .output()
                        .expect("resume");
                    assert!(
                        out.status.success(),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            }
            check(home, &truth, &format!("restores after kill {k}"));
        }
    }
    // A normal run converges: no twins left, every file in the index, nothing lost.
    let out = util::rolldex()
        .arg("--home")
        .arg(home)
        .args(["archive", "--older-than", "0s", "--json"])
        .output()
        .expect("archive");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check(home, &truth, "final archive");
    for plain in truth.keys() {
        assert!(
            !plain.exists() && util::archive::zst(plain).exists(),
            "{} not archived",
            plain.display()
        );
    }
    let leftovers: Vec<PathBuf> = util::rollouts(home)
        .into_iter()
        .filter(|p| !p.to_string_lossy().ends_with(".zst"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let out = util::rolldex()
        .arg("--home")
        .arg(home)
        .args(["verify", "--json"])
        .output()
        .expect("verify");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let summary: serde_json::Value =
        serde_json::from_str(text.lines().next().expect("summary")).expect("json");
    assert_eq!(summary["files"], truth.len(), "{summary}");
    assert_eq!(summary["problems"], 0, "{summary}");
    // No temp file survives a normal run.
    let temps: Vec<_> = util::files(home)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".rolldex-archive-"))
        })
        .collect();
    assert!(temps.is_empty(), "{temps:?}");
}

/// The uuid at the end of a rollout's file name.
fn session_id(plain: &Path) -> String {
    let name = plain.file_name().expect("name").to_string_lossy();
    let stem = name.trim_end_matches(".jsonl");
    stem[stem.len() - 36..].to_string()
}

#[test]
fn a_recorder_killed_mid_session_keeps_a_whole_prefix_and_resumes() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    let item = |k: u64, j: u64| {
        format!(
            r#"{{"type":"message","role":"user","content":[{{"type":"input_text","text":"round {k} item {j} {}"}}]}}"#,
            "x".repeat((j % 7) as usize * 100)
        )
    };
    let first = util::rolldex()
        .arg("--home")
        .arg(home)
        .args(["record", "--cwd", "/"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .expect("stdin")
                .write_all(format!("{}\n", item(0, 0)).as_bytes())?;
            c.wait_with_output()
        })
        .expect("record");
    let id = String::from_utf8(first.stdout)
        .expect("utf-8")
        .trim()
        .to_string();
    let mut rng = Rng::new(7);
    let rounds = 30u64;
    let file = util::rollouts(home).pop().expect("the rollout");
    for k in 1..=rounds {
        let len_before = fs::metadata(&file).expect("meta").len();
        let mut child = util::rolldex()
            .arg("--home")
            .arg(home)
            .args(["record", "--resume", &id])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let mut stdin = child.stdin.take().expect("stdin");
        let feeder = std::thread::spawn(move || {
            use std::io::Write;
            for j in 0..5000 {
                if stdin
                    .write_all(format!("{}\n", item(k, j)).as_bytes())
                    .is_err()
                {
                    break; // killed
                }
            }
        });
        if k % 5 == 0 {
            // Killed early: while resuming (reading the history, locking, restoring).
            std::thread::sleep(Duration::from_micros(rng.below(30_000)));
        } else {
            // Killed while writing: wait for the file to grow, then a little more.
            let start = std::time::Instant::now();
            while fs::metadata(&file).map(|m| m.len()).unwrap_or(0) <= len_before
                && start.elapsed() < Duration::from_secs(10)
            {
                std::thread::sleep(Duration::from_millis(1));
            }
            std::thread::sleep(Duration::from_micros(rng.below(20_000)));
        }
        let _ = child.kill();
        let _ = child.wait();
        let _ = feeder.join();

        // Every round's items are a prefix of what was sent, in order, each once; at most
        // one torn line per round (completed by the next resume's newline).
        let s = rolldex::reader::read_session(&file).expect("read");
        assert!(
            s.malformed.len() as u64 <= k,
            "round {k}: {:?}",
            s.malformed
        );
        let mut seen: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        for r in &s.records {
            if let rolldex::model::RolloutItem::ResponseItem(it) = &r.line.item {
                let text = it.message_text();
                let mut w = text.split(' ');
                if let (Some("round"), Some(rk), Some("item"), Some(rj)) =
                    (w.next(), w.next(), w.next(), w.next())
                {
                    let (rk, rj): (u64, u64) = (rk.parse().expect("k"), rj.parse().expect("j"));
                    seen.entry(rk).or_default().push(rj);
                }
            }
        }
        for (rk, items) in &seen {
            let want: Vec<u64> = (0..items.len() as u64).collect();
            assert_eq!(items, &want, "round {rk}: not a whole prefix");
        }
    }
}

/// Every rollout under `dir` (plain or `.zst`, decompressed), by session id.
fn sessions_under(dir: &Path) -> BTreeMap<String, Vec<(PathBuf, Vec<u8>)>> {
    let mut out: BTreeMap<String, Vec<(PathBuf, Vec<u8>)>> = BTreeMap::new();
    if !dir.exists() {
        return out;
    }
    for p in util::rollouts(dir) {
        let raw = fs::read(&p).expect("read");
        let bytes = if p.to_string_lossy().ends_with(".zst") {
            zstd::decode_all(&raw[..])
                .unwrap_or_else(|e| panic!("{} is truncated or corrupt: {e}", p.display()))
        } else {
            raw
        };
        out.entry(session_id(Path::new(
            p.to_string_lossy().trim_end_matches(".zst"),
        )))
        .or_default()
        .push((p, bytes));
    }
    out
}

#[test]
fn forget_killed_at_random_moments_leaves_every_session_whole_in_place_or_in_the_trash() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    corpus::generate(
        home,
        &corpus::CorpusSpec {
            sessions: 60,
            total_bytes: 6_000_000,
            seed: 77,
        },
    )
    .expect("corpus");
    let truth: BTreeMap<String, Vec<u8>> = sessions_under(home)
        .into_iter()
        .map(|(id, files)| (id, files[0].1.clone()))
        .collect();
    let trash = home.join("rolldex-trash");
    let check_whole = |what: &str| {
        let all = sessions_under(home);
        for (id, bytes) in &truth {
            let copies = all.get(id).map_or(0, Vec::len);
            assert_eq!(copies, 1, "{what}: session {id} has {copies} copies");
            let (path, got) = &all[id][0];
            assert!(got == bytes, "{what}: {} holds other bytes", path.display());
        }
        let db = home.join("rolldex.sqlite");
        if db.exists() {
            let conn = rusqlite::Connection::open(&db).expect("open db");
            let ok: String = conn
                .query_row("PRAGMA integrity_check", [], |r| r.get(0))
                .expect("integrity_check");
            assert_eq!(ok, "ok", "{what}");
        }
    };
    let mut rng = Rng::new(2027);
    for k in 0..30 {
        let delay = Duration::from_micros(rng.below(120_000));
        kill_after(home, &["forget", "--keep-within", "0s", "--yes"], delay);
        check_whole(&format!("kill {k} after {delay:?}"));
        // Bring everything back now and then, so later kills land on work.
        if k % 10 == 9 {
            for id in truth.keys() {
                if sessions_under(&trash).contains_key(id) {
                    util::ok(home, &["forget", "--restore", id], b"");
                }
            }
            check_whole(&format!("restores after kill {k}"));
        }
    }
    // A run to the end puts every session in the trash, whole.
    util::ok(home, &["forget", "--keep-within", "0s", "--yes"], b"");
    check_whole("final forget");
    let in_trash = sessions_under(&trash);
    assert_eq!(in_trash.len(), truth.len());
}

/// Every Claude Code session file under `root`, by its path relative to it.
fn agent_files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    if !root.exists() {
        return BTreeMap::new();
    }
    util::files(root)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".jsonl"))
        .map(|p| {
            let bytes = fs::read(&p).expect("read");
            (p.strip_prefix(root).expect("under").to_path_buf(), bytes)
        })
        .collect()
}

/// rolldex's copies under `dir` (a store or its trash), decompressed, by the relative path
/// of their original; temp files are left aside (a kill mid-write may leave one).
fn copies_under(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    if !dir.exists() {
        return BTreeMap::new();
    }
    util::files(dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".jsonl.zst"))
        .map(|p| {
            let raw = fs::read(&p).expect("read");
            let bytes = zstd::decode_all(&raw[..])
                .unwrap_or_else(|e| panic!("{} is truncated or corrupt: {e}", p.display()));
            let rel = p
                .strip_prefix(dir)
                .expect("under")
                .to_string_lossy()
                .into_owned();
            (PathBuf::from(rel.trim_end_matches(".zst")), bytes)
        })
        .collect()
}

#[test]
fn preserving_and_forgetting_killed_at_random_moments_never_lose_or_tear_a_claude_session() {
    let dir = tempfile::tempdir().expect("tmp");
    let codex = dir.path().join("codex");
    let claude = dir.path().join("claude");
    let data = dir.path().join("data");
    fs::create_dir_all(&codex).expect("mkdir");
    corpus::generate_claude(
        &claude,
        &corpus::CorpusSpec {
            sessions: 40,
            total_bytes: 12_000_000,
            seed: 99,
        },
    )
    .expect("corpus");
    let old = std::time::SystemTime::now() - Duration::from_secs(40 * 86_400);
    for f in util::files(&claude) {
        fs::File::options()
            .write(true)
            .open(&f)
            .and_then(|h| h.set_modified(old))
            .expect("mtime");
    }
    let truth = agent_files(&claude);
    let claude_arg = claude.to_str().expect("utf-8").to_string();
    let db = data.join("rolldex.sqlite");
    let db_arg = db.to_str().expect("utf-8").to_string();
    let args = |rest: &[&str]| -> Vec<String> {
        let mut v = vec![
            "--claude-home".to_string(),
            claude_arg.clone(),
            "--db".into(),
            db_arg.clone(),
        ];
        v.extend(rest.iter().map(|s| s.to_string()));
        v
    };
    let store = data.join("preserved/claude");
    let trash = data.join("rolldex-trash/preserved/claude");
    // After any kill: the agent's files untouched (or gone only where the test deleted
    // them); every copy at its final name whole and equal to its original; no session
    // both in the store and in the trash; the index intact.
    let check = |what: &str, deleted: &std::collections::BTreeSet<PathBuf>| {
        let now = agent_files(&claude);
        for (rel, bytes) in &truth {
            if deleted.contains(rel) {
                assert!(
                    !now.contains_key(rel),
                    "{what}: {} came back",
                    rel.display()
                );
            } else {
                assert!(
                    now.get(rel) == Some(bytes),
                    "{what}: {} changed",
                    rel.display()
                );
            }
        }
        let kept = copies_under(&store);
        let trashed = copies_under(&trash);
        for (rel, bytes) in kept.iter().chain(&trashed) {
            assert!(
                truth.get(rel) == Some(bytes),
                "{what}: the copy of {} differs",
                rel.display()
            );
        }
        for rel in deleted {
            let n = usize::from(kept.contains_key(rel)) + usize::from(trashed.contains_key(rel));
            assert_eq!(
                n,
                1,
                "{what}: {} has {n} copies after its original went",
                rel.display()
            );
        }
        if db.exists() {
            let conn = rusqlite::Connection::open(&db).expect("open db");
            let ok: String = conn
                .query_row("PRAGMA integrity_check", [], |r| r.get(0))
                .expect("integrity_check");
            assert_eq!(ok, "ok", "{what}");
        }
    };
    let mut deleted = std::collections::BTreeSet::new();
    let mut rng = Rng::new(4242);
    for k in 0..20 {
        let delay = Duration::from_micros(rng.below(150_000));
        let a = args(&["archive", "--older-than", "1d"]);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        kill_after(&codex, &a, delay);
        check(&format!("archive killed {k} after {delay:?}"), &deleted);
    }
    // A run to the end copies everything; then the agent deletes half its sessions.
    let a = args(&["archive", "--older-than", "1d"]);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    util::ok(&codex, &a, b"");
    assert_eq!(
        copies_under(&store).len(),
        truth.len(),
        "every file has its copy"
    );
    for (i, rel) in truth.keys().enumerate() {
        if i % 2 == 0 {
            fs::remove_file(claude.join(rel)).expect("delete");
            deleted.insert(rel.clone());
        }
    }
    check("the agent's cleanup", &deleted);
    let f = args(&["forget", "--keep-within", "1s", "--yes"]);
    let f: Vec<&str> = f.iter().map(String::as_str).collect();
    for k in 0..20 {
        let delay = Duration::from_micros(rng.below(150_000));
        kill_after(&codex, &f, delay);
        check(&format!("forget killed {k} after {delay:?}"), &deleted);
    }
    util::ok(&codex, &f, b"");
    check("a forget to the end", &deleted);
}

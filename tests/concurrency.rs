//! A live recording while `archive` and `index` run in loops and queries keep asking: no
//! line lost or duplicated, the live file never compressed, no "database is locked" shown
//! to the user. 30 s by default; `ROLLDEX_CONCURRENCY_SECS=60` for a longer run.

#[allow(dead_code)]
#[path = "util/mod.rs"]
mod util;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn rolldex(home: &Path, args: &[&str]) -> std::process::Output {
    util::rolldex()
        .arg("--home")
        .arg(home)
        .args(args)
        .env_remove("CODEX_HOME")
        .output()
        .expect("run rolldex")
}

#[test]
fn recording_while_archive_and_index_loop_loses_nothing() {
    let secs: u64 = std::env::var("ROLLDEX_CONCURRENCY_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path().to_path_buf();
    util::archive::generate(&home, 30, 5);
    let before: Vec<PathBuf> = util::rollouts(&home);

    let mut rec = util::rolldex()
        .arg("--home")
        .arg(&home)
        .args(["record", "--cwd", "/"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn record");
    let mut stdin = rec.stdin.take().expect("stdin");
    let stop = Arc::new(AtomicBool::new(false));
    let sent = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            // About 1000 items a second, in bursts of 10.
            let mut n = 0u64;
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(secs) {
                for _ in 0..10 {
                    let line = format!(
                        r#"{{"type":"message","role":"user","content":[{{"type":"input_text","text":"item {n} of the live session"}}]}}"#
                    );
                    writeln!(stdin, "{line}").expect("feed the recorder");
                    n += 1;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            stop.store(true, Ordering::SeqCst);
            drop(stdin);
            n
        })
    };

    let mut rounds = 0;
    let mut live: Option<PathBuf> = None;
    while !stop.load(Ordering::SeqCst) {
        for args in [
            &["archive", "--older-than", "0s", "--json"][..],
            &["index", "--json"],
            &["list", "--json", "--limit", "5"],
            &["search", "live", "session", "--json", "--limit", "3"],
        ] {
            let out = rolldex(&home, args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{args:?}: {err}");
            assert!(!err.contains("locked"), "{args:?}: {err}");
        }
        // The live file: the one rollout that was not there before. Never compressed.
        let now = util::rollouts(&home);
        if live.is_none() {
            live = now
                .iter()
                .find(|p| {
                    !before
                        .iter()
                        .any(|b| util::archive::zst(b) == **p || b == *p)
                })
                // Named by its plain path, even if first seen archived.
                .map(|p| PathBuf::from(p.to_string_lossy().trim_end_matches(".zst")));
        }
        // Checked only while the recorder still runs after this round's archive: once the
        // feeder stops, the finished session may rightly be compressed.
        let still_live = rec.try_wait().expect("try_wait").is_none();
        if let (Some(l), true) = (&live, still_live) {
            assert!(l.exists(), "the live file was moved away: {}", l.display());
            assert!(
                !util::archive::zst(l).exists(),
                "the live file was compressed"
            );
        }
        rounds += 1;
    }
    let total = sent.join().expect("feeder");
    let out = rec.wait_with_output().expect("recorder");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let live = live.expect("the live file was seen");
    // The last round may have archived the finished session: read whichever copy is there.
    let bytes = match std::fs::read(&live) {
        Ok(b) => b,
        Err(_) => zstd::decode_all(
            &*std::fs::read(util::archive::zst(&live)).expect("the session, plain or .zst"),
        )
        .expect("decode"),
    };
    let text = String::from_utf8(bytes).expect("utf-8");
    let got: Vec<u64> = text
        .lines()
        .filter_map(|l| {
            let i = l.find("\"item ")? + 6;
            l[i..].split(' ').next()?.parse().ok()
        })
        .collect();
    assert_eq!(got.len() as u64, total, "lines lost or duplicated");
    assert!(
        got.iter().enumerate().all(|(i, n)| *n == i as u64),
        "out of order"
    );
    assert!(
        rounds >= 3,
        "only {rounds} rounds of archive/index/list/search"
    );
}

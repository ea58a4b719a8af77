//! `rolldex watch` against real file events: with a watcher running every kind of change
//! reaches the next queries (which no longer walk), and a stopped, hung or killed watcher
//! never makes an answer wrong; one watcher per index.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::archive::generate;
use crate::util::ok;

/// A running `rolldex watch`, stopped (SIGTERM) when dropped.
struct Watching {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Watching {
    fn start(args: &[&str]) -> Watching {
        let mut child = crate::util::rolldex()
            .args(args)
            .args(["watch", "--verbose"])
            .env_remove("CODEX_HOME")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn rolldex watch");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let w = Watching { child, lines };
        w.wait_for("ready");
        w
    }

    fn wait_for(&self, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            match self.lines.recv_timeout(Duration::from_millis(200)) {
                Ok(line) if line.contains(what) => return line,
                Ok(_) | Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        panic!("rolldex watch never said {what:?}");
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .args([sig, &self.pid()])
            .status()
            .expect("kill");
        assert!(st.success(), "kill {sig}");
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-CONT", &self.child.id().to_string()])
            .status();
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// Waits (up to 20 s: the machines are noisy) until `f` holds.
fn eventually(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("never: {what}");
}

fn args_of(h: &Path) -> Vec<String> {
    vec![
        "--claude-home".into(),
        h.join("claude").display().to_string(),
        "--gemini-home".into(),
        h.join("gemini").display().to_string(),
    ]
}

fn query(h: &Path, args: &[&str]) -> String {
    let extra = args_of(h);
    let mut all: Vec<&str> = extra.iter().map(String::as_str).collect();
    all.extend_from_slice(args);
    ok(h, &all, b"")
}

fn rows(h: &Path) -> Vec<Value> {
    query(h, &["list", "--json", "--limit", "10000"])
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect()
}

fn row(h: &Path, id: &str) -> Option<Value> {
    rows(h).into_iter().find(|r| r["id"] == id)
}

fn hits(h: &Path, word: &str) -> usize {
    query(h, &["search", "--json", word]).lines().count()
}

fn rollout(dir: &Path, id: &str, word: &str) -> PathBuf {
    fs::create_dir_all(dir).expect("mkdir");
    let p = dir.join(format!("rollout-2026-11-03T10-00-00-{id}.jsonl"));
    let meta = json!({"timestamp":"2026-11-03T10:00:00.000Z","type":"session_meta",
        "payload":{"id":id,"timestamp":"2026-11-03T10:00:00.000Z","cwd":"/w"}});
    fs::write(&p, format!("{meta}\n{}\n", message(word))).expect("write");
    p
}

fn message(word: &str) -> Value {
    json!({"timestamp":"2026-11-03T10:00:01.000Z","type":"response_item",
        "payload":{"type":"message","role":"user","content":[{"type":"input_text","text":word}]}})
}

fn append(path: &Path, line: &Value) {
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(path)
        .expect("open");
    writeln!(f, "{line}").expect("append");
}

fn home_args(h: &Path) -> Vec<String> {
    let mut v = vec!["--home".to_string(), h.display().to_string()];
    v.extend(args_of(h));
    v
}

fn start(h: &Path) -> Watching {
    let args = home_args(h);
    Watching::start(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn with_a_watcher_every_change_reaches_the_next_queries() {
    let home = tempfile::tempdir().expect("tmp");
    let h = home.path();
    let specs = generate(h, 30, 77);
    fs::create_dir_all(h.join("claude/projects")).expect("mkdir");
    fs::create_dir_all(h.join("gemini/tmp")).expect("mkdir");
    let _w = start(h);
    assert_eq!(rows(h).len(), 30);

    // A new session.
    let new_id = "0199b000-0000-7000-8000-000000000001";
    let day = h.join("sessions/2026/11/03");
    let new = rollout(&day, new_id, "firstword");
    eventually("a new session is found", || hits(h, "firstword") == 1);

    // An append to an old plain file.
    let old = specs
        .iter()
        .find(|s| !s.compressed && !s.legacy)
        .expect("a plain rollout");
    append(&old.path, &message("appendedword"));
    eventually("an append is found", || hits(h, "appendedword") == 1);

    // A .zst replacing its plain twin, and back.
    let zst = PathBuf::from(format!("{}.zst", new.display()));
    fs::write(
        &zst,
        zstd::encode_all(&fs::read(&new).expect("read")[..], 3).expect("zstd"),
    )
    .expect("write");
    fs::remove_file(&new).expect("rm");
    eventually("the .zst replaces it", || {
        row(h, new_id).is_some_and(|r| r["compressed"] == true)
    });
    fs::write(
        &new,
        zstd::decode_all(&fs::read(&zst).expect("read")[..]).expect("unzstd"),
    )
    .expect("write");
    fs::remove_file(&zst).expect("rm");
    eventually("the plain file is back", || {
        row(h, new_id).is_some_and(|r| r["compressed"] == false)
    });

    // A removed file.
    let gone = specs.iter().find(|s| s.id != old.id).expect("another");
    fs::remove_file(&gone.path).expect("rm");
    eventually("a removed session goes", || row(h, &gone.id).is_none());

    // A renamed folder.
    let moved = h.join("sessions/2026/11/04");
    fs::rename(&day, &moved).expect("rename");
    eventually("a renamed folder's session moves", || {
        row(h, new_id).is_some_and(|r| {
            r["path"]
                .as_str()
                .is_some_and(|p| p.starts_with(&moved.display().to_string()))
        })
    });

    // A changed session_index.jsonl.
    let mut names = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(h.join("session_index.jsonl"))
        .expect("names");
    writeln!(
        names,
        "{}",
        json!({"id": new_id, "thread_name": "watched-name", "updated_at": "2026-11-03T11:00:00Z"})
    )
    .expect("write");
    drop(names);
    eventually("a name is seen", || {
        row(h, new_id).is_some_and(|r| r["name"] == "watched-name")
    });

    // A Claude Code session, then a line appended to it.
    let claude_id = "5e551011-aaaa-4bbb-8ccc-000000000002";
    let project = h.join("claude/projects/-w-app");
    fs::create_dir_all(&project).expect("mkdir");
    let claude = project.join(format!("{claude_id}.jsonl"));
    let user = |text: &str| {
        json!({"type": "user", "sessionId": claude_id, "version": "2.1.3", "cwd": "/w/app",
               "timestamp": "2026-11-04T08:59:00.000Z", "uuid": format!("u-{text}"),
               "message": {"role": "user", "content": text}})
    };
    fs::write(&claude, format!("{}\n", user("claudeword"))).expect("write");
    eventually("a Claude Code session is found", || {
        hits(h, "claudeword") == 1
    });
    append(&claude, &user("claudelater"));
    eventually("its appended line is found", || hits(h, "claudelater") == 1);

    // A Gemini CLI document, rewritten whole.
    let chats = h.join("gemini/tmp/0123abcd/chats");
    fs::create_dir_all(&chats).expect("mkdir");
    let doc = |words: &[&str]| {
        let messages: Vec<Value> = words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                json!({"id": format!("m{i}"), "timestamp": "2026-11-05T10:00:00.000Z",
                                 "type": "user", "content": w})
            })
            .collect();
        json!({"sessionId": "9e9e9e9e-1234-4567-89ab-000000000003", "projectHash": "0123abcd",
               "startTime": "2026-11-05T10:00:00.000Z", "lastUpdated": "2026-11-05T10:01:00.000Z",
               "messages": messages})
        .to_string()
    };
    let gemini = chats.join("session-2026-11-05T10-00-9e9e9e9e.json");
    fs::write(&gemini, doc(&["geminiword"])).expect("write");
    eventually("a Gemini CLI session is found", || {
        hits(h, "geminiword") == 1
    });
    fs::write(&gemini, doc(&["geminiword", "geminilater"])).expect("write");
    eventually("its rewrite is found", || hits(h, "geminilater") == 1);

    // The sessions folder deleted and made again: watched again.
    fs::rename(h.join("sessions"), h.join("sessions-aside")).expect("aside");
    let under_sessions = h.join("sessions").display().to_string();
    eventually("the sessions are gone", || {
        rows(h).iter().all(|r| {
            !r["path"]
                .as_str()
                .is_some_and(|p| p.starts_with(&under_sessions))
        })
    });
    let again = "0199b000-0000-7000-8000-000000000004";
    rollout(&h.join("sessions/2026/11/06"), again, "againword");
    eventually("a session in the new folder is found", || {
        hits(h, "againword") == 1
    });
    let later = "0199b000-0000-7000-8000-000000000005";
    rollout(&h.join("sessions/2026/11/07"), later, "laterword");
    eventually("and the new folder stays watched", || {
        hits(h, "laterword") == 1
    });
}

#[test]
fn a_stopped_or_killed_watcher_never_makes_an_answer_wrong_and_a_second_refuses() {
    let home = tempfile::tempdir().expect("tmp");
    let h = home.path();
    generate(h, 10, 78);
    let w = start(h);
    let index = query(h, &["index", "--json"]);
    let report: Value = serde_json::from_str(index.trim()).expect("json");
    assert_eq!(
        report["watcher"]["pid"].as_u64(),
        Some(u64::from(w.child.id())),
        "{report}"
    );

    // A second watcher of the same index refuses, naming the first.
    let args = home_args(h);
    let out = crate::util::rolldex()
        .args(&args)
        .arg("watch")
        .env_remove("CODEX_HOME")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("pid {}", w.pid())), "{err}");

    // Stopped (SIGSTOP): while its heartbeat is fresh, queries trust it and do not walk,
    // so a session written meanwhile is not listed yet...
    w.signal("-STOP");
    let id = "0199b000-0000-7000-8000-00000000000a";
    rollout(&h.join("sessions/2026/11/08"), id, "stoppedword");
    assert!(
        row(h, id).is_none(),
        "a query with a healthy watcher answers from the index"
    );
    // ...once the heartbeat is stale, they walk again.
    std::thread::sleep(Duration::from_millis(
        u64::try_from(rolldex::watch::STALE_MS).expect("ms") + 500,
    ));
    assert!(row(h, id).is_some(), "a hung watcher is not trusted");
    w.signal("-CONT");

    // Killed: its lock goes with it and the next query walks.
    w.signal("-KILL");
    let id2 = "0199b000-0000-7000-8000-00000000000b";
    std::thread::sleep(Duration::from_millis(200));
    rollout(&h.join("sessions/2026/11/09"), id2, "killedword");
    assert!(row(h, id2).is_some(), "a dead watcher is not trusted");
    let index = query(h, &["index", "--json"]);
    let report: Value = serde_json::from_str(index.trim()).expect("json");
    assert_eq!(report["watcher"], Value::Null, "{report}");
    drop(w);

    // A new watcher starts where the killed one left its heartbeat.
    let w2 = start(h);
    let id3 = "0199b000-0000-7000-8000-00000000000c";
    rollout(&h.join("sessions/2026/11/10"), id3, "newwatcherword");
    eventually("the new watcher sees it", || hits(h, "newwatcherword") == 1);
    drop(w2);
    // Stopped cleanly (SIGTERM): its heartbeat is gone.
    let index = query(h, &["index", "--json"]);
    let report: Value = serde_json::from_str(index.trim()).expect("json");
    assert_eq!(report["watcher"], Value::Null, "{report}");
}

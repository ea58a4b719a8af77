//! `rolldex record`: new sessions, resume, bad input, write errors, permissions.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use rolldex::model::{RolloutItem, Shape};
use rolldex::reader::read_session;

use crate::util::{self, git_repo, head_commit, ok, rollouts, run};

const HELLO: &str =
    r#"{"type":"message","role":"user","content":[{"type":"input_text","text":"hello"}]}"#;

#[test]
fn record_prints_the_id_and_writes_an_envelope_file_with_the_repos_git_info() {
    let home = tempfile::tempdir().expect("tmp");
    let repo = git_repo("https://bob:ghp_TOPSECRET@github.com/Owner/Repo.git");
    let cwd = repo.path().to_str().expect("utf-8 path");
    let id = ok(
        home.path(),
        &["record", "--cwd", cwd],
        format!("{HELLO}\n").as_bytes(),
    );
    let id = id.trim();
    uuid::Uuid::parse_str(id).expect("stdout is the session id");

    let files = rollouts(home.path());
    assert_eq!(files.len(), 1);
    let name = files[0].file_name().and_then(|n| n.to_str()).expect("name");
    assert!(
        name.starts_with("rollout-") && name.ends_with(&format!("-{id}.jsonl")),
        "{name}"
    );

    let text = fs::read_to_string(&files[0]).expect("read");
    assert!(
        !text.contains("TOPSECRET"),
        "credentials must not reach the rollout"
    );
    let session = read_session(&files[0]).expect("read session");
    assert_eq!(session.records.len(), 2);
    assert!(
        session
            .records
            .iter()
            .all(|r| r.line.shape == Shape::Envelope)
    );
    let meta = session.meta.expect("meta");
    assert_eq!(meta.id.as_deref(), Some(id));
    assert_eq!(meta.cwd.as_deref(), Some(cwd));
    let git = meta.git.expect("git info");
    assert_eq!(git.commit_hash, Some(head_commit(repo.path())));
    assert_eq!(git.branch.as_deref(), Some("feature/x"));
    assert_eq!(
        git.repository_url.as_deref(),
        Some("https://github.com/Owner/Repo.git")
    );
    let RolloutItem::ResponseItem(item) = &session.records[1].line.item else {
        panic!("second line is not the item")
    };
    assert_eq!(item.message_text(), "hello");
}

#[test]
fn record_outside_a_repository_has_no_git_info() {
    let home = tempfile::tempdir().expect("tmp");
    let cwd = tempfile::tempdir().expect("tmp");
    ok(
        home.path(),
        &["record", "--cwd", cwd.path().to_str().expect("p")],
        HELLO.as_bytes(),
    );
    let meta = read_session(&rollouts(home.path())[0])
        .expect("read")
        .meta
        .expect("meta");
    assert_eq!(meta.git, None);
}

#[test]
fn recorded_files_and_folders_are_private() {
    let home = tempfile::tempdir().expect("tmp");
    ok(home.path(), &["record", "--cwd", "/"], HELLO.as_bytes());
    let file = &rollouts(home.path())[0];
    let mode = |p: &std::path::Path| fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(file), 0o600);
    let mut dir = file.parent().expect("dir");
    while dir != home.path() {
        assert_eq!(mode(dir), 0o700, "{}", dir.display());
        dir = dir.parent().expect("parent");
    }
}

#[test]
fn record_resume_of_a_zst_appends_and_leaves_one_plain_file_with_all_lines() {
    let home = tempfile::tempdir().expect("tmp");
    let id = ok(home.path(), &["record", "--cwd", "/"], HELLO.as_bytes());
    let plain = rollouts(home.path()).remove(0);
    let original = fs::read(&plain).expect("read");
    let zst = plain.with_extension("jsonl.zst");
    fs::write(&zst, util::zstd_frames(&original, 2)).expect("write zst");
    fs::remove_file(&plain).expect("rm plain");

    let more = r#"{"type":"message","role":"assistant","content":[{"type":"output_text","text":"world"}]}"#;
    let resumed = ok(
        home.path(),
        &["record", "--resume", zst.to_str().expect("p")],
        more.as_bytes(),
    );
    assert_eq!(resumed.trim(), id.trim());

    assert_eq!(
        rollouts(home.path()),
        vec![plain.clone()],
        "one plain file, no .zst left"
    );
    let now = fs::read(&plain).expect("read");
    assert!(now.starts_with(&original), "earlier bytes unchanged");
    let s = read_session(&plain).expect("read");
    assert_eq!(s.records.len(), 3);
    assert!(s.malformed.is_empty());
    assert_eq!(
        fs::metadata(&plain).expect("m").permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn record_resume_by_id_prefix_appends_to_a_legacy_file_that_stays_readable() {
    let home = util::copied_home();
    let before = read_session(
        &home.path().join("sessions/2025/05/07/rollout-2025-05-07T17-24-21-5973b6c0-94b8-487b-a530-2aeb6098ae0e.jsonl"),
    )
    .expect("read");
    let out = ok(
        home.path(),
        &["record", "--resume", "5973b6c0"],
        HELLO.as_bytes(),
    );
    assert_eq!(out.trim(), "5973b6c0-94b8-487b-a530-2aeb6098ae0e");
    let after = read_session(
        &home.path().join("sessions/2025/05/07/rollout-2025-05-07T17-24-21-5973b6c0-94b8-487b-a530-2aeb6098ae0e.jsonl"),
    )
    .expect("read");
    assert!(after.malformed.is_empty());
    assert_eq!(after.records.len(), before.records.len() + 1);
    assert_eq!(
        after.meta, before.meta,
        "the legacy meta is still the session's own"
    );
    assert_eq!(
        after.records.last().map(|r| r.line.shape),
        Some(Shape::Envelope)
    );
}

#[test]
fn bad_stdin_lines_are_reported_with_their_number_and_the_rest_is_recorded() {
    let home = tempfile::tempdir().expect("tmp");
    let input = format!(
        "{HELLO}\nnot json\n\n{{\"no_type\":1}}\n{{\"timestamp\":\"2026-01-01T00:00:00.000Z\",\"type\":\"event_msg\",\"payload\":{{\"type\":\"agent_message\",\"message\":\"hi\"}}}}\n"
    );
    let out = run(home.path(), &["record", "--cwd", "/"], input.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("stdin line 2: invalid JSON"), "{err}");
    assert!(err.contains("stdin line 4"), "{err}");
    assert!(
        !err.contains("stdin line 3"),
        "blank lines are not errors: {err}"
    );
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    uuid::Uuid::parse_str(&id).expect("the id is still printed");
    let s = read_session(&rollouts(home.path())[0]).expect("read");
    assert_eq!(s.records.len(), 3, "meta, the item and the envelope line");
    let last = fs::read_to_string(&rollouts(home.path())[0]).expect("read");
    assert!(
        last.ends_with("\"message\":\"hi\"}}\n"),
        "envelope lines are kept as given"
    );
}

#[test]
fn a_write_error_is_reported_not_swallowed() {
    // RLIMIT_FSIZE makes writes past 64 KiB fail with EFBIG, even for root.
    let home = tempfile::tempdir().expect("tmp");
    let big_text = "x".repeat(4000);
    let mut input = String::new();
    for _ in 0..100 {
        input.push_str(&format!(
            "{{\"type\":\"message\",\"role\":\"user\",\"content\":[{{\"type\":\"input_text\",\"text\":\"{big_text}\"}}]}}\n"
        ));
    }
    let input_file = home.path().join("input.jsonl");
    fs::write(&input_file, &input).expect("write input");
    let script = format!(
        "trap '' XFSZ; ulimit -f 64; exec {} --home {} record --cwd / < {}",
        env!("CARGO_BIN_EXE_rolldex"),
        home.path().display(),
        input_file.display()
    );
    let out = Command::new("bash")
        .env("CLAUDE_CONFIG_DIR", crate::util::NO_AGENT_ROOT)
        .env("ROLLDEX_GEMINI_HOME", crate::util::NO_AGENT_ROOT)
        .arg("-c")
        .arg(&script)
        .output()
        .expect("bash");
    assert!(!out.status.success(), "must fail");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("writing the rollout failed"), "{err}");
    assert!(err.contains("rollout-"), "the error names the file: {err}");
    // What was written is whole lines only: the file still reads without errors. How many
    // items made it before the limit depends on batching; the meta line always does.
    let file = &rollouts(home.path())[0];
    let s = read_session(file).expect("read");
    assert!(
        s.malformed.is_empty() && s.pending.is_none(),
        "{:?}",
        s.malformed
    );
    assert!(s.meta.is_some());
    assert!((1..101).contains(&s.records.len()), "{}", s.records.len());
    assert!(fs::metadata(file).expect("m").len() <= 64 * 1024);
}

#[test]
fn resume_of_an_unknown_id_fails_clearly() {
    let home = util::copied_home();
    let out = run(
        home.path(),
        &["record", "--resume", "deadbeef"],
        HELLO.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no session matches \"deadbeef\""));
    let out = run(
        home.path(),
        &["record", "--resume", "../../etc/passwd"],
        HELLO.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(1));
}

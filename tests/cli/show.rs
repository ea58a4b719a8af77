//! `rolldex show`: exact bytes, transcripts of both shapes, ids, bad files.

use std::fs;

use crate::util::{self, copied_home, ok, run};

const ENVELOPE: &str =
    "sessions/2026/02/23/rollout-2026-02-23T13-19-42-0199a213-81c0-7800-8aa1-bbab2a035a53.jsonl";
const LEGACY: &str =
    "sessions/2025/05/07/rollout-2025-05-07T17-24-21-5973b6c0-94b8-487b-a530-2aeb6098ae0e.jsonl";
const FORK: &str =
    "sessions/2026/02/24/rollout-2026-02-24T09-00-00-0199a5f0-0000-7000-8000-00000000f0c1.jsonl";
const ARCHIVED: &str =
    "archived_sessions/rollout-2025-10-02T08-30-00-019a0000-aaaa-7bbb-8ccc-dddddddddddd.jsonl";

/// Bytes no parser would like: a torn last line and invalid UTF-8 inside.
fn awkward_bytes() -> Vec<u8> {
    let mut b = fs::read(util::fixture_home().join(ENVELOPE)).expect("fixture");
    b.extend_from_slice(b"{\"type\":\"message\",\"role\":\"user\",\"content\":\"\xff\xfe\"}\n");
    b.extend_from_slice(b"{\"timestamp\":\"2026-02-23T12:21:00.000Z\",\"type\":\"resp");
    b
}

#[test]
fn show_raw_prints_the_exact_bytes_of_plain_and_multi_frame_zst_files() {
    let home = tempfile::tempdir().expect("tmp");
    let bytes = awkward_bytes();
    let plain = home
        .path()
        .join("rollout-2026-02-23T13-19-42-0199a213-81c0-7800-8aa1-bbab2a035a53.jsonl");
    fs::write(&plain, &bytes).expect("write");
    let zst = home.path().join("rollout-copy.jsonl.zst");
    fs::write(&zst, util::zstd_frames(&bytes, 3)).expect("write");
    for path in [&plain, &zst] {
        let out = run(
            home.path(),
            &["show", "--raw", path.to_str().expect("p")],
            b"",
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, bytes, "{}", path.display());
    }
}

#[test]
fn show_prints_a_transcript_of_an_envelope_session() {
    let home = copied_home();
    let out = ok(
        home.path(),
        &["show", home.path().join(ENVELOPE).to_str().expect("p")],
        b"",
    );
    for want in [
        "# session 0199a213-81c0-7800-8aa1-bbab2a035a53",
        "git main a1b2c3d4e5 https://github.com/acme/widget",
        "[12:19:43] user: Add a --json flag to the widget CLI",
        "[image/png, 0 KB]",
        // Injected context collapses to one line.
        "context: <environment_context> (3 lines)",
        "thinking: **Planning the flag**",
        "$ cargo test --workspace",
        "  -> running 12 tests",
        "tool apply_patch: src/cli.rs",
        "assistant: Added --json; the failing test json_output now passes.",
        "-- 6000 tokens in total --",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    assert!(!out.contains("gAAAA"), "encrypted reasoning is never shown");
    assert!(!out.contains("future_kind"), "unknown kinds are skipped");
    // Events repeat the messages: the transcript shows each once.
    assert_eq!(out.matches("Added --json").count(), 1, "{out}");
}

#[test]
fn show_prints_a_transcript_of_a_legacy_session() {
    let home = copied_home();
    let out = ok(
        home.path(),
        &["show", home.path().join(LEGACY).to_str().expect("p")],
        b"",
    );
    assert!(
        out.contains("git legacy-branch 1f2e3d4c5b git@github.com:Acme/Widget.git"),
        "{out}"
    );
    assert!(
        out.contains("user: Why does the widget parser reject empty lines?"),
        "{out}"
    );
    assert!(out.contains("$ rg -n \"fn parse\" src/"), "{out}");
    assert!(
        out.contains("assistant: The parser treats an empty line"),
        "{out}"
    );
}

#[test]
fn show_of_a_fork_uses_the_sessions_own_meta_not_the_parents() {
    let home = copied_home();
    let out = ok(home.path(), &["show", "0199a5f0"], b"");
    let by_path = ok(
        home.path(),
        &["show", home.path().join(FORK).to_str().expect("p")],
        b"",
    );
    assert_eq!(out, by_path);
    assert!(
        out.contains("# session 0199a5f0-0000-7000-8000-00000000f0c1"),
        "{out}"
    );
    assert!(out.contains("fork-branch"), "{out}");
}

#[test]
fn show_never_prints_a_credential_from_a_repository_url() {
    let home = copied_home();
    let out = ok(
        home.path(),
        &["show", home.path().join(ARCHIVED).to_str().expect("p")],
        b"",
    );
    assert!(
        out.contains("https://gitlab.example.com/ops/deploy.git"),
        "{out}"
    );
    assert!(
        !out.contains("SECRETTOKEN") && !out.contains("ci-bot"),
        "{out}"
    );
    assert!(
        out.contains("web search: zstd long distance matching window"),
        "{out}"
    );
}

#[test]
fn show_by_id_prefix_finds_sessions_in_every_layout() {
    let home = copied_home();
    for (prefix, want) in [
        ("5973b6c0", "Why does the widget parser"),
        ("3c0ffee0-1111", "flat layout session"),
        ("019a0000", "web search"),
    ] {
        let out = ok(home.path(), &["show", prefix], b"");
        assert!(out.contains(want), "{prefix}: {out}");
    }
}

#[test]
fn show_prefers_the_plain_file_when_a_zst_twin_exists() {
    let home = copied_home();
    let plain = home.path().join(LEGACY);
    let stale = b"{\"id\":\"5973b6c0-94b8-487b-a530-2aeb6098ae0e\"}\n";
    fs::write(
        plain.with_extension("jsonl.zst"),
        zstd::encode_all(&stale[..], 3).expect("z"),
    )
    .expect("w");
    let out = ok(home.path(), &["show", "--raw", "5973b6c0"], b"");
    assert_eq!(out.as_bytes(), fs::read(&plain).expect("read"));
}

#[test]
fn ambiguous_and_unknown_ids_exit_2_and_1() {
    let home = copied_home();
    let out = run(home.path(), &["show", "0199"], b"");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("matches 2 sessions") && err.contains("0199a5f0") && err.contains("0199a213"),
        "{err}"
    );
    let out = run(home.path(), &["show", "abcdef12"], b"");
    assert_eq!(out.status.code(), Some(1));
    let out = run(home.path(), &["show", "../nope"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such rollout file"));
}

#[test]
fn show_reports_malformed_and_torn_lines_and_carries_on() {
    let home = tempfile::tempdir().expect("tmp");
    let path = home
        .path()
        .join("rollout-2026-02-23T13-19-42-0199a213-81c0-7800-8aa1-bbab2a035a53.jsonl");
    fs::write(&path, awkward_bytes()).expect("write");
    let out = run(home.path(), &["show", path.to_str().expect("p")], b"");
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(":15: invalid UTF-8"),
        "names path and line: {err}"
    );
    assert!(err.contains(":16: the last line is incomplete"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Added --json"));
}

#[test]
fn show_of_a_file_that_is_no_rollout_fails_clearly() {
    let home = tempfile::tempdir().expect("tmp");
    let path = home.path().join("notes.txt");
    fs::write(&path, "just\nsome\ntext\n").expect("write");
    let out = run(home.path(), &["show", path.to_str().expect("p")], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a rollout"));
    let bad_zst = home.path().join("rollout-x.jsonl.zst");
    fs::write(&bad_zst, b"\x28\xb5\x2f\xfd garbage").expect("write");
    let out = run(
        home.path(),
        &["show", "--raw", bad_zst.to_str().expect("p")],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rollout-x.jsonl.zst"));
}

/// A Codex IDE session: the request wrapped in the extension's context, and the shell
/// calls of Codex 0.60 (`shell_command`), `exec_command` with input, a folder of its own.
fn ide_session(home: &std::path::Path) -> String {
    use serde_json::json;
    let wrapped = "# Context from my IDE setup:\n\n## Active file: src/parser.rs\n\n## Open tabs:\n- parser.rs: src/parser.rs\n\n## My request for Codex:\nconduct code review on the parser\n";
    let call = |name: &str, id: &str, args: serde_json::Value| {
        json!({"timestamp":"2026-11-20T10:00:02.000Z","type":"response_item","payload":{
            "type":"function_call","name":name,"call_id":id,"arguments":args.to_string()}})
    };
    let output = |id: &str, text: &str| {
        json!({"timestamp":"2026-11-20T10:00:03.000Z","type":"response_item","payload":{
            "type":"function_call_output","call_id":id,"output":text}})
    };
    let lines = [
        json!({"timestamp":"2026-11-20T10:00:00.000Z","type":"session_meta","payload":{
            "id":"019ab000-0000-7000-8000-0000000001de","timestamp":"2026-11-20T10:00:00.000Z",
            "cwd":"/home/ann/proj","originator":"codex_vscode","source":"vscode"}}),
        json!({"timestamp":"2026-11-20T10:00:01.000Z","type":"response_item","payload":{
            "type":"message","role":"user","content":[{"type":"input_text","text":wrapped}]}}),
        json!({"timestamp":"2026-11-20T10:00:01.000Z","type":"event_msg","payload":{
            "type":"user_message","message":wrapped}}),
        call(
            "shell_command",
            "c1",
            json!({"command":"rg -n unwrap src","workdir":"/home/ann/proj","timeout_ms":10000}),
        ),
        output("c1", "src/parser.rs:12: x.unwrap()"),
        call(
            "exec_command",
            "c2",
            json!({"cmd":"cargo test","workdir":"/home/ann/proj/crates/core"}),
        ),
        output("c2", "running 3 tests"),
        call("write_stdin", "c3", json!({"session_id":4,"chars":"q\n"})),
        output("c3", "bye"),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let id = "019ab000-0000-7000-8000-0000000001de";
    let day = home.join("sessions/2026/11/20");
    fs::create_dir_all(&day).expect("mkdir");
    fs::write(
        day.join(format!("rollout-2026-11-20T10-00-00-{id}.jsonl")),
        text,
    )
    .expect("write");
    id.to_string()
}

#[test]
fn an_ide_wrapped_request_is_the_title_and_the_whole_message_stays_in_the_transcript() {
    let home = tempfile::tempdir().expect("tmp");
    let id = ide_session(home.path());
    let want = "conduct code review on the parser";
    let listed = util::archive::json_lines(&ok(home.path(), &["list", "--json"], b""));
    assert_eq!(listed[0]["title"], want, "{}", listed[0]);
    assert!(ok(home.path(), &["list"], b"").contains(want));
    let shown = ok(home.path(), &["show", &id], b"");
    assert!(shown.contains(&format!("\n# title: {want}\n")), "{shown}");
    assert!(
        shown.contains("# Context from my IDE setup:"),
        "the message is whole: {shown}"
    );
    let md = ok(home.path(), &["export", &id], b"");
    assert!(md.starts_with(&format!("# {want}")), "{md}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(home.path(), &["export", &id, "--format", "json"], b""))
            .expect("json");
    assert_eq!(json["session"]["title"], want);
    assert!(
        ok(home.path(), &["du"], b"").contains(want),
        "du names it by its request"
    );
    // The wrapper is still searchable: the index keeps the whole message.
    assert!(ok(home.path(), &["search", "Active file"], b"").contains(&id));
}

#[test]
fn shell_command_exec_command_and_write_stdin_read_as_commands() {
    let home = tempfile::tempdir().expect("tmp");
    let id = ide_session(home.path());
    let shown = ok(home.path(), &["show", &id], b"");
    for want in [
        "$ rg -n unwrap src\n",
        "$ cargo test    [in /home/ann/proj/crates/core]",
        "> q    [input to command 4]",
    ] {
        assert!(shown.contains(want), "missing {want:?} in:\n{shown}");
    }
    assert!(!shown.contains("tool shell_command"), "{shown}");
    assert!(!shown.contains("\"workdir\""), "{shown}");
    let md = ok(home.path(), &["export", &id], b"");
    assert!(md.contains("$ rg -n unwrap src"), "{md}");
    assert!(md.contains("(in /home/ann/proj/crates/core)"), "{md}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(home.path(), &["export", &id, "--format", "json"], b""))
            .expect("json");
    let commands: Vec<&serde_json::Value> = json["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["kind"] == "command")
        .collect();
    assert_eq!(commands.len(), 3, "{json}");
    assert_eq!(commands[0]["text"], "rg -n unwrap src");
    assert_eq!(
        commands[0]["output"]["text"],
        "src/parser.rs:12: x.unwrap()"
    );
    assert_eq!(commands[1]["workdir"], "/home/ann/proj/crates/core");
    assert_eq!(commands[2]["stdin_of"], "4");
    // The command is what search finds, not its JSON.
    assert!(ok(home.path(), &["search", "rg", "unwrap"], b"").contains("rg -n unwrap src"));
}

//! Every agent's sessions in one archive: a HOME with Claude Code's `~/.claude` (and no
//! `~/.codex`) is listed, searched, shown, exported and counted like a Codex home, and a
//! home with both agents answers over both.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::util::archive::json_lines;
use crate::util::copy_tree;

const SESSION: &str = "0b5e1c2d-1111-4222-8333-444455556666";
const SCREENSHOT: &str = "9f8e7d6c-aaaa-4bbb-8ccc-ddddeeeeffff";

/// A fresh HOME holding a copy of the Claude Code fixture as `~/.claude`.
fn claude_home() -> tempfile::TempDir {
    let home = tempfile::tempdir().expect("tmp");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/claude");
    copy_tree(
        &fixture.join("projects"),
        &home.path().join(".claude/projects"),
    );
    home
}

/// `rolldex ARGS` as a new user runs it: HOME is `home`, nothing else is set.
fn as_user(home: &Path, args: &[&str]) -> Output {
    crate::util::as_new_user(home)
        .args(args)
        .output()
        .expect("run rolldex")
}

fn ok_as_user(home: &Path, args: &[&str]) -> String {
    crate::util::ok_as_new_user(home, args)
}

fn by_id(rows: &[Value]) -> std::collections::BTreeMap<String, Value> {
    rows.iter()
        .map(|r| (r["id"].as_str().expect("id").to_string(), r.clone()))
        .collect()
}

#[test]
fn a_home_with_only_claude_code_lists_searches_shows_exports_and_counts_it() {
    let home = claude_home();
    let h = home.path();
    let out = as_user(h, &["list", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    // The glued and the broken line are reported with their path and line.
    assert!(err.contains(&format!("{SCREENSHOT}.jsonl:2")), "{err}");
    let rows = by_id(&json_lines(&String::from_utf8_lossy(&out.stdout)));
    assert_eq!(rows.len(), 4, "{rows:?}");
    for r in rows.values() {
        assert_eq!(r["agent"], "claude", "{r}");
    }
    let s = &rows[SESSION];
    assert_eq!(
        s["title"], "ws reconnect flake",
        "the custom title wins: {s}"
    );
    assert_eq!(s["cwd"], "/home/ann/relay");
    assert_eq!(s["branch"], "ws-fix");
    assert_eq!(s["model"], "claude-sonnet-4-5-20250929");
    assert_eq!(
        s["tokens"], 4455,
        "each reply once, with its last usage: {s}"
    );
    let sub = &rows["agent-a1b2c3d4"];
    assert_eq!(sub["parent_id"], SESSION, "a 2.1 subagent: {sub}");
    assert_eq!(sub["cwd"], "/home/ann/relay/crates/ws");
    let orphan = &rows["agent-e5f6a7b8"];
    assert_eq!(
        orphan["parent_id"], "7c9d0000-0000-4000-8000-00000000dead",
        "a 2.0 subagent whose parent is gone stays: {orphan}"
    );
    let shot = &rows[SCREENSHOT];
    assert_eq!(shot["title"], "What is in this screenshot?");
    assert_eq!(shot["tokens"], 120);
    assert!(shot["branch"].is_null(), "an empty gitBranch is no branch");

    // Nothing was made under ~/.codex: the index is in the rolldex data folder.
    assert!(!h.join(".codex").exists());
    assert!(h.join(".local/share/rolldex/rolldex.sqlite").is_file());

    // Search: the words said, the stored tool output; never the torn last line.
    for (word, id) in [
        ("quasarflux", SESSION),
        ("reset_storedoutputword", SESSION),
        ("subagentword", "agent-a1b2c3d4"),
        ("orphanword", "agent-e5f6a7b8"),
        ("screenshotword", SCREENSHOT),
    ] {
        let hits = json_lines(&ok_as_user(h, &["search", word, "--json"]));
        assert!(
            hits.iter().any(|x| x["id"] == id && x["agent"] == "claude"),
            "{word}: {hits:?}"
        );
    }
    assert!(json_lines(&ok_as_user(h, &["search", "tornwordzzz", "--json"])).is_empty());
    assert!(json_lines(&ok_as_user(h, &["search", "iVBORw0KGgo", "--json"])).is_empty());

    // Show: the header names the agent; a Bash call reads as a command; context is context.
    let shown = ok_as_user(h, &["show", "0b5e1c2d"]);
    for want in [
        "agent claude",
        "# title: ws reconnect flake",
        "$ cargo test -p relay",
        "test result: FAILED. 11 passed; 1 failed",
        "thinking: The quasarflux jitter never resets",
        "user: Fix the websocket reconnect flake in relay",
        "context: Caveat:",
        "agent-a1b2c3d4",
    ] {
        assert!(shown.contains(want), "missing {want:?} in:\n{shown}");
    }
    assert!(!shown.contains("user: Caveat"), "{shown}");
    let shot = ok_as_user(h, &["show", SCREENSHOT]);
    assert!(
        shot.contains("[image/png, "),
        "an image is a placeholder: {shot}"
    );
    assert!(!shot.contains("iVBORw0KGgo"), "{shot}");
    let sub = ok_as_user(h, &["show", "agent-a1b2"]);
    assert!(
        sub.contains(&format!("subagent [a1b2c3d4] of {SESSION}")),
        "{sub}"
    );

    // Export: the agent in the document.
    let doc: Value = serde_json::from_str(&ok_as_user(h, &["export", SESSION, "--format", "json"]))
        .expect("json");
    assert_eq!(doc["session"]["agent"], "claude");
    assert!(
        doc["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|i| i["kind"] == "command" && i["text"] == "cargo test -p relay"),
        "{doc}"
    );
    let md = ok_as_user(h, &["export", SESSION]);
    assert!(md.contains("- **Agent:** claude"), "{md}");

    // Stats and du by agent; du would archive none of another agent's files in place.
    let stats = json_lines(&ok_as_user(h, &["stats", "--by", "agent", "--json"]));
    assert_eq!(stats.len(), 1, "{stats:?}");
    assert_eq!(stats[0]["agent"], "claude");
    assert_eq!(stats[0]["sessions"], 4);
    let du: Value = serde_json::from_str(ok_as_user(h, &["du", "--by", "agent", "--json"]).trim())
        .expect("json");
    assert_eq!(du["by_agent"][0]["agent"], "claude", "{du}");
    assert_eq!(du["archive"]["archivable_raw_bytes"], 0, "{du}");
    let listed = ok_as_user(h, &["list", "--agent", "codex"]);
    assert!(listed.contains("No sessions match"), "{listed}");
    let bad = as_user(h, &["list", "--agent", "nobody"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn an_appended_claude_session_continues_from_its_offset_and_counts_a_reply_once() {
    let home = claude_home();
    let h = home.path();
    ok_as_user(h, &["index"]);
    let file = h.join(format!(".claude/projects/-home-ann-relay/{SESSION}.jsonl"));
    // The torn line completes, and the last reply streams one more line with its final
    // usage (msg_03: 5 + 50 + 0 + 2000 = 2055 before, 5 + 80 + 0 + 2000 = 2085 now).
    let text = fs::read_to_string(&file).expect("read");
    let torn_at = text.rfind('\n').expect("a newline") + 1;
    let whole = serde_json::json!({"type":"user","sessionId":SESSION,"cwd":"/home/ann/relay",
        "timestamp":"2025-11-20T10:06:00.000Z","message":{"role":"user","content":"tornwordzzz later"}});
    // The torn tail is replaced by its whole line: what was indexed before it stays byte
    // for byte, as when Claude Code finishes writing it.
    let mut f = fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .expect("open");
    f.set_len(torn_at as u64).expect("truncate the torn tail");
    use std::io::{Seek, SeekFrom};
    f.seek(SeekFrom::End(0)).expect("seek");
    writeln!(f, "{whole}").expect("write");
    let more = serde_json::json!({"type":"assistant","sessionId":SESSION,"cwd":"/home/ann/relay",
        "timestamp":"2025-11-20T10:06:01.000Z","message":{"id":"msg_03","model":"claude-sonnet-4-5-20250929",
        "role":"assistant","content":[{"type":"text","text":"And a test for it (appendedword)."}],
        "usage":{"input_tokens":5,"output_tokens":80,"cache_creation_input_tokens":0,"cache_read_input_tokens":2000}}});
    writeln!(f, "{more}").expect("append");
    drop(f);
    let out = as_user(h, &["index", "--json"]);
    let report: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).expect("json");
    assert_eq!(report["files_opened"], 1, "{report}");
    let rows = by_id(&json_lines(&ok_as_user(h, &["list", "--json"])));
    assert_eq!(
        rows[SESSION]["tokens"],
        4455 - 2055 + 2085,
        "{}",
        rows[SESSION]
    );
    for word in ["tornwordzzz", "appendedword"] {
        let hits = json_lines(&ok_as_user(h, &["search", word, "--json"]));
        assert_eq!(hits.len(), 1, "{word}: {hits:?}");
    }
    // A full rebuild agrees with the incremental one.
    ok_as_user(h, &["index", "--full"]);
    let again = by_id(&json_lines(&ok_as_user(h, &["list", "--json"])));
    assert_eq!(again[SESSION]["tokens"], rows[SESSION]["tokens"]);
}

/// Writes a Codex rollout under `codex` whose assistant says `quasarflux` (as the Claude
/// Code and Gemini CLI fixtures do); returns its id.
fn codex_session_saying_quasarflux(codex: &Path) -> &'static str {
    let day = codex.join("sessions/2025/11/21");
    fs::create_dir_all(&day).expect("mkdir");
    let id = "019ab000-0000-7000-8000-00000000c0de";
    let lines = [
        serde_json::json!({"timestamp":"2025-11-21T09:00:00.000Z","type":"session_meta",
            "payload":{"id":id,"timestamp":"2025-11-21T09:00:00.000Z","cwd":"/home/ann/relay"}}),
        serde_json::json!({"timestamp":"2025-11-21T09:00:01.000Z","type":"response_item",
            "payload":{"type":"message","role":"assistant","content":[
                {"type":"output_text","text":"The quasarflux backoff is in relay."}]}}),
    ];
    fs::write(
        day.join(format!("rollout-2025-11-21T09-00-00-{id}.jsonl")),
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .expect("write");
    id
}

#[test]
fn a_word_said_to_codex_and_to_claude_code_finds_both_and_each_says_its_agent() {
    let home = claude_home();
    let h = home.path();
    let codex = h.join(".codex");
    copy_tree(&crate::util::fixture_home(), &codex);
    // A Codex session saying the word the Claude Code session says.
    let id = codex_session_saying_quasarflux(&codex);
    let hits = json_lines(&ok_as_user(h, &["search", "quasarflux", "--json"]));
    let agents: std::collections::BTreeSet<&str> =
        hits.iter().filter_map(|x| x["agent"].as_str()).collect();
    assert_eq!(
        agents.into_iter().collect::<Vec<_>>(),
        ["claude", "codex"],
        "{hits:?}"
    );
    let stats = json_lines(&ok_as_user(h, &["stats", "--by", "agent", "--json"]));
    assert_eq!(stats.len(), 2, "{stats:?}");
    // Each continues in its own agent; a Claude Code subagent through its session.
    assert_eq!(
        ok_as_user(h, &["resume", id, "--command"]).trim(),
        format!("codex resume {id}")
    );
    assert_eq!(
        ok_as_user(h, &["resume", "agent-a1b2", "--command"]).trim(),
        format!("cd /home/ann/relay && claude --resume {SESSION}")
    );
    let path = ok_as_user(h, &["resume", "0b5e1c2d"]);
    assert!(
        path.trim()
            .ends_with(&format!(".claude/projects/-home-ann-relay/{SESSION}.jsonl")),
        "{path}"
    );
    // An existing ~/.codex without an index: the index still goes to the data folder.
    assert!(!codex.join("rolldex.sqlite").exists());
    assert!(h.join(".local/share/rolldex/rolldex.sqlite").is_file());
}

/// Sets every file under `dir` to have been written `days` ago.
fn age(dir: &Path, days: u64) {
    let when = std::time::SystemTime::now() - std::time::Duration::from_secs(days * 86_400);
    for f in crate::util::files(dir) {
        fs::File::options()
            .write(true)
            .open(&f)
            .and_then(|h| h.set_modified(when))
            .expect("set mtime");
    }
}

#[test]
fn a_claude_session_the_agent_deleted_stays_whole_in_rolldexs_copy_and_comes_back_exactly() {
    use std::os::unix::fs::PermissionsExt;
    let home = claude_home();
    let h = home.path();
    let projects = h.join(".claude/projects");
    age(&projects, 40);
    let original = projects.join(format!("-home-ann-relay/{SESSION}.jsonl"));
    let bytes = fs::read(&original).expect("read");
    let out = as_user(h, &["archive", "--older-than", "30d", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let report: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).expect("json");
    assert_eq!(report["preserved"], 4, "{report}");
    assert_eq!(
        report["compressed"], 0,
        "another agent's files are never compressed"
    );
    assert_eq!(
        fs::read(&original).expect("kept"),
        bytes,
        "the agent's file untouched"
    );
    let store = h.join(".local/share/rolldex/preserved/claude/projects/-home-ann-relay");
    let copy = store.join(format!("{SESSION}.jsonl.zst"));
    assert_eq!(
        zstd::decode_all(&fs::read(&copy).expect("copy")[..]).expect("zstd"),
        bytes,
        "a standard zstd copy of the same bytes"
    );
    for p in [&copy, &store] {
        let mode = fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(
            mode,
            if p.is_dir() { 0o700 } else { 0o600 },
            "{}",
            p.display()
        );
    }
    let again: Value = serde_json::from_str(
        String::from_utf8_lossy(&as_user(h, &["archive", "--older-than", "30d", "--json"]).stdout)
            .trim(),
    )
    .expect("json");
    assert_eq!(again["preserved"], 0, "nothing new: {again}");
    assert_eq!(again["preserved_up_to_date"], 4);
    let out = as_user(h, &["verify", "--json"]);
    // 3: the fixture's glued and broken lines, in the original and its copy alike.
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let verified = json_lines(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(
        verified[0]["files"], 8,
        "originals and copies: {verified:?}"
    );
    assert_eq!(verified[0]["problems"], 4, "{verified:?}");
    assert!(
        verified[1..]
            .iter()
            .all(|p| p["path"].as_str().is_some_and(|x| x.contains(SCREENSHOT))),
        "only the broken lines: {verified:?}"
    );

    // The stored tool output is kept beside the copy (and counted in the report).
    let stored = projects.join(format!(
        "-home-ann-relay/{SESSION}/tool-results/toolu_02.txt"
    ));
    let stored_bytes = fs::read(&stored).expect("stored output");
    assert_eq!(report["preserved_outputs"], 1, "{report}");
    let stored_copy = store.join(format!("{SESSION}/tool-results/toolu_02.txt.zst"));
    assert_eq!(
        zstd::decode_all(&fs::read(&stored_copy).expect("copy")[..]).expect("zstd"),
        stored_bytes
    );

    // Claude Code's cleanup deletes the session and its outputs: it stays listed,
    // searchable, shown, with the stored output read from rolldex's copy.
    fs::remove_file(&original).expect("the agent deletes it");
    fs::remove_dir_all(stored.parent().expect("tool-results")).expect("and its outputs");
    let rows = by_id(&json_lines(&ok_as_user(h, &["list", "--json"])));
    assert_eq!(rows[SESSION]["preserved"], true, "{}", rows[SESSION]);
    assert_eq!(rows[SESSION]["title"], "ws reconnect flake");
    assert_eq!(rows["agent-a1b2c3d4"]["preserved"], false);
    assert!(ok_as_user(h, &["list"]).contains("ws reconnect flake  [preserved]"));
    let hits = json_lines(&ok_as_user(h, &["search", "quasarflux", "--json"]));
    assert!(hits.iter().any(|x| x["id"] == SESSION), "{hits:?}");
    let shown = ok_as_user(h, &["show", SESSION]);
    assert!(shown.contains("$ cargo test -p relay"), "{shown}");
    assert!(
        shown.contains("pub fn reconnect() {"),
        "the stored output: {shown}"
    );
    assert!(!shown.contains("Output too large"), "{shown}");
    assert!(
        !shown.contains('\u{FFFD}'),
        "decompressed, not raw zstd: {shown}"
    );
    let md = ok_as_user(h, &["export", SESSION]);
    assert!(md.contains("quasarflux"), "{md}");
    let du: Value = serde_json::from_str(ok_as_user(h, &["du", "--json"]).trim()).expect("json");
    // Four sessions' copies and the stored output's.
    assert_eq!(du["preserved"]["files"], 5, "{du}");
    let on_disk: u64 = crate::util::files(&h.join(".local/share/rolldex/preserved"))
        .iter()
        .map(|p| fs::metadata(p).expect("stat").len())
        .sum();
    assert_eq!(du["preserved"]["bytes"], on_disk, "{du}");

    // resume puts the original back, byte for byte, where Claude Code looks for it.
    let path = ok_as_user(h, &["resume", "0b5e1c2d"]);
    assert_eq!(
        Path::new(path.trim()),
        fs::canonicalize(&original).expect("back")
    );
    assert_eq!(fs::read(&original).expect("read"), bytes);
    assert_eq!(
        fs::read(&stored).expect("the output is back too"),
        stored_bytes
    );
    assert_eq!(
        ok_as_user(h, &["resume", SESSION, "--command"]).trim(),
        format!("cd /home/ann/relay && claude --resume {SESSION}")
    );
    let rows = by_id(&json_lines(&ok_as_user(h, &["list", "--json"])));
    assert_eq!(rows[SESSION]["preserved"], false, "the original again");

    // The session goes on: the next archive run refreshes the copy.
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(&original)
        .expect("open");
    writeln!(
        f,
        "{}",
        serde_json::json!({"type":"user","sessionId":SESSION,"cwd":"/home/ann/relay",
            "timestamp":"2025-11-20T11:00:00.000Z","message":{"role":"user","content":"one more thing"}})
    )
    .expect("append");
    drop(f);
    age(&projects, 31);
    let grown: Value = serde_json::from_str(
        String::from_utf8_lossy(&as_user(h, &["archive", "--older-than", "30d", "--json"]).stdout)
            .trim(),
    )
    .expect("json");
    assert!(grown["preserved"].as_u64().expect("n") >= 1, "{grown}");
    assert_eq!(
        zstd::decode_all(&fs::read(&copy).expect("copy")[..]).expect("zstd"),
        fs::read(&original).expect("read"),
        "the copy holds the grown file"
    );
}

const GEMINI: &str = "5e551011-0000-4000-8000-000000000001";
const GEMINI_LOST: &str = "5e551011-0000-4000-8000-000000000002";

/// A fresh HOME with Claude Code's and Gemini CLI's fixtures (and no `~/.codex`).
fn two_agent_home() -> tempfile::TempDir {
    let home = claude_home();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gemini/tmp");
    copy_tree(&fixture, &home.path().join(".gemini/tmp"));
    home
}

fn gemini_file(home: &Path) -> std::path::PathBuf {
    crate::util::files(&home.join(".gemini/tmp"))
        .into_iter()
        .find(|p| {
            p.to_string_lossy()
                .ends_with("session-2025-12-01T10-00-5e551011.json")
        })
        .expect("the fixture")
}

#[test]
fn gemini_sessions_are_read_whole_with_their_folder_recovered_by_hash_and_reread_when_rewritten() {
    let home = two_agent_home();
    let h = home.path();
    let rows = by_id(&json_lines(&ok_as_user(h, &["list", "--json"])));
    assert_eq!(
        rows.len(),
        6,
        "four Claude Code and two Gemini CLI sessions: {rows:?}"
    );
    let g = &rows[GEMINI];
    assert_eq!(g["agent"], "gemini");
    assert_eq!(g["title"], "Why does the relay reconnect loop spin?");
    assert_eq!(g["tokens"], 1372, "the sum of tokens.total: {g}");
    assert_eq!(g["model"], "gemini-2.5-flash");
    assert_eq!(
        g["cwd"], "/home/ann/relay",
        "the folder whose SHA-256 is the project hash: {g}"
    );
    assert!(
        rows[GEMINI_LOST]["cwd"].is_null(),
        "no folder hashes to it: never a guess"
    );
    let hits = json_lines(&ok_as_user(h, &["search", "geminiresultword", "--json"]));
    assert!(hits.iter().any(|x| x["id"] == GEMINI), "{hits:?}");
    let shown = ok_as_user(h, &["show", GEMINI]);
    for want in [
        "agent gemini",
        "thinking: Backoff: the quasarflux jitter is never reset",
        "$ rg -n jitter src    [in crates/ws]",
        "src/backoff.rs:12",
        "assistant: Reset the jitter after a clean connect.",
    ] {
        assert!(shown.contains(want), "missing {want:?} in:\n{shown}");
    }
    assert_eq!(
        ok_as_user(h, &["resume", GEMINI, "--command"]).trim(),
        format!("cd /home/ann/relay && gemini --resume {GEMINI}")
    );
    let stats = json_lines(&ok_as_user(h, &["stats", "--by", "agent", "--json"]));
    let agents: Vec<&str> = stats.iter().filter_map(|s| s["agent"].as_str()).collect();
    assert_eq!(agents.len(), 2, "{stats:?}");
    // A prefix two sessions share lists them with their agent and exits 2.
    let amb = as_user(h, &["show", "5e55"]);
    assert_eq!(amb.status.code(), Some(2));
    let err = String::from_utf8_lossy(&amb.stderr);
    assert!(
        err.contains("matches 2 sessions") && err.matches("[gemini]").count() == 2,
        "{err}"
    );

    // Gemini CLI rewrites the whole document as the session goes on: read again.
    let file = gemini_file(h);
    let mut doc: Value =
        serde_json::from_str(&fs::read_to_string(&file).expect("read")).expect("json");
    doc["messages"]
        .as_array_mut()
        .expect("messages")
        .push(serde_json::json!({
        "id":"g5","timestamp":"2025-12-01T10:00:09.000Z","type":"gemini","model":"gemini-2.5-pro",
        "content":"Added a regression test (rewrittenword).","tokens":{"total":30}}));
    fs::write(&file, serde_json::to_string_pretty(&doc).expect("json")).expect("rewrite");
    let rows = by_id(&json_lines(&ok_as_user(h, &["list", "--json"])));
    assert_eq!(rows[GEMINI]["tokens"], 1402, "{}", rows[GEMINI]);
    for word in ["rewrittenword", "geminiresultword"] {
        let hits = json_lines(&ok_as_user(h, &["search", word, "--json"]));
        assert_eq!(hits.len(), 1, "{word} once, not twice: {hits:?}");
    }
}

#[test]
fn a_home_with_three_agents_finds_one_word_in_each_and_keeps_the_other_agents_sessions() {
    let home = two_agent_home();
    let h = home.path();
    codex_session_saying_quasarflux(&h.join(".codex"));
    let hits = json_lines(&ok_as_user(h, &["search", "quasarflux", "--json"]));
    let agents: std::collections::BTreeSet<&str> =
        hits.iter().filter_map(|x| x["agent"].as_str()).collect();
    assert_eq!(
        agents.into_iter().collect::<Vec<_>>(),
        ["claude", "codex", "gemini"],
        "{hits:?}"
    );
    let gemini = json_lines(&ok_as_user(h, &["list", "--agent", "gemini", "--json"]));
    assert_eq!(gemini.len(), 2);

    // archive compresses the Codex rollout in place and keeps copies of the others.
    age(&h.join(".claude"), 40);
    age(&h.join(".gemini"), 40);
    age(&h.join(".codex"), 40);
    let out = as_user(h, &["archive", "--older-than", "30d", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let report: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).expect("json");
    assert_eq!(report["compressed"], 1, "{report}");
    assert_eq!(report["preserved"], 6, "{report}");
    let file = gemini_file(h);
    let bytes = fs::read(&file).expect("read");
    fs::remove_file(&file).expect("deleted");
    let rows = by_id(&json_lines(&ok_as_user(h, &["list", "--json"])));
    assert_eq!(rows[GEMINI]["preserved"], true, "{}", rows[GEMINI]);
    let hits = json_lines(&ok_as_user(h, &["search", "geminiresultword", "--json"]));
    assert!(hits.iter().any(|x| x["id"] == GEMINI), "{hits:?}");
    ok_as_user(h, &["resume", GEMINI]);
    assert_eq!(fs::read(&file).expect("back"), bytes, "byte for byte");
}

#[test]
fn forget_retires_only_what_rolldex_holds_alone_and_restores_it() {
    let home = claude_home();
    let h = home.path();
    let projects = h.join(".claude/projects");
    age(&projects, 40);
    ok_as_user(h, &["archive", "--older-than", "30d"]);
    let original = projects.join(format!("-home-ann-relay/{SESSION}.jsonl"));
    let subagent = projects.join(format!(
        "-home-ann-relay/{SESSION}/subagents/agent-a1b2c3d4.jsonl"
    ));
    let bytes = fs::read(&original).expect("read");
    // Claude Code's cleanup deletes the session and its subagent.
    fs::remove_file(&original).expect("the agent deletes it");
    fs::remove_file(&subagent).expect("and its subagent");

    // Everything is old: only the sessions whose originals are gone may be forgotten, and
    // what moves is rolldex's copies; Claude Code's own files stay where they are.
    let before = crate::util::files(&projects);
    let out: Value = serde_json::from_str(
        ok_as_user(h, &["forget", "--keep-within", "1s", "--yes", "--json"]).trim(),
    )
    .expect("json");
    let mut forgotten: Vec<&str> = out["forgotten"]
        .as_array()
        .expect("forgotten")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    forgotten.sort_unstable();
    assert_eq!(forgotten, [SESSION, "agent-a1b2c3d4"], "{out}");
    assert_eq!(
        crate::util::files(&projects),
        before,
        "the agent's files untouched"
    );
    let rows = by_id(&json_lines(&ok_as_user(h, &["list", "--json"])));
    assert!(!rows.contains_key(SESSION), "{rows:?}");
    assert_eq!(rows.len(), 2);
    let trashed = h.join(format!(
        ".local/share/rolldex/rolldex-trash/preserved/claude/projects/-home-ann-relay/{SESSION}.jsonl.zst"
    ));
    assert!(trashed.is_file(), "the copy is in the trash");
    let output_copy = format!(
        "preserved/claude/projects/-home-ann-relay/{SESSION}/tool-results/toolu_02.txt.zst"
    );
    let data = h.join(".local/share/rolldex");
    assert!(
        data.join("rolldex-trash").join(&output_copy).is_file()
            && !data.join(&output_copy).exists(),
        "its stored output's copy went with it"
    );

    // --restore puts the copy back: the session is listed again, and resume brings back
    // the original, byte for byte.
    ok_as_user(h, &["forget", "--restore", "0b5e1c2d"]);
    let rows = by_id(&json_lines(&ok_as_user(h, &["list", "--json"])));
    assert_eq!(rows[SESSION]["preserved"], true);
    assert!(
        data.join(&output_copy).is_file(),
        "the output's copy is back too"
    );
    ok_as_user(h, &["resume", SESSION]);
    assert_eq!(fs::read(&original).expect("back"), bytes);

    // Forgotten again (the original gone again), then the trash emptied on request.
    fs::remove_file(&original).expect("deleted again");
    ok_as_user(h, &["forget", "--keep-within", "1s", "--yes"]);
    let emptied: Value =
        serde_json::from_str(ok_as_user(h, &["forget", "--empty-trash", "--yes", "--json"]).trim())
            .expect("json");
    assert_eq!(
        emptied["deleted_sessions"], 2,
        "the session and its subagent: {emptied}"
    );
    assert!(!trashed.exists());
}

#[test]
fn pins_of_any_agents_sessions_live_in_the_data_folder_and_keep_them_from_forget() {
    let home = claude_home();
    let h = home.path();
    ok_as_user(h, &["pin", "agent-a1b2"]);
    ok_as_user(h, &["pin", "0b5e1c2d"]);
    assert!(!h.join(".codex").exists(), "no ~/.codex made for a pin");
    let pins = h.join(".local/share/rolldex/rolldex_pins.jsonl");
    assert!(pins.is_file());
    let rows = by_id(&json_lines(&ok_as_user(h, &["list", "--json"])));
    assert_eq!(rows[SESSION]["pinned"], true);
    assert_eq!(rows["agent-a1b2c3d4"]["pinned"], true);
    assert_eq!(rows[SCREENSHOT]["pinned"], false);
    // A pinned session the agent deleted stays, with --keep-pinned.
    age(&h.join(".claude"), 40);
    ok_as_user(h, &["archive", "--older-than", "30d"]);
    fs::remove_file(h.join(format!(".claude/projects/-home-ann-relay/{SESSION}.jsonl")))
        .expect("deleted");
    let out: Value = serde_json::from_str(
        ok_as_user(
            h,
            &[
                "forget",
                "--keep-within",
                "1s",
                "--keep-pinned",
                "--yes",
                "--json",
            ],
        )
        .trim(),
    )
    .expect("json");
    // Nothing to forget: the pinned session is kept, the others still have their files.
    assert_eq!(out["would_forget"], serde_json::json!([]), "{out}");
    let rows = by_id(&json_lines(&ok_as_user(h, &["list", "--json"])));
    assert_eq!(rows[SESSION]["preserved"], true);
    ok_as_user(h, &["unpin", SESSION]);
    let rows = by_id(&json_lines(&ok_as_user(h, &["list", "--json"])));
    assert_eq!(rows[SESSION]["pinned"], false);
}

#[test]
fn names_of_other_agents_sessions_live_in_the_data_folder_and_survive_a_rebuild() {
    let home = two_agent_home();
    let h = home.path();
    ok_as_user(h, &["name", "0b5e1c2d", "ws work"]);
    ok_as_user(h, &["name", "agent-a1b2", "jitter hunt"]);
    ok_as_user(h, &["name", GEMINI_LOST, "gem notes"]);
    // No ~/.codex is made, and nothing is written into the agents' folders.
    assert!(!h.join(".codex").exists(), "no ~/.codex made for a name");
    let names = h.join(".local/share/rolldex/session_index.jsonl");
    let text = fs::read_to_string(&names).expect("names file");
    assert_eq!(text.lines().count(), 3, "{text}");
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(&names).expect("stat").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let rows = by_id(&json_lines(&ok_as_user(h, &["list", "--json"])));
    assert_eq!(rows[SESSION]["name"], "ws work");
    assert_eq!(rows["agent-a1b2c3d4"]["name"], "jitter hunt");
    assert_eq!(rows[GEMINI_LOST]["name"], "gem notes");
    // A name resolves a session: show, resume --command.
    let shown = ok_as_user(h, &["show", "jitter hunt"]);
    assert!(shown.starts_with("# session agent-a1b2c3d4"), "{shown}");
    let line = ok_as_user(h, &["resume", "gem notes", "--command"]);
    assert_eq!(line.trim(), format!("gemini --resume {GEMINI_LOST}"));
    // A rename wins; the names are the file's, so a rebuilt index keeps them.
    ok_as_user(h, &["name", "ws work", "ws flake"]);
    ok_as_user(h, &["index", "--full"]);
    let rows = by_id(&json_lines(&ok_as_user(h, &["list", "--json"])));
    assert_eq!(rows[SESSION]["name"], "ws flake");
    assert_eq!(rows["agent-a1b2c3d4"]["name"], "jitter hunt");
    let out = as_user(h, &["show", "ws work"]);
    assert_eq!(out.status.code(), Some(1), "the old name resolves nothing");
}

#[test]
fn a_gemini_document_touched_is_not_read_again_and_one_rewritten_within_its_mtime_is() {
    let home = two_agent_home();
    let h = home.path();
    let file = gemini_file(h);
    let index = |h: &Path| -> Value {
        serde_json::from_str(ok_as_user(h, &["index", "--json"]).trim()).expect("json")
    };
    index(h);
    // Touched: another mtime, the same bytes. The hash says nothing changed.
    let later = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    let set_mtime = |t: std::time::SystemTime| {
        fs::File::options()
            .write(true)
            .open(&file)
            .expect("open")
            .set_modified(t)
            .expect("mtime")
    };
    set_mtime(later);
    let report = index(h);
    assert_eq!(report["files_opened"], 0, "a touch is no change: {report}");
    assert_eq!(index(h)["files_opened"], 0, "and it stays so");

    // Rewritten to the same size with the mtime it had (a rewrite within a coarse file
    // system's granularity): read just after its last write, it is checked by hash.
    let text = fs::read_to_string(&file).expect("read");
    let old = "Reset the jitter after a clean connect.";
    assert!(text.contains(old));
    let new = "Reset the jitter after a clean sunrise.";
    let first = "Reset the jitter after a clean kettles.";
    assert_eq!((old.len(), first.len()), (new.len(), new.len()));
    let now = std::time::SystemTime::now();
    fs::write(&file, text.replace(old, first)).expect("w");
    set_mtime(now);
    index(h);
    fs::write(&file, text.replace(old, new)).expect("rewrite");
    set_mtime(now);
    let hits = json_lines(&ok_as_user(h, &["search", "sunrise", "--json"]));
    assert_eq!(
        hits.len(),
        1,
        "the same-size, same-mtime rewrite is seen: {hits:?}"
    );
    assert!(json_lines(&ok_as_user(h, &["search", "kettle", "--json"])).is_empty());
}

//! The team archive against a real PostgreSQL server that the tests start themselves:
//! two homes push, a third lists, searches, shows and resumes from it; pushes are
//! incremental and survive being killed; a wrong password or a newer schema is refused
//! clearly; TLS is checked.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::util::archive::{Spec, generate};
use crate::util::corpus::Rng;
use crate::util::{ok, pg, run};

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

fn push(home: &Path, url: &str, host: &str) -> Value {
    let out = ok(
        home,
        &["push", "--to", url, "--host-name", host, "--json"],
        b"",
    );
    serde_json::from_str(out.trim()).expect("push json")
}

/// What a session's rollout holds, decompressed.
fn content(spec: &Spec) -> Vec<u8> {
    let bytes = fs::read(&spec.path).expect("read");
    if spec.compressed {
        zstd::decode_all(&bytes[..]).expect("decode")
    } else {
        bytes
    }
}

#[test]
fn two_homes_push_and_a_third_reads_searches_and_resumes_from_the_team_archive() {
    let Some(pg) = pg::start() else { return };
    pg.create_db("team");
    let url = pg.url("team");
    let (a, b, c) = (
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
    );
    let specs_a = generate(a.path(), 24, 101);
    let specs_b = generate(b.path(), 16, 202);

    let first_a = push(a.path(), &url, "laptop");
    let local_a = json_lines(&ok(a.path(), &["list", "--json", "--limit", "1000"], b"")).len();
    assert_eq!(first_a["sessions_pushed"], local_a as u64, "{first_a}");
    assert_eq!(first_a["errors"], 0);
    assert!(first_a["bytes_sent"].as_u64().unwrap_or(0) > 0);
    assert!(first_a["seconds"].is_number());
    let first_b = push(b.path(), &url, "devbox");
    assert!(
        first_b["sessions_pushed"].as_u64().unwrap_or(0) > 0,
        "{first_b}"
    );

    // The third home has nothing of its own: everything comes from the archive.
    let remote = ["--remote", url.as_str()];
    let listed = json_lines(&ok(
        c.path(),
        &[&remote[..], &["list", "--json", "--limit", "1000"]].concat(),
        b"",
    ));
    let want: BTreeSet<String> =
        json_lines(&ok(a.path(), &["list", "--json", "--limit", "1000"], b""))
            .into_iter()
            .chain(json_lines(&ok(
                b.path(),
                &["list", "--json", "--limit", "1000"],
                b"",
            )))
            .map(|v| v["id"].as_str().expect("id").to_string())
            .collect();
    let got: BTreeSet<String> = listed
        .iter()
        .map(|v| v["id"].as_str().expect("id").to_string())
        .collect();
    assert_eq!(got, want, "the team lists both homes' sessions");
    for v in &listed {
        let id = v["id"].as_str().unwrap_or_default();
        let host = if specs_a.iter().any(|s| s.id == id) {
            "laptop"
        } else {
            "devbox"
        };
        assert_eq!(v["host"], host, "{v}");
    }

    let human = ok(
        c.path(),
        &[&remote[..], &["list", "--limit", "1000"]].concat(),
        b"",
    );
    assert!(
        human.contains("@laptop") && human.contains("@devbox"),
        "{human}"
    );

    // Each home's planted word, in the right session, with its machine.
    for (spec, host) in [(&specs_a[3], "laptop"), (&specs_b[5], "devbox")] {
        let hits = json_lines(&ok(
            c.path(),
            &[&remote[..], &["search", &spec.word, "--json"]].concat(),
            b"",
        ));
        assert!(!hits.is_empty(), "{} not found", spec.word);
        assert!(
            hits.iter()
                .all(|h| h["session"]["id"] == spec.id.as_str() || h["id"] == spec.id.as_str()),
            "{hits:?}"
        );
        let text = serde_json::to_string(&hits).expect("json");
        assert!(text.contains(host), "{text}");
    }
    // Phrases, prefixes and ranking go through PostgreSQL's own search.
    let word = &specs_a[3].word;
    let prefix = format!("{}*", &word[..word.len() - 2]);
    assert!(
        !json_lines(&ok(
            c.path(),
            &[&remote[..], &["search", &prefix, "--json"]].concat(),
            b""
        ))
        .is_empty()
    );
    assert!(
        !json_lines(&ok(
            c.path(),
            &[&remote[..], &["search", word, "--rank", "--json"]].concat(),
            b""
        ))
        .is_empty()
    );

    // Show from the archive: the transcript holds the planted word.
    let shown = ok(
        c.path(),
        &[&remote[..], &["show", &specs_a[3].id]].concat(),
        b"",
    );
    assert!(shown.contains(word.as_str()), "{shown}");
    let stats = ok(c.path(), &[&remote[..], &["stats", "--json"]].concat(), b"");
    assert!(
        stats.contains(&format!("\"sessions\":{}", want.len())),
        "{stats}"
    );

    // Where the team's bytes go: every byte of both homes, by kind, per month too.
    let du: Value = serde_json::from_str(&ok(
        c.path(),
        &[&remote[..], &["du", "--json", "--by", "month"]].concat(),
        b"",
    ))
    .expect("du json");
    assert_eq!(du["total"]["sessions"], want.len() as u64, "{du}");
    let kinds: i64 = du["by_kind"]
        .as_object()
        .expect("kinds")
        .values()
        .map(|v| v.as_i64().unwrap_or(0))
        .sum();
    assert_eq!(Some(kinds), du["total"]["raw_bytes"].as_i64(), "{du}");
    assert!(
        du["by_month"].as_array().is_some_and(|m| !m.is_empty()),
        "{du}"
    );
    // Reading the archive built no index in the third home.
    assert!(!c.path().join("rolldex.sqlite").exists());

    // Resume a session that was `.zst` on its machine: byte-identical, private, here.
    let zst = specs_a
        .iter()
        .find(|s| s.compressed && !s.torn)
        .expect("a compressed session");
    let path = ok(c.path(), &[&remote[..], &["resume", &zst.id]].concat(), b"");
    let path = Path::new(path.trim());
    assert!(
        path.starts_with(fs::canonicalize(c.path()).expect("canon")),
        "{} is not in the third home",
        path.display()
    );
    assert!(path.starts_with(fs::canonicalize(c.path()).expect("canon").join("sessions")));
    assert_eq!(
        fs::read(path).expect("read"),
        content(zst),
        "byte-identical"
    );
    assert_eq!(
        fs::metadata(path).expect("meta").permissions().mode() & 0o777,
        0o600
    );
    // Resuming again finds it in place.
    let again = ok(c.path(), &[&remote[..], &["resume", &zst.id]].concat(), b"");
    assert_eq!(Path::new(again.trim()), path);

    // On the machine that has it, resume finds its own copy instead of downloading one.
    let files_before = crate::util::rollouts(a.path()).len();
    let own = ok(a.path(), &[&remote[..], &["resume", &zst.id]].concat(), b"");
    assert_eq!(
        Path::new(own.trim()),
        fs::canonicalize(rolldex::layout::plain_path(&zst.path)).expect("restored")
    );
    assert_eq!(crate::util::rollouts(a.path()).len(), files_before);

    // A second push sends nothing.
    assert_eq!(push(a.path(), &url, "laptop")["sessions_pushed"], 0);
    // An append sends that one session, and the team finds its new words.
    let plain = specs_a
        .iter()
        .find(|s| !s.compressed && !s.torn && !s.archived)
        .expect("a plain session");
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(&plain.path)
        .expect("open");
    writeln!(
        f,
        r#"{{"timestamp":"2026-02-01T00:00:00.000Z","type":"response_item","payload":{{"type":"message","role":"user","content":[{{"type":"input_text","text":"teamappendedword"}}]}}}}"#
    )
    .expect("append");
    drop(f);
    let after = push(a.path(), &url, "laptop");
    assert_eq!(after["sessions_pushed"], 1, "{after}");
    let hits = json_lines(&ok(
        c.path(),
        &[&remote[..], &["search", "teamappendedword", "--json"]].concat(),
        b"",
    ));
    assert_eq!(hits.len(), 1);
    // The appended bytes arrived as well: a fresh resume elsewhere is byte-identical.
    let d = tempfile::tempdir().expect("tmp");
    let path = ok(
        d.path(),
        &[&remote[..], &["resume", &plain.id]].concat(),
        b"",
    );
    assert_eq!(
        fs::read(path.trim()).expect("read"),
        fs::read(&plain.path).expect("read")
    );

    // A wrong password: exit 1, a clear message, never the password.
    let wrong = pg.url_with("team", "not-the-password-91");
    let out = run(c.path(), &["--remote", &wrong, "list"], b"");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("password authentication failed"),
        "{stderr}"
    );
    assert!(!stderr.contains("not-the-password-91"), "{stderr}");
    assert!(stderr.contains("***"), "{stderr}");
    let out = run(a.path(), &["push", "--to", &wrong], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("not-the-password-91"));
}

/// The archive as PostgreSQL holds it must always be whole: every session's chunks are
/// contiguous, add up to its length and decode to bytes with its checksum.
fn check_consistent(pg: &pg::Pg, db: &str) -> usize {
    use sha2::Digest;
    let mut c = pg.client(db);
    let sessions = c
        .query("SELECT id, raw_bytes, sha256 FROM sessions", &[])
        .expect("sessions");
    for s in &sessions {
        let (id, raw, sha): (String, i64, String) = (s.get(0), s.get(1), s.get(2));
        let chunks = c
            .query(
                "SELECT raw_offset, raw_len, data FROM chunks WHERE session_id = $1 ORDER BY raw_offset",
                &[&id],
            )
            .expect("chunks");
        let mut at = 0i64;
        let mut hash = sha2::Sha256::new();
        for ch in &chunks {
            let (off, len, data): (i64, i64, Vec<u8>) = (ch.get(0), ch.get(1), ch.get(2));
            assert_eq!(off, at, "{id}: contiguous");
            let bytes = zstd::decode_all(&data[..]).expect("decodes");
            assert_eq!(bytes.len() as i64, len, "{id}: chunk length");
            hash.update(&bytes);
            at += len;
        }
        assert_eq!(at, raw, "{id}: length");
        let got: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(got, sha, "{id}: checksum");
    }
    sessions.len()
}

#[test]
fn a_killed_or_cut_off_push_leaves_the_archive_whole_and_the_next_completes_it() {
    let Some(pg) = pg::start() else { return };
    pg.create_db("kill");
    let url = pg.url("kill");
    let home = tempfile::tempdir().expect("tmp");
    let h = home.path();
    crate::util::corpus::generate(
        h,
        &crate::util::corpus::CorpusSpec {
            sessions: 120,
            total_bytes: 40_000_000,
            seed: 5,
        },
    )
    .expect("corpus");
    ok(h, &["index"], b"");
    let mut rng = Rng::new(77);
    for k in 0..6 {
        let mut child = crate::util::rolldex()
            .args(["--home"])
            .arg(h)
            .args(["push", "--to", &url, "--host-name", "box"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(150 + rng.below(700)));
        if k % 2 == 0 {
            let _ = child.kill(); // SIGKILL
        } else {
            // A dropped connection: the server ends the push's session.
            let mut c = pg.client("postgres");
            let _ = c.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'rolldex'",
                &[],
            );
        }
        let _ = child.wait();
        check_consistent(&pg, "kill");
    }
    let last = push(h, &url, "box");
    assert_eq!(last["errors"], 0, "{last}");
    let local = json_lines(&ok(h, &["list", "--json", "--limit", "1000"], b"")).len();
    assert_eq!(check_consistent(&pg, "kill"), local, "every session, once");
    assert_eq!(push(h, &url, "box")["sessions_pushed"], 0);
}

#[test]
fn a_newer_schema_is_refused_untouched_and_redact_cleans_the_searchable_text() {
    let Some(pg) = pg::start() else { return };
    pg.create_db("newer");
    pg.create_db("clean");
    let home = tempfile::tempdir().expect("tmp");
    let h = home.path();
    let specs = generate(h, 6, 9);
    // A secret said in a session.
    let plain = specs
        .iter()
        .find(|s| !s.compressed && !s.torn && !s.archived)
        .expect("plain");
    let secret = "ghp_0123456789abcdefghijABCDEFGHIJ0123456789";
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(&plain.path)
        .expect("open");
    writeln!(
        f,
        r#"{{"timestamp":"2026-02-01T00:00:00.000Z","type":"response_item","payload":{{"type":"message","role":"user","content":[{{"type":"input_text","text":"my token is {secret} ok"}}]}}}}"#
    )
    .expect("append");
    drop(f);

    let url = pg.url("clean");
    let out = ok(h, &["push", "--to", &url, "--redact", "--json"], b"");
    assert!(out.contains("\"errors\":0"), "{out}");
    let mut c = pg.client("clean");
    let n: i64 = c
        .query_one(
            "SELECT count(*) FROM items WHERE strpos(summary, $1) > 0",
            &[&secret],
        )
        .expect("count")
        .get(0);
    assert_eq!(n, 0, "the secret is not searchable");
    let host: String = c
        .query_one("SELECT host FROM sessions LIMIT 1", &[])
        .expect("host")
        .get(0);
    assert!(!host.is_empty());

    // A schema from a newer rolldex: refused, left as it was.
    let newer = pg.url("newer");
    ok(h, &["push", "--to", &newer], b"");
    let mut n = pg.client("newer");
    n.execute("UPDATE rolldex_schema SET version = 99", &[])
        .expect("bump");
    let before: i64 = n
        .query_one("SELECT count(*) FROM sessions", &[])
        .expect("count")
        .get(0);
    let out = run(h, &["push", "--to", &newer], b"");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("schema version 99 is newer"), "{stderr}");
    let out = run(h, &["--remote", &newer, "list"], b"");
    assert_eq!(out.status.code(), Some(1));
    let version: i32 = n
        .query_one("SELECT version FROM rolldex_schema", &[])
        .expect("version")
        .get(0);
    assert_eq!(version, 99);
    let after: i64 = n
        .query_one("SELECT count(*) FROM sessions", &[])
        .expect("count")
        .get(0);
    assert_eq!(after, before);
}

#[test]
fn tls_is_verified_when_asked_and_required_when_asked() {
    let Some(pg) = pg::start_tls() else { return };
    pg.create_db("tls");
    let home = tempfile::tempdir().expect("tmp");
    let h = home.path();
    generate(h, 4, 3);
    let base = pg.tcp_url("tls");
    let ca = pg.ca.as_ref().expect("ca");
    let full = format!("{base}?sslmode=verify-full&sslrootcert={}", ca.display());
    let out = ok(h, &["push", "--to", &full, "--json"], b"");
    assert!(out.contains("\"errors\":0"), "{out}");
    // The server takes TCP connections with TLS only: without it, it refuses.
    let plain = format!("{base}?sslmode=disable");
    let out = run(h, &["--remote", &plain, "list"], b"");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no encryption"), "{stderr}");
    let listed = ok(h, &["--remote", &full, "list", "--json"], b"");
    assert_eq!(json_lines(&listed).len(), 4);
    let required = format!("{base}?sslmode=require");
    ok(h, &["--remote", &required, "list"], b"");
    // verify-full against roots that did not sign the certificate: refused, clearly.
    let other = tempfile::NamedTempFile::new().expect("tmp");
    fs::write(other.path(), fs::read(webpki_free_ca()).expect("system ca")).expect("write");
    let wrong = format!(
        "{base}?sslmode=verify-full&sslrootcert={}",
        other.path().display()
    );
    let out = run(h, &["--remote", &wrong, "list"], b"");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("certificate"), "{stderr}");
    assert!(!stderr.contains(pg::PASSWORD), "{stderr}");
}

/// Some CA certificate that did not sign the test server's: the system's first.
fn webpki_free_ca() -> std::path::PathBuf {
    let dir = Path::new("/etc/ssl/certs");
    fs::read_dir(dir)
        .expect("/etc/ssl/certs")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "pem"))
        .expect("a system CA certificate")
}

#[test]
fn a_push_that_meets_an_unreadable_session_sends_the_rest_and_exits_3() {
    let Some(pg) = pg::start() else { return };
    pg.create_db("partial");
    let url = pg.url("partial");
    let home = tempfile::tempdir().expect("tmp");
    generate(home.path(), 6, 21);
    // A .zst whose first frame reads and whose next one is cut short: the session is
    // indexed from what could be read, and its file cannot be sent.
    let name = "rollout-2025-01-01T00-00-39-0bad0000-0000-4000-8000-000000000039.jsonl.zst";
    crate::util::plant_bad_files(home.path(), &[name]);
    let out = run(
        home.path(),
        &["push", "--to", &url, "--host-name", "a", "--json"],
        b"",
    );
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let report: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).expect("json");
    assert_eq!(report["sessions_pushed"], 6, "the rest was sent: {report}");
    let unreadable = report["unreadable"].as_array().expect("unreadable");
    assert_eq!(unreadable.len(), 1, "{report}");
    assert!(
        unreadable[0].as_str().is_some_and(|e| e.contains(name)),
        "{report}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(name), "named on stderr: {err}");
    // A server that cannot be reached is an outage: 1.
    let gone = run(
        home.path(),
        &[
            "push",
            "--to",
            "postgresql://nobody@127.0.0.1:1/none",
            "--json",
        ],
        b"",
    );
    assert_eq!(gone.status.code(), Some(1), "{gone:?}");
}

#[test]
fn claude_code_sessions_are_pushed_with_their_agent_and_resume_into_claudes_folder() {
    let Some(pg) = pg::start() else { return };
    pg.create_db("agents");
    let url = pg.url("agents");
    let home = tempfile::tempdir().expect("tmp");
    let claude = home.path().join(".claude");
    crate::util::copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/claude/projects"),
        &claude.join("projects"),
    );
    let claude_arg = claude.to_str().expect("utf-8");
    let out = ok(
        home.path(),
        &["--claude-home", claude_arg, "push", "--to", &url, "--json"],
        b"",
    );
    let report: Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(report["sessions_pushed"], 4, "{report}");

    // Another machine, empty: the team's sessions say their agent, and resume puts the
    // file where Claude Code looks for it, byte for byte.
    let other = tempfile::tempdir().expect("tmp");
    let other_claude = other.path().join(".claude");
    let other_arg = other_claude.to_str().expect("utf-8");
    let listed = json_lines(&ok(
        other.path(),
        &[
            "--claude-home",
            other_arg,
            "--remote",
            &url,
            "list",
            "--json",
        ],
        b"",
    ));
    assert_eq!(listed.len(), 4);
    assert!(listed.iter().all(|s| s["agent"] == "claude"), "{listed:?}");
    let id = "0b5e1c2d-1111-4222-8333-444455556666";
    let path = ok(
        other.path(),
        &["--claude-home", other_arg, "--remote", &url, "resume", id],
        b"",
    );
    let rel = format!("projects/-home-ann-relay/{id}.jsonl");
    assert_eq!(
        Path::new(path.trim()),
        fs::canonicalize(other_claude.join(&rel)).expect("placed")
    );
    assert_eq!(
        fs::read(other_claude.join(&rel)).expect("read"),
        fs::read(claude.join(&rel)).expect("read"),
        "byte for byte"
    );
    // An agent on that machine asks the team archive through rolldex mcp.
    let mut mcp = crate::cli::mcp::initialized_with(
        other.path(),
        &["--claude-home", other_arg, "--remote", &url],
    );
    let found = mcp.ok(
        "search_sessions",
        serde_json::json!({"query": "quasarflux"}),
    );
    let hits = found["hits"].as_array().expect("hits");
    assert!(
        !hits.is_empty() && hits.iter().all(|h| h["agent"] == "claude"),
        "{found}"
    );
    let listed = mcp.ok("list_sessions", serde_json::json!({"agent": "claude"}));
    assert_eq!(
        listed["sessions"].as_array().map(Vec::len),
        Some(4),
        "{listed}"
    );
    let read = mcp.ok(
        "read_session",
        serde_json::json!({"session": hits[0]["id"], "seq": hits[0]["seq"], "context": 1}),
    );
    assert!(
        read["text"]
            .as_str()
            .is_some_and(|t| t.contains("quasarflux")),
        "{read}"
    );
    mcp.finish();
    let command = ok(
        other.path(),
        &[
            "--claude-home",
            other_arg,
            "--remote",
            &url,
            "resume",
            id,
            "--command",
        ],
        b"",
    );
    assert_eq!(
        command.trim(),
        format!("cd /home/ann/relay && claude --resume {id}")
    );
    assert!(
        !other.path().join("sessions").exists(),
        "nothing went to the Codex home"
    );
}

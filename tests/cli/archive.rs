//! `index`, `list`, `search`, `resume`, `stats` against a generated archive whose answers
//! are known (see `util::archive`).

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::util::archive::{self, Spec, expect, ids, json_lines};
use crate::util::{ok, run};

/// 2025-09-01T00:00:00Z.
const SEP_1: i64 = 1_756_684_800_000;

fn index_json(home: &Path) -> serde_json::Value {
    let out = ok(home, &["index", "--json"], b"");
    serde_json::from_str(out.trim()).expect("index --json is one object")
}

fn list_ids(home: &Path, filters: &[&str]) -> Vec<String> {
    let mut args = vec!["list", "--json", "--limit", "100000"];
    args.extend_from_slice(filters);
    ids(&ok(home, &args, b""))
}

#[test]
fn filters_give_exactly_the_right_sessions() {
    // ROLLDEX_TEST_SESSIONS=3000 checks the same answers on a bigger archive.
    let n: usize = std::env::var("ROLLDEX_TEST_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let home = tempfile::tempdir().expect("tmp");
    let specs = archive::generate(home.path(), n, 7);
    let first = index_json(home.path());
    assert_eq!(first["files_scanned"], n);
    assert_eq!(first["sessions"], n);
    assert_eq!(first["errors"], 0, "{first}");
    // Nothing changed: no file is opened.
    let second = index_json(home.path());
    assert_eq!(second["files_opened"], 0, "{second}");
    assert_eq!(second["files_indexed"], 0, "{second}");

    let acme = |s: &Spec| s.repo == Some("github.com/acme/widget");
    let all = expect(&specs, |_| true);
    assert_eq!(list_ids(home.path(), &[]), all);
    // Every spelling of a repository names the same sessions.
    for spelling in [
        "acme/widget",
        "github.com/acme/widget",
        "git@github.com:Acme/Widget.git",
        "https://github.com/acme/widget",
        "https://someone:tok@github.com/acme/widget.git",
        "ACME/Widget/",
    ] {
        assert_eq!(
            list_ids(home.path(), &["--repo", spelling]),
            expect(&specs, acme),
            "{spelling}"
        );
    }
    // A bare name matches every repository of that name.
    assert_eq!(
        list_ids(home.path(), &["--repo", "widget"]),
        expect(&specs, |s| s.repo.is_some_and(|r| r.ends_with("/widget")))
    );
    assert!(list_ids(home.path(), &["--repo", "nosuch/repo"]).is_empty());
    // The done-when query.
    assert_eq!(
        list_ids(
            home.path(),
            &["--repo", "acme/widget", "--since", "2025-09-01"]
        ),
        expect(&specs, |s| acme(s) && s.updated_ms >= SEP_1)
    );
    assert_eq!(
        list_ids(home.path(), &["--until", "2025-08-31"]),
        expect(&specs, |s| s.created_ms < SEP_1)
    );
    assert_eq!(
        list_ids(
            home.path(),
            &[
                "--since",
                "2025-09-01T00:00:00Z",
                "--until",
                "2025-10-01T00:00:00Z"
            ]
        ),
        expect(&specs, |s| s.updated_ms >= SEP_1
            && s.created_ms <= SEP_1 + 30 * 86_400_000)
    );
    assert_eq!(
        list_ids(home.path(), &["--branch", "release", "--repo", "deploy"]),
        expect(&specs, |s| s.branch == Some("release")
            && s.repo == Some("gitlab.example.com/ops/deploy"))
    );
    let some_commit = specs
        .iter()
        .find_map(|s| s.commit.clone())
        .expect("a commit");
    assert_eq!(
        list_ids(home.path(), &["--commit", &some_commit[..8].to_uppercase()]),
        expect(&specs, |s| s
            .commit
            .as_deref()
            .is_some_and(|c| c.starts_with(&some_commit[..8])))
    );
    // DIR or below, not siblings that share its name as a prefix.
    assert_eq!(
        list_ids(home.path(), &["--cwd", "/home/dev/widget/"]),
        expect(&specs, |s| s.cwd == "/home/dev/widget"
            || s.cwd == "/home/dev/widget/sub")
    );

    // JSON fields: one compressed, archived session in full.
    let target = specs
        .iter()
        .find(|s| s.compressed && s.archived && !s.legacy && s.url.is_some())
        .expect("a compressed archived session");
    let out = ok(home.path(), &["list", "--json", "--limit", "100000"], b"");
    let obj = json_lines(&out)
        .into_iter()
        .find(|o| o["id"] == target.id.as_str())
        .expect("listed");
    assert_eq!(obj["path"], target.path.to_str().expect("utf-8"));
    assert_eq!(obj["compressed"], true);
    assert_eq!(obj["archived"], true);
    assert_eq!(obj["repo"], target.repo.expect("repo"));
    assert_eq!(obj["branch"], target.branch.expect("branch"));
    assert_eq!(obj["commit"], target.commit.as_deref().expect("commit"));
    assert_eq!(obj["cwd"], target.cwd);
    assert_eq!(obj["title"], target.title.as_str());
    assert_eq!(obj["model"], "gpt-5-codex");
    assert_eq!(obj["source"], "cli");
    assert!(obj["items"].as_i64().expect("items") >= 4, "{obj}");
    assert!(obj["tokens"].as_i64().expect("tokens") >= 1000, "{obj}");
    assert!(
        obj["bytes"].as_i64().expect("bytes") > obj["stored_bytes"].as_i64().expect("stored") / 2
    );
    assert!(obj["created_at"].as_str().expect("created").ends_with('Z'));
    let url = obj["repository_url"].as_str().expect("url");
    assert!(!url.contains("SECRETTOKEN"), "{url}");
    assert_eq!(rolldex::repo_url::repo_key(url).as_deref(), target.repo);

    // Forks carry their parent's meta first: the index keeps the fork's own.
    let listed = json_lines(&out);
    let forks: Vec<&Spec> = specs.iter().filter(|s| s.fork_of.is_some()).collect();
    assert!(!forks.is_empty());
    for f in forks {
        let o = listed
            .iter()
            .find(|o| o["id"] == f.id.as_str())
            .expect("fork listed");
        assert_eq!(o["cwd"], f.cwd, "{o}");
    }

    // Search: a word one session said, the word several said, a word in a torn line.
    for s in specs.iter().step_by(37) {
        let hits = json_lines(&ok(home.path(), &["search", &s.word, "--json"], b""));
        let sessions: Vec<&str> = hits.iter().map(|h| h["id"].as_str().expect("id")).collect();
        assert!(
            !hits.is_empty() && sessions.iter().all(|id| *id == s.id),
            "{}: {hits:?}",
            s.word
        );
        assert!(
            hits.iter()
                .any(|h| h["seq"] == s.word_seq && h["kind"] == "message"),
            "{}: {hits:?}",
            s.word
        );
        assert!(
            hits[0]["snippet"]
                .as_str()
                .expect("snippet")
                .contains(&s.word)
        );
    }
    let flamingo = json_lines(&ok(
        home.path(),
        &["search", "flamingo", "--json", "--limit", "100000"],
        b"",
    ));
    let mut got: Vec<(String, u64)> = flamingo
        .iter()
        .map(|h| {
            (
                h["id"].as_str().expect("id").to_string(),
                h["seq"].as_u64().expect("seq"),
            )
        })
        .collect();
    got.sort();
    let mut want: Vec<(String, u64)> = specs
        .iter()
        .filter_map(|s| s.flamingo_seq.map(|q| (s.id.clone(), q)))
        .collect();
    want.sort();
    assert_eq!(got, want);
    // Newest first by default (sessions by start); --rank finds the same hits; filters narrow.
    let starts: Vec<&str> = flamingo
        .iter()
        .map(|h| h["created_at"].as_str().expect("created_at"))
        .collect();
    assert!(starts.windows(2).all(|w| w[0] >= w[1]), "{starts:?}");
    let ranked = ids(&ok(
        home.path(),
        &[
            "search", "flamingo", "--rank", "--json", "--limit", "100000",
        ],
        b"",
    ));
    assert_eq!(
        ranked,
        ids(&ok(
            home.path(),
            &["search", "flamingo", "--json", "--limit", "100000"],
            b""
        ))
    );
    assert_eq!(
        ids(&ok(
            home.path(),
            &[
                "search",
                "flamingo",
                "--json",
                "--limit",
                "100000",
                "--repo",
                "acme/widget"
            ],
            b""
        )),
        expect(&specs, |s| s.flamingo_seq.is_some() && acme(s))
    );
    for s in specs.iter().filter(|s| s.torn).take(3) {
        let out = ok(home.path(), &["search", &s.torn_word(), "--json"], b"");
        assert_eq!(out, "", "a torn line is not indexed yet");
    }
    // FTS syntax in what a person types is just text.
    for q in ["flamingo AND", "\"unclosed", "NEAR(", "a:b", "-x", "*"] {
        let out = run(home.path(), &["search", q], b"");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("fts5") && !stderr.contains("syntax error"),
            "{q}: {stderr}"
        );
    }

    // resume by prefix: a compressed session comes back as a plain file, whole.
    let short = &target.id[..8];
    let printed = ok(home.path(), &["resume", short], b"");
    let plain = Path::new(printed.trim());
    assert!(plain.is_absolute() && plain.is_file(), "{printed}");
    assert_eq!(
        plain.to_str(),
        target.path.to_str().map(|p| p.trim_end_matches(".zst"))
    );
    // The .zst is gone after the restore; the plain file has every byte the index read.
    let restored = fs::read(plain).expect("read");
    assert_eq!(restored.len() as i64, obj["bytes"].as_i64().expect("bytes"));
    // Ambiguous prefix: exit 2 with both candidates; unknown: exit 1.
    let amb = run(home.path(), &["resume", &specs[0].id[..6]], b"");
    assert_eq!(amb.status.code(), Some(2));
    let err = String::from_utf8_lossy(&amb.stderr);
    assert!(
        err.contains(&specs[0].id) && err.contains(&specs[1].id),
        "{err}"
    );
    let none = run(home.path(), &["resume", "ffffffff0000"], b"");
    assert_eq!(none.status.code(), Some(1));
    let bad = run(home.path(), &["resume", "../../etc/passwd"], b"");
    assert_eq!(bad.status.code(), Some(1));

    // Stats add up.
    let total = json_lines(&ok(home.path(), &["stats", "--json"], b""));
    assert_eq!(total.len(), 1);
    assert_eq!(total[0]["sessions"], n);
    let by_repo = json_lines(&ok(home.path(), &["stats", "--by", "repo", "--json"], b""));
    let acme_row = by_repo
        .iter()
        .find(|r| r["repo"] == "github.com/acme/widget")
        .expect("acme row");
    assert_eq!(
        acme_row["sessions"].as_u64(),
        Some(expect(&specs, acme).len() as u64)
    );
    let sum: u64 = by_repo
        .iter()
        .map(|r| r["sessions"].as_u64().expect("n"))
        .sum();
    assert_eq!(sum, n as u64);

    // No credential from any repository URL reached the database.
    assert_no_secret(home.path());
}

/// Neither the database nor its WAL holds a token from the generated URLs.
fn assert_no_secret(home: &Path) {
    for name in ["rolldex.sqlite", "rolldex.sqlite-wal"] {
        let p = home.join(name);
        let Ok(bytes) = fs::read(&p) else { continue };
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("SECRETTOKEN"),
            "{} holds a credential",
            p.display()
        );
    }
}

#[test]
fn incremental_runs_follow_appends_compression_moves_and_deletes() {
    let home = tempfile::tempdir().expect("tmp");
    let h = home.path();
    let specs = archive::generate(h, 24, 11);
    index_json(h);
    let plain: Vec<&Spec> = specs
        .iter()
        .filter(|s| !s.compressed && !s.archived && !s.legacy && !s.torn)
        .collect();
    assert!(plain.len() >= 4);

    // Append: only the new lines are read.
    let grown = plain[0];
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(&grown.path)
        .expect("open");
    writeln!(
        f,
        r#"{{"timestamp":"2026-03-01T10:00:00Z","type":"response_item","payload":{{"type":"message","role":"user","content":[{{"type":"input_text","text":"now add pelicans"}}]}}}}"#
    )
    .expect("append");
    drop(f);
    let r = index_json(h);
    assert_eq!(
        (r["files_opened"].as_u64(), r["items_indexed"].as_u64()),
        (Some(1), Some(1)),
        "{r}"
    );
    let hits = json_lines(&ok(h, &["search", "pelicans", "--json"], b""));
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["id"], grown.id.as_str());
    assert_eq!(hits[0]["updated_at"], "2026-03-01T10:00:00Z");

    // Compress: same session, new path, no item read again.
    let before = ids(&ok(h, &["search", &plain[1].word, "--json"], b""));
    let zst = archive::zst(&plain[1].path);
    fs::write(
        &zst,
        zstd::encode_all(&*fs::read(&plain[1].path).expect("read"), 3).expect("z"),
    )
    .expect("write");
    fs::remove_file(&plain[1].path).expect("rm");
    let r = index_json(h);
    assert_eq!(r["items_indexed"], 0, "{r}");
    assert_eq!(r["files_removed"], 1, "{r}");
    let hits = json_lines(&ok(h, &["search", &plain[1].word, "--json"], b""));
    assert_eq!(
        ids(&ok(h, &["search", &plain[1].word, "--json"], b"")),
        before
    );
    assert_eq!(hits[0]["path"], zst.to_str().expect("utf-8"));
    assert_eq!(hits[0]["compressed"], true);

    // Move into archived_sessions: a plain file of the indexed length is not even opened.
    let moved = h
        .join("archived_sessions")
        .join(plain[2].path.file_name().expect("name"));
    fs::create_dir_all(moved.parent().expect("dir")).expect("mkdir");
    fs::rename(&plain[2].path, &moved).expect("mv");
    let r = index_json(h);
    assert_eq!(
        (r["files_opened"].as_u64(), r["items_indexed"].as_u64()),
        (Some(0), Some(0)),
        "{r}"
    );
    let listed = json_lines(&ok(h, &["list", "--json", "--limit", "1000"], b""));
    let entry = listed
        .iter()
        .find(|o| o["id"] == plain[2].id.as_str())
        .expect("listed");
    assert_eq!(entry["archived"], true);
    assert_eq!(entry["path"], moved.to_str().expect("utf-8"));

    // Delete: its rows and its search hits go.
    fs::remove_file(&plain[3].path).expect("rm");
    let r = index_json(h);
    assert_eq!(r["sessions_removed"], 1, "{r}");
    assert!(!list_ids(h, &[]).contains(&plain[3].id));
    assert_eq!(ok(h, &["search", &plain[3].word, "--json"], b""), "");

    // A torn line completed later becomes searchable.
    let torn = specs
        .iter()
        .find(|s| s.torn && !s.compressed)
        .expect("a torn plain session");
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(&torn.path)
        .expect("open");
    f.write_all(b"re\"}]}}\n").expect("complete");
    drop(f);
    let r = index_json(h);
    assert_eq!(r["items_indexed"], 1, "{r}");
    let hits = json_lines(&ok(h, &["search", &torn.torn_word(), "--json"], b""));
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["id"], torn.id.as_str());

    // Rebuilding from scratch gives the same answers as the incremental runs.
    let incremental = ok(h, &["list", "--json", "--limit", "1000"], b"");
    let r: serde_json::Value =
        serde_json::from_str(ok(h, &["index", "--full", "--json"], b"").trim()).expect("json");
    assert_eq!(r["files_opened"], r["files_scanned"]);
    assert_eq!(
        ok(
            h,
            &["list", "--json", "--limit", "1000", "--no-refresh"],
            b""
        ),
        incremental
    );
}

#[test]
fn two_indexers_at_once_do_not_duplicate_items() {
    let home = tempfile::tempdir().expect("tmp");
    archive::generate(home.path(), 120, 3);
    let spawn = || {
        crate::util::rolldex()
            .arg("--home")
            .arg(home.path())
            .args(["index", "--json"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let (a, b) = (spawn(), spawn());
    for child in [a, b] {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let concurrent = ok(home.path(), &["stats", "--json"], b"");
    ok(home.path(), &["index", "--full"], b"");
    assert_eq!(ok(home.path(), &["stats", "--json"], b""), concurrent);
    let flamingo = json_lines(&ok(
        home.path(),
        &["search", "flamingo", "--json", "--limit", "1000"],
        b"",
    ));
    let mut seen = std::collections::HashSet::new();
    for h in &flamingo {
        assert!(
            seen.insert((h["id"].to_string(), h["seq"].to_string())),
            "duplicate hit {h}"
        );
    }
}

#[test]
fn an_index_from_a_newer_rolldex_is_refused_untouched() {
    let home = tempfile::tempdir().expect("tmp");
    archive::generate(home.path(), 3, 1);
    let db = home.path().join("other.sqlite");
    let conn = rusqlite::Connection::open(&db).expect("db");
    conn.execute_batch("CREATE TABLE future(x); PRAGMA user_version = 99;")
        .expect("setup");
    drop(conn);
    let before = fs::read(&db).expect("read");
    let out = run(
        home.path(),
        &["--db", db.to_str().expect("utf-8"), "index"],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("newer rolldex"), "{err}");
    assert!(
        fs::read(&db).expect("read") == before,
        "the newer index was modified"
    );
    // show and resume still work, by file name.
    let ids = ids(&ok(home.path(), &["list", "--json"], b""));
    let out = run(
        home.path(),
        &["--db", db.to_str().expect("utf-8"), "resume", &ids[0][..8]],
        b"",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn malformed_lines_are_reported_with_path_and_line_and_the_rest_is_indexed() {
    let home = tempfile::tempdir().expect("tmp");
    let specs = archive::generate(home.path(), 4, 21);
    let victim = specs
        .iter()
        .find(|s| !s.compressed && !s.torn)
        .expect("plain");
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(&victim.path)
        .expect("open");
    f.write_all(b"{not json at all\n\xff\xfe\n")
        .expect("append");
    writeln!(
        f,
        r#"{{"timestamp":"2026-03-01T10:00:00Z","type":"response_item","payload":{{"type":"message","role":"user","content":[{{"type":"input_text","text":"after the garbage comes albatross"}}]}}}}"#
    )
    .expect("append");
    drop(f);
    let lines = fs::read(&victim.path)
        .expect("read")
        .iter()
        .filter(|b| **b == b'\n')
        .count();
    let out = run(home.path(), &["index", "--json"], b"");
    assert!(out.status.success());
    let report: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).expect("json");
    assert_eq!(report["malformed_lines"], 2, "{report}");
    assert_eq!(report["sessions"], 4, "{report}");
    let err = String::from_utf8_lossy(&out.stderr);
    let at = |n: usize| format!("{}:{n}", victim.path.display());
    assert!(
        err.contains(&at(lines - 2)) && err.contains(&at(lines - 1)),
        "{err}"
    );
    let hits = json_lines(&ok(home.path(), &["search", "albatross", "--json"], b""));
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["seq"], lines);
    assert_eq!(hits[0]["errors"], 2);
}

#[test]
fn the_index_can_live_elsewhere() {
    let home = tempfile::tempdir().expect("tmp");
    archive::generate(home.path(), 3, 8);
    let elsewhere = tempfile::tempdir().expect("tmp");
    let db = elsewhere.path().join("sub/my.sqlite");
    let out = crate::util::rolldex()
        .arg("--home")
        .arg(home.path())
        .args(["list", "--json"])
        .env("ROLLDEX_DB", &db)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(ids(&String::from_utf8_lossy(&out.stdout)).len(), 3);
    assert!(db.is_file());
    assert!(!home.path().join("rolldex.sqlite").exists());
    let by_flag = ok(
        home.path(),
        &[
            "--db",
            db.to_str().expect("utf-8"),
            "--no-refresh",
            "list",
            "--json",
        ],
        b"",
    );
    assert_eq!(ids(&by_flag).len(), 3);
}

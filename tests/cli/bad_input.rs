//! The bad-input corpus (`tests/fixtures/bad/`, plus cases made here): rolldex never panics,
//! names the path (and line) of what it skips, indexes the rest, and deletes nothing.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::archive::json_lines;
use crate::util::run;

fn bad_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad")
}

/// The good line most fixtures end with.
const SURVIVOR: &str = r#"{"timestamp":"2025-01-01T00:00:01Z","type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"survivor text"}]}}"#;

/// Runs rolldex and checks it did not panic; returns (exit code, stdout, stderr).
fn no_panic(home: &Path, args: &[&str]) -> (i32, String, String) {
    did_not_crash(args, run(home, args, b""))
}

/// Checks that a run of rolldex did not panic; returns (exit code, stdout, stderr).
fn did_not_crash(args: &[&str], out: std::process::Output) -> (i32, String, String) {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out.status.code().unwrap_or(-1);
    assert!(
        !stderr.contains("panicked") && code != 101 && code != -1,
        "rolldex {args:?} crashed ({code}): {stderr}"
    );
    (
        code,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    )
}

/// Every file's bytes, to check nothing was lost.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v: Vec<(PathBuf, Vec<u8>)> = fs::read_dir(dir)
        .expect("ls")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| (e.path(), fs::read(e.path()).expect("read")))
        .collect();
    v.sort();
    v
}

#[test]
fn bad_input_never_panics_is_named_and_the_rest_is_indexed() {
    let home = tempfile::tempdir().expect("tmp");
    let day = home.path().join("sessions/2025/01/01");
    fs::create_dir_all(&day).expect("mkdir");
    for e in fs::read_dir(bad_fixtures()).expect("fixtures") {
        let p = e.expect("entry").path();
        if p.file_name().is_some_and(|n| n != "README.md") {
            fs::copy(&p, day.join(p.file_name().expect("name"))).expect("copy");
        }
    }
    let fixtures = fs::read_dir(&day).expect("ls").count();
    assert!(fixtures >= 40, "{fixtures} fixtures");
    // Cases that cannot be committed as files.
    let mut huge = Vec::with_capacity(100 * 1024 * 1024 + 200);
    huge.extend_from_slice(br#"{"timestamp":"2025-01-01T00:00:01Z","type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":""#);
    huge.resize(huge.len() + 100 * 1024 * 1024, b'a');
    huge.extend_from_slice(b"\"}]}}\n");
    huge.extend_from_slice(SURVIVOR.as_bytes());
    huge.push(b'\n');
    fs::write(
        day.join("rollout-2025-01-01T01-00-00-0bad0000-0000-4000-8000-000000000100.jsonl"),
        &huge,
    )
    .expect("write");
    drop(huge);
    symlink(".", day.join("loop")).expect("symlink loop");
    let self_link =
        day.join("rollout-2025-01-01T01-00-01-0bad0000-0000-4000-8000-000000000101.jsonl");
    symlink(&self_link, &self_link).expect("self link");
    let dir_like =
        day.join("rollout-2025-01-01T01-00-02-0bad0000-0000-4000-8000-000000000102.jsonl");
    fs::create_dir(&dir_like).expect("mkdir");
    fs::write(dir_like.join("inner.txt"), b"x").expect("write");
    let fifo = day.join("rollout-2025-01-01T01-00-03-0bad0000-0000-4000-8000-000000000103.jsonl");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo")
            .success()
    );
    // Many files in one folder.
    let crowd = home.path().join("sessions/2025/01/02");
    fs::create_dir_all(&crowd).expect("mkdir");
    for i in 0..3000 {
        fs::write(
            crowd.join(format!(
                "rollout-2025-01-02T00-00-00-0c0c0000-0000-4000-8000-{i:012}.jsonl"
            )),
            format!("{SURVIVOR}\n"),
        )
        .expect("write");
    }
    let before = snapshot(&day);

    let (code, out, err) = no_panic(home.path(), &["index", "--json"]);
    assert_eq!(code, 3, "done, but some files could not be read: {err}");
    let report: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert!(report["errors"].as_u64().expect("errors") >= 10, "{report}");
    // Skipped lines and unreadable files are named with their path (and line).
    let name = |n: u32| format!("0bad0000-0000-4000-8000-{n:012}");
    for (n, line) in [
        (3u32, Some(2)),
        (5, Some(2)),
        (6, Some(2)),
        (24, Some(2)),
        (39, None),
        (41, None),
    ] {
        let file = fs::read_dir(&day)
            .expect("ls")
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().contains(&name(n)))
            .expect("fixture");
        let want = match line {
            Some(l) => format!("{}:{l}", file.display()),
            None => file.display().to_string(),
        };
        assert!(err.contains(&want), "no {want} in:\n{err}");
    }
    // Every plain file holding the good line whole is found by search.
    let hits = json_lines(
        &no_panic(
            home.path(),
            &["search", "survivor", "text", "--json", "--limit", "100000"],
        )
        .1,
    );
    let found: std::collections::HashSet<String> = hits
        .iter()
        .map(|h| h["path"].as_str().expect("path").to_string())
        .collect();
    for (path, bytes) in &before {
        let text = String::from_utf8_lossy(bytes);
        let whole = text
            .lines()
            .any(|l| l.trim_start_matches('\u{feff}') == SURVIVOR);
        if whole && !path.to_string_lossy().ends_with(".zst") {
            assert!(
                found.contains(path.to_str().expect("utf-8")),
                "{} not indexed",
                path.display()
            );
        }
    }
    assert!(found.len() >= 3000 + 25, "{}", found.len());

    // Every command over every fixture: no panic, and nothing deleted.
    for (path, _) in &before {
        let p = path.to_str().expect("utf-8");
        let (code, _, err) = no_panic(home.path(), &["show", p]);
        assert!(code == 0 || code == 1, "{p}: {code} {err}");
        if code == 1 {
            assert!(err.contains(p), "the error names the file: {err}");
        }
    }
    no_panic(home.path(), &["list", "--json", "--limit", "100000"]);
    no_panic(home.path(), &["verify"]);
    no_panic(home.path(), &["stats", "--by", "repo"]);
    let (code, _, err) = no_panic(home.path(), &["archive", "--older-than", "0s", "--json"]);
    assert_eq!(code, 0, "{err}");
    // Every original is still there, or its .zst decodes to exactly its bytes.
    for (path, bytes) in &before {
        if path.exists() {
            assert!(
                fs::read(path).expect("read") == *bytes,
                "{} changed",
                path.display()
            );
        } else {
            let mut z = path.as_os_str().to_owned();
            z.push(".zst");
            let decoded =
                zstd::decode_all(&*fs::read(PathBuf::from(z)).expect("zst")).expect("decode");
            assert!(
                decoded == *bytes,
                "{} lost bytes in archiving",
                path.display()
            );
        }
    }
    assert!(fifo.exists() && dir_like.is_dir());
}

/// Runs rolldex without the capabilities that let root read any file, so that mode 000
/// means unreadable whoever runs the tests. Returns (exit code, stdout, stderr).
fn without_privileges(home: &Path, args: &[&str]) -> (i32, String, String) {
    let bin = env!("CARGO_BIN_EXE_rolldex");
    let mut cmd = if running_as_root() {
        let mut c = Command::new("setpriv");
        c.args(["--bounding-set=-all", "--inh-caps=-all", "--"])
            .arg(bin);
        c
    } else {
        Command::new(bin)
    };
    let out = cmd
        .env("CLAUDE_CONFIG_DIR", crate::util::NO_AGENT_ROOT)
        .env("ROLLDEX_GEMINI_HOME", crate::util::NO_AGENT_ROOT)
        .arg("--home")
        .arg(home)
        .args(args)
        .env_remove("CODEX_HOME")
        .output()
        .expect("run rolldex");
    did_not_crash(args, out)
}

fn running_as_root() -> bool {
    let out = Command::new("id").arg("-u").output().expect("id -u");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

#[test]
fn unreadable_files_and_folders_are_named_skipped_and_kept() {
    use std::os::unix::fs::PermissionsExt;
    let home = tempfile::tempdir().expect("tmp");
    let day = home.path().join("sessions/2025/01/01");
    let shut = home.path().join("sessions/2025/01/02");
    fs::create_dir_all(&day).expect("mkdir");
    fs::create_dir_all(&shut).expect("mkdir");
    let rollout = |dir: &Path, n: u32| {
        let p = dir.join(format!(
            "rollout-2025-01-01T00-00-00-0bad0000-0000-4000-8000-{n:012}.jsonl"
        ));
        fs::write(&p, format!("{SURVIVOR}\n")).expect("write");
        p
    };
    let readable = rollout(&day, 201);
    let locked_file = rollout(&day, 202);
    let hidden = rollout(&shut, 203);
    fs::set_permissions(&locked_file, fs::Permissions::from_mode(0o000)).expect("chmod");
    fs::set_permissions(&shut, fs::Permissions::from_mode(0o000)).expect("chmod");

    let (code, out, err) = without_privileges(home.path(), &["index", "--json"]);
    assert_eq!(code, 3, "done, but some files could not be read: {err}");
    let report: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert!(report["errors"].as_u64().expect("errors") >= 2, "{report}");
    for p in [&locked_file, &shut] {
        assert!(
            err.contains(&*p.to_string_lossy()),
            "{} not named: {err}",
            p.display()
        );
    }
    assert!(err.contains("ermission denied"), "{err}");
    let (_, listed, _) = without_privileges(home.path(), &["list", "--json"]);
    let ids: Vec<String> = json_lines(&listed)
        .iter()
        .map(|s| s["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(ids, ["0bad0000-0000-4000-8000-000000000201"]);

    // The archive job compresses what it can read and leaves the rest as it is.
    let (code, _, err) = without_privileges(home.path(), &["archive", "--older-than", "0s"]);
    assert_eq!(
        code, 3,
        "the rest was archived, but some files could not be read: {err}"
    );
    for p in [&locked_file, &shut] {
        let named = err.matches(&*p.to_string_lossy()).count();
        assert_eq!(named, 1, "{} named {named} times: {err}", p.display());
    }
    assert!(!readable.exists() && PathBuf::from(format!("{}.zst", readable.display())).exists());
    fs::set_permissions(&shut, fs::Permissions::from_mode(0o700)).expect("chmod");
    fs::set_permissions(&locked_file, fs::Permissions::from_mode(0o600)).expect("chmod");
    for p in [&locked_file, &hidden] {
        assert_eq!(
            fs::read_to_string(p).expect("kept"),
            format!("{SURVIVOR}\n")
        );
    }
}

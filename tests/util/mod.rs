//! Helpers: run the real binary, copy fixtures into a fresh temp home.

pub mod archive;
/// The benches' corpus generator, for its random number generator.
#[path = "../../benches/corpus/mod.rs"]
pub mod corpus;
pub mod pg;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The fixture home shipped with the tests.
pub fn fixture_home() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/home")
}

/// A temp dir holding a copy of the fixture home (tests may change it freely).
pub fn copied_home() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_tree(&fixture_home(), dir.path());
    dir
}

/// Copies the named files of `tests/fixtures/bad/` into `HOME/sessions/2025/01/01/` (their
/// names' day); returns where they went.
pub fn plant_bad_files(home: &Path, names: &[&str]) -> Vec<PathBuf> {
    let bad = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad");
    let day = home.join("sessions/2025/01/01");
    fs::create_dir_all(&day).expect("mkdir");
    names
        .iter()
        .map(|name| {
            let to = day.join(name);
            fs::copy(bad.join(name), &to).expect("copy a bad fixture");
            to
        })
        .collect()
}

pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read fixture dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Where the tests point the other agents' roots: nowhere, so that a machine's own
/// `~/.claude` never reaches a test. A test that wants Claude Code sessions passes
/// `--claude-home`.
pub const NO_AGENT_ROOT: &str = "/nonexistent/rolldex-tests";

/// The same, for a command line run by a shell (tmux, `script`, `bash -c`).
pub const ISOLATED: &str =
    "CLAUDE_CONFIG_DIR=/nonexistent/rolldex-tests ROLLDEX_GEMINI_HOME=/nonexistent/rolldex-tests";

/// The real binary, with the other agents' roots pointed nowhere (see [`NO_AGENT_ROOT`]).
pub fn rolldex() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rolldex"));
    c.env("CLAUDE_CONFIG_DIR", NO_AGENT_ROOT)
        .env("ROLLDEX_GEMINI_HOME", NO_AGENT_ROOT);
    c
}

/// `rolldex` as a new user runs it: HOME is `home`, and none of the variables that name
/// another home, agent root, index or team archive is set.
pub fn as_new_user(home: &Path) -> Command {
    let mut c = rolldex();
    c.env("HOME", home)
        .env_remove("CLAUDE_CONFIG_DIR")
        .env_remove("ROLLDEX_GEMINI_HOME")
        .env_remove("CODEX_HOME")
        .env_remove("ROLLDEX_HOME")
        .env_remove("ROLLDEX_DB")
        .env_remove("XDG_DATA_HOME")
        .env_remove("ROLLDEX_REMOTE");
    c
}

/// `rolldex ARGS` run [`as_new_user`], which must succeed: its stdout.
pub fn ok_as_new_user(home: &Path, args: &[&str]) -> String {
    let out = as_new_user(home).args(args).output().expect("run rolldex");
    assert!(
        out.status.success(),
        "{args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// `rolldex --home HOME ARGS...` with stdin, returning its output.
pub fn run(home: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = rolldex()
        .arg("--home")
        .arg(home)
        .args(args)
        .env_remove("CODEX_HOME")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rolldex");
    let mut input = child.stdin.take().expect("stdin");
    // rolldex may exit (e.g. on a bad argument) before reading stdin: that is its answer,
    // not a test failure.
    if let Err(e) = input.write_all(stdin) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
    }
    drop(input);
    child.wait_with_output().expect("wait rolldex")
}

/// Runs and insists on success; returns stdout.
pub fn ok(home: &Path, args: &[&str], stdin: &[u8]) -> String {
    let out = run(home, args, stdin);
    assert!(
        out.status.success(),
        "rolldex {args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// Every rollout file under a home, sorted.
pub fn rollouts(home: &Path) -> Vec<PathBuf> {
    files(home)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("rollout-"))
        })
        .collect()
}

/// Every file under a folder (not following links to folders), sorted.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).expect("read dir") {
            let e = e.expect("entry");
            if e.file_type().expect("file type").is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

/// A git repository in a temp dir with one commit and the given origin.
pub fn git_repo(origin: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let git = |args: &[&str]| {
        let st = Command::new("git")
            .args(args)
            .current_dir(dir.path())
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .expect("run git");
        assert!(
            st.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&st.stderr)
        );
        String::from_utf8(st.stdout)
            .expect("utf-8")
            .trim()
            .to_string()
    };
    git(&["init", "-q", "-b", "feature/x"]);
    git(&["remote", "add", "origin", origin]);
    git(&["commit", "-q", "--allow-empty", "-m", "first"]);
    dir
}

/// The HEAD commit of a repository.
pub fn head_commit(repo: &Path) -> String {
    let out = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(repo)
        .output()
        .expect("git");
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_string()
}

/// zstd-compresses `data` as several concatenated frames (as appending writers make).
pub fn zstd_frames(data: &[u8], frames: usize) -> Vec<u8> {
    let chunk = data.len().div_ceil(frames.max(1)).max(1);
    let mut out = Vec::new();
    for part in data.chunks(chunk) {
        out.extend(zstd::encode_all(part, 3).expect("zstd"));
    }
    out
}

//! `rolldex pick` in a real terminal: tmux runs it, types into it and reads the screen.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::archive::generate;
use crate::util::ok;

/// tmux, when installed (CI installs it and sets ROLLDEX_REQUIRE_TMUX=1).
fn tmux_available() -> bool {
    if Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return true;
    }
    assert!(
        std::env::var_os("ROLLDEX_REQUIRE_TMUX").is_none(),
        "ROLLDEX_REQUIRE_TMUX is set but tmux is not installed"
    );
    eprintln!("skipped: no tmux (apt-get install tmux); CI runs this test");
    false
}

/// A tmux server of the test's own (its own socket), killed on drop.
struct Tmux {
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmux {
    fn new() -> Tmux {
        let dir = tempfile::tempdir().expect("tmp");
        Tmux {
            socket: dir.path().join("tmux.sock"),
            _dir: dir,
        }
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("tmux");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A shell in a 140x40 window.
    fn shell(&self) {
        self.run(&[
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            "140",
            "-y",
            "40",
            "bash",
            "--norc",
            "--noprofile",
        ]);
        self.run(&["set-option", "-t", "t", "status", "off"]);
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend(keys);
        self.run(&args);
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "t"])
    }

    /// Waits until the screen satisfies `what` (generous: this checks behaviour, not speed).
    fn wait(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "waited for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

/// 300 generated sessions, indexed, one of which says `word` deep in its content.
fn home_with_word(word: &str) -> (tempfile::TempDir, String) {
    let home = tempfile::tempdir().expect("tmp");
    let specs = generate(home.path(), 300, 7);
    let target = specs
        .iter()
        .find(|s| !s.compressed && !s.torn && !s.legacy && !s.title.contains(word))
        .expect("a plain session");
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(&target.path)
        .expect("open");
    writeln!(
        f,
        r#"{{"timestamp":"2026-03-01T10:00:00.000Z","type":"response_item","payload":{{"type":"message","role":"assistant","content":[{{"type":"output_text","text":"the flake came from {word} in the retry loop"}}]}}}}"#
    )
    .expect("append");
    ok(home.path(), &["index"], b"");
    (home, target.id.clone())
}

fn pick_command(home: &Path, out: &Path) -> String {
    format!(
        "{} {} --home {} pick > {}; echo EXIT=$?",
        crate::util::ISOLATED,
        env!("CARGO_BIN_EXE_rolldex"),
        home.display(),
        out.display()
    )
}

#[test]
fn typing_a_word_said_inside_one_session_and_enter_prints_its_id() {
    if !tmux_available() {
        return;
    }
    let (home, id) = home_with_word("quillpenumbra");
    let out = home.path().join("chosen.txt");
    let t = Tmux::new();
    t.shell();
    t.keys(&[&pick_command(home.path(), &out), "Enter"]);
    // At least a screenful of titled sessions at once.
    let screen = t.wait("the list", |s| s.contains("300/300"));
    let titled = screen.lines().filter(|l| l.contains("Please fix")).count();
    assert!(titled >= 20, "{screen}");
    t.keys(&["quillpenum"]);
    // The count and the hit's snippet (a frame may be caught half drawn: wait for both).
    t.wait("one match and its snippet", |s| {
        s.contains("quillpenum  1/300") && s.contains("quillpenumbra")
    });
    t.keys(&["Enter"]);
    t.wait("the shell again", |s| s.contains("EXIT=0"));
    assert_eq!(fs::read_to_string(&out).expect("out").trim(), id);
}

#[test]
fn esc_prints_nothing_exits_non_zero_and_leaves_a_usable_terminal() {
    if !tmux_available() {
        return;
    }
    let (home, _) = home_with_word("quillpenumbra");
    let out = home.path().join("chosen.txt");
    let t = Tmux::new();
    t.shell();
    t.keys(&[&pick_command(home.path(), &out), "Enter"]);
    t.wait("the list", |s| s.contains("/300"));
    t.keys(&["Escape"]);
    t.wait("the shell again", |s| s.contains("EXIT=130"));
    assert_eq!(fs::read_to_string(&out).expect("out"), "");
    // The terminal is back in cooked mode with echo: the prompt works.
    t.keys(&[
        "stty -a | grep -o -- '-\\?icanon' | head -1; echo ALIVE",
        "Enter",
    ]);
    let screen = t.wait("the prompt to answer", |s| s.contains("\nALIVE"));
    assert!(screen.contains("\nicanon\n"), "{screen}");
}

#[test]
fn without_a_terminal_pick_says_so_and_exits_2() {
    let home = tempfile::tempdir().expect("tmp");
    let out = Command::new("setsid")
        .env("CLAUDE_CONFIG_DIR", crate::util::NO_AGENT_ROOT)
        .env("ROLLDEX_GEMINI_HOME", crate::util::NO_AGENT_ROOT)
        .arg(env!("CARGO_BIN_EXE_rolldex"))
        .arg("--home")
        .arg(home.path())
        .arg("pick")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("setsid");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a terminal"));
}

#[test]
fn pick_finds_a_session_in_a_team_archive_from_an_empty_home() {
    if !tmux_available() {
        return;
    }
    let Some(pg) = crate::util::pg::start() else {
        return;
    };
    pg.create_db("pick");
    let url = pg.url("pick");
    let (home, id) = home_with_word("teampenumbra");
    ok(home.path(), &["push", "--to", &url], b"");
    let empty = tempfile::tempdir().expect("tmp");
    let out = empty.path().join("chosen.txt");
    let t = Tmux::new();
    t.shell();
    let cmd = format!(
        "{} {} --home {} --remote '{url}' pick > {}; echo EXIT=$?",
        crate::util::ISOLATED,
        env!("CARGO_BIN_EXE_rolldex"),
        empty.path().display(),
        out.display()
    );
    t.keys(&[&cmd, "Enter"]);
    t.wait("the team's sessions", |s| s.contains("300/300"));
    t.keys(&["teampenum"]);
    // The count and the hit's snippet (a frame may be caught half drawn: wait for both).
    t.wait("one match and its snippet", |s| {
        s.contains("teampenum  1/300") && s.contains("teampenumbra")
    });
    t.keys(&["Enter"]);
    t.wait("the shell again", |s| s.contains("EXIT=0"));
    assert_eq!(fs::read_to_string(&out).expect("out").trim(), id);
    // The empty home got no index: everything came from the archive.
    assert!(!empty.path().join("rolldex.sqlite").exists());
}

/// The number of rows shown for `typed`, from the status line (`typed  N/M`).
fn shown_for(screen: &str, typed: &str) -> Option<usize> {
    let at = screen.find(&format!("{typed}  "))? + typed.len() + 2;
    let digits: String = screen[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    screen[at + digits.len()..]
        .starts_with('/')
        .then(|| digits.parse().ok())
        .flatten()
}

/// Runs the picker on `home`, types `typed`, waits until `ready` holds for the screen,
/// presses Enter and returns the id it printed, with the screen before Enter.
fn pick_after_typing(home: &Path, typed: &str, ready: impl Fn(&str) -> bool) -> (String, String) {
    let out = home.join("chosen.txt");
    let t = Tmux::new();
    t.shell();
    t.keys(&[&pick_command(home, &out), "Enter"]);
    t.wait("the list", |s| s.contains("/30"));
    t.keys(&[typed]);
    let screen = t.wait("the answer", |s| shown_for(s, typed).is_some() && ready(s));
    t.keys(&["Enter"]);
    t.wait("the shell again", |s| s.contains("EXIT=0"));
    let id = fs::read_to_string(&out).expect("out").trim().to_string();
    (id, screen)
}

#[test]
fn a_word_said_in_a_session_ranks_above_letters_scattered_over_another_ones_title() {
    if !tmux_available() {
        return;
    }
    let (home, said) = home_with_word("zorbulator");
    // Two newer sessions whose title and folder hold z-o-r-b-u-l-a-t-o-r in order: at the
    // starts of words (a fair fuzzy match), and scattered (the case the issue measured).
    let record = |title: &str, cwd: &str| {
        let line = serde_json::json!({"type":"message","role":"user","content":[
            {"type":"input_text","text":title}]});
        ok(
            home.path(),
            &["record", "--cwd", cwd],
            format!("{line}\n").as_bytes(),
        )
        .trim()
        .to_string()
    };
    let fair = record("zoo or bull at odd rates", "/home/dev/zoo");
    let scattered = record(
        "please file tokenizer passes tokenizer build patched item205",
        "/home/dev/widgets/crates/core",
    );
    ok(home.path(), &["index"], b"");

    let (id, screen) = pick_after_typing(home.path(), "zorbulator", |s| {
        shown_for(s, "zorbulator") == Some(2) && s.contains("zoo or bull")
    });
    assert_eq!(
        id, said,
        "the session that said the word comes first:\n{screen}"
    );
    let said_row = screen
        .find("the flake came fro")
        .expect("the hit's snippet");
    let fair_row = screen.find("zoo or bull").expect("the fair match");
    assert!(
        said_row < fair_row,
        "the fuzzy match comes after:\n{screen}"
    );
    assert!(
        !screen.contains("please file tokenizer"),
        "scattered letters are no match:\n{screen}"
    );

    // A name typed exactly wins over every content hit.
    ok(home.path(), &["name", &scattered, "zorbulator"], b"");
    let (id, screen) = pick_after_typing(home.path(), "zorbulator", |s| {
        shown_for(s, "zorbulator") == Some(3)
    });
    assert_eq!(id, scattered, "the named session comes first:\n{screen}");
    assert_ne!(id, fair);

    // A repository's name typed finds its sessions first, all of them.
    let listed: Vec<serde_json::Value> =
        ok(home.path(), &["list", "--json", "--limit", "1000"], b"")
            .lines()
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect();
    let deploy: Vec<&str> = listed
        .iter()
        .filter(|s| {
            s["repo"].as_str().is_some_and(|r| r.ends_with("/deploy"))
                || s["cwd"].as_str().is_some_and(|c| c.contains("deploy"))
        })
        .map(|s| s["id"].as_str().expect("id"))
        .collect();
    assert!(deploy.len() >= 10, "the generator makes deploy sessions");
    // Until its answer arrives the prompt shows "deploy" beside the count of the list
    // before it (every session): fewer than all, since the named session above matches
    // nothing of "deploy", is the answer itself.
    let (id, screen) = pick_after_typing(home.path(), "deploy", |s| {
        shown_for(s, "deploy").is_some_and(|n| n >= deploy.len() && n < listed.len())
    });
    assert!(
        deploy.contains(&id.as_str()),
        "{id} is no deploy session:\n{screen}"
    );
}

#[test]
fn pick_finds_a_claude_code_session_beside_codex_ones_and_names_its_agent() {
    if !tmux_available() {
        return;
    }
    let (home, _) = home_with_word("zorbulator");
    let claude = home.path().join(".claude");
    crate::util::copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/claude/projects"),
        &claude.join("projects"),
    );
    let out = home.path().join("chosen.txt");
    let t = Tmux::new();
    t.shell();
    let cmd = format!(
        "{} {} --home {} --claude-home {} pick > {}; echo EXIT=$?",
        crate::util::ISOLATED,
        env!("CARGO_BIN_EXE_rolldex"),
        home.path().display(),
        claude.display(),
        out.display()
    );
    t.keys(&[&cmd, "Enter"]);
    t.wait("the list", |s| s.contains("/304"));
    t.keys(&["quasarflux"]);
    let screen = t.wait("the Claude Code session", |s| {
        shown_for(s, "quasarflux") == Some(1) && s.contains("ws reconnect flake")
    });
    assert!(
        screen.contains("claude"),
        "its row names the agent:\n{screen}"
    );
    t.keys(&["Enter"]);
    t.wait("the shell again", |s| s.contains("EXIT=0"));
    assert_eq!(
        fs::read_to_string(&out).expect("out").trim(),
        "0b5e1c2d-1111-4222-8333-444455556666"
    );
}

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
        "{} --home {} pick > {}; echo EXIT=$?",
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
    let screen = t.wait("one match", |s| s.contains("quillpenum  1/300"));
    assert!(
        screen.contains("quillpenumbra"),
        "the hit's snippet: {screen}"
    );
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
        "{} --home {} --remote '{url}' pick > {}; echo EXIT=$?",
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

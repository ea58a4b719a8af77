//! Shell integration and colour: completions, the man page, one colour policy.

use std::process::Command;

use crate::util::{copied_home, ok};

#[test]
fn completions_are_working_scripts_and_the_man_page_names_every_command() {
    let home = tempfile::tempdir().expect("tmp");
    let bash = ok(home.path(), &["completions", "bash"], b"");
    // Sourced into a real bash, it registers a completion for rolldex.
    let out = Command::new("bash")
        .args(["--norc", "-c", "source /dev/stdin && complete -p rolldex"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().expect("stdin").write_all(bash.as_bytes())?;
            c.wait_with_output()
        })
        .expect("bash");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("_rolldex"));
    let zsh = ok(home.path(), &["completions", "zsh"], b"");
    assert!(zsh.starts_with("#compdef rolldex"), "{zsh}");
    let fish = ok(home.path(), &["completions", "fish"], b"");
    assert!(
        fish.contains("complete -c rolldex") && fish.contains("pick"),
        "{fish}"
    );
    for shell in ["elvish", "powershell"] {
        assert!(ok(home.path(), &["completions", shell], b"").contains("rolldex"));
    }
    let bad = crate::util::run(home.path(), &["completions", "tcsh"], b"");
    assert_eq!(bad.status.code(), Some(2));

    let man = ok(home.path(), &["man"], b"");
    assert!(man.contains(".TH rolldex 1"), "{man}");
    for cmd in ["pick", "export", "search", "archive", "name", "completions"] {
        assert!(man.contains(cmd), "{cmd} missing from the man page");
    }
}

/// Runs rolldex on a pseudo-terminal (util-linux `script`), returning what it printed.
fn on_a_terminal(home: &std::path::Path, args: &str, env: &[(&str, &str)]) -> String {
    let cmd = format!(
        "{} --home {} {args}",
        env!("CARGO_BIN_EXE_rolldex"),
        home.display()
    );
    let mut c = Command::new("script");
    c.env("CLAUDE_CONFIG_DIR", crate::util::NO_AGENT_ROOT)
        .env("ROLLDEX_GEMINI_HOME", crate::util::NO_AGENT_ROOT)
        .args(["-qec", &cmd, "/dev/null"])
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env("TERM", "xterm-256color");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("script");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn colour_follows_the_terminal_no_color_and_the_flag() {
    let home = copied_home();
    ok(home.path(), &["index"], b"");
    let esc = '\u{1b}';
    let tty = on_a_terminal(home.path(), "search widget", &[]);
    assert!(tty.contains("widget"), "{tty}");
    assert!(
        tty.contains(esc),
        "matches are highlighted on a terminal: {tty:?}"
    );
    let plain = on_a_terminal(home.path(), "search widget", &[("NO_COLOR", "1")]);
    assert!(
        plain.contains("widget") && !plain.contains(esc),
        "{plain:?}"
    );
    let never = on_a_terminal(home.path(), "--color never search widget", &[]);
    assert!(!never.contains(esc), "{never:?}");
    // Off a terminal: plain unless forced.
    let piped = ok(home.path(), &["search", "widget"], b"");
    assert!(!piped.contains(esc));
    let forced = crate::util::rolldex()
        .args(["--home"])
        .arg(home.path())
        .args(["search", "widget"])
        .env("CLICOLOR_FORCE", "1")
        .env_remove("NO_COLOR")
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&forced.stdout).contains(esc));
    let always = ok(home.path(), &["--color", "always", "search", "widget"], b"");
    assert!(always.contains(esc));
    // Hits are grouped: one header per session.
    let headers = piped
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.is_empty())
        .collect::<Vec<_>>();
    let unique: std::collections::HashSet<&&str> = headers.iter().collect();
    assert_eq!(headers.len(), unique.len(), "{piped}");
    assert!(headers.len() >= 2, "{piped}");
}

#[test]
fn long_jobs_show_progress_on_a_terminal_and_never_off_one() {
    let home = tempfile::tempdir().expect("tmp");
    crate::util::archive::generate(home.path(), 40, 21);
    ok(home.path(), &["index"], b"");
    let piped = crate::util::run(home.path(), &["verify"], b"");
    assert!(!String::from_utf8_lossy(&piped.stderr).contains("verifying"));
    let on_tty = |args: &str| {
        let cmd = format!(
            "{} --home {} {args} 1>/dev/null",
            env!("CARGO_BIN_EXE_rolldex"),
            home.path().display()
        );
        let out = Command::new("script")
            .env("CLAUDE_CONFIG_DIR", crate::util::NO_AGENT_ROOT)
            .env("ROLLDEX_GEMINI_HOME", crate::util::NO_AGENT_ROOT)
            .args(["-qec", &cmd, "/dev/null"])
            .env("TERM", "xterm-256color")
            .output()
            .expect("script");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(on_tty("verify").contains("verifying"));
    assert!(on_tty("archive --older-than 0s").contains("archiving"));
    let piped = crate::util::run(
        home.path(),
        &["forget", "--keep-within", "0s", "--yes"],
        b"",
    );
    assert!(piped.status.success());
    assert!(!String::from_utf8_lossy(&piped.stderr).contains("forgetting"));
}

//! `rolldex export`: Markdown, HTML and JSON documents of a recorded session, secrets
//! redacted by default, written privately, identical from a `.zst`; deep links.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::util::{ok, rollouts, run};

/// Seven kinds of secret, as a `.env` file holds them.
const SECRETS: &[&str] = &[
    "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
    "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "xoxb-2048-4096-AbCdEfGhIjKlMnOp",
    "glpat-xY7zQ2wE9rT4uI1oP6aS",
    "correct-horse-battery-staple",
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun",
];

const SCRIPT: &str = "<script>document.body.setAttribute('data-pwned','yes')</script>";

/// A session recorded with the real binary: a user message with a script tag and an image,
/// `cat .env` and its secret-laden output, a patch, and a final answer. Returns its id.
fn recorded(home: &Path) -> String {
    let env_file = format!(
        "OPENAI_KEY_FOR_TESTS={}\nexport GH={}\nAWS_ACCESS_KEY_ID={}\naws_secret_access_key = {}\nSLACK_HOOK={}\nGITLAB={}\nDB_PASSWORD={}\n-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n",
        SECRETS[0],
        SECRETS[1],
        SECRETS[2],
        SECRETS[3],
        SECRETS[4],
        SECRETS[5],
        SECRETS[6],
        SECRETS[7]
    );
    let lines = [
        json!({"type":"message","role":"user","content":[{"type":"input_text","text":"<environment_context>\n<cwd>/work</cwd>\n</environment_context>"}]}),
        json!({"type":"message","role":"user","content":[
            {"type":"input_text","text":format!("Why does {SCRIPT} break the page? Also check the env.")},
            {"type":"input_image","image_url":format!("data:image/png;base64,{}", "iVBORw0KGgo".repeat(300))}]}),
        json!({"type":"reasoning","summary":[{"type":"summary_text","text":"Look at the env file first"}],"encrypted_content":"gAAAAsecretreasoning"}),
        json!({"type":"function_call","name":"shell","arguments":json!({"command":["bash","-lc","cat .env"]}).to_string(),"call_id":"c1"}),
        json!({"type":"function_call_output","call_id":"c1","output":env_file}),
        json!({"type":"custom_tool_call","name":"apply_patch","call_id":"p1","input":"*** Begin Patch\n*** Update File: web/index.html\n@@\n-<p>old ```fence```</p>\n+<p>new</p>\n*** End Patch"}),
        json!({"type":"custom_tool_call_output","call_id":"p1","output":"Success. Updated the following files:\n\u{1b}[32mM\u{1b}[0m web/index.html"}),
        json!({"type":"message","role":"assistant","content":[{"type":"output_text","text":"The script tag is escaped now; rotate those keys."}]}),
    ];
    let stdin: String = lines.iter().map(|l| format!("{l}\n")).collect();
    ok(home, &["record", "--cwd", "/"], stdin.as_bytes())
        .trim()
        .to_string()
}

fn export(home: &Path, args: &[&str]) -> String {
    let mut all = vec!["export"];
    all.extend(args);
    ok(home, &all, b"")
}

#[test]
fn every_format_holds_the_session_and_none_of_its_secrets_unless_asked() {
    let home = tempfile::tempdir().expect("tmp");
    let id = recorded(home.path());
    for format in ["md", "html", "json"] {
        let doc = export(home.path(), &[&id, "--format", format]);
        for want in [
            "cat .env",
            "Also check the env.",
            "The script tag is escaped now; rotate those keys.",
            "Look at the env file first",
            "web/index.html",
            "[REDACTED:",
        ] {
            assert!(doc.contains(want), "{format}: missing {want:?}\n{doc}");
        }
        for secret in SECRETS {
            assert!(!doc.contains(secret), "{format}: {secret} leaked\n{doc}");
        }
        assert!(
            !doc.contains("gAAAA") && !doc.contains("iVBORw0KGgoiVBOR"),
            "{format}"
        );
        let faithful = export(home.path(), &[&id, "--format", format, "--no-redact"]);
        for secret in SECRETS {
            // JSON escapes the slashes of nothing here, but a newline in the key block
            // is fine: each secret is one line.
            assert!(
                faithful.contains(secret),
                "{format} --no-redact lacks {secret}"
            );
        }
    }
    // Injected context is one line unless asked for.
    let md = export(home.path(), &[&id]);
    assert!(md.contains("`<environment_context>` (3 lines)"), "{md}");
    assert!(!md.contains("<cwd>/work</cwd>"), "{md}");
    let full = export(home.path(), &[&id, "--include-context"]);
    assert!(full.contains("<cwd>/work</cwd>"), "{full}");
    // Fences outlast the backticks inside; the patch is a diff; the image a placeholder.
    assert!(md.contains("````diff\n*** Begin Patch"), "{md}");
    assert!(md.contains("*[image: image/png, 3 KB]*"), "{md}");
    assert!(md.starts_with("# Why does"), "the title heads it: {md}");
}

#[test]
fn html_is_self_contained_and_escapes_what_the_rollout_says() {
    let home = tempfile::tempdir().expect("tmp");
    let id = recorded(home.path());
    let html = export(home.path(), &[&id, "--format", "html"]);
    assert!(html.starts_with("<!doctype html>"), "{html}");
    assert!(
        !html.contains("<script"),
        "a rollout's script is text, not markup"
    );
    assert!(
        html.contains("&lt;script&gt;document.body.setAttribute"),
        "{html}"
    );
    for external in [
        "src=", "href=", "@import", "url(", "<link", "<img", "<iframe",
    ] {
        assert!(!html.contains(external), "{external} in:\n{html}");
    }
    assert!(html.contains("prefers-color-scheme:dark") && html.contains("@media print"));
    assert!(html.contains("Content-Security-Policy"));
}

#[test]
fn json_is_one_document_with_documented_fields() {
    let home = tempfile::tempdir().expect("tmp");
    let id = recorded(home.path());
    let text = export(home.path(), &[&id, "--format", "json"]);
    let doc: Value = serde_json::from_str(&text).expect("one JSON document");
    assert_eq!(doc["session"]["id"], id.as_str());
    assert!(doc["session"].get("stored_bytes").is_none());
    assert_eq!(doc["skipped_lines"], 0);
    let items = doc["items"].as_array().expect("items");
    let kinds: Vec<&str> = items
        .iter()
        .map(|i| i["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(
        kinds,
        [
            "context",
            "message",
            "reasoning",
            "command",
            "patch",
            "message"
        ],
        "{text}"
    );
    let cmd = &items[3];
    assert_eq!(cmd["text"], "cat .env");
    assert!(
        cmd["output"]["text"]
            .as_str()
            .expect("output")
            .contains("[REDACTED:")
    );
    assert_eq!(cmd["turn"], 1);
    assert!(cmd["seq"].as_u64().expect("seq") < cmd["last_seq"].as_u64().expect("last"));
    assert_eq!(items[1]["role"], "user");
    assert_eq!(items[1]["images"][0]["kind"], "image/png");
    assert_eq!(items[4]["files"], json!(["web/index.html"]));
    for key in [
        "seq",
        "last_seq",
        "ordinal",
        "timestamp",
        "turn",
        "kind",
        "role",
        "text",
    ] {
        assert!(items.iter().all(|i| i.get(key).is_some()), "{key}");
    }
}

#[test]
fn output_files_are_private_equal_to_stdout_and_never_clobbered() {
    let home = tempfile::tempdir().expect("tmp");
    let id = recorded(home.path());
    let out_dir = tempfile::tempdir().expect("tmp");
    for format in ["md", "html", "json"] {
        let file = out_dir.path().join(format!("s.{format}"));
        let f = file.to_str().expect("utf-8");
        let printed = export(home.path(), &[&id, "--format", format, "-o", f]);
        assert!(printed.is_empty());
        let stdout = export(home.path(), &[&id, "--format", format]);
        assert_eq!(fs::read_to_string(&file).expect("file"), stdout);
        let mode = fs::metadata(&file).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{format}");
        // An existing file is refused, untouched, unless --force.
        fs::write(&file, "mine").expect("write");
        let refused = run(
            home.path(),
            &["export", &id, "--format", format, "-o", f],
            b"",
        );
        assert_eq!(refused.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&refused.stderr).contains("--force"));
        assert_eq!(fs::read_to_string(&file).expect("file"), "mine");
        export(home.path(), &[&id, "--format", format, "-o", f, "--force"]);
        assert_eq!(fs::read_to_string(&file).expect("file"), stdout);
    }
    let leftovers: Vec<_> = fs::read_dir(out_dir.path())
        .expect("ls")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".rolldex-"))
        .collect();
    assert!(leftovers.is_empty(), "no temp file is left");
}

#[test]
fn a_zst_session_exports_exactly_as_its_plain_twin_and_errors_exit_1_or_2() {
    let home = tempfile::tempdir().expect("tmp");
    let id = recorded(home.path());
    let before: Vec<String> = ["md", "html", "json"]
        .iter()
        .map(|f| export(home.path(), &[&id, "--format", f]))
        .collect();
    ok(home.path(), &["archive", "--older-than", "0s"], b"");
    assert!(
        rollouts(home.path())
            .iter()
            .all(|p| p.to_string_lossy().ends_with(".zst"))
    );
    for (f, want) in ["md", "html", "json"].iter().zip(&before) {
        assert_eq!(&export(home.path(), &[&id, "--format", f]), want, "{f}");
    }
    let unknown = run(home.path(), &["export", "ffffffff"], b"");
    assert_eq!(unknown.status.code(), Some(1));
    assert!(unknown.stdout.is_empty());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no session matches"));
    let bad_format = run(home.path(), &["export", &id, "--format", "pdf"], b"");
    assert_eq!(bad_format.status.code(), Some(2));
    assert!(bad_format.stdout.is_empty());
}

#[test]
fn search_hits_end_with_a_deep_link_that_opens_the_session_there() {
    let home = tempfile::tempdir().expect("tmp");
    let id = recorded(home.path());
    let out = ok(home.path(), &["search", "rotate"], b"");
    let link = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("rolldex "))
        .expect("a deep link");
    let args: Vec<&str> = link.split_whitespace().collect();
    assert_eq!(args[..2], ["show", id.as_str()]);
    assert_eq!(args[2], "--at");
    let at = ok(home.path(), &args, b"");
    assert!(at.contains(">>> line"), "{at}");
    assert!(at.contains("rotate those keys"), "{at}");
    // One item of context each side: the patch before, nothing of the first message.
    let narrow = ok(
        home.path(),
        &[args[0], args[1], args[2], args[3], "--context", "1"],
        b"",
    );
    assert!(
        // The header names the session by its title; no item of the first message shows.
        narrow.contains("apply_patch") && !narrow.contains("user: Why does"),
        "{narrow}"
    );
    // show --redact hides what show prints by default.
    let shown = ok(home.path(), &["show", &id, "--full-output"], b"");
    assert!(shown.contains(SECRETS[0]));
    let redacted = ok(
        home.path(),
        &["show", &id, "--full-output", "--redact"],
        b"",
    );
    for secret in SECRETS {
        assert!(!redacted.contains(secret), "{secret}");
    }
}

/// Headless Chromium, when installed (CI installs it and sets ROLLDEX_REQUIRE_BROWSER=1).
fn chromium() -> Option<String> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if Command::new(name)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return Some(name.to_string());
        }
    }
    assert!(
        std::env::var_os("ROLLDEX_REQUIRE_BROWSER").is_none(),
        "ROLLDEX_REQUIRE_BROWSER is set but no Chromium is installed"
    );
    eprintln!("skipped: no Chromium (apt-get install chromium); CI runs this test");
    None
}

/// The DOM after Chromium loaded and ran `file`.
fn rendered_dom(browser: &str, file: &Path) -> String {
    let profile = tempfile::tempdir().expect("profile");
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=2000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", file.display()))
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_real_browser_renders_the_html_export_and_runs_none_of_its_script() {
    let Some(browser) = chromium() else { return };
    let home = tempfile::tempdir().expect("tmp");
    let id = recorded(home.path());
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("session.html");
    export(
        home.path(),
        &[&id, "--format", "html", "-o", file.to_str().expect("p")],
    );
    let dom = rendered_dom(&browser, &file);
    assert!(dom.contains("rotate those keys"), "{dom}");
    assert!(dom.contains("cat .env"), "{dom}");
    assert!(
        !dom.contains("data-pwned=\"yes\""),
        "the planted script ran:\n{dom}"
    );

    // The check can see a script run: the same planted code, as real markup, does.
    let control = dir.path().join("control.html");
    fs::write(
        &control,
        format!("<!doctype html><html><body><p>x</p>{SCRIPT}</body></html>"),
    )
    .expect("write");
    let dom = rendered_dom(&browser, &control);
    assert!(dom.contains("data-pwned=\"yes\""), "control: {dom}");
}

/// A session whose answers are Markdown, some of it hostile.
fn markdown_session(home: &Path) -> String {
    let answer = "Here is **the fix**, with `<b>code</b>` spelled out:\n\n\
        ```rust\nfn main() { println!(\"<i>hi</i>\"); }\n```\n\n\
        | step | result |\n|------|--------|\n| build | ok |\n\n\
        <img src=x onerror=\"document.body.setAttribute('data-pwned','img')\">\n\n\
        [click me](javascript:document.body.setAttribute('data-pwned','link')) and \
        [the docs](https://example.com/docs).";
    let lines = [
        json!({"type":"message","role":"user","content":[{"type":"input_text","text":"Render *this* please"}]}),
        json!({"type":"reasoning","summary":[{"type":"summary_text","text":"Think about `tables` and **bold**"}]}),
        json!({"type":"message","role":"assistant","content":[{"type":"output_text","text":answer}]}),
    ];
    let stdin: String = lines.iter().map(|l| format!("{l}\n")).collect();
    ok(home, &["record", "--cwd", "/"], stdin.as_bytes())
        .trim()
        .to_string()
}

#[test]
fn html_renders_markdown_and_keeps_its_html_links_and_images_inert() {
    let home = tempfile::tempdir().expect("tmp");
    let id = markdown_session(home.path());
    let html = export(home.path(), &[&id, "--format", "html"]);
    for want in [
        "<strong>the fix</strong>",
        "<code>&lt;b&gt;code&lt;/b&gt;</code>",
        "<pre><code class=\"language-rust\">fn main() { println!(\"&lt;i&gt;hi&lt;/i&gt;\"); }",
        "<th>step</th>",
        "<td>ok</td>",
        "&lt;img src=x onerror=",
        "<a href=\"https://example.com/docs\">the docs</a>",
        "<em>this</em>",
        "<code>tables</code>",
    ] {
        assert!(html.contains(want), "missing {want:?} in:\n{html}");
    }
    for never in ["<img", "javascript:", "<script", "<i>hi"] {
        assert!(!html.contains(never), "{never} in:\n{html}");
    }
    assert!(html.contains("click me"), "a refused link keeps its text");
    // The Markdown export keeps the text as the agent wrote it.
    let md = export(home.path(), &[&id]);
    assert!(md.contains("Here is **the fix**"), "{md}");
    assert!(md.contains("| build | ok |"), "{md}");
}

#[test]
fn a_real_browser_renders_markdown_in_the_html_export_and_runs_none_of_it() {
    let Some(browser) = chromium() else { return };
    let home = tempfile::tempdir().expect("tmp");
    let id = markdown_session(home.path());
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("session.html");
    export(
        home.path(),
        &[&id, "--format", "html", "-o", file.to_str().expect("p")],
    );
    let dom = rendered_dom(&browser, &file);
    assert!(dom.contains("<strong>the fix</strong>"), "{dom}");
    assert!(
        dom.contains("<table>") && dom.contains("<td>ok</td>"),
        "{dom}"
    );
    assert!(dom.contains("<pre><code class=\"language-rust\">"), "{dom}");
    assert!(!dom.contains("<img"), "an image element was made:\n{dom}");
    // Ran, the planted code would set the attribute on <body>; as text it is only quoted.
    assert!(!dom.contains("data-pwned=\""), "planted code ran:\n{dom}");
    assert!(
        dom.contains("setAttribute('data-pwned','img')"),
        "shown as text: {dom}"
    );
    assert!(!dom.contains("href=\"javascript"), "{dom}");
}

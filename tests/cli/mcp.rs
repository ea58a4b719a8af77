//! `rolldex mcp` driven as an MCP client drives it: the real binary, JSON-RPC lines over
//! its stdin and stdout (initialize, tools/list, tools/call, a call after an error result,
//! notifications, a malformed line, end of input).

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use serde_json::{Value, json};

use crate::util::copy_tree;

const SESSION: &str = "0b5e1c2d-1111-4222-8333-444455556666";
const CODEX: &str = "019ab000-0000-7000-8000-00000000c0de";
/// A key planted in a Codex session: it must never come out.
const KEY: &str = "sk-proj-Zq8TnWv3Lk5Rb7Yc2Xd9Fh4Jm6Pa1Se0Gu";

/// A HOME with the Claude Code and Gemini CLI fixtures and a Codex session that says
/// `quasarflux`, holds a planted key and a 400 KB tool output.
fn three_agent_home() -> tempfile::TempDir {
    let home = tempfile::tempdir().expect("tmp");
    let h = home.path();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    copy_tree(
        &fixtures.join("claude/projects"),
        &h.join(".claude/projects"),
    );
    copy_tree(&fixtures.join("gemini/tmp"), &h.join(".gemini/tmp"));
    let day = h.join(".codex/sessions/2025/11/21");
    fs::create_dir_all(&day).expect("mkdir");
    let big: String = (0..8000)
        .map(|i| format!("bigoutputline {i} of the build log\n"))
        .collect();
    let lines = [
        json!({"timestamp":"2025-11-21T09:00:00.000Z","type":"session_meta",
            "payload":{"id":CODEX,"timestamp":"2025-11-21T09:00:00.000Z","cwd":"/home/ann/relay",
                "git":{"repository_url":"https://github.com/ann/relay.git","branch":"main",
                    "commit_hash":"3f9c2a1b7d4e5f60718293a4b5c6d7e8f9012345"}}}),
        json!({"timestamp":"2025-11-21T09:00:01.000Z","type":"response_item",
            "payload":{"type":"message","role":"user","content":[
                {"type":"input_text","text":format!("Deploy with OPENAI_API_KEY={KEY} please")}]}}),
        json!({"timestamp":"2025-11-21T09:00:02.000Z","type":"response_item",
            "payload":{"type":"function_call","name":"shell","call_id":"c1",
                "arguments":"{\"command\":[\"cargo\",\"build\"]}"}}),
        json!({"timestamp":"2025-11-21T09:00:03.000Z","type":"response_item",
            "payload":{"type":"function_call_output","call_id":"c1","output":big}}),
        json!({"timestamp":"2025-11-21T09:00:04.000Z","type":"response_item",
            "payload":{"type":"message","role":"assistant","content":[
                {"type":"output_text","text":format!("The quasarflux backoff is in relay; key {KEY} set.")}]}}),
    ];
    fs::write(
        day.join(format!("rollout-2025-11-21T09-00-00-{CODEX}.jsonl")),
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .expect("write");
    home
}

/// Every file under the agents' folders with its bytes.
fn snapshot(h: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<(PathBuf, Vec<u8>)> = [".claude", ".gemini", ".codex/sessions"]
        .iter()
        .flat_map(|d| crate::util::files(&h.join(d)))
        .map(|p| {
            let b = fs::read(&p).expect("read");
            (p, b)
        })
        .collect();
    out.sort();
    out
}

/// The server, and every line it wrote (read on a thread: a hung server fails the test
/// instead of hanging it).
pub(crate) struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    seen: Vec<String>,
    next: u64,
}

/// Generous: the 2 GB session is read whole twice (indexed, then read around its end).
const WAIT: Duration = Duration::from_secs(180);

impl Client {
    fn start(home: &Path) -> Client {
        Client::start_with(home, &[])
    }

    /// `rolldex ARGS mcp` as a new user runs it (HOME is `home`).
    pub(crate) fn start_with(home: &Path, args: &[&str]) -> Client {
        let mut child = crate::util::as_new_user(home)
            .args(args)
            .arg("mcp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start rolldex mcp");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Client {
            stdin: child.stdin.take(),
            child,
            lines: rx,
            seen: Vec::new(),
            next: 1,
        }
    }

    pub(crate) fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("open stdin");
        writeln!(stdin, "{line}").expect("write");
        stdin.flush().expect("flush");
    }

    /// The next line that answers `id`, every line on stdout being JSON-RPC.
    pub(crate) fn answer(&mut self, id: &Value) -> Value {
        loop {
            let line = self.lines.recv_timeout(WAIT).expect("an answer in time");
            self.seen.push(line.clone());
            let v: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout carries only JSON-RPC: {e}: {line}"));
            assert_eq!(v["jsonrpc"], "2.0", "{v}");
            if &v["id"] == id {
                return v;
            }
        }
    }

    pub(crate) fn request(&mut self, method: &str, params: Value) -> Value {
        let id = json!(self.next);
        self.next += 1;
        self.send(&json!({"jsonrpc":"2.0","id":id,"method":method,"params":params}).to_string());
        self.answer(&id)
    }

    /// A tools/call's result (a tool error is a result too).
    pub(crate) fn call(&mut self, tool: &str, args: Value) -> Value {
        let v = self.request("tools/call", json!({"name": tool, "arguments": args}));
        assert!(
            v.get("error").is_none(),
            "a tool answers with a result: {v}"
        );
        v["result"].clone()
    }

    pub(crate) fn ok(&mut self, tool: &str, args: Value) -> Value {
        let r = self.call(tool, args.clone());
        assert_ne!(r["isError"], true, "{tool} {args}: {r}");
        assert!(
            r["content"][0]["text"].as_str().is_some(),
            "text for the model: {r}"
        );
        r["structuredContent"].clone()
    }

    pub(crate) fn error_text(&mut self, tool: &str, args: Value) -> String {
        let r = self.call(tool, args.clone());
        assert_eq!(r["isError"], true, "{tool} {args} is a tool error: {r}");
        r["content"][0]["text"].as_str().expect("text").to_string()
    }

    /// Closes stdin: the server ends, with exit status 0.
    pub(crate) fn finish(mut self) -> Vec<String> {
        drop(self.stdin.take());
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(
                    status.success(),
                    "end of input ends the server cleanly: {status}"
                );
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server did not end at end of input"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self.seen.extend(self.lines.try_iter());
        self.seen
    }
}

fn initialized(home: &Path) -> Client {
    initialized_with(home, &[])
}

/// A server past the handshake (`initialize`, `notifications/initialized`).
pub(crate) fn initialized_with(home: &Path, args: &[&str]) -> Client {
    let mut c = Client::start_with(home, args);
    let init = c.request(
        "initialize",
        json!({"protocolVersion":"2025-06-18","capabilities":{},
            "clientInfo":{"name":"rolldex-tests","version":"0"}}),
    );
    assert_eq!(init["result"]["serverInfo"]["name"], "rolldex", "{init}");
    assert!(
        init["result"]["capabilities"]["tools"].is_object(),
        "{init}"
    );
    assert!(
        init["result"]["instructions"]
            .as_str()
            .is_some_and(|i| i.contains("search_sessions")),
        "{init}"
    );
    c.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    c
}

#[test]
fn an_agent_lists_the_tools_searches_lists_and_reads_sessions_of_every_agent() {
    let home = three_agent_home();
    let h = home.path();
    let named = crate::util::as_new_user(h)
        .args(["name", SESSION, "ws flake hunt"])
        .output()
        .expect("name");
    assert!(named.status.success(), "{named:?}");
    let before = snapshot(h);
    let mut c = initialized(h);
    let by_name = c.ok("list_sessions", json!({"name": "flake hunt"}));
    assert_eq!(by_name["sessions"][0]["id"], SESSION, "{by_name}");
    assert_eq!(by_name["sessions"][0]["name"], "ws flake hunt");
    assert_eq!(by_name["sessions"].as_array().map(Vec::len), Some(1));

    let tools = c.request("tools/list", json!({}));
    let mut names: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|t| {
            assert!(
                t["description"].as_str().is_some_and(|d| d.len() > 80),
                "a description an agent can act on: {t}"
            );
            assert_eq!(t["inputSchema"]["type"], "object", "{t}");
            t["name"].as_str().expect("name")
        })
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["list_sessions", "read_session", "search_sessions"]);
    let search_schema = tools["result"]["tools"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["name"] == "search_sessions"))
        .map(|t| t["inputSchema"].clone())
        .expect("schema");
    for p in [
        "query", "repo", "branch", "cwd", "agent", "since", "until", "rank", "limit",
    ] {
        assert!(
            search_schema["properties"][p].is_object(),
            "{p}: {search_schema}"
        );
    }

    // One word said to each agent: every hit places its session and says how to read on.
    let found = c.ok("search_sessions", json!({"query": "quasarflux"}));
    let hits = found["hits"].as_array().expect("hits");
    let mut agents: Vec<&str> = hits.iter().filter_map(|x| x["agent"].as_str()).collect();
    agents.sort_unstable();
    agents.dedup();
    assert_eq!(agents, ["claude", "codex", "gemini"], "{found}");
    for hit in hits {
        assert!(hit["id"].is_string() && hit["seq"].is_u64(), "{hit}");
        assert!(
            hit["snippet"]
                .as_str()
                .is_some_and(|s| s.contains("quasarflux")),
            "{hit}"
        );
    }
    let claude_hit = hits
        .iter()
        .find(|x| x["id"] == SESSION)
        .expect("the Claude Code session");
    assert_eq!(claude_hit["cwd"], "/home/ann/relay");
    assert_eq!(claude_hit["branch"], "ws-fix");

    // Filters narrow, as on the command line.
    let only = c.ok(
        "search_sessions",
        json!({"query": "quasarflux", "agent": "gemini"}),
    );
    assert!(
        only["hits"]
            .as_array()
            .expect("hits")
            .iter()
            .all(|x| x["agent"] == "gemini"),
        "{only}"
    );
    let none = c.ok(
        "search_sessions",
        json!({"query": "quasarflux", "branch": "no-such"}),
    );
    assert_eq!(none["hits"], json!([]));
    let ranked = c.ok(
        "search_sessions",
        json!({"query": "quasar*", "rank": true, "limit": 1}),
    );
    assert_eq!(ranked["hits"].as_array().map(Vec::len), Some(1), "{ranked}");
    // The Codex session's repository, commit and day.
    let by_repo = c.ok(
        "search_sessions",
        json!({"query": "quasarflux", "repo": "ann/relay"}),
    );
    let only_codex = by_repo["hits"].as_array().expect("hits");
    assert!(
        !only_codex.is_empty() && only_codex.iter().all(|x| x["id"] == CODEX),
        "{by_repo}"
    );
    assert_eq!(
        only_codex[0]["commit"],
        "3f9c2a1b7d4e5f60718293a4b5c6d7e8f9012345"
    );
    assert_eq!(only_codex[0]["repo"], "github.com/ann/relay");
    let day = c.ok(
        "list_sessions",
        json!({"since": "2025-11-21", "until": "2025-11-21"}),
    );
    let ids: Vec<&str> = day["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert_eq!(ids, [CODEX], "{day}");
    let back = c.ok("list_sessions", json!({"since": "3650d"}));
    assert_eq!(back["sessions"].as_array().map(Vec::len), Some(7), "{back}");
    let listed = c.ok("list_sessions", json!({"agent": "claude", "limit": 2}));
    let rows = listed["sessions"].as_array().expect("sessions");
    assert_eq!(rows.len(), 2, "{listed}");
    assert!(
        rows.iter()
            .all(|r| r["agent"] == "claude" && r["tokens"].is_u64())
    );
    let in_folder = c.ok("list_sessions", json!({"cwd": "/home/ann/relay/crates"}));
    assert_eq!(
        in_folder["sessions"].as_array().map(Vec::len),
        Some(1),
        "the subagent that ran below it: {in_folder}"
    );

    // Read around a hit.
    let seq = claude_hit["seq"].as_u64().expect("seq");
    let read = c.ok(
        "read_session",
        json!({"session": SESSION, "seq": seq, "context": 1}),
    );
    let text = read["text"].as_str().expect("text");
    assert!(text.contains(&format!(">>> line {seq}")), "{text}");
    assert!(text.contains("quasarflux"), "{text}");
    assert_eq!(read["session"]["id"], SESSION);
    // Read from where the index says the items start, it is what show prints there.
    let show = crate::util::as_new_user(h)
        .args(["show", SESSION, "--at", &seq.to_string(), "--context", "1"])
        .output()
        .expect("show");
    assert_eq!(
        text,
        String::from_utf8_lossy(&show.stdout),
        "read_session = show --at"
    );
    // By prefix, whole, within the default budget.
    let whole = c.ok("read_session", json!({"session": "0b5e1c2d"}));
    assert_eq!(whole["truncated"], false, "{whole}");
    assert!(
        whole["text"]
            .as_str()
            .is_some_and(|t| t.contains("cargo test -p relay"))
    );

    // Bad arguments and unknown sessions are tool errors that say what to do; the server
    // goes on answering.
    let e = c.error_text("search_sessions", json!({"query": "x", "agent": "cursor"}));
    assert!(e.contains("codex, claude, gemini"), "{e}");
    let e = c.error_text(
        "search_sessions",
        json!({"query": "x", "repository": "relay"}),
    );
    assert!(
        e.contains("repository"),
        "an unknown argument is named: {e}"
    );
    let e = c.error_text(
        "search_sessions",
        json!({"query": "x", "since": "whenever"}),
    );
    assert!(e.contains("since"), "{e}");
    let e = c.error_text(
        "read_session",
        json!({"session": "ffffffff-0000-4000-8000-000000000000"}),
    );
    assert!(e.contains("search_sessions"), "a next step: {e}");
    let e = c.error_text("read_session", json!({"session": "5e55"}));
    assert!(
        e.contains("5e551011-0000-4000-8000-000000000001"),
        "candidates: {e}"
    );
    let e = c.error_text("read_session", json!({"session": SESSION, "max_bytes": 10}));
    assert!(e.contains("max_bytes"), "{e}");
    c.send("this is not JSON");
    let again = c.ok(
        "search_sessions",
        json!({"query": "quasarflux", "agent": "codex"}),
    );
    assert_eq!(again["hits"][0]["id"], CODEX, "{again}");

    let seen = c.finish();
    assert_eq!(snapshot(h), before, "the agents' files are unchanged");
    assert!(
        seen.iter().all(|l| !l.contains(KEY)),
        "the key never leaves"
    );
}

#[test]
fn read_session_keeps_to_its_budget_and_says_how_to_read_on_and_secrets_stay_redacted() {
    let home = three_agent_home();
    let h = home.path();
    let mut c = initialized(h);
    // A session with a 400 KB tool output: the default budget holds.
    let read = c.ok("read_session", json!({"session": CODEX}));
    let text = read["text"].as_str().expect("text");
    assert!(text.len() <= 16 * 1024, "{} bytes", text.len());
    assert!(text.contains("[REDACTED:openai]"), "{text}");
    assert!(!text.contains(KEY));
    // A small budget cuts between entries and names the line to go on from.
    let mut from = None;
    let mut pages = 0;
    loop {
        let mut args = json!({"session": CODEX, "max_bytes": 600});
        if let Some(seq) = from {
            args["seq"] = json!(seq);
            args["context"] = json!(0);
        }
        let page = c.ok("read_session", args);
        let text = page["text"].as_str().expect("text");
        assert!(text.len() <= 600, "{} bytes: {text}", text.len());
        pages += 1;
        match page["next_seq"].as_u64() {
            Some(next) => {
                assert_eq!(page["truncated"], true);
                assert!(text.contains(&format!("\"seq\": {next}")), "{text}");
                assert!(from.is_none_or(|f| next > f), "goes on: {from:?} -> {next}");
                from = Some(next);
            }
            None => break,
        }
        assert!(pages < 20, "reading on ends");
    }
    assert!(pages >= 2, "the budget cut at least once");
    // Nothing larger than the cap, whatever is asked.
    let big = c.ok(
        "read_session",
        json!({"session": CODEX, "max_bytes": 10_000_000}),
    );
    assert!(big["text"].as_str().expect("text").len() <= 64 * 1024);
    let hits = c.ok("search_sessions", json!({"query": "deploy"}));
    assert!(!hits.to_string().contains(KEY), "{hits}");
    let seen = c.finish();
    assert!(
        seen.iter().all(|l| !l.contains(KEY)),
        "the key never leaves"
    );
}

#[test]
fn end_of_input_before_anything_is_a_clean_exit() {
    let home = tempfile::tempdir().expect("tmp");
    let c = Client::start(home.path());
    assert!(c.finish().is_empty());
}

/// The server's peak resident memory so far, in bytes (Linux).
fn peak_rss(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmHWM")
        * 1024
}

#[test]
fn a_two_gigabyte_session_is_read_within_the_budget_in_bounded_memory() {
    const TWO_GB: u64 = 2 << 30;
    let home = tempfile::tempdir().expect("tmp");
    let h = home.path();
    let day = h.join(".codex/sessions/2025/11/22");
    fs::create_dir_all(&day).expect("mkdir");
    let id = "019ab000-0000-7000-8000-0000000b16b1";
    // Archived (`.zst`, as the archive job leaves an old rollout): 2 GB of session from a
    // few MB on disk, so the test costs CPU, not the disk's bandwidth.
    let path = day.join(format!("rollout-2025-11-22T09-00-00-{id}.jsonl.zst"));
    let file = fs::File::create(&path).expect("create");
    let mut out = zstd::Encoder::new(file, 1).expect("zstd").auto_finish();
    let meta = json!({"timestamp":"2025-11-22T09:00:00.000Z","type":"session_meta",
        "payload":{"id":id,"timestamp":"2025-11-22T09:00:00.000Z","cwd":"/home/ann/big"}});
    writeln!(out, "{meta}").expect("w");
    // 1 MB tool outputs until the file passes 2 GB, then an answer saying a rare word.
    let output = "build step output line\n".repeat(1 << 20 >> 5);
    let call = json!({"timestamp":"2025-11-22T09:00:01.000Z","type":"response_item",
        "payload":{"type":"function_call","name":"shell","call_id":"c",
            "arguments":"{\"command\":[\"make\"]}"}})
    .to_string();
    let result = json!({"timestamp":"2025-11-22T09:00:02.000Z","type":"response_item",
        "payload":{"type":"function_call_output","call_id":"c","output":output}})
    .to_string();
    let mut written = 0u64;
    while written < TWO_GB {
        writeln!(out, "{call}\n{result}").expect("w");
        written += (call.len() + result.len() + 2) as u64;
    }
    let last = json!({"timestamp":"2025-11-22T10:00:00.000Z","type":"response_item",
        "payload":{"type":"message","role":"assistant","content":[
            {"type":"output_text","text":"Done: the zorblatt target builds."}]}});
    writeln!(out, "{last}").expect("w");
    drop(out);

    let mut c = initialized(h);
    let pid = c.child.id();
    let hits = c.ok("search_sessions", json!({"query": "zorblatt"}));
    let seq = hits["hits"][0]["seq"]
        .as_u64()
        .expect("the answer at the end");
    // From the start: the budget, and reading stops there.
    let head = c.ok("read_session", json!({"session": id}));
    assert!(head["text"].as_str().expect("text").len() <= 16 * 1024);
    assert_eq!(head["truncated"], true);
    // Around the last line: the whole file streams by, memory stays bounded.
    let tail = c.ok(
        "read_session",
        json!({"session": id, "seq": seq, "context": 1}),
    );
    let text = tail["text"].as_str().expect("text");
    assert!(text.len() <= 16 * 1024, "{} bytes", text.len());
    assert!(text.contains("zorblatt"), "{text}");
    let peak = peak_rss(pid);
    assert!(
        peak <= 64 << 20,
        "indexing and reading 2 GB in {} MB",
        peak >> 20
    );
    c.finish();
}

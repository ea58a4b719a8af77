//! What sessions cost: fixed token counts of each agent × a test price table give exact
//! cents in `list --json`, `stats` (every grouping), `show` and `export`; a model switch
//! mid-session, a streamed Claude reply counted once (across an append too), a repeated
//! Codex count, the fast tier, an unpriced model, the user's prices over the shipped ones.

use std::fs;
use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};

use crate::util::archive::json_lines;

const CODEX_ID: &str = "0199a000-1111-7222-8333-444455556666";
const CLAUDE_ID: &str = "5e551011-aaaa-4bbb-8ccc-ddddeeeeffff";
const GEMINI_ID: &str = "9e9e9e9e-1234-4567-89ab-cdef01234567";

/// The test's prices (US dollars per million tokens), over the shipped table; one of them
/// replaces a shipped model's.
const PRICES: &str = r#"{"source": "test", "date": "2026-12-01", "models": {
  "alpha-1": {"input": 1, "cache_read": 0.1, "output": 10},
  "beta-2": {"input": 2, "cache_read": 0.2, "output": 20, "fast": 3},
  "gamma-3": {"input": 3, "cache_read": 0.3, "cache_write_5m": 3.75, "cache_write_1h": 6, "output": 15},
  "claude-haiku-4-5": {"input": 7, "cache_read": 0.7, "cache_write_5m": 8, "cache_write_1h": 9, "output": 70}
}}"#;

fn ok(home: &Path, args: &[&str]) -> String {
    crate::util::ok_as_new_user(home, args)
}

fn append(path: &Path, lines: &[Value]) {
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open");
    for l in lines {
        writeln!(f, "{l}").expect("write");
    }
}

fn codex_line(kind: &str, payload: Value) -> Value {
    json!({"timestamp": "2026-11-03T10:00:00.000Z", "type": kind, "payload": payload})
}

fn count(total: [u64; 3], last: [u64; 3]) -> Value {
    let usage = |[input, cached, output]: [u64; 3]| {
        json!({"input_tokens": input, "cached_input_tokens": cached, "output_tokens": output,
               "reasoning_output_tokens": output / 2, "total_tokens": input + output})
    };
    codex_line(
        "event_msg",
        json!({"type": "token_count", "info": {"total_token_usage": usage(total),
               "last_token_usage": usage(last), "model_context_window": 272000}}),
    )
}

fn claude_reply(id: &str, model: &str, usage: Value) -> Value {
    json!({"type": "assistant", "sessionId": CLAUDE_ID, "version": "2.1.3", "cwd": "/w/app",
           "timestamp": "2026-11-04T09:00:00.000Z", "uuid": format!("u-{id}-{}", usage["output_tokens"]),
           "requestId": format!("req_{id}"),
           "message": {"id": id, "type": "message", "role": "assistant", "model": model,
                       "content": [{"type": "text", "text": "done"}], "usage": usage}})
}

/// A HOME with one session of each agent and the test prices; the Claude reply streamed
/// over three lines has only its first two written yet.
fn home() -> tempfile::TempDir {
    let home = tempfile::tempdir().expect("tmp");
    let h = home.path();
    let day = h.join(".codex/sessions/2026/11/03");
    fs::create_dir_all(&day).expect("ok");
    append(
        &day.join(format!("rollout-2026-11-03T10-00-00-{CODEX_ID}.jsonl")),
        &[
            codex_line(
                "session_meta",
                json!({"id": CODEX_ID, "timestamp": "2026-11-03T10:00:00.000Z", "cwd": "/w/app",
                       "originator": "codex_cli_rs", "cli_version": "0.98.0", "source": "cli",
                       "git": {"repository_url": "https://github.com/acme/app.git", "branch": "main"}}),
            ),
            codex_line("turn_context", json!({"turn_id": "t1", "model": "alpha-1"})),
            count([1_000_000, 400_000, 100_000], [1_000_000, 400_000, 100_000]),
            // A rate-limit update repeats the count: it adds nothing.
            count([1_000_000, 400_000, 100_000], [1_000_000, 400_000, 100_000]),
            codex_line(
                "event_msg",
                json!({"type": "thread_settings_applied", "thread_settings": {"service_tier": "fast"}}),
            ),
            codex_line("turn_context", json!({"turn_id": "t2", "model": "beta-2"})),
            count(
                [3_000_000, 1_400_000, 300_000],
                [2_000_000, 1_000_000, 200_000],
            ),
        ],
    );
    let project = h.join(".claude/projects/-w-app");
    fs::create_dir_all(&project).expect("ok");
    let gamma = |output: u64| {
        json!({"input_tokens": 100_000, "cache_creation_input_tokens": 300_000,
               "cache_creation": {"ephemeral_5m_input_tokens": 100_000, "ephemeral_1h_input_tokens": 200_000},
               "cache_read_input_tokens": 1_000_000, "output_tokens": output})
    };
    append(
        &project.join(format!("{CLAUDE_ID}.jsonl")),
        &[
            json!({"type": "user", "sessionId": CLAUDE_ID, "version": "2.1.3", "cwd": "/w/app",
                   "timestamp": "2026-11-04T08:59:00.000Z", "uuid": "u0",
                   "message": {"role": "user", "content": "make it faster"}}),
            claude_reply(
                "msg_haiku",
                "claude-haiku-4-5-20251001",
                json!({"input_tokens": 1_000_000, "output_tokens": 0}),
            ),
            claude_reply(
                "msg_odd",
                "mystery-9",
                json!({"input_tokens": 10, "output_tokens": 10}),
            ),
            claude_reply("msg_gamma", "gamma-3", gamma(1)),
            claude_reply("msg_gamma", "gamma-3", gamma(5_000)),
        ],
    );
    let chats = h.join(".gemini/tmp/0123abcd/chats");
    fs::create_dir_all(&chats).expect("ok");
    fs::write(
        chats.join("session-2026-11-05T10-00-9e9e9e9e.json"),
        json!({"sessionId": GEMINI_ID, "projectHash": "0123abcd",
               "startTime": "2026-11-05T10:00:00.000Z", "lastUpdated": "2026-11-05T10:01:00.000Z",
               "messages": [
                 {"id": "u1", "timestamp": "2026-11-05T10:00:00.000Z", "type": "user", "content": "why"},
                 {"id": "g1", "timestamp": "2026-11-05T10:00:30.000Z", "type": "gemini", "content": "because",
                  "model": "gemini-2.5-flash",
                  "tokens": {"input": 1_000_000, "output": 100_000, "cached": 500_000,
                             "thoughts": 100_000, "tool": 0, "total": 1_200_000}}]})
        .to_string(),
    )
    .expect("ok");
    let data = h.join(".local/share/rolldex");
    fs::create_dir_all(&data).expect("ok");
    fs::write(data.join("prices.json"), PRICES).expect("ok");
    home
}

fn cents(v: &Value) -> i64 {
    (v.as_f64().unwrap_or_else(|| panic!("a number: {v}")) * 100.0).round() as i64
}

fn by<'a>(rows: &'a [Value], key: &str, value: &str) -> &'a Value {
    rows.iter()
        .find(|r| r[key] == value)
        .unwrap_or_else(|| panic!("no {key} {value} in {rows:?}"))
}

// Expected, by hand:
// Codex: alpha-1 600k input $0.60 + 400k cached $0.04 + 100k output $1.00 = $1.64;
//        beta-2 (fast, x3) (1M input $2.00 + 1M cached $0.20 + 200k output $4.00) x 3 = $18.60.
// Claude: haiku (the user's price) 1M input = $7.00; mystery-9 unpriced;
//        gamma-3 100k input $0.30 + 100k 5m writes $0.375 + 200k 1h writes $1.20
//        + 1M reads $0.30 + output 40k $0.60 = $2.775 once its last line is in ($2.25 with 5k).
// Gemini (the shipped gemini-2.5-flash: 0.30 / 0.03 / 2.50): 500k input $0.15 + 500k
//        cached $0.015 + (100k output + 100k thoughts) $0.50 = $0.665.
#[test]
fn every_agents_tokens_times_the_prices_give_exact_cents_everywhere() {
    let home = home();
    let h = home.path();
    let rows = json_lines(&ok(h, &["list", "--json"]));
    let codex = by(&rows, "id", CODEX_ID);
    assert_eq!(cents(&codex["cost_usd"]), 2024, "{codex}");
    assert_eq!(codex["unpriced"], json!([]));
    assert_eq!(
        codex["tokens_by_kind"],
        json!({"input": 1_600_000, "cache_read": 1_400_000, "cache_write_5m": 0,
               "cache_write_1h": 0, "output": 300_000, "reasoning": 150_000})
    );
    let claude = by(&rows, "id", CLAUDE_ID);
    assert_eq!(
        (claude["cost_usd"].as_f64().expect("ok") * 1e6).round() as i64,
        9_250_000,
        "haiku $7 + gamma $2.25 so far: {claude}"
    );
    assert_eq!(
        claude["unpriced"],
        json!(["mystery-9"]),
        "never a silent $0"
    );
    let gemini = by(&rows, "id", GEMINI_ID);
    assert_eq!(
        (gemini["cost_usd"].as_f64().expect("ok") * 1000.0).round(),
        665.0
    );

    // The reply's last line arrives: it replaces the reply's count, not adds to it.
    let path = h.join(format!(".claude/projects/-w-app/{CLAUDE_ID}.jsonl"));
    append(
        &path,
        &[claude_reply(
            "msg_gamma",
            "gamma-3",
            json!({"input_tokens": 100_000, "cache_creation_input_tokens": 300_000,
                   "cache_creation": {"ephemeral_5m_input_tokens": 100_000, "ephemeral_1h_input_tokens": 200_000},
                   "cache_read_input_tokens": 1_000_000, "output_tokens": 40_000}),
        )],
    );
    // And Codex appends a turn to its rollout: 1M more input on beta-2, fast ($6.00).
    let rollout = h.join(format!(
        ".codex/sessions/2026/11/03/rollout-2026-11-03T10-00-00-{CODEX_ID}.jsonl"
    ));
    append(
        &rollout,
        &[count([4_000_000, 1_400_000, 300_000], [1_000_000, 0, 0])],
    );
    let rows = json_lines(&ok(h, &["list", "--json"]));
    let claude = by(&rows, "id", CLAUDE_ID);
    assert_eq!(
        (claude["cost_usd"].as_f64().expect("ok") * 1e6).round() as i64,
        9_775_000,
        "{claude}"
    );
    assert_eq!(claude["tokens_by_kind"]["output"], 40_010);
    assert_eq!(cents(&by(&rows, "id", CODEX_ID)["cost_usd"]), 2624);

    // The index rebuilt from the files says the same.
    ok(h, &["index", "--full"]);
    let rows = json_lines(&ok(h, &["list", "--json"]));
    assert_eq!(cents(&by(&rows, "id", CODEX_ID)["cost_usd"]), 2624);
    let total = 3668; // $26.24 + $9.775 + $0.665
    let stats = json_lines(&ok(h, &["stats", "--json"]));
    assert_eq!(stats.len(), 1);
    assert_eq!(cents(&stats[0]["cost_usd"]), total, "$36.68: {stats:?}");
    assert_eq!(stats[0]["unpriced"], json!(["mystery-9"]));

    let agents = json_lines(&ok(h, &["stats", "--by", "agent", "--json"]));
    assert_eq!(cents(&by(&agents, "agent", "codex")["cost_usd"]), 2624);
    assert_eq!(cents(&by(&agents, "agent", "gemini")["cost_usd"]), 67);

    // Per model: each model's tokens and cost, wherever in a session it spent them.
    let models = json_lines(&ok(h, &["stats", "--by", "model", "--json"]));
    assert_eq!(cents(&by(&models, "model", "alpha-1")["cost_usd"]), 164);
    let beta = by(&models, "model", "beta-2");
    assert_eq!(cents(&beta["cost_usd"]), 2460, "$18.60 + $6.00: {beta}");
    assert_eq!(beta["tokens"], 1_000_000 + 1_000_000 + 200_000 + 1_000_000);
    assert_eq!(
        cents(&by(&models, "model", "claude-haiku-4-5-20251001")["cost_usd"]),
        700,
        "the user's price wins over the shipped one ($1.00)"
    );
    let odd = by(&models, "model", "mystery-9");
    assert_eq!(odd["cost_usd"], Value::Null, "unpriced, not $0: {odd}");
    assert_eq!(odd["unpriced"], json!(["mystery-9"]));
    assert_eq!(odd["tokens"], 20, "its tokens still count");

    // Days, weeks and months: the sessions' local start (TZ is UTC in the tests' env).
    let months = json_lines(&ok(h, &["stats", "--by", "month", "--json"]));
    assert_eq!(cents(&by(&months, "month", "2026-11")["cost_usd"]), total);
    let weeks = json_lines(&ok(h, &["stats", "--by", "week", "--json"]));
    assert_eq!(cents(&by(&weeks, "week", "2026-W45")["cost_usd"]), total);
    let days = json_lines(&ok(h, &["stats", "--by", "day", "--json"]));
    assert_eq!(cents(&by(&days, "day", "2026-11-03")["cost_usd"]), 2624);
    let hosts = json_lines(&ok(h, &["stats", "--by", "host", "--json"]));
    assert_eq!(hosts.len(), 1, "one machine: {hosts:?}");

    // The table says it too, and show and export headers.
    let text = ok(h, &["stats", "--by", "agent"]);
    let line = text
        .lines()
        .find(|l| l.starts_with("codex"))
        .expect("codex row");
    assert!(line.ends_with("$26.24"), "{line}");
    let line = text
        .lines()
        .find(|l| l.starts_with("claude"))
        .expect("claude row");
    assert!(line.ends_with("$9.78 + unpriced (mystery-9)"), "{line}");
    let show = ok(h, &["show", CODEX_ID]);
    assert!(
        show.contains("# cost $26.24 (tokens: 2600000 input, 1400000 cache read, 0 cache write, 300000 output of which 150000 reasoning)"),
        "{show}"
    );
    let md = ok(h, &["export", CLAUDE_ID, "--format", "md"]);
    assert!(md.contains("$9.78 + unpriced (mystery-9)"), "{md}");
    let doc: Value =
        serde_json::from_str(&ok(h, &["export", GEMINI_ID, "--format", "json"])).expect("ok");
    assert_eq!(
        (doc["session"]["cost_usd"].as_f64().expect("ok") * 1000.0).round(),
        665.0
    );
}

#[test]
fn a_broken_price_file_is_named_with_its_line_never_a_panic() {
    let home = home();
    let h = home.path();
    let file = h.join(".local/share/rolldex/prices.json");
    fs::write(
        &file,
        "{\"models\": {\"x\": {\"input\": 1,\n \"output\": -2}}}",
    )
    .expect("ok");
    let out = crate::util::as_new_user(h)
        .args(["stats", "--json"])
        .output()
        .expect("ok");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("prices.json") && err.contains("negative"),
        "{err}"
    );
    fs::write(
        &file,
        "{\"models\": {\"x\": {\"input\": 1,\n \"outptu\": 2}}}",
    )
    .expect("ok");
    let out = crate::util::as_new_user(h)
        .args(["list", "--json"])
        .output()
        .expect("ok");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("prices.json: line 2") && err.contains("outptu"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

/// A team's cost per person (host) and repository: two machines push, a third asks the
/// archive; a session pushed before the archive kept tokens gets them on the next push.
#[test]
fn the_team_archive_says_what_each_person_and_repository_spent() {
    let Some(pg) = crate::util::pg::start() else {
        return;
    };
    pg.create_db("cost");
    let url = pg.url("cost");
    let ann = home();
    let push = |h: &Path, host: &str| {
        ok(h, &["push", "--to", &url, "--host-name", host, "--json"]);
    };
    push(ann.path(), "ann");
    // Bob has one Codex session: 1M input on alpha-1 ($1.00).
    let bob = tempfile::tempdir().expect("tmp");
    let day = bob.path().join(".codex/sessions/2026/11/20");
    fs::create_dir_all(&day).expect("ok");
    let bob_id = "0199a000-2222-7222-8333-444455556666";
    append(
        &day.join(format!("rollout-2026-11-20T10-00-00-{bob_id}.jsonl")),
        &[
            codex_line(
                "session_meta",
                json!({"id": bob_id, "timestamp": "2026-11-20T10:00:00.000Z", "cwd": "/w/api",
                       "git": {"repository_url": "git@github.com:acme/api.git"}}),
            ),
            codex_line("turn_context", json!({"model": "alpha-1"})),
            count([1_000_000, 0, 0], [1_000_000, 0, 0]),
        ],
    );
    push(bob.path(), "bob");

    // A lead's machine with nothing local but the same prices.
    let lead = tempfile::tempdir().expect("tmp");
    let data = lead.path().join(".local/share/rolldex");
    fs::create_dir_all(&data).expect("ok");
    fs::write(data.join("prices.json"), PRICES).expect("ok");
    let ask = |args: &[&str]| {
        let mut all = vec!["--remote", url.as_str()];
        all.extend_from_slice(args);
        json_lines(&ok(lead.path(), &all))
    };
    let hosts = ask(&["stats", "--by", "host", "--json"]);
    assert_eq!(
        cents(&by(&hosts, "host", "ann")["cost_usd"]),
        2024 + 925 + 67
    );
    assert_eq!(by(&hosts, "host", "ann")["unpriced"], json!(["mystery-9"]));
    assert_eq!(cents(&by(&hosts, "host", "bob")["cost_usd"]), 100);
    let repos = ask(&["stats", "--by", "repo", "--json"]);
    assert_eq!(
        cents(&by(&repos, "repo", "github.com/acme/app")["cost_usd"]),
        2024
    );
    assert_eq!(
        cents(&by(&repos, "repo", "github.com/acme/api")["cost_usd"]),
        100
    );
    let models = ask(&["stats", "--by", "model", "--json"]);
    assert_eq!(
        cents(&by(&models, "model", "alpha-1")["cost_usd"]),
        164 + 100
    );
    let listed = ask(&["list", "--json"]);
    assert_eq!(cents(&by(&listed, "id", CODEX_ID)["cost_usd"]), 2024);

    // An archive filled before it kept tokens: the next push sends them, bytes untouched.
    let mut c = pg.client("cost");
    c.batch_execute("DELETE FROM session_tokens; UPDATE sessions SET tokens_sent = false")
        .expect("forget the tokens");
    let hosts = ask(&["stats", "--by", "host", "--json"]);
    assert_eq!(hosts[0]["cost_usd"], json!(0.0), "{hosts:?}");
    push(bob.path(), "bob");
    let hosts = ask(&["stats", "--by", "host", "--json"]);
    assert_eq!(
        cents(&by(&hosts, "host", "bob")["cost_usd"]),
        100,
        "{hosts:?}"
    );
}

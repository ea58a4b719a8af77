//! A realistic, deterministic corpus of rollouts for benchmarks: a `CODEX_HOME` with
//! dated folders, both file shapes, a few repositories under several URL spellings,
//! branches and commits, messages, reasoning with opaque encrypted content, shell calls
//! with long outputs (build logs, diffs, test failures), apply_patch calls, token counts,
//! turn contexts, base64 images, and one long session whose compaction history repeats
//! earlier conversation megabytes apart. File sizes spread like real ones: most between
//! 10 KB and 1 MB, and (when the total allows) a few of 50-300 MB.
//!
//! Shared by `examples/gen_corpus.rs` and the benches (included with `#[path]`).

#![allow(dead_code)]

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// What to generate.
#[derive(Debug, Clone)]
pub struct CorpusSpec {
    /// Number of sessions.
    pub sessions: usize,
    /// Total bytes to aim for.
    pub total_bytes: u64,
    /// Same seed, same corpus.
    pub seed: u64,
}

/// One generated session.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub id: String,
    pub path: PathBuf,
    pub bytes: u64,
    pub repo_key: Option<&'static str>,
    pub legacy: bool,
    /// A word only this session contains (a "rare word" search).
    pub rare_word: String,
}

/// A size such as `500MB`, `2GB` or `40KB` (decimal units), in bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim().to_ascii_uppercase();
    let (num, mult) = if let Some(n) = s.strip_suffix("GB") {
        (n, 1_000_000_000)
    } else if let Some(n) = s.strip_suffix("MB") {
        (n, 1_000_000)
    } else if let Some(n) = s.strip_suffix("KB") {
        (n, 1_000)
    } else {
        (s.as_str(), 1)
    };
    num.trim()
        .parse::<f64>()
        .map(|n| (n * mult as f64) as u64)
        .map_err(|_| format!("{s:?} is not a size such as 500MB or 2GB"))
}

/// The median of `runs` timings of `f`.
pub fn median(runs: usize, mut f: impl FnMut()) -> std::time::Duration {
    let mut v: Vec<std::time::Duration> = (0..runs)
        .map(|_| {
            let t = std::time::Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    v.sort();
    v[v.len() / 2]
}

/// The runtime the recorder benchmarks run on: two workers, as on the machines here.
pub fn bench_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// A recorder to benchmark: a session in `home` without git collection, and the item
/// each call records (one assistant message, as an agent records them).
pub fn bench_recorder(
    home: &Path,
) -> (
    rolldex::SessionInfo,
    rolldex::RecorderOptions,
    serde_json::Value,
) {
    let info = rolldex::SessionInfo {
        cwd: home.to_path_buf(),
        originator: "bench".into(),
        cli_version: "0".into(),
        source: "exec".into(),
        model_provider: None,
        instructions: None,
        forked_from_id: None,
    };
    let opts = rolldex::RecorderOptions {
        collect_git: false,
        local_offset: Some(time::UtcOffset::UTC),
        ..Default::default()
    };
    let item = serde_json::json!({"type": "message", "role": "assistant",
        "content": [{"type": "output_text", "text": "The parser treats an empty line as end of input; skipping blank lines fixes it."}]});
    (info, opts, item)
}

/// What was generated.
#[derive(Debug, Clone, Default)]
pub struct Corpus {
    pub sessions: Vec<SessionInfo>,
    pub total_bytes: u64,
    /// Lines written in all.
    pub total_lines: u64,
}

impl Corpus {
    /// The biggest session.
    pub fn biggest(&self) -> &SessionInfo {
        self.sessions
            .iter()
            .max_by_key(|s| s.bytes)
            .expect("a session")
    }
}

/// SplitMix64: fast, deterministic.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

pub const REPOS: &[(&str, &[&str])] = &[
    (
        "github.com/acme/widget",
        &[
            "git@github.com:Acme/Widget.git",
            "https://github.com/acme/widget",
            "ssh://git@github.com/acme/widget.git",
            "https://x-access-token:ghs_bench0token@github.com/acme/widget.git",
        ],
    ),
    (
        "github.com/acme/gadget",
        &["https://github.com/acme/gadget.git"],
    ),
    ("gitlab.com/ops/deploy", &["git@gitlab.com:ops/deploy.git"]),
    (
        "github.com/person/dotfiles",
        &["https://github.com/person/dotfiles"],
    ),
];
const BRANCHES: &[&str] = &[
    "main",
    "feature/json-output",
    "fix/parser",
    "release-1.4",
    "wip",
];

/// A vocabulary with a skewed frequency, like real text: the first words are common.
const WORDS: &[&str] = &[
    "the",
    "to",
    "a",
    "of",
    "and",
    "in",
    "is",
    "error",
    "test",
    "fn",
    "file",
    "function",
    "this",
    "for",
    "it",
    "that",
    "build",
    "cargo",
    "fix",
    "with",
    "on",
    "not",
    "we",
    "use",
    "parser",
    "config",
    "module",
    "struct",
    "impl",
    "return",
    "value",
    "type",
    "string",
    "result",
    "option",
    "async",
    "await",
    "tokio",
    "serde",
    "json",
    "index",
    "query",
    "search",
    "archive",
    "compress",
    "widget",
    "flag",
    "output",
    "input",
    "line",
    "path",
    "directory",
    "should",
    "would",
    "could",
    "because",
    "failing",
    "passes",
    "mismatched",
    "types",
    "borrow",
    "checker",
    "lifetime",
    "trait",
    "generic",
    "closure",
    "iterator",
    "vector",
    "hashmap",
    "refactor",
    "rename",
    "extract",
    "inline",
    "benchmark",
    "latency",
    "throughput",
    "memory",
    "allocation",
    "cache",
    "database",
    "migration",
    "schema",
    "transaction",
    "commit",
    "branch",
    "merge",
    "rebase",
    "conflict",
    "review",
    "comment",
    "docs",
    "readme",
    "changelog",
    "release",
];

fn push_words(out: &mut String, rng: &mut Rng, n: usize) {
    for i in 0..n {
        if i > 0 {
            out.push(' ');
        }
        // Zipf-like: square a uniform to favour the first words.
        let u = rng.unit();
        let idx = ((u * u) * WORDS.len() as f64) as usize;
        out.push_str(WORDS[idx.min(WORDS.len() - 1)]);
    }
}

fn words(rng: &mut Rng, n: usize) -> String {
    let mut s = String::with_capacity(n * 7);
    push_words(&mut s, rng, n);
    s
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Opaque base64 (encrypted reasoning, images): incompressible beyond its 6 bits a byte.
fn base64(rng: &mut Rng, len: usize) -> String {
    let mut s = String::with_capacity(len);
    while s.len() < len {
        let mut r = rng.next();
        for _ in 0..10 {
            s.push(B64[(r & 63) as usize] as char);
            r >>= 6;
        }
    }
    s.truncate(len);
    s
}

fn build_log(rng: &mut Rng, lines: usize) -> String {
    let mut s = String::new();
    for i in 0..lines {
        let w = *rng.pick(WORDS);
        s.push_str(&format!(
            "   Compiling {w} v0.{}.{} (/home/dev/src/{w})\n",
            i % 9,
            rng.below(30)
        ));
    }
    if rng.below(3) == 0 {
        s.push_str("error[E0308]: mismatched types\n  --> src/parser.rs:42:17\n   |\n42 |     let n: u32 = line.len();\n   |            ---   ^^^^^^^^^^ expected `u32`, found `usize`\n");
    } else {
        s.push_str("    Finished `dev` profile [unoptimized + debuginfo] target(s) in 4.21s\n");
    }
    s
}

fn test_failure(rng: &mut Rng) -> String {
    let mut s = String::from("running 48 tests\n");
    for i in 0..40 {
        s.push_str(&format!(
            "test tests::case_{i}_{} ... ok\n",
            rng.pick(WORDS)
        ));
    }
    s.push_str("test tests::json_output ... FAILED\n\nfailures:\n\n---- tests::json_output stdout ----\nthread 'tests::json_output' panicked at src/cli.rs:88:9:\nassertion `left == right` failed\n  left: \"{\\\"a\\\":1}\"\n right: \"{\\\"a\\\": 1}\"\n");
    s
}

fn diff(rng: &mut Rng, files: usize) -> (String, Vec<String>) {
    let mut s = String::from("*** Begin Patch\n");
    let mut names = Vec::new();
    for _ in 0..files {
        let name = format!("src/{}/{}.rs", rng.pick(WORDS), rng.pick(WORDS));
        s.push_str(&format!("*** Update File: {name}\n@@\n"));
        for _ in 0..rng.below(30) + 5 {
            s.push_str(&format!("-    {}\n+    {}\n", words(rng, 8), words(rng, 8)));
        }
        names.push(name);
    }
    s.push_str("*** End Patch");
    (s, names)
}

fn ts(ms: i64) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).expect("time");
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// 2025-03-01T00:00:00Z.
const START_MS: i64 = 1_740_787_200_000;

/// Writes the corpus under `home` (its `sessions/` folder) and says what it wrote.
/// The shape of a corpus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// The benches' long-standing shape: sessions of 10 KB to 1 MB, large tool outputs.
    #[default]
    Bench,
    /// Real Codex Desktop sessions as measured in FORMAT.md ("Measured shape"): mostly
    /// lines of 150 B to 2 KB (token counts, calls, outputs, encrypted reasoning), a 13.5 KB
    /// turn context every turn, now and then a pasted screenshot of MBs.
    Real,
    /// Many small sessions of about 20 KB each.
    Small,
}

/// Writes a corpus of the bench profile.
pub fn generate(home: &Path, spec: &CorpusSpec) -> io::Result<Corpus> {
    generate_profile(home, spec, Profile::Bench)
}

/// Writes a corpus of `profile` (see [`Profile`]).
pub fn generate_profile(home: &Path, spec: &CorpusSpec, profile: Profile) -> io::Result<Corpus> {
    let mut rng = Rng::new(spec.seed);
    let n = spec.sessions.max(1);
    // Sizes: log-uniform between 10 KB and 1 MB, plus a few big ones when the total allows.
    let big_count = if spec.total_bytes >= 2_000_000_000 {
        (n / 400).max(2)
    } else {
        0
    };
    let mut sizes: Vec<f64> = (0..n)
        .map(|_| match profile {
            Profile::Small => 15_000.0 + rng.unit() * 10_000.0,
            _ => (10_000f64.ln() + rng.unit() * (1_000_000f64.ln() - 10_000f64.ln())).exp(),
        })
        .collect();
    let mut big_total = 0.0;
    for i in 0..big_count.min(n) {
        let s = 50e6 + rng.unit() * 250e6;
        sizes[i * (n / big_count.max(1))] = s;
        big_total += s;
    }
    let small_sum: f64 = sizes.iter().filter(|s| **s < 50e6).sum();
    let scale = ((spec.total_bytes as f64 - big_total).max(0.0) / small_sum.max(1.0)).max(0.05);
    for s in sizes.iter_mut().filter(|s| **s < 50e6) {
        *s *= scale;
    }
    // The longest session carries the compaction history.
    let longest = (0..n)
        .max_by(|a, b| sizes[*a].total_cmp(&sizes[*b]))
        .unwrap_or(0);

    let mut corpus = Corpus::default();
    let span_ms: i64 = 240 * 86_400_000;
    for (i, size) in sizes.iter().enumerate() {
        let created = START_MS + span_ms * i as i64 / n as i64 + rng.below(3_600_000) as i64;
        let id = format!(
            "{:08x}-{:04x}-7{:03x}-8{:03x}-{:012x}",
            (created / 1000) as u32,
            rng.below(0x10000),
            rng.below(0x1000),
            rng.below(0x1000),
            rng.next() & 0xffff_ffff_ffff
        );
        let legacy = i % 7 == 3 && *size < 5e6;
        let repo = (rng.below(6) != 0).then(|| rng.pick(REPOS));
        let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(created) * 1_000_000)
            .expect("time");
        let uuid = uuid::Uuid::parse_str(&id).expect("a uuid");
        let path = rolldex::layout::new_rollout_path(home, t, uuid);
        fs::create_dir_all(path.parent().expect("a day folder"))?;
        let rare_word = format!("rare{}", &id[..8]);
        let legacy = legacy && profile != Profile::Real;
        let mut w = Writer {
            out: BufWriter::with_capacity(1 << 20, fs::File::create(&path)?),
            bytes: 0,
            ms: created,
            legacy,
            history: Vec::new(),
            lines: 0,
            used: [0; 4],
            // Sessions of several models, as a person's are; some switch model mid-way
            // and some run at the fast service tier (both priced differently).
            // (From the id's random end: its start is the creation time.)
            model: REAL_MODELS[usize::from(id.as_bytes()[id.len() - 1]) % REAL_MODELS.len()],
            switch: id.as_bytes()[id.len() - 2] % 4 == 0,
            fast: id.as_bytes()[id.len() - 3] % 5 == 0,
        };
        let cwd = format!(
            "/home/dev/src/{}",
            repo.map_or("scratch", |r| r.0.rsplit('/').next().unwrap_or("x"))
        );
        let git = repo.map(|(_, spellings)| {
            serde_json::json!({
                "commit_hash": format!("{:016x}{:016x}{:08x}", rng.next(), rng.next(), rng.next() as u32),
                "branch": rng.pick(BRANCHES),
                "repository_url": rng.pick(spellings),
            })
        });
        if legacy {
            w.raw(serde_json::json!({"id": id, "timestamp": ts(created), "instructions": null, "git": git}))?;
        } else {
            w.line(
                "session_meta",
                serde_json::json!({
                "id": id, "timestamp": ts(created), "cwd": cwd, "originator": "codex_cli_rs",
                "cli_version": "0.98.0", "source": "cli", "model_provider": "openai",
                "base_instructions": {"text": words(&mut rng, 900)}, "git": git}),
            )?;
        }
        let mut turn = 0u64;
        while (w.bytes as f64) < *size {
            let rare = if turn == 0 {
                Some(rare_word.as_str())
            } else {
                None
            };
            if profile == Profile::Real {
                w.real_turn(&mut rng, &cwd, turn, rare)?;
            } else {
                w.turn(&mut rng, &cwd, turn, rare)?;
            }
            turn += 1;
            if i == longest && turn.is_multiple_of(40) && !legacy {
                w.compaction(&mut rng)?;
            }
        }
        w.out.flush()?;
        // Last written when its last line was, as on a real disk.
        let file = w.out.into_inner().map_err(|e| e.into_error())?;
        file.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_millis(w.ms as u64))?;
        corpus.total_bytes += w.bytes;
        corpus.total_lines += w.lines;
        corpus.sessions.push(SessionInfo {
            id,
            path,
            bytes: w.bytes,
            repo_key: repo.map(|r| r.0),
            legacy,
            rare_word,
        });
    }
    Ok(corpus)
}

struct Writer {
    out: BufWriter<fs::File>,
    bytes: u64,
    lines: u64,
    ms: i64,
    legacy: bool,
    /// Earlier conversation, repeated by compaction.
    history: Vec<serde_json::Value>,
    /// The running token total (input, cached input, output, reasoning) of `real_turn`s.
    used: [u64; 4],
    /// The model of `real_turn`s.
    model: &'static str,
    /// Switch to gpt-5.1-codex-mini at turn 3.
    switch: bool,
    /// Run at the fast service tier (a `thread_settings_applied` event at the first turn).
    fast: bool,
}

/// The models of the `real` profile's sessions.
const REAL_MODELS: [&str; 3] = ["gpt-5.3-codex", "gpt-5.2-codex", "gpt-5.1-codex-max"];

impl Writer {
    fn raw(&mut self, v: serde_json::Value) -> io::Result<()> {
        let s = v.to_string();
        self.out.write_all(s.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.bytes += s.len() as u64 + 1;
        self.lines += 1;
        Ok(())
    }

    fn line(&mut self, kind: &str, payload: serde_json::Value) -> io::Result<()> {
        self.ms += 700;
        if self.legacy {
            return match kind {
                "response_item" => self.raw(payload),
                _ => Ok(()),
            };
        }
        // Keys in the order Codex writes them (serde_json's `json!` would sort them).
        let line = format!(
            "{{\"timestamp\":\"{}\",\"type\":\"{kind}\",\"payload\":{payload}}}",
            ts(self.ms)
        );
        self.out.write_all(line.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.bytes += line.len() as u64 + 1;
        self.lines += 1;
        Ok(())
    }

    fn item(&mut self, payload: serde_json::Value) -> io::Result<()> {
        if self.history.len() < 400 {
            self.history.push(payload.clone());
        }
        self.line("response_item", payload)
    }

    fn turn(&mut self, rng: &mut Rng, cwd: &str, turn: u64, rare: Option<&str>) -> io::Result<()> {
        self.line(
            "turn_context",
            serde_json::json!({"turn_id": format!("t{turn}"), "cwd": cwd,
            "approval_policy": "on-request", "sandbox_policy": {"type": "workspace-write"},
            "model": "gpt-5-codex", "effort": "medium", "summary": "auto"}),
        )?;
        if turn == 0 && !self.legacy {
            self.item(serde_json::json!({"type": "message", "role": "user", "content": [{"type": "input_text",
                "text": format!("<environment_context>\n  <cwd>{cwd}</cwd>\n  <shell>bash</shell>\n</environment_context>")}]}))?;
        }
        let mut ask = {
            let k = 6 + rng.below(40) as usize;
            words(rng, k)
        };
        if let Some(r) = rare {
            ask.push(' ');
            ask.push_str(r);
        }
        self.item(serde_json::json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": ask}]}))?;
        self.line(
            "event_msg",
            serde_json::json!({"type": "user_message", "message": ask, "images": []}),
        )?;
        if rng.below(25) == 0 {
            let img = {
                let k = 20_000 + rng.below(180_000) as usize;
                base64(rng, k)
            };
            self.item(serde_json::json!({"type": "message", "role": "user", "content": [{"type": "input_image",
                "image_url": format!("data:image/png;base64,{img}")}]}))?;
        }
        for c in 0..1 + rng.below(5) {
            let summary = {
                let k = 10 + rng.below(30) as usize;
                words(rng, k)
            };
            let opaque = {
                let k = 1000 + rng.below(4000) as usize;
                base64(rng, k)
            };
            self.reasoning(format!("rs_{turn}_{c}"), &summary, opaque)?;
            let call_id = format!("call_{turn}_{c}");
            if rng.below(4) == 0 {
                let (patch, _) = {
                    let k = 1 + rng.below(3) as usize;
                    diff(rng, k)
                };
                self.item(
                    serde_json::json!({"type": "custom_tool_call", "name": "apply_patch",
                    "input": patch, "call_id": call_id, "status": "completed"}),
                )?;
                self.item(serde_json::json!({"type": "custom_tool_call_output", "call_id": call_id,
                    "output": "{\"output\":\"Success. Updated the following files\",\"metadata\":{\"exit_code\":0}}"}))?;
            } else {
                let cmd = format!("cargo test -p {}", rng.pick(WORDS));
                self.item(serde_json::json!({"type": "function_call", "name": "shell",
                    "arguments": serde_json::json!({"command": ["bash", "-lc", cmd], "workdir": cwd}).to_string(),
                    "call_id": call_id}))?;
                let out = match rng.below(3) {
                    0 => {
                        let k = 20 + rng.below(300) as usize;
                        build_log(rng, k)
                    }
                    1 => test_failure(rng),
                    _ => {
                        {
                            let k = 1 + rng.below(4) as usize;
                            diff(rng, k)
                        }
                        .0
                    }
                };
                self.item(serde_json::json!({"type": "function_call_output", "call_id": call_id,
                    "output": serde_json::json!({"output": out, "metadata": {"exit_code": 0, "duration_seconds": 1.2}}).to_string()}))?;
            }
            self.line("event_msg", serde_json::json!({"type": "token_count", "info": {"total_token_usage":
                {"input_tokens": 1000 * turn, "output_tokens": 100 * turn, "total_tokens": 1100 * turn}}}))?;
        }
        let answer = {
            let k = 20 + rng.below(200) as usize;
            words(rng, k)
        };
        self.item(serde_json::json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": answer}]}))?;
        self.line(
            "event_msg",
            serde_json::json!({"type": "agent_message", "message": answer}),
        )
    }

    /// A reasoning item (readable summary, opaque encrypted content) and its event.
    fn reasoning(&mut self, id: String, summary: &str, opaque: String) -> io::Result<()> {
        self.item(serde_json::json!({"type": "reasoning", "id": id,
            "summary": [{"type": "summary_text", "text": summary}],
            "encrypted_content": opaque}))?;
        self.line(
            "event_msg",
            serde_json::json!({"type": "agent_reasoning", "text": summary}),
        )
    }

    /// One turn shaped like the measured Codex Desktop sessions (FORMAT.md): a 13.5 KB turn
    /// context; the person's message (now and then with a screenshot of MBs); 3 to 12
    /// rounds of encrypted reasoning (~1.6 KB), a call (~300 B), its output (~800 B, now and
    /// then tens of KB) and a token count (~720 B); the answer and its event.
    fn real_turn(
        &mut self,
        rng: &mut Rng,
        cwd: &str,
        turn: u64,
        rare: Option<&str>,
    ) -> io::Result<()> {
        let instructions = words(rng, 2000);
        if self.switch && turn == 3 {
            self.model = "gpt-5.1-codex-mini";
        }
        self.line(
            "turn_context",
            serde_json::json!({"turn_id": format!("t{turn}"), "cwd": cwd,
            "approval_policy": "on-request", "sandbox_policy": {"type": "workspace-write"},
            "model": self.model, "effort": "medium", "summary": "auto",
            "user_instructions": instructions}),
        )?;
        if self.fast && turn == 0 {
            self.line(
                "event_msg",
                serde_json::json!({"type": "thread_settings_applied",
                    "thread_settings": {"service_tier": "fast"}}),
            )?;
        }
        let mut ask = {
            let k = 8 + rng.below(30) as usize;
            words(rng, k)
        };
        if let Some(r) = rare {
            ask.push(' ');
            ask.push_str(r);
        }
        let mut content = vec![serde_json::json!({"type": "input_text", "text": ask})];
        if rng.below(60) == 0 {
            let img = {
                let k = 1_000_000 + rng.below(3_000_000) as usize;
                base64(rng, k)
            };
            content.push(serde_json::json!({"type": "input_image",
                "image_url": format!("data:image/png;base64,{img}")}));
        }
        self.item(serde_json::json!({"type": "message", "role": "user", "content": content}))?;
        self.line(
            "event_msg",
            serde_json::json!({"type": "user_message", "message": ask, "images": []}),
        )?;
        for c in 0..3 + rng.below(10) {
            let summary = {
                let k = 6 + rng.below(12) as usize;
                words(rng, k)
            };
            let opaque = {
                let k = 900 + rng.below(1200) as usize;
                base64(rng, k)
            };
            self.reasoning(format!("rs_{turn}_{c}"), &summary, opaque)?;
            let call_id = format!("call_{turn}_{c}");
            let cmd = format!("rg -n {} src", rng.pick(WORDS));
            self.item(serde_json::json!({"type": "function_call", "name": "exec_command",
                "arguments": serde_json::json!({"cmd": cmd, "workdir": cwd, "yield_time_ms": 10000}).to_string(),
                "call_id": call_id}))?;
            let out = if rng.below(20) == 0 {
                {
                    let k = 200 + rng.below(600) as usize;
                    build_log(rng, k)
                }
            } else {
                {
                    let k = 3 + rng.below(12) as usize;
                    build_log(rng, k)
                }
            };
            self.item(
                serde_json::json!({"type": "function_call_output", "call_id": call_id,
                "output": out}),
            )?;
            // One response's usage, as Codex counts it: the prompt (the conversation so
            // far, mostly cached) grows turn by turn; the running total is their sum.
            let input = 18_000 + 4_000 * turn.min(40) + 300 * c;
            let cached = input * 9 / 10;
            let output = 80 + rng.below(900);
            let reasoning = output / 2;
            for (u, v) in self.used.iter_mut().zip([input, cached, output, reasoning]) {
                *u += v;
            }
            let [ti, tc, to, tr] = self.used;
            let info = serde_json::json!({
                "total_token_usage": {"input_tokens": ti, "cached_input_tokens": tc,
                    "output_tokens": to, "reasoning_output_tokens": tr, "total_tokens": ti + to},
                "last_token_usage": {"input_tokens": input, "cached_input_tokens": cached,
                    "output_tokens": output, "reasoning_output_tokens": reasoning,
                    "total_tokens": input + output},
                "model_context_window": 272000});
            let limits = serde_json::json!({"primary": {"used_percent": 12.0, "window_minutes": 300, "resets_in_seconds": 9000},
                    "secondary": {"used_percent": 3.0, "window_minutes": 10080, "resets_in_seconds": 500000}});
            self.line(
                "event_msg",
                serde_json::json!({"type": "token_count", "info": info, "rate_limits": limits}),
            )?;
            if c == 0 {
                // A rate-limit update repeats the last count.
                self.line(
                    "event_msg",
                    serde_json::json!({"type": "token_count", "info": info, "rate_limits": limits}),
                )?;
            }
        }
        let answer = {
            let k = 20 + rng.below(60) as usize;
            words(rng, k)
        };
        self.item(serde_json::json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": answer}]}))?;
        self.line(
            "event_msg",
            serde_json::json!({"type": "agent_message", "message": answer}),
        )
    }

    /// A compaction: a summary plus the earlier conversation repeated, megabytes after it
    /// was first written.
    fn compaction(&mut self, rng: &mut Rng) -> io::Result<()> {
        let history = self.history.clone();
        self.line(
            "compacted",
            serde_json::json!({"message": words(rng, 120), "replacement_history": history}),
        )
    }
}

/// The models of the Claude Code profile's sessions, as Claude Code names them.
const CLAUDE_MODELS: [&str; 4] = [
    "claude-sonnet-4-5-20250929",
    "claude-opus-4-6",
    "claude-sonnet-4-5-20250929",
    "claude-haiku-4-5-20251001",
];

/// Writes a Claude Code home under `root` (`projects/<project>/<uuid>.jsonl`), with the
/// line mix AGENT-FORMATS.md measured: per turn a typed prompt, a reply streamed over
/// several lines (thinking, text, tool calls), each repeating the reply's usage, tool
/// results (some large), and many `progress` lines; every tenth session has a subagent.
pub fn generate_claude(root: &Path, spec: &CorpusSpec) -> io::Result<Corpus> {
    let mut rng = Rng::new(spec.seed);
    let n = spec.sessions.max(1);
    let per_session = (spec.total_bytes / n as u64).max(2_000);
    let mut corpus = Corpus::default();
    let span_ms: i64 = 240 * 86_400_000;
    for i in 0..n {
        let created = START_MS + span_ms * i as i64 / n as i64 + rng.below(3_600_000) as i64;
        let id = format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            (created / 1000) as u32,
            rng.below(0x10000),
            rng.below(0x1000),
            rng.below(0x1000),
            rng.next() & 0xffff_ffff_ffff
        );
        let repo = rng.pick(REPOS).0.rsplit('/').next().unwrap_or("x");
        let cwd = format!("/home/dev/src/{repo}");
        let project = root.join("projects").join(cwd.replace(['/', '.'], "-"));
        fs::create_dir_all(&project)?;
        let path = project.join(format!("{id}.jsonl"));
        let rare_word = format!("rare{}", &id[..8]);
        // Sessions of several models, as a person's are; a few in fast mode, and cache
        // writes of 1 hour in some (both priced differently).
        let model = CLAUDE_MODELS[i % CLAUDE_MODELS.len()];
        let fast = model == "claude-opus-4-6" && i % 11 == 0;
        let hour_cache = i % 5 == 0;
        let mut out = BufWriter::with_capacity(1 << 20, fs::File::create(&path)?);
        let (mut bytes, mut lines, mut ms, mut turn) = (0u64, 0u64, created, 0u64);
        let mut put = |v: serde_json::Value, bytes: &mut u64, lines: &mut u64| -> io::Result<()> {
            let s = v.to_string();
            out.write_all(s.as_bytes())?;
            out.write_all(b"\n")?;
            *bytes += s.len() as u64 + 1;
            *lines += 1;
            Ok(())
        };
        let base = |ms: i64, kind: &str| {
            serde_json::json!({"parentUuid": null, "isSidechain": false, "userType": "external",
                "cwd": cwd, "sessionId": id, "version": "2.1.3", "gitBranch": "main",
                "type": kind, "uuid": format!("{:016x}", ms), "timestamp": ts(ms)})
        };
        while bytes < per_session {
            turn += 1;
            ms += 20_000 + rng.below(60_000) as i64;
            let mut user = base(ms, "user");
            let prompt = if turn == 1 {
                format!(
                    "Fix the {} in the {repo} parser ({rare_word})",
                    rng.pick(WORDS)
                )
            } else {
                format!("Now {} the {} too", rng.pick(WORDS), rng.pick(WORDS))
            };
            user["message"] = serde_json::json!({"role": "user", "content": prompt});
            put(user, &mut bytes, &mut lines)?;
            let msg = format!("msg_{:016x}", rng.next());
            let blocks = 2 + rng.below(3);
            // As Claude Code writes them: input and cache figures the same on every line
            // of the reply, output tokens partial until its last line.
            let (input, cache_write, cache_read) =
                (10 + rng.below(100), rng.below(2000), rng.below(50_000));
            let output = 50 + rng.below(400);
            for b in 0..blocks {
                ms += 500;
                let block = match b {
                    0 => {
                        serde_json::json!({"type": "thinking", "thinking": words(&mut rng, 40), "signature": "x".repeat(200)})
                    }
                    _ if b + 1 == blocks => {
                        serde_json::json!({"type": "text", "text": words(&mut rng, 60)})
                    }
                    _ => {
                        serde_json::json!({"type": "tool_use", "id": format!("toolu_{turn}_{b}"), "name": "Bash",
                        "input": {"command": format!("cargo test -p {repo}"), "description": "Run tests"}})
                    }
                };
                let mut a = base(ms, "assistant");
                a["requestId"] = serde_json::json!(format!("req_{msg}"));
                let hour = if hour_cache { cache_write / 2 } else { 0 };
                let mut usage = serde_json::json!({"input_tokens": input,
                        "cache_creation_input_tokens": cache_write, "cache_read_input_tokens": cache_read,
                        "cache_creation": {"ephemeral_5m_input_tokens": cache_write - hour,
                            "ephemeral_1h_input_tokens": hour},
                        "output_tokens": if b + 1 == blocks { output } else { 1 + b },
                        "service_tier": "standard"});
                if fast {
                    usage["speed"] = serde_json::json!("fast");
                }
                a["message"] = serde_json::json!({"id": msg, "type": "message", "role": "assistant",
                    "model": model, "content": [block], "usage": usage});
                put(a, &mut bytes, &mut lines)?;
                for _ in 0..3 {
                    let mut p = base(ms, "progress");
                    p["data"] =
                        serde_json::json!({"type": "hook_progress", "hookEvent": "PostToolUse"});
                    put(p, &mut bytes, &mut lines)?;
                }
                if b > 0 && b + 1 < blocks {
                    let size = if rng.below(10) == 0 { 20_000 } else { 800 };
                    let mut r = base(ms + 200, "user");
                    let output = words(&mut rng, size / 6);
                    // Claude Code writes a Bash result twice: as the API's tool_result and,
                    // structured, as `toolUseResult` (AGENT-FORMATS.md).
                    r["toolUseResult"] = serde_json::json!({"stdout": output, "stderr": "",
                        "interrupted": false, "isImage": false});
                    r["message"] = serde_json::json!({"role": "user", "content": [{"type": "tool_result",
                        "tool_use_id": format!("toolu_{turn}_{b}"), "content": output}]});
                    put(r, &mut bytes, &mut lines)?;
                }
            }
        }
        out.flush()?;
        corpus.total_bytes += bytes;
        corpus.total_lines += lines;
        corpus.sessions.push(SessionInfo {
            id,
            path,
            bytes,
            repo_key: None,
            legacy: false,
            rare_word,
        });
    }
    Ok(corpus)
}

/// The models of the Gemini CLI profile's sessions.
const GEMINI_MODELS: [&str; 3] = ["gemini-2.5-pro", "gemini-2.5-flash", "gemini-3-pro-preview"];

/// Writes a Gemini CLI home under `root` (`tmp/<projectHash>/chats/session-*.json`), as
/// AGENT-FORMATS.md describes the documents: per turn a prompt and a reply with thoughts,
/// tool calls and its `tokens` (`input` including `cached`; `total` their sum with output,
/// thoughts and tool-use prompts).
pub fn generate_gemini(root: &Path, spec: &CorpusSpec) -> io::Result<Corpus> {
    let mut rng = Rng::new(spec.seed);
    let n = spec.sessions.max(1);
    let per_session = (spec.total_bytes / n as u64).max(2_000);
    let mut corpus = Corpus::default();
    let span_ms: i64 = 240 * 86_400_000;
    for i in 0..n {
        let created = START_MS + span_ms * i as i64 / n as i64 + rng.below(3_600_000) as i64;
        let id = format!(
            "{:08x}-{:04x}-4{:03x}-9{:03x}-{:012x}",
            (created / 1000) as u32,
            rng.below(0x10000),
            rng.below(0x1000),
            rng.below(0x1000),
            rng.next() & 0xffff_ffff_ffff
        );
        let project = format!(
            "{:016x}{:016x}{:016x}{:016x}",
            rng.next(),
            rng.next(),
            rng.next(),
            rng.next()
        );
        let chats = root.join("tmp").join(&project).join("chats");
        fs::create_dir_all(&chats)?;
        let stamp = ts(created).replace(':', "-");
        let path = chats.join(format!("session-{}-{}.json", &stamp[..16], &id[..8]));
        let rare_word = format!("rare{}", &id[..8]);
        let model = GEMINI_MODELS[i % GEMINI_MODELS.len()];
        let (mut messages, mut bytes, mut ms, mut turn) = (Vec::new(), 0u64, created, 0u64);
        while bytes < per_session {
            turn += 1;
            ms += 30_000 + rng.below(60_000) as i64;
            let prompt = if turn == 1 {
                format!("Why does the {} fail ({rare_word})", rng.pick(WORDS))
            } else {
                format!("Now {} the {}", rng.pick(WORDS), rng.pick(WORDS))
            };
            bytes += prompt.len() as u64 + 120;
            messages.push(
                serde_json::json!({"id": format!("u{turn}-{}", &id[..8]), "timestamp": ts(ms),
                "type": "user", "content": prompt}),
            );
            ms += 4_000;
            let text = words(&mut rng, 80);
            let long = rng.below(8) == 0;
            let result = words(&mut rng, if long { 3000 } else { 150 });
            let input = 8_000 + 2_500 * turn.min(60) + rng.below(2_000);
            let cached = input * 7 / 10;
            let (output, thoughts, tool) = (40 + rng.below(600), rng.below(900), rng.below(30));
            let reply = serde_json::json!({"id": format!("g{turn}-{}", &id[..8]), "timestamp": ts(ms),
                "type": "gemini", "content": text, "model": model,
                "thoughts": [{"subject": "Looking", "description": words(&mut rng, 25), "timestamp": ts(ms)}],
                "toolCalls": [{"id": format!("call_{turn}"), "name": "run_shell_command",
                    "args": {"command": "cargo test"}, "status": "success", "timestamp": ts(ms),
                    "result": [{"functionResponse": {"id": format!("call_{turn}"), "name": "run_shell_command",
                        "response": {"output": result}}}]}],
                "tokens": {"input": input, "output": output, "cached": cached, "thoughts": thoughts,
                    "tool": tool, "total": input + output + thoughts + tool}});
            bytes += reply.to_string().len() as u64;
            messages.push(reply);
        }
        let doc = serde_json::json!({"sessionId": id, "projectHash": project, "startTime": ts(created),
            "lastUpdated": ts(ms), "messages": messages});
        let text = doc.to_string();
        fs::write(&path, &text)?;
        corpus.total_bytes += text.len() as u64;
        corpus.total_lines += 1;
        corpus.sessions.push(SessionInfo {
            id,
            path,
            bytes: text.len() as u64,
            repo_key: None,
            legacy: false,
            rare_word,
        });
    }
    Ok(corpus)
}

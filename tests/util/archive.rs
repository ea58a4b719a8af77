//! A generated archive with known answers: the generator keeps, for every session, what
//! the index should report about it, so tests compare rolldex's answers with the truth.
//!
//! Variety on purpose: several URL spellings of one repository (one with a token), a
//! second repository with the same bare name, both file shapes, `.zst` files,
//! `archived_sessions/`, forks carrying their parent's meta first, torn last lines.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use rolldex::layout;
use serde_json::json;

/// The benches' deterministic generator (SplitMix64): the same seed, the same archive.
pub use super::corpus::Rng;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// What one generated session is, and so what the index must say about it.
#[derive(Debug, Clone)]
pub struct Spec {
    pub id: String,
    /// The file as written (plain or `.zst`).
    pub path: PathBuf,
    pub legacy: bool,
    /// The normalized key the index must give its repository.
    pub repo: Option<&'static str>,
    pub url: Option<String>,
    pub branch: Option<&'static str>,
    pub commit: Option<String>,
    pub cwd: &'static str,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub compressed: bool,
    pub archived: bool,
    pub fork_of: Option<String>,
    /// Ends with a torn line holding `torn_word`, which must not be searchable yet.
    pub torn: bool,
    /// A word only this session says (in its first message).
    pub word: String,
    /// Whether the assistant says the shared word `flamingo` (once, on `flamingo_seq`).
    pub flamingo_seq: Option<u64>,
    /// Line number of the first user message (the one holding `word`).
    pub word_seq: u64,
    pub title: String,
}

impl Spec {
    /// The word in this session's torn last line.
    pub fn torn_word(&self) -> String {
        format!("tornword{}", &self.id[..8])
    }
}

/// The repositories: canonical key, and the URL spellings sessions use for it.
const REPOS: &[(&str, &[&str])] = &[
    (
        "github.com/acme/widget",
        &[
            "git@github.com:Acme/Widget.git",
            "https://github.com/acme/widget",
            "ssh://git@github.com/acme/widget.git",
            "https://x-access-token:ghs_SECRETTOKEN{n}@github.com/acme/widget.git",
        ],
    ),
    (
        "github.com/other/widget",
        &["https://github.com/Other/widget.git"],
    ),
    (
        "gitlab.example.com/ops/deploy",
        &["https://deploy:glpat-SECRETTOKEN{n}@gitlab.example.com/ops/deploy.git"],
    ),
];
const BRANCHES: &[&str] = &["main", "feature-x", "release"];
const CWDS: &[&str] = &[
    "/home/dev/widget",
    "/home/dev/widget/sub",
    "/home/dev/widget-fork",
    "/srv/deploy",
];

fn ts(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .expect("time")
        .format(&Rfc3339)
        .expect("format")
}

/// 2025-06-01T00:00:00Z in ms.
pub const START_MS: i64 = 1_748_736_000_000;

/// Writes `n` sessions under `home` and returns what they are. Sessions 0 and 1 share
/// their first 6 id digits (an ambiguous prefix).
pub fn generate(home: &Path, n: usize, seed: u64) -> Vec<Spec> {
    let mut rng = Rng::new(seed);
    let mut specs: Vec<Spec> = Vec::with_capacity(n);
    // Spread over ~270 days from 2025-06-01.
    let span_ms: i64 = 270 * 86_400_000;
    for i in 0..n {
        let hi = rng.next();
        let lo = rng.next();
        let mut hex = format!("{hi:016x}{lo:016x}");
        if i == 1 {
            let first = specs[0].id.replace('-', "");
            hex.replace_range(..6, &first[..6]);
        }
        let id = format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        );
        let created_ms =
            START_MS + span_ms * i as i64 / n.max(1) as i64 + rng.below(3_600_000) as i64;
        let updated_ms = created_ms + (1 + rng.below(5) as i64) * 3_600_000;
        let (repo, url) = match rng.below(5) {
            4 => (None, None),
            r => {
                let (key, spellings) = REPOS[(r as usize).min(REPOS.len() - 1)];
                let spelling = spellings[rng.below(spellings.len() as u64) as usize];
                (Some(key), Some(spelling.replace("{n}", &i.to_string())))
            }
        };
        let branch = url
            .as_ref()
            .map(|_| BRANCHES[rng.below(BRANCHES.len() as u64) as usize]);
        let commit = url.as_ref().map(|_| {
            format!(
                "{:016x}{:016x}{:08x}",
                rng.next(),
                rng.next(),
                rng.next() as u32
            )
        });
        let cwd = CWDS[rng.below(CWDS.len() as u64) as usize];
        let legacy = i % 4 == 3;
        let compressed = i % 5 == 1;
        let archived = i % 6 == 2;
        let fork_of = (i % 11 == 4 && i > 0 && !legacy).then(|| specs[i - 1].id.clone());
        let torn = i % 9 == 5 && !legacy;
        let flamingo = i % 7 == 0;
        let word = format!("uniqword{}", &hex[..10]);
        let title = format!("Please fix {word} in module {i}");
        let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(created_ms) * 1_000_000)
            .expect("time");
        let uuid = uuid::Uuid::parse_str(&id).expect("a uuid");
        let plain = if archived {
            home.join("archived_sessions")
                .join(layout::rollout_file_name(t, uuid))
        } else {
            layout::new_rollout_path(home, t, uuid)
        };
        fs::create_dir_all(plain.parent().expect("a folder")).expect("mkdir");
        let git = url
            .as_ref()
            .map(|u| json!({"commit_hash": commit, "branch": branch, "repository_url": u}));
        let mut lines: Vec<String> = Vec::new();
        let (word_seq, flamingo_seq);
        if legacy {
            lines.push(
                json!({"id": id, "timestamp": ts(created_ms), "instructions": null, "git": git})
                    .to_string(),
            );
            lines.push(r#"{"record_type":"state"}"#.into());
            lines.push(json!({"type":"message","role":"user","content":[{"type":"input_text","text": title}]}).to_string());
            word_seq = lines.len() as u64;
            lines.push(json!({"type":"local_shell_call","call_id":"c1","status":"completed","action":{"type":"exec","command":["cargo","build"]}}).to_string());
            lines.push(json!({"type":"function_call_output","call_id":"c1","output":"Finished dev profile"}).to_string());
            lines.push(json!({"type":"message","role":"assistant","content":[{"type":"output_text","text": if flamingo {"The flamingo test passes now."} else {"Fixed."}}]}).to_string());
            flamingo_seq = flamingo.then_some(lines.len() as u64);
        } else {
            let step = (updated_ms - created_ms) / 10;
            let at = |k: i64| ts(created_ms + step * k);
            let meta = |mid: &str, cwd: &str, git: &Option<serde_json::Value>| {
                json!({"timestamp": at(0), "type": "session_meta", "payload": {
                    "id": mid, "timestamp": at(0), "cwd": cwd, "originator": "codex_cli_rs",
                    "cli_version": "0.98.0", "source": "cli", "model_provider": "openai",
                    "base_instructions": {"text": "You are a coding agent."}, "git": git,
                    "forked_from_id": null}})
                .to_string()
            };
            if let Some(parent) = &fork_of {
                // A fork copies its parent's meta first; its own comes after.
                lines.push(meta(parent, "/somewhere/else", &None));
            }
            lines.push(meta(&id, cwd, &git));
            lines.push(json!({"timestamp": at(1), "type": "turn_context", "payload": {"cwd": cwd, "model": "gpt-5-codex", "effort": "medium"}}).to_string());
            lines.push(json!({"timestamp": at(1), "type": "response_item", "payload": {"type":"message","role":"user","content":[{"type":"input_text","text": format!("<environment_context><cwd>{cwd}</cwd></environment_context>")}]}}).to_string());
            lines.push(json!({"timestamp": at(2), "type": "response_item", "payload": {"type":"message","role":"user","content":[{"type":"input_text","text": title}]}}).to_string());
            word_seq = lines.len() as u64;
            lines.push(json!({"timestamp": at(2), "type": "event_msg", "payload": {"type":"user_message","message": title}}).to_string());
            lines.push(json!({"timestamp": at(3), "type": "response_item", "payload": {"type":"function_call","name":"shell","arguments": json!({"command":["bash","-lc","cargo test"]}).to_string(),"call_id":"c1"}}).to_string());
            lines.push(json!({"timestamp": at(4), "type": "response_item", "payload": {"type":"function_call_output","call_id":"c1","output":"test result: ok"}}).to_string());
            lines.push(json!({"timestamp": at(5), "type": "event_msg", "payload": {"type":"token_count","info":{"total_token_usage":{"total_tokens": 1000 + i}}}}).to_string());
            lines.push(json!({"timestamp": ts(updated_ms), "type": "response_item", "payload": {"type":"message","role":"assistant","content":[{"type":"output_text","text": if flamingo {"The flamingo test passes now."} else {"Fixed."}}]}}).to_string());
            flamingo_seq = flamingo.then_some(lines.len() as u64);
        }
        let mut bytes = lines.join("\n").into_bytes();
        bytes.push(b'\n');
        let spec = Spec {
            id,
            path: if compressed {
                zst(&plain)
            } else {
                plain.clone()
            },
            legacy,
            repo,
            url,
            branch,
            commit,
            cwd: if legacy { "" } else { cwd },
            created_ms,
            updated_ms,
            compressed,
            archived,
            fork_of,
            torn,
            word,
            flamingo_seq,
            word_seq,
            title,
        };
        if torn {
            bytes.extend_from_slice(
                format!(
                    r#"{{"timestamp":"{}","type":"response_item","payload":{{"type":"message","role":"assistant","content":[{{"type":"output_text","text":"{} and mo"#,
                    ts(updated_ms),
                    spec.torn_word()
                )
                .as_bytes(),
            );
        }
        if compressed {
            fs::write(&spec.path, zstd::encode_all(&bytes[..], 3).expect("zstd")).expect("write");
        } else {
            fs::write(&spec.path, &bytes).expect("write");
        }
        // Legacy files have no line timestamps: their activity is their mtime.
        set_mtime(&spec.path, updated_ms);
        specs.push(spec);
    }
    specs
}

/// `X.jsonl` -> `X.jsonl.zst`.
pub fn zst(plain: &Path) -> PathBuf {
    let mut s = plain.as_os_str().to_owned();
    s.push(".zst");
    PathBuf::from(s)
}

pub fn set_mtime(path: &Path, ms: i64) {
    let f = fs::File::options().write(true).open(path).expect("open");
    f.set_modified(UNIX_EPOCH + Duration::from_millis(ms as u64))
        .expect("set mtime");
}

/// Parses JSON Lines output.
pub fn json_lines(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The sorted `id`s of JSON Lines output.
pub fn ids(out: &str) -> Vec<String> {
    let mut v: Vec<String> = json_lines(out)
        .iter()
        .map(|o| o["id"].as_str().expect("id").to_string())
        .collect();
    v.sort();
    v
}

/// The sorted ids of the specs that satisfy `keep`.
pub fn expect(specs: &[Spec], keep: impl Fn(&Spec) -> bool) -> Vec<String> {
    let mut v: Vec<String> = specs
        .iter()
        .filter(|s| keep(s))
        .map(|s| s.id.clone())
        .collect();
    v.sort();
    v
}

/// How many `.zst` rollouts a home holds.
pub fn zst_count(home: &Path) -> usize {
    crate::util::rollouts(home)
        .iter()
        .filter(|p| p.to_string_lossy().ends_with(".jsonl.zst"))
        .count()
}

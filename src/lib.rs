//! rolldex: record, index, search, resume and archive AI coding-agent sessions.
//!
//! Coding agents (the Codex CLI and its forks) write each session as a JSONL "rollout"
//! under `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<local time>-<uuid>.jsonl`. The files are
//! the source of truth: rolldex reads them in both shapes they come in (see [`model`]),
//! never rewrites them, and writes new ones through an async [`recorder`].
//!
//! ```no_run
//! # async fn demo() -> rolldex::Result<()> {
//! use rolldex::recorder::{Recorder, RecorderOptions, SessionInfo};
//! let info = SessionInfo {
//!     cwd: "/work/project".into(),
//!     originator: "my_agent".into(),
//!     cli_version: "1.0.0".into(),
//!     source: "cli".into(),
//!     model_provider: None,
//!     instructions: None,
//!     forked_from_id: None,
//! };
//! let home = std::path::Path::new("/home/me/.codex");
//! let rec = Recorder::create(home, uuid::Uuid::now_v7(), info, RecorderOptions::default()).await?;
//! rec.record_items(&[serde_json::json!({"type": "message", "role": "user",
//!     "content": [{"type": "input_text", "text": "hello"}]})]).await?;
//! rec.shutdown().await?; // durable once this returns
//! # Ok(()) }
//! ```
//!
//! Reading one back, line by line in bounded memory, from `.jsonl` or `.jsonl.zst`:
//!
//! ```no_run
//! use rolldex::reader::{Entry, RolloutReader};
//! let mut reader = RolloutReader::open("rollout.jsonl.zst".as_ref())?;
//! for entry in reader.entries() {
//!     match entry? {
//!         Entry::Record(r) => println!("{}: {:?}", r.number, r.line.item),
//!         Entry::Malformed(e) => eprintln!("skipped {e}"),
//!         Entry::Pending { .. } => eprintln!("last line still being written"),
//!     }
//! }
//! # Ok::<(), rolldex::Error>(())
//! ```
//!
//! Asking a home about its sessions goes through one door, [`Home`]: it keeps the SQLite
//! index ([`index`]) fresh, finds a session by id, prefix, name or path, and answers
//! [`query`]s. Compressing old rollouts is the [`archive`] job.
//!
//! ```no_run
//! use rolldex::Home;
//! use rolldex::query::{Filters, SearchQuery};
//! let mut home = Home::new("/home/me/.codex")?;
//! let filters = Filters { repo: Some("acme/widget".into()), ..Default::default() };
//! for s in home.list(&filters, 20)? {
//!     println!("{} {}", s.id, s.label().unwrap_or(""));
//! }
//! for hit in home.search(&SearchQuery::new("mismatched types").filters(filters))? {
//!     println!("{}:{} {}", hit.session.path, hit.seq, hit.snippet);
//! }
//! println!("{}", home.resume("ws reconnect flake")?.display());
//! # Ok::<(), rolldex::Error>(())
//! ```
//!
//! A team archive in PostgreSQL ([`team`]) is the same door's second backend: push a home
//! to it, then ask it what a home is asked.
//!
//! ```no_run
//! use rolldex::Home;
//! use rolldex::team::{Team, push};
//! let url = "postgresql://ann@db.example.com/team?sslmode=verify-full";
//! let mut laptop = Home::new("/home/me/.codex")?;
//! let opts = push::PushOptions { host: push::hostname(), redact: false };
//! push::push(&mut laptop, &mut Team::connect(url)?, &opts, &mut |_, _| {})?;
//! let mut team = Home::new("/home/me/.codex")?.with_team(Team::connect(url)?);
//! println!("{} sessions in the team", team.count(&Default::default())?);
//! # Ok::<(), rolldex::Error>(())
//! ```

pub mod agents;
pub mod archive;
pub mod cost;
pub mod error;
pub mod export;
pub mod finder;
pub mod forget;
#[cfg(any(test, fuzzing))]
pub mod fuzzing;
pub mod git_info;
pub mod home;
pub mod index;
pub mod layout;
pub mod mcp;
pub mod model;
pub mod names;
pub mod pins;
pub mod preserve;
pub mod query;
pub mod reader;
pub mod recorder;
pub mod redact;
pub mod render;
pub mod repo_url;
pub mod team;
pub mod transcript;
pub mod usage;
pub mod watch;

pub use error::{Candidate, Error, LineError, LineErrorKind, Result};
pub use home::{Home, Notice, Resolved};
pub use reader::{Entry, Record, RolloutReader};
pub use recorder::{Recorder, RecorderOptions, SessionInfo};

//! Writes a realistic, deterministic corpus of rollouts (a `CODEX_HOME`) for benchmarks.
//!
//! ```sh
//! cargo run --release --example gen_corpus -- --sessions 2000 --size 500MB --out /tmp/corpus
//! ```

#[path = "../benches/corpus/mod.rs"]
mod corpus;

use std::path::PathBuf;

use clap::Parser;

/// Generate a benchmark corpus.
#[derive(Debug, Parser)]
struct Args {
    /// Number of sessions.
    #[arg(long, default_value_t = 2000)]
    sessions: usize,
    /// Total size to aim for: bytes, or with KB, MB, GB.
    #[arg(long, default_value = "500MB")]
    size: String,
    /// Seed: the same seed writes the same corpus.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// The home to write (its sessions/ folder is created).
    #[arg(long)]
    out: PathBuf,
    /// The corpus's shape: `bench` (the benches' own), `real` (the line mix and sizes
    /// measured on real Codex sessions, FORMAT.md), `small` (many ~20 KB sessions) or
    /// `claude` (a Claude Code home: OUT/projects/..., AGENT-FORMATS.md's line mix) or
    /// `gemini` (a Gemini CLI home: OUT/tmp/<hash>/chats/*.json).
    #[arg(long, value_enum, default_value = "bench")]
    profile: ProfileArg,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ProfileArg {
    Bench,
    Real,
    Small,
    Claude,
    Gemini,
}

fn main() -> Result<(), String> {
    let args = Args::parse();
    let spec = corpus::CorpusSpec {
        sessions: args.sessions,
        total_bytes: corpus::parse_size(&args.size)?,
        seed: args.seed,
    };
    let started = std::time::Instant::now();
    let profile = match args.profile {
        ProfileArg::Bench => Some(corpus::Profile::Bench),
        ProfileArg::Real => Some(corpus::Profile::Real),
        ProfileArg::Small => Some(corpus::Profile::Small),
        ProfileArg::Claude | ProfileArg::Gemini => None,
    };
    let c = match (profile, args.profile) {
        (Some(p), _) => corpus::generate_profile(&args.out, &spec, p),
        (None, ProfileArg::Gemini) => corpus::generate_gemini(&args.out, &spec),
        (None, _) => corpus::generate_claude(&args.out, &spec),
    }
    .map_err(|e| format!("{}: {e}", args.out.display()))?;
    let big = c.biggest();
    println!(
        "{} sessions, {} lines, {} bytes in {:.1}s under {}; biggest {} ({} bytes)",
        c.sessions.len(),
        c.total_lines,
        c.total_bytes,
        started.elapsed().as_secs_f64(),
        args.out.display(),
        big.id,
        big.bytes
    );
    Ok(())
}

//! `rolldex show`: a session as a transcript, or its exact bytes.

use std::io::{self, Write};
use std::process::ExitCode;

use rolldex::reader;
use rolldex::transcript::TranscriptOptions;

use super::{Ctx, render};

/// Arguments of `show`.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// A session id, a unique id prefix, its name, or a rollout path (`.jsonl[.zst]`).
    target: String,
    /// Print the file's exact bytes (decompressed for `.zst`) instead of a transcript.
    #[arg(long)]
    raw: bool,
    /// Print the history a subagent or a continued session inherited, from the file that
    /// holds it, where it belongs.
    #[arg(long, conflicts_with = "raw")]
    with_history: bool,
    /// Only the items around line SEQ (the `seq` of a search hit).
    #[arg(long, value_name = "SEQ", conflicts_with = "raw")]
    at: Option<u64>,
    /// With --at: how many items to show on each side.
    #[arg(long, value_name = "N", default_value_t = 3, requires = "at")]
    context: usize,
    /// Replace secrets (API keys, tokens, private keys, passwords) with [REDACTED:kind].
    #[arg(long, conflicts_with = "raw")]
    redact: bool,
    /// Show injected context (instructions, environment) in full instead of one line.
    #[arg(long, conflicts_with = "raw")]
    include_context: bool,
    /// Show tool outputs whole.
    #[arg(long, conflicts_with = "raw")]
    full_output: bool,
}

impl ShowArgs {
    /// `--raw`: the file's exact bytes.
    pub fn raw(&self) -> bool {
        self.raw
    }
}

pub fn run(ctx: &Ctx, args: ShowArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let mut home = ctx.reader()?;
    if args.raw {
        let path = home.readable(&args.target)?.path;
        let mut stream = reader::open_stream(&path)?;
        io::copy(&mut stream, out).map_err(|e| {
            // A failed read is the file's fault, a failed write the pipe's: keep them apart.
            if e.kind() == io::ErrorKind::BrokenPipe {
                anyhow::Error::from(e)
            } else {
                anyhow::Error::from(rolldex::Error::io(&path, "copying", e))
            }
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let t = home.transcript(&args.target)?;
    let path = t.resolved.path.clone();
    let opts = render::ShowOptions {
        model: TranscriptOptions {
            redact: args.redact,
            include_context: args.include_context,
            full_output: args.full_output,
        },
        with_history: args.with_history,
        at: args.at.map(|seq| (seq, args.context)),
    };
    let report = render::transcript(&mut home, &t, opts, out)?;
    if report.at_missed
        && let Some(seq) = args.at
    {
        super::warn(format_args!(
            "{}: no item at line {seq}; the nearest are shown",
            path.display()
        ));
    }
    super::warn_malformed(&report.malformed);
    if report.records == 0 && !report.malformed.is_empty() {
        anyhow::bail!(
            "{}: not a rollout: none of its {} line(s) is a rollout line",
            path.display(),
            report.malformed.len()
        );
    }
    if let Some((line, _, len)) = report.pending {
        super::warn(format_args!(
            "{}:{line}: the last line is incomplete ({len} bytes, still being written?)",
            path.display()
        ));
    }
    Ok(ExitCode::SUCCESS)
}

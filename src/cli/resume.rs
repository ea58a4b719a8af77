//! `rolldex resume`: the path to append a session to, by its id, prefix or name.

use std::io::Write;
use std::process::ExitCode;

use super::Ctx;

/// Arguments of `resume`.
#[derive(Debug, clap::Args)]
pub struct ResumeArgs {
    /// A session id, a unique prefix of it (at least 4 hex digits), or its current name.
    id: String,
    /// Print the shell command that continues the session in its agent instead
    /// (`codex resume ID`, `cd DIR && claude --resume ID`).
    #[arg(long)]
    command: bool,
}

pub fn run(ctx: &Ctx, args: ResumeArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let mut home = ctx.reader()?;
    if args.command {
        writeln!(out, "{}", home.resume_command(&args.id)?)?;
    } else {
        writeln!(out, "{}", home.resume(&args.id)?.display())?;
    }
    Ok(ExitCode::SUCCESS)
}

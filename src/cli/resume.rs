//! `rolldex resume`: the path to append a session to, by its id, prefix or name.

use std::io::Write;
use std::process::ExitCode;

use super::Ctx;

/// Arguments of `resume`.
#[derive(Debug, clap::Args)]
pub struct ResumeArgs {
    /// A session id, a unique prefix of it (at least 4 hex digits), or its current name.
    id: String,
}

pub fn run(ctx: &Ctx, args: ResumeArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let path = ctx.reader()?.resume(&args.id)?;
    writeln!(out, "{}", path.display())?;
    Ok(ExitCode::SUCCESS)
}

//! `rolldex resume`: the path to append a session to, by its id.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use rolldex::layout;
use rolldex::recorder::restore_plain;

use super::{Ctx, resolve_session};

/// Arguments of `resume`.
#[derive(Debug, clap::Args)]
pub struct ResumeArgs {
    /// A session id or a unique prefix of it (at least 4 hex digits).
    id: String,
}

pub fn run(ctx: &Ctx, args: ResumeArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    // An id only: a path would make `resume` a way to decompress arbitrary files.
    layout::normalize_id_prefix(&args.id)?;
    let path = resolve_session(ctx, &args.id)?;
    let plain = if layout::is_compressed(&path) {
        restore_plain(&path)?
    } else {
        path
    };
    let abs = std::fs::canonicalize(&plain)
        .with_context(|| format!("{}: cannot resolve the path", plain.display()))?;
    writeln!(out, "{}", abs.display())?;
    Ok(ExitCode::SUCCESS)
}

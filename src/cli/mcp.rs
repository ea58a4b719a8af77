//! `rolldex mcp`: the archive served to coding agents over the Model Context Protocol on
//! stdin/stdout (see [`rolldex::mcp`]). Stdout carries only the protocol; notices go to
//! stderr.

use std::process::ExitCode;

use super::Ctx;

/// Serves until stdin ends; the door is the one `list` and `search` use (the team archive
/// with `--remote`).
pub fn run(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let ctx = ctx.clone();
    rolldex::mcp::serve_stdio(move || {
        ctx.reader()
            .map_err(|e| rolldex::Error::BadArgument(format!("{e:#}")))
    })?;
    Ok(ExitCode::SUCCESS)
}

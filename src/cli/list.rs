//! `rolldex list`: the sessions under the home, newest activity first.

use std::io::Write;
use std::process::ExitCode;
use std::time::SystemTime;

use rolldex::layout;
use rolldex::reader::read_head_meta;
use time::OffsetDateTime;

use super::{Ctx, warn};

/// Arguments of `list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Show at most N sessions.
    #[arg(long, value_name = "N", default_value_t = 50)]
    limit: usize,
}

pub fn run(ctx: &Ctx, args: ListArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let (files, errors) = layout::walk_rollouts(&ctx.home);
    for e in &errors {
        warn(e);
    }
    if files.is_empty() {
        writeln!(
            out,
            "No sessions under {} (looked in {}/ and {}/).",
            ctx.home.display(),
            layout::SESSIONS_DIR,
            layout::ARCHIVED_DIR
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    // Last activity is the file's mtime (legacy files have no per-line timestamps).
    let mut by_activity: Vec<_> = files
        .into_iter()
        .map(|f| {
            let mtime = std::fs::metadata(&f)
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            (mtime, f)
        })
        .collect();
    by_activity.sort_by_key(|(mtime, _)| std::cmp::Reverse(*mtime));
    // A plain file and its .zst twin are one session: the plain one is authoritative.
    by_activity.retain(|(_, f)| !layout::is_compressed(f) || !layout::plain_path(f).exists());
    let total = by_activity.len();
    for (mtime, path) in by_activity.iter().take(args.limit) {
        let meta = match read_head_meta(path) {
            Ok(m) => m.unwrap_or_default(),
            Err(e) => {
                warn(e);
                continue;
            }
        };
        let id = meta
            .uuid()
            .or_else(|| layout::session_id_from_path(path))
            .map(|u| u.to_string())
            .unwrap_or_else(|| "?".into());
        let when = OffsetDateTime::from(*mtime);
        let git = meta.git.unwrap_or_default();
        writeln!(
            out,
            "{id}  {}  {}  {}{}",
            super::render::short_time(when),
            meta.cwd.as_deref().unwrap_or("-"),
            git.branch.as_deref().unwrap_or("-"),
            if layout::is_compressed(path) {
                "  [zst]"
            } else {
                ""
            },
        )?;
    }
    if total > args.limit {
        writeln!(out, "... {} more (use --limit)", total - args.limit)?;
    }
    Ok(ExitCode::SUCCESS)
}

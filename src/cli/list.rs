//! `rolldex list`: sessions from the index, newest activity first.

use std::io::Write;
use std::process::ExitCode;

use rolldex::layout;
use rolldex::query::{self, Session};

use super::filters::FilterArgs;
use super::{Ctx, index, json};

/// Arguments of `list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    filters: FilterArgs,
    /// Show at most N sessions.
    #[arg(long, value_name = "N", default_value_t = 50)]
    limit: usize,
    /// Print JSON Lines: one object per session.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, args: ListArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let filters = args.filters.to_filters(ctx)?;
    // A fresh machine: say so, without creating an index (or a home) for nothing.
    if !ctx.db.exists() && layout::walk_rollouts(&ctx.home).0.is_empty() {
        if !args.json {
            no_sessions(ctx, out)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let index = index::open_fresh(ctx)?;
    let conn = index.reader()?;
    let sessions = query::list(&conn, index.path(), &filters, args.limit)?;
    if args.json {
        for s in &sessions {
            writeln!(out, "{}", serde_json::Value::Object(json::session(s)))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let total = query::count(&conn, index.path(), &filters)?;
    if total == 0 {
        if query::count(&conn, index.path(), &Default::default())? == 0 {
            no_sessions(ctx, out)?;
        } else {
            writeln!(out, "No sessions match.")?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    for s in &sessions {
        writeln!(out, "{}", line(s))?;
    }
    if total > sessions.len() as u64 {
        writeln!(
            out,
            "... {} more (use --limit)",
            total - sessions.len() as u64
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn no_sessions(ctx: &Ctx, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "No sessions under {} (looked in {}/ and {}/).",
        ctx.home.display(),
        layout::SESSIONS_DIR,
        layout::ARCHIVED_DIR
    )
}

/// `time  id  repo@branch  title  [zst]`: one line per session.
pub fn line(s: &Session) -> String {
    let when =
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(s.updated_ms) * 1_000_000)
            .map(super::render::short_time)
            .unwrap_or_else(|_| "?".into());
    let repo = s
        .repo
        .as_deref()
        .map(|r| r.split_once('/').map_or(r, |(_host, path)| path))
        .or(s.cwd.as_deref())
        .unwrap_or("-");
    let branch = s
        .branch
        .as_deref()
        .map(|b| format!("@{b}"))
        .unwrap_or_default();
    let title = s.title.as_deref().unwrap_or("");
    let title: String = if title.chars().count() > 72 {
        title.chars().take(71).chain(['…']).collect()
    } else {
        title.to_string()
    };
    let mut flags = String::new();
    if s.archived {
        flags.push_str("  [archived]");
    }
    if s.compressed {
        flags.push_str("  [zst]");
    }
    format!("{when}  {}  {repo}{branch}  {title}{flags}", s.id)
}

//! `rolldex list`: sessions from the index, newest activity first.

use std::io::Write;
use std::process::ExitCode;

use rolldex::layout;
use rolldex::query::{self, Session};

use super::filters::FilterArgs;
use super::{Ctx, json};

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
    let mut home = ctx.reader()?;
    // A fresh machine: say so, without creating an index (or a home) for nothing.
    if home.is_empty() {
        if !args.json {
            no_sessions(ctx, out)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut sessions = home.list(&filters, args.limit)?;
    if args.json {
        let prices = home.prices()?;
        home.load_spent(&mut sessions)?;
        for s in &sessions {
            let mut m = json::session(s);
            if let Some(spent) = &s.spent {
                m.extend(prices.cost(spent).json());
            }
            writeln!(out, "{}", serde_json::Value::Object(m))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let total = home.count(&filters)?;
    if total == 0 {
        if home.count(&Default::default())? == 0 {
            no_sessions(ctx, out)?;
        } else {
            writeln!(out, "No sessions match.")?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    // Each subagent right under its parent when both are listed, whatever their times.
    for (depth, s) in query::tree_order(&sessions) {
        writeln!(out, "{}", line(s, depth))?;
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
    let others: String = ctx
        .agent_roots()
        .iter()
        .map(|(a, r)| format!(", nor under {} ({a})", r.display()))
        .collect();
    writeln!(
        out,
        "No sessions under {} (looked in {}/ and {}/){others}.",
        ctx.home.display(),
        layout::SESSIONS_DIR,
        layout::ARCHIVED_DIR
    )
}

/// `time  id  repo@branch  name · title  [zst]` (`@host` for a team archive's session):
/// one line per session; a subagent at
/// `depth` > 0 is indented under its parent and says what the parent calls it.
pub fn line(s: &Session, depth: usize) -> String {
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
    let indent = if depth == 0 {
        String::new()
    } else {
        format!("{}└ ", "  ".repeat(depth - 1))
    };
    let agent = match (s.agent_nickname.as_deref(), s.agent_role.as_deref()) {
        (Some(n), Some(r)) => format!("[{n}, {r}]  "),
        (Some(x), None) | (None, Some(x)) => format!("[{x}]  "),
        (None, None) if s.parent_id.is_some() => "[subagent]  ".to_string(),
        (None, None) => String::new(),
    };
    let label = s.name_and_title().unwrap_or_default();
    let label: String = if label.chars().count() > 72 {
        label.chars().take(71).chain(['…']).collect()
    } else {
        label
    };
    let mut flags = String::new();
    if s.archived {
        flags.push_str("  [archived]");
    }
    match &s.host {
        // From a team archive: where it came from (the archive stores every session as zstd).
        Some(host) => flags.push_str(&format!("  @{host}")),
        // The agent deleted its file: rolldex's copy is what holds it now.
        None if s.preserved => flags.push_str("  [preserved]"),
        None if s.compressed => flags.push_str("  [zst]"),
        None => {}
    }
    let line = format!(
        "{when}  {indent}{}  {repo}{branch}  {agent}{label}{flags}",
        s.id
    );
    line.trim_end().to_string()
}

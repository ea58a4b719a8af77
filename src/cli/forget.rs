//! `rolldex forget`: retire sessions by a retention policy, through a trash; restore one;
//! empty the trash.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use rolldex::forget::{self, Policy};
use rolldex::query::parse_duration;
use serde_json::json;

use super::du::human;
use super::filters::FilterArgs;
use super::progress::FileBar;
use super::{Ctx, error, warn};

/// Arguments of `forget`.
#[derive(Debug, clap::Args)]
pub struct ForgetArgs {
    /// Keep sessions active within DUR of now (30d, 12w...); older ones are forgotten
    /// unless a keep rule holds them.
    #[arg(long, value_name = "DUR", required_unless_present_any = ["restore", "empty_trash"])]
    keep_within: Option<String>,
    /// Keep the N most recently active sessions.
    #[arg(long, value_name = "N")]
    keep_last: Option<usize>,
    /// Keep pinned sessions.
    #[arg(long)]
    keep_pinned: bool,
    /// Keep sessions that have a name.
    #[arg(long)]
    keep_named: bool,
    /// Keep the sessions of repository R (any spelling --repo takes); repeatable.
    #[arg(long, value_name = "R")]
    keep_repo: Vec<String>,
    #[command(flatten)]
    filters: FilterArgs,
    /// Only say what would be forgotten.
    #[arg(long)]
    dry_run: bool,
    /// Do it without asking.
    #[arg(long)]
    yes: bool,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    /// Put a forgotten session back: its id, an id prefix or its name.
    #[arg(long, value_name = "SESSION", conflicts_with_all = ["keep_within", "empty_trash"])]
    restore: Option<String>,
    /// Delete the rollouts in the trash for good (with --older-than: only those put there
    /// longer ago than DUR).
    #[arg(long, conflicts_with = "keep_within")]
    empty_trash: bool,
    /// With --empty-trash: only what has been in the trash longer than DUR.
    #[arg(long, value_name = "DUR", requires = "empty_trash")]
    older_than: Option<String>,
}

/// Asks on the terminal; `false` unless the person types y or yes.
fn confirm(question: &str) -> anyhow::Result<bool> {
    let mut stderr = std::io::stderr().lock();
    write!(stderr, "{question} [y/N] ")?;
    stderr.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim().to_lowercase().as_str(), "y" | "yes"))
}

/// Whether the command may go on: `--yes`, or a person said so on a terminal. Off a
/// terminal without `--yes` it refuses (exit 2) and touches nothing.
fn allowed(yes: bool, question: &str) -> anyhow::Result<Option<ExitCode>> {
    if yes {
        return Ok(None);
    }
    if !std::io::stdin().is_terminal() {
        error(format_args!(
            "{question}: refusing without --yes (not a terminal)"
        ));
        return Ok(Some(ExitCode::from(2)));
    }
    if confirm(&format!("{question}?"))? {
        Ok(None)
    } else {
        error("nothing was changed");
        Ok(Some(ExitCode::from(2)))
    }
}

pub fn run(ctx: &Ctx, args: ForgetArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let mut home = ctx.home()?;
    if let Some(reference) = &args.restore {
        let (id, files) = forget::restore(&mut home, reference)?;
        if args.json {
            writeln!(out, "{}", json!({"restored": id, "files": files}))?;
        } else {
            for f in &files {
                writeln!(out, "restored {}", f.display())?;
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.empty_trash {
        let older = args
            .older_than
            .as_deref()
            .map(parse_duration)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--older-than: {e}"))?;
        let data = home.data_dir();
        let trashed = forget::in_trash(home.path()).len() + forget::copies_in_trash(&data).len();
        if trashed == 0 {
            writeln!(out, "The trash is empty.")?;
            return Ok(ExitCode::SUCCESS);
        }
        let question = format!(
            "delete {trashed} session(s) in {} for good",
            forget::trash_dir(home.path()).display()
        );
        if let Some(code) = allowed(args.yes, &question)? {
            return Ok(code);
        }
        let mut done = forget::empty_trash(home.path(), older)?;
        let copies = forget::empty_copies_trash(&data, older)?;
        done.sessions += copies.sessions;
        done.files += copies.files;
        done.bytes += copies.bytes;
        if args.json {
            writeln!(
                out,
                "{}",
                json!({"deleted_sessions": done.sessions, "deleted_files": done.files, "bytes": done.bytes})
            )?;
        } else {
            writeln!(
                out,
                "deleted {} session(s), {} file(s), {}",
                done.sessions,
                done.files,
                human(done.bytes as i64)
            )?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let within = args
        .keep_within
        .as_deref()
        .context("--keep-within is required")?;
    let policy = Policy {
        keep_within: parse_duration(within).map_err(|e| anyhow::anyhow!("--keep-within: {e}"))?,
        keep_last: args.keep_last,
        keep_pinned: args.keep_pinned,
        keep_named: args.keep_named,
        keep_repos: args.keep_repo.clone(),
        filters: args.filters.to_filters(ctx)?,
    };
    let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let plan = forget::plan(&mut home, &policy, now_ms)?;
    for id in &plan.live {
        warn(format_args!("{id} is live (its recorder holds it): kept"));
    }
    let ids: Vec<&str> = plan.forget.iter().map(|s| s.id.as_str()).collect();
    if args.dry_run || plan.forget.is_empty() {
        if args.json {
            writeln!(out, "{}", json!({"would_forget": ids, "bytes": plan.bytes}))?;
        } else if plan.forget.is_empty() {
            writeln!(out, "Nothing to forget.")?;
        } else {
            writeln!(
                out,
                "Would forget {} session(s), {} on disk:",
                plan.forget.len(),
                human(plan.bytes)
            )?;
            for s in &plan.forget {
                writeln!(out, "  {}", super::list::line(s, 0))?;
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let question = format!(
        "forget {} session(s), {} on disk (moved to {})",
        plan.forget.len(),
        human(plan.bytes),
        forget::trash_dir(home.path()).display()
    );
    if let Some(code) = allowed(args.yes, &question)? {
        return Ok(code);
    }
    let bar = FileBar::new("forgetting");
    let done = forget::apply(&mut home, &plan, &mut |p| {
        bar.set(p.files, p.total_files, p.bytes, p.total_bytes)
    })?;
    drop(bar);
    for e in &done.errors {
        warn(e);
    }
    for (id, why) in &done.skipped {
        warn(format_args!("{id} was kept: {why}"));
    }
    if args.json {
        writeln!(
            out,
            "{}",
            json!({"forgotten": done.ids, "bytes": done.bytes, "trash": done.trash})
        )?;
    } else {
        writeln!(
            out,
            "Forgot {} session(s), {} moved to {} (`rolldex forget --restore ID` puts one back)",
            done.ids.len(),
            human(done.bytes as i64),
            done.trash.display()
        )?;
    }
    Ok(if done.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

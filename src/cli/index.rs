//! `rolldex index`, and the refresh that `list`, `search`, `show`, `resume` and `stats`
//! run first so that their answers are never stale.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use rolldex::index::Index;
use rolldex::index::ingest::{Progress, RefreshOptions, RefreshReport};

use super::{Ctx, warn};

/// Arguments of `index`.
#[derive(Debug, clap::Args)]
pub struct IndexArgs {
    /// Forget what is indexed and read every rollout again.
    #[arg(long)]
    full: bool,
    /// Print the summary as one JSON object.
    #[arg(long)]
    json: bool,
}

/// Runs at least this many sessions before a progress bar is worth showing.
const PROGRESS_MIN: u64 = 200;

pub fn run(ctx: &Ctx, args: IndexArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let mut index = open_db(ctx)?;
    let report = refresh(ctx, &mut index, RefreshOptions { full: args.full })?;
    report_problems(&report, true);
    if args.json {
        let summary = serde_json::json!({
            "files_scanned": report.files_scanned,
            "files_indexed": report.files_indexed,
            "files_opened": report.files_opened,
            "files_removed": report.files_removed,
            "sessions": report.sessions,
            "sessions_removed": report.sessions_removed,
            "items_indexed": report.items_indexed,
            "malformed_lines": report.malformed_lines,
            "errors": report.error_count(),
            "seconds": (report.seconds * 1000.0).round() / 1000.0,
            "db": ctx.db,
        });
        writeln!(out, "{summary}")?;
    } else {
        writeln!(
            out,
            "{} sessions indexed in {}: {} files scanned, {} read, {} items added, {} removed files, {} problems ({:.2}s)",
            report.sessions,
            ctx.db.display(),
            report.files_scanned,
            report.files_opened,
            report.items_indexed,
            report.files_removed,
            report.error_count(),
            report.seconds
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Opens the index, creating it if needed.
pub fn open_db(ctx: &Ctx) -> anyhow::Result<Index> {
    Index::open(&ctx.db).with_context(|| format!("cannot open the index {}", ctx.db.display()))
}

/// Opens the index for a query, brought up to date first unless `--no-refresh`.
pub fn open_fresh(ctx: &Ctx) -> anyhow::Result<Index> {
    let mut index = open_db(ctx)?;
    if !ctx.no_refresh {
        let report = refresh(ctx, &mut index, RefreshOptions::default())?;
        report_problems(&report, false);
    }
    Ok(index)
}

/// Runs a refresh, with a progress bar on a terminal when there is much to do.
fn refresh(ctx: &Ctx, index: &mut Index, opts: RefreshOptions) -> anyhow::Result<RefreshReport> {
    let mut bar: Option<ProgressBar> = None;
    let tty = std::io::stderr().is_terminal();
    let mut progress = |p: Progress| {
        if !tty || p.total < PROGRESS_MIN {
            return;
        }
        let bar = bar.get_or_insert_with(|| {
            let b = ProgressBar::new(p.total);
            if let Ok(style) =
                ProgressStyle::with_template("indexing {bar:30} {pos}/{len} sessions {eta}")
            {
                b.set_style(style);
            }
            b
        });
        bar.set_position(p.done);
    };
    let report = index.refresh(&ctx.home, opts, &mut progress);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(report?)
}

/// Reports what a refresh could not read. `index` shows the first malformed lines; an
/// implicit refresh only says how many were skipped.
fn report_problems(report: &RefreshReport, detailed: bool) {
    for e in &report.errors {
        warn(e);
    }
    if detailed {
        const SHOWN: usize = 10;
        for e in report.malformed.iter().take(SHOWN) {
            warn(format_args!("skipped {e}"));
        }
        let shown = report.malformed.len().min(SHOWN) as u64;
        if report.malformed_lines > shown {
            warn(format_args!(
                "... and {} more malformed line(s)",
                report.malformed_lines - shown
            ));
        }
    } else if report.malformed_lines > 0 {
        let first = report
            .malformed
            .first()
            .map(|e| format!(" (first: {e})"))
            .unwrap_or_default();
        warn(format_args!(
            "skipped {} malformed line(s) while indexing{first}",
            report.malformed_lines
        ));
    }
}

/// Finds a session by id or prefix in the index: `Ok(None)` when there is no index yet or
/// it does not know the session (or knows a file that is gone), so the caller can look by
/// file name.
pub fn lookup(ctx: &Ctx, target: &str) -> anyhow::Result<Option<PathBuf>> {
    // No index yet: finding one file by name must not wait for a whole archive to be
    // indexed first.
    if !ctx.db.exists() {
        return Ok(None);
    }
    let index = open_fresh(ctx)?;
    let conn = index.reader()?;
    let found = rolldex::query::find_by_prefix(&conn, index.path(), target)?;
    match found.len() {
        0 => Ok(None),
        1 => {
            let path = PathBuf::from(&found[0].path);
            Ok(path.is_file().then_some(path))
        }
        _ => Err(rolldex::Error::AmbiguousId {
            id: target.to_string(),
            candidates: found.into_iter().map(|s| PathBuf::from(s.path)).collect(),
        }
        .into()),
    }
}

//! `rolldex index`, and what every command shows of the index's upkeep: the progress of a
//! long refresh, what it could not read, an index rebuilt after damage.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};
use rolldex::Notice;
use rolldex::index::ingest::{RefreshOptions, RefreshReport};

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
    let mut home = ctx.home_with(true)?;
    // `index` walks everything: it also catches what the fast walk of queries cannot see.
    let report = home.refresh(RefreshOptions {
        full: args.full,
        complete: true,
        ..RefreshOptions::default()
    })?;
    let watcher = home.watcher()?;
    if args.json {
        let summary = serde_json::json!({
            "files_scanned": report.files_scanned,
            "files_indexed": report.files_indexed,
            "files_opened": report.files_opened,
            "files_removed": report.files_removed,
            "sessions": report.sessions,
            "sessions_removed": report.sessions_removed,
            "items_indexed": report.items_indexed,
            "name_lines": report.name_lines,
            "malformed_lines": report.malformed_lines,
            "errors": report.error_count(),
            "unreadable": report.unreadable.iter().map(|u| serde_json::json!({
                "path": u.path, "error": u.error, "new": u.new,
            })).collect::<Vec<_>>(),
            "seconds": (report.seconds * 1000.0).round() / 1000.0,
            "db": ctx.db,
            // A live watcher keeps the index current (queries then skip their walk).
            "watcher": watcher.map(|w| serde_json::json!({
                "pid": w.pid,
                "started_at": rolldex::export::rfc3339(w.started_ms),
                "beat_at": rolldex::export::rfc3339(w.beat_ms),
                "last_event_at": w.last_event_ms.and_then(rolldex::export::rfc3339),
                "refreshed_at": w.refreshed_ms.and_then(rolldex::export::rfc3339),
            })),
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
    // Skipped lines are reported, but their files were read: only a file or folder that
    // could not be read at all makes the run partial.
    Ok(
        if report.unreadable.is_empty() && report.errors.is_empty() {
            ExitCode::SUCCESS
        } else {
            super::partial()
        },
    )
}

/// What the CLI shows of the index's upkeep: a progress bar on a terminal when a refresh
/// has much to do, its problems (in full for `index`, counted otherwise), and damage.
pub fn notices(detailed: bool) -> impl FnMut(Notice<'_>) + 'static {
    let tty = std::io::stderr().is_terminal();
    let mut bar: Option<ProgressBar> = None;
    move |notice| match notice {
        Notice::Progress(p) => {
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
        }
        Notice::Refreshed(report) => {
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
            report_problems(report, detailed);
        }
        Notice::Rebuilt { aside, cause } => warn(format_args!(
            "the index was damaged ({cause}); it was moved to {} and rebuilt from the rollouts",
            aside.display()
        )),
        Notice::IndexUnavailable(e) => warn(format_args!(
            "{e}; looking for the session by file name instead"
        )),
        _ => {}
    }
}

/// Reports what a refresh could not read. `index` shows the first malformed lines; an
/// implicit refresh only says how many were skipped.
fn report_problems(report: &RefreshReport, detailed: bool) {
    for e in &report.errors {
        warn(e);
    }
    // Files that failed in an earlier run and are unchanged: named by `index`, counted in
    // one line by the rest, so a broken file does not repeat on every command.
    let earlier = report.earlier_unreadable().count();
    if detailed {
        for u in report.earlier_unreadable() {
            warn(format_args!(
                "{}: could not be read: {} (not read again until it changes)",
                u.path.display(),
                u.error
            ));
        }
    } else if earlier > 0 {
        warn(format_args!(
            "{earlier} file(s) could not be read and have not changed since; `rolldex index` names them"
        ));
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

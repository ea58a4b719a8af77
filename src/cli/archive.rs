//! `rolldex archive` and `rolldex verify`.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use rolldex::archive::{self, ArchiveOptions, DEFAULT_LEVEL};
use serde_json::json;

use super::progress::FileBar;
use super::{Ctx, warn};

/// Arguments of `archive`.
#[derive(Debug, clap::Args)]
pub struct ArchiveArgs {
    /// Compress rollouts last written longer ago than this: 30d, 12h, 90m, 2w.
    #[arg(long, value_name = "DUR")]
    older_than: String,
    /// Say what would be compressed; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// zstd level (1-19).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_LEVEL,
          value_parser = clap::value_parser!(i32).range(1..=19))]
    level: i32,
    /// Print the summary as one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, args: ArchiveArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let older_than = rolldex::query::parse_duration(&args.older_than)
        .map_err(|e| anyhow::anyhow!("--older-than: {e}"))?;
    let opts = ArchiveOptions {
        older_than,
        dry_run: args.dry_run,
        level: args.level,
        ..Default::default()
    };
    // The index follows each file as it is compressed; without an index the next refresh
    // catches up.
    let mut home = ctx.home()?.with_refresh(false);
    // No Codex home (a person using other agents only): nothing to compress in place.
    let codex = ctx.home.is_dir() || home.other_agents().is_empty();
    let mut index = if args.dry_run || !home.has_index() {
        None
    } else {
        match home.index() {
            Ok(i) => Some(i),
            Err(e) => {
                warn(format_args!(
                    "{e:#}; the index will catch up on its next refresh"
                ));
                None
            }
        }
    };
    let mut index_errors = Vec::new();
    let bar = FileBar::new("archiving");
    let report = if codex {
        archive::run_with_progress(
            &ctx.home,
            &opts,
            &mut |c| {
                if let Some(ix) = index.as_mut()
                    && let Err(e) = ix.record_compressed(&c.plain, &c.zst, &c.checksum)
                {
                    index_errors.push(e);
                }
            },
            &mut |p| bar.set(p.files, p.total_files, p.bytes, p.total_bytes),
        )?
    } else {
        archive::ArchiveReport::default()
    };
    drop(bar);
    // Other agents' files are never compressed in place: rolldex keeps copies of them.
    let kept = home.preserve(&opts)?;
    for e in &index_errors {
        warn(format_args!(
            "{e}; the index will catch up on its next refresh"
        ));
    }
    for e in report
        .unreadable
        .iter()
        .chain(&report.errors)
        .chain(&kept.unreadable)
        .chain(&kept.errors)
    {
        warn(e);
    }
    // Bytes of the sessions' copies and of their stored outputs'.
    let preserved_in: u64 = kept
        .preserved
        .iter()
        .chain(&kept.companions)
        .map(|p| p.bytes_in)
        .sum();
    let preserved_out: u64 = kept
        .preserved
        .iter()
        .chain(&kept.companions)
        .map(|p| p.bytes_out)
        .sum();
    let mut by_reason: BTreeMap<&str, u64> = BTreeMap::new();
    for (_, reason) in &report.skipped {
        *by_reason.entry(reason.as_str()).or_default() += 1;
    }
    let ratio = if report.bytes_out > 0 {
        report.bytes_in as f64 / report.bytes_out as f64
    } else {
        0.0
    };
    if args.json {
        let v = json!({
            "compressed": report.compressed.len(),
            "would_compress": report.would_compress.len(),
            "skipped": report.skipped.len(),
            "skipped_by_reason": by_reason,
            "errors": report.errors.len() + kept.errors.len(),
            "unreadable": report.unreadable.iter().chain(&kept.unreadable).map(|e| e.to_string()).collect::<Vec<_>>(),
            "preserved": kept.preserved.len(),
            "preserved_outputs": kept.companions.len(),
            "would_preserve": kept.would_preserve.len(),
            "preserved_up_to_date": kept.up_to_date,
            "preserved_bytes_in": preserved_in,
            "preserved_bytes_out": preserved_out,
            "preserve_temps_removed": kept.temps_removed,
            "bytes_in": report.bytes_in,
            "bytes_out": report.bytes_out,
            "ratio": (ratio * 100.0).round() / 100.0,
            "temps_removed": report.temps_removed.len(),
            "seconds": (report.seconds * 1000.0).round() / 1000.0,
            "dry_run": args.dry_run,
        });
        writeln!(out, "{v}")?;
    } else {
        if args.dry_run {
            for p in &report.would_compress {
                writeln!(out, "would compress {}", p.display())?;
            }
            for p in &kept.would_preserve {
                writeln!(out, "would keep a copy of {}", p.display())?;
            }
        }
        for (p, reason) in &report.skipped {
            if *reason != archive::SkipReason::Recent {
                writeln!(out, "skipped ({}) {}", reason.as_str(), p.display())?;
            }
        }
        let skipped: Vec<String> = by_reason.iter().map(|(r, n)| format!("{n} {r}")).collect();
        writeln!(
            out,
            "{} {} files ({} -> {} bytes, ratio {ratio:.2}) in {:.2}s; skipped: {}; unreadable: {}; errors: {}{}",
            if args.dry_run {
                "would compress"
            } else {
                "compressed"
            },
            if args.dry_run {
                report.would_compress.len()
            } else {
                report.compressed.len()
            },
            report.bytes_in,
            report.bytes_out,
            report.seconds,
            if skipped.is_empty() {
                "none".to_string()
            } else {
                skipped.join(", ")
            },
            report.unreadable.len(),
            report.errors.len(),
            if report.temps_removed.is_empty() {
                String::new()
            } else {
                format!(
                    "; {} leftover temp files removed",
                    report.temps_removed.len()
                )
            }
        )?;
    }
    if !args.json
        && (!kept.preserved.is_empty() || !kept.would_preserve.is_empty() || kept.up_to_date > 0)
    {
        writeln!(
            out,
            "{} copies of other agents' sessions ({preserved_in} -> {preserved_out} bytes), {} up to date, in {}",
            if args.dry_run {
                format!("would keep {}", kept.would_preserve.len())
            } else if kept.companions.is_empty() {
                format!("kept {}", kept.preserved.len())
            } else {
                format!(
                    "kept {} (and {} stored tool outputs)",
                    kept.preserved.len(),
                    kept.companions.len()
                )
            },
            kept.up_to_date,
            home.data_dir().join(rolldex::preserve::STORE_DIR).display()
        )?;
    }
    Ok(if !report.errors.is_empty() || !kept.errors.is_empty() {
        ExitCode::FAILURE
    } else if !report.unreadable.is_empty() || !kept.unreadable.is_empty() {
        super::partial()
    } else {
        ExitCode::SUCCESS
    })
}

/// Arguments of `verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Print the summary as one JSON object, then one object per problem.
    #[arg(long)]
    json: bool,
}

pub fn verify(ctx: &Ctx, args: VerifyArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let mut home = ctx.home()?;
    let files = home.indexed_files()?;
    let unreadable = home.unreadable_files()?;
    let bar = FileBar::new("verifying");
    let mut report = archive::verify_with_progress(&files, &mut |p| {
        bar.set(p.files, p.total_files, p.bytes, p.total_bytes)
    });
    drop(bar);
    // A file the index could not take (no session id, say) may decode and parse: it is
    // still a problem, as the index found it.
    for (path, error) in unreadable {
        if !report.problems.iter().any(|p| p.path == path) {
            report.problems.push(archive::Problem {
                path,
                line: None,
                what: format!("could not be indexed: {error}"),
            });
        }
    }
    if args.json {
        writeln!(
            out,
            "{}",
            json!({"files": report.files, "bytes": report.bytes, "problems": report.problems.len()})
        )?;
        for p in &report.problems {
            writeln!(
                out,
                "{}",
                json!({"path": p.path, "line": p.line, "problem": p.what})
            )?;
        }
    } else {
        for p in &report.problems {
            match p.line {
                Some(line) => writeln!(out, "{}:{line}: {}", p.path.display(), p.what)?,
                None => writeln!(out, "{}: {}", p.path.display(), p.what)?,
            }
        }
        writeln!(
            out,
            "{} files, {} bytes read; {} problems",
            report.files,
            report.bytes,
            report.problems.len()
        )?;
    }
    // Every file was read as far as it goes: problems are the files', not the run's.
    Ok(if report.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        super::partial()
    })
}

//! `rolldex du`: where the bytes go, by kind, by session, repository or month.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use rolldex::query::{Usage, UsageBy};
use serde_json::{Map, Value, json};

use super::Ctx;
use super::filters::FilterArgs;

/// What to group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum By {
    Kind,
    Session,
    Repo,
    Month,
    Agent,
}

/// Arguments of `du`.
#[derive(Debug, clap::Args)]
pub struct DuArgs {
    #[command(flatten)]
    filters: FilterArgs,
    /// Group by kind of content (the default), session, repository, month or agent.
    #[arg(long, value_enum, default_value = "kind")]
    by: By,
    /// How many of the largest sessions to name.
    #[arg(long, value_name = "N", default_value_t = 10)]
    largest: usize,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Sessions idle this long are what `archive --older-than 30d` would compress now.
const IDLE_DAYS: i64 = 30;

/// `1.2 GB`, `340 MB`, `12 KB`, `800 B` (powers of 1000, as `du -h --si`).
pub fn human(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    for (unit, scale) in [("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)] {
        if b >= scale {
            return format!("{:.1} {unit}", b / scale);
        }
    }
    format!("{bytes} B")
}

pub fn run(ctx: &Ctx, args: DuArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let filters = args.filters.to_filters(ctx)?;
    let by = match args.by {
        By::Kind => None,
        By::Session => Some(UsageBy::Session),
        By::Repo => Some(UsageBy::Repo),
        By::Month => Some(UsageBy::Month),
        By::Agent => Some(UsageBy::Agent),
    };
    let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let idle_before = now_ms - IDLE_DAYS * 86_400_000;
    let mut home = ctx.reader()?;
    let u = home.usage(&filters, by, args.largest, idle_before, ctx.offset())?;
    // Files the index could not read hold bytes that no kind above counts: name them.
    let unreadable = home.unreadable_files()?;
    let (preserved_files, preserved_bytes) = home.preserved_usage()?;
    let ratio =
        (u.compressed_stored > 0).then(|| u.compressed_raw as f64 / u.compressed_stored as f64);
    let saving = ratio.map(|r| (u.archivable_raw as f64 * (1.0 - 1.0 / r)).round() as i64);
    if args.json {
        let mut v = to_json(&u, args.by, ratio, saving);
        v["preserved"] = json!({"files": preserved_files, "bytes": preserved_bytes});
        v["unreadable"] = unreadable
            .iter()
            .map(|(path, error)| json!({"path": path, "error": error}))
            .collect();
        writeln!(out, "{v}")?;
        return Ok(ExitCode::SUCCESS);
    }
    let bars = std::io::stdout().is_terminal();
    let overall = if u.stored_bytes > 0 {
        format!(" ({:.1}x)", u.raw_bytes as f64 / u.stored_bytes as f64)
    } else {
        String::new()
    };
    writeln!(
        out,
        "{} sessions: {} of rollouts, {} on disk{overall}\n",
        u.sessions,
        human(u.raw_bytes),
        human(u.stored_bytes)
    )?;
    writeln!(out, "{:<20} {:>10} {:>7}", "kind", "bytes", "share")?;
    let mut kinds = u.by_kind.clone();
    kinds.sort_by_key(|k| std::cmp::Reverse(k.1));
    for (kind, bytes) in kinds.iter().filter(|(_, b)| *b > 0) {
        let share = if u.raw_bytes > 0 {
            *bytes as f64 / u.raw_bytes as f64
        } else {
            0.0
        };
        let bar = if bars {
            format!("  {}", "█".repeat((share * 30.0).round() as usize))
        } else {
            String::new()
        };
        writeln!(
            out,
            "{:<20} {:>10} {:>6.1}%{bar}",
            kind.as_str(),
            human(*bytes),
            share * 100.0
        )?;
    }
    if !u.largest.is_empty() {
        writeln!(out, "\nlargest sessions (raw, on disk):")?;
        for s in &u.largest {
            writeln!(
                out,
                "{:>10} {:>10}  {}  {}",
                human(s.raw_bytes),
                human(s.stored_bytes),
                s.id,
                s.label().unwrap_or("")
            )?;
        }
    }
    if by.is_some() {
        writeln!(out, "\nby {} (raw, on disk, sessions):", by_name(args.by))?;
        for g in &u.groups {
            writeln!(
                out,
                "{:>10} {:>10} {:>6}  {}",
                human(g.raw_bytes),
                human(g.stored_bytes),
                g.sessions,
                g.group.as_deref().unwrap_or("-")
            )?;
        }
    }
    match (ratio, saving) {
        (Some(r), Some(s)) if u.archivable_raw > 0 => writeln!(
            out,
            "\n`rolldex archive --older-than {IDLE_DAYS}d` would save about {} ({} of plain sessions idle for {IDLE_DAYS} days, at the {r:.1}x measured on this home's .zst files)",
            human(s),
            human(u.archivable_raw)
        )?,
        (None, _) if u.archivable_raw > 0 => writeln!(
            out,
            "\n{} of plain sessions have been idle for {IDLE_DAYS} days: `rolldex archive --older-than {IDLE_DAYS}d` compresses them (no .zst here yet to measure the ratio on)",
            human(u.archivable_raw)
        )?,
        _ => {}
    }
    if preserved_files > 0 {
        writeln!(
            out,
            "\nrolldex's copies of other agents' sessions (and their stored outputs): {preserved_files} file(s), {} on disk",
            human(preserved_bytes)
        )?;
    }
    if !unreadable.is_empty() {
        writeln!(
            out,
            "\n{} file(s) could not be read, and are not counted above:",
            unreadable.len()
        )?;
        for (path, error) in &unreadable {
            writeln!(out, "  {}: {error}", path.display())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn by_name(by: By) -> &'static str {
    match by {
        By::Kind => "kind",
        By::Session => "session",
        By::Repo => "repo",
        By::Month => "month",
        By::Agent => "agent",
    }
}

fn to_json(u: &Usage, by: By, ratio: Option<f64>, saving: Option<i64>) -> Value {
    let by_kind: Map<String, Value> = u
        .by_kind
        .iter()
        .map(|(k, b)| (k.as_str().to_string(), json!(b)))
        .collect();
    let largest: Vec<Value> = u
        .largest
        .iter()
        .map(|s| {
            json!({"id": s.id, "name": s.name, "title": s.title,
                   "raw_bytes": s.raw_bytes, "stored_bytes": s.stored_bytes})
        })
        .collect();
    let mut v = json!({
        "total": {"sessions": u.sessions, "raw_bytes": u.raw_bytes, "stored_bytes": u.stored_bytes},
        "by_kind": by_kind,
        "largest": largest,
        "archive": {
            "idle_days": IDLE_DAYS,
            "archivable_raw_bytes": u.archivable_raw,
            "measured_ratio": ratio,
            "estimated_saving_bytes": saving,
        },
    });
    if by != By::Kind {
        let key = match by {
            By::Session => "id",
            By::Repo => "repo",
            By::Agent => "agent",
            _ => "month",
        };
        let groups: Vec<Value> = u
            .groups
            .iter()
            .map(|g| {
                json!({key: g.group, "sessions": g.sessions, "raw_bytes": g.raw_bytes,
                       "stored_bytes": g.stored_bytes})
            })
            .collect();
        v[format!("by_{}", by_name(by))] = json!(groups);
    }
    v
}

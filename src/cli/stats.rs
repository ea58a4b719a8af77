//! `rolldex stats`: how much is there, overall or per repository, day or model.

use std::io::Write;
use std::process::ExitCode;

use rolldex::query::GroupBy;
use serde_json::json;

use super::Ctx;
use super::filters::FilterArgs;

/// What to group by.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum By {
    Repo,
    Day,
    Week,
    Month,
    Model,
    Agent,
    Host,
}

impl By {
    fn group(self) -> GroupBy {
        match self {
            By::Repo => GroupBy::Repo,
            By::Day => GroupBy::Day,
            By::Week => GroupBy::Week,
            By::Month => GroupBy::Month,
            By::Model => GroupBy::Model,
            By::Agent => GroupBy::Agent,
            By::Host => GroupBy::Host,
        }
    }

    /// The JSON field that names the group.
    fn key(self) -> &'static str {
        match self {
            By::Repo => "repo",
            By::Day => "day",
            By::Week => "week",
            By::Month => "month",
            By::Model => "model",
            By::Agent => "agent",
            By::Host => "host",
        }
    }
}

/// Arguments of `stats`.
#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    /// One line per repository, local day, ISO week or month of the session's start,
    /// model (tokens and cost go to the model that spent them), agent, or host (the
    /// machine a team archive's session came from).
    #[arg(long, value_enum)]
    by: Option<By>,
    #[command(flatten)]
    filters: FilterArgs,
    /// Print JSON Lines: one object per group.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, args: StatsArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let filters = args.filters.to_filters(ctx)?;
    let mut home = ctx.reader()?;
    let prices = home.prices()?;
    let rows = home.stats(&filters, args.by.map(By::group), ctx.offset())?;
    for r in &rows {
        let cost = prices.cost(&r.spent);
        if args.json {
            let mut v = json!({
                "sessions": r.sessions,
                "items": r.items,
                "tokens": r.tokens,
                "raw_bytes": r.raw_bytes,
                "stored_bytes": r.stored_bytes,
            });
            if let Some(by) = args.by {
                v[by.key()] = json!(r.group);
            }
            if let Some(m) = v.as_object_mut() {
                m.extend(cost.json());
            }
            writeln!(out, "{v}")?;
        } else {
            let group = match (&args.by, &r.group) {
                (None, _) => "total".to_string(),
                (Some(_), Some(g)) => g.clone(),
                (Some(_), None) => "-".to_string(),
            };
            writeln!(
                out,
                "{group:<40} {:>7} sessions {:>9} items {:>12} tokens {:>10} raw {:>10} stored  {}",
                r.sessions,
                r.items,
                r.tokens,
                human_bytes(r.raw_bytes),
                human_bytes(r.stored_bytes),
                cost,
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// 1536 -> "1.5 KiB".
fn human_bytes(n: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

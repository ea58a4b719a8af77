//! `rolldex search`: full-text search over what was said and done.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use rolldex::query::{self, Order};

use super::filters::FilterArgs;
use super::{Ctx, index, json};

/// Arguments of `search`.
#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// Words to find (all of them); "quoted words" must appear together; a trailing *
    /// matches a prefix (refact*).
    #[arg(required = true, value_name = "WORDS")]
    words: Vec<String>,
    #[command(flatten)]
    filters: FilterArgs,
    /// Show at most N hits.
    #[arg(long, value_name = "N", default_value_t = 20)]
    limit: usize,
    /// Order by relevance (bm25) among the newest matches instead of newest first.
    #[arg(long)]
    rank: bool,
    /// Print JSON Lines: one object per hit.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, args: SearchArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let filters = args.filters.to_filters(ctx)?;
    let text = args.words.join(" ");
    // Fail on a query with no words before touching the index.
    query::fts_query(&text)?;
    let index = index::open_fresh(ctx)?;
    let conn = index.reader()?;
    let order = if args.rank {
        Order::Rank
    } else {
        Order::Newest
    };
    let color = !args.json && std::io::stdout().is_terminal();
    let marks = if color {
        ("\x1b[1m", "\x1b[0m")
    } else {
        ("", "")
    };
    let hits = query::search(
        &conn,
        index.path(),
        &text,
        &filters,
        args.limit,
        order,
        marks,
    )?;
    if args.json {
        for h in &hits {
            writeln!(out, "{}", serde_json::Value::Object(json::hit(h)))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if hits.is_empty() {
        writeln!(out, "No match.")?;
        return Ok(ExitCode::SUCCESS);
    }
    for h in &hits {
        writeln!(out, "{}", super::list::line(&h.session))?;
        let what = match &h.role {
            Some(role) => format!("{} ({role})", h.kind),
            None => h.kind.clone(),
        };
        let snippet = h.snippet.split_whitespace().collect::<Vec<_>>().join(" ");
        writeln!(out, "    line {} {what}: {snippet}", h.seq)?;
    }
    Ok(ExitCode::SUCCESS)
}

//! `rolldex search`: full-text search over what was said and done.

use std::io::Write;

use anstyle::{AnsiColor, Style};
use std::process::ExitCode;

use rolldex::query::{Order, SearchQuery};

use super::filters::FilterArgs;
use super::{Ctx, json};

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
    let order = if args.rank {
        Order::Rank
    } else {
        Order::Newest
    };
    let mut q = SearchQuery::new(args.words.join(" "))
        .filters(filters)
        .limit(args.limit)
        .order(order);
    if !args.json {
        // Written styled; the output stream drops styles when colour is off.
        let hit = Style::new().fg_color(Some(AnsiColor::Red.into())).bold();
        q = q.marks(&hit.render().to_string(), &hit.render_reset().to_string());
    }
    let hits = ctx.reader()?.search(&q)?;
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
    // One header per session, its hits under it, as ripgrep groups matches per file.
    let mut groups: Vec<(&rolldex::query::Session, Vec<&rolldex::query::Hit>)> = Vec::new();
    for h in &hits {
        match groups.iter_mut().find(|(s, _)| s.id == h.session.id) {
            Some((_, list)) => list.push(h),
            None => groups.push((&h.session, vec![h])),
        }
    }
    let head = Style::new()
        .fg_color(Some(AnsiColor::Magenta.into()))
        .bold();
    let num = Style::new().fg_color(Some(AnsiColor::Green.into()));
    let link = Style::new().dimmed();
    for (i, (session, list)) in groups.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        writeln!(out, "{head}{}{head:#}", super::list::line(session, 0))?;
        for h in list {
            let what = match &h.role {
                Some(role) => format!("{} ({role})", h.kind),
                None => h.kind.clone(),
            };
            let snippet = h.snippet.split_whitespace().collect::<Vec<_>>().join(" ");
            writeln!(out, "    {num}line {}{num:#} {what}: {snippet}", h.seq)?;
            // Where to read it: the deep link of the hit.
            writeln!(
                out,
                "      {link}rolldex show {} --at {}{link:#}",
                session.id, h.seq
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

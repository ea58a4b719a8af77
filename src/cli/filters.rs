//! The filters `list`, `search` and `stats` share.

use std::path::PathBuf;

use rolldex::query::{Bound, Filters, parse_when};
use time::OffsetDateTime;

use super::Ctx;

/// Which sessions to look at.
#[derive(Debug, Clone, clap::Args)]
pub struct FilterArgs {
    /// Repository: any URL spelling, host/owner/repo, owner/repo, or the bare name.
    #[arg(long, value_name = "R")]
    repo: Option<String>,
    /// Git branch (exact).
    #[arg(long, value_name = "B")]
    branch: Option<String>,
    /// Git commit: a hash or a prefix of at least 4 hex digits.
    #[arg(long, value_name = "SHA")]
    commit: Option<String>,
    /// Sessions that ran in DIR or below it.
    #[arg(long, value_name = "DIR")]
    cwd: Option<PathBuf>,
    /// Active at or after: YYYY-MM-DD (local day), RFC 3339, or a duration back (7d, 12h, 30m).
    #[arg(long, value_name = "WHEN")]
    since: Option<String>,
    /// Started at or before: YYYY-MM-DD (through that local day), RFC 3339, or a duration back.
    #[arg(long, value_name = "WHEN")]
    until: Option<String>,
    /// Sessions whose name contains TEXT (case-insensitive).
    #[arg(long, value_name = "TEXT")]
    name: Option<String>,
    /// Top-level sessions only, without subagents.
    #[arg(long)]
    roots: bool,
    /// Sessions of one agent: codex or claude.
    #[arg(long, value_name = "NAME", value_parser = parse_agent)]
    agent: Option<String>,
}

fn parse_agent(name: &str) -> Result<String, String> {
    rolldex::agents::Agent::parse(name)
        .map(|a| a.as_str().to_string())
        .ok_or_else(|| {
            let known: Vec<&str> = rolldex::agents::Agent::ALL
                .iter()
                .map(|a| a.as_str())
                .collect();
            format!("no agent {name:?}; known: {}", known.join(", "))
        })
}

impl FilterArgs {
    /// The library's filters, with dates read in the local time zone.
    pub fn to_filters(&self, ctx: &Ctx) -> anyhow::Result<Filters> {
        let now = OffsetDateTime::now_utc();
        let when = |text: &Option<String>, bound, flag: &str| -> anyhow::Result<Option<i64>> {
            text.as_deref()
                .map(|t| parse_when(t, now, ctx.offset(), bound))
                .transpose()
                .map_err(|e| anyhow::anyhow!("{flag}: {e}"))
        };
        Ok(Filters {
            repo: self.repo.clone(),
            branch: self.branch.clone(),
            commit: self.commit.clone(),
            cwd: self.cwd.clone(),
            since_ms: when(&self.since, Bound::Start, "--since")?,
            until_ms: when(&self.until, Bound::End, "--until")?,
            name: self.name.clone(),
            roots: self.roots,
            agent: self.agent.clone(),
        })
    }
}

//! `rolldex push`: send this home's new and changed sessions to a team archive.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use rolldex::team::Team;
use rolldex::team::push::{self, PushOptions};

use super::{Ctx, error};

/// Arguments of `push`.
#[derive(Debug, clap::Args)]
pub struct PushArgs {
    /// The team archive: a postgresql:// URL (unix-socket hosts included). Defaults to
    /// --remote / $ROLLDEX_REMOTE. The password comes from the URL, $PGPASSWORD or the
    /// password file; it is never printed or stored.
    #[arg(long, value_name = "URL")]
    to: Option<String>,
    /// The name recorded as each session's machine. Defaults to the host name.
    #[arg(long, value_name = "NAME")]
    host_name: Option<String>,
    /// Apply the export's secret patterns to the searchable text and titles sent (the
    /// rollouts themselves are sent as they are).
    #[arg(long)]
    redact: bool,
    /// Print one JSON object: sessions_pushed, bytes_sent, seconds, errors.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, args: PushArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let url = args
        .to
        .or_else(|| ctx.remote.clone())
        .context("no team archive: give --to URL, --remote URL or set ROLLDEX_REMOTE")?;
    let mut team = Team::connect(&url)?;
    let mut home = ctx.home()?;
    let opts = PushOptions {
        host: args
            .host_name
            .filter(|h| !h.trim().is_empty())
            .unwrap_or_else(push::hostname),
        redact: args.redact,
    };
    let report = push::push(&mut home, &mut team, &opts, &mut |_, _| {})?;
    for e in &report.errors {
        error(e);
    }
    if args.json {
        let summary = serde_json::json!({
            "sessions_pushed": report.sessions_pushed,
            "names_updated": report.names_updated,
            "bytes_sent": report.bytes_sent,
            "sessions": report.sessions,
            "seconds": (report.seconds * 1000.0).round() / 1000.0,
            "errors": report.errors.len(),
            "unreadable": report.errors.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
            "host": opts.host,
        });
        writeln!(out, "{summary}")?;
    } else {
        writeln!(
            out,
            "pushed {} of {} sessions ({} bytes) to {} as {} in {:.1}s{}",
            report.sessions_pushed,
            report.sessions,
            report.bytes_sent,
            team.shown(),
            opts.host,
            report.seconds,
            if report.errors.is_empty() {
                String::new()
            } else {
                format!("; {} could not be sent", report.errors.len())
            }
        )?;
    }
    // A server that fails stops the push with an error (exit 1); a session whose files
    // could not be read is named and the rest were sent.
    Ok(if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        super::partial()
    })
}

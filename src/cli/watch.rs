//! `rolldex watch`: keeps the index current from file-system events until SIGINT or
//! SIGTERM (see [`rolldex::watch`]). Says when it is ready and, with `--verbose`, each
//! refresh, on stderr; stdout stays empty.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use rolldex::watch::{WatchEvent, WatchOptions};

use super::Ctx;

/// Arguments of `watch`.
#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// Say each refresh on stderr.
    #[arg(long)]
    verbose: bool,
}

pub fn run(ctx: &Ctx, args: WatchArgs) -> anyhow::Result<ExitCode> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))?;
    }
    let mut home = ctx.home_with(true)?;
    let mut err = std::io::stderr();
    let verbose = args.verbose;
    rolldex::watch::watch(&mut home, &WatchOptions::default(), &stop, &mut |ev| {
        // A closed stderr must not stop the watcher.
        let _ = match ev {
            WatchEvent::Ready { folders, report } => writeln!(
                err,
                "rolldex watch: ready: {} sessions indexed, {} folders watched (Ctrl-C stops)",
                report.sessions,
                folders.len()
            ),
            WatchEvent::Refreshed {
                events,
                complete,
                report,
            } if verbose => writeln!(
                err,
                "rolldex watch: {events} events: {}{} files read, {} items added, {} files removed ({:.3}s)",
                if complete { "complete walk, " } else { "" },
                report.files_opened,
                report.items_indexed,
                report.files_removed,
                report.seconds
            ),
            WatchEvent::Refreshed { .. } => Ok(()),
            WatchEvent::Trouble(e) => writeln!(err, "rolldex watch: {e}"),
        };
    })?;
    Ok(ExitCode::SUCCESS)
}

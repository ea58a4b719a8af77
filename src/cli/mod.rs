//! The command line: arguments, dispatch, and the only code that prints.
//!
//! Each subcommand has its own file; `render` formats what they print. Errors are
//! printed once, as a chain, by [`main`]; a closed pipe (`rolldex show X | head`) is not
//! an error.

mod archive;
mod du;
mod export;
mod filters;
mod forget;
mod index;
mod json;
mod list;
mod mcp;
mod name;
mod pick;
mod pin;
mod progress;
mod push;
mod record;
mod render;
mod resume;
mod search;
mod show;
mod stats;
mod watch;

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};
use time::UtcOffset;

/// Archive, search and resume AI coding-agent sessions (Codex rollouts).
#[derive(Debug, Parser)]
#[command(name = "rolldex", version, about, max_term_width = 100)]
struct Cli {
    /// The agent's home folder, holding sessions/ and archived_sessions/.
    /// Defaults to $CODEX_HOME, else ~/.codex.
    #[arg(long, global = true, value_name = "DIR")]
    home: Option<PathBuf>,

    /// Claude Code's folder, holding projects/. Defaults to $CLAUDE_CONFIG_DIR, else
    /// ~/.claude.
    #[arg(long, global = true, value_name = "DIR", env = "CLAUDE_CONFIG_DIR")]
    claude_home: Option<PathBuf>,

    /// Gemini CLI's folder, holding tmp/. Defaults to ~/.gemini.
    #[arg(long, global = true, value_name = "DIR", env = "ROLLDEX_GEMINI_HOME")]
    gemini_home: Option<PathBuf>,

    /// The index database. Defaults to rolldex.sqlite in the rolldex data folder:
    /// $ROLLDEX_HOME, else the Codex home when it is given or already holds an index, else
    /// ~/.local/share/rolldex.
    #[arg(long, global = true, value_name = "PATH", env = "ROLLDEX_DB")]
    db: Option<PathBuf>,

    /// Answer from the index as it is, without first bringing it up to date.
    #[arg(long, global = true)]
    no_refresh: bool,

    /// A team archive (postgresql:// URL) that list, search, show, export, pick, stats, du
    /// and resume answer from instead of this home; push's default target.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "ROLLDEX_REMOTE",
        hide_env_values = true
    )]
    remote: Option<String>,

    /// Colour: `auto` colours a terminal only, and honours NO_COLOR and CLICOLOR_FORCE.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        value_name = "WHEN"
    )]
    color: ColorWhen,

    #[command(subcommand)]
    command: Command,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Record a session from stdin: one JSON value per line, either a response item
    /// ({"type":"message",...}) or a whole envelope line ({"timestamp","type","payload"}).
    /// Prints the session id.
    Record(record::RecordArgs),
    /// Bring the index up to date with the rollouts (only what changed is read).
    Index(index::IndexArgs),
    /// List sessions, newest activity first.
    List(list::ListArgs),
    /// Full-text search over what was said and done, newest first.
    Search(search::SearchArgs),
    /// Print a session as a readable transcript, or its exact bytes with --raw.
    Show(show::ShowArgs),
    /// Print the path of a session's plain, appendable rollout, restoring it from .zst if
    /// needed.
    Resume(resume::ResumeArgs),
    /// Name a session (appends to session_index.jsonl: Codex's, or the data folder's for other agents).
    Name(name::NameArgs),
    /// Pin a session: `forget --keep-pinned` keeps it.
    Pin(pin::PinArgs),
    /// Unpin a session.
    Unpin(pin::PinArgs),
    /// Export a session as a Markdown, HTML or JSON document, secrets redacted.
    Export(export::ExportArgs),
    /// Find a session by anything you remember, in one screen; prints its id.
    Pick(pick::PickArgs),
    /// Print a completion script for a shell.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff).
    Man,
    /// Totals: sessions, items, tokens, raw and stored bytes.
    Stats(stats::StatsArgs),
    /// Where the bytes go: by kind of content, session, repository or month.
    Du(du::DuArgs),
    /// Retire sessions by a retention policy, through a trash in the home.
    Forget(forget::ForgetArgs),
    /// Compress rollouts older than a duration with zstd, verified, safe to run from cron.
    Archive(archive::ArchiveArgs),
    /// Re-read every indexed rollout: it decodes, matches its checksum, and parses.
    Verify(archive::VerifyArgs),
    /// Send this home's new and changed sessions to a team archive (PostgreSQL): their
    /// facts, searchable text and the rollouts themselves.
    Push(push::PushArgs),
    /// Serve the archive to coding agents over the Model Context Protocol (stdio):
    /// search_sessions, list_sessions, read_session. Read-only.
    Mcp,
    /// Keep the index current from file-system events until stopped (SIGINT, SIGTERM):
    /// while it runs, other commands answer from the index without walking the folders.
    Watch(watch::WatchArgs),
}

/// What every command gets besides its own arguments.
#[derive(Clone)]
pub struct Ctx {
    /// The resolved home folder.
    pub home: PathBuf,
    /// The index database.
    pub db: PathBuf,
    /// Claude Code's folder (`--claude-home`, `$CLAUDE_CONFIG_DIR`, `~/.claude`).
    pub claude_home: Option<PathBuf>,
    /// Gemini CLI's folder (`--gemini-home`, `~/.gemini`).
    pub gemini_home: Option<PathBuf>,
    /// `--no-refresh`.
    pub no_refresh: bool,
    /// `--remote` / `$ROLLDEX_REMOTE`.
    pub remote: Option<String>,
    /// The local UTC offset read at start-up, or why it could not be.
    pub local_offset: Result<UtcOffset, String>,
}

impl Ctx {
    /// The local offset, or UTC when it could not be read.
    pub fn offset(&self) -> UtcOffset {
        self.local_offset.clone().unwrap_or(UtcOffset::UTC)
    }

    /// The door to the home, showing the index's upkeep the way queries do.
    pub fn home(&self) -> anyhow::Result<rolldex::Home> {
        self.home_with(false)
    }

    /// The other agents' roots to index beside the Codex home.
    pub fn agent_roots(&self) -> Vec<(rolldex::agents::Agent, PathBuf)> {
        use rolldex::agents::Agent;
        [
            (Agent::Claude, self.claude_home.clone()),
            (Agent::Gemini, self.gemini_home.clone()),
        ]
        .into_iter()
        .filter_map(|(a, r)| r.map(|r| (a, r)))
        .collect()
    }

    /// The door for reading sessions: the team archive when `--remote` is given, else
    /// the home.
    pub fn reader(&self) -> anyhow::Result<rolldex::Home> {
        let home = self.home()?;
        Ok(match &self.remote {
            Some(url) => home.with_team(rolldex::team::Team::connect(url)?),
            None => home,
        })
    }

    /// The door to the home; `detailed` lists malformed lines met while indexing.
    pub fn home_with(&self, detailed: bool) -> anyhow::Result<rolldex::Home> {
        let mut home = rolldex::Home::new(&self.home)?;
        for (agent, root) in self.agent_roots() {
            home = home.with_agent(agent, root);
        }
        Ok(home
            .with_db(&self.db)
            .with_refresh(!self.no_refresh)
            .on_notice(index::notices(detailed)))
    }
}

/// Exit 3: the command did its work, but some files could not be read (each named on
/// stderr and in `--json`). 0 is done, 1 failed, 2 bad usage or an ambiguous reference,
/// 130 interrupted: one table for every command (README, "Exit codes").
pub fn partial() -> ExitCode {
    ExitCode::from(3)
}

/// Runs the command line and turns the outcome into an exit code.
pub fn main(local_offset: Result<UtcOffset, String>) -> ExitCode {
    let cli = Cli::parse();
    let result = run(cli, local_offset);
    match result {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(ref err)
            if let Some(rolldex::Error::Ambiguous {
                reference,
                candidates,
            }) = err.downcast_ref() =>
        {
            let mut stderr = io::stderr().lock();
            let _ = writeln!(
                stderr,
                "rolldex: {reference:?} matches {} sessions:",
                candidates.len()
            );
            for c in candidates {
                let _ = writeln!(stderr, "  {c}");
            }
            ExitCode::from(2)
        }
        Err(err) => {
            let mut stderr = io::stderr().lock();
            // The library's errors already end with their source's text: print each
            // cause once.
            let mut message = err.to_string();
            for cause in err.chain().skip(1) {
                let cause = cause.to_string();
                if !message.ends_with(&cause) {
                    message = format!("{message}: {cause}");
                }
            }
            let _ = writeln!(stderr, "rolldex: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli, local_offset: Result<UtcOffset, String>) -> anyhow::Result<ExitCode> {
    // One colour policy for everything printed: styled text is written as is, and the
    // stream drops the styles when they must not reach the reader.
    let choice = match cli.color {
        ColorWhen::Auto => anstream::ColorChoice::Auto,
        ColorWhen::Always => anstream::ColorChoice::Always,
        ColorWhen::Never => anstream::ColorChoice::Never,
    };
    // Exact bytes (`show --raw`) and documents (`export`) bypass it: stripping would
    // change what they must reproduce.
    let exact = match &cli.command {
        Command::Show(args) => args.raw(),
        Command::Export(_) => true,
        _ => false,
    };
    let stdout: Box<dyn Write> = if matches!(cli.command, Command::Mcp) {
        // The MCP server writes the protocol to stdout itself, from its runtime's threads:
        // a lock held here would block it.
        Box::new(io::sink())
    } else if exact {
        Box::new(io::stdout().lock())
    } else {
        Box::new(anstream::AutoStream::new(io::stdout().lock(), choice))
    };
    let mut out = io::BufWriter::new(stdout);
    // Shell integration needs no home.
    match &cli.command {
        // Rendered into memory first: clap_complete panics on a closed pipe (`| head`).
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "rolldex", &mut script);
            out.write_all(&script)?;
            out.flush()?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Man => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut page)?;
            out.write_all(&page)?;
            out.flush()?;
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let explicit_home = cli.home.as_ref().is_some_and(|h| !h.as_os_str().is_empty())
        || std::env::var_os("CODEX_HOME").is_some_and(|h| !h.is_empty());
    let home = match cli.home.filter(|h| !h.as_os_str().is_empty()) {
        Some(h) => h,
        None => rolldex::layout::default_home()
            .context("no home folder: set --home, CODEX_HOME or HOME")?,
    };
    // Index rows name files by absolute path: `--home .` and `--home /abs` must agree.
    let home = std::path::absolute(&home)
        .with_context(|| format!("{}: cannot make the home path absolute", home.display()))?;
    let db = match cli.db.filter(|d| !d.as_os_str().is_empty()) {
        Some(db) => db,
        None => {
            rolldex::index::Index::default_path(&rolldex::layout::data_dir(&home, explicit_home))
        }
    };
    let root = |given: Option<PathBuf>, default: &str| {
        given
            .filter(|d| !d.as_os_str().is_empty())
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(default)))
            .map(|d| std::path::absolute(&d).unwrap_or(d))
    };
    let claude_home = root(cli.claude_home, ".claude");
    let gemini_home = root(cli.gemini_home, ".gemini");
    let ctx = Ctx {
        home,
        db,
        claude_home,
        gemini_home,
        no_refresh: cli.no_refresh,
        remote: cli.remote.filter(|r| !r.trim().is_empty()),
        local_offset,
    };
    let code = match cli.command {
        Command::Record(args) => record::run(&ctx, args, &mut out)?,
        Command::Show(args) => show::run(&ctx, args, &mut out)?,
        Command::List(args) => list::run(&ctx, args, &mut out)?,
        Command::Index(args) => index::run(&ctx, args, &mut out)?,
        Command::Search(args) => search::run(&ctx, args, &mut out)?,
        Command::Resume(args) => resume::run(&ctx, args, &mut out)?,
        Command::Name(args) => name::run(&ctx, args, &mut out)?,
        Command::Pin(args) => pin::run(&ctx, args, true, &mut out)?,
        Command::Unpin(args) => pin::run(&ctx, args, false, &mut out)?,
        Command::Export(args) => export::run(&ctx, args, &mut out)?,
        Command::Pick(args) => pick::run(&ctx, args, &mut out)?,
        // Answered above.
        Command::Completions { .. } | Command::Man => ExitCode::SUCCESS,
        Command::Stats(args) => stats::run(&ctx, args, &mut out)?,
        Command::Du(args) => du::run(&ctx, args, &mut out)?,
        Command::Forget(args) => forget::run(&ctx, args, &mut out)?,
        Command::Archive(args) => archive::run(&ctx, args, &mut out)?,
        Command::Verify(args) => archive::verify(&ctx, args, &mut out)?,
        Command::Push(args) => push::run(&ctx, args, &mut out)?,
        Command::Mcp => mcp::run(&ctx)?,
        Command::Watch(args) => watch::run(&ctx, args)?,
    };
    out.flush()?;
    Ok(code)
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<rolldex::Error>().is_some_and(|e| {
                matches!(e, rolldex::Error::Io { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
            })
    })
}

/// Reports skipped lines on stderr: the first few in full, then how many more.
pub fn warn_malformed(errors: &[rolldex::LineError]) {
    const SHOWN: usize = 10;
    for e in errors.iter().take(SHOWN) {
        warn(format_args!("skipped {e}"));
    }
    if errors.len() > SHOWN {
        warn(format_args!(
            "... and {} more malformed line(s)",
            errors.len() - SHOWN
        ));
    }
}

/// Prints an error on stderr, for a command that ends with an exit code of its own.
pub fn error(msg: impl std::fmt::Display) {
    let _ = writeln!(io::stderr().lock(), "rolldex: {msg}");
}

/// Prints a warning on stderr.
pub fn warn(msg: impl std::fmt::Display) {
    let _ = writeln!(io::stderr().lock(), "rolldex: warning: {msg}");
}

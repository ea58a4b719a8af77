//! `rolldex pick`: find a session by anything remembered, in one screen, and print its id.
//!
//! Draws on `/dev/tty` (like fzf), so stdout can be a pipe or `$(...)`:
//! `codex resume $(rolldex pick)`. The first frame comes from the index as it is; the
//! index is refreshed on a thread of its own and the list follows. Queries and previews
//! run on worker threads; the drawing thread never waits for them. The terminal is
//! restored on every way out: a choice, Esc, a panic, SIGTERM or SIGHUP.

mod state;
mod ui;
mod worker;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context;
use crossterm::event::{self, Event, KeyEventKind};
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen};
use crossterm::{cursor, execute, terminal};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use rolldex::finder::{FIRST_FRAME, LOADED};
use rolldex::query::Filters;

use super::Ctx;
use super::filters::FilterArgs;
use state::{Action, Picker, Row};
use worker::{HomeSpec, QueryRequest, Reply};

/// What Enter prints.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum PrintWhat {
    /// The session id, for `codex resume $(rolldex pick)`.
    Id,
    /// The plain, appendable rollout's path (a `.zst` is restored first).
    Path,
}

/// Arguments of `pick`.
#[derive(Debug, clap::Args)]
pub struct PickArgs {
    #[command(flatten)]
    filters: FilterArgs,
    /// Start with this typed.
    #[arg(long, value_name = "TEXT", default_value = "")]
    query: String,
    /// Only sessions of the current folder's repository (or of the folder, outside one).
    #[arg(long)]
    here: bool,
    /// What Enter prints.
    #[arg(long, value_enum, default_value = "id")]
    print: PrintWhat,
}

/// Puts the terminal back as it was: raw mode off, main screen, cursor shown.
fn restore_terminal() {
    let _ = terminal::disable_raw_mode();
    if let Ok(mut tty) = OpenOptions::new().write(true).open("/dev/tty") {
        let _ = execute!(tty, LeaveAlternateScreen, cursor::Show);
    }
}

/// Restores the terminal when dropped, whatever way the picker ends.
struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

pub fn run(ctx: &Ctx, args: PickArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let mut filters = args.filters.to_filters(ctx)?;
    if args.here {
        here(&mut filters)?;
    }
    let Ok(tty) = OpenOptions::new().read(true).write(true).open("/dev/tty") else {
        super::error("pick needs a terminal (there is no /dev/tty); use `rolldex search` instead");
        return Ok(ExitCode::from(2));
    };
    let spec = HomeSpec {
        home: ctx.home.clone(),
        db: ctx.db.clone(),
        remote: ctx.remote.clone(),
        agent_roots: ctx.agent_roots(),
    };
    // The first frame: the newest sessions of the index as it is, no refresh, no waiting;
    // the rest load on a thread of their own.
    let rows = if ctx.db.exists() || ctx.remote.is_some() {
        spec.open()
            .and_then(|mut h| h.list(&filters, FIRST_FRAME))
            .map(|s| Row::from_sessions(&s))
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let chosen = {
        let _guard = Guard;
        install_panic_hook();
        let signal = Arc::new(AtomicUsize::new(0));
        for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP] {
            signal_hook::flag::register_usize(sig, Arc::clone(&signal), sig as usize)
                .context("watching for signals")?;
        }
        terminal::enable_raw_mode().context("switching the terminal to raw mode")?;
        let mut tty_out = tty.try_clone().context("opening the terminal")?;
        execute!(tty_out, EnterAlternateScreen, cursor::Show).context("drawing")?;
        let mut term =
            Terminal::new(CrosstermBackend::new(tty)).context("drawing on the terminal")?;
        event_loop(
            &mut term,
            Picker::new(rows, args.query.clone()),
            spec,
            filters,
            ctx.no_refresh,
            &signal,
        )?
    };
    match chosen {
        Ending::Chosen(id) => {
            match args.print {
                PrintWhat::Id => writeln!(out, "{id}")?,
                PrintWhat::Path => {
                    let path = ctx.reader()?.resume(&id)?;
                    writeln!(out, "{}", path.display())?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Ending::Cancelled => Ok(ExitCode::from(130)),
        Ending::Signal(sig) => Ok(ExitCode::from(128 + sig as u8)),
    }
}

/// `--here`: the repository of the current folder, else the folder itself.
fn here(filters: &mut Filters) -> anyhow::Result<()> {
    let cwd = std::env::current_dir().context("reading the current folder")?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let git = rt.block_on(rolldex::git_info::collect(
        &cwd,
        rolldex::git_info::DEFAULT_TIMEOUT,
    ));
    match git.and_then(|g| g.repository_url) {
        Some(url) => filters.repo = Some(url),
        None => filters.cwd = Some(cwd),
    }
    Ok(())
}

fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // The message must land on a usable terminal.
        restore_terminal();
        previous(info);
    }));
}

enum Ending {
    Chosen(String),
    Cancelled,
    Signal(usize),
}

fn event_loop(
    term: &mut Terminal<CrosstermBackend<File>>,
    mut picker: Picker,
    spec: HomeSpec,
    filters: Filters,
    no_refresh: bool,
    signal: &AtomicUsize,
) -> anyhow::Result<Ending> {
    let (reply_tx, replies) = mpsc::channel::<Reply>();
    let (query_tx, query_rx) = mpsc::channel::<QueryRequest>();
    let (preview_tx, preview_rx) = mpsc::channel::<(String, Option<i64>)>();
    {
        let (spec, tx) = (spec.clone(), reply_tx.clone());
        std::thread::spawn(move || worker::queries(spec, query_rx, tx));
    }
    {
        let (spec, tx) = (spec.clone(), reply_tx.clone());
        std::thread::spawn(move || worker::previews(spec, preview_rx, tx));
    }
    {
        let tx = reply_tx.clone();
        std::thread::spawn(move || worker::refresh(spec, filters, LOADED, !no_refresh, tx));
    }
    let _ = query_tx.send(QueryRequest::Rows(Arc::clone(&picker.rows)));
    let act = |a: Action| -> Option<Ending> {
        match a {
            Action::Query { generation, text } => {
                let _ = query_tx.send(QueryRequest::Query(generation, text));
                None
            }
            Action::Accept(id) => Some(Ending::Chosen(id)),
            Action::Cancel => Some(Ending::Cancelled),
            Action::None => None,
        }
    };
    if let Some(end) = act(picker.initial()) {
        return Ok(end);
    }
    let mut previewed: Option<(String, Option<i64>)> = None;
    loop {
        let sig = signal.load(Ordering::Relaxed);
        if sig != 0 {
            return Ok(Ending::Signal(sig));
        }
        // The preview follows the selection (asked once per change).
        let want = picker.selected_shown().and_then(|s| {
            picker
                .rows
                .get(s.row)
                .map(|r| (r.session.id.clone(), s.seq))
        });
        if picker.preview_on && want.is_some() && want != previewed {
            previewed.clone_from(&want);
            if let Some(w) = want {
                let _ = preview_tx.send(w);
            }
        }
        let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
        term.draw(|f| ui::draw(f, &mut picker, now))
            .context("drawing")?;
        // Answers first, then one key: typing never waits for an answer.
        while let Ok(reply) = replies.try_recv() {
            match reply {
                Reply::Answer(g, shown) => {
                    picker.answer(g, shown);
                }
                Reply::Preview(id, seq, text) => picker.preview = Some((id, seq, text)),
                Reply::Rows(rows) => {
                    let action = picker.set_rows(rows);
                    let _ = query_tx.send(QueryRequest::Rows(Arc::clone(&picker.rows)));
                    previewed = None;
                    if let Some(end) = act(action) {
                        return Ok(end);
                    }
                }
                Reply::Status(s) => picker.status = s,
            }
        }
        if !event::poll(Duration::from_millis(25)).context("reading the terminal")? {
            continue;
        }
        match event::read().context("reading the terminal")? {
            Event::Key(k) if k.kind != KeyEventKind::Release => {
                let action = picker.key(k);
                if let Some(end) = act(action) {
                    return Ok(end);
                }
            }
            _ => {}
        }
    }
}

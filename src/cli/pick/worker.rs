//! The picker's work off the drawing thread: answering queries (fuzzy over what a row
//! says, full text over what the session said), rendering previews, refreshing the index.
//! Each worker owns its own door to the home (its own SQLite connections) and answers only
//! the newest request it has: a fast typist never waits for a stale answer.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, TryRecvError};

use rolldex::Home;
use rolldex::finder::{Finder, Row};
use rolldex::query::Filters;
use rolldex::transcript::TranscriptOptions;

use super::state::Shown;
use crate::cli::render;

/// Bytes of preview rendered: enough for a screen, cheap on a 2 GB session.
const PREVIEW_BYTES: usize = 48 * 1024;

/// How a worker opens the home.
#[derive(Debug, Clone)]
pub struct HomeSpec {
    pub home: PathBuf,
    pub db: PathBuf,
    /// A team archive to answer from instead (`--remote`).
    pub remote: Option<String>,
    /// The other agents' roots, indexed beside the home.
    pub agent_roots: Vec<(rolldex::agents::Agent, PathBuf)>,
}

impl HomeSpec {
    /// A door that answers from the index as it is (the refresher keeps it fresh), or
    /// from the team archive (each worker with a connection of its own).
    pub fn open(&self) -> rolldex::Result<Home> {
        let mut home = Home::new(&self.home)?.with_db(&self.db).with_refresh(false);
        for (agent, root) in &self.agent_roots {
            home = home.with_agent(*agent, root);
        }
        Ok(match &self.remote {
            Some(url) => home.with_team(rolldex::team::Team::connect(url)?),
            None => home,
        })
    }
}

/// What the event loop hears back.
#[derive(Debug)]
pub enum Reply {
    /// An answer to query `generation`.
    Answer(u64, Vec<Shown>),
    /// A preview: session id, hit line, text.
    Preview(String, Option<i64>, String),
    /// The index was refreshed: the sessions again.
    Rows(Vec<Row>),
    /// Something to say in the status bar.
    Status(String),
}

/// A request to the query worker.
pub enum QueryRequest {
    /// Match against these rows from now on.
    Rows(Arc<Vec<Row>>),
    /// Answer `text` as generation `generation`.
    Query(u64, String),
}

/// Waits for the next request, then takes every request already queued, so that only the
/// newest query is answered.
fn newest<T>(rx: &Receiver<T>, mut keep: impl FnMut(T)) -> bool {
    match rx.recv() {
        Ok(first) => keep(first),
        Err(_) => return false,
    }
    loop {
        match rx.try_recv() {
            Ok(next) => keep(next),
            Err(TryRecvError::Empty) => return true,
            Err(TryRecvError::Disconnected) => return true,
        }
    }
}

/// Answers queries until the event loop hangs up.
pub fn queries(spec: HomeSpec, rx: Receiver<QueryRequest>, tx: Sender<Reply>) {
    let mut home = match spec.open() {
        Ok(h) => h,
        Err(e) => {
            let _ = tx.send(Reply::Status(format!("cannot open the index: {e}")));
            return;
        }
    };
    let mut rows: Arc<Vec<Row>> = Arc::new(Vec::new());
    let mut finder = Finder::default();
    loop {
        let mut query = None;
        let alive = newest(&rx, |req| match req {
            QueryRequest::Rows(r) => rows = r,
            QueryRequest::Query(g, t) => query = Some((g, t)),
        });
        if !alive {
            return;
        }
        let Some((generation, text)) = query else {
            continue;
        };
        let shown = finder.find(&mut home, &rows, &text);
        if tx.send(Reply::Answer(generation, shown)).is_err() {
            return;
        }
    }
}

/// Renders previews until the event loop hangs up: the newest selection only.
pub fn previews(spec: HomeSpec, rx: Receiver<(String, Option<i64>)>, tx: Sender<Reply>) {
    let Ok(mut home) = spec.open() else { return };
    loop {
        let mut want = None;
        if !newest(&rx, |w| want = Some(w)) {
            return;
        }
        let Some((id, seq)) = want else { continue };
        let text = preview(&mut home, &id, seq);
        if tx.send(Reply::Preview(id, seq, text)).is_err() {
            return;
        }
    }
}

/// A writer that takes up to a limit, then says it is full: rendering stops early.
struct Capped(Vec<u8>);

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() >= PREVIEW_BYTES {
            return Err(std::io::Error::other("preview full"));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The transcript `show` prints, around the hit when there is one.
pub fn preview(home: &mut Home, id: &str, seq: Option<i64>) -> String {
    let t = match home.transcript(id) {
        Ok(t) => t,
        Err(e) => return format!("cannot read the session: {e}"),
    };
    let opts = render::ShowOptions {
        model: TranscriptOptions::default(),
        with_history: false,
        at: seq.and_then(|s| u64::try_from(s).ok()).map(|s| (s, 12)),
    };
    let mut out = Capped(Vec::new());
    // A full preview ends the rendering with an error: what was written is the preview.
    let _ = render::transcript(home, &t, opts, &mut out);
    String::from_utf8_lossy(&out.0).into_owned()
}

/// Refreshes the index (unless `--no-refresh`), then sends every session to load.
pub fn refresh(spec: HomeSpec, filters: Filters, limit: usize, refresh: bool, tx: Sender<Reply>) {
    // A team archive is always current: there is nothing to refresh.
    let refresh = refresh && spec.remote.is_none();
    if refresh {
        let _ = tx.send(Reply::Status("indexing…".into()));
    }
    let result = spec.open().and_then(|mut h| {
        if refresh {
            h.refresh(Default::default())?;
        }
        h.list(&filters, limit)
    });
    match result {
        Ok(sessions) => {
            let _ = tx.send(Reply::Rows(Row::from_sessions(&sessions)));
            let _ = tx.send(Reply::Status(String::new()));
        }
        Err(e) => {
            let _ = tx.send(Reply::Status(format!("indexing failed: {e}")));
        }
    }
}

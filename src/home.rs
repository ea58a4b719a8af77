//! [`Home`]: the one door to an agent home and its index.
//!
//! Every front end (the command line, and later the picker, exports and the team archive)
//! asks a `Home`, never the index or the file layout directly: resolve what a person typed
//! to one session, list, search, read a transcript, resume, name. The door owns the rules
//! that must be the same everywhere:
//!
//! - **Resolution.** A reference is a rollout path, a full session id, a unique id prefix
//!   (at least 4 hex digits) or a session's current name (case-insensitive). A prefix and a
//!   name are looked up together: several matches are [`Error::Ambiguous`], none is
//!   [`Error::SessionNotFound`]. The index answers when it exists; a session it does not
//!   know is still found by the uuid in the file names, so the first `show ID` on a large
//!   archive does not wait for the whole archive to be indexed.
//! - **Freshness.** The index is brought up to date once, before the first question,
//!   unless the caller asked for answers from the index as it is.
//! - **Healing.** The index is a mirror of the rollouts. When SQLite reports that it is
//!   not a database or is corrupt (on open or mid-query), it is renamed aside (kept, and
//!   named in a [`Notice::Rebuilt`]), rebuilt from the rollouts, and the question is asked
//!   again. An index written by a newer rolldex is refused untouched, never healed.
//!
//! The library prints nothing: what a front end may want to tell the person arrives as a
//! [`Notice`].
//!
//! ```no_run
//! use rolldex::Home;
//! use rolldex::query::{Filters, SearchQuery};
//! let mut home = Home::new("/home/me/.codex")?;
//! for s in home.list(&Filters::default(), 20)? {
//!     println!("{} {}", s.id, s.label().unwrap_or(""));
//! }
//! for hit in home.search(&SearchQuery::new("mismatched types").limit(5))? {
//!     println!("{}:{} {}", hit.session.id, hit.seq, hit.snippet);
//! }
//! let path = home.resume("ws reconnect flake")?; // by name; restores a .zst first
//! # Ok::<(), rolldex::Error>(())
//! ```

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use time::UtcOffset;
use uuid::Uuid;

use crate::error::{Candidate, Error, Result};
use crate::index::Index;
use crate::index::ingest::{Progress, RefreshOptions, RefreshReport};
use crate::model::{HistoryBase, SessionMeta};
use crate::names::{self, NameEntry};
use crate::query::{self, Filters, GroupBy, Hit, SearchQuery, Session, Stats};
use crate::reader;
use crate::transcript::Transcript;
use crate::{layout, recorder};

/// Something a front end may want to tell the person; the library prints nothing.
#[derive(Debug)]
#[non_exhaustive]
pub enum Notice<'a> {
    /// A refresh is under way.
    Progress(Progress),
    /// A refresh finished (its problems are in the report).
    Refreshed(&'a RefreshReport),
    /// The index was damaged: it was moved to `aside` and rebuilt from the rollouts.
    Rebuilt {
        /// Where the damaged index now is.
        aside: &'a Path,
        /// What SQLite said.
        cause: &'a Error,
    },
    /// The index could not answer; the session is looked for by file name instead.
    IndexUnavailable(&'a Error),
}

type Observer = Box<dyn FnMut(Notice<'_>)>;

/// A session found from a reference.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// Its authoritative rollout (the plain file over its `.zst` twin).
    pub path: PathBuf,
    /// Its id: from the index, else the uuid in the file name.
    pub id: Option<String>,
    /// What the index knows of it, when the index was asked and knows it.
    pub session: Option<Session>,
}

/// History a session continues without holding it: a part of another session's file.
#[derive(Debug, Clone)]
pub struct InheritedHistory {
    /// The file that holds it.
    pub path: PathBuf,
    /// That file's session, when the index knows it.
    pub session: Option<Session>,
    /// The history is the file's (decompressed) bytes before this offset; the whole file
    /// when `None`.
    pub end_offset: Option<u64>,
}

/// What a person typed to name a session, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reference {
    /// An existing rollout file.
    Path(PathBuf),
    /// A whole uuid.
    Id(Uuid),
    /// An id prefix, a name, or both.
    Word {
        text: String,
        /// The hex digits, when the text is an id prefix.
        prefix: Option<String>,
    },
}

impl Reference {
    fn parse(text: &str) -> Result<Reference> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(Error::BadArgument(
                "give a session id, id prefix, name or rollout path".into(),
            ));
        }
        let path = Path::new(text);
        let path_like = text.contains('/') || text.ends_with(".jsonl") || text.ends_with(".zst");
        if path_like && path.is_file() {
            return Ok(Reference::Path(path.to_path_buf()));
        }
        if let Ok(u) = Uuid::parse_str(trimmed) {
            return Ok(Reference::Id(u));
        }
        Ok(Reference::Word {
            text: trimmed.to_string(),
            prefix: layout::normalize_id_prefix(trimmed).ok(),
        })
    }
}

/// An agent home (`$CODEX_HOME`) and its index; see the [module docs](self).
pub struct Home {
    path: PathBuf,
    db: PathBuf,
    auto_refresh: bool,
    index: Option<Index>,
    refreshed: bool,
    notify: Observer,
    /// A team archive answering instead of the local index (see [`Home::with_team`]).
    team: Option<crate::team::Team>,
    /// Sessions downloaded from the team archive to show, kept (private) while the home is.
    downloads: Vec<tempfile::NamedTempFile>,
    /// Other agents' roots whose sessions the index holds too (see [`Home::with_agent`]).
    others: Vec<(crate::agents::Agent, PathBuf)>,
}

impl std::fmt::Debug for Home {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Home")
            .field("path", &self.path)
            .field("db", &self.db)
            .finish()
    }
}

impl Home {
    /// The home at `path` (made absolute: index rows name files by absolute path), with
    /// its index at the default place, refreshed before the first question. Touches
    /// nothing until asked something.
    pub fn new(path: impl AsRef<Path>) -> Result<Home> {
        let path = path.as_ref();
        let path = std::path::absolute(path)
            .map_err(|e| Error::io(path, "making the home path absolute", e))?;
        Ok(Home {
            db: Index::default_path(&path),
            path,
            auto_refresh: true,
            index: None,
            refreshed: false,
            notify: Box::new(|_| {}),
            team: None,
            downloads: Vec::new(),
            others: Vec::new(),
        })
    }

    /// Answers from a team archive instead of this home's index: list, count, search,
    /// stats, resolution, transcripts and resume go to it (see [`crate::team`]). The
    /// home's own files still hold names, pins and what `resume` downloads.
    pub fn with_team(mut self, team: crate::team::Team) -> Home {
        self.team = Some(team);
        self
    }

    /// The team archive this home answers from, if any.
    pub fn team(&mut self) -> Option<&mut crate::team::Team> {
        self.team.as_mut()
    }

    /// A session's decompressed bytes by kind, from this home's index (what a push sends).
    pub fn bytes_by_kind(&mut self, id: &str) -> Result<Vec<i64>> {
        self.ask(|c, db| query::bytes_by_kind(c, db, id))
    }

    /// A session's items after line `after`, from this home's index (what a push sends).
    pub fn items_after(&mut self, id: &str, after: i64) -> Result<Vec<query::Item>> {
        self.ask(|c, db| query::items_after(c, db, id, after))
    }

    /// Indexes another agent's sessions too, under its root folder (Claude Code's
    /// `~/.claude`): the home's own (Codex) sessions and these share one index, and every
    /// question answers over all of them.
    pub fn with_agent(mut self, agent: crate::agents::Agent, root: impl Into<PathBuf>) -> Home {
        let root = root.into();
        let root = std::path::absolute(&root).unwrap_or(root);
        self.others.retain(|(a, _)| *a != agent);
        if agent != crate::agents::Agent::Codex {
            self.others.push((agent, root));
        }
        self
    }

    /// rolldex's own data folder: the index's, where pins and preserved copies live too.
    pub fn data_dir(&self) -> PathBuf {
        self.db
            .parent()
            .map_or_else(|| self.path.clone(), Path::to_path_buf)
    }

    /// rolldex's preserved copies of other agents' sessions and of the files their
    /// transcripts read (stored tool outputs): how many files, and their bytes. Counted on
    /// disk: the outputs' copies are no files of the index.
    pub fn preserved_usage(&mut self) -> Result<(i64, i64)> {
        if self.team.is_some() {
            return Ok((0, 0));
        }
        Ok(crate::preserve::usage(&self.data_dir()))
    }

    /// The other agents (not the home's own) and their roots.
    pub fn other_agents(&self) -> &[(crate::agents::Agent, PathBuf)] {
        &self.others
    }

    /// Every root indexed: the home (Codex) first, then the other agents' roots and the
    /// folders of rolldex's copies of their sessions.
    pub fn roots(&self) -> Vec<(crate::agents::Agent, PathBuf)> {
        let data = self.data_dir();
        std::iter::once((crate::agents::Agent::Codex, self.path.clone()))
            .chain(self.others.iter().cloned())
            .chain(
                self.others
                    .iter()
                    .map(|(a, _)| (*a, crate::preserve::store_root(&data, *a))),
            )
            .collect()
    }

    /// Marks what is pinned and what only rolldex's copy holds now, in `sessions`.
    fn mark<'s>(&self, sessions: impl IntoIterator<Item = &'s mut Session>) -> Result<()> {
        let pinned = self.pinned()?;
        let store = self.data_dir().join(crate::preserve::STORE_DIR);
        for s in sessions {
            s.pinned = pinned.contains(&s.id);
            s.preserved = Path::new(&s.path).starts_with(&store);
        }
        Ok(())
    }

    /// Keeps the index at `db` instead of the default `HOME/rolldex.sqlite`.
    pub fn with_db(mut self, db: impl Into<PathBuf>) -> Home {
        self.db = db.into();
        self
    }

    /// Whether to bring the index up to date before the first question (the default).
    /// Without it, answers come from the index as it is.
    pub fn with_refresh(mut self, refresh: bool) -> Home {
        self.auto_refresh = refresh;
        self
    }

    /// Calls `f` with what a front end may want to tell the person.
    pub fn on_notice(mut self, f: impl FnMut(Notice<'_>) + 'static) -> Home {
        self.notify = Box::new(f);
        self
    }

    /// The home folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The index database.
    pub fn db_path(&self) -> &Path {
        &self.db
    }

    /// Whether the index database exists yet.
    pub fn has_index(&self) -> bool {
        self.db.exists()
    }

    /// A home with no index and no rollout: a fresh machine. Creates nothing.
    pub fn is_empty(&self) -> bool {
        self.team.is_none()
            && !self.has_index()
            && layout::walk_rollouts(&self.path).0.is_empty()
            && !self.others_have_sessions()
    }

    /// Whether another agent's root holds any session file (a complete walk of them: for
    /// before an index exists).
    fn others_have_sessions(&self) -> bool {
        !crate::index::scan::scan(&self.others, None)
            .files
            .is_empty()
    }

    /// Where to start reading session `id` to show line `seq` with `back` items before it
    /// (see [`query::item_start_before`]): `(offset, line)`, or `None` to read from the
    /// start (a team archive's session, or too few items before).
    pub fn item_start_before(
        &mut self,
        id: &str,
        seq: u64,
        back: usize,
    ) -> Result<Option<(u64, u64)>> {
        if self.team.is_some() {
            return Ok(None);
        }
        self.ask(|c, db| query::item_start_before(c, db, id, seq, back))
    }

    /// Brings the index up to date again before the next question, as before the first
    /// (for a long-running front end: the MCP server). Cheap when nothing changed.
    pub fn refresh_before_next(&mut self) {
        self.refreshed = false;
    }

    /// The watcher keeping this index current (`rolldex watch`), when one is healthy: its
    /// lock held and its heartbeat fresh (see [`crate::watch`]).
    pub fn watcher(&mut self) -> Result<Option<crate::watch::Heartbeat>> {
        if self.team.is_some() {
            return Ok(None);
        }
        self.with_index(|c, db| crate::watch::live(db, c))
    }

    /// Runs `f` on the open index's connection, as it is: no refresh first (the
    /// watcher's heartbeat).
    pub(crate) fn with_index<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Connection, &Path) -> Result<T>,
    ) -> Result<T> {
        self.open()?;
        match &self.index {
            Some(index) => f(index.connection(), &self.db),
            None => Err(Error::BadArgument(format!(
                "{}: the index is not open",
                self.db.display()
            ))),
        }
    }

    /// Brings the index up to date (`full`: rebuilds it from the rollouts), whatever
    /// [`Home::with_refresh`] says.
    pub fn refresh(&mut self, opts: RefreshOptions) -> Result<RefreshReport> {
        self.open()?;
        match self.run_refresh(opts) {
            Err(e) if is_damage(&e) => self.heal(&e),
            other => other,
        }
    }

    /// The open index, brought up to date first unless refreshing is off. For jobs that
    /// write to it (the archive job follows the files it compresses).
    pub fn index(&mut self) -> Result<&mut Index> {
        self.ready()?;
        self.index
            .as_mut()
            .ok_or_else(|| Error::BadArgument("the index is not open".into()))
    }

    /// Sessions matching `filters`, newest activity first.
    pub fn list(&mut self, filters: &Filters, limit: usize) -> Result<Vec<Session>> {
        let mut sessions = match &mut self.team {
            Some(team) => team.list(filters, limit)?,
            None => self.ask(|c, db| query::list(c, db, filters, limit))?,
        };
        self.mark(&mut sessions)?;
        Ok(sessions)
    }

    /// The ids of the sessions pinned now (from the home's pins file).
    pub fn pinned(&self) -> Result<std::collections::HashSet<String>> {
        Ok(crate::pins::pinned(&self.data_dir())?.0)
    }

    /// Pins (`pin`) or unpins a session: one line appended to the pins file.
    pub fn pin(&mut self, reference: &str, pin: bool) -> Result<Resolved> {
        let found = self.resolve(reference)?;
        // Any agent's session: its id as the index has it (a Claude Code subagent's is no
        // uuid), else the one its file says.
        let id = match found.id.clone() {
            Some(id) => id,
            None => self.id_of(&found)?.to_string(),
        };
        let data = self.data_dir();
        layout::create_private_dir(&data)?;
        crate::pins::set(&data, &id, pin, &recorder::now_timestamp())?;
        Ok(found)
    }

    /// The uuid of a resolved session: the index's, the file name's, else its own meta's.
    fn id_of(&self, found: &Resolved) -> Result<Uuid> {
        match found.id.as_deref().and_then(|i| Uuid::parse_str(i).ok()) {
            Some(u) => Ok(u),
            None => reader::read_head_meta(&found.path)?
                .as_ref()
                .and_then(SessionMeta::uuid)
                .ok_or_else(|| {
                    Error::BadArgument(format!(
                        "{}: no session id in the file name or its session meta",
                        found.path.display()
                    ))
                }),
        }
    }

    /// How many sessions match `filters`.
    pub fn count(&mut self, filters: &Filters) -> Result<u64> {
        match &mut self.team {
            Some(team) => team.count(filters),
            None => self.ask(|c, db| query::count(c, db, filters)),
        }
    }

    /// Full-text search. Fails before touching the index when the text has no word.
    pub fn search(&mut self, q: &SearchQuery) -> Result<Vec<Hit>> {
        query::fts_query(&q.text)?;
        let mut hits = match &mut self.team {
            Some(team) => team.search(q)?,
            None => self.ask(|c, db| query::search(c, db, q))?,
        };
        self.mark(hits.iter_mut().map(|h| &mut h.session))?;
        Ok(hits)
    }

    /// Totals, overall or per group, with what each group's models spent (price it with
    /// [`Home::prices`]); `offset` is the local time zone for days, weeks and months.
    pub fn stats(
        &mut self,
        filters: &Filters,
        by: Option<GroupBy>,
        offset: UtcOffset,
    ) -> Result<Vec<Stats>> {
        match &mut self.team {
            Some(team) => team.stats(filters, by, offset),
            None => {
                let mut rows = self.ask(|c, db| query::stats(c, db, filters, by, offset))?;
                if by == Some(GroupBy::Host) {
                    // Every session of a local index is this machine's.
                    let host = crate::team::push::hostname();
                    for r in &mut rows {
                        r.group = Some(host.clone());
                    }
                }
                Ok(rows)
            }
        }
    }

    /// What each model spent in session `id` (the index's id), by kind.
    pub fn spent(&mut self, id: &str) -> Result<crate::cost::Spent> {
        match &mut self.team {
            Some(team) => team.spent(id),
            None => self.ask(|c, db| query::spent(c, db, id)),
        }
    }

    /// What session `id` cost, when its tokens were counted (priced with [`Home::prices`]).
    pub fn cost(&mut self, id: &str) -> Result<Option<crate::cost::Cost>> {
        let spent = self.spent(id)?;
        if spent.is_empty() {
            return Ok(None);
        }
        Ok(Some(self.prices()?.cost(&spent)))
    }

    /// Fills each session's [`Session::spent`].
    pub fn load_spent<'s>(
        &mut self,
        sessions: impl IntoIterator<Item = &'s mut Session>,
    ) -> Result<()> {
        for s in sessions {
            s.spent = Some(self.spent(&s.id)?);
        }
        Ok(())
    }

    /// The prices to say what sessions cost with: the table shipped inside rolldex, with
    /// the person's own `prices.json` in the data folder over it (see [`crate::cost`]).
    pub fn prices(&self) -> Result<crate::cost::Prices> {
        crate::cost::Prices::load(&self.data_dir())
    }

    /// Where the bytes go (see [`query::usage`]).
    pub fn usage(
        &mut self,
        filters: &Filters,
        by: Option<query::UsageBy>,
        largest: usize,
        idle_before_ms: i64,
        offset: UtcOffset,
    ) -> Result<query::Usage> {
        if let Some(team) = &mut self.team {
            return team.usage(filters, by, largest, offset);
        }
        self.ask(|c, db| query::usage(c, db, filters, by, largest, idle_before_ms, offset))
    }

    /// The session with exactly this id, if the index knows it.
    pub fn session(&mut self, id: &str) -> Result<Option<Session>> {
        let mut s = match &mut self.team {
            Some(team) => team.get(id)?,
            None => self.ask(|c, db| query::get(c, db, id))?,
        };
        if let Some(found) = s.as_mut() {
            self.mark(Some(found))?;
        }
        Ok(s)
    }

    /// The subagents a session spawned, oldest first.
    pub fn children(&mut self, id: &str) -> Result<Vec<Session>> {
        match &mut self.team {
            Some(team) => team.children(id),
            None => self.ask(|c, db| query::children(c, db, id)),
        }
    }

    /// Every file the index knows, with the checksum recorded when it was archived.
    pub fn indexed_files(&mut self) -> Result<Vec<(PathBuf, Option<String>)>> {
        self.ask(query::indexed_files)
    }

    /// The rollouts that could not be read when last seen, with what went wrong. Empty for
    /// a team archive, which holds only what was read.
    pub fn unreadable_files(&mut self) -> Result<Vec<(PathBuf, String)>> {
        match &self.team {
            Some(_) => Ok(Vec::new()),
            None => self.ask(query::unreadable_files),
        }
    }

    /// Finds one session from what a person typed: a rollout path, a session id, a
    /// unique id prefix or a current name (see the [module docs](self)).
    pub fn resolve(&mut self, reference: &str) -> Result<Resolved> {
        let parsed = Reference::parse(reference)?;
        if let Reference::Path(path) = parsed {
            let id = layout::session_id_from_path(&path).map(|u| u.to_string());
            let session = match &id {
                Some(id) if self.has_index() => self.session(id).ok().flatten(),
                _ => None,
            };
            return Ok(Resolved { path, id, session });
        }
        if self.team.is_some() {
            return self.resolve_in_team(reference, &parsed);
        }
        // No index yet: finding one file by name must not wait for a whole archive to be
        // indexed first.
        if self.has_index() {
            match self.ask(|c, db| indexed_matches(c, db, &parsed)) {
                Ok(found) if found.len() > 1 => {
                    return Err(Error::Ambiguous {
                        reference: reference.trim().to_string(),
                        candidates: found.iter().map(candidate).collect(),
                    });
                }
                Ok(mut found) => {
                    // A session whose file went since the last refresh (--no-refresh) is
                    // looked for by file name below.
                    if let Some(s) = found.pop().filter(|s| Path::new(&s.path).is_file()) {
                        return Ok(Resolved {
                            path: PathBuf::from(&s.path),
                            id: Some(s.id.clone()),
                            session: Some(s),
                        });
                    }
                }
                Err(e) => (self.notify)(Notice::IndexUnavailable(&e)),
            }
        }
        match self.resolve_by_file_names(reference, &parsed) {
            // Only Codex names its files by session id: another agent's session is found
            // through the index, built for it now.
            Err(Error::SessionNotFound { .. })
                if !self.has_index() && self.others_have_sessions() =>
            {
                self.refresh(RefreshOptions::default())?;
                self.resolve(reference)
            }
            other => other,
        }
    }

    /// Resolution in the team archive: the id, an id prefix or a name. The path is where
    /// the rollout is (or would be) in this home.
    fn resolve_in_team(&mut self, reference: &str, parsed: &Reference) -> Result<Resolved> {
        let Some(team) = self.team.as_mut() else {
            return Err(Error::BadArgument("no team archive".into()));
        };
        let mut found = Vec::new();
        match parsed {
            Reference::Id(u) => found.extend(team.get(&u.to_string())?),
            Reference::Word { text, prefix } => {
                if let Some(p) = prefix {
                    found.extend(team.find_by_prefix(p)?);
                }
                for s in team.find_by_name(text)? {
                    if !found.iter().any(|f: &Session| f.id == s.id) {
                        found.push(s);
                    }
                }
            }
            Reference::Path(_) => {}
        }
        match found.len() {
            0 => Err(Error::SessionNotFound {
                id: reference.trim().to_string(),
                home: PathBuf::from(team.shown()),
            }),
            1 => {
                let s = found.remove(0);
                Ok(Resolved {
                    path: self.place_of(&s.path)?,
                    id: Some(s.id.clone()),
                    session: Some(s),
                })
            }
            _ => Err(Error::Ambiguous {
                reference: reference.trim().to_string(),
                candidates: found.iter().map(candidate).collect(),
            }),
        }
    }

    /// [`Home::resolve`], with a path that can be read: from a team archive, the copy in
    /// this home when there is one, else a private temp file downloaded from the archive.
    pub fn readable(&mut self, reference: &str) -> Result<Resolved> {
        let mut resolved = self.resolve(reference)?;
        if self.team.is_some() && !resolved.path.is_file() {
            let zst = layout::zst_path(&resolved.path);
            resolved.path = if zst.is_file() {
                zst
            } else {
                let id = resolved.id.clone().unwrap_or_default();
                self.download_to_temp(&id)?
            };
        }
        Ok(resolved)
    }

    /// Downloads a team archive's session into a private temp file kept while the home
    /// is, for reading it without placing it in the home.
    fn download_to_temp(&mut self, id: &str) -> Result<PathBuf> {
        let Some(team) = self.team.as_mut() else {
            return Err(Error::BadArgument("no team archive".into()));
        };
        let tmp_dir = std::env::temp_dir();
        let mut tmp = tempfile::Builder::new()
            .prefix("rolldex-team-")
            .suffix(".jsonl")
            .tempfile()
            .map_err(|e| Error::io(&tmp_dir, "creating a temp file", e))?;
        let path = tmp.path().to_path_buf();
        team.download(id, tmp.as_file_mut(), &path)?;
        self.downloads.push(tmp);
        Ok(path)
    }

    /// Where a session of a team archive goes on this machine: its path there is
    /// relative to its agent's root (`sessions/…` under the Codex home, `claude/projects/…`
    /// under Claude Code's). Only plain relative names are taken: an archive naming `..`
    /// or an absolute path could otherwise write anywhere.
    fn place_of(&self, rel: &str) -> Result<PathBuf> {
        let p = Path::new(rel);
        if rel.is_empty()
            || p.components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(Error::BadArgument(format!(
                "the team archive names an unsafe path for a session: {rel:?}"
            )));
        }
        let mut parts = p.components();
        let first = parts.next().and_then(|c| c.as_os_str().to_str());
        if let Some((_, root)) = self.others.iter().find(|(a, _)| Some(a.as_str()) == first) {
            return Ok(root.join(parts.as_path()));
        }
        Ok(self.path.join(p))
    }

    /// Where a session file of this machine goes in a team archive: see
    /// [`Home::place_of`].
    pub fn rel_of(&self, path: &Path) -> String {
        for (agent, root) in &self.others {
            if let Ok(rel) = path.strip_prefix(root) {
                let rel = rel.to_string_lossy();
                let rel = rel.strip_suffix(".zst").unwrap_or(&rel);
                return format!("{agent}/{rel}");
            }
        }
        crate::team::push::rel_path(&self.path, path)
    }

    /// Downloads a team archive's session into this home at `target` (its place under
    /// `sessions/`), private, checked, and linked in only once whole.
    fn download_into_home(&mut self, id: &str, target: &Path) -> Result<PathBuf> {
        let Some(team) = self.team.as_mut() else {
            return Err(Error::BadArgument("no team archive".into()));
        };
        let dir = target.parent().unwrap_or(&self.path);
        layout::create_private_dir(dir)?;
        let (tmp, mut file) = layout::create_temp(dir, layout::RESTORE_TEMP)?;
        let result = (|| -> Result<()> {
            team.download(id, &mut file, &tmp)?;
            file.sync_all().map_err(|e| Error::io(&tmp, "syncing", e))?;
            match std::fs::hard_link(&tmp, target) {
                Ok(()) => Ok(()),
                // Placed meanwhile (another resume, or Codex): that one stands.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
                Err(e) => Err(Error::io(target, "placing the download", e)),
            }
        })();
        let _ = std::fs::remove_file(&tmp);
        result?;
        recorder::sync_dir(dir)?;
        Ok(target.to_path_buf())
    }

    /// Resolution without the index: the uuid in the file names, and the names file.
    fn resolve_by_file_names(&self, reference: &str, parsed: &Reference) -> Result<Resolved> {
        let named: std::collections::HashMap<String, NameEntry> = match parsed {
            Reference::Word { text, .. } => {
                let key = names::name_key(text);
                names::current_names(&self.names_files())
                    .map(|(all, _)| all)
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|(_, e)| names::name_key(&e.name) == key)
                    .collect()
            }
            _ => Default::default(),
        };
        let found = layout::rollouts_by_id(&self.path, |u| match parsed {
            Reference::Id(id) => u == id,
            Reference::Word { prefix, .. } => {
                prefix
                    .as_ref()
                    .is_some_and(|p| u.simple().to_string().starts_with(p.as_str()))
                    || named.contains_key(&u.to_string())
            }
            Reference::Path(_) => false,
        });
        match found.len() {
            0 if reference.contains('/') || reference.ends_with(".jsonl") => Err(
                Error::BadArgument(format!("{reference}: no such rollout file")),
            ),
            0 => {
                if let Reference::Word { prefix: None, text } = parsed
                    && named.is_empty()
                    && text.len() < 4
                    && text.chars().all(|c| c.is_ascii_hexdigit())
                {
                    return Err(Error::BadArgument(format!(
                        "{text:?} is too short for an id prefix (give at least 4 hex digits) and names no session"
                    )));
                }
                Err(Error::SessionNotFound {
                    id: reference.trim().to_string(),
                    home: self.path.clone(),
                })
            }
            1 => {
                let (u, path) = found
                    .into_iter()
                    .next()
                    .ok_or_else(|| Error::BadArgument("internal: a match disappeared".into()))?;
                Ok(Resolved {
                    path,
                    id: Some(u.to_string()),
                    session: None,
                })
            }
            _ => Err(Error::Ambiguous {
                reference: reference.trim().to_string(),
                candidates: found
                    .into_iter()
                    .map(|(u, path)| Candidate {
                        id: u.to_string(),
                        label: named.get(&u.to_string()).map(|e| e.name.clone()),
                        agent: Some(crate::agents::for_path(&path).agent().to_string()),
                        path,
                    })
                    .collect(),
            }),
        }
    }

    /// A session's transcript: its file, what the index knows of it, its parent and the
    /// subagents it spawned.
    ///
    /// Unlike [`Home::resolve`], this builds the index when there is none yet: the
    /// session's name, its parent and its subagents are known only to the index.
    pub fn transcript(&mut self, reference: &str) -> Result<Transcript> {
        // A team archive answers for itself: this home's index is not needed.
        if self.team.is_none()
            && let Err(e) = self.ready()
        {
            (self.notify)(Notice::IndexUnavailable(&e));
        }
        let resolved = self.readable(reference)?;
        let (mut parent, mut children) = (None, Vec::new());
        if let Some(s) = &resolved.session {
            if let Some(p) = &s.parent_id {
                parent = self.session(p)?;
            }
            children = self.children(&s.id)?;
        }
        Ok(Transcript {
            resolved,
            parent,
            children,
        })
    }

    /// Where the history a session inherited lives: its `history_base` (the parent file's
    /// bytes before an offset) or a `rollout_reference`/`fork_reference` line (another
    /// file, found by its thread id, else by its path when that names a rollout).
    pub fn inherited_history(
        &mut self,
        thread_id: Option<&str>,
        rollout_path: Option<&str>,
        end_offset: Option<u64>,
    ) -> Result<InheritedHistory> {
        if let Some(id) = thread_id.and_then(|t| Uuid::parse_str(t.trim()).ok()) {
            match self.resolve(&id.to_string()) {
                Ok(r) => {
                    return Ok(InheritedHistory {
                        path: r.path,
                        session: r.session,
                        end_offset,
                    });
                }
                Err(e) if rollout_path.is_none() => return Err(e),
                Err(_) => {}
            }
        }
        let Some(path) = rollout_path else {
            return Err(Error::BadArgument(
                "the inherited history names no session and no file".into(),
            ));
        };
        let path = self.path.join(path);
        let rollout_named = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(layout::is_rollout_name);
        if !rollout_named || !path.is_file() {
            return Err(Error::BadArgument(format!(
                "{}: the inherited history's file is not a rollout here",
                path.display()
            )));
        }
        let session = match layout::session_id_from_path(&path) {
            Some(u) if self.has_index() => self.session(&u.to_string()).ok().flatten(),
            _ => None,
        };
        Ok(InheritedHistory {
            path,
            session,
            end_offset,
        })
    }

    /// The history `base` points at (see [`Home::inherited_history`]).
    pub fn history_base(&mut self, base: &HistoryBase) -> Result<InheritedHistory> {
        self.inherited_history(base.thread_id.as_deref(), None, base.end_byte_offset)
    }

    /// The path of a session's plain, appendable rollout, restoring it from `.zst` first
    /// if needed. Takes an id, a prefix or a name, never a path: a path would make resume
    /// a way to decompress arbitrary files.
    pub fn resume(&mut self, reference: &str) -> Result<PathBuf> {
        let found = self.resolve_to_resume(reference)?;
        self.make_resumable(found)
    }

    /// Resolves what `resume` takes: an id, prefix or name, never a path.
    fn resolve_to_resume(&mut self, reference: &str) -> Result<Resolved> {
        if let Reference::Path(p) = Reference::parse(reference)? {
            return Err(Error::BadArgument(format!(
                "{}: resume takes a session id, id prefix or name, not a path",
                p.display()
            )));
        }
        self.resolve(reference)
    }

    /// The plain, appendable file of a resolved session, made so: downloaded from the team
    /// archive, put back from rolldex's copy, or decompressed, as needed.
    fn make_resumable(&mut self, mut found: Resolved) -> Result<PathBuf> {
        if self.team.is_some() {
            // Already in this home (anywhere: an archived folder too), else downloaded
            // into its place.
            if let Some(u) = found.id.as_deref().and_then(|i| Uuid::parse_str(i).ok())
                && let Some(local) = layout::rollouts_by_id(&self.path, |x| *x == u).remove(&u)
            {
                found.path = local;
            }
            let zst = layout::zst_path(&found.path);
            if !found.path.is_file() && !zst.is_file() {
                let id = found.id.clone().unwrap_or_default();
                found.path = self.download_into_home(&id, &found.path.clone())?;
            } else if !found.path.is_file() {
                found.path = zst;
            }
        }
        let plain = if let Some((agent, root, original)) = self.original_of_copy(&found.path) {
            // The agent deleted its file: put it back, byte for byte, where it was, with
            // the files its transcript reads beside it.
            crate::preserve::restore_companions(&self.data_dir(), agent, &root, &found.path)?;
            crate::preserve::restore(&found.path, &original)?
        } else if layout::is_compressed(&found.path) {
            recorder::restore_plain(&found.path)?
        } else {
            found.path
        };
        std::fs::canonicalize(&plain).map_err(|e| Error::io(&plain, "resolving the path", e))
    }

    /// The agent's file that a preserved copy at `path` stands for, if it is one, with
    /// the agent and its root.
    fn original_of_copy(&self, path: &Path) -> Option<(crate::agents::Agent, PathBuf, PathBuf)> {
        let data = self.data_dir();
        self.others.iter().find_map(|(a, root)| {
            crate::preserve::original_path(&data, *a, root, path).map(|o| (*a, root.clone(), o))
        })
    }

    /// Keeps verified copies of the other agents' session files last written longer ago
    /// than `opts.older_than` (see [`crate::preserve`]), then brings the index up to date
    /// with them and records their checksums for `verify`.
    pub fn preserve(
        &mut self,
        opts: &crate::archive::ArchiveOptions,
    ) -> Result<crate::preserve::PreserveReport> {
        let mut report = crate::preserve::PreserveReport::default();
        let data = self.data_dir();
        for (agent, root) in self.others.clone() {
            crate::preserve::preserve(agent, &root, &data, opts, &mut report);
        }
        if !report.preserved.is_empty() {
            self.refresh(RefreshOptions::default())?;
            self.index()?.record_checksums(
                report
                    .preserved
                    .iter()
                    .map(|p| (p.copy.as_path(), p.checksum.as_str())),
            )?;
        }
        Ok(report)
    }

    /// The shell command that continues a session in its agent (`codex resume ID`,
    /// `cd DIR && claude --resume ID`), after [`Home::resume`] made its file ready. A
    /// subagent is continued through the session that spawned it.
    pub fn resume_command(&mut self, reference: &str) -> Result<String> {
        let found = self.resolve_to_resume(reference)?;
        let (id, session) = (found.id.clone(), found.session.clone());
        let path = self.make_resumable(found)?;
        let connector = crate::agents::for_path(&path);
        let parent_id = session.as_ref().and_then(|s| s.parent_id.clone());
        let parent = match &parent_id {
            Some(p) => self.session(p).ok().flatten(),
            None => None,
        };
        Ok(connector.resume_command(
            id.as_deref().unwrap_or_default(),
            session.as_ref().and_then(|s| s.cwd.as_deref()),
            parent_id
                .as_deref()
                .map(|p| (p, parent.as_ref().and_then(|s| s.cwd.as_deref()))),
        ))
    }

    /// Names a session: appends one line to a `session_index.jsonl` (see
    /// [`names::append`]): the home's for a Codex session (Codex shows the name too), the
    /// data folder's for another agent's (rolldex never writes into their folders). The
    /// old name stops resolving at once.
    pub fn name(&mut self, reference: &str, name: &str) -> Result<(Resolved, NameEntry)> {
        let found = self.resolve(reference)?;
        let connector = crate::agents::for_path(&found.path);
        let (dir, id) = if connector.agent() == crate::agents::Agent::Codex {
            (self.path.clone(), self.id_of(&found)?.to_string())
        } else {
            let id = found
                .id
                .clone()
                .or_else(|| connector.session_id(&found.path))
                .ok_or_else(|| {
                    Error::BadArgument(format!(
                        "{}: no session id in the file name or the index",
                        found.path.display()
                    ))
                })?;
            let data = self.data_dir();
            layout::create_private_dir(&data)?;
            (data, id)
        };
        let entry = names::append(&dir, &id, name, &recorder::now_timestamp())?;
        Ok((found, entry))
    }

    /// Every names file, Codex's first (see [`names::names_files`]).
    pub fn names_files(&self) -> Vec<PathBuf> {
        names::names_files(&self.path, &self.data_dir())
    }

    /// Opens the index once; heals it when it is damaged (and then it is also fresh).
    fn open(&mut self) -> Result<Option<RefreshReport>> {
        if self.index.is_some() {
            return Ok(None);
        }
        match Index::open(&self.db) {
            Ok(index) => {
                self.index = Some(index);
                Ok(None)
            }
            Err(e) if is_damage(&e) => self.heal(&e).map(Some),
            Err(e) => Err(e),
        }
    }

    /// Opens the index and, once, brings it up to date unless refreshing is off.
    fn ready(&mut self) -> Result<()> {
        if self.open()?.is_some() || !self.auto_refresh || self.refreshed {
            return Ok(());
        }
        // A healthy watcher keeps the index current: answer from it at once.
        if self.watcher()?.is_some() {
            self.refreshed = true;
            return Ok(());
        }
        match self.run_refresh(RefreshOptions::default()) {
            Err(e) if is_damage(&e) => self.heal(&e).map(|_| ()),
            other => other.map(|_| ()),
        }
    }

    fn run_refresh(&mut self, opts: RefreshOptions) -> Result<RefreshReport> {
        let roots = self.roots();
        let Home {
            index,
            notify,
            refreshed,
            db,
            ..
        } = self;
        let index = index.as_mut().ok_or_else(|| {
            Error::BadArgument(format!("{}: the index is not open", db.display()))
        })?;
        let report = index.refresh_roots(&roots, opts, &mut |p| notify(Notice::Progress(p)))?;
        *refreshed = true;
        notify(Notice::Refreshed(&report));
        Ok(report)
    }

    /// The index is damaged: move it aside (with its WAL), start a new one, rebuild it.
    fn heal(&mut self, cause: &Error) -> Result<RefreshReport> {
        // Every connection to the damaged file closes first.
        self.index = None;
        if let Some(aside) = set_aside(&self.db)? {
            (self.notify)(Notice::Rebuilt {
                aside: &aside,
                cause,
            });
        }
        self.index = Some(Index::open(&self.db)?);
        self.run_refresh(RefreshOptions::default())
    }

    /// Asks the index, healing it and asking again when it turns out damaged.
    fn ask<T>(&mut self, f: impl Fn(&Connection, &Path) -> Result<T>) -> Result<T> {
        self.ready()?;
        match self.ask_once(&f) {
            Err(e) if is_damage(&e) => {
                self.heal(&e)?;
                self.ask_once(&f)
            }
            other => other,
        }
    }

    fn ask_once<T>(&self, f: &impl Fn(&Connection, &Path) -> Result<T>) -> Result<T> {
        let index = self.index.as_ref().ok_or_else(|| {
            Error::BadArgument(format!("{}: the index is not open", self.db.display()))
        })?;
        // One command, one connection: the writer's (see `Index::connection`).
        f(index.connection(), index.path())
    }
}

/// The sessions the index holds for a reference: its id; or the sessions whose id starts
/// with the prefix plus those whose current name it is.
fn indexed_matches(conn: &Connection, db: &Path, r: &Reference) -> Result<Vec<Session>> {
    let mut found = Vec::new();
    match r {
        Reference::Id(u) => found.extend(query::get(conn, db, &u.to_string())?),
        Reference::Word { text, prefix } => {
            if let Some(p) = prefix {
                found.extend(query::find_by_prefix(conn, db, p)?);
            }
            for s in query::find_by_name(conn, db, text)? {
                if !found.iter().any(|f| f.id == s.id) {
                    found.push(s);
                }
            }
        }
        Reference::Path(_) => {}
    }
    Ok(found)
}

fn candidate(s: &Session) -> Candidate {
    Candidate {
        id: s.id.clone(),
        label: s.label().map(str::to_string),
        path: PathBuf::from(&s.path),
        agent: Some(s.agent.clone()).filter(|a| !a.is_empty()),
    }
}

/// Whether SQLite says the index file is damaged: not a database, or corrupt.
pub fn is_damage(e: &Error) -> bool {
    use rusqlite::ErrorCode;
    matches!(
        e,
        Error::Db {
            source: rusqlite::Error::SqliteFailure(f, _),
            ..
        } if matches!(f.code, ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt)
    )
}

/// Moves a damaged index (and its `-wal`/`-shm`) aside as `<db>.damaged-<UTC time>`, under
/// the indexer lock so that two processes never both move it. Returns where it went, or
/// `None` when another process already replaced it by a healthy index.
fn set_aside(db: &Path) -> Result<Option<PathBuf>> {
    let _lock = crate::index::ingest::lock_indexer(db)?;
    // Another process may have healed it while this one waited for the lock.
    if let Ok(index) = Index::open(db)
        && index
            .reader()
            .and_then(|c| {
                c.query_row("SELECT count(*) FROM sessions", [], |r| r.get::<_, i64>(0))
                    .map_err(|e| Error::db(db, "checking the index", e))
            })
            .is_ok()
        && quick_check(db)
    {
        return Ok(None);
    }
    let stamp = time::OffsetDateTime::now_utc();
    let base = format!(
        "{}.damaged-{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        db.display(),
        stamp.year(),
        u8::from(stamp.month()),
        stamp.day(),
        stamp.hour(),
        stamp.minute(),
        stamp.second()
    );
    let mut aside = PathBuf::from(&base);
    let mut n = 1;
    while aside.exists() {
        aside = PathBuf::from(format!("{base}-{n}"));
        n += 1;
    }
    std::fs::rename(db, &aside).map_err(|e| Error::io(db, "moving the damaged index aside", e))?;
    // A stale WAL beside a new database would be replayed into it: the WAL and its
    // shared-memory index go with the file they belong to.
    for suffix in ["-wal", "-shm"] {
        let mut from = db.as_os_str().to_owned();
        from.push(suffix);
        let mut to = aside.as_os_str().to_owned();
        to.push(suffix);
        match std::fs::rename(&from, &to) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(PathBuf::from(from), "moving aside", e)),
        }
    }
    Ok(Some(aside))
}

/// `PRAGMA quick_check` passes: the index is healthy after all.
fn quick_check(db: &Path) -> bool {
    Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|c| c.query_row("PRAGMA quick_check(1)", [], |r| r.get::<_, String>(0)))
        .is_ok_and(|s| s == "ok")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    const ID: &str = "0199a213-81c0-7800-8aa1-bbab2a035a53";

    /// A home with one session that says `word`.
    fn one_session(word: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tmp");
        let day = dir.path().join("sessions/2026/02/23");
        std::fs::create_dir_all(&day).expect("mkdir");
        let lines = [
            format!(
                r#"{{"timestamp":"2026-02-23T12:00:00.000Z","type":"session_meta","payload":{{"id":"{ID}","timestamp":"2026-02-23T12:00:00.000Z","cwd":"/w"}}}}"#
            ),
            format!(
                r#"{{"timestamp":"2026-02-23T12:00:01.000Z","type":"response_item","payload":{{"type":"message","role":"assistant","content":[{{"type":"output_text","text":"{word}"}}]}}}}"#
            ),
        ];
        std::fs::write(
            day.join(format!("rollout-2026-02-23T12-00-00-{ID}.jsonl")),
            lines.join("\n") + "\n",
        )
        .expect("write");
        dir
    }

    #[test]
    fn damage_met_mid_query_moves_the_index_aside_rebuilds_it_and_answers() -> Result<()> {
        let dir = one_session("driftwood");
        let rebuilt = Rc::new(RefCell::new(Vec::new()));
        let seen = rebuilt.clone();
        let mut home = Home::new(dir.path())?.on_notice(move |n| {
            if let Notice::Rebuilt { aside, .. } = n {
                seen.borrow_mut().push(aside.to_path_buf());
            }
        });
        assert_eq!(home.search(&SearchQuery::new("driftwood"))?.len(), 1);
        // Overwrite the pages of the items table only: opening still works, the search
        // meets the damage.
        let db = home.db_path().to_path_buf();
        let (root, page_size): (i64, i64) = {
            let index = home.index()?;
            let conn = index.writer();
            conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
                .map_err(|e| Error::db(&db, "checkpoint", e))?;
            let root = conn
                .query_row(
                    "SELECT rootpage FROM sqlite_master WHERE name = 'items'",
                    [],
                    |r| r.get(0),
                )
                .map_err(|e| Error::db(&db, "root", e))?;
            let size = conn
                .query_row("PRAGMA page_size", [], |r| r.get(0))
                .map_err(|e| Error::db(&db, "page size", e))?;
            (root, size)
        };
        drop(home);
        let mut bytes = std::fs::read(&db).map_err(|e| Error::io(&db, "read", e))?;
        let start = ((root - 1) * page_size) as usize;
        for b in &mut bytes[start..start + page_size as usize] {
            *b = 0xA5;
        }
        std::fs::write(&db, &bytes).map_err(|e| Error::io(&db, "write", e))?;

        let seen = rebuilt.clone();
        let causes = Rc::new(RefCell::new(Vec::new()));
        let said = causes.clone();
        let mut home = Home::new(dir.path())?
            .with_refresh(false)
            .on_notice(move |n| {
                if let Notice::Rebuilt { aside, cause } = n {
                    seen.borrow_mut().push(aside.to_path_buf());
                    said.borrow_mut().push(cause.to_string());
                }
            });
        let hits = home.search(&SearchQuery::new("driftwood"))?;
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].session.id, ID);
        let aside = rebuilt.borrow().clone();
        assert_eq!(aside.len(), 1, "{aside:?}");
        let causes = causes.borrow();
        assert!(causes[0].contains("searching"), "met mid-query: {causes:?}");
        assert_eq!(
            std::fs::read(&aside[0]).map_err(|e| Error::io(&aside[0], "read", e))?,
            bytes,
            "the damaged index is kept as it was"
        );
        Ok(())
    }

    #[test]
    fn a_newer_index_is_refused_and_never_healed() -> Result<()> {
        let dir = one_session("x");
        let db = dir.path().join("rolldex.sqlite");
        let conn = Connection::open(&db).map_err(|e| Error::db(&db, "open", e))?;
        conn.execute_batch("CREATE TABLE future(x); PRAGMA user_version = 99;")
            .map_err(|e| Error::db(&db, "setup", e))?;
        drop(conn);
        let before = std::fs::read(&db).map_err(|e| Error::io(&db, "read", e))?;
        let mut home = Home::new(dir.path())?;
        let err = home.list(&Filters::default(), 5).expect_err("refused");
        assert!(matches!(err, Error::SchemaTooNew { .. }), "{err}");
        assert_eq!(
            std::fs::read(&db).map_err(|e| Error::io(&db, "read", e))?,
            before
        );
        Ok(())
    }

    #[test]
    fn references_are_paths_ids_or_words() -> Result<()> {
        assert_eq!(
            Reference::parse(ID)?,
            Reference::Id(Uuid::parse_str(ID).map_err(|e| Error::BadArgument(e.to_string()))?)
        );
        assert_eq!(
            Reference::parse(" 0199A213 ")?,
            Reference::Word {
                text: "0199A213".into(),
                prefix: Some("0199a213".into())
            }
        );
        assert_eq!(
            Reference::parse("ws reconnect flake")?,
            Reference::Word {
                text: "ws reconnect flake".into(),
                prefix: None
            }
        );
        // A name with a slash is a name unless such a file exists.
        assert!(matches!(
            Reference::parse("fix a/b parsing")?,
            Reference::Word { .. }
        ));
        assert!(Reference::parse("  ").is_err());
        Ok(())
    }
}

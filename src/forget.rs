//! Retiring sessions by policy, through a trash, in the manner of `restic forget`.
//!
//! A session is forgotten when its last activity is older than the `keep_within` window
//! and no keep rule holds it (the newest N, pinned, named, of a kept repository). A live
//! session (its recorder holds the lock) is never touched, and neither is a parent whose
//! kept subagent inherits its history (the subagent's file does not hold that history).
//!
//! Forgetting moves each of the session's files by `rename` into `HOME/rolldex-trash/`,
//! under the same relative path (so a restore puts it back exactly), then syncs both
//! folders; the index drops the session at its next refresh. A rename is atomic: a crash
//! at any instant leaves each file whole, in place or in the trash. Only
//! [`empty_trash`] deletes rollout bytes, and only when the person says so.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use uuid::Uuid;

use crate::error::{Error, Result};
use crate::home::Home;
use crate::layout;
use crate::query::{Filters, Session};
use crate::recorder::sync_dir;

/// The trash folder in a home. Codex reads only `sessions/` and `archived_sessions/`.
pub const TRASH_DIR: &str = "rolldex-trash";

/// Which sessions to keep.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Keep sessions active within this long of now.
    pub keep_within: Duration,
    /// Keep the N most recently active sessions.
    pub keep_last: Option<usize>,
    /// Keep pinned sessions.
    pub keep_pinned: bool,
    /// Keep sessions that have a name.
    pub keep_named: bool,
    /// Keep sessions of these repositories (any spelling `--repo` takes).
    pub keep_repos: Vec<String>,
    /// Consider only these sessions; the others are kept.
    pub filters: Filters,
}

/// What a policy forgets.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The sessions to forget, oldest first.
    pub forget: Vec<Session>,
    /// Their bytes on disk.
    pub bytes: i64,
    /// Sessions the policy would forget but that are live now.
    pub live: Vec<String>,
}

/// What forgetting did.
#[derive(Debug, Default)]
pub struct Forgotten {
    /// Sessions moved to the trash (every file of theirs).
    pub ids: Vec<String>,
    /// Bytes moved.
    pub bytes: u64,
    /// Files moved.
    pub files: u64,
    /// The trash folder.
    pub trash: PathBuf,
    /// Sessions left in place because they became live, or a file could not move.
    pub skipped: Vec<(String, String)>,
    /// What went wrong, per file; the rest went on.
    pub errors: Vec<Error>,
}

/// How far the move is: files and bytes, done and in all.
pub use crate::archive::Progress;

/// The trash of a home.
pub fn trash_dir(home: &Path) -> PathBuf {
    home.join(TRASH_DIR)
}

/// Which sessions `policy` forgets now (`now_ms`, unix ms). Reads only.
pub fn plan(home: &mut Home, policy: &Policy, now_ms: i64) -> Result<Plan> {
    let all = home.list(&Filters::default(), usize::MAX)?;
    let considered: HashSet<String> = if policy.filters == Filters::default() {
        all.iter().map(|s| s.id.clone()).collect()
    } else {
        home.list(&policy.filters, usize::MAX)?
            .into_iter()
            .map(|s| s.id)
            .collect()
    };
    let window_ms = i64::try_from(policy.keep_within.as_millis()).unwrap_or(i64::MAX);
    let cutoff = now_ms.saturating_sub(window_ms);
    let mut keep: HashSet<String> = HashSet::new();
    // `all` is newest first: the first N considered are the last N.
    let mut newest = 0;
    for s in &all {
        let mut kept = !considered.contains(&s.id) || s.updated_ms >= cutoff;
        if considered.contains(&s.id) {
            if policy.keep_last.is_some_and(|n| newest < n) {
                kept = true;
            }
            newest += 1;
        }
        kept |= policy.keep_pinned && s.pinned;
        // Another agent's files are its own: forget never moves them. Once the agent
        // deleted one, rolldex's copy is what holds the session, and that copy is
        // rolldex's to retire.
        kept |= !s.preserved
            && crate::agents::Agent::parse(&s.agent)
                .is_some_and(|a| !crate::agents::of(a).forget_moves_originals());
        kept |= policy.keep_named && s.name.is_some();
        if kept {
            keep.insert(s.id.clone());
        }
    }
    for repo in &policy.keep_repos {
        let of_repo = home.list(
            &Filters {
                repo: Some(repo.clone()),
                ..Default::default()
            },
            usize::MAX,
        )?;
        keep.extend(of_repo.into_iter().map(|s| s.id));
    }
    // A kept subagent may continue its parent's history from the parent's file: keep the
    // parent, and its parent in turn.
    let parent_of: HashMap<&str, &str> = all
        .iter()
        .filter_map(|s| s.parent_id.as_deref().map(|p| (s.id.as_str(), p)))
        .collect();
    let mut stack: Vec<String> = keep.iter().cloned().collect();
    while let Some(id) = stack.pop() {
        if let Some(parent) = parent_of.get(id.as_str())
            && keep.insert(parent.to_string())
        {
            stack.push(parent.to_string());
        }
    }
    let mut out = Plan::default();
    for s in all.into_iter().rev() {
        if keep.contains(&s.id) {
            continue;
        }
        if is_live(Path::new(&s.path)) {
            out.live.push(s.id.clone());
            continue;
        }
        out.bytes += s.stored_bytes;
        out.forget.push(s);
    }
    Ok(out)
}

/// Whether a recorder holds the rollout's lock (only plain files are ever live).
fn is_live(path: &Path) -> bool {
    if layout::is_compressed(path) {
        return false;
    }
    match fs::File::open(path) {
        Ok(f) => matches!(f.try_lock_shared(), Err(fs::TryLockError::WouldBlock)),
        Err(_) => false,
    }
}

/// Every rollout file of the sessions in `ids`, by session.
fn files_of(home: &Path, ids: &HashSet<Uuid>) -> HashMap<Uuid, Vec<PathBuf>> {
    let (files, _errors) = layout::walk_rollouts(home);
    let mut out: HashMap<Uuid, Vec<PathBuf>> = HashMap::new();
    for f in files {
        if let Some(u) = layout::session_id_from_path(&f).filter(|u| ids.contains(u)) {
            out.entry(u).or_default().push(f);
        }
    }
    out
}

/// Moves `from` (under `from_root`) to the same relative path under `to_root`, never
/// replacing a file there, and syncs both folders.
fn move_under(from: &Path, from_root: &Path, to_root: &Path) -> Result<PathBuf> {
    let rel = from.strip_prefix(from_root).map_err(|_| {
        Error::BadArgument(format!(
            "{}: not under {}",
            from.display(),
            from_root.display()
        ))
    })?;
    let to = to_root.join(rel);
    let to_dir = to.parent().unwrap_or(to_root);
    layout::create_private_dir(to_dir)?;
    if fs::symlink_metadata(&to).is_ok() {
        return Err(Error::io(
            &to,
            "moving a rollout",
            std::io::Error::new(std::io::ErrorKind::AlreadyExists, "a file is already there"),
        ));
    }
    fs::rename(from, &to).map_err(|e| Error::io(from, "moving a rollout", e))?;
    sync_dir(to_dir)?;
    if let Some(dir) = from.parent() {
        sync_dir(dir)?;
    }
    Ok(to)
}

/// [`move_under`] for a file a session's transcript reads beside it: one already at the
/// destination (the same output, copied again since) stands, and this one stays.
fn move_companion(from: &Path, from_root: &Path, to_root: &Path) -> Result<()> {
    if let Ok(rel) = from.strip_prefix(from_root)
        && fs::symlink_metadata(to_root.join(rel)).is_ok()
    {
        return Ok(());
    }
    move_under(from, from_root, to_root).map(|_| ())
}

/// Moves the planned sessions' files to the trash, then brings the index up to date.
/// A session that became live since the plan, or whose file cannot move, stays.
pub fn apply(
    home: &mut Home,
    plan: &Plan,
    progress: &mut dyn FnMut(Progress),
) -> Result<Forgotten> {
    let root = home.path().to_path_buf();
    let trash = trash_dir(&root);
    layout::create_private_dir(&trash)?;
    let ids: HashSet<Uuid> = plan
        .forget
        .iter()
        .filter_map(|s| Uuid::parse_str(&s.id).ok())
        .collect();
    let files = files_of(&root, &ids);
    let mut p = Progress {
        total_files: files.values().map(|v| v.len() as u64).sum(),
        total_bytes: files
            .values()
            .flatten()
            .filter_map(|f| fs::metadata(f).ok())
            .map(|m| m.len())
            .sum(),
        ..Default::default()
    };
    let mut out = Forgotten {
        trash: trash.clone(),
        ..Default::default()
    };
    let data = home.data_dir();
    let data_trash = data.join(TRASH_DIR);
    for s in plan.forget.iter().filter(|s| s.preserved) {
        // Only rolldex's copy is left: it goes to the data folder's trash.
        let copy = PathBuf::from(&s.path);
        let len = fs::metadata(&copy).map(|m| m.len()).unwrap_or(0);
        // The session's copy first, then what its transcript reads beside it: a kill in
        // between leaves the session whole in the trash and only outputs in the store.
        let companions = crate::agents::for_path(&copy).companions(&copy);
        match layout::create_private_dir(&data_trash)
            .and_then(|()| move_under(&copy, &data, &data_trash))
            .and_then(|_| {
                companions
                    .iter()
                    .try_for_each(|c| move_companion(c, &data, &data_trash))
            }) {
            Ok(_) => {
                out.files += 1;
                out.bytes += len;
                out.ids.push(s.id.clone());
            }
            Err(e) => {
                out.errors.push(e);
                out.skipped
                    .push((s.id.clone(), "a file could not move".into()));
            }
        }
    }
    for s in plan.forget.iter().filter(|s| !s.preserved) {
        let Some(paths) = Uuid::parse_str(&s.id).ok().and_then(|u| files.get(&u)) else {
            continue;
        };
        // Held while its files move: a recorder cannot start on it meanwhile.
        let mut locks = Vec::new();
        let mut live = false;
        for f in paths.iter().filter(|f| !layout::is_compressed(f)) {
            if let Ok(file) = fs::File::open(f) {
                match file.try_lock_shared() {
                    Ok(()) => locks.push(file),
                    Err(fs::TryLockError::WouldBlock) => live = true,
                    Err(fs::TryLockError::Error(_)) => {}
                }
            }
        }
        if live {
            out.skipped.push((s.id.clone(), "live".into()));
            continue;
        }
        let mut moved_all = true;
        for f in paths {
            let len = fs::metadata(f).map(|m| m.len()).unwrap_or(0);
            match move_under(f, &root, &trash) {
                Ok(_) => {
                    out.files += 1;
                    out.bytes += len;
                    p.files += 1;
                    p.bytes += len;
                    progress(p);
                }
                Err(e) => {
                    moved_all = false;
                    out.errors.push(e);
                }
            }
        }
        drop(locks);
        if moved_all {
            out.ids.push(s.id.clone());
        } else {
            out.skipped
                .push((s.id.clone(), "a file could not move".into()));
        }
    }
    home.refresh(Default::default())?;
    Ok(out)
}

/// The sessions in the trash: each session id with its files there.
pub fn in_trash(home: &Path) -> HashMap<Uuid, Vec<PathBuf>> {
    let trash = trash_dir(home);
    let (files, _errors) = layout::walk_named(&trash, layout::is_rollout_name);
    let mut out: HashMap<Uuid, Vec<PathBuf>> = HashMap::new();
    for f in files {
        if let Some(u) = layout::session_id_from_path(&f) {
            out.entry(u).or_default().push(f);
        }
    }
    out
}

/// rolldex's preserved copies of other agents' sessions in the data folder's trash
/// (`DATA/rolldex-trash/preserved/...`), by session id.
pub fn copies_in_trash(data_dir: &Path) -> HashMap<String, Vec<PathBuf>> {
    let trash = data_dir.join(TRASH_DIR);
    let mut out: HashMap<String, Vec<PathBuf>> = HashMap::new();
    for agent in crate::agents::Agent::ALL {
        let connector = crate::agents::of(agent);
        if connector.forget_moves_originals() {
            continue;
        }
        let root = crate::preserve::store_root(&trash, agent);
        for (f, _) in crate::index::scan::scan(&[(agent, root)], None).files {
            let id = connector.session_id(&f).or_else(|| {
                crate::reader::read_head_meta(&f)
                    .ok()
                    .flatten()
                    .and_then(|m| m.id)
            });
            if let Some(id) = id {
                out.entry(id.to_ascii_lowercase()).or_default().push(f);
            }
        }
    }
    out
}

/// Puts a forgotten session back where it was: `reference` is its id, a unique id prefix
/// or its name. A file already back in place is never replaced. Returns the paths restored.
pub fn restore(home: &mut Home, reference: &str) -> Result<(String, Vec<PathBuf>)> {
    match restore_rollout(home, reference) {
        Err(Error::SessionNotFound { .. }) => restore_copy(home, reference),
        other => other,
    }
}

/// The one trashed session a reference matches (in `trash`), else why not: none, or
/// several (listed with their agent).
fn the_one<'a, K: std::fmt::Display>(
    matches: &[(&'a K, &'a Vec<PathBuf>)],
    text: &str,
    trash: &Path,
) -> Result<(&'a K, &'a Vec<PathBuf>)> {
    match matches {
        [one] => Ok(*one),
        [] => Err(Error::SessionNotFound {
            id: text.to_string(),
            home: trash.to_path_buf(),
        }),
        many => Err(Error::Ambiguous {
            reference: text.to_string(),
            candidates: many
                .iter()
                .map(|(id, f)| crate::error::Candidate {
                    id: id.to_string(),
                    label: None,
                    agent: Some(crate::agents::for_path(&f[0]).agent().to_string()),
                    path: f[0].clone(),
                })
                .collect(),
        }),
    }
}

/// [`restore`] of a preserved copy: from the data folder's trash back into the store.
fn restore_copy(home: &mut Home, reference: &str) -> Result<(String, Vec<PathBuf>)> {
    let data = home.data_dir();
    let text = reference.trim();
    let prefix = layout::normalize_id_prefix(text)?;
    let copies = copies_in_trash(&data);
    let matches: Vec<(&String, &Vec<PathBuf>)> = copies
        .iter()
        .filter(|(id, _)| id.replace('-', "").starts_with(&prefix.replace('-', "")))
        .collect();
    let (id, files) = the_one(&matches, text, &data.join(TRASH_DIR))?;
    let trash = data.join(TRASH_DIR);
    let mut back = Vec::new();
    for f in files {
        // Outputs first, so the session is never back without them.
        for c in crate::agents::for_path(f).companions(f) {
            move_companion(&c, &trash, &data)?;
        }
        back.push(move_under(f, &trash, &data)?);
    }
    home.refresh(Default::default())?;
    Ok((id.clone(), back))
}

/// [`restore`] of a Codex rollout, from the home's trash.
fn restore_rollout(home: &mut Home, reference: &str) -> Result<(String, Vec<PathBuf>)> {
    let root = home.path().to_path_buf();
    let trashed = in_trash(&root);
    let text = reference.trim();
    let key = crate::names::name_key(text);
    let prefix = layout::normalize_id_prefix(text).ok();
    let named: HashSet<String> = crate::names::current_names(&home.names_files())
        .map(|(all, _)| all)
        .unwrap_or_default()
        .into_values()
        .filter(|e| crate::names::name_key(&e.name) == key)
        .map(|e| e.id)
        .collect();
    let matches: Vec<(&Uuid, &Vec<PathBuf>)> = trashed
        .iter()
        .filter(|(u, _)| {
            prefix
                .as_ref()
                .is_some_and(|p| u.simple().to_string().starts_with(p.as_str()))
                || named.contains(&u.to_string())
        })
        .collect();
    let (id, files) = the_one(&matches, text, &trash_dir(&root))?;
    let trash = trash_dir(&root);
    let mut back = Vec::new();
    for f in files {
        back.push(move_under(f, &trash, &root)?);
    }
    home.refresh(Default::default())?;
    Ok((id.to_string(), back))
}

/// What emptying the trash did.
#[derive(Debug, Default)]
pub struct Emptied {
    /// Sessions whose files were deleted.
    pub sessions: u64,
    /// Files deleted.
    pub files: u64,
    /// Bytes freed.
    pub bytes: u64,
}

/// Deletes rollouts in the trash for good: all of them, or those put there longer than
/// `older_than` ago (by the time they were moved, the file's change time). The only code
/// that deletes rollout bytes.
pub fn empty_trash(home: &Path, older_than: Option<Duration>) -> Result<Emptied> {
    let trashed: Vec<Vec<PathBuf>> = in_trash(home).into_values().collect();
    delete_for_good(&trashed, older_than)
}

/// Deletes rolldex's preserved copies in the data folder's trash for good, as
/// [`empty_trash`] does rollouts.
pub fn empty_copies_trash(data_dir: &Path, older_than: Option<Duration>) -> Result<Emptied> {
    let trashed: Vec<Vec<PathBuf>> = copies_in_trash(data_dir).into_values().collect();
    delete_for_good(&trashed, older_than)
}

/// Deletes the files of each trashed session (those moved longer than `older_than` ago).
fn delete_for_good(sessions: &[Vec<PathBuf>], older_than: Option<Duration>) -> Result<Emptied> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let mut out = Emptied::default();
    for files in sessions {
        let mut any = false;
        for f in files {
            let meta = fs::symlink_metadata(f).map_err(|e| Error::io(f, "examining", e))?;
            let age = now - meta.ctime();
            if older_than.is_some_and(|d| age < d.as_secs() as i64) {
                continue;
            }
            fs::remove_file(f).map_err(|e| Error::io(f, "deleting", e))?;
            out.files += 1;
            out.bytes += meta.len();
            any = true;
            if let Some(dir) = f.parent() {
                sync_dir(dir)?;
            }
        }
        out.sessions += u64::from(any);
    }
    Ok(out)
}

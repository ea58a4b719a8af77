//! Where rollouts live, how they are named, and how a session id leads to its file.
//!
//! `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-YYYY-MM-DDThh-mm-ss-<uuid>.jsonl`, the date
//! and time in **local** time; very old installs keep files flat in `sessions/`; archived
//! sessions sit flat in `archived_sessions/`; compressed files add `.zst`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use time::{OffsetDateTime, UtcOffset};
use uuid::Uuid;

use crate::error::{Error, Result};

/// Folder of live sessions under a home.
pub const SESSIONS_DIR: &str = "sessions";
/// Folder of archived sessions under a home.
pub const ARCHIVED_DIR: &str = "archived_sessions";
/// Suffix of compressed rollouts, after `.jsonl`.
pub const ZST_SUFFIX: &str = ".zst";

/// Prefix of every temporary file rolldex creates beside rollouts, so leftovers of a
/// crashed run are recognised (and never mistaken for a rollout).
pub const TEMP_PREFIX: &str = ".rolldex-";

/// Purpose of the temp name a new rollout is created and locked under before it is linked
/// into place (see [`crate::recorder`]).
pub const CREATE_TEMP: &str = "create";
/// Purpose of the temp file a `.zst` is decompressed into before it is linked into place as
/// the plain rollout (see [`crate::recorder::restore_plain`]).
pub const RESTORE_TEMP: &str = "restore";

/// Creates `dir` and its missing parents, each new one 0700: what rolldex keeps is private.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::io(dir, "creating folder", e))
}

/// Creates a fresh temp file in `dir` for `purpose` (e.g. [`CREATE_TEMP`], `archive`):
/// private (0600), new (never an existing file), opened for appending. Returns its path,
/// for linking it into place or removing it, and the file.
pub fn create_temp(dir: &Path, purpose: &str) -> Result<(PathBuf, fs::File)> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(format!(
        "{TEMP_PREFIX}{purpose}-{}.tmp",
        Uuid::new_v4().simple()
    ));
    let file = fs::OpenOptions::new()
        .append(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| Error::io(&path, "creating", e))?;
    Ok((path, file))
}

/// Whether a file name is one of rolldex's temp files.
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with(TEMP_PREFIX) && name.ends_with(".tmp")
}

/// Opens (creating it 0600) a lock file: an empty file only ever `flock`ed, so that two
/// runs of the same job (indexer, archive) never interleave.
pub fn open_lock_file(path: &Path) -> Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io(path, "opening a lock file", e))
}

/// The default home: `$CODEX_HOME`, else `~/.codex`.
pub fn default_home() -> Option<PathBuf> {
    if let Some(h) = std::env::var_os("CODEX_HOME").filter(|h| !h.is_empty()) {
        return Some(PathBuf::from(h));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".codex"))
}

/// Where rolldex keeps its own data (the index) for the Codex home `home`:
/// - `$ROLLDEX_HOME` when set;
/// - the Codex home itself when it was given (`--home`, `$CODEX_HOME`: separate homes
///   keep separate indexes, as scripts expect) or already holds an index (an existing
///   `~/.codex/rolldex.sqlite` keeps working where it is);
/// - else the platform data folder, `$XDG_DATA_HOME/rolldex` or `~/.local/share/rolldex`,
///   so that a person without `~/.codex` gets a working rolldex that creates no `~/.codex`.
pub fn data_dir(home: &Path, explicit_home: bool) -> PathBuf {
    if let Some(d) = std::env::var_os("ROLLDEX_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if explicit_home || home.join(crate::index::DEFAULT_DB_NAME).exists() {
        return home.to_path_buf();
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")));
    match data {
        Some(d) => d.join("rolldex"),
        None => home.to_path_buf(),
    }
}

/// The local UTC offset, read once.
///
/// The `time` crate refuses to read the local offset once a process has several threads
/// (reading it races with `setenv`). Call this early, before a runtime starts threads, and
/// pass the result on. `Err` carries the reason; callers then fall back to UTC and say so.
pub fn local_offset() -> std::result::Result<UtcOffset, String> {
    UtcOffset::current_local_offset().map_err(|e| e.to_string())
}

/// The file name of a new rollout started at `local_time` (already in local time).
pub fn rollout_file_name(local_time: OffsetDateTime, id: Uuid) -> String {
    format!(
        "rollout-{:04}-{:02}-{:02}T{:02}-{:02}-{:02}-{id}.jsonl",
        local_time.year(),
        u8::from(local_time.month()),
        local_time.day(),
        local_time.hour(),
        local_time.minute(),
        local_time.second(),
    )
}

/// The path of a new rollout: `home/sessions/YYYY/MM/DD/<rollout_file_name>`.
pub fn new_rollout_path(home: &Path, local_time: OffsetDateTime, id: Uuid) -> PathBuf {
    home.join(SESSIONS_DIR)
        .join(format!("{:04}", local_time.year()))
        .join(format!("{:02}", u8::from(local_time.month())))
        .join(format!("{:02}", local_time.day()))
        .join(rollout_file_name(local_time, id))
}

/// Whether a file name is a rollout (`rollout-*.jsonl` or `rollout-*.jsonl.zst`).
pub fn is_rollout_name(name: &str) -> bool {
    name.starts_with("rollout-") && (name.ends_with(".jsonl") || name.ends_with(".jsonl.zst"))
}

/// Whether a path names a compressed rollout.
pub fn is_compressed(path: &Path) -> bool {
    // `.json.zst`: rolldex's preserved copy of a one-document session (Gemini CLI).
    path.as_os_str()
        .to_str()
        .is_some_and(|p| p.ends_with(".jsonl.zst") || p.ends_with(".json.zst"))
}

/// The plain `.jsonl` path of a rollout given as `.jsonl` or `.jsonl.zst`.
pub fn plain_path(path: &Path) -> PathBuf {
    match path.to_str().and_then(|p| p.strip_suffix(ZST_SUFFIX)) {
        Some(plain) if plain.ends_with(".jsonl") || plain.ends_with(".json") => {
            PathBuf::from(plain)
        }
        _ => path.to_path_buf(),
    }
}

/// The compressed `.jsonl.zst` path of a plain rollout.
pub fn zst_path(plain: &Path) -> PathBuf {
    let mut s = plain.as_os_str().to_owned();
    s.push(ZST_SUFFIX);
    PathBuf::from(s)
}

/// The session id in a rollout's file name: the UUID just before `.jsonl`.
pub fn session_id_from_path(path: &Path) -> Option<Uuid> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(ZST_SUFFIX).unwrap_or(name);
    let stem = stem.strip_suffix(".jsonl")?;
    let start = stem.len().checked_sub(36)?;
    Uuid::parse_str(stem.get(start..)?).ok()
}

/// Every rollout file under `home/sessions` (dated folders and the old flat layout) and
/// `home/archived_sessions`, sorted by path. Folders that do not exist are skipped;
/// unreadable ones are returned in `errors` and the walk goes on.
pub fn walk_rollouts(home: &Path) -> (Vec<PathBuf>, Vec<Error>) {
    walk_named(home, is_rollout_name)
}

/// Every regular file under `home/sessions` and `home/archived_sessions` whose name
/// satisfies `keep` (e.g. [`is_temp_name`] to find leftovers of a crashed run).
pub fn walk_named(home: &Path, keep: fn(&str) -> bool) -> (Vec<PathBuf>, Vec<Error>) {
    let mut files = Vec::new();
    let errors = walk_with(home, keep, &mut |path, _| files.push(path));
    sort_paths(&mut files);
    (files, errors)
}

/// Byte order, not `Path`'s component-wise order: the same result for these paths, and
/// several times cheaper on tens of thousands of files.
fn sort_paths(files: &mut [PathBuf]) {
    files.sort_unstable_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
}

fn walk_with(
    home: &Path,
    keep: fn(&str) -> bool,
    found: &mut dyn FnMut(PathBuf, &fs::DirEntry),
) -> Vec<Error> {
    let mut errors = Vec::new();
    for top in [SESSIONS_DIR, ARCHIVED_DIR] {
        walk_dir(&home.join(top), 0, keep, found, &mut errors);
    }
    errors
}

/// Depth-limited walk: `sessions/YYYY/MM/DD` is three levels down; a little slack allows
/// for odd layouts while a symlink loop cannot recurse forever.
fn walk_dir(
    dir: &Path,
    depth: usize,
    keep: fn(&str) -> bool,
    found: &mut dyn FnMut(PathBuf, &fs::DirEntry),
    errors: &mut Vec<Error>,
) {
    const MAX_DEPTH: usize = 6;
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if depth == 0 && e.kind() == io::ErrorKind::NotFound => return,
        Err(e) => {
            errors.push(Error::io(dir, "listing folder", e));
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                errors.push(Error::io(dir, "listing folder", e));
                continue;
            }
        };
        // file_type() does not follow symlinks: a linked folder is not descended into.
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_dir() {
            if depth < MAX_DEPTH {
                walk_dir(&entry.path(), depth + 1, keep, found, errors);
            }
        } else if ft.is_file() && entry.file_name().to_str().is_some_and(keep) {
            found(entry.path(), &entry);
        }
    }
}

/// The rollout of each session under `home` whose id `wanted` accepts, found by the uuid
/// in the file names, without any index. When both `X.jsonl` and `X.jsonl.zst` exist the
/// plain file is the one returned: it is authoritative.
pub fn rollouts_by_id(
    home: &Path,
    wanted: impl Fn(&Uuid) -> bool,
) -> std::collections::BTreeMap<Uuid, PathBuf> {
    let (files, _errors) = walk_rollouts(home);
    let mut found = std::collections::BTreeMap::new();
    for f in files {
        let Some(uuid) = session_id_from_path(&f).filter(|u| wanted(u)) else {
            continue;
        };
        let entry = found.entry(uuid).or_insert_with(|| f.clone());
        if is_compressed(entry) && !is_compressed(&f) {
            *entry = f;
        }
    }
    found
}

/// How the ids of sessions named after an `agent-<id>.jsonl` file start.
pub const AGENT_ID_PREFIX: &str = "agent-";

/// Lowercase hex without dashes (or `agent-` and letters, digits, `-`, `_`); refuses
/// anything that is not a uuid prefix of 4 to 32 hex digits or such an agent id, so an
/// "id" can never be a path (`../`, `/etc`, NUL).
pub fn normalize_id_prefix(id: &str) -> Result<String> {
    // A subagent of Claude Code is named after its file: `agent-<id>`, kept as written.
    let lower = id.trim().to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix(AGENT_ID_PREFIX)
        && rest.len() >= 4
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Ok(lower);
    }
    let hex: String = id.trim().chars().filter(|c| *c != '-').collect();
    if hex.len() < 4 || hex.len() > 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::BadArgument(format!(
            "{id:?} is not a session id or an id prefix of at least 4 hex digits"
        )));
    }
    Ok(hex.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn new_rollout_paths_use_local_date_folders() {
        let id = Uuid::parse_str("0199a213-81c0-7800-8aa1-bbab2a035a53").expect("uuid");
        let p = new_rollout_path(Path::new("/h"), datetime!(2026-02-03 04:05:06 +1), id);
        assert_eq!(
            p,
            Path::new(
                "/h/sessions/2026/02/03/rollout-2026-02-03T04-05-06-0199a213-81c0-7800-8aa1-bbab2a035a53.jsonl"
            )
        );
        assert_eq!(session_id_from_path(&p), Some(id));
        assert_eq!(session_id_from_path(&zst_path(&p)), Some(id));
        assert_eq!(plain_path(&zst_path(&p)), p);
        assert!(is_compressed(&zst_path(&p)));
    }

    #[test]
    fn ids_are_never_paths() {
        for bad in ["../etc", "/etc/passwd", "abc", "abcd\0", "zzzz", ""] {
            assert!(normalize_id_prefix(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            normalize_id_prefix("0199A213-81").expect("valid"),
            "0199a21381"
        );
    }

    #[test]
    fn rollout_names() {
        assert!(is_rollout_name("rollout-2025-01-01T00-00-00-x.jsonl"));
        assert!(is_rollout_name("rollout-x.jsonl.zst"));
        assert!(!is_rollout_name("rollout-x.jsonl.tmp"));
        assert!(!is_rollout_name("notes.jsonl"));
        assert_eq!(
            session_id_from_path(Path::new("rollout-no-uuid.jsonl")),
            None
        );
    }
}

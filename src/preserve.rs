//! rolldex's own verified copies of other agents' sessions.
//!
//! Codex reads `.zst` rollouts, so the archive job compresses them in place. Other agents
//! cannot, and some delete their own history (Claude Code removes sessions older than its
//! `cleanupPeriodDays`, 30 by default, when it starts). For those, `archive` keeps a copy
//! of each session file in rolldex's data folder, `preserved/<agent>/<path under the
//! agent's root>.zst`, and never touches the agent's file:
//! - written through a temp file beside it (0600, folders 0700), fsynced, **verified** by
//!   decompressing it fully against the original's length and checksum, given the
//!   original's mtime (which says which version it holds), then renamed into place;
//! - refreshed when the original changes (another mtime or size);
//! - indexed as one more file of its session: while the original exists it is the
//!   original that is read; once the agent deletes it, the index follows the copy, and the
//!   session stays listed, searchable, showable, exportable and pushable;
//! - put back by [`restore`], byte for byte, at the original's path.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::agents::Agent;
use crate::archive::{self, ArchiveOptions, Checksum, CompressError};
use crate::error::{Error, Result};
use crate::layout;

/// Folder of the copies in rolldex's data folder.
pub const STORE_DIR: &str = "preserved";

/// Temp files of a copy being written (removed by the next run if a crash left one).
const PRESERVE_TEMP: &str = "preserve";

/// Where `agent`'s copies live under the data folder `data_dir`.
pub fn store_root(data_dir: &Path, agent: Agent) -> PathBuf {
    data_dir.join(STORE_DIR).join(agent.as_str())
}

/// The copy of `original`, a file under `root` (its agent's root).
pub fn copy_path(data_dir: &Path, agent: Agent, root: &Path, original: &Path) -> Option<PathBuf> {
    let rel = original.strip_prefix(root).ok()?;
    let mut name = store_root(data_dir, agent).join(rel).into_os_string();
    name.push(".zst");
    Some(PathBuf::from(name))
}

/// The original a copy stands for: the same path under the agent's root, without the
/// `.zst` [`copy_path`] gave it (a session's file or one its transcript reads).
pub fn original_path(data_dir: &Path, agent: Agent, root: &Path, copy: &Path) -> Option<PathBuf> {
    let rel = copy.strip_prefix(store_root(data_dir, agent)).ok()?;
    let rel = rel.to_str()?.strip_suffix(".zst")?;
    Some(root.join(rel))
}

/// Files and bytes in the store under `data_dir`: every copy, a temp file of one being
/// written left out. A folder that cannot be read counts as empty.
pub fn usage(data_dir: &Path) -> (i64, i64) {
    let (mut files, mut bytes) = (0i64, 0i64);
    let mut stack = vec![(data_dir.join(STORE_DIR), 0)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() && depth < 16 {
                stack.push((e.path(), depth + 1));
            } else if ft.is_file()
                && !layout::is_temp_name(&e.file_name().to_string_lossy())
                && let Ok(m) = e.metadata()
            {
                files += 1;
                bytes += m.len() as i64;
            }
        }
    }
    (files, bytes)
}

/// One copy written.
#[derive(Debug, Clone)]
pub struct Preserved {
    /// The agent's file.
    pub original: PathBuf,
    /// rolldex's copy.
    pub copy: PathBuf,
    /// Checksum of the content (the original's bytes).
    pub checksum: String,
    /// Bytes of the original and of the copy.
    pub bytes_in: u64,
    /// See `bytes_in`.
    pub bytes_out: u64,
}

/// What a preservation pass did.
#[derive(Debug, Default)]
pub struct PreserveReport {
    /// Copies written (new, or refreshed because the original changed).
    pub preserved: Vec<Preserved>,
    /// Copies written of files a session's transcript reads beside it (Claude Code's
    /// stored tool outputs: see [`crate::agents::Connector::companions`]).
    pub companions: Vec<Preserved>,
    /// With `dry_run`: the files that would be copied.
    pub would_preserve: Vec<PathBuf>,
    /// Originals whose copy is up to date.
    pub up_to_date: u64,
    /// Originals written within the age asked for.
    pub recent: u64,
    /// Files or folders that could not be read.
    pub unreadable: Vec<Error>,
    /// Copies that could not be written or verified.
    pub errors: Vec<Error>,
    /// Temp files of copies a killed run left, removed.
    pub temps_removed: u64,
}

/// How old a temp file of a copy must be before a later run removes it: one being
/// written by a run still going is younger.
const TEMP_STALE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Removes the temp files of copies that a killed run left under `dir` (an hour old:
/// never one a live run is writing). They are rolldex's own, never an agent's file.
fn remove_stale_temps(dir: &Path, now: SystemTime, report: &mut PreserveReport) {
    let mut stack = vec![(dir.to_path_buf(), 0)];
    while let Some((d, depth)) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            let name = e.file_name();
            let name = name.to_string_lossy();
            if ft.is_dir() && depth < 8 {
                stack.push((e.path(), depth + 1));
            } else if ft.is_file()
                && name.starts_with(&format!("{}{PRESERVE_TEMP}-", layout::TEMP_PREFIX))
                && name.ends_with(".tmp")
                && e.metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|m| now.duration_since(m).unwrap_or_default() >= TEMP_STALE)
                && fs::remove_file(e.path()).is_ok()
            {
                report.temps_removed += 1;
            }
        }
    }
}

/// Keeps a verified copy of every session file of `agent` under `root` last written
/// longer ago than `opts.older_than`, in `data_dir`. The agent's files are only read.
pub fn preserve(
    agent: Agent,
    root: &Path,
    data_dir: &Path,
    opts: &ArchiveOptions,
    report: &mut PreserveReport,
) {
    let now = SystemTime::now();
    if !opts.dry_run {
        remove_stale_temps(&store_root(data_dir, agent), now, report);
    }
    let scan = crate::index::scan::scan(&[(agent, root.to_path_buf())], None);
    report.unreadable.extend(scan.errors);
    for (path, found) in scan.files {
        if let Err(e) = found {
            report.unreadable.push(Error::io(&path, "examining", e));
            continue;
        }
        if layout::is_compressed(&path) {
            continue;
        }
        let Some(copy) = copy_path(data_dir, agent, root, &path) else {
            continue;
        };
        // What the transcript reads beside the session first: a copy of the session is
        // then never without them (a kill in between leaves copies of outputs only).
        for companion in crate::agents::of(agent).companions(&path) {
            let Some(copy) = copy_path(data_dir, agent, root, &companion) else {
                continue;
            };
            match preserve_one(&companion, &copy, opts, now) {
                Ok(Outcome::Written(p)) => report.companions.push(p),
                // A dry run lists sessions; their outputs go with them.
                Ok(Outcome::WouldWrite) => {}
                Ok(Outcome::UpToDate | Outcome::Recent) => {}
                Err((true, e)) => report.unreadable.push(e),
                Err((false, e)) => report.errors.push(e),
            }
        }
        match preserve_one(&path, &copy, opts, now) {
            Ok(Outcome::Written(p)) => report.preserved.push(p),
            Ok(Outcome::WouldWrite) => report.would_preserve.push(path),
            Ok(Outcome::UpToDate) => report.up_to_date += 1,
            Ok(Outcome::Recent) => report.recent += 1,
            Err((true, e)) => report.unreadable.push(e),
            Err((false, e)) => report.errors.push(e),
        }
    }
}

/// Puts back what a session's transcript reads beside it (see
/// [`crate::agents::Connector::companions`]) from the copies beside `copy`, where the
/// agent's files are gone; one still there is left as it is. Returns the paths put back.
pub fn restore_companions(
    data_dir: &Path,
    agent: Agent,
    root: &Path,
    copy: &Path,
) -> Result<Vec<PathBuf>> {
    let mut back = Vec::new();
    for c in crate::agents::of(agent).companions(copy) {
        if let Some(original) = original_path(data_dir, agent, root, &c)
            && !original.exists()
        {
            back.push(restore(&c, &original)?);
        }
    }
    Ok(back)
}

enum Outcome {
    Written(Preserved),
    WouldWrite,
    UpToDate,
    Recent,
}

/// Copies one file; an error says whether the original could not be read (`true`).
fn preserve_one(
    original: &Path,
    copy: &Path,
    opts: &ArchiveOptions,
    now: SystemTime,
) -> std::result::Result<Outcome, (bool, Error)> {
    let read = |e| (true, Error::io(original, "reading", e));
    let file = File::open(original).map_err(read)?;
    let meta = file.metadata().map_err(read)?;
    let mtime = meta.modified().map_err(read)?;
    if now.duration_since(mtime).unwrap_or_default() < opts.older_than {
        return Ok(Outcome::Recent);
    }
    if let Ok(m) = fs::metadata(copy)
        && m.modified().ok() == Some(mtime)
        && m.mode() & 0o777 == 0o600
    {
        return Ok(Outcome::UpToDate);
    }
    if opts.dry_run {
        return Ok(Outcome::WouldWrite);
    }
    let write = |action: &'static str| move |e| (false, Error::io(copy, action, e));
    let dir = copy.parent().unwrap_or(Path::new("."));
    layout::create_private_dir(dir).map_err(|e| (false, e))?;
    let (tmp, out) = layout::create_temp(dir, PRESERVE_TEMP).map_err(|e| (false, e))?;
    // Gone once renamed into place; removed here if anything fails before.
    let _guard = archive::TempGuard(&tmp);
    let source = archive::compress(&file, meta.len(), out, opts).map_err(|e| match e {
        CompressError::Read(e) => read(e),
        CompressError::Write(e) => (false, Error::io(copy, "writing", e)),
    })?;
    let written = archive::content_checksum_zst(&tmp).map_err(|e| (false, e))?;
    if written != source {
        return Err((
            false,
            Error::io(
                copy,
                "verifying",
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the copy does not decompress to the original; not kept",
                ),
            ),
        ));
    }
    let tmp_file = File::options()
        .write(true)
        .open(&tmp)
        .map_err(write("opening"))?;
    tmp_file
        .set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(write("setting mode"))?;
    // The original's mtime tells which version the copy holds (see `UpToDate`).
    tmp_file
        .set_modified(mtime)
        .map_err(write("setting mtime"))?;
    tmp_file.sync_all().map_err(write("syncing"))?;
    // The copy is rolldex's own: replacing an older one by rename is atomic.
    fs::rename(&tmp, copy).map_err(write("putting in place"))?;
    crate::recorder::sync_dir(dir).map_err(|e| (false, e))?;
    Ok(Outcome::Written(Preserved {
        original: original.to_path_buf(),
        copy: copy.to_path_buf(),
        checksum: source.to_string(),
        bytes_in: source.len,
        bytes_out: fs::metadata(copy).map(|m| m.len()).unwrap_or_default(),
    }))
}

/// Puts the original of `copy` back at `original`, byte for byte: decompressed into a
/// temp file beside it (its folder made if needed), checked against the copy, given the
/// copy's mtime, and linked into place, never over an existing file. Returns the path.
pub fn restore(copy: &Path, original: &Path) -> Result<PathBuf> {
    let dir = original.parent().unwrap_or(Path::new("."));
    layout::create_private_dir(dir)?;
    let (tmp, mut out) = layout::create_temp(dir, layout::RESTORE_TEMP)?;
    // The temp name goes once linked into place, or on failure.
    let guard = archive::TempGuard(&tmp);
    // A copy is always zstd, whatever its name (a stored output's is `.txt.zst`).
    let mut src = File::open(copy)
        .and_then(zstd::stream::read::Decoder::new)
        .map_err(|e| Error::io(copy, "opening", e))?;
    io::copy(&mut src, &mut out).map_err(|e| Error::io(copy, "decompressing", e))?;
    out.flush().map_err(|e| Error::io(&tmp, "writing", e))?;
    let want: Checksum = archive::content_checksum_zst(copy)?;
    let got = archive::content_checksum(&tmp)?;
    if want != got {
        return Err(Error::io(
            original,
            "restoring",
            io::Error::new(io::ErrorKind::InvalidData, "the restored bytes differ"),
        ));
    }
    if let Ok(m) = fs::metadata(copy).and_then(|m| m.modified()) {
        out.set_modified(m)
            .map_err(|e| Error::io(&tmp, "setting mtime", e))?;
    }
    out.set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::io(&tmp, "setting mode", e))?;
    out.sync_all().map_err(|e| Error::io(&tmp, "syncing", e))?;
    match fs::hard_link(&tmp, original) {
        Ok(()) => {}
        // Put back meanwhile (or the agent wrote it again): that one stands.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::io(original, "putting back", e)),
    }
    drop(guard);
    crate::recorder::sync_dir(dir)?;
    Ok(original.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_copy_is_verified_private_refreshed_when_the_original_changes_and_restores_exactly() {
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path().join(".claude");
        let data = dir.path().join("data");
        let original = root.join("projects/-p/0b5e1c2d-1111-4222-8333-444455556666.jsonl");
        fs::create_dir_all(original.parent().expect("dir")).expect("mkdir");
        fs::write(&original, b"{\"type\":\"user\"}\n").expect("write");
        let opts = ArchiveOptions {
            older_than: Duration::ZERO,
            ..Default::default()
        };
        let mut report = PreserveReport::default();
        preserve(Agent::Claude, &root, &data, &opts, &mut report);
        assert_eq!(report.preserved.len(), 1, "{report:?}");
        let copy = &report.preserved[0].copy;
        assert_eq!(
            copy_path(&data, Agent::Claude, &root, &original).as_ref(),
            Some(copy)
        );
        assert_eq!(
            fs::metadata(copy).expect("copy").mode() & 0o777,
            0o600,
            "private"
        );
        let mut again = PreserveReport::default();
        preserve(Agent::Claude, &root, &data, &opts, &mut again);
        assert_eq!((again.preserved.len(), again.up_to_date), (0, 1));
        // The original grows: the next run refreshes the copy.
        fs::write(
            &original,
            b"{\"type\":\"user\"}\n{\"type\":\"assistant\"}\n",
        )
        .expect("grow");
        let t = SystemTime::now() - Duration::from_secs(5);
        File::options()
            .write(true)
            .open(&original)
            .and_then(|f| f.set_modified(t))
            .expect("mtime");
        let mut grown = PreserveReport::default();
        preserve(Agent::Claude, &root, &data, &opts, &mut grown);
        assert_eq!(grown.preserved.len(), 1);
        let bytes = fs::read(&original).expect("read");
        fs::remove_file(&original).expect("the agent deletes it");
        assert_eq!(
            original_path(&data, Agent::Claude, &root, copy).as_deref(),
            Some(original.as_path())
        );
        restore(copy, &original).expect("restore");
        assert_eq!(fs::read(&original).expect("read"), bytes, "byte for byte");

        // A killed run's temp file goes once it is stale; a fresh one (a live run's) stays.
        let store = copy.parent().expect("dir");
        let stale = store.join(".rolldex-preserve-dead.tmp");
        let fresh = store.join(".rolldex-preserve-live.tmp");
        for t in [&stale, &fresh] {
            fs::write(t, b"partial").expect("temp");
        }
        File::options()
            .write(true)
            .open(&stale)
            .and_then(|f| f.set_modified(SystemTime::now() - Duration::from_secs(7200)))
            .expect("mtime");
        let mut cleaned = PreserveReport::default();
        preserve(Agent::Claude, &root, &data, &opts, &mut cleaned);
        assert_eq!(cleaned.temps_removed, 1);
        assert!(!stale.exists() && fresh.exists());
    }
}

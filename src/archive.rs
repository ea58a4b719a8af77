//! The archive job: compresses old rollouts with zstd, one verified file at a time.
//!
//! For each plain rollout older than the threshold, in this order:
//! 1. skip it if a recorder holds its lock (a live session) or it was written recently;
//! 2. hold a shared lock on it (a recorder cannot start appending meanwhile);
//! 3. compress exactly its current length into a temp file in the same folder (0600), then
//!    fsync;
//! 4. **verify**: decompress the temp file fully and compare length and checksum with what
//!    was read from the source;
//! 5. check the source did not change meanwhile (size, mtime, inode);
//! 6. give the temp file the source's mtime and the owner's bits of its mode, hard-link it
//!    into place as `X.zst` (which never overwrites), fsync the folder;
//! 7. check the source once more, and only then remove it and fsync the folder.
//!
//! A crash at any point leaves the original, or a verified `.zst` beside it (a twin the next
//! run finishes by checking it against the original), and at worst a temp file that the next
//! run removes. A failure on one file is reported and never stops the others.
//!
//! The output is a standard zstd frame that stock `zstd -d` reads with default limits:
//! window at most 2^27 bytes, no dictionary, with a content checksum.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use xxhash_rust::xxh3::Xxh3;

use crate::error::{Error, Result};
use crate::layout;
use crate::recorder::sync_dir;

/// Largest window a stock zstd decoder accepts without `--long`: 2^27 bytes.
pub const WINDOW_LOG: u32 = 27;
/// The default level, chosen by measurement on 68 MB of synthetic rollouts (2 cores, long
/// matching, window 2^27): level 3 gave ratio 2.97 in 0.45 s, 6 gave 3.04 in 0.97 s, 9 gave
/// 3.10 in 1.41 s, 12 gave 3.16 in 3.06 s (`zstd -19`: 3.26 in 37 s; `zstd -3 -T1`: 2.96 in
/// 0.66 s). Level 3 has by far the best ratio per second; `--level` trades time for the rest.
pub const DEFAULT_LEVEL: i32 = 3;
/// Restore and create temp files older than this are leftovers of a crashed `resume` or
/// recorder.
const STALE_TEMP: Duration = Duration::from_secs(3600);
/// Read and verify in chunks this big: memory stays bounded whatever the file size.
const CHUNK: usize = 1 << 20;
/// Purpose in the names of this job's temp files (see [`layout::create_temp`]).
const ARCHIVE_TEMP: &str = "archive";
/// Name of the lock file that keeps two archive runs apart, in the home.
pub const LOCK_NAME: &str = ".rolldex-archive.lock";

/// What an archive run should do.
#[derive(Debug, Clone)]
pub struct ArchiveOptions {
    /// Compress files whose last write is older than this.
    pub older_than: Duration,
    /// Report what would be compressed, change nothing.
    pub dry_run: bool,
    /// zstd level (1..=22).
    pub level: i32,
    /// Compression threads (0 = single-threaded in the caller).
    pub workers: u32,
}

impl Default for ArchiveOptions {
    fn default() -> Self {
        ArchiveOptions {
            older_than: Duration::from_secs(30 * 86_400),
            dry_run: false,
            level: DEFAULT_LEVEL,
            workers: std::thread::available_parallelism()
                .map(|n| n.get() as u32)
                .unwrap_or(1)
                .min(4),
        }
    }
}

/// Why a file was left as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SkipReason {
    /// Written more recently than the threshold.
    Recent,
    /// A recorder holds its lock: the session is live.
    Live,
    /// It changed while being compressed; the next run will try again.
    Changed,
    /// A `.zst` beside it holds different content; both are left for a person to look at.
    TwinDiffers,
}

impl SkipReason {
    /// A short snake_case name, for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Recent => "recent",
            SkipReason::Live => "live",
            SkipReason::Changed => "changed_during_compression",
            SkipReason::TwinDiffers => "differs_from_zst_twin",
        }
    }
}

/// A file compressed (or, for a twin left by a crashed run, found already compressed).
#[derive(Debug, Clone)]
pub struct Compressed {
    /// The original, now removed.
    pub plain: PathBuf,
    /// The compressed file.
    pub zst: PathBuf,
    /// Bytes of the original.
    pub bytes_in: u64,
    /// Bytes of the `.zst`.
    pub bytes_out: u64,
    /// Checksum of the content, see [`Checksum`].
    pub checksum: String,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct ArchiveReport {
    /// Files compressed.
    pub compressed: Vec<Compressed>,
    /// With `dry_run`: the files that would be compressed.
    pub would_compress: Vec<PathBuf>,
    /// Files left as they are, and why.
    pub skipped: Vec<(PathBuf, SkipReason)>,
    /// Files that failed for a reason other than their own (a write, a lock, a verification
    /// that did not match); their originals are untouched. Any of these fails the run.
    pub errors: Vec<Error>,
    /// Files or folders that could not be read (opened, read to the end, listed); left as
    /// they are. The rest of the run was done.
    pub unreadable: Vec<Error>,
    /// Leftover temp files of crashed runs, removed.
    pub temps_removed: Vec<PathBuf>,
    /// Bytes of the originals compressed.
    pub bytes_in: u64,
    /// Bytes of their `.zst` files.
    pub bytes_out: u64,
    /// Wall time.
    pub seconds: f64,
}

/// Length and xxh3-128 of a byte stream: the content checksum kept in the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checksum {
    /// Bytes read.
    pub len: u64,
    /// xxh3-128 of them.
    pub hash: u128,
}

impl std::fmt::Display for Checksum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "xxh3-128:{:032x}", self.hash)
    }
}

/// Reads `r` to the end, returning its length and checksum.
pub fn checksum(mut r: impl Read) -> io::Result<Checksum> {
    let mut hasher = Xxh3::new();
    let mut buf = vec![0u8; CHUNK];
    let mut len = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        len += n as u64;
    }
    Ok(Checksum {
        len,
        hash: hasher.digest128(),
    })
}

/// The checksum of a rollout's content (decompressed for `.zst`).
pub fn content_checksum(path: &Path) -> Result<Checksum> {
    let stream = crate::reader::open_stream(path)?;
    let action = if layout::is_compressed(path) {
        "decompressing"
    } else {
        "reading"
    };
    checksum(stream).map_err(|e| Error::io(path, action, e))
}

/// Takes the archive lock in `home`, or fails at once if another run holds it.
fn lock_run(home: &Path) -> Result<File> {
    let path = home.join(LOCK_NAME);
    let file = layout::open_lock_file(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(Error::Busy {
            path,
            what: "another `rolldex archive` is running",
        }),
        Err(fs::TryLockError::Error(e)) => Err(Error::io(&path, "taking the archive lock", e)),
    }
}

/// How far a job over files is (archive, verify, forget), for a progress display.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    /// Files done.
    pub files: u64,
    /// Files in all.
    pub total_files: u64,
    /// Bytes done.
    pub bytes: u64,
    /// Bytes in all.
    pub total_bytes: u64,
}

/// Compresses every plain rollout under `home` older than `opts.older_than`.
/// `on_compressed` is called after each file is done (to update the index).
pub fn run(
    home: &Path,
    opts: &ArchiveOptions,
    on_compressed: &mut dyn FnMut(&Compressed),
) -> Result<ArchiveReport> {
    run_with_progress(home, opts, on_compressed, &mut |_| {})
}

/// [`run`], telling `progress` after each file.
pub fn run_with_progress(
    home: &Path,
    opts: &ArchiveOptions,
    on_compressed: &mut dyn FnMut(&Compressed),
    progress: &mut dyn FnMut(Progress),
) -> Result<ArchiveReport> {
    let started = Instant::now();
    let mut report = ArchiveReport::default();
    if !home.is_dir() {
        return Err(Error::io(
            home,
            "opening the home",
            io::Error::new(io::ErrorKind::NotFound, "no such folder"),
        ));
    }
    let _lock = lock_run(home)?;
    if !opts.dry_run {
        remove_leftovers(home, &mut report);
    }
    let (files, walk_errors) = layout::walk_rollouts(home);
    report.unreadable.extend(walk_errors);
    let now = SystemTime::now();
    let plains: Vec<(PathBuf, u64)> = files
        .into_iter()
        .filter(|f| !layout::is_compressed(f))
        .map(|f| {
            let len = fs::metadata(&f).map(|m| m.len()).unwrap_or(0);
            (f, len)
        })
        .collect();
    let mut p = Progress {
        total_files: plains.len() as u64,
        total_bytes: plains.iter().map(|(_, l)| l).sum(),
        ..Default::default()
    };
    for (plain, len) in plains {
        let outcome = archive_file(&plain, opts, now, &mut |_| Ok(()));
        p.files += 1;
        p.bytes += len;
        progress(p);
        match outcome {
            Ok(Outcome::Compressed(c)) => {
                report.bytes_in += c.bytes_in;
                report.bytes_out += c.bytes_out;
                on_compressed(&c);
                report.compressed.push(c);
            }
            Ok(Outcome::Skipped(reason)) => report.skipped.push((plain, reason)),
            Ok(Outcome::WouldCompress) => report.would_compress.push(plain),
            Err(e) if unreadable_source(&e, &plain) => report.unreadable.push(e),
            Err(e) => report.errors.push(e),
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Whether compressing `plain` failed because `plain` itself could not be read (the file's
/// problem, reported and skipped) rather than on writing or verifying its copy (the run's).
fn unreadable_source(e: &Error, plain: &Path) -> bool {
    matches!(e, Error::Io { path, action, .. }
        if path == plain && [OPENING, READING_METADATA, READING_MTIME, READING].contains(action))
}

/// What [`archive_file`] was doing when the original could not be read.
const OPENING: &str = "opening";
/// See [`OPENING`].
const READING_METADATA: &str = "reading metadata";
/// See [`OPENING`].
const READING_MTIME: &str = "reading mtime";
/// See [`OPENING`].
const READING: &str = "reading";

/// The mode of a `.zst` made from a file of mode `original`: the owner's read and write
/// bits only. Rollouts hold secrets, and a file written by another tool with a loose umask
/// should not stay readable by the group in its compressed form; a read-only original
/// stays read-only, and the owner can always read the archive back.
fn private_mode(original: u32) -> u32 {
    (original & 0o600) | 0o400
}

/// Removes temp files left by crashed runs:
/// - an archive temp always (none can be live: we hold the archive lock);
/// - a restore temp once it is an hour old (a partial copy: its `.zst` is removed only
///   after the restored file is linked into place);
/// - a create temp once it is an hour old and either empty (the recorder died before
///   linking it) or a second name of its rollout (it died before dropping the name).
///
/// Anything else under a temp name is left alone: it might be the only copy of something.
fn remove_leftovers(home: &Path, report: &mut ArchiveReport) {
    // A folder that cannot be listed is reported once, by the walk for rollouts that
    // follows.
    let (temps, _) = layout::walk_named(home, layout::is_temp_name);
    for t in temps {
        let name = t.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let purpose = |p: &str| name.starts_with(&format!("{}{p}-", layout::TEMP_PREFIX));
        let Ok(meta) = fs::symlink_metadata(&t) else {
            continue;
        };
        let old = meta
            .modified()
            .ok()
            .and_then(|m| m.elapsed().ok())
            .is_some_and(|age| age > STALE_TEMP);
        let remove = meta.is_file()
            && if purpose(ARCHIVE_TEMP) {
                true
            } else if purpose(layout::CREATE_TEMP) {
                old && (meta.len() == 0 || meta.nlink() > 1)
            } else {
                old
            };
        if !remove {
            continue;
        }
        match fs::remove_file(&t) {
            Ok(()) => report.temps_removed.push(t),
            Err(e) => report
                .errors
                .push(Error::io(&t, "removing a leftover temp file", e)),
        }
    }
}

/// What happened to one file.
#[derive(Debug)]
enum Outcome {
    Compressed(Compressed),
    Skipped(SkipReason),
    WouldCompress,
}

/// Points in [`archive_file`] where tests inject faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The temp file is written and verified; the source is about to be re-checked.
    Verified,
}

/// Removes a temp file's name when dropped: after a failure, or once the file was linked
/// or renamed to its real name (then there is nothing left to remove).
pub(crate) struct TempGuard<'a>(pub(crate) &'a Path);

impl Drop for TempGuard<'_> {
    fn drop(&mut self) {
        let _ = fs::remove_file(self.0);
    }
}

/// Size, mtime and inode: what tells that a file changed or was replaced.
fn identity(m: &fs::Metadata) -> (u64, i64, i64, u64, u64) {
    (m.len(), m.mtime(), m.mtime_nsec(), m.ino(), m.dev())
}

fn archive_file(
    plain: &Path,
    opts: &ArchiveOptions,
    now: SystemTime,
    hook: &mut dyn FnMut(Stage) -> Result<()>,
) -> Result<Outcome> {
    let file = File::open(plain).map_err(|e| Error::io(plain, OPENING, e))?;
    let meta = file
        .metadata()
        .map_err(|e| Error::io(plain, READING_METADATA, e))?;
    let mtime = meta
        .modified()
        .map_err(|e| Error::io(plain, READING_MTIME, e))?;
    if now.duration_since(mtime).unwrap_or_default() < opts.older_than {
        return Ok(Outcome::Skipped(SkipReason::Recent));
    }
    // A recorder holds an exclusive lock on its live file; a shared one here keeps a
    // recorder from starting on it while we work.
    match file.try_lock_shared() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => return Ok(Outcome::Skipped(SkipReason::Live)),
        Err(fs::TryLockError::Error(e)) => return Err(Error::io(plain, "locking", e)),
    }
    if opts.dry_run {
        return Ok(Outcome::WouldCompress);
    }
    let dir = plain.parent().unwrap_or(Path::new("."));
    let zst = layout::zst_path(plain);
    if fs::symlink_metadata(&zst).is_ok() {
        return finish_twin(plain, &file, &meta, &zst);
    }

    let (tmp, out) = layout::create_temp(dir, ARCHIVE_TEMP)?;
    let _guard = TempGuard(&tmp);
    let source = compress(&file, meta.len(), out, opts).map_err(|e| match e {
        CompressError::Read(e) => Error::io(plain, READING, e),
        CompressError::Write(e) => Error::io(plain, "writing its compressed copy", e),
    })?;
    if source.len != meta.len() {
        // Shorter than when we looked: truncated or replaced.
        return Ok(Outcome::Skipped(SkipReason::Changed));
    }
    let written = content_checksum_zst(&tmp)?;
    if written != source {
        return Err(Error::io(
            &tmp,
            "verifying",
            io::Error::new(
                io::ErrorKind::InvalidData,
                "the compressed copy does not decompress to the original; original kept",
            ),
        ));
    }
    hook(Stage::Verified)?;
    let unchanged = |path: &Path| {
        fs::metadata(path)
            .map(|m| identity(&m) == identity(&meta))
            .unwrap_or(false)
    };
    if !unchanged(plain) {
        return Ok(Outcome::Skipped(SkipReason::Changed));
    }
    let tmp_file = File::options()
        .write(true)
        .open(&tmp)
        .map_err(|e| Error::io(&tmp, "opening", e))?;
    tmp_file
        .set_modified(mtime)
        .map_err(|e| Error::io(&tmp, "setting mtime", e))?;
    tmp_file
        .set_permissions(fs::Permissions::from_mode(private_mode(
            meta.permissions().mode(),
        )))
        .map_err(|e| Error::io(&tmp, "setting mode", e))?;
    tmp_file
        .sync_all()
        .map_err(|e| Error::io(&tmp, "syncing", e))?;
    // A hard link never replaces an existing file, unlike rename.
    match fs::hard_link(&tmp, &zst) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Ok(Outcome::Skipped(SkipReason::Changed));
        }
        Err(e) => return Err(Error::io(&zst, "linking into place", e)),
    }
    sync_dir(dir)?;
    if !unchanged(plain) {
        // Written to in the last instant: the .zst is ours and stale; the original stays.
        fs::remove_file(&zst).map_err(|e| Error::io(&zst, "removing a stale copy", e))?;
        sync_dir(dir)?;
        return Ok(Outcome::Skipped(SkipReason::Changed));
    }
    fs::remove_file(plain).map_err(|e| Error::io(plain, "removing the original", e))?;
    sync_dir(dir)?;
    let bytes_out = fs::metadata(&zst).map(|m| m.len()).unwrap_or_default();
    Ok(Outcome::Compressed(Compressed {
        plain: plain.to_path_buf(),
        zst,
        bytes_in: source.len,
        bytes_out,
        checksum: source.to_string(),
    }))
}

/// A `.zst` already sits beside the original (a crashed run, or a copy made by hand): when
/// it holds exactly the original's bytes, the run that made it is finished by removing the
/// original; otherwise both stay.
fn finish_twin(plain: &Path, file: &File, meta: &fs::Metadata, zst: &Path) -> Result<Outcome> {
    let source = checksum(file).map_err(|e| Error::io(plain, "reading", e))?;
    let twin = match content_checksum(zst) {
        Ok(c) => c,
        Err(_) => return Ok(Outcome::Skipped(SkipReason::TwinDiffers)),
    };
    if twin != source {
        return Ok(Outcome::Skipped(SkipReason::TwinDiffers));
    }
    let still = fs::metadata(plain)
        .map(|m| identity(&m) == identity(meta))
        .unwrap_or(false);
    if !still {
        return Ok(Outcome::Skipped(SkipReason::Changed));
    }
    fs::remove_file(plain).map_err(|e| Error::io(plain, "removing the original", e))?;
    let dir = plain.parent().unwrap_or(Path::new("."));
    sync_dir(dir)?;
    Ok(Outcome::Compressed(Compressed {
        plain: plain.to_path_buf(),
        zst: zst.to_path_buf(),
        bytes_in: source.len,
        bytes_out: fs::metadata(zst).map(|m| m.len()).unwrap_or_default(),
        checksum: source.to_string(),
    }))
}

pub(crate) fn content_checksum_zst(path: &Path) -> Result<Checksum> {
    let file = File::open(path).map_err(|e| Error::io(path, "opening", e))?;
    let dec = zstd::stream::read::Decoder::new(file)
        .map_err(|e| Error::io(path, "starting decompression", e))?;
    checksum(dec).map_err(|e| Error::io(path, "verifying", e))
}

/// Why [`compress`] failed: reading the source, or writing the copy.
pub(crate) enum CompressError {
    Read(io::Error),
    Write(io::Error),
}

/// Compresses the first `len` bytes of `src` into `out` (synced), returning the checksum of
/// what was read.
pub(crate) fn compress(
    src: &File,
    len: u64,
    out: File,
    opts: &ArchiveOptions,
) -> std::result::Result<Checksum, CompressError> {
    use CompressError::{Read as R, Write as W};
    let mut enc =
        zstd::stream::write::Encoder::new(BufWriter::with_capacity(CHUNK, out), opts.level)
            .map_err(W)?;
    enc.include_checksum(true).map_err(W)?;
    enc.include_contentsize(true).map_err(W)?;
    enc.set_pledged_src_size(Some(len)).map_err(W)?;
    // Rollouts repeat earlier history megabytes apart (compaction, resent context).
    enc.long_distance_matching(true).map_err(W)?;
    enc.window_log(WINDOW_LOG.min(window_for(len))).map_err(W)?;
    if opts.workers > 1 {
        enc.multithread(opts.workers).map_err(W)?;
    }
    let mut hasher = Xxh3::new();
    let mut buf = vec![0u8; CHUNK];
    let mut read = 0u64;
    let mut src = src.take(len);
    loop {
        let n = match src.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(R(e)),
        };
        hasher.update(&buf[..n]);
        read += n as u64;
        enc.write_all(&buf[..n]).map_err(W)?;
    }
    if read != len {
        // The pledged size would not match; the caller sees the short length and skips.
        return Ok(Checksum {
            len: read,
            hash: hasher.digest128(),
        });
    }
    let out = enc.finish().map_err(W)?;
    let file = out.into_inner().map_err(|e| W(e.into_error()))?;
    file.sync_all().map_err(W)?;
    Ok(Checksum {
        len: read,
        hash: hasher.digest128(),
    })
}

/// A window no bigger than the file needs (smaller windows decode with less memory).
fn window_for(len: u64) -> u32 {
    let bits = 64 - len.max(1).leading_zeros();
    bits.clamp(10, WINDOW_LOG)
}

/// One problem `verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file.
    pub path: PathBuf,
    /// The line, for a line that does not parse.
    pub line: Option<u64>,
    /// What is wrong.
    pub what: String,
}

/// What `verify` found.
#[derive(Debug, Default)]
pub struct VerifyReport {
    /// Files read.
    pub files: u64,
    /// Decompressed bytes read.
    pub bytes: u64,
    /// Problems, with their path (and line).
    pub problems: Vec<Problem>,
}

/// Re-reads each file: it must decode to the end, match its stored content checksum (when
/// one is stored: files the archive job compressed), and every line must parse.
pub fn verify(files: &[(PathBuf, Option<String>)]) -> VerifyReport {
    verify_with_progress(files, &mut |_| {})
}

/// [`verify`], telling `progress` after each file.
pub fn verify_with_progress(
    files: &[(PathBuf, Option<String>)],
    progress: &mut dyn FnMut(Progress),
) -> VerifyReport {
    let mut report = VerifyReport::default();
    let mut p = Progress {
        total_files: files.len() as u64,
        total_bytes: files
            .iter()
            .filter_map(|(f, _)| fs::metadata(f).ok())
            .map(|m| m.len())
            .sum(),
        ..Default::default()
    };
    for (path, stored) in files {
        p.files += 1;
        p.bytes += fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        progress(p);
        report.files += 1;
        let problem = |what: String| Problem {
            path: path.clone(),
            line: None,
            what,
        };
        match content_checksum(path) {
            Ok(c) => {
                report.bytes += c.len;
                if let Some(stored) = stored
                    && *stored != c.to_string()
                {
                    report.problems.push(problem(format!(
                        "content checksum {c} differs from the one recorded when it was archived ({stored})"
                    )));
                }
            }
            Err(e) => {
                report.problems.push(problem(e.to_string()));
                continue;
            }
        }
        let mut reader = match crate::reader::RolloutReader::open(path) {
            Ok(r) => r,
            Err(e) => {
                report.problems.push(problem(e.to_string()));
                continue;
            }
        };
        while let Some(entry) = reader.next_entry() {
            match entry {
                Ok(crate::reader::Entry::Malformed(e)) => report.problems.push(Problem {
                    path: path.clone(),
                    line: Some(e.line),
                    what: e.kind.to_string(),
                }),
                Ok(_) => {}
                Err(e) => {
                    report.problems.push(problem(e.to_string()));
                    break;
                }
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn old_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        fs::write(&p, bytes).expect("write");
        let f = File::options().write(true).open(&p).expect("open");
        f.set_modified(SystemTime::now() - Duration::from_secs(90 * 86_400))
            .expect("mtime");
        p
    }

    fn opts() -> ArchiveOptions {
        ArchiveOptions {
            level: 3,
            ..Default::default()
        }
    }

    #[test]
    fn a_file_appended_during_compression_is_left_whole_and_uncompressed() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = old_file(dir.path(), "rollout-x.jsonl", b"{\"type\":\"message\"}\n");
        let out = archive_file(&p, &opts(), SystemTime::now(), &mut |stage| {
            assert_eq!(stage, Stage::Verified);
            let mut f = File::options().append(true).open(&p).expect("open");
            f.write_all(b"{\"late\":1}\n").expect("append");
            Ok(())
        })
        .expect("no error");
        assert!(
            matches!(out, Outcome::Skipped(SkipReason::Changed)),
            "{out:?}"
        );
        assert_eq!(
            fs::read(&p).expect("read"),
            b"{\"type\":\"message\"}\n{\"late\":1}\n"
        );
        let left: Vec<_> = fs::read_dir(dir.path()).expect("ls").collect();
        assert_eq!(left.len(), 1, "no .zst and no temp file left");
    }

    #[test]
    fn archives_keep_only_the_owners_bits_and_stay_readable() {
        assert_eq!(private_mode(0o100644), 0o600);
        assert_eq!(private_mode(0o100600), 0o600);
        assert_eq!(private_mode(0o100444), 0o400);
        assert_eq!(private_mode(0o100200), 0o600);
        assert_eq!(private_mode(0o104777), 0o600, "no setuid or sticky bits");
    }

    #[test]
    fn a_failed_step_keeps_the_original_and_removes_the_temp_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = old_file(dir.path(), "rollout-y.jsonl", b"line\n");
        let err = archive_file(&p, &opts(), SystemTime::now(), &mut |_| {
            Err(Error::BadArgument("injected".into()))
        })
        .expect_err("fails");
        assert!(err.to_string().contains("injected"));
        assert_eq!(fs::read(&p).expect("read"), b"line\n");
        assert_eq!(fs::read_dir(dir.path()).expect("ls").count(), 1);
    }

    #[test]
    fn compression_round_trips_every_byte_with_a_standard_frame() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut bytes = b"{\"a\":\"\xff\xfe not utf-8\"}\n".to_vec();
        for i in 0..2000 {
            bytes.extend_from_slice(
                format!("{{\"n\":{i},\"pad\":\"{}\"}}\n", "x".repeat(i % 97)).as_bytes(),
            );
        }
        bytes.extend_from_slice(b"{\"torn\":");
        let p = old_file(dir.path(), "rollout-z.jsonl", &bytes);
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).expect("chmod");
        let mtime = fs::metadata(&p).and_then(|m| m.modified()).expect("mtime");
        let out = archive_file(&p, &opts(), SystemTime::now(), &mut |_| Ok(())).expect("ok");
        let Outcome::Compressed(c) = out else {
            panic!("not compressed: {out:?}")
        };
        assert!(!p.exists());
        let z = fs::read(&c.zst).expect("read zst");
        // Decodes with default limits and carries a checksum and the content size.
        assert_eq!(zstd::decode_all(&z[..]).expect("decode"), bytes);
        let header = zstd::zstd_safe::get_frame_content_size(&z).expect("header");
        assert_eq!(header, Some(bytes.len() as u64));
        assert_eq!(c.bytes_in, bytes.len() as u64);
        // The mtime carries over; the mode keeps only the owner's bits.
        let meta = fs::metadata(&c.zst).expect("meta");
        assert_eq!(meta.permissions().mode() & 0o7777, 0o600);
        assert_eq!(meta.modified().expect("mtime"), mtime);
    }
}

//! Finding what can have changed on disk, in time proportional to what can have changed.
//!
//! A complete walk lists every folder and examines every file: ~10 ms per thousand files,
//! paid by every query when nothing changed. The fast walk uses two facts. A folder's mtime
//! changes whenever a file is created, removed or renamed in it, so a folder whose mtime is
//! the one recorded last time holds the same names, and its listing comes from the index.
//! And a `.zst` changes only by being renamed or removed (it is never appended to), which
//! its folder's mtime shows, so only plain `.jsonl` files, which Codex appends to even in
//! old folders when a session is resumed, are examined. What the fast walk cannot see (a
//! `.zst` rewritten in place) the complete walk of `rolldex index` does.
//!
//! A folder's mtime is read before it is listed: a file created meanwhile changes the
//! mtime after the reading, so the next walk lists the folder again. Mtimes are compared
//! for equality, never order, so a clock that goes backwards is a change too.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::agents::Agent;
use crate::error::Error;
#[cfg(test)]
use crate::layout;

/// A file as the index knew it: path, size, mtime, and whether it is a `.zst` that need
/// not be examined.
pub type KnownFile = (String, i64, i64, bool);

/// What the index knew of the folders and files at the last walk.
#[derive(Debug, Default)]
pub struct Known {
    /// Folder path to its mtime then.
    pub dirs: HashMap<String, i64>,
    /// Folder path to its files then.
    pub files: HashMap<String, Vec<KnownFile>>,
    /// Files among `files` that have no index row: known failures, examined to see whether
    /// they changed.
    pub failure_only: std::collections::HashSet<String>,
}

impl Known {
    fn subdirs(&self) -> HashMap<&str, Vec<&str>> {
        let mut out: HashMap<&str, Vec<&str>> = HashMap::new();
        for d in self.dirs.keys() {
            if let Some(parent) = Path::new(d).parent().and_then(|p| p.to_str()) {
                out.entry(parent).or_default().push(d.as_str());
            }
        }
        out
    }
}

/// A file as found: its size and mtime (ns), or why it could not be examined.
pub type Found = (PathBuf, io::Result<(i64, i64)>);

/// What a walk found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Every rollout file.
    pub files: Vec<Found>,
    /// Every folder walked, with its mtime read before listing it.
    pub dirs: Vec<(PathBuf, i64)>,
    /// Folders that could not be listed.
    pub errors: Vec<Error>,
    /// Folders listed from disk (the others came from the index).
    pub listed: u64,
    /// Files in `files` whose size and mtime are still the index's, to be examined.
    unexamined: Vec<usize>,
    /// Files taken from the index (in unchanged folders) that were examined and found
    /// otherwise than the index had them (or could not be examined).
    pub differs: usize,
}

fn mtime_ns(m: &fs::Metadata) -> i64 {
    m.mtime() * 1_000_000_000 + m.mtime_nsec()
}

/// Walks the session folders of every agent root (`roots`: each agent with its root,
/// e.g. Codex's `sessions/` and `archived_sessions/` under its home). With `known`,
/// folders whose mtime did not change are not listed and their `.zst` files not examined.
pub fn scan(roots: &[(Agent, PathBuf)], known: Option<&Known>) -> Scan {
    let mut scan = Scan::default();
    let subdirs = known.map(Known::subdirs).unwrap_or_default();
    for (agent, root) in roots {
        let connector = crate::agents::of(*agent);
        for (top, depth) in connector.session_dirs(root) {
            let walk = Walk {
                known,
                subdirs: &subdirs,
                connector,
                max_depth: depth,
            };
            walk.visit(&top, 0, &mut scan);
        }
    }
    examine_all(&mut scan);
    scan
}

/// What a walk of one agent's folder knows.
struct Walk<'a> {
    known: Option<&'a Known>,
    subdirs: &'a HashMap<&'a str, Vec<&'a str>>,
    connector: &'static dyn crate::agents::Connector,
    /// Deepest folder level walked (Codex: YYYY/MM/DD plus room).
    max_depth: usize,
}

/// Below this many files, a second thread costs more than it saves.
const PARALLEL_FROM: usize = 512;

/// Examines the plain files of unchanged folders. Each examination is one system call;
/// at thousands of files they are most of a query's time, and two cores make them in
/// half the time.
fn examine_all(scan: &mut Scan) {
    let todo = std::mem::take(&mut scan.unexamined);
    let results: Vec<io::Result<(i64, i64)>> = if todo.len() < PARALLEL_FROM {
        examine_run(&scan.files, &todo)
    } else {
        let (first, second) = todo.split_at(todo.len() / 2);
        let files = &scan.files;
        std::thread::scope(|s| {
            let other = std::thread::Builder::new()
                .name("rolldex-stat".into())
                .spawn_scoped(s, || examine_run(files, second));
            let mut out = examine_run(files, first);
            match other.map(|h| h.join()) {
                Ok(Ok(rest)) => out.extend(rest),
                // No second thread (or it died): this one does its half too.
                _ => out.extend(examine_run(files, second)),
            }
            out
        })
    };
    for (i, found) in todo.into_iter().zip(results) {
        let slot = &mut scan.files[i].1;
        if !matches!((&*slot, &found), (Ok(was), Ok(now)) if was == now) {
            scan.differs += 1;
        }
        *slot = found;
    }
}

/// Examines `files[i]` for each `i` of `todo`, folder after folder (the walk pushed them
/// so): each by its name in its open folder, one lookup for the kernel instead of one per
/// component of the path.
fn examine_run(files: &[Found], todo: &[usize]) -> Vec<io::Result<(i64, i64)>> {
    let mut folder: Option<(&Path, Option<rustix::fd::OwnedFd>)> = None;
    todo.iter()
        .map(|&i| {
            let path = files[i].0.as_path();
            let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
                return examine(path);
            };
            if folder.as_ref().is_none_or(|(p, _)| *p != parent) {
                folder = Some((parent, open_folder(parent)));
            }
            match folder.as_ref().and_then(|(_, fd)| fd.as_ref()) {
                // The fields' types differ by platform (i64 here, narrower on some).
                #[allow(clippy::unnecessary_cast)]
                Some(fd) => rustix::fs::statat(fd, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
                    .map(|st| {
                        (
                            st.st_size as i64,
                            st.st_mtime as i64 * 1_000_000_000 + st.st_mtime_nsec as i64,
                        )
                    })
                    .map_err(io::Error::from),
                // The folder cannot be opened: by path, which says why.
                None => examine(path),
            }
        })
        .collect()
}

fn examine(path: &Path) -> io::Result<(i64, i64)> {
    fs::symlink_metadata(path).map(|m| (m.len() as i64, mtime_ns(&m)))
}

/// A folder's handle to look names up in (on Linux a path-only handle: no read access
/// needed, nothing read).
fn open_folder(dir: &Path) -> Option<rustix::fd::OwnedFd> {
    use rustix::fs::{Mode, OFlags};
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let how = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let how = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    rustix::fs::open(dir, how, Mode::empty()).ok()
}

impl Walk<'_> {
    fn visit(&self, dir: &Path, depth: usize, scan: &mut Scan) {
        let (known, subdirs) = (self.known, self.subdirs);
        let meta = match fs::symlink_metadata(dir) {
            Ok(m) if m.is_dir() => m,
            // Gone since the last walk (its parent's mtime says so too), or not a folder.
            Ok(_) => return,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return,
            Err(e) => {
                scan.errors.push(Error::io(dir, "listing folder", e));
                return;
            }
        };
        let mtime = mtime_ns(&meta);
        let key = dir.to_str();
        let unchanged = match (known, key) {
            (Some(k), Some(key)) => k.dirs.get(key) == Some(&mtime),
            _ => false,
        };
        scan.dirs.push((dir.to_path_buf(), mtime));
        if unchanged {
            let key = key.unwrap_or_default();
            if let Some(files) = known.and_then(|k| k.files.get(key)) {
                for (path, size, mtime, compressed) in files {
                    let path = PathBuf::from(path);
                    if !*compressed {
                        // Examined after the walk, on two threads (see `examine_all`).
                        scan.unexamined.push(scan.files.len());
                    }
                    scan.files.push((path, Ok((*size, *mtime))));
                }
            }
            if depth < self.max_depth {
                for sub in subdirs.get(key).into_iter().flatten() {
                    self.visit(Path::new(sub), depth + 1, scan);
                }
            }
            return;
        }
        scan.listed += 1;
        let entries = match fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                scan.errors.push(Error::io(dir, "listing folder", e));
                return;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    scan.errors.push(Error::io(dir, "listing folder", e));
                    continue;
                }
            };
            // file_type() does not follow symlinks: a linked folder is not descended into.
            let Ok(ft) = entry.file_type() else { continue };
            if ft.is_dir() {
                if depth < self.max_depth {
                    self.visit(&entry.path(), depth + 1, scan);
                }
            } else if ft.is_file()
                && entry
                    .file_name()
                    .to_str()
                    .is_some_and(|n| self.connector.is_session_name(n))
            {
                let found = entry.metadata().map(|m| (m.len() as i64, mtime_ns(&m)));
                scan.files.push((entry.path(), found));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a walk found, by path.
    fn by_path(scan: &Scan) -> HashMap<PathBuf, (i64, i64)> {
        scan.files
            .iter()
            .map(|(p, r)| (p.clone(), *r.as_ref().expect("examined")))
            .collect()
    }

    #[test]
    fn the_fast_walk_examines_every_plain_file_on_two_threads_and_trusts_zst() {
        let home = tempfile::tempdir().expect("tmp");
        let mut plain = Vec::new();
        // Enough plain files for the second thread, in a few folders, and some `.zst`.
        for day in 1..=4 {
            let dir = home.path().join(format!("sessions/2025/06/0{day}"));
            fs::create_dir_all(&dir).expect("mkdir");
            for i in 0..(PARALLEL_FROM / 3) {
                let p = dir.join(format!(
                    "rollout-2025-06-0{day}T10-00-00-0000000{day}-0000-4000-8000-{i:012}.jsonl"
                ));
                fs::write(&p, "x\n").expect("write");
                plain.push(p);
            }
            let z = dir.join(format!(
                "rollout-2025-06-0{day}T11-00-00-0000000{day}-0000-4000-8000-999999999999.jsonl.zst"
            ));
            fs::write(&z, "z").expect("write");
        }
        let roots = [(Agent::Codex, home.path().to_path_buf())];
        let first = scan(&roots, None);
        assert!(first.errors.is_empty());
        let seen = by_path(&first);
        assert_eq!(seen.len(), plain.len() + 4);
        let mut known = Known::default();
        for (dir, mtime) in &first.dirs {
            known
                .dirs
                .insert(dir.to_str().expect("utf-8").to_string(), *mtime);
        }
        for (path, (size, mtime)) in &seen {
            let dir = path.parent().and_then(Path::to_str).expect("folder");
            let compressed = layout::is_compressed(path);
            known.files.entry(dir.to_string()).or_default().push((
                path.to_str().expect("utf-8").to_string(),
                *size,
                *mtime,
                compressed,
            ));
        }

        // Appends in both halves of the work; folders unchanged, so nothing is listed.
        let grown = [&plain[3], &plain[plain.len() - 2]];
        for p in grown {
            fs::write(p, "x\nmore\n").expect("append");
        }
        let again = scan(&roots, Some(&known));
        assert_eq!(again.listed, 0, "no folder changed");
        assert!(again.unexamined.is_empty());
        assert_eq!(
            again.differs, 2,
            "the two grown files, and only they, differ"
        );
        let unchanged = scan(&roots, Some(&known));
        assert_eq!(
            unchanged.differs, 2,
            "still the two: the index was not told"
        );
        assert_eq!(unchanged.files.len(), seen.len());
        let now = by_path(&again);
        assert_eq!(now.len(), seen.len());
        for (path, found) in &now {
            if grown.contains(&path) {
                assert_eq!(found.0, 7, "{} grew", path.display());
            } else {
                assert_eq!(found, &seen[path], "{}", path.display());
            }
        }
    }
}

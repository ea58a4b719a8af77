//! Session names: `$CODEX_HOME/session_index.jsonl`, the file where Codex (and
//! `rolldex name`) keep the names people give their sessions, and a file of the same
//! format in rolldex's data folder for the other agents' sessions (Claude Code and Gemini
//! CLI have no such file, and rolldex never writes into theirs).
//!
//! The file is append-only JSON Lines, `{"id","thread_name","updated_at"}`; the last line
//! for an id wins, so a rename is one more line and the older name stops naming the
//! session. There is no rename event inside the rollouts: this file is the only place a
//! name lives, and it is the person's data. rolldex mirrors it into the index (read by
//! offset, like a rollout: a torn last line waits, a bad line is reported and skipped) and
//! appends to it, under an advisory lock, never rewriting it.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use uuid::Uuid;

use crate::error::{Error, LineError, LineErrorKind, Result};
use crate::reader::{RawLine, RolloutReader};

/// File name of the names file in a home.
pub const NAMES_FILE: &str = "session_index.jsonl";

/// Longest name accepted by [`append`]: a name is a handle, not a note.
pub const MAX_NAME_CHARS: usize = 200;

/// The names file of a home.
pub fn names_path(home: &Path) -> PathBuf {
    home.join(NAMES_FILE)
}

/// Every names file, in the order they are read (a later line wins): Codex's in its home,
/// then rolldex's own in its data folder (the same file when the index lives in the home).
pub fn names_files(codex_home: &Path, data_dir: &Path) -> Vec<PathBuf> {
    let mut files = vec![names_path(codex_home)];
    if data_dir != codex_home {
        files.push(names_path(data_dir));
    }
    files
}

/// A session id as the names file holds it: a uuid in lowercase hyphenated form (Codex's,
/// Claude Code's and Gemini CLI's sessions), else an agent's own id such as Claude Code's
/// `agent-a1b2c3d4` subagents (letters, digits, `-`, `_`, `.`; never a path).
pub fn session_key(id: &str) -> Option<String> {
    let id = id.trim();
    if let Ok(u) = Uuid::parse_str(id) {
        return Some(u.to_string());
    }
    let plain = !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    plain.then(|| id.to_string())
}

/// One line of the names file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameEntry {
    /// The session, a lowercase uuid.
    pub id: String,
    /// The name as written; empty when the line clears the name.
    pub name: String,
    /// When it was set, as written (RFC 3339).
    pub updated_at: Option<String>,
}

/// The key names are compared by: case-insensitive, surrounding blanks ignored.
pub fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// Parses one line of the names file.
pub fn parse_name_line(bytes: &[u8]) -> std::result::Result<NameEntry, LineErrorKind> {
    #[derive(Deserialize)]
    struct Raw {
        id: serde_json::Value,
        thread_name: serde_json::Value,
        #[serde(default)]
        updated_at: Option<serde_json::Value>,
    }
    let text = std::str::from_utf8(bytes).map_err(|e| LineErrorKind::InvalidUtf8 {
        valid_up_to: e.valid_up_to(),
    })?;
    let raw: Raw = serde_json::from_str(text).map_err(|e| {
        if e.is_data() {
            LineErrorKind::Shape(format!("not a name line: {e}"))
        } else {
            LineErrorKind::Json(e.to_string())
        }
    })?;
    let id = raw
        .id
        .as_str()
        .and_then(session_key)
        .ok_or_else(|| LineErrorKind::Shape("the name line's id is not a session id".into()))?;
    let name = match raw.thread_name {
        serde_json::Value::String(s) => s,
        serde_json::Value::Null => String::new(),
        _ => return Err(LineErrorKind::Shape("thread_name is not a string".into())),
    };
    Ok(NameEntry {
        id,
        name,
        updated_at: raw.updated_at.and_then(|v| v.as_str().map(str::to_string)),
    })
}

/// What reading the names file from an offset gave.
#[derive(Debug, Default)]
pub struct NamesRead {
    /// Well-formed lines, in file order.
    pub entries: Vec<NameEntry>,
    /// Lines that are not name lines, with path and line number.
    pub malformed: Vec<LineError>,
    /// Offset after the last complete line: where the next read starts.
    pub offset: u64,
    /// Complete lines before `offset`.
    pub lines: u64,
}

/// Reads the names file from `offset` (a line start with `lines` lines before it). A torn
/// last line is left for the next read. A missing file reads as empty.
pub fn read_from(path: &Path, offset: u64, lines: u64) -> Result<NamesRead> {
    let mut out = NamesRead {
        offset,
        lines,
        ..Default::default()
    };
    let mut reader = match RolloutReader::open_at(path, offset, lines) {
        Ok(r) => r,
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(out);
        }
        Err(e) => return Err(e),
    };
    while let Some(line) = reader.next_line() {
        match line? {
            RawLine::Pending { .. } => break,
            RawLine::Complete { bytes, .. } if bytes.trim_ascii().is_empty() => {}
            RawLine::Complete {
                number,
                offset,
                bytes,
            } => match parse_name_line(bytes) {
                Ok(entry) => out.entries.push(entry),
                Err(kind) => out.malformed.push(LineError {
                    path: path.to_path_buf(),
                    line: number,
                    offset,
                    kind,
                }),
            },
        }
    }
    out.offset = reader.offset();
    out.lines = reader.lines_read();
    Ok(out)
}

/// The current name of every named session (the last line per id; an empty name clears
/// it), read from the files themselves (see [`names_files`]): for finding a session by
/// name without an index.
pub fn current_names(files: &[PathBuf]) -> Result<(HashMap<String, NameEntry>, Vec<LineError>)> {
    let mut names = HashMap::new();
    let mut malformed = Vec::new();
    for file in files {
        let read = read_from(file, 0, 0)?;
        for e in read.entries {
            if e.name.trim().is_empty() {
                names.remove(&e.id);
            } else {
                names.insert(e.id.clone(), e);
            }
        }
        malformed.extend(read.malformed);
    }
    Ok((names, malformed))
}

/// Appends `{"id","thread_name","updated_at"}` for `id` to the names file in `dir` (a Codex
/// home, or rolldex's data folder for another agent's session), the way Codex does, under
/// an exclusive advisory lock on the file. The file is created 0600 when missing and never
/// rewritten; if it ends in a torn line (a crash mid-write), a newline goes first so the
/// new line never fuses with it. Returns the line written.
pub fn append(dir: &Path, id: &str, name: &str, updated_at: &str) -> Result<NameEntry> {
    let id = session_key(id)
        .ok_or_else(|| Error::BadArgument(format!("{id:?} is not a session id to name")))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::BadArgument("a session name cannot be empty".into()));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::BadArgument(format!(
            "a session name is at most {MAX_NAME_CHARS} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::BadArgument(
            "a session name cannot hold control characters (newlines, tabs...)".into(),
        ));
    }
    let entry = NameEntry {
        id,
        name: name.to_string(),
        updated_at: Some(updated_at.to_string()),
    };
    // Codex's key order: id, thread_name, updated_at.
    let json = serde_json::json!({
        "id": entry.id,
        "thread_name": entry.name,
        "updated_at": updated_at,
    });
    append_line(&names_path(dir), json.to_string().as_bytes())?;
    Ok(entry)
}

/// Appends one line to a JSON Lines ledger in the home (names, pins): under an exclusive
/// advisory lock, in one write in append mode (so readers never see half of it), synced;
/// the file is created 0600 when missing and never rewritten; a torn last line (a crash
/// mid-write) gets its newline first, so the new line never fuses with it.
pub(crate) fn append_line(path: &Path, line: &[u8]) -> Result<()> {
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io(path, "opening", e))?;
    file.lock().map_err(|e| Error::io(path, "locking", e))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io(path, "examining", e))?
        .len();
    let mut out = Vec::with_capacity(line.len() + 2);
    if len > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(len - 1))
            .and_then(|_| file.read_exact(&mut last))
            .map_err(|e| Error::io(path, "reading", e))?;
        if last[0] != b'\n' {
            out.push(b'\n');
        }
    }
    out.extend_from_slice(line);
    out.push(b'\n');
    file.write_all(&out)
        .and_then(|_| file.sync_data())
        .map_err(|e| Error::io(path, "appending", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    const A: &str = "0199a213-81c0-7800-8aa1-bbab2a035a53";
    const B: &str = "0199a5f0-0000-7000-8000-00000000f0c1";

    #[test]
    fn the_last_line_for_an_id_wins_and_bad_lines_are_reported() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tmp", "tmp", e))?;
        let path = names_path(dir.path());
        let text = format!(
            "{{\"id\":\"{A}\",\"thread_name\":\"first\",\"updated_at\":\"2026-01-01T00:00:00Z\"}}\n\
             not json\n\
             {{\"id\":\"../nope\",\"thread_name\":\"x\"}}\n\
             {{\"id\":\"{B}\",\"thread_name\":\"Other\"}}\n\
             {{\"id\":\"{A}\",\"thread_name\":\"second\",\"updated_at\":\"2026-01-02T00:00:00Z\"}}\n\
             {{\"id\":\"{B}\",\"thread_na"
        );
        fs::write(&path, &text).map_err(|e| Error::io(&path, "write", e))?;
        let (names, bad) = current_names(std::slice::from_ref(&path))?;
        assert_eq!(names.len(), 2);
        assert_eq!(names[A].name, "second");
        assert_eq!(names[B].name, "Other");
        assert_eq!(
            bad.iter().map(|e| e.line).collect::<Vec<_>>(),
            [2, 3],
            "{bad:?}"
        );
        // The torn last line waits: the next read starts at its beginning.
        let read = read_from(&path, 0, 0)?;
        assert_eq!(read.lines, 5);
        assert_eq!(read.offset as usize, text.rfind('{').unwrap_or(0));
        Ok(())
    }

    #[test]
    fn appending_creates_a_private_file_and_never_fuses_with_a_torn_line() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tmp", "tmp", e))?;
        let a = A;
        append(
            dir.path(),
            a,
            "  ws reconnect flake ",
            "2026-11-25T00:00:00Z",
        )?;
        let path = names_path(dir.path());
        let mode = fs::metadata(&path)
            .map_err(|e| Error::io(&path, "stat", e))?
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let mut f = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| Error::io(&path, "open", e))?;
        f.write_all(b"{\"id\":\"torn")
            .map_err(|e| Error::io(&path, "write", e))?;
        append(dir.path(), a, "renamed", "2026-11-25T00:00:01Z")?;
        let text = fs::read_to_string(&path).map_err(|e| Error::io(&path, "read", e))?;
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(
            lines[0],
            format!(
                "{{\"id\":\"{A}\",\"thread_name\":\"ws reconnect flake\",\"updated_at\":\"2026-11-25T00:00:00Z\"}}"
            )
        );
        let (names, bad) = current_names(&[path])?;
        assert_eq!(names[A].name, "renamed");
        assert_eq!(bad.len(), 1);
        for bad_name in ["", "  ", "a\nb", &"x".repeat(MAX_NAME_CHARS + 1)] {
            assert!(
                append(dir.path(), a, bad_name, "t").is_err(),
                "{bad_name:?}"
            );
        }
        for bad_id in ["", "../x", "a b", ".hidden", "x/y"] {
            assert!(append(dir.path(), bad_id, "n", "t").is_err(), "{bad_id:?}");
        }
        Ok(())
    }

    #[test]
    fn other_agents_names_live_in_the_data_folder_and_the_later_file_wins() -> Result<()> {
        let codex = tempfile::tempdir().map_err(|e| Error::io("tmp", "tmp", e))?;
        let data = tempfile::tempdir().map_err(|e| Error::io("tmp", "tmp", e))?;
        let files = names_files(codex.path(), data.path());
        assert_eq!(files.len(), 2);
        assert_eq!(names_files(codex.path(), codex.path()).len(), 1);
        append(codex.path(), A, "codex one", "t1")?;
        // A Claude Code subagent's id is no uuid; a uuid is stored in its canonical form.
        append(data.path(), "agent-a1b2c3d4", "jitter", "t2")?;
        append(data.path(), &A.to_uppercase(), "renamed in data", "t3")?;
        let (names, bad) = current_names(&files)?;
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(names["agent-a1b2c3d4"].name, "jitter");
        assert_eq!(names[A].name, "renamed in data");
        assert!(!names_path(codex.path()).with_extension("x").exists());
        Ok(())
    }
}

//! Pins: sessions a person marked to keep. `forget --keep-pinned` never retires them.
//!
//! Like names, pins are the person's data: they live in a small append-only file in
//! rolldex's data folder (the Codex home when it holds the index), `rolldex_pins.jsonl`, one line `{"id","pinned","updated_at"}` per change, the last
//! line for an id winning, never only in the rebuildable index. The file is read whole when
//! asked (one line per pin or unpin: it stays small).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use uuid::Uuid;

use crate::error::{Error, LineError, LineErrorKind, Result};
use crate::reader::{RawLine, RolloutReader};

/// File name of the pins file in a home.
pub const PINS_FILE: &str = "rolldex_pins.jsonl";

/// The pins file of a home.
pub fn pins_path(home: &Path) -> PathBuf {
    home.join(PINS_FILE)
}

/// The ids pinned now, and the lines that could not be read.
pub fn pinned(home: &Path) -> Result<(HashSet<String>, Vec<LineError>)> {
    #[derive(Deserialize)]
    struct Line {
        id: String,
        pinned: bool,
    }
    let path = pins_path(home);
    let mut reader = match RolloutReader::open(&path) {
        Ok(r) => r,
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Default::default());
        }
        Err(e) => return Err(e),
    };
    let mut ids = HashSet::new();
    let mut bad = Vec::new();
    while let Some(line) = reader.next_line() {
        let RawLine::Complete {
            number,
            offset,
            bytes,
        } = line?
        else {
            break;
        };
        if bytes.trim_ascii().is_empty() {
            continue;
        }
        let parsed = serde_json::from_slice::<Line>(bytes)
            .map_err(|e| LineErrorKind::Shape(format!("not a pin line: {e}")))
            .and_then(|l| {
                let id = l.id.trim();
                match Uuid::parse_str(id) {
                    Ok(u) => Ok((u.to_string(), l.pinned)),
                    // A Claude Code subagent's id: `agent-` and its file's name.
                    Err(_)
                        if crate::layout::normalize_id_prefix(id)
                            .is_ok_and(|p| p.starts_with(crate::layout::AGENT_ID_PREFIX)) =>
                    {
                        Ok((id.to_ascii_lowercase(), l.pinned))
                    }
                    Err(_) => Err(LineErrorKind::Shape(
                        "the pin's id is not a session id".into(),
                    )),
                }
            });
        match parsed {
            Ok((id, true)) => {
                ids.insert(id);
            }
            Ok((id, false)) => {
                ids.remove(&id);
            }
            Err(kind) => bad.push(LineError {
                path: path.clone(),
                line: number,
                offset,
                kind,
            }),
        }
    }
    Ok((ids, bad))
}

/// Pins (or unpins) a session: appends one line to the pins file (see
/// [`crate::names::append_line`] for how).
pub fn set(home: &Path, id: &str, pin: bool, updated_at: &str) -> Result<()> {
    let line = serde_json::json!({"id": id, "pinned": pin, "updated_at": updated_at});
    crate::names::append_line(&pins_path(home), line.to_string().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_line_wins_and_bad_lines_are_named() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tmp", "tmp", e))?;
        let a = Uuid::now_v7().to_string();
        let b = "agent-a1b2c3d4";
        set(dir.path(), &a, true, "t1")?;
        set(dir.path(), b, true, "t2")?;
        std::fs::OpenOptions::new()
            .append(true)
            .open(pins_path(dir.path()))
            .and_then(|mut f| std::io::Write::write_all(&mut f, b"garbage\n"))
            .map_err(|e| Error::io("pins", "write", e))?;
        set(dir.path(), &a, false, "t3")?;
        let (ids, bad) = pinned(dir.path())?;
        assert_eq!(ids, HashSet::from([b.to_string()]));
        assert_eq!(bad.iter().map(|e| e.line).collect::<Vec<_>>(), [3]);
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(pins_path(dir.path()))
                .map_err(|e| Error::io("pins", "stat", e))?
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        Ok(())
    }
}

//! Codex: rollouts under `$CODEX_HOME/sessions/YYYY/MM/DD/` and `archived_sessions/`, in
//! the two line shapes of [`crate::model`] (`../shared/FORMAT.md`).

use std::path::{Path, PathBuf};

use super::{Agent, Connector, LineParser};
use crate::error::LineErrorKind;
use crate::layout;
use crate::model::{self, ParsedLine};

/// The Codex connector.
#[derive(Debug, Clone, Copy)]
pub struct Codex;

/// Codex lines are the common model as written.
struct Lines;

impl LineParser for Lines {
    fn parse(&mut self, line: &[u8], out: &mut Vec<ParsedLine>) -> Result<(), LineErrorKind> {
        out.push(model::parse_line(line)?);
        Ok(())
    }
}

impl Connector for Codex {
    fn agent(&self) -> Agent {
        Agent::Codex
    }

    fn owns(&self, path: &Path) -> bool {
        path.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(layout::is_rollout_name)
    }

    fn session_dirs(&self, root: &Path) -> Vec<(PathBuf, usize)> {
        vec![
            (root.join(layout::SESSIONS_DIR), 6),
            (root.join(layout::ARCHIVED_DIR), 6),
        ]
    }

    fn is_session_name(&self, name: &str) -> bool {
        layout::is_rollout_name(name)
    }

    fn session_id(&self, path: &Path) -> Option<String> {
        layout::session_id_from_path(path).map(|u| u.to_string())
    }

    fn compress_in_place(&self) -> bool {
        // Codex reads `.jsonl.zst` rollouts itself (FORMAT.md, "Archive").
        true
    }

    fn forget_moves_originals(&self) -> bool {
        true
    }

    fn parser(&self, _path: &Path) -> Box<dyn LineParser> {
        Box::new(Lines)
    }

    fn resume_command(
        &self,
        id: &str,
        _cwd: Option<&str>,
        _parent: Option<(&str, Option<&str>)>,
    ) -> String {
        // A Codex subagent is a thread of its own: it resumes by its own id.
        format!("codex resume {id}")
    }
}

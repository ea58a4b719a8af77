//! Collecting a working directory's git information for the session meta line.
//!
//! Runs `git` asynchronously, the three questions at once, under a time limit: a slow
//! network file system or a huge repository must never hold up a recording. Whatever is
//! not known in time is left out. Credentials in the origin URL are removed before the
//! URL is returned, so a token never reaches a rollout.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use crate::model::GitInfo;
use crate::repo_url::strip_credentials;

/// How long git may take by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Git commit, branch and origin URL of `cwd`, or `None` when it is not in a repository,
/// git is missing, or nothing was learned before `timeout`.
pub async fn collect(cwd: &Path, timeout: Duration) -> Option<GitInfo> {
    let work = async {
        let (commit, branch, url) = tokio::join!(
            git(cwd, &["rev-parse", "HEAD"]),
            git(cwd, &["rev-parse", "--abbrev-ref", "HEAD"]),
            git(cwd, &["remote", "get-url", "origin"]),
        );
        GitInfo {
            commit_hash: commit,
            // A detached HEAD answers "HEAD": there is no branch.
            branch: branch.filter(|b| b != "HEAD"),
            repository_url: url.map(|u| strip_credentials(&u)),
        }
    };
    let info = tokio::time::timeout(timeout, work).await.ok()?;
    (!info.is_empty()).then_some(info)
}

async fn git(cwd: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(cwd)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

//! Pushing a home to a team archive: every session that is new or changed since the
//! archive last heard of it.
//!
//! What the archive holds of each session (length and SHA-256 of its bytes, the last item
//! line) decides what is sent: nothing when the lengths agree (rollouts only grow), only
//! the new bytes and items when the held bytes are a prefix of the file (checked by
//! hashing that prefix), else everything again. Bytes go as zstd frames of at most
//! [`CHUNK`] decompressed bytes (plain files compressed on the way, a small `.zst` sent as
//! stored once it was checked to decode), so memory holds one chunk at a time.
//!
//! Sessions go in batches, one transaction each: a push killed or cut off mid-way leaves
//! the archive as it was after the last whole batch, and the next push carries on without
//! duplicates.

use std::io::Read;
use std::path::Path;
use std::time::Instant;

use sha2::{Digest, Sha256};

use super::{Held, Team, hex};
use crate::error::{Error, Result};
use crate::home::Home;
use crate::layout;
use crate::query::{Filters, Session};

/// Decompressed bytes per stored chunk.
pub const CHUNK: usize = 8 << 20;
/// A `.zst` up to this size is sent as stored (after checking it decodes).
const AS_STORED_MAX: u64 = 64 << 20;
/// Commit after this many sessions...
const BATCH_SESSIONS: usize = 50;
/// ...or this many bytes sent, whichever comes first.
const BATCH_BYTES: u64 = 64 << 20;
/// zstd level for plain rollouts compressed on the way (the archive job's default).
const LEVEL: i32 = 3;

/// How to push.
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// The machine's name recorded with each session.
    pub host: String,
    /// Apply the export's secret patterns to the searchable text and titles.
    pub redact: bool,
}

/// What a push did.
#[derive(Debug, Default)]
pub struct PushReport {
    /// Sessions whose bytes or items were sent.
    pub sessions_pushed: u64,
    /// Sessions whose only change was their name.
    pub names_updated: u64,
    /// Bytes sent: stored chunks and item text.
    pub bytes_sent: u64,
    /// Sessions in the home.
    pub sessions: u64,
    /// Seconds it took.
    pub seconds: f64,
    /// Sessions that could not be sent (the rest were).
    pub errors: Vec<Error>,
}

/// This machine's name: the kernel's host name.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

/// What to send of one session.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Send {
    /// Everything, replacing what the archive holds.
    Full,
    /// What follows what the archive holds (its bytes and item lines), if the held bytes
    /// are still the start of the file.
    Append(Held),
}

/// Pushes `home` to `team`.
pub fn push(
    home: &mut Home,
    team: &mut Team,
    opts: &PushOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<PushReport> {
    let started = Instant::now();
    let mut report = PushReport::default();
    let mut sessions = home.list(&Filters::default(), usize::MAX)?;
    report.sessions = sessions.len() as u64;
    let held = team.held()?;
    // Oldest first: a push cut off mid-way has sent whole days, not a scatter.
    sessions.sort_by(|a, b| (a.updated_ms, &a.id).cmp(&(b.updated_ms, &b.id)));
    let mut work = Vec::new();
    let mut renamed = Vec::new();
    let mut untokened = Vec::new();
    for s in sessions {
        match held.get(&s.id) {
            None => work.push((s, Send::Full)),
            Some(h) if h.raw_bytes == s.raw_bytes => {
                if !h.tokens_sent {
                    // Held since before the archive kept tokens by kind: send them alone.
                    untokened.push(s.id.clone());
                }
                if h.name != s.name {
                    renamed.push(s);
                }
            }
            Some(h) if h.raw_bytes < s.raw_bytes => work.push((s, Send::Append(h.clone()))),
            Some(_) => work.push((s, Send::Full)),
        }
    }

    let total = work.len() as u64;
    let mut done = 0;
    let mut iter = work.into_iter().peekable();
    while iter.peek().is_some() {
        let (client, address) = team.client();
        let err = |action: &'static str| {
            move |e: postgres::Error| address.error(action, super::describe(&e))
        };
        let mut tx = client
            .transaction()
            .map_err(err("starting a transaction"))?;
        let (mut n, mut bytes) = (0, 0);
        for (session, how) in iter.by_ref() {
            done += 1;
            n += 1;
            // One session's failure is reported and the others go on; a savepoint keeps
            // its half-written rows out of the batch.
            let mut sp = tx
                .savepoint("session")
                .map_err(err("starting a savepoint"))?;
            match send_session(&mut sp, home, &session, &how, opts) {
                Ok(sent) => {
                    sp.commit().map_err(err("pushing a session"))?;
                    report.sessions_pushed += 1;
                    bytes += sent;
                }
                Err(SendError::Local(e)) => {
                    sp.rollback().map_err(err("pushing a session"))?;
                    report.errors.push(e);
                }
                Err(SendError::Remote(e)) => {
                    return Err(address.error("pushing a session", super::describe(&e)));
                }
            }
            if n >= BATCH_SESSIONS || bytes >= BATCH_BYTES {
                break;
            }
        }
        tx.commit().map_err(err("committing a batch"))?;
        report.bytes_sent += bytes;
        progress(done, total);
    }

    if !renamed.is_empty() {
        let (client, address) = team.client();
        let err = |e: postgres::Error| address.error("updating names", super::describe(&e));
        let mut tx = client.transaction().map_err(err)?;
        for s in &renamed {
            tx.execute(
                "UPDATE sessions SET name = $2 WHERE id = $1",
                &[&s.id, &s.name],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        report.names_updated = renamed.len() as u64;
    }
    if !untokened.is_empty() {
        let mut spent = Vec::with_capacity(untokened.len());
        for id in &untokened {
            spent.push(home.spent(id)?);
        }
        let (client, address) = team.client();
        let err = |e: postgres::Error| address.error("sending tokens", super::describe(&e));
        let mut tx = client.transaction().map_err(err)?;
        for (id, spent) in untokened.iter().zip(&spent) {
            send_tokens(&mut tx, id, spent).map_err(err)?;
        }
        tx.commit().map_err(err)?;
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Replaces what the archive holds of the tokens session `id`'s models spent.
fn send_tokens(
    tx: &mut postgres::Transaction<'_>,
    id: &str,
    spent: &crate::cost::Spent,
) -> std::result::Result<(), postgres::Error> {
    tx.execute("DELETE FROM session_tokens WHERE session_id = $1", &[&id])?;
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let model: Vec<&str> = spent.keys().map(|b| b.model.as_str()).collect();
    let band: Vec<i16> = spent.keys().map(|b| b.band.as_i64() as i16).collect();
    let fast: Vec<bool> = spent.keys().map(|b| b.fast).collect();
    let kind = |f: fn(&crate::cost::Tokens) -> u64| -> Vec<i64> {
        spent.values().map(|t| n(f(t))).collect()
    };
    let (input, read, w5, w1, output, reasoning) = (
        kind(|t| t.input),
        kind(|t| t.cache_read),
        kind(|t| t.cache_write_5m),
        kind(|t| t.cache_write_1h),
        kind(|t| t.output),
        kind(|t| t.reasoning),
    );
    if !model.is_empty() {
        tx.execute(
            "INSERT INTO session_tokens (session_id, model, band, fast, input, cache_read,
                cache_write_5m, cache_write_1h, output, reasoning)
             SELECT $1, * FROM unnest($2::text[], $3::int2[], $4::bool[], $5::int8[],
                $6::int8[], $7::int8[], $8::int8[], $9::int8[], $10::int8[])",
            &[
                &id, &model, &band, &fast, &input, &read, &w5, &w1, &output, &reasoning,
            ],
        )?;
    }
    tx.execute(
        "UPDATE sessions SET tokens_sent = true WHERE id = $1",
        &[&id],
    )?;
    Ok(())
}

/// Why one session could not be sent: its file (the push goes on) or the archive (it stops).
enum SendError {
    Local(Error),
    Remote(postgres::Error),
}

impl From<postgres::Error> for SendError {
    fn from(e: postgres::Error) -> SendError {
        SendError::Remote(e)
    }
}

/// Sends one session's bytes, items and row; returns the bytes sent.
fn send_session(
    tx: &mut postgres::Transaction<'_>,
    home: &mut Home,
    s: &Session,
    how: &Send,
    opts: &PushOptions,
) -> std::result::Result<u64, SendError> {
    let path = Path::new(&s.path);
    let id = &s.id;
    let mut sent = 0u64;
    // The held bytes must still be the start of the file, else everything goes again.
    let appended = match how {
        Send::Append(h) => send_bytes(
            tx,
            id,
            path,
            Some((h.raw_bytes as u64, h.sha256.as_str())),
            &mut sent,
        )?
        .map(|sent_now| (sent_now, h)),
        Send::Full => None,
    };
    let (raw_bytes, stored_bytes, sha, items_from) = match appended {
        Some(((raw, stored, sha), h)) => (raw, h.stored_bytes + stored, sha, h.items_through),
        _ => {
            tx.execute("DELETE FROM items WHERE session_id = $1", &[id])?;
            tx.execute("DELETE FROM chunks WHERE session_id = $1", &[id])?;
            let (raw, stored, sha) = send_bytes(tx, id, path, None, &mut sent)?
                .ok_or_else(|| SendError::Local(Error::BadArgument("internal: no bytes".into())))?;
            (raw, stored, sha, 0)
        }
    };
    // Items after the held ones; all of them when everything went again.
    let items = home.items_after(id, items_from).map_err(SendError::Local)?;
    let items = &items[..];
    let redact = |t: &str| -> String {
        if opts.redact {
            crate::redact::redact(t).into_owned()
        } else {
            t.to_string()
        }
    };
    // The title is what the person typed first: cleaned of URL credentials as the item
    // text already is in the index.
    let title = s
        .title
        .as_deref()
        .map(|t| redact(&crate::repo_url::redact_urls(t)));
    // Bytes by kind, as the index measured them; what it did not read yet is other.
    let mut kinds = home.bytes_by_kind(id).map_err(SendError::Local)?;
    let classified: i64 = kinds.iter().sum();
    if let Some(other) = kinds.last_mut() {
        *other += (raw_bytes - classified).max(0);
    }
    let rel = home.rel_of(path);
    let items_through = items.last().map_or(items_from, |i| i.seq.max(items_from));
    tx.execute(
        "INSERT INTO sessions (id, host, rel_path, created_ms, updated_ms, cwd, repo_key, git_url,
            git_branch, git_commit, title, source, model, items, messages, tool_calls, errors,
            tokens, archived, forked_from_id, name, parent_id, agent_nickname, agent_role,
            raw_bytes, stored_bytes, sha256, items_through, pushed_at, bytes_images,
            bytes_encrypted_reasoning, bytes_compaction_history, bytes_turn_context,
            bytes_instructions, bytes_tool_output, bytes_tool_calls, bytes_messages,
            bytes_events, bytes_other, agent)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
            $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, now(), ($29::int8[])[1], ($29::int8[])[2], ($29::int8[])[3],
            ($29::int8[])[4], ($29::int8[])[5], ($29::int8[])[6], ($29::int8[])[7], ($29::int8[])[8], ($29::int8[])[9], ($29::int8[])[10], $30)
         ON CONFLICT (id) DO UPDATE SET host = $2, rel_path = $3, created_ms = $4,
            updated_ms = $5, cwd = $6, repo_key = $7, git_url = $8, git_branch = $9,
            git_commit = $10, title = $11, source = $12, model = $13, items = $14,
            messages = $15, tool_calls = $16, errors = $17, tokens = $18, archived = $19,
            forked_from_id = $20, name = $21, parent_id = $22, agent_nickname = $23,
            agent_role = $24, raw_bytes = $25, stored_bytes = $26, sha256 = $27,
            items_through = $28, pushed_at = now(), bytes_images = ($29::int8[])[1],
            bytes_encrypted_reasoning = ($29::int8[])[2], bytes_compaction_history = ($29::int8[])[3],
            bytes_turn_context = ($29::int8[])[4], bytes_instructions = ($29::int8[])[5],
            bytes_tool_output = ($29::int8[])[6], bytes_tool_calls = ($29::int8[])[7], bytes_messages = ($29::int8[])[8],
            bytes_events = ($29::int8[])[9], bytes_other = ($29::int8[])[10], agent = $30",
        &[
            id,
            &opts.host,
            &rel,
            &s.created_ms,
            &s.updated_ms,
            &s.cwd,
            &s.repo,
            &s.repository_url,
            &s.branch,
            &s.commit,
            &title,
            &s.source,
            &s.model,
            &s.items,
            &s.messages,
            &s.tool_calls,
            &s.errors,
            &s.tokens,
            &s.archived,
            &s.forked_from_id,
            &s.name,
            &s.parent_id,
            &s.agent_nickname,
            &s.agent_role,
            &raw_bytes,
            &stored_bytes,
            &sha,
            &items_through,
            &kinds,
            &s.agent,
        ],
    )?;

    let spent = home.spent(id).map_err(SendError::Local)?;
    send_tokens(tx, id, &spent)?;

    if !items.is_empty() {
        let fallback = s.created_ms.unwrap_or(s.updated_ms);
        let seq: Vec<i64> = items.iter().map(|i| i.seq).collect();
        let at: Vec<i64> = items.iter().map(|i| i.ts_ms.unwrap_or(fallback)).collect();
        let ts: Vec<Option<i64>> = items.iter().map(|i| i.ts_ms).collect();
        let kind: Vec<&str> = items.iter().map(|i| i.kind.as_str()).collect();
        let role: Vec<Option<&str>> = items.iter().map(|i| i.role.as_deref()).collect();
        let ordinal: Vec<Option<i64>> = items.iter().map(|i| i.ordinal).collect();
        let summary: Vec<String> = items.iter().map(|i| redact(&i.summary)).collect();
        sent += summary.iter().map(|t| t.len() as u64).sum::<u64>();
        tx.execute(
            "INSERT INTO items (session_id, seq, at_ms, ts_ms, kind, role, ordinal, summary)
             SELECT $1, * FROM unnest($2::int8[], $3::int8[], $4::int8[], $5::text[], $6::text[],
                $7::int8[], $8::text[])
             ON CONFLICT (session_id, seq) DO NOTHING",
            &[id, &seq, &at, &ts, &kind, &role, &ordinal, &summary],
        )?;
    }
    Ok(sent)
}

/// Where a session's rollout goes under a home, plain: its own folder under `sessions/`,
/// else (archived) the day folder its file name gives.
pub fn rel_path(home: &Path, path: &Path) -> String {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let name = name.strip_suffix(".zst").unwrap_or(name);
    if let Ok(rel) = path.strip_prefix(home.join(layout::SESSIONS_DIR))
        && let Some(dir) = rel.parent().and_then(|d| d.to_str())
    {
        let dir = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        return format!("{}/{dir}{name}", layout::SESSIONS_DIR);
    }
    // rollout-YYYY-MM-DDThh-mm-ss-<uuid>.jsonl
    match (name.get(8..12), name.get(13..15), name.get(16..18)) {
        (Some(y), Some(m), Some(d))
            if [y, m, d]
                .iter()
                .all(|p| p.chars().all(|c| c.is_ascii_digit())) =>
        {
            format!("{}/{y}/{m}/{d}/{name}", layout::SESSIONS_DIR)
        }
        _ => format!("{}/{name}", layout::SESSIONS_DIR),
    }
}

/// Sends the decompressed bytes of `path` as chunks. With `held` (a length and its
/// SHA-256), the archive holds that many bytes already: they are read and hashed, and
/// only what follows is sent; `None` is returned when they are not the file's start (the
/// caller then sends everything). Returns the total length, the stored bytes sent, and
/// the SHA-256 of everything.
fn send_bytes(
    tx: &mut postgres::Transaction<'_>,
    id: &str,
    path: &Path,
    held: Option<(u64, &str)>,
    sent: &mut u64,
) -> std::result::Result<Option<(i64, i64, String)>, SendError> {
    let local = SendError::Local;
    let mut hash = Sha256::new();
    let stored_len = std::fs::metadata(path)
        .map_err(|e| local(Error::io(path, "reading", e)))?
        .len();
    if held.is_none() && layout::is_compressed(path) && stored_len <= AS_STORED_MAX {
        // Sent as stored, once it is known to decode (a corrupt file is not archived).
        let data = std::fs::read(path).map_err(|e| local(Error::io(path, "reading", e)))?;
        let raw =
            zstd::decode_all(&data[..]).map_err(|e| local(Error::io(path, "decompressing", e)))?;
        hash.update(&raw);
        tx.execute(
            "INSERT INTO chunks (session_id, raw_offset, raw_len, data) VALUES ($1, 0, $2, $3)",
            &[&id, &(raw.len() as i64), &data],
        )?;
        *sent += data.len() as u64;
        return Ok(Some((
            raw.len() as i64,
            data.len() as i64,
            hex(&hash.finalize()),
        )));
    }
    let mut stream = crate::reader::open_stream(path).map_err(local)?;
    let mut buf = vec![0u8; CHUNK];
    let mut offset = 0i64;
    if let Some((len, sha)) = held {
        let mut prefix = (&mut stream).take(len);
        loop {
            let n = prefix
                .read(&mut buf)
                .map_err(|e| local(Error::io(path, "reading", e)))?;
            if n == 0 {
                break;
            }
            hash.update(&buf[..n]);
            offset += n as i64;
        }
        if offset as u64 != len || hex(&hash.clone().finalize()) != sha {
            return Ok(None);
        }
    }
    let mut stored = 0i64;
    loop {
        let mut filled = 0;
        while filled < CHUNK {
            let n = stream
                .read(&mut buf[filled..])
                .map_err(|e| local(Error::io(path, "reading", e)))?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        if filled == 0 {
            break;
        }
        let raw = &buf[..filled];
        hash.update(raw);
        let data = zstd::bulk::compress(raw, LEVEL)
            .map_err(|e| local(Error::io(path, "compressing", e)))?;
        tx.execute(
            "INSERT INTO chunks (session_id, raw_offset, raw_len, data) VALUES ($1, $2, $3, $4)",
            &[&id, &offset, &(filled as i64), &data],
        )?;
        *sent += data.len() as u64;
        stored += data.len() as i64;
        offset += filled as i64;
        if filled < CHUNK {
            break;
        }
    }
    Ok(Some((offset, stored, hex(&hash.finalize()))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rollout_goes_where_its_home_had_it_or_in_its_day_folder() {
        let home = Path::new("/h");
        assert_eq!(
            rel_path(
                home,
                Path::new("/h/sessions/2025/06/03/rollout-2025-06-03T10-00-00-abc.jsonl.zst")
            ),
            "sessions/2025/06/03/rollout-2025-06-03T10-00-00-abc.jsonl"
        );
        assert_eq!(
            rel_path(
                home,
                Path::new("/h/archived_sessions/rollout-2024-12-31T23-59-59-abc.jsonl")
            ),
            "sessions/2024/12/31/rollout-2024-12-31T23-59-59-abc.jsonl"
        );
        assert_eq!(
            rel_path(home, Path::new("/elsewhere/odd.jsonl")),
            "sessions/odd.jsonl"
        );
    }
}

//! Reads and parses the rollouts a refresh needs, ahead of the thread that writes SQLite.
//!
//! Indexing spends about half its time reading and parsing JSON and half in SQLite. The
//! [`Feed`] does the first half for the refresh's sessions in the order the writer will
//! take them, and hands over parsed entries in bounded chunks, so on two cores the two
//! halves overlap. It is a plain iterator: [`run`] drives it on a thread of its own
//! through a bounded channel, or inline when asked (the results are the same either way;
//! a test compares them).
//!
//! Memory stays bounded: at most `AHEAD` chunks of at most `CHUNK_BYTES` of lines (or
//! `CHUNK_ENTRIES` entries) wait, plus the line being parsed.

use std::path::PathBuf;
use std::sync::mpsc::sync_channel;

use std::borrow::Cow;

use super::summary::{self, ItemSummary};
use crate::error::Error;
use crate::model::{ResponseItem, RolloutItem};
use crate::reader::{Entry, RolloutReader};
use crate::repo_url::redact_urls;

/// Chunks waiting between the reading thread and the writer. The writer's work comes in
/// bursts (a full-text flush every megabyte of item text); a deep queue lets the reader go
/// on meanwhile. Measured on the real-shaped corpus: 4 left both threads waiting ~70 ms in
/// 300; 16 halved the waits.
const AHEAD: usize = 16;
/// A chunk is handed over after this many bytes of lines...
const CHUNK_BYTES: u64 = 1 << 20;
/// ...or this many entries, whichever comes first.
const CHUNK_ENTRIES: usize = 1024;

/// How much of a session's primary file to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Plan {
    /// Nothing: the indexed rows stand (or the session is gone).
    Keep,
    /// From this offset, which had this many lines before it.
    From(i64, i64),
    /// From the start, replacing what was indexed.
    Rebuild,
}

/// One session's reading, in the writer's order.
#[derive(Debug, Clone)]
pub(super) struct Job {
    pub path: PathBuf,
    pub compressed: bool,
    pub plan: Plan,
}

/// What the feed hands over, per session: one `Begin`, then (when reading) any number of
/// `Entries` and one `End`.
#[derive(Debug)]
pub(super) enum Fed {
    /// The session's file was opened, or could not be, or is not to be read.
    Begin(Opened),
    /// Entries in file order, each with the offset just after it.
    Entries(Vec<FedEntry>),
    /// Reading stopped: at the end of the file, or on `error` (nothing after it is read).
    End {
        /// Offset just after the last complete line.
        offset: u64,
        /// Complete lines up to `offset`.
        lines: u64,
        /// Why reading stopped early, if it did.
        error: Option<Error>,
    },
}

/// One entry, with what the writer needs of it computed here, on the reading thread: the
/// writer is the slower half (SQLite and full-text), so the summary, its redaction and the
/// time are worked out ahead, and the bulk of a record the writer no longer needs (a tool's
/// output, a reasoning text) is dropped here.
#[derive(Debug)]
pub(super) struct FedEntry {
    pub entry: Entry,
    /// Offset just after it.
    pub end: u64,
    /// Its line's time (unix ms).
    pub ts_ms: Option<i64>,
    /// What it adds to search, URL credentials redacted (see [`summary::item_of`]).
    pub item: Option<ItemSummary>,
}

impl FedEntry {
    fn new(mut entry: Entry, end: u64) -> FedEntry {
        let (ts_ms, item) = match &mut entry {
            Entry::Record(rec) => {
                let ts = rec
                    .line
                    .timestamp
                    .as_deref()
                    .and_then(super::ingest::parse_ms);
                let item = summary::item_of(&rec.line).map(|mut it| {
                    if let Cow::Owned(t) = redact_urls(&it.text) {
                        it.text = t;
                    }
                    it
                });
                if item.is_some() {
                    lighten(&mut rec.line.item);
                }
                (ts, item)
            }
            _ => (None, None),
        };
        FedEntry {
            entry,
            end,
            ts_ms,
            item,
        }
    }
}

/// Drops what the writer reads of a record no more once its summary is made: the text of
/// tool outputs and reasoning (the session's facts and byte counts do not need it).
fn lighten(item: &mut RolloutItem) {
    match item {
        RolloutItem::ResponseItem(
            ResponseItem::FunctionCallOutput { output, .. }
            | ResponseItem::CustomToolCallOutput { output, .. },
        ) => drop(std::mem::take(output)),
        RolloutItem::ResponseItem(ResponseItem::Reasoning {
            summary, content, ..
        }) => {
            drop(std::mem::take(summary));
            drop(std::mem::take(content));
        }
        _ => {}
    }
}

/// How a session's file was opened.
#[derive(Debug)]
pub(super) enum Opened {
    /// The plan was to keep what is indexed: no `Entries`/`End` follow.
    Nothing,
    /// Opening failed: no `Entries`/`End` follow.
    Failed {
        /// Opens attempted (for the report).
        opens: u64,
        error: Error,
    },
    /// Reading from `start`; `from_start` when the indexed rows are to be replaced (the plan
    /// said so, or a `.zst` did not reach the indexed offset).
    Reading {
        start: u64,
        from_start: bool,
        opens: u64,
    },
}

/// Reads the jobs' files in order, as an iterator of [`Fed`] messages.
pub(super) struct Feed {
    jobs: std::vec::IntoIter<Job>,
    reader: Option<RolloutReader>,
    error: Option<Error>,
}

impl Feed {
    pub(super) fn new(jobs: Vec<Job>) -> Feed {
        Feed {
            jobs: jobs.into_iter(),
            reader: None,
            error: None,
        }
    }

    fn open(&mut self, job: Job) -> Opened {
        let opened = match job.plan {
            Plan::Keep => return Opened::Nothing,
            Plan::From(offset, lines) => {
                match RolloutReader::open_at(&job.path, offset as u64, lines as u64) {
                    Ok(r) => Ok((r, false, 1)),
                    // A `.zst` that does not reach the indexed offset is a different copy.
                    Err(Error::Io { .. }) if job.compressed => RolloutReader::open(&job.path)
                        .map(|r| (r, true, 2))
                        .map_err(|e| (e, 2)),
                    Err(e) => Err((e, 1)),
                }
            }
            Plan::Rebuild => RolloutReader::open(&job.path)
                .map(|r| (r, true, 1))
                .map_err(|e| (e, 1)),
        };
        match opened {
            Ok((reader, from_start, opens)) => {
                let start = reader.offset();
                self.reader = Some(reader);
                Opened::Reading {
                    start,
                    from_start,
                    opens,
                }
            }
            Err((error, opens)) => Opened::Failed { opens, error },
        }
    }
}

impl Iterator for Feed {
    type Item = Fed;

    fn next(&mut self) -> Option<Fed> {
        let Some(reader) = self.reader.as_mut() else {
            let job = self.jobs.next()?;
            return Some(Fed::Begin(self.open(job)));
        };
        let mut chunk = Vec::new();
        let start = reader.offset();
        loop {
            match reader.next_entry() {
                Some(Ok(entry)) => {
                    let end = reader.offset();
                    chunk.push(FedEntry::new(entry, end));
                    if chunk.len() >= CHUNK_ENTRIES || end - start >= CHUNK_BYTES {
                        return Some(Fed::Entries(chunk));
                    }
                }
                // The stream ends after an error; it is reported with the end.
                Some(Err(e)) => self.error = Some(e),
                None if chunk.is_empty() => {
                    let reader = self.reader.take()?;
                    return Some(Fed::End {
                        offset: reader.offset(),
                        lines: reader.lines_read(),
                        error: self.error.take(),
                    });
                }
                None => return Some(Fed::Entries(chunk)),
            }
        }
    }
}

/// Runs `consume` over the feed of `jobs`: the feed on a thread of its own unless `inline`
/// (or a thread cannot be started). `consume` may stop early; the feed then stops too.
pub(super) fn run<T>(
    jobs: Vec<Job>,
    inline: bool,
    consume: impl FnOnce(&mut dyn Iterator<Item = Fed>) -> T,
) -> T {
    let mut feed = Feed::new(jobs);
    if inline {
        return consume(&mut feed);
    }
    std::thread::scope(|scope| {
        let (tx, rx) = sync_channel(AHEAD);
        // The feed goes to the thread once it runs: should it not start, it is still here,
        // to be read inline.
        let (hand_over, taken) = sync_channel::<Feed>(1);
        let spawned = std::thread::Builder::new()
            .name("rolldex-read".into())
            .spawn_scoped(scope, move || {
                let Ok(feed) = taken.recv() else {
                    return;
                };
                for fed in feed {
                    if tx.send(fed).is_err() {
                        return; // the writer stopped
                    }
                }
            });
        match spawned {
            Ok(_) => match hand_over.send(feed) {
                Ok(()) => consume(&mut rx.into_iter()),
                Err(std::sync::mpsc::SendError(mut feed)) => consume(&mut feed),
            },
            Err(_) => consume(&mut feed),
        }
    })
}

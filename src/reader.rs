//! Streaming a rollout line by line, from a plain `.jsonl` or a (multi-frame) `.jsonl.zst`.
//!
//! Memory stays bounded by the longest line, never by the file: one line buffer is reused,
//! and given back after an unusually long line. Each line comes with its 1-based number and
//! the byte offset of its start in the decompressed stream.
//!
//! A last line without its newline is **pending**, not corrupt: its session may still be
//! writing it. It is reported once and not consumed, so [`RolloutReader::offset`] stays at
//! its start and a later read from there sees the line complete.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::thread::JoinHandle;

use memchr::memchr;
use uuid::Uuid;

use crate::error::{Error, LineError, Result};
use crate::layout;
use crate::model::{ParsedLine, RolloutItem, SessionMeta};

/// Read buffer size: large enough that syscalls do not dominate on big files.
const BUF_SIZE: usize = 256 * 1024;
/// A line buffer grown past this is shrunk back after its line, so one huge line does not
/// pin its memory for the rest of the file.
const SHRINK_ABOVE: usize = 8 * 1024 * 1024;

/// One line as the reader sees it.
#[derive(Debug, PartialEq, Eq)]
pub enum RawLine<'a> {
    /// A complete line (newline excluded).
    Complete {
        /// 1-based line number.
        number: u64,
        /// Byte offset of the line's start.
        offset: u64,
        /// The line's bytes without the trailing newline.
        bytes: &'a [u8],
    },
    /// The last line has no newline yet; it is left unconsumed.
    Pending {
        /// 1-based line number it will have.
        number: u64,
        /// Byte offset of its start.
        offset: u64,
        /// Bytes present so far.
        len: u64,
    },
}

/// A streaming reader over one rollout.
pub struct RolloutReader {
    path: PathBuf,
    inner: Box<dyn BufRead + Send>,
    buf: Vec<u8>,
    /// Bytes of the last line handed out straight from `inner`'s buffer, consumed on the
    /// next call.
    lent: usize,
    /// Lines consumed so far.
    line: u64,
    /// Offset just after the last complete line.
    offset: u64,
    done: bool,
    /// The file's agent's line parser (see [`crate::agents`]).
    parser: Option<Box<dyn crate::agents::LineParser>>,
    /// Lines of the common model parsed from the last line and not handed out yet: one
    /// line of an agent's file may hold several.
    parsed: Vec<ParsedLine>,
    queued: std::collections::VecDeque<Record>,
    /// A whole document that does not parse (see [`crate::agents::Connector::whole_document`]).
    malformed: Option<LineError>,
}

impl std::fmt::Debug for RolloutReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RolloutReader")
            .field("path", &self.path)
            .field("line", &self.line)
            .field("offset", &self.offset)
            .finish()
    }
}

impl RolloutReader {
    /// Opens a rollout from its start; `.jsonl.zst` is decompressed on the fly.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_at(path, 0, 0)
    }

    /// Opens a rollout positioned at `offset`, a line start that the caller read up to
    /// before, which had `lines_before` lines in front of it (numbers continue from there).
    /// Plain files seek; compressed ones decompress and skip.
    pub fn open_at(path: &Path, offset: u64, lines_before: u64) -> Result<Self> {
        let connector = crate::agents::for_path(path);
        if connector.whole_document() {
            return Self::open_document(path, connector);
        }
        let inner = if offset == 0 {
            open_stream(path)?
        } else if layout::is_compressed(path) {
            let mut inner = open_stream(path)?;
            let skipped = io::copy(&mut (&mut inner).take(offset), &mut io::sink())
                .map_err(|e| Error::io(path, "decompressing", e))?;
            if skipped < offset {
                return Err(Error::io(
                    path,
                    "seeking",
                    io::Error::new(io::ErrorKind::UnexpectedEof, "file shorter than offset"),
                ));
            }
            inner
        } else {
            let mut file = open_file(path)?;
            file.seek(SeekFrom::Start(offset))
                .map_err(|e| Error::io(path, "seeking", e))?;
            Box::new(BufReader::with_capacity(BUF_SIZE, file))
        };
        Ok(RolloutReader {
            parser: Some(connector.parser(path)),
            malformed: None,
            parsed: Vec::new(),
            queued: std::collections::VecDeque::new(),
            path: path.to_path_buf(),
            inner,
            buf: Vec::new(),
            lent: 0,
            line: lines_before,
            offset,
            done: false,
        })
    }

    /// A file that is one document, read whole (whatever offset was asked: such a file is
    /// rewritten whole, never appended to). Its records are numbered from 1, all at offset
    /// 0; the reader ends at the file's length.
    fn open_document(path: &Path, connector: &dyn crate::agents::Connector) -> Result<Self> {
        let action = if layout::is_compressed(path) {
            "decompressing"
        } else {
            "reading"
        };
        let mut bytes = Vec::new();
        open_stream(path)?
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(path, action, e))?;
        let mut parsed = Vec::new();
        let mut parser = connector.parser(path);
        let malformed = parser
            .parse(&bytes, &mut parsed)
            .err()
            .map(|kind| LineError {
                path: path.to_path_buf(),
                line: 1,
                offset: 0,
                kind,
            });
        let queued: std::collections::VecDeque<Record> = parsed
            .drain(..)
            .enumerate()
            .map(|(i, line)| Record {
                number: i as u64 + 1,
                offset: 0,
                line,
            })
            .collect();
        Ok(RolloutReader {
            line: queued.len().max(1) as u64,
            parser: Some(parser),
            parsed,
            queued,
            malformed,
            path: path.to_path_buf(),
            inner: Box::new(io::empty()),
            buf: Vec::new(),
            lent: 0,
            offset: bytes.len() as u64,
            done: true,
        })
    }

    /// The path being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Offset just after the last complete line: where a later read should resume.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Number of complete lines consumed so far (including those before `open_at`).
    pub fn lines_read(&self) -> u64 {
        self.line
    }

    /// Capacity of the line buffer, to check that memory follows the longest line only.
    pub fn buffer_capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// The next line, `None` at the end. An `Err` (an I/O or decompression failure) ends
    /// the stream: nothing after it can be trusted.
    pub fn next_line(&mut self) -> Option<Result<RawLine<'_>>> {
        if self.done {
            return None;
        }
        // The line handed out last time still sits in the buffer: step over it now.
        self.inner.consume(std::mem::take(&mut self.lent));
        // Most lines lie whole in the read buffer: hand them out from there, without
        // copying (a quarter of a real rollout's bytes are not even parsed further).
        let newline = match self.inner.fill_buf() {
            Ok(buffered) => memchr(b'\n', buffered),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => None,
            Err(e) => return Some(Err(self.fail(e))),
        };
        if let Some(i) = newline {
            // Asked again for the borrow's sake: a buffer that is not empty is returned as
            // it is, without reading.
            self.lent = i + 1;
            let line = match self.inner.fill_buf() {
                Ok(buffered) => buffered.get(..=i),
                Err(_) => None,
            };
            return Some(match line {
                Some(bytes) => Ok(Self::complete(&mut self.line, &mut self.offset, bytes)),
                None => {
                    self.done = true;
                    Err(Error::io(
                        &self.path,
                        "reading",
                        io::Error::other("the read buffer changed under the reader"),
                    ))
                }
            });
        }
        // A line longer than what is buffered, or the end: gather it.
        if self.buf.capacity() > SHRINK_ABOVE {
            self.buf = Vec::new();
        }
        self.buf.clear();
        match self.inner.read_until(b'\n', &mut self.buf) {
            Err(e) => Some(Err(self.fail(e))),
            Ok(0) => {
                self.done = true;
                None
            }
            Ok(n) if self.buf.last() != Some(&b'\n') => {
                self.done = true;
                Some(Ok(RawLine::Pending {
                    number: self.line + 1,
                    offset: self.offset,
                    len: n as u64,
                }))
            }
            Ok(_) => Some(Ok(Self::complete(
                &mut self.line,
                &mut self.offset,
                &self.buf,
            ))),
        }
    }

    /// Counts a complete line (`bytes` ends with its newline) and strips its ending.
    fn complete<'b>(line: &mut u64, offset: &mut u64, bytes: &'b [u8]) -> RawLine<'b> {
        *line += 1;
        let start = *offset;
        *offset += bytes.len() as u64;
        let mut bytes = &bytes[..bytes.len() - 1];
        if let [rest @ .., b'\r'] = bytes {
            bytes = rest;
        }
        RawLine::Complete {
            number: *line,
            offset: start,
            bytes,
        }
    }

    /// Ends the stream on a read error.
    fn fail(&mut self, e: io::Error) -> Error {
        self.done = true;
        let action = if layout::is_compressed(&self.path) {
            "decompressing"
        } else {
            "reading"
        };
        Error::io(&self.path, action, e)
    }

    /// The next line, parsed. Blank lines are skipped.
    pub fn next_entry(&mut self) -> Option<Result<Entry>> {
        if let Some(e) = self.malformed.take() {
            return Some(Ok(Entry::Malformed(e)));
        }
        if let Some(rec) = self.queued.pop_front() {
            return Some(Ok(Entry::Record(rec)));
        }
        // Out of `self` while a line borrowed from the read buffer is parsed.
        let mut parser = self.parser.take()?;
        let mut parsed = std::mem::take(&mut self.parsed);
        let entry = self.next_entry_with(&mut *parser, &mut parsed);
        self.parser = Some(parser);
        self.parsed = parsed;
        entry
    }

    fn next_entry_with(
        &mut self,
        parser: &mut dyn crate::agents::LineParser,
        parsed: &mut Vec<ParsedLine>,
    ) -> Option<Result<Entry>> {
        loop {
            let raw = match self.next_line()? {
                Ok(raw) => raw,
                Err(e) => return Some(Err(e)),
            };
            return Some(Ok(match raw {
                RawLine::Pending {
                    number,
                    offset,
                    len,
                } => Entry::Pending {
                    number,
                    offset,
                    len,
                },
                RawLine::Complete { bytes, .. } if bytes.trim_ascii().is_empty() => continue,
                RawLine::Complete {
                    number,
                    offset,
                    bytes,
                } => {
                    parsed.clear();
                    let result = parser.parse(bytes, parsed);
                    let mut lines = parsed.drain(..);
                    match (result, lines.next()) {
                        (Err(kind), _) => Entry::Malformed(LineError {
                            path: self.path.clone(),
                            line: number,
                            offset,
                            kind,
                        }),
                        (Ok(()), Some(line)) => {
                            self.queued.extend(lines.map(|line| Record {
                                number,
                                offset,
                                line,
                            }));
                            Entry::Record(Record {
                                number,
                                offset,
                                line,
                            })
                        }
                        // A line that carries nothing of the common model.
                        (Ok(()), None) => continue,
                    }
                }
            }));
        }
    }

    /// Iterates parsed entries until the end or a fatal error.
    pub fn entries(&mut self) -> impl Iterator<Item = Result<Entry>> + '_ {
        std::iter::from_fn(move || self.next_entry())
    }
}

/// A parsed line with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// 1-based line number.
    pub number: u64,
    /// Byte offset of the line's start.
    pub offset: u64,
    /// The parsed line.
    pub line: ParsedLine,
}

/// What reading one line gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// A well-formed line.
    Record(Record),
    /// A malformed line; reading goes on after it.
    Malformed(LineError),
    /// An incomplete last line, left unconsumed.
    Pending {
        /// The number it will have.
        number: u64,
        /// Its start.
        offset: u64,
        /// Bytes present so far.
        len: u64,
    },
}

/// Picks a file's own session meta: the one whose id is the uuid in the file name, else
/// the first. Forked and resumed files carry their parent's meta too.
#[derive(Debug, Default)]
pub struct MetaResolver {
    file_id: Option<Uuid>,
    chosen: Option<SessionMeta>,
    matched: bool,
}

impl MetaResolver {
    /// A resolver for the file at `path`.
    pub fn for_path(path: &Path) -> Self {
        MetaResolver {
            file_id: layout::session_id_from_path(path),
            ..Default::default()
        }
    }

    /// Considers one session meta, in file order.
    pub fn offer(&mut self, meta: &SessionMeta) {
        if self.matched {
            return;
        }
        if self.file_id.is_some() && meta.uuid() == self.file_id {
            self.chosen = Some(meta.clone());
            self.matched = true;
        } else if self.chosen.is_none() {
            self.chosen = Some(meta.clone());
        }
    }

    /// The best candidate so far.
    pub fn current(&self) -> Option<&SessionMeta> {
        self.chosen.as_ref()
    }

    /// The file's own meta, if it had any.
    pub fn finish(self) -> Option<SessionMeta> {
        self.chosen
    }
}

/// The file's own session meta, reading only the lines at its head (a fork's copied
/// metas come first, before any item), so listing thousands of files stays cheap.
pub fn read_head_meta(path: &Path) -> Result<Option<SessionMeta>> {
    /// Metas come first; a few malformed or unknown lines before them are tolerated.
    const HEAD_LINES: usize = 16;
    let mut reader = RolloutReader::open(path)?;
    let mut resolver = MetaResolver::for_path(path);
    for _ in 0..HEAD_LINES {
        match reader.next_entry() {
            None => break,
            Some(entry) => match entry? {
                Entry::Record(r) => match &r.line.item {
                    RolloutItem::SessionMeta(m) => resolver.offer(m),
                    _ if resolver.current().is_some() => break,
                    _ => {}
                },
                Entry::Malformed(_) => {}
                Entry::Pending { .. } => break,
            },
        }
    }
    Ok(resolver.finish())
}

/// A whole rollout read into memory: for resume and small files, not for indexing.
#[derive(Debug, Default)]
pub struct SessionFile {
    /// The file's own session meta.
    pub meta: Option<SessionMeta>,
    /// Every well-formed line, in order.
    pub records: Vec<Record>,
    /// Malformed lines, skipped.
    pub malformed: Vec<LineError>,
    /// An incomplete last line: (line number, offset, length).
    pub pending: Option<(u64, u64, u64)>,
    /// Offset just after the last complete line.
    pub end_offset: u64,
}

/// Reads a whole rollout. Malformed lines are collected, not fatal.
pub fn read_session(path: &Path) -> Result<SessionFile> {
    let mut reader = RolloutReader::open(path)?;
    let mut resolver = MetaResolver::for_path(path);
    let mut out = SessionFile::default();
    while let Some(entry) = reader.next_entry() {
        match entry? {
            Entry::Record(r) => {
                if let RolloutItem::SessionMeta(m) = &r.line.item {
                    resolver.offer(m);
                }
                out.records.push(r);
            }
            Entry::Malformed(e) => out.malformed.push(e),
            Entry::Pending {
                number,
                offset,
                len,
            } => out.pending = Some((number, offset, len)),
        }
    }
    out.meta = resolver.finish();
    out.end_offset = reader.offset();
    Ok(out)
}

/// Opens the decompressed byte stream of a rollout (plain or `.zst`), for copying exact
/// bytes (`show --raw`) or verification.
pub fn open_stream(path: &Path) -> Result<Box<dyn BufRead + Send>> {
    let file = open_file(path)?;
    if layout::is_compressed(path) {
        // The decoder reads every concatenated frame, not only the first.
        let dec = zstd::stream::read::Decoder::new(file)
            .map_err(|e| Error::io(path, "starting decompression", e))?;
        Ok(Box::new(BufReader::with_capacity(
            BUF_SIZE,
            Pipelined::spawn(dec),
        )))
    } else {
        Ok(Box::new(BufReader::with_capacity(BUF_SIZE, file)))
    }
}

/// Decompresses on a thread of its own, a few chunks ahead of the reader, so that
/// decompression and parsing overlap on two cores. Memory stays bounded: at most
/// `AHEAD` chunks of at most `CHUNK` bytes wait in the channel. The first chunks are
/// small, so a reader that wants only the head (the session meta) gets it at once.
///
/// Dropping it stops the thread and waits for it: no decompression goes on, and no file
/// stays open, after the reader is gone.
struct Pipelined {
    rx: Option<Receiver<io::Result<Vec<u8>>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    chunk: Vec<u8>,
    pos: usize,
    done: bool,
}

impl Pipelined {
    const FIRST_CHUNK: usize = 64 << 10;
    const CHUNK: usize = 1 << 20;
    const AHEAD: usize = 4;

    fn spawn(mut src: impl Read + Send + 'static) -> Pipelined {
        let (tx, rx) = std::sync::mpsc::sync_channel(Self::AHEAD);
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut size = Self::FIRST_CHUNK;
            loop {
                let mut buf = vec![0u8; size];
                let mut filled = 0;
                // Fill whole chunks: fewer, larger messages.
                let result = loop {
                    if stopped.load(Ordering::Relaxed) {
                        return;
                    }
                    match src.read(&mut buf[filled..]) {
                        Ok(0) => break Ok(()),
                        Ok(n) => {
                            filled += n;
                            if filled == buf.len() {
                                break Ok(());
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => break Err(e),
                    }
                };
                buf.truncate(filled);
                let end = filled < size;
                if filled > 0 && tx.send(Ok(buf)).is_err() {
                    return; // the reader is gone
                }
                if let Err(e) = result {
                    let _ = tx.send(Err(e));
                    return;
                }
                if end {
                    // An empty chunk marks the end, so that a thread that died (a panic in
                    // the decoder) is an error to the reader, not a short file.
                    let _ = tx.send(Ok(Vec::new()));
                    return;
                }
                size = (size * 2).min(Self::CHUNK);
            }
        });
        Pipelined {
            rx: Some(rx),
            stop,
            thread: Some(thread),
            chunk: Vec::new(),
            pos: 0,
            done: false,
        }
    }
}

impl Drop for Pipelined {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Without a receiver, a send the thread is blocked in fails at once.
        drop(self.rx.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Read for Pipelined {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.chunk.len() {
            let Some(rx) = self.rx.as_ref().filter(|_| !self.done) else {
                return Ok(0);
            };
            match rx.recv() {
                Ok(Ok(chunk)) if chunk.is_empty() => {
                    self.done = true;
                    return Ok(0);
                }
                Ok(Ok(chunk)) => {
                    self.chunk = chunk;
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Err(io::Error::other(
                        "the decompression thread stopped before the end",
                    ));
                }
            }
        }
        let n = out.len().min(self.chunk.len() - self.pos);
        out[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn open_file(path: &Path) -> Result<File> {
    let file = File::open(path).map_err(|e| Error::io(path, "opening", e))?;
    let meta = file
        .metadata()
        .map_err(|e| Error::io(path, "reading metadata", e))?;
    if meta.is_dir() {
        return Err(Error::io(
            path,
            "opening",
            io::Error::new(io::ErrorKind::IsADirectory, "is a directory"),
        ));
    }
    Ok(file)
}

#[cfg(test)]
mod fuzz {
    //! Whatever a `.zst` holds, reading it ends (with lines, or an error naming the file).
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_zst_bytes_end_in_lines_or_a_named_error(
            body in proptest::collection::vec(any::<u8>(), 0..2048),
            cut in 0usize..4096,
            flip in 0usize..4096,
        ) {
            let dir = tempfile::tempdir().expect("tmp");
            // Half the cases start from a real frame, then get cut or flipped.
            let mut z = zstd::encode_all(&body[..], 3).expect("zstd");
            if flip % 2 == 0 {
                z = body.clone();
            } else if !z.is_empty() {
                let i = flip % z.len();
                z[i] ^= 0x5a;
                z.truncate(cut.max(1).min(z.len()));
            }
            let path = dir.path().join("rollout-x.jsonl.zst");
            std::fs::write(&path, &z).expect("write");
            match RolloutReader::open(&path) {
                Err(e) => prop_assert!(e.to_string().contains("rollout-x.jsonl.zst")),
                Ok(mut r) => {
                    while let Some(entry) = r.next_entry() {
                        if let Err(e) = entry {
                            prop_assert!(e.to_string().contains("rollout-x.jsonl.zst"));
                            break;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).expect("write");
        p
    }

    /// How many of this process's file descriptors are open on `path`.
    fn open_fds(path: &Path) -> usize {
        std::fs::read_dir("/proc/self/fd")
            .expect("/proc/self/fd")
            .flatten()
            .filter(|e| std::fs::read_link(e.path()).is_ok_and(|t| t == path))
            .count()
    }

    #[test]
    fn a_zst_reader_dropped_early_stops_decompressing_and_closes_the_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut body = Vec::new();
        for i in 0..200_000 {
            body.extend_from_slice(format!("{{\"type\":\"x\",\"n\":{i}}}\n").as_bytes());
        }
        let z = zstd::encode_all(&body[..], 1).expect("zstd");
        let path = write(dir.path(), "rollout-big.jsonl.zst", &z);
        let mut r = RolloutReader::open(&path).expect("open");
        assert!(matches!(r.next_entry(), Some(Ok(Entry::Record(_)))));
        assert_eq!(open_fds(&path), 1);
        drop(r);
        // The decompression thread has ended and closed its file.
        assert_eq!(open_fds(&path), 0);
        // Read to the end, the stream ends where the data ends, not early.
        let mut all = Vec::new();
        open_stream(&path)
            .expect("open")
            .read_to_end(&mut all)
            .expect("read");
        assert!(all == body, "{} of {} bytes", all.len(), body.len());
    }

    fn lines(path: &Path) -> Vec<(u64, u64, Vec<u8>)> {
        let mut r = RolloutReader::open(path).expect("open");
        let mut out = vec![];
        while let Some(l) = r.next_line() {
            match l.expect("line") {
                RawLine::Complete {
                    number,
                    offset,
                    bytes,
                } => out.push((number, offset, bytes.to_vec())),
                RawLine::Pending { .. } => {}
            }
        }
        out
    }

    #[test]
    fn lines_carry_numbers_and_offsets() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = write(dir.path(), "a.jsonl", b"{\"a\":1}\r\n\n{\"b\":2}\n");
        assert_eq!(
            lines(&p),
            vec![
                (1, 0, b"{\"a\":1}".to_vec()),
                (2, 9, b"".to_vec()),
                (3, 10, b"{\"b\":2}".to_vec())
            ]
        );
    }

    #[test]
    fn torn_last_line_is_pending_and_not_consumed() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = write(
            dir.path(),
            "t.jsonl",
            b"{\"record_type\":\"state\"}\n{\"type\":\"mess",
        );
        let mut r = RolloutReader::open(&p).expect("open");
        assert!(matches!(r.next_entry(), Some(Ok(Entry::Record(_)))));
        assert_eq!(
            r.next_entry().and_then(|e| e.ok()),
            Some(Entry::Pending {
                number: 2,
                offset: 24,
                len: 13
            })
        );
        assert!(r.next_entry().is_none());
        assert_eq!(r.offset(), 24);

        // The writer finishes the line; reading from the offset sees it whole.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .expect("append");
        f.write_all(b"age\",\"role\":\"user\",\"content\":[]}\n")
            .expect("write");
        let mut r = RolloutReader::open_at(&p, 24, 1).expect("reopen");
        let Some(Ok(Entry::Record(rec))) = r.next_entry() else {
            panic!("expected the completed line")
        };
        assert_eq!((rec.number, rec.offset), (2, 24));
    }

    #[test]
    fn malformed_lines_name_path_and_line_and_reading_continues() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = write(
            dir.path(),
            "m.jsonl",
            b"{\"record_type\":\"state\"}\n{not json\n\xff\xfe\n{\"record_type\":\"state\"}\n",
        );
        let s = read_session(&p).expect("read");
        assert_eq!(s.records.len(), 2);
        assert_eq!(s.malformed.len(), 2);
        assert_eq!(s.malformed[0].line, 2);
        assert_eq!(s.malformed[1].line, 3);
        let msg = s.malformed[1].to_string();
        assert!(msg.contains("m.jsonl:3") && msg.contains("UTF-8"), "{msg}");
    }

    #[test]
    fn multi_frame_zst_reads_every_frame() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut bytes = zstd::encode_all(&b"{\"record_type\":\"state\"}\n"[..], 3).expect("z");
        bytes.extend(
            zstd::encode_all(
                &b"{\"type\":\"message\",\"role\":\"user\",\"content\":[]}\n"[..],
                3,
            )
            .expect("z"),
        );
        let p = write(dir.path(), "rollout-x.jsonl.zst", &bytes);
        let s = read_session(&p).expect("read");
        assert_eq!(s.records.len(), 2);
        assert_eq!(s.records[1].offset, 24);
        // open_at works on compressed files too.
        let mut r = RolloutReader::open_at(&p, 24, 1).expect("open_at");
        assert!(matches!(r.next_entry(), Some(Ok(Entry::Record(ref rec))) if rec.number == 2));
    }

    #[test]
    fn corrupt_zst_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut bytes = zstd::encode_all(&b"{\"record_type\":\"state\"}\n"[..], 3).expect("z");
        let n = bytes.len();
        bytes[n / 2] ^= 0xff;
        bytes.extend_from_slice(b"garbage");
        let p = write(dir.path(), "rollout-bad.jsonl.zst", &bytes);
        let err = read_session(&p).expect_err("corrupt");
        assert!(err.to_string().contains("rollout-bad.jsonl.zst"), "{err}");
    }

    #[test]
    fn own_meta_is_the_one_matching_the_file_name() {
        let dir = tempfile::tempdir().expect("tmp");
        let parent = "11111111-1111-4111-8111-111111111111";
        let child = "22222222-2222-4222-8222-222222222222";
        let text = format!(
            "{{\"type\":\"session_meta\",\"payload\":{{\"id\":\"{parent}\",\"cwd\":\"/p\"}}}}\n{{\"type\":\"session_meta\",\"payload\":{{\"id\":\"{child}\",\"cwd\":\"/c\"}}}}\n"
        );
        let p = write(
            dir.path(),
            &format!("rollout-2025-10-01T00-00-00-{child}.jsonl"),
            text.as_bytes(),
        );
        let meta = read_session(&p).expect("read").meta.expect("meta");
        assert_eq!(meta.cwd.as_deref(), Some("/c"));
        // With no uuid in the name, the first meta wins.
        let q = write(dir.path(), "rollout-plain.jsonl", text.as_bytes());
        let meta = read_session(&q).expect("read").meta.expect("meta");
        assert_eq!(meta.cwd.as_deref(), Some("/p"));
    }

    #[test]
    fn a_directory_named_like_a_rollout_is_an_error() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("rollout-d.jsonl");
        std::fs::create_dir(&p).expect("mkdir");
        assert!(RolloutReader::open(&p).is_err());
    }
}

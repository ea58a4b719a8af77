//! Turning a session into text for people (`show`) and for agents (`rolldex mcp`'s
//! `read_session`): one rendering of the transcript model, written to any `Write`.

use std::collections::VecDeque;
use std::io::Write;

use crate::Home;
use crate::error::{Error, Result};
use crate::query::Session;
use crate::transcript::{
    Body, Entry, Header, Inherited, Output, Transcript, TranscriptOptions, TranscriptReader,
};

/// A failed write to the text's destination (a closed pipe, a full disk).
fn written(e: std::io::Error) -> Error {
    Error::io("<output>", "writing", e)
}

/// Longest tool output shown on a terminal, in lines and characters (unless
/// `--full-output`).
const OUTPUT_LINES: usize = 6;
const OUTPUT_CHARS: usize = 600;
/// How many generations of inherited history `--with-history` follows.
const HISTORY_DEPTH: usize = 8;

/// How `show` prints.
#[derive(Debug, Clone, Copy, Default)]
pub struct ShowOptions {
    /// What the transcript model keeps.
    pub model: TranscriptOptions,
    /// Print inherited history where it belongs.
    pub with_history: bool,
    /// Only the entries around this line number, with `context` entries each side.
    pub at: Option<(u64, usize)>,
}

/// What a transcript noticed besides what it printed.
#[derive(Debug, Default)]
pub struct TranscriptReport {
    /// Records read.
    pub records: u64,
    /// Lines that could not be read, with path and line.
    pub malformed: Vec<crate::LineError>,
    /// A torn last line: (line number, offset, bytes).
    pub pending: Option<(u64, u64, u64)>,
    /// `--at` named a line no entry covers.
    pub at_missed: bool,
}

/// Prints a readable transcript: a header (with the parent of a subagent and the subagents
/// it spawned), then the transcript model's entries. Streams the file.
pub fn transcript(
    home: &mut Home,
    t: &Transcript,
    opts: ShowOptions,
    out: &mut dyn Write,
) -> Result<TranscriptReport> {
    let mut reader = t.read(opts.model)?;
    let head = reader.header()?;
    let cost = cost_of(home, t)?;
    header(out, t, &head, cost.as_ref()).map_err(written)?;
    let mut report = TranscriptReport::default();
    let mut emit = |home: &mut Home, e: &Entry, marker: Option<u64>| -> Result<bool> {
        if let Some(seq) = marker {
            writeln!(out, ">>> line {seq}").map_err(written)?;
        }
        print_entry(home, out, e, opts, 0)?;
        Ok(true)
    };
    match opts.at {
        None => {
            while let Some(entry) = reader.next_entry() {
                emit(home, &entry?, None)?;
            }
            if let Some(total) = reader.tokens() {
                writeln!(out, "-- {total} tokens in total --").map_err(written)?;
            }
        }
        Some((seq, context)) => {
            report.at_missed = !around(home, &mut reader, seq, context, &mut emit)?;
        }
    }
    report.records = reader.records;
    report.malformed = std::mem::take(&mut reader.malformed);
    report.pending = reader.pending;
    Ok(report)
}

/// Where [`transcript_within`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    /// The line of the first entry left out: ask again from there.
    pub next_seq: u64,
}

/// [`transcript`] within `max_bytes`, cut at entry boundaries (an entry that does not fit
/// is left out whole, and so is every later one): the rendering an agent's context can
/// afford. Secrets are redacted whatever `opts` says, in the header too. Reading stops at
/// the cut, so a long session costs what is returned.
pub fn transcript_within(
    home: &mut Home,
    t: &Transcript,
    mut opts: ShowOptions,
    max_bytes: usize,
) -> Result<(String, TranscriptReport, Option<Cut>)> {
    opts.model.redact = true;
    let mut reader = t.read(opts.model)?;
    let head = reader.header()?;
    if let (Some((seq, context)), Some(id)) = (opts.at, t.resolved.id.as_deref()) {
        // Around a line of a long session: from a few items before it, where the index
        // says they start, not through every entry before (2 GB are seconds to read).
        if let Some((offset, line)) = home.item_start_before(id, seq, context + 2)? {
            reader.skip_to(offset, line.saturating_sub(1))?;
        }
    }
    let mut text = Vec::new();
    let cost = cost_of(home, t)?;
    header(&mut text, t, &head, cost.as_ref()).map_err(written)?;
    let mut out = crate::redact::redact(&String::from_utf8_lossy(&text)).into_owned();
    // The header takes at most half: the entries are what was asked for.
    clip_to(&mut out, max_bytes / 2);
    let mut cut = None;
    let mut entries = 0usize;
    let mut emit = |home: &mut Home, e: &Entry, marker: Option<u64>| -> Result<bool> {
        let mut piece = Vec::new();
        if let Some(seq) = marker {
            writeln!(piece, ">>> line {seq}").map_err(written)?;
        }
        print_entry(home, &mut piece, e, opts, 0)?;
        let piece = String::from_utf8_lossy(&piece);
        let mut piece = crate::redact::redact(&piece).into_owned();
        if out.len() + piece.len() > max_bytes {
            if entries > 0 {
                cut = Some(Cut { next_seq: e.seq });
                return Ok(false);
            }
            // An entry larger than the whole budget: its start, so that reading on from
            // the next entry always moves forward.
            clip_to(&mut piece, max_bytes.saturating_sub(out.len() + 16));
            piece.push_str(" [...]\n");
        }
        entries += 1;
        out.push_str(&piece);
        Ok(true)
    };
    let mut report = TranscriptReport::default();
    match opts.at {
        None => {
            while let Some(entry) = reader.next_entry() {
                if !emit(home, &entry?, None)? {
                    break;
                }
            }
        }
        Some((seq, context)) => {
            report.at_missed = !around(home, &mut reader, seq, context, &mut emit)?;
        }
    }
    report.records = reader.records;
    report.malformed = std::mem::take(&mut reader.malformed);
    report.pending = reader.pending;
    Ok((out, report, cut))
}

/// Cuts `text` to at most `max` bytes, at a character boundary.
fn clip_to(text: &mut String, max: usize) {
    let end = crate::index::summary::clip(text, max).len();
    text.truncate(end);
}

/// What [`around`] hands each entry to: the entry, and the line number to mark before it
/// (the one asked for); `false` stops.
type Emit<'a> = dyn FnMut(&mut Home, &Entry, Option<u64>) -> Result<bool> + 'a;

/// Emits the entry covering line `seq` with `context` entries each side; `false` when no
/// entry covers it.
fn around(
    home: &mut Home,
    reader: &mut TranscriptReader,
    seq: u64,
    context: usize,
    emit: &mut Emit<'_>,
) -> Result<bool> {
    let mut before: VecDeque<Entry> = VecDeque::new();
    let mut after_left = None;
    let mut found = false;
    while let Some(entry) = reader.next_entry() {
        let entry = entry?;
        match after_left {
            Some(0) => break,
            Some(n) => {
                if !emit(home, &entry, None)? {
                    break;
                }
                after_left = Some(n - 1);
            }
            // The first entry that reaches the line: it covers it, or the line had none.
            None if seq <= entry.last_seq.max(entry.seq) => {
                found = entry.seq <= seq;
                for e in before.drain(..) {
                    if !emit(home, &e, None)? {
                        return Ok(found);
                    }
                }
                if !emit(home, &entry, found.then_some(seq))? {
                    return Ok(found);
                }
                after_left = Some(context);
            }
            None => {
                before.push_back(entry);
                if before.len() > context {
                    before.pop_front();
                }
            }
        }
    }
    Ok(found)
}

/// `id  name · title` of a related session.
fn describe(s: &Session) -> String {
    match s.name_and_title() {
        Some(l) => format!("{}  {l}", s.id),
        None => s.id.clone(),
    }
}

fn agent_label(nickname: Option<&str>, role: Option<&str>) -> String {
    match (nickname, role) {
        (Some(n), Some(r)) => format!(" [{n}, {r}]"),
        (Some(x), None) | (None, Some(x)) => format!(" [{x}]"),
        (None, None) => String::new(),
    }
}

/// What the session cost, when the index knows it (a file read by path alone has no
/// tokens counted).
fn cost_of(home: &mut Home, t: &Transcript) -> Result<Option<crate::cost::Cost>> {
    match &t.resolved.session {
        Some(s) => home.cost(&s.id),
        None => Ok(None),
    }
}

/// `$1.23 (tokens: 1000 input, 2000 cache read, 300 cache write, 345 output)`.
pub fn cost_line(c: &crate::cost::Cost) -> String {
    let t = &c.tokens;
    let mut line = format!(
        "{c} (tokens: {} input, {} cache read, {} cache write, {} output",
        t.input,
        t.cache_read,
        t.cache_write_5m + t.cache_write_1h,
        t.output
    );
    if t.reasoning > 0 {
        line.push_str(&format!(" of which {} reasoning", t.reasoning));
    }
    line.push(')');
    line
}

fn header(
    out: &mut dyn Write,
    t: &Transcript,
    head: &Header,
    cost: Option<&crate::cost::Cost>,
) -> std::io::Result<()> {
    let path = t.resolved.path.as_path();
    let Some(meta) = &head.meta else {
        return writeln!(out, "# {} (no session meta)\n", path.display());
    };
    writeln!(
        out,
        "# session {}  {}",
        meta.id.as_deref().unwrap_or("?"),
        path.display()
    )?;
    if let Some(name) = t.resolved.session.as_ref().and_then(|s| s.name.as_deref()) {
        writeln!(out, "# name: {name}")?;
    }
    if let Some(title) = t.resolved.session.as_ref().and_then(|s| s.title.as_deref()) {
        writeln!(out, "# title: {title}")?;
    }
    if let Some(parent) = &meta.parent_thread_id {
        let who = agent_label(meta.agent_nickname.as_deref(), meta.agent_role.as_deref());
        match &t.parent {
            Some(p) => writeln!(out, "# subagent{who} of {}", describe(p))?,
            None => writeln!(out, "# subagent{who} of {parent}")?,
        }
    }
    let mut facts = Vec::new();
    if let Some(t) = &meta.timestamp {
        facts.push(format!("started {t}"));
    }
    if let Some(c) = &meta.cwd {
        facts.push(format!("cwd {c}"));
    }
    if let Some(g) = &meta.git {
        let mut git = vec!["git".to_string()];
        git.extend(g.branch.clone());
        git.extend(
            g.commit_hash
                .as_deref()
                .map(|c| c.chars().take(10).collect()),
        );
        git.extend(g.repository_url.clone());
        facts.push(git.join(" "));
    }
    if let Some(o) = &meta.originator {
        facts.push(format!("by {o}"));
    }
    facts.push(format!(
        "agent {}",
        crate::agents::for_path(&t.resolved.path).agent()
    ));
    if !facts.is_empty() {
        writeln!(out, "# {}", facts.join("  "))?;
    }
    if let Some(c) = cost {
        writeln!(out, "# cost {}", cost_line(c))?;
    }
    if !t.children.is_empty() {
        writeln!(out, "# spawned {} subagent(s):", t.children.len())?;
        for c in &t.children {
            let who = agent_label(c.agent_nickname.as_deref(), c.agent_role.as_deref());
            writeln!(out, "#   {}{who}", describe(c))?;
        }
    }
    writeln!(out)
}

/// `[hh:mm:ss] ` from a timestamp, or nothing.
fn clock(ts: Option<&str>) -> String {
    ts.and_then(|t| t.get(11..19))
        .map(|t| format!("[{t}] "))
        .unwrap_or_default()
}

fn print_output(out: &mut dyn Write, o: &Output, full: bool) -> std::io::Result<()> {
    let text = if full {
        o.text.clone()
    } else {
        shorten(&o.text, OUTPUT_LINES, OUTPUT_CHARS)
    };
    writeln!(out, "  -> {}", text.replace('\n', "\n     "))
}

fn print_entry(
    home: &mut Home,
    out: &mut dyn Write,
    e: &Entry,
    opts: ShowOptions,
    depth: usize,
) -> Result<()> {
    if let Body::Inherited(h) = &e.body {
        return inherited(home, out, h, &clock(e.timestamp.as_deref()), opts, depth);
    }
    print_plain_entry(out, e, opts).map_err(written)
}

/// An entry other than inherited history (which may read another file).
fn print_plain_entry(out: &mut dyn Write, e: &Entry, opts: ShowOptions) -> std::io::Result<()> {
    let time = clock(e.timestamp.as_deref());
    let full = opts.model.full_output;
    match &e.body {
        Body::Context { label, lines, text } => match text {
            Some(t) => writeln!(out, "{time}context: {}", indent(t))?,
            None => writeln!(out, "{time}context: {label} ({lines} lines)")?,
        },
        Body::User { text, images } => {
            let mut parts = vec![text.clone()];
            parts.extend(
                images
                    .iter()
                    .map(|i| format!("[{}, {} KB]", i.kind, i.bytes / 1024)),
            );
            writeln!(out, "{time}user: {}", indent(&parts.join("\n")))?;
        }
        Body::Assistant { text, .. } => writeln!(out, "{time}assistant: {}", indent(text))?,
        Body::Reasoning { text } => writeln!(out, "{time}thinking: {}", indent(text))?,
        Body::Command { output, .. } => {
            let Some(line) = e.body.command_line() else {
                return Ok(());
            };
            let note = line.note.map(|n| format!("    [{n}]")).unwrap_or_default();
            writeln!(out, "{time}{} {}{note}", line.prompt, indent(line.text))?;
            if let Some(o) = output {
                print_output(out, o, full)?;
            }
        }
        Body::Patch { files, output, .. } => {
            writeln!(out, "{time}tool apply_patch: {}", files.join(", "))?;
            if let Some(o) = output {
                print_output(out, o, full)?;
            }
        }
        Body::ToolCall {
            name,
            input,
            output,
        } => {
            writeln!(out, "{time}tool {name} {}", shorten(input, 1, 200))?;
            if let Some(o) = output {
                print_output(out, o, full)?;
            }
        }
        Body::ToolOutput { output } => print_output(out, output, full)?,
        Body::WebSearch { query } => writeln!(out, "{time}web search: {query}")?,
        Body::ToolSearch { query, found } => {
            writeln!(out, "{time}tool search: {}", shorten(query, 1, 200))?;
            if let Some(n) = found {
                writeln!(out, "  -> {n} tool(s)")?;
            }
        }
        Body::AgentMessage {
            author,
            recipient,
            text,
        } => writeln!(out, "{time}{author} -> {recipient}: {}", indent(text))?,
        Body::Spawn(s) => writeln!(
            out,
            "{time}-- spawned subagent {}{}{} --",
            s.id,
            agent_label(s.nickname.as_deref(), s.role.as_deref()),
            s.label
                .as_deref()
                .map(|l| format!(": {l}"))
                .unwrap_or_default()
        )?,
        Body::ImageGenerated { prompt, bytes } => writeln!(
            out,
            "{time}[image generated, {} KB]{}",
            bytes / 1024,
            prompt
                .as_deref()
                .map(|p| format!(": {}", shorten(p, 1, 200)))
                .unwrap_or_default()
        )?,
        Body::Compaction { items: Some(n) } => {
            writeln!(out, "{time}-- context compacted ({n} items) --")?
        }
        Body::Compaction { items: None } => writeln!(out, "{time}-- context compacted --")?,
        Body::WorldState { full, keys } => writeln!(
            out,
            "{time}-- world state {} ({keys} keys) --",
            if *full { "baseline" } else { "update" }
        )?,
        _ => {}
    }
    Ok(())
}

/// Where inherited history sits: a marker, or with `--with-history` the history itself,
/// read from the file that holds it.
fn inherited(
    home: &mut Home,
    out: &mut dyn Write,
    h: &Inherited,
    time: &str,
    opts: ShowOptions,
    depth: usize,
) -> Result<()> {
    let from = h
        .thread_id
        .as_deref()
        .or(h.rollout_path.as_deref())
        .unwrap_or("another file");
    let from = match h
        .thread_id
        .as_deref()
        .and_then(|id| home.session(id).ok().flatten())
    {
        Some(s) => describe(&s),
        None => from.to_string(),
    };
    let size = h
        .end_offset
        .map(|b| format!("{b} bytes of "))
        .unwrap_or_default();
    let what = if h.fork {
        "fork of"
    } else {
        "inherited history:"
    };
    if !opts.with_history || depth >= HISTORY_DEPTH {
        return writeln!(
            out,
            "{time}-- {what} {size}{from} (--with-history prints it) --"
        )
        .map_err(written);
    }
    writeln!(out, "{time}== {what} {size}{from} ==").map_err(written)?;
    let source = home.inherited_history(
        h.thread_id.as_deref(),
        h.rollout_path.as_deref(),
        h.end_offset,
    );
    match source.and_then(|s| TranscriptReader::open(&s.path, opts.model, s.end_offset)) {
        Ok(mut r) => {
            while let Some(entry) = r.next_entry() {
                print_entry(home, out, &entry?, opts, depth + 1)?;
            }
        }
        Err(e) => writeln!(out, "   (cannot read it: {e})").map_err(written)?,
    }
    writeln!(out, "{time}== end of inherited history ==").map_err(written)
}

/// `2026-02-23 12:19` (UTC): short and unambiguous in a table.
pub fn short_time(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

fn indent(text: &str) -> String {
    text.trim_end().replace('\n', "\n  ")
}

/// At most `lines` lines and `chars` characters, saying how much was left out.
fn shorten(text: &str, lines: usize, chars: usize) -> String {
    let text = text.trim_end();
    let total_lines = text.lines().count();
    let mut kept: String = text.lines().take(lines).collect::<Vec<_>>().join("\n");
    let mut cut = total_lines > lines;
    if kept.chars().count() > chars {
        kept = kept.chars().take(chars).collect();
        cut = true;
    }
    if cut {
        let more = total_lines.saturating_sub(lines);
        if more > 0 {
            kept.push_str(&format!(" ... ({more} more lines)"));
        } else {
            kept.push_str(" ...");
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_says_what_it_left_out() {
        assert_eq!(shorten("a\nb\nc", 2, 100), "a\nb ... (1 more lines)");
        assert_eq!(shorten("abcdef", 3, 4), "abcd ...");
        assert_eq!(shorten("short", 3, 100), "short");
    }
}

//! Turning sessions into text for people.

use std::io::Write;
use std::path::Path;

use rolldex::LineError;
use rolldex::model::{ContentItem, EventMsg, ResponseItem, RolloutItem, SessionMeta, patch_files};
use rolldex::reader::{Entry, MetaResolver, RolloutReader};

/// Longest tool output shown, in lines and characters.
const OUTPUT_LINES: usize = 6;
const OUTPUT_CHARS: usize = 600;

/// What a transcript noticed besides what it printed.
#[derive(Debug, Default)]
pub struct TranscriptReport {
    pub records: u64,
    pub malformed: Vec<LineError>,
    pub pending: Option<(u64, u64, u64)>,
}

/// Prints a readable transcript: messages, reasoning summaries, tool calls with their
/// command, shortened outputs. Streams the file; memory follows the longest line.
pub fn transcript(path: &Path, out: &mut dyn Write) -> anyhow::Result<TranscriptReport> {
    let mut reader = RolloutReader::open(path)?;
    let mut resolver = MetaResolver::for_path(path);
    let mut report = TranscriptReport::default();
    // The header waits for the first item: a fork copies its parent's meta in front of its
    // own, and the resolver must see both before it can say which is the file's.
    let mut header_done = false;
    let mut tokens = None;
    while let Some(entry) = reader.next_entry() {
        let record = match entry? {
            Entry::Record(r) => {
                report.records += 1;
                r
            }
            Entry::Malformed(e) => {
                report.malformed.push(e);
                continue;
            }
            Entry::Pending {
                number,
                offset,
                len,
            } => {
                report.pending = Some((number, offset, len));
                continue;
            }
        };
        let time = record
            .line
            .timestamp
            .as_deref()
            .and_then(|t| t.get(11..19))
            .map(|t| format!("[{t}] "))
            .unwrap_or_default();
        if let RolloutItem::SessionMeta(meta) = &record.line.item {
            resolver.offer(meta);
            continue;
        }
        if !header_done {
            header(out, path, resolver.current())?;
            header_done = true;
        }
        match &record.line.item {
            RolloutItem::ResponseItem(item) => item_text(out, &time, item)?,
            RolloutItem::EventMsg(EventMsg::TokenCount { total: Some(t) }) => {
                tokens = Some(t.total_tokens);
            }
            RolloutItem::Compacted(c) => {
                writeln!(
                    out,
                    "{time}-- context compacted ({} items) --",
                    c.replacement_items
                )?;
            }
            _ => {}
        }
    }
    if !header_done {
        header(out, path, resolver.current())?;
    }
    if let Some(t) = tokens {
        writeln!(out, "-- {t} tokens in total --")?;
    }
    Ok(report)
}

fn header(out: &mut dyn Write, path: &Path, meta: Option<&SessionMeta>) -> std::io::Result<()> {
    let Some(meta) = meta else {
        return writeln!(out, "# {} (no session meta)\n", path.display());
    };
    writeln!(
        out,
        "# session {}  {}",
        meta.id.as_deref().unwrap_or("?"),
        path.display()
    )?;
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
        git.extend(
            g.repository_url
                .as_deref()
                .map(rolldex::repo_url::strip_credentials),
        );
        facts.push(git.join(" "));
    }
    if let Some(o) = &meta.originator {
        facts.push(format!("by {o}"));
    }
    if !facts.is_empty() {
        writeln!(out, "# {}", facts.join("  "))?;
    }
    writeln!(out)
}

fn item_text(out: &mut dyn Write, time: &str, item: &ResponseItem) -> std::io::Result<()> {
    match item {
        ResponseItem::Message { role, content } => {
            let mut parts = Vec::new();
            for c in content {
                match c {
                    ContentItem::Text(t) => parts.push(t.clone()),
                    ContentItem::Image { url_len } => {
                        parts.push(format!("[image, {} KB]", url_len / 1024))
                    }
                    ContentItem::Other(_) => {}
                }
            }
            writeln!(out, "{time}{role}: {}", indent(&parts.join("\n")))
        }
        ResponseItem::Reasoning { summary, .. } if !summary.is_empty() => {
            writeln!(out, "{time}thinking: {}", indent(&summary.join("\n")))
        }
        ResponseItem::Reasoning { .. } => Ok(()),
        ResponseItem::FunctionCall {
            name, arguments, ..
        } => match item.shell_command() {
            Some(cmd) => writeln!(out, "{time}$ {}", indent(&cmd)),
            None => writeln!(out, "{time}tool {name} {}", shorten(arguments, 1, 200)),
        },
        ResponseItem::LocalShellCall { .. } => {
            writeln!(
                out,
                "{time}$ {}",
                indent(&item.shell_command().unwrap_or_default())
            )
        }
        ResponseItem::CustomToolCall { name, input, .. } => {
            let files = patch_files(input);
            if files.is_empty() {
                writeln!(out, "{time}tool {name} {}", shorten(input, 1, 200))
            } else {
                writeln!(out, "{time}tool {name}: {}", files.join(", "))
            }
        }
        ResponseItem::FunctionCallOutput { output, .. }
        | ResponseItem::CustomToolCallOutput { output, .. } => {
            writeln!(
                out,
                "  -> {}",
                shorten(output, OUTPUT_LINES, OUTPUT_CHARS).replace('\n', "\n     ")
            )
        }
        ResponseItem::WebSearchCall { query, .. } => {
            writeln!(out, "{time}web search: {}", query.as_deref().unwrap_or(""))
        }
        ResponseItem::Other { .. } => Ok(()),
    }
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

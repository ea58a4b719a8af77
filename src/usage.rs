//! Where the bytes of a rollout go: every byte of every line falls in exactly one [`Kind`].
//!
//! Heavy users find hundreds of GB under `sessions/`: screenshots saved as base64 data URLs,
//! compaction history that repeats the conversation, a turn context on every turn. The
//! indexer classifies each line as it reads it and keeps, per session, the bytes of each
//! kind, so `rolldex du` answers at once. The split is by line, except that the image data
//! inside a message, an event or a generated image counts as `images` and the rest of its
//! line as the line's kind.

use crate::model::{ContentItem, EventMsg, ParsedLine, ResponseItem, RolloutItem};

/// What a byte of a rollout is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Base64 image data in messages, events and generated images.
    Images,
    /// Reasoning items carrying encrypted content.
    EncryptedReasoning,
    /// `compacted` lines (their replacement history) and compaction items.
    CompactionHistory,
    /// `turn_context` lines.
    TurnContext,
    /// `session_meta` lines (base instructions) and developer or system messages.
    Instructions,
    /// What tools returned.
    ToolOutput,
    /// Tool and shell calls, searches.
    ToolCalls,
    /// Messages of the person, the agent and agents to each other; readable reasoning.
    Messages,
    /// Events (token counts, turn starts and ends, repeated messages) and bookkeeping.
    Events,
    /// Anything else: unknown kinds, malformed lines, a torn last line, blank lines.
    Other,
}

impl Kind {
    /// Every kind, in the order reports list them.
    pub const ALL: [Kind; 10] = [
        Kind::Images,
        Kind::EncryptedReasoning,
        Kind::CompactionHistory,
        Kind::TurnContext,
        Kind::Instructions,
        Kind::ToolOutput,
        Kind::ToolCalls,
        Kind::Messages,
        Kind::Events,
        Kind::Other,
    ];

    /// Its name in reports and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Images => "images",
            Kind::EncryptedReasoning => "encrypted_reasoning",
            Kind::CompactionHistory => "compaction_history",
            Kind::TurnContext => "turn_context",
            Kind::Instructions => "instructions",
            Kind::ToolOutput => "tool_output",
            Kind::ToolCalls => "tool_calls",
            Kind::Messages => "messages",
            Kind::Events => "events",
            Kind::Other => "other",
        }
    }

    /// Its position in [`Kind::ALL`] (and in [`Bytes`]).
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Bytes per kind, indexed by [`Kind::index`].
pub type Bytes = [u64; 10];

/// Adds a line of `len` bytes (newline included) to `bytes`.
pub fn add_line(bytes: &mut Bytes, line: &ParsedLine, len: u64) {
    count_line(bytes, line, len);
}

/// How a line's bytes were counted: its kind, its image bytes, and whether it is content.
pub type Counted = (Kind, u64, bool);

/// Adds a line of `len` bytes to `bytes` as [`add_line`] does, and says how.
pub fn count_line(bytes: &mut Bytes, line: &ParsedLine, len: u64) -> Counted {
    let (kind, images) = classify(line);
    let images = (images as u64).min(len);
    bytes[Kind::Images.index()] += images;
    bytes[kind.index()] += len - images;
    (kind, images, is_content(line))
}

/// Moves a line of `len` bytes, counted as `from`, to `to`: one line of an agent's file
/// can give several records (see [`crate::agents`]), and its bytes belong to what it
/// carries, not to the facts read along with it. Only a line first counted with facts
/// (a session meta, a turn context, bookkeeping) moves, to the first record that is
/// content. Returns how it is counted now.
pub fn recount_line(bytes: &mut Bytes, from: Counted, to: &ParsedLine, len: u64) -> Counted {
    if from.2 || !is_content(to) {
        return from;
    }
    bytes[Kind::Images.index()] -= from.1;
    bytes[from.0.index()] -= len - from.1;
    count_line(bytes, to, len)
}

/// Whether a line is conversation rather than facts about it.
fn is_content(line: &ParsedLine) -> bool {
    matches!(
        line.item,
        RolloutItem::ResponseItem(_) | RolloutItem::Compacted(_) | RolloutItem::InterAgent(_)
    )
}

/// A line's kind, and how many of its bytes are image data.
pub fn classify(line: &ParsedLine) -> (Kind, usize) {
    match &line.item {
        RolloutItem::SessionMeta(_) => (Kind::Instructions, 0),
        RolloutItem::TurnContext(_) => (Kind::TurnContext, 0),
        RolloutItem::Compacted(_) => (Kind::CompactionHistory, 0),
        RolloutItem::EventMsg(EventMsg::UserMessage { image_bytes, .. }) => {
            (Kind::Events, *image_bytes)
        }
        RolloutItem::EventMsg(_)
        | RolloutItem::TokenUsageRecord { .. }
        | RolloutItem::WorldState { .. }
        | RolloutItem::HistoryReference(_)
        | RolloutItem::ReplyUsage { .. }
        | RolloutItem::TitleHint { .. }
        | RolloutItem::State => (Kind::Events, 0),
        RolloutItem::InterAgent(_) => (Kind::Messages, 0),
        RolloutItem::ResponseItem(item) => match item {
            ResponseItem::Message { role, content, .. } => {
                let images = content
                    .iter()
                    .map(|c| match c {
                        ContentItem::Image { url_len, .. } => *url_len,
                        _ => 0,
                    })
                    .sum();
                let kind = if role == "developer" || role == "system" {
                    Kind::Instructions
                } else {
                    Kind::Messages
                };
                (kind, images)
            }
            ResponseItem::Reasoning {
                encrypted: true, ..
            } => (Kind::EncryptedReasoning, 0),
            ResponseItem::Reasoning { .. } | ResponseItem::AgentMessage(_) => (Kind::Messages, 0),
            ResponseItem::FunctionCall { .. }
            | ResponseItem::LocalShellCall { .. }
            | ResponseItem::CustomToolCall { .. }
            | ResponseItem::WebSearchCall { .. }
            | ResponseItem::ToolSearchCall { .. } => (Kind::ToolCalls, 0),
            ResponseItem::ImageGenerationCall { result_len, .. } => (Kind::ToolCalls, *result_len),
            ResponseItem::FunctionCallOutput { .. }
            | ResponseItem::CustomToolCallOutput { .. }
            | ResponseItem::ToolSearchOutput { .. } => (Kind::ToolOutput, 0),
            ResponseItem::Compaction { .. } => (Kind::CompactionHistory, 0),
            ResponseItem::Other { .. } => (Kind::Other, 0),
        },
        RolloutItem::Unknown { .. } => (Kind::Other, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::parse_line;

    fn split(line: &str) -> Bytes {
        let mut b = Bytes::default();
        let parsed = parse_line(line.as_bytes()).expect("line");
        add_line(&mut b, &parsed, line.len() as u64 + 1);
        b
    }

    #[test]
    fn every_byte_lands_in_one_kind_and_images_are_split_out() {
        let png = "A".repeat(5000);
        let line = format!(
            r#"{{"type":"response_item","payload":{{"type":"message","role":"user","content":[{{"type":"input_text","text":"look"}},{{"type":"input_image","image_url":"data:image/png;base64,{png}"}}]}}}}"#
        );
        let b = split(&line);
        assert_eq!(b.iter().sum::<u64>(), line.len() as u64 + 1);
        assert_eq!(b[Kind::Images.index()], 5022);
        assert_eq!(b[Kind::Messages.index()], line.len() as u64 + 1 - 5022);
        let event = format!(
            r#"{{"type":"event_msg","payload":{{"type":"user_message","message":"look","images":["data:image/png;base64,{png}"]}}}}"#
        );
        let b = split(&event);
        assert_eq!(b[Kind::Images.index()], 5022);
        assert_eq!(b.iter().sum::<u64>(), event.len() as u64 + 1);
        for (line, kind) in [
            (
                r#"{"type":"session_meta","payload":{"id":"x"}}"#,
                Kind::Instructions,
            ),
            (
                r#"{"type":"turn_context","payload":{"model":"m"}}"#,
                Kind::TurnContext,
            ),
            (
                r#"{"type":"compacted","payload":{"message":"m","replacement_history":[]}}"#,
                Kind::CompactionHistory,
            ),
            (
                r#"{"type":"response_item","payload":{"type":"reasoning","summary":[],"encrypted_content":"gAAA"}}"#,
                Kind::EncryptedReasoning,
            ),
            (
                r#"{"type":"response_item","payload":{"type":"function_call","name":"shell","arguments":"{}"}}"#,
                Kind::ToolCalls,
            ),
            (
                r#"{"type":"response_item","payload":{"type":"function_call_output","output":"ok"}}"#,
                Kind::ToolOutput,
            ),
            (
                r#"{"type":"event_msg","payload":{"type":"token_count","info":null}}"#,
                Kind::Events,
            ),
            (
                r#"{"type":"response_item","payload":{"type":"message","role":"developer","content":[]}}"#,
                Kind::Instructions,
            ),
            (r#"{"type":"brand_new","payload":{}}"#, Kind::Other),
        ] {
            let b = split(line);
            assert_eq!(b[kind.index()], line.len() as u64 + 1, "{line}");
        }
    }
}

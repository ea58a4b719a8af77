//! What a rollout line contributes to the index.
//!
//! Search needs what a person looks for (what they typed, what the agent answered, its
//! reasoning summaries, the commands it ran, the files it patched, the gist of tool output)
//! and nothing nobody searches (base64 images, encrypted reasoning, token counts, the
//! compaction history that repeats earlier conversation). That keeps the index a small
//! fraction of the rollouts. Events that repeat a response item (`agent_message`,
//! `agent_reasoning`, `user_message`) add no item; `user_message` gives the title.

use crate::cost::{Bucket, Spent, Tokens, spend};
use crate::model::{EventMsg, ParsedLine, ResponseItem, RolloutItem, TokenUsage, patch_files};

/// Longest message text kept per item: long answers are still found by their start.
const MESSAGE_CHARS: usize = 4096;
/// Reasoning summaries and commands.
const SHORT_CHARS: usize = 1024;
/// Tool output: its head, and its tail where build logs put the error.
const OUTPUT_HEAD: usize = 400;
const OUTPUT_TAIL: usize = 200;
/// Longest title.
const TITLE_CHARS: usize = 200;

/// One searchable item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemSummary {
    /// The item's type (`message`, `function_call`...) or `compacted`.
    pub kind: String,
    /// The message role, for messages.
    pub role: Option<String>,
    /// The text to search.
    pub text: String,
}

/// Facts about a session gathered line by line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionFacts {
    /// The first `user_message` event: what the person typed.
    pub title: Option<String>,
    /// Files without events: the first user message that is not injected context.
    pub fallback_title: Option<String>,
    /// A title written in the file (rank 1 by the agent, 2 by the person), which beats
    /// the first prompt: the highest rank, the latest of a rank.
    pub hint: Option<(u8, String)>,
    /// The last reply whose usage was counted: a later line of the same reply replaces
    /// its count instead of adding to it.
    pub last_reply: Option<LastReply>,
    /// The tokens each model spent, by kind (see [`crate::cost`]).
    pub spent: Spent,
    /// The last model a turn used.
    pub model: Option<String>,
    /// The turns now run at a fast/priority service tier (Codex's
    /// `thread_settings_applied`).
    pub fast: bool,
    /// Cumulative tokens: the last `token_count` total, else the last
    /// `token_usage_record.thread_token_usage` total.
    pub tokens: u64,
    /// Whether `tokens` came from a `token_count` event (which wins over usage records).
    pub tokens_counted: bool,
    /// Message items (user and assistant).
    pub messages: u64,
    /// Tool and shell calls.
    pub tool_calls: u64,
    /// First and last line timestamps, as written.
    pub first_timestamp: Option<String>,
    /// See `first_timestamp`.
    pub last_timestamp: Option<String>,
}

/// The last reply counted (see [`SessionFacts::last_reply`]): what it added, to take
/// back when a later line of it brings its final figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastReply {
    /// The reply's id.
    pub id: String,
    /// Its total as the agent counts it.
    pub tokens: u64,
    /// Where its tokens went.
    pub bucket: Bucket,
    /// Its tokens by kind.
    pub usage: Tokens,
}

/// The model of Codex tokens spent before any turn named one (rollouts older than
/// `turn_context.model`): Codex's default model then.
pub const UNKNOWN_CODEX_MODEL: &str = "gpt-5";

/// A Codex usage by billing kind: its `input_tokens` include the cached ones, its
/// `output_tokens` the reasoning.
pub fn codex_tokens(u: &TokenUsage) -> Tokens {
    Tokens {
        input: u.input_tokens.saturating_sub(u.cached_input_tokens),
        cache_read: u.cached_input_tokens.min(u.input_tokens),
        cache_write_5m: 0,
        cache_write_1h: 0,
        output: u.output_tokens,
        reasoning: u.reasoning_output_tokens,
    }
}

impl SessionFacts {
    /// The title to show: the first typed message, else the first non-injected user item.
    pub fn best_title(&self) -> Option<&str> {
        self.hint
            .as_ref()
            .map(|(_, t)| t.as_str())
            .or(self.title.as_deref())
            .or(self.fallback_title.as_deref())
    }

    /// Takes in one parsed line; returns what it adds to search, if anything.
    pub fn add(&mut self, line: &ParsedLine) -> Option<ItemSummary> {
        self.note(line);
        item_of(line)
    }

    /// Takes in what one parsed line says of the session (title, counts, tokens, model),
    /// without its text to search ([`item_of`], which the indexer computes on its reading
    /// thread).
    pub fn note(&mut self, line: &ParsedLine) {
        if let Some(ts) = &line.timestamp {
            if self.first_timestamp.is_none() {
                self.first_timestamp = Some(ts.clone());
            }
            self.last_timestamp.clone_from(&line.timestamp);
        }
        match &line.item {
            RolloutItem::ResponseItem(item) => self.note_item(item),
            RolloutItem::EventMsg(ev) => match ev {
                EventMsg::UserMessage { message, .. } if self.title.is_none() => {
                    let t = one_line(crate::model::request_text(message), TITLE_CHARS);
                    if !t.is_empty() {
                        self.title = Some(t);
                    }
                }
                EventMsg::TokenCount {
                    total: Some(t),
                    last,
                } => {
                    // Codex writes a count per model response and again on every
                    // rate-limit update: a count repeating the last total adds nothing.
                    let repeat = self.tokens_counted && t.total_tokens == self.tokens;
                    if !self.tokens_counted {
                        // Usage records stood in until now: the counts, which hold all
                        // they held, replace them.
                        self.spent.clear();
                    }
                    self.tokens = t.total_tokens;
                    self.tokens_counted = true;
                    if !repeat {
                        match last {
                            // The response's own usage: right even where a resumed
                            // session's running total starts again.
                            Some(l) => self.spend_response(l),
                            None => self.spend_cumulative(t),
                        }
                    }
                }
                EventMsg::ThreadSettings { service_tier } => {
                    self.fast = matches!(service_tier.as_deref(), Some("fast" | "priority"));
                }
                _ => {}
            },
            RolloutItem::TurnContext(tc) => {
                if tc.model.is_some() {
                    self.model.clone_from(&tc.model);
                }
            }
            RolloutItem::TokenUsageRecord {
                thread_total: Some(t),
                thread,
            } => {
                // The cumulative token_count total wins; usage records stand in for it in
                // sessions that have none.
                if !self.tokens_counted {
                    self.tokens = *t;
                    if let Some(u) = thread {
                        self.spend_cumulative(u);
                    }
                }
            }
            RolloutItem::ReplyUsage {
                reply,
                tokens,
                model,
                usage,
                fast,
            } => {
                match &self.last_reply {
                    Some(last) if last.id == *reply => {
                        self.tokens = self.tokens.saturating_sub(last.tokens) + tokens;
                        if let Some(t) = self.spent.get_mut(&last.bucket) {
                            t.sub(&last.usage);
                            if t.is_empty() {
                                self.spent.remove(&last.bucket);
                            }
                        }
                    }
                    _ => self.tokens += tokens,
                }
                let bucket = Bucket::new(model.as_str(), usage, *fast);
                spend(&mut self.spent, bucket.clone(), usage);
                self.last_reply = Some(LastReply {
                    id: reply.clone(),
                    tokens: *tokens,
                    bucket,
                    usage: *usage,
                });
            }
            RolloutItem::TitleHint { text, rank } => {
                let t = one_line(text, TITLE_CHARS);
                if !t.is_empty() && self.hint.as_ref().is_none_or(|(r, _)| rank >= r) {
                    self.hint = Some((*rank, t));
                }
            }
            RolloutItem::Compacted(_)
            | RolloutItem::InterAgent(_)
            | RolloutItem::SessionMeta(_)
            | RolloutItem::State
            | RolloutItem::TokenUsageRecord { .. }
            | RolloutItem::WorldState { .. }
            | RolloutItem::HistoryReference(_)
            | RolloutItem::Unknown { .. } => {}
        }
    }

    /// A cumulative total (Codex's `token_count` without its last response's usage, or a
    /// usage record's thread total): what it adds to the sum counted so far was spent by
    /// the model of the current turn.
    fn spend_cumulative(&mut self, total: &TokenUsage) {
        let mut counted = Tokens::default();
        for t in self.spent.values() {
            counted.add(t);
        }
        let delta = codex_tokens(total).since(&counted);
        self.spend_codex(delta);
    }

    /// One model response's usage, spent by the model of the current turn.
    fn spend_response(&mut self, last: &TokenUsage) {
        self.spend_codex(codex_tokens(last));
    }

    fn spend_codex(&mut self, tokens: Tokens) {
        if tokens.is_empty() {
            return;
        }
        let model = self.model.as_deref().unwrap_or(UNKNOWN_CODEX_MODEL);
        let bucket = Bucket::new(model, &tokens, self.fast);
        spend(&mut self.spent, bucket, &tokens);
    }

    fn note_item(&mut self, item: &ResponseItem) {
        match item {
            ResponseItem::Message { role, .. } => {
                if role != "user" && role != "assistant" {
                    return;
                }
                self.messages += 1;
                if role == "user" && self.fallback_title.is_none() {
                    let text = item.message_text();
                    if !crate::model::is_injected(&text) {
                        let t = one_line(crate::model::request_text(&text), TITLE_CHARS);
                        if !t.is_empty() {
                            self.fallback_title = Some(t);
                        }
                    }
                }
            }
            ResponseItem::FunctionCall { .. }
            | ResponseItem::LocalShellCall { .. }
            | ResponseItem::CustomToolCall { .. }
            | ResponseItem::ToolSearchCall { .. } => self.tool_calls += 1,
            _ => {}
        }
    }
}

/// What one parsed line adds to search, if anything: its kind, role and text (clipped).
/// It depends on the line alone, so the indexer computes it ahead, on its reading thread.
pub fn item_of(line: &ParsedLine) -> Option<ItemSummary> {
    match &line.item {
        RolloutItem::ResponseItem(item) => response_item_of(item),
        RolloutItem::Compacted(c) => c.message.as_deref().map(|m| ItemSummary {
            kind: "compacted".into(),
            role: None,
            text: clip(m, MESSAGE_CHARS).to_string(),
        }),
        RolloutItem::InterAgent(m) => summary_of(
            "inter_agent_communication",
            clip(&m.text, MESSAGE_CHARS).to_string(),
        ),
        _ => None,
    }
}

fn response_item_of(item: &ResponseItem) -> Option<ItemSummary> {
    let summary = |text: String| {
        (!text.trim().is_empty()).then(|| ItemSummary {
            kind: item.kind().to_string(),
            role: None,
            text,
        })
    };
    match item {
        ResponseItem::Message { role, .. } => {
            if role != "user" && role != "assistant" {
                // Developer and system blocks are instructions, not conversation.
                return None;
            }
            let text = item.message_text();
            summary(clip(&text, MESSAGE_CHARS).to_string()).map(|mut s| {
                s.role = Some(role.clone());
                s
            })
        }
        ResponseItem::Reasoning { summary: parts, .. } => {
            summary(clip(&parts.join("\n"), SHORT_CHARS).to_string())
        }
        ResponseItem::FunctionCall {
            name, arguments, ..
        } => {
            let text = match item.shell_command() {
                Some(cmd) => format!("{name}: {cmd}"),
                None => format!("{name} {arguments}"),
            };
            summary(clip(&text, SHORT_CHARS).to_string())
        }
        ResponseItem::LocalShellCall { .. } => {
            summary(clip(&item.shell_command().unwrap_or_default(), SHORT_CHARS).to_string())
        }
        ResponseItem::CustomToolCall { name, input, .. } => {
            let files = patch_files(input);
            let text = if files.is_empty() {
                format!("{name} {}", clip(input, SHORT_CHARS))
            } else {
                format!("{name} {}", files.join(" "))
            };
            summary(text)
        }
        ResponseItem::FunctionCallOutput { output, .. }
        | ResponseItem::CustomToolCallOutput { output, .. } => summary(head_and_tail(output)),
        ResponseItem::WebSearchCall { query, .. } => summary(query.clone().unwrap_or_default()),
        ResponseItem::AgentMessage(m) => summary(clip(&m.text, MESSAGE_CHARS).to_string()),
        ResponseItem::ToolSearchCall { query, .. } => summary(clip(query, SHORT_CHARS).to_string()),
        ResponseItem::ImageGenerationCall { revised_prompt, .. } => {
            summary(clip(revised_prompt.as_deref().unwrap_or(""), SHORT_CHARS).to_string())
        }
        ResponseItem::ToolSearchOutput { .. }
        | ResponseItem::Compaction { .. }
        | ResponseItem::Other { .. } => None,
    }
}

/// An item of `kind` with `text`, unless the text is blank.
fn summary_of(kind: &str, text: String) -> Option<ItemSummary> {
    (!text.trim().is_empty()).then(|| ItemSummary {
        kind: kind.to_string(),
        role: None,
        text,
    })
}

/// The first `max` bytes of `text`, cut at a character boundary.
pub(crate) fn clip(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The last `max` bytes of `text`, cut at a character boundary.
fn clip_end(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

fn head_and_tail(output: &str) -> String {
    let output = crate::model::unwrap_output(output);
    let output = output.as_ref();
    if output.len() <= OUTPUT_HEAD + OUTPUT_TAIL {
        return output.to_string();
    }
    format!(
        "{}\n...\n{}",
        clip(output, OUTPUT_HEAD),
        clip_end(output, OUTPUT_TAIL)
    )
}

/// Whitespace folded to single spaces, at most `max` bytes.
pub(crate) fn one_line(text: &str, max: usize) -> String {
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    clip(&folded, max).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::parse_line;

    fn add(facts: &mut SessionFacts, line: &str) -> Option<ItemSummary> {
        let parsed = parse_line(line.as_bytes()).expect("valid line");
        facts.add(&parsed)
    }

    #[test]
    fn an_ide_or_desktop_wrapped_request_titles_the_session_by_the_request() {
        let ide = "# Context from my IDE setup:\n\n## Active file: src/lib.rs\n\n## Open tabs:\n- lib.rs: src/lib.rs\n\n## My request for Codex:\nconduct code review on the parser\n";
        let desktop = "# Files mentioned by the user:\n\n## Sample Project Demo Prep.vtt: /Users/ann/Prep.vtt\n\n## My request for Codex:\nsummarize the demo notes";
        for (text, want) in [
            (ide, "conduct code review on the parser"),
            (desktop, "summarize the demo notes"),
            // A wrapper with nothing after the marker keeps its text.
            (
                "# Files mentioned by the user:\n## My request for Codex:\n",
                "# Files mentioned by the user: ## My request for Codex:",
            ),
        ] {
            let line =
                serde_json::json!({"timestamp":"2026-01-01T00:00:00.000Z","type":"event_msg",
                "payload":{"type":"user_message","message":text}})
                .to_string();
            let mut f = SessionFacts::default();
            add(&mut f, &line);
            assert_eq!(f.best_title(), Some(want));
            let item = serde_json::json!({"timestamp":"2026-01-01T00:00:00.000Z","type":"response_item",
                "payload":{"type":"message","role":"user","content":[{"type":"input_text","text":text}]}}).to_string();
            let mut f = SessionFacts::default();
            let summary = add(&mut f, &item).expect("a message item");
            assert_eq!(f.best_title(), Some(want), "files without events too");
            assert!(
                summary.text.starts_with('#'),
                "the index keeps the whole message"
            );
        }
    }

    #[test]
    fn the_title_is_the_first_typed_message_not_injected_context() {
        let mut f = SessionFacts::default();
        add(
            &mut f,
            r#"{"timestamp":"2026-01-01T00:00:00.000Z","type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"<environment_context>cwd</environment_context>"}]}}"#,
        );
        assert_eq!(f.best_title(), None);
        add(
            &mut f,
            r#"{"timestamp":"2026-01-01T00:00:01.000Z","type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"Fix   the\nbuild"}]}}"#,
        );
        assert_eq!(f.best_title(), Some("Fix the build"));
        add(
            &mut f,
            r#"{"timestamp":"2026-01-01T00:00:02.000Z","type":"event_msg","payload":{"type":"user_message","message":"Fix the build please"}}"#,
        );
        assert_eq!(
            f.best_title(),
            Some("Fix the build please"),
            "the event wins"
        );
        assert_eq!(f.messages, 2);
        assert_eq!(
            f.first_timestamp.as_deref(),
            Some("2026-01-01T00:00:00.000Z")
        );
        assert_eq!(
            f.last_timestamp.as_deref(),
            Some("2026-01-01T00:00:02.000Z")
        );
    }

    #[test]
    fn searchable_text_keeps_what_people_look_for() {
        let mut f = SessionFacts::default();
        let call = add(
            &mut f,
            r#"{"type":"function_call","name":"shell","arguments":"{\"command\":[\"bash\",\"-lc\",\"cargo test -p core\"]}","call_id":"c"}"#,
        )
        .expect("item");
        assert_eq!(call.text, "shell: cargo test -p core");
        let patch = add(
            &mut f,
            r#"{"type":"custom_tool_call","name":"apply_patch","input":"*** Begin Patch\n*** Update File: src/a.rs\n*** Add File: docs/b.md\n*** End Patch","call_id":"p"}"#,
        )
        .expect("item");
        assert_eq!(patch.text, "apply_patch src/a.rs docs/b.md");
        assert_eq!(f.tool_calls, 2);
        let long_log = format!(
            "{}error[E0308]: mismatched types",
            "compiling...\n".repeat(500)
        );
        let out = add(
            &mut f,
            &serde_json::json!({"type":"function_call_output","call_id":"c","output":long_log})
                .to_string(),
        )
        .expect("item");
        assert!(out.text.starts_with("compiling..."));
        assert!(
            out.text.ends_with("error[E0308]: mismatched types"),
            "the tail is kept"
        );
        assert!(out.text.len() < OUTPUT_HEAD + OUTPUT_TAIL + 10);
    }

    #[test]
    fn wrapped_shell_output_is_unwrapped() {
        let mut f = SessionFacts::default();
        let out = add(
            &mut f,
            r#"{"type":"function_call_output","call_id":"c","output":"{\"output\":\"src/a.rs:1: fn main\\n\",\"metadata\":{\"exit_code\":0}}"}"#,
        )
        .expect("item");
        assert_eq!(out.text, "src/a.rs:1: fn main\n");
    }

    #[test]
    fn what_nobody_searches_is_left_out() {
        let mut f = SessionFacts::default();
        let image = add(
            &mut f,
            &format!(
                r#"{{"type":"message","role":"user","content":[{{"type":"input_text","text":"see"}},{{"type":"input_image","image_url":"data:image/png;base64,{}"}}]}}"#,
                "A".repeat(100_000)
            ),
        )
        .expect("item");
        assert_eq!(image.text, "see");
        let reasoning = add(
            &mut f,
            r#"{"type":"reasoning","summary":[],"encrypted_content":"gAAAAsecret"}"#,
        );
        assert_eq!(reasoning, None);
        for skipped in [
            r#"{"type":"event_msg","payload":{"type":"token_count","info":{"total_token_usage":{"total_tokens":42}}}}"#,
            r#"{"type":"event_msg","payload":{"type":"agent_message","message":"dup"}}"#,
            r#"{"type":"turn_context","payload":{"model":"gpt-5-codex"}}"#,
            r#"{"type":"compacted","payload":{"replacement_history":[{"type":"message","role":"user","content":[]}]}}"#,
            r#"{"type":"brand_new_kind","payload":{}}"#,
            r#"{"type":"message","role":"developer","content":[{"type":"input_text","text":"rules"}]}"#,
        ] {
            assert_eq!(add(&mut f, skipped), None, "{skipped}");
        }
        assert_eq!(f.tokens, 42);
        assert_eq!(f.model.as_deref(), Some("gpt-5-codex"));
    }

    #[test]
    fn token_counts_win_over_usage_records_whatever_their_order() {
        let record = |n: u64| {
            format!(
                r#"{{"type":"token_usage_record","payload":{{"thread_token_usage":{{"total_tokens":{n}}}}}}}"#
            )
        };
        let count = |n: u64| {
            format!(
                r#"{{"type":"event_msg","payload":{{"type":"token_count","info":{{"total_token_usage":{{"total_tokens":{n}}}}}}}}}"#
            )
        };
        let mut f = SessionFacts::default();
        add(&mut f, &record(100));
        add(&mut f, &record(250));
        assert_eq!(
            (f.tokens, f.tokens_counted),
            (250, false),
            "the last record"
        );
        add(&mut f, &count(900));
        add(&mut f, &record(300));
        assert_eq!((f.tokens, f.tokens_counted), (900, true), "the count wins");
    }

    #[test]
    fn agents_talking_and_new_tools_are_searchable() {
        let mut f = SessionFacts::default();
        let said = add(
            &mut f,
            r#"{"type":"inter_agent_communication","payload":{"author":"/root","recipient":"/root/scout","content":"find the backoff"}}"#,
        )
        .expect("item");
        assert_eq!(
            (said.kind.as_str(), said.text.as_str()),
            ("inter_agent_communication", "find the backoff")
        );
        let search = add(
            &mut f,
            r#"{"type":"response_item","payload":{"type":"tool_search_call","arguments":{"query":"git blame"}}}"#,
        )
        .expect("item");
        assert_eq!(search.text, "git blame");
        let image = add(
            &mut f,
            r#"{"type":"response_item","payload":{"type":"image_generation_call","revised_prompt":"a diagram","result":"iVBORw0KGgoAAAA"}}"#,
        )
        .expect("item");
        assert_eq!(image.text, "a diagram");
        assert_eq!(
            f.best_title(),
            None,
            "agents' messages are not the person's title"
        );
    }

    #[test]
    fn clipping_respects_character_boundaries() {
        let s = "héllo wörld";
        for max in 0..s.len() + 2 {
            let c = clip(s, max);
            assert!(c.len() <= max && s.starts_with(c));
            let e = clip_end(s, max);
            assert!(e.len() <= max && s.ends_with(e));
        }
    }
}

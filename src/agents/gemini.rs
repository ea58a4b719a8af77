//! Gemini CLI: sessions under `~/.gemini/tmp/<projectHash>/chats/session-*.json`, one JSON
//! document each, rewritten whole as the session grows (`../shared/AGENT-FORMATS.md`).
//!
//! A document is `{sessionId, projectHash, startTime, lastUpdated, messages, summary?}`;
//! each message is `user`, `gemini` (with `model`, `thoughts`, `toolCalls`, `tokens`),
//! `info` or `error`. Read whole: a changed file is read again from its start (the index
//! never continues one from an offset), and its records are numbered by message. The
//! folder is named only by `projectHash`, the SHA-256 of its path: it goes out as the
//! meta's `folder_hash`, and the index recovers the folder when one it knows hashes to it.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Agent, Connector, LineParser};
use crate::error::LineErrorKind;
use crate::model::{
    ContentItem, EventMsg, ParsedLine, ResponseItem, RolloutItem, SessionMeta, TurnContext,
};

/// The Gemini CLI connector.
#[derive(Debug, Clone, Copy)]
pub struct Gemini;

/// Folder of Gemini CLI's per-project data under its root.
pub const TMP_DIR: &str = "tmp";

impl Connector for Gemini {
    fn agent(&self) -> Agent {
        Agent::Gemini
    }

    fn owns(&self, path: &Path) -> bool {
        path.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| self.is_session_name(n))
            && path
                .parent()
                .and_then(|d| d.file_name())
                .is_some_and(|d| d == "chats")
    }

    fn session_dirs(&self, root: &Path) -> Vec<(PathBuf, usize)> {
        // tmp/<projectHash>/chats/session-*.json
        vec![(root.join(TMP_DIR), 2)]
    }

    fn is_session_name(&self, name: &str) -> bool {
        // `.json.zst`: rolldex's own preserved copies (see `crate::preserve`).
        let name = name.strip_suffix(".zst").unwrap_or(name);
        name.starts_with("session-") && name.ends_with(".json")
    }

    fn session_id(&self, _path: &Path) -> Option<String> {
        // The file name holds 8 characters of the id: the document says the rest.
        None
    }

    fn compress_in_place(&self) -> bool {
        false
    }

    fn forget_moves_originals(&self) -> bool {
        false
    }

    fn whole_document(&self) -> bool {
        true
    }

    fn parser(&self, _path: &Path) -> Box<dyn LineParser> {
        Box::new(Document)
    }

    fn resume_command(
        &self,
        id: &str,
        cwd: Option<&str>,
        _parent: Option<(&str, Option<&str>)>,
    ) -> String {
        match cwd {
            Some(dir) => format!("cd {} && gemini --resume {id}", super::shell_quote(dir)),
            None => format!("gemini --resume {id}"),
        }
    }
}

/// Parses a whole session document (handed over as one "line").
struct Document;

impl LineParser for Document {
    fn parse(&mut self, bytes: &[u8], out: &mut Vec<ParsedLine>) -> Result<(), LineErrorKind> {
        let text = std::str::from_utf8(bytes).map_err(|e| LineErrorKind::InvalidUtf8 {
            valid_up_to: e.valid_up_to(),
        })?;
        let doc: Value =
            serde_json::from_str(text).map_err(|e| LineErrorKind::Json(e.to_string()))?;
        let Some(id) = str_of(&doc, "sessionId") else {
            return Err(LineErrorKind::Shape(
                "a Gemini CLI session is an object with a \"sessionId\"".into(),
            ));
        };
        let start = str_of(&doc, "startTime");
        out.push(line(
            start.as_deref(),
            RolloutItem::SessionMeta(Box::new(SessionMeta {
                id: Some(id),
                timestamp: start.clone(),
                originator: Some("gemini-cli".into()),
                source: Some("cli".into()),
                model_provider: Some("google".into()),
                folder_hash: str_of(&doc, "projectHash").map(|h| h.to_ascii_lowercase()),
                ..Default::default()
            })),
        ));
        if let Some(summary) = str_of(&doc, "summary").filter(|s| !s.trim().is_empty()) {
            out.push(line(
                start.as_deref(),
                RolloutItem::TitleHint {
                    text: summary,
                    rank: 1,
                },
            ));
        }
        for m in doc
            .get("messages")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            message(m, out);
        }
        Ok(())
    }
}

fn message(m: &Value, out: &mut Vec<ParsedLine>) {
    let ts = str_of(m, "timestamp");
    let ts = ts.as_deref();
    let text = content_text(m.get("content"));
    match m.get("type").and_then(Value::as_str) {
        Some("user") => {
            if text.trim().is_empty() {
                return;
            }
            out.push(line(
                ts,
                RolloutItem::ResponseItem(ResponseItem::Message {
                    role: "user".into(),
                    content: vec![ContentItem::Text(text.clone())],
                    phase: None,
                }),
            ));
            out.push(line(
                ts,
                RolloutItem::EventMsg(EventMsg::UserMessage {
                    message: text,
                    images: 0,
                    image_bytes: 0,
                }),
            ));
        }
        Some("gemini") => {
            if let Some(model) = str_of(m, "model") {
                out.push(line(
                    ts,
                    RolloutItem::TurnContext(TurnContext {
                        model: Some(model),
                        ..Default::default()
                    }),
                ));
            }
            for t in m
                .get("thoughts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let thought = match (str_of(t, "subject"), str_of(t, "description")) {
                    (Some(s), Some(d)) => format!("{s}: {d}"),
                    (Some(x), None) | (None, Some(x)) => x,
                    (None, None) => continue,
                };
                out.push(line(
                    ts,
                    RolloutItem::ResponseItem(ResponseItem::Reasoning {
                        summary: vec![thought],
                        content: Vec::new(),
                        encrypted: false,
                    }),
                ));
            }
            if !text.trim().is_empty() {
                out.push(line(
                    ts,
                    RolloutItem::ResponseItem(ResponseItem::Message {
                        role: "assistant".into(),
                        content: vec![ContentItem::Text(text)],
                        phase: None,
                    }),
                ));
            }
            for call in m
                .get("toolCalls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                tool_call(call, ts, out);
            }
            // Each message's `tokens` count once: the session's tokens are the sum.
            if let (Some(id), Some(t)) = (str_of(m, "id"), m.get("tokens")) {
                let n = |k: &str| t.get(k).and_then(Value::as_u64).unwrap_or(0);
                let cached = n("cached").min(n("input"));
                let usage = crate::cost::Tokens {
                    // `input` includes the cached part; tool-use prompts are input too.
                    input: n("input") - cached + n("tool"),
                    cache_read: cached,
                    cache_write_5m: 0,
                    cache_write_1h: 0,
                    // Thoughts are billed as output.
                    output: n("output") + n("thoughts"),
                    reasoning: n("thoughts"),
                };
                out.push(line(
                    ts,
                    RolloutItem::ReplyUsage {
                        reply: id,
                        tokens: t
                            .get("total")
                            .and_then(Value::as_u64)
                            .unwrap_or(usage.total()),
                        model: str_of(m, "model").unwrap_or_else(|| "unknown".into()),
                        usage,
                        fast: false,
                    },
                ));
            }
        }
        // `info` and `error` are what the CLI told the person: context, not conversation.
        Some(kind @ ("info" | "error")) if !text.trim().is_empty() => out.push(line(
            ts,
            RolloutItem::ResponseItem(ResponseItem::Message {
                role: "developer".into(),
                content: vec![ContentItem::Text(if kind == "error" {
                    format!("Error: {text}")
                } else {
                    text
                })],
                phase: None,
            }),
        )),
        _ => {}
    }
}

/// A tool call and its result; the shell tool is a shell command.
fn tool_call(call: &Value, ts: Option<&str>, out: &mut Vec<ParsedLine>) {
    let id = str_of(call, "id");
    let name = str_of(call, "name").unwrap_or_else(|| "tool".into());
    let args = call.get("args").cloned().unwrap_or(Value::Null);
    let item = match (name.as_str(), args.get("command").and_then(Value::as_str)) {
        ("run_shell_command", Some(command)) => ResponseItem::FunctionCall {
            name: "shell_command".into(),
            arguments: serde_json::json!({
                "command": command,
                "workdir": args.get("directory").and_then(Value::as_str),
            })
            .to_string(),
            call_id: id.clone(),
        },
        _ => ResponseItem::FunctionCall {
            name,
            arguments: args.to_string(),
            call_id: id.clone(),
        },
    };
    out.push(line(ts, RolloutItem::ResponseItem(item)));
    let result = match call.get("resultDisplay") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => result_text(call.get("result")),
    };
    let status = str_of(call, "status");
    if result.is_empty() && status.is_none() {
        return;
    }
    let output = match status.as_deref() {
        Some("error") | Some("cancelled") => format!("{}: {result}", status.unwrap_or_default()),
        _ => result,
    };
    out.push(line(
        ts,
        RolloutItem::ResponseItem(ResponseItem::FunctionCallOutput {
            call_id: id,
            output,
        }),
    ));
}

/// A tool result as text: strings as they are, `functionResponse` parts by their output.
fn result_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .map(|p| {
                p.pointer("/functionResponse/response/output")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| p.to_string())
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Some(other) => other.to_string(),
    }
}

/// A message's content: a string, or parts with `text`.
fn content_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| match p {
                Value::String(s) => Some(s.clone()),
                _ => str_of(p, "text"),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

use super::{line, str_of};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_gives_meta_prompts_thoughts_tool_calls_and_summed_tokens() {
        let doc = serde_json::json!({
            "sessionId": "5e551011-0000-4000-8000-000000000001",
            "projectHash": "ABC123",
            "startTime": "2025-12-01T10:00:00.000Z",
            "messages": [
                {"id":"m1","timestamp":"2025-12-01T10:00:01.000Z","type":"user","content":"list the files"},
                {"id":"m2","timestamp":"2025-12-01T10:00:02.000Z","type":"gemini","content":"Listing.",
                 "model":"gemini-2.5-pro","thoughts":[{"subject":"Plan","description":"use ls"}],
                 "toolCalls":[{"id":"t1","name":"run_shell_command","args":{"command":"ls","directory":"src"},
                   "status":"success","resultDisplay":"main.rs"}],
                 "tokens":{"input":10,"output":5,"cached":0,"thoughts":2,"tool":0,"total":17}},
                {"id":"m3","timestamp":"2025-12-01T10:00:03.000Z","type":"gemini","content":"Done.",
                 "model":"gemini-2.5-flash","tokens":{"total":8}},
                {"id":"m4","timestamp":"2025-12-01T10:00:04.000Z","type":"error","content":"quota exceeded"}
            ]
        });
        let mut out = Vec::new();
        Document
            .parse(doc.to_string().as_bytes(), &mut out)
            .expect("parses");
        let RolloutItem::SessionMeta(meta) = &out[0].item else {
            panic!("{out:?}")
        };
        assert_eq!(meta.folder_hash.as_deref(), Some("abc123"));
        let mut facts = crate::index::summary::SessionFacts::default();
        for l in &out {
            facts.add(l);
        }
        assert_eq!(facts.tokens, 25, "the sum of tokens.total");
        assert_eq!(facts.best_title(), Some("list the files"));
        assert_eq!(facts.model.as_deref(), Some("gemini-2.5-flash"));
        assert!(out.iter().any(|l| matches!(&l.item,
            RolloutItem::ResponseItem(r) if r.shell_call().is_some_and(|c| c.command == "ls" && c.workdir.as_deref() == Some("src")))));
        assert!(out.iter().any(|l| matches!(&l.item,
            RolloutItem::ResponseItem(ResponseItem::FunctionCallOutput { output, .. }) if output == "main.rs")));
        let mut bad = Vec::new();
        assert!(Document.parse(b"{\"messages\":[]}", &mut bad).is_err());
        assert!(Document.parse(b"{\"sessionId\":", &mut bad).is_err());
    }
}

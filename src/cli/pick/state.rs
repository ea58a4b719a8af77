//! The picker's state machine: what is loaded, what is typed, what is shown, and what a
//! key asks for. No terminal here: the event loop feeds keys and answers in, and draws
//! what this holds, so every behaviour is testable without one.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
pub use rolldex::finder::Found as Shown;
pub use rolldex::finder::Row;
use rolldex::query::Session;

/// What the event loop should do after a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Nothing beyond drawing again.
    None,
    /// Ask the query worker for `text`, as answer number `generation`.
    Query {
        /// Answers to older generations are stale.
        generation: u64,
        /// What is typed.
        text: String,
    },
    /// The person chose this session.
    Accept(String),
    /// The person left without choosing.
    Cancel,
}

/// Everything the picker shows.
#[derive(Debug, Default)]
pub struct Picker {
    /// The sessions loaded, in tree order.
    pub rows: Arc<Vec<Row>>,
    /// What is typed.
    pub query: String,
    /// The rows that match, best first.
    pub shown: Vec<Shown>,
    /// Index into `shown`.
    pub selected: usize,
    /// First `shown` row on screen.
    pub offset: usize,
    /// Rows that fit on screen (set by drawing), for paging.
    pub page: usize,
    /// The preview pane is on.
    pub preview_on: bool,
    /// The help is shown.
    pub help: bool,
    /// The preview's text and which session and line it is of.
    pub preview: Option<(String, Option<i64>, String)>,
    /// The newest query sent.
    pub generation: u64,
    /// The generation `shown` answers.
    pub answered: u64,
    /// The text of the newest query sent, and of the one `shown` answers: an answer to
    /// new text starts at its best row; one to the same text (the rows were refreshed)
    /// keeps the selection where the person moved it.
    asked_text: String,
    answered_text: String,
    /// A line for the status bar (indexing, errors).
    pub status: String,
}

impl Picker {
    /// A picker over `rows`, with `query` typed.
    pub fn new(rows: Vec<Row>, query: String) -> Picker {
        let mut p = Picker {
            rows: Arc::new(rows),
            query,
            preview_on: true,
            page: 10,
            ..Default::default()
        };
        p.show_all();
        p
    }

    /// Every row, unfiltered.
    fn show_all(&mut self) {
        self.shown = (0..self.rows.len())
            .map(|row| Shown {
                row,
                snippet: None,
                seq: None,
            })
            .collect();
        self.clamp();
    }

    /// New rows (after a refresh): the query is asked again.
    pub fn set_rows(&mut self, rows: Vec<Row>) -> Action {
        let keep = self.selected_session().map(|s| s.id.clone());
        self.rows = Arc::new(rows);
        self.show_all();
        if let Some(id) = keep {
            self.select_id(&id);
        }
        if self.query.is_empty() {
            Action::None
        } else {
            self.ask()
        }
    }

    /// The first question, for a `--query` given on the command line.
    pub fn initial(&mut self) -> Action {
        if self.query.is_empty() {
            Action::None
        } else {
            self.ask()
        }
    }

    /// An answer from the query worker; stale ones (an older generation) are dropped.
    pub fn answer(&mut self, generation: u64, shown: Vec<Shown>) -> bool {
        if generation != self.generation {
            return false;
        }
        let keep = self.selected_session().map(|s| s.id.clone());
        let same_text = self.asked_text == self.answered_text;
        self.shown = shown;
        self.answered = generation;
        self.answered_text.clone_from(&self.asked_text);
        self.selected = 0;
        if let Some(id) = keep.filter(|_| same_text) {
            self.select_id(&id);
        }
        self.clamp();
        true
    }

    fn select_id(&mut self, id: &str) {
        if let Some(i) = self
            .shown
            .iter()
            .position(|s| self.rows.get(s.row).is_some_and(|r| r.session.id == id))
        {
            self.selected = i;
        }
    }

    /// The selected session.
    pub fn selected_session(&self) -> Option<&Session> {
        self.selected_shown()
            .and_then(|s| self.rows.get(s.row))
            .map(|r| &r.session)
    }

    /// The selected answer row.
    pub fn selected_shown(&self) -> Option<&Shown> {
        self.shown.get(self.selected)
    }

    fn ask(&mut self) -> Action {
        self.generation += 1;
        if self.query.trim().is_empty() {
            // Nothing typed: everything, at once, with no worker round trip.
            self.answered = self.generation;
            self.asked_text.clear();
            self.answered_text.clear();
            self.show_all();
            self.selected = 0;
            return Action::None;
        }
        self.asked_text.clone_from(&self.query);
        Action::Query {
            generation: self.generation,
            text: self.query.clone(),
        }
    }

    fn clamp(&mut self) {
        if self.selected >= self.shown.len() {
            self.selected = self.shown.len().saturating_sub(1);
        }
        let page = self.page.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + page {
            self.offset = self.selected + 1 - page;
        }
    }

    fn move_by(&mut self, delta: isize) {
        let last = self.shown.len().saturating_sub(1) as isize;
        self.selected = (self.selected as isize + delta).clamp(0, last.max(0)) as usize;
        self.clamp();
    }

    /// Handles one key.
    pub fn key(&mut self, k: KeyEvent) -> Action {
        if self.help {
            self.help = false;
            return Action::None;
        }
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        match k.code {
            KeyCode::Esc => Action::Cancel,
            KeyCode::Char('c') | KeyCode::Char('g') if ctrl => Action::Cancel,
            KeyCode::Enter => match self.selected_session() {
                Some(s) => Action::Accept(s.id.clone()),
                None => Action::None,
            },
            KeyCode::Up => {
                self.move_by(-1);
                Action::None
            }
            KeyCode::Char('p') | KeyCode::Char('k') if ctrl => {
                self.move_by(-1);
                Action::None
            }
            KeyCode::Down => {
                self.move_by(1);
                Action::None
            }
            KeyCode::Char('n') | KeyCode::Char('j') if ctrl => {
                self.move_by(1);
                Action::None
            }
            KeyCode::PageUp => {
                self.move_by(-(self.page.max(1) as isize));
                Action::None
            }
            KeyCode::PageDown => {
                self.move_by(self.page.max(1) as isize);
                Action::None
            }
            KeyCode::Home => {
                self.selected = 0;
                self.clamp();
                Action::None
            }
            KeyCode::End => {
                self.selected = self.shown.len().saturating_sub(1);
                self.clamp();
                Action::None
            }
            KeyCode::Tab => {
                self.preview_on = !self.preview_on;
                Action::None
            }
            KeyCode::Char('?') => {
                self.help = true;
                Action::None
            }
            KeyCode::Char('u') if ctrl => {
                self.query.clear();
                self.ask()
            }
            KeyCode::Char('w') if ctrl => {
                let trimmed = self.query.trim_end().len();
                self.query.truncate(trimmed);
                let cut = self.query.rfind(char::is_whitespace).map_or(0, |i| i + 1);
                self.query.truncate(cut);
                self.ask()
            }
            KeyCode::Backspace => {
                if self.query.pop().is_some() {
                    self.ask()
                } else {
                    Action::None
                }
            }
            KeyCode::Char(c) if !ctrl => {
                self.query.push(c);
                self.ask()
            }
            _ => Action::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: &str, title: &str, parent: Option<&str>) -> Session {
        Session {
            id: id.into(),
            title: Some(title.into()),
            parent_id: parent.map(str::to_string),
            ..Default::default()
        }
    }

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    fn picker() -> Picker {
        Picker::new(
            Row::from_sessions(&[
                session("c", "child task", Some("p")),
                session("p", "parent work", None),
                session("x", "unrelated", None),
            ]),
            String::new(),
        )
    }

    #[test]
    fn rows_are_in_tree_order_and_everything_shows_before_typing() {
        let p = picker();
        let ids: Vec<&str> = p.rows.iter().map(|r| r.session.id.as_str()).collect();
        assert_eq!(ids, ["p", "c", "x"]);
        assert_eq!(p.rows[1].depth, 1);
        assert_eq!(p.shown.len(), 3);
        assert_eq!(p.selected_session().map(|s| s.id.as_str()), Some("p"));
    }

    #[test]
    fn typing_asks_a_new_generation_and_stale_answers_are_dropped() {
        let mut p = picker();
        assert_eq!(
            p.key(key(KeyCode::Char('u'))),
            Action::Query {
                generation: 1,
                text: "u".into()
            }
        );
        assert!(matches!(
            p.key(key(KeyCode::Char('n'))),
            Action::Query { generation: 2, .. }
        ));
        let only_x = vec![Shown {
            row: 2,
            snippet: Some("…unrelated…".into()),
            seq: Some(7),
        }];
        assert!(!p.answer(1, only_x.clone()), "generation 1 is stale");
        assert_eq!(p.shown.len(), 3);
        assert!(p.answer(2, only_x));
        assert_eq!(p.selected_session().map(|s| s.id.as_str()), Some("x"));
        assert_eq!(p.key(key(KeyCode::Enter)), Action::Accept("x".into()));
        // Clearing the query shows everything again without asking the worker.
        p.key(key(KeyCode::Backspace));
        assert_eq!(p.key(key(KeyCode::Backspace)), Action::None);
        assert_eq!(p.shown.len(), 3);
    }

    #[test]
    fn keys_move_page_toggle_and_leave() {
        let mut p = picker();
        p.key(key(KeyCode::Down));
        p.key(key(KeyCode::Down));
        p.key(key(KeyCode::Down));
        assert_eq!(p.selected, 2, "stops at the last row");
        p.key(key(KeyCode::Home));
        assert_eq!(p.selected, 0);
        p.key(key(KeyCode::End));
        assert_eq!(p.selected, 2);
        p.key(key(KeyCode::PageUp));
        assert_eq!(p.selected, 0);
        assert!(p.preview_on);
        p.key(key(KeyCode::Tab));
        assert!(!p.preview_on);
        p.key(key(KeyCode::Char('?')));
        assert!(p.help);
        assert_eq!(
            p.key(key(KeyCode::Esc)),
            Action::None,
            "Esc closes the help first"
        );
        assert!(!p.help);
        assert_eq!(p.key(key(KeyCode::Esc)), Action::Cancel);
        assert_eq!(
            p.key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Action::Cancel
        );
    }

    #[test]
    fn nothing_to_choose_means_enter_does_nothing() {
        let mut p = Picker::new(Vec::new(), String::new());
        assert_eq!(p.key(key(KeyCode::Enter)), Action::None);
        p.key(key(KeyCode::Down));
        assert_eq!(p.selected, 0);
    }
}

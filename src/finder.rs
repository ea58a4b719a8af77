//! Finding a session as a person types: over what a session is called (name, title,
//! repository, branch, folder), and full text over everything said in it, through the
//! index. The picker asks this on every keystroke; the benches measure it.
//!
//! Rows are ranked by how well they match, in tiers, because a person types either what a
//! session is called or a word that was said in it:
//! 1. the session whose name is exactly what was typed;
//! 2. sessions whose name, title, repository, branch or folder hold every typed word as a
//!    word or the start of one (`relay`, `ws-f`), best fuzzy score first;
//! 3. sessions that said every word (the last one as a prefix), newest first;
//! 4. looser subsequence matches of what they are called, best first; a match scoring
//!    under [`FUZZY_KEEP`] of what the typed text scores against itself is dropped: letters
//!    scattered over a long title and folder are noise, not a match.

use std::collections::HashMap;

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};

use crate::home::Home;
use crate::query::{Filters, SearchQuery, Session};

/// Sessions the picker's first frame loads: a screenful and some scrolling, at once at any
/// size of archive. The rest load on a thread of their own.
pub const FIRST_FRAME: usize = 1000;
/// Sessions the picker loads in all: the newest, which is what people look for.
pub const LOADED: usize = 20_000;

/// Content hits asked of the index per query: the newest, which is what people look for.
const HITS: usize = 500;

/// The share (in percent) of a perfect score a subsequence match must reach to be shown.
/// Measured with nucleo: a word typed whole into a folder or title scores 90-100%, an
/// abbreviation (`tokzer` for tokenizer) 80%, `rly` for relay 68%; ten letters scattered
/// over an unrelated title and folder 43%.
pub const FUZZY_KEEP: u32 = 60;

/// One session of the list, with the text fuzzy matching looks at.
#[derive(Debug, Clone)]
pub struct Row {
    /// The session.
    pub session: Session,
    /// Depth under its parent, in tree order.
    pub depth: usize,
    /// Name, title, repo, branch, folder and nickname, in one string.
    pub haystack: String,
    /// `haystack` in lower case, for word matches.
    lower: String,
}

impl Row {
    /// Rows in tree order (subagents under their parent) from sessions newest first.
    pub fn from_sessions(sessions: &[Session]) -> Vec<Row> {
        crate::query::tree_order(sessions)
            .into_iter()
            .map(|(depth, s)| {
                let haystack = [
                    s.name.as_deref(),
                    s.title.as_deref(),
                    s.repo.as_deref(),
                    s.branch.as_deref(),
                    s.cwd.as_deref(),
                    s.agent_nickname.as_deref(),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("  ");
                Row {
                    lower: haystack.to_lowercase(),
                    haystack,
                    session: s.clone(),
                    depth,
                }
            })
            .collect()
    }

    /// Whether `word` (lower case) starts a word of what the row is called: at the start,
    /// or after a character that is not a letter or digit (`relay` in `acme/relay`, `fix`
    /// in `ws-fix`).
    fn has_word(&self, word: &str) -> bool {
        self.lower.match_indices(word).any(|(i, _)| {
            self.lower[..i]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphanumeric())
        })
    }
}

/// How a row matched, best first (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tier {
    Name,
    Words,
    Content,
    Fuzzy,
}

/// One row of an answer: which row, and the best content hit in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// Index into the loaded rows.
    pub row: usize,
    /// The best hit's snippet, when the match is in the content.
    pub snippet: Option<String>,
    /// The hit's line, to scroll the preview to.
    pub seq: Option<i64>,
}

/// One row of an answer: which row, and the best content hit in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Index into the rows.
    pub row: usize,
    /// The best hit's snippet, when the match is in the content.
    pub snippet: Option<String>,
    /// The hit's line, to open the session there.
    pub seq: Option<i64>,
}

/// Answers what is typed, over a set of rows.
pub struct Finder {
    matcher: Matcher,
}

impl std::fmt::Debug for Finder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Finder").finish()
    }
}

impl Default for Finder {
    fn default() -> Self {
        Finder {
            matcher: Matcher::new(Config::DEFAULT),
        }
    }
}

impl Finder {
    /// The rows matching `text`, best first: the tiers of the module docs. A row that
    /// matched by what it is called and also said the words shows its best hit too.
    pub fn find(&mut self, home: &mut Home, rows: &[Row], text: &str) -> Vec<Found> {
        let matcher = &mut self.matcher;
        let pattern = Pattern::parse(text, CaseMatching::Ignore, Normalization::Smart);
        let mut buf = Vec::new();
        let perfect = pattern
            .score(Utf32Str::new(text.trim(), &mut buf), matcher)
            .unwrap_or(0);
        let typed = text.trim().to_lowercase();
        let words: Vec<&str> = typed.split_whitespace().collect();
        // (tier, score, row): what each row's name, title, repo, branch, folder say.
        let mut ranked: Vec<(Tier, u32, usize)> = Vec::new();
        let mut by_name: HashMap<&str, (Tier, u32)> = HashMap::new();
        for r in rows {
            let Some(score) = pattern.score(Utf32Str::new(&r.haystack, &mut buf), matcher) else {
                continue;
            };
            let tier = if r
                .session
                .name
                .as_deref()
                .is_some_and(|n| !typed.is_empty() && n.to_lowercase() == typed)
            {
                Tier::Name
            } else if !words.is_empty() && words.iter().all(|w| r.has_word(w)) {
                Tier::Words
            } else if score * 100 >= perfect * FUZZY_KEEP {
                Tier::Fuzzy
            } else {
                continue;
            };
            by_name.insert(r.session.id.as_str(), (tier, score));
        }

        let mut hits: HashMap<&str, (String, i64)> = HashMap::new();
        let words = if text.ends_with(char::is_whitespace) || text.ends_with('"') {
            text.to_string()
        } else {
            format!("{text}*")
        };
        let q = SearchQuery::new(words)
            .filters(Filters::default())
            .limit(HITS);
        let found = home.search(&q).unwrap_or_default();
        let by_id: HashMap<&str, usize> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.session.id.as_str(), i))
            .collect();
        for h in &found {
            // Newest first: the first hit of a session is its best.
            if let Some(&i) = by_id.get(h.session.id.as_str()) {
                hits.entry(rows[i].session.id.as_str()).or_insert_with(|| {
                    (
                        h.snippet.split_whitespace().collect::<Vec<_>>().join(" "),
                        h.seq,
                    )
                });
            }
        }
        for (i, r) in rows.iter().enumerate() {
            let id = r.session.id.as_str();
            match by_name.get(id) {
                // Having said the words beats a loose match of what it is called.
                Some((Tier::Fuzzy, _)) | None if hits.contains_key(id) => {
                    ranked.push((Tier::Content, 0, i))
                }
                Some(&(tier, score)) => ranked.push((tier, score, i)),
                None => {}
            }
        }
        // Content hits keep list order (newest first); the others go by score, then order.
        ranked.sort_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| match a.0 {
                    Tier::Content => std::cmp::Ordering::Equal,
                    _ => b.1.cmp(&a.1),
                })
                .then(a.2.cmp(&b.2))
        });
        ranked
            .into_iter()
            .map(|(_, _, i)| {
                let hit = hits.remove(rows[i].session.id.as_str());
                Found {
                    row: i,
                    snippet: hit.as_ref().map(|h| h.0.clone()),
                    seq: hit.map(|h| h.1),
                }
            })
            .collect()
    }
}

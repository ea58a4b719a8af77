//! Drawing the picker: the query line, the list (subagents indented under their parent,
//! the best content hit on a row), the preview and the help.

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use rolldex::query::Session;

use super::state::Picker;

/// `45s`, `12m`, `3h`, `5d`, `7w`, `2y`: how long ago.
pub fn ago(now_ms: i64, then_ms: i64) -> String {
    let s = ((now_ms - then_ms) / 1000).max(0);
    match s {
        0..=59 => format!("{s}s"),
        60..=3_599 => format!("{}m", s / 60),
        3_600..=86_399 => format!("{}h", s / 3_600),
        86_400..=1_209_599 => format!("{}d", s / 86_400),
        1_209_600..=31_535_999 => format!("{}w", s / 604_800),
        _ => format!("{}y", s / 31_536_000),
    }
}

/// `1.2 MB`, `340 KB`, `12 B`.
pub fn size(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.0} KB", b / 1e3)
    } else {
        format!("{b} B")
    }
}

fn label(s: &Session) -> String {
    let base = s
        .name_and_title()
        .unwrap_or_else(|| "(untitled)".to_string());
    match (s.agent_nickname.as_deref(), s.agent_role.as_deref()) {
        (Some(n), Some(r)) => format!("[{n}, {r}] {base}"),
        (Some(x), None) | (None, Some(x)) => format!("[{x}] {base}"),
        (None, None) => base,
    }
}

const HELP: &str = "\
Type to filter: names, titles, repositories, branches and folders (fuzzy),
and everything said in the sessions (full text; the last word is a prefix).

  Up/Down, Ctrl-P/Ctrl-N   move          PgUp/PgDn, Home/End   jump
  Tab                      preview on/off
  Enter                    print the session's id (or --print path) and quit
  Esc, Ctrl-C              quit without choosing
  Ctrl-U / Ctrl-W          clear the query / the last word
  ?                        this help (any key closes it)";

/// Draws everything.
pub fn draw(f: &mut Frame<'_>, p: &mut Picker, now_ms: i64) {
    let area = f.area();
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Min(1),
            Constraint::Length(1),
        ])
        .split(area);
    let count = format!("  {}/{}", p.shown.len(), p.rows.len());
    let prompt = Line::from(vec![
        Span::styled("> ", Style::default().fg(Color::Cyan)),
        Span::raw(p.query.clone()),
        Span::styled(count, Style::default().fg(Color::DarkGray)),
    ]);
    f.render_widget(Paragraph::new(prompt), rows[0]);
    f.set_cursor_position((rows[0].x + 2 + p.query.chars().count() as u16, rows[0].y));

    let (list_area, preview_area) = if p.preview_on && rows[1].width >= 60 {
        let cols = Layout::default()
            .direction(Direction::Horizontal)
            .constraints([Constraint::Percentage(55), Constraint::Percentage(45)])
            .split(rows[1]);
        (cols[0], Some(cols[1]))
    } else {
        (rows[1], None)
    };
    draw_list(f, p, list_area, now_ms);
    if let Some(area) = preview_area {
        draw_preview(f, p, area);
    }
    let status = if p.status.is_empty() {
        "Enter: choose  Esc: quit  Tab: preview  ?: help".to_string()
    } else {
        p.status.clone()
    };
    f.render_widget(
        Paragraph::new(Span::styled(status, Style::default().fg(Color::DarkGray))),
        rows[2],
    );
    if p.help {
        let w = area.width.min(80);
        let h = area.height.min(12);
        let r = Rect::new(
            area.x + (area.width - w) / 2,
            area.y + (area.height - h) / 2,
            w,
            h,
        );
        f.render_widget(Clear, r);
        f.render_widget(
            Paragraph::new(HELP)
                .block(
                    Block::default()
                        .borders(Borders::ALL)
                        .title(" rolldex pick "),
                )
                .wrap(Wrap { trim: false }),
            r,
        );
    }
}

fn draw_list(f: &mut Frame<'_>, p: &mut Picker, area: Rect, now_ms: i64) {
    p.page = area.height as usize;
    if p.selected >= p.offset + p.page.max(1) {
        p.offset = p.selected + 1 - p.page.max(1);
    }
    if p.selected < p.offset {
        p.offset = p.selected;
    }
    let width = area.width as usize;
    // The agent is named on each row only when the rows hold more than one: on one
    // agent's home the tag would only take the snippet's room.
    let mixed = p.rows.first().is_some_and(|first| {
        p.rows
            .iter()
            .any(|r| r.session.agent != first.session.agent)
    });
    let mut lines = Vec::new();
    for (i, shown) in p
        .shown
        .iter()
        .enumerate()
        .skip(p.offset)
        .take(area.height as usize)
    {
        let Some(row) = p.rows.get(shown.row) else {
            continue;
        };
        let s = &row.session;
        let selected = i == p.selected;
        let mut spans = vec![
            Span::styled(
                if selected { "▌" } else { " " },
                Style::default().fg(Color::Cyan),
            ),
            Span::styled(
                format!("{:>4} ", ago(now_ms, s.updated_ms)),
                Style::default().fg(Color::DarkGray),
            ),
        ];
        if row.depth > 0 {
            spans.push(Span::raw(format!("{}└ ", "  ".repeat(row.depth - 1))));
        }
        spans.push(Span::styled(
            label(s),
            if selected {
                Style::default().add_modifier(Modifier::BOLD)
            } else {
                Style::default()
            },
        ));
        let repo = s
            .repo
            .as_deref()
            .map(|r| r.split_once('/').map_or(r, |(_, p)| p).to_string());
        let mut facts = Vec::new();
        if let Some(r) = repo {
            facts.push(match &s.branch {
                Some(b) => format!("{r}@{b}"),
                None => r,
            });
        }
        facts.push(match s.tokens {
            0 => size(s.raw_bytes),
            n if n < 1000 => format!("{n} tok"),
            n => format!("{}k tok", (n + 500) / 1000),
        });
        if s.preserved {
            // Only rolldex's copy holds it now (the agent deleted its file).
            facts.push("preserved".into());
        } else if s.compressed {
            facts.push("zst".into());
        }
        if s.archived {
            facts.push("archived".into());
        }
        if mixed {
            facts.push(s.agent.clone());
        }
        spans.push(Span::styled(
            format!("  {}", facts.join("  ")),
            Style::default().fg(Color::Blue),
        ));
        if let Some(snippet) = &shown.snippet {
            spans.push(Span::styled(
                format!("  │ {snippet}"),
                Style::default().fg(Color::Yellow),
            ));
        }
        let mut line = Line::from(spans);
        if selected {
            line = line.style(Style::default().bg(Color::Rgb(40, 44, 52)));
        }
        lines.push(line);
    }
    if lines.is_empty() {
        let msg = if p.rows.is_empty() {
            "No sessions yet."
        } else {
            "No session matches."
        };
        lines.push(Line::from(Span::styled(
            msg,
            Style::default().fg(Color::DarkGray),
        )));
    }
    let _ = width;
    f.render_widget(Paragraph::new(lines), area);
}

fn draw_preview(f: &mut Frame<'_>, p: &Picker, area: Rect) {
    let selected = p.selected_session().map(|s| s.id.clone());
    let text = match (&p.preview, &selected) {
        (Some((id, _, text)), Some(sel)) if id == sel => text.clone(),
        (_, Some(_)) => "…".to_string(),
        (_, None) => String::new(),
    };
    // Scrolled to the hit: `show --at` marks it.
    let scroll = text
        .lines()
        .position(|l| l.starts_with(">>> line"))
        .map_or(0, |i| i.saturating_sub(2)) as u16;
    f.render_widget(
        Paragraph::new(text)
            .block(Block::default().borders(Borders::LEFT))
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::pick::state::{Row, Shown};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn screen(p: &mut Picker, w: u16, h: u16) -> String {
        let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
        t.draw(|f| draw(f, p, 10_000_000)).expect("draw");
        let buf = t.backend().buffer().clone();
        (0..h)
            .map(|y| {
                (0..w)
                    .map(|x| buf[(x, y)].symbol().to_string())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn s(id: &str, title: &str, parent: Option<&str>, updated_ms: i64) -> Session {
        Session {
            id: id.into(),
            title: Some(title.into()),
            parent_id: parent.map(str::to_string),
            agent_nickname: parent.map(|_| "scout".to_string()),
            updated_ms,
            repo: Some("github.com/acme/relay".into()),
            branch: Some("main".into()),
            tokens: 5400,
            compressed: id == "x",
            ..Default::default()
        }
    }

    #[test]
    fn rows_show_time_label_repo_tokens_marks_and_indent_subagents() {
        let mut p = Picker::new(
            Row::from_sessions(&[
                s("c", "look around", Some("p"), 9_000_000),
                s("p", "fix the flake", None, 9_990_000),
                s("x", "old spike", None, 1_000_000),
            ]),
            String::new(),
        );
        p.preview_on = false;
        let out = screen(&mut p, 100, 8);
        assert!(out.contains("> "), "{out}");
        assert!(out.contains("3/3"), "{out}");
        assert!(
            out.contains("▌ 10s fix the flake  acme/relay@main  5k tok"),
            "{out}"
        );
        assert!(out.contains("  16m └ [scout] look around"), "{out}");
        assert!(
            out.contains("2h old spike  acme/relay@main  5k tok  zst"),
            "{out}"
        );
    }

    #[test]
    fn a_content_hit_shows_its_snippet_and_the_preview_scrolls_to_it() {
        let mut p = Picker::new(
            Row::from_sessions(&[s("p", "fix the flake", None, 9_990_000)]),
            "quasar".into(),
        );
        p.generation = 1;
        p.answer(
            1,
            vec![Shown {
                row: 0,
                snippet: Some("the quasarflux jitter".into()),
                seq: Some(27),
            }],
        );
        let mut preview: Vec<String> = (0..40).map(|i| format!("filler {i}")).collect();
        preview.push(">>> line 27".into());
        preview.push("[12:00:00] assistant: the quasarflux jitter".into());
        p.preview = Some(("p".into(), Some(27), preview.join("\n")));
        let out = screen(&mut p, 140, 10);
        assert!(out.contains("│ the quasarflux jitter"), "{out}");
        assert!(out.contains(">>> line 27"), "scrolled to the hit: {out}");
        assert!(!out.contains("filler 3 "), "{out}");
        p.help = true;
        let out = screen(&mut p, 140, 14);
        assert!(out.contains("rolldex pick") && out.contains("Tab"), "{out}");
    }

    #[test]
    fn time_and_size_read_at_a_glance() {
        assert_eq!(ago(100_000, 55_000), "45s");
        assert_eq!(ago(10_000_000, 0), "2h");
        assert_eq!(ago(86_400_000 * 3, 0), "3d");
        assert_eq!(size(1_200_000), "1.2 MB");
        assert_eq!(size(340_000), "340 KB");
    }
}

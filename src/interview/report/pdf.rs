//! The report as a PDF: A4 pages in Helvetica (a PDF base font, so nothing is embedded) with
//! vector charts — the same content as the report page. Pure: bytes out, no I/O.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use super::{Report, Verdict};
use crate::domain::FeedbackSource;
use crate::interview::feedback::TurnFeedback;

/// One line of the transcript, with the feedback on it when it is an assessed answer.
pub struct TranscriptEntry<'a> {
    pub speaker: &'a str,
    pub text: &'a str,
    pub feedback: Option<&'a TurnFeedback>,
}

pub struct ReportPdf<'a> {
    pub title: &'a str,
    /// Type, difficulty, date…
    pub subtitle: &'a str,
    pub report: &'a Report,
    pub transcript: Vec<TranscriptEntry<'a>>,
}

const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 50.0;
const TEXT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;
const REGULAR: Name = Name(b"F1");
const BOLD: Name = Name(b"F2");

type Rgb = (f32, f32, f32);
const INK: Rgb = (0.12, 0.14, 0.18);
const MUTED: Rgb = (0.42, 0.45, 0.50);
const ACCENT: Rgb = (0.17, 0.36, 0.78);
const TRACK: Rgb = (0.90, 0.91, 0.93);
const BAND: Rgb = (0.78, 0.91, 0.80);
const WARN: Rgb = (0.80, 0.38, 0.16);

pub fn render(doc: &ReportPdf) -> Vec<u8> {
    let mut layout = Layout::new();
    layout.text(doc.title, 20.0, BOLD, INK);
    layout.text(doc.subtitle, 10.0, REGULAR, MUTED);
    layout.gap(10.0);
    overview(&mut layout, doc.report);
    answers_chart(&mut layout, doc.report);
    delivery_chart(&mut layout, doc.report);
    skills_chart(&mut layout, doc.report);
    transcript(&mut layout, &doc.transcript);
    layout.finish(doc.title)
}

fn overview(layout: &mut Layout, report: &Report) {
    let overall = match report.overall {
        Some(score) => format!("Overall score: {score}/100"),
        None => "Overall score: not scored yet".to_owned(),
    };
    layout.text(&overall, 15.0, BOLD, ACCENT);
    layout.text(&report.summary, 10.5, REGULAR, INK);
    for (heading, items) in [
        ("Strengths", &report.strengths),
        ("To improve", &report.improvements),
    ] {
        if items.is_empty() {
            continue;
        }
        layout.gap(4.0);
        layout.text(heading, 11.0, BOLD, INK);
        for item in items {
            layout.indented_text(&format!("- {item}"), 10.0, REGULAR, INK, 10.0);
        }
    }
}

/// One bar per assessed answer on the 1–5 scale.
fn answers_chart(layout: &mut Layout, report: &Report) {
    layout.section("Score per answer (1-5)");
    if report.answers.is_empty() {
        layout.text("No answer has been assessed yet.", 10.0, REGULAR, MUTED);
        return;
    }
    let height = 110.0;
    let top = layout.reserve(height + 24.0);
    let axis_x = MARGIN + 20.0;
    let bottom = top - height;
    let unit = height / 5.0;
    let content = layout.content();
    for tick in 1..=5u8 {
        let y = bottom + unit * f32::from(tick);
        line(content, axis_x, y, MARGIN + TEXT_WIDTH, y, TRACK, 0.6);
        label(
            content,
            MARGIN,
            y - 3.0,
            &tick.to_string(),
            8.0,
            REGULAR,
            MUTED,
        );
    }
    line(
        content,
        axis_x,
        bottom,
        MARGIN + TEXT_WIDTH,
        bottom,
        MUTED,
        0.8,
    );
    let slot = ((TEXT_WIDTH - 30.0) / report.answers.len() as f32).min(60.0);
    let bar = slot * 0.6;
    let mut seen: Vec<i32> = Vec::new();
    for (i, answer) in report.answers.iter().enumerate() {
        let x = axis_x + 10.0 + slot * i as f32;
        let score = answer.score.clamp(0, 5) as f32;
        fill(content, x, bottom, bar, unit * score, ACCENT);
        let value = answer.score.to_string();
        label(
            content,
            x + bar / 2.0 - 3.0,
            bottom + unit * score + 3.0,
            &value,
            8.0,
            BOLD,
            INK,
        );
        let repeat = seen
            .iter()
            .filter(|&&p| p == answer.question_position)
            .count();
        seen.push(answer.question_position);
        let name = format!("Q{}{}", answer.question_position, follow_up_suffix(repeat));
        label(content, x, bottom - 12.0, &name, 8.0, REGULAR, MUTED);
    }
}

/// "", "b", "c"… for the first, second, third answer on one question.
fn follow_up_suffix(repeat: usize) -> String {
    match repeat {
        0 => String::new(),
        n => char::from_u32('a' as u32 + n as u32)
            .map(String::from)
            .unwrap_or_default(),
    }
}

/// Each delivery metric on a track with its recommended range shaded.
fn delivery_chart(layout: &mut Layout, report: &Report) {
    layout.section("Delivery against recommended ranges");
    let track_x = MARGIN + 125.0;
    let track_width = 230.0;
    for check in &report.delivery.checks {
        let top = layout.reserve(22.0);
        let y = top - 14.0;
        let content = layout.content();
        label(content, MARGIN, y, check.label, 9.5, REGULAR, INK);
        let Some(value) = check.value else {
            label(
                content,
                track_x,
                y,
                "no spoken answers",
                9.0,
                REGULAR,
                MUTED,
            );
            continue;
        };
        let max = (check.high * 1.5).max(value * 1.1).max(1.0);
        let scale = |v: f64| track_x + track_width * (v / max).clamp(0.0, 1.0) as f32;
        fill(content, track_x, y - 1.0, track_width, 8.0, TRACK);
        let (low, high) = (scale(check.low), scale(check.high));
        fill(content, low, y - 1.0, (high - low).max(1.0), 8.0, BAND);
        let within = check.verdict == Some(Verdict::Within);
        let marker = if within { ACCENT } else { WARN };
        fill(content, scale(value) - 1.5, y - 4.0, 3.0, 14.0, marker);
        let verdict = match check.verdict {
            Some(Verdict::Below) => "below range",
            Some(Verdict::Above) => "above range",
            _ => "within range",
        };
        let text = format!(
            "{} {} ({verdict}; aim {}-{})",
            number(value),
            check.unit,
            number(check.low),
            number(check.high)
        );
        label(
            content,
            track_x + track_width + 10.0,
            y,
            &text,
            8.5,
            REGULAR,
            INK,
        );
    }
}

/// Per-skill bars, 0–100.
fn skills_chart(layout: &mut Layout, report: &Report) {
    layout.section("Skills (0-100)");
    if report.skills.is_empty() {
        layout.text("No skill has been scored yet.", 10.0, REGULAR, MUTED);
        return;
    }
    let track_x = MARGIN + 125.0;
    let track_width = 280.0;
    for skill in &report.skills {
        let top = layout.reserve(20.0);
        let y = top - 13.0;
        let content = layout.content();
        label(content, MARGIN, y, &skill.name, 9.5, REGULAR, INK);
        fill(content, track_x, y - 1.0, track_width, 9.0, TRACK);
        let width = track_width * skill.score.min(100) as f32 / 100.0;
        fill(content, track_x, y - 1.0, width, 9.0, ACCENT);
        let value = skill.score.to_string();
        label(
            content,
            track_x + track_width + 8.0,
            y,
            &value,
            9.0,
            BOLD,
            INK,
        );
    }
}

fn transcript(layout: &mut Layout, entries: &[TranscriptEntry]) {
    layout.section("Transcript");
    if entries.is_empty() {
        layout.text("Nothing was said yet.", 10.0, REGULAR, MUTED);
    }
    for entry in entries {
        layout.gap(3.0);
        layout.text(entry.speaker, 10.0, BOLD, INK);
        layout.text(entry.text, 10.0, REGULAR, INK);
        if let Some(feedback) = entry.feedback {
            answer_feedback(layout, feedback);
        }
    }
}

fn answer_feedback(layout: &mut Layout, feedback: &TurnFeedback) {
    let scored_by = if feedback.source == FeedbackSource::Fallback {
        " (scored by keyword matching)"
    } else {
        ""
    };
    let lines = [
        (format!("Score {}/5{scored_by}", feedback.score), BOLD),
        (rubric_line(feedback), REGULAR),
        (format!("Strength: {}", feedback.strength), REGULAR),
        (format!("Improve: {}", feedback.improvement), REGULAR),
        (delivery_line(&feedback.delivery), REGULAR),
    ];
    for (text, font) in lines {
        if !text.is_empty() {
            layout.indented_text(&text, 9.0, font, ACCENT, 14.0);
        }
    }
}

fn rubric_line(feedback: &TurnFeedback) -> String {
    let part = |covered: bool| {
        feedback
            .rubric
            .iter()
            .filter(|p| p.covered == covered)
            .map(|p| p.point.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    };
    let (covered, missed) = (part(true), part(false));
    match (covered.is_empty(), missed.is_empty()) {
        (true, true) => String::new(),
        (false, true) => format!("Covered: {covered}."),
        (true, false) => format!("Missed: {missed}."),
        (false, false) => format!("Covered: {covered}. Missed: {missed}."),
    }
}

fn delivery_line(delivery: &serde_json::Value) -> String {
    let get = |key: &str| delivery.get(key).and_then(serde_json::Value::as_f64);
    let mut facts = Vec::new();
    if let Some(wpm) = get("words_per_minute") {
        facts.push(format!("{} words/min", number(wpm)));
    }
    if let Some(fillers) = get("filler_count") {
        if get("duration_ms").is_some() {
            facts.push(format!("{} filler words", number(fillers)));
        }
    }
    if let Some(pause) = get("longest_pause_ms") {
        facts.push(format!("longest pause {} s", number(pause / 1000.0)));
    }
    if facts.is_empty() {
        String::new()
    } else {
        format!("Delivery: {}", facts.join(", "))
    }
}

/// At most one decimal, none when whole.
fn number(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.1}")
    }
}

/// Places content top to bottom, starting a new page when the next piece does not fit.
struct Layout {
    pages: Vec<Content>,
    /// The baseline cursor on the current (last) page, from the bottom.
    y: f32,
}

impl Layout {
    fn new() -> Self {
        Self {
            pages: vec![Content::new()],
            y: PAGE_HEIGHT - MARGIN,
        }
    }

    fn content(&mut self) -> &mut Content {
        self.pages.last_mut().expect("a layout always has a page")
    }

    /// Makes room for `height` points, on a new page when needed; returns the top of it.
    fn reserve(&mut self, height: f32) -> f32 {
        if self.y - height < MARGIN {
            self.pages.push(Content::new());
            self.y = PAGE_HEIGHT - MARGIN;
        }
        let top = self.y;
        self.y -= height;
        top
    }

    fn gap(&mut self, height: f32) {
        self.y -= height;
    }

    fn section(&mut self, heading: &str) {
        self.gap(12.0);
        // Keep a heading with at least a little of what follows it.
        if self.y - 60.0 < MARGIN {
            self.reserve(PAGE_HEIGHT);
        }
        self.text(heading, 13.0, BOLD, INK);
        self.gap(4.0);
    }

    fn text(&mut self, text: &str, size: f32, font: Name<'static>, color: Rgb) {
        self.indented_text(text, size, font, color, 0.0);
    }

    /// Wrapped text, one line per reserved row.
    fn indented_text(
        &mut self,
        text: &str,
        size: f32,
        font: Name<'static>,
        color: Rgb,
        indent: f32,
    ) {
        let bold = font == BOLD;
        for row in wrap(text, TEXT_WIDTH - indent, size, bold) {
            let top = self.reserve(size * 1.35);
            let content = self.content();
            label(
                content,
                MARGIN + indent,
                top - size,
                &row,
                size,
                font,
                color,
            );
        }
    }

    fn finish(self, title: &str) -> Vec<u8> {
        let mut pdf = Pdf::new();
        let catalog = Ref::new(1);
        let tree = Ref::new(2);
        let regular = Ref::new(3);
        let bold = Ref::new(4);
        let info = Ref::new(5);
        let first_page = 6;
        let page_ids: Vec<Ref> = (0..self.pages.len())
            .map(|i| Ref::new(first_page + 2 * i as i32))
            .collect();
        pdf.catalog(catalog).pages(tree);
        pdf.pages(tree)
            .kids(page_ids.iter().copied())
            .count(page_ids.len() as i32);
        pdf.type1_font(regular)
            .base_font(Name(b"Helvetica"))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
        pdf.type1_font(bold)
            .base_font(Name(b"Helvetica-Bold"))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
        pdf.document_info(info)
            .title(TextStr(title))
            .producer(TextStr("viva"));
        for (content, page_id) in self.pages.into_iter().zip(&page_ids) {
            let content_id = Ref::new(page_id.get() + 1);
            let mut page = pdf.page(*page_id);
            page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT))
                .parent(tree)
                .contents(content_id);
            let mut resources = page.resources();
            resources.fonts().pair(REGULAR, regular).pair(BOLD, bold);
            resources.finish();
            page.finish();
            pdf.stream(content_id, &content.finish());
        }
        pdf.finish()
    }
}

fn label(content: &mut Content, x: f32, y: f32, text: &str, size: f32, font: Name, color: Rgb) {
    content
        .set_fill_rgb(color.0, color.1, color.2)
        .begin_text()
        .set_font(font, size)
        .next_line(x, y)
        .show(Str(&win_ansi(text)))
        .end_text();
}

fn fill(content: &mut Content, x: f32, y: f32, width: f32, height: f32, color: Rgb) {
    content
        .set_fill_rgb(color.0, color.1, color.2)
        .rect(x, y, width, height)
        .fill_nonzero();
}

fn line(content: &mut Content, x1: f32, y1: f32, x2: f32, y2: f32, color: Rgb, width: f32) {
    content
        .set_stroke_rgb(color.0, color.1, color.2)
        .set_line_width(width)
        .move_to(x1, y1)
        .line_to(x2, y2)
        .stroke();
}

/// Greedy word wrap to `width` points; a word longer than a line is split.
fn wrap(text: &str, width: f32, size: f32, bold: bool) -> Vec<String> {
    let measure = |s: &str| text_width(s, size, bold);
    let mut rows = Vec::new();
    for paragraph in text.lines() {
        let mut row = String::new();
        for word in paragraph.split_whitespace() {
            let candidate = if row.is_empty() {
                word.to_owned()
            } else {
                format!("{row} {word}")
            };
            if measure(&candidate) <= width {
                row = candidate;
                continue;
            }
            if !row.is_empty() {
                rows.push(std::mem::take(&mut row));
            }
            let mut piece = String::new();
            for c in word.chars() {
                piece.push(c);
                if measure(&piece) > width {
                    piece.pop();
                    rows.push(std::mem::take(&mut piece));
                    piece.push(c);
                }
            }
            row = piece;
        }
        if !row.is_empty() {
            rows.push(row);
        }
    }
    rows
}

/// Helvetica advance widths (thousandths of the font size) for ASCII 32–126.
const HELVETICA_WIDTHS: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278,
    278, // ' '–'/'
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584,
    556, // '0'–'?'
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722,
    778, // '@'–'O'
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469,
    556, // 'P'–'_'
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556,
    556, // '`'–'o'
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, // 'p'–'~'
];

/// Bold Helvetica runs a little wider; measuring it 8% wider keeps lines inside the margin.
const BOLD_FACTOR: f32 = 1.08;

fn text_width(text: &str, size: f32, bold: bool) -> f32 {
    let units: u32 = text
        .chars()
        .map(|c| {
            let index = (c as usize).wrapping_sub(32);
            u32::from(HELVETICA_WIDTHS.get(index).copied().unwrap_or(556))
        })
        .sum();
    let factor = if bold { BOLD_FACTOR } else { 1.0 };
    units as f32 * size / 1000.0 * factor
}

/// Text in WinAnsiEncoding: Latin-1 letters and the common typographic marks; anything else
/// becomes '?'.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '\u{2018}' => 0x91,
            '\u{2019}' => 0x92,
            '\u{201c}' => 0x93,
            '\u{201d}' => 0x94,
            '\u{2022}' => 0x95,
            '\u{2013}' => 0x96,
            '\u{2014}' => 0x97,
            '\u{2026}' => 0x85,
            '\u{20ac}' => 0x80,
            '\t' => b' ',
            _ => b'?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_encoded_for_the_base_font() {
        assert_eq!(win_ansi("café – “ok” 😀"), b"caf\xe9 \x96 \x93ok\x94 ?");
    }

    #[test]
    fn lines_wrap_inside_the_width_and_keep_every_word() {
        let text = "The interviewer asked about caching and the candidate explained \
                    read-through caches, expiry and invalidation in some detail.";
        let rows = wrap(text, 150.0, 10.0, false);
        assert!(rows.len() > 2, "{rows:?}");
        assert!(rows.iter().all(|r| text_width(r, 10.0, false) <= 150.0));
        assert_eq!(rows.join(" "), text);
        // A word wider than a line is split rather than overflowing.
        let long = "x".repeat(200);
        let rows = wrap(&long, 100.0, 10.0, false);
        assert!(rows.iter().all(|r| text_width(r, 10.0, false) <= 100.0));
        assert_eq!(rows.concat(), long);
    }

    #[test]
    fn widths_follow_the_font() {
        // 'i' is narrow, 'W' is wide, digits are all 556.
        assert!(text_width("iiii", 10.0, false) < text_width("WWWW", 10.0, false));
        assert_eq!(text_width("0123456789", 1000.0, false), 5560.0);
    }

    #[test]
    fn numbers_show_at_most_one_decimal() {
        assert_eq!(number(130.0), "130");
        assert_eq!(number(2.44), "2.4");
        assert_eq!(number(0.05), "0.1");
    }

    #[test]
    fn follow_up_answers_are_lettered() {
        assert_eq!(follow_up_suffix(0), "");
        assert_eq!(follow_up_suffix(1), "b");
        assert_eq!(follow_up_suffix(2), "c");
    }

    #[test]
    fn a_long_report_is_paged_and_well_formed() {
        let report = super::super::build(&[], &[], &Default::default());
        let words = "an answer that goes on and on ".repeat(40);
        let transcript: Vec<TranscriptEntry> = (0..60)
            .map(|_| TranscriptEntry {
                speaker: "You",
                text: &words,
                feedback: None,
            })
            .collect();
        let bytes = render(&ReportPdf {
            title: "viva interview report",
            subtitle: "Backend",
            report: &report,
            transcript,
        });
        assert!(bytes.starts_with(b"%PDF-"));
        assert!(bytes.ends_with(b"%%EOF") || bytes.ends_with(b"%%EOF\n"));
        let pages = bytes.windows(10).filter(|w| w == b"/Type /Pag").count();
        // The page tree plus many pages.
        assert!(pages > 10, "{pages}");
    }
}

//! `--svg FILE`: a bar chart of each case's ratio to its best peer, written
//! by hand (no plotting dependency).
//!
//! Every bar reads the same way: below 1 threadbridge does better than the
//! best peer, above 1 worse. For a case where larger is better (`fanout`,
//! calls/s, MB/s) the ratio is inverted (best peer / ours) and the label says so.
//! The axis is logarithmic from 1/20 to 20; a bar beyond it is clipped and
//! ends in an arrow, and its label gives the real value (`0` or `inf`
//! where one side measured zero). Green: better by more than 3%; red: worse
//! by more than 3%; grey: within 3%.

use std::fmt::Write as _;

use crate::harness::{Better, Report};

const MIN: f64 = 0.05;
const MAX: f64 = 20.0;
const TICKS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 10.0, 20.0];

const WIDTH: f64 = 960.0;
const LABEL_WIDTH: f64 = 330.0;
const VALUE_WIDTH: f64 = 90.0;
const ROW: f64 = 28.0;
const TOP: f64 = 78.0;
const BOTTOM: f64 = 58.0;

/// One bar: the case, whom it was measured against, and the ratio (lower is
/// better for ours; `None` when there is no peer to compare with).
pub struct Bar {
    pub label: String,
    pub ratio: Option<f64>,
    /// The unit when larger is better (calls/s, MB/s): the ratio is then
    /// inverted, and the label says so.
    pub inverted: Option<String>,
    /// The lowest and highest ratio of several runs, drawn as a whisker
    /// across the bar's end (`--summarize`); `None` for a single run.
    pub spread: Option<(f64, f64)>,
}

fn bars(reports: &[Report]) -> Vec<Bar> {
    reports
        .iter()
        .map(|report| {
            let ours = report.rows.first().map(|row| row.median);
            let peer = report.best_peer();
            let ratio = match (ours, peer) {
                (Some(ours), Some(peer)) => Some(match report.better {
                    Better::Lower => cost_ratio(ours, peer.median),
                    Better::Higher => cost_ratio(peer.median, ours),
                }),
                _ => None,
            };
            Bar {
                label: format!(
                    "{} vs {}",
                    report.case,
                    peer.map_or("-", |row| row.name.as_str())
                ),
                ratio,
                inverted: (report.better == Better::Higher).then(|| report.unit.to_owned()),
                spread: None,
            }
        })
        .collect()
}

/// `a / b`, 1 when both are 0, infinite when only `b` is.
pub fn cost_ratio(a: f64, b: f64) -> f64 {
    if a == 0.0 && b == 0.0 {
        1.0
    } else {
        a / b
    }
}

/// Where `ratio` falls on the axis, in pixels.
fn x(ratio: f64) -> f64 {
    let span = MAX.ln() - MIN.ln();
    let clamped = ratio.clamp(MIN, MAX);
    LABEL_WIDTH + (clamped.ln() - MIN.ln()) / span * (WIDTH - LABEL_WIDTH - VALUE_WIDTH)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The whole SVG document of one run; `subtitle` says when and where it
/// was measured.
pub fn svg(reports: &[Report], subtitle: &str) -> String {
    svg_of(&bars(reports), subtitle)
}

/// The SVG document of `bars` (one run's, or medians of several).
pub fn svg_of(bars: &[Bar], subtitle: &str) -> String {
    let height = TOP + ROW * bars.len() as f64 + BOTTOM;
    let plot_top = TOP - 8.0;
    let plot_bottom = TOP + ROW * bars.len() as f64;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="DejaVu Sans, Verdana, sans-serif" font-size="13">"##
    );
    let _ = writeln!(
        out,
        r##"<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>"##
    );
    let _ = writeln!(
        out,
        r##"<text x="16" y="26" font-size="17" font-weight="bold">threadbridge / best peer, per case (below 1: threadbridge does better)</text>"##
    );
    let _ = writeln!(
        out,
        r##"<text x="16" y="48" fill="#555555">{}</text>"##,
        escape(subtitle)
    );
    // Grid and ticks.
    for &tick in TICKS {
        let tx = x(tick);
        let (stroke, dash, width) = if tick == 1.0 {
            ("#222222", "", 2.0)
        } else {
            ("#cccccc", r#" stroke-dasharray="3,3""#, 1.0)
        };
        let _ = writeln!(
            out,
            r##"<line x1="{tx:.1}" y1="{plot_top:.1}" x2="{tx:.1}" y2="{plot_bottom:.1}" stroke="{stroke}" stroke-width="{width}"{dash}/>"##
        );
        let _ = writeln!(
            out,
            r##"<text x="{tx:.1}" y="{:.1}" text-anchor="middle" fill="#333333">{}</text>"##,
            plot_bottom + 18.0,
            tick_label(tick)
        );
    }
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#555555">ratio, log scale (clipped to 1/20 .. 20; arrows mark clipped bars)</text>"##,
        (LABEL_WIDTH + WIDTH - VALUE_WIDTH) / 2.0,
        plot_bottom + 40.0
    );
    for (index, bar) in bars.iter().enumerate() {
        let y = TOP + ROW * index as f64;
        let middle = y + ROW / 2.0;
        let label = match &bar.inverted {
            Some(unit) => format!("{} ({unit}, inverted)", bar.label),
            None => bar.label.clone(),
        };
        let _ = writeln!(
            out,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" dominant-baseline="middle">{}</text>"##,
            LABEL_WIDTH - 10.0,
            middle,
            escape(&label)
        );
        let Some(ratio) = bar.ratio else {
            let _ = writeln!(
                out,
                r##"<text x="{:.1}" y="{middle:.1}" dominant-baseline="middle" fill="#777777">no peer</text>"##,
                x(1.0) + 6.0
            );
            continue;
        };
        let one = x(1.0);
        let end = x(ratio);
        let (left, right) = if end < one { (end, one) } else { (one, end) };
        // Within 3% of the peer: a tie, in grey.
        let fill = if (0.97..=1.03).contains(&ratio) {
            "#8a8a8a"
        } else if ratio < 1.0 {
            "#3a8f4f"
        } else {
            "#c9553d"
        };
        let _ = writeln!(
            out,
            r##"<rect x="{left:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{fill}"/>"##,
            y + 5.0,
            (right - left).max(1.5),
            ROW - 10.0
        );
        // The runs' spread: a thin line from the lowest to the highest
        // ratio, with end ticks, across the bar's end.
        if let Some((low, high)) = bar
            .spread
            .filter(|(low, high)| low.is_finite() && high.is_finite())
        {
            let (from, to) = (x(low), x(high));
            let _ = writeln!(
                out,
                r##"<path d="M{from:.1},{middle:.1}H{to:.1}M{from:.1},{:.1}V{:.1}M{to:.1},{:.1}V{:.1}" stroke="#222222" stroke-width="1.5" fill="none"/>"##,
                middle - 5.0,
                middle + 5.0,
                middle - 5.0,
                middle + 5.0
            );
        }
        // A clipped bar ends in an arrow pointing off the axis.
        if !(MIN..=MAX).contains(&ratio) {
            let (tip, base) = if ratio < MIN {
                (end - 9.0, end)
            } else {
                (end + 9.0, end)
            };
            let _ = writeln!(
                out,
                r##"<polygon points="{base:.1},{:.1} {tip:.1},{middle:.1} {base:.1},{:.1}" fill="{fill}"/>"##,
                y + 3.0,
                y + ROW - 3.0
            );
        }
        let text = if ratio.is_infinite() {
            "inf".to_owned()
        } else if ratio == 0.0 {
            "0".to_owned()
        } else {
            format!("{ratio:.2}")
        };
        let text_x = x(MAX) + 14.0;
        let _ = writeln!(
            out,
            r##"<text x="{text_x:.1}" y="{middle:.1}" dominant-baseline="middle" font-weight="bold" fill="{fill}">{text}</text>"##
        );
    }
    out.push_str("</svg>\n");
    out
}

fn tick_label(tick: f64) -> String {
    if tick < 1.0 {
        format!("{tick}")
    } else {
        format!("{tick:.0}")
    }
}

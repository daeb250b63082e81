//! The harness: settings, alternating rounds, medians, the table and the
//! `RESULT` lines.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::bridges::{NAMES, OURS};

/// What `--quick` changes.
pub struct Settings {
    pub quick: bool,
    /// Rounds per timed case; every contender runs once per round.
    pub rounds: usize,
}

impl Settings {
    pub fn from_args() -> Settings {
        let quick = std::env::args().any(|arg| arg == "--quick");
        // `--ours`: threadbridge only, for profiling.
        let only_ours = std::env::args().any(|arg| arg == "--ours");
        ONLY_OURS.store(only_ours, Ordering::Relaxed);
        // `--verbose`: each round's median on stderr, to see the noise.
        let verbose = std::env::args().any(|arg| arg == "--verbose");
        VERBOSE.store(verbose, Ordering::Relaxed);
        Settings {
            quick,
            rounds: if quick { 5 } else { 9 },
        }
    }
}

/// Whether a case's unit is better small (ns/call) or large (calls/s).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Lower,
    Higher,
}

/// One contender's line in a case's table.
pub struct Row {
    pub name: String,
    pub median: f64,
    pub p99: Option<f64>,
    /// A further column, e.g. peak threads.
    pub extra: Option<String>,
}

/// A case's outcome: its table and its `RESULT` line.
pub struct Report {
    pub case: &'static str,
    pub unit: &'static str,
    pub better: Better,
    /// `Row`s in [`NAMES`] order, or the case's own: threadbridge first.
    pub rows: Vec<Row>,
    /// Floors, shown under the contenders; the lowest goes to `RESULT`.
    pub floors: Vec<(&'static str, f64)>,
    /// Title of the extra column, if the rows have one.
    pub extra_title: &'static str,
    /// What each row's value is: "median" unless the rows are means.
    pub statistic: &'static str,
    pub note: String,
}

impl Report {
    pub fn new(case: &'static str, unit: &'static str, better: Better) -> Report {
        Report {
            case,
            unit,
            better,
            rows: Vec::new(),
            floors: Vec::new(),
            extra_title: "",
            statistic: "median",
            note: String::new(),
        }
    }

    /// Adds one row per contender from their samples (median over samples).
    pub fn rows_from(mut self, samples: &[Vec<f64>], with_p99: bool) -> Report {
        for (index, samples) in samples.iter().enumerate() {
            self.rows.push(Row {
                name: NAMES[index].to_owned(),
                median: percentile(samples, 0.5),
                p99: with_p99.then(|| percentile(samples, 0.99)),
                extra: None,
            });
        }
        self
    }

    /// Adds one row per contender with the mean of its samples: unlike the
    /// median, it carries the slow tail.
    pub fn rows_from_mean(mut self, samples: &[Vec<f64>]) -> Report {
        self.statistic = "mean";
        for (index, samples) in samples.iter().enumerate() {
            self.rows.push(Row {
                name: NAMES[index].to_owned(),
                median: mean(samples),
                p99: None,
                extra: None,
            });
        }
        self
    }

    pub fn floor(self, floor: f64) -> Report {
        self.named_floor("floor", floor)
    }

    pub fn named_floor(mut self, name: &'static str, floor: f64) -> Report {
        self.floors.push((name, floor));
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Report {
        self.note = note.into();
        self
    }

    /// The best row after the first (ours) that is not another of ours
    /// (a row named `threadbridge...`).
    pub fn best_peer(&self) -> Option<&Row> {
        let peers = self
            .rows
            .iter()
            .skip(1)
            .filter(|row| !row.name.starts_with(NAMES[OURS]));
        match self.better {
            Better::Lower => peers.min_by(|a, b| a.median.total_cmp(&b.median)),
            Better::Higher => peers.max_by(|a, b| a.median.total_cmp(&b.median)),
        }
    }

    pub fn table(&self) -> String {
        let mut out = String::new();
        let has_p99 = self.rows.iter().any(|row| row.p99.is_some());
        let _ = write!(out, "\n{} ({})", self.case, self.unit);
        if !self.note.is_empty() {
            let _ = write!(out, ": {}", self.note);
        }
        let _ = write!(out, "\n  {:<20} {:>12}", "", self.statistic);
        if has_p99 {
            let _ = write!(out, " {:>12}", "p99");
        }
        let _ = write!(out, " {:>8}", "vs ours");
        if !self.extra_title.is_empty() {
            let _ = write!(out, " {:>14}", self.extra_title);
        }
        out.push('\n');
        let ours = self.rows.first().map_or(f64::NAN, |row| row.median);
        for row in &self.rows {
            let _ = write!(out, "  {:<20} {:>12}", row.name, value(row.median));
            if has_p99 {
                let _ = write!(out, " {:>12}", row.p99.map_or("-".into(), value));
            }
            let _ = write!(out, " {:>8}", ratio(row.median, ours));
            if let Some(extra) = &row.extra {
                let _ = write!(out, " {extra:>14}");
            }
            out.push('\n');
        }
        for (name, floor) in &self.floors {
            let _ = writeln!(out, "  {:<20} {:>12}", name, value(*floor));
        }
        out
    }

    pub fn result_line(&self) -> String {
        let ours = self.rows.first().map_or(f64::NAN, |row| row.median);
        let (peer, best) = self.best_peer().map_or(("-".to_owned(), f64::NAN), |row| {
            (row.name.clone(), row.median)
        });
        format!(
            "RESULT case={} ours={} best_peer={}:{} ratio={} floor={} unit={} better={}",
            self.case,
            value(ours),
            peer,
            value(best),
            ratio(ours, best),
            self.floors
                .iter()
                .map(|(_, floor)| *floor)
                .min_by(f64::total_cmp)
                .map_or("-".into(), value),
            self.unit,
            match self.better {
                Better::Lower => "lower",
                Better::Higher => "higher",
            }
        )
    }
}

/// The mean of `samples`; NaN when there are none (a skipped contender).
pub fn mean(samples: &[f64]) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    samples.iter().sum::<f64>() / samples.len() as f64
}

/// A number with three significant figures or so, without exponents.
pub fn value(x: f64) -> String {
    if x.is_nan() {
        "-".into()
    } else if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// `a / b`, defined as 1 when both are 0.
pub fn ratio(a: f64, b: f64) -> String {
    if a == 0.0 && b == 0.0 {
        "1.00".into()
    } else if b == 0.0 {
        "inf".into()
    } else {
        format!("{:.2}", a / b)
    }
}

/// The `q` quantile (0.5 = median) by nearest rank.
pub fn percentile(samples: &[f64], q: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[rank]
}

static ONLY_OURS: AtomicBool = AtomicBool::new(false);
static VERBOSE: AtomicBool = AtomicBool::new(false);

/// Whether `--ours` asked for threadbridge only.
pub fn only_ours() -> bool {
    ONLY_OURS.load(Ordering::Relaxed)
}

/// Runs `measure(contender)` for `count` contenders, `rounds` times, starting
/// each round one contender later so none always goes first; returns each
/// contender's samples, concatenated over rounds.
pub fn alternate(
    rounds: usize,
    count: usize,
    measure: impl FnMut(usize) -> Vec<f64>,
) -> Vec<Vec<f64>> {
    alternate_named(&NAMES, rounds, count, measure)
}

/// [`alternate`] for a case whose contenders are not [`NAMES`]: `names`
/// labels them in `--verbose` output (indices past it are floors).
pub fn alternate_named(
    names: &[&str],
    rounds: usize,
    count: usize,
    mut measure: impl FnMut(usize) -> Vec<f64>,
) -> Vec<Vec<f64>> {
    let mut samples = vec![Vec::new(); count];
    for round in 0..rounds {
        for step in 0..count {
            let index = (round + step) % count;
            if ONLY_OURS.load(Ordering::Relaxed) && index != OURS {
                continue;
            }
            let round_samples = measure(index);
            if VERBOSE.load(Ordering::Relaxed) {
                let name = names.get(index).unwrap_or(&"floor");
                let median = value(percentile(&round_samples, 0.5));
                eprintln!("  round {round} {name:<20} {median}");
            }
            samples[index].extend(round_samples);
        }
    }
    samples
}

pub fn nanos(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e9
}

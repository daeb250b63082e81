//! `--summarize FILE...`: the medians of several runs, each FILE the saved
//! output of one run (its `RESULT` lines). One run says little on a
//! machine whose wake-ups are bimodal; the page and its chart quote the
//! median of the runs with their spread instead.
//!
//! Every ratio reads the same way: ours / the best peer, below 1 ours does
//! better; where larger is better (calls/s, MB/s) it is inverted (best
//! peer / ours), as in the chart.

use std::collections::BTreeMap;

use crate::chart::{cost_ratio, Bar};

/// One case's figures in one run.
struct Run {
    ours: f64,
    peer: String,
    ratio: f64,
    unit: String,
    higher: bool,
}

/// One `RESULT` line, or `None` if `line` is not one.
fn parse(line: &str) -> Option<(String, Run)> {
    // A value runs to the next `key=`: a peer's name may hold spaces
    // (`best_peer=tokio mpsc:4398`).
    let mut fields: BTreeMap<&str, &str> = BTreeMap::new();
    let rest = line.strip_prefix("RESULT ")?;
    let mut last: Option<(&str, usize)> = None;
    let mut at = 0;
    for word in rest.split(' ') {
        if let Some((key, _)) = word.split_once('=') {
            if let Some((previous, start)) = last {
                fields.insert(previous, rest[start..at - 1].trim_end());
            }
            last = Some((key, at + key.len() + 1));
        }
        at += word.len() + 1;
    }
    if let Some((previous, start)) = last {
        fields.insert(previous, rest[start..].trim_end());
    }
    let number = |key: &str| fields.get(key).and_then(|value| value.parse::<f64>().ok());
    let (peer, best) = fields.get("best_peer")?.rsplit_once(':')?;
    let ours = number("ours")?;
    let best: f64 = best.parse().ok()?;
    let higher = fields.get("better") == Some(&"higher");
    let ratio = if higher {
        cost_ratio(best, ours)
    } else {
        cost_ratio(ours, best)
    };
    Some((
        fields.get("case")?.to_string(),
        Run {
            ours,
            peer: peer.to_owned(),
            ratio,
            unit: fields.get("unit")?.to_string(),
            higher,
        },
    ))
}

/// The median of `values` (the mean of the middle two for an even count).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 0 {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    }
}

fn spread(values: &[f64]) -> (f64, f64) {
    let low = values.iter().copied().fold(f64::INFINITY, f64::min);
    let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (low, high)
}

fn figure(value: f64) -> String {
    if value.is_infinite() || value.is_nan() {
        return format!("{value}");
    }
    let magnitude = value.abs();
    if magnitude >= 100.0 {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// Reads `files`, prints a markdown table of medians and, with `svg`,
/// writes the chart of the median ratios to it.
pub fn summarize(files: &[String], svg: Option<&str>, subtitle: &str) -> Result<(), String> {
    // Cases in the order of their first appearance.
    let mut order: Vec<String> = Vec::new();
    let mut runs: BTreeMap<String, Vec<Run>> = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(file).map_err(|error| format!("{file}: {error}"))?;
        for (case, run) in text.lines().filter_map(parse) {
            if !runs.contains_key(&case) {
                order.push(case.clone());
            }
            runs.entry(case).or_default().push(run);
        }
    }
    if order.is_empty() {
        return Err("no RESULT line in the files given".into());
    }
    println!(
        "| case | best peer | ours, median [min-max] | ours / best peer, median [min-max] | runs |"
    );
    println!("|---|---|---|---|---|");
    let mut bars = Vec::new();
    for case in &order {
        let case_runs = &runs[case];
        let mut ours: Vec<f64> = case_runs.iter().map(|run| run.ours).collect();
        let mut ratios: Vec<f64> = case_runs.iter().map(|run| run.ratio).collect();
        let (ours_low, ours_high) = spread(&ours);
        let (ratio_low, ratio_high) = spread(&ratios);
        let (ours_mid, ratio_mid) = (median(&mut ours), median(&mut ratios));
        // The peer that was best most often.
        let mut peers: BTreeMap<&str, usize> = BTreeMap::new();
        for run in case_runs {
            *peers.entry(run.peer.as_str()).or_default() += 1;
        }
        let peer = peers
            .iter()
            .max_by_key(|(_, count)| **count)
            .map_or("-", |(peer, _)| *peer);
        let first = &case_runs[0];
        let inverted = if first.higher { " (inverted)" } else { "" };
        println!(
            "| {case} | {peer} | {} [{}-{}] {} | {}{inverted} [{}-{}] | {} |",
            figure(ours_mid),
            figure(ours_low),
            figure(ours_high),
            first.unit,
            figure(ratio_mid),
            figure(ratio_low),
            figure(ratio_high),
            case_runs.len()
        );
        bars.push(Bar {
            label: format!("{case} vs {peer}"),
            ratio: (!ratio_mid.is_nan()).then_some(ratio_mid),
            inverted: first.higher.then(|| first.unit.clone()),
            spread: (case_runs.len() > 1).then_some((ratio_low, ratio_high)),
        });
    }
    if let Some(file) = svg {
        std::fs::write(file, crate::chart::svg_of(&bars, subtitle))
            .map_err(|error| format!("writing {file}: {error}"))?;
        println!("\nwrote {file}");
    }
    Ok(())
}

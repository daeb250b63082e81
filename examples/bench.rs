//! Benchmark: threadbridge against `blocking`, tokio's `spawn_blocking`,
//! futures' `ThreadPool` and rayon + oneshot, and against the physical floor,
//! in one process, alternating contenders round by round.
//!
//! ```text
//! cargo run --release --example bench               # full (several minutes)
//! cargo run --release --example bench -- --quick    # about 2 minutes
//! cargo run --release --example bench -- roundtrip  # only the named cases
//! cargo run --release --example bench -- --ours      # threadbridge only (for perf)
//! cargo run --release --example bench -- --verbose   # every round's median too
//! cargo run --release --example bench -- --quick --svg docs/ratios.svg  # and a chart
//! cargo run --release --example bench -- --summarize runs/*.txt --svg docs/ratios.svg \
//!     --title "7 runs, idle"                         # medians of saved runs, and their chart
//! ```
//!
//! Prints one table per case (medians, p99 where it says so), then one line
//! per case for scripts:
//! `RESULT case=<name> ours=<v> best_peer=<peer>:<v> ratio=<ours/best_peer> floor=<v> unit=<unit> better=<lower|higher>`
//! (`-` where a case has no floor; the lowest where it has several). A case is one function in
//! `bench/cases.rs` plus one line in `CASES`. `--svg FILE` also writes a bar
//! chart of the ratios to FILE (`bench/chart.rs`).
//!
//! Most cases time calls; `cpu_trickle` and `cpu_burst` (`bench/cpu.rs`)
//! count what they cost the machine: the process's CPU time per call, all
//! threads (the caller's, the pool's and its idle spinners'), while calls
//! arrive one at a time 200 µs apart, or 64 at a time 1 ms apart
//! (`cargo run --release --example bench -- cpu_trickle cpu_burst`, about
//! a minute; `--quick`, about 15 s).

#[macro_use]
#[path = "bench/bridges.rs"]
mod bridges;
#[path = "bench/cases.rs"]
mod cases;
#[path = "bench/chart.rs"]
mod chart;
#[path = "bench/cpu.rs"]
mod cpu;
#[path = "bench/floor.rs"]
mod floor;
#[path = "bench/harness.rs"]
mod harness;
#[path = "bench/io.rs"]
mod io;
#[path = "bench/probe.rs"]
mod probe;
#[path = "bench/summary.rs"]
mod summary;

use std::io::Write;
use std::time::Instant;

use harness::{Report, Settings};

#[global_allocator]
static ALLOCATOR: probe::Counting = probe::Counting;

type Case = fn(&Settings) -> Vec<Report>;

/// Every case, in the order they run.
const CASES: &[(&str, Case)] = &[
    ("roundtrip", cases::roundtrip),
    ("batch16", cases::batch16),
    ("fanout", cases::fanout),
    ("sleepy", cases::sleepy),
    ("stream", cases::stream),
    ("sync_wait", cases::sync_wait),
    ("alloc", cases::alloc),
    ("context", cases::context),
    ("idle", cases::idle),
    ("idle_cpu", cases::idle_cpu),
    ("cpu_trickle", cpu::cpu_trickle),
    ("cpu_burst", cpu::cpu_burst),
    ("file_copy", io::file_copy),
    ("sync_iter", io::sync_iter),
];

fn main() {
    let settings = Settings::from_args();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let svg = match args.iter().position(|arg| arg == "--svg") {
        Some(at) => match args.get(at + 1) {
            Some(file) if !file.starts_with("--") => Some(file.clone()),
            _ => {
                eprintln!("bench: --svg needs a file name");
                std::process::exit(2);
            }
        },
        None => None,
    };
    if args.iter().any(|arg| arg == "--summarize") {
        let title = match args.iter().position(|arg| arg == "--title") {
            Some(at) => args.get(at + 1).cloned().unwrap_or_default(),
            None => String::new(),
        };
        let files: Vec<String> = args
            .iter()
            .filter(|arg| !arg.starts_with("--"))
            .filter(|arg| Some(*arg) != svg.as_ref() && **arg != title)
            .cloned()
            .collect();
        let subtitle = format!(
            "medians of {} runs, lines from the lowest to the highest; {title}",
            files.len()
        );
        if let Err(error) = summary::summarize(&files, svg.as_deref(), &subtitle) {
            eprintln!("bench: --summarize: {error}");
            std::process::exit(1);
        }
        return;
    }
    let only: Vec<String> = args
        .iter()
        .filter(|arg| !arg.starts_with("--") && Some(*arg) != svg.as_ref())
        .cloned()
        .collect();
    if let Some(unknown) = only
        .iter()
        .find(|name| !CASES.iter().any(|(case, _)| case == name))
    {
        let names: Vec<&str> = CASES.iter().map(|(name, _)| *name).collect();
        eprintln!(
            "bench: no case `{unknown}`; the cases are {}",
            names.join(", ")
        );
        std::process::exit(2);
    }
    println!(
        "threadbridge bench: {} mode, {} rounds, {} CPUs ({})",
        if settings.quick { "quick" } else { "full" },
        settings.rounds,
        std::thread::available_parallelism().map_or(1, usize::from),
        cpu_model()
    );
    let load_before = load_average();
    println!("load average: {load_before}");
    let start = Instant::now();
    let mut reports = Vec::new();
    for (name, case) in CASES {
        if !only.is_empty() && !only.iter().any(|o| o == name) {
            continue;
        }
        let case_start = Instant::now();
        let case_reports = case(&settings);
        for report in &case_reports {
            print!("{}", report.table());
        }
        println!("  ({:.1} s)", case_start.elapsed().as_secs_f64());
        let _ = std::io::stdout().flush();
        reports.extend(case_reports);
    }
    println!("\ntotal {:.1} s\n", start.elapsed().as_secs_f64());
    for report in &reports {
        println!("{}", report.result_line());
    }
    if let Some(file) = svg {
        let subtitle = format!(
            "{} UTC, {} mode ({} rounds), {} CPUs ({}), load average before the run {}",
            utc_now(),
            if settings.quick { "quick" } else { "full" },
            settings.rounds,
            std::thread::available_parallelism().map_or(1, usize::from),
            cpu_model(),
            load_before
        );
        if let Err(error) = std::fs::write(&file, chart::svg(&reports, &subtitle)) {
            eprintln!("bench: writing {file}: {error}");
            std::process::exit(1);
        }
        println!("\nwrote {file}");
    }
}

/// The 1-minute load average from `/proc/loadavg`, or `?`.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// Now, as `YYYY-MM-DD HH:MM` in UTC (days to a civil date, after Howard
/// Hinnant's algorithm), so the chart says when it was measured.
fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let days = (secs / 86_400) as i64;
    let (hour, minute) = (secs % 86_400 / 3600, secs % 3600 / 60);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}")
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

//! The CPU cases: `cpu_trickle` and `cpu_burst`, the process's CPU time per
//! call (every thread: the caller's, the pool's, its spinners') while calls
//! arrive with idle time between them, as a server's do.

use std::thread;
use std::time::Duration;

use crate::bridges::{Bridge, Bridges, Ours, Size, NAMES, OURS, PREFIXES};
use crate::harness::{alternate_named, mean, percentile, Better, Report, Row, Settings};
use crate::probe;

/// The caller's sleep between one call's end and the next call (`cpu_trickle`).
const TRICKLE_GAP: Duration = Duration::from_micros(200);
/// The caller's sleep between one burst's end and the next (`cpu_burst`).
const BURST_GAP: Duration = Duration::from_millis(1);
/// Calls per burst.
const BURST: usize = 64;
/// Arrivals per round (calls in `cpu_trickle`, bursts in `cpu_burst`):
/// full, quick. Rounds are short, and twice the usual number of them, so
/// that a burst of load from elsewhere on the machine weighs on few.
const TRICKLE_CALLS: (usize, usize) = (750, 200);
const BURSTS: (usize, usize) = (75, 25);
/// Rounds per `settings.rounds`.
const ROUNDS: usize = 2;
/// Untimed arrivals before each measurement, so that each pool has grown to
/// what the pattern needs.
const WARM_ARRIVALS: usize = 20;
/// The pause between the warm-up and the measurement: every pool's idle
/// threads (this contender's and the others') have stopped spinning and
/// parked long before (the longest spin among them is threadbridge's 50 µs;
/// rayon's sleep protocol takes microseconds too), so only what the
/// measured arrivals cause is counted. The `others µs/call` column checks
/// it: the other pools' threads' CPU during each window.
const SETTLE: Duration = Duration::from_millis(20);
/// threadbridge's and tokio's keep-alive here: no thread of theirs retires
/// (and spends its exit in another contender's window) during the case.
/// blocking's idle threads do not retire (they wake every 500 ms); the note
/// says how many threads of other pools exited during a window.
const KEEP_ALIVE: Duration = Duration::from_secs(60);

/// Our pool with spinning off: the share of our CPU the idle spin costs.
const NO_SPIN: &str = "threadbridge/no-spin";
/// Its threads' name prefix.
const NO_SPIN_PREFIX: &str = "tb-nospin-";

/// How calls arrive.
#[derive(Clone, Copy)]
enum Pattern {
    /// One call at a time, awaited, then `TRICKLE_GAP`.
    Trickle,
    /// `BURST` calls submitted at once, all awaited, then `BURST_GAP`.
    Burst,
}

impl Pattern {
    fn calls_per_arrival(self) -> usize {
        match self {
            Pattern::Trickle => 1,
            Pattern::Burst => BURST,
        }
    }

    fn gap(self) -> Duration {
        match self {
            Pattern::Trickle => TRICKLE_GAP,
            Pattern::Burst => BURST_GAP,
        }
    }

    fn arrivals(self, settings: &Settings) -> usize {
        let (full, quick) = match self {
            Pattern::Trickle => TRICKLE_CALLS,
            Pattern::Burst => BURSTS,
        };
        if settings.quick {
            quick
        } else {
            full
        }
    }
}

/// Process CPU µs per call, calls arriving one at a time `TRICKLE_GAP` apart.
pub fn cpu_trickle(settings: &Settings) -> Vec<Report> {
    vec![cpu_case("cpu_trickle", Pattern::Trickle, settings)]
}

/// Process CPU µs per call, calls arriving `BURST` at a time `BURST_GAP` apart.
pub fn cpu_burst(settings: &Settings) -> Vec<Report> {
    vec![cpu_case("cpu_burst", Pattern::Burst, settings)]
}

fn cpu_case(case: &'static str, pattern: Pattern, settings: &Settings) -> Report {
    let bridges = Bridges::with_keep_alive(Size::Default, Some(KEEP_ALIVE));
    let no_spin = Ours(
        threadbridge::ThreadPool::builder()
            .name(NO_SPIN_PREFIX.trim_end_matches('-'))
            .keep_alive(KEEP_ALIVE)
            .spin(false)
            .build(),
    );
    let variant_index = NAMES.len();
    let floor_index = NAMES.len() + 1;
    // Every pool's threads, by name prefix: index `i`'s are `prefixes[i]`.
    let prefixes: Vec<&str> = PREFIXES.iter().copied().chain([NO_SPIN_PREFIX]).collect();
    let names: Vec<&str> = NAMES.iter().copied().chain([NO_SPIN, "floor"]).collect();
    let arrivals = pattern.arrivals(settings);
    let calls = arrivals * pattern.calls_per_arrival();
    // Per index: the CPU µs per call of the other pools' threads during its
    // windows, and how many of their threads exited meanwhile.
    let mut others = vec![Vec::new(); floor_index + 1];
    let mut exits = vec![0usize; floor_index + 1];
    let samples = alternate_named(&names, settings.rounds * ROUNDS, floor_index + 1, |index| {
        let run = |arrivals: usize| match index {
            i if i == floor_index => arrive(pattern, arrivals, || {}),
            i if i == variant_index => arrive_calls(&no_spin, pattern, arrivals),
            _ => with_bridge!(bridges, index, |b| arrive_calls(b, pattern, arrivals)),
        };
        run(WARM_ARRIVALS);
        thread::sleep(SETTLE);
        let watched: Vec<&str> = prefixes
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != index)
            .map(|(_, prefix)| *prefix)
            .collect();
        let (others_before, threads_before) = peers(&watched);
        let start = probe::process_cpu_time();
        run(arrivals);
        let process = probe::process_cpu_time().saturating_sub(start);
        let (others_after, threads_after) = peers(&watched);
        let other_pools = others_after.saturating_sub(others_before);
        others[index].push(micros_per(other_pools, calls));
        exits[index] += threads_before
            .iter()
            .zip(&threads_after)
            .map(|(before, after)| before.saturating_sub(*after))
            .sum::<usize>();
        // The other pools' threads are not this contender's: blocking's,
        // grown by an earlier case, wake every 500 ms each.
        vec![micros_per(process.saturating_sub(other_pools), calls)]
    });
    let peer_cpu = |index: usize| format!("{:.3}", mean(&others[index]));
    let (gap, per) = match pattern {
        Pattern::Trickle => (
            format!("{} µs", TRICKLE_GAP.as_micros()),
            "one call".to_owned(),
        ),
        Pattern::Burst => (
            format!("{} ms", BURST_GAP.as_millis()),
            format!("bursts of {BURST} calls submitted together"),
        ),
    };
    let mut report = Report::new(case, "cpu-us/call", Better::Lower)
        .floor(percentile(&samples[floor_index], 0.5))
        .note(format!(
            "{arrivals} arrivals of {per}, awaited, then a {gap} sleep; process CPU time \
             (all threads, CLOCK_PROCESS_CPUTIME_ID) less the other pools' threads' / calls, \
             median of rounds; floor: the arrival loop without calls (in every row too); \
             others: the other pools' threads' CPU left out, mean (floor's: {}); {} of \
             their threads exited during a window",
            peer_cpu(floor_index),
            exits.iter().sum::<usize>()
        ));
    report.extra_title = "others µs/call";
    for index in [OURS, variant_index]
        .into_iter()
        .chain((0..NAMES.len()).filter(|&i| i != OURS))
    {
        report.rows.push(Row {
            name: names[index].to_owned(),
            median: percentile(&samples[index], 0.5),
            p99: None,
            extra: Some(peer_cpu(index)),
        });
    }
    report
}

/// `arrivals` times: one arrival of `pattern`'s calls on `bridge`, awaited
/// on the bridge's own executor, then the pattern's gap.
fn arrive_calls<B: Bridge>(bridge: &B, pattern: Pattern, arrivals: usize) {
    match pattern {
        Pattern::Trickle => arrive(pattern, arrivals, || bridge.block_on(bridge.call(noop))),
        Pattern::Burst => arrive(pattern, arrivals, || {
            bridge.block_on(async {
                let handles: [_; BURST] = std::array::from_fn(|_| bridge.call(noop));
                for handle in handles {
                    handle.await;
                }
            });
        }),
    }
}

/// The arrival loop: `arrival`, then a sleep of the pattern's gap, so the
/// caller's own CPU is what its wake-ups cost.
fn arrive(pattern: Pattern, arrivals: usize, mut arrival: impl FnMut()) {
    for _ in 0..arrivals {
        arrival();
        thread::sleep(pattern.gap());
    }
}

fn noop() {}

/// The CPU time of the live threads named by `prefixes`, and their count per
/// prefix (from one pass over `/proc/self/task`, outside the timed windows).
fn peers(prefixes: &[&str]) -> (Duration, Vec<usize>) {
    let threads = probe::thread_times();
    let mut cpu = Duration::ZERO;
    let mut counts = vec![0; prefixes.len()];
    for (name, time) in &threads {
        // Linux keeps 15 bytes of a thread's name.
        if let Some(at) = prefixes
            .iter()
            .position(|prefix| name.starts_with(&prefix[..prefix.len().min(15)]))
        {
            cpu += *time;
            counts[at] += 1;
        }
    }
    (cpu, counts)
}

fn micros_per(time: Duration, calls: usize) -> f64 {
    time.as_secs_f64() * 1e6 / calls as f64
}

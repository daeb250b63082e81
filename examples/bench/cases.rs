//! The cases. Each is one function from the settings to a report (or
//! `None` to print nothing); `CASES` in `bench.rs` lists them in order.

use std::thread;
use std::time::{Duration, Instant};

use futures::future::join_all;

use crate::bridges::{Bridge, Bridges, Ours, Size, NAMES, OURS, PREFIXES};
use crate::floor::ping_pong;
use crate::harness::{alternate, nanos, percentile, Better, Report, Settings};
use crate::probe;

/// The call every timing case makes: nothing, so only the bridge is timed.
fn noop() {}

/// Calls made, untimed, before each measurement, so pools have grown and
/// queues have their capacity.
const WARM_UP: usize = 200;

fn warm_up<B: Bridge>(bridge: &B) {
    bridge.block_on(async {
        for _ in 0..WARM_UP {
            bridge.call(noop).await;
        }
    });
}

// ---------------------------------------------------------------- roundtrip

const ROUNDTRIP_CALLS: usize = 20_000;

/// One task awaits `ROUNDTRIP_CALLS` no-op calls one after another.
pub fn roundtrip(settings: &Settings) -> Option<Report> {
    let bridges = Bridges::new(Size::Default);
    let floor_index = NAMES.len();
    let samples = alternate(settings.rounds, NAMES.len() + 2, |index| match index {
        i if i == floor_index => ping_pong(ROUNDTRIP_CALLS, true),
        i if i == floor_index + 1 => ping_pong(ROUNDTRIP_CALLS, false),
        _ => with_bridge!(bridges, index, |b| sequential(b, ROUNDTRIP_CALLS)),
    });
    Some(
        Report::new("roundtrip", "ns/call", Better::Lower)
            .rows_from(&samples[..floor_index], true)
            .named_floor("floor", percentile(&samples[floor_index], 0.5))
            .named_floor("floor (no spin)", percentile(&samples[floor_index + 1], 0.5))
            .note(format!(
                "{ROUNDTRIP_CALLS} sequential no-op calls; floor: two-thread ping-pong, spin then park/unpark"
            )),
    )
}

/// Each call's latency, in ns.
fn sequential<B: Bridge>(bridge: &B, calls: usize) -> Vec<f64> {
    warm_up(bridge);
    bridge.block_on(async {
        let mut samples = Vec::with_capacity(calls);
        for _ in 0..calls {
            let start = Instant::now();
            bridge.call(noop).await;
            samples.push(nanos(start.elapsed()));
        }
        samples
    })
}

// ------------------------------------------------------------------ batch16

const BATCH: usize = 16;

/// Submit 16 no-op calls, await all 16, repeat.
pub fn batch16(settings: &Settings) -> Option<Report> {
    let bridges = Bridges::new(Size::Default);
    let batches = ROUNDTRIP_CALLS / BATCH;
    let floor_index = NAMES.len();
    // The floor hands a whole batch over in one trip.
    let per_call = |trips: Vec<f64>| trips.into_iter().map(|ns| ns / BATCH as f64).collect();
    // Rounds are short here: take three times as many, so a burst of load
    // from elsewhere on the machine weighs less.
    let samples = alternate(settings.rounds * 3, NAMES.len() + 2, |index| match index {
        i if i == floor_index => per_call(ping_pong(batches, true)),
        i if i == floor_index + 1 => per_call(ping_pong(batches, false)),
        _ => with_bridge!(bridges, index, |b| batched(b, batches)),
    });
    Some(
        Report::new("batch16", "ns/call", Better::Lower)
            .rows_from(&samples[..floor_index], true)
            .named_floor("floor", percentile(&samples[floor_index], 0.5))
            .named_floor("floor (no spin)", percentile(&samples[floor_index + 1], 0.5))
            .note(format!(
                "{batches} batches of {BATCH}; per-batch time / {BATCH}; floor: one ping-pong per batch"
            )),
    )
}

/// Each batch's time per call, in ns.
fn batched<B: Bridge>(bridge: &B, batches: usize) -> Vec<f64> {
    warm_up(bridge);
    bridge.block_on(async {
        let mut samples = Vec::with_capacity(batches);
        for _ in 0..batches {
            let start = Instant::now();
            let handles: [_; BATCH] = std::array::from_fn(|_| bridge.call(noop));
            for handle in handles {
                handle.await;
            }
            samples.push(nanos(start.elapsed()) / BATCH as f64);
        }
        samples
    })
}

// ------------------------------------------------------------------- fanout

const FANOUT_CALLS: usize = 100_000;
const FANOUT_TASKS: usize = 8;

/// `FANOUT_CALLS` calls submitted at once from `FANOUT_TASKS` tasks on one
/// executor thread, all awaited; also the contender's peak thread count.
pub fn fanout(settings: &Settings) -> Option<Report> {
    let bridges = Bridges::new(Size::Default);
    let mut peaks = [0usize; NAMES.len()];
    let samples = alternate(settings.rounds, NAMES.len(), |index| {
        let (rate, peak) = probe::peak_threads(PREFIXES[index], || {
            with_bridge!(bridges, index, |b| fan_out(b))
        });
        peaks[index] = peaks[index].max(peak);
        vec![rate]
    });
    let mut report = Report::new("fanout", "calls/s", Better::Higher)
        .rows_from(&samples, false)
        .note(format!(
            "{FANOUT_CALLS} calls from {FANOUT_TASKS} tasks, default pool sizes; median of rounds"
        ));
    report.extra_title = "peak threads";
    for (row, peak) in report.rows.iter_mut().zip(peaks) {
        row.extra = Some(peak.to_string());
    }
    Some(report)
}

fn fan_out<B: Bridge>(bridge: &B) -> f64 {
    warm_up(bridge);
    bridge.block_on(async {
        let start = Instant::now();
        let tasks = (0..FANOUT_TASKS).map(|_| async {
            let handles: Vec<_> = (0..FANOUT_CALLS / FANOUT_TASKS)
                .map(|_| bridge.call(noop))
                .collect();
            for handle in handles {
                handle.await;
            }
        });
        join_all(tasks).await;
        FANOUT_CALLS as f64 / start.elapsed().as_secs_f64()
    })
}

// ------------------------------------------------------------------- sleepy

const SLEEPERS: usize = 64;
const NAP: Duration = Duration::from_millis(10);

/// 64 calls of a 10 ms sleep on pools of 64 threads: total time.
pub fn sleepy(settings: &Settings) -> Option<Report> {
    let bridges = Bridges::new(Size::Threads(SLEEPERS));
    let samples = alternate(settings.rounds, NAMES.len(), |index| {
        with_bridge!(bridges, index, |b| vec![naps(b)])
    });
    Some(
        Report::new("sleepy", "ms", Better::Lower)
            .rows_from(&samples, false)
            .floor(NAP.as_secs_f64() * 1e3)
            .note(format!(
                "{SLEEPERS} x {} ms sleeps, pools of {SLEEPERS} (blocking: its global pool); median of rounds",
                NAP.as_millis()
            )),
    )
}

/// Total ms for `SLEEPERS` concurrent naps.
fn naps<B: Bridge>(bridge: &B) -> f64 {
    bridge.block_on(async {
        let start = Instant::now();
        join_all((0..SLEEPERS).map(|_| bridge.call(|| thread::sleep(NAP)))).await;
        start.elapsed().as_secs_f64() * 1e3
    })
}

// -------------------------------------------------------------------- alloc

const ALLOC_CALLS: usize = 10_000;

/// Heap allocations per sequential no-op call, counted process-wide.
pub fn alloc(settings: &Settings) -> Option<Report> {
    let bridges = Bridges::new(Size::Default);
    let samples = alternate(settings.rounds.min(3), NAMES.len(), |index| {
        with_bridge!(bridges, index, |b| vec![allocations_per_call(b)])
    });
    Some(
        Report::new("alloc", "allocs/call", Better::Lower)
            .rows_from(&samples, false)
            .floor(0.0)
            .note(format!(
                "{ALLOC_CALLS} sequential calls, all threads counted; floor: the ping-pong allocates nothing"
            )),
    )
}

fn allocations_per_call<B: Bridge>(bridge: &B) -> f64 {
    warm_up(bridge);
    let count = probe::count_allocations(|| {
        bridge.block_on(async {
            for _ in 0..ALLOC_CALLS {
                bridge.call(noop).await;
            }
        })
    });
    count as f64 / ALLOC_CALLS as f64
}

// --------------------------------------------------------------------- idle

const IDLE_AFTER: Duration = Duration::from_secs(3);

/// Threads left 3 s after a burst of 64 sleeping jobs (all contenders burst
/// first, then one shared wait).
pub fn idle(_settings: &Settings) -> Option<Report> {
    let bridges = Bridges::new(Size::Threads(SLEEPERS));
    let mut peaks = [0usize; NAMES.len()];
    for (index, peak) in peaks.iter_mut().enumerate() {
        with_bridge!(bridges, index, |b| naps(b));
        *peak = probe::thread_count(PREFIXES[index]);
    }
    thread::sleep(IDLE_AFTER);
    let mut report = Report::new("idle", "threads", Better::Lower)
        .floor(0.0)
        .note(format!(
            "threads {} s after {SLEEPERS} x {} ms sleeps; pools of {SLEEPERS}; threadbridge keep_alive 1 s, min_threads 0 (the floor)",
            IDLE_AFTER.as_secs(),
            NAP.as_millis()
        ));
    report.extra_title = "after burst";
    for (index, peak) in peaks.into_iter().enumerate() {
        report.rows.push(crate::harness::Row {
            name: NAMES[index].to_owned(),
            median: probe::thread_count(PREFIXES[index]) as f64,
            p99: None,
            extra: Some(peak.to_string()),
        });
    }
    Some(report)
}

// ----------------------------------------------------------------- idle_cpu

const IDLE_POOL: usize = 4;
const CPU_WINDOW: Duration = Duration::from_secs(1);

/// CPU used by each contender's idle threads over 1 s, after a burst, with
/// threadbridge's threads kept alive (`min_threads` = `max_threads`).
pub fn idle_cpu(_settings: &Settings) -> Option<Report> {
    let mut bridges = Bridges::new(Size::Threads(IDLE_POOL));
    bridges.ours = Ours(
        threadbridge::ThreadPool::builder()
            .name("tb-bench")
            .max_threads(IDLE_POOL)
            .min_threads(IDLE_POOL)
            .build(),
    );
    for index in 0..NAMES.len() {
        with_bridge!(bridges, index, |b| busy_burst(b));
    }
    thread::sleep(Duration::from_millis(100));
    let before: Vec<Duration> = PREFIXES.iter().map(|p| probe::cpu_time(p)).collect();
    let process_before = probe::cpu_time("");
    let start = Instant::now();
    thread::sleep(CPU_WINDOW);
    let wall = start.elapsed();
    let process = probe::cpu_time("").saturating_sub(process_before);
    let mut report = Report::new("idle_cpu", "%cpu", Better::Lower)
        .floor(0.0)
        .note(format!(
            "CPU of each contender's idle threads over {} s (schedstat); all threads: {:.2}%",
            CPU_WINDOW.as_secs(),
            100.0 * process.as_secs_f64() / wall.as_secs_f64()
        ));
    report.extra_title = "threads";
    for (index, before) in before.into_iter().enumerate() {
        let used = probe::cpu_time(PREFIXES[index]).saturating_sub(before);
        report.rows.push(crate::harness::Row {
            name: NAMES[index].to_owned(),
            median: 100.0 * used.as_secs_f64() / wall.as_secs_f64(),
            p99: None,
            extra: Some(probe::thread_count(PREFIXES[index]).to_string()),
        });
    }
    debug_assert_eq!(report.rows[OURS].name, NAMES[OURS]);
    Some(report)
}

/// Enough overlapping work to start every thread of a small pool.
fn busy_burst<B: Bridge>(bridge: &B) {
    bridge.block_on(async {
        join_all(
            (0..IDLE_POOL * 4).map(|_| bridge.call(|| thread::sleep(Duration::from_millis(2)))),
        )
        .await;
        for _ in 0..1000 {
            bridge.call(noop).await;
        }
    });
}

// -------------------------------------------------------- to add on merging

/// TODO(stream): 1,000,000 `u64` items through `IteratorWrapper` at
/// `max_size` 1024, 64 and 1 (ns/item); peers `blocking::Unblock::with_capacity`
/// and tokio `spawn_blocking` + `mpsc::channel` with `blocking_send`; floor
/// `std::sync::mpsc::sync_channel` between two threads. Also allocations per
/// item (see `alloc`). Prints nothing until written.
pub fn stream(_settings: &Settings) -> Option<Report> {
    None
}

/// TODO(sync_wait): from a pool thread, wait on a ready future through the
/// executor (ns/call); peer: tokio `Handle::block_on` from a `spawn_blocking`
/// thread. Prints nothing until written.
pub fn sync_wait(_settings: &Settings) -> Option<Report> {
    None
}

/// TODO(context): `roundtrip` with an empty context and with two
/// `ContextVar`s set (reuse `sequential`). Prints nothing until written.
pub fn context(_settings: &Settings) -> Option<Report> {
    None
}

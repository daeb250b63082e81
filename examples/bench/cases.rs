//! The cases. Each is one function from the settings to its reports (one
//! per `RESULT` line); `CASES` in `bench.rs` lists them in order.

use std::thread;
use std::time::{Duration, Instant};

use futures::future::join_all;
use futures::StreamExt;

use crate::bridges::{Bridge, Bridges, Ours, Size, NAMES, OURS, PREFIXES};
use crate::floor::ping_pong;
use crate::harness::{
    alternate, alternate_named, mean, nanos, only_ours, percentile, Better, Report, Row, Settings,
};
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
pub fn roundtrip(settings: &Settings) -> Vec<Report> {
    let bridges = Bridges::new(Size::Default);
    let floor_index = NAMES.len();
    let samples = alternate(settings.rounds, NAMES.len() + 2, |index| match index {
        i if i == floor_index => ping_pong(ROUNDTRIP_CALLS, true),
        i if i == floor_index + 1 => ping_pong(ROUNDTRIP_CALLS, false),
        _ => with_bridge!(bridges, index, |b| sequential(b, ROUNDTRIP_CALLS)),
    });
    vec![
        Report::new("roundtrip", "ns/call", Better::Lower)
            .rows_from(&samples[..floor_index], true)
            .named_floor("floor", percentile(&samples[floor_index], 0.5))
            .named_floor("floor (no spin)", percentile(&samples[floor_index + 1], 0.5))
            .note(format!(
                "{ROUNDTRIP_CALLS} sequential no-op calls; floor: two-thread ping-pong, spin then park/unpark"
            )),
        Report::new("roundtrip_mean", "ns/call", Better::Lower)
            .rows_from_mean(&samples[..floor_index])
            .named_floor("floor", mean(&samples[floor_index]))
            .named_floor("floor (no spin)", mean(&samples[floor_index + 1]))
            .note("the same calls' mean: the slow tail counts"),
    ]
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
pub fn batch16(settings: &Settings) -> Vec<Report> {
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
    vec![
        Report::new("batch16", "ns/call", Better::Lower)
            .rows_from(&samples[..floor_index], true)
            .named_floor("floor", percentile(&samples[floor_index], 0.5))
            .named_floor("floor (no spin)", percentile(&samples[floor_index + 1], 0.5))
            .note(format!(
                "{batches} batches of {BATCH}; per-batch time / {BATCH}; floor: one ping-pong per batch"
            )),
    ]
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
/// executor thread, all awaited; also the contender's peak thread count,
/// from one more round per contender after the timed ones: the probe reads
/// `/proc` every 2 ms (hundreds of files once blocking and tokio have grown),
/// which would be charged to the rounds it watched.
pub fn fanout(settings: &Settings) -> Vec<Report> {
    let bridges = Bridges::new(Size::Default);
    let samples = alternate(settings.rounds, NAMES.len(), |index| {
        vec![with_bridge!(bridges, index, |b| fan_out(b))]
    });
    let peaks: Vec<usize> = (0..NAMES.len())
        .map(|index| {
            if only_ours() && index != OURS {
                return 0;
            }
            probe::peak_threads(PREFIXES[index], || {
                with_bridge!(bridges, index, |b| fan_out(b))
            })
            .1
        })
        .collect();
    let mut report = Report::new("fanout", "calls/s", Better::Higher)
        .rows_from(&samples, false)
        .note(format!(
            "{FANOUT_CALLS} calls from {FANOUT_TASKS} tasks, default pool sizes; median of rounds"
        ));
    report.extra_title = "peak threads";
    for (row, peak) in report.rows.iter_mut().zip(peaks) {
        row.extra = Some(peak.to_string());
    }
    vec![report]
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
pub fn sleepy(settings: &Settings) -> Vec<Report> {
    let bridges = Bridges::new(Size::Threads(SLEEPERS));
    let samples = alternate(settings.rounds, NAMES.len(), |index| {
        with_bridge!(bridges, index, |b| vec![naps(b)])
    });
    vec![
        Report::new("sleepy", "ms", Better::Lower)
            .rows_from(&samples, false)
            .floor(NAP.as_secs_f64() * 1e3)
            .note(format!(
                "{SLEEPERS} x {} ms sleeps, pools of {SLEEPERS} (blocking: its global pool); median of rounds",
                NAP.as_millis()
            )),
    ]
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
pub fn alloc(settings: &Settings) -> Vec<Report> {
    let bridges = Bridges::new(Size::Default);
    let samples = alternate(settings.rounds.min(3), NAMES.len(), |index| {
        with_bridge!(bridges, index, |b| vec![allocations_per_call(b)])
    });
    vec![
        Report::new("alloc", "allocs/call", Better::Lower)
            .rows_from(&samples, false)
            .floor(0.0)
            .note(format!(
                "{ALLOC_CALLS} sequential calls, all threads counted; floor: the ping-pong allocates nothing"
            )),
    ]
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
pub fn idle(_settings: &Settings) -> Vec<Report> {
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
        report.rows.push(Row {
            name: NAMES[index].to_owned(),
            median: probe::thread_count(PREFIXES[index]) as f64,
            p99: None,
            extra: Some(peak.to_string()),
        });
    }
    vec![report]
}

// ----------------------------------------------------------------- idle_cpu

const IDLE_POOL: usize = 4;
const CPU_WINDOW: Duration = Duration::from_secs(1);

/// CPU used by each contender's idle threads over 1 s, after a burst, with
/// threadbridge's threads kept alive (`min_threads` = `max_threads`).
pub fn idle_cpu(_settings: &Settings) -> Vec<Report> {
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
        report.rows.push(Row {
            name: NAMES[index].to_owned(),
            median: 100.0 * used.as_secs_f64() / wall.as_secs_f64(),
            p99: None,
            extra: Some(probe::thread_count(PREFIXES[index]).to_string()),
        });
    }
    debug_assert_eq!(report.rows[OURS].name, NAMES[OURS]);
    vec![report]
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

// ------------------------------------------------------------------- stream

const STREAM_ITEMS: u64 = 1_000_000;

/// The contenders of `stream`, in row order: threadbridge first.
const STREAM_NAMES: [&str; 5] = [
    "threadbridge",
    "threadbridge/separate",
    "blocking::Unblock",
    "tokio mpsc",
    "async-channel",
];

/// `STREAM_ITEMS` `u64`s through each iterator bridge at `max_size` 1024, 64
/// and 1 (one report each; fewer items at the small sizes), against a
/// `sync_channel` between two threads; ns/item, and allocations per item
/// from one more run.
pub fn stream(settings: &Settings) -> Vec<Report> {
    let pool = threadbridge::ThreadPool::builder().name("tb-bench").build();
    let tokio = tokio::runtime::Builder::new_current_thread()
        .thread_name("tokio-bench")
        .build()
        .expect("tokio runtime");
    [(1024, "stream1024"), (64, "stream64"), (1, "stream1")]
        .into_iter()
        .map(|(capacity, case)| {
            // A small buffer is a thread hand-off every item or few: fewer
            // items there, and fewer still in a quick run.
            let items = match (capacity, settings.quick) {
                (1, false) => STREAM_ITEMS / 20,
                (1, true) => STREAM_ITEMS / 500,
                (64, true) => STREAM_ITEMS / 10,
                (_, true) => STREAM_ITEMS / 2,
                _ => STREAM_ITEMS,
            };
            let floor_index = STREAM_NAMES.len();
            let run = |index: usize| {
                let sum = match index {
                    0 => futures::executor::block_on(sum_stream(
                        threadbridge::IteratorWrapper::new(move || 0..items, &pool, capacity),
                    )),
                    1 => futures::executor::block_on(sum_stream(
                        threadbridge::IteratorWrapperSeparate::new(move || 0..items, capacity),
                    )),
                    2 => futures::executor::block_on(sum_stream(blocking::Unblock::with_capacity(
                        capacity,
                        0..items,
                    ))),
                    3 => tokio.block_on(tokio_stream(items, capacity)),
                    4 => async_channel_stream(items, capacity),
                    _ => sync_channel_floor(items, capacity),
                };
                assert_eq!(sum, items * (items - 1) / 2, "{case}: items lost");
            };
            // The case with a target: in a full run, more rounds, so a burst
            // of load from elsewhere on the machine weighs less.
            let rounds = match (capacity, settings.quick) {
                (1024, false) => settings.rounds * 2,
                _ => settings.rounds,
            };
            let samples = alternate_named(&STREAM_NAMES, rounds, floor_index + 1, |index| {
                let start = Instant::now();
                run(index);
                vec![nanos(start.elapsed()) / items as f64]
            });
            // One more untimed run each, counting allocations.
            let allocations: Vec<f64> = (0..floor_index)
                .map(|index| {
                    if only_ours() && index != OURS {
                        return f64::NAN;
                    }
                    probe::count_allocations(|| run(index)) as f64 / items as f64
                })
                .collect();
            let mut report = Report::new(case, "ns/item", Better::Lower)
                .floor(percentile(&samples[floor_index], 0.5))
                .note(format!(
                    "{items} u64s, max_size {capacity}, summed by the consumer; \
                     floor: std sync_channel({capacity}) between two threads; median of rounds"
                ));
            report.extra_title = "allocs/item";
            for ((name, samples), allocations) in STREAM_NAMES.iter().zip(&samples).zip(allocations)
            {
                report.rows.push(Row {
                    name: (*name).to_owned(),
                    median: percentile(samples, 0.5),
                    p99: None,
                    extra: Some(format!("{allocations:.4}")),
                });
            }
            report
        })
        .collect()
}

async fn sum_stream(stream: impl futures::Stream<Item = u64>) -> u64 {
    futures::pin_mut!(stream);
    let mut sum = 0;
    while let Some(item) = stream.next().await {
        sum += item;
    }
    sum
}

/// tokio's idiom: a `spawn_blocking` producer feeding a bounded channel.
async fn tokio_stream(items: u64, capacity: usize) -> u64 {
    let (tx, mut rx) = tokio::sync::mpsc::channel(capacity);
    let producer = tokio::task::spawn_blocking(move || {
        for item in 0..items {
            tx.blocking_send(item).expect("receiver alive");
        }
    });
    let mut sum = 0;
    while let Some(item) = rx.recv().await {
        sum += item;
    }
    producer.await.expect("producer");
    sum
}

/// A thread feeding an `async_channel` with `send_blocking`, consumed as a
/// `Stream`: the iterator bridge one would write by hand.
fn async_channel_stream(items: u64, capacity: usize) -> u64 {
    let (tx, rx) = async_channel::bounded(capacity);
    let producer = thread::spawn(move || {
        for item in 0..items {
            tx.send_blocking(item).expect("receiver alive");
        }
    });
    let sum = futures::executor::block_on(sum_stream(rx));
    producer.join().expect("producer");
    sum
}

/// The floor: the same items through `std::sync::mpsc::sync_channel`, one
/// thread producing, this one consuming.
fn sync_channel_floor(items: u64, capacity: usize) -> u64 {
    let (tx, rx) = std::sync::mpsc::sync_channel(capacity);
    let producer = thread::spawn(move || {
        for item in 0..items {
            tx.send(item).expect("receiver alive");
        }
    });
    let sum = rx.iter().sum();
    producer.join().expect("producer");
    sum
}

// ---------------------------------------------------------------- sync_wait

const SYNC_WAIT_CALLS: usize = 4_000;

/// Rounds per `settings.rounds` in `sync_wait` and `context`: many short
/// rounds, because this machine's wake-ups switch between about 2 µs and
/// about 60 µs for seconds at a time, and a few long rounds let one slow
/// stretch decide a contender's median.
const SHORT_ROUNDS: usize = 4;

/// The contenders of `sync_wait`, in row order: threadbridge first.
const SYNC_WAIT_NAMES: [&str; 3] = ["threadbridge", "threadbridge/tokio", "tokio spawn+block_on"];

/// From a thread that may block, wait on a ready future through an
/// executor that another thread drives, `SYNC_WAIT_CALLS` times (ns/call).
pub fn sync_wait(settings: &Settings) -> Vec<Report> {
    let pool = threadbridge::ThreadPool::builder().name("tb-bench").build();
    let names = [SYNC_WAIT_NAMES.as_slice(), &["tokio block_on"]].concat();
    let samples = alternate_named(
        &names,
        settings.rounds * SHORT_ROUNDS,
        SYNC_WAIT_NAMES.len() + 2,
        |index| match index {
            // The embedded runtime: this thread runs the loop, a pool thread waits.
            0 => {
                let event_loop = threadbridge::new_event_loop();
                let spawner = event_loop.spawner();
                // Spawned inside the loop: a wait on a loop nobody runs yet
                // fails at once.
                event_loop.run_until_complete(async {
                    pool.spawn(move || {
                        timed_waits(|value| threadbridge::sync_wait(&spawner, async move { value }))
                    })
                    .await
                })
            }
            // Ours on tokio: the same pool thread waits through a `Spawn`
            // adapter of a tokio handle, while this thread runs the runtime.
            1 => {
                let runtime = current_thread_tokio();
                let spawner = TokioSpawn(runtime.handle().clone());
                runtime.block_on(pool.spawn(move || {
                    timed_waits(|value| threadbridge::sync_wait(&spawner, async move { value }))
                }))
            }
            // Through tokio's executor: spawn, then block on the `JoinHandle`.
            2 => {
                let runtime = current_thread_tokio();
                let handle = runtime.handle().clone();
                runtime
                    .block_on(runtime.spawn_blocking(move || {
                        timed_waits(|value| {
                            let task = handle.spawn(async move { value });
                            handle.block_on(task).expect("task")
                        })
                    }))
                    .expect("spawn_blocking")
            }
            // A floor: `Handle::block_on` polls the future on the waiting thread
            // itself, so nothing crosses threads.
            3 => {
                let runtime = current_thread_tokio();
                let handle = runtime.handle().clone();
                runtime
                    .block_on(runtime.spawn_blocking(move || {
                        timed_waits(|value| handle.block_on(async move { value }))
                    }))
                    .expect("spawn_blocking")
            }
            // A floor: the bare hand-off to another thread and back, parking
            // as the executors' threads do (the spinning variant measures the
            // machine's load more than the hand-off when both cores are busy).
            _ => ping_pong(SYNC_WAIT_CALLS, false),
        },
    );
    let floor_index = SYNC_WAIT_NAMES.len();
    let mut report = Report::new("sync_wait", "ns/call", Better::Lower)
        .named_floor("tokio block_on", percentile(&samples[floor_index], 0.5))
        .named_floor(
            "ping-pong (no spin)",
            percentile(&samples[floor_index + 1], 0.5),
        )
        .note(format!(
            "{SYNC_WAIT_CALLS} waits per round on a ready future from a blocking thread, current-thread \
             executors driven by the main thread; floors: tokio `Handle::block_on` polls the \
             future on the waiting thread (no hand-off), roundtrip's ping-pong without spinning"
        ));
    for (name, samples) in SYNC_WAIT_NAMES.iter().zip(&samples) {
        report.rows.push(Row {
            name: (*name).to_owned(),
            median: percentile(samples, 0.5),
            p99: Some(percentile(samples, 0.99)),
            extra: None,
        });
    }
    vec![report]
}

fn current_thread_tokio() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .thread_name("tokio-bench")
        .build()
        .expect("tokio runtime")
}

/// Each of `SYNC_WAIT_CALLS` waits' latency, in ns, after a warm-up.
fn timed_waits(wait: impl Fn(usize) -> usize) -> Vec<f64> {
    for value in 0..WARM_UP {
        assert_eq!(wait(value), value);
    }
    (0..SYNC_WAIT_CALLS)
        .map(|value| {
            let start = Instant::now();
            let got = wait(value);
            let elapsed = start.elapsed();
            assert_eq!(got, value);
            nanos(elapsed)
        })
        .collect()
}

/// A tokio handle as a `futures::task::Spawn`, so threadbridge's
/// `sync_wait` reaches it without the crate's `tokio` feature.
struct TokioSpawn(tokio::runtime::Handle);

impl futures::task::Spawn for TokioSpawn {
    fn spawn_obj(
        &self,
        future: futures::task::FutureObj<'static, ()>,
    ) -> Result<(), futures::task::SpawnError> {
        drop(self.0.spawn(future));
        Ok(())
    }
}

// ------------------------------------------------------------------ context

static REQUEST_ID: threadbridge::ContextVar<u64> = threadbridge::ContextVar::new("request_id");
static TENANT: threadbridge::ContextVar<&'static str> = threadbridge::ContextVar::new("tenant");

const CONTEXT_CALLS: usize = 5_000;

/// The rows of `context`: ours with two variables set, then the empty
/// context it is compared with.
const CONTEXT_NAMES: [&str; 2] = ["two-vars", "empty-context"];

/// `roundtrip` on our pool with two `ContextVar`s set against an empty
/// context: what carrying a context costs per call. The two kinds of call
/// alternate within each round, so both rows see the same moments of the
/// machine: `roundtrip` has two regimes (whether the kernel keeps the
/// awaiting thread and the worker on separate cores), and whole rounds of
/// each kind could land in different ones (ratios of 1.0 and 6.2 in two
/// runs of the same build).
pub fn context(settings: &Settings) -> Vec<Report> {
    let pool = Ours(threadbridge::ThreadPool::builder().name("tb-bench").build());
    let two_vars = REQUEST_ID.scope(7, || TENANT.scope("acme", threadbridge::Context::current));
    assert!(threadbridge::Context::current().is_empty());
    let mut samples = [Vec::new(), Vec::new()];
    for _ in 0..settings.rounds * SHORT_ROUNDS {
        warm_up(&pool);
        let [with, without] = pool.block_on(async {
            let mut rows = [Vec::new(), Vec::new()];
            for call in 0..CONTEXT_CALLS {
                let with_vars = call % 2 == 0;
                let start = Instant::now();
                if with_vars {
                    two_vars.run(|| pool.call(noop)).await;
                } else {
                    pool.call(noop).await;
                }
                rows[usize::from(!with_vars)].push(nanos(start.elapsed()));
            }
            rows
        });
        samples[0].extend(with);
        samples[1].extend(without);
    }
    let mut report = Report::new("context", "ns/call", Better::Lower).note(format!(
        "{CONTEXT_CALLS} sequential no-op calls per round on threadbridge's pool, \
         every other one with two ContextVars set (the others with an empty context)"
    ));
    for (name, samples) in CONTEXT_NAMES.iter().zip(&samples) {
        report.rows.push(Row {
            name: (*name).to_owned(),
            median: percentile(samples, 0.5),
            p99: Some(percentile(samples, 0.99)),
            extra: None,
        });
    }
    vec![report]
}

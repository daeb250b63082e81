//! A property test: random sequences of submit / drop handle / detach /
//! await / plug the worker / shutdown / open a stream / read it / drop it /
//! close it, checked against a simple model of what must have run. With one
//! worker, a job queued behind a running "plug" job has certainly not
//! started, so dropping its handle must cancel it; otherwise a dropped job
//! may or may not have run, but never twice. A stream yields its items in
//! order and then its end; its iterator is built at most once (only if the
//! stream was read) and dropped exactly once; `close().await` returns after
//! that drop; after shutdown a read may only fail with the pool's error.

mod common;

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use common::stress_support;
use futures::StreamExt;
use proptest::prelude::*;
use stress_support::{fault, quiet_faults, size, with_timeout, Fault, Probe, Probed};
use threadbridge::{IteratorWrapper, JoinHandle, ThreadPool};

#[derive(Debug, Clone)]
enum Op {
    Submit { panics: bool },
    Drop(usize),
    Detach(usize),
    Await(usize),
    Plug,
    Unplug,
    Shutdown,
    OpenStream { len: usize, max_size: usize },
    StreamRead(usize),
    StreamDrop(usize),
    StreamClose(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => any::<bool>().prop_map(|p| Op::Submit { panics: p }),
        2 => any::<usize>().prop_map(Op::Drop),
        1 => any::<usize>().prop_map(Op::Detach),
        2 => any::<usize>().prop_map(Op::Await),
        1 => Just(Op::Plug),
        1 => Just(Op::Unplug),
        1 => Just(Op::Shutdown),
        2 => (0usize..8, 0usize..4).prop_map(|(len, max_size)| Op::OpenStream { len, max_size }),
        3 => any::<usize>().prop_map(Op::StreamRead),
        1 => any::<usize>().prop_map(Op::StreamDrop),
        1 => any::<usize>().prop_map(Op::StreamClose),
    ]
}

/// What the model says about one job.
enum Fate {
    Held(JoinHandle<usize>),
    /// Must have run exactly once.
    Ran,
    /// Dropped while queued behind the plug: must never run.
    Cancelled,
    /// Dropped with the worker free: ran at most once.
    Either,
}

struct Job {
    panics: bool,
    runs: Arc<AtomicUsize>,
    fate: Fate,
}

/// What the model says about one stream.
struct ModelStream {
    stream: Option<IteratorWrapper<usize>>,
    probe: Arc<Probe>,
    len: usize,
    max_size: usize,
    /// Items read so far: the next one must be this.
    read: usize,
    /// The stream said `None` (or failed): later reads must say `None`.
    ended: bool,
}

struct Plug {
    release: mpsc::Sender<()>,
    /// Jobs from this index on were queued behind the running plug.
    first_behind: usize,
}

fn run(ops: Vec<Op>) {
    let pool = ThreadPool::builder().max_threads(1).name("model").build();
    let mut jobs: Vec<Job> = Vec::new();
    let mut plug: Option<Plug> = None;
    let mut plugs = 0u64;
    let mut shut = false;
    let mut streams: Vec<ModelStream> = Vec::new();
    let unplug = |plug: &mut Option<Plug>| {
        if let Some(plug) = plug.take() {
            plug.release.send(()).unwrap();
        }
    };
    // Handles still held, by index into `jobs`.
    let held = |jobs: &[Job], pick: usize| {
        let held: Vec<usize> = (0..jobs.len())
            .filter(|&i| matches!(jobs[i].fate, Fate::Held(_)))
            .collect();
        (!held.is_empty()).then(|| held[pick % held.len()])
    };
    // Streams still open, by index into `streams`.
    let open = |streams: &[ModelStream], pick: usize| {
        let open: Vec<usize> = (0..streams.len())
            .filter(|&i| streams[i].stream.is_some())
            .collect();
        (!open.is_empty()).then(|| open[pick % open.len()])
    };
    for op in ops {
        match op {
            Op::Submit { panics } => {
                let runs = Arc::new(AtomicUsize::new(0));
                let index = jobs.len();
                let job_runs = runs.clone();
                let result = pool.try_spawn(move || {
                    job_runs.fetch_add(1, Ordering::SeqCst);
                    if panics {
                        fault(index);
                    }
                    index
                });
                match result {
                    Ok(handle) => {
                        assert!(!shut, "a shut-down pool accepted a job");
                        jobs.push(Job {
                            panics,
                            runs,
                            fate: Fate::Held(handle),
                        });
                    }
                    Err(error) => assert!(shut && error.is_shutdown(), "{error}"),
                }
            }
            Op::Drop(pick) | Op::Detach(pick) => {
                let Some(i) = held(&jobs, pick) else { continue };
                let behind = plug.as_ref().is_some_and(|plug| i >= plug.first_behind);
                let Fate::Held(handle) = std::mem::replace(&mut jobs[i].fate, Fate::Either) else {
                    unreachable!()
                };
                if matches!(op, Op::Detach(_)) {
                    handle.detach();
                    jobs[i].fate = Fate::Ran;
                } else {
                    drop(handle);
                    jobs[i].fate = if behind {
                        Fate::Cancelled
                    } else {
                        Fate::Either
                    };
                }
            }
            Op::Await(pick) => {
                let Some(i) = held(&jobs, pick) else { continue };
                unplug(&mut plug);
                let Fate::Held(handle) = std::mem::replace(&mut jobs[i].fate, Fate::Ran) else {
                    unreachable!()
                };
                check_output(i, jobs[i].panics, handle);
            }
            Op::Plug => {
                if shut || plug.is_some() {
                    continue;
                }
                let (started, running) = mpsc::channel();
                let (release, gate) = mpsc::channel::<()>();
                pool.spawn(move || {
                    started.send(()).unwrap();
                    gate.recv().unwrap();
                })
                .detach();
                plugs += 1;
                running
                    .recv_timeout(Duration::from_secs(10))
                    .expect("the plug job started");
                plug = Some(Plug {
                    release,
                    first_behind: jobs.len(),
                });
            }
            Op::Unplug => unplug(&mut plug),
            Op::Shutdown => {
                unplug(&mut plug);
                pool.shutdown();
                shut = true;
            }
            Op::OpenStream { len, max_size } => {
                let probe = Arc::new(Probe::default());
                let source = probe.clone();
                let build = move || {
                    source.built.fetch_add(1, Ordering::SeqCst);
                    Probed {
                        probe: source,
                        next: 0,
                        len,
                    }
                };
                streams.push(ModelStream {
                    stream: Some(IteratorWrapper::new(build, &pool, max_size)),
                    probe,
                    len,
                    max_size,
                    read: 0,
                    ended: false,
                });
            }
            Op::StreamRead(pick) => {
                let Some(i) = open(&streams, pick) else {
                    continue;
                };
                // The producer may be queued behind the plug.
                unplug(&mut plug);
                read_once(i, &mut streams[i], shut);
            }
            Op::StreamDrop(pick) => {
                let Some(i) = open(&streams, pick) else {
                    continue;
                };
                drop(streams[i].stream.take());
                if streams[i].probe.built.load(Ordering::SeqCst) == 0 {
                    // Never read: never built, and now never will be.
                    streams[i].ended = true;
                }
            }
            Op::StreamClose(pick) => {
                let Some(i) = open(&streams, pick) else {
                    continue;
                };
                // A parked producer is re-queued to drop its iterator.
                unplug(&mut plug);
                let model = &mut streams[i];
                let mut stream = model.stream.take().unwrap();
                futures::executor::block_on(stream.close());
                let probe = &model.probe;
                assert_eq!(
                    probe.dropped.load(Ordering::SeqCst),
                    probe.built.load(Ordering::SeqCst),
                    "stream {i}: close() returned before the iterator was dropped"
                );
                assert_eq!(futures::executor::block_on(stream.next()), None);
                model.ended = true;
            }
        }
    }
    unplug(&mut plug);
    let started: Vec<bool> = streams
        .iter()
        .map(|s| s.probe.built.load(Ordering::SeqCst) == 1)
        .collect();
    for model in &mut streams {
        drop(model.stream.take());
    }
    pool.shutdown();
    // Each started producer ran at least once, and at most once per batch
    // it pushed (a resumed producer pushes at least half a buffer before it
    // parks again) plus the first run and the close.
    let (mut min_runs, mut max_runs) = (0u64, 0u64);
    for (i, model) in streams.iter().enumerate() {
        let probe = &model.probe;
        let (built, pulled, dropped) = (
            probe.built.load(Ordering::SeqCst),
            probe.pulled.load(Ordering::SeqCst),
            probe.dropped.load(Ordering::SeqCst),
        );
        assert!(
            built <= 1,
            "stream {i}: the iterator was built {built} times"
        );
        assert_eq!(
            dropped, built,
            "stream {i}: built {built}, dropped {dropped}"
        );
        assert!(pulled <= model.len);
        if model.max_size > 0 {
            assert!(
                pulled <= model.read + model.max_size + 1,
                "stream {i}: {pulled} pulled, {} read, buffer {}",
                model.read,
                model.max_size
            );
        }
        if started[i] {
            let batch = (model.max_size - model.max_size / 2).max(1);
            min_runs += 1;
            max_runs += (pulled / batch) as u64 + 2;
        }
    }
    let (mut ran, mut panicked) = (0u64, 0u64);
    for (i, mut job) in jobs.into_iter().enumerate() {
        if matches!(job.fate, Fate::Held(_)) {
            let Fate::Held(handle) = std::mem::replace(&mut job.fate, Fate::Ran) else {
                unreachable!()
            };
            // Shutdown ran every queued job: the handle is ready.
            assert!(handle.is_finished(), "job {i} still pending after shutdown");
            check_output(i, job.panics, handle);
        }
        let runs = job.runs.load(Ordering::SeqCst);
        match job.fate {
            Fate::Ran => assert_eq!(runs, 1, "job {i} ran {runs} times"),
            Fate::Cancelled => assert_eq!(runs, 0, "job {i} ran after its handle was dropped"),
            Fate::Either => assert!(runs <= 1, "job {i} ran {runs} times"),
            Fate::Held(_) => unreachable!(),
        }
        ran += runs as u64;
        if job.panics {
            panicked += runs as u64;
        }
    }
    let stats = pool.stats();
    let producer_runs = (stats.completed + stats.panicked)
        .checked_sub(ran + plugs)
        .unwrap_or_else(|| panic!("fewer runs than jobs: {stats:?}"));
    assert!(
        (min_runs..=max_runs).contains(&producer_runs),
        "{producer_runs} producer runs, expected {min_runs}..={max_runs}: {stats:?}"
    );
    assert_eq!(stats.panicked, panicked, "{stats:?}");
    assert_eq!(
        stats.submitted,
        stats.completed + stats.panicked + stats.cancelled,
        "{stats:?}"
    );
    assert_eq!(stats.threads, 0);
}

/// Reads one item from stream `i` and checks it against the model: the
/// next item in order, or the end once all were read; after shutdown, a
/// read that needs the producer may instead fail with the pool's error.
fn read_once(i: usize, model: &mut ModelStream, shut: bool) {
    let stream = model.stream.as_mut().unwrap();
    let got = panic::catch_unwind(AssertUnwindSafe(|| {
        futures::executor::block_on(stream.next())
    }));
    match got {
        Ok(Some(item)) => {
            assert!(!model.ended, "stream {i} yielded {item} after its end");
            assert_eq!(item, model.read, "stream {i} out of order");
            model.read += 1;
        }
        Ok(None) => {
            assert!(
                model.ended || model.read == model.len,
                "stream {i} ended after {} of {} items",
                model.read,
                model.len
            );
            model.ended = true;
        }
        Err(payload) => {
            let message = payload.downcast_ref::<String>().map_or("", String::as_str);
            assert!(
                shut && message.contains("could not") && message.contains("shut down"),
                "stream {i}: unexpected panic {message:?}"
            );
            model.ended = true;
        }
    }
}

/// Awaits `handle` and checks it yields job `i`'s own result or panic.
fn check_output(i: usize, panics: bool, handle: JoinHandle<usize>) {
    match panic::catch_unwind(AssertUnwindSafe(|| futures::executor::block_on(handle))) {
        Ok(value) => assert!(!panics && value == i, "job {i} yielded {value}"),
        Err(payload) => {
            assert!(panics, "job {i} panicked but should not have");
            assert_eq!(payload.downcast_ref::<Fault>(), Some(&Fault(i)));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(size(256, 4096) as u32))]

    #[test]
    fn random_sequences_match_the_model(ops in proptest::collection::vec(op(), 1..60)) {
        quiet_faults();
        with_timeout(Duration::from_secs(30), move || run(ops));
    }
}

//! A property test: random sequences of submit / drop handle / detach /
//! await / plug the worker / shutdown, checked against a simple model of
//! what must have run. With one worker, a job queued behind a running
//! "plug" job has certainly not started, so dropping its handle must cancel
//! it; otherwise a dropped job may or may not have run, but never twice.

mod stress_support;

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use proptest::prelude::*;
use stress_support::{fault, quiet_faults, size, with_timeout, Fault};
use threadbridge::{JoinHandle, ThreadPool};

#[derive(Debug, Clone)]
enum Op {
    Submit { panics: bool },
    Drop(usize),
    Detach(usize),
    Await(usize),
    Plug,
    Unplug,
    Shutdown,
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
        }
    }
    unplug(&mut plug);
    pool.shutdown();
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
    assert_eq!(stats.completed + stats.panicked, ran + plugs, "{stats:?}");
    assert_eq!(stats.panicked, panicked, "{stats:?}");
    assert_eq!(
        stats.submitted,
        stats.completed + stats.panicked + stats.cancelled,
        "{stats:?}"
    );
    assert_eq!(stats.threads, 0);
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

//! How long the pool's lock is held per job: a measurement, not a test (it
//! asserts nothing and is ignored by default). Built only for the crate's
//! own unit tests, so normal builds carry none of it.
//!
//! ```text
//! cargo test --release --lib lock_hold -- --ignored --nocapture
//! ```
//!
//! Single-threaded, so every hold is uncontended and its cache line stays
//! in this core's cache: the figures are the work done under the lock, the
//! floor of what a hold costs once other cores want the line too.
//! `README.md` ("Scaling") says what they imply.

use std::hint::black_box;
use std::time::{Duration, Instant};

use super::batch::Batch;
use super::state::Member;
use super::{Config, Shared};
use crate::job::{Finished, Job, Report};
use crate::sync::Arc;
use crate::timing::{SUBMITTER_WAKES, WORKER_WAKES};

struct Noop;

impl Job for Noop {
    fn run(&self, _: &dyn Report) -> Finished {
        Finished::unawaited()
    }
}

pub(super) fn pool() -> Arc<Shared> {
    Shared::new(Config {
        name: "probe".to_owned(),
        max_threads: 1,
        min_threads: 0,
        keep_alive: Duration::from_secs(1),
        stack_size: None,
        spin: true,
        start_hook: None,
        on_thread_start: None,
        on_thread_stop: None,
    })
}

/// Nanoseconds per item of `total` over `count`.
fn per(total: Duration, count: usize) -> f64 {
    total.as_nanos() as f64 / count as f64
}

/// One sample of each figure, `jobs` jobs deep.
fn sample(jobs: usize) -> [f64; 5] {
    let shared = pool();
    // A worker that exists only in the counts: the pool is at its bound,
    // so `summon` starts no thread, and nobody is parked to be woken.
    let batch = Arc::new(Batch::default());
    {
        let mut state = shared.state();
        state.workers.threads = 1;
        state.batches.members.push(Member {
            batch: batch.clone(),
            filled: u64::MAX,
        });
    }
    let made: Vec<Arc<dyn Job>> = (0..jobs).map(|_| Arc::new(Noop) as Arc<dyn Job>).collect();

    // A bare lock and unlock, for reference.
    let start = Instant::now();
    for _ in 0..jobs {
        black_box(&mut *shared.state());
    }
    let bare = per(start.elapsed(), jobs);

    // What `submit` does under the lock, taken and released per job.
    let start = Instant::now();
    for job in made {
        let mut state = shared.state();
        state.queue.jobs.push_back(job);
        shared.publish_queued(&state);
        let wake = shared.summon(&mut state, SUBMITTER_WAKES).unwrap_or(0);
        state.queue.submitted += 1;
        drop(state);
        black_box(wake);
    }
    let submit = per(start.elapsed(), jobs);

    // What a worker does under the lock: take a job (and up to three more
    // into its batch), summon for the rest; the batch's jobs are popped
    // without the pool's lock, then settled in the next hold, as the
    // worker loop does. Timed as a whole (the batch's pops, under the
    // batch's own uncontended lock, included: an upper bound on the pool's
    // lock), per job and per hold that found a job.
    let mut holds = 0;
    let mut holding = false;
    let mut taken = Vec::with_capacity(jobs);
    let start = Instant::now();
    loop {
        let mut state = shared.state();
        let settled = batch.settle();
        if settled > 0 {
            shared.settle(&mut state, settled);
        }
        let Some((job, hold)) = shared.next_job(&mut state, &batch, holding) else {
            break;
        };
        let wake = shared.summon(&mut state, WORKER_WAKES).unwrap_or(0);
        drop(state);
        holds += 1;
        black_box(wake);
        holding = hold;
        taken.push(job);
        while holding {
            match batch.pop() {
                Some(job) => taken.push(job),
                None => holding = false,
            }
        }
    }
    // The last hold found nothing: what a worker pays before it idles.
    let held = start.elapsed();
    assert_eq!(taken.len(), jobs);
    drop(taken);
    [
        bare,
        submit,
        per(held, jobs),
        per(held, holds),
        jobs as f64 / holds as f64,
    ]
}

#[test]
#[ignore = "a measurement: run it with --ignored --nocapture, in release"]
fn lock_hold() {
    let rounds = 15;
    for jobs in [1, 16, 1024] {
        // Enough jobs per sample to time, however deep the queue gets.
        let samples: Vec<[f64; 5]> = (0..rounds)
            .map(|_| {
                let repeat = (4096 / jobs).max(1);
                let mut sum = [0.0; 5];
                for _ in 0..repeat {
                    for (total, figure) in sum.iter_mut().zip(sample(jobs)) {
                        *total += figure / repeat as f64;
                    }
                }
                sum
            })
            .collect();
        let median = |index: usize| {
            let mut figures: Vec<f64> = samples.iter().map(|s| s[index]).collect();
            figures.sort_by(f64::total_cmp);
            (figures[0], figures[rounds / 2], figures[rounds - 1])
        };
        let names = [
            "bare lock+unlock ns",
            "submit hold ns/job",
            "worker ns/job",
            "worker ns/hold",
            "jobs/hold",
        ];
        println!("queue depth {jobs} (median, min-max of {rounds}):");
        for (index, name) in names.iter().enumerate() {
            let (min, mid, max) = median(index);
            println!("  {name:22} {mid:8.1}  ({min:.1}-{max:.1})");
        }
    }
}

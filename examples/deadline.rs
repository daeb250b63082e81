//! A deadline on blocking work: race a call against a timer, and the job,
//! which checks `threadbridge::wait_cancelled`, stops within one check
//! interval of the timeout. Under tokio (`tokio::time::timeout`) and under
//! smol (`smol::Timer`), the same blocking function.
//!
//! ```text
//! cargo run --example deadline
//! ```

use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures::future::{select, Either};
use threadbridge::{threaded, Threaded};

/// How often the blocking loop looks for cancellation.
const CHECK: Duration = Duration::from_millis(10);
const DEADLINE: Duration = Duration::from_millis(100);

/// A blocking poller that would run for an hour, reporting when it stopped.
fn poller(stopped: mpsc::Sender<Instant>) -> Threaded<impl Fn() -> u32 + Send + Sync + 'static> {
    threaded(move || {
        let mut polls = 0;
        let hour = Instant::now() + Duration::from_secs(3600);
        while Instant::now() < hour && !threadbridge::wait_cancelled(CHECK) {
            polls += 1;
        }
        stopped.send(Instant::now()).unwrap();
        polls
    })
}

fn report(runtime: &str, timed_out_at: Instant, stopped: &mpsc::Receiver<Instant>) {
    let stopped_at = stopped.recv().unwrap();
    let lag = stopped_at.saturating_duration_since(timed_out_at);
    println!(
        "{runtime}: timed out after {DEADLINE:?}; the job stopped {lag:.1?} later \
         (within one {CHECK:?} check: {})",
        lag <= CHECK
    );
}

pub fn main() {
    // tokio: `timeout` drops the call's handle, which cancels the job.
    let (tx, stopped) = mpsc::channel();
    let poll = poller(tx);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let timed_out_at = runtime.block_on(async {
        let outcome = tokio::time::timeout(DEADLINE, poll.call(())).await;
        assert!(outcome.is_err(), "the poller cannot finish in time");
        Instant::now()
    });
    report("tokio", timed_out_at, &stopped);

    // smol: the same race with a `Timer`.
    let (tx, stopped) = mpsc::channel();
    let poll = poller(tx);
    let timed_out_at = smol::block_on(async {
        match select(poll.call(()), smol::Timer::after(DEADLINE)).await {
            Either::Left(_) => panic!("the poller cannot finish in time"),
            Either::Right((_, call)) => drop(call),
        }
        Instant::now()
    });
    report("smol", timed_out_at, &stopped);
}

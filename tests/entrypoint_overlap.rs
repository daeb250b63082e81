//! Entrypoints that overlap on several threads (as tests running in
//! parallel do) end in any order, and leave a default pool that works.
#![cfg(feature = "runtime")]

use std::sync::mpsc;
use std::thread;

use threadbridge::{default_pool, entrypoint, threaded};

#[test]
fn entrypoints_ending_out_of_order_leave_a_working_default_pool() {
    // A starts, B starts, A ends, B ends: B's restore must not bring back
    // A's pool, which A shut down.
    let (a_started, a_started_rx) = mpsc::channel();
    let (b_started, b_started_rx) = mpsc::channel();
    let (a_may_end, a_may_end_rx) = mpsc::channel::<()>();
    let (b_may_end, b_may_end_rx) = mpsc::channel::<()>();
    let a = thread::spawn(move || {
        entrypoint(async move {
            a_started.send(()).unwrap();
            a_may_end_rx.recv().unwrap();
        })
    });
    a_started_rx.recv().unwrap();
    let b = thread::spawn(move || {
        entrypoint(async move {
            b_started.send(()).unwrap();
            b_may_end_rx.recv().unwrap();
            // A has ended by now: B still runs on its own pool.
            threaded(|| 1).call(()).await
        })
    });
    b_started_rx.recv().unwrap();
    a_may_end.send(()).unwrap();
    a.join().unwrap();
    b_may_end.send(()).unwrap();
    assert_eq!(b.join().unwrap(), 1);

    assert!(!default_pool().is_shutdown());
    let out = futures::executor::block_on(threaded(|| 2).call(()));
    assert_eq!(out, 2);
}

//! The physical floor: what handing work to another thread and hearing back
//! costs with nothing but `thread::park` and `unpark`.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use crate::harness::nanos;

const MAIN: u8 = 0;
const PEER: u8 = 1;
const STOP: u8 = 2;

/// How many times a side checks for its turn before parking, in the
/// spinning variant: a few microseconds.
const SPINS: u32 = 4_000;

/// `n` round trips between this thread and a partner thread, each side
/// waiting until the other hands the turn back, by parking at once or after
/// spinning briefly (`spin`); returns each trip's ns.
pub fn ping_pong(n: usize, spin: bool) -> Vec<f64> {
    let spins = if spin { SPINS } else { 0 };
    let turn = Arc::new(AtomicU8::new(MAIN));
    let main = thread::current();
    let partner = {
        let turn = turn.clone();
        thread::Builder::new()
            .name("floor-partner".into())
            .spawn(move || loop {
                match wait_while(&turn, MAIN, spins) {
                    PEER => {
                        turn.store(MAIN, Ordering::Release);
                        main.unpark();
                    }
                    _ => return,
                }
            })
            .expect("spawn the floor's partner thread")
    };
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        turn.store(PEER, Ordering::Release);
        partner.thread().unpark();
        wait_while(&turn, PEER, spins);
        samples.push(nanos(start.elapsed()));
    }
    turn.store(STOP, Ordering::Release);
    partner.thread().unpark();
    partner.join().expect("floor partner");
    samples
}

/// Waits until `turn` is no longer `value`, spinning `spins` times before
/// parking; returns the new value.
fn wait_while(turn: &AtomicU8, value: u8, spins: u32) -> u8 {
    for _ in 0..spins {
        let now = turn.load(Ordering::Acquire);
        if now != value {
            return now;
        }
        std::hint::spin_loop();
    }
    loop {
        let now = turn.load(Ordering::Acquire);
        if now != value {
            return now;
        }
        thread::park();
    }
}

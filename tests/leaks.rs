//! No leaks of threads or memory: 1,000 pools created, used and dropped,
//! and 1,000 separate-thread calls. The thread count returns to its
//! baseline, and resident memory stays within a small bound of what the
//! first round used. (One test in this binary, so no other test's threads
//! disturb the count.)

mod stress_support;

use std::time::Duration;

use stress_support::{eventually, fault, quiet_faults, rss_kib, size, thread_count, with_timeout};
use threadbridge::{threaded_separate, ThreadPool};

const ROUNDS: usize = 10;
/// Growth allowed after the first round: allocator caches, not a leak
/// (a leaked 8 MiB-stack thread or a leaked job per call would exceed it).
const RSS_SLACK_KIB: usize = 4 * 1024;

fn use_a_pool(round: usize) {
    let pool = ThreadPool::builder().max_threads(2).name("leak").build();
    let handles: Vec<_> = (0..8)
        .map(|job| {
            pool.spawn(move || {
                if job == 3 {
                    fault(job);
                }
                vec![round as u8; 1024]
            })
        })
        .collect();
    let mut handles = handles.into_iter();
    // One handle dropped (maybe cancelled), one detached, the rest awaited.
    drop(handles.next());
    handles.next().unwrap().detach();
    for handle in handles {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            futures::executor::block_on(handle)
        }));
    }
}

#[test]
fn threads_and_memory_return_to_baseline() {
    quiet_faults();
    with_timeout(Duration::from_secs(300), || {
        let per_round = size(100, 1_000);
        let baseline = thread_count();
        let separate = threaded_separate(|len: usize| vec![1u8; len]);

        let mut first_round_rss = 0;
        for round in 0..ROUNDS {
            for _ in 0..per_round {
                use_a_pool(round);
            }
            assert_eq!(
                thread_count(),
                baseline,
                "a dropped pool left threads behind"
            );
            let calls: Vec<_> = (0..per_round).map(|_| separate.call(4096)).collect();
            for call in calls {
                assert_eq!(futures::executor::block_on(call).len(), 4096);
            }
            // Separate threads exit right after handing over their result.
            assert!(
                eventually(Duration::from_secs(10), || thread_count() == baseline),
                "separate threads did not exit: {} threads, baseline {baseline}",
                thread_count()
            );
            if round == 0 {
                first_round_rss = rss_kib();
            }
        }
        let last_rss = rss_kib();
        eprintln!(
            "leaks: {} pools and {} separate calls; threads {baseline} -> {}; RSS after round 1 {first_round_rss} KiB, after round {ROUNDS} {last_rss} KiB",
            per_round * ROUNDS,
            per_round * ROUNDS,
            thread_count()
        );
        assert!(
            last_rss <= first_round_rss + RSS_SLACK_KIB,
            "resident memory grew from {first_round_rss} KiB to {last_rss} KiB"
        );
    });
}

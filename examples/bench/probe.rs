//! What the cases observe besides time: heap allocations, live threads and
//! CPU time, read from a counting allocator and from `/proc/self`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fs;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// The system allocator, counting allocations while [`count_allocations`]
/// runs. Outside it the cost is one relaxed load of a flag that never
/// changes, so the timing cases are not slowed.
pub struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: one of the harness's two pieces of unsafe code (`GlobalAlloc` is
// an unsafe trait; the other is `process_cpu_time`'s `clock_gettime`); every
// method forwards to `System` with the caller's arguments.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        System.realloc(ptr, layout, new_size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

/// Runs `f` and returns how many allocations (and reallocations) the whole
/// process made meanwhile, on any thread.
pub fn count_allocations(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    f();
    COUNTING.store(false, Ordering::SeqCst);
    ALLOCATIONS.load(Ordering::SeqCst) - before
}

/// The ids and names of this process's threads.
fn threads() -> Vec<(String, String)> {
    let Ok(dir) = fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|entry| {
            let tid = entry.file_name().to_string_lossy().into_owned();
            let comm = fs::read_to_string(entry.path().join("comm")).ok()?;
            Some((tid, comm.trim_end().to_owned()))
        })
        .collect()
}

/// Live threads whose name starts with `prefix` (Linux keeps 15 bytes).
pub fn thread_count(prefix: &str) -> usize {
    let prefix = &prefix[..prefix.len().min(15)];
    threads()
        .iter()
        .filter(|(_, name)| name.starts_with(prefix))
        .count()
}

/// CPU time used so far by the threads whose name starts with `prefix`
/// (all threads for `""`), from each thread's `schedstat` (nanoseconds).
/// Threads that exited take their time with them.
pub fn cpu_time(prefix: &str) -> Duration {
    let prefix = &prefix[..prefix.len().min(15)];
    thread_times()
        .iter()
        .filter(|(name, _)| name.starts_with(prefix))
        .map(|(_, time)| *time)
        .sum()
}

/// Each live thread's name and the CPU time it used so far, from one pass
/// over `/proc/self/task` (a case that watches several pools reads it once).
pub fn thread_times() -> Vec<(String, Duration)> {
    threads()
        .into_iter()
        .filter_map(|(tid, name)| {
            let stat = fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).ok()?;
            let nanos = stat.split_whitespace().next()?.parse::<u64>().ok()?;
            Some((name, Duration::from_nanos(nanos)))
        })
        .collect()
}

/// Runs `f` while sampling, every 2 ms, how many threads named `prefix`
/// are alive; returns `f`'s result and the highest count seen.
pub fn peak_threads<R>(prefix: &str, f: impl FnOnce() -> R) -> (R, usize) {
    let done = AtomicBool::new(false);
    let peak = AtomicU64::new(thread_count(prefix) as u64);
    let result = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(thread_count(prefix) as u64, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        let result = f();
        peak.fetch_max(thread_count(prefix) as u64, Ordering::Relaxed);
        done.store(true, Ordering::Relaxed);
        result
    });
    (result, peak.into_inner() as usize)
}

/// CPU time used so far by the whole process: every thread, those that have
/// exited included, in nanoseconds (`clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`:
/// the kernel's exact runtime sum, which `getrusage` and `/proc/self/stat`
/// report only in microseconds or clock ticks). [`cpu_time`] sums the live
/// threads only.
#[cfg(target_os = "linux")]
pub fn process_cpu_time() -> Duration {
    use std::ffi::{c_int, c_long};

    /// `struct timespec` on Linux: `time_t` and the nanoseconds are `long`s.
    #[repr(C)]
    struct Timespec {
        tv_sec: c_long,
        tv_nsec: c_long,
    }
    extern "C" {
        // The C library's, which std links already: no new dependency.
        fn clock_gettime(clock: c_int, time: *mut Timespec) -> c_int;
    }
    const CLOCK_PROCESS_CPUTIME_ID: c_int = 2;
    let mut time = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `time` is a valid, writable `struct timespec` for the call,
    // and the clock id is Linux's process CPU clock.
    let status = unsafe { clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &mut time) };
    assert_eq!(status, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID) failed");
    Duration::new(time.tv_sec as u64, time.tv_nsec as u32)
}

/// Elsewhere the harness has no process CPU clock: the live threads' sum.
#[cfg(not(target_os = "linux"))]
pub fn process_cpu_time() -> Duration {
    cpu_time("")
}

//! Every spin budget, yield policy and timing constant of the crate, and its
//! one spin loop ([`watch`]). `timing.md` beside this file gives the
//! protocol and the reasons.
//!
//! Nothing here is a protocol: every constant and policy only says how long
//! a thread looks before it waits in a way that cannot miss its event, or
//! how many wake-ups are worth paying for at once. So under loom the clocks
//! and spins compile away (a spin is one look there) while the counts stay.

use std::time::Duration;

#[cfg(not(loom))]
use std::cell::Cell;
#[cfg(not(loom))]
use std::sync::atomic::{AtomicU64, Ordering};
#[cfg(not(loom))]
use std::sync::OnceLock;
#[cfg(not(loom))]
use std::time::Instant;

// ---- the pool: waking parked workers, taking jobs along ----

/// How many wake-ups a submitter keeps in flight: one. Its `futex` wake is
/// paid on the caller's thread, and the worker it wakes passes a backlog on
/// (`WORKER_WAKES`). A count, not a duration: it holds on any machine, since
/// it only moves who pays a wake-up, not how many are paid.
pub(crate) const SUBMITTER_WAKES: usize = 1;

/// The most wake-ups a worker that took a job keeps in flight for what is
/// left (see [`WakeAhead`] for how many it keeps now). Each wake-up costs a
/// system call and a thread's start-up latency, so a burst of blocking
/// calls reaches all parked workers after `log4(workers)` wake latencies
/// instead of one per worker: on a 16-core server a backlog reaches 16
/// workers in two steps; on a laptop or under a CPU quota, where fewer
/// threads run at once, the extra wake-ups are at most three per job
/// taken, and only while jobs are queued.
pub(crate) const WORKER_WAKES: usize = 4;

/// How many wake-ups a worker that took a job keeps in flight for what is
/// left, between one and [`WORKER_WAKES`], learnt from what the workers
/// woken that way find. One per pool, under the pool's lock.
///
/// A backlog of short jobs drains before a woken worker gets there: the
/// awake ones keep up, and every extra wake-up is a system call, a context
/// switch and a vain look at the queue. A backlog of long or blocking jobs
/// is still there, and every worker woken is needed soon. So each worker
/// woken ahead that finds a job doubles the count (up to `WORKER_WAKES`),
/// and each that finds none halves it (down to one). One, never zero: the
/// chain of one wake-up per job taken is what lets a job that waits for
/// the job queued behind it get a worker (`pool/README.md`, "No job is
/// stranded"), so only the fan-out learns. A count, not a duration: it
/// holds whatever a wake-up costs on the machine.
#[derive(Debug)]
pub(crate) struct WakeAhead {
    /// Wake-ups a worker that took a job keeps in flight now.
    wakes: usize,
    /// Workers notified ahead (by a worker that took a job) not yet back:
    /// the next arrivals are theirs to judge by. Notifications are not
    /// addressed, so whichever worker comes back first is counted.
    pending: usize,
}

impl Default for WakeAhead {
    /// A new pool fans out: its first backlog may well be of blocking jobs.
    /// Under loom it starts at its floor, one, the chain every liveness
    /// argument of the pool rests on, so the models check that chain alone.
    fn default() -> WakeAhead {
        WakeAhead {
            wakes: if cfg!(loom) { 1 } else { WORKER_WAKES },
            pending: 0,
        }
    }
}

impl WakeAhead {
    /// How many wake-ups a worker that took a job keeps in flight.
    pub(crate) fn wakes(&self) -> usize {
        self.wakes
    }

    /// A worker that took a job notified `count` parked workers.
    pub(crate) fn woke(&mut self, count: usize) {
        self.pending = self.pending.saturating_add(count);
    }

    /// A parked worker was notified and is back at the queue: `found`,
    /// whether a job waits for it. Only an arrival of a worker woken ahead
    /// counts.
    pub(crate) fn arrived(&mut self, found: bool) {
        if self.pending == 0 {
            return;
        }
        self.pending -= 1;
        self.wakes = if found {
            (self.wakes * 2).min(WORKER_WAKES)
        } else {
            (self.wakes / 2).max(1)
        };
    }
}

/// How many more queued jobs a worker takes along with the one it runs,
/// into its own batch: each hold of the pool's lock then serves up to four
/// jobs, so its cache line moves between cores once per four jobs under a
/// backlog. A count: its cost (a job that waits behind at most three others
/// of one worker, never stranded, see `pool/README.md`) does not depend on
/// the machine; more would help the lock little and delay those jobs more.
pub(crate) const BATCH_EXTRAS: usize = 3;

// ---- the pool: the idle spin (see `IdleSpin`) ----

/// The longest an idle worker spins on the queue before it parks: about the
/// round trip of an awaiting task (its wake-up, a poll, the next submit)
/// when that task's thread has to be woken, and so the longest wait a spin
/// can still save a wake-up on. Spent only while spins keep finding work
/// (see `IdleSpin`): a pool whose calls come farther apart stops spinning
/// at once on a laptop on battery or under a CPU quota as on a server.
#[cfg(not(loom))]
const IDLE_SPIN_MAX: Duration = Duration::from_micros(50);

/// A spin that found work later than this lost its core meanwhile (a
/// yield that handed it away for a time slice, or a preemption): no budget
/// is longer than `IDLE_SPIN_MAX`, and a spin overruns its budget by one
/// round of looks and a yield, microseconds on any machine. Such a spin is
/// no evidence that spinning pays: a parked worker would have served the
/// job at the cost of one wake-up, and the looks before the core was lost
/// were spent in vain. Relative to `IDLE_SPIN_MAX`, so it holds whatever
/// the scheduler's time slice.
#[cfg(not(loom))]
const DESCHEDULED: Duration = Duration::from_nanos(2 * IDLE_SPIN_MAX.as_nanos() as u64);

/// The shortest spin worth starting: about one round of looks and a yield.
/// A budget that halves below it becomes zero (park at once).
#[cfg(not(loom))]
const IDLE_SPIN_MIN: Duration = Duration::from_micros(5);

/// A spin that found work after waiting `w` sets the budget to this many
/// times `w`: room for the next wait to be a few times longer (a submitter
/// that was preempted once) without spinning long past it.
#[cfg(not(loom))]
const IDLE_SPIN_SLACK: u32 = 4;

/// How many looks an idle worker takes between two yields: twice a
/// channel's round (`CHAN_LOOKS`), since a worker with nothing to do
/// loses nothing by looking longer and each round's end costs a yield, a
/// system call; still a microsecond or so on any current core.
#[cfg(not(loom))]
const IDLE_LOOKS: usize = 2 * CHAN_LOOKS;

// ---- waits that poll ----

/// How long a wait on an event loop that no thread runs gives some thread
/// to start running it (a waiter started just before `run_until_complete`)
/// before it reports that nobody does. A misuse report, not a latency: long
/// enough for a thread that is about to run the loop to get there on a
/// loaded machine, short enough to fail promptly.
#[cfg(feature = "runtime")]
pub(crate) const NOT_RUNNING_GRACE: Duration = Duration::from_secs(1);

// ---- the item channel (`chan`): the watches of its two sides ----
//
// All are bounds on a *watch*, never a protocol step: the decision is made
// under the lock whatever a watch saw, so none of them matters for
// correctness (loom models run without them). They are sized against the
// cost of what they save: a cross-thread wake (a `futex` wake, the
// scheduler putting the other thread on a core, its caches refilling),
// which costs microseconds on any Linux machine, a 16-core server as well as
// a laptop, because it is a system call and a context switch, not a matter of
// core count or clock. With cores to spare (the server) a watch runs on a
// core nobody else wants; where cores are scarce (a laptop with a build
// running) the first slow yield switches every watch to one round of looks
// without yielding (`contention`), so they adapt at run time rather than
// being tuned to one machine.
/// How long a consumer that finds the buffer empty watches for the
/// next item before it registers its waker: a few cross-thread wakes'
/// worth, so a producer that keeps up delivers within it and neither
/// side pays a wake per item, while a slow producer costs the consumer
/// only this much per wait.
#[cfg(not(loom))]
pub(crate) const ITEM_WATCH: Duration = Duration::from_micros(5);
/// How long a thread-hosted producer with a full buffer watches for
/// the consumer's resume before it parks its thread: as long as a pool's
/// idle worker watches its queue, an order of magnitude above a wake's
/// cost, since a parked producer pays a wake-up on both sides.
#[cfg(not(loom))]
pub(crate) const ROOM_WATCH: Duration = Duration::from_micros(50);
/// How many looks a channel's watch takes between two yields (`watch`'s
/// round): some hundreds of nanoseconds of `spin_loop` on any current
/// core, short next to the microseconds a yield or a wake costs, and
/// enough looks that a round catches a store another core made meanwhile.
#[cfg(not(loom))]
pub(crate) const CHAN_LOOKS: usize = 32;
/// How many items a consumer that saw the first one arrive lets gather
/// before it takes them (at most half the buffer): enough that the lock
/// and the cache line of the length are taken once per batch, not per
/// few items, whatever the speed of the cores.
#[cfg(not(loom))]
pub(crate) const GATHER: usize = 256;
/// How often a gathering consumer looks at the length: rarely enough
/// not to pull the producer's cache line away after every push (a
/// push takes tens of nanoseconds on any current core).
#[cfg(not(loom))]
const GATHER_LOOK: Duration = Duration::from_micros(1);
/// The longest a gathering consumer waits: the latency a fast
/// producer's item may gain, as long as one spin budget.
#[cfg(not(loom))]
const GATHER_BUDGET: Duration = Duration::from_micros(5);
/// The most items a task-hosted producer (`sync_iter`'s feed) polls
/// before it hands them over (and, with room for more, yields to its
/// executor): a big look-ahead over an always-ready stream neither
/// keeps the first item from the consumer nor holds an executor thread
/// for the whole look-ahead. A count, not a time: it bounds the work
/// between two yields of a task, which is what an executor's fairness
/// is measured in on any machine.
pub(crate) const FEED_BATCH: usize = 64;

// ---- Unblock: the look of each side before it waits ----

/// How many times a side that ran out of work looks for the other's
/// next step before it parks (the blocking side) or registers its
/// waker (the async side): one round of `watch`, about a
/// microsecond, without yielding. A yield could hand the core to a
/// CPU-bound thread for a whole time slice on a busy machine, and with
/// hand-offs per half a megabyte a longer watch saves too little to pay
/// for itself on an idle one.
#[cfg(not(loom))]
pub(crate) const IO_LOOKS: usize = 32;

// ---- contention: what a yield says ----

/// A yield slower than this handed the core away for a time slice: when
/// CPU-bound threads compete for every core, a yielding thread waits behind
/// them for milliseconds. A virtual CPU that its host preempts can make a
/// rare yield take hundreds of microseconds on an idle machine, which must
/// not count; a time slice is longer than that on every scheduler.
#[cfg(not(loom))]
const SLOW_YIELD: Duration = Duration::from_micros(500);

/// How long one slow yield keeps the process in the contended mode: many
/// spins long, so the mode does not flap, and short enough that a process
/// whose neighbours went quiet spins again within a blink.
#[cfg(not(loom))]
const CONTENDED_FOR: Duration = Duration::from_millis(100);

/// A yield longer than this let another thread run on this core: a yield
/// with nobody to run is a system call that returns at once (well under a
/// microsecond on any current core), and a switch to another thread and
/// back takes several.
#[cfg(not(loom))]
const SWITCHED: Duration = Duration::from_micros(2);

/// Until when (in ns since `EPOCH`) the process counts as contended; 0:
/// not contended.
#[cfg(not(loom))]
static UNTIL: AtomicU64 = AtomicU64::new(0);

#[cfg(not(loom))]
fn nanos() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let elapsed = EPOCH.get_or_init(Instant::now).elapsed();
    u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
}

/// Whether the process counts as contended now: a yield was slow lately
/// (see `timing.md`).
#[cfg(not(loom))]
pub(crate) fn now() -> bool {
    let until = UNTIL.load(Ordering::Relaxed);
    until != 0 && nanos() < until
}

#[cfg(not(loom))]
thread_local! {
    /// Whether this thread's last yield let another thread run.
    static SHARING: Cell<bool> = const { Cell::new(false) };
}

/// A consumer that saw the first unit arrive lets a batch gather before it
/// takes the lock (see `GATHER`): spins until `count` reaches `target`,
/// looking only every `GATHER_LOOK` (so as not to pull the producer's cache
/// line away after every send), and stops early when the count stopped
/// growing since the last look (the producer is slow, parked or done) or
/// after `GATHER_BUDGET`. A hint only: the caller decides under its lock.
#[cfg(not(loom))]
pub(crate) fn gather(target: usize, mut count: impl FnMut() -> usize) {
    let start = Instant::now();
    let mut look = start;
    let mut seen = count();
    while seen < target {
        std::hint::spin_loop();
        let now = Instant::now();
        if now - look < GATHER_LOOK {
            continue;
        }
        look = now;
        let len = count();
        if len == seen || now - start > GATHER_BUDGET {
            return;
        }
        seen = len;
    }
}

/// The crate's one spin: looks for `ready` in rounds of `full` looks (see
/// `looks`), yielding between rounds, until it holds, `budget` has passed
/// or a yield was slow. A zero `budget` is one round without a yield.
/// Returns whether `ready` held at the last look.
#[cfg(not(loom))]
pub(crate) fn watch(full: usize, budget: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        for _ in 0..looks(full) {
            if ready() {
                return true;
            }
            std::hint::spin_loop();
        }
        if budget.is_zero() || start.elapsed() > budget || yield_now() {
            return ready();
        }
    }
}

/// How many looks a spinner takes between yields: `full`, or one while its
/// last yield let another thread run on its core (in under `SLOW_YIELD`).
/// Then the event it waits for likely comes from that thread, which cannot
/// run while this one looks: each round of looks only delays it.
#[cfg(not(loom))]
fn looks(full: usize) -> usize {
    // While the process is contended every yield is slow, and says nothing
    // about whom the spinner waits for.
    if SHARING.with(Cell::get) && !now() {
        1
    } else {
        full
    }
}

/// Yields this thread's core; returns whether that took a time slice (and
/// then marks the process as contended).
#[cfg(not(loom))]
fn yield_now() -> bool {
    let start = Instant::now();
    std::thread::yield_now();
    let took = start.elapsed();
    SHARING.with(|sharing| sharing.set(took > SWITCHED && took < SLOW_YIELD));
    if took < SLOW_YIELD {
        return false;
    }
    let until = nanos().saturating_add(u64::try_from(CONTENDED_FOR.as_nanos()).unwrap_or(u64::MAX));
    UNTIL.store(until, Ordering::Relaxed);
    true
}

// ---- the pool's idle spin ----

/// How long a pool's idle worker spins before it parks, learnt from how
/// its spins end. One per pool, kept under the pool's lock: at most one
/// worker spins at a time, and how soon work follows an idle moment is a
/// property of the pool's callers, not of a worker.
///
/// - A spin that found work after waiting `w` (a *hit*) raises the budget
///   to `IDLE_SPIN_SLACK * w` if that is more, within [`IDLE_SPIN_MIN`,
///   `IDLE_SPIN_MAX`], if the pool's last spin was a hit too; a hit never
///   lowers it. A hit right after a vain spin only says that the callers
///   came back once: a burst of calls separated by idle time has one hit
///   and one vain spin per burst, and raising the budget on each such hit
///   would spend a whole budget in vain per burst to save one wake-up.
/// - A spin that found none (*vain*) halves it; below `IDLE_SPIN_MIN` it is
///   zero, and idle workers park at once.
/// - A worker notified within `IDLE_SPIN_MAX` of the moment the pool last
///   went quiet (no job running, nobody spinning) would have been caught by
///   a spin (a *would-have-hit*): it counts as a hit of that wait. Only a
///   quiet pool's idle moment counts: a worker that runs dry while others
///   still run jobs is mostly woken again by the backlog they pass on.
///
/// So calls that come back to back keep a spinner waiting for them, and
/// calls that come farther apart than any spin, one by one or in bursts,
/// cost one wake-up each and no spin at all, whatever the machine. See
/// `timing.md`.
#[derive(Debug)]
pub(crate) struct IdleSpin {
    /// The next spin's budget; zero: park at once.
    #[cfg(not(loom))]
    budget: Duration,
    /// When the pool last went quiet without a spin that found work since
    /// (a vain spin started, or a worker parked at once, with no job
    /// running); cleared by a hit or the next notification.
    #[cfg(not(loom))]
    idle_since: Option<Instant>,
    /// Whether the last spin (or would-have-hit) found work: only a hit
    /// that follows one raises the budget.
    #[cfg(not(loom))]
    last_hit: bool,
}

impl Default for IdleSpin {
    /// A new pool spins: its first calls may well come back to back.
    fn default() -> IdleSpin {
        IdleSpin {
            #[cfg(not(loom))]
            budget: IDLE_SPIN_MAX,
            #[cfg(not(loom))]
            idle_since: None,
            #[cfg(not(loom))]
            last_hit: true,
        }
    }
}

impl IdleSpin {
    /// How long the next idle worker may spin; `None`: it parks at once.
    /// While the process is contended, a worker that expects no job soon
    /// (`expect_soon` false: its last job parked to wait for its consumer)
    /// parks at once too: its yields would cost a time slice each.
    /// `quiet`: no job of the pool runs now.
    #[cfg(not(loom))]
    pub(crate) fn budget(&mut self, expect_soon: bool, quiet: bool) -> Option<Duration> {
        if self.budget.is_zero() || (!expect_soon && now()) {
            if quiet {
                self.idle_since.get_or_insert_with(Instant::now);
            }
            return None;
        }
        Some(self.budget)
    }

    /// Under loom a spin is one look (see [`spin`]), and always taken.
    #[cfg(loom)]
    pub(crate) fn budget(&mut self, _expect_soon: bool, _quiet: bool) -> Option<Duration> {
        Some(Duration::ZERO)
    }

    /// A spin ended: it found work after `waited`, or (`None`) it did not,
    /// having started at `started` (`quiet`: with no job of the pool
    /// running then).
    #[cfg(not(loom))]
    pub(crate) fn spun(&mut self, started: Spun, found: Option<Duration>, quiet: bool) {
        match found {
            Some(waited) if waited <= DESCHEDULED => {
                self.hit(waited);
                self.idle_since = None;
            }
            // Found only after the spinner lost its core for a time slice
            // (no spin lasts this long on its own): a parked worker would
            // have been woken for the same job, and the looks before the
            // slice were vain. Counted as vain, so spins on a machine whose
            // cores are all taken die out instead of looking like hits.
            Some(_) => {
                self.fall();
                self.idle_since = None;
            }
            None => {
                self.fall();
                if quiet {
                    self.idle_since.get_or_insert(started);
                }
            }
        }
    }

    #[cfg(loom)]
    pub(crate) fn spun(&mut self, _started: Spun, _found: Option<Duration>, _quiet: bool) {}

    /// A spin was vain: the budget halves, and below `IDLE_SPIN_MIN` it is
    /// zero (park at once).
    #[cfg(not(loom))]
    fn fall(&mut self) {
        self.budget /= 2;
        if self.budget < IDLE_SPIN_MIN {
            self.budget = Duration::ZERO;
        }
        self.last_hit = false;
    }

    /// A spin found work after `waited`, or would have. Only a hit that
    /// follows a hit raises the budget (see above), and a hit never
    /// shortens it: waits of calls that come back to back are bimodal (the
    /// caller's own wake-up), so a short one says nothing about the next;
    /// only vain spins take the budget down.
    #[cfg(not(loom))]
    fn hit(&mut self, waited: Duration) {
        if self.last_hit {
            self.budget = self.budget.max(learnt(waited));
        }
        self.last_hit = true;
    }

    /// A parked worker is being notified (under the pool's lock): if the
    /// pool went quiet less than `IDLE_SPIN_MAX` ago, a spin would have
    /// caught this job.
    #[cfg(not(loom))]
    pub(crate) fn notifying(&mut self) {
        self.notified_at(Instant::now());
    }

    /// [`IdleSpin::notifying`] at `now`.
    #[cfg(not(loom))]
    fn notified_at(&mut self, now: Instant) {
        if let Some(since) = self.idle_since.take() {
            let idle = now.saturating_duration_since(since);
            if idle <= IDLE_SPIN_MAX {
                self.hit(idle);
            }
        }
    }

    #[cfg(loom)]
    pub(crate) fn notifying(&mut self) {}
}

/// The budget after a spin that found work after `waited`, or would have.
#[cfg(not(loom))]
fn learnt(waited: Duration) -> Duration {
    (waited * IDLE_SPIN_SLACK).clamp(IDLE_SPIN_MIN, IDLE_SPIN_MAX)
}

/// What a spin's start is under loom: nothing (there is no clock).
#[cfg(loom)]
pub(crate) type Spun = ();

/// When a spin started.
#[cfg(not(loom))]
pub(crate) type Spun = Instant;

/// An idle worker's spin for `budget` on `ready`: returns when it started
/// and, if `ready` held, after how long.
#[cfg(not(loom))]
pub(crate) fn spin(budget: Duration, ready: impl FnMut() -> bool) -> (Spun, Option<Duration>) {
    let started = Instant::now();
    let found = watch(IDLE_LOOKS, budget, ready).then(|| started.elapsed());
    (started, found)
}

/// Loom cannot model a time budget, and an unbounded spin has unbounded
/// interleavings. One look covers both ways a spin ends (work seen, or the
/// budget spent with none) while a submitter races it.
#[cfg(loom)]
pub(crate) fn spin(_budget: Duration, mut ready: impl FnMut() -> bool) -> (Spun, Option<Duration>) {
    if ready() {
        ((), Some(Duration::ZERO))
    } else {
        crate::sync::thread::yield_now();
        ((), None)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn vain(spin: &mut IdleSpin) {
        spin.spun(Instant::now(), None, false);
    }

    fn hit(spin: &mut IdleSpin, micros: u64) {
        spin.spun(Instant::now(), Some(Duration::from_micros(micros)), false);
    }

    /// Bursts with idle time between them: one hit and one vain spin per
    /// burst. The budget falls to zero instead of being restored by each
    /// burst's hit.
    #[test]
    fn one_hit_per_vain_spin_lets_the_budget_fall_to_zero() {
        let mut spin = IdleSpin::default();
        for _ in 0..8 {
            hit(&mut spin, 20);
            vain(&mut spin);
        }
        assert_eq!(spin.budget, Duration::ZERO);
        assert_eq!(spin.budget(true, true), None);
    }

    /// A hit right after a vain spin keeps the budget where it is; the next
    /// hit in a row raises it.
    #[test]
    fn hits_in_a_row_raise_the_budget_a_lone_one_does_not() {
        let mut spin = IdleSpin::default();
        assert_eq!(spin.budget, IDLE_SPIN_MAX);
        vain(&mut spin);
        let halved = IDLE_SPIN_MAX / 2;
        assert_eq!(spin.budget, halved);
        hit(&mut spin, 20);
        assert_eq!(spin.budget, halved);
        hit(&mut spin, 20);
        assert_eq!(spin.budget, IDLE_SPIN_MAX);
        // A short hit never lowers it.
        hit(&mut spin, 1);
        assert_eq!(spin.budget, IDLE_SPIN_MAX);
    }

    /// On a machine whose cores are all taken a spinner loses its core for
    /// a time slice, and the next call arrives meanwhile: found work after
    /// longer than any budget is a descheduled spin, not a hit, and such
    /// spins take the budget down as vain ones do.
    #[test]
    fn work_found_only_after_a_time_slice_is_no_hit() {
        let mut spin = IdleSpin::default();
        for _ in 0..8 {
            hit(&mut spin, 3_000);
        }
        assert_eq!(spin.budget, Duration::ZERO);
        // One found within the budget's reach still counts.
        hit(&mut spin, 20);
        hit(&mut spin, 20);
        assert!(spin.budget >= IDLE_SPIN_MIN, "{:?}", spin.budget);
    }

    /// A worker that parks at once while other jobs still run does not
    /// mark the pool idle: its notification is no would-have-hit.
    #[test]
    fn only_a_quiet_pool_counts_would_have_hits() {
        let mut spin = IdleSpin::default();
        while !spin.budget.is_zero() {
            vain(&mut spin);
        }
        for _ in 0..4 {
            assert_eq!(spin.budget(true, false), None);
            assert_eq!(spin.idle_since, None);
            spin.notifying();
        }
        assert_eq!(spin.budget, Duration::ZERO);
        // Quiet: the second would-have-hit in a row restores a budget
        // (notified the moment the pool went idle, so within any bound).
        for _ in 0..2 {
            assert_eq!(spin.budget(true, true), None);
            let since = spin.idle_since.expect("a quiet park marks the pool idle");
            spin.notified_at(since);
        }
        assert!(spin.budget >= IDLE_SPIN_MIN, "{:?}", spin.budget);
    }

    /// `count` workers woken ahead, back at the queue, each finding work or
    /// not.
    fn arrivals(ahead: &mut WakeAhead, count: usize, found: bool) {
        ahead.woke(count);
        for _ in 0..count {
            ahead.arrived(found);
        }
    }

    #[test]
    fn wake_ahead_halves_on_vain_arrivals_and_never_falls_below_one() {
        let mut ahead = WakeAhead::default();
        assert_eq!(ahead.wakes(), WORKER_WAKES);
        arrivals(&mut ahead, 1, false);
        assert_eq!(ahead.wakes(), WORKER_WAKES / 2);
        arrivals(&mut ahead, 10, false);
        assert_eq!(ahead.wakes(), 1, "the chain of one wake-up per job stays");
    }

    #[test]
    fn wake_ahead_doubles_back_when_woken_workers_find_jobs() {
        let mut ahead = WakeAhead::default();
        arrivals(&mut ahead, 10, false);
        arrivals(&mut ahead, 1, true);
        assert_eq!(ahead.wakes(), 2);
        arrivals(&mut ahead, 10, true);
        assert_eq!(ahead.wakes(), WORKER_WAKES);
    }

    #[test]
    fn arrivals_of_workers_not_woken_ahead_teach_nothing() {
        let mut ahead = WakeAhead::default();
        // A submitter's wake-ups: nobody was woken ahead.
        for _ in 0..10 {
            ahead.arrived(false);
        }
        assert_eq!(ahead.wakes(), WORKER_WAKES);
        // One woken ahead: only the next arrival counts.
        ahead.woke(1);
        for _ in 0..10 {
            ahead.arrived(false);
        }
        assert_eq!(ahead.wakes(), WORKER_WAKES / 2);
    }
}

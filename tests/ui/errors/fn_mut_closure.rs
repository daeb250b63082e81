// A wrapper may run its function on several threads at once, so the function
// must be `Fn`: a closure that mutates what it captures needs a `Mutex` or
// an atomic.
fn main() {
    let mut calls = 0;
    let count = threadbridge::threaded(move || {
        calls += 1;
        calls
    });
    let _ = count.call(());
}

// `sync_wait` needs an executor it can hand the future to.
fn main() {
    let not_an_executor = 5_u32;
    let _ = threadbridge::sync_wait(&not_an_executor, async { 1 });
}

// Nothing fixes the type of `s`: write `|s: String| s.len()`.
fn main() {
    let len = threadbridge::threaded(|s| s.len());
    let _ = len.call(String::from("hello"));
}

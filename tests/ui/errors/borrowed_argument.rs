// An argument moves to another thread, so it must be owned, not borrowed.
fn main() {
    let name = String::from("ann");
    let greet = threadbridge::threaded(|name: &str| format!("hello, {name}"));
    let _ = greet.call(name.as_str());
}

// Two arguments go in one tuple: `call((1, 2))`, not `call(1)` or a list.
fn area(width: u32, height: u32) -> u32 {
    width * height
}

fn main() {
    let area = threadbridge::threaded(area);
    let _ = area.call(3_u32);
    let add = threadbridge::threaded(|a: u32, b: u32| a + b);
    let _ = add.call([1, 2]);
}

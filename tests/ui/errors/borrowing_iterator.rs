// A pull producer's iterator must be `Send + 'static`. Rows that borrow a
// statement (here through a `RefCell`, as a database driver's do) cannot be
// streamed by `threaded_iterable` or `Threaded::iter`: the error says so and
// points to the push form.
use std::cell::RefCell;

struct Statement {
    cursor: RefCell<u32>,
}

struct Rows<'stmt> {
    statement: &'stmt Statement,
}

impl Iterator for Rows<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        let mut cursor = self.statement.cursor.borrow_mut();
        *cursor += 1;
        (*cursor <= 3).then_some(*cursor)
    }
}

fn query() -> Rows<'static> {
    let statement = Box::leak(Box::new(Statement { cursor: RefCell::new(0) }));
    Rows { statement }
}

fn main() {
    let rows = threadbridge::threaded_iterable(query);
    let _ = rows.call(());
    let rows = threadbridge::threaded(query);
    let _ = rows.iter(());
    wrapped();
}

// The wrapper's constructors say the same.
fn wrapped() {
    let pool = threadbridge::ThreadPool::new(1);
    let _ = threadbridge::IteratorWrapper::new(query, &pool, 4);
}

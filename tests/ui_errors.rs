//! The compile errors a user meets most, pinned with trybuild: a closure
//! that is not `Send`, arguments in the wrong form, an `FnMut` closure, a
//! closure whose argument type nothing fixes, a borrowed argument, and a
//! value that is not an executor. The expected output
//! (`tests/ui/errors/*.stderr`) depends on the compiler version; regenerate
//! it with `TRYBUILD=overwrite cargo test --test ui_errors` and review the
//! diff.

#[test]
fn compile_errors() {
    let t = trybuild::TestCases::new();
    let mut cases: Vec<_> = std::fs::read_dir("tests/ui/errors")
        .expect("tests/ui/errors")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        // The expected error lists the executors that implement `Spawn`,
        // among them the `runtime` feature's `LoopSpawner`.
        .filter(|path| cfg!(feature = "runtime") || !path.ends_with("not_a_spawner.rs"))
        .collect();
    cases.sort();
    for case in cases {
        t.compile_fail(case);
    }
}

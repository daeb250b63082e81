//! Compile-time messages, pinned with trybuild. Each folder under
//! `tests/ui/` holds the cases of one topic: `macros/` the attributes'
//! refusals and the compiler's errors on attributed functions, `errors/`
//! the errors a user meets most with the functions (a closure that is not
//! `Send`, arguments in the wrong form, an `FnMut` closure, a closure whose
//! argument type nothing fixes, a borrowed argument, a value that is not an
//! executor). A `.stderr` beside each case
//! is the expected output; it depends on the compiler version
//! (`TRYBUILD=overwrite cargo test --test ui` writes it anew, to be reviewed
//! before it is committed).
//!
//! Ignored by a plain `cargo test`: trybuild compiles every case, which
//! costs a newcomer's first `cargo test` about a minute. CI runs it
//! (`ci/test.sh`): `cargo test --test ui -- --ignored`.

/// One `TestCases` for every folder: trybuild builds them in one project,
/// which two tests running at once would share.
#[test]
#[ignore = "compiles every case (slow); CI runs it: cargo test --test ui -- --ignored"]
fn compile_messages() {
    let t = trybuild::TestCases::new();
    if cfg!(feature = "macros") {
        t.compile_fail("tests/ui/macros/*.rs");
    }
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

//! The compile errors a user meets most, pinned with trybuild: a closure
//! that is not `Send`, arguments in the wrong form, a closure whose argument
//! type nothing fixes, a borrowed argument, and a value that is not an
//! executor. The expected output (`tests/ui/errors/*.stderr`) depends on the
//! compiler version; regenerate it with `TRYBUILD=overwrite cargo test
//! --test ui_errors` and review the diff.

#[test]
fn compile_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/errors/*.rs");
}

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
//! A package of its own (`threadbridge-ui-tests`, not a default member of
//! the workspace), so a plain `cargo test` neither builds trybuild nor
//! compiles every case; CI runs it (`ci/test.sh`):
//! `cargo test -p threadbridge-ui-tests`. The cases see threadbridge with
//! its default features and `macros`.

/// One `TestCases` for every folder: trybuild builds them in one project,
/// which two tests running at once would share.
#[test]
fn compile_messages() {
    let t = trybuild::TestCases::new();
    t.compile_fail("macros/*.rs");
    let mut cases: Vec<_> = std::fs::read_dir("errors")
        .expect("the errors/ folder beside ui.rs")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .collect();
    cases.sort();
    for case in cases {
        t.compile_fail(case);
    }
}

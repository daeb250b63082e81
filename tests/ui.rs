//! Compile-time refusals, pinned with their messages (trybuild). Each folder
//! under `tests/ui/` holds the cases of one topic; a `.stderr` beside each
//! case is the expected output (`TRYBUILD=overwrite cargo test --test ui`
//! writes it anew, to be reviewed before it is committed).

#[test]
#[cfg(feature = "macros")]
fn macros() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/macros/*.rs");
}

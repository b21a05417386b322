//! Every file in tests/ui/pass compiles (and runs); every file in
//! tests/ui/fail fails with exactly its .stderr.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}

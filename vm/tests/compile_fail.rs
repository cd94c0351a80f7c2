//! A native's handles cannot leave its call (vm/src/native.rs, "Rooting by
//! type"): each case under `tests/ui/` must fail to compile, with the
//! error recorded beside it.

#[test]
fn a_handle_cannot_escape_its_native_call() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}

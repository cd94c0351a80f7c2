//! Hand-written multi-error programs (tests/errors/*.lox): loam's errors
//! must equal clox's stderr byte for byte.

mod common;

use std::path::Path;

use common::*;

#[test]
fn error_programs_match_clox() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/errors");
    let files = lox_files(&dir);
    assert!(files.len() >= 20, "expected the error programs in {dir:?}");
    let clox = clox();
    let mut failures = Vec::new();
    for path in &files {
        let source = std::fs::read(path).expect("read");
        let got = on_compile_stack(move || loam_errors(&source));
        assert!(
            !got.is_empty(),
            "{}: loam reported no errors",
            path.display()
        );
        let Some(clox) = &clox else {
            continue;
        };
        let (stderr, code) = run_clox(clox, path);
        assert_eq!(code, 65, "{}: clox exit code", path.display());
        if got != stderr {
            failures.push(format!(
                "{}:\n clox:\n{}\n loam:\n{}",
                path.display(),
                show(&stderr),
                show(&got)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

//! Seed 003 (../shared/seeds/003_*): goroutine stacks scanned twice or not
//! at all when the collector and the goroutine raced. loam's SCAN_ONCE
//! check (vm/src/object/roots.rs) must fire when the bug is re-introduced
//! through the test-only `LOAM_SEED_BUG` switch, and stay silent without it.

use std::process::Command;

/// Coroutines parked with live stacks while collections run (stress mode
/// collects at every allocation).
const PROGRAM: &str = "fun f(ch, n) { var xs = [n]; ch.send(xs); return xs; } \
    var ch = Channel(); var a = spawn f(ch, 1); var b = spawn f(ch, 2); \
    print ch.recv()[0] + ch.recv()[0]; print a.join()[0] + b.join()[0];";

fn run(bug: Option<&str>) -> (Option<i32>, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_loam"));
    cmd.args(["--gc-stress", "--gc-verify", "-e", PROGRAM])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("LOAM_SEED_BUG");
    if let Some(b) = bug {
        cmd.env("LOAM_SEED_BUG", b);
    }
    let out = cmd.output().expect("run loam");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn seed_003_clean_run_scans_every_stack_once() {
    let (code, stderr) = run(None);
    assert_eq!(code, Some(0), "stderr: {stderr}");
    assert!(!stderr.contains("SCAN_ONCE"), "{stderr}");
}

#[test]
fn seed_003_missed_scan_is_caught() {
    let (code, stderr) = run(Some("003-skip-scan"));
    assert_ne!(code, Some(0));
    assert!(
        stderr.contains("SCAN_ONCE") && stderr.contains("not scanned in this cycle"),
        "the missed scan went unnoticed: {stderr}"
    );
}

#[test]
fn seed_003_double_scan_is_caught() {
    let (code, stderr) = run(Some("003-double-scan"));
    assert_ne!(code, Some(0));
    assert!(
        stderr.contains("SCAN_ONCE") && stderr.contains("scanned twice"),
        "the double scan went unnoticed: {stderr}"
    );
}

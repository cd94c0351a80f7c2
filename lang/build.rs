//! Generates the tools' parser from `src/grammar.lalrpop` into
//! `$OUT_DIR/grammar.rs` (never into the source tree, so the generated file
//! stays out of git); `lalrpop_util::lalrpop_mod!` includes it.

fn main() {
    println!("cargo:rerun-if-changed=src/grammar.lalrpop");
    let Some(out_dir) = std::env::var_os("OUT_DIR") else {
        eprintln!("lang/build.rs: cargo did not set OUT_DIR");
        std::process::exit(1);
    };
    if let Err(e) = lalrpop::Configuration::new()
        .set_in_dir("src")
        .set_out_dir(out_dir)
        .emit_rerun_directives(false)
        .process_file("src/grammar.lalrpop")
    {
        eprintln!("lalrpop failed on src/grammar.lalrpop: {e}");
        std::process::exit(1);
    }
}

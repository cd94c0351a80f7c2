//! Command-line arguments and `LOAMDEBUG`.

use clap::Parser;

use crate::render::ColorWhen;
use std::path::PathBuf;

/// loam: a Lox interpreter whose collector sweeps concurrently.
///
/// With no FILE, starts the interactive REPL. `loam -` reads the script
/// from standard input.
#[derive(Parser, Debug)]
#[command(
    name = "loam",
    version,
    about,
    long_about = None,
    after_help = "Tools: `loam fmt [--check] [FILE|DIR]...` formats programs; \
                  `loam check [--deny warnings] FILE` reports likely mistakes \
                  (see `loam fmt --help`, `loam check --help`). A script named \
                  `fmt` or `check` runs as `loam ./fmt`."
)]
pub struct Cli {
    /// Script to run (`-` for standard input). Omit for the REPL.
    pub file: Option<PathBuf>,

    /// Run CODE as the script.
    #[arg(
        short = 'e',
        long = "eval",
        value_name = "CODE",
        conflicts_with = "file"
    )]
    pub eval: Option<String>,

    /// Print the bytecode of FILE instead of running it.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["file", "eval"])]
    pub disassemble: Option<PathBuf>,

    /// Print one line per GC cycle to stderr (like GODEBUG=gctrace=1).
    #[arg(long)]
    pub gc_trace: bool,

    /// Collect at every allocation (slow; for finding rooting bugs).
    #[arg(long)]
    pub gc_stress: bool,

    /// Check the collector's invariants during every cycle.
    #[arg(long)]
    pub gc_verify: bool,

    /// Fill freed objects with a pattern so use-after-free shows.
    #[arg(long)]
    pub gc_poison: bool,

    /// Run the bytecode exactly as compiled, without the VM's fused
    /// superinstructions (to compare; the output is the same).
    #[arg(long)]
    pub no_quicken: bool,

    /// Sweep on the program's thread only (no background sweeper).
    #[arg(long)]
    pub no_concurrent_sweep: bool,

    /// Mark with the program stopped (no mark worker, no write barrier):
    /// the collector before concurrent marking, to compare pauses.
    #[arg(long)]
    pub no_concurrent_mark: bool,

    /// Record GC pauses and phases, background sweeping and the heap size
    /// as Chrome trace-event JSON in FILE (open it in ui.perfetto.dev).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,

    /// At exit, print the final GC statistics to stderr as one line of
    /// key=value pairs, starting `gc-summary:`.
    #[arg(long)]
    pub gc_summary: bool,

    /// At exit, write a picture of the collector's work to FILE: one
    /// self-contained HTML page (heap over time with the goal, each cycle's
    /// pauses and phases, background versus lazy sweeping, a pause
    /// histogram, the final gcStats()).
    #[arg(long, value_name = "FILE")]
    pub gc_report: Option<PathBuf>,

    /// Fail with `Out of memory.` when live objects need more than SIZE
    /// bytes after a full collection (e.g. 64M, 1G, 500000).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_heap: Option<usize>,

    /// Stop with `Instruction limit exceeded.` (exit 70) after about N
    /// bytecode instructions (checked every 10,000). In the REPL, per input.
    #[arg(long, value_name = "N")]
    pub max_instructions: Option<u64>,

    /// Errors with their source line, a caret and colour: `auto` when
    /// stderr is a terminal (NO_COLOR drops the colour), `always`, or
    /// `never` (clox's plain text). Off a terminal, `auto` is clox's text.
    /// `never` also keeps the REPL from colouring its input.
    #[arg(long, value_name = "WHEN", value_enum, default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,
}

/// A byte size: digits with an optional K, M or G suffix (powers of 1024).
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let (digits, mult) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1usize << 10),
        Some((i, 'm' | 'M')) => (&t[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&t[..i], 1 << 30),
        _ => (t, 1),
    };
    digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("'{s}' is not a size (try 64M, 1G or a byte count)"))
}

impl Cli {
    /// The collector configuration from flags, then `LOAMDEBUG`
    /// (`LOAMDEBUG=gctrace=1,stress=1,verify=1,poison=1,concurrentsweep=0,concurrentmark=0,trace=FILE`).
    pub fn gc_config(&self) -> gc::GcConfig {
        let mut c = gc::GcConfig {
            trace_file: self.trace.clone(),
            trace: self.gc_trace,
            stress: self.gc_stress,
            verify: self.gc_verify,
            poison: self.gc_poison,
            record: self.gc_report.as_ref().map(|_| gc::GcRecorder::new()),
            ..gc::GcConfig::default()
        };
        if self.no_concurrent_sweep {
            c.concurrent_sweep = false;
        }
        if self.no_concurrent_mark {
            c.concurrent_mark = false;
        }
        if let Ok(spec) = std::env::var("LOAMDEBUG") {
            apply_loamdebug(&mut c, &spec);
        }
        c
    }
}

fn apply_loamdebug(c: &mut gc::GcConfig, spec: &str) {
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (key, val) = item.split_once('=').unwrap_or((item, "1"));
        let on = val != "0";
        match key {
            // A file name cannot contain the `,` separator here.
            "trace" if item.contains('=') && !val.is_empty() => {
                c.trace_file = Some(PathBuf::from(val));
            }
            "trace" => eprintln!("loam: LOAMDEBUG: trace needs a file name (trace=FILE)"),
            "gctrace" => c.trace = on,
            "stress" | "gcstress" => c.stress = on,
            "verify" | "gcverify" => c.verify = on,
            "poison" | "gcpoison" => c.poison = on,
            "concurrentsweep" => c.concurrent_sweep = on,
            "concurrentmark" => c.concurrent_mark = on,
            _ => eprintln!("loam: LOAMDEBUG: unknown setting '{key}' ignored"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_suffixes() {
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("2k"), Ok(2048));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("500000"), Ok(500_000));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("0").is_err());
    }

    #[test]
    fn loamdebug_sets_flags() {
        let mut c = gc::GcConfig::default();
        apply_loamdebug(
            &mut c,
            "gctrace=1, stress ,verify=0,concurrentsweep=0,concurrentmark=0",
        );
        assert!(c.trace && c.stress && !c.verify && !c.concurrent_sweep && !c.concurrent_mark);
        assert_eq!(c.trace_file, None);
    }

    #[test]
    fn loamdebug_trace_takes_a_file() {
        let mut c = gc::GcConfig::default();
        apply_loamdebug(&mut c, "trace=/tmp/t.json,gctrace=1");
        assert_eq!(c.trace_file, Some(PathBuf::from("/tmp/t.json")));
        assert!(c.trace);
        let mut c = gc::GcConfig::default();
        apply_loamdebug(&mut c, "trace");
        assert_eq!(c.trace_file, None);
    }
}

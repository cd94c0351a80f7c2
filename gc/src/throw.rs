//! `gc_throw!`: the collector's only way to report its own bugs.
//!
//! A collector that limps on after a broken invariant corrupts memory, so a
//! violation prints `fatal error: gc: <INVARIANT>: <message>` and the
//! offending span's metadata to stderr, then aborts the process
//! (`std::process::abort`, no unwinding through embedder frames). Under
//! `cfg(loom)` it panics instead, so that loom reports the interleaving that
//! led there (and `should_panic` tests can name the invariant). The first
//! argument is an [`Invariant`] variant, so only documented invariants can
//! be thrown.

use crate::invariant::Invariant;
use crate::mspan::MSpan;
use core::fmt;

/// Throw a named invariant violation: `gc_throw!(Variant, "fmt", args..)`
/// or `gc_throw!(Variant, span = &span, "fmt", args..)`, where `Variant` is
/// an [`Invariant`] variant.
macro_rules! gc_throw {
    ($inv:ident, span = $span:expr, $($arg:tt)+) => {
        $crate::throw::throw_span(
            $crate::invariant::Invariant::$inv,
            $span,
            format_args!($($arg)+),
        )
    };
    ($inv:ident, $($arg:tt)+) => {
        $crate::throw::throw(
            $crate::invariant::Invariant::$inv,
            format_args!($($arg)+),
        )
    };
}

/// Reports a broken invariant and aborts (panics under loom). Public so
/// the embedder reports the collector invariants it checks itself
/// (`SCAN_ONCE` in the VM's stack scan) the same way.
#[cold]
#[inline(never)]
pub fn throw(inv: Invariant, args: fmt::Arguments<'_>) -> ! {
    die(inv, args, None)
}

#[cold]
#[inline(never)]
pub(crate) fn throw_span(inv: Invariant, span: &MSpan, args: fmt::Arguments<'_>) -> ! {
    die(inv, args, Some(span.describe()))
}

fn die(inv: Invariant, args: fmt::Arguments<'_>, span: Option<String>) -> ! {
    let mut msg = format!("fatal error: gc: {}: {args}", inv.name());
    if let Some(s) = span {
        msg.push_str("\n\tspan: ");
        msg.push_str(&s);
    }
    #[cfg(loom)]
    {
        panic!("{msg}");
    }
    #[cfg(not(loom))]
    {
        use std::io::Write;
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{msg}");
        let _ = err.flush();
        std::process::abort();
    }
}

//! `gc_throw!`: the collector's only way to report its own bugs.
//!
//! A collector that limps on after a broken invariant corrupts memory, so a
//! violation prints `fatal error: gc: <INVARIANT>: <message>` and the
//! offending span's metadata to stderr, then aborts the process
//! (`std::process::abort`, no unwinding through embedder frames). Under
//! `cfg(loom)` it panics instead, so that loom reports the interleaving that
//! led there (and `should_panic` tests can name the invariant).

use crate::mspan::MSpan;
use core::fmt;

/// Throw a named invariant violation: `gc_throw!(NAME, "fmt", args..)` or
/// `gc_throw!(NAME, span = &span, "fmt", args..)`.
macro_rules! gc_throw {
    ($name:ident, span = $span:expr, $($arg:tt)+) => {
        $crate::throw::throw_span(stringify!($name), $span, format_args!($($arg)+))
    };
    ($name:ident, $($arg:tt)+) => {
        $crate::throw::throw_plain(stringify!($name), format_args!($($arg)+))
    };
}

#[cold]
#[inline(never)]
pub(crate) fn throw_plain(name: &str, args: fmt::Arguments<'_>) -> ! {
    die(name, args, None)
}

#[cold]
#[inline(never)]
pub(crate) fn throw_span(name: &str, span: &MSpan, args: fmt::Arguments<'_>) -> ! {
    die(name, args, Some(span.describe()))
}

fn die(name: &str, args: fmt::Arguments<'_>, span: Option<String>) -> ! {
    let mut msg = format!("fatal error: gc: {name}: {args}");
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

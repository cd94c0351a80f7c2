//! Errors the VM reports. Rendering happens in the binary; `Display` here
//! is clox's exact text.

use std::fmt;

/// One line of a runtime error's stack trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceLine {
    pub line: u32,
    /// `None` for the top-level script.
    pub function: Option<String>,
}

/// How far an error unwinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unwind {
    /// A Lox runtime error: it ends the program, except inside a finalizer,
    /// where it ends only that finalizer (LANGUAGE.md §6).
    Error,
    /// Ctrl-C ([`crate::Vm::interrupt_flag`]): ends the program (or the
    /// REPL input), even inside a finalizer.
    Interrupt,
    /// `--max-instructions` ran out: ends the program, even inside a
    /// finalizer.
    OutOfFuel,
    /// `Out of memory.`: ends the program, even inside a finalizer.
    OutOfMemory,
}

/// A Lox runtime error: message plus trace, innermost frame first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeError {
    pub message: String,
    pub trace: Vec<TraceLine>,
    pub unwind: Unwind,
}

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.message)?;
        for t in &self.trace {
            match &t.function {
                Some(name) => writeln!(f, "[line {}] in {}()", t.line, name)?,
                None => writeln!(f, "[line {}] in script", t.line)?,
            }
        }
        Ok(())
    }
}

impl std::error::Error for RuntimeError {}

/// What a runtime error ended, in a session ([`crate::Vm::start_session`])
/// when it was not the input: the session reports it and goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failed {
    /// The coroutine with this id (spawn order) has ended; whoever joins
    /// it gets nil.
    Coroutine(u64),
    /// One finalizer; the finalizer coroutine goes on with the next.
    Finalizer,
}

/// Why `interpret` failed.
#[derive(Debug)]
pub enum InterpretError {
    /// Exit 65: every compile error, in clox's order.
    Compile(Vec<lang::CompileError>),
    /// Exit 70.
    Runtime(RuntimeError),
    /// Stopped by [`crate::Vm::interrupt_flag`] (Ctrl-C): exit 130, the
    /// shell's code for a process ended by SIGINT (128 + 2).
    Interrupted,
}

impl InterpretError {
    /// The process exit code clox uses for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            InterpretError::Compile(_) => 65,
            InterpretError::Runtime(_) => 70,
            InterpretError::Interrupted => 130,
        }
    }
}

/// Why a native call failed.
#[derive(Debug)]
pub enum NativeError {
    /// A Lox runtime error with this message, raised at the call site
    /// (`sleep: seconds must be a number.`).
    Message(String),
    /// An error the VM raised while the native ran (`Out of memory.`, the
    /// instruction limit): it unwinds as raised, so a finalizer cannot
    /// catch what it could not catch in Lox code.
    Vm(RuntimeError),
}

impl From<String> for NativeError {
    fn from(message: String) -> Self {
        NativeError::Message(message)
    }
}

impl From<&str> for NativeError {
    fn from(message: &str) -> Self {
        NativeError::Message(message.to_string())
    }
}

impl From<RuntimeError> for NativeError {
    fn from(e: RuntimeError) -> Self {
        NativeError::Vm(e)
    }
}

//! `loam fmt [--check] [FILE|DIR ...]`: rewrites Lox programs in the
//! canonical layout (defined in the docs of `lang::syntax::format`).
//!
//! A file is formatted only if it compiles: otherwise clox's exact errors
//! are printed (through `render.rs`) and the file is left untouched. A
//! file with a NUL byte is left untouched too (the program ends at the
//! NUL; what follows is not Lox, and a formatter must not decide what it
//! is). Before anything is written, the output is re-scanned and must be
//! the same tokens and comments (`check_equivalent`); a new version is
//! written to a temporary file beside the original and renamed over it,
//! so an interrupted run never leaves a truncated program.
//!
//! Exit code: the largest of each file's outcome: 0 nothing to do or
//! formatted, 1 a file would change (`--check`), 65 a file does not
//! compile, 70 the formatter refused its own output (a bug, reported),
//! 74 a file could not be read or written.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use clap::Parser;

use crate::render;

/// Format Lox programs in loam's one canonical layout.
///
/// With no FILE (or `-`), formats standard input to standard output.
#[derive(Parser, Debug)]
#[command(name = "fmt", bin_name = "loam fmt")]
pub struct FmtArgs {
    /// Change nothing: list the files whose layout differs (one per line)
    /// and exit 1 if there is any.
    #[arg(long)]
    pub check: bool,

    /// Files, or directories to search for `.lox` files recursively.
    pub paths: Vec<PathBuf>,
}

/// What formatting one program gives.
enum Formatted {
    Same,
    Changed(Vec<u8>),
    CompileErrors(Vec<lang::CompileError>),
    HasNul,
    /// The grammar or the layout failed a program the compiler accepts.
    Internal(String),
}

fn format_source(source: &[u8]) -> Formatted {
    if let Err(errors) = lang::compile(source) {
        return Formatted::CompileErrors(errors);
    }
    if source.contains(&0) {
        return Formatted::HasNul;
    }
    let parsed = match lang::syntax::parse(source) {
        Ok(parsed) => parsed,
        Err(e) => {
            return Formatted::Internal(format!(
                "the grammar rejects a program the compiler accepts ({e})"
            ))
        }
    };
    let formatted = lang::syntax::format::format(&parsed);
    if let Err(e) = lang::syntax::format::check_equivalent(&parsed, &formatted) {
        return Formatted::Internal(format!("the layout would change the program: {e}"));
    }
    if formatted == source {
        Formatted::Same
    } else {
        Formatted::Changed(formatted)
    }
}

pub fn run(args: FmtArgs) -> i32 {
    let stdin = args.paths.is_empty() || args.paths.iter().any(|p| p.as_os_str() == "-");
    if stdin {
        if args.paths.len() > 1 {
            eprintln!("loam fmt: `-` (standard input) cannot be mixed with files");
            return 64;
        }
        return format_stdin(args.check);
    }
    let mut code = 0;
    for path in &args.paths {
        let files = match lox_files(path) {
            Ok(files) => files,
            Err(e) => {
                eprintln!("loam fmt: cannot read {}: {e}", path.display());
                code = code.max(74);
                continue;
            }
        };
        for file in files {
            code = code.max(format_file(&file, args.check));
        }
    }
    code
}

fn format_stdin(check: bool) -> i32 {
    let mut source = Vec::new();
    if std::io::stdin().read_to_end(&mut source).is_err() {
        eprintln!("Could not read standard input.");
        return 74;
    }
    let out = match format_source(&source) {
        Formatted::Same => source,
        Formatted::Changed(_) if check => {
            println!("<stdin>");
            return 1;
        }
        Formatted::Changed(formatted) => formatted,
        Formatted::CompileErrors(errors) => {
            let text = render::SourceText {
                name: "<stdin>",
                bytes: &source,
                whole_program: true,
            };
            return render::report_compile(&errors, &text);
        }
        Formatted::HasNul => {
            eprintln!("loam fmt: <stdin> contains a NUL byte; copied unchanged");
            source
        }
        Formatted::Internal(e) => {
            eprintln!("loam fmt: internal error on <stdin>: {e}");
            return 70;
        }
    };
    if check {
        return 0;
    }
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(&out).and_then(|()| stdout.flush()) {
        Ok(()) => 0,
        Err(_) => 74,
    }
}

fn format_file(path: &Path, check: bool) -> i32 {
    let source = match fs::read(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("loam fmt: cannot read {}: {e}", path.display());
            return 74;
        }
    };
    match format_source(&source) {
        Formatted::Same => 0,
        Formatted::Changed(_) if check => {
            println!("{}", path.display());
            1
        }
        Formatted::Changed(formatted) => match write_atomically(path, &formatted) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("loam fmt: cannot write {}: {e}", path.display());
                74
            }
        },
        Formatted::CompileErrors(errors) => {
            eprintln!(
                "loam fmt: {} does not compile; left unchanged:",
                path.display()
            );
            let name = path.display().to_string();
            let text = render::SourceText {
                name: &name,
                bytes: &source,
                whole_program: true,
            };
            render::report_compile(&errors, &text)
        }
        Formatted::HasNul => {
            eprintln!(
                "loam fmt: {} contains a NUL byte (the program ends there); left unchanged",
                path.display()
            );
            0
        }
        Formatted::Internal(e) => {
            eprintln!(
                "loam fmt: internal error on {}: {e}; left unchanged",
                path.display()
            );
            70
        }
    }
}

/// `path` itself if it is not a directory, else every `.lox` file below
/// it (hidden directories skipped), sorted.
fn lox_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if !fs::metadata(path)?.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut dirs = vec![path.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if entry.file_type()?.is_dir() {
                if !hidden {
                    dirs.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "lox") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Replaces `path`'s contents: writes a temporary file in the same
/// directory (same file system, so the rename is atomic), copies the
/// original's permissions, syncs it, and renames it over the target (the
/// file a symbolic link points to, not the link).
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let target = fs::canonicalize(path)?;
    let dir = target.parent().unwrap_or_else(|| Path::new("."));
    let name = target
        .file_name()
        .map_or_else(|| "file".to_string(), |n| n.to_string_lossy().into_owned());
    let temp = dir.join(format!(".{name}.loam-fmt.{}", std::process::id()));
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.set_permissions(fs::metadata(&target)?.permissions())?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, &target)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

#!/usr/bin/env python3
"""Writes the generated files of tests/lox/hostile/: the big ones and the
ones whose bytes (NUL, CR, bytes >= 0x80) are awkward to edit by hand.

Run from anywhere: `python3 tests/lox/hostile/generate.py`. The output is
deterministic; the files are committed, this script documents them. After
a change, run `cargo test --test snapshots` and review the `.snap.new`
files. Each file's first line says what clox does with it.
"""

import os

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, data):
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


# --- bytes ---------------------------------------------------------------

# Every byte >= 0x80, raw inside string literals: kept as is, printed raw,
# concatenated and compared byte-wise.
high = bytes(range(0x80, 0x100))
write(
    "invalid_utf8_in_strings.lox",
    b"// Bytes >= 0x80 inside string literals are kept raw (LANGUAGE.md 1).\n"
    b"// Pure Lox: same output as clox.\n"
    b'var all = "' + high + b'";\n'
    b"print all; // expect: " + high + b"\n"
    b'print "\xff\xfe" + "\x80" + "\xc3\x28"; // expect: \xff\xfe\x80\xc3\x28\n'
    b'print "\xc3" + "\xa9" == "\xc3\xa9"; // expect: true\n'
    b'print "\xc3\xa9" == "\xc3\xa8"; // expect: false\n'
    b'var s = "\xf0\x9f\x98"; // a truncated 4-byte sequence\n'
    b"print s + s; // expect: \xf0\x9f\x98\xf0\x9f\x98\n"
    b'print "\xe2\x82\xac"; // expect: \xe2\x82\xac\n',
)

# Bytes >= 0x80 outside string literals: `Unexpected character.` (panic
# mode then hides the rest of the statement's errors, as in clox); inside
# a comment they are fine.
write(
    "invalid_utf8_outside_strings.lox",
    b"// Bytes >= 0x80 outside strings: `Unexpected character.` (LANGUAGE.md 1),\n"
    b"// one per statement (panic mode). Pure Lox: same output as clox.\n"
    b"// In a comment they are fine: \xff\xfe.\n"
    b"var caf\xc3\xa9 = 1;\n"
    b"print 1 \xff 2;\n"
    b"\x80\x81\x82\n"
    b'print "still \xff fine";\n'
    b"var x = 3\xe2\x82\xac;\n"
    b"\xed\xa0\x80\n",
)

# A NUL byte ends the source, as in clox: what follows (errors included)
# is never seen.
write(
    "nul_byte_mid_file.lox",
    b"// A NUL byte ends the source, as in clox; nothing after it is read.\n"
    b"// Pure Lox: same output as clox.\n"
    b'print "before"; // expect: before\n'
    b"\x00"
    b'print "after";\n'
    b"var 1 = ;\n"
    b"\xff\xff unterminated \"string\n",
)
write(
    "nul_byte_mid_expression.lox",
    b"// A NUL byte in the middle of an expression: the source ends there, so\n"
    b"// the error is at end. Pure Lox: same output as clox.\n"
    b"print 1 +\x00 2;\n"
    b"// [line 3] Error at end: Expect expression.\n",
)

# A lone UTF-16 surrogate encoded as CESU-8 (ED A0 80), a low one
# (ED B0 80), a surrogate pair as CESU-8 (ED A0 BD ED B8 80, U+1F600) and
# an overlong NUL (C0 80): all just bytes inside a literal.
write(
    "cesu8_surrogate.lox",
    b"// CESU-8 / surrogate bytes inside string literals are kept raw.\n"
    b"// Pure Lox: same output as clox.\n"
    b'var hi = "\xed\xa0\x80";\n'
    b'var lo = "\xed\xb0\x80";\n'
    b'print "[" + hi + "]"; // expect: [\xed\xa0\x80]\n'
    b'print "[" + lo + "]"; // expect: [\xed\xb0\x80]\n'
    b"// CESU-8 for U+1F600, then its UTF-8 form.\n"
    b'print "\xed\xa0\xbd\xed\xb8\x80"; // expect: \xed\xa0\xbd\xed\xb8\x80\n'
    b'print "\xed\xa0\xbd\xed\xb8\x80" == "\xf0\x9f\x98\x80"; // expect: false\n'
    b'print hi + lo == "\xed\xa0\x80\xed\xb0\x80"; // expect: true\n'
    b'print "overlong NUL: [\xc0\x80]"; // expect: overlong NUL: [\xc0\x80]\n',
)

# Line endings: CRLF, lone CR and LF mixed. clox counts lines at LF only;
# CR is whitespace, and a CR inside a string literal is kept.
write(
    "line_endings_mixed.lox",
    b"// CRLF, lone CR and LF mixed: lines are counted at LF only, CR is\r\n"
    b"// whitespace, a CR inside a string is kept. Pure Lox: same as clox.\r\n"
    b'print "crlf";\r\n'
    b'print "cr"; print "still line 4";\r'
    b'print "line 4 too";\n'
    b'print "multi\r\nline\rstring";\r\n'
    b"var a = 1;\r\r\r\n"
    b"\r\n"
    b'print a + "oops";\r\n',
)
write(
    "lone_cr_only.lox",
    b'print "one";\r'
    b"fun f() {\r"
    b"  return nil + 1;\r"
    b"}\r"
    b"f();\r"
    b"// Only CR line endings: the whole file is line 1, and this comment\r"
    b"// (a comment ends at LF) runs to the end of the file, so it must come\r"
    b"// last. Pure Lox: same output as clox.\r",
)

# --- many errors -----------------------------------------------------------

# 300 compile errors, one per line, of varied kinds; panic mode recovers at
# each `;` or statement keyword, so every one is reported.
kinds = [
    "var 1 = 2;",
    "print;",
    "fun 3() {}",
    "var x = 1 +* 2;",
    "a.b.c = ;",
    'print "ok" "no";',
    "this.y;",
    "return 1;",
    "super.x;",
    "class {}",
]
lines = ["// 300 compile errors, one per line (panic-mode recovery at each ';').",
         "// Pure Lox: same output as clox (it has no cap on reported errors)."]
for i in range(300):
    lines.append(kinds[i % len(kinds)])
write("compile_errors_300.lox", "\n".join(lines) + "\n")

# --- nesting -----------------------------------------------------------

# A 50,000-deep parenthesised expression. clox (8 MiB stack) prints 1: it
# handles up to ~130,000 levels and segfaults past that. loam stops at
# lang::MAX_NESTING (50,000) with `Too much nesting.`: a difference from
# clox for 50,000..~130,000 levels (reported).
n = 50000
write(
    "nesting_expr_50000.lox",
    "// 50,000 nested parentheses. clox: prints 1 (it segfaults past ~130,000).\n"
    "// loam: runs too (expressions nest up to lang::MAX_EXPR_NESTING, 200,000).\n"
    "print " + "(" * n + "1" + ")" * n + ";\n",
)
# 140,000 unary minus signs: clox segfaults (C stack); loam: a clean error.
n = 140000
write(
    "nesting_negate_140000.lox",
    "// 140,000 unary minus signs. clox: segfaults (C stack, past ~131,000).\n"
    "// loam: runs it and prints 1 (expression nesting limit is 200,000).\n"
    "print " + "-" * n + "1;\n",
)
# Nested blocks: clox segfaults past ~47,000 levels.
for n, note in [
    (40000, "clox: prints 1 (it segfaults past ~47,000). loam: the same."),
    (60000, "clox: segfaults (past ~47,000). loam: prints 1 (statements nest up to lang::MAX_NESTING, 1,000,000)."),
]:
    write(
        "nesting_blocks_%d.lox" % n,
        "// %s nested blocks. %s\n" % (format(n, ","), note)
        + "{" * n
        + "print 1;"
        + "}" * n
        + "\n",
    )
# 60,000 nested `if`s: clox survives them (about 50 bytes of C stack a
# level) and reports its own jump limit, so loam must too (LANGUAGE.md 1
# allows a loam-only error only where clox crashes).
n = 60000
write(
    "nesting_if_60000.lox",
    "// 60,000 nested ifs. clox: `Too much code to jump over.`, exit 65. loam: the same.\n"
    + "if(nil)" * n
    + "print 1;\n",
)
# Nested list literals (LANGUAGE.md 3), past the limit and below it.
n = 60000
write(
    "nesting_list_literal_60000.lox",
    "// 60,000 nested list literals: compiles and prints (expression nesting limit is 200,000).\n"
    "print " + "[" * n + "]" * n + ";\n",
)
n = 10000
write(
    "nesting_list_literal_10000.lox",
    "// 10,000 nested list literals compile and run.\n"
    "var xs = " + "[" * n + "1" + "]" * n + ";\n"
    "var depth = 0;\n"
    "while (xs != 1) { xs = xs[0]; depth = depth + 1; }\n"
    "print depth; // expect: 10000\n",
)

# 1,000 functions nested in one another, the innermost capturing the
# outermost's local: the upvalue is threaded through all 1,000. clox
# segfaults compiling it (each nested Compiler is ~5 KB of C stack; it
# copes up to ~700); loam compiles and runs it.
n = 1000
src = [
    "// 1,000 nested functions; the innermost reads the outermost's local",
    "// through 1,000 upvalues. clox: segfaults while compiling (copes up to",
    "// ~700 levels). loam: prints `deep`.",
    "fun f0() {",
    '  var x = "deep";',
]
src += ["fun f%d() {" % i for i in range(1, n)]
src.append("return x;")
src += ["} return f%d;" % i for i in range(n - 1, 0, -1)]
src += [
    "}",
    "var f = f0;",
    "for (var i = 0; i < %d; i = i + 1) f = f();" % n,
    "print f; // expect: deep",
]
write("nesting_functions_1000.lox", "\n".join(src) + "\n")

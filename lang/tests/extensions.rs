//! loam's language extensions: anonymous functions, list literals,
//! indexing and `spawn` — their bytecode and their compile errors.

mod common;

use common::on_compile_stack;
use lang::{
    compile, disassemble, Constant, OpCode, Operands, Proto, StackEffect, MAX_EXPR_NESTING,
    MAX_NESTING,
};

fn ok(source: &str) -> Proto {
    match compile(source.as_bytes()) {
        Ok(p) => p,
        Err(e) => panic!("unexpected errors for {source:?}: {e:?}"),
    }
}

fn listing(source: &str) -> String {
    disassemble(&ok(source))
}

fn errors(source: &str) -> Vec<String> {
    compile(source.as_bytes())
        .err()
        .unwrap_or_default()
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn assert_listing(source: &str, expected: &str) {
    let got = listing(source);
    assert_eq!(got, expected, "listing of {source:?}:\n{got}");
}

/// Asserts loam's errors and, when clox is available, that clox (for
/// which the program is also an error) prints exactly the same.
fn assert_clox_errors(source: &str, expected: &[&str]) {
    assert_eq!(errors(source), expected, "errors of {source:?}");
    let Some(clox) = common::clox() else {
        return;
    };
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("loam-lang-ext-{}-{n}.lox", std::process::id()));
    std::fs::write(&path, source).expect("write temp file");
    let (stderr, code) = common::run_clox(&clox, &path);
    let _ = std::fs::remove_file(&path);
    assert_eq!(code, 65, "clox exit code for {source:?}");
    let stderr: Vec<String> = stderr
        .iter()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    assert_eq!(stderr, expected, "clox's errors for {source:?}");
}

/// Opcodes of the top-level chunk, decoded instruction by instruction.
fn ops(proto: &Proto) -> Vec<(OpCode, Vec<u8>)> {
    let code = &proto.chunk.code;
    let mut out = Vec::new();
    let mut at = 0;
    while at < code.len() {
        let op = OpCode::from_u8(code[at]).expect("valid opcode");
        let len = match op.operands().fixed_len() {
            Some(n) => n,
            None => {
                let Some(Constant::Function(f)) =
                    proto.chunk.constants.get(usize::from(code[at + 1]))
                else {
                    panic!("closure without function constant");
                };
                1 + 2 * f.upvalue_count
            }
        };
        out.push((op, code[at + 1..at + 1 + len].to_vec()));
        at += 1 + len;
    }
    out
}

// ----- opcode table ----------------------------------------------------------

#[test]
fn extension_opcodes_follow_clox_numbers() {
    let rows = [
        (
            OpCode::List,
            37,
            "OP_LIST",
            Operands::Byte,
            StackEffect::PopsOperand(1),
        ),
        (
            OpCode::ListAppend,
            38,
            "OP_LIST_APPEND",
            Operands::Byte,
            StackEffect::PopsOperand(0),
        ),
        (
            OpCode::GetIndex,
            39,
            "OP_GET_INDEX",
            Operands::None,
            StackEffect::Fixed(-1),
        ),
        (
            OpCode::SetIndex,
            40,
            "OP_SET_INDEX",
            Operands::None,
            StackEffect::Fixed(-2),
        ),
        (
            OpCode::Spawn,
            41,
            "OP_SPAWN",
            Operands::Byte,
            StackEffect::Call,
        ),
        (
            OpCode::SpawnInvoke,
            42,
            "OP_SPAWN_INVOKE",
            Operands::Invoke,
            StackEffect::Call,
        ),
        (
            OpCode::SpawnSuperInvoke,
            43,
            "OP_SPAWN_SUPER_INVOKE",
            Operands::Invoke,
            StackEffect::Call,
        ),
    ];
    for (op, byte, name, operands, effect) in rows {
        assert_eq!(op as u8, byte);
        assert_eq!(OpCode::from_u8(byte), Some(op));
        assert_eq!(op.name(), name);
        assert_eq!(op.operands(), operands);
        assert_eq!(op.stack_effect(), effect);
    }
    assert_eq!(OpCode::Method as u8, 36);
    assert_eq!(OpCode::ALL.len(), 44);
    assert_eq!(OpCode::from_u8(44), None);
}

#[test]
fn disassembler_shows_extension_operands() {
    let mut proto = Proto::default();
    proto.chunk.constants.push(Constant::String(b"m".to_vec()));
    proto.chunk.code = vec![37, 3, 38, 255, 39, 40, 41, 2, 42, 0, 1, 43, 0, 4];
    proto.chunk.lines = vec![1; proto.chunk.code.len()];
    assert_eq!(
        disassemble(&proto),
        "== <script> ==\n\
         0000    1 OP_LIST             3\n\
         0002    | OP_LIST_APPEND    255\n\
         0004    | OP_GET_INDEX\n\
         0005    | OP_SET_INDEX\n\
         0006    | OP_SPAWN            2\n\
         0008    | OP_SPAWN_INVOKE  (1 args)    0 'm'\n\
         0011    | OP_SPAWN_SUPER_INVOKE (4 args)    0 'm'\n"
    );
}

// ----- anonymous functions ---------------------------------------------------

#[test]
fn anonymous_function_expression() {
    assert_listing(
        "var add = fun (a, b) { return a + b; };\nprint add(1, 2);",
        "== anonymous ==\n\
         0000    1 OP_GET_LOCAL        1\n\
         0002    | OP_GET_LOCAL        2\n\
         0004    | OP_ADD\n\
         0005    | OP_RETURN\n\
         0006    | OP_NIL\n\
         0007    | OP_RETURN\n\
         == <script> ==\n\
         0000    1 OP_CLOSURE          1 <fn anonymous>\n\
         0002    | OP_DEFINE_GLOBAL    0 'add'\n\
         0004    2 OP_GET_GLOBAL       2 'add'\n\
         0006    | OP_CONSTANT         3 '1'\n\
         0008    | OP_CONSTANT         4 '2'\n\
         0010    | OP_CALL             2\n\
         0012    | OP_PRINT\n\
         0013    | OP_NIL\n\
         0014    | OP_RETURN\n",
    );
    let p = ok("print fun (a, b, c) {};");
    let Some(Constant::Function(f)) = p.chunk.constants.first() else {
        panic!("no function constant");
    };
    assert_eq!(f.name.as_deref(), Some(&b"anonymous"[..]));
    assert_eq!(f.arity, 3);
}

#[test]
fn anonymous_function_statement_and_call() {
    assert_listing(
        "fun (x) { print x; }(1);",
        "== anonymous ==\n\
         0000    1 OP_GET_LOCAL        1\n\
         0002    | OP_PRINT\n\
         0003    | OP_NIL\n\
         0004    | OP_RETURN\n\
         == <script> ==\n\
         0000    1 OP_CLOSURE          0 <fn anonymous>\n\
         0002    | OP_CONSTANT         1 '1'\n\
         0004    | OP_CALL             1\n\
         0006    | OP_POP\n\
         0007    | OP_NIL\n\
         0008    | OP_RETURN\n",
    );
    // A named declaration is unchanged.
    let p = ok("fun f() {}");
    assert_eq!(
        ops(&p),
        vec![
            (OpCode::Closure, vec![1]),
            (OpCode::DefineGlobal, vec![0]),
            (OpCode::Nil, vec![]),
            (OpCode::Return, vec![]),
        ]
    );
}

#[test]
fn anonymous_function_captures_upvalues() {
    assert_listing(
        "fun outer() { var x = 1; return fun () { x = x + 1; return x; }; }",
        "== anonymous ==\n\
         0000    1 OP_GET_UPVALUE      0\n\
         0002    | OP_CONSTANT         0 '1'\n\
         0004    | OP_ADD\n\
         0005    | OP_SET_UPVALUE      0\n\
         0007    | OP_POP\n\
         0008    | OP_GET_UPVALUE      0\n\
         0010    | OP_RETURN\n\
         0011    | OP_NIL\n\
         0012    | OP_RETURN\n\
         == outer ==\n\
         0000    1 OP_CONSTANT         0 '1'\n\
         0002    | OP_CLOSURE          1 <fn anonymous>\n\
         0004      |                     local 1\n\
         0006    | OP_RETURN\n\
         0007    | OP_NIL\n\
         0008    | OP_RETURN\n\
         == <script> ==\n\
         0000    1 OP_CLOSURE          1 <fn outer>\n\
         0002    | OP_DEFINE_GLOBAL    0 'outer'\n\
         0004    | OP_NIL\n\
         0005    | OP_RETURN\n",
    );
}

#[test]
fn anonymous_function_as_argument_and_in_method() {
    let p = ok("fun apply(f, x) { return f(x); }\n\
                print apply(fun (x) { return x * 2; }, 21);\n\
                class A { m() { return fun () { return this; }; } }");
    assert!(disassemble(&p).contains("OP_CLOSURE          3 <fn anonymous>"));
    // `this` inside an anonymous function in a method is an upvalue.
    assert!(disassemble(&p).contains("OP_GET_UPVALUE      0"));
}

#[test]
fn fun_where_only_a_statement_is_allowed_keeps_clox_error() {
    let expect = ["[line 1] Error at 'fun': Expect expression."];
    assert_clox_errors("if (true) fun f() {}\n", &expect);
    assert_clox_errors("while (x) fun f() {}\n", &expect);
    assert_clox_errors("for (;;) fun f() {}\n", &expect);
    assert_clox_errors("if (true) print 1; else fun f() {}\n", &expect);
    assert_clox_errors("print fun;\n", &expect);
    assert_clox_errors("var x = fun f() {};\n", &expect);
    assert_clox_errors("print fun + 1;\n", &expect);
    assert_clox_errors("print fun {};\n", &expect);
    // Only `fun (` is new: other `fun` declarations keep their errors.
    assert_clox_errors(
        "fun {}\n",
        &["[line 1] Error at '{': Expect function name."],
    );
    // ... and where a statement is allowed, `fun (` is now an expression.
    assert!(compile(b"if (true) fun () {}; while (false) fun (x) { print x; }(1);").is_ok());
}

#[test]
fn anonymous_function_errors_match_named_ones() {
    // Each anonymous function reports what clox reports for the same
    // function with a name (`var f = fun` vs `fun f`), recovery included.
    let params: Vec<String> = (0..257).map(|i| format!("p{i}")).collect();
    let too_many = params.join(", ");
    let cases = [
        (
            "(a b) {}".to_string(),
            "Error at 'b': Expect ')' after parameters.",
        ),
        (
            "(a) print a;".to_string(),
            "Error at 'print': Expect '{' before function body.",
        ),
        ("(1) {}".to_string(), "Error at '1': Expect parameter name."),
        (
            "(a, a) {}".to_string(),
            "Error at 'a': Already a variable with this name in this scope.",
        ),
        (
            format!("({too_many}) {{}}"),
            "Error at 'p255': Can't have more than 255 parameters.",
        ),
        (
            "() { print; }".to_string(),
            "Error at ';': Expect expression.",
        ),
    ];
    for (rest, first) in &cases {
        let anonymous = format!("var f = fun {rest};\n");
        let named = format!("fun f{rest}\n");
        let expected = errors(&named);
        assert_eq!(
            expected.first().map(String::as_str),
            Some(format!("[line 1] {first}").as_str())
        );
        let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
        assert_clox_errors(&named, &expected);
        // Recovery may differ after the first error only by the extra
        // `;` the anonymous form needs.
        assert_eq!(errors(&anonymous).first(), Some(&expected[0].to_string()));
    }
    let src = format!("var f = fun ({}) {{}};", params[..255].join(", "));
    assert!(compile(src.as_bytes()).is_ok());
    assert_eq!(
        errors("fun (x) { print x; }(1)"),
        ["[line 1] Error at end: Expect ';' after expression."]
    );
    assert_eq!(
        errors("var f = fun () { return; }; return 1;"),
        ["[line 1] Error at 'return': Can't return from top-level code."]
    );
}

// ----- list literals ---------------------------------------------------------

#[test]
fn list_literal() {
    assert_listing(
        "print [1, \"two\", nil];\nprint [];",
        "== <script> ==\n\
         0000    1 OP_CONSTANT         0 '1'\n\
         0002    | OP_CONSTANT         1 'two'\n\
         0004    | OP_NIL\n\
         0005    | OP_LIST             3\n\
         0007    | OP_PRINT\n\
         0008    2 OP_LIST             0\n\
         0010    | OP_PRINT\n\
         0011    | OP_NIL\n\
         0012    | OP_RETURN\n",
    );
}

#[test]
fn list_trailing_comma() {
    assert_eq!(ok("print [1, 2,];"), ok("print [1, 2];"));
    assert_eq!(ok("print [[1,],];"), ok("print [[1]];"));
    assert_eq!(
        errors("print [,];"),
        ["[line 1] Error at ',': Expect expression."]
    );
    assert_eq!(
        errors("print [1,,];"),
        ["[line 1] Error at ',': Expect expression."]
    );
}

#[test]
fn list_errors() {
    assert_eq!(
        errors("print [1, 2;"),
        ["[line 1] Error at ';': Expect ']' after list elements."]
    );
    assert_eq!(
        errors("print [1 2];\nprint ;"),
        [
            "[line 1] Error at '2': Expect ']' after list elements.",
            "[line 2] Error at ';': Expect expression."
        ]
    );
    assert_eq!(
        errors("print [1,"),
        ["[line 1] Error at end: Expect expression."]
    );
    assert_eq!(
        errors("print ]"),
        ["[line 1] Error at ']': Expect expression."]
    );
    assert_eq!(
        errors("[1] = 2;"),
        ["[line 1] Error at '=': Invalid assignment target."]
    );
}

fn list_runs(n: usize) -> Vec<(OpCode, Vec<u8>)> {
    // Locals, so the constant table does not overflow.
    let elements = vec!["x"; n].join(", ");
    let p = ok(&format!("{{ var x; print [{elements}]; }}"));
    ops(&p)
        .into_iter()
        .filter(|(op, _)| matches!(op, OpCode::List | OpCode::ListAppend))
        .collect()
}

#[test]
fn long_list_literals_are_built_in_runs() {
    assert_eq!(
        list_runs(600),
        vec![
            (OpCode::List, vec![255]),
            (OpCode::ListAppend, vec![255]),
            (OpCode::ListAppend, vec![90]),
        ]
    );
    assert_eq!(list_runs(254), vec![(OpCode::List, vec![254])]);
    assert_eq!(list_runs(255), vec![(OpCode::List, vec![255])]);
    assert_eq!(
        list_runs(256),
        vec![(OpCode::List, vec![255]), (OpCode::ListAppend, vec![1])]
    );
    assert_eq!(
        list_runs(510),
        vec![(OpCode::List, vec![255]), (OpCode::ListAppend, vec![255])]
    );

    // The exact instruction stream: each run directly follows its elements.
    let p = ok(&format!(
        "{{ var x; print [{}]; }}",
        vec!["x"; 600].join(", ")
    ));
    let all = ops(&p);
    let get = (OpCode::GetLocal, vec![1]);
    let mut expected = vec![(OpCode::Nil, vec![])];
    expected.extend(std::iter::repeat_n(get.clone(), 255));
    expected.push((OpCode::List, vec![255]));
    expected.extend(std::iter::repeat_n(get.clone(), 255));
    expected.push((OpCode::ListAppend, vec![255]));
    expected.extend(std::iter::repeat_n(get, 90));
    expected.push((OpCode::ListAppend, vec![90]));
    expected.extend([
        (OpCode::Print, vec![]),
        (OpCode::Pop, vec![]),
        (OpCode::Nil, vec![]),
        (OpCode::Return, vec![]),
    ]);
    assert_eq!(all, expected);

    // Trailing comma after a full run adds no empty append.
    assert_eq!(
        ok(&format!(
            "{{ var x; print [{},]; }}",
            vec!["x"; 510].join(", ")
        )),
        ok(&format!(
            "{{ var x; print [{}]; }}",
            vec!["x"; 510].join(", ")
        ))
    );
}

// ----- indexing --------------------------------------------------------------

#[test]
fn index_get_and_set() {
    assert_listing(
        "var a; print a[1];\na[0] = 2;\n{ var b; b[a] = b[1]; }",
        "== <script> ==\n\
         0000    1 OP_NIL\n\
         0001    | OP_DEFINE_GLOBAL    0 'a'\n\
         0003    | OP_GET_GLOBAL       1 'a'\n\
         0005    | OP_CONSTANT         2 '1'\n\
         0007    | OP_GET_INDEX\n\
         0008    | OP_PRINT\n\
         0009    2 OP_GET_GLOBAL       3 'a'\n\
         0011    | OP_CONSTANT         4 '0'\n\
         0013    | OP_CONSTANT         5 '2'\n\
         0015    | OP_SET_INDEX\n\
         0016    | OP_POP\n\
         0017    3 OP_NIL\n\
         0018    | OP_GET_LOCAL        1\n\
         0020    | OP_GET_GLOBAL       6 'a'\n\
         0022    | OP_GET_LOCAL        1\n\
         0024    | OP_CONSTANT         7 '1'\n\
         0026    | OP_GET_INDEX\n\
         0027    | OP_SET_INDEX\n\
         0028    | OP_POP\n\
         0029    | OP_POP\n\
         0030    | OP_NIL\n\
         0031    | OP_RETURN\n",
    );
}

#[test]
fn index_chains() {
    use OpCode as O;
    let names = |src: &str| -> Vec<OpCode> { ops(&ok(src)).into_iter().map(|(o, _)| o).collect() };
    assert_eq!(
        names("a[1][2];"),
        [
            O::GetGlobal,
            O::Constant,
            O::GetIndex,
            O::Constant,
            O::GetIndex,
            O::Pop,
            O::Nil,
            O::Return
        ]
    );
    assert_eq!(
        names("a[1][2] = 3;"),
        [
            O::GetGlobal,
            O::Constant,
            O::GetIndex,
            O::Constant,
            O::Constant,
            O::SetIndex,
            O::Pop,
            O::Nil,
            O::Return
        ]
    );
    assert_eq!(
        names("f()[0].x;"),
        [
            O::GetGlobal,
            O::Call,
            O::Constant,
            O::GetIndex,
            O::GetProperty,
            O::Pop,
            O::Nil,
            O::Return
        ]
    );
    assert_eq!(
        names("obj.list[0](3);"),
        [
            O::GetGlobal,
            O::GetProperty,
            O::Constant,
            O::GetIndex,
            O::Constant,
            O::Call,
            O::Pop,
            O::Nil,
            O::Return
        ]
    );
    assert_eq!(
        names("obj.list[0] = [1][0];"),
        [
            O::GetGlobal,
            O::GetProperty,
            O::Constant,
            O::Constant,
            O::List,
            O::Constant,
            O::GetIndex,
            O::SetIndex,
            O::Pop,
            O::Nil,
            O::Return
        ]
    );
    assert_eq!(
        names("a[0].b = 1;"),
        [
            O::GetGlobal,
            O::Constant,
            O::GetIndex,
            O::Constant,
            O::SetProperty,
            O::Pop,
            O::Nil,
            O::Return
        ]
    );
    // Assignment is right-associative through index targets.
    assert_eq!(
        names("a[0] = b[1] = 2;"),
        [
            O::GetGlobal,
            O::Constant,
            O::GetGlobal,
            O::Constant,
            O::Constant,
            O::SetIndex,
            O::SetIndex,
            O::Pop,
            O::Nil,
            O::Return
        ]
    );
}

#[test]
fn index_errors() {
    assert_eq!(
        errors("print a[1;"),
        ["[line 1] Error at ';': Expect ']' after index."]
    );
    assert_eq!(
        errors("print a[];"),
        ["[line 1] Error at ']': Expect expression."]
    );
    assert_eq!(
        errors("a[i] + 1 = 2;"),
        ["[line 1] Error at '=': Invalid assignment target."]
    );
    assert_eq!(
        errors("-a[i] = 2;"),
        ["[line 1] Error at '=': Invalid assignment target."]
    );
    assert_eq!(
        errors("var x = 1 + a[0] = 2;"),
        ["[line 1] Error at '=': Invalid assignment target."]
    );
}

// ----- spawn -----------------------------------------------------------------

#[test]
fn spawn_rewrites_calls() {
    assert_listing(
        "var co = spawn f(1, 2);\nspawn xs.push(3);",
        "== <script> ==\n\
         0000    1 OP_GET_GLOBAL       1 'f'\n\
         0002    | OP_CONSTANT         2 '1'\n\
         0004    | OP_CONSTANT         3 '2'\n\
         0006    | OP_SPAWN            2\n\
         0008    | OP_DEFINE_GLOBAL    0 'co'\n\
         0010    2 OP_GET_GLOBAL       4 'xs'\n\
         0012    | OP_CONSTANT         6 '3'\n\
         0014    | OP_SPAWN_INVOKE  (1 args)    5 'push'\n\
         0017    | OP_POP\n\
         0018    | OP_NIL\n\
         0019    | OP_RETURN\n",
    );
    assert_listing(
        "class A { m(x) {} }\nclass B < A { m(x) { return spawn super.m(x); } }",
        "== m ==\n\
         0000    1 OP_NIL\n\
         0001    | OP_RETURN\n\
         == m ==\n\
         0000    2 OP_GET_LOCAL        0\n\
         0002    | OP_GET_LOCAL        1\n\
         0004    | OP_GET_UPVALUE      0\n\
         0006    | OP_SPAWN_SUPER_INVOKE (1 args)    0 'm'\n\
         0009    | OP_RETURN\n\
         0010    | OP_NIL\n\
         0011    | OP_RETURN\n\
         == <script> ==\n\
         0000    1 OP_CLASS            0 'A'\n\
         0002    | OP_DEFINE_GLOBAL    0 'A'\n\
         0004    | OP_GET_GLOBAL       1 'A'\n\
         0006    | OP_CLOSURE          3 <fn m>\n\
         0008    | OP_METHOD           2 'm'\n\
         0010    | OP_POP\n\
         0011    2 OP_CLASS            4 'B'\n\
         0013    | OP_DEFINE_GLOBAL    4 'B'\n\
         0015    | OP_GET_GLOBAL       5 'A'\n\
         0017    | OP_GET_GLOBAL       6 'B'\n\
         0019    | OP_INHERIT\n\
         0020    | OP_GET_GLOBAL       7 'B'\n\
         0022    | OP_CLOSURE          9 <fn m>\n\
         0024      |                     local 1\n\
         0026    | OP_METHOD           8 'm'\n\
         0028    | OP_POP\n\
         0029    | OP_CLOSE_UPVALUE\n\
         0030    | OP_NIL\n\
         0031    | OP_RETURN\n",
    );
}

#[test]
fn spawn_operand_forms() {
    use OpCode as O;
    let names = |src: &str| -> Vec<OpCode> { ops(&ok(src)).into_iter().map(|(o, _)| o).collect() };
    // Only the outermost call is spawned; arguments are ordinary calls.
    assert_eq!(
        names("spawn f(g());"),
        [
            O::GetGlobal,
            O::GetGlobal,
            O::Call,
            O::Spawn,
            O::Pop,
            O::Nil,
            O::Return
        ]
    );
    assert_eq!(
        names("spawn f()();"),
        [O::GetGlobal, O::Call, O::Spawn, O::Pop, O::Nil, O::Return]
    );
    assert_eq!(
        names("spawn a[0].m();"),
        [
            O::GetGlobal,
            O::Constant,
            O::GetIndex,
            O::SpawnInvoke,
            O::Pop,
            O::Nil,
            O::Return
        ]
    );
    assert_eq!(
        names("spawn (f)();"),
        [O::GetGlobal, O::Spawn, O::Pop, O::Nil, O::Return]
    );
    // An anonymous function called at once.
    let p = ok("var co = spawn fun (x) { print x; }(1);");
    assert_eq!(
        ops(&p).iter().map(|(o, _)| *o).collect::<Vec<_>>(),
        [
            O::Closure,
            O::Constant,
            O::Spawn,
            O::DefineGlobal,
            O::Nil,
            O::Return
        ]
    );
    // `spawn` binds tighter than binary operators.
    assert_eq!(
        names("print spawn f() == nil;"),
        [
            O::GetGlobal,
            O::Spawn,
            O::Nil,
            O::Equal,
            O::Print,
            O::Nil,
            O::Return
        ]
    );
    // Arguments of a spawned call keep the 255 limit and the argc byte.
    let args = vec!["1"; 255].join(", ");
    let p = ok(&format!("spawn f({args});"));
    assert!(ops(&p).contains(&(O::Spawn, vec![255])));
}

#[test]
fn spawn_requires_a_call() {
    let cases: &[(&str, &str)] = &[
        (
            "spawn x;",
            "[line 1] Error at 'x': Expect call after 'spawn'.",
        ),
        (
            "spawn f;",
            "[line 1] Error at 'f': Expect call after 'spawn'.",
        ),
        (
            "spawn 1;",
            "[line 1] Error at '1': Expect call after 'spawn'.",
        ),
        (
            "spawn f().x;",
            "[line 1] Error at 'x': Expect call after 'spawn'.",
        ),
        (
            "spawn f()[0];",
            "[line 1] Error at ']': Expect call after 'spawn'.",
        ),
        (
            "spawn (f());",
            "[line 1] Error at ')': Expect call after 'spawn'.",
        ),
        (
            "spawn -f();",
            "[line 1] Error at ')': Expect call after 'spawn'.",
        ),
        (
            "spawn spawn f();",
            "[line 1] Error at ')': Expect call after 'spawn'.",
        ),
        (
            "spawn fun () {};",
            "[line 1] Error at '}': Expect call after 'spawn'.",
        ),
        (
            "spawn [f()];",
            "[line 1] Error at ']': Expect call after 'spawn'.",
        ),
        ("print spawn;", "[line 1] Error at ';': Expect expression."),
        (
            "spawn a[0] = 1;",
            "[line 1] Error at ']': Expect call after 'spawn'.",
        ),
        (
            "spawn f() = 1;",
            "[line 1] Error at '=': Invalid assignment target.",
        ),
        (
            "spawn a.b() = 1;",
            "[line 1] Error at '=': Invalid assignment target.",
        ),
    ];
    for (src, expected) in cases {
        assert_eq!(errors(src), [*expected], "errors of {src:?}");
    }
}

#[test]
fn spawn_does_not_mistake_operand_bytes_for_calls() {
    let call = OpCode::Call as u8;
    let invoke = OpCode::Invoke as u8;
    // `GetGlobal 29 'a'; GetProperty 30 'b'`: the byte three from the end
    // equals OP_INVOKE's number.
    let mut src: String = (0..usize::from(invoke)).map(|i| format!("{i};")).collect();
    src.push_str("spawn a.b;");
    let p = ok(&src.replace("spawn ", ""));
    let code = &p.chunk.code;
    assert_eq!(
        code[code.len() - 7..code.len() - 4],
        [OpCode::GetGlobal as u8, invoke, OpCode::GetProperty as u8]
    );
    assert_eq!(
        errors(&src),
        ["[line 1] Error at 'b': Expect call after 'spawn'."]
    );
    // `GetLocal 28; Negate`: the byte two from the end equals OP_CALL's
    // number.
    let mut src = String::from("{");
    for i in 0..usize::from(call) {
        src.push_str(&format!("var v{i};"));
    }
    src.push_str("spawn -v27; }");
    let p = ok(&src.replace("spawn ", ""));
    assert!(ops(&p).contains(&(OpCode::GetLocal, vec![call])));
    assert_eq!(
        errors(&src),
        ["[line 1] Error at 'v27': Expect call after 'spawn'."]
    );
    // An argument count equal to OP_CALL's number, then a property.
    let args = vec!["1"; usize::from(call)].join(", ");
    assert_eq!(
        errors(&format!("{{ var f; spawn f({args}).x; }}")),
        ["[line 1] Error at 'x': Expect call after 'spawn'."]
    );
    assert!(compile(format!("{{ var f; spawn f({args}); }}").as_bytes()).is_ok());
}

#[test]
fn spawn_is_a_keyword() {
    assert_eq!(
        errors("var spawn = 1;"),
        ["[line 1] Error at 'spawn': Expect variable name."]
    );
    // Where a name is expected, `spawn` fails like any other keyword that
    // cannot start a name: like `nil` in clox, recovery included.
    for src in [
        "var spawn = 1;\nprint 1;",
        "fun spawn() {}",
        "fun f(spawn) {}",
        "fun f(a, spawn) { print a; }",
        "class spawn {}",
        "class A < spawn {}",
        "class A { spawn() {} }",
        "print a.spawn;",
        "{ var spawn; }",
    ] {
        let got = errors(src);
        assert!(
            got.first().is_some_and(|e| e.contains("Error at 'spawn'")),
            "{src:?}: {got:?}"
        );
        let as_nil = src.replace("spawn", "nil");
        let expected: Vec<String> = errors(&as_nil)
            .iter()
            .map(|e| e.replace("'nil'", "'spawn'"))
            .collect();
        assert_eq!(got, expected, "{src:?}");
        // ... and loam's errors for the `nil` version are clox's.
        let nil_errors = errors(&as_nil);
        let nil_errors: Vec<&str> = nil_errors.iter().map(String::as_str).collect();
        assert_clox_errors(&as_nil, &nil_errors);
    }
    // Still an identifier inside a longer name.
    assert!(compile(b"var spawned = 1; var spawn_ = 2; var Spawn = 3;").is_ok());
}

// ----- nesting ---------------------------------------------------------------

fn nesting_errors(source: String) -> Vec<lang::CompileError> {
    on_compile_stack(move || compile(source.as_bytes()).err().unwrap_or_default())
}

fn assert_nesting_error(source: String, lexeme: &str) {
    let errors = nesting_errors(source);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].message(), "Too much nesting.");
    assert_eq!(
        errors[0].at,
        lang::ErrorAt::Lexeme(lexeme.as_bytes().to_vec())
    );
}

fn nested_lists(n: usize) -> String {
    format!("print {}1{};", "[".repeat(n), "]".repeat(n))
}

fn nested_indexes(n: usize) -> String {
    format!("{{ var a; print {}0{}; }}", "a[".repeat(n), "]".repeat(n))
}

fn nested_fun_statements(n: usize) -> String {
    format!("{}{}", "fun () { ".repeat(n), "}; ".repeat(n))
}

fn nested_fun_expressions(n: usize) -> String {
    format!(
        "var f = {}nil{};",
        "fun () { return ".repeat(n),
        "; }".repeat(n)
    )
}

fn nested_spawns(n: usize) -> String {
    format!("{{ var f; {}{}; }}", "spawn f(".repeat(n), ")".repeat(n))
}

#[test]
fn extension_nesting_just_below_the_limit_compiles() {
    let n = MAX_NESTING - 2;
    let e = MAX_EXPR_NESTING - 2;
    for src in [
        nested_lists(e),
        nested_indexes(e),
        nested_spawns(e / 2),
        // Each level is an expression level (the `fun`) and two statement
        // levels (the statement and the function body): whichever limit
        // binds first.
        nested_fun_statements(e.min(n / 2) - 1),
        nested_fun_expressions(e.min(n / 2) - 1),
    ] {
        let errors = nesting_errors(src);
        assert!(errors.is_empty(), "{errors:?}");
    }
}

#[test]
fn extension_nesting_above_the_limit_is_an_error() {
    let n = MAX_NESTING + 10;
    let e = MAX_EXPR_NESTING + 10;
    assert_nesting_error(nested_lists(e), "[");
    assert_nesting_error(nested_indexes(e), "a");
    assert_nesting_error(nested_spawns(e), "spawn");
    assert_nesting_error(nested_fun_statements(n), "(");
    assert_nesting_error(nested_fun_expressions(e), "fun");
}

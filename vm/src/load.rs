//! Loading a compiled prototype into heap objects: verify it, quicken a
//! copy of its code (unless `--no-quicken`), then allocate the code, line
//! table, constants (strings interned, nested prototypes loaded in turn),
//! the global slots of the names its global instructions read, and the
//! `Function` object.

use lang::{Constant, OpCode, Proto};

use crate::error::RuntimeError;
use crate::mutator::Mutator;
use crate::object::{BytesObj, FunctionObj, FunctionParts, Gc, StringObj, ValueArrayObj};
use crate::value::Value;

/// Loads `proto` (and, recursively, the prototypes among its constants).
/// Everything made so far stays in the temporary roots until the function
/// object holds it.
pub(crate) fn load_proto(
    mu: &mut Mutator,
    proto: &Proto,
    quicken: bool,
) -> Result<Gc<FunctionObj>, RuntimeError> {
    let base = mu.temp_roots.len();
    let r = load_rooted(mu, proto, quicken);
    mu.temp_roots.truncate(base);
    r
}

fn load_rooted(
    mu: &mut Mutator,
    proto: &Proto,
    quicken: bool,
) -> Result<Gc<FunctionObj>, RuntimeError> {
    let verified =
        crate::verify::verify(proto).map_err(|e| mu.error(format!("Corrupt bytecode: {e}")))?;
    let chunk = &proto.chunk;
    let mut quickened;
    let code_bytes: &[u8] = if quicken {
        quickened = chunk.code.clone();
        crate::quicken::quicken(
            &mut quickened,
            &chunk.code,
            &verified.heights,
            &chunk.constants,
        );
        &quickened
    } else {
        &chunk.code
    };
    let code = mu
        .alloc(BytesObj::size_for(code_bytes.len()))?
        .init_bytes(code_bytes);
    mu.temp_roots.push(code.value());
    let line_bytes: Vec<u8> = chunk.lines.iter().flat_map(|l| l.to_le_bytes()).collect();
    let lines = mu
        .alloc(BytesObj::size_for(line_bytes.len()))?
        .init_bytes(&line_bytes);
    mu.temp_roots.push(lines.value());
    let constants = mu
        .alloc(ValueArrayObj::size_for(chunk.constants.len()))?
        .init_value_array(chunk.constants.len());
    mu.temp_roots.push(constants.value());
    for (i, c) in chunk.constants.iter().enumerate() {
        let v = match c {
            Constant::Number(n) => Value::number(*n),
            Constant::String(s) => mu.intern(s)?.value(),
            Constant::Function(p) => load_proto(mu, p, quicken)?.value(),
        };
        constants.set(&mut mu.wb, i, v);
    }
    // Every global a reached instruction names gets its slot now, with or
    // without quickening (the two modes allocate alike); the quickened
    // instructions find it by constant index.
    let mut slots = vec![u32::MAX; chunk.constants.len()];
    for (p, &op) in chunk.code.iter().enumerate() {
        let global = matches!(
            OpCode::from_u8(op),
            Some(OpCode::GetGlobal | OpCode::SetGlobal | OpCode::DefineGlobal)
        );
        if !global || verified.heights.get(p).copied().flatten().is_none() {
            continue;
        }
        // VERIFIED: a reached global instruction's operand is the index of
        // a string constant.
        let k = chunk.code.get(p + 1).map_or(usize::MAX, |&b| b as usize);
        let name = (k < constants.len())
            .then(|| constants.get(k))
            .and_then(|v| v.as_obj())
            .and_then(|o| o.downcast::<StringObj>());
        let Some(name) = name else {
            return Err(mu.error("Corrupt bytecode: a global's name is not a string."));
        };
        let slot = mu.global_slot(name)?;
        slots[k] = u32::try_from(slot).map_err(|_| mu.error("Too many global variables."))?;
    }
    let slot_bytes: Vec<u8> = slots.iter().flat_map(|s| s.to_le_bytes()).collect();
    let global_slots = mu
        .alloc(BytesObj::size_for(slot_bytes.len()))?
        .init_bytes(&slot_bytes);
    mu.temp_roots.push(global_slots.value());
    let name = match &proto.name {
        Some(n) => {
            let s = mu.intern(n)?;
            mu.temp_roots.push(s.value());
            Some(s)
        }
        None => None,
    };
    let f = mu
        .alloc(std::mem::size_of::<FunctionObj>())?
        .init_function(FunctionParts {
            arity: proto.arity as u32,
            upvalue_count: proto.upvalue_count as u32,
            max_stack: verified.max_stack,
            code,
            lines,
            constants,
            global_slots,
            name,
        });
    Ok(f)
}

//! ARCHITECTURE.md names the invariants and the lock ranks; the code
//! states them (`gc::Invariant`, `vm::Invariant`, `gc::LockRank`, each
//! variant with its paragraph). The document links to the code instead of
//! copying it, and this test keeps the two in step: a name in the tables
//! that is not a variant, or a variant the tables miss, fails.

use std::collections::BTreeSet;

fn architecture() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/ARCHITECTURE.md"))
        .expect("ARCHITECTURE.md")
}

/// The first-column names (in backticks) of the table that follows the
/// line starting with `heading` in `section`.
fn table_names(doc: &str, heading: &str, column: usize) -> BTreeSet<String> {
    let start = doc
        .find(heading)
        .unwrap_or_else(|| panic!("ARCHITECTURE.md has no {heading:?}"));
    let mut names = BTreeSet::new();
    let mut in_table = false;
    for line in doc[start..].lines().skip(1) {
        if !line.starts_with('|') {
            if in_table {
                break;
            }
            continue;
        }
        in_table = true;
        let cell = line.split('|').nth(column + 1).unwrap_or("").trim();
        if let Some(name) = cell.strip_prefix('`').and_then(|c| c.strip_suffix('`')) {
            names.insert(name.to_string());
        }
    }
    assert!(!names.is_empty(), "no names in the table after {heading:?}");
    names
}

#[test]
fn the_invariant_tables_name_exactly_the_variants() {
    let doc = architecture();
    let gc_names = table_names(&doc, "The collector's (`gc::Invariant`):", 0);
    let gc_variants: BTreeSet<String> = gc::Invariant::ALL
        .iter()
        .map(|i| i.name().to_string())
        .collect();
    assert_eq!(gc_names, gc_variants, "gc::Invariant vs ARCHITECTURE.md");
    let vm_names = table_names(&doc, "The VM's (`vm::Invariant`):", 0);
    let vm_variants: BTreeSet<String> = vm::Invariant::ALL
        .iter()
        .map(|i| i.name().to_string())
        .collect();
    assert_eq!(vm_names, vm_variants, "vm::Invariant vs ARCHITECTURE.md");
}

#[test]
fn the_lock_table_names_exactly_the_ranks_in_order() {
    let doc = architecture();
    let start = doc
        .find("| rank | `gc::LockRank` |")
        .expect("the lock table");
    let mut rows = Vec::new();
    for line in doc[start..].lines().skip(2) {
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let rank: u8 = cells[1].parse().expect("a rank number");
        let name = cells[2].trim_matches('`').to_string();
        rows.push((rank, name));
    }
    let ranks: Vec<(u8, String)> = gc::LockRank::ALL
        .iter()
        .map(|r| (r.rank(), format!("{r:?}")))
        .collect();
    assert_eq!(rows, ranks, "gc::LockRank vs ARCHITECTURE.md's lock table");
}

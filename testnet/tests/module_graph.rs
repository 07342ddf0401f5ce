//! No import cycles: the module graph (`testnet::module_graph`) of each crate, and
//! of the modules whose children are parts of one thing, has none.

use std::path::{Path, PathBuf};
use testnet::module_graph::{
    assert_acyclic, children_of, find_cycle, graph, root_reexports, strip_comments, SourceFile,
};

fn src(krate: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(krate)
        .join("src")
}

#[test]
fn consensus_top_level_modules_form_no_cycle() {
    assert_acyclic(&src("consensus"), &[], 12, 20);
}

#[test]
fn consensus_replica_sub_modules_form_no_cycle() {
    assert_acyclic(&src("consensus"), &["replica"], 10, 0);
}

#[test]
fn node_top_level_modules_form_no_cycle() {
    assert_acyclic(&src("node"), &[], 20, 30);
}

#[test]
fn node_driver_parts_form_no_cycle() {
    assert_acyclic(&src("node"), &["driver"], 5, 0);
}

#[test]
fn node_host_core_forms_no_cycle() {
    assert_acyclic(&src("node"), &["host"], 3, 2);
}

/// The checker itself finds a cycle, through `{…}` groups and root re-exports.
#[test]
fn the_checker_finds_a_planted_cycle() {
    let files = vec![
        SourceFile {
            module: vec![],
            text: strip_comments("pub use b::Thing;\nmod a; mod b;"),
        },
        SourceFile {
            module: vec!["a".into()],
            text: strip_comments("use crate::{x::Y, b::{self}};"),
        },
        SourceFile {
            module: vec!["b".into()],
            // Only a comment and a root re-export: the comment must not count.
            text: strip_comments("// crate::a::Z\nfn f() -> crate::Thing { crate::a::g() }"),
        },
    ];
    let reexports = root_reexports(&files[0]);
    let children = children_of(&files, &vec![]);
    let edges = graph(&files, &vec![], &children, &reexports);
    assert_eq!(
        find_cycle(&edges),
        Some(vec!["a".to_string(), "b".to_string(), "a".to_string()])
    );
    let acyclic = &files[..2];
    let edges = graph(acyclic, &vec![], &children, &reexports);
    assert_eq!(find_cycle(&edges), None);
}

#[test]
fn node_sub_modules_form_no_cycle() {
    for parent in ["api", "cli", "mempool", "net"] {
        let path: Vec<&str> = parent.split("::").collect();
        assert_acyclic(&src("node"), &path, 2, 0);
    }
}

//! The modules of a crate depend on each other in one direction only: the
//! `use crate::…` / `crate::…` / `super::…` paths of every file under its `src/`
//! make a graph between the children of a module (the top-level modules, or the
//! sub-modules of one), and `tests/module_graph.rs` holds the crates to that graph
//! having no cycle. A cycle means two files that can only be understood together.
//!
//! The parse is deliberately small: comments are dropped, then every path that
//! starts with `crate::` or `super::` (with `{…}` groups expanded) is resolved to the
//! module it names. A path to an item the crate root re-exports (`crate::Replica`)
//! counts as a path to the module that defines it (read from `lib.rs`'s `pub use`).
//! Method calls on `self` are not paths and do not count: sub-modules that are
//! `impl` blocks of one type call each other's methods; what this holds them to is
//! which *types and functions* they name.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path inside the crate: `[]` is the root, `["replica", "epoch"]` is
/// `crate::replica::epoch`.
pub type ModPath = Vec<String>;

pub struct SourceFile {
    pub module: ModPath,
    pub text: String,
}

pub fn source_files(dir: &Path, module: &ModPath, out: &mut Vec<SourceFile>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read src dir")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            let mut child = module.clone();
            child.push(name);
            source_files(&path, &child, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let mut m = module.clone();
            if name != "mod" && name != "lib" {
                m.push(name);
            }
            let text = std::fs::read_to_string(&path).expect("read source");
            out.push(SourceFile {
                module: m,
                text: strip_comments(&text),
            });
        }
    }
}

/// Drops `//` comments (doc comments included: an intra-doc link is not a
/// dependency) and `/* */` blocks, keeping string literals whole.
pub fn strip_comments(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'"' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(b.len());
            out.push_str(&text[start..i]);
        } else if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            i += 2;
            while i < b.len() && !b[i..].starts_with(b"*/") {
                i += 1;
            }
            i = (i + 2).min(b.len());
        } else if b[i] == b'\'' && i + 2 < b.len() && b[i + 2] == b'\'' {
            // A char literal such as '"' or '{'.
            out.push_str(&text[i..i + 3]);
            i += 3;
        } else {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Parses a path tree at `b[*i..]` (after a leading `crate::` or `super::`): idents
/// joined by `::`, possibly ending in a `{a::b, c}` group. Pushes each full path.
fn parse_tree(b: &[u8], i: &mut usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let mut path = prefix;
    loop {
        while *i < b.len() && b[*i].is_ascii_whitespace() {
            *i += 1;
        }
        if *i < b.len() && b[*i] == b'{' {
            *i += 1;
            loop {
                while *i < b.len() && (b[*i].is_ascii_whitespace() || b[*i] == b',') {
                    *i += 1;
                }
                if *i >= b.len() || b[*i] == b'}' {
                    *i += 1;
                    break;
                }
                let before = *i;
                parse_tree(b, i, path.clone(), out);
                // Skip anything the tree did not take (`as` renames, `*`).
                while *i < b.len() && b[*i] != b',' && b[*i] != b'}' {
                    *i += 1;
                }
                if *i == before {
                    *i += 1;
                }
            }
            return;
        }
        let start = *i;
        while *i < b.len() && is_ident(b[*i]) {
            *i += 1;
        }
        if *i == start {
            break;
        }
        path.push(String::from_utf8_lossy(&b[start..*i]).to_string());
        if b[*i..].starts_with(b"::") {
            *i += 2;
        } else {
            break;
        }
    }
    out.push(path);
}

/// Every `crate::…` and `super::…` path in `text`, resolved to absolute segments.
/// `super` resolves against `module`, the file's module; a `super` inside an inline
/// `mod name { … }` (tests) would mean that inner module, so those are skipped.
fn paths(module: &ModPath, text: &str) -> Vec<Vec<String>> {
    let b = text.as_bytes();
    let inline_mod = find_inline_mod(text);
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let at_word = i == 0 || !is_ident(b[i - 1]);
        if at_word && b[i..].starts_with(b"crate::") {
            i += "crate::".len();
            parse_tree(b, &mut i, Vec::new(), &mut out);
        } else if at_word && b[i..].starts_with(b"super::") && i < inline_mod {
            let mut base = module.clone();
            while b[i..].starts_with(b"super::") {
                base.pop();
                i += "super::".len();
            }
            parse_tree(b, &mut i, base, &mut out);
        } else {
            i += 1;
        }
    }
    out
}

fn find_inline_mod(text: &str) -> usize {
    let mut from = 0;
    while let Some(pos) = text[from..].find("mod ") {
        let at = from + pos;
        let rest = &text[at + 4..];
        let name_len = rest.bytes().take_while(|c| is_ident(*c)).count();
        if rest[name_len..].trim_start().starts_with('{')
            && (at == 0 || !is_ident(text.as_bytes()[at - 1]))
        {
            return at;
        }
        from = at + 4;
    }
    text.len()
}

/// The crate root's `pub use` re-exports: item name → the module path it comes from.
pub fn root_reexports(root: &SourceFile) -> BTreeMap<String, ModPath> {
    let mut map = BTreeMap::new();
    let b = root.text.as_bytes();
    let mut i = 0;
    while let Some(pos) = root.text[i..].find("pub use ") {
        i += pos + "pub use ".len();
        let mut found = Vec::new();
        parse_tree(b, &mut i, Vec::new(), &mut found);
        for path in found {
            if let Some((item, module)) = path.split_last() {
                map.insert(item.clone(), module.to_vec());
            }
        }
    }
    map
}

/// Edges between the children of `parent`: `from` → `to` when a file inside child
/// `from` names something inside child `to`. A path that stops at `parent` itself
/// (an item of its own file, such as `super::Replica`) is not an edge.
pub fn graph(
    files: &[SourceFile],
    parent: &ModPath,
    children: &BTreeSet<String>,
    reexports: &BTreeMap<String, ModPath>,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        if !file.module.starts_with(parent) || file.module.len() <= parent.len() {
            continue;
        }
        let from = &file.module[parent.len()];
        edges.entry(from.clone()).or_default();
        for mut path in paths(&file.module, &file.text) {
            // `crate::Name` for an item the root re-exports: the module defining it.
            let first_is_module = path
                .first()
                .is_some_and(|first| files.iter().any(|f| f.module.first() == Some(first)));
            if !first_is_module {
                if let Some(module) = path.first().and_then(|first| reexports.get(first)) {
                    path = module.clone();
                }
            }
            if !path.starts_with(parent) || path.len() <= parent.len() {
                continue;
            }
            let to = &path[parent.len()];
            if to != from && children.contains(to) {
                edges.entry(from.clone()).or_default().insert(to.clone());
            }
        }
    }
    edges
}

/// A cycle of the graph, as the list of its nodes, if there is one.
pub fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(pos) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[pos..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, done, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        if let Some(cycle) = visit(node, edges, &mut done, &mut Vec::new()) {
            return Some(cycle);
        }
    }
    None
}

/// Every source file of the crate whose `src` directory is `src`.
pub fn load(src: &Path) -> Vec<SourceFile> {
    let mut files = Vec::new();
    source_files(src, &Vec::new(), &mut files);
    files
}

pub fn children_of(files: &[SourceFile], parent: &ModPath) -> BTreeSet<String> {
    files
        .iter()
        .filter(|f| f.module.len() > parent.len() && f.module.starts_with(parent))
        .map(|f| f.module[parent.len()].clone())
        .collect()
}

pub fn render(edges: &BTreeMap<String, BTreeSet<String>>) -> String {
    edges
        .iter()
        .map(|(from, to)| {
            format!(
                "  {from} -> {}",
                to.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Panics with the cycle if the children of `parent` in the crate at `src` import
/// each other in one, or if the parse found fewer than `min_nodes` modules or
/// `min_edges` edges (a vacuous pass).
pub fn assert_acyclic(src: &Path, parent: &[&str], min_nodes: usize, min_edges: usize) {
    let files = load(src);
    let root = files.iter().find(|f| f.module.is_empty()).expect("lib.rs");
    let reexports = root_reexports(root);
    let parent: ModPath = parent.iter().map(|s| s.to_string()).collect();
    let children = children_of(&files, &parent);
    let edges = graph(&files, &parent, &children, &reexports);
    // Not vacuous: the parse found the modules and the paths between them.
    assert!(children.len() >= min_nodes, "found only {children:?}");
    assert!(
        edges.values().map(BTreeSet::len).sum::<usize>() >= min_edges,
        "found too few edges:\n{}",
        render(&edges)
    );
    // `cargo test --test module_graph -- --nocapture` shows the layering.
    println!("crate::{}:\n{}", parent.join("::"), render(&edges));
    if let Some(cycle) = find_cycle(&edges) {
        panic!(
            "modules of crate::{} import each other in a cycle: {}\nthe graph:\n{}",
            parent.join("::"),
            cycle.join(" -> "),
            render(&edges)
        );
    }
}

//! The flow library's modules form layers: no module uses a module that uses it
//! back, directly or through others (the order is documented in `src/lib.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module -> the modules it names as `crate::<module>` (doc comments aside).
fn uses() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph = BTreeMap::new();
    let entries = std::fs::read_dir(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    for entry in entries {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        let name = match path.file_stem().and_then(|s| s.to_str()) {
            Some(n) if path.extension().is_some_and(|e| e == "rs") => n.to_string(),
            _ => continue,
        };
        if name == "lib" || name == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
        let mut used = BTreeSet::new();
        for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (i, _) in line.match_indices("crate::") {
                let rest = &line[i + "crate::".len()..];
                let module: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                // `crate::{a, b}` and `crate::X` (a root item) are not module names here.
                if !module.is_empty()
                    && module != name
                    && module.starts_with(|c: char| c.is_ascii_lowercase())
                {
                    used.insert(module);
                }
            }
        }
        graph.insert(name, used);
    }
    graph
}

/// A cycle through `node`, if the graph has one reachable from it.
fn cycle_from(
    graph: &BTreeMap<String, BTreeSet<String>>,
    node: &str,
    path: &mut Vec<String>,
    done: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    if let Some(i) = path.iter().position(|p| p == node) {
        let mut c = path[i..].to_vec();
        c.push(node.to_string());
        return Some(c);
    }
    if done.contains(node) {
        return None;
    }
    path.push(node.to_string());
    for next in graph.get(node).into_iter().flatten() {
        if let Some(c) = cycle_from(graph, next, path, done) {
            return Some(c);
        }
    }
    path.pop();
    done.insert(node.to_string());
    None
}

#[test]
fn flow_modules_have_no_import_cycle() {
    let graph = uses();
    assert!(graph.len() > 10, "read the modules: {graph:?}");
    assert!(
        graph["cli"].contains("sweep") && graph["sweep"].contains("exec"),
        "the scan sees `crate::` uses: {graph:?}"
    );
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(c) = cycle_from(&graph, node, &mut Vec::new(), &mut done) {
            panic!("import cycle in flow/src: {}", c.join(" -> "));
        }
    }
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
    .collect();
    let c = cycle_from(&graph, "a", &mut Vec::new(), &mut BTreeSet::new());
    assert_eq!(
        c,
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    assert_eq!(
        cycle_from(&graph, "d", &mut Vec::new(), &mut BTreeSet::new()),
        None
    );
}

//! The shape of the crate, checked: one direction through the code.
//!
//! - `service/` is beneath HTTP: it never names axum or the HTTP state.
//! - `http/routes/` and the pages of `http/web/pages/` only extract, call a
//!   service and render: they never touch the store, seal or open data, or
//!   build an audit event.
//! - Top-level modules do not import each other in circles.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn source_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// A file's code without its unit tests (they may reach anywhere).
fn code_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

fn offences(code: &str, banned: &[&str]) -> Vec<String> {
    banned.iter().filter(|b| code.contains(*b)).map(|b| b.to_string()).collect()
}

#[test]
fn services_never_name_http() {
    let dir = source_root().join("service");
    for file in rust_files(&dir) {
        let found = offences(&code_of(&file), &["axum", "crate::http", "AppState", "StatusCode"]);
        assert!(found.is_empty(), "{} names {found:?}", file.display());
    }
}

#[test]
fn routes_only_extract_delegate_and_render() {
    let banned = [".store.", "crate::sealing", "AuditEvent {", "audit_event::", ".seal(", ".open(", "audit.record("];
    let files = [rust_files(&source_root().join("http/routes")), rust_files(&source_root().join("http/web/pages"))];
    for file in files.concat() {
        let name = file.strip_prefix(source_root()).unwrap().display().to_string();
        let found = offences(&code_of(&file), &banned);
        assert!(found.is_empty(), "{name} does a service's work: {found:?}");
    }
}

/// The top-level module a file belongs to.
fn module_of(root: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(root).unwrap();
    let first = relative.components().next().unwrap().as_os_str().to_str().unwrap();
    first.trim_end_matches(".rs").to_string()
}

/// Which top-level modules each one refers to (`crate::name`).
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let root = source_root();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(&root) {
        let from = module_of(&root, &file);
        // Test-only files reach wherever a test needs.
        let test_only = file.components().any(|c| c.as_os_str() == "tests" || c.as_os_str() == "tests.rs");
        if from == "lib" || from == "layering" || test_only {
            continue;
        }
        let code = code_of(&file);
        let targets = graph.entry(from.clone()).or_default();
        for (at, _) in code.match_indices("crate::") {
            let name: String = code[at + 7..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            // Items at the crate root re-export a module's.
            let name = match name.as_str() {
                "now_millis" => "clock".to_string(),
                "AppState" | "build_app" => "http".to_string(),
                _ => name,
            };
            if name != from && !name.is_empty() {
                targets.insert(name);
            }
        }
    }
    graph
}

/// Modules that lie on a cycle (Tarjan's strongly connected components).
fn modules_in_cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<String> {
    struct Walk<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        cyclic: BTreeSet<String>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, v: &'g str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            for w in self.graph.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    self.low.insert(v, self.low[v].min(self.low[w]));
                } else if self.stack.contains(&w) {
                    self.low.insert(v, self.low[v].min(self.index[w]));
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    self.cyclic.extend(component.into_iter().map(str::to_string));
                }
            }
        }
    }
    let mut walk =
        Walk { graph, index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), cyclic: BTreeSet::new() };
    for v in graph.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.cyclic
}

#[test]
fn no_import_cycles() {
    let cyclic = modules_in_cycles(&imports());
    assert!(cyclic.is_empty(), "modules in an import cycle: {cyclic:?}");
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let graph: BTreeMap<String, BTreeSet<String>> =
        [("a", vec!["b"]), ("b", vec!["c"]), ("c", vec!["a"]), ("d", vec!["a"])]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.into_iter().map(str::to_string).collect()))
            .collect();
    let cyclic: Vec<String> = modules_in_cycles(&graph).into_iter().collect();
    assert_eq!(cyclic, ["a", "b", "c"]);
}

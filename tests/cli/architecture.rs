//! The layer picture, checked on the source tree: every `crate::…` (and, in the binary, `cxsql::…`) path in
//! the code of a module is an arrow from it to the module the path names. Arrows point down the layers or
//! stay inside one folder, and no chain of arrows comes back to where it started. The maps (lib.rs, the
//! architecture page) name every module there is.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::util::root;

/// The layers of crate cxsql, top first: a module may use modules of its own folder and of lower layers.
const LAYERS: [&[&str]; 5] = [
    &["main", "cli"],
    &["lib"],
    &["front"],
    &["engine", "generate"],
    &["writer", "error", "guard", "lib"],
];

/// A crate's modules, by path (`front::report::chart`), with their source file.
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("src folder")
            .map(|e| e.expect("entry").path())
            .collect();
        entries.sort();
        for path in entries {
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("name")
                .to_string();
            let join = |name: &str| {
                if prefix.is_empty() {
                    name.to_string()
                } else if name == "mod" {
                    prefix.to_string()
                } else {
                    format!("{prefix}::{name}")
                }
            };
            if path.is_dir() {
                walk(&path, &join(&stem), out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.insert(join(&stem), path);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(src, "", &mut out);
    out
}

/// The code of a source file: comments and the unit-test module left out.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("source file");
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => &text,
    };
    text.lines()
        .map(|line| match line.find("//") {
            // A `//` inside a string ("http://...") is rare in paths and harmless: it only drops text.
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The arrows of a crate: module → modules its code names through `prefix::` (`crate`, or `cxsql` for the
/// binary naming the library, its modules then prefixed with `lib:`).
fn arrows(
    modules: &BTreeMap<String, PathBuf>,
    targets: &BTreeMap<String, PathBuf>,
    prefix: &str,
    tag: &str,
    root_module: &str,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, path) in modules {
        let code = code(path);
        let needle = format!("{prefix}::");
        let mut rest = code.as_str();
        while let Some(at) = rest.find(&needle) {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + needle.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let path: Vec<&str> = rest
                .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':' || c == '#'))
                .next()
                .unwrap_or_default()
                .split("::")
                .map(|s| s.trim_start_matches("r#"))
                .collect();
            // The longest prefix of the path that is a module.
            let target = (1..=path.len())
                .rev()
                .map(|n| path[..n].join("::"))
                .find(|m| targets.contains_key(m));
            let target = match target {
                Some(m) => format!("{tag}{m}"),
                // An item of the crate root (`crate::Result`): the root module.
                None => format!("{tag}{root_module}"),
            };
            if target != *name {
                out.entry(name.clone()).or_default().insert(target);
            }
        }
        // Paths relative to the module: its children named as `child::…` (`pub use chart::render;`). A
        // library's root re-exporting its modules is the crate's façade, not an arrow: the modules may use
        // what the root itself defines (udfs's shared `Kpi` core).
        if name == "lib" {
            continue;
        }
        let own = if name == root_module {
            String::new()
        } else {
            format!("{name}::")
        };
        for child in modules.keys().filter(|m| {
            prefix == "crate"
                && m.strip_prefix(own.as_str())
                    .is_some_and(|rest| !rest.contains("::") && !rest.is_empty())
                && *m != name
                && !["lib", "main"].contains(&m.as_str())
        }) {
            let short = &child[own.len()..];
            let named = code.match_indices(&format!("{short}::")).any(|(at, _)| {
                !code[..at]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
            });
            if named {
                out.entry(name.clone())
                    .or_default()
                    .insert(format!("{tag}{child}"));
            }
        }
    }
    out
}

fn layer(module: &str) -> Option<usize> {
    let top = module.trim_start_matches("lib:").split("::").next()?;
    LAYERS.iter().position(|l| l.contains(&top))
}

fn folder(module: &str) -> &str {
    module
        .trim_start_matches("lib:")
        .rsplit_once("::")
        .map_or("", |(f, _)| f)
}

/// Every circle of the graph, each as the chain of modules it passes.
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        found: &mut Vec<Vec<String>>,
    ) {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut circle = path[at..].to_vec();
            circle.push(node.to_string());
            found.push(circle);
            return;
        }
        if done.contains(node) {
            return;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            visit(next, graph, path, done, found);
        }
        path.pop();
        done.insert(node.to_string());
    }
    let (mut done, mut found) = (BTreeSet::new(), Vec::new());
    for node in graph.keys() {
        visit(node, graph, &mut Vec::new(), &mut done, &mut found);
    }
    found
}

fn binary_modules(all: &BTreeMap<String, PathBuf>) -> BTreeMap<String, PathBuf> {
    all.iter()
        .filter(|(m, _)| *m == "main" || *m == "cli" || m.starts_with("cli::"))
        .map(|(m, p)| (m.clone(), p.clone()))
        .collect()
}

/// The arrows of crate cxsql: the library's modules, and the binary's (main.rs, cli/) naming them as `lib:`.
fn cxsql_graph() -> BTreeMap<String, BTreeSet<String>> {
    let all = modules(&root().join("src"));
    let binary = binary_modules(&all);
    let library: BTreeMap<String, PathBuf> = all
        .iter()
        .filter(|(m, _)| !binary.contains_key(*m))
        .map(|(m, p)| (m.clone(), p.clone()))
        .collect();
    let mut graph = arrows(&library, &library, "crate", "lib:", "lib");
    graph = graph
        .into_iter()
        .map(|(m, to)| (format!("lib:{m}"), to))
        .collect();
    for (m, to) in arrows(&binary, &binary, "crate", "", "main") {
        graph.entry(m).or_default().extend(to);
    }
    for (m, to) in arrows(&binary, &library, "cxsql", "lib:", "lib") {
        graph.entry(m).or_default().extend(to);
    }
    graph
}

#[test]
fn every_arrow_points_down_the_layers_and_none_comes_back() {
    let graph = cxsql_graph();
    // CXSQL_PRINT_GRAPH=1 prints the arrows checked (for the architecture page and reviews).
    if std::env::var_os("CXSQL_PRINT_GRAPH").is_some() {
        for (from, to) in &graph {
            let to: Vec<&str> = to.iter().map(|t| t.trim_start_matches("lib:")).collect();
            eprintln!("{} -> {}", from.trim_start_matches("lib:"), to.join(", "));
        }
    }
    let mut wrong = Vec::new();
    for (from, targets) in &graph {
        for to in targets {
            let (Some(a), Some(b)) = (layer(from), layer(to)) else {
                wrong.push(format!(
                    "{from} -> {to}: a module outside the layer picture"
                ));
                continue;
            };
            let same_folder = folder(from) == folder(to) && !folder(from).is_empty()
                || from.trim_start_matches("lib:").split("::").next()
                    == to.trim_start_matches("lib:").split("::").next();
            if b < a || (b == a && !same_folder && a != 0 && a != 4) {
                wrong.push(format!("{from} -> {to}: points up or sideways"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "arrows against the layers:\n{}",
        wrong.join("\n")
    );
    let found = circles(&graph);
    assert!(
        found.is_empty(),
        "import circles:\n{}",
        found
            .iter()
            .map(|c| c.join(" -> "))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let arrows: usize = graph.values().map(BTreeSet::len).sum();
    assert!(arrows > 50, "the checker found arrows at all ({arrows})");
}

#[test]
fn the_csv_and_functions_crates_have_no_circles_and_use_nothing_of_cxsql() {
    for krate in ["csv", "udfs"] {
        let src = root().join(krate).join("src");
        let all = modules(&src);
        let graph = arrows(&all, &all, "crate", "", "lib");
        let found = circles(&graph);
        assert!(found.is_empty(), "{krate}: import circles: {found:?}");
        for path in all.values() {
            let code = code(path);
            assert!(
                !code.contains("cxsql::") && !code.contains("cxsql_csv::") || krate == "udfs",
                "{}: uses cxsql",
                path.display()
            );
        }
        let manifest =
            std::fs::read_to_string(root().join(krate).join("Cargo.toml")).expect("manifest");
        assert!(
            !manifest.contains("cxsql =") && !manifest.contains("path = \"..\""),
            "{krate} depends on cxsql"
        );
    }
}

#[test]
fn a_circle_and_an_upward_arrow_are_caught() {
    // The checker itself, on a made-up graph: it must see what it is there to see.
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("lib:engine::a", vec!["lib:engine::b"]),
        ("lib:engine::b", vec!["lib:engine::a"]),
        ("lib:engine::c", vec!["lib:front::shell"]),
    ]
    .into_iter()
    .map(|(m, to)| (m.to_string(), to.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(circles(&graph).len(), 1);
    assert!(layer("lib:front::shell") < layer("lib:engine::c"));
}

#[test]
fn the_maps_name_every_module() {
    let all = modules(&root().join("src"));
    let page =
        std::fs::read_to_string(root().join("docs/architecture.md")).expect("docs/architecture.md");
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).expect("lib.rs");
    let mut missing = Vec::new();
    for (module, path) in &all {
        let file = path
            .strip_prefix(root())
            .expect("in the repository")
            .to_string_lossy()
            .replace('\\', "/");
        let short = file.trim_start_matches("src/");
        if !page.contains(short) {
            missing.push(format!("docs/architecture.md does not name {short}"));
        }
        let top = module.split("::").next().unwrap_or_default();
        if !["main", "cli", "lib"].contains(&top) && !lib.contains(top) {
            missing.push(format!("lib.rs's map does not name {top}"));
        }
    }
    for (module, path) in modules(&root().join("csv/src")) {
        let short = format!(
            "csv/src/{}",
            path.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
        );
        if !page.contains(&short) {
            missing.push(format!(
                "docs/architecture.md does not name {short} ({module})"
            ));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

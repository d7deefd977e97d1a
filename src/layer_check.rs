//! Checks that imports run one way: a module of `src/` uses only modules of its own layer or
//! of the layers below, and no two modules use each other, even through others. The layers are
//! the table in ARCHITECTURE.md, so the documented layout and the code cannot drift apart.
//! Test modules (`#[cfg(test)]` to the end of a file) and comments are not checked; the CLI
//! (`main.rs`, `cli/`) sits above everything and is not checked either.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level module → layer number (1 is the bottom), from ARCHITECTURE.md's `layer N name:`
/// lines.
fn documented_layers(architecture: &str) -> BTreeMap<String, usize> {
    let mut layers = BTreeMap::new();
    for line in architecture.lines() {
        let Some(rest) = line.trim().strip_prefix("layer ") else {
            continue;
        };
        let Some((head, modules)) = rest.split_once(':') else {
            continue;
        };
        let Some(number) = head.split_whitespace().next().and_then(|n| n.parse().ok()) else {
            continue;
        };
        for module in modules.split_whitespace() {
            layers.insert(module.to_owned(), number);
        }
    }
    layers
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The code of a file without comments and without its test module.
fn checked_code(source: &str) -> Vec<(usize, &str)> {
    let mut lines = Vec::new();
    let mut all = source.lines().enumerate().peekable();
    while let Some((number, line)) = all.next() {
        let trimmed = line.trim_start();
        let next_is_mod = all
            .peek()
            .is_some_and(|(_, next)| next.trim_start().starts_with("mod "));
        if trimmed == "#[cfg(test)]" && next_is_mod && !line.starts_with(' ') {
            break;
        }
        let code = line.split("//").next().unwrap_or_default();
        lines.push((number + 1, code));
    }
    lines
}

/// The top-level modules a line names through `crate::`.
fn used_modules(code: &str) -> Vec<String> {
    let mut used = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        if code[..at].ends_with('$') {
            continue; // a macro's own crate path
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = group.split('}').next().unwrap_or_default();
            used.extend(group.split(',').map(|item| ident(item.trim())));
        } else {
            used.push(ident(rest));
        }
    }
    used
}

fn ident(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

#[test]
fn imports_run_down_the_documented_layers_without_cycles() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let architecture =
        std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let layers = documented_layers(&architecture);
    assert!(layers.len() > 10, "no layer table in ARCHITECTURE.md");

    let src = root.join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut upward = Vec::new();
    let mut undocumented = BTreeSet::new();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src");
        let top = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or_default()
            .trim_end_matches(".rs")
            .to_owned();
        if ["main", "cli", "lib", "layer_check", "kernels"].contains(&top.as_str()) {
            continue;
        }
        let Some(&from_layer) = layers.get(&top) else {
            undocumented.insert(top);
            continue;
        };
        let source = std::fs::read_to_string(file).expect("readable source");
        for (line, code) in checked_code(&source) {
            for used in used_modules(code) {
                let Some(&to_layer) = layers.get(&used) else {
                    continue; // a macro or an item of lib.rs
                };
                if used == top {
                    continue;
                }
                if to_layer > from_layer {
                    upward.push(format!(
                        "src/{}:{line}: {top} (layer {from_layer}) uses {used} (layer {to_layer})",
                        relative.display()
                    ));
                }
                edges.entry(top.clone()).or_default().insert(used);
            }
        }
    }
    assert!(
        undocumented.is_empty(),
        "modules missing from ARCHITECTURE.md's layer table: {undocumented:?}"
    );
    assert!(
        upward.is_empty(),
        "imports that run up the layers:\n{}",
        upward.join("\n")
    );
    let cycles: Vec<String> = edges
        .keys()
        .filter_map(|start| cycle_through(start, &edges))
        .collect();
    assert!(cycles.is_empty(), "modules that use each other: {cycles:?}");
}

/// A path from `start` back to itself, if there is one.
fn cycle_through(start: &str, edges: &BTreeMap<String, BTreeSet<String>>) -> Option<String> {
    let mut stack = vec![vec![start.to_owned()]];
    let mut seen = BTreeSet::new();
    while let Some(path) = stack.pop() {
        let last = path.last().expect("paths are never empty");
        for next in edges.get(last).into_iter().flatten() {
            if next == start {
                return Some(format!("{} -> {start}", path.join(" -> ")));
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push(longer);
            }
        }
    }
    None
}

#[test]
fn the_check_sees_grouped_imports_and_skips_comments_and_tests() {
    assert_eq!(
        used_modules("use crate::{db, interview};"),
        ["db", "interview"]
    );
    assert_eq!(used_modules("let x = crate::auth::User::new();"), ["auth"]);
    assert!(used_modules("$crate::db_run!(conn)").is_empty());
    let code = "use crate::db;\n// crate::http in a comment\n#[cfg(test)]\nmod tests {\n    use crate::http;\n}\n";
    let used: Vec<String> = checked_code(code)
        .into_iter()
        .flat_map(|(_, line)| used_modules(line))
        .collect();
    assert_eq!(used, ["db"]);
}

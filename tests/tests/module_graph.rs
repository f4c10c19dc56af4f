//! The module graph of every crate: no import circle between modules, and
//! `zen-telemetry`'s layers import only downward (docs/architecture.md).
//!
//! A module here is a file. An edge A -> B means code in file A names a path
//! that resolves into file B (`use`, or a `crate::`/`super::`/`self::` path in
//! code). `mod` declarations are not edges; re-exports are.
//!
//! Print the graphs: `cargo test -p zen-tests --test module_graph -- --nocapture`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// A module path inside one crate, e.g. `["pipeline", "build"]`; empty is the root.
type ModPath = Vec<String>;

struct Crate {
    /// File module -> its file.
    files: BTreeMap<ModPath, PathBuf>,
    /// File module -> the file modules it imports from.
    edges: BTreeMap<ModPath, BTreeSet<ModPath>>,
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Reads the crate rooted at `root` (its `lib.rs` or `main.rs`).
fn read_crate(root: &Path) -> Crate {
    let mut files = BTreeMap::new();
    collect_files(root, Vec::new(), &mut files);
    let mut edges = BTreeMap::new();
    for (module, file) in &files {
        let syntax = parse(file);
        let mut visitor = Refs {
            files: &files,
            current: module.clone(),
            found: BTreeSet::new(),
        };
        visitor.visit_file(&syntax);
        visitor.found.remove(module);
        edges.insert(module.clone(), visitor.found);
    }
    Crate { files, edges }
}

fn parse(file: &Path) -> syn::File {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// Finds every file module below `file` by following `mod name;` items.
fn collect_files(file: &Path, module: ModPath, files: &mut BTreeMap<ModPath, PathBuf>) {
    let syntax = parse(file);
    let is_dir_owner = module.is_empty() || file.file_name().is_some_and(|n| n == "mod.rs");
    let dir = if is_dir_owner {
        file.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        file.with_extension("")
    };
    files.insert(module.clone(), file.to_path_buf());
    for item in &syntax.items {
        let syn::Item::Mod(declared) = item else { continue };
        if declared.content.is_some() {
            continue;
        }
        let name = declared.ident.to_string();
        let explicit = declared.attrs.iter().find_map(|attr| {
            let syn::Meta::NameValue(pair) = &attr.meta else {
                return None;
            };
            if !pair.path.is_ident("path") {
                return None;
            }
            let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(path),
                ..
            }) = &pair.value
            else {
                return None;
            };
            Some(dir.join(path.value()))
        });
        let child = explicit.unwrap_or_else(|| {
            let flat = dir.join(format!("{name}.rs"));
            if flat.exists() {
                flat
            } else {
                dir.join(&name).join("mod.rs")
            }
        });
        let mut child_module = module.clone();
        child_module.push(name);
        collect_files(&child, child_module, files);
    }
}

/// Collects the file modules that one file's paths resolve into.
struct Refs<'a> {
    files: &'a BTreeMap<ModPath, PathBuf>,
    /// The module the visitor is in: the file's, or an inline `mod` in it.
    current: ModPath,
    found: BTreeSet<ModPath>,
}

impl Refs<'_> {
    /// Resolves a path's leading segments to the deepest file module it names.
    fn resolve(&mut self, segments: &[String]) {
        let Some(first) = segments.first() else { return };
        let mut absolute: ModPath = match first.as_str() {
            "crate" => Vec::new(),
            "self" => self.current.clone(),
            "super" => {
                let mut base = self.current.clone();
                let mut rest = segments;
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop();
                    rest = &rest[1..];
                }
                base.extend(rest.iter().cloned());
                return self.record(base);
            }
            name => {
                // A bare path is relative when it names a child of this module
                // (or, at the root, any top-level module).
                let mut child = self.current.clone();
                child.push(name.to_owned());
                if !self.files.contains_key(&child) {
                    return;
                }
                self.current.clone()
            }
        };
        let skip = usize::from(matches!(first.as_str(), "crate" | "self"));
        absolute.extend(segments[skip..].iter().cloned());
        self.record(absolute);
    }

    fn record(&mut self, mut path: ModPath) {
        // The deepest file module on the path; the root when the path names an
        // item of the root file itself (`crate::Config`).
        while !path.is_empty() && !self.files.contains_key(&path) {
            path.pop();
        }
        self.found.insert(path);
    }
}

impl<'ast> Visit<'ast> for Refs<'_> {
    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        if item.content.is_some() {
            let outer = self.current.clone();
            self.current.push(item.ident.to_string());
            syn::visit::visit_item_mod(self, item);
            self.current = outer;
        }
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let mut prefixes = Vec::new();
        use_paths(&item.tree, Vec::new(), &mut prefixes);
        for path in prefixes {
            self.resolve(&path);
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if segments.len() > 1 {
            self.resolve(&segments);
        }
        syn::visit::visit_path(self, path);
    }
}

/// Every path a `use` tree names, as segments.
fn use_paths(tree: &syn::UseTree, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    match tree {
        syn::UseTree::Path(path) => {
            let mut next = prefix;
            next.push(path.ident.to_string());
            use_paths(&path.tree, next, out);
        }
        syn::UseTree::Name(syn::UseName { ident }) | syn::UseTree::Rename(syn::UseRename { ident, .. }) => {
            let mut full = prefix;
            if ident != "self" {
                full.push(ident.to_string());
            }
            out.push(full);
        }
        syn::UseTree::Glob(_) => out.push(prefix),
        syn::UseTree::Group(group) => {
            for item in &group.items {
                use_paths(item, prefix.clone(), out);
            }
        }
    }
}

fn name(module: &ModPath) -> String {
    if module.is_empty() {
        "crate".to_owned()
    } else {
        module.join("::")
    }
}

/// One import circle, if the graph has any.
fn find_cycle(edges: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Option<Vec<ModPath>> {
    fn visit(
        node: &ModPath,
        edges: &BTreeMap<ModPath, BTreeSet<ModPath>>,
        stack: &mut Vec<ModPath>,
        done: &mut BTreeSet<ModPath>,
    ) -> Option<Vec<ModPath>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.clone());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|node| visit(node, edges, &mut Vec::new(), &mut done))
}

/// Every crate root in the workspace (libraries, binaries, the macro crate).
fn crate_roots() -> Vec<PathBuf> {
    let root = workspace();
    let mut roots = vec![
        root.join("zen-telemetry/src/lib.rs"),
        root.join("zen-telemetry-macros/src/lib.rs"),
        root.join("zen-orchestrator/src/main.rs"),
        root.join("tests/src/lib.rs"),
    ];
    let orchestrator_lib = root.join("zen-orchestrator/src/lib.rs");
    if orchestrator_lib.exists() {
        roots.push(orchestrator_lib);
    }
    roots
}

#[test]
fn no_crate_has_an_import_circle() {
    for root in crate_roots() {
        let krate = read_crate(&root);
        assert!(
            krate.files.len() > 1 || root.ends_with("main.rs"),
            "{}: no modules found",
            root.display()
        );
        if let Some(cycle) = find_cycle(&krate.edges) {
            let names: Vec<String> = cycle.iter().map(name).collect();
            panic!("{}: import circle {}", root.display(), names.join(" -> "));
        }
    }
}

/// `zen-telemetry`'s layers, lowest first. A module may import only from
/// modules of a lower layer (files inside one top-level module may import
/// each other, as long as there is no circle).
const TELEMETRY_LAYERS: &[&[&str]] = &[
    &["shard"],
    &[
        "state",
        "diag",
        "clock",
        "calls",
        "stats",
        "scrub",
        "sampling",
        "attr_value",
    ],
    &["config"],
    &["exporter"],
    &["pipeline"],
    &["propagation", "span"],
    &["tracing_layer"],
    &["__private"],
    &["testing", "bench"],
];

fn layer_of(module: &ModPath) -> usize {
    let top = module.first().map(String::as_str).unwrap_or("");
    TELEMETRY_LAYERS
        .iter()
        .position(|layer| layer.contains(&top))
        .unwrap_or_else(|| {
            panic!("zen-telemetry module `{top}` is in no layer: add it to TELEMETRY_LAYERS and docs/architecture.md")
        })
}

#[test]
fn telemetry_layers_import_only_downward() {
    let krate = read_crate(&workspace().join("zen-telemetry/src/lib.rs"));
    let mut upward = Vec::new();
    for (from, targets) in &krate.edges {
        if from.is_empty() {
            continue; // the crate root is the public API, above every layer
        }
        for to in targets {
            let same_module = from.first() == to.first();
            if to.is_empty() || (!same_module && layer_of(to) >= layer_of(from)) {
                upward.push(format!("{} -> {}", name(from), name(to)));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that do not go to a lower layer: {upward:#?}"
    );
}

#[test]
fn the_checker_sees_circles_and_upward_imports() {
    // A graph with a circle through three files.
    let path = |s: &str| s.split("::").map(str::to_owned).collect::<ModPath>();
    let edges = BTreeMap::from([
        (path("a"), BTreeSet::from([path("b")])),
        (path("b"), BTreeSet::from([path("c")])),
        (path("c"), BTreeSet::from([path("a")])),
    ]);
    assert_eq!(find_cycle(&edges).map(|c| c.len()), Some(4));
    // The real crate has edges at all: the resolver is not silently empty.
    let krate = read_crate(&workspace().join("zen-telemetry/src/lib.rs"));
    let pipeline_imports = &krate.edges[&path("pipeline::build")];
    assert!(
        pipeline_imports.contains(&path("pipeline::manager")),
        "{pipeline_imports:?}"
    );
    assert!(pipeline_imports.contains(&path("exporter")), "{pipeline_imports:?}");
    assert!(layer_of(&path("pipeline")) > layer_of(&path("exporter")));
}

/// Prints the graphs for docs/architecture.md; a printer, not a test:
/// `cargo test -p zen-tests --test module_graph -- --ignored --nocapture`.
#[test]
#[ignore = "prints the module graphs; run with --ignored --nocapture"]
fn print_module_graphs() {
    for root in crate_roots() {
        let krate = read_crate(&root);
        println!("## {}", root.strip_prefix(workspace()).unwrap_or(&root).display());
        for (from, targets) in &krate.edges {
            if !targets.is_empty() {
                let names: Vec<String> = targets.iter().map(name).collect();
                println!("{} -> {}", name(from), names.join(", "));
            }
        }
    }
}

/// Finds calls that read the process environment (`std::env::var`,
/// `var_os`, `vars`, `vars_os`), by path, comments and strings aside.
struct EnvReads(Vec<String>);

impl<'ast> Visit<'ast> for EnvReads {
    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        let reads = segments
            .windows(2)
            .any(|pair| pair[0] == "env" && matches!(pair[1].as_str(), "var" | "var_os" | "vars" | "vars_os"))
            || (segments.len() == 1 && matches!(segments[0].as_str(), "var_os" | "vars_os"));
        if reads {
            self.0.push(segments.join("::"));
        }
        syn::visit::visit_path(self, path);
    }
}

/// The configuration is the one place that reads the environment: after
/// load, nothing in zen-telemetry reads a variable again.
#[test]
fn only_the_configuration_reads_the_environment() {
    let root = workspace().join("zen-telemetry/src/lib.rs");
    let krate = read_crate(&root);
    let mut found = Vec::new();
    for (module, file) in &krate.files {
        if module.first().is_some_and(|top| top == "config") {
            continue;
        }
        let mut reads = EnvReads(Vec::new());
        reads.visit_file(&parse(file));
        found.extend(reads.0.into_iter().map(|read| format!("{}: {read}", file.display())));
    }
    assert!(found.is_empty(), "environment read outside config/: {found:#?}");
    // The check sees a read where there is one.
    let config = workspace().join("zen-telemetry/src/config/load.rs");
    let mut reads = EnvReads(Vec::new());
    reads.visit_file(&parse(&config));
    assert!(
        !reads.0.is_empty(),
        "config/load.rs reads the environment; the visitor missed it"
    );
}

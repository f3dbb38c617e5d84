//! Keeps the house inside `kernel` one-way (ARCHITECTURE.md, "Layers inside kernel"): every
//! module belongs to one layer, declared in `LAYERS` below, and a file may use modules of its
//! own layer or of layers below — never above. It also checks that files import each other in
//! no loop larger than three files, and in no loop that spans two module directories.
//!
//! The check reads the sources (`crate::…` paths, `use crate::{…}` groups and `super::…`
//! paths outside `#[cfg(test)]` modules), so it needs no build of the crate's internals.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, bottom first: a module may import only from its own layer and the ones before.
const LAYERS: &[(&str, &[&str])] = &[
    ("task model", &["task"]),
    ("scheduling", &["sched"]),
    (
        "kernel objects",
        &["signal", "futex", "pipe", "epoll", "signalfd", "tty", "tty_glue", "pty_glue", "console", "timers", "fileio", "poll", "procfs", "vdso", "fs_glue", "inotify", "kmsg", "net", "memfd", "pidfd", "splice", "ipc", "oom"],
    ),
    ("process life", &["clone", "exec", "execve", "exit", "wait"]),
    ("syscalls", &["syscall", "strace"]),
    ("task loop and boot", &["run", "boot", "lib"]),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, mods)| mods.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The source without its `#[cfg(test)] mod tests { … }` tail (tests may reach anywhere).
fn without_tests(src: &str) -> &str {
    match src.find("#[cfg(test)]\nmod tests") {
        Some(i) => &src[..i],
        None => src,
    }
}

/// The module path of a file relative to `src`: `sched/cpu.rs` → ["sched", "cpu"].
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if let Some(last) = parts.last_mut() {
        *last = last.trim_end_matches(".rs").to_string();
    }
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) && parts.len() > 1 {
        parts.pop();
    }
    parts
}

/// Every `crate::a::b…` path named in `src` (including the items of `use crate::{…}` groups),
/// and `super::…` paths resolved against `me`.
fn referenced_paths(src: &str, me: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let ident = |c: char| c.is_alphanumeric() || c == '_' || c == ':';
    for (i, _) in src.match_indices("crate::") {
        let rest = &src[i + 7..];
        if rest.starts_with('{') {
            let end = rest.find("};").unwrap_or(rest.len());
            for item in rest[1..end].split(',') {
                let item = item.trim().trim_start_matches('{');
                let path: Vec<String> = item.split("::").map(|s| s.trim().to_string()).filter(|s| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_')).collect();
                if !path.is_empty() {
                    out.push(path);
                }
            }
            continue;
        }
        let end = rest.find(|c: char| !ident(c)).unwrap_or(rest.len());
        out.push(rest[..end].split("::").filter(|s| !s.is_empty()).map(str::to_string).collect());
    }
    for (i, _) in src.match_indices("super::") {
        let rest = &src[i + 7..];
        let end = rest.find(|c: char| !ident(c)).unwrap_or(rest.len());
        // `super` of `a/b.rs` and of `a/b/mod.rs` (both module a::b) is `a`.
        let mut base: Vec<String> = me.to_vec();
        base.pop();
        base.extend(rest[..end].split("::").filter(|s| !s.is_empty()).map(str::to_string));
        out.push(base);
    }
    out
}

struct Source {
    rel: PathBuf,
    module: Vec<String>,
    refs: Vec<Vec<String>>,
}

fn sources() -> Vec<Source> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&src).unwrap_or(&p).to_path_buf();
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            let module = module_path(&rel);
            let refs = referenced_paths(without_tests(&text), &module);
            Source { rel, module, refs }
        })
        .collect()
}

/// The upward imports: "file (layer) uses module (higher layer)".
fn upward_imports(files: &[Source]) -> Vec<String> {
    let mut bad = Vec::new();
    for f in files {
        let top = f.module.first().map(String::as_str).unwrap_or("lib");
        let Some(mine) = layer_of(top) else {
            bad.push(format!("{}: module `{top}` is in no layer (add it to LAYERS)", f.rel.display()));
            continue;
        };
        let used: BTreeSet<&str> = f.refs.iter().filter_map(|r| r.first().map(String::as_str)).collect();
        for m in used {
            if let Some(theirs) = layer_of(m) {
                if theirs > mine {
                    bad.push(format!("{} ({}) uses `crate::{m}` ({})", f.rel.display(), LAYERS[mine].0, LAYERS[theirs].0));
                }
            }
        }
    }
    bad
}

/// The file a path names: the longest module-path prefix that is a file.
fn resolve<'a>(by_module: &'a BTreeMap<Vec<String>, usize>, path: &[String]) -> Option<&'a usize> {
    (1..=path.len()).rev().find_map(|n| by_module.get(&path[..n]))
}

/// Strongly connected components of the file import graph (Tarjan), as lists of file indices.
fn import_loops(files: &[Source]) -> Vec<Vec<usize>> {
    let by_module: BTreeMap<Vec<String>, usize> = files.iter().enumerate().map(|(i, f)| (f.module.clone(), i)).collect();
    let edges: Vec<BTreeSet<usize>> = files.iter().enumerate().map(|(i, f)| f.refs.iter().filter_map(|r| resolve(&by_module, r).copied()).filter(|&j| j != i).collect()).collect();
    struct T<'a> {
        edges: &'a [BTreeSet<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        stack: Vec<usize>,
        on: Vec<bool>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(t: &mut T, v: usize) {
        t.index[v] = Some(t.next);
        t.low[v] = t.next;
        t.next += 1;
        t.stack.push(v);
        t.on[v] = true;
        for &w in t.edges[v].iter() {
            match t.index[w] {
                None => {
                    visit(t, w);
                    t.low[v] = t.low[v].min(t.low[w]);
                }
                Some(iw) if t.on[w] => t.low[v] = t.low[v].min(iw),
                _ => {}
            }
        }
        if Some(t.low[v]) == t.index[v] {
            let mut c = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on[w] = false;
                c.push(w);
                if w == v {
                    break;
                }
            }
            if c.len() > 1 {
                t.out.push(c);
            }
        }
    }
    let n = files.len();
    let mut t = T { edges: &edges, index: vec![None; n], low: vec![0; n], stack: Vec::new(), on: vec![false; n], next: 0, out: Vec::new() };
    for v in 0..n {
        if t.index[v].is_none() {
            visit(&mut t, v);
        }
    }
    t.out
}

#[test]
fn no_module_imports_from_a_higher_layer() {
    let bad = upward_imports(&sources());
    assert!(bad.is_empty(), "upward imports inside kernel (see ARCHITECTURE.md):\n  {}", bad.join("\n  "));
}

#[test]
fn no_import_loop_is_large_or_spans_directories() {
    let files = sources();
    let mut bad = Vec::new();
    for c in import_loops(&files) {
        let names: Vec<String> = c.iter().map(|&i| files[i].rel.display().to_string()).collect();
        let dirs: BTreeSet<String> = c.iter().map(|&i| files[i].module.first().cloned().unwrap_or_default()).collect();
        if c.len() > 3 || dirs.len() > 1 {
            bad.push(format!("{} files: {}", c.len(), names.join(", ")));
        }
    }
    assert!(bad.is_empty(), "import loops inside kernel:\n  {}", bad.join("\n  "));
}

#[test]
fn the_checker_sees_imports() {
    let me = vec!["sched".to_string(), "cpu".to_string()];
    let refs = referenced_paths("use crate::{task::Task, signal};\nuse super::timer::X;\nlet x = crate::exit::y();", &me);
    assert!(refs.contains(&vec!["task".to_string(), "Task".to_string()]));
    assert!(refs.contains(&vec!["signal".to_string()]));
    assert!(refs.contains(&vec!["sched".to_string(), "timer".to_string(), "X".to_string()]));
    assert!(refs.contains(&vec!["exit".to_string(), "y".to_string()]));
}

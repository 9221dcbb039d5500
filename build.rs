//! Build script: embeds the vendored JSON schemas without their prose, and
//! computes kiln's build identity.
//!
//! `schemas/` keeps the upstream files byte for byte (they are MIT-licensed
//! and re-vendored by script), but most of their bytes are `description`
//! text that validation never reads. Parsing them is a fixed cost of every
//! `kiln render`, so the copies compiled into the binary are minified and
//! stripped of descriptions: a third of the bytes to parse.
//!
//! The build identity (`KILN_BUILD_ID`, recorded in `rendered/kiln.lock`) is
//! the sha256 of every source that can change what kiln renders: `build.rs`,
//! `Cargo.toml`, `Cargo.lock` and every file under `src/` and `schemas/`,
//! each as its `/`-separated relative path, its length and its bytes, in
//! sorted path order. Only contents count (no mtimes, no absolute paths, no
//! toolchain), so the same source gives the same id on any machine, and any
//! edit to it gives another. Hidden files and editor backups (`*~`) are not
//! sources.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Top-level files and directories that make up kiln's source.
const SOURCE_FILES: [&str; 3] = ["build.rs", "Cargo.toml", "Cargo.lock"];
const SOURCE_DIRS: [&str; 2] = ["src", "schemas"];

fn main() {
    let source = Path::new("schemas");
    let target = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("schemas");
    for path in SOURCE_FILES.iter().chain(&SOURCE_DIRS) {
        println!("cargo::rerun-if-changed={path}");
    }
    copy_dir(source, &target);
    println!("cargo::rustc-env=KILN_BUILD_ID={}", build_id());
}

/// sha256 over (path, length, bytes) of every source file, in path order.
fn build_id() -> String {
    let mut files: Vec<String> = SOURCE_FILES.iter().map(|path| path.to_string()).collect();
    for dir in SOURCE_DIRS {
        list_files(Path::new(dir), &mut files);
    }
    files.sort();
    let mut hasher = Sha256::new();
    for path in files {
        // A crate unpacked without its Cargo.lock still builds; the id then covers what is there.
        let Ok(bytes) = fs::read(&path) else { continue };
        hasher.update(path.as_bytes());
        hasher.update([0]);
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Every regular file below `dir`, as a `/`-separated path relative to the crate.
fn list_files(dir: &Path, out: &mut Vec<String>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|error| panic!("reading {}: {error}", dir.display()));
    for entry in entries {
        let path: PathBuf = entry.expect("directory entry").path();
        let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        if name.starts_with('.') || name.ends_with('~') {
            continue;
        }
        if path.is_dir() {
            list_files(&path, out);
        } else if path.is_file() {
            let parts: Vec<String> =
                path.components().map(|part| part.as_os_str().to_string_lossy().into_owned()).collect();
            out.push(parts.join("/"));
        }
    }
}

fn copy_dir(source: &Path, target: &Path) {
    fs::create_dir_all(target).unwrap_or_else(|error| panic!("creating {}: {error}", target.display()));
    let mut entries: Vec<_> = fs::read_dir(source)
        .unwrap_or_else(|error| panic!("reading {}: {error}", source.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().expect("entry has a name");
        if path.is_dir() {
            copy_dir(&path, &target.join(name));
        } else if path.extension().is_some_and(|extension| extension == "json") {
            let text = fs::read_to_string(&path).unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
            let mut schema: Value =
                serde_json::from_str(&text).unwrap_or_else(|error| panic!("{} is not JSON: {error}", path.display()));
            strip_descriptions(&mut schema, false);
            let minified = serde_json::to_string(&schema).expect("a JSON value serializes");
            fs::write(target.join(name), minified).unwrap_or_else(|error| panic!("writing {name:?}: {error}"));
        }
    }
}

/// Removes the `description` keyword from every schema. Inside a map of
/// property names (`properties`, `$defs`, ...) a key called `description` is
/// a field of the validated object, not prose, and is kept.
fn strip_descriptions(value: &mut Value, names_fields: bool) {
    match value {
        Value::Object(map) => {
            if !names_fields {
                map.remove("description");
            }
            for (key, child) in map.iter_mut() {
                let child_names_fields = !names_fields
                    && matches!(key.as_str(), "properties" | "patternProperties" | "$defs" | "definitions");
                strip_descriptions(child, child_names_fields);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| strip_descriptions(item, false)),
        _ => {}
    }
}

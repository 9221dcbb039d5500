//! Build script: embeds the vendored JSON schemas without their prose.
//!
//! `schemas/` keeps the upstream files byte for byte (they are MIT-licensed
//! and re-vendored by script), but most of their bytes are `description`
//! text that validation never reads. Parsing them is a fixed cost of every
//! `kiln render`, so the copies compiled into the binary are minified and
//! stripped of descriptions: a third of the bytes to parse.

use std::fs;
use std::path::Path;

use serde_json::Value;

fn main() {
    let source = Path::new("schemas");
    let target = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("schemas");
    println!("cargo::rerun-if-changed=schemas");
    copy_dir(source, &target);
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

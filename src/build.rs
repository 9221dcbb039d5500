//! The whole render pipeline in memory: load values and templates, render,
//! assemble the output tree. Every command that needs a tree starts here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::diagnostic::display_path;
use crate::output::tree::{Input, Tree};
use crate::render::filters::hex;
use crate::render::templates;
use crate::values::{self, Values};
use crate::{fsutil, output, render, Error, Result};

pub struct Build {
    pub values: Values,
    pub tree: Tree,
}

/// Renders the repository at `root` into an in-memory tree.
pub fn build(root: &Path) -> Result<Build> {
    let values = values::load(root)?;
    let templates = templates::load(root)?;
    let rendered = render::render(&templates, &values)?;
    let mut inputs: Vec<Input> = values.files.iter().map(|file| Input::new(file.path.clone(), &file.bytes)).collect();
    inputs.extend(templates.files.iter().map(|(path, bytes)| Input::new(path.clone(), bytes)));
    let tree = output::assemble(rendered, &inputs)?;
    Ok(Build { values, tree })
}

/// sha256 of every input file today (non-hidden files under values/ and
/// templates/), the same set a render records in the lock.
pub fn input_hashes(root: &Path) -> Result<BTreeMap<String, String>> {
    let mut hashes = BTreeMap::new();
    for dir in [values::VALUES_DIR, templates::TEMPLATES_DIR] {
        let base = root.join(dir);
        if !base.is_dir() {
            return Err(Error::MissingDir { path: base, what: dir });
        }
        let walker = walkdir::WalkDir::new(&base).sort_by_file_name().min_depth(1).into_iter();
        for entry in walker.filter_entry(|entry| !entry.file_name().to_string_lossy().starts_with('.')) {
            let entry = entry.map_err(|error| Error::io("read directory", base.clone(), error.into()))?;
            if entry.file_type().is_dir() {
                continue;
            }
            let relative: PathBuf = entry.path().strip_prefix(root).unwrap_or(entry.path()).to_path_buf();
            let bytes = fsutil::read(entry.path())?;
            hashes.insert(display_path(&relative), hex(&Sha256::digest(&bytes)));
        }
    }
    Ok(hashes)
}

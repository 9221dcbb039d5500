//! The whole render pipeline in memory: load values and templates, render
//! and assemble the output tree. Every command that needs a tree starts here;
//! the checks of the tree (`validate`, `plan`) run on what it returns.

use std::collections::BTreeMap;

use crate::input::InputFiles;
use crate::output::object::Object;
use crate::output::tree::Tree;
use crate::render::templates;
use crate::values::{self, Values};
use crate::{output, parallel, render, Result};

pub struct Build {
    pub values: Values,
    /// Every rendered Kubernetes object, parsed, in template order.
    pub objects: Vec<Object>,
    pub tree: Tree,
}

/// Renders the given inputs into an in-memory tree.
pub fn build(inputs: &InputFiles) -> Result<Build> {
    // Values, templates and input hashes do not depend on each other; on two
    // cores loading them side by side takes as long as the slowest of them.
    let ((templates, hashes), values) =
        parallel::join(|| (templates::load(inputs), inputs.hashes()), || values::load(inputs, values::Keep::Typed));
    let (values, templates) = (values?, templates?);
    finish(&templates, values, &hashes)
}

/// Like [`build`], for a caller that has hashed the inputs already (`render`
/// hashes them to know whether it may answer from the lock).
pub fn build_hashed(inputs: &InputFiles, hashes: &BTreeMap<String, String>) -> Result<Build> {
    let (templates, values) = parallel::join(|| templates::load(inputs), || values::load(inputs, values::Keep::Typed));
    let (values, templates) = (values?, templates?);
    finish(&templates, values, hashes)
}

/// Renders the given inputs through templates loaded once beforehand: the
/// fuzz targets and property tests render thousands of values sets through
/// the same templates.
pub fn build_with(templates: &templates::Templates, inputs: &InputFiles) -> Result<Build> {
    let values = values::load(inputs, values::Keep::Typed)?;
    finish(templates, values, &inputs.hashes())
}

fn finish(templates: &templates::Templates, values: Values, hashes: &BTreeMap<String, String>) -> Result<Build> {
    let rendered = render::render(templates, &values)?;
    let (objects, tree) = output::assemble(rendered, hashes)?;
    Ok(Build { values, objects, tree })
}

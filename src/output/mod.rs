//! From rendered text to files: parse objects, add checksum annotations,
//! serialize canonically and place everything in an in-memory [`tree::Tree`];
//! then write it atomically, compare it with disk, or verify disk alone.

pub mod bookkeeping;
pub mod canonical;
pub mod checksum;
mod compact;
pub mod disk;
pub mod drift;
pub mod lock;
pub mod object;
pub mod swap;
pub mod tree;
pub mod verify;
pub mod write;

use object::{Object, Parsed};
use std::collections::BTreeMap;

use tree::Tree;

use crate::render::Rendered;
use crate::{parallel, Error, Result};

/// Turns template output into the parsed objects (checksums added, keys in
/// canonical order) and the tree of files kiln owns. `inputs` maps each input
/// file to its sha256, for the lock.
/// A template whose output is broken is broken for every scope instance:
/// report it once, for the first instance, and count the others.
fn once_per_template(errors: Vec<Error>) -> Vec<Error> {
    let mut kept: Vec<(Error, usize)> = Vec::new();
    for error in errors {
        let same = kept.iter_mut().find(|(seen, _)| match (seen, &error) {
            (Error::Output { template: a, message: m, .. }, Error::Output { template: b, message: n, .. }) => {
                a == b && m == n
            }
            _ => false,
        });
        match same {
            Some((_, others)) => *others += 1,
            None => kept.push((error, 0)),
        }
    }
    kept.into_iter()
        .map(|(error, others)| match (error, others) {
            (Error::Output { template, scope, message, help }, 1..) => {
                let scopes = if others == 1 { "scope" } else { "scopes" };
                Error::Output { template, scope, message: format!("{message} (and {others} other {scopes})"), help }
            }
            (error, _) => error,
        })
        .collect()
}

pub fn assemble(rendered: Vec<Rendered>, inputs: &BTreeMap<String, String>) -> Result<(Vec<Object>, Tree)> {
    let mut objects = Vec::new();
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for parsed in parallel::map(rendered, object::parse) {
        match parsed {
            Ok(Parsed::Objects(parsed)) => objects.extend(parsed),
            Ok(Parsed::File(file)) => files.push(file),
            Err(error) => errors.push(error),
        }
    }
    Error::from_list(once_per_template(errors))?;
    checksum::annotate(&mut objects);
    // Once, in parallel: the kept objects and the written files share the order.
    let objects = parallel::map(objects, |mut object| {
        object.value = canonical::order(std::mem::take(&mut object.value));
        object
    });
    let tree = tree::build(&objects, files, inputs)?;
    Ok((objects, tree))
}

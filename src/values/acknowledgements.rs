//! `acknowledgements:` in values/cluster.yaml: each names a finding's code
//! and scope and says why the team accepts it. Checked when values load:
//! the scope must be one kiln can name and the reason must be written out,
//! as for `policyExceptions`. Whether each still matches a finding is known
//! only after the checks run (`finding::acknowledge`).

use crate::scope::ScopeRef;
use crate::values::key_path::KeyPath;
use crate::values::Values;
use crate::Error;

/// Every acknowledgement with a scope kiln cannot read or no reason.
pub fn check(values: &Values) -> Vec<Error> {
    let key = KeyPath::root().key("acknowledgements");
    let mut errors = Vec::new();
    for (index, acknowledgement) in values.cluster.typed.acknowledgements.iter().flatten().enumerate() {
        let at = key.index(index);
        if let Err(message) = acknowledgement.scope.parse::<ScopeRef>() {
            errors.push(Error::Values {
                location: values.cluster.locate(&at.key("scope")),
                key_path: at.key("scope").to_string(),
                message,
                help: Some("copy the scope from the finding: `kiln validate --format json` shows it".into()),
            });
        }
        if acknowledgement.reason.trim().is_empty() {
            errors.push(Error::Values {
                location: values.cluster.locate(&at.key("reason")),
                key_path: at.key("reason").to_string(),
                message: format!("the acknowledgement of `{}` has no written reason", acknowledgement.code),
                help: Some("say why the team accepts this finding; an empty reason acknowledges nothing".into()),
            });
        }
    }
    errors
}

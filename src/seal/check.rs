//! Checks of the sealing declarations.
//!
//! At load ([`values_problems`], exit 2): `sealing.certificate` must be an
//! RSA certificate the controller can use, and every `sealedFor` a
//! `sha256:<64 hex>` fingerprint.
//!
//! In `validate` ([`check`], code [`SEALED_FOR`]): when the cluster declares
//! its certificate, every rendered SealedSecret must have been sealed for it.
//! A ciphertext sealed for any other key cannot be decrypted by the
//! controller, which then marks the SealedSecret unsynced, and Argo CD's
//! built-in health for `bitnami.com/SealedSecret` reports it `Degraded`
//! (argo-cd `resource_customizations/bitnami.com/SealedSecret/health.lua`),
//! which fails the sync of its wave. The ciphertext itself does not say which
//! key it is for, so kiln trusts the fingerprint `kiln seal` recorded: a
//! secret without one, or with another certificate's, is reported. Without
//! a declared certificate kiln cannot know the cluster's key and says nothing.

use crate::build::Build;
use crate::diagnostic::{Diagnostic, Severity};
use crate::finding::Locator;
use crate::scope::ScopeRef;
use crate::values::key_path::KeyPath;
use crate::values::Values;
use crate::Error;

use super::crypto::SealingCertificate;

/// The code of a secret not sealed for the declared certificate.
pub const SEALED_FOR: &str = "sealed-for-certificate";

/// The declared certificate, when there is one and it reads.
pub fn declared(values: &Values) -> Option<SealingCertificate> {
    let pem = values.cluster.typed.sealing.as_ref()?.certificate.as_ref()?;
    SealingCertificate::from_pem(pem).ok()
}

pub fn values_problems(values: &Values) -> Vec<Error> {
    let mut problems = Vec::new();
    if let Some(pem) = values.cluster.typed.sealing.as_ref().and_then(|sealing| sealing.certificate.as_ref()) {
        if let Err(problem) = SealingCertificate::from_pem(pem) {
            let at = KeyPath::parse("sealing.certificate");
            problems.push(Error::Values {
                location: values.cluster.locate(&at),
                key_path: at.to_string(),
                message: format!("the sealing certificate {problem}"),
                help: Some("paste the controller's certificate (PEM, `-----BEGIN CERTIFICATE-----`) as a block scalar: `certificate: |`".into()),
            });
        }
    }
    for namespace in values.namespaces.values() {
        for (name, secret) in namespace.namespace.typed.secrets.iter().flatten() {
            let Some(sealed_for) = &secret.sealed_for else { continue };
            if !is_fingerprint(sealed_for) {
                let at = KeyPath::root().key("secrets").key(name.clone()).key("sealedFor");
                problems.push(Error::Values {
                    location: namespace.namespace.locate(&at),
                    key_path: at.to_string(),
                    message: format!("`sealedFor` is `{sealed_for}`, not a certificate fingerprint"),
                    help: Some("`kiln seal` writes it (`sha256:` and 64 hex digits of the certificate's DER); re-seal instead of editing it".into()),
                });
            }
        }
    }
    problems
}

fn is_fingerprint(text: &str) -> bool {
    text.strip_prefix("sha256:")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

/// One finding per rendered SealedSecret not sealed for the declared certificate.
pub fn check(build: &Build, locator: &Locator) -> Vec<Diagnostic> {
    let Some(certificate) = declared(&build.values) else { return Vec::new() };
    let mut findings = Vec::new();
    for object in &build.objects {
        if object.identity.kind != "SealedSecret" || object.identity.group != "bitnami.com" {
            continue;
        }
        let ScopeRef::Namespace(namespace) = &object.origin.scope else { continue };
        let name = &object.identity.name;
        let secret = build
            .values
            .namespaces
            .get(namespace)
            .and_then(|values| values.namespace.typed.secrets.as_ref()?.get(name));
        let Some(secret) = secret else { continue };
        if secret.sealed_for.as_deref() == Some(certificate.fingerprint.as_str()) {
            continue;
        }
        let recorded = match &secret.sealed_for {
            Some(other) => format!("values record `sealedFor: {other}`"),
            None => "values record no `sealedFor`".into(),
        };
        let key = KeyPath::root().key("secrets").key(name.clone()).key("sealedFor");
        let mut finding = locator
            .finding(
                object,
                SEALED_FOR,
                Severity::Error,
                "spec.encryptedData",
                format!("secret `{name}` is sealed for an unknown key: re-seal with `kiln seal`"),
            )
            .with_help(format!(
                "{recorded}, the declared certificate (`sealing.certificate`) is {}: `kiln seal --namespace {namespace} --name {name} --key <key>` for each key (see README, \"Runbook: sealing a secret\")",
                certificate.fingerprint
            ));
        if let Some(span) = locator.span(&object.origin.scope, &key) {
            finding.span = Some(span);
        }
        findings.push(finding);
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_sha256_hex() {
        assert!(is_fingerprint(&format!("sha256:{}", "a1".repeat(32))));
        assert!(!is_fingerprint(&format!("sha256:{}", "A1".repeat(32))));
        assert!(!is_fingerprint("sha256:abc"));
        assert!(!is_fingerprint(&"a1".repeat(32)));
    }
}

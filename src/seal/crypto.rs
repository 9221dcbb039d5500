//! The Sealed Secrets controller's encryption, done offline for a declared
//! certificate.
//!
//! bitnami-labs/sealed-secrets `pkg/crypto/crypto.go` (`HybridEncrypt`) and
//! `sealed-secrets/docs/developer/crypto.md`: each value gets a fresh 32-byte AES-256-GCM
//! session key; the session key is encrypted with RSA-OAEP (SHA-256, MGF1
//! SHA-256) for the controller's public key, under a *label*; the output is
//! the RSA ciphertext's length as 2 big-endian bytes, the RSA ciphertext, then
//! the GCM output (ciphertext and 16-byte tag) under an all-zero 12-byte
//! nonce, which is safe because the key is used once. `kubeseal --raw`
//! prints that in standard base64, as values hold it.
//!
//! The label binds the ciphertext to where it may be unsealed
//! (`pkg/apis/sealedsecrets/v1alpha1/sealedsecret_expansion.go`,
//! `EncryptionLabel`): `<namespace>/<name>` for the strict scope, `<namespace>`
//! for namespace-wide, empty for cluster-wide. The controller reads the scope
//! from the SealedSecret's own annotations `sealedsecrets.bitnami.com/
//! namespace-wide` and `…/cluster-wide` (`SecretScope` on the object's
//! metadata in `Unseal`), which the template writes from `secrets.<name>.scope`.
//!
//! The certificate is what `kubeseal --fetch-cert` prints and what the
//! controller's key Secret holds as `tls.crt`: a PEM X.509 certificate with
//! an RSA key. Its fingerprint, which values record per secret, is the
//! sha256 of the certificate's DER bytes (as `openssl x509 -outform DER |
//! sha256sum` prints it).

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use rand_core::{OsRng, RngCore};
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, RsaPublicKey};
use sha2::Sha256;
use x509_cert::der::{Decode, Encode};
use x509_cert::Certificate;

use crate::values::secrets::RSA_CIPHERTEXT_BYTES;

/// Where a sealed value may be unsealed (`kubeseal --scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Only as this name in this namespace.
    #[default]
    Strict,
    /// Under any name in this namespace.
    NamespaceWide,
    /// Under any name in any namespace.
    ClusterWide,
}

impl Scope {
    /// The RSA-OAEP label the controller decrypts with.
    pub fn label(self, namespace: &str, name: &str) -> String {
        match self {
            Scope::Strict => format!("{namespace}/{name}"),
            Scope::NamespaceWide => namespace.to_string(),
            Scope::ClusterWide => String::new(),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Strict => "strict",
            Scope::NamespaceWide => "namespace-wide",
            Scope::ClusterWide => "cluster-wide",
        }
    }
}

/// A sealing certificate: the RSA key to seal for and the fingerprint to record.
#[derive(Debug, Clone)]
pub struct SealingCertificate {
    key: RsaPublicKey,
    /// `sha256:<hex of the DER certificate>`.
    pub fingerprint: String,
}

impl SealingCertificate {
    /// Reads a PEM certificate; the error says what is wrong with it.
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        let (label, der) = x509_cert::der::pem::decode_vec(pem.trim().as_bytes())
            .map_err(|error| format!("is not a PEM certificate ({error})"))?;
        if label != "CERTIFICATE" {
            return Err(format!(
                "is a PEM `{label}`, not a `CERTIFICATE` (use the certificate, e.g. `kubeseal --fetch-cert`, never the private key)"
            ));
        }
        let certificate =
            Certificate::from_der(&der).map_err(|error| format!("is not an X.509 certificate ({error})"))?;
        let spki = certificate
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|error| format!("has an unreadable public key ({error})"))?;
        let key = RsaPublicKey::from_public_key_der(&spki)
            .map_err(|_| "does not hold an RSA public key, which the Sealed Secrets controller needs".to_string())?;
        if !RSA_CIPHERTEXT_BYTES.contains(&key.size()) {
            return Err(format!("holds a {}-bit RSA key; sealing keys are 2048, 3072 or 4096 bits", key.size() * 8));
        }
        Ok(SealingCertificate { key, fingerprint: fingerprint(&der) })
    }

    /// The controller's hybrid encryption of `plaintext` for `label`, in
    /// standard base64 as `kubeseal --raw` prints it.
    pub fn seal(&self, plaintext: &[u8], label: &str) -> Result<String, String> {
        let mut session = [0u8; 32];
        OsRng.try_fill_bytes(&mut session).map_err(|error| format!("no randomness from the OS: {error}"))?;
        let wrapped = self
            .key
            .encrypt(&mut OsRng, Oaep::new_with_label::<Sha256, _>(label), &session)
            .map_err(|error| format!("RSA-OAEP failed: {error}"))?;
        let cipher = Aes256Gcm::new_from_slice(&session).map_err(|error| format!("AES-GCM key: {error}"))?;
        let sealed = cipher
            .encrypt(Nonce::from_slice(&[0u8; 12]), plaintext)
            .map_err(|error| format!("AES-GCM failed: {error}"))?;
        let length = u16::try_from(wrapped.len()).map_err(|_| "RSA ciphertext longer than 65535 bytes".to_string())?;
        let mut out = Vec::with_capacity(2 + wrapped.len() + sealed.len());
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(&wrapped);
        out.extend_from_slice(&sealed);
        Ok(base64::engine::general_purpose::STANDARD.encode(out))
    }
}

/// `sha256:<hex>` of a certificate's DER bytes.
pub fn fingerprint(der: &[u8]) -> String {
    format!("sha256:{}", crate::hash::sha256(der))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2048-bit test certificate (`openssl req -x509 -newkey rsa:2048`),
    /// its private key discarded.
    pub const TEST_CERT: &str = include_str!("test-cert.pem");

    #[test]
    fn labels_follow_the_controllers_scopes() {
        assert_eq!(Scope::Strict.label("apps", "db"), "apps/db");
        assert_eq!(Scope::NamespaceWide.label("apps", "db"), "apps");
        assert_eq!(Scope::ClusterWide.label("apps", "db"), "");
    }

    #[test]
    fn sealed_values_have_the_layout_kiln_checks() {
        let certificate = SealingCertificate::from_pem(TEST_CERT).unwrap();
        assert!(certificate.fingerprint.starts_with("sha256:") && certificate.fingerprint.len() == 7 + 64);
        let sealed = certificate.seal(b"hunter2", "apps/db").unwrap();
        assert_eq!(crate::values::secrets::sealed_problem(&sealed), None);
        let bytes = base64::engine::general_purpose::STANDARD.decode(&sealed).unwrap();
        assert_eq!(bytes.len(), 2 + 256 + 7 + 16);
        assert_eq!(bytes.get(..2), Some(&[1u8, 0][..]));
        // A fresh session key each time.
        assert_ne!(sealed, certificate.seal(b"hunter2", "apps/db").unwrap());
    }

    #[test]
    fn what_is_not_an_rsa_certificate_is_refused() {
        assert_eq!(
            SealingCertificate::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").unwrap_err(),
            "is a PEM `PRIVATE KEY`, not a `CERTIFICATE` (use the certificate, e.g. `kubeseal --fetch-cert`, never the private key)"
        );
        assert!(SealingCertificate::from_pem("hello").unwrap_err().starts_with("is not a PEM certificate"));
        assert!(SealingCertificate::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
            .unwrap_err()
            .starts_with("is not an X.509 certificate"));
        assert_eq!(
            SealingCertificate::from_pem(EC_CERT).unwrap_err(),
            "does not hold an RSA public key, which the Sealed Secrets controller needs"
        );
    }

    /// A P-256 certificate (`openssl req -x509 -newkey ec`).
    const EC_CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIBcjCCARegAwIBAgIUaQuEy951afLL8X+70i7zlwCPex0wCgYIKoZIzj0EAwIw\nDTELMAkGA1UEAwwCZWMwIBcNMjYxMjAxMTcwNTEwWhgPMjEyNjExMDcxNzA1MTBa\nMA0xCzAJBgNVBAMMAmVjMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8BDp1CMu\n/dXn4YV0OyDC3mUgKCHIe/o6M8fDkUxfR1VFm1eOe65zpkBXq3dCokXj7gtMTKo1\nNwQ2vk4ULBmMdaNTMFEwHQYDVR0OBBYEFB4A/Prtf8dGGTBT95cQFQuvkiM0MB8G\nA1UdIwQYMBaAFB4A/Prtf8dGGTBT95cQFQuvkiM0MA8GA1UdEwEB/wQFMAMBAf8w\nCgYIKoZIzj0EAwIDSQAwRgIhALqBsBh1/u2A/qVY7Nczsnsq6GaU+bZVuzWHoC1d\nkwd3AiEAmYukuYRUXRstzrctUtnJgJrE4AjeGH1hNXLlG/0yBE8=\n-----END CERTIFICATE-----\n";
}

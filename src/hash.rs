//! The one place kiln hashes: sha256 in lower-case hex, as SHA256SUMS,
//! `kiln.lock`, checksum annotations and the `sha256` filter all write it,
//! and the digest over `<sha256>  <path>` lines that the lock records.

use sha2::{Digest, Sha256};

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

/// Hex sha256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// sha256 over `<sha256>  <path>` lines, the same shape as SHA256SUMS.
pub fn digest_lines<'a>(lines: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut hasher = Sha256::new();
    for (path, sha) in lines {
        hasher.update(format!("{sha}  {path}\n").as_bytes());
    }
    hex(&hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_as_sha256sum_does() {
        // `printf abc | sha256sum`
        assert_eq!(sha256(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(digest_lines([("a", "x")].into_iter()), sha256(b"x  a\n"));
    }
}

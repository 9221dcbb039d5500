//! The syntax of values whose meaning in Kubernetes, k3s or a container
//! runtime has one. Each function returns why `text` is not valid, or `None`.
//!
//! Sources, restated rather than copied:
//! - Label keys, label values, DNS-1123 labels and subdomains, environment
//!   variable names, Secret data keys and port names follow
//!   k8s.io/apimachinery `pkg/util/validation/validation.go`
//!   (`IsQualifiedName`, `IsValidLabelValue`, `IsDNS1123Label`,
//!   `IsDNS1123Subdomain`, `IsEnvVarName`, `IsConfigMapKey`,
//!   `IsValidPortName`, `IsValidPortNum`).
//! - Image references follow distribution/distribution `reference/regexp.go`:
//!   `[domain[:port]/]path[:tag][@digest]`, path components of lower-case
//!   alphanumerics joined by `.`, `_`, `__` or dashes, tags of at most 128
//!   word characters, `.` and `-`, digests `algorithm:hex` of 32 or more hex
//!   digits, and at most 255 characters of name (`NameTotalLengthMax`).
//! - k3s versions are k3s release tags: `v<major>.<minor>.<patch>`, an
//!   optional `-rc<n>`, then `+k3s<n>` (e.g. `v1.31.7+k3s1`).
//! - Container paths (mount paths, writable paths) are kiln's rule on top of
//!   the API server's (non-empty): absolute, at most 4096 bytes (Linux
//!   `PATH_MAX`), no `..` component and no whitespace or control characters,
//!   so a mount lands where the values say and a path stays one word.
//! - Helm chart names follow Helm's convention ("Chart names must be lower
//!   case letters and numbers. Words may be separated with dashes", Helm docs,
//!   Chart Best Practices, General Conventions); chart versions are SemVer 2
//!   ("Every chart must have a version number. A version must follow the
//!   SemVer 2 standard", Helm docs, Charts, The Chart.yaml File), as
//!   semver.org's grammar with an optional leading `v`.
//! - Repository URLs (Helm repositories, OCI registries, the Git repository
//!   Argo CD syncs) are `scheme://host[…]` or scp-like `user@host:path`, with
//!   no whitespace, quotes, backslashes or control characters.
//! - Git revisions follow git-check-ref-format(1) for the characters a
//!   branch, tag or commit can hold: no whitespace, control characters,
//!   `~^:?*[\`, `..` or `@{`.
//! - IP addresses and CIDRs are what Rust's `std::net` parses (dotted-quad
//!   IPv4 without leading zeros, RFC 4291 IPv6) with a prefix length within
//!   the address size.

use std::net::IpAddr;
use std::sync::LazyLock;

use regex::Regex;

const LABEL_CHARS: &str = "letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit";

/// The patterns are constants of this module: one that did not compile would
/// match nothing, and the tests below would fail.
type Pattern = LazyLock<Option<Regex>>;

fn anchored(pattern: &str) -> Option<Regex> {
    Regex::new(&format!("^(?:{pattern})$")).ok()
}

fn matches(pattern: &Pattern, text: &str) -> bool {
    pattern.as_ref().is_some_and(|regex| regex.is_match(text))
}

static QUALIFIED_NAME: Pattern = LazyLock::new(|| anchored("[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"));
static LABEL_VALUE: Pattern = LazyLock::new(|| anchored("([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?"));
static DNS_SUBDOMAIN: Pattern =
    LazyLock::new(|| anchored("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"));
static ENV_NAME: Pattern = LazyLock::new(|| anchored("[-._a-zA-Z][-._a-zA-Z0-9]*"));
static DATA_KEY: Pattern = LazyLock::new(|| anchored("[-._a-zA-Z0-9]+"));
static K3S_VERSION: Pattern = LazyLock::new(|| anchored("v[0-9]+\\.[0-9]+\\.[0-9]+(-rc[0-9]+)?\\+k3s[0-9]+"));
static IMAGE: Pattern = LazyLock::new(|| {
    let component = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
    let domain_part = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    let host = format!("(?:{domain_part}(?:\\.{domain_part})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?");
    let name = format!("(?:{host}/)?{component}(?:/{component})*");
    // Go's `\w` (the grammar's source) is ASCII; Rust's would be Unicode and
    // compile to an automaton a hundred times larger.
    let tag = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}";
    let digest = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
    anchored(&format!("(?P<name>{name})(?::{tag})?(?:@{digest})?"))
});

static CHART_NAME: Pattern = LazyLock::new(|| anchored("[a-z0-9]([-a-z0-9]*[a-z0-9])?"));
static CHART_VERSION: Pattern = LazyLock::new(|| {
    let number = "(?:0|[1-9][0-9]*)";
    let identifier = "(?:[0-9A-Za-z-]+)";
    anchored(&format!("v?{number}\\.{number}\\.{number}(?:-{identifier}(?:\\.{identifier})*)?(?:\\+{identifier}(?:\\.{identifier})*)?"))
});
// Whitespace and control characters are refused in code (`url`): Unicode
// classes would make this automaton far larger than the rest together.
static URL: Pattern =
    LazyLock::new(|| anchored("(?:[a-z][a-z0-9+.-]*://[^\"'\\\\`]+|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\"'\\\\`]+)"));

/// A Helm chart name.
pub fn chart_name(text: &str) -> Option<String> {
    (!matches(&CHART_NAME, text) || text.len() > 250)
        .then(|| "is not a chart name: lower-case letters and digits, words separated by `-`".into())
}

/// A Helm chart version (SemVer 2).
pub fn chart_version(text: &str) -> Option<String> {
    (!matches(&CHART_VERSION, text) || text.len() > 250).then(|| "is not a SemVer 2 version".into())
}

/// A repository URL: `scheme://…` or scp-like `user@host:path`.
pub fn url(text: &str) -> Option<String> {
    let bad_char = |c: char| c.is_whitespace() || c.is_control();
    (!matches(&URL, text) || text.len() > 2048 || text.chars().any(bad_char))
        .then(|| "is not a URL without spaces, quotes or control characters".into())
}

/// A Git branch, tag or commit (git-check-ref-format(1)).
pub fn git_revision(text: &str) -> Option<String> {
    let bad = text.is_empty()
        || text.len() > 255
        || text.contains("..")
        || text.contains("@{")
        || text.starts_with('-')
        || text.chars().any(|c| c.is_whitespace() || c.is_control() || "~^:?*[\\\"'`".contains(c));
    bad.then(|| "is not a Git branch, tag or commit".into())
}

/// A label or annotation key, a taint key: `[prefix/]name`.
pub fn qualified_name(text: &str) -> Option<String> {
    let (prefix, name) = match text.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, text),
    };
    if let Some(prefix) = prefix {
        if let Some(problem) = dns_subdomain(prefix) {
            return Some(format!("has a prefix `{prefix}` that {problem}"));
        }
    }
    if name.is_empty() {
        Some("has an empty name part".into())
    } else if name.len() > 63 {
        Some("has a name part longer than 63 characters".into())
    } else if !matches(&QUALIFIED_NAME, name) {
        Some(format!("must be an optional DNS prefix and `/`, then {LABEL_CHARS}"))
    } else {
        None
    }
}

/// A label value (also a taint or toleration value).
pub fn label_value(text: &str) -> Option<String> {
    if text.len() > 63 {
        Some("is longer than 63 characters".into())
    } else if !matches(&LABEL_VALUE, text) {
        Some(format!("may only hold {LABEL_CHARS}"))
    } else {
        None
    }
}

/// A DNS-1123 subdomain: host names, Ingress hosts, the cluster domain.
pub fn dns_subdomain(text: &str) -> Option<String> {
    if text.is_empty() {
        Some("is empty".into())
    } else if text.len() > 253 {
        Some("is longer than 253 characters".into())
    } else if !matches(&DNS_SUBDOMAIN, text) {
        Some("is not a DNS-1123 subdomain (lower-case letters, digits, `-` and `.`)".into())
    } else {
        None
    }
}

/// A host: an IP address or a DNS-1123 subdomain.
/// All-digit dotted names (`192.168.1.300`) are DNS-1123 subdomains too, but
/// resolvers read them as IPv4 addresses: they must parse as one.
pub fn host(text: &str) -> Option<String> {
    if text.parse::<IpAddr>().is_ok() {
        return None;
    }
    let numeric = text.split('.').all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
    if numeric {
        return Some("is not a valid IPv4 address".into());
    }
    dns_subdomain(text).map(|_| "is neither an IP address nor a DNS-1123 host name".into())
}

pub fn ip_address(text: &str) -> Option<String> {
    text.parse::<IpAddr>().is_err().then(|| "is not an IPv4 or IPv6 address".into())
}

/// `address/prefix`, e.g. `10.0.0.0/8`.
pub fn cidr(text: &str) -> Option<String> {
    let Some((address, prefix)) = text.split_once('/') else {
        return Some("is not a CIDR (`address/prefix`, e.g. `10.0.0.0/8`)".into());
    };
    let Ok(address) = address.parse::<IpAddr>() else {
        return Some(format!("has `{address}`, which is not an IP address"));
    };
    let bits = if address.is_ipv4() { 32 } else { 128 };
    // Digits only: Rust's integer parser would also take `+8`.
    let digits = !prefix.is_empty() && prefix.bytes().all(|b| b.is_ascii_digit());
    match prefix.parse::<u8>() {
        Ok(length) if digits && length <= bits && length.to_string() == prefix => None,
        _ => Some(format!("has prefix length `{prefix}`; it must be a number from 0 to {bits}")),
    }
}

pub fn env_name(text: &str) -> Option<String> {
    (!matches(&ENV_NAME, text)).then(|| {
        "is not an environment variable name (letters, digits, `_`, `-` and `.`, not starting with a digit)".into()
    })
}

/// A key of a Secret's or ConfigMap's data.
pub fn data_key(text: &str) -> Option<String> {
    if text.len() > 253 {
        Some("is longer than 253 characters".into())
    } else if !matches(&DATA_KEY, text) {
        Some("may only hold letters, digits, `-`, `_` and `.`".into())
    } else if text == "." || text == ".." {
        Some("may not be `.` or `..`".into())
    } else {
        None
    }
}

/// A named port (IANA service name): at most 15 lower-case letters, digits
/// and `-`, with a letter, no `-` at either end and no `--`.
pub fn port_name(text: &str) -> Option<String> {
    let valid = !text.is_empty()
        && text.len() <= 15
        && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && text.bytes().any(|b| b.is_ascii_lowercase())
        && !text.starts_with('-')
        && !text.ends_with('-')
        && !text.contains("--");
    (!valid).then(|| {
        "is not a port name (at most 15 lower-case letters, digits and `-`, with a letter, no `-` at either end or twice)"
            .into()
    })
}

pub fn image(text: &str) -> Option<String> {
    let problem = "is not an image reference (`[registry/]repository[:tag][@sha256:digest]`, repository in lower case)";
    match IMAGE.as_ref().and_then(|regex| regex.captures(text)) {
        Some(captures) if captures.name("name").is_some_and(|name| name.as_str().len() <= 255) => None,
        Some(_) => Some("has a repository name longer than 255 characters".into()),
        None => Some(problem.into()),
    }
}

pub fn k3s_version(text: &str) -> Option<String> {
    (!matches(&K3S_VERSION, text))
        .then(|| "is not a k3s release (`v<major>.<minor>.<patch>+k3s<n>`, e.g. `v1.31.7+k3s1`)".into())
}

/// A path inside a container.
pub fn container_path(text: &str) -> Option<String> {
    if !text.starts_with('/') {
        Some("is not an absolute path".into())
    } else if text.len() > 4096 {
        Some("is longer than 4096 bytes".into())
    } else if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some("contains whitespace or a control character".into())
    } else if text.split('/').any(|part| part == "..") {
        Some("contains a `..` component".into())
    } else {
        None
    }
}

/// An HTTP path (probe, Ingress): absolute, one word.
pub fn http_path(text: &str) -> Option<String> {
    if !text.starts_with('/') {
        Some("does not start with `/`".into())
    } else if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some("contains whitespace or a control character".into())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_keys_and_values() {
        assert_eq!(qualified_name("nvidia.com/gpu.present"), None);
        assert_eq!(qualified_name("ai-system/compose-group"), None);
        assert_eq!(qualified_name("app"), None);
        assert!(qualified_name("kind: Secret").is_some());
        assert!(qualified_name("Bad_Prefix/x").is_some());
        assert!(qualified_name("a/").is_some());
        assert!(qualified_name(&"a".repeat(64)).is_some());
        assert_eq!(label_value(""), None);
        assert_eq!(label_value("NVIDIA-GeForce-RTX-4090"), None);
        assert!(label_value("gpu;touch /tmp/x").is_some());
        assert!(label_value("-x").is_some());
        assert!(label_value(&"a".repeat(64)).is_some());
    }

    #[test]
    fn hosts_addresses_and_cidrs() {
        assert_eq!(dns_subdomain("ai.lan"), None);
        assert!(dns_subdomain("AI.lan").is_some());
        assert!(dns_subdomain("a..b").is_some());
        assert_eq!(host("192.168.1.10"), None);
        assert_eq!(host("mainpc.lan"), None);
        assert!(host("mainpc lan").is_some());
        assert_eq!(host("192.168.1.300"), Some("is not a valid IPv4 address".into()));
        assert_eq!(cidr("0.0.0.0/0"), None);
        assert_eq!(cidr("fd00::/8"), None);
        assert!(cidr("10.0.0.0/33").is_some());
        assert!(cidr("10.0.0.0").is_some());
        assert!(cidr("10.0.0.0/+8").is_some());
        assert!(ip_address("10.0.0.256").is_some());
    }

    #[test]
    fn images() {
        for good in [
            "nginx:1.27",
            "pgvector/pgvector:0.8.0-pg16",
            "ghcr.io/ai-system/utility-suite:1.8.2",
            "localhost:5000/a/b@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "[::1]:5000/x:y",
        ] {
            assert_eq!(image(good), None, "{good}");
        }
        for bad in ["Nginx:1", "nginx:1 ; rm", "nginx:", "a//b", "x\n- y", ""] {
            assert!(image(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn k3s_versions_env_names_ports_and_paths() {
        assert_eq!(k3s_version("v1.31.7+k3s1"), None);
        assert_eq!(k3s_version("v1.32.0-rc1+k3s1"), None);
        assert!(k3s_version("v1.31.7+k3s1\"; touch /tmp/x; \"").is_some());
        assert_eq!(env_name("QDRANT__SERVICE__API_KEY"), None);
        assert!(env_name("1X").is_some());
        assert!(env_name("A B").is_some());
        assert_eq!(port_name("http"), None);
        assert!(port_name("HTTP").is_some());
        assert!(port_name("very-long-port-name").is_some());
        assert!(port_name("a--b").is_some());
        assert_eq!(data_key("tls.crt"), None);
        assert!(data_key("a/b").is_some());
        assert_eq!(container_path("/var/lib/postgresql/data"), None);
        assert!(container_path("tmp").is_some());
        assert!(container_path("/tmp\n        - name: evil").is_some());
        assert!(container_path("/a/../etc").is_some());
        assert_eq!(http_path("/healthz"), None);
        assert!(http_path("healthz").is_some());
    }

    #[test]
    fn chart_coordinates_and_revisions() {
        assert_eq!(chart_name("kube-prometheus-stack"), None);
        assert!(chart_name("dcgm-exporter\nkind: Secret").is_some());
        assert!(chart_name("Argo").is_some());
        assert_eq!(chart_version("65.1.1"), None);
        assert_eq!(chart_version("v0.17.0"), None);
        assert_eq!(chart_version("1.0.0-rc.1+build.5"), None);
        assert!(chart_version("1.0").is_some());
        assert!(chart_version("1.0.0 ; id").is_some());
        assert_eq!(url("https://charts.example.com/stable"), None);
        assert_eq!(url("oci://ghcr.io/org/charts"), None);
        assert_eq!(url("git@github.com:org/repo.git"), None);
        assert!(url("https://example.com/a b").is_some());
        assert!(url("https://example.com/\"x").is_some());
        assert!(url("example.com").is_some());
        assert_eq!(git_revision("main"), None);
        assert_eq!(git_revision("release/1.2"), None);
        assert!(git_revision("main\nx").is_some());
        assert!(git_revision("a..b").is_some());
        assert!(git_revision("-x").is_some());
    }
}

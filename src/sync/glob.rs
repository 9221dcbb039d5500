//! The glob patterns of an Application's `directory.include`/`exclude`:
//! Argo CD matches them against each file's path relative to the source path
//! (`reposerver/repository/repository.go` `getPotentiallyValidManifestFile`,
//! `util/glob` over gobwas/glob compiled without separators, so `*` also
//! matches `/`). kiln supports `*`, `?` and one level of `{a,b}`
//! alternatives, the forms Argo CD's user-guide/directory.md documents; a pattern
//! with `[` classes matches nothing here and is reported by the model as
//! unsupported rather than guessed.

/// Whether `pattern` matches `text`; `None` when kiln cannot read the pattern.
pub fn matches(pattern: &str, text: &str) -> Option<bool> {
    if pattern.contains('[') {
        return None;
    }
    Some(alternatives(pattern)?.iter().any(|alternative| simple(alternative.as_bytes(), text.as_bytes())))
}

/// `a{b,c}d` → `abd`, `acd`; nested braces are not supported.
fn alternatives(pattern: &str) -> Option<Vec<String>> {
    let Some(open) = pattern.find('{') else { return Some(vec![pattern.to_string()]) };
    let (head, rest) = pattern.split_at(open);
    let rest = rest.strip_prefix('{')?;
    let close = rest.find('}')?;
    let (inner, tail) = rest.split_at(close);
    let tail = tail.strip_prefix('}')?;
    if inner.contains('{') {
        return None;
    }
    let mut out = Vec::new();
    for choice in inner.split(',') {
        for expanded in alternatives(tail)? {
            out.push(format!("{head}{choice}{expanded}"));
        }
    }
    Some(out)
}

/// `*` (any run of bytes, `/` included) and `?` (one byte), iteratively.
fn simple(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match (pattern.get(p), text.get(t)) {
            (Some(b'*'), _) => {
                star = Some((p, t));
                p += 1;
            }
            (Some(b'?'), Some(_)) => {
                p += 1;
                t += 1;
            }
            (Some(a), Some(b)) if a == b => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern.iter().skip(p).all(|&b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn the_documented_patterns() {
        // Argo CD's user-guide/directory.md
        assert_eq!(matches("*.yaml", "a.yaml"), Some(true));
        assert_eq!(matches("{*.yml,*.yaml}", "a.yml"), Some(true));
        assert_eq!(matches("some-directory/*", "some-directory/a.yaml"), Some(true));
        assert_eq!(matches("{config.json,env-usw2/*}", "env-usw2/x/y.yaml"), Some(true));
        assert_eq!(matches("{config.json,env-usw2/*}", "env-use2/x.yaml"), Some(false));
        assert_eq!(matches("a?c", "abc"), Some(true));
        assert_eq!(matches("[ab].yaml", "a.yaml"), None);
    }
}

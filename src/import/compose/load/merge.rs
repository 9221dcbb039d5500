//! Compose's merge rules (compose-spec 13-merge.md), for `-f` files, an
//! `extends`ed service and a local definition over an `include`d one:
//! mappings merge key by key, sequences append, scalars are replaced, and a
//! null override keeps what it overrides. The exceptions are compose-go's
//! `override/merge.go` table: `command`, `entrypoint`, `healthcheck.test`
//! and `ulimits.*` are replaced; `environment`, `labels`, `annotations`,
//! `dns*`, `env_file`, `label_file`, `sysctls`, `tmpfs`, `build.args`,
//! `build.labels`, `build.additional_contexts`, `deploy.labels` and the
//! `labels` of networks and volumes become `KEY=VALUE` lists and append;
//! `extra_hosts` appends what is new; `depends_on`, `networks` and `models`
//! merge as mappings whatever form each side uses; `build` merges as a
//! mapping (a string is its `context`); `logging` merges when both sides
//! name the same driver, else is replaced; `networks.*.ipam.config` merges
//! by `subnet`.
//!
//! After a merge, lists whose entries have an identity keep one entry per
//! identity, the later one at the earlier one's place (compose-go
//! `override/uncity.go`): `volumes`, `secrets`, `configs` and `devices` by
//! mount target, `ports` by host IP, published port, target and protocol,
//! `expose` by port, `env_file` by path, and `KEY=VALUE` lists by key. The
//! spec names `ports`, `volumes`, `secrets` and `configs` unique resources;
//! two entries of one of those lists with the same identity in one file are
//! refused ([`refuse_duplicates`]), since no override is there to say which
//! one is meant (compose-go would silently keep the later).
//!
//! compose-go's table also names `services.*.volumes.*.volume.labels`
//! (a `KEY=VALUE` list), but its merge never descends into the entries of a
//! list: service `volumes` append, and `EnforceUnicity` then keeps the later
//! entry per mount target whole (`override/merge.go` `MergeYaml`,
//! `override/uncity.go`, at e70e961). So that rule is never reached there,
//! and here too a later entry replaces an earlier one with the same target,
//! its `volume.labels` included.
//!
//! `!reset` removes the key from what it overrides and `!override` replaces
//! without merging (13-merge.md "Reset value", "Replace value"); [`clean`]
//! drops what they leave once a file is merged.

use super::node::{Kind, Node, Tag};
use crate::values::key_path::KeyPath;
use crate::{Error, Result};

/// Merges `over` into `base`; `path` is the key path of both (keys only).
pub fn merge(base: Node, over: Node, path: &[&str]) -> Result<Node> {
    if over.tag == Tag::Override || base.tag == Tag::Reset {
        return Ok(over);
    }
    match rule(path) {
        Rule::Replace => return Ok(over),
        Rule::Append => return Ok(append(to_sequence(base), to_sequence(over), false)),
        Rule::AppendNew => return Ok(append(to_sequence(base), to_sequence(over), true)),
        Rule::DependsOn => return mappings(to_mapping(base, true), to_mapping(over, true), path),
        Rule::Names => return mappings(to_mapping(base, false), to_mapping(over, false), path),
        Rule::Build => return mappings(build(base), build(over), path),
        Rule::Logging => {
            let driver = |node: &Node| node.get("driver").and_then(Node::scalar_text);
            if let (Some(mine), Some(theirs)) = (driver(&base), driver(&over)) {
                if mine != theirs {
                    return Ok(over);
                }
            }
        }
        Rule::Subnets => return subnets(base, over, path),
        Rule::Default => {}
    }
    if over.kind == Kind::Null && over.tag == Tag::None {
        return Ok(base);
    }
    match (&base.kind, &over.kind) {
        (Kind::Map(_), Kind::Map(_)) => mappings(base, over, path),
        (Kind::Seq(_), Kind::Seq(_)) => Ok(append(base, over, false)),
        (Kind::Map(_) | Kind::Seq(_), _) => {
            let shape = |node: &Node| match node.kind {
                Kind::Map(_) => "a mapping",
                Kind::Seq(_) => "a list",
                _ => "a single value",
            };
            Err(Error::Compose {
                location: over.at.location(),
                key_path: key_path(path).to_string(),
                message: format!(
                    "`{}` is {} where it was {} before (at {}); Compose cannot merge the two",
                    key_path(path),
                    shape(&over),
                    shape(&base),
                    base.at.location()
                ),
                help: Some(
                    "write it in the same shape, or tag this one `!override` to replace the earlier value".into(),
                ),
            })
        }
        _ => Ok(over),
    }
}

fn key_path(path: &[&str]) -> KeyPath {
    path.iter().fold(KeyPath::root(), |path, key| path.key(*key))
}

/// Merges two mappings key by key, applying `!reset` and `!override`.
fn mappings(base: Node, over: Node, path: &[&str]) -> Result<Node> {
    let Kind::Map(mut entries) = base.kind else { return Ok(over) };
    let Kind::Map(others) = over.kind else { return Ok(Node { kind: Kind::Map(entries), ..base }) };
    for (key, value) in others {
        let existing = entries.iter().position(|(name, _)| *name == key);
        match (existing, value.tag) {
            (Some(index), Tag::Reset) => {
                entries.remove(index);
            }
            (None, Tag::Reset) => {}
            (Some(index), _) => {
                let Some(slot) = entries.get_mut(index) else { continue };
                let earlier = std::mem::replace(&mut slot.1, Node::new(Kind::Null, value.at.clone()));
                let mut child: Vec<&str> = path.to_vec();
                child.push(&key);
                slot.1 = merge(earlier, value, &child)?;
            }
            (None, _) => entries.push((key, value)),
        }
    }
    Ok(Node { kind: Kind::Map(entries), at: over.at, tag: Tag::None, unresolved: over.unresolved })
}

fn append(base: Node, over: Node, only_new: bool) -> Node {
    let Kind::Seq(mut items) = base.kind else { return over };
    let Kind::Seq(others) = over.kind else { return Node { kind: Kind::Seq(items), ..base } };
    for item in others {
        if !(only_new && items.iter().any(|existing| existing.kind == item.kind)) {
            items.push(item);
        }
    }
    Node { kind: Kind::Seq(items), at: over.at, tag: Tag::None, unresolved: over.unresolved }
}

/// A mapping as a `KEY=VALUE` list, sorted as compose-go sorts it (a null
/// value is the bare key; a list value gives one entry per item).
fn to_sequence(node: Node) -> Node {
    let Kind::Map(entries) = node.kind else {
        return match node.kind {
            Kind::Seq(_) => node,
            Kind::Null => Node { kind: Kind::Seq(Vec::new()), ..node },
            _ => Node { kind: Kind::Seq(vec![node.clone()]), ..node },
        };
    };
    let mut items: Vec<Node> = Vec::new();
    for (key, value) in entries {
        let entry = |text: String| Node { kind: Kind::Str(text), ..value.clone() };
        match &value.kind {
            Kind::Null => items.push(entry(key.clone())),
            Kind::Seq(list) => {
                for item in list {
                    items.push(entry(format!("{key}={}", item.scalar_text().unwrap_or_default())));
                }
            }
            _ => items.push(entry(format!("{key}={}", value.scalar_text().unwrap_or_default()))),
        }
    }
    items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    Node { kind: Kind::Seq(items), ..node }
}

/// A list of names as a mapping: `depends_on` entries get Compose's defaults.
fn to_mapping(node: Node, depends_on: bool) -> Node {
    let Kind::Seq(items) = node.kind else { return node };
    let entries = items
        .into_iter()
        .filter_map(|item| {
            let name = item.scalar_text()?;
            let value = if depends_on {
                let field = |text: Kind| Node::new(text, item.at.clone());
                Node::new(
                    Kind::Map(vec![
                        ("condition".into(), field(Kind::Str("service_started".into()))),
                        ("required".into(), field(Kind::Bool(true))),
                    ]),
                    item.at.clone(),
                )
            } else {
                Node::new(Kind::Null, item.at.clone())
            };
            Some((name, value))
        })
        .collect();
    Node { kind: Kind::Map(entries), ..node }
}

fn build(node: Node) -> Node {
    match node.kind {
        Kind::Str(_) => {
            let at = node.at.clone();
            Node { kind: Kind::Map(vec![("context".into(), node)]), at, tag: Tag::None, unresolved: Vec::new() }
        }
        _ => node,
    }
}

fn subnets(base: Node, over: Node, path: &[&str]) -> Result<Node> {
    let Kind::Seq(mut items) = base.kind else { return Ok(over) };
    let Kind::Seq(others) = over.kind else { return Ok(Node { kind: Kind::Seq(items), ..base }) };
    for item in others {
        let subnet = item.get("subnet").and_then(Node::scalar_text);
        match items
            .iter()
            .position(|existing| subnet.is_some() && existing.get("subnet").and_then(Node::scalar_text) == subnet)
        {
            Some(index) => {
                let earlier = items.remove(index);
                items.insert(index, mappings(earlier, item, path)?);
            }
            None => items.push(item),
        }
    }
    Ok(Node { kind: Kind::Seq(items), at: over.at, tag: Tag::None, unresolved: Vec::new() })
}

enum Rule {
    Default,
    Replace,
    Append,
    AppendNew,
    DependsOn,
    Names,
    Build,
    Logging,
    Subnets,
}

fn rule(path: &[&str]) -> Rule {
    match path {
        ["services", _, key] => match *key {
            "command" | "entrypoint" => Rule::Replace,
            "annotations" | "dns" | "dns_opt" | "dns_search" | "env_file" | "label_file" | "environment" | "labels"
            | "sysctls" | "tmpfs" => Rule::Append,
            "extra_hosts" => Rule::AppendNew,
            "depends_on" => Rule::DependsOn,
            "networks" | "models" => Rule::Names,
            "build" => Rule::Build,
            "logging" => Rule::Logging,
            _ => Rule::Default,
        },
        ["services", _, "healthcheck", "test"] | ["services", _, "ulimits", _] => Rule::Replace,
        ["services", _, "build", "args" | "additional_contexts" | "labels"]
        | ["services", _, "deploy", "labels"]
        | ["networks" | "volumes", _, "labels"] => Rule::Append,
        ["services", _, "build", "extra_hosts"] => Rule::AppendNew,
        ["networks", _, "ipam", "config"] => Rule::Subnets,
        _ => Rule::Default,
    }
}

/// The identity of an entry of the list at `path` (keys only), for lists
/// whose entries have one.
fn identity(path: &[&str], item: &Node) -> Option<String> {
    let text = || item.scalar_text();
    let target = || item.get("target").and_then(Node::scalar_text);
    match path {
        // `source:target[:mode]`, or a bare target; the target is the identity.
        ["services", _, "volumes" | "devices"] => match &item.kind {
            Kind::Map(_) => target(),
            _ => {
                let text = text()?;
                let mut parts = text.split(':');
                let first = parts.next().unwrap_or_default().to_string();
                Some(parts.next().map_or(first, str::to_string))
            }
        },
        ["services", _, "secrets"] => mount(item, "/run/secrets"),
        ["services", _, "configs"] => mount(item, ""),
        ["services", _, "ports"] => match &item.kind {
            Kind::Map(_) => {
                let field = |key: &str, default: &str| {
                    item.get(key).and_then(Node::scalar_text).unwrap_or_else(|| default.to_string())
                };
                Some(format!(
                    "{}:{}:{}/{}",
                    field("host_ip", "0.0.0.0"),
                    field("published", ""),
                    field("target", ""),
                    field("protocol", "tcp")
                ))
            }
            _ => text(),
        },
        ["services", _, "expose"] => text(),
        ["services", _, "env_file"] => match &item.kind {
            Kind::Map(_) => item.get("path").and_then(Node::scalar_text),
            _ => text(),
        },
        ["services", _, "annotations" | "cap_add" | "cap_drop" | "dns" | "dns_opt" | "dns_search" | "environment" | "labels"
        | "links" | "profiles" | "sysctls" | "tmpfs"]
        | ["services", _, "build", "args" | "additional_contexts" | "platforms" | "tags" | "labels"]
        | ["services", _, "deploy", "labels"]
        | ["services", _, "networks", _, "aliases" | "link_local_ips"]
        | ["networks", _, "labels"]
        | ["networks", _, "ipam", "options"] => {
            let text = item.as_str()?;
            Some(text.split_once('=').map_or(text, |(key, _)| key).to_string())
        }
        _ => None,
    }
}

fn mount(item: &Node, directory: &str) -> Option<String> {
    match &item.kind {
        Kind::Map(_) => item
            .get("target")
            .and_then(Node::scalar_text)
            .or_else(|| Some(format!("{directory}/{}", item.get("source")?.scalar_text()?))),
        _ => Some(format!("{directory}/{}", item.scalar_text()?)),
    }
}

/// Keeps one entry per identity in every list that has identities, the
/// later entry at the earlier's place.
pub fn enforce_unicity(node: &mut Node, path: &mut Vec<String>) {
    match &mut node.kind {
        Kind::Map(entries) => {
            for (key, value) in entries.iter_mut() {
                path.push(key.clone());
                enforce_unicity(value, path);
                path.pop();
            }
        }
        Kind::Seq(items) => {
            let keys: Vec<&str> = path.iter().map(String::as_str).collect();
            let mut kept: Vec<Node> = Vec::with_capacity(items.len());
            let mut seen: Vec<(String, usize)> = Vec::new();
            for item in std::mem::take(items) {
                match identity(&keys, &item) {
                    Some(id) => match seen.iter().find(|(known, _)| *known == id) {
                        Some(&(_, index)) => {
                            if let Some(slot) = kept.get_mut(index) {
                                *slot = item;
                            }
                        }
                        None => {
                            seen.push((id, kept.len()));
                            kept.push(item);
                        }
                    },
                    None => kept.push(item),
                }
            }
            *items = kept;
        }
        _ => {}
    }
}

/// Refuses two `ports`, `volumes`, `secrets` or `configs` entries of one
/// service, in one file, with the same identity.
pub fn refuse_duplicates(document: &Node) -> Result<()> {
    let Some(services) = document.get("services") else { return Ok(()) };
    for (name, service) in services.entries() {
        for list in ["volumes", "ports", "secrets", "configs"] {
            let Some(items) = service.get(list) else { continue };
            let mut seen: Vec<(String, usize)> = Vec::new();
            for (index, item) in items.items().iter().enumerate() {
                let Some(id) = identity(&["services", name, list], item) else { continue };
                if let Some((_, first)) = seen.iter().find(|(known, _)| *known == id) {
                    let what = match list {
                        "ports" => format!("port `{id}`"),
                        _ => format!("target `{id}`"),
                    };
                    let first_at = items.items().get(*first).map(|node| node.at.location());
                    let path = KeyPath::root().key("services").key(name.clone()).key(list);
                    return Err(Error::Compose {
                        location: item.at.location(),
                        key_path: path.index(index).to_string(),
                        message: format!(
                            "service `{name}` lists {what} twice in `{list}` (first as {}{})",
                            path.index(*first),
                            first_at.map(|at| format!(" at {at}")).unwrap_or_default()
                        ),
                        help: Some(
                            "keep one of the two entries; to change an entry from another file, override it there"
                                .into(),
                        ),
                    });
                }
                seen.push((id, index));
            }
        }
    }
    Ok(())
}

/// Drops what `!reset` left (its nodes, in mappings and lists) and clears
/// the merge tags, once a file's model is merged.
pub fn clean(node: &mut Node) {
    node.tag = Tag::None;
    match &mut node.kind {
        Kind::Map(entries) => {
            entries.retain(|(_, value)| value.tag != Tag::Reset);
            for (_, value) in entries.iter_mut() {
                clean(value);
            }
        }
        Kind::Seq(items) => {
            items.retain(|item| item.tag != Tag::Reset);
            for item in items.iter_mut() {
                clean(item);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::sync::Arc;

    fn doc(text: &str) -> Node {
        let file: Arc<Path> = Arc::from(Path::new("compose.yaml"));
        super::super::parse::parse(&file, text.as_bytes()).unwrap().remove(0)
    }

    fn merged(base: &str, over: &str) -> serde_yaml::Value {
        let mut node = merge(doc(base), doc(over), &[]).unwrap();
        enforce_unicity(&mut node, &mut Vec::new());
        clean(&mut node);
        node.to_value()
    }

    fn yaml(text: &str) -> serde_yaml::Value {
        serde_yaml::from_str(text).unwrap()
    }

    #[test]
    fn mappings_merge_sequences_append_scalars_are_replaced() {
        assert_eq!(
            merged(
                "services:\n  foo:\n    key1: a\n    key2: b\n    dns: [1.1.1.1]\n",
                "services:\n  foo:\n    key2: B\n    key3: c\n    dns: [8.8.8.8]\n"
            ),
            yaml("services:\n  foo:\n    key1: a\n    key2: B\n    dns: [1.1.1.1, 8.8.8.8]\n    key3: c\n")
        );
    }

    #[test]
    fn shell_commands_are_replaced() {
        assert_eq!(
            merged(
                "services:\n  foo:\n    command: [echo, foo]\n    entrypoint: a\n    healthcheck: {test: [CMD, a], retries: 1}\n",
                "services:\n  foo:\n    command: [echo, bar]\n    entrypoint: [b]\n    healthcheck: {test: [CMD, b]}\n"
            ),
            yaml("services:\n  foo:\n    command: [echo, bar]\n    entrypoint: [b]\n    healthcheck: {test: [CMD, b], retries: 1}\n")
        );
    }

    #[test]
    fn unique_resources_merge_by_identity() {
        assert_eq!(
            merged(
                "services:\n  foo:\n    volumes: ['foo:/work', '/x:/x']\n    ports: ['8080:80', {target: 81, published: 9090}]\n",
                "services:\n  foo:\n    volumes: ['bar:/work']\n    ports: ['8080:80', {target: 81, published: 9090, protocol: tcp}, '443']\n"
            ),
            yaml("services:\n  foo:\n    volumes: ['bar:/work', '/x:/x']\n    ports: ['8080:80', {target: 81, published: 9090, protocol: tcp}, '443']\n")
        );
    }

    #[test]
    fn a_volume_entry_with_the_same_target_replaces_the_earlier_one_labels_included() {
        assert_eq!(
            merged(
                "services:\n  foo:\n    volumes:\n      - {type: volume, source: a, target: /data, volume: {labels: {x: '1', y: '2'}}}\n",
                "services:\n  foo:\n    volumes:\n      - {type: volume, source: a, target: /data, volume: {labels: [x=3]}}\n"
            ),
            yaml("services:\n  foo:\n    volumes:\n      - {type: volume, source: a, target: /data, volume: {labels: [x=3]}}\n")
        );
    }

    #[test]
    fn key_value_maps_become_lists_keyed_by_name() {
        assert_eq!(
            merged(
                "services:\n  foo:\n    environment: {B: 1, A: x, C: null}\n    labels: [a=1]\n",
                "services:\n  foo:\n    environment: [A=y, D=2]\n    labels: {a: 2, b: 3}\n"
            ),
            yaml("services:\n  foo:\n    environment: [A=y, B=1, C, D=2]\n    labels: [a=2, b=3]\n")
        );
    }

    #[test]
    fn depends_on_and_networks_merge_as_mappings() {
        assert_eq!(
            merged(
                "services:\n  foo:\n    depends_on: [db]\n    networks: [front]\n",
                "services:\n  foo:\n    depends_on:\n      cache: {condition: service_healthy}\n    networks:\n      back: {aliases: [x]}\n"
            ),
            yaml("services:\n  foo:\n    depends_on:\n      db: {condition: service_started, required: true}\n      cache: {condition: service_healthy}\n    networks:\n      front: null\n      back: {aliases: [x]}\n")
        );
    }

    #[test]
    fn build_logging_and_extra_hosts() {
        assert_eq!(
            merged(
                "services:\n  foo:\n    build: ./dir\n    logging: {driver: json-file, options: {a: 1}}\n    extra_hosts: ['a:1.1.1.1']\n",
                "services:\n  foo:\n    build: {dockerfile: D}\n    logging: {driver: syslog}\n    extra_hosts: ['a:1.1.1.1', 'b:2.2.2.2']\n"
            ),
            yaml("services:\n  foo:\n    build: {context: ./dir, dockerfile: D}\n    logging: {driver: syslog}\n    extra_hosts: ['a:1.1.1.1', 'b:2.2.2.2']\n")
        );
    }

    #[test]
    fn reset_removes_and_override_replaces() {
        assert_eq!(
            merged(
                "services:\n  app:\n    image: myapp\n    ports: ['8080:80']\n    environment: {FOO: BAR}\n    volumes: ['a:/a']\n",
                "services:\n  app:\n    image: myapp\n    ports: !reset []\n    environment:\n      FOO: !reset null\n    volumes: !override ['b:/b']\n    new: !reset x\n"
            ),
            yaml("services:\n  app:\n    image: myapp\n    environment: []\n    volumes: ['b:/b']\n")
        );
    }

    #[test]
    fn a_null_override_keeps_the_value() {
        assert_eq!(merged("a: {b: 1}\n", "a: {b: null}\n"), yaml("a: {b: 1}\n"));
    }

    #[test]
    fn shapes_that_cannot_merge_are_refused_with_both_places() {
        let error =
            merge(doc("services:\n  web:\n    ports: [80]\n"), doc("services:\n  web:\n    ports: {a: 1}\n"), &[])
                .unwrap_err()
                .to_string();
        assert_eq!(
            error,
            "error: `services.web.ports` is a mapping where it was a list before (at compose.yaml:3:5); Compose cannot merge the two\n  --> compose.yaml:3:5\n  = key: services.web.ports\n  = help: write it in the same shape, or tag this one `!override` to replace the earlier value"
        );
    }

    #[test]
    fn the_same_volume_target_twice_in_one_file_is_refused() {
        let error = refuse_duplicates(&doc("services:\n  web:\n    volumes:\n      - data:/data\n      - type: bind\n        source: ./d\n        target: /data\n")).unwrap_err().to_string();
        assert_eq!(
            error,
            "error: service `web` lists target `/data` twice in `volumes` (first as services.web.volumes[0] at compose.yaml:4:9)\n  --> compose.yaml:5:9\n  = key: services.web.volumes[1]\n  = help: keep one of the two entries; to change an entry from another file, override it there"
        );
        assert!(refuse_duplicates(&doc(
            "services:\n  web:\n    ports: ['80:80', '81:80']\n    secrets: [a, {source: a, target: b}]\n"
        ))
        .is_ok());
        assert!(refuse_duplicates(&doc("services:\n  web:\n    secrets: [a, {source: b, target: /run/secrets/a}]\n"))
            .is_err());
    }
}

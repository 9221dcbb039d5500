//! `ports` and `expose` → the workload's named ports, which kiln renders as
//! container ports and a ClusterIP Service.
//!
//! Compose (compose-spec `05-services.md` "ports"): the short form
//! `[HOST:]CONTAINER[/PROTOCOL]` with `HOST` as `[IP:](port | range)` and
//! ranges `3000-3005`; the long form `{target, published, host_ip,
//! protocol, mode, name, app_protocol}`; `expose` lists container ports
//! only. Inside the cluster clients reach the container port through the
//! Service, as they did through the compose network, so that port is
//! what is mapped. Publishing on the host (`published`, `host_ip`,
//! `mode: host`) has no ClusterIP equivalent and is reported with the
//! alternatives (`service.type`, `ingress`).
//!
//! Port names must be IANA service names (Kubernetes `validation.
//! IsValidPortName`: at most 15 lowercase letters, digits and `-`, a letter
//! among them, no `-` at either end or twice in a row); a long-form `name`
//! that is one is kept, others become `<protocol>-<port>` (`tcp-8080`).

use serde_yaml::Value;

use super::report::Status;
use super::service::{text, Ctx};
use crate::values::schema::{Port, Workload};
use crate::Result;

/// A range wider than this is refused: it would be that many Service ports.
const MAX_RANGE: u32 = 100;

pub fn map(ctx: &mut Ctx<'_>, workload: &mut Workload) -> Result<()> {
    let mut ports: Vec<Port> = Vec::new();
    if let Some(list) = ctx.take("ports") {
        for (index, entry) in list.as_sequence().into_iter().flatten().enumerate() {
            let at = format!("ports[{index}]");
            let parsed = match entry {
                Value::Mapping(long) => long_form(ctx, &at, long)?,
                other => short_form(ctx, &at, &text(other).unwrap_or_default())?,
            };
            for port in parsed {
                add(&mut ports, port);
            }
        }
    }
    if let Some(list) = ctx.take("expose") {
        for (index, entry) in list.as_sequence().into_iter().flatten().enumerate() {
            let at = format!("expose[{index}]");
            let written = text(entry).unwrap_or_default();
            let (range, protocol) = written.split_once('/').unwrap_or((written.as_str(), "tcp"));
            for port in expand(ctx, &at, range)? {
                add(&mut ports, named(None, port, protocol));
            }
        }
    }
    if !ports.is_empty() {
        workload.ports = Some(ports);
    }
    Ok(())
}

fn add(ports: &mut Vec<Port>, port: Port) {
    if !ports.iter().any(|p| p.port == port.port && p.protocol == port.protocol) {
        ports.push(port);
    }
}

fn short_form(ctx: &mut Ctx<'_>, at: &str, written: &str) -> Result<Vec<Port>> {
    let (binding, protocol) = written.rsplit_once('/').unwrap_or((written, "tcp"));
    // An IPv6 host address is bracketed: `[::1]:8080:80`.
    let (host_ip, rest) = match binding.strip_prefix('[').and_then(|rest| rest.split_once("]:")) {
        Some((ip, rest)) => (Some(ip.to_string()), rest),
        None => (None, binding),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (host_ip, published, container) = match parts.as_slice() {
        [container] => (host_ip, None, *container),
        [published, container] => (host_ip, Some(*published), *container),
        [ip, published, container] => (Some(ip.to_string()), Some(*published), *container),
        _ => {
            return Err(ctx.invalid(
                at,
                format!("`{written}` is not a port mapping"),
                "write `CONTAINER`, `HOST:CONTAINER` or `IP:HOST:CONTAINER`",
            ))
        }
    };
    let ports = expand(ctx, at, container)?;
    report_host(ctx, at, host_ip.as_deref(), published.filter(|p| !p.is_empty()), written);
    Ok(ports.into_iter().map(|port| named(None, port, protocol)).collect())
}

fn long_form(ctx: &mut Ctx<'_>, at: &str, long: &serde_yaml::Mapping) -> Result<Vec<Port>> {
    let Some(target) = long.get("target").and_then(text) else {
        return Err(ctx.invalid(at, "a long-form port needs `target`", "write `{target: 80, published: 8080}`"));
    };
    let protocol = long.get("protocol").and_then(text).unwrap_or_else(|| "tcp".into());
    let ports = expand(ctx, at, &target)?;
    let host_ip = long.get("host_ip").and_then(text);
    let published = long.get("published").and_then(text);
    if long.get("mode").and_then(text).as_deref() == Some("host") {
        ctx.report(
            &format!("{at}.mode"),
            Status::Dropped,
            "`mode: host` binds the node's port (hostPort), which restricted pod security forbids",
        );
    }
    if let Some(app) = long.get("app_protocol").and_then(text) {
        ctx.report(
            &format!("{at}.app_protocol"),
            Status::Dropped,
            format!("kiln's Service ports have no appProtocol (`{app}`)"),
        );
    }
    report_host(ctx, at, host_ip.as_deref(), published.as_deref(), &target);
    let name = long.get("name").and_then(text);
    Ok(ports.into_iter().map(|port| named(name.as_deref(), port, &protocol)).collect())
}

fn report_host(ctx: &mut Ctx<'_>, at: &str, host_ip: Option<&str>, published: Option<&str>, written: &str) {
    if published.is_none() && host_ip.is_none() {
        return;
    }
    let on = match (host_ip, published) {
        (Some(ip), Some(port)) => format!("{ip}:{port}"),
        (Some(ip), None) => format!("{ip}:<random>"),
        (None, Some(port)) => format!("port {port}"),
        (None, None) => String::new(),
    };
    ctx.report(
        at,
        Status::Approximated,
        format!("`{written}` publishes on the host ({on}): in the cluster the ClusterIP Service serves the container port; reach it from outside with `ingress` or `service.type`"),
    );
}

/// `8080` or `3000-3005` as port numbers.
fn expand(ctx: &Ctx<'_>, at: &str, written: &str) -> Result<Vec<u16>> {
    let bad = || {
        ctx.invalid(
            at,
            format!("`{written}` is not a port or a port range"),
            "write a port (1-65535) or a range such as `3000-3005`",
        )
    };
    let number = |text: &str| text.trim().parse::<u16>().ok().filter(|port| *port > 0);
    let (start, end) = match written.split_once('-') {
        Some((start, end)) => (number(start).ok_or_else(bad)?, number(end).ok_or_else(bad)?),
        None => {
            let port = number(written).ok_or_else(bad)?;
            (port, port)
        }
    };
    if end < start || u32::from(end - start) >= MAX_RANGE {
        return Err(ctx.invalid(
            at,
            format!("`{written}` is a range kiln cannot expand into Service ports"),
            format!("list at most {MAX_RANGE} ports, lowest first"),
        ));
    }
    Ok((start..=end).collect())
}

fn named(name: Option<&str>, port: u16, protocol: &str) -> Port {
    let protocol = protocol.to_ascii_lowercase();
    let name = name.filter(|name| is_port_name(name)).map_or_else(|| format!("{protocol}-{port}"), str::to_string);
    Port { name: Some(name), port: Some(port), protocol: (protocol != "tcp").then(|| protocol.to_ascii_uppercase()) }
}

/// Kubernetes `IsValidPortName` (an IANA_SVC_NAME).
pub fn is_port_name(name: &str) -> bool {
    (1..=15).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && name.bytes().any(|b| b.is_ascii_lowercase())
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::compose::project::{Project, Service};

    type Named = (String, u16, Option<String>);

    fn mapped(yaml: &str) -> (Vec<Named>, Vec<String>) {
        let project = Project::default();
        let service =
            Service { name: "web".into(), definition: serde_yaml::from_str(yaml).unwrap(), ..Service::default() };
        let mut ctx = Ctx::new(&project, &service);
        let mut workload = Workload::default();
        map(&mut ctx, &mut workload).unwrap();
        let ports = workload
            .ports
            .unwrap_or_default()
            .into_iter()
            .map(|p| (p.name.unwrap(), p.port.unwrap(), p.protocol))
            .collect();
        (ports, ctx.entries.iter().map(|e| format!("{}: {}", e.key, e.message)).collect())
    }

    #[test]
    fn short_long_and_expose_become_named_ports() {
        let (ports, _) =
            mapped("ports: [\"80\", 9090, \"53:53/udp\", {target: 7860, name: ui}]\nexpose: [\"6379\", \"80\"]");
        assert_eq!(
            ports,
            [
                ("tcp-80".into(), 80, None),
                ("tcp-9090".into(), 9090, None),
                ("udp-53".into(), 53, Some("UDP".into())),
                ("ui".into(), 7860, None),
                ("tcp-6379".into(), 6379, None)
            ]
        );
        let (ports, _) = mapped("expose: [\"3000-3002\"]");
        assert_eq!(ports.len(), 3);
    }

    #[test]
    fn host_bindings_are_reported() {
        let (ports, report) = mapped("ports: [\"127.0.0.1:8080:80\", \"[::1]:9000:9000\"]");
        assert_eq!(ports.len(), 2);
        assert_eq!(
            report[0],
            "services.web.ports[0]: `127.0.0.1:8080:80` publishes on the host (127.0.0.1:8080): in the cluster the ClusterIP Service serves the container port; reach it from outside with `ingress` or `service.type`"
        );
        assert!(report[1].contains("(::1:9000)"), "{}", report[1]);
    }

    #[test]
    fn port_names_follow_kubernetes() {
        assert!(is_port_name("http") && is_port_name("tcp-8080"));
        assert!(
            !is_port_name("8080")
                && !is_port_name("a--b")
                && !is_port_name("Http")
                && !is_port_name("much-too-long-name")
        );
    }
}

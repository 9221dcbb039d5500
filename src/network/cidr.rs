//! CIDR blocks and the address ranges NetworkPolicy `ipBlock`s cover.
//!
//! An `ipBlock` allows `cidr` minus each of its `except` blocks
//! (`networking/v1` `IPBlock`: "except is a slice of CIDRs that should not be
//! included within an IPBlock"). Whether a set of blocks lets a pod reach a
//! destination is a question of interval coverage: the destination's
//! addresses must lie in the union of what the blocks allow. A hostname has
//! no address kiln can know offline, so it stands for the whole public IPv4
//! internet: every unicast address outside the special-purpose ranges of the
//! IANA IPv4 Special-Purpose Address Registry (RFC 6890 and its updates). k3s
//! clusters are single-stack IPv4 unless configured otherwise (k3s docs,
//! "Dual-stack"), so that is what a pod resolving a public name connects to.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An address family's block, `address/prefix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr {
    v6: bool,
    /// The first address, as a number in the family's space.
    start: u128,
    prefix: u8,
}

impl Cidr {
    fn bits(v6: bool) -> u8 {
        if v6 {
            128
        } else {
            32
        }
    }

    /// The last address of the block.
    fn end(&self) -> u128 {
        let host_bits = u32::from(Cidr::bits(self.v6) - self.prefix);
        self.start | low_mask(host_bits)
    }

    fn interval(&self) -> Interval {
        Interval { v6: self.v6, start: self.start, end: self.end() }
    }
}

/// The low `bits` bits set.
fn low_mask(bits: u32) -> u128 {
    match bits {
        0 => 0,
        128.. => u128::MAX,
        bits => (1u128 << bits) - 1,
    }
}

impl FromStr for Cidr {
    type Err = String;

    /// `10.0.0.0/8`, `2001:db8::/32`. Host bits are cleared, as Go's
    /// `net.ParseCIDR`, which the API server and the policy controllers use,
    /// reads `10.0.0.1/8` as the network `10.0.0.0/8`.
    fn from_str(text: &str) -> Result<Cidr, String> {
        let (address, prefix) =
            text.split_once('/').ok_or_else(|| format!("`{text}` is not a CIDR (address/prefix)"))?;
        let address: IpAddr = address.parse().map_err(|_| format!("`{text}` does not start with an IP address"))?;
        let v6 = address.is_ipv6();
        let prefix: u8 = prefix.parse().ok().filter(|prefix| *prefix <= Cidr::bits(v6)).ok_or_else(|| {
            format!("`{text}` has no valid prefix length (0–{} for IPv{})", Cidr::bits(v6), if v6 { 6 } else { 4 })
        })?;
        let start = match address {
            IpAddr::V4(v4) => u128::from(u32::from(v4)),
            IpAddr::V6(v6) => u128::from(v6),
        };
        Ok(Cidr { v6, start: start & !low_mask(u32::from(Cidr::bits(v6) - prefix)), prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let address = if self.v6 {
            IpAddr::from(std::net::Ipv6Addr::from(self.start))
        } else {
            IpAddr::from(std::net::Ipv4Addr::from(u32::try_from(self.start).unwrap_or(u32::MAX)))
        };
        write!(f, "{address}/{}", self.prefix)
    }
}

/// An inclusive address range of one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Interval {
    v6: bool,
    start: u128,
    end: u128,
}

/// `intervals` minus `cut`.
fn subtract(intervals: Vec<Interval>, cut: Interval) -> Vec<Interval> {
    let mut out = Vec::with_capacity(intervals.len() + 1);
    for interval in intervals {
        if interval.v6 != cut.v6 || cut.end < interval.start || interval.end < cut.start {
            out.push(interval);
            continue;
        }
        if interval.start < cut.start {
            out.push(Interval { end: cut.start - 1, ..interval });
        }
        if cut.end < interval.end {
            out.push(Interval { start: cut.end + 1, ..interval });
        }
    }
    out
}

/// Sorted, merged (touching or overlapping ranges joined).
fn merge(mut intervals: Vec<Interval>) -> Vec<Interval> {
    intervals.sort();
    let mut merged: Vec<Interval> = Vec::with_capacity(intervals.len());
    for interval in intervals {
        match merged.last_mut() {
            Some(last) if last.v6 == interval.v6 && interval.start <= last.end.saturating_add(1) => {
                last.end = last.end.max(interval.end);
            }
            _ => merged.push(interval),
        }
    }
    merged
}

/// What one `ipBlock` allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub cidr: Cidr,
    pub except: Vec<Cidr>,
}

impl Block {
    fn intervals(&self) -> Vec<Interval> {
        self.except.iter().fold(vec![self.cidr.interval()], |left, except| subtract(left, except.interval()))
    }
}

/// Where a connection goes outside the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum External {
    /// Explicit addresses.
    Cidr(Cidr),
    /// A hostname: any public IPv4 address.
    Internet,
}

impl External {
    fn intervals(&self) -> Vec<Interval> {
        match self {
            External::Cidr(cidr) => vec![cidr.interval()],
            External::Internet => public_ipv4(),
        }
    }
}

/// Whether the union of `blocks` covers every address of `destination`.
pub fn covers<'b>(blocks: impl IntoIterator<Item = &'b Block>, destination: &External) -> bool {
    let allowed = merge(blocks.into_iter().flat_map(Block::intervals).collect());
    destination.intervals().iter().all(|wanted| {
        allowed.iter().any(|range| range.v6 == wanted.v6 && range.start <= wanted.start && wanted.end <= range.end)
    })
}

/// IPv4 blocks that are not the public internet (IANA IPv4 Special-Purpose
/// Address Registry): "this network", private-use (RFC 1918), shared address
/// space (RFC 6598, carrier-grade NAT), loopback, link-local, IETF protocol
/// assignments, documentation, benchmarking, multicast and reserved.
const SPECIAL_IPV4: [&str; 14] = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
];

fn public_ipv4() -> Vec<Interval> {
    let all = Interval { v6: false, start: 0, end: u128::from(u32::MAX) };
    SPECIAL_IPV4
        .iter()
        .filter_map(|text| text.parse::<Cidr>().ok())
        .fold(vec![all], |left, special| subtract(left, special.interval()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(text: &str) -> Cidr {
        text.parse().unwrap()
    }

    fn block(cidr_text: &str, except: &[&str]) -> Block {
        Block { cidr: cidr(cidr_text), except: except.iter().map(|text| cidr(text)).collect() }
    }

    #[test]
    fn parses_and_prints_both_families() {
        assert_eq!(cidr("10.42.0.0/16").to_string(), "10.42.0.0/16");
        assert_eq!(cidr("2001:db8::/32").to_string(), "2001:db8::/32");
        assert_eq!(cidr("0.0.0.0/0").to_string(), "0.0.0.0/0");
        assert_eq!(cidr("1.2.3.4/32").to_string(), "1.2.3.4/32");
        assert_eq!(cidr("10.0.0.1/8").to_string(), "10.0.0.0/8");
    }

    #[test]
    fn refuses_what_is_not_a_cidr() {
        assert_eq!("10.0.0.1".parse::<Cidr>().unwrap_err(), "`10.0.0.1` is not a CIDR (address/prefix)");
        assert_eq!(
            "10.0.0.0/33".parse::<Cidr>().unwrap_err(),
            "`10.0.0.0/33` has no valid prefix length (0–32 for IPv4)"
        );
        assert_eq!("db/8".parse::<Cidr>().unwrap_err(), "`db/8` does not start with an IP address");
    }

    /// The Kubernetes docs' example: 172.17.0.0/16 except 172.17.1.0/24.
    #[test]
    fn except_cuts_a_hole() {
        let blocks = [block("172.17.0.0/16", &["172.17.1.0/24"])];
        assert!(covers(&blocks, &External::Cidr(cidr("172.17.0.0/24"))));
        assert!(covers(&blocks, &External::Cidr(cidr("172.17.2.7/32"))));
        assert!(!covers(&blocks, &External::Cidr(cidr("172.17.1.9/32"))));
        assert!(!covers(&blocks, &External::Cidr(cidr("172.17.0.0/16"))));
    }

    #[test]
    fn the_internet_needs_every_public_address() {
        assert!(covers(&[block("0.0.0.0/0", &[])], &External::Internet));
        // The usual "internet but not the LAN" block.
        let public = block("0.0.0.0/0", &["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]);
        assert!(covers(std::slice::from_ref(&public), &External::Internet));
        assert!(!covers(&[public], &External::Cidr(cidr("192.168.1.10/32"))));
        // One public block is not the internet, nor is IPv6 everything.
        assert!(!covers(&[block("140.82.112.0/20", &[])], &External::Internet));
        assert!(!covers(&[block("::/0", &[])], &External::Internet));
        // Two halves that touch cover the whole.
        assert!(covers(&[block("0.0.0.0/1", &[]), block("128.0.0.0/1", &[])], &External::Internet));
    }
}

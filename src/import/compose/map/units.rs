//! Compose's quantities in Kubernetes' canonical units.
//!
//! Byte values and durations follow the Compose specification
//! (compose-spec `11-extension.md`, "Specifying byte values": `{amount}{b|k|kb|m|mb|g|gb}`;
//! "Specifying durations": `{value}{us|ms|s|m|h}`, combined without a
//! separator, e.g. `1m30s`). Docker reads byte units as binary multiples and
//! case-insensitively (docker/go-units `RAMInBytes`), so `512m` is 512 MiB and
//! `1.5g` 1.5 GiB; a bare number is bytes. CPU counts (`cpus: 0.5`) become
//! millicores. Output uses the largest binary suffix that divides exactly
//! (`512Mi`, `2Gi`), the form Kubernetes itself prints.

/// Bytes of a Compose byte value (`"512m"`, `"2gb"`, `1073741824`).
pub fn bytes(text: &str) -> Option<u64> {
    let lower = text.trim().to_ascii_lowercase();
    let number_end = lower.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(lower.len());
    let (number, unit) = (lower.get(..number_end)?, lower.get(number_end..)?.trim());
    let multiplier: u64 = match unit {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return None,
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() || fraction.len() > 9 {
        return None;
    }
    let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let scale = 10u64.pow(u32::try_from(fraction.len()).ok()?);
    let fraction: u64 = if fraction.is_empty() { 0 } else { fraction.parse().ok()? };
    let from_fraction = u128::from(fraction) * u128::from(multiplier) / u128::from(scale);
    let total = u128::from(whole) * u128::from(multiplier) + from_fraction;
    u64::try_from(total).ok()
}

/// A byte count as a Kubernetes quantity: `512Mi`, `2Gi`, or plain bytes.
pub fn memory_quantity(bytes: u64) -> String {
    for (suffix, size) in [("Ti", 1u64 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)] {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{}{suffix}", bytes / size);
        }
    }
    bytes.to_string()
}

/// Millicores of a Compose CPU count (`0.5`, `"1.5"`), rounded up.
pub fn millicores(text: &str) -> Option<u64> {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !fraction.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let digits: String = fraction.chars().chain(std::iter::repeat('0')).take(3).collect();
    let mut milli = whole.checked_mul(1000)?.checked_add(digits.parse::<u64>().ok()?)?;
    if fraction.chars().skip(3).any(|c| c != '0') {
        milli = milli.checked_add(1)?;
    }
    Some(milli)
}

/// Millicores as a quantity: `2` for whole cores, else `500m`.
pub fn cpu_quantity(milli: u64) -> String {
    if milli.is_multiple_of(1000) {
        (milli / 1000).to_string()
    } else {
        format!("{milli}m")
    }
}

/// Microseconds of a Compose duration (`1m30s`, `2.5s`, `500ms`).
pub fn duration_micros(text: &str) -> Option<u64> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let number: f64 = rest.get(..number_end)?.parse().ok()?;
        let after = rest.get(number_end..)?;
        let (unit, length) = ["us", "ms", "h", "m", "s"]
            .iter()
            .find(|unit| after.starts_with(**unit))
            .map(|unit| (*unit, unit.len()))?;
        // `m` must not swallow the `m` of `ms`: units are tried longest first.
        let micros = match unit {
            "us" => 1.0,
            "ms" => 1e3,
            "s" => 1e6,
            "m" => 60e6,
            _ => 3600e6,
        };
        total += number * micros;
        rest = after.get(length..)?;
    }
    // Durations beyond u64 microseconds (half a million years) are refused.
    (total.is_finite() && (0.0..1.8e19).contains(&total)).then_some(total as u64)
}

/// Whole seconds of a duration, rounded up, at least 1 (Kubernetes probe
/// fields are whole seconds and 0 means the default).
pub fn seconds_at_least_one(micros: u64) -> u32 {
    u32::try_from(micros.div_ceil(1_000_000).max(1)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_values_are_binary_and_case_insensitive() {
        assert_eq!(bytes("512m"), Some(512 << 20));
        assert_eq!(bytes("2gb"), Some(2 << 30));
        assert_eq!(bytes("64M"), Some(64 << 20));
        assert_eq!(bytes("1.5g"), Some(3 << 29));
        assert_eq!(bytes("1073741824"), Some(1 << 30));
        assert_eq!(bytes("2x"), None);
        assert_eq!(bytes(""), None);
        assert_eq!(memory_quantity(512 << 20), "512Mi");
        assert_eq!(memory_quantity(3 << 29), "1536Mi");
        assert_eq!(memory_quantity(1000), "1000");
    }

    #[test]
    fn cpus_become_millicores() {
        assert_eq!(millicores("0.5").map(cpu_quantity).as_deref(), Some("500m"));
        assert_eq!(millicores("2").map(cpu_quantity).as_deref(), Some("2"));
        assert_eq!(millicores(".25").map(cpu_quantity).as_deref(), Some("250m"));
        assert_eq!(millicores("0.0001"), Some(1));
        assert_eq!(millicores("x"), None);
    }

    #[test]
    fn durations_combine_units() {
        assert_eq!(duration_micros("1m30s"), Some(90_000_000));
        assert_eq!(duration_micros("500ms"), Some(500_000));
        assert_eq!(duration_micros("2.5s"), Some(2_500_000));
        assert_eq!(duration_micros("1h5m30s20ms"), Some(3_930_020_000));
        assert_eq!(duration_micros("10"), None);
        assert_eq!(seconds_at_least_one(500_000), 1);
        assert_eq!(seconds_at_least_one(90_000_000), 90);
    }
}

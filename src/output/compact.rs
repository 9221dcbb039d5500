//! Parses a rendered document into a `serde_yaml::Value` whose mappings and
//! lists hold exactly their entries.
//!
//! Every object is kept until the checks have run, so the objects are most of
//! a big render's memory. `serde_yaml`'s own `Value` grows each mapping and
//! list as it reads them, doubling: a one-key mapping keeps room for three,
//! a five-key one for seven (the index table's capacity, which `indexmap`
//! matches). Here each is read as `serde_yaml` reads it (same values, same
//! duplicate-key error at the same place) and then moved into storage of its
//! exact size; the grown one is freed at once, so the allocator hands it to
//! the next document rather than keeping both (docs/benchmarks.md, "Peak
//! memory at 100,000 objects").

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};
use serde_yaml::mapping::Entry;
use serde_yaml::value::{Tag, TaggedValue};
use serde_yaml::{Mapping, Value};

/// Reads one YAML document as [`Value`], with exactly sized mappings and lists.
pub fn value<'de, D: Deserializer<'de>>(document: D) -> Result<Value, D::Error> {
    Exact.deserialize(document)
}

#[derive(Clone, Copy)]
struct Exact;

impl<'de> DeserializeSeed<'de> for Exact {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Exact {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Number(i.into()))
    }

    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Value, E> {
        Ok(Value::Number(u.into()))
    }

    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Value, E> {
        Ok(Value::Number(f.into()))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Value, A::Error> {
        let mut grown = Vec::new();
        while let Some(item) = items.next_element_seed(self)? {
            grown.push(item);
        }
        Ok(Value::Sequence(exact_list(grown)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Value, A::Error> {
        let mut grown = Mapping::new();
        while let Some(key) = entries.next_key_seed(self)? {
            // One lookup per key; a duplicate fails before its value is read,
            // so the error's position is serde_yaml's.
            match grown.entry(key) {
                Entry::Occupied(entry) => return Err(de::Error::custom(duplicate(entry.key()))),
                Entry::Vacant(entry) => {
                    entry.insert(entries.next_value_seed(self)?);
                }
            }
        }
        let mut exact = Mapping::with_capacity(grown.len());
        exact.extend(grown);
        Ok(Value::Mapping(exact))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        let (tag, contents) = data.variant::<String>()?;
        // `Tag::new` panics on an empty tag; serde_yaml refuses it with this message.
        if tag.is_empty() {
            return Err(de::Error::custom("empty YAML tag is not allowed"));
        }
        let value = contents.newtype_variant_seed(self)?;
        Ok(Value::Tagged(Box::new(TaggedValue { tag: Tag::new(tag), value })))
    }
}

fn exact_list(grown: Vec<Value>) -> Vec<Value> {
    if grown.capacity() == grown.len() {
        return grown;
    }
    let mut exact = Vec::with_capacity(grown.len());
    exact.extend(grown);
    exact
}

/// `serde_yaml`'s message for a key written twice in one mapping.
fn duplicate(key: &Value) -> String {
    match key {
        Value::Null => "duplicate entry with null key".into(),
        Value::Bool(boolean) => format!("duplicate entry with key `{boolean}`"),
        Value::Number(number) => format!("duplicate entry with key {number}"),
        Value::String(string) => format!("duplicate entry with key {string:?}"),
        Value::Sequence(_) | Value::Mapping(_) | Value::Tagged(_) => "duplicate entry in YAML map".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(text: &str) -> (Result<Value, String>, Result<Value, String>) {
        let ours = value(serde_yaml::Deserializer::from_str(text)).map_err(|e| e.to_string());
        let theirs = serde_yaml::from_str::<Value>(text).map_err(|e| e.to_string());
        (ours, theirs)
    }

    #[test]
    fn reads_every_kind_of_node_as_serde_yaml_does() {
        let text = "a: 1\nb: -2\nc: 1.5\nd: true\ne: null\nf: ~\ng: text\nh: [1, [2, {x: y}]]\n\
                    i: {j: {k: l}}\nanchor: &x {m: n}\nalias: *x\ntagged: !custom {o: p}\n\
                    ? [complex, key]\n: value\n\"quoted\": 'single'\nempty_map: {}\nempty_list: []\n";
        let (ours, theirs) = both(text);
        assert_eq!(ours, theirs);
        assert!(ours.is_ok());
    }

    #[test]
    fn a_duplicate_key_fails_with_serde_yamls_message_and_position() {
        for text in
            ["a: 1\nb: 2\na: 3\n", "x:\n  1: a\n  1: b\n", "? [k]\n: 1\n? [k]\n: 2\n", "t: 1\ntrue: 2\ntrue: 3\n"]
        {
            let (ours, theirs) = both(text);
            assert_eq!(ours, theirs, "{text}");
            assert!(ours.is_err(), "{text}");
        }
    }

    #[test]
    fn bare_and_odd_tags_read_as_serde_yaml_reads_them() {
        for text in ["! a\n", "!! a\n", "k: ! v\n", "!<> a\n", "!<!> a\n", "- !x [1]\n", "! {a: 1}\n"] {
            let (ours, theirs) = both(text);
            assert_eq!(ours, theirs, "{text:?}");
        }
    }

    #[test]
    fn mappings_and_lists_hold_exactly_their_entries() {
        let text = "a: {b: c}\nlist: [1, 2, 3, 4, 5]\n";
        let ours = value(serde_yaml::Deserializer::from_str(text)).unwrap();
        let theirs: Value = serde_yaml::from_str(text).unwrap();
        let one = |v: &Value| v.get("a").and_then(Value::as_mapping).map(Mapping::capacity).unwrap();
        let five = |v: &Value| v.get("list").and_then(Value::as_sequence).map(Vec::capacity).unwrap();
        assert_eq!((one(&ours), five(&ours)), (1, 5));
        // What this module saves: serde_yaml's own value keeps room to grow.
        assert!(one(&theirs) > 1 && five(&theirs) > 5, "{} {}", one(&theirs), five(&theirs));
    }
}

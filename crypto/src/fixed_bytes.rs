//! Serde for fixed-size byte arrays: lower-case hex in human-readable formats (JSON),
//! exactly `N` raw bytes (a tuple, no length prefix) in the binary encoding.

use serde::de::{self, SeqAccess, Visitor};
use serde::ser::SerializeTuple;
use serde::{Deserializer, Serializer};
use std::fmt;

pub(crate) fn serialize<S: Serializer, const N: usize>(
    bytes: &[u8; N],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    if serializer.is_human_readable() {
        serializer.serialize_str(&hex::encode(bytes))
    } else {
        let mut tuple = serializer.serialize_tuple(N)?;
        for byte in bytes {
            tuple.serialize_element(byte)?;
        }
        tuple.end()
    }
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
    deserializer: D,
) -> Result<[u8; N], D::Error> {
    if deserializer.is_human_readable() {
        deserializer.deserialize_str(HexVisitor::<N>)
    } else {
        deserializer.deserialize_tuple(N, TupleVisitor::<N>)
    }
}

/// Decodes exactly `N` bytes of hex, naming what was wrong.
pub(crate) fn from_hex<const N: usize>(text: &str) -> Result<[u8; N], String> {
    if text.len() != 2 * N {
        return Err(format!(
            "expected {} hex characters, got {}",
            2 * N,
            text.len()
        ));
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(text, &mut out).map_err(|e| format!("invalid hex: {e}"))?;
    Ok(out)
}

struct HexVisitor<const N: usize>;

impl<const N: usize> Visitor<'_> for HexVisitor<N> {
    type Value = [u8; N];

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a string of {} hex characters", 2 * N)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        from_hex::<N>(text).map_err(E::custom)
    }
}

struct TupleVisitor<const N: usize>;

impl<'de, const N: usize> Visitor<'de> for TupleVisitor<N> {
    type Value = [u8; N];

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{N} bytes")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = [0u8; N];
        for (i, slot) in out.iter_mut().enumerate() {
            *slot = seq
                .next_element()?
                .ok_or_else(|| de::Error::invalid_length(i, &self))?;
        }
        Ok(out)
    }
}

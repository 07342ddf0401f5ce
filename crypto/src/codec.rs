//! The canonical binary encoding: postcard, with two extra rules.
//!
//! 1. **Bounded.** Every type has a maximum encoded size, checked before decoding,
//!    and every variable-length field is a [`BoundedVec`], [`BoundedString`] or
//!    [`BoundedBytes`] whose limit is checked against the declared length before
//!    anything is allocated.
//! 2. **Canonical.** A value has exactly one encoding: the decoder re-encodes what it
//!    decoded and rejects the input unless the bytes are identical (this refuses, for
//!    example, over-long varints) and rejects trailing bytes.
//!
//! Hashes and signatures are computed over these bytes, so two nodes that agree on a
//! value agree on its hash.

use serde::de::{self, DeserializeOwned, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

/// Why bytes did not decode. Every decoder returns this; none panics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("{len} bytes is more than the {max} allowed for a {what}")]
    TooLong {
        what: &'static str,
        len: usize,
        max: usize,
    },
    #[error("malformed {what}: {reason}")]
    Malformed { what: &'static str, reason: String },
    #[error("{what} has {extra} bytes after its end")]
    TrailingBytes { what: &'static str, extra: usize },
    #[error("{what} is not in canonical form")]
    NonCanonical { what: &'static str },
}

/// A type with one canonical, bounded binary encoding.
pub trait Canonical: Serialize + DeserializeOwned {
    /// A name for errors and logs.
    const NAME: &'static str;
    /// No valid encoding is longer than this.
    const MAX_ENCODED_LEN: usize;

    fn to_canonical_bytes(&self) -> Vec<u8> {
        const ENCODES: &str =
            "postcard encodes every rbft type: no maps of unknown length, no floats";
        // Sized first: postcard writes fixed arrays (every hash and key) byte by byte,
        // which would otherwise grow the vector many times over.
        let size = postcard::experimental::serialized_size(self).expect(ENCODES);
        let bytes = postcard::to_extend(self, Vec::with_capacity(size)).expect(ENCODES);
        assert!(
            bytes.len() <= Self::MAX_ENCODED_LEN,
            "{} encodes to {} bytes, above its limit {}",
            Self::NAME,
            bytes.len(),
            Self::MAX_ENCODED_LEN
        );
        bytes
    }

    fn from_canonical_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > Self::MAX_ENCODED_LEN {
            return Err(DecodeError::TooLong {
                what: Self::NAME,
                len: bytes.len(),
                max: Self::MAX_ENCODED_LEN,
            });
        }
        let (value, rest) =
            postcard::take_from_bytes::<Self>(bytes).map_err(|e| DecodeError::Malformed {
                what: Self::NAME,
                reason: e.to_string(),
            })?;
        if !rest.is_empty() {
            return Err(DecodeError::TrailingBytes {
                what: Self::NAME,
                extra: rest.len(),
            });
        }
        // Re-encoding is the simplest complete canonicality check: postcard accepts
        // some encodings it never produces (over-long varints), and any such input
        // changes here. The re-encoding is compared as it is written, not stored.
        match postcard::serialize_with_flavor(
            &value,
            SameAs {
                expected: bytes,
                at: 0,
            },
        ) {
            Ok(true) => Ok(value),
            Ok(false) | Err(postcard::Error::SerializeBufferFull) => {
                Err(DecodeError::NonCanonical { what: Self::NAME })
            }
            Err(e) => Err(DecodeError::Malformed {
                what: Self::NAME,
                reason: e.to_string(),
            }),
        }
    }
}

/// A postcard output that stores nothing: it compares each byte that would be
/// written with the bytes that were decoded, stops at the first difference (as a
/// full buffer), and ends with whether every byte was matched.
struct SameAs<'a> {
    expected: &'a [u8],
    at: usize,
}

impl postcard::ser_flavors::Flavor for SameAs<'_> {
    type Output = bool;

    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        self.try_extend(&[byte])
    }

    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        if self.expected[self.at..].starts_with(data) {
            self.at += data.len();
            Ok(())
        } else {
            Err(postcard::Error::SerializeBufferFull)
        }
    }

    fn finalize(self) -> postcard::Result<bool> {
        Ok(self.at == self.expected.len())
    }
}

/// No allocation for a declared length may reserve more than this many elements up
/// front; longer sequences grow as their elements actually arrive.
const MAX_PREALLOC: usize = 4096;

/// A `Vec` holding at most `MAX` elements; decoding refuses a longer one before
/// allocating.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct BoundedVec<T, const MAX: usize>(Vec<T>);

/// The value is longer than its bound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{len} items is more than the {max} allowed")]
pub struct TooMany {
    pub len: usize,
    pub max: usize,
}

impl<T, const MAX: usize> BoundedVec<T, MAX> {
    pub fn new(items: Vec<T>) -> Result<Self, TooMany> {
        if items.len() > MAX {
            return Err(TooMany {
                len: items.len(),
                max: MAX,
            });
        }
        Ok(BoundedVec(items))
    }

    pub fn empty() -> Self {
        BoundedVec(Vec::new())
    }

    pub fn into_inner(self) -> Vec<T> {
        self.0
    }

    /// Appends `item`, or refuses when the vector is full and leaves it as it was.
    pub fn try_push(&mut self, item: T) -> Result<(), TooMany> {
        if self.0.len() >= MAX {
            return Err(TooMany {
                len: self.0.len() + 1,
                max: MAX,
            });
        }
        self.0.push(item);
        Ok(())
    }

    /// Keeps the items for which `keep` holds, in order.
    pub fn retain(&mut self, keep: impl FnMut(&T) -> bool) {
        self.0.retain(keep);
    }

    /// Removes and returns the item at `index` (panics if out of range, like `Vec`).
    pub fn remove(&mut self, index: usize) -> T {
        self.0.remove(index)
    }
}

impl<T, const MAX: usize> Deref for BoundedVec<T, MAX> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

/// Items may change in place (sorting, editing); the length, and so the bound, only
/// through the methods above.
impl<T, const MAX: usize> std::ops::DerefMut for BoundedVec<T, MAX> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.0
    }
}

impl<T: fmt::Debug, const MAX: usize> fmt::Debug for BoundedVec<T, MAX> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<T: Serialize, const MAX: usize> Serialize for BoundedVec<T, MAX> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de>, const MAX: usize> Deserialize<'de> for BoundedVec<T, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BoundedVisitor<T, const MAX: usize>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>, const MAX: usize> Visitor<'de> for BoundedVisitor<T, MAX> {
            type Value = BoundedVec<T, MAX>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a sequence of at most {MAX} items")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let declared = seq.size_hint().unwrap_or(0);
                if declared > MAX {
                    return Err(de::Error::invalid_length(declared, &self));
                }
                let mut items = Vec::with_capacity(declared.min(MAX_PREALLOC));
                while let Some(item) = seq.next_element()? {
                    if items.len() == MAX {
                        return Err(de::Error::invalid_length(MAX + 1, &self));
                    }
                    items.push(item);
                }
                Ok(BoundedVec(items))
            }
        }

        deserializer.deserialize_seq(BoundedVisitor::<T, MAX>(PhantomData))
    }
}

/// A UTF-8 string of at most `MAX` bytes.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct BoundedString<const MAX: usize>(String);

impl<const MAX: usize> BoundedString<MAX> {
    pub fn new(text: impl Into<String>) -> Result<Self, TooMany> {
        let text = text.into();
        if text.len() > MAX {
            return Err(TooMany {
                len: text.len(),
                max: MAX,
            });
        }
        Ok(BoundedString(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> Deref for BoundedString<MAX> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> fmt::Debug for BoundedString<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<const MAX: usize> fmt::Display for BoundedString<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<const MAX: usize> Serialize for BoundedString<MAX> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de, const MAX: usize> Deserialize<'de> for BoundedString<MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor<const MAX: usize>;

        impl<const MAX: usize> Visitor<'_> for StrVisitor<MAX> {
            type Value = BoundedString<MAX>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a string of at most {MAX} bytes")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                BoundedString::new(text).map_err(|_| E::invalid_length(text.len(), &self))
            }
        }

        deserializer.deserialize_str(StrVisitor::<MAX>)
    }
}

/// Opaque bytes, at most `MAX` of them: raw in the binary encoding, hex in JSON.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct BoundedBytes<const MAX: usize>(Vec<u8>);

impl<const MAX: usize> BoundedBytes<MAX> {
    pub fn new(bytes: Vec<u8>) -> Result<Self, TooMany> {
        if bytes.len() > MAX {
            return Err(TooMany {
                len: bytes.len(),
                max: MAX,
            });
        }
        Ok(BoundedBytes(bytes))
    }

    pub fn into_inner(self) -> Vec<u8> {
        self.0
    }
}

impl<const MAX: usize> Deref for BoundedBytes<MAX> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl<const MAX: usize> fmt::Debug for BoundedBytes<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{} bytes", self.0.len())
    }
}

impl<const MAX: usize> Serialize for BoundedBytes<MAX> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&hex::encode(&self.0))
        } else {
            serializer.serialize_bytes(&self.0)
        }
    }
}

impl<'de, const MAX: usize> Deserialize<'de> for BoundedBytes<MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BytesVisitor<const MAX: usize>;

        impl<const MAX: usize> Visitor<'_> for BytesVisitor<MAX> {
            type Value = BoundedBytes<MAX>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "at most {MAX} bytes")
            }

            fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Self::Value, E> {
                BoundedBytes::new(bytes.to_vec()).map_err(|_| E::invalid_length(bytes.len(), &self))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                if text.len() > 2 * MAX {
                    return Err(E::invalid_length(text.len() / 2, &self));
                }
                let bytes = hex::decode(text).map_err(E::custom)?;
                self.visit_bytes(&bytes)
            }
        }

        if deserializer.is_human_readable() {
            deserializer.deserialize_str(BytesVisitor::<MAX>)
        } else {
            deserializer.deserialize_bytes(BytesVisitor::<MAX>)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Hash;
    use rand::{Rng, SeedableRng};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        id: u64,
        name: BoundedString<16>,
        hashes: BoundedVec<Hash, 8>,
        blob: BoundedBytes<32>,
        flag: bool,
    }

    impl Canonical for Sample {
        const NAME: &'static str = "sample";
        const MAX_ENCODED_LEN: usize = 10 + 17 + 1 + 8 * 32 + 1 + 32 + 1;
    }

    fn sample() -> Sample {
        Sample {
            id: 300,
            name: BoundedString::new("hello").unwrap(),
            hashes: BoundedVec::new(vec![crate::sha256(b"a"), crate::sha256(b"b")]).unwrap(),
            blob: BoundedBytes::new(vec![1, 2, 3]).unwrap(),
            flag: true,
        }
    }

    #[test]
    fn round_trip() {
        let bytes = sample().to_canonical_bytes();
        assert_eq!(Sample::from_canonical_bytes(&bytes).unwrap(), sample());
    }

    #[test]
    fn overlong_varint_is_non_canonical() {
        // id = 300 is the varint ac 02; ac 82 00 decodes to the same number.
        let bytes = sample().to_canonical_bytes();
        assert_eq!(&bytes[..2], &[0xac, 0x02]);
        let mut padded = vec![0xac, 0x82, 0x00];
        padded.extend_from_slice(&bytes[2..]);
        assert_eq!(
            Sample::from_canonical_bytes(&padded),
            Err(DecodeError::NonCanonical { what: "sample" })
        );
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        let mut bytes = sample().to_canonical_bytes();
        bytes.push(0);
        assert_eq!(
            Sample::from_canonical_bytes(&bytes),
            Err(DecodeError::TrailingBytes {
                what: "sample",
                extra: 1
            })
        );
    }

    #[test]
    fn over_long_input_is_rejected_before_decoding() {
        let bytes = vec![0u8; Sample::MAX_ENCODED_LEN + 1];
        assert!(matches!(
            Sample::from_canonical_bytes(&bytes),
            Err(DecodeError::TooLong { .. })
        ));
    }

    #[test]
    fn declared_lengths_above_the_bound_are_rejected() {
        let mut s = sample();
        s.hashes = BoundedVec(vec![Hash::ZERO; 9]);
        let bytes = postcard::to_allocvec(&s).unwrap();
        assert!(matches!(
            Sample::from_canonical_bytes(&bytes[..bytes.len().min(Sample::MAX_ENCODED_LEN)]),
            Err(DecodeError::Malformed { .. }) | Err(DecodeError::TooLong { .. })
        ));
        // A huge declared length in a short input allocates nothing and fails.
        let mut huge = vec![0x01, 0x00];
        huge.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(BoundedVec::<Hash, 8>::new(vec![]).is_ok());
        assert!(postcard::from_bytes::<BoundedVec<Hash, 8>>(&huge[2..]).is_err());
        assert!(BoundedString::<4>::new("hello").is_err());
        assert!(BoundedBytes::<2>::new(vec![1, 2, 3]).is_err());
    }

    /// A full vector refuses one more and keeps what it held.
    #[test]
    fn try_push_stops_at_the_bound_and_loses_nothing() {
        let mut v = BoundedVec::<u8, 2>::empty();
        assert_eq!(v.try_push(1), Ok(()));
        assert_eq!(v.try_push(2), Ok(()));
        assert_eq!(v.try_push(3), Err(TooMany { len: 3, max: 2 }));
        assert_eq!(&v[..], &[1, 2]);
        v.retain(|x| *x != 1);
        assert_eq!(&v[..], &[2]);
    }

    #[test]
    fn random_truncated_and_mutated_bytes_never_panic() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
        let good = sample().to_canonical_bytes();
        for _ in 0..20_000 {
            let len = rng.gen_range(0..Sample::MAX_ENCODED_LEN + 8);
            let random: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            let _ = Sample::from_canonical_bytes(&random);
            let cut = rng.gen_range(0..good.len());
            assert!(Sample::from_canonical_bytes(&good[..cut]).is_err());
            let mut mutated = good.clone();
            let at = rng.gen_range(0..mutated.len());
            mutated[at] = rng.gen();
            if let Ok(decoded) = Sample::from_canonical_bytes(&mutated) {
                // Whatever decodes must be canonical: it re-encodes to the input.
                assert_eq!(decoded.to_canonical_bytes(), mutated);
            }
        }
    }

    #[test]
    fn bounded_bytes_are_hex_in_json() {
        let b = BoundedBytes::<4>::new(vec![0xde, 0xad]).unwrap();
        let json = serde_json::to_string(&b).unwrap();
        assert_eq!(json, "\"dead\"");
        assert_eq!(serde_json::from_str::<BoundedBytes<4>>(&json).unwrap(), b);
        assert!(serde_json::from_str::<BoundedBytes<1>>(&json).is_err());
    }
}

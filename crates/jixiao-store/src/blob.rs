//! Forms, scorecards and findings are stored lz4-compressed. On SQLite the
//! log, the checkpoints and the page cache carry about half the bytes, and a
//! scorecard or a findings row, ~2 KB raw, no longer takes a 4 KiB page of
//! its own. On PostgreSQL a form stays in its row instead of going to TOAST,
//! and cards and findings fall under the size PostgreSQL compresses at
//! (migration 15, BENCHMARKS.md). Rows stored raw before, or compressed by
//! PostgreSQL, read back as they are.

use std::borrow::Cow;

use crate::{error::internal, Result};

/// Leads a compressed blob. No raw one starts so: a protobuf message never
/// begins with 0xff, nor a packed findings list (its first severity is
/// never negative).
const MAGIC: &[u8; 4] = b"\xffLZ4";

/// `raw` as stored; a borrowed blob is compressed without a copy first.
pub(crate) fn to_store<'a>(raw: impl Into<Cow<'a, [u8]>>) -> Vec<u8> {
    let raw = raw.into();
    let mut out =
        Vec::with_capacity(MAGIC.len() + 4 + lz4_flex::block::get_maximum_output_size(raw.len()));
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&lz4_flex::compress_prepend_size(&raw));
    out
}

/// A stored blob, raw again.
pub(crate) fn from_store(stored: Vec<u8>) -> Result<Vec<u8>> {
    match stored.strip_prefix(MAGIC) {
        Some(packed) => lz4_flex::decompress_size_prepended(packed)
            .map_err(|e| internal(&format!("a stored blob does not decompress: {e}"))),
        None => Ok(stored),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_shrink_and_read_back_and_raw_ones_read_as_they_are() {
        let raw = "一、基本情况 32.92 / 32.92 = 100.00%; "
            .repeat(40)
            .into_bytes();
        let stored = to_store(&raw);
        assert!(
            stored.len() < raw.len() / 4,
            "{} of {}",
            stored.len(),
            raw.len()
        );
        assert_eq!(from_store(stored.clone()).unwrap(), raw);
        assert_eq!(from_store(raw.clone()).unwrap(), raw);
        assert_eq!(from_store(vec![]).unwrap(), Vec::<u8>::new());
        assert_eq!(to_store(raw.clone()), stored, "owned or borrowed alike");
        let mut broken = to_store(raw);
        broken.truncate(12);
        assert!(from_store(broken).is_err());
    }
}

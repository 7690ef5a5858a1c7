//! On SQLite, forms, scorecards and findings are stored lz4-compressed: the
//! log, the checkpoints and the page cache carry about half the bytes, and a
//! scorecard or a findings row, ~2 KB raw, no longer takes a 4 KiB page of
//! its own (BENCHMARKS.md). PostgreSQL compresses the same columns itself
//! (migration 8). Rows stored raw before read back as they are.

use std::borrow::Cow;

use sea_orm::DbBackend;

use crate::{error::internal, Result};

/// Leads a compressed blob. No raw one starts so: a protobuf message never
/// begins with 0xff, nor a packed findings list (its first severity is
/// never negative).
const MAGIC: &[u8; 4] = b"\xffLZ4";

/// `raw` as stored on `backend`: an owned blob passes to PostgreSQL as it
/// is, and a borrowed one is compressed for SQLite without a copy first.
pub(crate) fn to_store<'a>(backend: DbBackend, raw: impl Into<Cow<'a, [u8]>>) -> Vec<u8> {
    let raw = raw.into();
    if backend != DbBackend::Sqlite {
        return raw.into_owned();
    }
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
    fn sqlite_blobs_shrink_and_read_back_and_raw_ones_read_as_they_are() {
        let raw = "一、基本情况 32.92 / 32.92 = 100.00%; "
            .repeat(40)
            .into_bytes();
        let stored = to_store(DbBackend::Sqlite, &raw);
        assert!(
            stored.len() < raw.len() / 4,
            "{} of {}",
            stored.len(),
            raw.len()
        );
        assert_eq!(from_store(stored).unwrap(), raw);
        assert_eq!(to_store(DbBackend::Postgres, &raw), raw);
        assert_eq!(from_store(raw.clone()).unwrap(), raw);
        assert_eq!(from_store(vec![]).unwrap(), Vec::<u8>::new());
        let mut broken = to_store(DbBackend::Sqlite, raw);
        broken.truncate(12);
        assert!(from_store(broken).is_err());
    }
}

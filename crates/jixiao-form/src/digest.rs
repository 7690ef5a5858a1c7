use sha2::{Digest, Sha256};

use crate::model::Form;

/// sha256 (hex) of the form's canonical content. Two submissions with the same
/// digest are the same submission. Decimals must be normalised by the caller's
/// conversion (`26.890` and `26.89` are the same amount).
pub fn content_digest(form: &Form) -> String {
    // Struct fields serialise in declaration order, so the JSON is canonical.
    // It is hashed a buffer at a time as it is written, never held whole.
    let mut out = std::io::BufWriter::with_capacity(4096, Hashing(Sha256::new()));
    serde_json::to_writer(&mut out, form).expect("a form always serialises");
    std::io::Write::flush(&mut out).expect("hashing cannot fail");
    let (hashing, _) = out.into_parts();
    hex::encode(hashing.0.finalize())
}

/// A submission's id: `sub_`, 8 hex of its tenant and unit, then the 24 hex
/// of `earlier_id`, the [`earlier_submission_id`] of the same content (taken,
/// not recomputed: intake needs both). The content part makes a repeat map to
/// the same row; the unit part keeps a unit's forms, which arrive together,
/// on a few pages of the id index rather than a page each (BENCHMARKS.md).
pub fn submission_id(tenant: &str, unit: &str, earlier_id: &str) -> String {
    let unit = Sha256::digest(format!("{tenant}\n{unit}").as_bytes());
    let content = earlier_id.strip_prefix("sub_").unwrap_or(earlier_id);
    format!("sub_{}{content}", hex::encode(&unit[..4]))
}

/// The id the same content was given before ids began with their unit: a
/// hash of tenant and content alone. A database holding such rows still
/// finds repeats of them by it.
pub fn earlier_submission_id(tenant: &str, content_digest: &str) -> String {
    let both = Sha256::digest(format!("{tenant}\n{content_digest}").as_bytes());
    format!("sub_{}", hex::encode(&both[..12]))
}

/// A writer that feeds a hash.
struct Hashing(Sha256);

impl std::io::Write for Hashing {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_content_same_digest_and_any_change_differs() {
        let a = Form {
            project_name: "x".into(),
            ..Form::default()
        };
        let mut b = a.clone();
        assert_eq!(content_digest(&a), content_digest(&b));
        b.fiscal_year = 1;
        assert_ne!(content_digest(&a), content_digest(&b));
        assert_eq!(content_digest(&a).len(), 64);
    }

    /// Ids follow from digests: the hash is of the form's JSON, whole.
    #[test]
    fn the_digest_is_the_sha256_of_the_json() {
        let mut f = Form {
            project_name: "行政运行（其他）经费".into(),
            narrative: "一、基本情况".repeat(2000),
            ..Form::default()
        };
        f.units.budget_unit = "株洲市工业和信息化局".into();
        let json = serde_json::to_vec(&f).unwrap();
        assert!(json.len() > 4096, "spans more than one buffer");
        assert_eq!(content_digest(&f), hex::encode(Sha256::digest(&json)));
    }

    /// Golden values from `printf 't\nd' | sha256sum` and
    /// `printf 't\n株洲市工业和信息化局' | sha256sum`.
    #[test]
    fn ids_are_the_unit_then_the_content() {
        let earlier = earlier_submission_id("t", "d");
        assert_eq!(earlier, "sub_0f0a66bd472e642dc7c7c501");
        let id = submission_id("t", "株洲市工业和信息化局", &earlier);
        assert_eq!(id, "sub_a3ff31d30f0a66bd472e642dc7c7c501");
        // One unit's forms share the prefix; another unit's or tenant's do not.
        let sibling = submission_id(
            "t",
            "株洲市工业和信息化局",
            &earlier_submission_id("t", "e"),
        );
        assert_eq!(sibling[..12], id[..12]);
        assert_ne!(sibling, id);
        assert_ne!(submission_id("t", "株洲市财政局", &earlier)[..12], id[..12]);
        assert_ne!(
            submission_id("u", "株洲市工业和信息化局", &earlier)[..12],
            id[..12]
        );
    }
}

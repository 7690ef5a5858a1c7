use sha2::{Digest, Sha256};

use crate::model::Form;

/// sha256 (hex) of the form's canonical content. Two submissions with the same
/// digest are the same submission. Decimals must be normalised by the caller's
/// conversion (`26.890` and `26.89` are the same amount).
pub fn content_digest(form: &Form) -> String {
    // Struct fields serialise in declaration order, so the JSON is canonical.
    let bytes = serde_json::to_vec(form).expect("a form always serialises");
    hex::encode(Sha256::digest(&bytes))
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
}

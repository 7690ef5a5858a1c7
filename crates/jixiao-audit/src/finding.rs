use crate::catalogue::{RuleSpec, Severity};

/// Where in a form a finding points.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    /// `funds`, `indicators`, `total`.
    pub section: String,
    /// Row label as written.
    pub row: String,
    /// Column label, e.g. 全年执行数.
    pub column: String,
    /// Machine path, e.g. `funds.rows[0].executed`.
    pub path: String,
}

impl Location {
    pub fn new(section: &str, row: &str, column: &str, path: String) -> Self {
        Location {
            section: section.into(),
            row: row.into(),
            column: column.into(),
            path,
        }
    }
}

/// One defect, with its place, the numbers and a message a reviewer can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule_id: String,
    pub rule_version: String,
    pub severity: Severity,
    pub location: Location,
    pub expected: String,
    pub stated: String,
    pub difference: String,
    pub message_zh: String,
    pub message_en: String,
}

impl Finding {
    /// A finding of `rule` at `location`: expected, stated and difference as
    /// the reviewer reads them, and the message in Chinese and English.
    pub fn of(
        rule: &RuleSpec,
        location: Location,
        nums: [String; 3],
        zh: String,
        en: String,
    ) -> Self {
        let [expected, stated, difference] = nums;
        Finding {
            rule_id: rule.id.clone(),
            rule_version: rule.version.clone(),
            severity: rule.severity,
            location,
            expected,
            stated,
            difference,
            message_zh: zh,
            message_en: en,
        }
    }
}

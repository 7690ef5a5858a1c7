use crate::catalogue::Severity;

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

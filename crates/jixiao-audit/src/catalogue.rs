use serde::Deserialize;

const BUILTIN: (&str, &str) = (
    "cn-default.toml",
    include_str!("../catalogues/cn-default.toml"),
);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        [Severity::Info, Severity::Warning, Severity::Error]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// The kinds of check the engine implements; catalogue rules pick one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    ExecutedOverBudget,
    SourceRowsMismatch,
    ExecutionRateMismatch,
    ExecutionScoreMismatch,
    BudgetCutToExecution,
    InitialBudgetZero,
    DocumentDiagnostic,
    WeightsSum,
    SectionWeightMismatch,
    NotApplicableWithWeight,
    ZeroWeightMeasurable,
    ScoreOverWeight,
    BlankScore,
    TotalMismatch,
    MissedTargetFullMarks,
    ScoreInflation,
    ScoreBelowRules,
    MissingExplanation,
    ActualIsComparator,
    TextWhereNumberExpected,
    UnitMismatch,
    ActualUnitMissing,
    CostTargetAboveBudget,
    CostActualAboveExecuted,
    NarrativeFundsMismatch,
    NarrativeMagnitude,
    // Cross-form (department) kinds.
    DepartmentProjectSpending,
    DepartmentOtherFunds,
    DuplicateProject,
    BasicDataProjectSpending,
    BasicDataSubtotals,
}

impl RuleKind {
    /// Whether the kind compares several forms of a department.
    pub fn is_department(self) -> bool {
        matches!(
            self,
            RuleKind::DepartmentProjectSpending
                | RuleKind::DepartmentOtherFunds
                | RuleKind::DuplicateProject
                | RuleKind::BasicDataProjectSpending
                | RuleKind::BasicDataSubtotals
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub id: String,
    pub version: String,
    pub kind: RuleKind,
    pub severity: Severity,
    pub category: String,
    pub title_zh: String,
    pub title_en: String,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// Allowed slack for kinds that compare numbers, in the compared unit.
    #[serde(default)]
    pub tolerance: Option<rust_decimal::Decimal>,
    /// Lower and upper bound (percent) for kinds that grade a size, e.g. a budget cut.
    #[serde(default)]
    pub min_percent: Option<rust_decimal::Decimal>,
    #[serde(default)]
    pub max_percent: Option<rust_decimal::Decimal>,
    /// For `document_diagnostic`: which parser diagnostic code becomes a finding.
    #[serde(default)]
    pub diagnostic_code: Option<String>,
    /// For `basic_data_subtotals`: the row labels that are subtotals of the numbered rows under them.
    #[serde(default)]
    pub labels: Vec<String>,
}

fn enabled_by_default() -> bool {
    true
}

/// A versioned set of audit rules.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    pub id: String,
    pub version: String,
    pub rules: Vec<RuleSpec>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("audit catalogue {file}: {reason}")]
pub struct CatalogueError {
    pub file: String,
    pub reason: String,
}

impl Catalogue {
    pub fn from_toml(file: &str, text: &str) -> Result<Self, CatalogueError> {
        let err = |reason: String| CatalogueError {
            file: file.to_string(),
            reason,
        };
        let cat: Catalogue = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let mut ids: Vec<&str> = cat.rules.iter().map(|r| r.id.as_str()).collect();
        ids.sort_unstable();
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(err(format!(
                "key `rules.id`: rule {} is defined twice",
                w[0]
            )));
        }
        Ok(cat)
    }
}

/// The catalogue compiled into the engine.
pub fn builtin_catalogue() -> Result<Catalogue, CatalogueError> {
    Catalogue::from_toml(BUILTIN.0, BUILTIN.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_loads_and_duplicates_are_refused() {
        let cat = builtin_catalogue().unwrap();
        assert!(cat.rules.len() >= 4);
        let twice = format!(
            "{}\n{}",
            BUILTIN.1,
            &BUILTIN.1[BUILTIN.1.find("[[rules]]").unwrap()..]
        );
        let e = Catalogue::from_toml("x.toml", &twice).unwrap_err();
        assert!(e.reason.contains("defined twice"), "{e}");
    }
}

use rust_decimal::Decimal;

/// How a line's recomputed score was arrived at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineStatus {
    /// Recomputed from the rulebook.
    Scored,
    /// No rule of this rulebook covers the line: the self score is kept.
    SelfScoreKept,
    /// Not applicable: excluded from the total.
    NotApplicable,
    /// The actual cannot be compared with the target: the self score is kept.
    Unverifiable,
}

/// One scored line: the budget-execution line or one indicator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreLine {
    /// `funds` or `indicators[i]`.
    pub path: String,
    pub label: String,
    pub weight: Option<Decimal>,
    pub stated_score: Option<Decimal>,
    /// `None` for lines excluded from the total.
    pub recomputed_score: Option<Decimal>,
    pub status: LineStatus,
    /// Inputs, formula, result, e.g. `7家 / 10家 × 8 = 5.60`.
    pub explanation: String,
    /// The rulebook rule applied.
    pub rule: String,
    /// The rulebook asks for a deviation explanation here and the form gives none.
    pub needs_explanation: bool,
}

/// The recomputed scores of one form with their provenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreCard {
    pub rulebook_id: String,
    pub rulebook_version: String,
    pub rulebook_digest: String,
    pub input_digest: String,
    pub engine_version: String,
    pub lines: Vec<ScoreLine>,
    pub stated_total: Option<Decimal>,
    pub recomputed_total: Option<Decimal>,
    /// 优 / 良 / 中 / 差; empty for forms that carry no score.
    pub grade: String,
    /// How the total follows from the lines: sum, rescaling, caps.
    pub total_explanation: String,
}

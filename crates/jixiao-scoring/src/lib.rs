//! Recomputes the scores of a self-evaluation form from a rulebook and explains
//! every line. Pure: rulebooks arrive as text, forms as values.

mod card;
mod engine;
mod rulebook;

pub use card::{LineStatus, ScoreCard, ScoreLine};
pub use engine::{score_form, ENGINE_VERSION};
pub use rulebook::{
    builtin_rulebooks, Applies, AtLeastRule, AtMostMissed, AtMostRule, BareDirection,
    BareNumberRule, DeadlineRule, Denominator, ExecutionRule, Grade, NotApplicableRule,
    NotApplicableWeight, OverAchievement, QualitativeRule, Rulebook, RulebookError, Rulebooks,
    ToleranceRule, TotalCap, TotalRule, DEFAULT_RULEBOOK_ID,
};

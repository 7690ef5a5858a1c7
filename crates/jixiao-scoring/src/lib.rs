//! Recomputes the scores of a self-evaluation form from a rulebook and explains
//! every line. Pure: rulebooks arrive as text, forms as values.

mod card;
mod engine;
mod rulebook;

pub use card::{LineStatus, ScoreCard, ScoreLine};
pub use engine::{score_form, ENGINE_VERSION};
pub use rulebook::{
    builtin_rulebooks, Denominator, Grade, Rulebook, RulebookError, Rulebooks, DEFAULT_RULEBOOK_ID,
};

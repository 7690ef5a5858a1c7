//! The form model of 预算绩效自评: what a self-evaluation form says, parsed but
//! never reinterpreted. Pure: no I/O, no async, no wire types.

mod digest;
mod measure;
mod model;
mod number;
mod validate;

pub use digest::{content_digest, earlier_submission_id, submission_id};
pub use measure::parse_measure;
pub use model::*;
pub use number::{parse_decimal, parse_percent, round2};
pub use validate::{validate, Violation};

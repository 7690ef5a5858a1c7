//! Audits a self-evaluation form and its scorecard against a rule catalogue.
//! Pure: catalogues arrive as text, forms and scorecards as values.

mod catalogue;
mod department;
mod finding;
mod narrative;
mod rules;

pub use catalogue::{builtin_catalogue, Catalogue, CatalogueError, RuleKind, RuleSpec, Severity};
pub use department::{audit_department, DepartmentFinding};
pub use finding::{Finding, Location};
pub use rules::audit_form;

//! `findings` — owned by audit: one row per submission and scope holding its
//! findings packed (`packed.rs`); a submission's findings are replaced as a whole.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "findings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    /// The submission's sequence number, which the index is keyed on.
    pub submission_seq: i64,
    pub submission_id: String,
    /// The rule ids of the row's findings, each once between spaces (` R1 R2 `).
    pub rule_ids: String,
    /// The highest severity in the row: 1 info, 2 warning, 3 error.
    pub max_severity: i32,
    /// The row's findings, packed: each a severity, a rule id and a
    /// protobuf-encoded `jixiao.v1.Finding`.
    pub findings: Vec<u8>,
    /// `form` (one form's audit) or `department` (cross-form audit).
    pub scope: String,
    pub tenant: String,
    pub budget_unit: String,
    pub fiscal_year: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

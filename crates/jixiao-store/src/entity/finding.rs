//! `findings` — owned by audit; a submission's findings are replaced as a whole.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "findings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    /// The submission's sequence number, which the index is keyed on.
    pub submission_seq: i64,
    pub submission_id: String,
    pub rule_id: String,
    /// 1 info, 2 warning, 3 error: ordered so "at least warning" is a range.
    pub severity: i32,
    /// Protobuf-encoded `jixiao.v1.Finding`.
    pub finding: Vec<u8>,
    /// `form` (one form's audit) or `department` (cross-form audit).
    pub scope: String,
    pub tenant: String,
    pub budget_unit: String,
    pub fiscal_year: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! `submissions` — owned by intake. One row per distinct form content per
//! tenant; the form itself is in `submission_forms`, so that status changes
//! rewrite a narrow row, not a row with a form of several KiB.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "submissions")]
pub struct Model {
    /// Insertion order; the page token of listings.
    #[sea_orm(primary_key)]
    pub seq: i64,
    #[sea_orm(unique)]
    pub id: String,
    pub tenant: String,
    pub content_digest: String,
    pub kind: String,
    pub budget_unit: String,
    pub competent_department: String,
    pub implementing_unit: String,
    pub project_name: String,
    pub fiscal_year: i32,
    /// received → scored → audited.
    pub status: String,
    pub received_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

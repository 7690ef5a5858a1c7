//! `events` — the event log; `seq` is the resume cursor of WatchEvents. Rows are
//! written in the same transaction as the state change they announce.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    /// received | scored | audited | exported.
    pub event_type: String,
    pub submission_id: String,
    pub tenant: String,
    pub budget_unit: String,
    pub fiscal_year: i32,
    pub at: i64,
    pub detail: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! `scoring_jobs` — written by intake in the submission's transaction (the
//! outbox), deleted by scoring in the scorecard's transaction: the table
//! holds the work still to do.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scoring_jobs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    /// The submission's sequence number, which the index is keyed on.
    pub submission_seq: i64,
    pub submission_id: String,
    pub rulebook_id: String,
    pub enqueued_at: i64,
    /// W3C traceparent of the request that queued the job; empty for none.
    pub trace_context: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! `scorecards` — owned by scoring. At most one per (submission, rulebook, version).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scorecards")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub id: String,
    /// The submission's sequence number: what the unique key is made of.
    pub submission_seq: i64,
    pub submission_id: String,
    pub rulebook_id: String,
    pub rulebook_version: String,
    pub input_digest: String,
    pub recomputed_total: String,
    pub grade: String,
    /// Protobuf-encoded `jixiao.v1.ScoreCard`.
    pub card: Vec<u8>,
    pub computed_at: i64,
    /// The submission's tenant, so reads can be limited to a caller's region.
    pub tenant: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

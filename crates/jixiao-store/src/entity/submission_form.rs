//! `submission_forms` — owned by intake: each submission's form,
//! protobuf-encoded (`jixiao.v1.Form`), written once with the submission.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "submission_forms")]
pub struct Model {
    /// The submission's sequence number.
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    pub form: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! `api_tokens` — API tokens by public id: the SHA-256 of the token (never
//! the token), its tenant and scopes, when it expires and whether it was revoked.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub token_hash: String,
    /// Region path the token sees (with the regions under it); `*` for all.
    pub tenant: String,
    /// Comma-separated scopes.
    pub scopes: String,
    pub name: String,
    pub created_at: i64,
    /// Milliseconds since the epoch; `None` never expires.
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

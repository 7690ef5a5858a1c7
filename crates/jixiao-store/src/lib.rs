//! Storage behind sea-orm: SQLite by default, PostgreSQL at scale, one schema.
//! Each service writes only its own tables through the methods here; a state
//! change and the event that announces it commit in one transaction.

mod blob;
pub mod entity;
mod error;
mod migration;
mod packed;
mod repo;
mod rows;
mod txn;

pub use error::{StoreError, StoreErrorKind};
/// The schema's migrations, for tools and tests that bring a database to a given step.
pub use migration::Migrator;
pub use repo::*;

use sea_orm::DbErr;

/// What kind of storage failure, so the RPC layer can pick a status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreErrorKind {
    /// The database cannot be reached; retrying later may succeed.
    Unavailable,
    /// Anything else; details are logged, not shown to clients.
    Internal,
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct StoreError {
    pub kind: StoreErrorKind,
    pub message: String,
}

impl From<DbErr> for StoreError {
    fn from(e: DbErr) -> Self {
        let kind = match &e {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => StoreErrorKind::Unavailable,
            DbErr::Exec(sea_orm::RuntimeErr::SqlxError(s))
            | DbErr::Query(sea_orm::RuntimeErr::SqlxError(s))
                if matches!(
                    s,
                    sea_orm::SqlxError::Io(_)
                        | sea_orm::SqlxError::PoolTimedOut
                        | sea_orm::SqlxError::PoolClosed
                ) =>
            {
                StoreErrorKind::Unavailable
            }
            _ => StoreErrorKind::Internal,
        };
        StoreError {
            kind,
            message: e.to_string(),
        }
    }
}

/// An internal failure with its message.
pub(crate) fn internal(msg: &str) -> StoreError {
    StoreError {
        kind: StoreErrorKind::Internal,
        message: msg.to_string(),
    }
}

//! Write transactions on sqlx directly, for sea-orm's queries all the same.
//! sea-orm's own transaction copies every bound value of a statement before
//! handing it to sqlx (it keeps the statement for its logs): a batch's forms,
//! cards and findings copied once more, with SQLite's one write lock held.
//! Here the values move into sqlx instead.

use sea_orm::sqlx::{self, Executor};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, ExecResult, QueryResult, RuntimeErr, Statement};
use sea_query_binder::SqlxValues;

/// An open write transaction, holding SQLite's turn at the writer gate (if
/// any) until it commits; dropped without [`Txn::commit`], it rolls back.
pub(crate) struct Txn {
    backend: DbBackend,
    open: tokio::sync::Mutex<Open>,
    /// Dropped after `open`: the turn passes on once the transaction is over.
    _turn: Option<WriteTurn>,
}

/// Where write transactions begin: SQLite's one write connection, or
/// PostgreSQL's pool.
#[derive(Clone)]
pub(crate) enum Writes {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// A writer's turn at SQLite's one write lock.
pub(crate) type WriteTurn = tokio::sync::OwnedMutexGuard<()>;

enum Open {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Writes {
    /// SQLite's one write connection, opened with `options`.
    pub(crate) async fn sqlite(
        options: sqlx::sqlite::SqliteConnectOptions,
        acquire_timeout: std::time::Duration,
    ) -> Result<Self, DbErr> {
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(acquire_timeout)
            .connect_with(options)
            .await
            .map_err(conn_err)?;
        Ok(Writes::Sqlite(pool))
    }
}

impl Txn {
    pub(crate) async fn begin(writes: &Writes, turn: Option<WriteTurn>) -> Result<Self, DbErr> {
        let (backend, open) = match writes {
            Writes::Sqlite(pool) => (
                DbBackend::Sqlite,
                Open::Sqlite(pool.begin().await.map_err(conn_err)?),
            ),
            Writes::Postgres(pool) => (
                DbBackend::Postgres,
                Open::Postgres(pool.begin().await.map_err(conn_err)?),
            ),
        };
        Ok(Txn {
            backend,
            open: tokio::sync::Mutex::new(open),
            _turn: turn,
        })
    }

    pub(crate) async fn commit(self) -> Result<(), DbErr> {
        match self.open.into_inner() {
            Open::Sqlite(t) => t.commit().await,
            Open::Postgres(t) => t.commit().await,
        }
        .map_err(conn_err)
    }
}

fn conn_err(e: sqlx::Error) -> DbErr {
    DbErr::Conn(RuntimeErr::SqlxError(e))
}

fn exec_err(e: sqlx::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::SqlxError(e))
}

fn query_err(e: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(e))
}

/// The statement's values, moved rather than copied.
fn values(stmt: &mut Statement) -> SqlxValues {
    SqlxValues(stmt.values.take().unwrap_or(sea_orm::Values(Vec::new())))
}

#[async_trait::async_trait]
impl ConnectionTrait for Txn {
    fn get_database_backend(&self) -> DbBackend {
        self.backend
    }

    async fn execute(&self, mut stmt: Statement) -> Result<ExecResult, DbErr> {
        let values = values(&mut stmt);
        match &mut *self.open.lock().await {
            Open::Sqlite(t) => sqlx::query_with(&stmt.sql, values)
                .execute(&mut **t)
                .await
                .map(Into::into),
            Open::Postgres(t) => sqlx::query_with(&stmt.sql, values)
                .execute(&mut **t)
                .await
                .map(Into::into),
        }
        .map_err(exec_err)
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match &mut *self.open.lock().await {
            Open::Sqlite(t) => t.execute(sql).await.map(Into::into),
            Open::Postgres(t) => t.execute(sql).await.map(Into::into),
        }
        .map_err(exec_err)
    }

    async fn query_one(&self, mut stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        let values = values(&mut stmt);
        match &mut *self.open.lock().await {
            Open::Sqlite(t) => sqlx::query_with(&stmt.sql, values)
                .fetch_optional(&mut **t)
                .await
                .map(|row| row.map(Into::into)),
            Open::Postgres(t) => sqlx::query_with(&stmt.sql, values)
                .fetch_optional(&mut **t)
                .await
                .map(|row| row.map(Into::into)),
        }
        .map_err(query_err)
    }

    async fn query_all(&self, mut stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let values = values(&mut stmt);
        match &mut *self.open.lock().await {
            Open::Sqlite(t) => sqlx::query_with(&stmt.sql, values)
                .fetch_all(&mut **t)
                .await
                .map(|rows| rows.into_iter().map(Into::into).collect()),
            Open::Postgres(t) => sqlx::query_with(&stmt.sql, values)
                .fetch_all(&mut **t)
                .await
                .map(|rows| rows.into_iter().map(Into::into).collect()),
        }
        .map_err(query_err)
    }
}

//! Multi-row INSERTs of the pipeline's batches, written out directly. The
//! query builder wraps every value in an expression, clones each into the
//! statement and writes one placeholder at a time: with a batch's forms, cards
//! and findings among the values that came to 14 % of the runtime's CPU in a
//! profile of the pipeline (BENCHMARKS.md).
//!
//! A batch is cut into statements of 512, 256, …, 1 rows (its size's binary
//! digits), so each connection prepares a handful of statements per table and
//! keeps them. One statement per batch size would compile anew almost every
//! time, and the cache of compiled statements, each up to megabytes, grew the
//! server by a hundred MiB.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Statement, Value};

/// The most rows one statement takes (11 columns: 5,632 values, well under
/// SQLite's and PostgreSQL's limits on bound values).
const MAX_ROWS: usize = 512;

/// Inserts rows of `columns.len()` values each, in order, and returns what
/// `tail` (`ON CONFLICT …`, `RETURNING …`) returns, in the order of the rows.
/// Name the columns returned: sqlx's SQLite driver miscounts the columns of a
/// `RETURNING *` on a table that has dropped one.
pub(crate) async fn insert(
    db: &impl ConnectionTrait,
    table: &str,
    columns: &[&str],
    values: Vec<Value>,
    tail: &str,
) -> Result<Vec<QueryResult>, DbErr> {
    let width = columns.len();
    let mut rows = values.len() / width;
    debug_assert_eq!(rows * width, values.len(), "whole rows only");
    let mut values = values.into_iter();
    let mut out = Vec::new();
    while rows > 0 {
        let n = chunk(rows);
        let chunk_values: Vec<Value> = values.by_ref().take(n * width).collect();
        let sql = statement(db.get_database_backend(), table, columns, n, tail);
        out.extend(
            db.query_all(Statement::from_sql_and_values(
                db.get_database_backend(),
                sql,
                chunk_values,
            ))
            .await?,
        );
        rows -= n;
    }
    Ok(out)
}

/// What a `RETURNING seq, <key>` gave back: each row's `seq` by its `key`.
pub(crate) fn seqs_by(
    returned: Vec<QueryResult>,
    key: &str,
) -> Result<std::collections::HashMap<String, i64>, DbErr> {
    returned
        .iter()
        .map(|r| Ok((r.try_get("", key)?, r.try_get("", "seq")?)))
        .collect()
}

/// The rows of the next statement: the largest power of two up to `MAX_ROWS`.
fn chunk(rows: usize) -> usize {
    if rows >= MAX_ROWS {
        MAX_ROWS
    } else {
        1 << (usize::BITS - 1 - rows.leading_zeros())
    }
}

/// `INSERT INTO table (columns) VALUES (…), (…) tail` for `rows` rows.
fn statement(backend: DbBackend, table: &str, columns: &[&str], rows: usize, tail: &str) -> String {
    use std::fmt::Write;
    let width = columns.len();
    let mut sql = String::with_capacity(48 + width * 16 + rows * width * 5);
    let _ = write!(sql, "INSERT INTO \"{table}\" (");
    for (i, c) in columns.iter().enumerate() {
        let comma = if i > 0 { "," } else { "" };
        let _ = write!(sql, "{comma}\"{c}\"");
    }
    sql.push_str(") VALUES ");
    for r in 0..rows {
        sql.push_str(if r > 0 { ",(" } else { "(" });
        for c in 0..width {
            if c > 0 {
                sql.push(',');
            }
            match backend {
                DbBackend::Postgres => {
                    let _ = write!(sql, "${}", r * width + c + 1);
                }
                _ => sql.push('?'),
            }
        }
        sql.push(')');
    }
    if !tail.is_empty() {
        sql.push(' ');
        sql.push_str(tail);
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_backend() {
        let s = statement(DbBackend::Postgres, "t", &["n", "s"], 2, "RETURNING *");
        assert_eq!(
            s,
            r#"INSERT INTO "t" ("n","s") VALUES ($1,$2),($3,$4) RETURNING *"#
        );
        let s = statement(DbBackend::Sqlite, "t", &["n", "s"], 2, "");
        assert_eq!(s, r#"INSERT INTO "t" ("n","s") VALUES (?,?),(?,?)"#);
    }

    #[test]
    fn a_batch_is_cut_into_its_binary_digits() {
        let cut = |mut rows: usize| {
            let mut sizes = Vec::new();
            while rows > 0 {
                sizes.push(chunk(rows));
                rows -= chunk(rows);
            }
            sizes
        };
        assert_eq!(cut(1), [1]);
        assert_eq!(cut(200), [128, 64, 8]);
        assert_eq!(cut(1300), [512, 512, 256, 16, 4]);
        assert!(cut(0).is_empty());
    }
}

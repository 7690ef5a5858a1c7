//! Multi-row INSERTs of the pipeline's batches, written out directly. The
//! query builder wraps every value in an expression, clones each into the
//! statement and writes one placeholder at a time: with a batch's forms, cards
//! and findings among the values that came to 14 % of the runtime's CPU in a
//! profile of the pipeline (BENCHMARKS.md).
//!
//! On SQLite a batch is cut into statements of 512, 256, …, 1 rows (its
//! size's binary digits), so each connection prepares a handful of statements
//! per table and keeps them. One statement per batch size would compile anew
//! almost every time, and the cache of compiled statements, each up to
//! megabytes, grew the server by a hundred MiB.
//!
//! On PostgreSQL a batch is one statement whatever its size: each column is
//! bound as an array and the rows come out of `UNNEST`. PostgreSQL plans a
//! `VALUES` list anew for every execution, every value an expression of its
//! own: planning 512 rows took longer than inserting them (BENCHMARKS.md).

use sea_orm::sea_query::ArrayType;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Statement, Value};

/// The most rows one SQLite statement takes (11 columns: 5,632 values, well
/// under SQLite's limit on bound values).
const MAX_ROWS: usize = 512;

/// Inserts rows of `columns.len()` values each, in order, and returns what
/// `tail` (`ON CONFLICT …`, `RETURNING …`) returns, in no promised order:
/// callers key the rows by a column they return. Name the columns returned:
/// sqlx's SQLite driver miscounts the columns of a `RETURNING *` on a table
/// that has dropped one.
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
    let backend = db.get_database_backend();
    if backend == DbBackend::Postgres && rows > 0 {
        if let Some(types) = column_types(width, &values) {
            let sql = unnest_statement(table, columns, &types, tail);
            let arrays = transpose(width, rows, values)
                .into_iter()
                .zip(&types)
                .map(|(column, (ty, _))| Value::Array(ty.clone(), Some(Box::new(column))))
                .collect::<Vec<_>>();
            return db
                .query_all(Statement::from_sql_and_values(backend, sql, arrays))
                .await;
        }
    }
    let mut values = values.into_iter();
    let mut out = Vec::new();
    while rows > 0 {
        let n = chunk(rows);
        let chunk_values: Vec<Value> = values.by_ref().take(n * width).collect();
        let sql = statement(backend, table, columns, n, tail);
        out.extend(
            db.query_all(Statement::from_sql_and_values(backend, sql, chunk_values))
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

/// Each column's array type and its SQL name, when every value of the
/// column is of one kind and none is NULL: an array of those binds.
fn column_types(width: usize, values: &[Value]) -> Option<Vec<(ArrayType, &'static str)>> {
    let types = values[..width]
        .iter()
        .map(array_type)
        .collect::<Option<Vec<_>>>()?;
    values
        .chunks(width)
        .all(|row| {
            row.iter()
                .zip(&types)
                .all(|(v, (ty, _))| array_type(v).is_some_and(|(t, _)| t == *ty))
        })
        .then_some(types)
}

fn array_type(v: &Value) -> Option<(ArrayType, &'static str)> {
    match v {
        Value::String(Some(_)) => Some((ArrayType::String, "text[]")),
        Value::Int(Some(_)) => Some((ArrayType::Int, "int4[]")),
        Value::BigInt(Some(_)) => Some((ArrayType::BigInt, "int8[]")),
        Value::Bytes(Some(_)) => Some((ArrayType::Bytes, "bytea[]")),
        _ => None,
    }
}

/// Row-major values as one list per column.
fn transpose(width: usize, rows: usize, values: Vec<Value>) -> Vec<Vec<Value>> {
    let mut columns: Vec<Vec<Value>> = (0..width).map(|_| Vec::with_capacity(rows)).collect();
    for (i, v) in values.into_iter().enumerate() {
        columns[i % width].push(v);
    }
    columns
}

/// `INSERT INTO table (columns) SELECT * FROM UNNEST($1::type[], …) tail`.
fn unnest_statement(
    table: &str,
    columns: &[&str],
    types: &[(ArrayType, &'static str)],
    tail: &str,
) -> String {
    use std::fmt::Write;
    let mut sql = insert_into(table, columns, 32 + types.len() * 12);
    sql.push_str(" SELECT * FROM UNNEST(");
    for (i, (_, name)) in types.iter().enumerate() {
        let comma = if i > 0 { "," } else { "" };
        let _ = write!(sql, "{comma}${}::{name}", i + 1);
    }
    sql.push(')');
    end_with(&mut sql, tail);
    sql
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
    let mut sql = insert_into(table, columns, 8 + rows * width * 5);
    sql.push_str(" VALUES ");
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
    end_with(&mut sql, tail);
    sql
}

/// `INSERT INTO "table" ("column",…)`, with room for `more` bytes after it.
fn insert_into(table: &str, columns: &[&str], more: usize) -> String {
    use std::fmt::Write;
    let mut sql = String::with_capacity(32 + columns.len() * 16 + more);
    let _ = write!(sql, "INSERT INTO \"{table}\" (");
    for (i, c) in columns.iter().enumerate() {
        let comma = if i > 0 { "," } else { "" };
        let _ = write!(sql, "{comma}\"{c}\"");
    }
    sql.push(')');
    sql
}

/// Appends the statement's `tail` (`ON CONFLICT …`, `RETURNING …`), if any.
fn end_with(sql: &mut String, tail: &str) {
    if !tail.is_empty() {
        sql.push(' ');
        sql.push_str(tail);
    }
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
    fn postgres_takes_a_column_as_an_array_when_it_is_all_of_one_kind() {
        let row = |n: i64, s: &str| -> [Value; 3] { [n.into(), s.into(), 2025i32.into()] };
        let values: Vec<Value> = row(1, "a").into_iter().chain(row(2, "b")).collect();
        let types = column_types(3, &values).unwrap();
        assert_eq!(
            unnest_statement("t", &["n", "s", "y"], &types, "RETURNING seq"),
            r#"INSERT INTO "t" ("n","s","y") SELECT * FROM UNNEST($1::int8[],$2::text[],$3::int4[]) RETURNING seq"#
        );
        assert_eq!(
            transpose(3, 2, values),
            [
                vec![Value::from(1i64), 2i64.into()],
                vec!["a".into(), "b".into()],
                vec![2025i32.into(), 2025i32.into()],
            ]
        );
        // A NULL or a value of another kind keeps the statement of rows.
        let null: Vec<Value> = row(1, "a")
            .into_iter()
            .chain([2i64.into(), Value::String(None), 2025i32.into()])
            .collect();
        assert!(column_types(3, &null).is_none());
        let mixed: Vec<Value> = row(1, "a")
            .into_iter()
            .chain([2i64.into(), 7i32.into(), 2025i32.into()])
            .collect();
        assert!(column_types(3, &mixed).is_none());
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

//! Multi-row INSERTs of the pipeline's batches, written out directly. The
//! query builder wraps every value in an expression, clones each into the
//! statement and writes one placeholder at a time: with a batch's forms, cards
//! and findings among the values that came to 14 % of the runtime's CPU in a
//! profile of the pipeline (BENCHMARKS.md). The statements are the same.

use sea_orm::{DbBackend, EntityTrait, IdenStatic, Iterable, Statement, Value};

/// `RETURNING` every column of `E` by name (sqlx's SQLite driver miscounts the
/// columns of a `RETURNING *` on a table that has dropped one).
pub(crate) fn returning<E: EntityTrait>() -> String {
    let columns: Vec<String> = E::Column::iter()
        .map(|c| format!("\"{}\"", c.as_str()))
        .collect();
    format!("RETURNING {}", columns.join(", "))
}

/// `INSERT INTO table (columns) VALUES (…), (…) tail`, one row per
/// `columns.len()` values, in order; `tail` is `ON CONFLICT …`/`RETURNING …`.
pub(crate) fn insert(
    backend: DbBackend,
    table: &str,
    columns: &[&str],
    values: Vec<Value>,
    tail: &str,
) -> Statement {
    use std::fmt::Write;
    let width = columns.len();
    let rows = values.len() / width;
    debug_assert_eq!(rows * width, values.len(), "whole rows only");
    let mut sql = String::with_capacity(48 + columns.len() * 16 + values.len() * 5);
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
    Statement::from_sql_and_values(backend, sql, values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_backend() {
        let values = vec![
            Value::from(1i32),
            Value::from("a"),
            Value::from(2i32),
            Value::from("b"),
        ];
        let s = insert(
            DbBackend::Postgres,
            "t",
            &["n", "s"],
            values.clone(),
            "RETURNING *",
        );
        assert_eq!(
            s.sql,
            r#"INSERT INTO "t" ("n","s") VALUES ($1,$2),($3,$4) RETURNING *"#
        );
        let s = insert(DbBackend::Sqlite, "t", &["n", "s"], values, "");
        assert_eq!(s.sql, r#"INSERT INTO "t" ("n","s") VALUES (?,?),(?,?)"#);
        assert_eq!(s.values.unwrap().0.len(), 4);
    }
}

//! Page tokens of every List RPC: the sequence number of the last row served.

use jixiao_form::Violation;

const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 1000;

/// (rows per page, sequence number to start after).
pub fn page_args(page_size: u32, page_token: &str) -> Result<(u64, i64), Violation> {
    let size = match page_size {
        0 => DEFAULT_PAGE,
        n if n > MAX_PAGE => {
            return Err(Violation::new(
                "page_size",
                format!("must be at most {MAX_PAGE}, got {n}"),
            ));
        }
        n => n,
    };
    let after = match page_token {
        "" => 0,
        t => t.parse::<i64>().map_err(|_| {
            Violation::new("page_token", "is not a token returned by a previous page")
        })?,
    };
    Ok((u64::from(size), after))
}

/// The token of the next page: empty when this page was not full.
pub fn next_token(rows: usize, size: u64, last_seq: Option<i64>) -> String {
    match last_seq {
        Some(seq) if rows as u64 == size => seq.to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_bounds_and_tokens() {
        assert_eq!(page_args(0, ""), Ok((100, 0)));
        assert_eq!(page_args(5, "42"), Ok((5, 42)));
        assert_eq!(page_args(1001, "").unwrap_err().field, "page_size");
        assert_eq!(page_args(1, "x").unwrap_err().field, "page_token");
        assert_eq!(next_token(5, 5, Some(9)), "9");
        assert_eq!(next_token(4, 5, Some(9)), "");
    }
}

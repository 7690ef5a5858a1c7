use rust_decimal::{Decimal, RoundingStrategy};

/// Folds the full-width forms that appear in forms (０-９, ．, ，, ％, U+3000)
/// to ASCII so one grammar serves both.
pub(crate) fn fold_width(c: char) -> char {
    match c {
        '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
        '．' => '.',
        '，' => ',',
        '％' => '%',
        '－' => '-',
        '\u{3000}' | '\u{a0}' => ' ',
        _ => c,
    }
}

/// Parses a decimal as written in a form cell: surrounding spaces (also U+3000),
/// full-width digits and thousands separators (`2,197.89`) are accepted; anything
/// else is an error with the reason.
pub fn parse_decimal(text: &str) -> Result<Decimal, &'static str> {
    let folded: String = text.chars().map(fold_width).collect();
    let s = folded.trim();
    if s.is_empty() {
        return Err("is empty");
    }
    let (sign, digits) = match s.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", s.strip_prefix('+').unwrap_or(s)),
    };
    let (int_part, frac_part) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    if !valid_integer_part(int_part) {
        return Err("is not a decimal number");
    }
    if let Some(f) = frac_part {
        if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
            return Err("is not a decimal number");
        }
    }
    let mut plain = String::with_capacity(s.len());
    plain.push_str(sign);
    plain.extend(int_part.chars().filter(|c| *c != ','));
    if let Some(f) = frac_part {
        plain.push('.');
        plain.push_str(f);
    }
    plain.parse::<Decimal>().map_err(|_| "is out of range")
}

/// Digits, optionally grouped by commas in threes (`2,197`).
fn valid_integer_part(s: &str) -> bool {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit() || b == b',') {
        return false;
    }
    if !s.contains(',') {
        return true;
    }
    let mut groups = s.split(',');
    let first = groups.next().unwrap_or("");
    (1..=3).contains(&first.len()) && groups.all(|g| g.len() == 3)
}

/// Parses a rate as written (`93.75%`, `100％`, or a bare `93.75`) into percent.
pub fn parse_percent(text: &str) -> Result<Decimal, &'static str> {
    let folded: String = text.chars().map(fold_width).collect();
    let s = folded.trim();
    parse_decimal(s.strip_suffix('%').unwrap_or(s))
}

/// Rounds half away from zero to two places, as forms do (51.425 → 51.43),
/// and always shows two places (10 → 10.00).
pub fn round2(d: Decimal) -> Decimal {
    let mut r = d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(2);
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn accepts_the_ways_forms_write_numbers() {
        assert_eq!(parse_decimal("418.85"), Ok(d("418.85")));
        assert_eq!(parse_decimal("　26.89"), Ok(d("26.89")));
        assert_eq!(parse_decimal("2,197.89"), Ok(d("2197.89")));
        assert_eq!(parse_decimal("１０"), Ok(d("10")));
        assert_eq!(parse_decimal("-3.5"), Ok(d("-3.5")));
    }

    #[test]
    fn rejects_what_is_not_a_number() {
        for bad in [
            "", "  ", "abc", "1.2.3", "12,34", "1,2345", ".5", "5.", "10%", "1e5",
        ] {
            assert!(parse_decimal(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn percent() {
        assert_eq!(parse_percent("93.75%"), Ok(d("93.75")));
        assert_eq!(parse_percent("100％"), Ok(d("100")));
        assert_eq!(parse_percent("88.94"), Ok(d("88.94")));
    }

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(round2(d("51.425")), d("51.43"));
        assert_eq!(round2(d("5.604")), d("5.60"));
        assert_eq!(round2(d("10")).to_string(), "10.00");
    }
}

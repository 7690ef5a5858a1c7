//! Figures in the form's own text (its 绩效自评报告 and 年度总体目标) against its table.

use jixiao_form::{parse_decimal, round2, Form};
use rust_decimal::Decimal;

/// An amount in 万元 found in text, with the words just before it.
pub(crate) struct TextAmount {
    pub value: Decimal,
    pub written: String,
    pub before: String,
}

/// Every `N万元` / `N亿元` / `N元` in `text`, converted to 万元. Digits are
/// ASCII, so byte positions around them are character boundaries.
pub(crate) fn amounts(text: &str) -> Vec<TextAmount> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.' || bytes[i] == b',')
        {
            i += 1;
        }
        let number = text[start..i].trim_end_matches(['.', ',']);
        let rest = &text[i..];
        let (scale, unit) = if rest.starts_with("万元") {
            (Decimal::ONE, "万元")
        } else if rest.starts_with("亿元") {
            (Decimal::from(10_000), "亿元")
        } else if rest.starts_with('元') {
            (Decimal::new(1, 4), "元")
        } else {
            continue;
        };
        let Ok(v) = parse_decimal(number) else {
            continue;
        };
        // Up to 12 characters before the number: the words that name it.
        let from = text[..start]
            .char_indices()
            .rev()
            .take(12)
            .last()
            .map(|(k, _)| k)
            .unwrap_or(start);
        out.push(TextAmount {
            value: v * scale,
            written: format!("{number}{unit}"),
            before: text[from..start].to_string(),
        });
    }
    out
}

/// Rates written `N%` right after one of `labels` in `text`.
pub(crate) fn rate_after(text: &str, labels: &[&str]) -> Option<(Decimal, String)> {
    for label in labels {
        let Some(at) = text.find(label) else { continue };
        let after = &text[at + label.len()..];
        let after = after.trim_start_matches(['为', '是', '：', ':', ' ']);
        let number: String = after
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        if !number.is_empty() && after[number.len()..].starts_with('%') {
            if let Ok(v) = parse_decimal(&number) {
                return Some((v, format!("{label}{number}%")));
            }
        }
    }
    None
}

/// The amount written right after one of `labels` (`年初预算433.32万元`).
pub(crate) fn amount_after<'a>(found: &'a [TextAmount], labels: &[&str]) -> Option<&'a TextAmount> {
    found
        .iter()
        .find(|a| labels.iter().any(|l| a.before.ends_with(l)))
}

/// Texts of a form that speak about it: the narrative and the goals.
pub(crate) fn texts(form: &Form) -> impl Iterator<Item = (&'static str, &str)> {
    std::iter::once(("narrative", form.narrative.as_str())).chain(
        form.goals
            .iter()
            .flat_map(|g| [("goals", g.expected.as_str()), ("goals", g.actual.as_str())]),
    )
}

/// Whether `a` is `b` shifted by a power of ten (a slipped digit): ×10, ×100, ÷10, ÷100.
pub(crate) fn magnitude_slip(a: Decimal, b: Decimal) -> bool {
    if a.is_zero() || b.is_zero() || a == b {
        return false;
    }
    [10, 100].iter().any(|k| {
        let k = Decimal::from(*k);
        round2(a) == round2(b * k) || round2(a * k) == round2(b)
    })
}

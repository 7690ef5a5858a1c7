//! Figures in the form's own text (its 绩效自评报告 and 年度总体目标) against its table.

use jixiao_form::{parse_decimal, round2, Form};
use rust_decimal::Decimal;

/// An amount in 万元 found in text, with the words just before it.
pub(crate) struct TextAmount {
    pub value: Decimal,
    pub written: String,
    pub before: String,
}

/// Every `N万元` / `N亿元` / `N元` in `text`, converted to 万元.
pub(crate) fn amounts(text: &str) -> Vec<TextAmount> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.' || chars[i] == ',') {
            i += 1;
        }
        let number: String = chars[start..i]
            .iter()
            .collect::<String>()
            .trim_end_matches(['.', ','])
            .to_string();
        let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
        let scale = if rest.starts_with("万元") {
            Some(Decimal::ONE)
        } else if rest.starts_with("亿元") {
            Some(Decimal::from(10_000))
        } else if rest.starts_with('元') {
            Some(Decimal::new(1, 4))
        } else {
            None
        };
        if let (Some(scale), Ok(v)) = (scale, parse_decimal(&number)) {
            let before: String = chars[start.saturating_sub(12)..start].iter().collect();
            let unit_len = if rest.starts_with('元') { 1 } else { 2 };
            out.push(TextAmount {
                value: v * scale,
                written: chars[start..(i + unit_len).min(chars.len())]
                    .iter()
                    .collect(),
                before,
            });
        }
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
pub(crate) fn amount_after(text: &str, labels: &[&str]) -> Option<TextAmount> {
    amounts(text)
        .into_iter()
        .find(|a| labels.iter().any(|l| a.before.ends_with(l)))
}

/// Texts of a form that speak about it: the narrative and the goals.
pub(crate) fn texts(form: &Form) -> Vec<(&'static str, String)> {
    let mut out = vec![("narrative", form.narrative.clone())];
    for (i, g) in form.goals.iter().enumerate() {
        out.push(if i == 0 {
            ("goals", format!("{}\n{}", g.expected, g.actual))
        } else {
            ("goals", g.actual.clone())
        });
    }
    out
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

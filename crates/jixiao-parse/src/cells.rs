//! Cleaning cell text: the artefacts of Word exports, and label matching.

/// Removes Word artefacts (`[bookmark: _GoBack]`), trims every line (spaces and
/// U+3000) and joins the lines of a cell without a separator: Chinese labels and
/// numbers broken across lines (`项目支\n出名称`, `1802.96\n万元`) come back whole.
pub fn clean(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for line in raw.lines() {
        let line = strip_bookmarks(line);
        let t = line.trim_matches(|c: char| c.is_whitespace() || c == '\u{3000}');
        if t.is_empty() {
            continue;
        }
        // Runs of spaces inside a line (padding) become one.
        let mut last_space = false;
        for c in t.chars() {
            let space = c == ' ' || c == '\u{3000}' || c == '\t';
            if space {
                if !last_space {
                    out.push(' ');
                }
            } else {
                out.push(c);
            }
            last_space = space;
        }
    }
    out
}

fn strip_bookmarks(line: &str) -> std::borrow::Cow<'_, str> {
    if !line.contains("[bookmark:") {
        return std::borrow::Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find("[bookmark:") {
        out.push_str(&rest[..start]);
        match rest[start..].find(']') {
            Some(end) => rest = &rest[start + end + 1..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// A label for matching: no whitespace at all, full-width brackets and colons
/// folded (`产出指标（50分）` and `产出指标\n\n(50分)` compare equal).
pub fn norm(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{3000}')
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            '：' => ':',
            _ => c,
        })
        .collect()
}

/// A weight written in a label, `产出指标(50分)` → (`产出指标`, Some(50)).
pub fn split_weight(label: &str) -> (String, Option<rust_decimal::Decimal>) {
    let n = norm(label);
    if let Some(open) = n.rfind('(') {
        let inner = &n[open + 1..];
        if let Some(num) = inner.strip_suffix("分)") {
            if let Ok(w) = jixiao_form::parse_decimal(num) {
                return (n[..open].to_string(), Some(w));
            }
        }
    }
    (n, None)
}

/// Whether a cell holds nothing a reader would see.
pub fn is_blank(text: &str) -> bool {
    text.trim_matches(|c: char| c.is_whitespace() || c == '\u{3000}')
        .is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_the_artefacts_of_the_samples() {
        assert_eq!(clean("项目支\n出名称"), "项目支出名称");
        assert_eq!(clean("\u{3000}26.89"), "26.89");
        assert_eq!(clean("[bookmark: _GoBack]13.98"), "13.98");
        assert_eq!(clean("1802.96\n万元"), "1802.96万元");
        assert_eq!(clean("\u{3000}\n\u{3000}100%\n\u{3000}"), "100%");
        assert_eq!(clean("≥22  次"), "≥22 次");
        assert_eq!(clean("\u{3000}  0"), "0");
    }

    #[test]
    fn labels_compare_without_layout() {
        assert_eq!(norm("产出指标\n\n(50分)"), norm("产出指标（50分）"));
        assert_eq!(
            split_weight("满意度\n指标\n（10分）").1,
            Some(rust_decimal::Decimal::from(10))
        );
        assert_eq!(split_weight("产出指标(50分)").0, "产出指标");
        assert_eq!(split_weight("数量指标"), ("数量指标".to_string(), None));
    }
}

//! The text export of a Word document as tokens. A line starting with a TAB
//! opens a cell; the lines after it without a TAB continue it, even across
//! blank lines, until the table ends (after its 总分 row, or at a line that can
//! only be outside a table: a title, 填表人, 备注, 说明).

use crate::cells::norm;
use crate::Token;

/// 备注 / 说明 / 单位负责人 lines under a table: notes, not values.
pub(crate) fn is_note(line: &str) -> bool {
    let n = norm(line);
    ["备注", "说明:", "单位负责人"]
        .iter()
        .any(|p| n.starts_with(p))
}

/// Whether a line without a TAB must be outside any table.
fn is_boundary(line: &str) -> bool {
    let n = norm(line);
    n.starts_with("填表人")
        || is_note(line)
        || is_title(line).is_some()
        || n.ends_with("绩效自评报告")
}

/// `2024年度项目支出绩效自评表` → 2024. A title names the year and ends in
/// 自评表, 评价表 or 基础数据表 (not any 表: narrative lines end in 情况表).
pub(crate) fn is_title(line: &str) -> Option<i32> {
    let n = norm(line);
    if n.chars().count() > 60
        || !(n.ends_with("自评表") || n.ends_with("评价表") || n.ends_with("基础数据表"))
    {
        return None;
    }
    let (year, _) = n.split_once("年度")?;
    let digits: String = year
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let y: i32 = digits.parse().ok()?;
    (1990..=2100).contains(&y).then_some(y)
}

pub(crate) fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    // The cell being read: first line, text so far, row hint.
    let mut open: Option<(u32, String, bool)> = None;
    let mut in_table = false;
    let mut total_seen = false;
    let mut blank_run = 0usize;
    let flush = |open: &mut Option<(u32, String, bool)>, out: &mut Vec<Token>| {
        if let Some((line, text, new_row)) = open.take() {
            out.push(Token::Cell {
                line,
                text,
                new_row,
                col: None,
            });
        }
    };
    for (i, raw) in text.split('\n').enumerate() {
        let line_no = i as u32 + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(cell) = line.strip_prefix('\t') {
            flush(&mut open, &mut out);
            let starts_total = norm(cell).starts_with("总分");
            open = Some((line_no, cell.to_string(), blank_run > 0 || !in_table));
            in_table = true;
            total_seen |= starts_total;
            blank_run = 0;
        } else if line
            .trim_matches(|c: char| c == ' ' || c == '\t')
            .is_empty()
        {
            // Only ASCII blanks end paragraphs: a line of U+3000 is part of a cell.
            blank_run += 1;
            if total_seen {
                flush(&mut open, &mut out);
                in_table = false;
                total_seen = false;
            }
        } else if in_table && open.is_some() && !is_boundary(line) {
            if let Some((_, text, _)) = open.as_mut() {
                text.push('\n');
                text.push_str(line);
            }
            blank_run = 0;
        } else {
            flush(&mut open, &mut out);
            in_table = false;
            total_seen = false;
            blank_run = 0;
            out.push(Token::Text {
                line: line_no,
                text: line.to_string(),
            });
        }
    }
    flush(&mut open, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles() {
        assert_eq!(is_title(" 2024年度项目支出绩效自评表"), Some(2024));
        assert_eq!(
            is_title("2024年度部门（单位）整体支出绩效评价基础数据表"),
            Some(2024)
        );
        assert_eq!(is_title("  2023年度部门整体支出绩效自评表"), Some(2023));
        assert_eq!(is_title("6.社会保险基金预算支出情况表"), None);
        assert_eq!(is_title("2023年度项目支出情况表"), None);
    }

    #[test]
    fn cells_continue_across_blank_lines_until_the_total_row() {
        let t = "标题\n\t产出指标\n\n(50分)\n\t数量指标\n\n\t总分\n\t100\n\n填表人：某\n";
        let toks = tokens(t);
        let cells: Vec<(String, bool)> = toks
            .iter()
            .filter_map(|t| match t {
                Token::Cell { text, new_row, .. } => Some((text.clone(), *new_row)),
                _ => None,
            })
            .collect();
        assert_eq!(
            cells,
            [
                ("产出指标\n(50分)".to_string(), true),
                ("数量指标".to_string(), false),
                ("总分".to_string(), true),
                ("100".to_string(), false)
            ]
        );
        assert!(matches!(toks.last(), Some(Token::Text { text, .. }) if text == "填表人：某"));
    }
}

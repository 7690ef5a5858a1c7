//! CSV for Excel: UTF-8 with a BOM (so Chinese shows), one row per form.

use jixiao_audit::Severity;

use crate::{percent, text, ExportRecord};

const COLUMNS: [&str; 17] = [
    "submission_id",
    "地区",
    "预算单位",
    "项目名称",
    "年度",
    "全年预算数",
    "全年执行数",
    "执行率",
    "执行率(填报)",
    "总分(填报)",
    "总分(重算)",
    "差额",
    "等级",
    "rulebook",
    "error",
    "warning",
    "info",
];

pub(crate) fn header(out: &mut Vec<u8>) {
    out.extend("\u{feff}".as_bytes());
    row(out, COLUMNS.iter().map(|c| c.to_string()));
}

pub(crate) fn record(out: &mut Vec<u8>, r: &ExportRecord) {
    let (budget, executed) = r.budget_and_executed();
    let card = r.card.as_ref();
    row(
        out,
        [
            r.submission_id.clone(),
            r.region().to_string(),
            r.unit().to_string(),
            r.form.project_name.clone(),
            r.form.fiscal_year.to_string(),
            text(budget),
            text(executed),
            percent(r.execution_rate()),
            r.form.funds.stated_execution_rate.clone(),
            text(card.and_then(|c| c.stated_total)),
            text(card.and_then(|c| c.recomputed_total)),
            text(r.inflation()),
            card.map(|c| c.grade.clone()).unwrap_or_default(),
            card.map(|c| format!("{} {}", c.rulebook_id, c.rulebook_version))
                .unwrap_or_default(),
            r.findings_of(Severity::Error).to_string(),
            r.findings_of(Severity::Warning).to_string(),
            r.findings_of(Severity::Info).to_string(),
        ],
    );
}

/// One CSV record: fields quoted when they hold a comma, quote or line break.
pub(crate) fn row(out: &mut Vec<u8>, fields: impl IntoIterator<Item = String>) {
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if f.contains([',', '"', '\n', '\r']) {
            out.push(b'"');
            out.extend(f.replace('"', "\"\"").as_bytes());
            out.push(b'"');
        } else {
            out.extend(f.as_bytes());
        }
    }
    out.extend(b"\r\n");
}

#[cfg(test)]
mod tests {
    use crate::testing::record;

    #[test]
    fn bom_header_and_quoted_fields() {
        let mut out = Vec::new();
        super::header(&mut out);
        let mut r = record("sub_1", "株洲市\"工信\"局, 机关", "139.98", "124.51");
        r.findings.pop();
        super::record(&mut out, &r);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with('\u{feff}'));
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert!(lines[0].contains("总分(重算)"));
        assert_eq!(
            lines[1],
            "sub_1,湖南省/株洲市,\"株洲市\"\"工信\"\"局, 机关\",\"株洲市\"\"工信\"\"局, 机关项目\",2024,139.98,124.51,88.95%,100%,100,77.50,22.50,中,cn-national-default 2020.1,0,1,0"
        );
    }
}

//! JSON Lines: one object per form — submission, scorecard with every line, findings.

use serde_json::json;

use crate::{text, ExportRecord};

pub(crate) fn record(out: &mut Vec<u8>, r: &ExportRecord) {
    let line = json!({
        "submission": {
            "id": r.submission_id, "tenant": r.tenant, "content_digest": r.content_digest,
            "status": r.status, "kind": r.form.kind.as_str(), "budget_unit": r.unit(),
            "project_name": r.form.project_name, "fiscal_year": r.form.fiscal_year,
            "region": r.region(), "received_at_ms": r.received_at_ms,
        },
        "scorecard": r.card.as_ref().map(|c| json!({
            "rulebook_id": c.rulebook_id, "rulebook_version": c.rulebook_version,
            "rulebook_digest": c.rulebook_digest, "input_digest": c.input_digest,
            "engine_version": c.engine_version, "stated_total": text(c.stated_total),
            "recomputed_total": text(c.recomputed_total), "grade": c.grade,
            "total_explanation": c.total_explanation,
            "lines": c.lines.iter().map(|l| json!({
                "path": l.path, "label": l.label, "weight": text(l.weight),
                "stated_score": text(l.stated_score), "recomputed_score": text(l.recomputed_score),
                "explanation": l.explanation, "rule": l.rule,
            })).collect::<Vec<_>>(),
        })),
        "findings": r.findings.iter().map(|f| json!({
            "rule_id": f.rule_id, "rule_version": f.rule_version, "severity": f.severity.as_str(),
            "section": f.location.section, "row": f.location.row, "column": f.location.column,
            "path": f.location.path, "expected": f.expected, "stated": f.stated,
            "difference": f.difference, "message_zh": f.message_zh, "message_en": f.message_en,
        })).collect::<Vec<_>>(),
    });
    // Writing a Value into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, &line);
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use crate::testing::record;

    #[test]
    fn one_object_per_line_with_the_scorecard_and_findings() {
        let mut out = Vec::new();
        super::record(
            &mut out,
            &record("sub_1", "株洲市工业和信息化局", "418.85", "418.85"),
        );
        super::record(&mut out, &record("sub_2", "株洲市财政局", "10", "5"));
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0]["submission"]["budget_unit"],
            "株洲市工业和信息化局"
        );
        assert_eq!(lines[1]["scorecard"]["recomputed_total"], "77.50");
        assert_eq!(lines[1]["findings"][1]["severity"], "error");
        assert_eq!(
            lines[0]["scorecard"]["lines"][0]["explanation"],
            "3个 / 4个 × 90 = 67.50"
        );
    }
}

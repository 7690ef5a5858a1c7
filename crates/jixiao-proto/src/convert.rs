//! Wire ⇄ domain. Decimal strings are parsed here, and every field that cannot
//! be parsed becomes a violation naming its wire path.

use std::time::{SystemTime, UNIX_EPOCH};

use jixiao_audit as audit;
use jixiao_form as form;
use jixiao_form::{parse_decimal, parse_measure, Violation};
use jixiao_scoring as scoring;
use rust_decimal::Decimal;

use crate::v1;

/// Collects violations while reading a wire form.
struct Reader {
    violations: Vec<Violation>,
    /// Forms are normalised for their digest; scorecards keep their places (10.00).
    normalize: bool,
}

impl Reader {
    /// An optional decimal: empty is `None`, anything else must parse.
    fn decimal(&mut self, field: impl FnOnce() -> String, text: &str) -> Option<Decimal> {
        if text.trim().is_empty() {
            return None;
        }
        match parse_decimal(text) {
            Ok(d) if self.normalize => Some(d.normalize()),
            Ok(d) => Some(d),
            Err(reason) => {
                self.violations.push(Violation::new(
                    field(),
                    format!("{reason}: expected a decimal such as 418.85, got {text:?}"),
                ));
                None
            }
        }
    }

    /// A wire enum value; one this build does not know is named and read as `unspecified`.
    fn wire_enum<E: TryFrom<i32>>(
        &mut self,
        field: impl FnOnce() -> String,
        what: &str,
        wire: i32,
        unspecified: E,
    ) -> E {
        E::try_from(wire).unwrap_or_else(|_| {
            self.violations
                .push(Violation::new(field(), format!("unknown {what} {wire}")));
            unspecified
        })
    }

    /// `field` names the measure in a violation; it is only built for one.
    fn measure(&mut self, field: impl Fn() -> String, m: Option<v1::Measure>) -> form::Measure {
        let Some(m) = m else {
            return parse_measure("");
        };
        // Clients may send only the raw text; the server reads it the same way the parsers do.
        if m.kind == v1::ValueKind::Unspecified as i32 {
            return parse_measure(&m.raw);
        }
        let kind = value_kind_from_proto(self.wire_enum(
            || format!("{}.kind", field()),
            "value kind",
            m.kind,
            v1::ValueKind::Unspecified,
        ));
        let direction = direction_from_proto(self.wire_enum(
            || format!("{}.direction", field()),
            "direction",
            m.direction,
            v1::Direction::Unspecified,
        ));
        let value = self.decimal(|| format!("{}.value", field()), &m.value);
        if kind == form::ValueKind::Quantity && value.is_none() {
            self.violations.push(Violation::new(
                format!("{}.value", field()),
                "is required when kind is VALUE_KIND_QUANTITY",
            ));
        }
        form::Measure {
            raw: trimmed(m.raw),
            kind,
            direction,
            value,
            unit: trimmed(m.unit),
            deadline: trimmed(m.deadline),
        }
    }
}

/// The text without surrounding whitespace; moved, not copied, when it has none.
fn trimmed(s: String) -> String {
    if s.trim().len() == s.len() {
        s
    } else {
        s.trim().to_string()
    }
}

/// Reads a wire form into the domain model, moving its text rather than
/// copying it. Semantic checks are [`jixiao_form::validate`]'s; this only
/// reports what cannot be read.
pub fn form_from_proto(p: v1::Form) -> Result<form::Form, Vec<Violation>> {
    // Normalised (`26.890` → `26.89`) so equal amounts digest equally.
    let mut r = Reader {
        violations: Vec::new(),
        normalize: true,
    };
    let v1::Form {
        kind,
        project_name,
        units,
        fiscal_year,
        funds,
        goals,
        indicators,
        section_weights,
        stated_total,
        filer,
        narrative,
        diagnostics,
        origin,
        basic_data,
    } = p;
    let kind = match r.wire_enum(
        || "form.kind".into(),
        "form kind",
        kind,
        v1::FormKind::Unspecified,
    ) {
        v1::FormKind::Project => form::FormKind::Project,
        v1::FormKind::Department => form::FormKind::Department,
        v1::FormKind::DepartmentBasicData => form::FormKind::DepartmentBasicData,
        v1::FormKind::Unspecified => form::FormKind::Unspecified,
    };
    // Absent blocks read as empty ones.
    let units = units.unwrap_or_default();
    let funds = funds.unwrap_or_default();
    let rows = funds
        .rows
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            let field = |c: &str| format!("form.funds.rows[{i}].{c}");
            let source = r.wire_enum(
                || field("source"),
                "fund source",
                row.source,
                v1::FundSource::Unspecified,
            );
            form::FundRow {
                source: fund_source_from_proto(source),
                label: trimmed(row.label),
                initial_budget: r.decimal(|| field("initial_budget"), &row.initial_budget),
                full_year_budget: r.decimal(|| field("full_year_budget"), &row.full_year_budget),
                executed: r.decimal(|| field("executed"), &row.executed),
            }
        })
        .collect();
    let funds = form::FundBlock {
        rows,
        weight: r.decimal(|| "form.funds.weight".into(), &funds.weight),
        stated_execution_rate: trimmed(funds.stated_execution_rate),
        stated_score: r.decimal(|| "form.funds.stated_score".into(), &funds.stated_score),
    };
    let indicators = indicators
        .into_iter()
        .enumerate()
        .map(|(i, ind)| form::Indicator {
            target: r.measure(|| format!("form.indicators[{i}].target"), ind.target),
            actual: r.measure(|| format!("form.indicators[{i}].actual"), ind.actual),
            weight: r.decimal(|| format!("form.indicators[{i}].weight"), &ind.weight),
            self_score: r.decimal(
                || format!("form.indicators[{i}].self_score"),
                &ind.self_score,
            ),
            level1: trimmed(ind.level1),
            level2: trimmed(ind.level2),
            name: trimmed(ind.name),
            deviation_reason: trimmed(ind.deviation_reason),
        })
        .collect();
    let section_weights = section_weights
        .into_iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let weight = r.decimal(|| format!("form.section_weights[{i}].weight"), &s.weight);
            if weight.is_none() && !s.weight.trim().is_empty() {
                return None;
            }
            Some(form::SectionWeight {
                level1: trimmed(s.level1),
                weight: weight.unwrap_or_default(),
            })
        })
        .collect();
    let stated_total = r.decimal(|| "form.stated_total".into(), &stated_total);
    let filer = filer.unwrap_or_default();
    let basic = basic_data.unwrap_or_default();
    let f = form::Form {
        kind,
        project_name: trimmed(project_name),
        units: form::Units {
            budget_unit: trimmed(units.budget_unit),
            competent_department: trimmed(units.competent_department),
            implementing_unit: trimmed(units.implementing_unit),
            region: trimmed(units.region),
        },
        fiscal_year,
        funds,
        goals: goals
            .into_iter()
            .map(|g| form::Goal {
                expected: trimmed(g.expected),
                actual: trimmed(g.actual),
            })
            .collect(),
        indicators,
        section_weights,
        stated_total,
        filer: form::Filer {
            name: trimmed(filer.name),
            date: trimmed(filer.date),
            phone: trimmed(filer.phone),
        },
        narrative,
        diagnostics: diagnostics
            .into_iter()
            .map(|d| form::Diagnostic {
                line: d.line,
                cell: d.cell,
                path: d.path,
                code: d.code,
                raw: d.raw,
                message: d.message,
            })
            .collect(),
        origin: origin
            .map(|o| form::Origin {
                file_name: o.file_name,
                first_line: o.first_line,
                last_line: o.last_line,
                sheet: o.sheet,
            })
            .unwrap_or_default(),
        basic_data: form::BasicData {
            column_labels: basic.column_labels,
            rows: basic
                .rows
                .into_iter()
                .map(|row| form::BasicDataRow {
                    label: row.label,
                    values: row.values,
                })
                .collect(),
        },
    };
    if r.violations.is_empty() {
        Ok(f)
    } else {
        Err(r.violations)
    }
}

fn text(d: Option<Decimal>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

/// The domain form on the wire, with every measure's interpretation filled in.
pub fn form_to_proto(f: &form::Form) -> v1::Form {
    let measure = |m: &form::Measure| v1::Measure {
        raw: m.raw.clone(),
        kind: value_kind_to_proto(m.kind) as i32,
        direction: direction_to_proto(m.direction) as i32,
        value: text(m.value),
        unit: m.unit.clone(),
        deadline: m.deadline.clone(),
    };
    v1::Form {
        kind: match f.kind {
            form::FormKind::Unspecified => v1::FormKind::Unspecified,
            form::FormKind::Project => v1::FormKind::Project,
            form::FormKind::Department => v1::FormKind::Department,
            form::FormKind::DepartmentBasicData => v1::FormKind::DepartmentBasicData,
        } as i32,
        project_name: f.project_name.clone(),
        units: Some(v1::Units {
            budget_unit: f.units.budget_unit.clone(),
            competent_department: f.units.competent_department.clone(),
            implementing_unit: f.units.implementing_unit.clone(),
            region: f.units.region.clone(),
        }),
        fiscal_year: f.fiscal_year,
        funds: Some(v1::FundBlock {
            rows: f
                .funds
                .rows
                .iter()
                .map(|r| v1::FundRow {
                    source: fund_source_to_proto(r.source) as i32,
                    label: r.label.clone(),
                    initial_budget: text(r.initial_budget),
                    full_year_budget: text(r.full_year_budget),
                    executed: text(r.executed),
                })
                .collect(),
            weight: text(f.funds.weight),
            stated_execution_rate: f.funds.stated_execution_rate.clone(),
            stated_score: text(f.funds.stated_score),
        }),
        goals: f
            .goals
            .iter()
            .map(|g| v1::Goal {
                expected: g.expected.clone(),
                actual: g.actual.clone(),
            })
            .collect(),
        indicators: f
            .indicators
            .iter()
            .map(|i| v1::Indicator {
                level1: i.level1.clone(),
                level2: i.level2.clone(),
                name: i.name.clone(),
                target: Some(measure(&i.target)),
                actual: Some(measure(&i.actual)),
                weight: text(i.weight),
                self_score: text(i.self_score),
                deviation_reason: i.deviation_reason.clone(),
            })
            .collect(),
        section_weights: f
            .section_weights
            .iter()
            .map(|s| v1::SectionWeight {
                level1: s.level1.clone(),
                weight: s.weight.to_string(),
            })
            .collect(),
        stated_total: text(f.stated_total),
        filer: Some(v1::Filer {
            name: f.filer.name.clone(),
            date: f.filer.date.clone(),
            phone: f.filer.phone.clone(),
        }),
        narrative: f.narrative.clone(),
        diagnostics: f.diagnostics.iter().map(diagnostic_to_proto).collect(),
        origin: Some(v1::Origin {
            file_name: f.origin.file_name.clone(),
            first_line: f.origin.first_line,
            last_line: f.origin.last_line,
            sheet: f.origin.sheet.clone(),
        }),
        basic_data: Some(v1::BasicData {
            column_labels: f.basic_data.column_labels.clone(),
            rows: f
                .basic_data
                .rows
                .iter()
                .map(|r| v1::BasicDataRow {
                    label: r.label.clone(),
                    values: r.values.clone(),
                })
                .collect(),
        }),
    }
}

pub fn diagnostic_to_proto(d: &form::Diagnostic) -> v1::Diagnostic {
    v1::Diagnostic {
        line: d.line,
        cell: d.cell.clone(),
        path: d.path.clone(),
        code: d.code.clone(),
        raw: d.raw.clone(),
        message: d.message.clone(),
    }
}

fn fund_source_from_proto(s: v1::FundSource) -> form::FundSource {
    match s {
        v1::FundSource::Unspecified => form::FundSource::Unspecified,
        v1::FundSource::Total => form::FundSource::Total,
        v1::FundSource::CurrentAppropriation => form::FundSource::CurrentAppropriation,
        v1::FundSource::PriorYearCarryover => form::FundSource::PriorYearCarryover,
        v1::FundSource::Other => form::FundSource::Other,
        v1::FundSource::BasicExpenditure => form::FundSource::BasicExpenditure,
        v1::FundSource::ProjectExpenditure => form::FundSource::ProjectExpenditure,
        v1::FundSource::Revenue => form::FundSource::Revenue,
    }
}

fn fund_source_to_proto(s: form::FundSource) -> v1::FundSource {
    match s {
        form::FundSource::Unspecified => v1::FundSource::Unspecified,
        form::FundSource::Total => v1::FundSource::Total,
        form::FundSource::CurrentAppropriation => v1::FundSource::CurrentAppropriation,
        form::FundSource::PriorYearCarryover => v1::FundSource::PriorYearCarryover,
        form::FundSource::Other => v1::FundSource::Other,
        form::FundSource::BasicExpenditure => v1::FundSource::BasicExpenditure,
        form::FundSource::ProjectExpenditure => v1::FundSource::ProjectExpenditure,
        form::FundSource::Revenue => v1::FundSource::Revenue,
    }
}

fn value_kind_from_proto(k: v1::ValueKind) -> form::ValueKind {
    match k {
        v1::ValueKind::Unspecified => form::ValueKind::Unspecified,
        v1::ValueKind::Quantity => form::ValueKind::Quantity,
        v1::ValueKind::Deadline => form::ValueKind::Deadline,
        v1::ValueKind::Qualitative => form::ValueKind::Qualitative,
        v1::ValueKind::NotApplicable => form::ValueKind::NotApplicable,
    }
}

fn value_kind_to_proto(k: form::ValueKind) -> v1::ValueKind {
    match k {
        form::ValueKind::Unspecified => v1::ValueKind::Unspecified,
        form::ValueKind::Quantity => v1::ValueKind::Quantity,
        form::ValueKind::Deadline => v1::ValueKind::Deadline,
        form::ValueKind::Qualitative => v1::ValueKind::Qualitative,
        form::ValueKind::NotApplicable => v1::ValueKind::NotApplicable,
    }
}

fn direction_from_proto(d: v1::Direction) -> form::Direction {
    match d {
        v1::Direction::Unspecified => form::Direction::Unspecified,
        v1::Direction::AtLeast => form::Direction::AtLeast,
        v1::Direction::AtMost => form::Direction::AtMost,
        v1::Direction::Equal => form::Direction::Equal,
        v1::Direction::MoreThan => form::Direction::MoreThan,
        v1::Direction::LessThan => form::Direction::LessThan,
        v1::Direction::About => form::Direction::About,
    }
}

fn direction_to_proto(d: form::Direction) -> v1::Direction {
    match d {
        form::Direction::Unspecified => v1::Direction::Unspecified,
        form::Direction::AtLeast => v1::Direction::AtLeast,
        form::Direction::AtMost => v1::Direction::AtMost,
        form::Direction::Equal => v1::Direction::Equal,
        form::Direction::MoreThan => v1::Direction::MoreThan,
        form::Direction::LessThan => v1::Direction::LessThan,
        form::Direction::About => v1::Direction::About,
    }
}

/// The tenant a request names; an empty one is `default`.
pub fn tenant_or_default(tenant: &str) -> String {
    match tenant.trim() {
        "" => "default".to_string(),
        t => t.to_string(),
    }
}

/// A stored status name on the wire.
pub fn submission_status_to_proto(name: &str) -> v1::SubmissionStatus {
    match form::SubmissionStatus::from_name(name) {
        Some(form::SubmissionStatus::Received) => v1::SubmissionStatus::Received,
        Some(form::SubmissionStatus::Scored) => v1::SubmissionStatus::Scored,
        Some(form::SubmissionStatus::Audited) => v1::SubmissionStatus::Audited,
        None => v1::SubmissionStatus::Unspecified,
    }
}

/// A status filter from the wire: `None` for "any".
pub fn submission_status_filter(wire: i32) -> Result<Option<form::SubmissionStatus>, Violation> {
    match v1::SubmissionStatus::try_from(wire) {
        Ok(v1::SubmissionStatus::Unspecified) => Ok(None),
        Ok(v1::SubmissionStatus::Received) => Ok(Some(form::SubmissionStatus::Received)),
        Ok(v1::SubmissionStatus::Scored) => Ok(Some(form::SubmissionStatus::Scored)),
        Ok(v1::SubmissionStatus::Audited) => Ok(Some(form::SubmissionStatus::Audited)),
        Err(_) => Err(Violation::new("status", format!("unknown status {wire}"))),
    }
}

/// Milliseconds since the Unix epoch as a wire timestamp.
pub fn timestamp(millis: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: millis.div_euclid(1000),
        nanos: (millis.rem_euclid(1000) * 1_000_000) as i32,
    }
}

/// Now, in milliseconds since the Unix epoch.
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// A rulebook on the wire; its source text only when asked for.
pub fn rulebook_to_proto(rb: &scoring::Rulebook, with_source: bool) -> v1::Rulebook {
    v1::Rulebook {
        id: rb.id.clone(),
        version: rb.version.clone(),
        title: rb.title.clone(),
        digest: rb.digest.clone(),
        applies: rb
            .applies
            .iter()
            .map(|a| v1::RulebookScope {
                region_prefix: a.region_prefix.clone(),
                years: a.years.clone(),
            })
            .collect(),
        source: if with_source {
            rb.source.clone()
        } else {
            String::new()
        },
    }
}

/// A domain scorecard on the wire, its text moved rather than copied. `id`,
/// `submission_id` and `computed_at` are the caller's.
pub fn scorecard_to_proto(c: scoring::ScoreCard) -> v1::ScoreCard {
    v1::ScoreCard {
        rulebook_id: c.rulebook_id,
        rulebook_version: c.rulebook_version,
        rulebook_digest: c.rulebook_digest,
        input_digest: c.input_digest,
        engine_version: c.engine_version,
        lines: c
            .lines
            .into_iter()
            .map(|l| v1::ScoreLine {
                path: l.path,
                label: l.label,
                weight: text(l.weight),
                stated_score: text(l.stated_score),
                recomputed_score: text(l.recomputed_score),
                status: match l.status {
                    scoring::LineStatus::Scored => v1::LineStatus::Scored,
                    scoring::LineStatus::SelfScoreKept => v1::LineStatus::SelfScoreKept,
                    scoring::LineStatus::NotApplicable => v1::LineStatus::NotApplicable,
                    scoring::LineStatus::Unverifiable => v1::LineStatus::Unverifiable,
                } as i32,
                explanation: l.explanation,
                rule: l.rule,
                needs_explanation: l.needs_explanation,
            })
            .collect(),
        stated_total: text(c.stated_total),
        recomputed_total: text(c.recomputed_total),
        grade: c.grade,
        total_explanation: c.total_explanation,
        ..Default::default()
    }
}

/// A wire scorecard back in the domain (for audit requests that carry one).
pub fn scorecard_from_proto(p: &v1::ScoreCard) -> Result<scoring::ScoreCard, Vec<Violation>> {
    let mut r = Reader {
        violations: Vec::new(),
        normalize: false,
    };
    let lines = p
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let field = |c: &str| format!("scorecard.lines[{i}].{c}");
            scoring::ScoreLine {
                path: l.path.clone(),
                label: l.label.clone(),
                weight: r.decimal(|| field("weight"), &l.weight),
                stated_score: r.decimal(|| field("stated_score"), &l.stated_score),
                recomputed_score: r.decimal(|| field("recomputed_score"), &l.recomputed_score),
                status: match v1::LineStatus::try_from(l.status) {
                    Ok(v1::LineStatus::Scored) => scoring::LineStatus::Scored,
                    Ok(v1::LineStatus::NotApplicable) => scoring::LineStatus::NotApplicable,
                    Ok(v1::LineStatus::Unverifiable) => scoring::LineStatus::Unverifiable,
                    _ => scoring::LineStatus::SelfScoreKept,
                },
                explanation: l.explanation.clone(),
                rule: l.rule.clone(),
                needs_explanation: l.needs_explanation,
            }
        })
        .collect();
    let card = scoring::ScoreCard {
        rulebook_id: p.rulebook_id.clone(),
        rulebook_version: p.rulebook_version.clone(),
        rulebook_digest: p.rulebook_digest.clone(),
        input_digest: p.input_digest.clone(),
        engine_version: p.engine_version.clone(),
        lines,
        stated_total: r.decimal(|| "scorecard.stated_total".into(), &p.stated_total),
        recomputed_total: r.decimal(|| "scorecard.recomputed_total".into(), &p.recomputed_total),
        grade: p.grade.clone(),
        total_explanation: p.total_explanation.clone(),
    };
    if r.violations.is_empty() {
        Ok(card)
    } else {
        Err(r.violations)
    }
}

pub fn severity_to_proto(s: audit::Severity) -> v1::Severity {
    match s {
        audit::Severity::Info => v1::Severity::Info,
        audit::Severity::Warning => v1::Severity::Warning,
        audit::Severity::Error => v1::Severity::Error,
    }
}

pub fn severity_from_proto(s: i32) -> Option<audit::Severity> {
    match v1::Severity::try_from(s) {
        Ok(v1::Severity::Info) => Some(audit::Severity::Info),
        Ok(v1::Severity::Warning) => Some(audit::Severity::Warning),
        Ok(v1::Severity::Error) => Some(audit::Severity::Error),
        _ => None,
    }
}

/// A stored finding back in the domain; `None` for an unknown severity.
pub fn finding_from_proto(f: &v1::Finding) -> Option<audit::Finding> {
    let loc = f.location.clone().unwrap_or_default();
    Some(audit::Finding {
        rule_id: f.rule_id.clone(),
        rule_version: f.rule_version.clone(),
        severity: severity_from_proto(f.severity)?,
        location: audit::Location {
            section: loc.section,
            row: loc.row,
            column: loc.column,
            path: loc.path,
        },
        expected: f.expected.clone(),
        stated: f.stated.clone(),
        difference: f.difference.clone(),
        message_zh: f.message_zh.clone(),
        message_en: f.message_en.clone(),
    })
}

/// A domain finding on the wire. `id` and `submission_id` are the caller's.
pub fn finding_to_proto(f: &audit::Finding) -> v1::Finding {
    v1::Finding {
        rule_id: f.rule_id.clone(),
        rule_version: f.rule_version.clone(),
        severity: severity_to_proto(f.severity) as i32,
        location: Some(v1::Location {
            section: f.location.section.clone(),
            row: f.location.row.clone(),
            column: f.location.column.clone(),
            path: f.location.path.clone(),
        }),
        expected: f.expected.clone(),
        stated: f.stated.clone(),
        difference: f.difference.clone(),
        message_zh: f.message_zh.clone(),
        message_en: f.message_en.clone(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_the_form_and_normalises_amounts() {
        let wire = v1::Form {
            kind: v1::FormKind::Project as i32,
            project_name: " 行政运行（其他）经费 ".into(),
            fiscal_year: 2024,
            funds: Some(v1::FundBlock {
                rows: vec![v1::FundRow {
                    source: v1::FundSource::Total as i32,
                    label: "年度资金总额".into(),
                    initial_budget: "433.320".into(),
                    full_year_budget: "418.85".into(),
                    executed: "418.85".into(),
                }],
                weight: "10".into(),
                stated_execution_rate: "100%".into(),
                stated_score: "10".into(),
            }),
            indicators: vec![v1::Indicator {
                name: "可供正常使用的会议室数量".into(),
                target: Some(v1::Measure {
                    raw: "≥4个".into(),
                    ..Default::default()
                }),
                weight: "10".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let f = form_from_proto(wire).unwrap();
        assert_eq!(f.project_name, "行政运行（其他）经费");
        assert_eq!(f.funds.rows[0].initial_budget, Some(Decimal::new(43332, 2)));
        assert_eq!(f.indicators[0].target.value, Some(Decimal::from(4)));
        let back = form_to_proto(&f);
        assert_eq!(
            back.funds.as_ref().unwrap().rows[0].initial_budget,
            "433.32"
        );
        assert_eq!(
            back.indicators[0].target.as_ref().unwrap().kind,
            v1::ValueKind::Quantity as i32
        );
        assert_eq!(form_from_proto(back).unwrap(), f);
    }

    #[test]
    fn unreadable_decimals_are_named() {
        let wire = v1::Form {
            funds: Some(v1::FundBlock {
                rows: vec![v1::FundRow {
                    executed: "四百".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            stated_total: "1OO".into(),
            ..Default::default()
        };
        let fields: Vec<_> = form_from_proto(wire)
            .unwrap_err()
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(fields, ["form.funds.rows[0].executed", "form.stated_total"]);
    }

    #[test]
    fn unknown_enum_values_are_named() {
        let wire = v1::Form {
            kind: 99,
            funds: Some(v1::FundBlock {
                rows: vec![v1::FundRow {
                    source: 42,
                    ..Default::default()
                }],
                ..Default::default()
            }),
            indicators: vec![v1::Indicator {
                target: Some(v1::Measure {
                    raw: "≥95%".into(),
                    kind: 7,
                    direction: 8,
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        };
        let violations: Vec<_> = form_from_proto(wire)
            .unwrap_err()
            .into_iter()
            .map(|v| (v.field, v.description))
            .collect();
        assert_eq!(
            violations[..4],
            [
                ("form.kind".to_string(), "unknown form kind 99".to_string()),
                (
                    "form.funds.rows[0].source".to_string(),
                    "unknown fund source 42".to_string()
                ),
                (
                    "form.indicators[0].target.kind".to_string(),
                    "unknown value kind 7".to_string()
                ),
                (
                    "form.indicators[0].target.direction".to_string(),
                    "unknown direction 8".to_string()
                ),
            ]
        );
    }
}

//! What reviewers and platforms take away from a batch: JSON Lines, CSV, an
//! xlsx workbook, a Fiscal Data Package of the amounts, a self-contained HTML
//! report, and the batch summary behind the last three. Pure: records go in
//! one at a time, bytes come out; no I/O, no clock, no wire types.

mod csv;
mod fdp;
mod html;
mod jsonl;
mod summary;
mod xlsx;

use std::collections::BTreeMap;

use jixiao_audit::Finding;
use jixiao_form::{Form, FundSource};
use jixiao_scoring::ScoreCard;
use rust_decimal::Decimal;

pub use summary::{BatchSummary, GroupSummary, SummaryBuilder};

/// One stored form with its newest scorecard and its findings.
#[derive(Debug, Clone)]
pub struct ExportRecord {
    pub submission_id: String,
    /// Region path of the submitter, e.g. 湖南省/株洲市.
    pub tenant: String,
    /// received / scored / audited.
    pub status: String,
    pub content_digest: String,
    pub received_at_ms: i64,
    pub form: Form,
    pub card: Option<ScoreCard>,
    pub findings: Vec<Finding>,
}

impl ExportRecord {
    /// The region the form belongs to: its own, else its submitter's.
    pub fn region(&self) -> &str {
        if self.form.units.region.trim().is_empty() {
            &self.tenant
        } else {
            &self.form.units.region
        }
    }

    /// 预算单位 (else 主管部门, else 实施单位).
    pub fn unit(&self) -> &str {
        self.form.units.primary()
    }

    /// 全年预算数 and 全年执行数 of the 年度资金总额 row.
    pub fn budget_and_executed(&self) -> (Option<Decimal>, Option<Decimal>) {
        self.form
            .funds
            .rows
            .iter()
            .find(|r| r.source == FundSource::Total)
            .map(|r| (r.full_year_budget, r.executed))
            .unwrap_or_default()
    }

    /// 执行率 from the amounts (a fraction, 4 places), when the budget is positive.
    pub fn execution_rate(&self) -> Option<Decimal> {
        match self.budget_and_executed() {
            (Some(b), Some(e)) if b > Decimal::ZERO => Some((e / b).round_dp(4)),
            _ => None,
        }
    }

    /// Stated minus recomputed 总分, when both exist.
    pub fn inflation(&self) -> Option<Decimal> {
        let card = self.card.as_ref()?;
        Some(card.stated_total? - card.recomputed_total?)
    }

    fn findings_of(&self, severity: jixiao_audit::Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

/// What the export is about, for titles and provenance lines.
#[derive(Debug, Clone, Default)]
pub struct ExportMeta {
    pub title: String,
    /// When the export was made, as the caller wants it shown.
    pub generated_at: String,
    /// The filter in words, e.g. `tenant 湖南省/株洲市, year 2024`.
    pub filter: String,
    /// Rule id → Chinese title, from the audit catalogue.
    pub rule_titles: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Csv,
    Xlsx,
    /// A zip of `datapackage.json` and `amounts.csv`.
    FiscalDataPackage,
    Html,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Jsonl => "application/x-ndjson",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::FiscalDataPackage => "application/zip",
            Format::Html => "text/html; charset=utf-8",
        }
    }

    pub fn file_name(self) -> &'static str {
        match self {
            Format::Jsonl => "jixiao-export.jsonl",
            Format::Csv => "jixiao-export.csv",
            Format::Xlsx => "jixiao-export.xlsx",
            Format::FiscalDataPackage => "jixiao-fdp.zip",
            Format::Html => "jixiao-report.html",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The batch is larger than one file of this format can sensibly hold.
    #[error("{0}")]
    TooLarge(String),
    #[error("cannot write the {format}: {reason}")]
    Write {
        format: &'static str,
        reason: String,
    },
}

/// Forms one workbook holds (a row each on the scorecard sheet, findings
/// beside them); beyond it CSV or JSON Lines are the way.
pub const MAX_XLSX_FORMS: u64 = 50_000;
/// Forms that get a sheet of their own in the workbook, laid out like the 自评表.
pub const MAX_FORM_SHEETS: usize = 300;
/// Forms listed one by one in the HTML report; the charts count all of them.
pub const MAX_REPORT_ROWS: usize = 2_000;

/// Builds one export from records pushed in order. Line formats hand out
/// their bytes as they go ([`Exporter::take`]); the others at [`Exporter::finish`].
pub struct Exporter {
    out: Output,
    summary: SummaryBuilder,
    buf: Vec<u8>,
    forms: u64,
}

enum Output {
    Jsonl,
    Csv,
    Xlsx(Box<xlsx::WorkbookBuilder>),
    Fdp(Box<fdp::PackageBuilder>),
    Html(html::ReportBuilder),
}

impl Exporter {
    pub fn new(format: Format, meta: ExportMeta) -> Result<Self, ExportError> {
        let mut buf = Vec::new();
        let out = match format {
            Format::Jsonl => Output::Jsonl,
            Format::Csv => {
                csv::header(&mut buf);
                Output::Csv
            }
            Format::Xlsx => Output::Xlsx(Box::new(xlsx::WorkbookBuilder::new(meta)?)),
            Format::FiscalDataPackage => Output::Fdp(Box::new(fdp::PackageBuilder::new(meta))),
            Format::Html => Output::Html(html::ReportBuilder::new(meta)),
        };
        Ok(Exporter {
            out,
            summary: SummaryBuilder::default(),
            buf,
            forms: 0,
        })
    }

    pub fn push(&mut self, record: &ExportRecord) -> Result<(), ExportError> {
        self.forms += 1;
        self.summary.add(record);
        match &mut self.out {
            Output::Jsonl => jsonl::record(&mut self.buf, record),
            Output::Csv => csv::record(&mut self.buf, record),
            Output::Xlsx(w) => {
                if self.forms > MAX_XLSX_FORMS {
                    return Err(ExportError::TooLarge(format!(
                        "more than {MAX_XLSX_FORMS} forms for one workbook: narrow the filter (unit, region, year) or export CSV"
                    )));
                }
                w.add(record)?
            }
            Output::Fdp(p) => p.add(record),
            Output::Html(r) => r.add(record),
        }
        Ok(())
    }

    /// Bytes ready to send now (line formats only).
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// Bytes buffered for [`Exporter::take`].
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    pub fn forms(&self) -> u64 {
        self.forms
    }

    /// The rest of the file.
    pub fn finish(self) -> Result<Vec<u8>, ExportError> {
        let summary = self.summary.finish();
        let mut buf = self.buf;
        match self.out {
            Output::Jsonl | Output::Csv => {}
            Output::Xlsx(w) => buf.extend(w.finish(&summary)?),
            Output::Fdp(p) => buf.extend(p.finish()?),
            Output::Html(r) => buf.extend(r.finish(&summary)),
        }
        Ok(buf)
    }
}

/// A decimal as written in exports: its own places, nothing for none.
pub(crate) fn text(d: Option<Decimal>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

/// A fraction as a percentage with two places (`0.8894` → `88.94%`, `1` → `100.00%`).
pub(crate) fn percent(fraction: Option<Decimal>) -> String {
    percent_number(fraction)
        .map(|p| format!("{p}%"))
        .unwrap_or_default()
}

/// A fraction as a percentage number with two places (`1` → `100.00`).
pub fn percent_number(fraction: Option<Decimal>) -> Option<String> {
    fraction.map(|f| two_places(f * Decimal::ONE_HUNDRED))
}

/// Scores and means as reviewers read them: always two places.
pub fn two_places(d: Decimal) -> String {
    format!("{:.2}", d.round_dp(2))
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use jixiao_audit::{Location, Severity};
    use jixiao_form::{FormKind, FundBlock, FundRow, Indicator, Measure, Units};
    use jixiao_scoring::{LineStatus, ScoreLine};
    use std::str::FromStr;

    pub fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    /// A small project form with a scorecard and two findings.
    pub fn record(id: &str, unit: &str, budget: &str, executed: &str) -> ExportRecord {
        let form = Form {
            kind: FormKind::Project,
            project_name: format!("{unit}项目"),
            units: Units {
                budget_unit: unit.into(),
                region: "湖南省/株洲市".into(),
                ..Default::default()
            },
            fiscal_year: 2024,
            funds: FundBlock {
                rows: vec![FundRow {
                    source: FundSource::Total,
                    label: "年度资金总额".into(),
                    initial_budget: Some(d(budget)),
                    full_year_budget: Some(d(budget)),
                    executed: Some(d(executed)),
                }],
                weight: Some(d("10")),
                stated_execution_rate: "100%".into(),
                stated_score: Some(d("10")),
            },
            indicators: vec![Indicator {
                level1: "产出指标".into(),
                level2: "数量指标".into(),
                name: "会议室数量".into(),
                target: Measure {
                    raw: "≥4个".into(),
                    ..Default::default()
                },
                actual: Measure {
                    raw: "3".into(),
                    ..Default::default()
                },
                weight: Some(d("90")),
                self_score: Some(d("90")),
                deviation_reason: String::new(),
            }],
            stated_total: Some(d("100")),
            ..Default::default()
        };
        let card = ScoreCard {
            rulebook_id: "cn-national-default".into(),
            rulebook_version: "2020.1".into(),
            rulebook_digest: "ab".into(),
            input_digest: "cd".into(),
            engine_version: "1".into(),
            lines: vec![ScoreLine {
                path: "indicators[0]".into(),
                label: "会议室数量".into(),
                weight: Some(d("90")),
                stated_score: Some(d("90")),
                recomputed_score: Some(d("67.5")),
                status: LineStatus::Scored,
                explanation: "3个 / 4个 × 90 = 67.50".into(),
                rule: "at_least".into(),
                needs_explanation: true,
            }],
            stated_total: Some(d("100")),
            recomputed_total: Some(d("77.50")),
            grade: "中".into(),
            total_explanation: String::new(),
        };
        let finding = |rule: &str, severity, path: &str| Finding {
            rule_id: rule.into(),
            rule_version: "1".into(),
            severity,
            location: Location::new("indicators", "会议室数量", "得分", path.into()),
            expected: "67.50".into(),
            stated: "90".into(),
            difference: "22.50".into(),
            message_zh: "得分虚高".into(),
            message_en: "inflated".into(),
        };
        ExportRecord {
            submission_id: id.into(),
            tenant: "湖南省/株洲市".into(),
            status: "audited".into(),
            content_digest: "ff".into(),
            received_at_ms: 1_700_000_000_000,
            form,
            card: Some(card),
            findings: vec![
                finding(
                    "score.inflated",
                    Severity::Warning,
                    "indicators[0].self_score",
                ),
                finding(
                    "explanation.missing",
                    Severity::Error,
                    "indicators[0].deviation_reason",
                ),
            ],
        }
    }
}

//! The reviewer's workbook: 汇总 (the batch summary), 评分 (one row per form),
//! 问题 (one row per finding), then one sheet per form laid out like the
//! official 自评表, the recomputed score beside the stated one and every cell
//! a finding points at filled by severity, with the finding as a note.

use std::collections::HashMap;

use jixiao_audit::{Finding, Severity};
use jixiao_form::FormKind;
use rust_decimal::Decimal;
use rust_xlsxwriter::{Color, Format, FormatAlign, FormatBorder, Note, Url, Workbook, Worksheet};

use crate::summary::{BatchSummary, GroupSummary};
use crate::{text, ExportError, ExportMeta, ExportRecord, MAX_FORM_SHEETS};

pub(crate) const SUMMARY_SHEET: &str = "汇总";
pub(crate) const SCORECARD_SHEET: &str = "评分";
pub(crate) const FINDING_SHEET: &str = "问题";

/// Columns of the 评分 sheet.
pub(crate) const SCORECARD_COLUMNS: [(&str, f64); 18] = [
    ("submission_id", 30.0),
    ("地区", 16.0),
    ("预算单位", 28.0),
    ("项目名称", 32.0),
    ("年度", 7.0),
    ("表种", 14.0),
    ("全年预算数(万元)", 15.0),
    ("全年执行数(万元)", 15.0),
    ("执行率", 9.0),
    ("总分(填报)", 10.0),
    ("总分(重算)", 10.0),
    ("差额", 9.0),
    ("等级", 6.0),
    ("错误", 6.0),
    ("警告", 6.0),
    ("提示", 6.0),
    ("规则库", 26.0),
    ("表页", 14.0),
];

/// Columns of the 问题 sheet.
pub(crate) const FINDING_COLUMNS: [(&str, f64); 13] = [
    ("submission_id", 30.0),
    ("预算单位", 24.0),
    ("项目名称", 28.0),
    ("规则", 24.0),
    ("规则名称", 24.0),
    ("严重程度", 9.0),
    ("位置", 30.0),
    ("路径", 28.0),
    ("应为", 16.0),
    ("填报", 16.0),
    ("差额", 12.0),
    ("说明", 60.0),
    ("message", 60.0),
];

pub(crate) fn severity_zh(s: Severity) -> &'static str {
    match s {
        Severity::Error => "错误",
        Severity::Warning => "警告",
        Severity::Info => "提示",
    }
}

fn fill(s: Severity) -> Color {
    match s {
        Severity::Error => Color::RGB(0xFFC7CE),
        Severity::Warning => Color::RGB(0xFFEB9C),
        Severity::Info => Color::RGB(0xDDEBF7),
    }
}

/// What a cell holds, for its number format.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    /// 万元, two to four places.
    Amount,
    Score,
    /// A fraction shown as a percentage.
    Percent,
    Count,
}

fn format(kind: Kind, severity: Option<Severity>) -> Format {
    let f = Format::new().set_align(FormatAlign::VerticalCenter);
    let f = match kind {
        Kind::Text => f.set_text_wrap(),
        Kind::Amount => f.set_num_format("#,##0.00##"),
        Kind::Score => f.set_num_format("0.00"),
        Kind::Percent => f.set_num_format("0.00%"),
        Kind::Count => f.set_num_format("0"),
    };
    match severity {
        Some(s) => f
            .set_background_color(fill(s))
            .set_border(FormatBorder::Thin),
        None => f,
    }
}

fn header_format() -> Format {
    Format::new()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter)
        .set_background_color(Color::RGB(0xD9E1F2))
        .set_border(FormatBorder::Thin)
}

fn title_format() -> Format {
    Format::new().set_bold().set_font_size(14)
}

/// A decimal as an Excel number. Excel keeps numbers as doubles; a decimal of
/// at most 15 significant digits comes back from one exactly (shortest
/// round-trip), so amounts and scores are written as numbers and stay summable.
/// Longer ones are written as text rather than silently rounded.
pub(crate) fn excel_number(d: Decimal) -> Option<f64> {
    let digits = d.mantissa().unsigned_abs().checked_ilog10().unwrap_or(0) + 1;
    if digits > 15 {
        return None;
    }
    d.to_string().parse().ok()
}

type XResult<T> = Result<T, rust_xlsxwriter::XlsxError>;

fn write_decimal(
    ws: &mut Worksheet,
    row: u32,
    col: u16,
    d: Option<Decimal>,
    kind: Kind,
    severity: Option<Severity>,
) -> XResult<()> {
    let f = format(kind, severity);
    match d {
        Some(d) => match excel_number(d) {
            Some(n) => ws.write_number_with_format(row, col, n, &f)?,
            None => ws.write_string_with_format(row, col, d.to_string(), &f)?,
        },
        None => ws.write_blank(row, col, &f)?,
    };
    Ok(())
}

fn write_text(
    ws: &mut Worksheet,
    row: u32,
    col: u16,
    s: &str,
    severity: Option<Severity>,
) -> XResult<()> {
    ws.write_string_with_format(row, col, s, &format(Kind::Text, severity))?;
    Ok(())
}

fn write_header(ws: &mut Worksheet, row: u32, columns: &[(&str, f64)]) -> XResult<()> {
    let h = header_format();
    for (c, (name, width)) in columns.iter().enumerate() {
        ws.write_string_with_format(row, c as u16, *name, &h)?;
        ws.set_column_width(c as u16, *width)?;
    }
    Ok(())
}

fn xlsx_error(e: rust_xlsxwriter::XlsxError) -> ExportError {
    ExportError::Write {
        format: "xlsx",
        reason: e.to_string(),
    }
}

pub(crate) struct WorkbookBuilder {
    meta: ExportMeta,
    workbook: Workbook,
    scorecard_row: u32,
    finding_row: u32,
    form_sheets: usize,
    forms: u64,
}

impl WorkbookBuilder {
    pub(crate) fn new(meta: ExportMeta) -> Result<Self, ExportError> {
        let mut workbook = Workbook::new();
        // The three list sheets come first; the summary is filled in at the end.
        workbook
            .add_worksheet()
            .set_name(SUMMARY_SHEET)
            .map_err(xlsx_error)?;
        for (name, columns) in [
            (SCORECARD_SHEET, &SCORECARD_COLUMNS[..]),
            (FINDING_SHEET, &FINDING_COLUMNS[..]),
        ] {
            let ws = workbook
                .add_worksheet()
                .set_name(name)
                .map_err(xlsx_error)?;
            write_header(ws, 0, columns).map_err(xlsx_error)?;
            ws.set_freeze_panes(1, 0).map_err(xlsx_error)?;
        }
        Ok(WorkbookBuilder {
            meta,
            workbook,
            scorecard_row: 1,
            finding_row: 1,
            form_sheets: 0,
            forms: 0,
        })
    }

    pub(crate) fn add(&mut self, r: &ExportRecord) -> Result<(), ExportError> {
        self.forms += 1;
        let sheet = if self.form_sheets < MAX_FORM_SHEETS {
            self.form_sheets += 1;
            let name = sheet_name(self.form_sheets, &r.form.project_name, r.unit());
            let ws = self.workbook.add_worksheet();
            ws.set_name(&name).map_err(xlsx_error)?;
            form_sheet(ws, r).map_err(xlsx_error)?;
            Some(name)
        } else {
            None
        };
        let ws = self.workbook.worksheet_from_index(1).map_err(xlsx_error)?;
        scorecard_row(ws, self.scorecard_row, r, sheet.as_deref()).map_err(xlsx_error)?;
        self.scorecard_row += 1;
        let ws = self.workbook.worksheet_from_index(2).map_err(xlsx_error)?;
        for f in &r.findings {
            finding_row(ws, self.finding_row, r, f, &self.meta).map_err(xlsx_error)?;
            self.finding_row += 1;
        }
        Ok(())
    }

    pub(crate) fn finish(mut self, summary: &BatchSummary) -> Result<Vec<u8>, ExportError> {
        let (scorecards, findings) = (self.scorecard_row, self.finding_row);
        if scorecards > 1 {
            let ws = self.workbook.worksheet_from_index(1).map_err(xlsx_error)?;
            ws.autofilter(0, 0, scorecards - 1, SCORECARD_COLUMNS.len() as u16 - 1)
                .map_err(xlsx_error)?;
        }
        if findings > 1 {
            let ws = self.workbook.worksheet_from_index(2).map_err(xlsx_error)?;
            ws.autofilter(0, 0, findings - 1, FINDING_COLUMNS.len() as u16 - 1)
                .map_err(xlsx_error)?;
        }
        let ws = self.workbook.worksheet_from_index(0).map_err(xlsx_error)?;
        summary_sheet(ws, summary, &self.meta, self.forms, self.form_sheets).map_err(xlsx_error)?;
        self.workbook.save_to_buffer().map_err(xlsx_error)
    }
}

/// `001 项目名称`: unique by its number, at most 31 characters, none of `[]:*?/\'`.
fn sheet_name(n: usize, project: &str, unit: &str) -> String {
    let label = if project.trim().is_empty() {
        unit
    } else {
        project
    };
    let clean: String = label
        .chars()
        .filter(|c| {
            !matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\' | '\'') && !c.is_control()
        })
        .collect();
    format!("{n:03} {}", clean.trim())
        .chars()
        .take(31)
        .collect::<String>()
        .trim_end()
        .to_string()
}

fn scorecard_row(
    ws: &mut Worksheet,
    row: u32,
    r: &ExportRecord,
    sheet: Option<&str>,
) -> XResult<()> {
    let (budget, executed) = r.budget_and_executed();
    let card = r.card.as_ref();
    write_text(ws, row, 0, &r.submission_id, None)?;
    write_text(ws, row, 1, r.region(), None)?;
    write_text(ws, row, 2, r.unit(), None)?;
    write_text(ws, row, 3, &r.form.project_name, None)?;
    ws.write_number(row, 4, r.form.fiscal_year)?;
    write_text(ws, row, 5, kind_zh(r.form.kind), None)?;
    write_decimal(ws, row, 6, budget, Kind::Amount, None)?;
    write_decimal(ws, row, 7, executed, Kind::Amount, None)?;
    write_decimal(ws, row, 8, r.execution_rate(), Kind::Percent, None)?;
    write_decimal(
        ws,
        row,
        9,
        card.and_then(|c| c.stated_total),
        Kind::Score,
        None,
    )?;
    write_decimal(
        ws,
        row,
        10,
        card.and_then(|c| c.recomputed_total),
        Kind::Score,
        None,
    )?;
    let inflated = r
        .inflation()
        .filter(|d| *d > Decimal::ZERO)
        .map(|_| Severity::Warning);
    write_decimal(ws, row, 11, r.inflation(), Kind::Score, inflated)?;
    write_text(
        ws,
        row,
        12,
        card.map(|c| c.grade.as_str()).unwrap_or(""),
        None,
    )?;
    for (col, s) in [
        (13, Severity::Error),
        (14, Severity::Warning),
        (15, Severity::Info),
    ] {
        let n = r.findings_of(s) as u32;
        let marked = (n > 0 && s != Severity::Info).then_some(s);
        ws.write_number_with_format(row, col, n, &format(Kind::Count, marked))?;
    }
    let rulebook = card
        .map(|c| format!("{} {}", c.rulebook_id, c.rulebook_version))
        .unwrap_or_default();
    write_text(ws, row, 16, &rulebook, None)?;
    if let Some(sheet) = sheet {
        ws.write_url_with_text(row, 17, Url::new(format!("internal:'{sheet}'!A1")), sheet)?;
    }
    Ok(())
}

fn location_text(f: &Finding) -> String {
    [&f.location.section, &f.location.row, &f.location.column]
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" / ")
}

fn finding_row(
    ws: &mut Worksheet,
    row: u32,
    r: &ExportRecord,
    f: &Finding,
    meta: &ExportMeta,
) -> XResult<()> {
    let title = meta
        .rule_titles
        .get(&f.rule_id)
        .map(String::as_str)
        .unwrap_or("");
    let cells = [
        r.submission_id.as_str(),
        r.unit(),
        r.form.project_name.as_str(),
        f.rule_id.as_str(),
        title,
    ];
    for (c, s) in cells.iter().enumerate() {
        write_text(ws, row, c as u16, s, None)?;
    }
    write_text(ws, row, 5, severity_zh(f.severity), Some(f.severity))?;
    let rest = [
        location_text(f),
        f.location.path.clone(),
        f.expected.clone(),
        f.stated.clone(),
        f.difference.clone(),
        f.message_zh.clone(),
        f.message_en.clone(),
    ];
    for (c, s) in rest.iter().enumerate() {
        write_text(ws, row, 6 + c as u16, s, None)?;
    }
    Ok(())
}

fn kind_zh(k: FormKind) -> &'static str {
    match k {
        FormKind::Project => "项目支出",
        FormKind::Department => "部门整体支出",
        FormKind::DepartmentBasicData => "基础数据表",
        FormKind::Unspecified => "",
    }
}

fn form_title(r: &ExportRecord) -> String {
    let name = match r.form.kind {
        FormKind::Project => "项目支出绩效自评表",
        FormKind::Department => "部门整体支出绩效自评表",
        FormKind::DepartmentBasicData => "部门整体支出绩效评价基础数据表",
        FormKind::Unspecified => "绩效自评表",
    };
    format!("{}年度{name}", r.form.fiscal_year)
}

/// The worst severity among the findings at each path, and their messages.
struct Marks {
    by_path: HashMap<String, (Severity, Vec<String>)>,
}

impl Marks {
    fn of(findings: &[Finding]) -> Self {
        let mut by_path: HashMap<String, (Severity, Vec<String>)> = HashMap::new();
        for f in findings {
            let e = by_path
                .entry(f.location.path.clone())
                .or_insert((f.severity, Vec::new()));
            if rank(f.severity) > rank(e.0) {
                e.0 = f.severity;
            }
            e.1.push(format!("[{}] {}", severity_zh(f.severity), f.message_zh));
        }
        Marks { by_path }
    }

    fn severity(&self, path: &str) -> Option<Severity> {
        self.by_path.get(path).map(|m| m.0)
    }

    /// Writes the notes of the cells whose paths were laid out.
    fn notes(&self, ws: &mut Worksheet, cells: &HashMap<String, (u32, u16)>) -> XResult<()> {
        for (path, (row, col)) in cells {
            if let Some((_, messages)) = self.by_path.get(path) {
                let text: String = messages.join("\n").chars().take(2000).collect();
                ws.insert_note(
                    *row,
                    *col,
                    &Note::new(text)
                        .add_author_prefix(false)
                        .set_width(360)
                        .set_height(160),
                )?;
            }
        }
        Ok(())
    }
}

fn rank(s: Severity) -> u8 {
    match s {
        Severity::Info => 0,
        Severity::Warning => 1,
        Severity::Error => 2,
    }
}

/// Lays a form out like the 自评表, remembering where each path went.
struct FormSheet<'a> {
    ws: &'a mut Worksheet,
    marks: Marks,
    cells: HashMap<String, (u32, u16)>,
    row: u32,
}

impl FormSheet<'_> {
    fn label(&mut self, col: u16, s: &str) -> XResult<()> {
        self.ws
            .write_string_with_format(self.row, col, s, &header_format())?;
        Ok(())
    }

    fn text_at(&mut self, col: u16, s: &str, path: &str) -> XResult<()> {
        let sev = self.marks.severity(path);
        write_text(self.ws, self.row, col, s, sev)?;
        if !path.is_empty() {
            self.cells.insert(path.to_string(), (self.row, col));
        }
        Ok(())
    }

    fn decimal_at(&mut self, col: u16, d: Option<Decimal>, kind: Kind, path: &str) -> XResult<()> {
        let sev = self.marks.severity(path);
        write_decimal(self.ws, self.row, col, d, kind, sev)?;
        if !path.is_empty() {
            self.cells.insert(path.to_string(), (self.row, col));
        }
        Ok(())
    }

    /// Text across columns `first..=last`.
    fn merged(&mut self, first: u16, last: u16, s: &str, path: &str) -> XResult<()> {
        let sev = self.marks.severity(path);
        self.ws
            .merge_range(self.row, first, self.row, last, s, &format(Kind::Text, sev))?;
        if !path.is_empty() {
            self.cells.insert(path.to_string(), (self.row, first));
        }
        Ok(())
    }

    fn next(&mut self) {
        self.row += 1;
    }
}

const FORM_COLUMNS: [f64; 10] = [14.0, 14.0, 30.0, 14.0, 14.0, 9.0, 9.0, 11.0, 36.0, 40.0];

fn form_sheet(ws: &mut Worksheet, r: &ExportRecord) -> XResult<()> {
    for (c, w) in FORM_COLUMNS.iter().enumerate() {
        ws.set_column_width(c as u16, *w)?;
    }
    let form = &r.form;
    let card = r.card.as_ref();
    let line = |path: &str| card.and_then(|c| c.lines.iter().find(|l| l.path == path));
    let mut s = FormSheet {
        ws,
        marks: Marks::of(&r.findings),
        cells: HashMap::new(),
        row: 0,
    };
    s.ws.merge_range(0, 0, 0, 9, &form_title(r), &title_format())?;
    s.next();
    let provenance = match card {
        Some(c) => format!(
            "{}　总分：填报 {}，重算 {}　等级 {}　规则库 {} {}",
            r.submission_id,
            text(c.stated_total),
            text(c.recomputed_total),
            c.grade,
            c.rulebook_id,
            c.rulebook_version
        ),
        None => format!("{}　尚未评分", r.submission_id),
    };
    s.merged(0, 9, &provenance, "")?;
    s.next();
    s.label(0, "项目名称")?;
    s.merged(1, 9, &form.project_name, "project_name")?;
    s.next();
    s.label(0, "主管部门")?;
    s.merged(
        1,
        4,
        &form.units.competent_department,
        "units.competent_department",
    )?;
    s.label(5, "实施单位")?;
    s.merged(
        6,
        9,
        &form.units.implementing_unit,
        "units.implementing_unit",
    )?;
    s.next();
    s.label(0, "预算单位")?;
    s.merged(1, 4, &form.units.budget_unit, "units.budget_unit")?;
    s.label(5, "地区")?;
    s.merged(6, 9, r.region(), "")?;
    s.next();

    if !form.funds.rows.is_empty() {
        s.next();
        for (c, h) in [
            "项目资金（万元）",
            "年初预算数",
            "全年预算数",
            "全年执行数",
            "分值",
            "执行率",
            "得分",
            "得分（重算）",
            "计算说明",
        ]
        .iter()
        .enumerate()
        {
            s.label(c as u16, h)?;
        }
        s.next();
        let funds_line = line("funds");
        for (i, fr) in form.funds.rows.iter().enumerate() {
            s.text_at(0, &fr.label, "")?;
            let p = |f: &str| format!("funds.rows[{i}].{f}");
            s.decimal_at(1, fr.initial_budget, Kind::Amount, &p("initial_budget"))?;
            s.decimal_at(2, fr.full_year_budget, Kind::Amount, &p("full_year_budget"))?;
            s.decimal_at(3, fr.executed, Kind::Amount, &p("executed"))?;
            if i == 0 {
                s.decimal_at(4, form.funds.weight, Kind::Score, "funds.weight")?;
                s.text_at(
                    5,
                    &form.funds.stated_execution_rate,
                    "funds.stated_execution_rate",
                )?;
                s.decimal_at(
                    6,
                    form.funds.stated_score,
                    Kind::Score,
                    "funds.stated_score",
                )?;
                s.decimal_at(
                    7,
                    funds_line.and_then(|l| l.recomputed_score),
                    Kind::Score,
                    "",
                )?;
                s.text_at(
                    8,
                    funds_line.map(|l| l.explanation.as_str()).unwrap_or(""),
                    "",
                )?;
            }
            s.next();
        }
    }

    if !form.goals.is_empty() {
        s.next();
        s.label(0, "年度总体目标")?;
        s.ws.merge_range(s.row, 1, s.row, 4, "预期目标", &header_format())?;
        s.ws.merge_range(s.row, 5, s.row, 9, "实际完成情况", &header_format())?;
        s.next();
        for (i, g) in form.goals.iter().enumerate() {
            s.text_at(0, &format!("目标 {}", i + 1), "")?;
            s.merged(1, 4, &g.expected, "")?;
            s.merged(5, 9, &g.actual, "")?;
            s.ws.set_row_height(s.row, 60)?;
            s.next();
        }
    }

    if !form.indicators.is_empty() {
        s.next();
        for (c, h) in [
            "一级指标",
            "二级指标",
            "三级指标",
            "年度指标值",
            "实际完成值",
            "分值",
            "得分",
            "得分（重算）",
            "计算说明",
            "偏差原因分析及改进措施",
        ]
        .iter()
        .enumerate()
        {
            s.label(c as u16, h)?;
        }
        s.next();
        for (i, ind) in form.indicators.iter().enumerate() {
            let p = |f: &str| format!("indicators[{i}].{f}");
            let l = line(&format!("indicators[{i}]"));
            s.text_at(0, &ind.level1, &p("level1"))?;
            s.text_at(1, &ind.level2, &p("level2"))?;
            s.text_at(2, &ind.name, &format!("indicators[{i}]"))?;
            s.text_at(3, &ind.target.raw, &p("target"))?;
            s.text_at(4, &ind.actual.raw, &p("actual"))?;
            s.decimal_at(5, ind.weight, Kind::Score, &p("weight"))?;
            s.decimal_at(6, ind.self_score, Kind::Score, &p("self_score"))?;
            s.decimal_at(7, l.and_then(|l| l.recomputed_score), Kind::Score, "")?;
            s.text_at(8, l.map(|l| l.explanation.as_str()).unwrap_or(""), "")?;
            s.text_at(9, &ind.deviation_reason, &p("deviation_reason"))?;
            s.next();
        }
    }

    if !form.section_weights.is_empty() {
        for (i, w) in form.section_weights.iter().enumerate() {
            s.label(0, "一级指标分值")?;
            s.text_at(1, &w.level1, "")?;
            s.decimal_at(
                2,
                Some(w.weight),
                Kind::Score,
                &format!("section_weights[{i}].weight"),
            )?;
            s.next();
        }
    }

    if form.kind == FormKind::DepartmentBasicData {
        s.next();
        s.label(0, "项目")?;
        for (c, h) in form.basic_data.column_labels.iter().enumerate().take(9) {
            s.label(c as u16 + 1, h)?;
        }
        s.next();
        for (ri, row) in form.basic_data.rows.iter().enumerate() {
            s.text_at(0, &row.label, "")?;
            for (c, v) in row.values.iter().enumerate().take(9) {
                s.text_at(
                    c as u16 + 1,
                    v,
                    &format!("basic_data.rows[{ri}].values[{c}]"),
                )?;
            }
            s.next();
        }
    } else {
        s.label(0, "总分")?;
        s.ws.merge_range(s.row, 1, s.row, 5, "", &format(Kind::Text, None))?;
        s.decimal_at(6, form.stated_total, Kind::Score, "stated_total")?;
        s.decimal_at(7, card.and_then(|c| c.recomputed_total), Kind::Score, "")?;
        s.text_at(
            8,
            card.map(|c| c.total_explanation.as_str()).unwrap_or(""),
            "",
        )?;
        s.next();
    }
    s.label(0, "填表人")?;
    s.text_at(1, &form.filer.name, "")?;
    s.label(3, "填报日期")?;
    s.text_at(4, &form.filer.date, "")?;
    s.label(6, "联系电话")?;
    s.merged(7, 8, &form.filer.phone, "")?;
    s.next();

    if !r.findings.is_empty() {
        s.next();
        s.ws.merge_range(s.row, 0, s.row, 9, "本表问题", &title_format())?;
        s.next();
        for (c, h) in [
            "严重程度",
            "规则",
            "位置",
            "",
            "应为",
            "填报",
            "差额",
            "",
            "说明",
            "",
        ]
        .iter()
        .enumerate()
        {
            s.label(c as u16, h)?;
        }
        s.next();
        for f in &r.findings {
            write_text(s.ws, s.row, 0, severity_zh(f.severity), Some(f.severity))?;
            write_text(s.ws, s.row, 1, &f.rule_id, None)?;
            s.ws.merge_range(
                s.row,
                2,
                s.row,
                3,
                &location_text(f),
                &format(Kind::Text, None),
            )?;
            write_text(s.ws, s.row, 4, &f.expected, None)?;
            write_text(s.ws, s.row, 5, &f.stated, None)?;
            write_text(s.ws, s.row, 6, &f.difference, None)?;
            s.ws.merge_range(s.row, 7, s.row, 9, &f.message_zh, &format(Kind::Text, None))?;
            s.next();
        }
    }
    let FormSheet {
        ws, marks, cells, ..
    } = s;
    marks.notes(ws, &cells)
}

/// Column headings of the summary tables.
pub(crate) const GROUP_COLUMNS: [(&str, f64); 15] = [
    ("", 30.0),
    ("表数", 8.0),
    ("全年预算数(万元)", 15.0),
    ("全年执行数(万元)", 15.0),
    ("执行率", 9.0),
    ("平均总分(填报)", 12.0),
    ("平均总分(重算)", 12.0),
    ("平均虚高", 10.0),
    ("错误", 7.0),
    ("警告", 7.0),
    ("提示", 7.0),
    ("优", 6.0),
    ("良", 6.0),
    ("中", 6.0),
    ("差", 6.0),
];

fn group_row(ws: &mut Worksheet, row: u32, g: &GroupSummary, key: &str) -> XResult<()> {
    write_text(ws, row, 0, key, None)?;
    ws.write_number(row, 1, g.forms as f64)?;
    write_decimal(ws, row, 2, Some(g.full_year_budget), Kind::Amount, None)?;
    write_decimal(ws, row, 3, Some(g.executed), Kind::Amount, None)?;
    write_decimal(ws, row, 4, g.execution_rate(), Kind::Percent, None)?;
    write_decimal(ws, row, 5, g.mean_stated_total(), Kind::Score, None)?;
    write_decimal(ws, row, 6, g.mean_recomputed_total(), Kind::Score, None)?;
    let inflated = g
        .mean_inflation()
        .filter(|d| *d > Decimal::ZERO)
        .map(|_| Severity::Warning);
    write_decimal(ws, row, 7, g.mean_inflation(), Kind::Score, inflated)?;
    for (c, sev) in ["error", "warning", "info"].iter().enumerate() {
        ws.write_number(row, 8 + c as u16, g.findings_of(sev) as f64)?;
    }
    for (c, grade) in ["优", "良", "中", "差"].iter().enumerate() {
        ws.write_number(
            row,
            11 + c as u16,
            g.grades.get(*grade).copied().unwrap_or(0) as f64,
        )?;
    }
    Ok(())
}

fn summary_sheet(
    ws: &mut Worksheet,
    s: &BatchSummary,
    meta: &ExportMeta,
    forms: u64,
    form_sheets: usize,
) -> XResult<()> {
    let title = if meta.title.is_empty() {
        "预算绩效自评 汇总"
    } else {
        &meta.title
    };
    ws.merge_range(0, 0, 0, 8, title, &title_format())?;
    let mut note =
        format!(
        "生成于 {}；范围：{}；共 {forms} 张表。金额合计只计项目支出表（部门整体表已含其项目）。",
        meta.generated_at,
        if meta.filter.is_empty() { "全部" } else { &meta.filter }
    );
    if (form_sheets as u64) < forms {
        note.push_str(&format!(
            "只为前 {form_sheets} 张表各建一页；其余见“{SCORECARD_SHEET}”“{FINDING_SHEET}”两页。"
        ));
    }
    ws.merge_range(1, 0, 1, 14, &note, &format(Kind::Text, None))?;
    let mut row = 3;
    write_header(ws, row, &GROUP_COLUMNS)?;
    ws.write_string_with_format(row, 0, "合计", &header_format())?;
    row += 1;
    group_row(ws, row, &s.overall, "全部")?;
    row += 2;
    for (heading, groups) in [("预算单位", &s.units), ("地区", &s.regions)] {
        write_header(ws, row, &GROUP_COLUMNS)?;
        ws.write_string_with_format(row, 0, heading, &header_format())?;
        row += 1;
        for g in groups {
            group_row(ws, row, g, &g.key)?;
            row += 1;
        }
        row += 1;
    }
    let h = header_format();
    ws.write_string_with_format(row, 0, "规则", &h)?;
    ws.write_string_with_format(row, 1, "问题数", &h)?;
    ws.merge_range(row, 2, row, 6, "规则名称", &h)?;
    row += 1;
    let mut rules: Vec<(&String, &u64)> = s.overall.findings_by_rule.iter().collect();
    rules.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (rule, n) in rules {
        write_text(ws, row, 0, rule, None)?;
        ws.write_number(row, 1, *n as f64)?;
        let title = meta.rule_titles.get(rule).map(String::as_str).unwrap_or("");
        ws.merge_range(row, 2, row, 6, title, &format(Kind::Text, None))?;
        row += 1;
    }
    ws.set_freeze_panes(4, 1)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{d, record};

    #[test]
    fn decimals_become_numbers_that_read_back_as_the_same_decimal() {
        for s in [
            "418.85",
            "0.1",
            "124.51",
            "139.98",
            "88.9484",
            "-22.50",
            "123456789012.345",
        ] {
            let n = excel_number(d(s)).unwrap();
            assert_eq!(d(&n.to_string()), d(s).normalize(), "{s}");
        }
        assert_eq!(excel_number(d("1234567890123456.7")), None);
    }

    #[test]
    fn sheet_names_are_short_unique_and_legal() {
        let n = sheet_name(
            7,
            "中央补助资金无线电管理经费：监测/检测[2023]年度专项资金项目",
            "",
        );
        assert!(n.starts_with("007 中央补助资金无线电管理经费"));
        assert!(n.chars().count() <= 31);
        assert!(!n.contains(['/', '[', ']', ':']));
        assert_eq!(sheet_name(1, "  ", "某局"), "001 某局");
    }

    #[test]
    fn a_workbook_is_written() {
        let mut w = WorkbookBuilder::new(ExportMeta::default()).unwrap();
        w.add(&record("sub_1", "甲局", "10", "9")).unwrap();
        let mut b = crate::SummaryBuilder::default();
        b.add(&record("sub_1", "甲局", "10", "9"));
        let bytes = w.finish(&b.finish()).unwrap();
        assert_eq!(&bytes[..2], b"PK");
    }
}

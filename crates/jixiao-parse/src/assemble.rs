//! Tokens → forms. Sections are found by their labels, never by position:
//! fund rows by 年度资金总额 / 当年财政拨款 / …, the indicator table by its
//! header, whose columns then place each row's cells (right-aligned, so rows
//! that leave out merged cells still fit).

use jixiao_form::{
    parse_decimal, parse_measure, parse_percent, round2, BasicData, BasicDataRow, Diagnostic,
    Filer, Form, FormKind, FundRow, FundSource, Goal, Indicator, Origin, SectionWeight,
};
use rust_decimal::Decimal;

use crate::cells::{clean, is_blank, norm, split_weight};
use crate::text::{is_note, is_title};
use crate::{Parsed, Token};

#[derive(Debug, Clone)]
struct Cell {
    line: u32,
    text: String,
    norm: String,
    new_row: bool,
    /// Column, where the format fixes it (spreadsheets).
    col: Option<u32>,
}

struct Builder {
    kind: FormKind,
    year: i32,
    title_line: u32,
    last_line: u32,
    cells: Vec<Cell>,
    narrative: String,
    filer: Option<(u32, String)>,
}

pub(crate) fn assemble(file_name: &str, tokens: &[Token]) -> Parsed {
    let mut parsed = Parsed::default();
    let mut current: Option<Builder> = None;
    let mut narrative: Vec<String> = Vec::new();
    let mut orphan_cells = 0u32;
    for token in tokens {
        match token {
            Token::Text { line, text } => {
                if let Some(year) = is_title(text) {
                    if let Some(b) = current.take() {
                        parsed.forms.push(build(file_name, b));
                    }
                    let n = norm(text);
                    let kind = if n.contains("基础数据") {
                        FormKind::DepartmentBasicData
                    } else if n.contains("整体支出") {
                        FormKind::Department
                    } else {
                        FormKind::Project
                    };
                    current = Some(Builder {
                        kind,
                        year,
                        title_line: *line,
                        last_line: *line,
                        cells: Vec::new(),
                        narrative: std::mem::take(&mut narrative).join("\n").trim().to_string(),
                        filer: None,
                    });
                } else if norm(text).starts_with("填表人") {
                    match current.as_mut() {
                        Some(b) => {
                            b.filer = Some((*line, text.clone()));
                            b.last_line = *line;
                        }
                        None => parsed.diagnostics.push(diag(
                            *line,
                            "",
                            "orphan_filer",
                            text,
                            "填表人 line outside any form",
                        )),
                    }
                } else if is_note(text) {
                    // 备注 / 说明 lines belong to the form before them; they carry no values.
                } else {
                    // Narrative before a form belongs to the next form (its 绩效自评报告).
                    if current.as_ref().is_some_and(|b| !b.cells.is_empty()) {
                        if let Some(b) = current.take() {
                            parsed.forms.push(build(file_name, b));
                        }
                    }
                    narrative.push(text.trim().to_string());
                }
            }
            Token::Cell {
                line,
                text,
                new_row,
                col,
            } => match current.as_mut() {
                Some(b) => {
                    let text = clean(text);
                    b.last_line = b.last_line.max(*line + text.lines().count() as u32);
                    b.cells.push(Cell {
                        line: *line,
                        norm: norm(&text),
                        text,
                        new_row: *new_row,
                        col: *col,
                    });
                }
                None => orphan_cells += 1,
            },
        }
    }
    if let Some(b) = current.take() {
        parsed.forms.push(build(file_name, b));
    }
    if orphan_cells > 0 {
        parsed.diagnostics.push(diag(
            0,
            "",
            "table_without_title",
            "",
            &format!("{orphan_cells} table cells appear before any form title and were not read"),
        ));
    }
    borrow_units(&mut parsed.forms);
    parsed
}

/// A 基础数据表 names no unit: it is the department's, so it takes the unit of
/// the department form (or of any form) in the same document.
pub(crate) fn borrow_units(forms: &mut [Form]) {
    let unit = forms
        .iter()
        .find(|f| f.kind == FormKind::Department && !f.units.primary().is_empty())
        .or_else(|| forms.iter().find(|f| !f.units.primary().is_empty()))
        .map(|f| f.units.primary().to_string());
    if let Some(unit) = unit {
        for f in forms.iter_mut().filter(|f| f.units.primary().is_empty()) {
            f.units.budget_unit = unit.clone();
            let line = f.origin.first_line;
            f.diagnostics.push(diag(
                line,
                "units.budget_unit",
                "unit_from_document",
                "",
                &format!("the form names no unit; taken from the department form of the same document: {unit}"),
            ));
        }
    }
}

fn diag(line: u32, path: &str, code: &str, raw: &str, message: &str) -> Diagnostic {
    Diagnostic {
        line,
        cell: String::new(),
        path: path.to_string(),
        code: code.to_string(),
        raw: raw.to_string(),
        message: message.to_string(),
    }
}

/// Not-applicable markers in amount cells.
fn is_na(text: &str) -> bool {
    matches!(
        text,
        "" | "/" | "\\" | "——" | "—" | "-" | "--" | "不适用" | "无"
    )
}

/// Reads the cells of one form.
struct Reader<'a> {
    cells: &'a [Cell],
    form: Form,
}

impl Reader<'_> {
    fn note(&mut self, cell: &Cell, path: &str, code: &str, message: &str) {
        self.form
            .diagnostics
            .push(diag(cell.line, path, code, &cell.text, message));
    }

    /// An amount or score: blank and n/a markers are `None`; text that is no
    /// number is `None` with a diagnostic.
    fn number(&mut self, cell: &Cell, path: &str) -> Option<Decimal> {
        if is_na(&cell.norm) {
            return None;
        }
        match parse_decimal(&cell.norm) {
            Ok(d) => Some(d),
            Err(_) => {
                self.note(
                    cell,
                    path,
                    "unreadable_number",
                    &format!("{:?} is not a number", cell.text),
                );
                None
            }
        }
    }

    /// A score cell. `100%` in a score cell is a percentage of the weight, not
    /// points: read as weight × rate, and noted.
    fn score(&mut self, cell: &Cell, path: &str, weight: Option<Decimal>) -> Option<Decimal> {
        if cell.norm.ends_with('%') {
            if let (Ok(pct), Some(w)) = (parse_percent(&cell.norm), weight) {
                let points = round2(w * pct / Decimal::ONE_HUNDRED);
                self.note(
                    cell,
                    path,
                    "score_as_percent",
                    &format!(
                        "得分 written as a percentage {:?}; read as {w} × {pct}% = {points} points",
                        cell.text
                    ),
                );
                return Some(points);
            }
        }
        self.number(cell, path)
    }
}

/// Label kinds that start a section or name a header field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    ProjectName,
    CompetentDepartment,
    ImplementingUnit,
    BudgetUnit,
    FundHeader,
    RevenueSplit,
    GoalsHeader,
    IndicatorMarker,
    IndicatorHeader,
    Total,
}

fn label(n: &str) -> Option<Label> {
    Some(match n {
        "项目支出名称" | "项目名称" | "项目支出名称:" | "项目名称:" => {
            Label::ProjectName
        }
        "主管部门" | "主管部门:" | "主管单位" => Label::CompetentDepartment,
        "实施单位" | "实施单位:" => Label::ImplementingUnit,
        "预算单位" | "预算单位名称" | "预算部门" | "预算部门名称" | "单位名称" | "部门名称" => {
            Label::BudgetUnit
        }
        _ if n.ends_with("预算部门(单位)名称")
            || n.ends_with("预算部门名称")
            || n.ends_with("预算单位名称") =>
        {
            Label::BudgetUnit
        }
        _ if n.starts_with("项目资金")
            || n.starts_with("年度预算申请")
            || n.starts_with("资金情况") =>
        {
            Label::FundHeader
        }
        _ if n.starts_with("按收入性质分") => Label::RevenueSplit,
        _ if n.starts_with("年度总体目标") || n == "总体目标" => Label::GoalsHeader,
        "绩效指标" => Label::IndicatorMarker,
        "一级指标" => Label::IndicatorHeader,
        _ if n.starts_with("总分") => Label::Total,
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FundColumn {
    Initial,
    FullYear,
    Executed,
    Weight,
    Rate,
    Score,
    /// A column this model does not keep (上年结转, 年中调整).
    Other,
}

fn fund_column(n: &str) -> Option<FundColumn> {
    Some(match n {
        _ if n.starts_with("年初") => FundColumn::Initial,
        _ if n.starts_with("全年预算") || n == "预算数" || n.starts_with("调整后预算") => {
            FundColumn::FullYear
        }
        _ if n.starts_with("全年执行") || n == "执行数" || n.starts_with("实际支出") => {
            FundColumn::Executed
        }
        "分值" | "权重" => FundColumn::Weight,
        "执行率" | "预算执行率" => FundColumn::Rate,
        "得分" | "自评得分" => FundColumn::Score,
        _ if n.starts_with("上年结转") || n.starts_with("年中调整") => FundColumn::Other,
        _ => return None,
    })
}

fn fund_source(n: &str) -> Option<FundSource> {
    let n = n.trim_start_matches("其中:");
    Some(match n {
        _ if n.contains("资金总额") || n == "合计" => FundSource::Total,
        _ if n.contains("财政拨款") => FundSource::CurrentAppropriation,
        _ if n.starts_with("上年结转") => FundSource::PriorYearCarryover,
        _ if n.starts_with("其他资金") => FundSource::Other,
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IndColumn {
    Level1,
    Level2,
    Name,
    Target,
    Actual,
    Weight,
    Score,
    Reason,
}

fn ind_column(n: &str) -> Option<IndColumn> {
    Some(match n {
        "一级指标" => IndColumn::Level1,
        "二级指标" => IndColumn::Level2,
        "三级指标" | "指标名称" => IndColumn::Name,
        _ if n.contains("指标值") || n.contains("目标值") => IndColumn::Target,
        _ if n.contains("完成值") || n == "实际值" => IndColumn::Actual,
        "分值" | "权重" => IndColumn::Weight,
        "得分" | "自评得分" => IndColumn::Score,
        _ if n.starts_with("偏差") => IndColumn::Reason,
        _ => return None,
    })
}

fn build(file_name: &str, b: Builder) -> Form {
    let mut r = Reader {
        cells: &b.cells,
        form: Form {
            kind: b.kind,
            fiscal_year: b.year,
            narrative: b.narrative,
            origin: Origin {
                file_name: file_name.to_string(),
                first_line: b.title_line,
                last_line: b.last_line,
                sheet: String::new(),
            },
            ..Form::default()
        },
    };
    if b.kind == FormKind::DepartmentBasicData {
        basic_data(&mut r);
    } else {
        sections(&mut r);
    }
    if let Some((line, text)) = &b.filer {
        r.form.filer = filer(text);
        if r.form.filer.name.is_empty() {
            r.form.diagnostics.push(diag(
                *line,
                "filer",
                "unreadable_filer",
                text,
                "no name after 填表人：",
            ));
        }
    }
    r.form
}

fn next_text(cells: &[Cell], i: usize) -> String {
    cells.get(i + 1).map(|c| c.text.clone()).unwrap_or_default()
}

fn sections(r: &mut Reader) {
    let cells = r.cells;
    let mut total_found = false;
    let mut i = 0;
    while i < cells.len() {
        let Some(kind) = label(&cells[i].norm) else {
            i += 1;
            continue;
        };
        i = match kind {
            Label::ProjectName => {
                r.form.project_name = next_text(cells, i);
                i + 2
            }
            Label::CompetentDepartment => {
                r.form.units.competent_department = next_text(cells, i);
                i + 2
            }
            Label::ImplementingUnit => {
                r.form.units.implementing_unit = next_text(cells, i);
                i + 2
            }
            Label::BudgetUnit => {
                r.form.units.budget_unit = next_text(cells, i);
                i + 2
            }
            Label::FundHeader => funds(r, i),
            Label::RevenueSplit => revenue_split(r, i),
            Label::GoalsHeader => goals(r, i),
            Label::IndicatorMarker | Label::IndicatorHeader => indicators(r, i),
            Label::Total => {
                total_found = true;
                total(r, i)
            }
        };
    }
    if !total_found {
        r.form.diagnostics.push(diag(
            r.form.origin.first_line,
            "stated_total",
            "missing_total",
            "",
            "the form has no 总分 row",
        ));
    }
}

/// The fund block: its header names the value columns; each row is a label
/// followed by one cell per column.
fn funds(r: &mut Reader, start: usize) -> usize {
    let cells = r.cells;
    let mut columns = Vec::new();
    let mut positions = Vec::new();
    let mut j = start + 1;
    while j < cells.len() {
        if let Some(c) = fund_column(&cells[j].norm) {
            columns.push(c);
            positions.push(cells[j].col);
        } else if !cells[j].norm.is_empty() {
            break;
        }
        j += 1;
    }
    if columns.is_empty() {
        r.note(
            &cells[start],
            "funds",
            "unreadable_fund_block",
            "the fund block has no column headers",
        );
        return start + 1;
    }
    loop {
        let Some(k) = (j..cells.len()).find(|&k| !cells[k].norm.is_empty()) else {
            return cells.len();
        };
        let Some(source) = fund_source(&cells[k].norm) else {
            return k;
        };
        // Where columns are fixed (spreadsheets), a value is the cell of its row
        // under its header; otherwise the cells after the label, in order.
        let positions_known = cells[k].col.is_some() && positions.iter().all(|p| p.is_some());
        let (values, next): (Vec<Option<&Cell>>, usize) = if positions_known {
            let row_end = (k + 1..cells.len())
                .find(|&m| cells[m].line != cells[k].line)
                .unwrap_or(cells.len());
            let row = &cells[k + 1..row_end];
            (
                positions
                    .iter()
                    .map(|p| row.iter().find(|c| c.col == *p))
                    .collect(),
                row_end,
            )
        } else {
            let end = (k + 1 + columns.len()).min(cells.len());
            (
                cells[k + 1..end].iter().map(Some).collect(),
                k + 1 + columns.len(),
            )
        };
        let index = r.form.funds.rows.len();
        let mut row = FundRow {
            source,
            label: cells[k]
                .text
                .trim_start_matches("其中：")
                .trim()
                .to_string(),
            ..FundRow::default()
        };
        let mut weight = None;
        for (col, cell) in columns
            .iter()
            .zip(values)
            .filter_map(|(c, v)| v.map(|v| (c, v)))
        {
            let path = |c: &str| format!("funds.rows[{index}].{c}");
            match col {
                FundColumn::Initial => row.initial_budget = r.number(cell, &path("initial_budget")),
                FundColumn::FullYear => {
                    row.full_year_budget = r.number(cell, &path("full_year_budget"))
                }
                FundColumn::Executed => row.executed = r.number(cell, &path("executed")),
                FundColumn::Weight => {
                    weight = r.number(cell, "funds.weight");
                    if weight.is_some() {
                        r.form.funds.weight = weight;
                    }
                }
                FundColumn::Rate if !cell.norm.is_empty() => {
                    r.form.funds.stated_execution_rate = cell.norm.clone()
                }
                FundColumn::Score if !cell.norm.is_empty() => {
                    let w = weight.or(r.form.funds.weight);
                    r.form.funds.stated_score = r.score(cell, "funds.stated_score", w);
                }
                _ => {}
            }
        }
        r.form.funds.rows.push(row);
        j = next;
    }
}

/// A department form's 按收入性质分 / 按支出性质分 lines, with amounts inside
/// the labels (`其中：基本支出：2148.72`). Revenue goes to 全年预算数, expense to 全年执行数.
fn revenue_split(r: &mut Reader, start: usize) -> usize {
    let cells = r.cells;
    let mut j = start + 1;
    while j < cells.len() && label(&cells[j].norm).is_none() {
        let cell = &cells[j];
        j += 1;
        let Some((name, amount)) = cell
            .text
            .rsplit_once('：')
            .or_else(|| cell.text.rsplit_once(':'))
        else {
            continue;
        };
        let name = norm(name);
        let name = name.trim_start_matches("其中:").to_string();
        if name.is_empty() || name.starts_with("按支出性质分") || name.starts_with("按收入性质分")
        {
            continue;
        }
        let index = r.form.funds.rows.len();
        let source = match name.as_str() {
            n if n.contains("基本支出") => FundSource::BasicExpenditure,
            n if n.contains("项目支出") => FundSource::ProjectExpenditure,
            _ => FundSource::Revenue,
        };
        let amount_cell = Cell {
            text: amount.trim().to_string(),
            norm: norm(amount),
            ..cell.clone()
        };
        let column = if source == FundSource::Revenue {
            "full_year_budget"
        } else {
            "executed"
        };
        let value = r.number(&amount_cell, &format!("funds.rows[{index}].{column}"));
        let mut row = FundRow {
            source,
            label: name,
            ..FundRow::default()
        };
        if source == FundSource::Revenue {
            row.full_year_budget = value;
        } else {
            row.executed = value;
        }
        r.form.funds.rows.push(row);
    }
    j
}

/// 年度总体目标: after the header cells, rows of (merged) | 预期目标 | 实际完成情况.
fn goals(r: &mut Reader, start: usize) -> usize {
    let cells = r.cells;
    let mut j = start + 1;
    let mut content = Vec::new();
    while j < cells.len() && label(&cells[j].norm).is_none() {
        let n = &cells[j].norm;
        if !(n.starts_with("预期目标")
            || n.starts_with("实际完成情况")
            || n.starts_with("实际完成"))
        {
            content.push(cells[j].text.clone());
        }
        j += 1;
    }
    let width = if content.len() % 3 == 0 { 3 } else { 2 };
    for chunk in content.chunks(width) {
        let (expected, actual) = match chunk {
            [_, e, a] if width == 3 => (e.clone(), a.clone()),
            [e, a] => (e.clone(), a.clone()),
            [e] => (e.clone(), String::new()),
            _ => continue,
        };
        if !expected.is_empty() || !actual.is_empty() {
            r.form.goals.push(Goal { expected, actual });
        }
    }
    j
}

/// The indicator table: header columns, then rows until 总分.
fn indicators(r: &mut Reader, start: usize) -> usize {
    let cells = r.cells;
    let mut j = start;
    if cells[j].norm == "绩效指标" {
        j += 1;
    }
    let mut columns = Vec::new();
    let mut positions = Vec::new();
    while j < cells.len() {
        match ind_column(&cells[j].norm) {
            Some(c) => {
                columns.push(c);
                positions.push(cells[j].col);
            }
            None if cells[j].norm.is_empty() && columns.is_empty() => {}
            None => break,
        }
        j += 1;
    }
    if !columns.contains(&IndColumn::Name) || !columns.contains(&IndColumn::Score) {
        r.note(
            &cells[start],
            "indicators",
            "unreadable_indicator_header",
            "the indicator table has no recognisable header",
        );
        return j.max(start + 1);
    }
    let end = (j..cells.len())
        .find(|&k| label(&cells[k].norm) == Some(Label::Total))
        .unwrap_or(cells.len());
    let width = columns.len() + 1;
    let min_row = columns.len()
        - columns
            .iter()
            .position(|c| *c == IndColumn::Name)
            .unwrap_or(0);
    // Where the format fixes columns (spreadsheets), a cell's column says what it is.
    let positions: Option<Vec<u32>> = positions.into_iter().collect();
    for row in rows(&cells[j..end], width, min_row) {
        indicator_row(r, &columns, positions.as_deref(), row);
    }
    end
}

/// Groups cells into rows: at the format's row starts, joining groups too
/// short to be a row (a blank line inside a row) and splitting ones too long.
fn rows(cells: &[Cell], width: usize, min_row: usize) -> Vec<&[Cell]> {
    let mut groups: Vec<(usize, usize)> = Vec::new();
    for (k, c) in cells.iter().enumerate() {
        if c.new_row || groups.is_empty() {
            groups.push((k, k + 1));
        } else if let Some(last) = groups.last_mut() {
            last.1 = k + 1;
        }
    }
    // Rows of fixed columns (spreadsheets) start exactly where the format says.
    let exact = cells.iter().all(|c| c.col.is_some());
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for g in groups {
        match merged.last_mut() {
            Some(last) if !exact && last.1 - last.0 < min_row && (g.1 - last.0) <= width => {
                last.1 = g.1
            }
            _ => merged.push(g),
        }
    }
    let mut out = Vec::new();
    for (a, b) in merged {
        let mut s = a;
        while b - s > width {
            out.push(&cells[s..s + width]);
            s += width;
        }
        out.push(&cells[s..b]);
    }
    out
}

fn indicator_row(r: &mut Reader, columns: &[IndColumn], positions: Option<&[u32]>, row: &[Cell]) {
    if row.iter().all(|c| c.norm.is_empty()) || row.iter().any(|c| c.norm == "三级指标") {
        return;
    }
    // Right-aligned: the last cells are always 得分 and 偏差; leading cells beyond the
    // header are the merged 绩效指标 column, missing ones are merged 一级/二级 cells.
    let offset = row.len() as isize - columns.len() as isize;
    let positioned = positions.filter(|_| row.iter().all(|c| c.col.is_some()));
    let cell_of = |col: IndColumn| -> Option<&Cell> {
        let h = columns.iter().position(|c| *c == col)?;
        if let Some(p) = positioned {
            return row.iter().find(|c| c.col == Some(p[h]));
        }
        let k = h as isize + offset;
        (k >= 0).then(|| &row[k as usize])
    };
    let index = r.form.indicators.len();
    let previous = r
        .form
        .indicators
        .last()
        .map(|p| (p.level1.clone(), p.level2.clone()));
    let mut ind = Indicator::default();
    match cell_of(IndColumn::Level1).filter(|c| !c.norm.is_empty()) {
        Some(c) => {
            let (name, weight) = split_weight(&c.text);
            if let Some(weight) = weight {
                r.form.section_weights.push(SectionWeight {
                    level1: name.clone(),
                    weight,
                });
            }
            ind.level1 = name;
        }
        None => ind.level1 = previous.as_ref().map(|p| p.0.clone()).unwrap_or_default(),
    }
    ind.level2 = match cell_of(IndColumn::Level2).filter(|c| !c.norm.is_empty()) {
        Some(c) => norm(&c.text),
        None => previous
            .filter(|p| p.0 == ind.level1)
            .map(|p| p.1)
            .unwrap_or_default(),
    };
    let text = |col| cell_of(col).map(|c| c.text.clone()).unwrap_or_default();
    ind.name = text(IndColumn::Name);
    ind.target = parse_measure(&text(IndColumn::Target));
    ind.actual = parse_measure(&text(IndColumn::Actual));
    ind.deviation_reason = text(IndColumn::Reason);
    if let Some(c) = cell_of(IndColumn::Weight) {
        ind.weight = r.number(c, &format!("indicators[{index}].weight"));
    }
    if let Some(c) = cell_of(IndColumn::Score) {
        ind.self_score = r.score(c, &format!("indicators[{index}].self_score"), ind.weight);
    }
    r.form.indicators.push(ind);
}

/// 总分 | total weight | total score | …: the stated total is the score, the
/// second number (the only one when there is one).
fn total(r: &mut Reader, start: usize) -> usize {
    let cells = r.cells;
    let values: Vec<&Cell> = cells[start + 1..]
        .iter()
        .take(3)
        .filter(|c| !c.norm.is_empty())
        .collect();
    let pick = if values.len() >= 2 {
        values.get(1)
    } else {
        values.first()
    };
    if let Some(cell) = pick {
        let cell = (*cell).clone();
        r.form.stated_total = r.number(&cell, "stated_total");
    }
    cells.len()
}

/// The 基础数据表: each row is a label and its values; the header row of the
/// 经费控制情况 part names the columns.
fn basic_data(r: &mut Reader) {
    let cells = r.cells;
    let mut data = BasicData::default();
    for row in rows(cells, usize::MAX, 1) {
        let Some((first, rest)) = row.split_first() else {
            continue;
        };
        let values: Vec<String> = rest.iter().map(|c| c.text.clone()).collect();
        if first.norm.starts_with("经费控制情况") {
            data.column_labels = values.clone();
        }
        if first.norm.is_empty() && values.iter().all(|v| is_blank(v)) {
            continue;
        }
        data.rows.push(BasicDataRow {
            label: first.text.clone(),
            values,
        });
    }
    r.form.basic_data = data;
}

/// `填表人：丁鑫禹  填报日期：2025.5.16  联系电话：28681018  单位负责人签字：`, with
/// the spacing and label typos of real forms (`报日期：`, `日期：`, no spaces).
fn filer(line: &str) -> Filer {
    const LABELS: [&str; 5] = ["填表人", "填报日期", "日期", "联系电话", "单位负责人签字"];
    let text = line.replace(':', "：");
    let mut marks: Vec<(usize, usize, &str)> = Vec::new();
    for l in LABELS {
        let pat = format!("{l}：");
        let mut from = 0;
        while let Some(p) = text[from..].find(&pat) {
            let at = from + p;
            // 日期 inside 填报日期 is the same mark.
            if !marks.iter().any(|(s, e, _)| at >= *s && at < *e) {
                marks.push((at, at + pat.len(), l));
            }
            from = at + pat.len();
        }
    }
    marks.sort_unstable();
    let mut f = Filer::default();
    for (k, (_, end, l)) in marks.iter().enumerate() {
        let stop = marks.get(k + 1).map(|m| m.0).unwrap_or(text.len());
        let value = text[*end..stop]
            .trim_matches(|c: char| c.is_whitespace() || c == '\u{3000}')
            .to_string();
        match *l {
            "填表人" => f.name = value,
            "填报日期" | "日期" => f.date = value.trim_start_matches("报").to_string(),
            "联系电话" => f.phone = value,
            _ => {}
        }
    }
    // `报日期：` (a typo for 填报日期) leaves 报 at the end of the name.
    if let Some(name) = f.name.strip_suffix('报') {
        f.name = name.trim().to_string();
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filer_lines_as_written() {
        let f = filer("填表人：丁鑫禹  填报日期：2025.5.16  联系电话：28681018  单位负责人签字：");
        assert_eq!(
            (f.name.as_str(), f.date.as_str(), f.phone.as_str()),
            ("丁鑫禹", "2025.5.16", "28681018")
        );
        let f = filer("填表人：卢小红 报日期：2024年6月15日 联系电话：8721315 单位负责人签字：");
        assert_eq!(
            (f.name.as_str(), f.date.as_str()),
            ("卢小红", "2024年6月15日")
        );
        let f = filer("填表人：卢小红 日期：2024年6月15日 联系电话：8721315  单位负责人签字：");
        assert_eq!(f.date, "2024年6月15日");
        let f = filer("填表人：卢小红填报日期：2024年6月15日 联系电话：8721315单位负责人签字：");
        assert_eq!((f.name.as_str(), f.phone.as_str()), ("卢小红", "8721315"));
    }
}

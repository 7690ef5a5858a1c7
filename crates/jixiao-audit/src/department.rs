//! Cross-form rules: a department's forms against each other (the 部门整体 form
//! and the 基础数据表 against the project forms, duplicates, subtotals).

use jixiao_form::{parse_decimal, round2, Form, FormKind, FundSource};
use rust_decimal::Decimal;

use crate::catalogue::{Catalogue, RuleKind, RuleSpec};
use crate::finding::{Finding, Location};

/// A finding and the form (index into the slice given) it points at.
pub type DepartmentFinding = (usize, Finding);

/// Runs the enabled cross-form rules over the forms of one department and year.
pub fn audit_department(forms: &[Form], catalogue: &Catalogue) -> Vec<DepartmentFinding> {
    let mut out = Vec::new();
    for rule in catalogue.rules.iter().filter(|r| r.enabled) {
        match rule.kind {
            RuleKind::DepartmentProjectSpending => project_spending(forms, rule, &mut out),
            RuleKind::DepartmentOtherFunds => other_funds(forms, rule, &mut out),
            RuleKind::DuplicateProject => duplicates(forms, rule, &mut out),
            RuleKind::BasicDataProjectSpending => basic_data_projects(forms, rule, &mut out),
            RuleKind::BasicDataSubtotals => basic_data_subtotals(forms, rule, &mut out),
            _ => {}
        }
    }
    out
}

fn projects(forms: &[Form]) -> impl Iterator<Item = (usize, &Form)> {
    forms
        .iter()
        .enumerate()
        .filter(|(_, f)| f.kind == FormKind::Project)
}

/// Σ 全年执行数 of the project forms, and how many there are.
fn project_executed(forms: &[Form]) -> (Decimal, usize) {
    let mut sum = Decimal::ZERO;
    let mut n = 0;
    for (_, f) in projects(forms) {
        if let Some(e) = f.funds.total().and_then(|t| t.executed) {
            sum += e;
            n += 1;
        }
    }
    (sum, n)
}

fn half_unit(stated: Decimal) -> Decimal {
    Decimal::new(5, stated.scale() + 1)
}

/// The department form's 项目支出 against Σ 全年执行数 of the project forms.
fn project_spending(forms: &[Form], rule: &RuleSpec, out: &mut Vec<DepartmentFinding>) {
    let (sum, n) = project_executed(forms);
    if n == 0 {
        return;
    }
    for (i, f) in forms
        .iter()
        .enumerate()
        .filter(|(_, f)| f.kind == FormKind::Department)
    {
        let Some((r, stated)) = f.funds.rows.iter().enumerate().find_map(|(r, row)| {
            (row.source == FundSource::ProjectExpenditure).then_some((r, row.executed?))
        }) else {
            continue;
        };
        if (stated - sum).abs() > half_unit(stated) {
            let share = if stated.is_zero() {
                Decimal::ZERO
            } else {
                round2(sum / stated * Decimal::ONE_HUNDRED)
            };
            out.push((
                i,
                Finding::of(
                    rule,
                    Location::new("funds", "项目支出", "全年执行数", format!("funds.rows[{r}].executed")),
                    [sum.to_string(), stated.to_string(), (stated - sum).to_string()],
                    format!("部门整体支出表项目支出 {stated} 万元，{n} 张项目支出绩效自评表全年执行数合计 {sum} 万元，相差 {} 万元（已自评 {share}%）。", stated - sum),
                    format!("The department reports project spending {stated}; its {n} project forms add up to {sum} (difference {}, {share}% covered).", stated - sum),
                ),
            ));
        }
    }
}

/// The department's 其他资金 against the 其他资金 the project forms report.
fn other_funds(forms: &[Form], rule: &RuleSpec, out: &mut Vec<DepartmentFinding>) {
    let projects_other: Decimal = projects(forms)
        .flat_map(|(_, f)| {
            f.funds
                .rows
                .iter()
                .filter(|r| r.source == FundSource::Other)
        })
        .filter_map(|r| r.full_year_budget)
        .sum();
    for (i, f) in forms
        .iter()
        .enumerate()
        .filter(|(_, f)| f.kind == FormKind::Department)
    {
        let Some((r, stated)) = f.funds.rows.iter().enumerate().find_map(|(r, row)| {
            (row.source == FundSource::Revenue && row.label.contains("其他资金"))
                .then_some((r, row.full_year_budget?))
        }) else {
            continue;
        };
        if projects_other > stated + half_unit(stated) {
            out.push((
                i,
                Finding::of(
                    rule,
                    Location::new("funds", "其他资金", "全年预算数", format!("funds.rows[{r}].full_year_budget")),
                    [format!("≥ {projects_other}"), stated.to_string(), (projects_other - stated).to_string()],
                    format!("部门整体其他资金 {stated} 万元，少于各项目支出表其他资金合计 {projects_other} 万元。"),
                    format!("The department's 其他资金 {stated} is less than its project forms' 其他资金 {projects_other}."),
                ),
            ));
        }
    }
}

fn name_key(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{3000}')
        .collect()
}

/// The same project (by name) filed twice.
fn duplicates(forms: &[Form], rule: &RuleSpec, out: &mut Vec<DepartmentFinding>) {
    let list: Vec<(usize, String)> = projects(forms)
        .map(|(i, f)| (i, name_key(&f.project_name)))
        .collect();
    for (k, (i, key)) in list.iter().enumerate() {
        if let Some((first, _)) = list[..k].iter().find(|(_, other)| other == key) {
            let f = &forms[*i];
            out.push((
                *i,
                Finding::of(
                    rule,
                    Location::new(
                        "header",
                        &f.project_name,
                        "项目支出名称",
                        "project_name".into(),
                    ),
                    ["one form per project".into(), "2".into(), String::new()],
                    format!(
                        "项目“{}”提交了两张自评表（另见第 {} 张）。",
                        f.project_name,
                        first + 1
                    ),
                    format!(
                        "Project \"{}\" is filed twice (see form {}).",
                        f.project_name,
                        first + 1
                    ),
                ),
            ));
        }
    }
}

/// The value of a 基础数据表 row in a column, if it is a number.
fn value(values: &[String], column: usize) -> Option<Decimal> {
    values.get(column).and_then(|v| parse_decimal(v).ok())
}

/// The 基础数据表's 项目支出 (last column: this year's 决算数) against Σ of the project forms.
fn basic_data_projects(forms: &[Form], rule: &RuleSpec, out: &mut Vec<DepartmentFinding>) {
    let (sum, n) = project_executed(forms);
    if n == 0 {
        return;
    }
    for (i, f) in forms
        .iter()
        .enumerate()
        .filter(|(_, f)| f.kind == FormKind::DepartmentBasicData)
    {
        let data = &f.basic_data;
        let Some((r, row)) = data
            .rows
            .iter()
            .enumerate()
            .find(|(_, r)| r.label.trim_end_matches(['：', ':']).trim() == "项目支出")
        else {
            continue;
        };
        let column = row.values.len().saturating_sub(1);
        let Some(stated) = value(&row.values, column) else {
            continue;
        };
        if (stated - sum).abs() > half_unit(stated) {
            out.push((
                i,
                Finding::of(
                    rule,
                    Location::new("basic_data", "项目支出", data.column_labels.get(column).map(String::as_str).unwrap_or(""), format!("basic_data.rows[{r}].values[{column}]")),
                    [sum.to_string(), stated.to_string(), (stated - sum).to_string()],
                    format!("基础数据表项目支出 {stated} 万元，{n} 张项目支出绩效自评表全年执行数合计 {sum} 万元。"),
                    format!("The basic data table's 项目支出 is {stated}; the {n} project forms add up to {sum}."),
                ),
            ));
        }
    }
}

/// A numbered item (`1、…`, `2、…`).
fn numbered(label: &str) -> bool {
    let t = label.trim();
    let digits = t.chars().take_while(|c| c.is_ascii_digit()).count();
    digits > 0 && t[digits..].starts_with(['、', '.', '．'])
}

/// A 基础数据表 subtotal row (the catalogue's `labels`: 三公经费, 项目支出, …)
/// against its numbered items (`1、…`), per column. Its items run to the next
/// subtotal row; unnumbered rows in between (其中…, single projects) are details.
fn basic_data_subtotals(forms: &[Form], rule: &RuleSpec, out: &mut Vec<DepartmentFinding>) {
    let key = |label: &str| {
        label
            .trim()
            .trim_end_matches(['：', ':'])
            .trim()
            .to_string()
    };
    for (i, f) in forms
        .iter()
        .enumerate()
        .filter(|(_, f)| f.kind == FormKind::DepartmentBasicData)
    {
        let rows = &f.basic_data.rows;
        for (p, parent) in rows.iter().enumerate() {
            let label = key(&parent.label);
            if !rule.labels.contains(&label) {
                continue;
            }
            let items: Vec<_> = rows[p + 1..]
                .iter()
                .take_while(|r| !rule.labels.contains(&key(&r.label)))
                .filter(|r| numbered(&r.label))
                .collect();
            if items.len() < 2 {
                continue;
            }
            for column in 0..parent.values.len() {
                let Some(stated) = value(&parent.values, column) else {
                    continue;
                };
                let sum: Decimal = items.iter().filter_map(|r| value(&r.values, column)).sum();
                if (stated - sum).abs() > half_unit(stated) {
                    let column_label = f
                        .basic_data
                        .column_labels
                        .get(column)
                        .cloned()
                        .unwrap_or_default();
                    out.push((
                        i,
                        Finding::of(
                            rule,
                            Location::new("basic_data", &label, &column_label, format!("basic_data.rows[{p}].values[{column}]")),
                            [sum.to_string(), stated.to_string(), (stated - sum).to_string()],
                            format!("基础数据表“{label}”{column_label} {stated}，其分项合计 {sum}。"),
                            format!("Basic data \"{label}\" ({column_label}) is {stated}; its items add up to {sum}."),
                        ),
                    ));
                }
            }
        }
    }
}

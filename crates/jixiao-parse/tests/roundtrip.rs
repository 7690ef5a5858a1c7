//! Generated .docx (docx-rs) and .xlsx (rust_xlsxwriter) fixtures: every form
//! parsed from the samples is laid out like the official 自评表, written, and
//! must parse back to the same form.

use docx_rs::{Docx, Paragraph, Run, Table, TableCell, TableRow, VMergeType};
use jixiao_form::{Form, FormKind, FundSource};
use jixiao_parse::{parse_document, parse_text};

/// Keeps a generated document as a seed for scripts/fuzz.sh.
fn keep_seed(name: &str, bytes: &[u8]) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-seeds");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(name), bytes);
}

fn samples() -> Vec<(String, Vec<Form>)> {
    ["zhuzhou-gxj-2024.txt", "yueyang-gxj-2023.txt"]
        .iter()
        .map(|name| {
            let path = format!("{}/tests/samples/{name}", env!("CARGO_MANIFEST_DIR"));
            (
                name.to_string(),
                parse_text(name, &std::fs::read(path).unwrap())
                    .unwrap()
                    .forms,
            )
        })
        .collect()
}

fn text(d: Option<rust_decimal::Decimal>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

/// One form as paragraphs before its table, the title, the table rows and the filer line.
struct Layout {
    narrative: Vec<String>,
    title: String,
    rows: Vec<Vec<String>>,
    filer: Option<String>,
}

fn layout(f: &Form) -> Layout {
    let kind = match f.kind {
        FormKind::Project => "项目支出绩效自评表",
        FormKind::Department => "部门整体支出绩效自评表",
        _ => "部门（单位）整体支出绩效评价基础数据表",
    };
    let mut rows: Vec<Vec<String>> = Vec::new();
    if f.kind == FormKind::DepartmentBasicData {
        rows.extend(f.basic_data.rows.iter().map(|r| {
            std::iter::once(r.label.clone())
                .chain(r.values.iter().cloned())
                .collect()
        }));
    } else {
        if f.kind == FormKind::Project {
            rows.push(vec!["项目支出名称".into(), f.project_name.clone()]);
            rows.push(vec![
                "主管部门".into(),
                f.units.competent_department.clone(),
                "实施单位".into(),
                f.units.implementing_unit.clone(),
            ]);
        } else {
            rows.push(vec![
                "市级预算部门（单位）名称".into(),
                f.units.budget_unit.clone(),
            ]);
        }
        rows.push(
            [
                "项目资金（万元）",
                "",
                "年初预算数",
                "全年预算数",
                "全年执行数",
                "分值",
                "执行率",
                "得分",
            ]
            .map(String::from)
            .to_vec(),
        );
        let mut split = Vec::new();
        for r in &f.funds.rows {
            match r.source {
                FundSource::Revenue => {
                    split.push(format!("{}：{}", r.label, text(r.full_year_budget)))
                }
                FundSource::BasicExpenditure | FundSource::ProjectExpenditure => {
                    split.push(format!("{}：{}", r.label, text(r.executed)))
                }
                _ => {
                    let mut row = vec![
                        String::new(),
                        r.label.clone(),
                        text(r.initial_budget),
                        text(r.full_year_budget),
                        text(r.executed),
                    ];
                    if r.source == FundSource::Total {
                        row.extend([
                            text(f.funds.weight),
                            f.funds.stated_execution_rate.clone(),
                            text(f.funds.stated_score),
                        ]);
                    } else {
                        row.extend([String::new(), String::new(), String::new()]);
                    }
                    rows.push(row);
                }
            }
        }
        if !split.is_empty() {
            rows.push(vec![
                String::new(),
                "按收入性质分：".into(),
                "按支出性质分：".into(),
            ]);
            rows.extend(split.into_iter().map(|s| vec![String::new(), s]));
        }
        rows.push(
            ["年度总体目标", "预期目标", "实际完成情况"]
                .map(String::from)
                .to_vec(),
        );
        rows.extend(
            f.goals
                .iter()
                .map(|g| vec![String::new(), g.expected.clone(), g.actual.clone()]),
        );
        rows.push(
            [
                "绩效指标",
                "一级指标",
                "二级指标",
                "三级指标",
                "年度指标值",
                "实际完成值",
                "分值",
                "得分",
                "偏差原因分析及改进措施",
            ]
            .map(String::from)
            .to_vec(),
        );
        let mut previous: Option<(&str, &str)> = None;
        for ind in &f.indicators {
            // Labels written once per group, as in the forms; the weight in the 一级 label.
            let new_group = previous.map(|p| p.0) != Some(ind.level1.as_str());
            let level1 = if new_group {
                match f.section_weights.iter().find(|s| s.level1 == ind.level1) {
                    Some(s) => format!("{}（{}分）", ind.level1, s.weight),
                    None => ind.level1.clone(),
                }
            } else {
                String::new()
            };
            let level2 = if new_group || previous.map(|p| p.1) != Some(ind.level2.as_str()) {
                ind.level2.clone()
            } else {
                String::new()
            };
            rows.push(vec![
                String::new(),
                level1,
                level2,
                ind.name.clone(),
                ind.target.raw.clone(),
                ind.actual.raw.clone(),
                text(ind.weight),
                text(ind.self_score),
                ind.deviation_reason.clone(),
            ]);
            previous = Some((&ind.level1, &ind.level2));
        }
        rows.push(vec![
            "总分".into(),
            "100".into(),
            text(f.stated_total),
            String::new(),
        ]);
    }
    let filer = (!f.filer.name.is_empty()).then(|| {
        format!(
            "填表人：{}  填报日期：{}  联系电话：{}  单位负责人签字：",
            f.filer.name, f.filer.date, f.filer.phone
        )
    });
    Layout {
        narrative: f.narrative.lines().map(String::from).collect(),
        title: format!("{}年度{kind}", f.fiscal_year),
        rows,
        filer,
    }
}

fn paragraph(t: &str) -> Paragraph {
    Paragraph::new().add_run(Run::new().add_text(t))
}

fn docx(forms: &[Form]) -> Vec<u8> {
    let mut doc = Docx::new();
    for f in forms {
        let l = layout(f);
        for p in &l.narrative {
            doc = doc.add_paragraph(paragraph(p));
        }
        doc = doc.add_paragraph(paragraph(&l.title));
        let mut in_funds = false;
        let rows = l
            .rows
            .iter()
            .map(|r| {
                let starts_funds = r[0] == "项目资金（万元）";
                in_funds = starts_funds || (in_funds && r.len() == 8 && r[0].is_empty());
                TableRow::new(
                    r.iter()
                        .enumerate()
                        .map(|(k, c)| {
                            let cell = TableCell::new();
                            // The fund label is one cell merged down its rows: Word keeps
                            // text in the continued cells too, which must not be read twice.
                            match (k, starts_funds, in_funds) {
                                (0, true, _) => cell
                                    .vertical_merge(VMergeType::Restart)
                                    .add_paragraph(paragraph(c)),
                                (0, false, true) => cell
                                    .vertical_merge(VMergeType::Continue)
                                    .add_paragraph(paragraph("项目资金（万元）")),
                                _ if r[0] == "总分" && k == r.len() - 1 => {
                                    cell.grid_span(5).add_paragraph(paragraph(c))
                                }
                                _ => cell.add_paragraph(paragraph(c)),
                            }
                        })
                        .collect(),
                )
            })
            .collect();
        doc = doc.add_table(Table::new(rows));
        if let Some(filer) = &l.filer {
            doc = doc.add_paragraph(paragraph(filer));
        }
    }
    let mut buf = std::io::Cursor::new(Vec::new());
    doc.build().pack(&mut buf).unwrap();
    buf.into_inner()
}

fn xlsx(forms: &[Form]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    // Department forms on one sheet each; the project forms together on another.
    let (projects, others): (Vec<&Form>, Vec<&Form>) =
        forms.iter().partition(|f| f.kind == FormKind::Project);
    let mut sheets: Vec<Vec<&Form>> = others.into_iter().map(|f| vec![f]).collect();
    sheets.push(projects);
    for group in sheets {
        let sheet = book.add_worksheet();
        let mut r = 0u32;
        for f in group {
            let l = layout(f);
            sheet.write_string(r, 0, &l.title).unwrap();
            r += 1;
            for row in &l.rows {
                for (c, v) in row.iter().enumerate() {
                    // Amounts and scores of the forms as real numbers, like a clerk would
                    // type them; the basic data table's figures as typed text.
                    match v.parse::<f64>() {
                        Ok(x)
                            if f.kind != FormKind::DepartmentBasicData
                                && !v.is_empty()
                                && !v.contains('%') =>
                        {
                            sheet.write_number(r, c as u16, x).map(|_| ())
                        }
                        _ if v.is_empty() => Ok(()),
                        _ => sheet.write_string(r, c as u16, v).map(|_| ()),
                    }
                    .unwrap();
                }
                r += 1;
            }
            if let Some(filer) = &l.filer {
                sheet.write_string(r, 0, filer).unwrap();
                r += 1;
            }
            r += 1;
        }
    }
    book.save_to_buffer().unwrap()
}

/// What a layout cannot carry: where the form was found and what the text
/// parser noted about it; spreadsheets carry no narrative.
fn comparable(mut f: Form, keep_narrative: bool) -> Form {
    f.origin = Default::default();
    f.diagnostics.retain(|d| d.code == "unit_from_document");
    for d in &mut f.diagnostics {
        d.line = 0;
    }
    if !keep_narrative {
        f.narrative.clear();
        // Spreadsheet rows end at their last filled cell.
        for row in &mut f.basic_data.rows {
            while row.values.last().is_some_and(|v| v.is_empty()) {
                row.values.pop();
            }
        }
    }
    f
}

#[test]
fn docx_fixtures_parse_back_to_the_same_forms() {
    for (name, forms) in samples() {
        let bytes = docx(&forms);
        keep_seed(&name.replace(".txt", ".docx"), &bytes);
        let parsed = parse_document(&name.replace(".txt", ".docx"), &bytes).unwrap();
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        assert_eq!(parsed.forms.len(), forms.len(), "{name}");
        for (original, back) in forms.into_iter().zip(parsed.forms) {
            let (original, back) = (comparable(original, true), comparable(back, true));
            assert_eq!(back, original, "{name}: {}", original.project_name);
        }
    }
}

#[test]
fn xlsx_fixtures_parse_back_to_the_same_forms() {
    for (name, forms) in samples() {
        let bytes = xlsx(&forms);
        keep_seed(&name.replace(".txt", ".xlsx"), &bytes);
        let parsed = parse_document(&name.replace(".txt", ".xlsx"), &bytes).unwrap();
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        assert_eq!(parsed.forms.len(), forms.len(), "{name}");
        let mut originals: Vec<Form> = forms.into_iter().map(|f| comparable(f, false)).collect();
        let mut backs: Vec<Form> = parsed
            .forms
            .into_iter()
            .map(|f| comparable(f, false))
            .collect();
        // Sheets regroup the forms; compare as sets.
        let key = |f: &Form| (f.kind.as_str().to_string(), f.project_name.clone());
        originals.sort_by_key(key);
        backs.sort_by_key(key);
        for (original, back) in originals.iter().zip(&backs) {
            assert_eq!(back, original, "{name}: {}", original.project_name);
        }
    }
}

#[test]
fn broken_documents_are_errors_not_panics() {
    for (name, bytes) in [
        ("x.docx", b"PK\x03\x04 not really a zip".to_vec()),
        ("x.xlsx", b"PK\x03\x04 not really a zip".to_vec()),
        ("x.xls", vec![0xD0, 0xCF, 0x11, 0xE0, 0, 1, 2]),
    ] {
        let e = parse_document(name, &bytes).unwrap_err();
        assert_eq!(e.file_name, name);
    }
}

//! The default catalogue over the two real submissions reports exactly the
//! hand-checked findings in expected-findings.tsv: no misses, no false alarms.

use jixiao_audit::{audit_form, builtin_catalogue};
use jixiao_scoring::{builtin_rulebooks, score_form, Rulebooks, DEFAULT_RULEBOOK_ID};

#[test]
fn sample_submissions_yield_exactly_the_hand_checked_findings() {
    let books = Rulebooks::new(builtin_rulebooks().unwrap(), DEFAULT_RULEBOOK_ID).unwrap();
    let catalogue = builtin_catalogue().unwrap();
    let mut actual = Vec::new();
    for name in ["yueyang-gxj-2023.txt", "zhuzhou-gxj-2024.txt"] {
        let path = format!(
            "{}/../jixiao-parse/tests/samples/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let bytes = std::fs::read(path).unwrap();
        for form in jixiao_parse::parse_text(name, &bytes).unwrap().forms {
            let card = score_form(&form, "", books.select("", form.fiscal_year).unwrap());
            for f in audit_form(&form, &card, &catalogue) {
                actual.push(format!(
                    "{name}:{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    form.origin.first_line,
                    f.rule_id,
                    f.location.path,
                    f.expected,
                    f.stated,
                    f.difference,
                    f.location.row
                ));
            }
        }
    }
    let expected: Vec<String> = include_str!("expected-findings.tsv")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(String::from)
        .collect();
    let missing: Vec<_> = expected.iter().filter(|e| !actual.contains(e)).collect();
    let extra: Vec<_> = actual.iter().filter(|a| !expected.contains(a)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing: {missing:#?}\nextra: {extra:#?}"
    );
    assert_eq!(actual.len(), expected.len());
}

fn sample(name: &str) -> Vec<jixiao_form::Form> {
    let path = format!(
        "{}/../jixiao-parse/tests/samples/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    jixiao_parse::parse_text(name, &std::fs::read(path).unwrap())
        .unwrap()
        .forms
}

fn department(name: &str) -> Vec<(String, String, String, String)> {
    let forms = sample(name);
    jixiao_audit::audit_department(&forms, &builtin_catalogue().unwrap())
        .into_iter()
        .map(|(i, f)| {
            (
                format!("{}", forms[i].origin.first_line),
                f.rule_id,
                f.expected,
                f.stated,
            )
        })
        .collect()
}

#[test]
fn cross_form_findings_of_the_samples() {
    // 岳阳: 15 project forms execute 754.73 of the 1119.71 the department reports;
    // one project alone reports 238.04 of 其他资金 against the department's 128.07.
    assert_eq!(
        department("yueyang-gxj-2023.txt"),
        [
            (
                "75".to_string(),
                "DEPT.PROJECT_SPENDING_MISMATCH".to_string(),
                "754.73".to_string(),
                "1119.71".to_string()
            ),
            (
                "75".to_string(),
                "DEPT.OTHER_FUNDS_BELOW_PROJECTS".to_string(),
                "≥ 238.04".to_string(),
                "128.07".to_string()
            ),
        ]
    );
    // 株洲: 19 forms add up to 773.97 as in the department form and the basic data table;
    // 三公经费 and 项目支出 subtotals add up in every column.
    assert_eq!(department("zhuzhou-gxj-2024.txt"), []);
}

#[test]
fn cross_form_near_misses_and_hits() {
    let catalogue = builtin_catalogue().unwrap();
    let mut forms = sample("zhuzhou-gxj-2024.txt");
    // A 三公 item changed: the subtotal no longer adds up in that column.
    let basic = forms
        .iter_mut()
        .find(|f| f.kind == jixiao_form::FormKind::DepartmentBasicData)
        .unwrap();
    let row = basic
        .basic_data
        .rows
        .iter_mut()
        .find(|r| r.label.starts_with("3、公务接待"))
        .unwrap();
    row.values[2] = "8.8".into();
    // The same project filed twice.
    let copy = forms
        .iter()
        .find(|f| f.project_name == "人才示范培训班专项")
        .unwrap()
        .clone();
    forms.push(copy);
    let found: Vec<String> = jixiao_audit::audit_department(&forms, &catalogue)
        .into_iter()
        .map(|(_, f)| format!("{} {}", f.rule_id, f.location.path))
        .collect();
    assert_eq!(
        found,
        [
            "DEPT.PROJECT_SPENDING_MISMATCH funds.rows[4].executed",
            "DEPT.DUPLICATE_PROJECT project_name",
            "DEPT.BASIC_DATA_PROJECTS_MISMATCH basic_data.rows[9].values[2]",
            "DEPT.BASIC_DATA_SUBTOTAL basic_data.rows[3].values[2]",
        ]
    );
}

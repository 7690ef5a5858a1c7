//! Every rule: a form that must fire it, and a near miss that must not.

use std::str::FromStr;

use jixiao_audit::{audit_form, builtin_catalogue, Finding};
use jixiao_form::{
    parse_measure, Diagnostic, Form, FormKind, FundBlock, FundRow, FundSource, Indicator,
    SectionWeight,
};
use jixiao_scoring::{builtin_rulebooks, score_form};
use rust_decimal::Decimal;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn opt(s: &str) -> Option<Decimal> {
    (!s.is_empty()).then(|| d(s))
}

fn fund(source: FundSource, initial: &str, full: &str, executed: &str) -> FundRow {
    FundRow {
        source,
        label: String::new(),
        initial_budget: opt(initial),
        full_year_budget: opt(full),
        executed: opt(executed),
    }
}

fn ind(
    level2: &str,
    target: &str,
    actual: &str,
    weight: &str,
    score: &str,
    reason: &str,
) -> Indicator {
    Indicator {
        level1: "产出指标".into(),
        level2: level2.into(),
        name: format!("{target}→{actual}"),
        target: parse_measure(target),
        actual: parse_measure(actual),
        weight: opt(weight),
        self_score: opt(score),
        deviation_reason: reason.into(),
    }
}

/// A clean project form: 100 budget fully spent, one met indicator worth 90.
fn clean() -> Form {
    Form {
        kind: FormKind::Project,
        project_name: "p".into(),
        fiscal_year: 2024,
        funds: FundBlock {
            rows: vec![
                fund(FundSource::CurrentAppropriation, "100", "100", "100"),
                fund(FundSource::Total, "100", "100", "100"),
            ],
            weight: Some(d("10")),
            stated_execution_rate: "100%".into(),
            stated_score: Some(d("10")),
        },
        indicators: vec![ind("数量指标", "≥4个", "4个", "90", "90", "")],
        section_weights: vec![SectionWeight {
            level1: "产出指标".into(),
            weight: d("90"),
        }],
        stated_total: Some(d("100")),
        ..Form::default()
    }
}

fn findings(f: &Form) -> Vec<Finding> {
    let rb = &builtin_rulebooks().unwrap()[0];
    audit_form(f, &score_form(f, "", rb), &builtin_catalogue().unwrap())
}

fn ids(f: &Form) -> Vec<String> {
    findings(f).into_iter().map(|x| x.rule_id).collect()
}

fn fires(f: &Form, rule: &str) -> bool {
    ids(f).iter().any(|r| r == rule)
}

#[test]
fn the_clean_form_has_no_findings() {
    assert_eq!(ids(&clean()), Vec::<String>::new());
}

#[test]
fn executed_over_budget() {
    let mut f = clean();
    f.funds.rows[0] = fund(FundSource::CurrentAppropriation, "100", "100", "100.01");
    let x = findings(&f)
        .into_iter()
        .find(|x| x.rule_id == "FUNDS.EXECUTED_OVER_BUDGET")
        .unwrap();
    assert_eq!(
        (
            x.location.path.as_str(),
            x.expected.as_str(),
            x.stated.as_str(),
            x.difference.as_str()
        ),
        ("funds.rows[0].executed", "≤ 100", "100.01", "0.01")
    );
    assert!(
        !fires(&clean(), "FUNDS.EXECUTED_OVER_BUDGET"),
        "exactly at budget is not over it"
    );
}

#[test]
fn source_rows_must_add_up_at_the_totals_precision() {
    let mut f = clean();
    f.funds.rows[0] = fund(FundSource::CurrentAppropriation, "", "100", "100");
    assert!(
        fires(&f, "FUNDS.SOURCES_DO_NOT_ADD_UP"),
        "年初 155 with no source (岳阳)"
    );
    // 2917.75 + 4.94 = 2922.69 against a total written 2922.7 (株洲 department form): rounding.
    let mut g = clean();
    g.kind = FormKind::Department;
    g.funds.rows = vec![
        fund(FundSource::Total, "2551.6", "2922.7", "2922.7"),
        FundRow {
            source: FundSource::Revenue,
            full_year_budget: opt("2917.75"),
            ..FundRow::default()
        },
        FundRow {
            source: FundSource::Revenue,
            full_year_budget: opt("4.94"),
            ..FundRow::default()
        },
        FundRow {
            source: FundSource::BasicExpenditure,
            executed: opt("2148.72"),
            ..FundRow::default()
        },
        FundRow {
            source: FundSource::ProjectExpenditure,
            executed: opt("773.97"),
            ..FundRow::default()
        },
    ];
    assert!(
        !fires(&g, "FUNDS.SOURCES_DO_NOT_ADD_UP"),
        "{:?}",
        findings(&g)
    );
    g.funds.rows[2].full_year_budget = opt("128.07");
    g.funds.rows[1].full_year_budget = opt("2794.62");
    assert!(!fires(&g, "FUNDS.SOURCES_DO_NOT_ADD_UP"));
    g.funds.rows[2].full_year_budget = opt("118.07");
    assert!(
        fires(&g, "FUNDS.SOURCES_DO_NOT_ADD_UP"),
        "revenue lines short by 10"
    );
}

#[test]
fn execution_rate_and_score() {
    // 41.14 / 80 = 51.425 %: written 51.42 % or 51.43 % is fine; 10 × 0.51425 = 5.14.
    let mut f = clean();
    f.funds.rows = vec![fund(FundSource::Total, "0", "80", "41.14")];
    f.funds.stated_execution_rate = "51.42%".into();
    f.funds.stated_score = Some(d("5.14"));
    f.stated_total = Some(d("95.14"));
    assert!(
        !fires(&f, "FUNDS.EXECUTION_RATE_MISMATCH") && !fires(&f, "FUNDS.EXECUTION_SCORE_MISMATCH")
    );
    f.funds.stated_execution_rate = "52%".into();
    assert!(
        fires(&f, "FUNDS.EXECUTION_RATE_MISMATCH"),
        "52 % is not 51.425 % at whole percents"
    );
    f.funds.stated_execution_rate = "51.42%".into();
    f.funds.stated_score = Some(d("10"));
    f.stated_total = Some(d("100"));
    let x = findings(&f)
        .into_iter()
        .find(|x| x.rule_id == "FUNDS.EXECUTION_SCORE_MISMATCH")
        .unwrap();
    assert_eq!((x.expected.as_str(), x.stated.as_str()), ("5.14", "10"));
}

#[test]
fn budget_cut_to_execution_by_size() {
    let mut f = clean();
    f.funds.rows = vec![fund(FundSource::Total, "155", "26.89", "26.89")];
    let x = findings(&f)
        .into_iter()
        .find(|x| x.rule_id == "BUDGET.CUT_TO_EXECUTION")
        .unwrap();
    assert_eq!(x.difference, "-128.11 (-82.65%)");
    f.funds.rows = vec![fund(FundSource::Total, "433.32", "418.85", "418.85")];
    assert_eq!(
        ids(&f),
        ["BUDGET.CUT_TO_EXECUTION_MINOR"],
        "a 3.34 % cut is info only"
    );
    // Budget cut but not spent down to it: no finding.
    f.funds.rows = vec![fund(FundSource::Total, "155", "30", "26.89")];
    f.funds.stated_execution_rate = "89.63%".into();
    f.funds.stated_score = Some(d("8.96"));
    f.stated_total = Some(d("98.96"));
    assert!(
        !fires(&f, "BUDGET.CUT_TO_EXECUTION") && !fires(&f, "BUDGET.CUT_TO_EXECUTION_MINOR"),
        "{:?}",
        ids(&f)
    );
}

#[test]
fn initial_budget_zero_is_info() {
    let mut f = clean();
    f.funds.rows = vec![fund(FundSource::Total, "0", "13.16", "13.16")];
    assert_eq!(ids(&f), ["FUNDS.INITIAL_BUDGET_ZERO"]);
    f.funds.rows = vec![fund(FundSource::Total, "0", "0", "0")];
    assert!(!fires(&f, "FUNDS.INITIAL_BUDGET_ZERO"));
}

#[test]
fn score_written_as_percent_comes_from_the_parser() {
    let mut f = clean();
    f.diagnostics.push(Diagnostic {
        line: 253,
        path: "funds.stated_score".into(),
        code: "score_as_percent".into(),
        raw: "100%".into(),
        ..Diagnostic::default()
    });
    assert_eq!(ids(&f), ["FUNDS.SCORE_AS_PERCENT"]);
    f.diagnostics[0].code = "unit_from_document".into();
    assert!(ids(&f).is_empty());
}

#[test]
fn weights_and_sections() {
    let mut f = clean();
    f.indicators[0].weight = Some(d("80"));
    f.indicators[0].self_score = Some(d("80"));
    f.stated_total = Some(d("90"));
    let got = ids(&f);
    assert!(
        got.contains(&"WEIGHTS.SUM_NOT_100".to_string())
            && got.contains(&"WEIGHTS.SECTION_MISMATCH".to_string()),
        "{got:?}"
    );
    // Σ 90 + 10: no finding, whatever the section labels say elsewhere.
    assert!(!fires(&clean(), "WEIGHTS.SUM_NOT_100"));
}

#[test]
fn not_applicable_rows_with_weight_and_zeroed_indicators() {
    let mut f = clean();
    f.indicators[0].weight = Some(d("85"));
    f.indicators[0].self_score = Some(d("85"));
    f.indicators
        .push(ind("社会效益指标", "不适用", "不适用", "5", "5", ""));
    f.section_weights.clear();
    assert!(fires(&f, "WEIGHTS.NOT_APPLICABLE_WITH_WEIGHT"));
    f.indicators[1] = ind("社会效益指标", "不适用", "不适用", "0", "0", "");
    f.indicators[0].weight = Some(d("90"));
    f.indicators[0].self_score = Some(d("90"));
    assert!(
        !fires(&f, "WEIGHTS.NOT_APPLICABLE_WITH_WEIGHT"),
        "不适用 with 0 / 0 is right"
    );
    assert!(
        !fires(&f, "WEIGHTS.ZEROED_INDICATOR"),
        "a not-applicable row is not zeroed"
    );
    f.indicators[1] = ind("数量指标", "3", "未开展", "0", "0", "");
    assert!(fires(&f, "WEIGHTS.ZEROED_INDICATOR"));
}

#[test]
fn scores_over_weight_blank_and_total() {
    let mut f = clean();
    f.indicators[0].self_score = Some(d("91"));
    let got = ids(&f);
    assert!(
        got.contains(&"SCORES.SCORE_OVER_WEIGHT".to_string())
            && got.contains(&"SCORES.TOTAL_MISMATCH".to_string()),
        "{got:?}"
    );
    let mut g = clean();
    g.indicators[0].self_score = None;
    let got = ids(&g);
    assert!(
        got.contains(&"SCORES.BLANK_SCORE".to_string())
            && got.contains(&"SCORES.TOTAL_MISMATCH".to_string()),
        "{got:?}"
    );
    // A total written to fewer places that rounds right is no mismatch.
    let mut h = clean();
    h.indicators[0].weight = Some(d("89.6"));
    h.indicators[0].self_score = Some(d("89.6"));
    h.funds.weight = Some(d("10.4"));
    assert!(!fires(&h, "SCORES.TOTAL_MISMATCH"), "{:?}", ids(&h));
}

#[test]
fn missed_targets_inflation_and_scores_below_the_rules() {
    let mut f = clean();
    f.indicators[0] = ind(
        "数量指标",
        "≥3场次",
        "1场",
        "90",
        "90",
        "活动周期到2025年底",
    );
    f.stated_total = Some(d("100"));
    let x = findings(&f)
        .into_iter()
        .find(|x| x.rule_id == "SCORES.MISSED_TARGET_FULL_MARKS")
        .unwrap();
    assert_eq!((x.expected.as_str(), x.stated.as_str()), ("30.00", "90"));
    assert!(
        !fires(&f, "SCORES.INFLATED"),
        "full marks on a miss is reported once, as the stronger finding"
    );
    f.indicators[0].self_score = Some(d("40"));
    f.stated_total = Some(d("50"));
    assert!(fires(&f, "SCORES.INFLATED") && !fires(&f, "SCORES.MISSED_TARGET_FULL_MARKS"));
    f.indicators[0].self_score = Some(d("30"));
    f.stated_total = Some(d("40"));
    assert!(
        !fires(&f, "SCORES.INFLATED") && !fires(&f, "SCORES.BELOW_RULES"),
        "{:?}",
        ids(&f)
    );
    f.indicators[0].self_score = Some(d("20"));
    f.stated_total = Some(d("30"));
    assert!(fires(&f, "SCORES.BELOW_RULES"));
}

#[test]
fn missing_explanation_only_when_points_are_lost() {
    let mut f = clean();
    f.indicators[0] = ind("数量指标", "≥4个", "3个", "90", "67.5", "");
    f.stated_total = Some(d("77.5"));
    assert!(fires(&f, "EXPLAIN.MISSING_DEVIATION_REASON"));
    f.indicators[0].deviation_reason = "场地改造，少开放一间".into();
    assert!(!fires(&f, "EXPLAIN.MISSING_DEVIATION_REASON"));
}

#[test]
fn actual_values_comparator_text_and_units() {
    let mut f = clean();
    f.indicators[0] = ind("数量指标", "≥90%", "≥90%", "90", "90", "");
    assert!(fires(&f, "VALUES.ACTUAL_IS_COMPARATOR"));
    f.indicators[0] = ind("数量指标", "≥100人", "大于100人", "90", "90", "");
    assert!(fires(&f, "VALUES.TEXT_FOR_NUMBER"));
    f.indicators[0] = ind("数量指标", "≥85", "90%", "90", "90", "");
    assert!(fires(&f, "VALUES.UNIT_MISMATCH"));
    f.indicators[0] = ind("数量指标", "≥4个", "4", "90", "90", "");
    assert_eq!(ids(&f), ["VALUES.ACTUAL_UNIT_MISSING"]);
    // Near misses: same unit by another name, "more than" prefixes, text for a text target.
    for (t, a) in [
        ("≥3场次", "3场"),
        ("≥20篇", "30余篇"),
        ("明显", "明显"),
        ("≥0.3万元", "3500元"),
    ] {
        f.indicators[0] = ind("数量指标", t, a, "90", "90", "");
        assert!(ids(&f).is_empty(), "{t} / {a}: {:?}", ids(&f));
    }
}

#[test]
fn cost_indicators_against_the_fund_block() {
    let mut f = clean();
    f.indicators[0] = ind("成本指标", "≤120万元", "100万元", "90", "90", "");
    assert_eq!(ids(&f), ["VALUES.COST_TARGET_ABOVE_BUDGET"]);
    f.indicators[0] = ind("成本指标", "100万元", "120万元", "90", "90", "");
    assert!(fires(&f, "VALUES.COST_ACTUAL_ABOVE_EXECUTED"));
    f.indicators[0] = ind("成本指标", "≤100万元", "100万元", "90", "90", "");
    assert!(ids(&f).is_empty(), "{:?}", ids(&f));
}

#[test]
fn narrative_figures_against_the_table() {
    let mut f = clean();
    f.funds.rows = vec![fund(FundSource::Total, "433.32", "418.85", "418.85")];
    f.narrative =
        "2024年预算收入418.85万元，其中年初预算433.32万元，实际支出418.85万元，预算执行率100%。"
            .into();
    assert!(!fires(&f, "NARRATIVE.FUNDS_MISMATCH"), "{:?}", ids(&f));
    f.narrative = "2024年预算收入418.85万元，其中年初预算4333.2万元，实际支出418.85万元。".into();
    let x = findings(&f)
        .into_iter()
        .find(|x| x.rule_id == "NARRATIVE.FUNDS_MISMATCH")
        .unwrap();
    assert_eq!(
        (x.expected.as_str(), x.stated.as_str()),
        ("433.32", "4333.2万元")
    );
    // 124.51 / 139.98 = 88.948 %: "88.94%" in the text is the table's rate truncated.
    f.funds.rows = vec![fund(FundSource::Total, "126", "139.98", "124.51")];
    f.funds.stated_execution_rate = "88.94%".into();
    f.narrative = "2023年支付124.51万元，预算执行率88.94%。".into();
    assert!(!fires(&f, "NARRATIVE.FUNDS_MISMATCH"), "{:?}", ids(&f));
    f.narrative = "2023年支付124.51万元，预算执行率98.94%。".into();
    assert!(fires(&f, "NARRATIVE.FUNDS_MISMATCH"));
}

#[test]
fn amounts_a_power_of_ten_apart() {
    let mut f = clean();
    f.indicators[0] = ind("数量指标", "1000万元", "1400万元", "90", "90", "");
    f.goals = vec![jixiao_form::Goal {
        expected: "争取资金1000万元".into(),
        actual: "争取到位资金14000万元".into(),
    }];
    assert!(fires(&f, "NARRATIVE.MAGNITUDE_SLIP"));
    f.goals[0].actual = "争取到位资金1400万元".into();
    assert!(!fires(&f, "NARRATIVE.MAGNITUDE_SLIP"));
    // 27560元 is 2.756万元, not a slip of 2.7万元.
    f.indicators[0] = ind("数量指标", "≥2万元", "2.7万元", "90", "90", "");
    f.goals[0].actual = "征收频占费27560元".into();
    assert!(!fires(&f, "NARRATIVE.MAGNITUDE_SLIP"));
}

//! One test per configurable point of a rulebook, and worked examples from the
//! samples whose expected values were computed by hand.

mod common;

use common::{book, d, form, row, variant};
use jixiao_scoring::{score_form, LineStatus};

fn line_score(
    rb: &jixiao_scoring::Rulebook,
    ind: jixiao_form::Indicator,
) -> (Option<rust_decimal::Decimal>, LineStatus, String) {
    let card = score_form(&form(("100", "100", "100"), vec![ind]), "", rb);
    let l = &card.lines[1];
    (l.recomputed_score, l.status, l.explanation.clone())
}

// ---- execution rate ----

#[test]
fn execution_weight_denominator_and_cap() {
    // 岳阳 2023 无线电管理经费: 124.51 / 139.98 = 88.948 % → 10 × 0.88948 = 8.89.
    let national = book("cn-national-default");
    let card = score_form(&form(("126", "139.98", "124.51"), vec![]), "", &national);
    assert_eq!(card.lines[0].recomputed_score, Some(d("8.89")));
    assert_eq!(
        card.lines[0].explanation,
        "全年执行数 124.51 / 全年预算数 139.98 = 88.95%; 10 × min(88.95%, 100%) = 8.89"
    );
    // Weight 20 against 年初预算数: 124.51 / 126 = 98.817 % → 20 × 0.98817 = 19.76.
    let hn = book("example-province-2023");
    let card = score_form(&form(("126", "139.98", "124.51"), vec![]), "", &hn);
    assert_eq!(card.lines[0].recomputed_score, Some(d("19.76")));
    // 年初预算数 0 (岳阳 非税征收成本及收入): the rate cannot be computed on it.
    let card = score_form(&form(("0", "13.16", "13.16"), vec![]), "", &hn);
    assert_eq!(card.lines[0].status, LineStatus::Unverifiable);
    // Capped at full marks by default; uncapped in the variant that says so.
    let over = form(("100", "100", "120"), vec![]);
    assert_eq!(
        score_form(&over, "", &national).lines[0].recomputed_score,
        Some(d("10.00"))
    );
    let uncapped = book("explain-overachievement");
    assert_eq!(
        score_form(&over, "", &uncapped).lines[0].recomputed_score,
        Some(d("12.00"))
    );
}

// ---- ≥ rows ----

#[test]
fn at_least_met_and_missed() {
    let rb = book("cn-national-default");
    assert_eq!(
        line_score(&rb, row("≥4个", "4", "10", "10")).0,
        Some(d("10.00"))
    );
    // 岳阳 无线电: "≥1 次" done 0 times → 0 / 1 × 2 = 0.
    let (s, st, why) = line_score(&rb, row("≥1  次", "0", "2", "1"));
    assert_eq!(
        (s, st, why.as_str()),
        (Some(d("0.00")), LineStatus::Scored, "0次 / 1次 × 2 = 0.00")
    );
    // "≥90%" with 87.72 % → 87.72 / 90 × 8 = 7.80.
    assert_eq!(
        line_score(&rb, row("≥90%", "87.72%", "8", "6")).0,
        Some(d("7.80"))
    );
    // ">" needs strictly more.
    assert_eq!(
        line_score(&rb, row(">5家", "5家", "10", "10")).0,
        Some(d("10.00"))
    );
}

#[test]
fn over_achievement_none_penalty_and_explanation() {
    let none = book("cn-national-default");
    assert_eq!(
        line_score(&none, row("≥10家", "30家", "10", "10")).0,
        Some(d("10.00"))
    );
    // Penalty: 1 point off at ≥ 150 % of the target.
    let penalty = book("example-province-2023");
    assert_eq!(
        line_score(&penalty, row("≥10家", "15家", "10", "10")).0,
        Some(d("9.00"))
    );
    assert_eq!(
        line_score(&penalty, row("≥10家", "14家", "10", "10")).0,
        Some(d("10.00"))
    );
    // Explanation required at ≥ 120 %: full marks, flagged when the reason is empty.
    let explain = book("explain-overachievement");
    let card = score_form(
        &form(("1", "1", "1"), vec![row("≥10家", "13家", "10", "10")]),
        "",
        &explain,
    );
    assert!(card.lines[1].needs_explanation);
    assert_eq!(card.lines[1].recomputed_score, Some(d("10.00")));
    let mut explained = row("≥10家", "13家", "10", "10");
    explained.deviation_reason = "企业申报踊跃".into();
    let card = score_form(&form(("1", "1", "1"), vec![explained]), "", &explain);
    assert!(!card.lines[1].needs_explanation);
}

// ---- ≤ rows ----

#[test]
fn at_most_linear_and_inverse() {
    let linear = book("cn-national-default");
    assert_eq!(
        line_score(&linear, row("≤10天", "8天", "10", "10")).0,
        Some(d("10.00"))
    );
    // 12 days against ≤ 10: 10 × (20 − 12) / 10 = 8.
    let (s, _, why) = line_score(&linear, row("≤10天", "12天", "10", "10"));
    assert_eq!(
        (s, why.as_str()),
        (Some(d("8.00")), "10 × (2 × 10天 − 12天) / 10天 = 8.00")
    );
    // Twice the target or more: 0, never negative.
    assert_eq!(
        line_score(&linear, row("≤10天", "25天", "10", "10")).0,
        Some(d("0.00"))
    );
    // Inverse: 10 / 12 × 10 = 8.33.
    let inverse = book("example-province-2023");
    assert_eq!(
        line_score(&inverse, row("≤10天", "12天", "10", "10")).0,
        Some(d("8.33"))
    );
    // "<": equal to the target is a miss.
    assert_eq!(
        line_score(&linear, row("<15%", "15%", "7", "7")).0,
        Some(d("7.00"))
    );
    assert_eq!(
        line_score(&linear, row("<15%", "0.4%", "7", "7")).0,
        Some(d("7.00"))
    );
}

// ---- = and 约 rows ----

#[test]
fn equal_and_about_with_tolerance() {
    let national = book("cn-national-default");
    assert_eq!(
        line_score(&national, row("=12月", "12个月", "10", "10")).0,
        Some(d("10.00"))
    );
    // 11 of 12 months, no tolerance: 11 / 12 × 10 = 9.17.
    assert_eq!(
        line_score(&national, row("=12月", "11个月", "10", "10")).0,
        Some(d("9.17"))
    );
    // 约 100 with 10 % tolerance: 92 is met, 85 is 85 / 100 × 10 = 8.5.
    assert_eq!(
        line_score(&national, row("约100人次", "92人次", "10", "10")).0,
        Some(d("10.00"))
    );
    assert_eq!(
        line_score(&national, row("约100人次", "85人次", "10", "10")).0,
        Some(d("8.50"))
    );
    // The 5 % tolerance of the provincial book accepts 11.5 of 12.
    let hn = book("example-province-2023");
    assert_eq!(
        line_score(&hn, row("=12月", "11.5月", "10", "10")).0,
        Some(d("10.00"))
    );
    // A bare number is "=": 岳阳 "2场" done "2场".
    assert_eq!(
        line_score(&national, row("2场", "2场", "5", "5")).0,
        Some(d("5.00"))
    );
}

// ---- deadlines ----

#[test]
fn deadlines_met_or_missed() {
    let national = book("cn-national-default");
    assert_eq!(
        line_score(&national, row("2023年12月31日", "2023年12月31日", "5", "5")).0,
        Some(d("5.00"))
    );
    assert_eq!(
        line_score(&national, row("2024年5月30日前", "2024年5月20日", "5", "5")).0,
        Some(d("5.00"))
    );
    let (s, _, why) = line_score(&national, row("2024年5月30日前", "2024年6月10日", "5", "5"));
    assert_eq!(s, Some(d("0.00")));
    assert!(why.contains("after the deadline 2024-05-30"), "{why}");
    // Half the weight kept for a missed deadline in the provincial book.
    let hn = book("example-province-2023");
    assert_eq!(
        line_score(&hn, row("2024年5月30日前", "2024年6月10日", "5", "5")).0,
        Some(d("2.50"))
    );
    assert_eq!(
        line_score(&national, row("2024年12月前", "按时完成", "5", "5")).0,
        Some(d("5.00"))
    );
    assert_eq!(
        line_score(&national, row("2024年12月前", "全年", "5", "5")).1,
        LineStatus::Unverifiable
    );
}

// ---- qualitative rows ----

#[test]
fn qualitative_bands_keep_or_clamp_the_self_score() {
    let national = book("cn-national-default");
    // 株洲 "明显" / "明显", 5 of 5: inside 达成 [4, 5].
    let (s, st, why) = line_score(&national, row("明显", "明显", "5", "5"));
    assert_eq!((s, st), (Some(d("5")), LineStatus::Scored));
    assert!(why.contains("达成"), "{why}");
    // 部分达成 is 60–80 %: a full self score is clamped to 4.
    assert_eq!(
        line_score(&national, row("全面完成", "基本完成", "5", "5")).0,
        Some(d("4.00"))
    );
    // 未达成 is below 60 %: 4 of 5 clamped to 3.
    assert_eq!(
        line_score(&national, row("全面完成", "未完成", "5", "4")).0,
        Some(d("3.00"))
    );
    // The provincial book's partial band starts at 50 %: 2.5 of 5 is kept there, raised to 3 nationally.
    let hn = book("example-province-2023");
    assert_eq!(
        line_score(&hn, row("全面完成", "部分完成", "5", "2.5")).0,
        Some(d("2.5"))
    );
    assert_eq!(
        line_score(&national, row("全面完成", "部分完成", "5", "2.5")).0,
        Some(d("3.00"))
    );
    // Words the book does not know: unverifiable, self score kept.
    assert_eq!(
        line_score(&national, row("争先创优", "荣获先进单位", "6", "6")).1,
        LineStatus::Unverifiable
    );
}

// ---- not applicable, unverifiable ----

#[test]
fn not_applicable_rows_are_excluded_or_rescaled() {
    let rows = || vec![row("≥4个", "4", "45", "45"), row("/", "/", "45", "")];
    // Excluded: 10 + 45 = 55.
    let card = score_form(
        &form(("1", "1", "1"), rows()),
        "",
        &book("cn-national-default"),
    );
    assert_eq!(card.lines[2].status, LineStatus::NotApplicable);
    assert_eq!(card.recomputed_total, Some(d("55.00")));
    // Rescaled: (10 + 45) × 100 / (100 − 45) = 100.
    let rescale = variant("weight = \"exclude\"", "weight = \"rescale\"");
    let card = score_form(&form(("1", "1", "1"), rows()), "", &rescale);
    assert_eq!(card.recomputed_total, Some(d("100.00")));
    assert!(
        card.total_explanation.contains("rescaled"),
        "{}",
        card.total_explanation
    );
}

#[test]
fn text_that_cannot_be_compared_keeps_the_self_score() {
    let rb = book("cn-national-default");
    // 株洲: "≥360天" done "全年".
    let (s, st, why) = line_score(&rb, row("≥360天", "全年", "20", "20"));
    assert_eq!((s, st), (Some(d("20")), LineStatus::Unverifiable));
    assert!(why.contains("全年"), "{why}");
    // Units that do not compare.
    assert_eq!(
        line_score(&rb, row("≥5场", "5人次", "6", "6")).1,
        LineStatus::Unverifiable
    );
    // Units that do: 3500元 against ≥ 0.3万元.
    assert_eq!(
        line_score(&rb, row("≥0.3万元", "3500元", "6", "6")).0,
        Some(d("6.00"))
    );
}

// ---- the total ----

#[test]
fn total_caps_by_execution_rate_and_grade_thresholds() {
    let hn = book("example-province-2023");
    // Rate 75 % of 年初预算数 → below 80: at most 89.
    let rows = vec![row("≥1个", "1个", "80", "80")];
    let card = score_form(&form(("100", "100", "75"), rows.clone()), "", &hn);
    assert_eq!(card.lines[0].recomputed_score, Some(d("15.00")));
    assert_eq!(card.recomputed_total, Some(d("89.00")));
    assert!(
        card.total_explanation.contains("capped at 89"),
        "{}",
        card.total_explanation
    );
    // 65 % → below 70: at most 79 (the strictest cap that applies).
    let card = score_form(&form(("100", "100", "65"), rows.clone()), "", &hn);
    assert_eq!(card.recomputed_total, Some(d("79.00")));
    // Grades: 89 is 优 in the provincial book (≥ 80), 良 nationally (80–90).
    assert_eq!(
        score_form(&form(("100", "100", "75"), rows), "", &hn).grade,
        "优"
    );
    let national = book("cn-national-default");
    let card = score_form(
        &form(("100", "100", "100"), vec![row("≥1个", "1个", "79", "79")]),
        "",
        &national,
    );
    assert_eq!(
        (card.recomputed_total, card.grade.as_str()),
        (Some(d("89.00")), "良")
    );
    // Without caps the total is the sum.
    let v = variant(
        "caps = []",
        "caps = [{ rate_below = \"80\", max_total = \"89\" }]",
    );
    let card = score_form(
        &form(("100", "100", "100"), vec![row("≥1个", "1个", "90", "90")]),
        "",
        &v,
    );
    assert_eq!(card.recomputed_total, Some(d("100.00")));
}

#[test]
fn provenance_is_on_every_card() {
    let rb = book("cn-national-default");
    let card = score_form(&form(("1", "1", "1"), vec![]), "abc", &rb);
    assert_eq!(card.input_digest, "abc");
    assert_eq!(
        (card.rulebook_id.as_str(), card.rulebook_version.as_str()),
        ("cn-national-default", "2020.1")
    );
    assert_eq!(card.rulebook_digest, rb.digest);
    assert!(card.engine_version.starts_with("jixiao-scoring/"));
}

#[test]
fn bare_number_targets_read_as_the_rulebook_says() {
    let national = book("cn-national-default");
    // 岳阳 department form: "110家" new enterprises, 290 achieved: a floor, met.
    let (s, _, why) = line_score(&national, row("110家", "290家", "6", "6"));
    assert_eq!(s, Some(d("6.00")));
    assert!(why.contains("290家 ≥ 110家"), "{why}");
    // Under 成本 indicators a bare number is a ceiling: 30 against 26.89 → 10 × (53.78 − 30) / 26.89 = 8.84.
    let mut cost = row("26.89万元", "30万元", "10", "10");
    cost.level2 = "成本指标".into();
    let card = score_form(&form(("1", "1", "1"), vec![cost.clone()]), "", &national);
    assert_eq!(card.lines[1].recomputed_score, Some(d("8.84")));
    // The fictional province reads cost targets as "=": 26.89 / 30 × 10 = 8.96.
    let province = book("example-province-2023");
    let card = score_form(&form(("1", "1", "1"), vec![cost]), "", &province);
    assert_eq!(card.lines[1].recomputed_score, Some(d("8.96")));
    // 场 and 场次 count the same thing: 1 of ≥ 3 → 1 / 3 × 20 = 6.67 (株洲 中小企业服务体系).
    assert_eq!(
        line_score(&national, row("≥3场次", "1场", "20", "20")).0,
        Some(d("6.67"))
    );
}

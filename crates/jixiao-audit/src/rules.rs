use jixiao_form::{parse_percent, Form, FundSource, Indicator};
use jixiao_scoring::{LineStatus, ScoreCard};
use rust_decimal::Decimal;

use crate::catalogue::{Catalogue, RuleKind, RuleSpec};
use crate::finding::{Finding, Location};

/// Runs every enabled rule of `catalogue` over one form and its scorecard.
pub fn audit_form(form: &Form, card: &ScoreCard, catalogue: &Catalogue) -> Vec<Finding> {
    let mut out = Vec::new();
    for rule in catalogue.rules.iter().filter(|r| r.enabled) {
        let mut emit = |location: Location, nums: Numbers, zh: String, en: String| {
            out.push(Finding {
                rule_id: rule.id.clone(),
                rule_version: rule.version.clone(),
                severity: rule.severity,
                location,
                expected: nums.expected,
                stated: nums.stated,
                difference: nums.difference,
                message_zh: zh,
                message_en: en,
            })
        };
        match rule.kind {
            RuleKind::ExecutedOverBudget => executed_over_budget(form, &mut emit),
            RuleKind::ExecutionRateMismatch => execution_rate_mismatch(form, &mut emit),
            RuleKind::ScoreOverWeight => score_over_weight(form, &mut emit),
            RuleKind::TotalMismatch => total_mismatch(form, &mut emit),
            RuleKind::ScoreInflation => score_inflation(form, card, rule, &mut emit),
        }
    }
    out
}

struct Numbers {
    expected: String,
    stated: String,
    difference: String,
}

fn numbers(expected: impl ToString, stated: Decimal, difference: Decimal) -> Numbers {
    Numbers {
        expected: expected.to_string(),
        stated: stated.to_string(),
        difference: difference.to_string(),
    }
}

type Emit<'a> = dyn FnMut(Location, Numbers, String, String) + 'a;

fn loc(section: &str, row: &str, column: &str, path: String) -> Location {
    Location {
        section: section.into(),
        row: row.into(),
        column: column.into(),
        path,
    }
}

fn row_label(label: &str, source: FundSource) -> String {
    if !label.trim().is_empty() {
        return label.trim().to_string();
    }
    match source {
        FundSource::Total => "年度资金总额",
        FundSource::CurrentAppropriation => "当年财政拨款",
        FundSource::PriorYearCarryover => "上年结转资金",
        FundSource::Other => "其他资金",
        FundSource::BasicExpenditure => "基本支出",
        FundSource::ProjectExpenditure => "项目支出",
        FundSource::Revenue | FundSource::Unspecified => "",
    }
    .to_string()
}

fn executed_over_budget(form: &Form, emit: &mut Emit) {
    for (i, row) in form.funds.rows.iter().enumerate() {
        let (Some(budget), Some(executed)) = (row.full_year_budget, row.executed) else {
            continue;
        };
        if executed > budget {
            let label = row_label(&row.label, row.source);
            emit(
                loc("funds", &label, "全年执行数", format!("funds.rows[{i}].executed")),
                numbers(format!("≤ {budget}"), executed, executed - budget),
                format!("{label}：全年执行数 {executed} 万元超过全年预算数 {budget} 万元，超出 {} 万元。", executed - budget),
                format!("{label}: executed {executed} exceeds the full-year budget {budget} by {}.", executed - budget),
            );
        }
    }
}

/// Half a unit in the last place the stated number was written with: a total
/// of 95.1 stands for anything in [95.05, 95.15].
fn half_unit(stated: Decimal) -> Decimal {
    Decimal::new(5, stated.scale() + 1)
}

/// One unit in the last place: a rate may be rounded or truncated to the
/// places it is written with (88.948 % written 88.95 % or 88.94 %).
fn unit_in_last_place(stated: Decimal) -> Decimal {
    Decimal::new(1, stated.scale())
}

fn execution_rate_mismatch(form: &Form, emit: &mut Emit) {
    let written = form.funds.stated_execution_rate.trim();
    let Ok(stated) = parse_percent(written) else {
        return;
    };
    let Some(total) = form.funds.total() else {
        return;
    };
    let (Some(budget), Some(executed)) = (total.full_year_budget, total.executed) else {
        return;
    };
    if budget.is_zero() {
        return;
    }
    let actual = executed / budget * Decimal::ONE_HUNDRED;
    if (stated - actual).abs() >= unit_in_last_place(stated) {
        let shown = jixiao_form::round2(actual);
        emit(
            loc("funds", "年度资金总额", "执行率", "funds.stated_execution_rate".into()),
            numbers(format!("{shown}%"), stated, jixiao_form::round2(stated - actual)),
            format!("执行率填报为 {written}，按全年执行数 {executed} ÷ 全年预算数 {budget} 计算应为 {shown}%。"),
            format!("Stated execution rate {written}; executed {executed} / full-year budget {budget} = {shown}%."),
        );
    }
}

fn score_over_weight(form: &Form, emit: &mut Emit) {
    if let (Some(w), Some(s)) = (form.funds.weight, form.funds.stated_score) {
        if s > w {
            emit(
                loc("funds", "预算执行率", "得分", "funds.stated_score".into()),
                numbers(format!("≤ {w}"), s, s - w),
                format!("预算执行率得分 {s} 超过分值 {w}。"),
                format!("Budget-execution score {s} exceeds its weight {w}."),
            );
        }
    }
    for (i, ind) in form.indicators.iter().enumerate() {
        if let (Some(w), Some(s)) = (ind.weight, ind.self_score) {
            if s > w {
                emit(
                    indicator_loc(i, ind, "得分", "self_score"),
                    numbers(format!("≤ {w}"), s, s - w),
                    format!("指标“{}”得分 {s} 超过分值 {w}。", ind.name),
                    format!(
                        "Indicator \"{}\": score {s} exceeds its weight {w}.",
                        ind.name
                    ),
                );
            }
        }
    }
}

fn indicator_loc(i: usize, ind: &Indicator, column: &str, field: &str) -> Location {
    loc(
        "indicators",
        &ind.name,
        column,
        format!("indicators[{i}].{field}"),
    )
}

fn total_mismatch(form: &Form, emit: &mut Emit) {
    let Some(stated) = form.stated_total else {
        return;
    };
    let scores = std::iter::once(form.funds.stated_score)
        .chain(form.indicators.iter().map(|i| i.self_score));
    let sum: Decimal = scores.flatten().sum();
    if (sum - stated).abs() > half_unit(stated) {
        emit(
            loc("total", "总分", "得分", "stated_total".into()),
            numbers(sum, stated, stated - sum),
            format!("总分填报为 {stated}，各项得分（含预算执行率）合计为 {sum}。"),
            format!("Stated total {stated}; the line scores (budget execution included) add up to {sum}."),
        );
    }
}

fn score_inflation(form: &Form, card: &ScoreCard, rule: &RuleSpec, emit: &mut Emit) {
    let tolerance = rule.tolerance.unwrap_or_default();
    for line in card.lines.iter().filter(|l| l.status == LineStatus::Scored) {
        let (Some(stated), Some(recomputed)) = (line.stated_score, line.recomputed_score) else {
            continue;
        };
        if stated - recomputed <= tolerance {
            continue;
        }
        let location = match line
            .path
            .strip_prefix("indicators[")
            .and_then(|r| r.strip_suffix(']'))
        {
            Some(i) => match i
                .parse::<usize>()
                .ok()
                .and_then(|i| form.indicators.get(i).map(|ind| (i, ind)))
            {
                Some((i, ind)) => indicator_loc(i, ind, "得分", "self_score"),
                None => continue,
            },
            None => loc("funds", "预算执行率", "得分", "funds.stated_score".into()),
        };
        emit(
            location,
            numbers(recomputed, stated, jixiao_form::round2(stated - recomputed)),
            format!(
                "“{}”自评得分 {stated} 高于按规则计算的 {recomputed}（{}）。",
                line.label, line.explanation
            ),
            format!(
                "\"{}\": self score {stated} is above the recomputed {recomputed} ({}).",
                line.label, line.explanation
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::builtin_catalogue;
    use jixiao_form::{parse_measure, FormKind, FundBlock, FundRow};
    use jixiao_scoring::{builtin_rulebooks, score_form};
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn form(budget: &str, executed: &str, rate: &str) -> Form {
        Form {
            kind: FormKind::Project,
            funds: FundBlock {
                rows: vec![FundRow {
                    source: FundSource::Total,
                    full_year_budget: Some(d(budget)),
                    executed: Some(d(executed)),
                    ..FundRow::default()
                }],
                weight: Some(d("10")),
                stated_execution_rate: rate.into(),
                stated_score: Some(d("10")),
            },
            indicators: vec![Indicator {
                name: "会议室数量".into(),
                target: parse_measure("≥4个"),
                actual: parse_measure("4"),
                weight: Some(d("90")),
                self_score: Some(d("90")),
                ..Indicator::default()
            }],
            stated_total: Some(d("100")),
            ..Form::default()
        }
    }

    fn rule_ids(f: &Form) -> Vec<String> {
        let rb = &builtin_rulebooks().unwrap()[0];
        let card = score_form(f, "", rb);
        audit_form(f, &card, &builtin_catalogue().unwrap())
            .into_iter()
            .map(|x| x.rule_id)
            .collect()
    }

    #[test]
    fn a_clean_form_has_no_findings() {
        assert!(rule_ids(&form("418.85", "418.85", "100%")).is_empty());
    }

    #[test]
    fn rounding_of_the_rate_is_not_a_defect() {
        // 41.14 / 80 = 51.425 %, written 51.42 % or 51.43 %.
        let mut f = form("80", "41.14", "51.42%");
        f.funds.stated_score = Some(d("5.14"));
        f.stated_total = Some(d("95.14"));
        assert!(!rule_ids(&f).contains(&"FUNDS.EXECUTION_RATE_MISMATCH".to_string()));
        f.funds.stated_execution_rate = "51.43%".into();
        assert!(!rule_ids(&f).contains(&"FUNDS.EXECUTION_RATE_MISMATCH".to_string()));
        f.funds.stated_execution_rate = "51.44%".into();
        assert!(rule_ids(&f).contains(&"FUNDS.EXECUTION_RATE_MISMATCH".to_string()));
        // 124.51 / 139.98 = 88.948 %: truncated to 88.94 % is not a defect, 88.93 % is.
        let mut g = form("139.98", "124.51", "88.94%");
        g.funds.stated_score = Some(d("8.89"));
        g.stated_total = Some(d("98.89"));
        assert!(rule_ids(&g).is_empty(), "{:?}", rule_ids(&g));
        g.funds.stated_execution_rate = "88.93%".into();
        assert_eq!(rule_ids(&g), ["FUNDS.EXECUTION_RATE_MISMATCH"]);
    }

    #[test]
    fn executed_over_budget_carries_its_numbers() {
        let f = form("100", "120.5", "120.5%");
        let rb = &builtin_rulebooks().unwrap()[0];
        let findings = audit_form(&f, &score_form(&f, "", rb), &builtin_catalogue().unwrap());
        let x = findings
            .iter()
            .find(|x| x.rule_id == "FUNDS.EXECUTED_OVER_BUDGET")
            .unwrap();
        assert_eq!(
            (
                x.expected.as_str(),
                x.stated.as_str(),
                x.difference.as_str()
            ),
            ("≤ 100", "120.5", "20.5")
        );
        assert_eq!(x.location.path, "funds.rows[0].executed");
        // Exactly at budget is not over it.
        assert!(!rule_ids(&form("100", "100", "100%"))
            .contains(&"FUNDS.EXECUTED_OVER_BUDGET".to_string()));
    }

    #[test]
    fn score_over_weight_and_total_mismatch() {
        let mut f = form("10", "10", "100%");
        f.indicators[0].self_score = Some(d("91"));
        let ids = rule_ids(&f);
        assert!(
            ids.contains(&"SCORES.SCORE_OVER_WEIGHT".to_string()),
            "{ids:?}"
        );
        assert!(
            ids.contains(&"SCORES.TOTAL_MISMATCH".to_string()),
            "{ids:?}"
        );
        // A total written with fewer places is not a mismatch when it rounds right.
        let mut g = form("10", "10", "100%");
        g.indicators[0].weight = Some(d("89.6"));
        g.indicators[0].self_score = Some(d("89.6"));
        assert!(!rule_ids(&g).contains(&"SCORES.TOTAL_MISMATCH".to_string()));
        g.indicators[0].weight = Some(d("89.4"));
        g.indicators[0].self_score = Some(d("89.4"));
        assert!(rule_ids(&g).contains(&"SCORES.TOTAL_MISMATCH".to_string()));
    }

    #[test]
    fn inflated_self_score_is_flagged_with_the_recomputed_value() {
        let mut f = form("10", "10", "100%");
        f.indicators[0].actual = parse_measure("3个");
        let rb = &builtin_rulebooks().unwrap()[0];
        let findings = audit_form(&f, &score_form(&f, "", rb), &builtin_catalogue().unwrap());
        let x = findings
            .iter()
            .find(|x| x.rule_id == "SCORES.INFLATED")
            .unwrap();
        assert_eq!((x.expected.as_str(), x.stated.as_str()), ("67.50", "90"));
    }
}

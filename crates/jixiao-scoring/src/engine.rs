use jixiao_form::{round2, Direction, Form, FormKind, FundSource, Indicator, ValueKind};
use rust_decimal::Decimal;

use crate::card::{LineStatus, ScoreCard, ScoreLine};
use crate::rulebook::{Denominator, Rulebook};

/// Written into every scorecard so a result can be traced to the code that made it.
pub const ENGINE_VERSION: &str = concat!("jixiao-scoring/", env!("CARGO_PKG_VERSION"));

/// Recomputes every score of `form` under `rulebook`. `input_digest` is the
/// content digest of the form, recorded as provenance.
pub fn score_form(form: &Form, input_digest: &str, rulebook: &Rulebook) -> ScoreCard {
    let mut lines = Vec::new();
    if form.kind != FormKind::DepartmentBasicData {
        lines.push(execution_line(form, rulebook));
        lines.extend(
            form.indicators
                .iter()
                .enumerate()
                .map(|(i, ind)| indicator_line(i, ind)),
        );
    }
    let recomputed_total = (!lines.is_empty()).then(|| {
        lines
            .iter()
            .filter_map(|l| l.recomputed_score)
            .sum::<Decimal>()
    });
    ScoreCard {
        rulebook_id: rulebook.id.clone(),
        rulebook_version: rulebook.version.clone(),
        rulebook_digest: rulebook.digest.clone(),
        input_digest: input_digest.to_string(),
        engine_version: ENGINE_VERSION.to_string(),
        grade: recomputed_total
            .map(|t| rulebook.grade(t).to_string())
            .unwrap_or_default(),
        lines,
        stated_total: form.stated_total,
        recomputed_total,
    }
}

/// 预算执行率: weight × min(executed / denominator, 1).
fn execution_line(form: &Form, rulebook: &Rulebook) -> ScoreLine {
    let rule = &rulebook.execution;
    let funds = &form.funds;
    let (budget, executed) = execution_amounts(form, rule.denominator);
    let mut line = ScoreLine {
        path: "funds".into(),
        label: "预算执行率".into(),
        weight: Some(rule.weight),
        stated_score: funds.stated_score,
        recomputed_score: funds.stated_score,
        status: LineStatus::Unverifiable,
        explanation: String::new(),
        rule: "execution".into(),
    };
    let denominator_name = match rule.denominator {
        Denominator::FullYearBudget => "全年预算数",
        Denominator::InitialBudget => "年初预算数",
    };
    match (budget, executed) {
        (Some(b), Some(e)) if b > Decimal::ZERO => {
            let rate = e / b;
            let capped = rate.min(Decimal::ONE);
            let score = round2(rule.weight * capped);
            line.status = LineStatus::Scored;
            line.recomputed_score = Some(score);
            line.explanation = format!(
                "全年执行数 {e} / {denominator_name} {b} = {}%; {} × min({}%, 100%) = {score:.2}",
                round2(rate * Decimal::ONE_HUNDRED),
                rule.weight,
                round2(rate * Decimal::ONE_HUNDRED),
            );
        }
        _ => {
            line.explanation = format!(
                "{denominator_name} or 全年执行数 missing or zero: execution rate cannot be computed; self score kept"
            );
        }
    }
    line
}

/// The amounts of the 年度资金总额 row, or the sum of the source rows when the
/// form has no total row.
fn execution_amounts(form: &Form, denominator: Denominator) -> (Option<Decimal>, Option<Decimal>) {
    let pick = |r: &jixiao_form::FundRow| match denominator {
        Denominator::FullYearBudget => r.full_year_budget,
        Denominator::InitialBudget => r.initial_budget,
    };
    if let Some(total) = form.funds.total() {
        return (pick(total), total.executed);
    }
    let sources = form.funds.rows.iter().filter(|r| {
        matches!(
            r.source,
            FundSource::CurrentAppropriation | FundSource::PriorYearCarryover | FundSource::Other
        )
    });
    let sum = |f: &dyn Fn(&jixiao_form::FundRow) -> Option<Decimal>| {
        sources.clone().filter_map(f).reduce(|a, b| a + b)
    };
    (sum(&pick), sum(&|r| r.executed))
}

fn indicator_line(i: usize, ind: &Indicator) -> ScoreLine {
    let mut line = ScoreLine {
        path: format!("indicators[{i}]"),
        label: ind.name.clone(),
        weight: ind.weight,
        stated_score: ind.self_score,
        recomputed_score: ind.self_score,
        status: LineStatus::SelfScoreKept,
        explanation: String::new(),
        rule: String::new(),
    };
    let (t, a) = (&ind.target, &ind.actual);
    if t.kind == ValueKind::NotApplicable {
        line.status = LineStatus::NotApplicable;
        line.recomputed_score = None;
        line.rule = "not_applicable".into();
        line.explanation = format!("target {:?} is not applicable: excluded", t.raw);
        return line;
    }
    let Some(weight) = ind.weight else {
        line.status = LineStatus::Unverifiable;
        line.explanation = "no 分值: the line cannot be scored; self score kept".into();
        return line;
    };
    let at_least = matches!(t.direction, Direction::AtLeast | Direction::MoreThan);
    if t.kind != ValueKind::Quantity || !at_least {
        line.explanation = format!(
            "target {:?} ({}): no rule of this engine version covers it; self score kept",
            t.raw,
            describe(t.kind, t.direction)
        );
        return line;
    }
    line.rule = "quantity_at_least".into();
    let (Some(target), Some(actual)) = (t.value, a.value.filter(|_| a.kind == ValueKind::Quantity))
    else {
        line.status = LineStatus::Unverifiable;
        line.explanation = format!(
            "actual {:?} cannot be compared with target {:?}; self score kept",
            a.raw, t.raw
        );
        return line;
    };
    if !a.unit.is_empty() && a.unit != t.unit {
        line.status = LineStatus::Unverifiable;
        line.explanation = format!(
            "unit of the actual ({}) differs from the target's ({}); self score kept",
            a.unit, t.unit
        );
        return line;
    }
    let met = if t.direction == Direction::MoreThan {
        actual > target
    } else {
        actual >= target
    };
    line.status = LineStatus::Scored;
    if met || target.is_zero() {
        line.recomputed_score = Some(round2(weight));
        line.explanation = format!(
            "{actual}{u} {} {target}{u}: met, full marks {weight}",
            t.direction.symbol(),
            u = t.unit
        );
    } else {
        let score = round2(weight * actual / target);
        line.recomputed_score = Some(score);
        line.explanation = format!(
            "{actual}{u} / {target}{u} × {weight} = {score:.2}",
            u = t.unit
        );
    }
    line
}

fn describe(kind: ValueKind, direction: Direction) -> String {
    match kind {
        ValueKind::Quantity => format!("quantity, direction {}", direction.symbol()),
        ValueKind::Deadline => "deadline".into(),
        ValueKind::Qualitative => "qualitative".into(),
        ValueKind::NotApplicable => "not applicable".into(),
        ValueKind::Unspecified => "unspecified".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rulebook::builtin_rulebooks;
    use jixiao_form::{parse_measure, FundBlock, FundRow};
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn indicator(target: &str, actual: &str, weight: &str, score: &str) -> Indicator {
        Indicator {
            name: "row".into(),
            target: parse_measure(target),
            actual: parse_measure(actual),
            weight: Some(d(weight)),
            self_score: Some(d(score)),
            ..Indicator::default()
        }
    }

    fn form(total: (&str, &str), indicators: Vec<Indicator>) -> Form {
        Form {
            kind: FormKind::Project,
            funds: FundBlock {
                rows: vec![FundRow {
                    source: FundSource::Total,
                    label: "年度资金总额".into(),
                    full_year_budget: Some(d(total.0)),
                    executed: Some(d(total.1)),
                    ..FundRow::default()
                }],
                weight: Some(d("10")),
                stated_score: Some(d("10")),
                ..FundBlock::default()
            },
            indicators,
            stated_total: Some(d("100")),
            ..Form::default()
        }
    }

    #[test]
    fn execution_and_missed_target_worked_example() {
        let rb = &builtin_rulebooks().unwrap()[0];
        // 124.51 / 139.98 = 88.95 %; 10 × 0.8895 = 8.89. 7家 of 10家 at weight 8 = 5.60.
        let f = form(
            ("139.98", "124.51"),
            vec![
                indicator("≥10家", "7家", "8", "8"),
                indicator("≥4个", "4", "10", "10"),
            ],
        );
        let card = score_form(&f, "digest", rb);
        assert_eq!(card.lines[0].recomputed_score, Some(d("8.89")));
        assert_eq!(card.lines[1].recomputed_score, Some(d("5.60")));
        assert_eq!(card.lines[1].explanation, "7家 / 10家 × 8 = 5.60");
        assert_eq!(card.lines[2].recomputed_score, Some(d("10")));
        assert_eq!(card.recomputed_total, Some(d("24.49")));
        assert_eq!(card.grade, "差");
        assert_eq!(card.input_digest, "digest");
        assert_eq!(card.rulebook_id, "cn-national-default");
    }

    #[test]
    fn execution_is_capped_at_full_marks() {
        let rb = &builtin_rulebooks().unwrap()[0];
        let card = score_form(&form(("100", "120"), vec![]), "", rb);
        assert_eq!(card.lines[0].recomputed_score, Some(d("10.00")));
    }

    #[test]
    fn uncovered_and_not_applicable_rows() {
        let rb = &builtin_rulebooks().unwrap()[0];
        let f = form(
            ("10", "10"),
            vec![
                indicator("明显", "明显", "5", "5"),
                indicator("/", "/", "0", "0"),
            ],
        );
        let card = score_form(&f, "", rb);
        assert_eq!(card.lines[1].status, LineStatus::SelfScoreKept);
        assert_eq!(card.lines[1].recomputed_score, Some(d("5")));
        assert_eq!(card.lines[2].status, LineStatus::NotApplicable);
        assert_eq!(card.lines[2].recomputed_score, None);
        assert_eq!(card.recomputed_total, Some(d("15.00")));
    }

    #[test]
    fn text_actual_is_unverifiable() {
        let rb = &builtin_rulebooks().unwrap()[0];
        let card = score_form(
            &form(("10", "10"), vec![indicator("≥360天", "全年", "20", "20")]),
            "",
            rb,
        );
        assert_eq!(card.lines[1].status, LineStatus::Unverifiable);
        assert_eq!(card.lines[1].recomputed_score, Some(d("20")));
    }
}

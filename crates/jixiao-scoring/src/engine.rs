use jixiao_form::{
    round2, Direction, Form, FormKind, FundRow, FundSource, Indicator, Measure, ValueKind,
};
use rust_decimal::Decimal;

use crate::card::{LineStatus, ScoreCard, ScoreLine};
use crate::rulebook::{
    AtMostMissed, BareDirection, Denominator, NotApplicableWeight, OverAchievement,
    QualitativeRule, Rulebook,
};

/// Written into every scorecard so a result can be traced to the code that made it.
pub const ENGINE_VERSION: &str = concat!("jixiao-scoring/", env!("CARGO_PKG_VERSION"));

const HUNDRED: Decimal = Decimal::ONE_HUNDRED;

/// Recomputes every score of `form` under `rulebook`. `input_digest` is the
/// content digest of the form, recorded as provenance.
pub fn score_form(form: &Form, input_digest: &str, rulebook: &Rulebook) -> ScoreCard {
    let mut card = ScoreCard {
        rulebook_id: rulebook.id.clone(),
        rulebook_version: rulebook.version.clone(),
        rulebook_digest: rulebook.digest.clone(),
        input_digest: input_digest.to_string(),
        engine_version: ENGINE_VERSION.to_string(),
        lines: Vec::new(),
        stated_total: form.stated_total,
        recomputed_total: None,
        grade: String::new(),
        total_explanation: String::new(),
    };
    // The 基础数据表 carries figures, not scores.
    if form.kind == FormKind::DepartmentBasicData {
        return card;
    }
    let (execution, rate) = execution_line(form, rulebook);
    card.lines.push(execution);
    card.lines.extend(
        form.indicators
            .iter()
            .enumerate()
            .map(|(i, ind)| indicator_line(i, ind, rulebook)),
    );
    let (total, explanation) = total(&card.lines, rate, rulebook);
    card.grade = rulebook.grade(total).to_string();
    card.recomputed_total = Some(total);
    card.total_explanation = explanation;
    card
}

/// The total: the sum of the lines, rescaled over applicable weights and capped
/// by the execution rate as the rulebook says.
fn total(lines: &[ScoreLine], rate: Option<Decimal>, rb: &Rulebook) -> (Decimal, String) {
    let sum: Decimal = lines.iter().filter_map(|l| l.recomputed_score).sum();
    let mut total = round2(sum);
    let mut why = format!("Σ lines = {total}");
    let excluded: Decimal = lines
        .iter()
        .filter(|l| l.status == LineStatus::NotApplicable)
        .filter_map(|l| l.weight)
        .sum();
    if rb.not_applicable.weight == NotApplicableWeight::Rescale
        && excluded > Decimal::ZERO
        && excluded < HUNDRED
    {
        total = round2(sum * HUNDRED / (HUNDRED - excluded));
        why = format!("{why}; not-applicable weight {excluded} rescaled: {} × 100 / (100 − {excluded}) = {total}", round2(sum));
    }
    if let Some(rate) = rate {
        let cap = rb
            .total
            .caps
            .iter()
            .filter(|c| rate < c.rate_below)
            .min_by(|a, b| a.max_total.cmp(&b.max_total));
        if let Some(cap) = cap {
            if total > cap.max_total {
                why = format!(
                    "{why}; execution rate {}% < {}%: capped at {}",
                    round2(rate),
                    cap.rate_below,
                    cap.max_total
                );
                total = round2(cap.max_total);
            }
        }
    }
    (total, why)
}

fn line(
    path: String,
    label: &str,
    ind_weight: Option<Decimal>,
    stated: Option<Decimal>,
) -> ScoreLine {
    ScoreLine {
        path,
        label: label.to_string(),
        weight: ind_weight,
        stated_score: stated,
        recomputed_score: stated,
        status: LineStatus::SelfScoreKept,
        explanation: String::new(),
        rule: String::new(),
        needs_explanation: false,
    }
}

/// 预算执行率; also returns the rate in percent for caps.
fn execution_line(form: &Form, rb: &Rulebook) -> (ScoreLine, Option<Decimal>) {
    let rule = &rb.execution;
    let mut l = line(
        "funds".into(),
        "预算执行率",
        Some(rule.weight),
        form.funds.stated_score,
    );
    l.rule = "execution".into();
    let (budget, executed) = execution_amounts(form, rule.denominator);
    let name = rule.denominator.label();
    match (budget, executed) {
        (Some(b), Some(e)) if b > Decimal::ZERO => {
            let rate = e / b;
            let used = if rule.cap_at_full {
                rate.min(Decimal::ONE)
            } else {
                rate
            };
            let score = round2(rule.weight * used);
            let pct = round2(rate * HUNDRED);
            l.status = LineStatus::Scored;
            l.recomputed_score = Some(score);
            l.explanation = if rule.cap_at_full {
                format!(
                    "全年执行数 {e} / {name} {b} = {pct}%; {} × min({pct}%, 100%) = {score}",
                    rule.weight
                )
            } else {
                format!(
                    "全年执行数 {e} / {name} {b} = {pct}%; {} × {pct}% = {score}",
                    rule.weight
                )
            };
            (l, Some(rate * HUNDRED))
        }
        _ => {
            l.status = LineStatus::Unverifiable;
            l.explanation = format!("{name} or 全年执行数 missing or zero: the rate cannot be computed; self score kept");
            (l, None)
        }
    }
}

/// The amounts of the 年度资金总额 row, or the sum of the source rows when the
/// form has no total row.
fn execution_amounts(form: &Form, denominator: Denominator) -> (Option<Decimal>, Option<Decimal>) {
    let pick = |r: &FundRow| match denominator {
        Denominator::FullYearBudget => r.full_year_budget,
        Denominator::InitialBudget => r.initial_budget,
    };
    if let Some(total) = form.funds.total() {
        return (pick(total), total.executed);
    }
    let sources = || {
        form.funds.rows.iter().filter(|r| {
            matches!(
                r.source,
                FundSource::CurrentAppropriation
                    | FundSource::PriorYearCarryover
                    | FundSource::Other
            )
        })
    };
    (
        sources().filter_map(pick).reduce(|a, b| a + b),
        sources().filter_map(|r| r.executed).reduce(|a, b| a + b),
    )
}

fn indicator_line(i: usize, ind: &Indicator, rb: &Rulebook) -> ScoreLine {
    let mut l = line(
        format!("indicators[{i}]"),
        &ind.name,
        ind.weight,
        ind.self_score,
    );
    let t = &ind.target;
    if t.kind == ValueKind::NotApplicable {
        l.status = LineStatus::NotApplicable;
        l.recomputed_score = None;
        l.rule = "not_applicable".into();
        l.explanation = format!("target 「{}」 is not applicable: excluded", t.raw);
        return l;
    }
    let Some(weight) = ind.weight else {
        l.status = LineStatus::Unverifiable;
        l.explanation = "no 分值: the line cannot be scored; self score kept".into();
        return l;
    };
    match t.kind {
        ValueKind::Quantity => quantity(&mut l, ind, weight, rb),
        ValueKind::Deadline => deadline(&mut l, ind, weight, rb),
        ValueKind::Qualitative => qualitative(&mut l, ind, weight, &rb.qualitative),
        ValueKind::NotApplicable | ValueKind::Unspecified => {
            l.explanation = format!(
                "target 「{}」 has no kind the engine can score; self score kept",
                t.raw
            );
        }
    }
    l
}

fn unverifiable(l: &mut ScoreLine, why: String) {
    l.status = LineStatus::Unverifiable;
    l.recomputed_score = l.stated_score;
    l.explanation = format!("{why}; self score kept");
}

fn scored(l: &mut ScoreLine, score: Decimal, explanation: String) {
    l.status = LineStatus::Scored;
    l.recomputed_score = Some(round2(score.max(Decimal::ZERO)));
    l.explanation = explanation;
}

/// Factor that turns an amount in `from` into one in `to`; `None` when they do not compare.
fn unit_factor(from: &str, to: &str) -> Option<Decimal> {
    const SAME: &[(&str, &str)] = &[
        ("月", "个月"),
        ("天", "日"),
        ("年", "个年度"),
        ("项", "个项目"),
        ("场", "场次"),
        ("次", "场次"),
    ];
    const SCALED: &[(&str, &str, i64)] = &[("元", "万元", 10_000), ("万元", "亿元", 10_000)];
    if from.is_empty()
        || to.is_empty()
        || from == to
        || SAME
            .iter()
            .any(|(a, b)| (from, to) == (*a, *b) || (from, to) == (*b, *a))
    {
        return Some(Decimal::ONE);
    }
    SCALED.iter().find_map(|(small, large, n)| {
        if (from, to) == (*small, *large) {
            Some(Decimal::ONE / Decimal::from(*n))
        } else if (from, to) == (*large, *small) {
            Some(Decimal::from(*n))
        } else {
            None
        }
    })
}

fn quantity(l: &mut ScoreLine, ind: &Indicator, w: Decimal, rb: &Rulebook) {
    let (t, a) = (&ind.target, &ind.actual);
    let Some(target) = t.value else {
        return unverifiable(l, format!("target 「{}」 has no number", t.raw));
    };
    let actual = match (a.kind, a.value) {
        (ValueKind::Quantity, Some(v)) => v,
        _ => {
            return unverifiable(
                l,
                format!(
                    "actual 「{}」 cannot be compared with target 「{}」",
                    a.raw, t.raw
                ),
            )
        }
    };
    let Some(factor) = unit_factor(&a.unit, &t.unit) else {
        return unverifiable(
            l,
            format!(
                "unit of the actual ({}) does not compare with the target's ({})",
                a.unit, t.unit
            ),
        );
    };
    let actual = actual * factor;
    let u = t.unit.as_str();
    let direction = match t.direction {
        Direction::Unspecified => {
            let cost = ind.level1.contains("成本") || ind.level2.contains("成本");
            let bare = if cost {
                rb.bare_number.cost_direction
            } else {
                rb.bare_number.direction
            };
            match bare {
                BareDirection::AtLeast => Direction::AtLeast,
                BareDirection::AtMost => Direction::AtMost,
                BareDirection::Equal => Direction::Equal,
            }
        }
        d => d,
    };
    let sym = direction.symbol();
    match direction {
        Direction::AtLeast | Direction::MoreThan => {
            l.rule = "at_least".into();
            let met = if direction == Direction::MoreThan {
                actual > target
            } else {
                actual >= target
            };
            if !met && !target.is_zero() {
                let s = w * actual / target;
                return scored(
                    l,
                    s,
                    format!("{actual}{u} / {target}{u} × {w} = {}", round2(s)),
                );
            }
            let ratio = if target.is_zero() {
                None
            } else {
                Some(actual / target * HUNDRED)
            };
            match (&rb.at_least.over_achievement, ratio) {
                (OverAchievement::Penalty { at_percent, points }, Some(r)) if r >= *at_percent => scored(
                    l,
                    w - points,
                    format!(
                        "{actual}{u} {sym} {target}{u}: met at {}% of the target (≥ {at_percent}%): {w} − {points} = {}",
                        round2(r),
                        round2((w - points).max(Decimal::ZERO))
                    ),
                ),
                (OverAchievement::ExplanationRequired { at_percent }, Some(r)) if r >= *at_percent => {
                    l.needs_explanation = ind.deviation_reason.trim().is_empty();
                    scored(
                        l,
                        w,
                        format!(
                            "{actual}{u} {sym} {target}{u}: met at {}% of the target (≥ {at_percent}%: an explanation is required{}): full marks {}",
                            round2(r),
                            if l.needs_explanation { ", none given" } else { "" },
                            round2(w)
                        ),
                    )
                }
                _ => scored(l, w, format!("{actual}{u} {sym} {target}{u}: met, full marks {}", round2(w))),
            }
        }
        Direction::AtMost | Direction::LessThan => {
            l.rule = "at_most".into();
            let met = if direction == Direction::LessThan {
                actual < target
            } else {
                actual <= target
            };
            if met {
                return scored(
                    l,
                    w,
                    format!(
                        "{actual}{u} {sym} {target}{u}: met, full marks {}",
                        round2(w)
                    ),
                );
            }
            if target.is_zero() {
                return scored(
                    l,
                    Decimal::ZERO,
                    format!("{actual}{u} above a target of 0{u}: 0.00"),
                );
            }
            match rb.at_most.missed {
                AtMostMissed::LinearToZeroAtDouble => {
                    let s = (w * (target * Decimal::TWO - actual) / target).max(Decimal::ZERO);
                    scored(
                        l,
                        s,
                        format!(
                            "{w} × (2 × {target}{u} − {actual}{u}) / {target}{u} = {}",
                            round2(s)
                        ),
                    )
                }
                AtMostMissed::InverseProportional => {
                    let s = w * target / actual;
                    scored(
                        l,
                        s,
                        format!("{target}{u} / {actual}{u} × {w} = {}", round2(s)),
                    )
                }
            }
        }
        Direction::Equal | Direction::About | Direction::Unspecified => {
            let (rule, tol) = if direction == Direction::About {
                ("about", rb.about.tolerance_percent)
            } else {
                ("equal", rb.equal.tolerance_percent)
            };
            l.rule = rule.into();
            let allowed = target.abs() * tol / HUNDRED;
            if (actual - target).abs() <= allowed {
                return scored(
                    l,
                    w,
                    format!(
                        "{actual}{u} within {tol}% of {target}{u}: met, full marks {}",
                        round2(w)
                    ),
                );
            }
            let (lo, hi) = (actual.min(target), actual.max(target));
            let s = if hi.is_zero() { w } else { w * lo / hi };
            scored(
                l,
                s,
                format!(
                    "{actual}{u} outside {tol}% of {target}{u}: {lo} / {hi} × {w} = {}",
                    round2(s)
                ),
            )
        }
    }
}

fn deadline(l: &mut ScoreLine, ind: &Indicator, w: Decimal, rb: &Rulebook) {
    l.rule = "deadline".into();
    let (t, a) = (&ind.target, &ind.actual);
    let met = match a.kind {
        ValueKind::Deadline => Some(a.deadline <= t.deadline),
        _ if a.raw == t.raw => Some(true),
        ValueKind::Qualitative => match band(&a.raw, &rb.qualitative) {
            Some(Band::Achieved) => Some(true),
            Some(_) => Some(false),
            None => None,
        },
        _ => None,
    };
    match met {
        Some(true) => scored(
            l,
            w,
            format!(
                "done 「{}」 by the deadline {}: met, full marks {}",
                a.raw,
                t.deadline,
                round2(w)
            ),
        ),
        Some(false) => {
            let f = rb.deadline.missed_fraction;
            scored(
                l,
                w * f,
                format!(
                    "done 「{}」 after the deadline {}: {w} × {f} = {}",
                    a.raw,
                    t.deadline,
                    round2(w * f)
                ),
            )
        }
        None => unverifiable(
            l,
            format!("actual 「{}」 does not say when the work was done", a.raw),
        ),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Band {
    Achieved,
    Partial,
    NotAchieved,
}

/// The band the words of an actual fall in; negative words are checked first
/// (未完成 contains 完成), then partial ones (基本完成 contains 完成).
fn band(actual: &str, q: &QualitativeRule) -> Option<Band> {
    let has = |words: &[String]| words.iter().any(|w| actual.contains(w.as_str()));
    if has(&q.not_achieved_words) {
        Some(Band::NotAchieved)
    } else if has(&q.partial_words) {
        Some(Band::Partial)
    } else if has(&q.achieved_words) {
        Some(Band::Achieved)
    } else {
        None
    }
}

fn qualitative(l: &mut ScoreLine, ind: &Indicator, w: Decimal, q: &QualitativeRule) {
    l.rule = "qualitative".into();
    let (t, a): (&Measure, &Measure) = (&ind.target, &ind.actual);
    let found = if !a.raw.is_empty() && a.raw == t.raw {
        Some(Band::Achieved)
    } else {
        band(&a.raw, q)
    };
    let Some(found) = found else {
        return unverifiable(l, format!("actual 「{}」 matches no band's words", a.raw));
    };
    let (name, lo_pct, hi_pct) = match found {
        Band::Achieved => ("达成", q.achieved_min, HUNDRED),
        Band::Partial => ("部分达成", q.partial_min, q.achieved_min),
        Band::NotAchieved => ("未达成", Decimal::ZERO, q.partial_min),
    };
    let (lo, hi) = (round2(w * lo_pct / HUNDRED), round2(w * hi_pct / HUNDRED));
    let band_text = format!(
        "actual 「{}」 → {name}, {lo_pct}%–{hi_pct}% of {w} = [{lo}, {hi}]",
        a.raw
    );
    match ind.self_score {
        Some(s) if s >= lo && s <= hi => scored(l, s, format!("{band_text}; self score {s} kept")),
        Some(s) if s > hi => scored(
            l,
            hi,
            format!("{band_text}; self score {s} clamped to {hi}"),
        ),
        Some(s) => scored(l, lo, format!("{band_text}; self score {s} raised to {lo}")),
        None => scored(l, lo, format!("{band_text}; no self score: {lo}")),
    }
}

use jixiao_form::{
    parse_percent, round2, Direction, Form, FormKind, FundRow, FundSource, Indicator, ValueKind,
};
use jixiao_scoring::{LineStatus, ScoreCard, ScoreLine};
use rust_decimal::Decimal;

use crate::catalogue::{Catalogue, RuleKind, RuleSpec};
use crate::finding::{Finding, Location};
use crate::narrative;

const HUNDRED: Decimal = Decimal::ONE_HUNDRED;

/// Runs every enabled rule of `catalogue` over one form and its scorecard.
pub fn audit_form(form: &Form, card: &ScoreCard, catalogue: &Catalogue) -> Vec<Finding> {
    let mut out = Vec::new();
    for rule in catalogue.rules.iter().filter(|r| r.enabled) {
        let mut ctx = Ctx {
            form,
            card,
            rule,
            out: &mut out,
        };
        match rule.kind {
            RuleKind::ExecutedOverBudget => executed_over_budget(&mut ctx),
            RuleKind::SourceRowsMismatch => source_rows_mismatch(&mut ctx),
            RuleKind::ExecutionRateMismatch => execution_rate_mismatch(&mut ctx),
            RuleKind::ExecutionScoreMismatch => execution_score_mismatch(&mut ctx),
            RuleKind::BudgetCutToExecution => budget_cut_to_execution(&mut ctx),
            RuleKind::InitialBudgetZero => initial_budget_zero(&mut ctx),
            RuleKind::DocumentDiagnostic => document_diagnostic(&mut ctx),
            RuleKind::WeightsSum => weights_sum(&mut ctx),
            RuleKind::SectionWeightMismatch => section_weight_mismatch(&mut ctx),
            RuleKind::NotApplicableWithWeight => not_applicable_with_weight(&mut ctx),
            RuleKind::ZeroWeightMeasurable => zero_weight_measurable(&mut ctx),
            RuleKind::ScoreOverWeight => score_over_weight(&mut ctx),
            RuleKind::BlankScore => blank_score(&mut ctx),
            RuleKind::TotalMismatch => total_mismatch(&mut ctx),
            RuleKind::MissedTargetFullMarks => missed_target_full_marks(&mut ctx),
            RuleKind::ScoreInflation => score_vs_rules(&mut ctx, true),
            RuleKind::ScoreBelowRules => score_vs_rules(&mut ctx, false),
            RuleKind::MissingExplanation => missing_explanation(&mut ctx),
            RuleKind::ActualIsComparator => actual_is_comparator(&mut ctx),
            RuleKind::TextWhereNumberExpected => text_where_number_expected(&mut ctx),
            RuleKind::UnitMismatch => unit_mismatch(&mut ctx, false),
            RuleKind::ActualUnitMissing => unit_mismatch(&mut ctx, true),
            RuleKind::CostTargetAboveBudget => cost_target_above_budget(&mut ctx),
            RuleKind::CostActualAboveExecuted => cost_actual_above_executed(&mut ctx),
            RuleKind::NarrativeFundsMismatch => narrative_funds(&mut ctx),
            RuleKind::NarrativeMagnitude => narrative_magnitude(&mut ctx),
            // Cross-form kinds run in `audit_department`.
            _ => {}
        }
    }
    out
}

/// What one rule sees, and where its findings go.
struct Ctx<'a> {
    form: &'a Form,
    card: &'a ScoreCard,
    rule: &'a RuleSpec,
    out: &'a mut Vec<Finding>,
}

impl Ctx<'_> {
    fn emit(
        &mut self,
        location: Location,
        expected: String,
        stated: String,
        difference: String,
        zh: String,
        en: String,
    ) {
        self.out.push(Finding::of(
            self.rule,
            location,
            [expected, stated, difference],
            zh,
            en,
        ));
    }

    fn is_scored_form(&self) -> bool {
        self.form.kind != FormKind::DepartmentBasicData
    }
}

fn loc(section: &str, row: &str, column: &str, path: String) -> Location {
    Location::new(section, row, column, path)
}

fn indicator_loc(i: usize, ind: &Indicator, column: &str, field: &str) -> Location {
    loc(
        "indicators",
        &ind.name,
        column,
        format!("indicators[{i}].{field}"),
    )
}

fn row_label(row: &FundRow) -> String {
    if !row.label.trim().is_empty() {
        return row.label.trim().to_string();
    }
    match row.source {
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

/// Half a unit in the last place the stated number was written with: a total
/// of 2922.7 stands for anything in [2922.65, 2922.75].
fn half_unit(stated: Decimal) -> Decimal {
    Decimal::new(5, stated.scale() + 1)
}

/// Whether `stated` is `exact` rounded (half up or half even) or truncated to
/// the places it is written with: 88.948 % may be written 88.95 % or 88.94 %,
/// 99.991 % may be written 100 %, but 51.425 % is not 52 %.
fn written_as(stated: Decimal, exact: Decimal) -> bool {
    use rust_decimal::RoundingStrategy::*;
    [MidpointAwayFromZero, MidpointNearestEven, ToZero]
        .into_iter()
        .any(|s| exact.round_dp_with_strategy(stated.scale(), s) == stated)
}

const COLUMNS: [(&str, &str); 3] = [
    ("initial_budget", "年初预算数"),
    ("full_year_budget", "全年预算数"),
    ("executed", "全年执行数"),
];

fn column(row: &FundRow, c: usize) -> Option<Decimal> {
    [row.initial_budget, row.full_year_budget, row.executed][c]
}

fn is_source(r: &FundRow) -> bool {
    matches!(
        r.source,
        FundSource::CurrentAppropriation | FundSource::PriorYearCarryover | FundSource::Other
    )
}

// ---- funds ----

fn executed_over_budget(ctx: &mut Ctx) {
    for (i, row) in ctx.form.funds.rows.iter().enumerate() {
        let (Some(budget), Some(executed)) = (row.full_year_budget, row.executed) else {
            continue;
        };
        if executed > budget {
            let label = row_label(row);
            let d = executed - budget;
            ctx.emit(
                loc("funds", &label, "全年执行数", format!("funds.rows[{i}].executed")),
                format!("≤ {budget}"),
                executed.to_string(),
                d.to_string(),
                format!("{label}：全年执行数 {executed} 万元超过全年预算数 {budget} 万元，超出 {d} 万元。"),
                format!("{label}: executed {executed} exceeds the full-year budget {budget} by {d}."),
            );
        }
    }
}

/// Source rows (当年财政拨款 + 上年结转 + 其他资金) against 年度资金总额 in each
/// column; for department forms, revenue lines against 全年预算数 and
/// expense lines against 全年执行数.
fn source_rows_mismatch(ctx: &mut Ctx) {
    let form = ctx.form;
    let Some((ti, total)) = form
        .funds
        .rows
        .iter()
        .enumerate()
        .find(|(_, r)| r.source == FundSource::Total)
    else {
        return;
    };
    let mut checks: Vec<(usize, &str, Vec<Option<Decimal>>, &str)> = Vec::new();
    if form.funds.rows.iter().any(is_source) {
        for (c, (_, name)) in COLUMNS.iter().enumerate() {
            let parts = form
                .funds
                .rows
                .iter()
                .filter(|r| is_source(r))
                .map(|r| column(r, c))
                .collect();
            checks.push((c, name, parts, "当年财政拨款、上年结转资金、其他资金"));
        }
    }
    let revenue: Vec<_> = form
        .funds
        .rows
        .iter()
        .filter(|r| r.source == FundSource::Revenue)
        .map(|r| r.full_year_budget)
        .collect();
    if !revenue.is_empty() {
        checks.push((1, "全年预算数", revenue, "按收入性质分各项"));
    }
    let expense: Vec<_> = form
        .funds
        .rows
        .iter()
        .filter(|r| {
            matches!(
                r.source,
                FundSource::BasicExpenditure | FundSource::ProjectExpenditure
            )
        })
        .map(|r| r.executed)
        .collect();
    if !expense.is_empty() {
        checks.push((2, "全年执行数", expense, "按支出性质分各项"));
    }
    for (c, name, parts, what) in checks {
        let Some(stated) = column(total, c) else {
            continue;
        };
        let sum: Decimal = parts.iter().flatten().sum();
        if (sum - stated).abs() > half_unit(stated) {
            ctx.emit(
                loc("funds", "年度资金总额", name, format!("funds.rows[{ti}].{}", COLUMNS[c].0)),
                sum.to_string(),
                stated.to_string(),
                (stated - sum).to_string(),
                format!("{name}：{what}合计 {sum} 万元，与年度资金总额 {stated} 万元不符，相差 {} 万元。", stated - sum),
                format!("{name}: the lines ({what}) add up to {sum}, the total says {stated}; difference {}.", stated - sum),
            );
        }
    }
}

fn execution_rate_mismatch(ctx: &mut Ctx) {
    let written = ctx.form.funds.stated_execution_rate.trim().to_string();
    let Ok(stated) = parse_percent(&written) else {
        return;
    };
    let Some(total) = ctx.form.funds.total() else {
        return;
    };
    let (Some(budget), Some(executed)) = (total.full_year_budget, total.executed) else {
        return;
    };
    if budget.is_zero() {
        return;
    }
    let actual = executed / budget * HUNDRED;
    if !written_as(stated, actual) {
        let shown = round2(actual);
        ctx.emit(
            loc("funds", "年度资金总额", "执行率", "funds.stated_execution_rate".into()),
            format!("{shown}%"),
            written.clone(),
            round2(stated - actual).to_string(),
            format!("执行率填报为 {written}，按全年执行数 {executed} ÷ 全年预算数 {budget} 计算应为 {shown}%。"),
            format!("Stated execution rate {written}; executed {executed} / full-year budget {budget} = {shown}%."),
        );
    }
}

fn funds_line(card: &ScoreCard) -> Option<&ScoreLine> {
    card.lines
        .iter()
        .find(|l| l.path == "funds" && l.status == LineStatus::Scored)
}

/// 得分 of the budget-execution line against weight × rate under the rulebook.
fn execution_score_mismatch(ctx: &mut Ctx) {
    let Some(line) = funds_line(ctx.card) else {
        return;
    };
    let (Some(stated), Some(recomputed)) = (line.stated_score, line.recomputed_score) else {
        return;
    };
    if (stated - recomputed).abs() > half_unit(stated).max(Decimal::new(5, 3)) {
        let explanation = line.explanation.clone();
        ctx.emit(
            loc("funds", "预算执行率", "得分", "funds.stated_score".into()),
            recomputed.to_string(),
            stated.to_string(),
            round2(stated - recomputed).to_string(),
            format!("预算执行率得分填报为 {stated}，按规则应为 {recomputed}（{explanation}）。"),
            format!("Budget-execution score stated {stated}; the rulebook gives {recomputed} ({explanation})."),
        );
    }
}

/// 全年预算数 reduced to exactly 全年执行数 while 年初预算数 was higher: the
/// 100 % execution comes from the cut. A source row is checked only where it
/// differs from the total (otherwise it repeats the total's finding).
fn budget_cut_to_execution(ctx: &mut Ctx) {
    let rows = &ctx.form.funds.rows;
    let total = rows.iter().find(|r| r.source == FundSource::Total).cloned();
    let min = ctx.rule.min_percent.unwrap_or_default();
    let max = ctx.rule.max_percent;
    let amounts = |r: &FundRow| (r.initial_budget, r.full_year_budget, r.executed);
    let same_as_total = |r: &FundRow| total.as_ref().is_some_and(|t| amounts(t) == amounts(r));
    for (i, row) in rows.iter().enumerate() {
        if row.source != FundSource::Total && (!is_source(row) || same_as_total(row)) {
            continue;
        }
        let (Some(initial), Some(full), Some(executed)) =
            (row.initial_budget, row.full_year_budget, row.executed)
        else {
            continue;
        };
        if full != executed || initial <= full || initial.is_zero() {
            continue;
        }
        let cut = initial - full;
        let pct = round2(cut / initial * HUNDRED);
        if pct < min || max.is_some_and(|m| pct >= m) {
            continue;
        }
        let label = row_label(row);
        let real = round2(executed / initial * HUNDRED);
        ctx.emit(
            loc("funds", &label, "全年预算数", format!("funds.rows[{i}].full_year_budget")),
            format!("≥ {executed} (年初预算数 {initial})"),
            full.to_string(),
            format!("-{cut} (-{pct}%)"),
            format!("{label}：年初预算数 {initial} 万元调减至全年预算数 {full} 万元，恰等于全年执行数；按年初预算计执行率仅 {real}%。"),
            format!("{label}: the budget was cut from {initial} to {full}, exactly the executed amount; against the initial budget execution is {real}%."),
        );
    }
}

fn initial_budget_zero(ctx: &mut Ctx) {
    let Some((i, total)) = ctx
        .form
        .funds
        .rows
        .iter()
        .enumerate()
        .find(|(_, r)| r.source == FundSource::Total)
    else {
        return;
    };
    let Some(full) = total.full_year_budget.filter(|f| *f > Decimal::ZERO) else {
        return;
    };
    if total.initial_budget.is_none_or(|x| x.is_zero()) {
        let written = total
            .initial_budget
            .map(|x| x.to_string())
            .unwrap_or_else(|| "空".into());
        ctx.emit(
            loc("funds", "年度资金总额", "年初预算数", format!("funds.rows[{i}].initial_budget")),
            "> 0".into(),
            written.clone(),
            String::new(),
            format!("年初预算数为 {written}，全年预算数为 {full} 万元：资金均为年中追加，请核实。"),
            format!("Initial budget is {written} while the full-year budget is {full}: all money was added during the year."),
        );
    }
}

fn document_diagnostic(ctx: &mut Ctx) {
    let Some(code) = ctx.rule.diagnostic_code.clone() else {
        return;
    };
    let hits: Vec<_> = ctx
        .form
        .diagnostics
        .iter()
        .filter(|d| d.code == code)
        .cloned()
        .collect();
    for d in hits {
        ctx.emit(
            loc(
                d.path.split('.').next().unwrap_or(""),
                "",
                "",
                d.path.clone(),
            ),
            String::new(),
            d.raw.clone(),
            String::new(),
            format!("{}（第 {} 行）：{}", ctx.rule.title_zh, d.line, d.raw),
            format!("{} (line {}): {}", ctx.rule.title_en, d.line, d.message),
        );
    }
}

// ---- weights ----

fn weights_sum(ctx: &mut Ctx) {
    if !ctx.is_scored_form() || ctx.form.indicators.is_empty() {
        return;
    }
    let sum: Decimal = ctx
        .form
        .indicators
        .iter()
        .filter_map(|i| i.weight)
        .sum::<Decimal>()
        + ctx.form.funds.weight.unwrap_or_default();
    if sum != HUNDRED {
        ctx.emit(
            loc("indicators", "", "分值", "indicators[*].weight".into()),
            "100".into(),
            sum.to_string(),
            (sum - HUNDRED).to_string(),
            format!("各指标分值与预算执行率分值合计为 {sum}，应为 100。"),
            format!("Indicator weights plus the execution weight add up to {sum}, not 100."),
        );
    }
}

fn section_weight_mismatch(ctx: &mut Ctx) {
    let form = ctx.form;
    for (s, section) in form.section_weights.iter().enumerate() {
        let sum: Decimal = form
            .indicators
            .iter()
            .filter(|i| i.level1 == section.level1)
            .filter_map(|i| i.weight)
            .sum();
        if sum != section.weight {
            ctx.emit(
                loc(
                    "indicators",
                    &section.level1,
                    "分值",
                    format!("section_weights[{s}].weight"),
                ),
                sum.to_string(),
                section.weight.to_string(),
                (section.weight - sum).to_string(),
                format!(
                    "{}标注 {} 分，其下指标分值合计 {sum} 分。",
                    section.level1, section.weight
                ),
                format!(
                    "{} is labelled {} points; its rows' weights add up to {sum}.",
                    section.level1, section.weight
                ),
            );
        }
    }
}

fn not_applicable_with_weight(ctx: &mut Ctx) {
    for (i, ind) in ctx.form.indicators.iter().enumerate() {
        if ind.target.kind != ValueKind::NotApplicable {
            continue;
        }
        let weight = ind.weight.unwrap_or_default();
        let score = ind.self_score.unwrap_or_default();
        if weight > Decimal::ZERO || score > Decimal::ZERO {
            ctx.emit(
                indicator_loc(i, ind, "分值", "weight"),
                "0".into(),
                format!("分值 {weight} / 得分 {score}"),
                weight.to_string(),
                format!("“{}”标为不适用（{}），却仍有分值 {weight}、得分 {score}。", ind.name, ind.target.raw),
                format!("\"{}\" is marked not applicable ({}) yet carries weight {weight} and score {score}.", ind.name, ind.target.raw),
            );
        }
    }
}

fn zero_weight_measurable(ctx: &mut Ctx) {
    for (i, ind) in ctx.form.indicators.iter().enumerate() {
        let measurable = matches!(
            ind.target.kind,
            ValueKind::Quantity | ValueKind::Deadline | ValueKind::Qualitative
        );
        if measurable && ind.weight.is_some_and(|w| w.is_zero()) {
            ctx.emit(
                indicator_loc(i, ind, "分值", "weight"),
                "> 0".into(),
                "0".into(),
                String::new(),
                format!(
                    "“{}”设定了指标值（{}），分值却为 0，实际完成值为“{}”。",
                    ind.name, ind.target.raw, ind.actual.raw
                ),
                format!(
                    "\"{}\" has a target ({}) but weight 0; actual \"{}\".",
                    ind.name, ind.target.raw, ind.actual.raw
                ),
            );
        }
    }
}

// ---- scores ----

fn score_over_weight(ctx: &mut Ctx) {
    let funds = &ctx.form.funds;
    if let (Some(w), Some(s)) = (funds.weight, funds.stated_score) {
        if s > w {
            ctx.emit(
                loc("funds", "预算执行率", "得分", "funds.stated_score".into()),
                format!("≤ {w}"),
                s.to_string(),
                (s - w).to_string(),
                format!("预算执行率得分 {s} 超过分值 {w}。"),
                format!("Budget-execution score {s} exceeds its weight {w}."),
            );
        }
    }
    for (i, ind) in ctx.form.indicators.iter().enumerate() {
        if let (Some(w), Some(s)) = (ind.weight, ind.self_score) {
            if s > w {
                ctx.emit(
                    indicator_loc(i, ind, "得分", "self_score"),
                    format!("≤ {w}"),
                    s.to_string(),
                    (s - w).to_string(),
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

fn blank_score(ctx: &mut Ctx) {
    for (i, ind) in ctx.form.indicators.iter().enumerate() {
        let weighted = ind.weight.is_some_and(|w| w > Decimal::ZERO);
        if weighted && ind.self_score.is_none() && ind.target.kind != ValueKind::NotApplicable {
            let w = ind.weight.unwrap_or_default();
            ctx.emit(
                indicator_loc(i, ind, "得分", "self_score"),
                format!("0–{w}"),
                "空".into(),
                String::new(),
                format!("指标“{}”分值 {w}，得分未填写。", ind.name),
                format!("Indicator \"{}\" (weight {w}) has no score.", ind.name),
            );
        }
    }
}

fn total_mismatch(ctx: &mut Ctx) {
    let Some(stated) = ctx.form.stated_total else {
        return;
    };
    let scores = std::iter::once(ctx.form.funds.stated_score)
        .chain(ctx.form.indicators.iter().map(|i| i.self_score));
    let sum: Decimal = scores.flatten().sum();
    if (sum - stated).abs() > half_unit(stated) {
        ctx.emit(
            loc("total", "总分", "得分", "stated_total".into()),
            sum.to_string(),
            stated.to_string(),
            (stated - sum).to_string(),
            format!("总分填报为 {stated}，各项得分（含预算执行率）合计为 {sum}。"),
            format!("Stated total {stated}; the line scores (budget execution included) add up to {sum}."),
        );
    }
}

/// The indicator behind a scorecard line, with its index.
fn indicator_of<'f>(form: &'f Form, line: &ScoreLine) -> Option<(usize, &'f Indicator)> {
    let i: usize = line
        .path
        .strip_prefix("indicators[")?
        .strip_suffix(']')?
        .parse()
        .ok()?;
    form.indicators.get(i).map(|ind| (i, ind))
}

/// A scored line whose target was missed (the rules give less than the weight) but self-scored the whole weight.
fn missed_target_full_marks(ctx: &mut Ctx) {
    let card = ctx.card;
    for line in card.lines.iter().filter(|l| l.status == LineStatus::Scored) {
        let Some((i, ind)) = indicator_of(ctx.form, line) else {
            continue;
        };
        let (Some(w), Some(s), Some(r)) = (line.weight, line.stated_score, line.recomputed_score)
        else {
            continue;
        };
        let missed = matches!(ind.target.kind, ValueKind::Quantity | ValueKind::Deadline) && r < w;
        if missed && s >= w && w > Decimal::ZERO {
            ctx.emit(
                indicator_loc(i, ind, "得分", "self_score"),
                r.to_string(),
                s.to_string(),
                round2(s - r).to_string(),
                format!("“{}”未完成指标值（{} → {}），却自评满分 {s}；按规则应为 {r}（{}）。", ind.name, ind.target.raw, ind.actual.raw, line.explanation),
                format!("\"{}\" missed its target ({} → {}) yet scored full marks {s}; the rulebook gives {r} ({}).", ind.name, ind.target.raw, ind.actual.raw, line.explanation),
            );
        }
    }
}

/// Self score against the recomputed score: above (inflation) or below.
fn score_vs_rules(ctx: &mut Ctx, above: bool) {
    let tolerance = ctx.rule.tolerance.unwrap_or_default();
    let card = ctx.card;
    for line in card
        .lines
        .iter()
        .filter(|l| l.status == LineStatus::Scored && l.path != "funds")
    {
        let (Some(stated), Some(recomputed)) = (line.stated_score, line.recomputed_score) else {
            continue;
        };
        let Some((i, ind)) = indicator_of(ctx.form, line) else {
            continue;
        };
        let gap = if above {
            stated - recomputed
        } else {
            recomputed - stated
        };
        if gap <= tolerance {
            continue;
        }
        // A missed target with full marks is its own (stronger) finding.
        if above
            && line.weight.is_some_and(|w| stated >= w)
            && matches!(ind.target.kind, ValueKind::Quantity | ValueKind::Deadline)
        {
            continue;
        }
        let why = line.explanation.clone();
        let (zh, en) = if above {
            (
                format!(
                    "“{}”自评得分 {stated} 高于按规则计算的 {recomputed}（{why}）。",
                    line.label
                ),
                format!(
                    "\"{}\": self score {stated} is above the recomputed {recomputed} ({why}).",
                    line.label
                ),
            )
        } else {
            (
                format!(
                    "“{}”自评得分 {stated} 低于按规则计算的 {recomputed}（{why}）。",
                    line.label
                ),
                format!(
                    "\"{}\": self score {stated} is below the recomputed {recomputed} ({why}).",
                    line.label
                ),
            )
        };
        ctx.emit(
            indicator_loc(i, ind, "得分", "self_score"),
            recomputed.to_string(),
            stated.to_string(),
            round2(stated - recomputed).to_string(),
            zh,
            en,
        );
    }
}

// ---- explanations ----

fn missing_explanation(ctx: &mut Ctx) {
    for (i, ind) in ctx.form.indicators.iter().enumerate() {
        let (Some(w), Some(s)) = (ind.weight, ind.self_score) else {
            continue;
        };
        let reason = ind.deviation_reason.trim().trim_matches(['。', '/', '无']);
        if s < w && reason.is_empty() {
            ctx.emit(
                indicator_loc(i, ind, "偏差原因分析及改进措施", "deviation_reason"),
                "an explanation".into(),
                "空".into(),
                (s - w).to_string(),
                format!(
                    "“{}”得分 {s} 低于分值 {w}，未填写偏差原因分析及改进措施。",
                    ind.name
                ),
                format!(
                    "\"{}\" scored {s} of {w} with no deviation explanation.",
                    ind.name
                ),
            );
        }
    }
}

// ---- values ----

fn actual_is_comparator(ctx: &mut Ctx) {
    for (i, ind) in ctx.form.indicators.iter().enumerate() {
        let a = &ind.actual;
        if a.kind == ValueKind::Quantity && a.direction != Direction::Unspecified {
            ctx.emit(
                indicator_loc(i, ind, "实际完成值", "actual"),
                "a measured value".into(),
                a.raw.clone(),
                String::new(),
                format!(
                    "“{}”实际完成值填为“{}”，是比较式而非实际数值。",
                    ind.name, a.raw
                ),
                format!(
                    "\"{}\": the actual \"{}\" is a comparison, not a measured value.",
                    ind.name, a.raw
                ),
            );
        }
    }
}

fn text_where_number_expected(ctx: &mut Ctx) {
    for (i, ind) in ctx.form.indicators.iter().enumerate() {
        if ind.target.kind == ValueKind::Quantity && ind.actual.kind == ValueKind::Qualitative {
            ctx.emit(
                indicator_loc(i, ind, "实际完成值", "actual"),
                format!("a number comparable with {}", ind.target.raw),
                ind.actual.raw.clone(),
                String::new(),
                format!(
                    "“{}”指标值为数量（{}），实际完成值却为文字“{}”，无法核对。",
                    ind.name, ind.target.raw, ind.actual.raw
                ),
                format!(
                    "\"{}\": the target is a number ({}) but the actual is text (\"{}\").",
                    ind.name, ind.target.raw, ind.actual.raw
                ),
            );
        }
    }
}

/// Units that count the same thing.
fn same_unit(a: &str, b: &str) -> bool {
    const SAME: &[(&str, &str)] = &[
        ("月", "个月"),
        ("天", "日"),
        ("场", "场次"),
        ("次", "场次"),
        ("元", "万元"),
        ("万元", "亿元"),
    ];
    a == b
        || SAME
            .iter()
            .any(|(x, y)| (a, b) == (*x, *y) || (a, b) == (*y, *x))
}

/// `missing_only`: the actual has no unit while the target has one (info);
/// otherwise: both differ, or only the actual has one (warning).
fn unit_mismatch(ctx: &mut Ctx, missing_only: bool) {
    for (i, ind) in ctx.form.indicators.iter().enumerate() {
        let (t, a) = (&ind.target, &ind.actual);
        if t.kind != ValueKind::Quantity || a.kind != ValueKind::Quantity {
            continue;
        }
        let hit = if missing_only {
            !t.unit.is_empty() && a.unit.is_empty()
        } else {
            !a.unit.is_empty() && !same_unit(&t.unit, &a.unit)
        };
        if hit {
            ctx.emit(
                indicator_loc(i, ind, "实际完成值", "actual.unit"),
                if t.unit.is_empty() {
                    "（无单位）".into()
                } else {
                    t.unit.clone()
                },
                if a.unit.is_empty() {
                    "（无单位）".into()
                } else {
                    a.unit.clone()
                },
                String::new(),
                format!(
                    "“{}”指标值“{}”与实际完成值“{}”计量单位不一致。",
                    ind.name, t.raw, a.raw
                ),
                format!(
                    "\"{}\": target \"{}\" and actual \"{}\" are not in the same unit.",
                    ind.name, t.raw, a.raw
                ),
            );
        }
    }
}

/// Cost indicators (成本指标), with their row index.
fn cost_indicators(form: &Form) -> impl Iterator<Item = (usize, &Indicator)> {
    form.indicators
        .iter()
        .enumerate()
        .filter(|(_, ind)| ind.level1.contains("成本") || ind.level2.contains("成本"))
}

fn in_wan_yuan(m: &jixiao_form::Measure) -> Option<Decimal> {
    match m.unit.as_str() {
        "万元" => m.value,
        "元" => m.value.map(|v| v / Decimal::from(10_000)),
        _ => None,
    }
}

fn cost_target_above_budget(ctx: &mut Ctx) {
    if ctx.form.kind != FormKind::Project {
        return;
    }
    let Some(total) = ctx.form.funds.total() else {
        return;
    };
    let Some(budget) = [total.initial_budget, total.full_year_budget]
        .into_iter()
        .flatten()
        .max()
    else {
        return;
    };
    for (i, ind) in cost_indicators(ctx.form) {
        let Some(target) = in_wan_yuan(&ind.target) else {
            continue;
        };
        if target > budget {
            ctx.emit(
                indicator_loc(i, ind, "年度指标值", "target"),
                format!("≤ {budget}万元"),
                ind.target.raw.clone(),
                (target - budget).to_string(),
                format!(
                    "成本指标“{}”的指标值 {} 高于本项目预算 {budget} 万元。",
                    ind.name, ind.target.raw
                ),
                format!(
                    "Cost target \"{}\" ({}) is above the project's budget {budget}.",
                    ind.name, ind.target.raw
                ),
            );
        }
    }
}

fn cost_actual_above_executed(ctx: &mut Ctx) {
    if ctx.form.kind != FormKind::Project {
        return;
    }
    let Some(executed) = ctx.form.funds.total().and_then(|t| t.executed) else {
        return;
    };
    for (i, ind) in cost_indicators(ctx.form) {
        let Some(actual) = in_wan_yuan(&ind.actual) else {
            continue;
        };
        if actual > executed + half_unit(executed) {
            ctx.emit(
                indicator_loc(i, ind, "实际完成值", "actual"),
                format!("≤ {executed}万元"),
                ind.actual.raw.clone(),
                (actual - executed).to_string(),
                format!(
                    "成本指标“{}”实际完成值 {} 高于资金执行数 {executed} 万元。",
                    ind.name, ind.actual.raw
                ),
                format!(
                    "Cost indicator \"{}\" reports {} spent; the fund block says {executed}.",
                    ind.name, ind.actual.raw
                ),
            );
        }
    }
}

// ---- narrative ----

/// The form's own report states its budget, spending and rate: they must be the table's.
fn narrative_funds(ctx: &mut Ctx) {
    let form = ctx.form;
    let text = &form.narrative;
    if text.is_empty() || form.kind != FormKind::Project {
        return;
    }
    let Some((ti, total)) = form
        .funds
        .rows
        .iter()
        .enumerate()
        .find(|(_, r)| r.source == FundSource::Total)
    else {
        return;
    };
    let checks: [(&[&str], Option<Decimal>, &str, &str); 3] = [
        (
            &["年初预算", "年初预算数", "年初预算为", "年初预算数为"],
            total.initial_budget,
            "年初预算数",
            "initial_budget",
        ),
        (
            &["实际支出", "全年支出", "实际执行", "执行金额"],
            total.executed,
            "全年执行数",
            "executed",
        ),
        (
            &["预算收入", "全年预算", "调整后预算"],
            total.full_year_budget,
            "全年预算数",
            "full_year_budget",
        ),
    ];
    let found_in_text = narrative::amounts(text);
    for (labels, table, column, field) in checks {
        let (Some(found), Some(table)) = (narrative::amount_after(&found_in_text, labels), table)
        else {
            continue;
        };
        if (found.value - table).abs() > half_unit(found.value) {
            ctx.emit(
                loc(
                    "narrative",
                    "绩效自评报告",
                    column,
                    format!("funds.rows[{ti}].{field}"),
                ),
                table.to_string(),
                found.written.clone(),
                (found.value - table).to_string(),
                format!(
                    "自评报告写“…{}{}”，表中{column}为 {table} 万元。",
                    found.before, found.written
                ),
                format!(
                    "The report says \"{}{}\"; the table's {column} is {table}.",
                    found.before, found.written
                ),
            );
        }
    }
    let stated = parse_percent(&form.funds.stated_execution_rate).ok();
    let computed = total
        .full_year_budget
        .zip(total.executed)
        .filter(|(b, _)| !b.is_zero())
        .map(|(b, e)| e / b * HUNDRED);
    if let (Some((rate, written)), Some(actual)) = (
        narrative::rate_after(text, &["预算执行率", "执行率"]),
        computed.or(stated),
    ) {
        if !written_as(rate, actual) {
            ctx.emit(
                loc(
                    "narrative",
                    "绩效自评报告",
                    "执行率",
                    "funds.stated_execution_rate".into(),
                ),
                format!("{}%", round2(actual)),
                written.clone(),
                round2(rate - actual).to_string(),
                format!("自评报告写“{written}”，表中执行率为 {}%。", round2(actual)),
                format!(
                    "The report says \"{written}\"; the table's execution rate is {}%.",
                    round2(actual)
                ),
            );
        }
    }
}

/// An amount in the report or goals text that is an indicator's amount with a
/// digit slipped (×10, ×100): `14000万元` in the text against `1400万元` in the table.
fn narrative_magnitude(ctx: &mut Ctx) {
    let form = ctx.form;
    let amounts: Vec<(usize, Decimal)> = form
        .indicators
        .iter()
        .enumerate()
        .filter_map(|(i, ind)| in_wan_yuan(&ind.actual).map(|v| (i, v)))
        .collect();
    if amounts.is_empty() {
        return;
    }
    // Each text is read once, whatever the number of indicators.
    let found: Vec<(&str, narrative::TextAmount)> = narrative::texts(form)
        .flat_map(|(section, text)| {
            narrative::amounts(text)
                .into_iter()
                .map(move |a| (section, a))
        })
        .collect();
    for (i, table) in amounts {
        let ind = &form.indicators[i];
        for (section, a) in found
            .iter()
            .filter(|(_, a)| narrative::magnitude_slip(a.value, table))
        {
            let place = if *section == "goals" {
                "年度总体目标"
            } else {
                "自评报告"
            };
            ctx.emit(
                indicator_loc(i, ind, "实际完成值", "actual"),
                format!("{table}万元"),
                a.written.clone(),
                String::new(),
                format!("“{}”表中实际完成值 {}，{place}中写作“…{}{}”，相差一个数量级。", ind.name, ind.actual.raw, a.before, a.written),
                format!(
                    "\"{}\": the table says {}, the {section} text says \"{}{}\": a power of ten apart.",
                    ind.name, ind.actual.raw, a.before, a.written
                ),
            );
        }
    }
}

//! The batch summary: per unit, per region and overall — forms, amounts,
//! execution rate, stated against recomputed 总分 (score inflation), findings
//! by severity and rule, grades. Built one record at a time in bounded memory.

use std::collections::BTreeMap;

use jixiao_form::FormKind;
use rust_decimal::Decimal;

use crate::ExportRecord;

/// The figures of one group of forms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupSummary {
    /// Unit or region name; empty for the whole batch.
    pub key: String,
    pub forms: u64,
    /// Forms by kind: project / department / department_basic_data.
    pub kinds: BTreeMap<String, u64>,
    /// 项目支出 forms with both amounts of their 年度资金总额 row. Department
    /// forms contain their projects, so their amounts are not added again.
    pub forms_with_amounts: u64,
    /// Σ 全年预算数 (万元) of those forms.
    pub full_year_budget: Decimal,
    /// Σ 全年执行数 (万元) of those forms.
    pub executed: Decimal,
    /// Forms with both a stated and a recomputed 总分.
    pub compared_forms: u64,
    pub stated_total_sum: Decimal,
    pub recomputed_total_sum: Decimal,
    /// severity name → findings.
    pub findings_by_severity: BTreeMap<String, u64>,
    /// rule id → findings.
    pub findings_by_rule: BTreeMap<String, u64>,
    /// 优 / 良 / 中 / 差 → forms (recomputed grade).
    pub grades: BTreeMap<String, u64>,
}

impl GroupSummary {
    fn named(key: &str) -> Self {
        GroupSummary {
            key: key.to_string(),
            ..Default::default()
        }
    }

    fn add(&mut self, r: &ExportRecord) {
        self.forms += 1;
        *self.kinds.entry(r.form.kind.as_str().into()).or_default() += 1;
        if r.form.kind == FormKind::Project {
            if let (Some(b), Some(e)) = r.budget_and_executed() {
                self.forms_with_amounts += 1;
                self.full_year_budget += b;
                self.executed += e;
            }
        }
        if let Some(card) = &r.card {
            if let (Some(s), Some(c)) = (card.stated_total, card.recomputed_total) {
                self.compared_forms += 1;
                self.stated_total_sum += s;
                self.recomputed_total_sum += c;
            }
            if !card.grade.is_empty() {
                *self.grades.entry(card.grade.clone()).or_default() += 1;
            }
        }
        for f in &r.findings {
            *self
                .findings_by_severity
                .entry(f.severity.as_str().into())
                .or_default() += 1;
            *self.findings_by_rule.entry(f.rule_id.clone()).or_default() += 1;
        }
    }

    /// Σ executed / Σ budget as a fraction (4 places).
    pub fn execution_rate(&self) -> Option<Decimal> {
        (self.full_year_budget > Decimal::ZERO)
            .then(|| (self.executed / self.full_year_budget).round_dp(4))
    }

    fn mean(&self, sum: Decimal) -> Option<Decimal> {
        (self.compared_forms > 0).then(|| (sum / Decimal::from(self.compared_forms)).round_dp(2))
    }

    pub fn mean_stated_total(&self) -> Option<Decimal> {
        self.mean(self.stated_total_sum)
    }

    pub fn mean_recomputed_total(&self) -> Option<Decimal> {
        self.mean(self.recomputed_total_sum)
    }

    /// Mean of stated − recomputed 总分: how much forms overstate their score.
    pub fn mean_inflation(&self) -> Option<Decimal> {
        self.mean(self.stated_total_sum - self.recomputed_total_sum)
    }

    pub fn findings(&self) -> u64 {
        self.findings_by_severity.values().sum()
    }

    pub fn findings_of(&self, severity: &str) -> u64 {
        self.findings_by_severity
            .get(severity)
            .copied()
            .unwrap_or(0)
    }
}

/// The summary of a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchSummary {
    pub overall: GroupSummary,
    /// By 预算单位, sorted by name.
    pub units: Vec<GroupSummary>,
    /// By region path, sorted.
    pub regions: Vec<GroupSummary>,
}

#[derive(Debug, Default)]
pub struct SummaryBuilder {
    overall: GroupSummary,
    units: BTreeMap<String, GroupSummary>,
    regions: BTreeMap<String, GroupSummary>,
}

impl SummaryBuilder {
    pub fn add(&mut self, r: &ExportRecord) {
        self.overall.add(r);
        self.units
            .entry(r.unit().to_string())
            .or_insert_with(|| GroupSummary::named(r.unit()))
            .add(r);
        self.regions
            .entry(r.region().to_string())
            .or_insert_with(|| GroupSummary::named(r.region()))
            .add(r);
    }

    pub fn finish(self) -> BatchSummary {
        BatchSummary {
            overall: self.overall,
            units: self.units.into_values().collect(),
            regions: self.regions.into_values().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{d, record};

    #[test]
    fn groups_add_up_by_unit_and_region() {
        let mut b = SummaryBuilder::default();
        let a1 = record("s1", "甲局", "100", "90");
        let mut a2 = record("s2", "甲局", "50.5", "50.5");
        a2.card.as_mut().unwrap().recomputed_total = Some(d("100"));
        a2.card.as_mut().unwrap().grade = "优".into();
        a2.findings.clear();
        let mut b1 = record("s3", "乙局", "0", "0");
        b1.form.units.region = "湖南省/岳阳市".into();
        for r in [&a1, &a2, &b1] {
            b.add(r);
        }
        let s = b.finish();
        assert_eq!(s.overall.forms, 3);
        assert_eq!(s.overall.full_year_budget, d("150.5"));
        assert_eq!(s.overall.executed, d("140.5"));
        // 140.5 / 150.5 = 0.93355…
        assert_eq!(s.overall.execution_rate(), Some(d("0.9336")));
        let units: Vec<&str> = s.units.iter().map(|u| u.key.as_str()).collect();
        assert_eq!(units, ["乙局", "甲局"]);
        let jia = &s.units[1];
        // Stated 100 and 100; recomputed 77.50 and 100: inflation (22.50 + 0) / 2.
        assert_eq!(jia.mean_stated_total(), Some(d("100")));
        assert_eq!(jia.mean_recomputed_total(), Some(d("88.75")));
        assert_eq!(jia.mean_inflation(), Some(d("11.25")));
        assert_eq!(jia.grades.get("中"), Some(&1));
        assert_eq!(jia.grades.get("优"), Some(&1));
        assert_eq!(jia.findings(), 2);
        assert_eq!(jia.findings_of("error"), 1);
        // A zero budget gives no rate rather than a division by zero.
        assert_eq!(s.units[0].execution_rate(), None);
        let regions: Vec<(&str, u64)> = s
            .regions
            .iter()
            .map(|r| (r.key.as_str(), r.forms))
            .collect();
        assert_eq!(regions, [("湖南省/岳阳市", 1), ("湖南省/株洲市", 2)]);
        assert_eq!(s.overall.findings_by_rule.get("score.inflated"), Some(&2));
    }

    #[test]
    fn department_amounts_are_not_added_to_their_projects() {
        let mut b = SummaryBuilder::default();
        let mut dept = record("s1", "甲局", "1000", "900");
        dept.form.kind = FormKind::Department;
        b.add(&dept);
        b.add(&record("s2", "甲局", "100", "90"));
        let s = b.finish();
        assert_eq!(s.overall.full_year_budget, d("100"));
        assert_eq!(s.overall.kinds.get("department"), Some(&1));
        assert_eq!(s.overall.forms_with_amounts, 1);
    }
}

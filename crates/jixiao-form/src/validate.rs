use rust_decimal::Decimal;

use crate::model::{Form, FormKind};
use crate::number::parse_percent;

/// A field-level problem, named by its path in the wire form (`form.funds.rows[0].executed`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub field: String,
    pub description: String,
}

impl Violation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

const HUNDRED: Decimal = Decimal::ONE_HUNDRED;

/// Checks what a form must satisfy to be stored. Defects a reviewer should see
/// (executed above budget, wrong totals) are not violations: they are audit findings.
pub fn validate(form: &Form) -> Vec<Violation> {
    let mut v = Vec::new();
    if form.kind == FormKind::Unspecified {
        v.push(Violation::new(
            "form.kind",
            "is required: FORM_KIND_PROJECT, FORM_KIND_DEPARTMENT or FORM_KIND_DEPARTMENT_BASIC_DATA",
        ));
    }
    if !(2000..=2100).contains(&form.fiscal_year) {
        v.push(Violation::new(
            "form.fiscal_year",
            format!(
                "must be a year between 2000 and 2100, got {}",
                form.fiscal_year
            ),
        ));
    }
    if form.units.primary().is_empty() {
        v.push(Violation::new(
            "form.units.budget_unit",
            "is required (or competent_department / implementing_unit)",
        ));
    }
    if form.kind == FormKind::Project && form.project_name.trim().is_empty() {
        v.push(Violation::new(
            "form.project_name",
            "is required on a project form (项目支出名称)",
        ));
    }
    for (i, row) in form.funds.rows.iter().enumerate() {
        for (column, amount) in [
            ("initial_budget", row.initial_budget),
            ("full_year_budget", row.full_year_budget),
            ("executed", row.executed),
        ] {
            if amount.is_some_and(|a| a.is_sign_negative() && !a.is_zero()) {
                v.push(Violation::new(
                    format!("form.funds.rows[{i}].{column}"),
                    format!("must not be negative, got {}", amount.unwrap_or_default()),
                ));
            }
        }
    }
    // The field is named only for a violation: most forms have none.
    let mut points = |field: &dyn Fn() -> String, value: Option<Decimal>| {
        if let Some(x) = value {
            if x < Decimal::ZERO || x > HUNDRED {
                v.push(Violation::new(
                    field(),
                    format!("must be between 0 and 100, got {x}"),
                ));
            }
        }
    };
    points(&|| "form.funds.weight".into(), form.funds.weight);
    points(
        &|| "form.funds.stated_score".into(),
        form.funds.stated_score,
    );
    points(&|| "form.stated_total".into(), form.stated_total);
    for (i, ind) in form.indicators.iter().enumerate() {
        points(&|| format!("form.indicators[{i}].weight"), ind.weight);
        points(
            &|| format!("form.indicators[{i}].self_score"),
            ind.self_score,
        );
    }
    for (i, s) in form.section_weights.iter().enumerate() {
        points(
            &|| format!("form.section_weights[{i}].weight"),
            Some(s.weight),
        );
    }
    let rate = form.funds.stated_execution_rate.trim();
    if !rate.is_empty() {
        match parse_percent(rate) {
            Ok(r) if r.is_sign_negative() && !r.is_zero() => v.push(Violation::new(
                "form.funds.stated_execution_rate",
                format!("must not be negative, got {rate}"),
            )),
            Ok(_) => {}
            Err(reason) => v.push(Violation::new(
                "form.funds.stated_execution_rate",
                format!("{reason}: expected a rate such as 93.75%, got {rate:?}"),
            )),
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use std::str::FromStr;

    fn valid() -> Form {
        Form {
            kind: FormKind::Project,
            project_name: "行政运行（其他）经费".into(),
            units: Units {
                budget_unit: "株洲市工业和信息化局".into(),
                ..Units::default()
            },
            fiscal_year: 2024,
            ..Form::default()
        }
    }

    #[test]
    fn a_minimal_project_form_is_valid() {
        assert_eq!(validate(&valid()), vec![]);
    }

    #[test]
    fn names_each_bad_field() {
        let mut f = valid();
        f.kind = FormKind::Unspecified;
        f.fiscal_year = 24;
        f.funds.rows.push(FundRow {
            executed: Some(Decimal::from_str("-1").unwrap()),
            ..FundRow::default()
        });
        f.indicators.push(Indicator {
            self_score: Some(Decimal::from(101)),
            ..Indicator::default()
        });
        f.funds.stated_execution_rate = "九成".into();
        let fields: Vec<_> = validate(&f).into_iter().map(|v| v.field).collect();
        assert_eq!(
            fields,
            [
                "form.kind",
                "form.fiscal_year",
                "form.funds.rows[0].executed",
                "form.indicators[0].self_score",
                "form.funds.stated_execution_rate"
            ]
        );
    }

    #[test]
    fn project_name_required_on_project_forms_only() {
        let mut f = valid();
        f.project_name = " ".into();
        assert_eq!(validate(&f)[0].field, "form.project_name");
        f.kind = FormKind::Department;
        assert!(validate(&f).is_empty());
    }
}

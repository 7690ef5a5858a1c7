#![allow(dead_code)]

use std::str::FromStr;

use jixiao_form::{parse_measure, Form, FormKind, FundBlock, FundRow, FundSource, Indicator};
use jixiao_scoring::{builtin_rulebooks, Rulebook};
use rust_decimal::Decimal;

pub fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

pub fn book(id: &str) -> Rulebook {
    builtin_rulebooks()
        .unwrap()
        .into_iter()
        .find(|b| b.id == id)
        .unwrap()
}

/// The national default with one setting changed, as a province would.
pub fn variant(from: &str, to: &str) -> Rulebook {
    let text = include_str!("../../rulebooks/cn-national-default.toml");
    assert!(text.contains(from), "{from}");
    Rulebook::from_toml("variant.toml", &text.replace(from, to)).unwrap()
}

pub fn row(target: &str, actual: &str, weight: &str, score: &str) -> Indicator {
    Indicator {
        name: format!("{target} → {actual}"),
        target: parse_measure(target),
        actual: parse_measure(actual),
        weight: Some(d(weight)),
        self_score: (!score.is_empty()).then(|| d(score)),
        ..Indicator::default()
    }
}

/// A project form with a total fund row (initial, full-year, executed) and these rows.
pub fn form(funds: (&str, &str, &str), rows: Vec<Indicator>) -> Form {
    let opt = |s: &str| (!s.is_empty()).then(|| d(s));
    Form {
        kind: FormKind::Project,
        funds: FundBlock {
            rows: vec![FundRow {
                source: FundSource::Total,
                label: "年度资金总额".into(),
                initial_budget: opt(funds.0),
                full_year_budget: opt(funds.1),
                executed: opt(funds.2),
            }],
            weight: Some(d("10")),
            stated_execution_rate: String::new(),
            stated_score: Some(d("10")),
        },
        indicators: rows,
        ..Form::default()
    }
}

//! Arithmetic invariants of the engine over generated inputs.

mod common;

use common::{book, form, row};
use jixiao_form::{parse_measure, Indicator};
use jixiao_scoring::{score_form, LineStatus};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn amount() -> impl Strategy<Value = Decimal> {
    (0i64..10_000_000).prop_map(|c| Decimal::new(c, 2))
}

fn weight() -> impl Strategy<Value = Decimal> {
    (1i64..=5000).prop_map(|c| Decimal::new(c, 2))
}

fn ind(target: &str, actual: Decimal, unit: &str, w: Decimal) -> Indicator {
    Indicator {
        target: parse_measure(target),
        actual: parse_measure(&format!("{actual}{unit}")),
        weight: Some(w),
        self_score: Some(w),
        ..row("/", "/", "1", "1")
    }
}

fn score_of(target: &str, actual: Decimal, w: Decimal, book_id: &str) -> Decimal {
    let card = score_form(
        &form(("1", "1", "1"), vec![ind(target, actual, "个", w)]),
        "",
        &book(book_id),
    );
    assert_eq!(
        card.lines[1].status,
        LineStatus::Scored,
        "{}",
        card.lines[1].explanation
    );
    card.lines[1].recomputed_score.unwrap()
}

const BOOKS: [&str; 3] = [
    "cn-national-default",
    "example-province-2023",
    "explain-overachievement",
];

proptest! {
    #[test]
    fn every_score_lies_within_zero_and_its_weight(
        t in amount(), a in amount(), w in weight(), dir in 0usize..5, b in 0usize..3,
    ) {
        let sym = ["≥", "≤", "=", ">", "<"][dir];
        let s = score_of(&format!("{sym}{t}个"), a, w, BOOKS[b]);
        prop_assert!(s >= Decimal::ZERO && s <= w, "{} not in 0..={}", s, w);
    }

    #[test]
    fn at_least_rows_are_monotone_in_the_actual(t in amount(), a1 in amount(), a2 in amount(), w in weight()) {
        let (lo, hi) = (a1.min(a2), a1.max(a2));
        let target = format!("≥{t}个");
        prop_assert!(score_of(&target, lo, w, "cn-national-default") <= score_of(&target, hi, w, "cn-national-default"));
    }

    #[test]
    fn at_most_rows_are_antitone_in_the_actual(t in amount(), a1 in amount(), a2 in amount(), w in weight(), b in 0usize..2) {
        let (lo, hi) = (a1.min(a2), a1.max(a2));
        let target = format!("≤{t}个");
        prop_assert!(score_of(&target, lo, w, BOOKS[b]) >= score_of(&target, hi, w, BOOKS[b]));
    }

    #[test]
    fn execution_score_lies_within_its_weight_when_capped(budget in amount(), executed in amount()) {
        let card = score_form(&form(("1", &budget.to_string(), &executed.to_string()), vec![]), "", &book("cn-national-default"));
        if let Some(s) = card.lines[0].recomputed_score {
            prop_assert!(s >= Decimal::ZERO && s <= Decimal::TEN);
        }
    }

    #[test]
    fn the_total_is_the_sum_of_lines_unless_capped_or_rescaled(
        rows in proptest::collection::vec((amount(), amount(), weight()), 0..12),
    ) {
        let inds: Vec<Indicator> = rows.iter().map(|(t, a, w)| ind(&format!("≥{t}个"), *a, "个", *w)).collect();
        let card = score_form(&form(("1", "1", "1"), inds), "", &book("cn-national-default"));
        let sum: Decimal = card.lines.iter().filter_map(|l| l.recomputed_score).sum();
        prop_assert_eq!(card.recomputed_total, Some(jixiao_form::round2(sum)));
    }
}

#[test]
fn a_not_applicable_actual_never_panics() {
    let card = score_form(
        &form(
            ("1", "1", "1"),
            vec![Indicator {
                actual: parse_measure("/"),
                ..ind("≥1个", Decimal::ONE, "个", Decimal::ONE)
            }],
        ),
        "",
        &book("cn-national-default"),
    );
    assert_eq!(card.lines[1].status, LineStatus::Unverifiable);
}

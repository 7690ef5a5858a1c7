//! The default catalogue over the two real submissions reports exactly the
//! hand-checked findings in expected-findings.tsv: no misses, no false alarms.

use jixiao_audit::{audit_form, builtin_catalogue};
use jixiao_scoring::{builtin_rulebooks, score_form, Rulebooks, DEFAULT_RULEBOOK_ID};

#[test]
fn sample_submissions_yield_exactly_the_hand_checked_findings() {
    let books = Rulebooks::new(builtin_rulebooks().unwrap(), DEFAULT_RULEBOOK_ID).unwrap();
    let catalogue = builtin_catalogue().unwrap();
    let mut actual = Vec::new();
    for name in ["yueyang-gxj-2023.txt", "zhuzhou-gxj-2024.txt"] {
        let path = format!(
            "{}/../jixiao-parse/tests/samples/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let bytes = std::fs::read(path).unwrap();
        for form in jixiao_parse::parse_text(name, &bytes).unwrap().forms {
            let card = score_form(&form, "", books.select("", form.fiscal_year).unwrap());
            for f in audit_form(&form, &card, &catalogue) {
                actual.push(format!(
                    "{name}:{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    form.origin.first_line,
                    f.rule_id,
                    f.location.path,
                    f.expected,
                    f.stated,
                    f.difference,
                    f.location.row
                ));
            }
        }
    }
    let expected: Vec<String> = include_str!("expected-findings.tsv")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(String::from)
        .collect();
    let missing: Vec<_> = expected.iter().filter(|e| !actual.contains(e)).collect();
    let extra: Vec<_> = actual.iter().filter(|a| !expected.contains(a)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing: {missing:#?}\nextra: {extra:#?}"
    );
    assert_eq!(actual.len(), expected.len());
}

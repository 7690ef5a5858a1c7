//! Per-form audit throughput, one core, on the 37 real forms with their
//! scorecards: `cargo bench -p jixiao-audit --bench audit`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use jixiao_audit::{audit_form, builtin_catalogue};
use jixiao_scoring::{builtin_rulebooks, score_form};

fn main() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../jixiao-parse/tests/samples");
    let rb = &builtin_rulebooks().expect("rulebooks")[0];
    let catalogue = builtin_catalogue().expect("catalogue");
    let mut cases = Vec::new();
    for name in ["zhuzhou-gxj-2024.txt", "yueyang-gxj-2023.txt"] {
        let bytes = std::fs::read(format!("{dir}/{name}")).expect("sample");
        for form in jixiao_parse::parse_text(name, &bytes)
            .expect("parses")
            .forms
        {
            let card = score_form(&form, "", rb);
            cases.push((form, card));
        }
    }
    let mut best = f64::MAX;
    let mut findings = 0;
    for _ in 0..5 {
        let start = Instant::now();
        let mut audited = 0u64;
        while start.elapsed() < Duration::from_millis(500) {
            findings = 0;
            for (form, card) in &cases {
                findings += black_box(audit_form(black_box(form), card, &catalogue)).len();
            }
            audited += cases.len() as u64;
        }
        best = best.min(start.elapsed().as_secs_f64() / audited as f64);
    }
    println!(
        "audit_form ({} rules, {findings} findings on {} forms): {:.2} µs per form; {:.0} forms/s",
        catalogue.rules.len(),
        cases.len(),
        best * 1e6,
        1.0 / best
    );
}

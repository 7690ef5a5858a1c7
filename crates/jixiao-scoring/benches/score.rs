//! Scoring throughput, one core, on the 37 real forms of the samples:
//! `cargo bench -p jixiao-scoring --bench score`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use jixiao_scoring::{builtin_rulebooks, score_form};

fn main() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../jixiao-parse/tests/samples");
    let mut forms = Vec::new();
    for name in ["zhuzhou-gxj-2024.txt", "yueyang-gxj-2023.txt"] {
        let bytes = std::fs::read(format!("{dir}/{name}")).expect("sample");
        forms.extend(
            jixiao_parse::parse_text(name, &bytes)
                .expect("parses")
                .forms,
        );
    }
    let books = builtin_rulebooks().expect("rulebooks");
    for book in &books {
        let mut best = f64::MAX;
        for _ in 0..5 {
            let start = Instant::now();
            let mut scored = 0u64;
            while start.elapsed() < Duration::from_millis(500) {
                for f in &forms {
                    black_box(score_form(black_box(f), "digest", book));
                }
                scored += forms.len() as u64;
            }
            best = best.min(start.elapsed().as_secs_f64() / scored as f64);
        }
        println!(
            "score_form [{}]: {:.2} µs per form; {:.0} forms/s",
            book.id,
            best * 1e6,
            1.0 / best
        );
    }
}

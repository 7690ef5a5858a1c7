//! Text-export parsing throughput on the real samples, one core:
//! `cargo bench -p jixiao-parse --bench parse`.

use std::hint::black_box;
use std::time::{Duration, Instant};

fn main() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/samples");
    let files: Vec<(String, Vec<u8>)> = ["zhuzhou-gxj-2024.txt", "yueyang-gxj-2023.txt"]
        .iter()
        .map(|n| {
            (
                n.to_string(),
                std::fs::read(format!("{dir}/{n}")).expect("sample"),
            )
        })
        .collect();
    let bytes: usize = files.iter().map(|(_, b)| b.len()).sum();
    // Warm up, then run for a fixed time and report the best of 5 rounds.
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        let mut rounds = 0u64;
        while start.elapsed() < Duration::from_secs(1) {
            for (name, b) in &files {
                black_box(jixiao_parse::parse_text(name, black_box(b)).expect("parses"));
            }
            rounds += 1;
        }
        best = best.min(start.elapsed().as_secs_f64() / rounds as f64);
    }
    let forms: usize = files
        .iter()
        .map(|(n, b)| {
            jixiao_parse::parse_text(n, b)
                .map(|p| p.forms.len())
                .unwrap_or(0)
        })
        .sum();
    println!(
        "parse_text: {} bytes, {forms} forms per round; {:.1} µs per round; {:.1} MB/s; {:.0} forms/s",
        bytes,
        best * 1e6,
        bytes as f64 / best / 1e6,
        forms as f64 / best
    );
}

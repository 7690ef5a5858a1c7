//! Prints what the parser reads from text exports: `cargo run -p jixiao-parse --example dump FILE...`.
fn main() {
    for path in std::env::args().skip(1) {
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        match jixiao_parse::parse_document(&path, &bytes) {
            Ok(parsed) => {
                for f in &parsed.forms {
                    println!("{}", serde_json::to_string_pretty(f).unwrap_or_default());
                }
                for d in &parsed.diagnostics {
                    println!("document: {d:?}");
                }
            }
            Err(e) => eprintln!("{e}"),
        }
    }
}

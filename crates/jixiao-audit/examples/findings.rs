//! Prints the findings of every form in text exports, one per line:
//! `cargo run -p jixiao-audit --example findings FILE...`.
fn main() {
    let books = jixiao_scoring::Rulebooks::new(
        jixiao_scoring::builtin_rulebooks().expect("rulebooks"),
        jixiao_scoring::DEFAULT_RULEBOOK_ID,
    )
    .expect("default rulebook");
    let catalogue = jixiao_audit::builtin_catalogue().expect("catalogue");
    for path in std::env::args().skip(1) {
        let bytes = std::fs::read(&path).expect("readable file");
        let name = path.rsplit('/').next().unwrap_or(&path).to_string();
        for form in jixiao_parse::parse_text(&name, &bytes).expect("text").forms {
            let rb = books.select("", form.fiscal_year).expect("rulebook");
            let card = jixiao_scoring::score_form(&form, "", rb);
            for f in jixiao_audit::audit_form(&form, &card, &catalogue) {
                println!(
                    "{name}:{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    form.origin.first_line,
                    f.rule_id,
                    f.location.path,
                    f.expected,
                    f.stated,
                    f.difference,
                    f.location.row
                );
            }
        }
    }
}

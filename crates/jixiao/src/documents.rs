//! Reading documents on the client side, for the subcommands that send forms
//! to the pure RPCs (ScoreForm, AuditForm) rather than storing them.

use jixiao_proto::v1;

/// A form found in a file, where it was found, and what the parser noted.
pub struct FoundForm {
    pub place: String,
    pub title: String,
    pub form: v1::Form,
}

/// Every form of every file; unreadable files and parser notes are printed.
pub fn read(files: &[std::path::PathBuf]) -> (Vec<FoundForm>, bool) {
    let mut out = Vec::new();
    let mut ok = true;
    for path in files {
        let name = path.display().to_string();
        let parsed = std::fs::read(path)
            .map_err(|e| format!("cannot read: {e}"))
            .and_then(|bytes| jixiao_parse::parse_document(&name, &bytes).map_err(|e| e.reason));
        let parsed = match parsed {
            Ok(p) => p,
            Err(reason) => {
                println!("{name}: {reason}");
                ok = false;
                continue;
            }
        };
        for d in &parsed.diagnostics {
            println!("{name}:{}: {}: {}", d.line, d.code, d.message);
        }
        for f in &parsed.forms {
            let title = if f.project_name.is_empty() {
                format!("{} ({})", f.units.primary(), f.kind.as_str())
            } else {
                f.project_name.clone()
            };
            out.push(FoundForm {
                place: format!("{name}:{}", f.origin.first_line),
                title,
                form: jixiao_proto::convert::form_to_proto(f),
            });
        }
    }
    (out, ok)
}

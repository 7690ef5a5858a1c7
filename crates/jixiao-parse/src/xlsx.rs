//! Spreadsheets (`.xlsx`, `.xls`) through calamine: each sheet's rows as
//! tokens. A row whose only value is a title or a 填表人 / 备注 / 说明 line is
//! text; every other row is a table row. One form per sheet or several.

use calamine::{Data, Reader};

use crate::text::{is_note, is_title};
use crate::Token;

/// (sheet name, its tokens) for every sheet.
pub(crate) fn sheets(bytes: &[u8]) -> Result<Vec<(String, Vec<Token>)>, String> {
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes))
        .map_err(|e| format!("not a readable spreadsheet: {e}"))?;
    let mut out = Vec::new();
    for name in book.sheet_names() {
        let range = book
            .worksheet_range(&name)
            .map_err(|e| format!("sheet {name}: {e}"))?;
        let (first_row, first_col) = range.start().unwrap_or((0, 0));
        let mut tokens = Vec::new();
        for (i, row) in range.rows().enumerate() {
            let line = first_row + i as u32 + 1;
            let mut cells: Vec<String> = row.iter().map(text).collect();
            while cells.last().is_some_and(|c| c.trim().is_empty()) {
                cells.pop();
            }
            let filled: Vec<&String> = cells.iter().filter(|c| !c.trim().is_empty()).collect();
            match filled.as_slice() {
                [] => {}
                [only]
                    if is_title(only).is_some()
                        || is_note(only)
                        || only.trim_start().starts_with("填表人") =>
                {
                    tokens.push(Token::Text {
                        line,
                        text: (*only).clone(),
                    })
                }
                _ => tokens.extend(cells.into_iter().enumerate().map(|(k, text)| Token::Cell {
                    line,
                    text,
                    new_row: k == 0,
                    col: Some(first_col + k as u32),
                })),
            }
        }
        out.push((name, tokens));
    }
    Ok(out)
}

/// A cell as text; numbers in their shortest exact decimal form (418.85, not 418.850000001).
fn text(d: &Data) -> String {
    match d {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{}", *f as i64)
            } else {
                format!("{f}")
            }
        }
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

//! Turns the documents departments send into forms. Every format is first
//! reduced to [`Token`]s (paragraphs and table cells); one assembler then finds
//! the forms in them. What cannot be read becomes a [`Diagnostic`] with its
//! line, never a panic and never a silent drop.

mod assemble;
mod cells;
mod docx;
mod text;
mod xlsx;

pub use jixiao_form::Diagnostic;

use jixiao_form::Form;

/// One piece of a document, in reading order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// A paragraph outside any table.
    Text { line: u32, text: String },
    /// A table cell. `new_row` is true where the format says (or, in the text
    /// export, hints by a blank line) that a table row starts here. `col` is the
    /// cell's column where the format fixes it (spreadsheets).
    Cell {
        line: u32,
        text: String,
        new_row: bool,
        col: Option<u32>,
    },
}

/// The forms a document holds, and what could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    pub forms: Vec<Form>,
    /// Document-level problems (a form that could not be assembled, text that is not a form).
    pub diagnostics: Vec<Diagnostic>,
}

/// Why a document could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentError {
    pub file_name: String,
    pub reason: String,
}

impl std::fmt::Display for DocumentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file_name, self.reason)
    }
}

impl std::error::Error for DocumentError {}

/// Parses the text export of a Word document (cells as tab-led lines, rows
/// separated by blank lines, merged cells as empty cells).
pub fn parse_text(file_name: &str, bytes: &[u8]) -> Result<Parsed, DocumentError> {
    let text = std::str::from_utf8(bytes).map_err(|e| DocumentError {
        file_name: file_name.to_string(),
        reason: format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.valid_up_to()
        ),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    Ok(assemble::assemble(file_name, &text::tokens(text)))
}

/// Parses a Word `.docx` document.
pub fn parse_docx(file_name: &str, bytes: &[u8]) -> Result<Parsed, DocumentError> {
    let tokens = docx::tokens(bytes).map_err(|reason| DocumentError {
        file_name: file_name.to_string(),
        reason,
    })?;
    Ok(assemble::assemble(file_name, &tokens))
}

/// Parses an Excel workbook (`.xlsx` or `.xls`): every sheet, one form or several per sheet.
pub fn parse_spreadsheet(file_name: &str, bytes: &[u8]) -> Result<Parsed, DocumentError> {
    let sheets = xlsx::sheets(bytes).map_err(|reason| DocumentError {
        file_name: file_name.to_string(),
        reason,
    })?;
    let mut parsed = Parsed::default();
    for (sheet, tokens) in sheets {
        let mut p = assemble::assemble(file_name, &tokens);
        for f in &mut p.forms {
            f.origin.sheet = sheet.clone();
            for d in &mut f.diagnostics {
                d.cell = format!("{sheet}!{}", d.line);
            }
        }
        parsed.forms.append(&mut p.forms);
        parsed
            .diagnostics
            .extend(p.diagnostics.into_iter().map(|mut d| {
                d.cell = format!("{sheet}!{}", d.line);
                d
            }));
    }
    // A 基础数据表 on its own sheet takes the department's unit from another sheet.
    assemble::borrow_units(&mut parsed.forms);
    Ok(parsed)
}

/// Parses a document by its name (`.txt`, `.docx`, `.xlsx`, `.xls`) or, failing
/// that, by its content.
pub fn parse_document(file_name: &str, bytes: &[u8]) -> Result<Parsed, DocumentError> {
    let lower = file_name.to_lowercase();
    let zip = bytes.starts_with(b"PK\x03\x04");
    let ole = bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]);
    if lower.ends_with(".docx") || (zip && contains(bytes, b"word/document.xml")) {
        parse_docx(file_name, bytes)
    } else if lower.ends_with(".xlsx")
        || lower.ends_with(".xls")
        || lower.ends_with(".xlsm")
        || zip
        || ole
    {
        parse_spreadsheet(file_name, bytes)
    } else if lower.ends_with(".txt") || std::str::from_utf8(bytes).is_ok() {
        parse_text(file_name, bytes)
    } else {
        Err(DocumentError {
            file_name: file_name.to_string(),
            reason: "unsupported document: expected a .txt export, .docx, .xlsx or .xls".into(),
        })
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

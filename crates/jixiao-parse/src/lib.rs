//! Turns the documents departments send into forms. Every format is first
//! reduced to [`Token`]s (paragraphs and table cells); one assembler then finds
//! the forms in them. What cannot be read becomes a [`Diagnostic`] with its
//! line, never a panic and never a silent drop.

mod assemble;
mod cells;
mod text;

pub use jixiao_form::Diagnostic;

use jixiao_form::Form;

/// One piece of a document, in reading order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// A paragraph outside any table.
    Text { line: u32, text: String },
    /// A table cell. `new_row` is true where the format says (or, in the text
    /// export, hints by a blank line) that a table row starts here.
    Cell {
        line: u32,
        text: String,
        new_row: bool,
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

/// Parses a document by its name (`.txt`) or content.
pub fn parse_document(file_name: &str, bytes: &[u8]) -> Result<Parsed, DocumentError> {
    let lower = file_name.to_lowercase();
    if lower.ends_with(".txt") || lower.ends_with(".text") || std::str::from_utf8(bytes).is_ok() {
        return parse_text(file_name, bytes);
    }
    Err(DocumentError {
        file_name: file_name.to_string(),
        reason: "unsupported document type: expected a .txt export".into(),
    })
}

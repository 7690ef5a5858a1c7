//! Word `.docx`: the paragraphs and tables of `word/document.xml` as tokens.
//! Each `w:tc` is one cell (a `gridSpan` cell is still one cell, as in the
//! text export); a `vMerge` continuation is an empty cell, the merged text
//! staying with the cell that starts the merge.

use std::io::Read;

use quick_xml::events::Event;

use crate::Token;

/// Largest `document.xml` read (a guard against zip bombs).
const MAX_XML_BYTES: u64 = 64 << 20;

pub(crate) fn tokens(bytes: &[u8]) -> Result<Vec<Token>, String> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("not a .docx (zip) file: {e}"))?;
    let entry = zip
        .by_name("word/document.xml")
        .map_err(|_| "no word/document.xml inside: not a Word document".to_string())?;
    let mut xml = String::new();
    entry
        .take(MAX_XML_BYTES + 1)
        .read_to_string(&mut xml)
        .map_err(|e| format!("word/document.xml is not UTF-8 XML: {e}"))?;
    if xml.len() as u64 > MAX_XML_BYTES {
        return Err(format!(
            "word/document.xml is larger than {MAX_XML_BYTES} bytes"
        ));
    }
    parse_xml(&xml)
}

struct State {
    out: Vec<Token>,
    /// Paragraphs and table rows so far: the "line" of a docx.
    line: u32,
    tables: u32,
    para: String,
    cell: Option<String>,
    cell_paras: u32,
    merged_continue: bool,
    new_row: bool,
}

fn parse_xml(xml: &str) -> Result<Vec<Token>, String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut s = State {
        out: Vec::new(),
        line: 0,
        tables: 0,
        para: String::new(),
        cell: None,
        cell_paras: 0,
        merged_continue: false,
        new_row: false,
    };
    loop {
        let event = reader.read_event().map_err(|e| {
            format!(
                "word/document.xml is not well-formed at byte {}: {e}",
                reader.error_position()
            )
        })?;
        match event {
            Event::Start(e) => start(&mut s, e.local_name().into_inner(), &e),
            Event::Empty(e) => {
                let name = e.local_name().into_inner();
                start(&mut s, name, &e);
                end(&mut s, name);
            }
            Event::End(e) => end(&mut s, e.local_name().into_inner()),
            Event::Text(t) => {
                s.para.push_str(t.as_ref());
            }
            Event::GeneralRef(r) => {
                s.para.push_str(&resolve_entity(r.as_ref()));
            }
            Event::CData(t) => s.para.push_str(t.as_ref()),
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(s.out)
}

fn resolve_entity(name: &str) -> String {
    match name {
        "amp" => "&".into(),
        "lt" => "<".into(),
        "gt" => ">".into(),
        "quot" => "\"".into(),
        "apos" => "'".into(),
        _ => {
            let code = name
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()));
            code.and_then(char::from_u32)
                .map(String::from)
                .unwrap_or_default()
        }
    }
}

fn start(s: &mut State, name: &str, e: &quick_xml::events::BytesStart) {
    match name {
        "tbl" => s.tables += 1,
        "tr" if s.tables == 1 => {
            s.line += 1;
            s.new_row = true;
        }
        "tc" if s.tables == 1 => {
            s.cell = Some(String::new());
            s.cell_paras = 0;
            s.merged_continue = false;
        }
        // <w:vMerge/> or <w:vMerge w:val="continue"/> continues a merge; "restart" starts one.
        "vMerge" if s.tables == 1 => {
            let restart = e
                .attributes()
                .flatten()
                .any(|a| a.key.local_name().into_inner() == "val" && &*a.value == "restart");
            s.merged_continue = !restart;
        }
        "p" => s.para.clear(),
        "tab" => s.para.push(' '),
        "br" | "cr" => s.para.push('\n'),
        _ => {}
    }
}

fn end(s: &mut State, name: &str) {
    match name {
        "tbl" => s.tables = s.tables.saturating_sub(1),
        "p" => {
            let text = std::mem::take(&mut s.para);
            match s.cell.as_mut() {
                Some(cell) if s.tables >= 1 => {
                    if s.cell_paras > 0 {
                        cell.push('\n');
                    }
                    cell.push_str(&text);
                    s.cell_paras += 1;
                }
                _ if s.tables == 0 => {
                    s.line += 1;
                    if !text.trim().is_empty() {
                        s.out.push(Token::Text { line: s.line, text });
                    }
                }
                _ => {}
            }
        }
        "tc" if s.tables == 1 => {
            if let Some(text) = s.cell.take() {
                let text = if s.merged_continue {
                    String::new()
                } else {
                    text
                };
                s.out.push(Token::Cell {
                    line: s.line,
                    text,
                    new_row: s.new_row,
                    col: None,
                });
                s.new_row = false;
            }
        }
        _ => {}
    }
}

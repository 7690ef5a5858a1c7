//! Fuzzing with proptest: arbitrary bytes, and the real samples mutated (lines
//! dropped, duplicated, swapped, tabs and blank lines inserted, cut short), must
//! never panic, and every form found keeps a title line inside the document.

use jixiao_parse::{parse_document, parse_text};
use proptest::prelude::*;

fn sample() -> Vec<String> {
    let text = include_str!("samples/yueyang-gxj-2023.txt");
    // A third of the file keeps each case fast; it still holds several forms.
    text.lines().take(1200).map(String::from).collect()
}

#[derive(Debug, Clone)]
enum Edit {
    Drop(usize),
    Duplicate(usize),
    Swap(usize, usize),
    InsertTab(usize),
    InsertBlank(usize),
    Replace(usize, String),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<usize>().prop_map(Edit::Drop),
        any::<usize>().prop_map(Edit::Duplicate),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Swap(a, b)),
        any::<usize>().prop_map(Edit::InsertTab),
        any::<usize>().prop_map(Edit::InsertBlank),
        (any::<usize>(), "\\PC{0,12}").prop_map(|(a, s)| Edit::Replace(a, s)),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn apply(lines: &mut Vec<String>, e: &Edit) {
    if lines.is_empty() {
        return;
    }
    let n = lines.len();
    match e {
        Edit::Drop(i) => {
            lines.remove(i % n);
        }
        Edit::Duplicate(i) => {
            let l = lines[i % n].clone();
            lines.insert(i % n, l);
        }
        Edit::Swap(a, b) => lines.swap(a % n, b % n),
        Edit::InsertTab(i) => lines.insert(i % n, "\t".into()),
        Edit::InsertBlank(i) => lines.insert(i % n, String::new()),
        Edit::Replace(i, s) => lines[i % n] = s.clone(),
        Edit::Truncate(i) => lines.truncate(i % n),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn mutated_samples_never_panic(edits in proptest::collection::vec(edit(), 1..20)) {
        let mut lines = sample();
        for e in &edits {
            apply(&mut lines, e);
        }
        let text = lines.join("\n");
        let parsed = parse_text("mutated.txt", text.as_bytes()).unwrap();
        let total = lines.len() as u32 + 1;
        for f in &parsed.forms {
            prop_assert!(f.origin.first_line >= 1 && f.origin.first_line <= total);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
                for name in ["x.txt", "x.bin", "x.docx", "x.xlsx", "x.xls"] {
            let _ = parse_document(name, &bytes);
        }
        // The same bytes behind a zip signature reach the .docx and .xlsx readers.
        let mut zipped = b"PK\x03\x04".to_vec();
        zipped.extend(&bytes);
        let _ = parse_document("x.docx", &zipped);
        let _ = parse_document("x.xlsx", &zipped);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "(\\PC|\t|\n|\u{3000}){0,400}") {
        let _ = parse_text("x.txt", text.as_bytes()).unwrap();
    }
}

#[test]
fn invalid_utf8_is_an_error_naming_the_file() {
    let e = parse_text("bad.txt", &[0x32, 0x30, 0xff, 0xfe]).unwrap_err();
    assert_eq!(e.file_name, "bad.txt");
    assert!(e.reason.contains("offset 2"), "{e}");
}

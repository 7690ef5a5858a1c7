#![no_main]
// Any bytes as a spreadsheet: an error or forms, never a panic or a hang.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = jixiao_parse::parse_spreadsheet("fuzz.xlsx", data);
});

#![no_main]
// Any bytes as a text export: an error or forms, never a panic or a hang.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = jixiao_parse::parse_text("fuzz.txt", data);
});

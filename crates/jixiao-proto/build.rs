use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A system protoc is never required: use the vendored one unless PROTOC is set.
    if std::env::var_os("PROTOC").is_none() {
        std::env::set_var("PROTOC", protoc_bin_vendored::protoc_bin_path()?);
    }
    let proto_root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let files: Vec<PathBuf> = ["form.proto", "results.proto", "services.proto"]
        .iter()
        .map(|f| proto_root.join("jixiao/v1").join(f))
        .collect();
    // The protos live outside this crate, so cargo must be told to watch them.
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    println!("cargo:rerun-if-changed=build.rs");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("jixiao_descriptor.bin"))
        .compile_protos(&files, &[proto_root, protoc_bin_vendored::include_path()?])?;
    Ok(())
}

//! Builds the stub: a tiny static, non-PIE executable linked at `STUB_START` (see stub/stub.c).
//! It is compiled with the C compiler the `cc` crate finds, with no libc and no extra Rust
//! target, and embedded into umbra with `include_bytes!`. Its symbol addresses are extracted with
//! goblin into `stub_syms.rs` so the Rust side never hard-codes them.
//!
//! It also builds the guest vDSO (see vdso/vdso.c): a small position-independent shared object
//! that `src/vdso.rs` embeds the same way and the kernel maps into every guest.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let stub_src = PathBuf::from("stub/stub.c");
    println!("cargo:rerun-if-changed=stub/stub.c");
    println!("cargo:rerun-if-changed=stub/stub_abi.h");
    let compiler = cc::Build::new().get_compiler();
    let exe = out.join("umbra-stub");
    let status = Command::new(compiler.path())
        .args([
            "-Os",
            "-nostdlib",
            "-static",
            "-no-pie",
            "-fPIE",
            "-ffreestanding",
            "-fno-stack-protector",
            "-fno-asynchronous-unwind-tables",
            "-fcf-protection=none",
            // The stub runs between guest instructions: it must never touch SSE/AVX registers,
            // which hold the guest's state.
            "-mgeneral-regs-only",
            "-Wl,-Ttext-segment=0x7fff00000000",
            "-Wl,--build-id=none",
            "-Wl,-z,noexecstack",
            "-Wall",
            "-Werror",
            "-o",
        ])
        .arg(&exe)
        .arg(&stub_src)
        .status()
        .expect("running the C compiler for the stub");
    assert!(status.success(), "building the stub failed");

    let bytes = std::fs::read(&exe).expect("reading the stub");
    let elf = goblin::elf::Elf::parse(&bytes).expect("parsing the stub");
    let sym = |name: &str| -> u64 {
        elf.syms
            .iter()
            .find(|s| elf.strtab.get_at(s.st_name) == Some(name))
            .map(|s| s.st_value)
            .unwrap_or_else(|| panic!("stub symbol {name} missing"))
    };
    let code = format!(
        "/// Address of the stub's batch entry point (runs the queued host operations, then int3).\n\
         pub const STUB_BATCH_ENTRY: u64 = {:#x};\n\
         /// The stub's entry point.\n\
         pub const STUB_ENTRY: u64 = {:#x};\n",
        sym("stub_batch_entry"),
        elf.entry
    );
    std::fs::write(out.join("stub_syms.rs"), code).expect("writing stub_syms.rs");

    build_vdso(&out, &compiler);
}

/// Compiles vdso/vdso.c into `OUT_DIR/umbra-vdso.so` and checks it needs no relocation (it is
/// mapped read-only, shared by every guest, at any address).
fn build_vdso(out: &std::path::Path, compiler: &cc::Tool) {
    for f in ["vdso/vdso.c", "vdso/vdso_abi.h", "vdso/vdso.lds", "vdso/vdso.ver"] {
        println!("cargo:rerun-if-changed={f}");
    }
    let so = out.join("umbra-vdso.so");
    let status = Command::new(compiler.path())
        .args([
            "-O2",
            "-fPIC",
            "-shared",
            "-nostdlib",
            "-ffreestanding",
            "-fno-stack-protector",
            "-fcf-protection=none",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-Wl,-soname=linux-vdso.so.1",
            "-Wl,--hash-style=both",
            "-Wl,--version-script=vdso/vdso.ver",
            "-Wl,-T,vdso/vdso.lds",
            "-Wl,--eh-frame-hdr",
            "-Wl,--no-undefined",
            "-Wl,-Bsymbolic",
            "-Wl,-z,max-page-size=4096",
            "-Wl,--build-id=sha1",
            "-Wl,-z,noexecstack",
            "-o",
        ])
        .arg(&so)
        .arg("vdso/vdso.c")
        .status()
        .expect("running the C compiler for the vDSO");
    assert!(status.success(), "building the vDSO failed");
    let bytes = std::fs::read(&so).expect("reading the vDSO");
    let elf = goblin::elf::Elf::parse(&bytes).expect("parsing the vDSO");
    assert!(
        elf.dynrelas.is_empty() && elf.dynrels.is_empty() && elf.pltrelocs.is_empty(),
        "the vDSO must not need relocations"
    );
}

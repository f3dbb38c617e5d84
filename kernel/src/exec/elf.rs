//! ELF executable parsing and validation (Linux's `load_elf_binary` checks, without the mapping).
//!
//! The file comes from the guest's filesystem and may be hostile, so every header field is
//! bounds-checked here before any of it reaches `goblin`, and all address arithmetic is checked.
//! The result, [`ElfImage`], is a plain description of what to map and where to start.

use core::fmt;

use arch_um::layout::{ELF_ET_DYN_BASE, MMAP_MIN_ADDR, TASK_SIZE};
use goblin::container::{Container, Ctx, Endian};
use goblin::elf::program_header::{self as ph, ProgramHeader};
use uapi::mman::{page_floor, Prot, PAGE_SIZE};
use uapi::Errno;

/// `EM_X86_64`: the only machine Umbra runs.
pub const EM_X86_64: u16 = 62;
/// `sizeof(Elf64_Ehdr)`.
pub const EHDR_SIZE: usize = 64;
/// `sizeof(Elf64_Phdr)`: the only `e_phentsize` accepted.
pub const PHDR_SIZE: usize = 56;
/// Linux reads at most one `ELF_MIN_ALIGN` page of program headers (`load_elf_phdrs`), so at
/// most 73 of them.
pub const MAX_PHDR_BYTES: usize = PAGE_SIZE as usize;
/// `PATH_MAX`: the longest `PT_INTERP` path, NUL included.
pub const PATH_MAX: usize = 4096;
/// The largest page-rounded span an image may cover: enough to place it at `ELF_ET_DYN_BASE`.
pub const MAX_IMAGE_SPAN: u64 = TASK_SIZE - ELF_ET_DYN_BASE;
/// The largest `p_align` honoured when placing an `ET_DYN` image (1 GiB).
pub const MAX_ALIGN: u64 = 1 << 30;

const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
const ELFCLASS32: u8 = 1;
const ELFCLASS64: u8 = 2;
const ELFDATA2LSB: u8 = 1;
const ELFDATA2MSB: u8 = 2;

/// Why a file cannot be executed as an x86-64 ELF program. Every variant is `ENOEXEC` for the
/// guest; the `Display` text is for umbra's log and exit report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecError {
    /// No ELF magic (or too short to hold one): another binary format may still claim it.
    NotElf,
    /// An ELF file for another machine (`e_machine`), or a 32-bit/big-endian one.
    WrongArch(u16),
    /// A malformed header, program header or segment.
    Corrupt(&'static str),
    /// The image spans more address space than a process has.
    TooBig,
}

impl ExecError {
    /// The errno the guest sees: always `ENOEXEC`, as Linux's ELF loader returns.
    pub fn errno(self) -> Errno {
        Errno::ENOEXEC
    }
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecError::NotElf => f.write_str("not an ELF file"),
            ExecError::WrongArch(m) => write!(f, "ELF for another architecture (machine {m})"),
            ExecError::Corrupt(why) => write!(f, "corrupt ELF: {why}"),
            ExecError::TooBig => f.write_str("ELF image too big for the address space"),
        }
    }
}

impl std::error::Error for ExecError {}

impl From<ExecError> for Errno {
    fn from(e: ExecError) -> Errno {
        e.errno()
    }
}

/// The three shapes of executable (see the module docs of `exec`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ElfKind {
    /// `ET_EXEC` without `PT_INTERP`: loaded at its own addresses, entered directly.
    Static,
    /// `ET_DYN` without `PT_INTERP` (static-pie, or the dynamic linker run as a program): loaded
    /// at a bias, relocates itself.
    StaticPie,
    /// Has a `PT_INTERP`: the interpreter is loaded too and entered first. The executable itself
    /// may be `ET_EXEC` or `ET_DYN` (PIE); see [`ElfImage::is_pie`].
    Dynamic,
}

/// One `PT_LOAD` segment, in the file's own addresses (add the load bias to place it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LoadSegment {
    /// `p_vaddr`: where the segment's first byte goes (before the bias).
    pub vaddr: u64,
    /// `p_memsz`: bytes in memory; the part past `filesz` is zero-filled (`.bss`).
    pub memsz: u64,
    /// `p_filesz`: bytes taken from the file.
    pub filesz: u64,
    /// `p_offset`: where those bytes start in the file (congruent to `vaddr` modulo the page).
    pub offset: u64,
    /// Permissions from `p_flags`.
    pub prot: Prot,
    /// `p_align`.
    pub align: u64,
}

impl LoadSegment {
    /// One past the last byte in memory (`vaddr + memsz`; validated not to overflow).
    pub fn end(&self) -> u64 {
        self.vaddr.saturating_add(self.memsz)
    }

    /// One past the last file-backed byte (`vaddr + filesz`).
    pub fn file_end(&self) -> u64 {
        self.vaddr.saturating_add(self.filesz)
    }
}

/// The `PT_TLS` template (the C library sets up TLS itself; recorded for diagnostics).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TlsSegment {
    /// `p_vaddr` of the initialisation image.
    pub vaddr: u64,
    /// Bytes of initialised TLS data.
    pub filesz: u64,
    /// Total TLS size.
    pub memsz: u64,
    /// Alignment.
    pub align: u64,
}

/// A validated x86-64 ELF executable: what to map and where to start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElfImage {
    /// Static, static-pie or dynamic.
    pub kind: ElfKind,
    /// True for `ET_DYN` (position independent: loaded at a bias).
    pub pie: bool,
    /// `e_entry`, before the bias.
    pub entry: u64,
    /// The `PT_LOAD` segments with a non-zero `p_memsz`, sorted by address, non-overlapping.
    pub load_segments: Vec<LoadSegment>,
    /// The `PT_INTERP` path, without its NUL.
    pub interp: Option<Vec<u8>>,
    /// Where the program headers are in memory before the bias: `PT_PHDR`'s `p_vaddr`, or
    /// computed from the `PT_LOAD` segment that contains `e_phoff`; `None` if neither.
    pub phdr_vaddr: Option<u64>,
    /// `e_phnum` (for `AT_PHNUM`).
    pub phnum: u16,
    /// `e_phentsize` (for `AT_PHENT`; always 56).
    pub phent: u16,
    /// `PT_GNU_STACK` asks for an executable stack (absent means no, on x86-64).
    pub stack_exec: bool,
    /// The `PT_TLS` segment, if any.
    pub tls: Option<TlsSegment>,
}

impl ElfImage {
    /// True for position-independent images (`ET_DYN`).
    pub fn is_pie(&self) -> bool {
        self.pie
    }

    /// The page-aligned start of the lowest segment (before the bias).
    pub fn min_vaddr(&self) -> u64 {
        self.load_segments.first().map_or(0, |s| page_floor(s.vaddr))
    }

    /// The page-rounded end of the highest segment (before the bias).
    pub fn max_vaddr(&self) -> u64 {
        self.load_segments
            .last()
            .map_or(0, |s| uapi::mman::page_ceil(s.end()).unwrap_or(!(PAGE_SIZE - 1)))
    }

    /// The page-rounded number of bytes of address space the image covers.
    pub fn span(&self) -> u64 {
        self.max_vaddr().saturating_sub(self.min_vaddr())
    }

    /// The largest power-of-two `p_align` of the `PT_LOAD` segments, at least a page (Linux's
    /// `maximum_alignment`).
    pub fn max_align(&self) -> u64 {
        self.load_segments
            .iter()
            .map(|s| s.align)
            .filter(|a| a.is_power_of_two() && *a <= MAX_ALIGN)
            .fold(PAGE_SIZE, u64::max)
    }

    /// The entry point once loaded at `bias`.
    pub fn entry_at(&self, bias: u64) -> u64 {
        self.entry.wrapping_add(bias)
    }

    /// `AT_PHDR` once loaded at `bias` (Linux passes `bias + 0` when the headers are not in
    /// memory at all).
    pub fn phdr_at(&self, bias: u64) -> u64 {
        self.phdr_vaddr.unwrap_or(0).wrapping_add(bias)
    }

    /// True if this image can serve as a program interpreter (it must not itself need one).
    pub fn can_be_interpreter(&self) -> bool {
        self.interp.is_none()
    }
}

/// How an image is being loaded, for [`load_bias`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadAs {
    /// The program named by `execve`: `ET_DYN` goes at `ELF_ET_DYN_BASE`.
    Executable,
    /// The program interpreter, placed by the caller so that its lowest page lands at `base`
    /// (e.g. an address `mm` found free for [`ElfImage::span`] bytes).
    Interpreter {
        /// Where the image's lowest page should go.
        base: u64,
    },
}

/// The load bias: the value added to every address of the image. `ET_EXEC` images get 0. An
/// `ET_DYN` executable (PIE or static-pie) goes at `ELF_ET_DYN_BASE` aligned down to its largest
/// segment alignment, as Linux does without randomisation; an interpreter goes where the caller
/// says. The bias is modular (`vaddr.wrapping_add(bias)`), like Linux's `load_bias`.
pub fn load_bias(image: &ElfImage, how: LoadAs) -> u64 {
    if !image.pie {
        return 0;
    }
    let base = match how {
        LoadAs::Executable => ELF_ET_DYN_BASE & !(image.max_align() - 1),
        LoadAs::Interpreter { base } => page_floor(base),
    };
    base.wrapping_sub(image.min_vaddr())
}

/// Checks that the image, loaded at `bias`, lies inside `MMAP_MIN_ADDR..TASK_SIZE` and that its
/// entry point is a user address (`parse_elf` checks this for [`LoadAs::Executable`]; call it
/// for an interpreter's chosen base).
pub fn check_placement(image: &ElfImage, bias: u64) -> Result<(), ExecError> {
    let lo = image.min_vaddr();
    let start = if image.pie { lo.checked_add(bias) } else { Some(lo) };
    let start = start.ok_or(ExecError::Corrupt("segment outside the address space"))?;
    let end = start
        .checked_add(image.span())
        .ok_or(ExecError::Corrupt("segment outside the address space"))?;
    if end > TASK_SIZE {
        return Err(if image.pie { ExecError::TooBig } else { ExecError::Corrupt("segment outside the address space") });
    }
    if start < MMAP_MIN_ADDR {
        return Err(ExecError::Corrupt("segment below mmap_min_addr"));
    }
    if image.entry_at(bias) >= TASK_SIZE {
        return Err(ExecError::Corrupt("entry point outside the address space"));
    }
    Ok(())
}

fn u16_at(b: &[u8], off: usize, big: bool) -> u16 {
    let v = [b.get(off).copied().unwrap_or(0), b.get(off + 1).copied().unwrap_or(0)];
    if big {
        u16::from_be_bytes(v)
    } else {
        u16::from_le_bytes(v)
    }
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut v = [0u8; 8];
    if let Some(s) = b.get(off..off + 8) {
        v.copy_from_slice(s);
    }
    u64::from_le_bytes(v)
}

fn prot_of(flags: u32) -> Prot {
    let mut p = Prot::empty();
    if flags & ph::PF_R != 0 {
        p |= Prot::READ;
    }
    if flags & ph::PF_W != 0 {
        p |= Prot::WRITE;
    }
    if flags & ph::PF_X != 0 {
        p |= Prot::EXEC;
    }
    p
}

/// Checks that `offset..offset+len` lies in a file of `file_len` bytes.
fn in_file(offset: u64, len: u64, file_len: usize) -> bool {
    offset.checked_add(len).is_some_and(|end| end <= file_len as u64)
}

/// Parses and validates an x86-64 ELF executable, as Linux's `load_elf_binary` would before
/// mapping it: `ET_EXEC` or `ET_DYN`, `EM_X86_64`, 56-byte program headers within the file and
/// within one page, `PT_LOAD` segments with `filesz <= memsz`, file ranges inside the file,
/// `p_offset ≡ p_vaddr (mod PAGE_SIZE)`, sorted and non-overlapping, inside the user address
/// space (at `ELF_ET_DYN_BASE` for `ET_DYN`), and a NUL-terminated `PT_INTERP` shorter than
/// `PATH_MAX`.
pub fn parse_elf(file: &[u8]) -> Result<ElfImage, ExecError> {
    // --- The ELF header, checked by hand before goblin sees it.
    if file.len() < 4 || &file[..4] != b"\x7fELF" {
        return Err(ExecError::NotElf);
    }
    if file.len() < 20 {
        return Err(ExecError::Corrupt("truncated ELF header"));
    }
    let class = file[4];
    let data = file[5];
    let big = match data {
        ELFDATA2LSB => false,
        ELFDATA2MSB => true,
        _ => return Err(ExecError::Corrupt("bad data encoding")),
    };
    let machine = u16_at(file, 18, big);
    match class {
        ELFCLASS64 if !big && machine == EM_X86_64 => {}
        ELFCLASS64 | ELFCLASS32 => return Err(ExecError::WrongArch(machine)),
        _ => return Err(ExecError::Corrupt("bad ELF class")),
    }
    if file.len() < EHDR_SIZE {
        return Err(ExecError::Corrupt("truncated ELF header"));
    }
    let e_type = u16_at(file, 16, false);
    if e_type != ET_EXEC && e_type != ET_DYN {
        return Err(ExecError::Corrupt("not an executable (ET_EXEC or ET_DYN)"));
    }
    let phoff = u64_at(file, 32);
    let phentsize = u16_at(file, 54, false);
    let phnum = u16_at(file, 56, false);
    if phentsize as usize != PHDR_SIZE {
        return Err(ExecError::Corrupt("bad program header size"));
    }
    let ph_bytes = (phnum as usize) * PHDR_SIZE; // at most 65535 * 56: no overflow
    if ph_bytes == 0 {
        return Err(ExecError::Corrupt("no program headers"));
    }
    if ph_bytes > MAX_PHDR_BYTES {
        return Err(ExecError::Corrupt("too many program headers"));
    }
    if !in_file(phoff, ph_bytes as u64, file.len()) {
        return Err(ExecError::Corrupt("program headers outside file"));
    }

    // --- Now goblin can read the header and the program header table without surprises.
    let header = goblin::elf::Elf::parse_header(file).map_err(|_| ExecError::Corrupt("unreadable ELF header"))?;
    let phoff_usize = usize::try_from(phoff).map_err(|_| ExecError::Corrupt("program headers outside file"))?;
    let ctx = Ctx::new(Container::Big, Endian::Little);
    let phdrs = ProgramHeader::parse(file, phoff_usize, phnum as usize, ctx)
        .map_err(|_| ExecError::Corrupt("unreadable program headers"))?;
    let entry = header.e_entry;

    // --- Walk the program headers.
    let mut load_segments: Vec<LoadSegment> = Vec::new();
    let mut interp: Option<Vec<u8>> = None;
    let mut pt_phdr: Option<u64> = None;
    let mut stack_exec = false;
    let mut tls = None;
    for p in &phdrs {
        match p.p_type {
            ph::PT_LOAD => {
                if p.p_filesz > p.p_memsz {
                    return Err(ExecError::Corrupt("segment file size exceeds memory size"));
                }
                if !in_file(p.p_offset, p.p_filesz, file.len()) {
                    return Err(ExecError::Corrupt("segment outside file"));
                }
                if p.p_vaddr.checked_add(p.p_memsz).is_none() {
                    return Err(ExecError::Corrupt("segment address overflows"));
                }
                if p.p_offset % PAGE_SIZE != p.p_vaddr % PAGE_SIZE {
                    return Err(ExecError::Corrupt("segment offset and address not congruent"));
                }
                if p.p_memsz == 0 {
                    continue;
                }
                if p.p_memsz > MAX_IMAGE_SPAN {
                    return Err(ExecError::TooBig);
                }
                let seg = LoadSegment {
                    vaddr: p.p_vaddr,
                    memsz: p.p_memsz,
                    filesz: p.p_filesz,
                    offset: p.p_offset,
                    prot: prot_of(p.p_flags),
                    align: p.p_align,
                };
                if let Some(prev) = load_segments.last() {
                    if seg.vaddr < prev.vaddr {
                        return Err(ExecError::Corrupt("segments not sorted by address"));
                    }
                    if seg.vaddr < prev.end() {
                        return Err(ExecError::Corrupt("overlapping segments"));
                    }
                }
                load_segments.try_reserve(1).map_err(|_| ExecError::TooBig)?;
                load_segments.push(seg);
            }
            ph::PT_INTERP if interp.is_none() => {
                if p.p_filesz < 2 || p.p_filesz > PATH_MAX as u64 {
                    return Err(ExecError::Corrupt("bad interpreter path length"));
                }
                if !in_file(p.p_offset, p.p_filesz, file.len()) {
                    return Err(ExecError::Corrupt("interpreter path outside file"));
                }
                // In bounds: checked just above; both fit in usize since they lie in `file`.
                let start = p.p_offset as usize;
                let bytes = &file[start..start + p.p_filesz as usize];
                if bytes.last() != Some(&0) {
                    return Err(ExecError::Corrupt("interpreter path not NUL-terminated"));
                }
                let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
                if len == 0 {
                    return Err(ExecError::Corrupt("empty interpreter path"));
                }
                interp = Some(bytes[..len].to_vec());
            }
            ph::PT_PHDR if pt_phdr.is_none() => pt_phdr = Some(p.p_vaddr),
            ph::PT_GNU_STACK => stack_exec = p.p_flags & ph::PF_X != 0,
            ph::PT_TLS if tls.is_none() => {
                tls = Some(TlsSegment { vaddr: p.p_vaddr, filesz: p.p_filesz, memsz: p.p_memsz, align: p.p_align })
            }
            _ => {}
        }
    }
    if load_segments.is_empty() {
        return Err(ExecError::Corrupt("no loadable segments"));
    }

    // AT_PHDR: PT_PHDR if present, else the load segment whose file range holds e_phoff
    // (Linux since 5.18).
    let phdr_vaddr = pt_phdr.or_else(|| {
        load_segments
            .iter()
            .find(|s| s.offset <= phoff && phoff - s.offset < s.filesz)
            .map(|s| s.vaddr.wrapping_add(phoff - s.offset))
    });

    let pie = e_type == ET_DYN;
    let kind = match (&interp, pie) {
        (Some(_), _) => ElfKind::Dynamic,
        (None, true) => ElfKind::StaticPie,
        (None, false) => ElfKind::Static,
    };
    let image = ElfImage {
        kind,
        pie,
        entry,
        load_segments,
        interp,
        phdr_vaddr,
        phnum,
        phent: phentsize,
        stack_exec,
        tls,
    };
    if image.span() > MAX_IMAGE_SPAN {
        return Err(ExecError::TooBig);
    }
    check_placement(&image, load_bias(&image, LoadAs::Executable))?;
    Ok(image)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::process::Command;

    /// A segment for [`make_elf`]: (vaddr, file offset, filesz, memsz, p_flags).
    type Seg = (u64, u64, u64, u64, u32);

    /// Builds a minimal x86-64 ELF: header, program headers at 64, an optional PT_INTERP string
    /// right after them, and `segs` PT_LOAD entries; the file is padded to cover every segment.
    fn make_elf(e_type: u16, entry: u64, segs: &[Seg], interp: Option<&[u8]>, stack_x: bool) -> Vec<u8> {
        let nph = segs.len() + 1 + usize::from(interp.is_some());
        let ph_end = 64 + nph * 56;
        let mut f = vec![0u8; ph_end];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = 2;
        f[5] = 1;
        f[6] = 1;
        f[16..18].copy_from_slice(&e_type.to_le_bytes());
        f[18..20].copy_from_slice(&62u16.to_le_bytes());
        f[20..24].copy_from_slice(&1u32.to_le_bytes());
        f[24..32].copy_from_slice(&entry.to_le_bytes());
        f[32..40].copy_from_slice(&64u64.to_le_bytes());
        f[52..54].copy_from_slice(&64u16.to_le_bytes());
        f[54..56].copy_from_slice(&56u16.to_le_bytes());
        f[56..58].copy_from_slice(&(nph as u16).to_le_bytes());
        let mut phs: Vec<[u8; 56]> = Vec::new();
        let mut push = |ty: u32, flags: u32, off: u64, va: u64, fsz: u64, msz: u64, align: u64| {
            let mut p = [0u8; 56];
            p[0..4].copy_from_slice(&ty.to_le_bytes());
            p[4..8].copy_from_slice(&flags.to_le_bytes());
            p[8..16].copy_from_slice(&off.to_le_bytes());
            p[16..24].copy_from_slice(&va.to_le_bytes());
            p[24..32].copy_from_slice(&va.to_le_bytes());
            p[32..40].copy_from_slice(&fsz.to_le_bytes());
            p[40..48].copy_from_slice(&msz.to_le_bytes());
            p[48..56].copy_from_slice(&align.to_le_bytes());
            phs.push(p);
        };
        if let Some(path) = interp {
            let mut s = path.to_vec();
            s.push(0);
            push(3, 4, ph_end as u64, 0, s.len() as u64, s.len() as u64, 1);
            f.extend_from_slice(&s);
        }
        for &(va, off, fsz, msz, fl) in segs {
            push(1, fl, off, va, fsz, msz, 0x1000);
        }
        push(ph::PT_GNU_STACK, if stack_x { 7 } else { 6 }, 0, 0, 0, 0, 16);
        for (i, p) in phs.iter().enumerate() {
            f[64 + i * 56..64 + (i + 1) * 56].copy_from_slice(p);
        }
        let need = segs.iter().map(|s| s.1 + s.2).max().unwrap_or(0) as usize;
        if f.len() < need {
            f.resize(need, 0xcc);
        }
        f
    }

    fn simple_static() -> Vec<u8> {
        make_elf(2, 0x401000, &[(0x400000, 0, 0x2000, 0x2000, 5), (0x402000, 0x2000, 0x100, 0x3000, 6)], None, false)
    }

    #[test]
    fn synthetic_static() {
        let img = parse_elf(&simple_static()).unwrap();
        assert_eq!(img.kind, ElfKind::Static);
        assert!(!img.pie);
        assert_eq!(img.entry, 0x401000);
        assert_eq!(img.load_segments.len(), 2);
        assert_eq!(img.load_segments[0].prot, Prot::READ | Prot::EXEC);
        assert_eq!(img.load_segments[1].prot, Prot::READ | Prot::WRITE);
        assert_eq!(img.load_segments[1].memsz, 0x3000);
        assert_eq!(img.phdr_vaddr, Some(0x400040));
        assert_eq!(img.phnum, 3);
        assert!(!img.stack_exec);
        assert_eq!(load_bias(&img, LoadAs::Executable), 0);
        assert_eq!(img.span(), 0x5000);
    }

    #[test]
    fn synthetic_dynamic_pie() {
        let f = make_elf(3, 0x1040, &[(0, 0, 0x2000, 0x2000, 5), (0x3000, 0x2000, 0x10, 0x20, 6)], Some(b"/lib/ld.so"), true);
        let img = parse_elf(&f).unwrap();
        assert_eq!(img.kind, ElfKind::Dynamic);
        assert!(img.pie && img.stack_exec);
        assert_eq!(img.interp.as_deref(), Some(&b"/lib/ld.so"[..]));
        let bias = load_bias(&img, LoadAs::Executable);
        assert_eq!(bias, ELF_ET_DYN_BASE);
        assert_eq!(img.entry_at(bias), ELF_ET_DYN_BASE + 0x1040);
        assert_eq!(img.phdr_at(bias), ELF_ET_DYN_BASE + 64);
        assert_eq!(load_bias(&img, LoadAs::Interpreter { base: 0x7000_0000_0000 }), 0x7000_0000_0000);
        assert!(check_placement(&img, 0x7000_0000_0000).is_ok());
        assert!(check_placement(&img, TASK_SIZE - 0x1000).is_err());
    }

    #[test]
    fn synthetic_static_pie() {
        let f = make_elf(3, 0x1000, &[(0, 0, 0x2000, 0x2000, 5)], None, false);
        let img = parse_elf(&f).unwrap();
        assert_eq!(img.kind, ElfKind::StaticPie);
        assert!(img.can_be_interpreter());
    }

    #[test]
    fn errors_and_messages() {
        assert_eq!(parse_elf(b""), Err(ExecError::NotElf));
        assert_eq!(parse_elf(b"#!/bin/sh\n"), Err(ExecError::NotElf));
        assert_eq!(parse_elf(b"\x7fELF"), Err(ExecError::Corrupt("truncated ELF header")));
        let mut arm = simple_static();
        arm[18..20].copy_from_slice(&40u16.to_le_bytes());
        let e = parse_elf(&arm).unwrap_err();
        assert_eq!(e, ExecError::WrongArch(40));
        assert_eq!(e.to_string(), "ELF for another architecture (machine 40)");
        assert_eq!(Errno::from(e), Errno::ENOEXEC);
        let mut i386 = simple_static();
        i386[4] = 1;
        i386[18..20].copy_from_slice(&3u16.to_le_bytes());
        assert_eq!(parse_elf(&i386), Err(ExecError::WrongArch(3)));
        let mut be = simple_static();
        be[5] = 2;
        assert!(matches!(parse_elf(&be), Err(ExecError::WrongArch(_))));
        assert_eq!(ExecError::NotElf.to_string(), "not an ELF file");
        assert_eq!(ExecError::Corrupt("segment outside file").to_string(), "corrupt ELF: segment outside file");

        let mut rel = simple_static();
        rel[16] = 1;
        assert!(matches!(parse_elf(&rel), Err(ExecError::Corrupt(_))));
        let mut phent = simple_static();
        phent[54] = 32;
        assert_eq!(parse_elf(&phent), Err(ExecError::Corrupt("bad program header size")));
        let mut many = simple_static();
        many[56..58].copy_from_slice(&100u16.to_le_bytes());
        assert_eq!(parse_elf(&many), Err(ExecError::Corrupt("too many program headers")));
        let mut far = simple_static();
        far[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(parse_elf(&far), Err(ExecError::Corrupt("program headers outside file")));
    }

    #[test]
    fn truncated_files() {
        let f = simple_static();
        for len in 0..f.len() {
            assert!(parse_elf(&f[..len]).is_err(), "len {len}");
        }
        assert!(parse_elf(&f).is_ok());
    }

    #[test]
    fn bad_segments() {
        let bad = |segs: &[Seg], want: ExecError| {
            let f = make_elf(2, 0x401000, segs, None, false);
            assert_eq!(parse_elf(&f), Err(want), "{segs:x?}");
        };
        bad(&[(0x400000, 0, 0x2000, 0x1000, 5)], ExecError::Corrupt("segment file size exceeds memory size"));
        bad(&[(0x400000, 0, 0x2000, 0x2000, 5), (0x401000, 0x1000, 0x100, 0x100, 6)], ExecError::Corrupt("overlapping segments"));
        bad(&[(0x402000, 0x2000, 0x100, 0x100, 6), (0x400000, 0, 0x1000, 0x1000, 5)], ExecError::Corrupt("segments not sorted by address"));
        bad(&[(0x400010, 0, 0x100, 0x100, 5)], ExecError::Corrupt("segment offset and address not congruent"));
        bad(&[(u64::MAX - 0xfff, 0, 0x100, 0x2000, 5)], ExecError::Corrupt("segment address overflows"));
        bad(&[(TASK_SIZE, 0, 0x100, 0x100, 5)], ExecError::Corrupt("segment outside the address space"));
        bad(&[(0x1000, 0x1000, 0x100, 0x100, 5)], ExecError::Corrupt("segment below mmap_min_addr"));
        bad(&[(0x400000, 0, 0x100, 1 << 46, 5)], ExecError::TooBig);
        bad(&[(0x400000, 0, 0x100, 0x100, 5), (0x7f00_0000_0000, 0x1000, 0x100, 0x100, 5)], ExecError::TooBig);
        bad(&[], ExecError::Corrupt("no loadable segments"));
        // A segment whose file range runs past the end of the file.
        let mut f = simple_static();
        f.truncate(0x2000 + 0x80);
        assert_eq!(parse_elf(&f), Err(ExecError::Corrupt("segment outside file")));
        // Entry point outside the user address space.
        let f = make_elf(2, TASK_SIZE + 5, &[(0x400000, 0, 0x100, 0x100, 5)], None, false);
        assert_eq!(parse_elf(&f), Err(ExecError::Corrupt("entry point outside the address space")));
    }

    #[test]
    fn bad_interp() {
        let segs: &[Seg] = &[(0x400000, 0, 0x1000, 0x1000, 5)];
        let mut f = make_elf(2, 0x400000, segs, Some(b"/lib/ld.so"), false);
        // The string sits right after the 3 program headers; clobber its NUL.
        let at = 64 + 3 * 56 + 10;
        assert_eq!(f[at], 0);
        f[at] = b'x';
        assert_eq!(parse_elf(&f), Err(ExecError::Corrupt("interpreter path not NUL-terminated")));
        let f = make_elf(2, 0x400000, segs, Some(b""), false);
        assert!(parse_elf(&f).is_err());
        let long = vec![b'a'; PATH_MAX];
        let f = make_elf(2, 0x400000, segs, Some(&long), false);
        assert_eq!(parse_elf(&f), Err(ExecError::Corrupt("bad interpreter path length")));
        // An interior NUL ends the path, as it does for Linux's C string.
        let f = make_elf(2, 0x400000, segs, Some(b"/lib\0junk"), false);
        assert_eq!(parse_elf(&f).unwrap().interp.as_deref(), Some(&b"/lib"[..]));
    }

    #[test]
    fn parses_own_test_binary() {
        let Ok(me) = std::fs::read("/proc/self/exe") else { return };
        let img = parse_elf(&me).unwrap();
        // Rust test binaries on Linux are PIE and dynamically linked against glibc.
        assert_eq!(img.kind, ElfKind::Dynamic);
        assert!(img.pie);
        let interp = img.interp.clone().unwrap();
        assert!(interp.starts_with(b"/lib"), "{}", String::from_utf8_lossy(&interp));
        assert!(img.phdr_vaddr.is_some());
        assert!(!img.stack_exec);
        assert!(img.load_segments.iter().any(|s| s.prot.contains(Prot::EXEC)));
        // The interpreter parses too and can serve as one.
        if let Ok(ld) = std::fs::read(String::from_utf8_lossy(&interp).as_ref()) {
            let ld = parse_elf(&ld).unwrap();
            assert_eq!(ld.kind, ElfKind::StaticPie);
            assert!(ld.can_be_interpreter());
        }
    }

    /// Builds a C hello world with the host's gcc (`None` if gcc is missing or cannot link
    /// statically).
    fn gcc_build(flags: &[&str]) -> Option<Vec<u8>> {
        let dir = std::env::temp_dir().join(format!("exec-elf-test-{}-{}", std::process::id(), flags.join("")));
        std::fs::create_dir_all(&dir).ok()?;
        let c = dir.join("hello.c");
        let exe = dir.join("hello");
        std::fs::write(&c, "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n").ok()?;
        let ok = Command::new("gcc").args(flags).arg("-o").arg(&exe).arg(&c).output().ok()?.status.success();
        let out = if ok { std::fs::read(&exe).ok() } else { None };
        let _ = std::fs::remove_dir_all(&dir);
        out
    }

    #[test]
    fn parses_gcc_static_and_static_pie() {
        if let Some(bin) = gcc_build(&["-static"]) {
            let img = parse_elf(&bin).unwrap();
            assert_eq!(img.kind, ElfKind::Static);
            assert!(img.interp.is_none() && !img.pie);
            assert!(img.tls.is_some());
            assert_eq!(load_bias(&img, LoadAs::Executable), 0);
            assert!(img.min_vaddr() >= 0x400000);
        }
        if let Some(bin) = gcc_build(&["-static-pie"]) {
            let img = parse_elf(&bin).unwrap();
            assert_eq!(img.kind, ElfKind::StaticPie);
            let bias = load_bias(&img, LoadAs::Executable);
            assert_eq!(bias % img.max_align(), 0);
            assert!(img.entry_at(bias) > ELF_ET_DYN_BASE - (1 << 30));
        }
        if let Some(bin) = gcc_build(&["-no-pie"]) {
            let img = parse_elf(&bin).unwrap();
            assert_eq!(img.kind, ElfKind::Dynamic);
            assert!(!img.pie);
            assert_eq!(load_bias(&img, LoadAs::Executable), 0);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// Mutating bytes anywhere in the header and program-header region never panics.
        #[test]
        fn mutated_headers_never_panic(
            muts in proptest::collection::vec((0usize..(64 + 4 * 56 + 16), any::<u8>()), 1..12),
        ) {
            let mut f = make_elf(3, 0x1040, &[(0, 0, 0x2000, 0x2000, 5), (0x3000, 0x2000, 0x10, 0x20, 6)], Some(b"/lib/ld.so"), true);
            for (i, b) in muts {
                if let Some(x) = f.get_mut(i) {
                    *x = b;
                }
            }
            let _ = parse_elf(&f);
        }

        /// Mutating whole 64-bit fields to extreme values never panics.
        #[test]
        fn mutated_fields_never_panic(
            field in 0usize..((64 + 4 * 56) / 8),
            val in prop_oneof![Just(0u64), Just(u64::MAX), Just(1u64 << 63), Just(TASK_SIZE), any::<u64>()],
            len_cut in 0usize..64,
        ) {
            let mut f = make_elf(3, 0x1040, &[(0, 0, 0x2000, 0x2000, 5), (0x3000, 0x2000, 0x10, 0x20, 6)], Some(b"/lib/ld.so"), false);
            f[field * 8..field * 8 + 8].copy_from_slice(&val.to_le_bytes());
            let _ = parse_elf(&f);
            let cut = f.len().saturating_sub(len_cut * 97);
            let _ = parse_elf(&f[..cut]);
        }

        /// Random garbage (with and without the magic) never panics.
        #[test]
        fn garbage_never_panics(mut bytes in proptest::collection::vec(any::<u8>(), 0..1024), magic in any::<bool>()) {
            if magic && bytes.len() >= 6 {
                bytes[..6].copy_from_slice(b"\x7fELF\x02\x01");
            }
            let _ = parse_elf(&bytes);
        }
    }
}

//! Starting a program: reading its ELF image and building its first stack.
//!
//! # How a program starts on Linux
//!
//! `execve(2)` replaces everything a process runs — its address space, its signal handlers, its
//! registers — with a fresh program, while keeping its identity: the pid, the open files (except
//! those marked close-on-exec), the current directory, the credentials. Linux's `fs/exec.c`
//! first reads the start of the file and asks each registered *binary format* whether it
//! recognises it: `binfmt_script` handles files starting with `#!` by re-running exec on the
//! named interpreter, and `binfmt_elf` handles ELF executables. Everything up to the "point of
//! no return" can still fail with an error the old program sees; after it, the old address space
//! is gone and a failure can only kill the process.
//!
//! An ELF file describes itself with a header and a table of *program headers*. The loader only
//! cares about a few kinds. `PT_LOAD` entries say "map this range of the file at this virtual
//! address with these permissions, and zero-fill the rest up to `p_memsz`" — the text, the data,
//! and the `.bss`. `PT_INTERP` names a *program interpreter*, the dynamic linker
//! (`/lib64/ld-linux-x86-64.so.2`), which the kernel maps as well and runs *first*: it is the
//! linker that later maps the shared libraries, relocates everything and jumps to the program's
//! own entry point. `PT_GNU_STACK` says whether the stack must be executable, and `PT_PHDR`
//! where the program headers themselves appear in memory. A file of type `ET_EXEC` must be
//! loaded exactly at its addresses; `ET_DYN` (a position-independent executable, or the dynamic
//! linker itself) may go anywhere, and the kernel picks a *load bias* added to every address.
//! So there are three shapes: a static executable (no interpreter, fixed addresses), a
//! static-PIE (no interpreter, relocates itself), and a dynamic executable (an interpreter does
//! the rest).
//!
//! The new program's first stack is its only way to learn about the world, so the kernel
//! fills it carefully (`create_elf_tables` in `fs/binfmt_elf.c`). At the very top sit the
//! strings: the file name the program was executed as, the environment strings and the argument
//! strings, then a platform name (`"x86_64"`) and 16 random bytes that the C library uses to seed
//! its stack protector. Below them, 16-byte aligned, come the tables that point into those
//! strings: `argc`, the `argv` pointers and a NULL, the `envp` pointers and a NULL, and the
//! *auxiliary vector* — key/value pairs such as `AT_PHDR`, `AT_ENTRY`, `AT_BASE` (where the
//! interpreter was loaded), `AT_PAGESZ` and `AT_RANDOM` — ending with `AT_NULL`. The stack
//! pointer is left pointing at `argc`, 16-byte aligned, and every other register is zero. The
//! first instruction that runs is the interpreter's entry point if there is one, or the
//! program's own otherwise.
//!
//! This module holds the parts of that work that are pure computation, so they can be tested
//! (and fuzzed) without an address space: [`elf::parse_elf`] validates an ELF image the way
//! `load_elf_binary` does and describes what to map, and [`stack::build_initial_stack`] lays out
//! the initial stack byte for byte. Mapping the segments and writing the stack is the caller's
//! job, through `mm`.

#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod elf;
pub mod stack;

pub use elf::{check_placement, load_bias, parse_elf, ElfImage, ElfKind, ExecError, LoadAs, LoadSegment, TlsSegment};
pub use stack::{arg_limit, build_initial_stack, build_initial_stack_with_rlimit, AuxvParams, InitialStack};

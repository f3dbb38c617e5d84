/*
 * The Umbra stub: the tiny static program that holds one guest address space.
 *
 * umbra starts it with execveat() from a sealed memfd (as User-Mode Linux does since 6.13).
 * It is linked at STUB_START, above every address a guest may use, and it runs no libc.
 * At start it:
 *   1. moves onto a stack inside its own .bss and reads its arguments (data-slot offset, umbra's pid);
 *   2. dies with umbra (PR_SET_PDEATHSIG) and checks umbra did not already die;
 *   3. maps its shared data slot (the batch of host operations umbra fills in) from fd 4;
 *   4. unmaps everything else: the whole guest range below STUB_START and everything above
 *      STUB_END (the exec-time stack, the host vDSO and vvar);
 *   5. asks to be traced, installs a seccomp filter that allows only what umbra injects, and
 *      stops with int3 for umbra.
 * After that the stub's own code only runs when umbra points rip at stub_batch_entry: it runs
 * the queued mmap/munmap/mprotect operations with real syscalls and stops again with int3.
 * Guest code runs under PTRACE_SYSEMU, so no guest syscall ever reaches the host.
 */
#include "stub_abi.h"

/* Built by arch-um/build.rs; see DESIGN.md "Stubs". */

#define SYS_mmap 9
#define SYS_mprotect 10
#define SYS_munmap 11
#define SYS_getppid 110
#define SYS_prctl 157
#define SYS_ptrace 101
#define SYS_exit 60
#define SYS_exit_group 231
#define SYS_gettimeofday 96
#define SYS_time 201
#define SYS_getcpu 309
#define SYS_seccomp 317

typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

static inline long sys6(long n, long a, long b, long c, long d, long e, long f) {
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

static __attribute__((noreturn)) void die(int code) {
    for (;;) sys6(SYS_exit_group, code, 0, 0, 0, 0, 0);
}

/* The stub's own stack, in its private .bss. */
static u64 stub_stack[STUB_STACK_WORDS] __attribute__((aligned(16)));
u64 *const stub_stack_top = &stub_stack[STUB_STACK_WORDS];

static u64 parse_hex(const char *s) {
    u64 v = 0;
    for (; *s; s++) {
        char c = *s;
        u64 d = c >= '0' && c <= '9' ? (u64)(c - '0') : c >= 'a' && c <= 'f' ? (u64)(c - 'a' + 10) : 16;
        if (d > 15) die(120);
        v = v * 16 + d;
    }
    return v;
}

/* BPF for seccomp: allow what the batch gadget runs; trap the calls a guest can make through the
   host's vsyscall page (SYSEMU does not see those, the host kernel emulates them); kill the rest. */
struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; };
struct sock_fprog { u16 len; struct sock_filter *filter; };
#define BPF_LD_W_ABS 0x20
#define BPF_JEQ_K 0x15
#define BPF_RET_K 0x06
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#define SECCOMP_RET_TRAP 0x00030000U
#define SECCOMP_RET_ALLOW 0x7fff0000U
#define AUDIT_ARCH_X86_64 0xc000003eU
#define ALLOW_NR(nr) {BPF_JEQ_K, 0, 1, (nr)}, {BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW}
#define TRAP_NR(nr) {BPF_JEQ_K, 0, 1, (nr)}, {BPF_RET_K, 0, 0, SECCOMP_RET_TRAP}

static void install_seccomp(void) {
    struct sock_filter f[] = {
        {BPF_LD_W_ABS, 0, 0, 4},                      /* seccomp_data.arch */
        {BPF_JEQ_K, 1, 0, AUDIT_ARCH_X86_64},
        {BPF_RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS},
        {BPF_LD_W_ABS, 0, 0, 0},                      /* seccomp_data.nr */
        ALLOW_NR(SYS_mmap), ALLOW_NR(SYS_munmap), ALLOW_NR(SYS_mprotect),
        ALLOW_NR(SYS_exit), ALLOW_NR(SYS_exit_group),
        TRAP_NR(SYS_gettimeofday), TRAP_NR(SYS_time), TRAP_NR(SYS_getcpu),
        {BPF_RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS},
    };
    struct sock_fprog prog = {sizeof(f) / sizeof(f[0]), f};
    if (sys6(SYS_prctl, 38 /* PR_SET_NO_NEW_PRIVS */, 1, 0, 0, 0, 0) != 0) die(121);
    if (sys6(SYS_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, 0, (long)&prog, 0, 0, 0) != 0) die(122);
}

__attribute__((noreturn, used)) void stub_main(u64 *initial_sp) {
    long argc = (long)initial_sp[0];
    char **argv = (char **)(initial_sp + 1);
    if (argc < 4) die(123);
    u64 slot_offset = parse_hex(argv[1]);
    u64 umbra_pid = parse_hex(argv[2]);
    u64 use_seccomp = parse_hex(argv[3]);

    sys6(SYS_prctl, 1 /* PR_SET_PDEATHSIG */, 9 /* SIGKILL */, 0, 0, 0, 0);
    if ((u64)sys6(SYS_getppid, 0, 0, 0, 0, 0, 0) != umbra_pid) die(124); /* umbra died before us */

    long r = sys6(SYS_mmap, STUB_DATA, STUB_DATA_SIZE, 3 /* RW */, 0x11 /* SHARED|FIXED */,
                  STUB_DATA_FD, (long)slot_offset);
    if (r != (long)STUB_DATA) die(125);
    /* Everything below the stub belongs to the guest; everything above STUB_END is exec debris. */
    sys6(SYS_munmap, 0, STUB_START, 0, 0, 0, 0);
    sys6(SYS_munmap, STUB_END, USER_TOP - STUB_END, 0, 0, 0, 0);

    if (sys6(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0, 0, 0) != 0) die(126);
    if (use_seccomp) install_seccomp();
    for (;;) __asm__ volatile("int3");   /* umbra takes over from here */
}

/* Runs the batch in the data slot: each op is a host syscall; stop at the first failure. */
__attribute__((noreturn, used)) void stub_run_batch(void) {
    struct stub_batch *b = (struct stub_batch *)STUB_DATA;
    u64 n = b->count;
    if (n > STUB_MAX_OPS) n = STUB_MAX_OPS;
    b->error = 0;
    u64 i;
    for (i = 0; i < n; i++) {
        struct stub_op *op = &b->ops[i];
        long ret = sys6((long)op->nr, (long)op->args[0], (long)op->args[1], (long)op->args[2],
                        (long)op->args[3], (long)op->args[4], (long)op->args[5]);
        if (ret < 0 && ret > -4096) { b->error = ret; break; }
    }
    b->done = i;
    for (;;) __asm__ volatile("int3");
}

__asm__(
    ".text\n"
    ".globl _start\n"
    "_start:\n"
    "  mov %rsp, %rdi\n"
    "  mov stub_stack_top(%rip), %rsp\n"
    "  call stub_main\n"
    "  hlt\n"
    ".globl stub_batch_entry\n"
    "stub_batch_entry:\n"
    "  mov stub_stack_top(%rip), %rsp\n"
    "  call stub_run_batch\n"
    "  hlt\n");

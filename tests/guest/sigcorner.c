/* Signal corner cases, compared with Linux: SA_SIGINFO fields (kill, tgkill, sigqueue),
   SA_NODEFER, SA_RESETHAND, SA_ONSTACK + sigaltstack (SS_ONSTACK, EPERM inside), nested
   handlers, the mask inside a handler, rt_sigreturn restoring every register and the SSE
   state, fault signals with si_code/si_addr (and siglongjmp out), real-time queueing order,
   SIGCHLD flags, kill(0)/kill(-pgrp)/waitpid(-pgrp). Each section runs in a child of a small
   parent, so default actions apply even when the program is pid 1.
   Output never contains pids, addresses or times. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif
#include <unistd.h>

#define TRY(what, expr) do { errno = 0; long r_ = (long)(expr); int e_ = errno; printf("%s: %ld errno=%d\n", what, r_, e_); } while (0)

static void msleep(int ms) { struct timespec t = {ms / 1000, (ms % 1000) * 1000000L}; nanosleep(&t, NULL); }

static void report(const char *what, int st) {
    if (WIFEXITED(st)) printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st)) printf("%s: killed by %d%s\n", what, WTERMSIG(st), WCOREDUMP(st) ? " (core)" : "");
    else printf("%s: status %#x\n", what, st);
}

static void install(int sig, void (*h)(int, siginfo_t *, void *), int flags, const int *mask) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = h;
    sa.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&sa.sa_mask);
    for (; mask && *mask; mask++) sigaddset(&sa.sa_mask, *mask);
    if (sigaction(sig, &sa, NULL)) printf("sigaction %d failed: %d\n", sig, errno);
}

/* ---- SA_SIGINFO fields ---- */
static volatile siginfo_t last_info;
static volatile int info_hits;
static void save_info(int sig, siginfo_t *si, void *uc) { (void)sig; (void)uc; last_info = *si; info_hits++; }

static void print_info(const char *what, pid_t want_pid) {
    printf("%s: signo=%d code=%d pid_ok=%d uid=%d hits=%d\n", what, last_info.si_signo, last_info.si_code,
           last_info.si_pid == want_pid, (int)last_info.si_uid, info_hits);
}

static void sec_siginfo(void) {
    install(SIGUSR1, save_info, 0, NULL);
    install(SIGRTMIN + 3, save_info, 0, NULL);
    kill(getpid(), SIGUSR1);
    print_info("kill", getpid());
    syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), SIGUSR1);
    print_info("tgkill", getpid());
    raise(SIGUSR1);
    print_info("raise", getpid());
    union sigval v = {.sival_int = 4242};
    sigqueue(getpid(), SIGRTMIN + 3, v);
    print_info("sigqueue", getpid());
    printf("sigqueue value=%d\n", last_info.si_value.sival_int);
    /* from another process */
    pid_t parent = getpid();
    pid_t c = fork();
    if (c == 0) { kill(parent, SIGUSR1); _exit(0); }
    int st;
    waitpid(c, &st, 0);
    print_info("kill from child", c);
    /* sigqueue from a child with a pointer value */
    c = fork();
    if (c == 0) { union sigval pv = {.sival_ptr = (void *)0x1234}; sigqueue(parent, SIGRTMIN + 3, pv); _exit(0); }
    waitpid(c, &st, 0);
    print_info("sigqueue from child", c);
    printf("ptr value=%#lx\n", (unsigned long)last_info.si_value.sival_ptr);
    /* rt_sigqueueinfo forging a positive code for another process: EPERM */
    siginfo_t fake;
    memset(&fake, 0, sizeof fake);
    fake.si_code = SI_USER;
    c = fork();
    if (c == 0) {
        errno = 0;
        long r = syscall(SYS_rt_sigqueueinfo, parent, SIGUSR1, &fake);
        printf("forged SI_USER to other: %ld errno=%d\n", r, errno);
        _exit(0);
    }
    waitpid(c, &st, 0);
    fake.si_code = SI_QUEUE;
    fake.si_value.sival_int = 7;
    long r = syscall(SYS_rt_sigqueueinfo, getpid(), SIGRTMIN + 3, &fake);
    printf("rt_sigqueueinfo self: %ld code=%d value=%d\n", r, last_info.si_code, last_info.si_value.sival_int);
    /* SIGCHLD info */
    install(SIGCHLD, save_info, 0, NULL);
    c = fork();
    if (c == 0) _exit(23);
    waitpid(c, &st, 0);
    printf("chld exit: signo=%d code=%d status=%d pid_ok=%d\n", last_info.si_signo, last_info.si_code, last_info.si_status, last_info.si_pid == c);
    c = fork();
    if (c == 0) { pause(); _exit(1); }
    kill(c, SIGTERM);
    waitpid(c, &st, 0);
    printf("chld killed: code=%d status=%d pid_ok=%d\n", last_info.si_code, last_info.si_status, last_info.si_pid == c);
}

/* ---- SA_NODEFER, SA_RESETHAND, nesting, masks ---- */
static volatile int depth, max_depth, nodefer_hits;
static void reentrant(int sig, siginfo_t *si, void *uc) {
    (void)si; (void)uc;
    depth++;
    if (depth > max_depth) max_depth = depth;
    nodefer_hits++;
    if (nodefer_hits < 3) raise(sig);
    depth--;
}

static char mask_desc[256];
static void describe_mask(const char *tag) {
    sigset_t m;
    sigprocmask(SIG_SETMASK, NULL, &m);
    char *p = mask_desc + strlen(mask_desc);
    p += sprintf(p, "%s[", tag);
    for (int s = 1; s < 65; s++)
        if (sigismember(&m, s)) p += sprintf(p, " %d", s);
    sprintf(p, " ] ");
}

static volatile char order[64];
static volatile int order_n;
static void note(char ch) { if (order_n < 63) order[order_n++] = ch; }
static void h_outer(int sig, siginfo_t *si, void *uc) {
    (void)si; (void)uc;
    note('<');
    describe_mask(sig == SIGUSR1 ? "outer" : "other");
    raise(SIGUSR2); /* not blocked: nested */
    raise(SIGTERM); /* in sa_mask: deferred until we return */
    note('>');
}
static void h_inner(int sig, siginfo_t *si, void *uc) {
    (void)si; (void)uc;
    note(sig == SIGUSR2 ? 'u' : 't');
    describe_mask(sig == SIGUSR2 ? "inner" : "term");
}

static void sec_masks(void) {
    /* without SA_NODEFER: the signal is blocked in its handler; the raise is deferred */
    install(SIGUSR1, reentrant, 0, NULL);
    raise(SIGUSR1);
    printf("defer: hits=%d max_depth=%d\n", nodefer_hits, max_depth);
    depth = max_depth = nodefer_hits = 0;
    install(SIGUSR1, reentrant, SA_NODEFER, NULL);
    raise(SIGUSR1);
    printf("nodefer: hits=%d max_depth=%d\n", nodefer_hits, max_depth);
    /* SA_RESETHAND */
    depth = max_depth = nodefer_hits = 0;
    install(SIGUSR1, save_info, SA_RESETHAND, NULL);
    info_hits = 0;
    raise(SIGUSR1);
    struct sigaction cur;
    sigaction(SIGUSR1, NULL, &cur);
    printf("resethand: hits=%d dfl=%d flags_siginfo=%d\n", info_hits, cur.sa_handler == SIG_DFL, !!(cur.sa_flags & SA_SIGINFO));
    /* mask inside a handler = old mask + sa_mask + the signal; nested handler for an
       unblocked signal; a masked one deferred to the handler's return */
    int m1[] = {SIGTERM, SIGRTMIN + 5, 0};
    install(SIGUSR1, h_outer, 0, m1);
    install(SIGUSR2, h_inner, 0, NULL);
    install(SIGTERM, h_inner, 0, NULL);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGHUP);
    sigprocmask(SIG_BLOCK, &s, NULL);
    mask_desc[0] = 0;
    raise(SIGUSR1);
    describe_mask("after");
    order[order_n] = 0;
    printf("order=%s\nmasks=%s\n", (char *)order, mask_desc);
    sigprocmask(SIG_UNBLOCK, &s, NULL);
    /* sigaction with SIGKILL/SIGSTOP in sa_mask: silently dropped */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigfillset(&sa.sa_mask);
    sigaction(SIGUSR2, &sa, NULL);
    sigaction(SIGUSR2, NULL, &cur);
    printf("mask has KILL=%d STOP=%d USR1=%d\n", sigismember(&cur.sa_mask, SIGKILL), sigismember(&cur.sa_mask, SIGSTOP), sigismember(&cur.sa_mask, SIGUSR1));
    /* sigprocmask cannot block SIGKILL/SIGSTOP */
    sigset_t all, got;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    sigprocmask(SIG_SETMASK, NULL, &got);
    printf("blocked KILL=%d STOP=%d TERM=%d 33=%d\n", sigismember(&got, SIGKILL), sigismember(&got, SIGSTOP), sigismember(&got, SIGTERM), sigismember(&got, 33));
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
}

/* ---- sigaltstack ---- */
static char altstack_mem[1 << 16];
static volatile int alt_on, alt_flags_in, alt_eperm, uc_flags_onstack, alt_nested_on;
static void on_alt(int sig, siginfo_t *si, void *ucv) {
    (void)si;
    ucontext_t *uc = ucv;
    char local;
    alt_on = &local >= altstack_mem && &local < altstack_mem + sizeof altstack_mem;
    stack_t cur;
    sigaltstack(NULL, &cur);
    alt_flags_in = cur.ss_flags;
    uc_flags_onstack = uc->uc_stack.ss_flags;
    stack_t other = {.ss_sp = altstack_mem, .ss_size = sizeof altstack_mem, .ss_flags = 0};
    errno = 0;
    if (sigaltstack(&other, NULL) == -1 && errno == EPERM) alt_eperm = 1;
    if (sig == SIGUSR1) raise(SIGUSR2); /* nested, also SA_ONSTACK: stays on the alt stack */
}
static void on_alt2(int sig, siginfo_t *si, void *ucv) {
    (void)sig; (void)si; (void)ucv;
    char local;
    alt_nested_on = &local >= altstack_mem && &local < altstack_mem + sizeof altstack_mem;
}

static void sec_altstack(void) {
    stack_t ss = {.ss_sp = altstack_mem, .ss_size = sizeof altstack_mem, .ss_flags = 0};
    stack_t old;
    printf("sigaltstack set: %d\n", sigaltstack(&ss, &old));
    printf("old flags=%d (SS_DISABLE=%d)\n", old.ss_flags, SS_DISABLE);
    install(SIGUSR1, on_alt, SA_ONSTACK, NULL);
    install(SIGUSR2, on_alt2, SA_ONSTACK, NULL);
    raise(SIGUSR1);
    printf("on alt=%d flags_in=%d uc_flags=%d eperm=%d nested_on=%d\n", alt_on, alt_flags_in, uc_flags_onstack, alt_eperm, alt_nested_on);
    stack_t after;
    sigaltstack(NULL, &after);
    printf("after flags=%d size_ok=%d\n", after.ss_flags, after.ss_size == sizeof altstack_mem);
    /* handler without SA_ONSTACK runs on the normal stack */
    install(SIGUSR1, on_alt, 0, NULL);
    alt_on = -1;
    install(SIGUSR2, on_alt2, 0, NULL);
    raise(SIGUSR1);
    printf("no SA_ONSTACK: on alt=%d flags_in=%d\n", alt_on, alt_flags_in);
    /* errors */
    stack_t small = {.ss_sp = altstack_mem, .ss_size = 100, .ss_flags = 0};
    TRY("too small", sigaltstack(&small, NULL));
    stack_t bad = {.ss_sp = altstack_mem, .ss_size = sizeof altstack_mem, .ss_flags = 12345};
    TRY("bad flags", sigaltstack(&bad, NULL));
    TRY("bad pointer", sigaltstack((stack_t *)8, NULL));
    stack_t dis = {.ss_flags = SS_DISABLE};
    sigaltstack(&dis, NULL);
    sigaltstack(NULL, &after);
    printf("disabled flags=%d\n", after.ss_flags);
    /* SS_AUTODISARM: disarmed while in the handler, restored after */
    ss.ss_flags = SS_AUTODISARM;
    printf("autodisarm set: %d\n", sigaltstack(&ss, NULL));
    install(SIGUSR1, on_alt, SA_ONSTACK, NULL);
    install(SIGUSR2, on_alt2, SA_ONSTACK, NULL);
    raise(SIGUSR1);
    printf("autodisarm: on alt=%d flags_in=%d eperm=%d nested_on=%d\n", alt_on, alt_flags_in, alt_eperm, alt_nested_on);
    sigaltstack(NULL, &after);
    printf("autodisarm after flags=%d\n", after.ss_flags);
}

/* ---- rt_sigreturn restores every general register, flags and the SSE state ---- */
struct regblock {
    uint64_t gpr[16]; /* rax rbx rcx rdx rsi rdi rbp r8..r15; low dword of [15] = MXCSR to load */
    uint64_t xmm[32];
};
struct regblock reg_in, reg_out;
uint64_t rsp_before, rsp_after, flags_out;
uint32_t mxcsr_out;
void regtest(void);
extern char regtest_ud2[];
__asm__(
    ".text\n.globl regtest\n.type regtest,@function\nregtest:\n"
    "push %rbx\npush %rbp\npush %r12\npush %r13\npush %r14\npush %r15\n"
    "sub $8, %rsp\n"
    "movq %rsp, rsp_before(%rip)\n"
    "lea reg_in(%rip), %rdi\n"
    "ldmxcsr 120(%rdi)\n"
    "movdqu 128(%rdi), %xmm0\nmovdqu 144(%rdi), %xmm1\nmovdqu 160(%rdi), %xmm2\nmovdqu 176(%rdi), %xmm3\n"
    "movdqu 192(%rdi), %xmm4\nmovdqu 208(%rdi), %xmm5\nmovdqu 224(%rdi), %xmm6\nmovdqu 240(%rdi), %xmm7\n"
    "movdqu 256(%rdi), %xmm8\nmovdqu 272(%rdi), %xmm9\nmovdqu 288(%rdi), %xmm10\nmovdqu 304(%rdi), %xmm11\n"
    "movdqu 320(%rdi), %xmm12\nmovdqu 336(%rdi), %xmm13\nmovdqu 352(%rdi), %xmm14\nmovdqu 368(%rdi), %xmm15\n"
    "mov 0(%rdi), %rax\nmov 8(%rdi), %rbx\nmov 16(%rdi), %rcx\nmov 24(%rdi), %rdx\nmov 32(%rdi), %rsi\n"
    "mov 48(%rdi), %rbp\nmov 56(%rdi), %r8\nmov 64(%rdi), %r9\nmov 72(%rdi), %r10\nmov 80(%rdi), %r11\n"
    "mov 88(%rdi), %r12\nmov 96(%rdi), %r13\nmov 104(%rdi), %r14\nmov 112(%rdi), %r15\n"
    "mov 40(%rdi), %rdi\n"
    "stc\nstd\n"
    ".globl regtest_ud2\nregtest_ud2:\nud2\n"
    "movq %rsp, rsp_after(%rip)\n"
    "pushfq\n"
    "cld\n"
    "push %rdi\n"
    "lea reg_out(%rip), %rdi\n"
    "mov %rax, 0(%rdi)\nmov %rbx, 8(%rdi)\nmov %rcx, 16(%rdi)\nmov %rdx, 24(%rdi)\nmov %rsi, 32(%rdi)\n"
    "pop %rax\nmov %rax, 40(%rdi)\n"
    "mov %rbp, 48(%rdi)\nmov %r8, 56(%rdi)\nmov %r9, 64(%rdi)\nmov %r10, 72(%rdi)\nmov %r11, 80(%rdi)\n"
    "mov %r12, 88(%rdi)\nmov %r13, 96(%rdi)\nmov %r14, 104(%rdi)\nmov %r15, 112(%rdi)\n"
    "pop %rax\nmov %rax, flags_out(%rip)\n"
    "stmxcsr mxcsr_out(%rip)\n"
    "movdqu %xmm0, 128(%rdi)\nmovdqu %xmm1, 144(%rdi)\nmovdqu %xmm2, 160(%rdi)\nmovdqu %xmm3, 176(%rdi)\n"
    "movdqu %xmm4, 192(%rdi)\nmovdqu %xmm5, 208(%rdi)\nmovdqu %xmm6, 224(%rdi)\nmovdqu %xmm7, 240(%rdi)\n"
    "movdqu %xmm8, 256(%rdi)\nmovdqu %xmm9, 272(%rdi)\nmovdqu %xmm10, 288(%rdi)\nmovdqu %xmm11, 304(%rdi)\n"
    "movdqu %xmm12, 320(%rdi)\nmovdqu %xmm13, 336(%rdi)\nmovdqu %xmm14, 352(%rdi)\nmovdqu %xmm15, 368(%rdi)\n"
    "movl $0x1f80, (%rsp)\nldmxcsr (%rsp)\n"
    "add $8, %rsp\n"
    "pop %r15\npop %r14\npop %r13\npop %r12\npop %rbp\npop %rbx\n"
    "ret\n");

static volatile int ill_code, ill_addr_ok, ill_trapno;
static uint32_t handler_mxcsr;
static uint16_t handler_fcw;
static volatile unsigned handler_df;
static const uint32_t mxcsr_down = 0x3f80;
static volatile uint64_t handler_xmm3;
static void on_ill(int sig, siginfo_t *si, void *ucv) {
    (void)sig;
    ucontext_t *uc = ucv;
    ill_code = si->si_code;
    ill_addr_ok = si->si_addr == (void *)regtest_ud2 && uc->uc_mcontext.gregs[REG_RIP] == (greg_t)regtest_ud2;
    ill_trapno = (int)uc->uc_mcontext.gregs[REG_TRAPNO];
    uint64_t x3, fl;
    __asm__ volatile("stmxcsr %0" : "=m"(handler_mxcsr) :: "memory");
    __asm__ volatile("fnstcw %0" : "=m"(handler_fcw) :: "memory");
    __asm__ volatile("movq %%xmm3, %0" : "=r"(x3));
    __asm__ volatile("pushfq\npop %0" : "=r"(fl));
    handler_xmm3 = x3;
    handler_df = (fl >> 10) & 1;
    /* clobber the SSE registers, MXCSR and the caller-saved GPRs for real */
    __asm__ volatile("pcmpeqd %%xmm0, %%xmm0\npcmpeqd %%xmm1, %%xmm1\npcmpeqd %%xmm8, %%xmm8\npcmpeqd %%xmm15, %%xmm15\n"
                     "mov $0x5555, %%eax\nmov %%eax, %%ecx\nmov %%eax, %%edx\nmov %%eax, %%esi\nmov %%eax, %%edi\n"
                     "mov %%eax, %%r8d\nmov %%eax, %%r9d\nmov %%eax, %%r10d\nmov %%eax, %%r11d\n"
                     "ldmxcsr %0\n"
                     :: "m"(mxcsr_down) : "xmm0", "xmm1", "xmm8", "xmm15", "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory");
    /* skip the ud2; change r12 and xmm5's low dword through the frame */
    uc->uc_mcontext.gregs[REG_RIP] += 2;
    uc->uc_mcontext.gregs[REG_R12] = 0x1212121212121212;
    uc->uc_mcontext.fpregs->_xmm[5].element[0] = 0xabcdef01;
}

static void sec_registers(void) {
    for (int i = 0; i < 15; i++) reg_in.gpr[i] = 0x0101010101010101ULL * (uint64_t)(i + 1) + 0x1000;
    reg_in.gpr[15] = 0x1f80 | 0x6000; /* MXCSR: round toward zero */
    for (int i = 0; i < 32; i++) reg_in.xmm[i] = (0x1111111111111111ULL * (uint64_t)(i % 15 + 1)) ^ (uint64_t)i;
    install(SIGILL, on_ill, 0, NULL);
    regtest();
    printf("ill code=%d addr_ok=%d trapno=%d\n", ill_code, ill_addr_ok, ill_trapno);
    printf("in handler: mxcsr=%#x fcw=%#x xmm3=%#llx df=%d\n", handler_mxcsr, handler_fcw, (unsigned long long)handler_xmm3, handler_df);
    const char *names[] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"};
    int bad = 0;
    for (int i = 0; i < 15; i++) {
        uint64_t want = i == 11 ? 0x1212121212121212ULL : reg_in.gpr[i];
        if (reg_out.gpr[i] != want) { printf("%s: %#llx != %#llx\n", names[i], (unsigned long long)reg_out.gpr[i], (unsigned long long)want); bad++; }
    }
    printf("after: CF=%d DF=%d mxcsr=%#x\n", (int)(flags_out & 1), (int)((flags_out >> 10) & 1), mxcsr_out);
    for (int i = 0; i < 32; i++) {
        uint64_t want = reg_in.xmm[i];
        if (i == 10) want = (reg_in.xmm[10] & ~0xffffffffULL) | 0xabcdef01;
        if (reg_out.xmm[i] != want) { printf("xmm%d.%d: %#llx != %#llx\n", i / 2, i % 2, (unsigned long long)reg_out.xmm[i], (unsigned long long)want); bad++; }
    }
    printf("rsp same=%d registers bad=%d\n", rsp_before == rsp_after, bad);
    /* the same through a syscall: kill() to self, the handler runs on the syscall's return */
}

/* ---- faults ---- */
static sigjmp_buf fault_env;
static volatile siginfo_t fault_info;
static volatile greg_t fault_rip;
static volatile int fault_trapno;
static void on_fault(int sig, siginfo_t *si, void *ucv) {
    (void)sig;
    ucontext_t *uc = ucv;
    fault_info = *si;
    fault_rip = uc->uc_mcontext.gregs[REG_RIP];
    fault_trapno = (int)uc->uc_mcontext.gregs[REG_TRAPNO];
    siglongjmp(fault_env, 1);
}

extern char fpe_insn[], int3_after[], ud2_insn[];
__attribute__((noinline)) static int do_div(int a, int b) {
    int q;
    __asm__ volatile("mov %1, %%eax\ncltd\n.globl fpe_insn\nfpe_insn: idivl %2\nmov %%eax, %0" : "=r"(q) : "r"(a), "r"(b) : "eax", "edx");
    return q;
}

static void fault_line(const char *what, void *want_addr) {
    printf("%s: signo=%d code=%d addr_ok=%d trapno=%d\n", what, fault_info.si_signo, fault_info.si_code,
           fault_info.si_addr == want_addr, fault_trapno);
}

static volatile int trap_hits, trap_code;
static volatile void *trap_addr;
static volatile greg_t trap_rip;
static void on_trap(int sig, siginfo_t *si, void *ucv) {
    (void)sig;
    trap_hits++;
    trap_code = si->si_code;
    trap_addr = si->si_addr;
    trap_rip = ((ucontext_t *)ucv)->uc_mcontext.gregs[REG_RIP];
}

__attribute__((noinline)) static int recurse(int n) {
    volatile char pad[1024];
    pad[0] = (char)n;
    return n > 1000000000 ? pad[0] : recurse(n + 1) + pad[0];
}

static volatile int segv_fixed;
static char *fix_page;
static void fix_segv(int sig, siginfo_t *si, void *ucv) {
    (void)sig; (void)ucv;
    if ((char *)si->si_addr == fix_page + 10 && mprotect(fix_page, 4096, PROT_READ | PROT_WRITE) == 0) segv_fixed++;
}

static void sec_faults(void) {
    install(SIGSEGV, on_fault, 0, NULL);
    install(SIGBUS, on_fault, 0, NULL);
    install(SIGFPE, on_fault, 0, NULL);
    install(SIGILL, on_fault, 0, NULL);
    char *p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(p + 4096, 4096);
    if (!sigsetjmp(fault_env, 1)) { *(volatile char *)(p + 4096 + 17) = 1; printf("no fault?\n"); }
    fault_line("segv maperr", p + 4096 + 17);
    mprotect(p, 4096, PROT_READ);
    if (!sigsetjmp(fault_env, 1)) { *(volatile char *)(p + 5) = 1; printf("no fault?\n"); }
    fault_line("segv accerr", p + 5);
    if (!sigsetjmp(fault_env, 1)) { (void)*(volatile char *)(p + 5); printf("read of PROT_READ ok\n"); }
    mprotect(p, 4096, PROT_NONE);
    if (!sigsetjmp(fault_env, 1)) { (void)*(volatile char *)(p + 9); printf("no fault?\n"); }
    fault_line("segv prot_none read", p + 9);
    if (!sigsetjmp(fault_env, 1)) { (void)*(volatile char *)0x8000000000000000ULL; printf("no fault?\n"); }
    fault_line("segv noncanonical", NULL);
    if (!sigsetjmp(fault_env, 1)) { (void)*(volatile char *)0xffffffffff600400ULL; printf("vsyscall page readable\n"); }
    else fault_line("segv kernel half", (void *)0xffffffffff600400ULL);
    /* mask is restored by siglongjmp(savemask) */
    sigset_t m;
    sigprocmask(SIG_SETMASK, NULL, &m);
    printf("segv blocked after longjmp=%d\n", sigismember(&m, SIGSEGV));
    /* SIGBUS: a file mapping beyond EOF */
    char path[] = "/tmp/sigcornerXXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    if (write(fd, "hello", 5) != 5) printf("write failed\n");
    char *f = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("in-file byte=%c past-eof-same-page=%d\n", f[1], f[100]);
    if (!sigsetjmp(fault_env, 1)) { (void)*(volatile char *)(f + 4096 + 3); printf("no fault?\n"); }
    fault_line("sigbus", f + 4096 + 3);
    if (!sigsetjmp(fault_env, 1)) { *(volatile char *)(f + 4096 + 3) = 1; printf("no fault?\n"); }
    fault_line("sigbus write", f + 4096 + 3);
    close(fd);
    /* SIGFPE */
    if (!sigsetjmp(fault_env, 1)) { printf("q=%d\n", do_div(7, 0)); }
    fault_line("fpe intdiv", fpe_insn);
    printf("rip at insn=%d\n", fault_rip == (greg_t)fpe_insn);
    if (!sigsetjmp(fault_env, 1)) { printf("q=%d\n", do_div(-2147483647 - 1, -1)); }
    fault_line("fpe overflow", fpe_insn);
    /* SIGILL */
    if (!sigsetjmp(fault_env, 1)) { __asm__ volatile(".globl ud2_insn\nud2_insn: ud2"); }
    fault_line("ill ud2", ud2_insn);
    /* SIGTRAP from int3: the handler returns and execution continues after it */
    install(SIGTRAP, on_trap, 0, NULL);
    __asm__ volatile("int3\n.globl int3_after\nint3_after: nop");
    printf("trap hits=%d code=%d addr_null=%d rip_after=%d\n", trap_hits, trap_code, trap_addr == NULL, trap_rip == (greg_t)int3_after);
    /* a SIGSEGV handler that fixes the protection and returns: the write is retried */
    fix_page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    install(SIGSEGV, fix_segv, 0, NULL);
    fix_page[10] = 42;
    printf("fixed=%d value=%d\n", segv_fixed, fix_page[10]);
    /* stack overflow: the SIGSEGV handler runs on the alternate stack and jumps out */
    static char segv_stack[1 << 16];
    stack_t ss = {.ss_sp = segv_stack, .ss_size = sizeof segv_stack, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    install(SIGSEGV, on_fault, SA_ONSTACK, NULL);
    if (!sigsetjmp(fault_env, 1)) { printf("recursed %d\n", recurse(1)); }
    printf("stack overflow: signo=%d code=%d on altstack ok\n", fault_info.si_signo, fault_info.si_code);
    /* the same without an alternate stack: the frame cannot be written, the process dies */
    pid_t c0 = fork();
    if (c0 == 0) {
        stack_t dis = {.ss_flags = SS_DISABLE};
        sigaltstack(&dis, NULL);
        install(SIGSEGV, on_fault, 0, NULL);
        if (!sigsetjmp(fault_env, 1)) recurse(1);
        _exit(1);
    }
    int st0;
    waitpid(c0, &st0, 0);
    report("stack overflow without altstack", st0);
    install(SIGSEGV, on_fault, 0, NULL);
    /* a fault while its signal is blocked or ignored kills (forced), even with a handler */
    int st;
    pid_t c = fork();
    if (c == 0) {
        install(SIGSEGV, on_fault, 0, NULL);
        sigset_t b;
        sigemptyset(&b);
        sigaddset(&b, SIGSEGV);
        sigprocmask(SIG_BLOCK, &b, NULL);
        *(volatile int *)8 = 1;
        _exit(1);
    }
    waitpid(c, &st, 0);
    report("segv while blocked", st);
    c = fork();
    if (c == 0) { signal(SIGFPE, SIG_IGN); printf("q=%d\n", do_div(1, 0)); _exit(1); }
    waitpid(c, &st, 0);
    report("fpe while ignored", st);
    c = fork();
    if (c == 0) { signal(SIGTRAP, SIG_DFL); __asm__ volatile("int3"); _exit(1); }
    waitpid(c, &st, 0);
    report("int3 default", st);
    c = fork();
    if (c == 0) { signal(SIGBUS, SIG_DFL); *(volatile char *)(f + 4096) = 1; _exit(1); }
    waitpid(c, &st, 0);
    report("sigbus default", st);
    /* a fault inside a SIGSEGV handler (signal blocked there): the process dies */
    c = fork();
    if (c == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = (void (*)(int))0x10; /* a handler address that is not mapped */
        sigaction(SIGSEGV, &sa, NULL);
        *(volatile int *)8 = 1;
        _exit(1);
    }
    waitpid(c, &st, 0);
    report("handler at bad address", st);
}

/* ---- real-time signals queue; standard ones coalesce ---- */
static volatile int rt_log[64];
static volatile int rt_n;
static void on_rt(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    if (rt_n < 62) { rt_log[rt_n++] = sig; rt_log[rt_n++] = si->si_value.sival_int; }
}

static void sec_rt(void) {
    int all_rt[] = {SIGRTMIN, SIGRTMIN + 1, SIGRTMIN + 2, SIGUSR1, 0};
    for (int i = 0; all_rt[i]; i++) install(all_rt[i], on_rt, 0, all_rt);
    sigset_t b, old;
    sigemptyset(&b);
    for (int i = 0; all_rt[i]; i++) sigaddset(&b, all_rt[i]);
    sigprocmask(SIG_BLOCK, &b, &old);
    union sigval v;
    int seq[][2] = {{SIGRTMIN + 2, 1}, {SIGRTMIN + 1, 2}, {SIGRTMIN + 2, 3}, {SIGRTMIN, 4}, {SIGUSR1, 5}, {SIGRTMIN + 1, 6}, {SIGUSR1, 7}, {SIGRTMIN, 8}};
    for (unsigned i = 0; i < sizeof seq / sizeof seq[0]; i++) { v.sival_int = seq[i][1]; sigqueue(getpid(), seq[i][0], v); }
    sigset_t pend;
    sigpending(&pend);
    printf("pending: usr1=%d rt0=%d rt1=%d rt2=%d\n", sigismember(&pend, SIGUSR1), sigismember(&pend, SIGRTMIN), sigismember(&pend, SIGRTMIN + 1), sigismember(&pend, SIGRTMIN + 2));
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("delivered (sa_mask blocks all):");
    for (int i = 0; i < rt_n; i += 2) printf(" %d/%d", rt_log[i] - (rt_log[i] >= SIGRTMIN ? SIGRTMIN : 0) + (rt_log[i] >= SIGRTMIN ? 100 : 0), rt_log[i + 1]);
    printf("\n");
    /* the same with empty sa_masks: Linux stacks the handler frames of everything pending */
    rt_n = 0;
    for (int i = 0; all_rt[i]; i++) install(all_rt[i], on_rt, 0, NULL);
    sigprocmask(SIG_BLOCK, &b, &old);
    for (unsigned i = 0; i < sizeof seq / sizeof seq[0]; i++) { v.sival_int = seq[i][1]; sigqueue(getpid(), seq[i][0], v); }
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("delivered (empty sa_mask):");
    for (int i = 0; i < rt_n; i += 2) printf(" %d/%d", rt_log[i] - (rt_log[i] >= SIGRTMIN ? SIGRTMIN : 0) + (rt_log[i] >= SIGRTMIN ? 100 : 0), rt_log[i + 1]);
    printf("\n");
    /* sigwaitinfo takes them in order too */
    sigprocmask(SIG_BLOCK, &b, &old);
    for (unsigned i = 0; i < sizeof seq / sizeof seq[0]; i++) { v.sival_int = seq[i][1]; sigqueue(getpid(), seq[i][0], v); }
    printf("sigwaitinfo:");
    struct timespec zero = {0, 0};
    siginfo_t si;
    int s;
    while ((s = sigtimedwait(&b, &si, &zero)) > 0) printf(" %d/%d", s - (s >= SIGRTMIN ? SIGRTMIN : 0) + (s >= SIGRTMIN ? 100 : 0), si.si_value.sival_int);
    printf(" end errno=%d\n", errno);
    sigprocmask(SIG_SETMASK, &old, NULL);
    /* many queued: all arrive */
    rt_n = 0;
    sigprocmask(SIG_BLOCK, &b, &old);
    for (int i = 0; i < 200; i++) { v.sival_int = i; if (sigqueue(getpid(), SIGRTMIN + 1, v)) { printf("sigqueue %d failed %d\n", i, errno); break; } }
    int got = 0, in_order = 1;
    for (int i = 0; i < 200; i++) {
        if (sigtimedwait(&b, &si, &zero) != SIGRTMIN + 1) break;
        if (si.si_value.sival_int != i) in_order = 0;
        got++;
    }
    printf("200 queued: got=%d in_order=%d\n", got, in_order);
    sigprocmask(SIG_SETMASK, &old, NULL);
}

/* ---- SIGCHLD: SA_NOCLDSTOP, SA_NOCLDWAIT, SIG_IGN ---- */
static volatile int chld_hits;
static volatile int chld_codes[8];
static void on_chld(int sig, siginfo_t *si, void *uc) {
    (void)sig; (void)uc;
    if (chld_hits < 8) chld_codes[chld_hits] = si->si_code;
    chld_hits++;
}

static void sec_sigchld(void) {
    int st;
    install(SIGCHLD, on_chld, 0, NULL);
    pid_t c = fork();
    if (c == 0) { raise(SIGSTOP); msleep(100); _exit(3); } /* the CLD_CONTINUED is taken before the exit's */
    waitpid(c, &st, WUNTRACED);
    kill(c, SIGCONT);
    waitpid(c, &st, WCONTINUED);
    /* Linux sends CLD_CONTINUED when the child runs again: it may interrupt this wait */
    while (waitpid(c, &st, 0) < 0 && errno == EINTR) {}
    printf("plain: hits=%d codes=%d,%d,%d\n", chld_hits, chld_codes[0], chld_codes[1], chld_codes[2]);
    chld_hits = 0;
    install(SIGCHLD, on_chld, SA_NOCLDSTOP, NULL);
    c = fork();
    if (c == 0) { raise(SIGSTOP); _exit(3); }
    waitpid(c, &st, WUNTRACED);
    kill(c, SIGCONT);
    waitpid(c, &st, 0);
    report("nocldstop child", st);
    printf("nocldstop: hits=%d code=%d\n", chld_hits, chld_codes[0]);
    /* SA_NOCLDWAIT: the handler still runs, but no zombie: wait gives ECHILD */
    chld_hits = 0;
    install(SIGCHLD, on_chld, SA_NOCLDWAIT, NULL);
    c = fork();
    if (c == 0) _exit(4);
    msleep(100);
    errno = 0;
    int w = waitpid(c, &st, 0);
    printf("nocldwait: wait=%d errno=%d hits=%d\n", w, errno, chld_hits);
    /* a blocked wait(-1) returns ECHILD once the auto-reaped children are gone (SA_RESTART:
       without it Linux may return EINTR, depending on timing) */
    install(SIGCHLD, on_chld, SA_NOCLDWAIT | SA_RESTART, NULL);
    c = fork();
    if (c == 0) { msleep(100); _exit(4); }
    errno = 0;
    w = wait(&st);
    printf("nocldwait blocking wait=%d errno=%d\n", w, errno);
    /* SIG_IGN: auto-reaped, no handler */
    signal(SIGCHLD, SIG_IGN);
    c = fork();
    if (c == 0) _exit(5);
    msleep(100);
    errno = 0;
    w = waitpid(c, &st, 0);
    printf("ign: wait=%d errno=%d\n", w, errno);
    /* kill() of an auto-reaped child fails */
    TRY("kill reaped", kill(c, 0));
    /* SIG_DFL again: zombies come back */
    signal(SIGCHLD, SIG_DFL);
    c = fork();
    if (c == 0) _exit(6);
    msleep(100);
    printf("zombie visible: kill=%d\n", kill(c, 0));
    w = waitpid(c, &st, 0);
    report("dfl", st);
}

/* ---- process groups: setpgid, kill(0), kill(-pgrp), waitpid(-pgrp) ---- */
static volatile int usr1_hits;
static void count_usr1(int sig) { (void)sig; usr1_hits++; }

static void sec_pgrp(void) {
    int st;
    setpgid(0, 0);
    signal(SIGUSR1, count_usr1);
    int sync[2];
    if (pipe(sync)) return;
    /* two children in a new group, one in ours */
    pid_t a = fork();
    if (a == 0) { close(sync[0]); setpgid(0, 0); write(sync[1], "a", 1); for (;;) pause(); }
    char ch;
    read(sync[0], &ch, 1);
    pid_t b = fork();
    if (b == 0) { close(sync[0]); setpgid(0, a); write(sync[1], "b", 1); for (;;) pause(); }
    read(sync[0], &ch, 1);
    pid_t d = fork();
    if (d == 0) { signal(SIGUSR1, count_usr1); close(sync[0]); write(sync[1], "d", 1); while (!usr1_hits) pause(); _exit(10 + usr1_hits); }
    read(sync[0], &ch, 1);
    printf("pgid a=%d b=%d d=%d\n", getpgid(a) == a, getpgid(b) == a, getpgid(d) == getpgrp());
    TRY("setpgid neg", setpgid(0, -1));
    TRY("setpgid no such group", setpgid(d, 999999));
    TRY("setpgid not child", setpgid(1, 1));
    TRY("getpgid none", getpgid(999999));
    /* waitpid on the group: nothing ready */
    printf("wnohang -pgrp: %d\n", waitpid(-a, &st, WNOHANG));
    /* kill(0) reaches us and d */
    kill(0, SIGUSR1);
    printf("self got usr1=%d\n", usr1_hits);
    waitpid(d, &st, 0);
    report("d", st);
    /* kill(-a) kills a and b, not us */
    kill(-a, SIGTERM);
    int n = 0;
    while ((waitpid(-a, &st, 0)) > 0) { n++; if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGTERM) printf("odd status %#x\n", st); }
    printf("group reaped=%d errno=%d\n", n, errno);
    TRY("kill empty group", kill(-a, SIGTERM));
    /* waitpid(0) = our group only */
    pid_t e = fork();
    if (e == 0) { setpgid(0, 0); _exit(7); }
    pid_t g = fork();
    if (g == 0) { msleep(50); _exit(8); }
    w_again:;
    int w = waitpid(0, &st, 0);
    if (w == e) goto w_again; /* it may not have changed group yet */
    printf("waitpid(0) got g=%d\n", w == g);
    report("g", st);
    waitpid(e, &st, 0);
    report("e", st);
    signal(SIGUSR1, SIG_DFL);
}

/* setpgid on a child that has exec'd: EACCES */
static void sec_pgrp_exec(void) {
    int st;
    pid_t h = fork();
    if (h == 0) { execl("/proc/self/exe", "sigcorner", "sleeper", (char *)NULL); _exit(127); }
    msleep(200);
    TRY("setpgid after exec", setpgid(h, h));
    pid_t g = fork();
    if (g == 0) { msleep(300); _exit(0); }
    TRY("setpgid before exec", setpgid(g, g));
    kill(h, SIGKILL);
    waitpid(h, &st, 0);
    report("h", st);
    waitpid(g, &st, 0);
    report("g", st);
}

/* ---- sigsuspend, pause, sigtimedwait ---- */
static void sec_wait_signals(void) {
    signal(SIGUSR1, count_usr1);
    usr1_hits = 0;
    sigset_t b, old, none;
    sigemptyset(&b);
    sigaddset(&b, SIGUSR1);
    sigprocmask(SIG_BLOCK, &b, &old);
    pid_t me = getpid();
    pid_t c = fork();
    if (c == 0) { msleep(50); kill(me, SIGUSR1); _exit(0); }
    sigemptyset(&none);
    errno = 0;
    int r = sigsuspend(&none);
    sigset_t now;
    sigprocmask(SIG_SETMASK, NULL, &now);
    printf("sigsuspend: %d errno=%d hits=%d mask restored=%d\n", r, errno, usr1_hits, sigismember(&now, SIGUSR1));
    waitpid(c, NULL, 0);
    struct timespec t = {0, 50000000};
    errno = 0;
    r = sigtimedwait(&b, NULL, &t);
    printf("sigtimedwait timeout: %d errno=%d\n", r, errno);
    raise(SIGUSR1);
    siginfo_t si;
    r = sigtimedwait(&b, &si, &t);
    printf("sigtimedwait: %d code=%d hits=%d\n", r, si.si_code, usr1_hits);
    t.tv_nsec = 2000000000L;
    TRY("sigtimedwait bad timeout", sigtimedwait(&b, NULL, &t));
    sigprocmask(SIG_SETMASK, &old, NULL);
    /* pending signals survive fork? No: the child starts with none pending */
    sigprocmask(SIG_BLOCK, &b, NULL);
    raise(SIGUSR1);
    c = fork();
    if (c == 0) { sigset_t p; sigpending(&p); printf("child pending=%d\n", sigismember(&p, SIGUSR1)); _exit(0); }
    waitpid(c, NULL, 0);
    sigset_t p;
    sigpending(&p);
    printf("parent pending=%d\n", sigismember(&p, SIGUSR1));
    sigprocmask(SIG_SETMASK, &old, NULL);
}

/* ---- wait corner cases ---- */
static int clone_child_fn(void *arg) { (void)arg; return 9; }
static void sec_waits(void) {
    int st;
    siginfo_t si;
    pid_t c = fork();
    if (c == 0) _exit(3);
    memset(&si, 0, sizeof si);
    TRY("waitid WNOWAIT", waitid(P_PID, c, &si, WEXITED | WNOWAIT));
    printf("  code=%d status=%d pid_ok=%d\n", si.si_code, si.si_status, si.si_pid == c);
    TRY("kill zombie", kill(c, 0));
    TRY("waitpid after WNOWAIT == child", waitpid(c, &st, 0) == c);
    report("  status", st);
    /* stopped and continued through waitid */
    c = fork();
    if (c == 0) { raise(SIGSTOP); _exit(4); }
    memset(&si, 0, sizeof si);
    TRY("waitid WSTOPPED", waitid(P_PID, c, &si, WSTOPPED));
    printf("  code=%d status=%d\n", si.si_code, si.si_status);
    memset(&si, 0x55, sizeof si);
    TRY("waitid WSTOPPED again WNOHANG", waitid(P_PID, c, &si, WSTOPPED | WNOHANG));
    printf("  pid=%d\n", si.si_pid);
    kill(c, SIGCONT);
    memset(&si, 0, sizeof si);
    TRY("waitid WCONTINUED", waitid(P_PID, c, &si, WCONTINUED));
    printf("  code=%d status=%d\n", si.si_code, si.si_status);
    TRY("waitid WEXITED", waitid(P_PID, c, &si, WEXITED));
    printf("  code=%d status=%d\n", si.si_code, si.si_status);
    /* killed while stopped */
    c = fork();
    if (c == 0) { raise(SIGSTOP); _exit(4); }
    waitpid(c, &st, WUNTRACED);
    kill(c, SIGKILL);
    waitpid(c, &st, 0);
    report("killed while stopped", st);
    /* rusage */
    c = fork();
    if (c == 0) { volatile long x = 0; for (long i = 0; i < 20000000; i++) x += i; _exit(0); }
    struct rusage ru;
    memset(&ru, 0xff, sizeof ru);
    TRY("wait4 with rusage == child", wait4(c, &st, 0, &ru) == c);
    printf("  utime sane=%d\n", ru.ru_utime.tv_sec >= 0 && ru.ru_utime.tv_sec < 100 && ru.ru_utime.tv_usec >= 0 && ru.ru_utime.tv_usec < 1000000);
    /* a clone child with exit signal 0 is waited for only with __WALL/__WCLONE */
    static char cstack[65536];
    c = clone(clone_child_fn, cstack + sizeof cstack, 0, NULL);
    msleep(100);
    TRY("waitpid(-1) no __WCLONE", waitpid(-1, &st, WNOHANG));
    TRY("waitpid(c) no __WCLONE", waitpid(c, &st, WNOHANG));
    TRY("waitpid(c, __WCLONE) == c", waitpid(c, &st, __WCLONE) == c);
    report("  clone child", st);
    /* an exit signal other than SIGCHLD is sent as that signal */
    signal(SIGUSR2, count_usr1);
    usr1_hits = 0;
    c = clone(clone_child_fn, cstack + sizeof cstack, SIGUSR2, NULL);
    msleep(100);
    TRY("waitpid(c, __WALL) == c", waitpid(c, &st, __WALL) == c);
    report("  clone child SIGUSR2", st);
    printf("  SIGUSR2 on exit=%d\n", usr1_hits);
    usr1_hits = 0;
    c = clone(clone_child_fn, cstack + sizeof cstack, SIGUSR2, NULL);
    TRY("waitpid(c, __WCLONE) == c", waitpid(c, &st, __WCLONE) == c);
    printf("  SIGUSR2 on exit=%d\n", usr1_hits);
    signal(SIGUSR2, SIG_DFL);
    /* wait for a group: only its members */
    c = fork();
    if (c == 0) { setpgid(0, 0); msleep(100); _exit(5); }
    pid_t d = fork();
    if (d == 0) { _exit(6); }
    setpgid(c, c);
    TRY("waitpid(-c) == c", waitpid(-c, &st, 0) == c);
    report("  group member", st);
    TRY("waitpid(-c) again", waitpid(-c, &st, WNOHANG));
    TRY("waitpid(d) == d", waitpid(d, &st, 0) == d);
    TRY("waitid P_PGID none", waitid(P_PGID, 999999, &si, WEXITED | WNOHANG));
}

/* ---- as pid 1 (run under umbra, or natively in a new pid namespace) ---- */
static void on_term_exit(int sig) { (void)sig; _exit(20); }
static void sec_pid1(void) {
    int st;
    if (getpid() != 1) { printf("not pid 1\n"); return; }
    int sync[2];
    if (pipe(sync)) return;
    char ch;
    pid_t a = fork();
    if (a == 0) { close(sync[0]); setpgid(0, 0); write(sync[1], "a", 1); for (;;) pause(); }
    read(sync[0], &ch, 1);
    pid_t b = fork();
    if (b == 0) { signal(SIGTERM, on_term_exit); close(sync[0]); write(sync[1], "b", 1); for (;;) pause(); }
    read(sync[0], &ch, 1);
    pid_t c = fork();
    if (c == 0) {
        TRY("child kill(-1, TERM)", kill(-1, SIGTERM));
        TRY("child kill(1, TERM)", kill(1, SIGTERM));
        TRY("child kill(1, KILL)", kill(1, SIGKILL));
        TRY("child kill(-1, 0)", kill(-1, 0));
        write(sync[1], "c", 1);
        _exit(30);
    }
    read(sync[0], &ch, 1); /* a and b are reaped only after c's kill(-1, 0) */
    waitpid(a, &st, 0);
    report("a", st);
    waitpid(b, &st, 0);
    report("b", st);
    waitpid(c, &st, 0);
    report("c", st);
    printf("init survived its children's signals\n");
    TRY("init kill(-1, USR1) alone", kill(-1, SIGUSR1));
    pid_t d = fork();
    if (d == 0) { for (;;) pause(); }
    TRY("init kill(-1, KILL)", kill(-1, SIGKILL));
    waitpid(d, &st, 0);
    report("d", st);
    /* init ignores signals it has no handler for, even its own kill(1, TERM)? raise() is honoured */
    signal(SIGUSR2, SIG_DFL);
    TRY("init kill(0, 0)", kill(0, 0));
    /* orphans are reparented to init and reaped by it */
    pid_t e = fork();
    if (e == 0) {
        pid_t g = fork();
        if (g == 0) { usleep(100000); printf("grandchild ppid is init=%d\n", getppid() == 1); _exit(40); }
        _exit(41);
    }
    waitpid(e, &st, 0);
    report("e", st);
    pid_t w = wait(&st);
    printf("reaped orphan=%d\n", w > 0);
    report("orphan", st);
}

struct section { const char *name; void (*fn)(void); };
static const struct section sections[] = {
    {"siginfo", sec_siginfo}, {"masks", sec_masks}, {"altstack", sec_altstack}, {"registers", sec_registers},
{"faults", sec_faults}, {"rt", sec_rt}, {"sigchld", sec_sigchld}, {"pgrp", sec_pgrp}, {"pgrp_exec", sec_pgrp_exec},
    {"waitsig", sec_wait_signals}, {"waits", sec_waits},
};

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && strcmp(argv[1], "sleeper") == 0) { for (;;) pause(); }
    if (argc > 1 && strcmp(argv[1], "pid1") == 0) { sec_pid1(); return 0; }
    for (unsigned i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        if (argc > 1 && strcmp(argv[1], sections[i].name) != 0) continue;
        printf("== %s\n", sections[i].name);
        pid_t c = fork();
        if (c == 0) { sections[i].fn(); fflush(stdout); _exit(0); }
        int st;
        while (waitpid(c, &st, 0) < 0 && errno == EINTR) {}
        report(sections[i].name, st);
    }
    return 0;
}

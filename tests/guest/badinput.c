/* Bad input to the process and signal syscalls, compared with Linux: bad signal numbers,
   bad pointers, bad sizes, bad wait options and id types, bad clone flags, a corrupted signal
   frame at rt_sigreturn. Raw syscalls, so libc's own checks do not hide the kernel's. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define TRY(what, expr) do { errno = 0; long r_ = (long)(expr); int e_ = errno; printf("%s: %ld %s\n", what, r_, r_ < 0 ? strerrorname_np(e_) : "ok"); } while (0)

static void report(const char *what, int st) {
    if (WIFEXITED(st)) printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st)) printf("%s: killed by %d\n", what, WTERMSIG(st));
    else printf("%s: status %#x\n", what, st);
}

struct ksigaction { void *handler; unsigned long flags; void *restorer; uint64_t mask; };
static void noop(int s) { (void)s; }

static void bad_signals(void) {
    pid_t me = getpid();
    int sigs[] = {0, 65, -1, 1000, INT32_MIN};
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        char what[64];
        int s = sigs[i];
        struct ksigaction ka = {SIG_IGN, 0, NULL, 0};
        snprintf(what, sizeof what, "kill(self, %d)", s);
        TRY(what, syscall(SYS_kill, me, s));
        snprintf(what, sizeof what, "tgkill(self, %d)", s);
        TRY(what, syscall(SYS_tgkill, me, me, s));
        snprintf(what, sizeof what, "rt_sigaction(%d)", s);
        TRY(what, syscall(SYS_rt_sigaction, s, &ka, NULL, 8));
        snprintf(what, sizeof what, "rt_sigaction(%d, query)", s);
        TRY(what, syscall(SYS_rt_sigaction, s, NULL, NULL, 8));
        siginfo_t si;
        memset(&si, 0, sizeof si);
        si.si_code = SI_QUEUE;
        snprintf(what, sizeof what, "rt_sigqueueinfo(%d)", s);
        TRY(what, syscall(SYS_rt_sigqueueinfo, me, s, &si));
    }
    uint64_t set = 0, old;
    TRY("sigprocmask how=-1", syscall(SYS_rt_sigprocmask, -1, &set, &old, 8));
    TRY("sigprocmask how=3", syscall(SYS_rt_sigprocmask, 3, &set, &old, 8));
    TRY("sigprocmask how=3 no set", syscall(SYS_rt_sigprocmask, 3, NULL, &old, 8));
    TRY("sigprocmask size 4", syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, &old, 4));
    TRY("sigprocmask size 16", syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, &old, 16));
    TRY("sigprocmask bad set", syscall(SYS_rt_sigprocmask, SIG_BLOCK, (void *)8, &old, 8));
    TRY("sigprocmask bad oldset", syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, (void *)8, 8));
    TRY("sigprocmask kernel oldset", syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, (void *)0xffffffffff600000ULL, 8));
    struct ksigaction ka = {(void *)noop, 0, NULL, 0};
    TRY("rt_sigaction KILL", syscall(SYS_rt_sigaction, SIGKILL, &ka, NULL, 8));
    TRY("rt_sigaction STOP", syscall(SYS_rt_sigaction, SIGSTOP, &ka, NULL, 8));
    TRY("rt_sigaction KILL query", syscall(SYS_rt_sigaction, SIGKILL, NULL, &ka, 8));
    TRY("rt_sigaction bad act", syscall(SYS_rt_sigaction, SIGUSR1, (void *)8, NULL, 8));
    ka.handler = (void *)noop;
    ka.flags = 0;
    TRY("rt_sigaction bad oact", syscall(SYS_rt_sigaction, SIGUSR1, &ka, (void *)8, 8));
    TRY("rt_sigaction size 4", syscall(SYS_rt_sigaction, SIGUSR1, &ka, NULL, 4));
    TRY("rt_sigaction unmapped act+size", syscall(SYS_rt_sigaction, SIGUSR1, (void *)8, NULL, 4));
    struct ksigaction q;
    syscall(SYS_rt_sigaction, SIGUSR1, NULL, &q, 8);
    printf("bad oact left the action set: %d\n", q.handler == (void *)noop);
    /* a failed write of oact must not have changed anything when act was also bad */
    TRY("rt_sigaction bad act good oact", syscall(SYS_rt_sigaction, SIGUSR2, (void *)8, &q, 8));
    TRY("rt_sigpending size 9", syscall(SYS_rt_sigpending, &set, 9));
    TRY("rt_sigpending size 4", syscall(SYS_rt_sigpending, &set, 4));
    TRY("rt_sigpending bad ptr", syscall(SYS_rt_sigpending, (void *)8, 8));
    TRY("rt_sigsuspend size 4", syscall(SYS_rt_sigsuspend, &set, 4));
    TRY("rt_sigsuspend bad ptr", syscall(SYS_rt_sigsuspend, (void *)8, 8));
    struct timespec zero = {0, 0}, neg = {-1, 0}, big = {0, 1000000000};
    uint64_t usr1 = 1ULL << (SIGUSR1 - 1);
    TRY("rt_sigtimedwait size 4", syscall(SYS_rt_sigtimedwait, &usr1, NULL, &zero, 4));
    TRY("rt_sigtimedwait neg ts", syscall(SYS_rt_sigtimedwait, &usr1, NULL, &neg, 8));
    TRY("rt_sigtimedwait big nsec", syscall(SYS_rt_sigtimedwait, &usr1, NULL, &big, 8));
    TRY("rt_sigtimedwait bad set", syscall(SYS_rt_sigtimedwait, (void *)8, NULL, &zero, 8));
    TRY("rt_sigtimedwait bad ts", syscall(SYS_rt_sigtimedwait, &usr1, NULL, (void *)8, 8));
    TRY("rt_sigtimedwait zero", syscall(SYS_rt_sigtimedwait, &usr1, NULL, &zero, 8));
    TRY("rt_sigqueueinfo bad info", syscall(SYS_rt_sigqueueinfo, me, SIGUSR1, (void *)8));
    TRY("rt_tgsigqueueinfo bad tid", syscall(SYS_rt_tgsigqueueinfo, me, 999999, SIGUSR1, &zero));
    TRY("sigaltstack bad ss", syscall(SYS_sigaltstack, (void *)8, NULL));
    TRY("sigaltstack bad old", syscall(SYS_sigaltstack, NULL, (void *)8));
    TRY("kill no such pid", syscall(SYS_kill, 999999, SIGUSR1));
    TRY("kill INT_MIN", syscall(SYS_kill, INT32_MIN, 0));
    TRY("kill no such group", syscall(SYS_kill, -999999, 0));
    TRY("tgkill tgid 0", syscall(SYS_tgkill, 0, me, 0));
    TRY("tgkill tid -1", syscall(SYS_tgkill, me, -1, 0));
    TRY("tgkill wrong group", syscall(SYS_tgkill, 999999, me, 0));
    TRY("tkill 0", syscall(SYS_tkill, 0, 0));
    TRY("tkill none", syscall(SYS_tkill, 999999, 0));
}

static void bad_wait(void) {
    int st;
    pid_t c = fork();
    if (c == 0) _exit(0);
    TRY("wait4 options 0x1000", syscall(SYS_wait4, -1, &st, 0x1000, NULL));
    TRY("wait4 WEXITED (not allowed)", syscall(SYS_wait4, -1, &st, WEXITED, NULL));
    TRY("wait4 WNOWAIT", syscall(SYS_wait4, -1, &st, WNOWAIT, NULL));
    TRY("wait4 -1 bits", syscall(SYS_wait4, -1, &st, -1, NULL));
    TRY("wait4 INT_MIN pid", syscall(SYS_wait4, INT32_MIN, &st, 0, NULL));
    TRY("wait4 bad status ptr", syscall(SYS_wait4, c, (void *)8, 0, NULL));
    /* the bad pointer reaped it: Linux reaps before copying out */
    TRY("wait4 again", syscall(SYS_wait4, c, &st, WNOHANG, NULL));
    siginfo_t si;
    TRY("waitid no options", syscall(SYS_waitid, P_ALL, 0, &si, 0, NULL));
    TRY("waitid bad idtype", syscall(SYS_waitid, 7, 0, &si, WEXITED, NULL));
    TRY("waitid P_PID 0", syscall(SYS_waitid, P_PID, 0, &si, WEXITED, NULL));
    TRY("waitid P_PID -5", syscall(SYS_waitid, P_PID, -5, &si, WEXITED, NULL));
    TRY("waitid P_PGID -5", syscall(SYS_waitid, P_PGID, -5, &si, WEXITED, NULL));
    TRY("waitid bad options", syscall(SYS_waitid, P_ALL, 0, &si, WEXITED | 0x1000, NULL));
    TRY("waitid no children", syscall(SYS_waitid, P_ALL, 0, &si, WEXITED | WNOHANG, NULL));
    c = fork();
    if (c == 0) _exit(0);
    usleep(50000);
    TRY("waitid bad infop", syscall(SYS_waitid, P_PID, c, (void *)8, WEXITED, NULL));
    TRY("wait4 after bad infop", syscall(SYS_wait4, c, &st, WNOHANG, NULL));
    c = fork();
    if (c == 0) { pause(); _exit(0); }
    memset(&si, 0x55, sizeof si);
    TRY("waitid WNOHANG nothing", syscall(SYS_waitid, P_PID, c, &si, WEXITED | WNOHANG, NULL));
    printf("  si_pid=%d si_signo=%d\n", si.si_pid, si.si_signo);
    kill(c, SIGKILL);
    waitpid(c, &st, 0);
}

static uint64_t zero_args[16];

static void bad_clone(void) {
    TRY("clone THREAD without SIGHAND", syscall(SYS_clone, CLONE_THREAD, NULL, NULL, NULL, 0));
    TRY("clone SIGHAND without VM", syscall(SYS_clone, CLONE_SIGHAND, NULL, NULL, NULL, 0));
    TRY("clone3 tiny size", syscall(SYS_clone3, &zero_args, 8));
    TRY("clone3 bad ptr", syscall(SYS_clone3, (void *)8, 64));
    TRY("clone3 huge size", syscall(SYS_clone3, &zero_args, 1 << 20));
}

static void corrupt_frame(int how) {
    if (how == 0) {
        /* rsp pointing at garbage */
        static uint64_t garbage[512];
        for (int i = 0; i < 512; i++) garbage[i] = 0x4141414141414141ULL;
        __asm__ volatile("lea %0, %%rsp\nmov $15, %%eax\nsyscall\nud2" :: "m"(garbage[100]) : "memory");
    } else if (how == 1) {
        /* rsp pointing at unmapped memory */
        __asm__ volatile("mov $0x10000, %%rsp\nmov $15, %%eax\nsyscall\nud2" ::: "memory");
    } else {
        /* a zeroed frame: cs/ss 0, rip 0: returns to address 0 and faults there */
        static uint64_t zeros[512];
        __asm__ volatile("lea %0, %%rsp\nmov $15, %%eax\nsyscall\nud2" :: "m"(zeros[100]) : "memory");
    }
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 2 && strcmp(argv[1], "frame") == 0) { corrupt_frame(atoi(argv[2])); return 1; }
    printf("== signals\n");
    pid_t c = fork();
    if (c == 0) { bad_signals(); _exit(0); }
    int st;
    waitpid(c, &st, 0);
    report("signals", st);
    printf("== wait\n");
    c = fork();
    if (c == 0) { bad_wait(); _exit(0); }
    waitpid(c, &st, 0);
    report("wait", st);
    printf("== clone\n");
    c = fork();
    if (c == 0) { bad_clone(); _exit(0); }
    waitpid(c, &st, 0);
    report("clone", st);
    printf("== frames\n");
    for (int how = 0; how < 3; how++) {
        c = fork();
        if (c == 0) {
            /* with a SIGSEGV handler installed it still dies: the forced SIGSEGV on a bad frame */
            signal(SIGSEGV, noop);
            corrupt_frame(how);
            _exit(1);
        }
        waitpid(c, &st, 0);
        char what[32];
        snprintf(what, sizeof what, "corrupt frame %d", how);
        report(what, st);
    }
    return 0;
}

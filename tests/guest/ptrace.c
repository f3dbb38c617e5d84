/* Guest ptrace, compared with a native run: every line printed must be the same.
 * Sections take a name from argv[1] ("all" runs them in order). */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/ptrace.h>

static volatile long shared_word = 0x1122334455667788L;
static volatile int handled;
static volatile int handled_code, handled_pid;

#define CHECK(c) do { if (!(c)) { printf("FAIL %s:%d %s\n", __FILE__, __LINE__, #c); fflush(stdout); } } while (0)

static void on_sig(int s, siginfo_t *si, void *uc) { (void)uc; handled = s; handled_code = si->si_code; handled_pid = si->si_pid; }

static int wait_stop(pid_t pid) {
    int st = 0;
    pid_t r = waitpid(pid, &st, __WALL);
    if (r != pid) { printf("waitpid: %d %s\n", r, strerror(errno)); return -1; }
    return st;
}

static const char *err(long r) { return r == -1 ? strerrorname_np(errno) : "ok"; }

static void describe(const char *what, int st) {
    if (WIFSTOPPED(st)) printf("%s: stopped sig=%d event=%d sysgood=%d\n", what, WSTOPSIG(st) & 0x7f, st >> 16, (WSTOPSIG(st) & 0x80) != 0);
    else if (WIFEXITED(st)) printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st)) printf("%s: killed sig=%d\n", what, WTERMSIG(st));
    else printf("%s: status %#x\n", what, st);
}

/* A child that asks to be traced and stops itself with `sig`. */
static pid_t traced_child(int sig) {
    pid_t pid = fork();
    if (pid == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        kill(getpid(), sig);
        return 0;
    }
    return pid;
}

static void sec_regs_memory(void) {
    printf("== regs and memory\n");
    pid_t pid = traced_child(SIGUSR1);
    if (pid == 0) {
        printf("child sees word %#lx\n", shared_word);
        fflush(stdout);
        _exit(7);
    }
    int st = wait_stop(pid);
    describe("first stop", st);
    siginfo_t si;
    CHECK(ptrace(PTRACE_GETSIGINFO, pid, 0, &si) == 0);
    printf("siginfo signo=%d code=%d pid_is_child=%d\n", si.si_signo, si.si_code, si.si_pid == pid);
    errno = 0;
    long w = ptrace(PTRACE_PEEKDATA, pid, &shared_word, 0);
    printf("peekdata %#lx errno=%d\n", w, errno);
    printf("pokedata %s\n", err(ptrace(PTRACE_POKEDATA, pid, &shared_word, (void *)0x0badc0deL)));
    struct user_regs_struct r;
    CHECK(ptrace(PTRACE_GETREGS, pid, 0, &r) == 0);
    errno = 0;
    long rip = ptrace(PTRACE_PEEKUSER, pid, offsetof(struct user_regs_struct, rip), 0);
    long orig = ptrace(PTRACE_PEEKUSER, pid, offsetof(struct user_regs_struct, orig_rax), 0);
    printf("peekuser rip matches=%d orig_rax=%ld (kill=%d) cs=%#llx ss=%#llx\n", rip == (long)r.rip, orig, SYS_kill, r.cs, r.ss);
    printf("peekuser unaligned %s\n", err(ptrace(PTRACE_PEEKUSER, pid, 3, 0)));
    printf("peekuser past end %s\n", err(ptrace(PTRACE_PEEKUSER, pid, sizeof(struct user), 0)));
    errno = 0;
    long dr7 = ptrace(PTRACE_PEEKUSER, pid, offsetof(struct user, u_debugreg[7]), 0);
    printf("dr7=%ld errno=%d\n", dr7, errno);
    long r12 = r.r12;
    r.r12 = 0x5555;
    CHECK(ptrace(PTRACE_SETREGS, pid, 0, &r) == 0);
    printf("r12 after setregs %#lx\n", ptrace(PTRACE_PEEKUSER, pid, offsetof(struct user_regs_struct, r12), 0));
    printf("pokeuser r12 %s\n", err(ptrace(PTRACE_POKEUSER, pid, offsetof(struct user_regs_struct, r12), (void *)r12)));
    struct user_fpregs_struct fp;
    CHECK(ptrace(PTRACE_GETFPREGS, pid, 0, &fp) == 0);
    printf("mxcsr %#x cwd %#x\n", fp.mxcsr, fp.cwd);
    CHECK(ptrace(PTRACE_SETFPREGS, pid, 0, &fp) == 0);
    struct iovec iov;
    struct user_regs_struct r2;
    iov.iov_base = &r2; iov.iov_len = sizeof r2;
    const char *e = err(ptrace(PTRACE_GETREGSET, pid, NT_PRSTATUS, &iov));
    printf("regset prstatus %s len=%zu same_rip=%d\n", e, iov.iov_len, r2.rip == r.rip);
    iov.iov_base = &fp; iov.iov_len = sizeof fp;
    printf("regset prfpreg %s len=%zu\n", err(ptrace(PTRACE_GETREGSET, pid, NT_PRFPREG, &iov)), iov.iov_len);
    static char xs[16384];
    iov.iov_base = xs; iov.iov_len = sizeof xs;
    long xr = ptrace(PTRACE_GETREGSET, pid, NT_X86_XSTATE, &iov);
    printf("regset xstate %s big=%d\n", err(xr), iov.iov_len > 512);
    printf("regset xstate set %s\n", err(ptrace(PTRACE_SETREGSET, pid, NT_X86_XSTATE, &iov)));
    iov.iov_base = &r2; iov.iov_len = sizeof r2;
    printf("regset unknown %s\n", err(ptrace(PTRACE_GETREGSET, pid, 0x999, &iov)));
    printf("peek unmapped %s\n", err(ptrace(PTRACE_PEEKDATA, pid, (void *)8, 0)));
    printf("poke unmapped %s\n", err(ptrace(PTRACE_POKEDATA, pid, (void *)8, 0)));
    printf("unknown request %s\n", err(ptrace((enum __ptrace_request)0x7777, pid, 0, 0)));
    printf("bad signal %s\n", err(ptrace(PTRACE_CONT, pid, 0, (void *)200)));
    const char *cont = err(ptrace(PTRACE_CONT, pid, 0, 0));
    int end = wait_stop(pid); /* the child prints first: report after it */
    printf("cont %s\n", cont);
    describe("end", end);
}

static void sec_signals(void) {
    printf("== signal injection\n");
    for (int inject = 0; inject <= SIGUSR2; inject += SIGUSR2) {
        pid_t pid = fork();
        if (pid == 0) {
            struct sigaction sa = {0};
            sa.sa_sigaction = on_sig; sa.sa_flags = SA_SIGINFO;
            sigaction(SIGUSR1, &sa, 0);
            sigaction(SIGUSR2, &sa, 0);
            ptrace(PTRACE_TRACEME, 0, 0, 0);
            raise(SIGUSR1);
            printf("child handled=%d code=%d from_parent=%d\n", handled, handled_code, handled_pid == getppid());
            fflush(stdout);
            _exit(0);
        }
        describe("stop", wait_stop(pid));
        ptrace(PTRACE_CONT, pid, 0, (void *)(long)inject);
        describe("end", wait_stop(pid));
    }
    /* SETSIGINFO changes what the handler gets. */
    pid_t pid = fork();
    if (pid == 0) {
        struct sigaction sa = {0};
        sa.sa_sigaction = on_sig; sa.sa_flags = SA_SIGINFO;
        sigaction(SIGUSR1, &sa, 0);
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGUSR1);
        printf("child handled=%d code=%d\n", handled, handled_code);
        fflush(stdout);
        _exit(0);
    }
    wait_stop(pid);
    siginfo_t si;
    ptrace(PTRACE_GETSIGINFO, pid, 0, &si);
    si.si_code = -42;
    printf("setsiginfo %s\n", err(ptrace(PTRACE_SETSIGINFO, pid, 0, &si)));
    ptrace(PTRACE_CONT, pid, 0, (void *)SIGUSR1);
    describe("end", wait_stop(pid));
}

static void sec_syscalls(void) {
    printf("== syscall stops\n");
    pid_t pid = fork();
    if (pid == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        long a = syscall(SYS_getppid);
        long b = syscall(SYS_getpid);   /* skipped by the tracer, returns 4242 */
        long c = syscall(SYS_getuid);   /* turned into getpid */
        printf("child a_is_ppid=%d b=%ld c_is_pid=%d\n", a == getppid(), b, c == getpid());
        fflush(stdout);
        _exit(0);
    }
    describe("stop", wait_stop(pid));
    ptrace(PTRACE_SETOPTIONS, pid, 0, (void *)PTRACE_O_TRACESYSGOOD);
    int n = 0, skipped = 0;
    for (;;) {
        ptrace(PTRACE_SYSCALL, pid, 0, 0);
        int st = wait_stop(pid);
        if (!WIFSTOPPED(st)) { describe("end", st); break; }
        if (WSTOPSIG(st) != (SIGTRAP | 0x80)) { describe("other", st); continue; }
        struct user_regs_struct r;
        ptrace(PTRACE_GETREGS, pid, 0, &r);
        struct ptrace_syscall_info info;
        long sz = ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof info, &info);
        int entry = info.op == PTRACE_SYSCALL_INFO_ENTRY;
        if (n++ > 40) { printf("too many stops\n"); kill(pid, SIGKILL); wait_stop(pid); break; }
        if (r.orig_rax == SYS_write || r.orig_rax == SYS_fstat || r.orig_rax == SYS_newfstatat) continue;
        if (entry)
            printf("enter %lld size=%ld arch=%#x nr=%lld rax=%lld\n", r.orig_rax, sz, info.arch, info.entry.nr, (long long)r.rax);
        else
            printf("exit %lld size=%ld is_error=%d rval_matches=%d\n", r.orig_rax, sz, info.exit.is_error, info.exit.rval == (long long)r.rax);
        if (entry && r.orig_rax == SYS_getpid && !skipped++) {
            r.orig_rax = -1;
            ptrace(PTRACE_SETREGS, pid, 0, &r);
        }
        if (!entry && r.orig_rax == (unsigned long long)-1) {
            r.rax = 4242;
            ptrace(PTRACE_SETREGS, pid, 0, &r);
        }
        if (entry && r.orig_rax == SYS_getuid) {
            ptrace(PTRACE_POKEUSER, pid, offsetof(struct user_regs_struct, orig_rax), (void *)SYS_getpid);
        }
    }
}

static void sec_sysemu(void) {
    printf("== sysemu\n");
    pid_t pid = fork();
    if (pid == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        long a = syscall(SYS_getpid);
        printf("child sysemu result=%ld\n", a);
        fflush(stdout);
        _exit(0);
    }
    describe("stop", wait_stop(pid));
    ptrace(PTRACE_SYSEMU, pid, 0, 0);
    int st = wait_stop(pid);
    describe("sysemu stop", st);
    struct user_regs_struct r;
    ptrace(PTRACE_GETREGS, pid, 0, &r);
    printf("nr=%lld rax=%lld\n", r.orig_rax, (long long)r.rax);
    r.rax = 1234;
    ptrace(PTRACE_SETREGS, pid, 0, &r);
    ptrace(PTRACE_CONT, pid, 0, 0);
    describe("end", wait_stop(pid));
}

/* Waits for the next stop of `pid`, passing over (and printing) SIGCHLD deliveries. */
static int wait_event(const char *who, pid_t pid) {
    for (;;) {
        int st = wait_stop(pid);
        describe(who, st);
        if (WIFSTOPPED(st) && WSTOPSIG(st) == SIGCHLD) { ptrace(PTRACE_CONT, pid, 0, 0); continue; }
        return st;
    }
}

static void sec_events(char *self) {
    printf("== events\n");
    pid_t pid = fork();
    if (pid == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        pid_t g = fork();
        if (g == 0) _exit(3);
        int st;
        waitpid(g, &st, 0);
        execl(self, self, "exec-target", (char *)0);
        _exit(99);
    }
    describe("stop", wait_stop(pid));
    ptrace(PTRACE_SETOPTIONS, pid, 0, (void *)(PTRACE_O_TRACEFORK | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT));
    ptrace(PTRACE_CONT, pid, 0, 0);
    int st = wait_stop(pid);
    describe("parent", st);
    unsigned long msg = 0;
    ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg);
    pid_t g = msg;
    describe("grandchild", wait_stop(g));
    ptrace(PTRACE_CONT, g, 0, 0);
    st = wait_stop(g);
    describe("grandchild", st);
    ptrace(PTRACE_GETEVENTMSG, g, 0, &msg);
    printf("exit event msg=%#lx\n", msg);
    ptrace(PTRACE_CONT, g, 0, 0);
    describe("grandchild", wait_stop(g));
    ptrace(PTRACE_CONT, pid, 0, 0);
    wait_event("parent", pid);
    ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg);
    printf("exec event msg_is_pid=%d\n", (pid_t)msg == pid);
    ptrace(PTRACE_CONT, pid, 0, 0);
    wait_event("parent", pid);
    ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg);
    printf("exit event msg=%#lx\n", msg);
    ptrace(PTRACE_CONT, pid, 0, 0);
    describe("parent", wait_stop(pid));
}

static int tracer_pid_of(pid_t pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    int t = -1;
    if (!f) return -2;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "TracerPid: %d", &t) == 1) break;
    fclose(f);
    return t;
}

static void sec_attach(void) {
    printf("== attach, seize, interrupt, detach\n");
    int p[2];
    pipe(p);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        for (;;) {
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, 0);
            write(p[1], "x", 1);
        }
    }
    close(p[1]);
    char c;
    read(p[0], &c, 1);
    printf("cont untraced %s\n", err(ptrace(PTRACE_CONT, pid, 0, 0)));
    printf("tracerpid before %d\n", tracer_pid_of(pid));
    printf("attach %s\n", err(ptrace(PTRACE_ATTACH, pid, 0, 0)));
    describe("attach stop", wait_stop(pid));
    printf("tracerpid is me %d\n", tracer_pid_of(pid) == getpid());
    printf("attach again %s\n", err(ptrace(PTRACE_ATTACH, pid, 0, 0)));
    printf("interrupt unseized %s\n", err(ptrace(PTRACE_INTERRUPT, pid, 0, 0)));
    printf("detach %s\n", err(ptrace(PTRACE_DETACH, pid, 0, 0)));
    printf("tracerpid after %d\n", tracer_pid_of(pid));
    read(p[0], &c, 1);
    printf("runs after detach\n");
    printf("seize %s\n", err(ptrace(PTRACE_SEIZE, pid, 0, (void *)PTRACE_O_TRACESYSGOOD)));
    printf("interrupt %s\n", err(ptrace(PTRACE_INTERRUPT, pid, 0, 0)));
    describe("interrupt stop", wait_stop(pid));
    siginfo_t si;
    ptrace(PTRACE_GETSIGINFO, pid, 0, &si);
    printf("interrupt siginfo signo=%d code=%#x\n", si.si_signo, si.si_code);
    printf("peeksiginfo none %ld\n", ptrace(PTRACE_PEEKSIGINFO, pid, &(struct ptrace_peeksiginfo_args){0, 0, 4}, &si));
    printf("detach %s\n", err(ptrace(PTRACE_DETACH, pid, 0, 0)));
    read(p[0], &c, 1);
    printf("runs after second detach\n");
    kill(pid, SIGKILL);
    describe("end", wait_stop(pid));
    close(p[0]);
}

static void sec_errors(void) {
    printf("== errors\n");
    printf("attach self %s\n", err(ptrace(PTRACE_ATTACH, getpid(), 0, 0)));
    printf("attach none %s\n", err(ptrace(PTRACE_ATTACH, 999999, 0, 0)));
    printf("cont none %s\n", err(ptrace(PTRACE_CONT, 999999, 0, 0)));
    printf("seize none bad options %s\n", err(ptrace(PTRACE_SEIZE, 999999, 0, (void *)0x80000000L)));
    printf("seize self bad options %s\n", err(ptrace(PTRACE_SEIZE, getpid(), 0, (void *)0x80000000L)));
    printf("seize self bad addr %s\n", err(ptrace(PTRACE_SEIZE, getpid(), 1, 0)));
    pid_t pid = fork();
    if (pid == 0) {
        if (setgid(65534) || setuid(65534)) _exit(9);
        printf("nonroot attach pid1 %s\n", err(ptrace(PTRACE_ATTACH, 1, 0, 0)));
        printf("traceme %s\n", err(ptrace(PTRACE_TRACEME, 0, 0, 0)));
        printf("traceme again %s\n", err(ptrace(PTRACE_TRACEME, 0, 0, 0)));
        fflush(stdout);
        _exit(0);
    }
    describe("end", wait_stop(pid));
}

static void sec_int3(void) {
    printf("== int3\n");
    pid_t pid = fork();
    if (pid == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        __asm__ volatile("int3\n.globl after_int3\nafter_int3: nop");
        printf("child after int3\n");
        fflush(stdout);
        _exit(0);
    }
    int st = wait_stop(pid);
    describe("int3 stop", st);
    extern char after_int3[];
    struct user_regs_struct r;
    ptrace(PTRACE_GETREGS, pid, 0, &r);
    siginfo_t si;
    ptrace(PTRACE_GETSIGINFO, pid, 0, &si);
    printf("rip after int3 %d code=%#x addr=%p\n", r.rip == (unsigned long)after_int3, si.si_code, si.si_addr);
    ptrace(PTRACE_CONT, pid, 0, 0);
    describe("end", wait_stop(pid));
}

static void sec_step(void) {
    printf("== singlestep\n");
    pid_t pid = fork();
    if (pid == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        __asm__ volatile("nop\nnop\nxchg %ax,%ax\nnop");
        _exit(0);
    }
    describe("stop", wait_stop(pid));
    /* Step out of raise() until the first nop, then over the nops. */
    struct user_regs_struct r;
    unsigned long prev = 0;
    int steps = 0, nops = 0;
    while (steps++ < 100000) {
        ptrace(PTRACE_SINGLESTEP, pid, 0, 0);
        int st = wait_stop(pid);
        if (!WIFSTOPPED(st)) { describe("step end", st); return; }
        ptrace(PTRACE_GETREGS, pid, 0, &r);
        errno = 0;
        long insn = ptrace(PTRACE_PEEKTEXT, pid, r.rip, 0);
        if ((insn & 0xff) == 0x90 || (insn & 0xffff) == 0x9066) {
            if (nops == 0) {
                siginfo_t si;
                ptrace(PTRACE_GETSIGINFO, pid, 0, &si);
                describe("step", st);
                printf("step siginfo signo=%d code=%d\n", si.si_signo, si.si_code);
            } else {
                printf("step delta %lu\n", r.rip - prev);
            }
            prev = r.rip;
            if (++nops == 4) break;
        } else if (nops) {
            break;
        }
    }
    ptrace(PTRACE_CONT, pid, 0, 0);
    describe("end", wait_stop(pid));
}

static void sec_tracer_dies(int exitkill) {
    printf("== tracer dies (exitkill=%d)\n", exitkill);
    int p[2];
    pipe(p);
    pid_t tracer = fork();
    if (tracer == 0) {
        pid_t t = fork();
        if (t == 0) {
            close(p[0]);
            ptrace(PTRACE_TRACEME, 0, 0, 0);
            raise(SIGSTOP);
            write(p[1], "alive", 5);
            _exit(0);
        }
        wait_stop(t);
        if (exitkill) ptrace(PTRACE_SETOPTIONS, t, 0, (void *)PTRACE_O_EXITKILL);
        _exit(0); /* dies with its tracee stopped */
    }
    close(p[1]);
    describe("tracer", wait_stop(tracer));
    char buf[8] = {0};
    ssize_t n = read(p[0], buf, 5);
    printf("tracee said %zd '%s'\n", n, buf);
    close(p[0]);
}

static void sec_jobctl(void) {
    printf("== job control\n");
    pid_t pid = fork();
    if (pid == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGTSTP);
        printf("child resumed\n");
        fflush(stdout);
        _exit(0);
    }
    describe("delivery", wait_stop(pid));
    /* Inject SIGSTOP, not the SIGTSTP delivered: a SIGTSTP stop is discarded when the process
     * group is orphaned, which a native run's group may be (it depends on how the test was
     * started), so the oracle would depend on the environment. */
    ptrace(PTRACE_CONT, pid, 0, (void *)SIGSTOP);
    describe("group stop", wait_stop(pid));
    siginfo_t si;
    printf("group stop getsiginfo %s\n", err(ptrace(PTRACE_GETSIGINFO, pid, 0, &si)));
    kill(pid, SIGCONT);
    ptrace(PTRACE_CONT, pid, 0, 0);
    describe("after cont", wait_stop(pid));
    ptrace(PTRACE_CONT, pid, 0, 0);
    describe("end", wait_stop(pid));
    /* Seized: a group-stop is PTRACE_EVENT_STOP. */
    pid = fork();
    if (pid == 0) {
        raise(SIGSTOP);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, WUNTRACED);
    describe("untraced stop", st);
    printf("seize stopped %s\n", err(ptrace(PTRACE_SEIZE, pid, 0, 0)));
    kill(pid, SIGCONT);
    for (int i = 0; i < 6; i++) {
        st = wait_stop(pid);
        describe("seized", st);
        if (!WIFSTOPPED(st)) break;
        ptrace(PTRACE_CONT, pid, 0, 0);
    }
    /* strace's start: seize a stopped child, SIGCONT, LISTEN at the group-stop trap. */
    pid = fork();
    if (pid == 0) {
        kill(getpid(), SIGSTOP);
        _exit(0);
    }
    waitpid(pid, &st, WSTOPPED);
    ptrace(PTRACE_SEIZE, pid, 0, 0);
    kill(pid, SIGCONT);
    for (int i = 0; i < 6; i++) {
        st = wait_stop(pid);
        describe("listen", st);
        if (!WIFSTOPPED(st)) break;
        if (st >> 16 == PTRACE_EVENT_STOP && WSTOPSIG(st) != SIGTRAP)
            printf("listen %s\n", err(ptrace(PTRACE_LISTEN, pid, 0, 0)));
        else
            ptrace(PTRACE_CONT, pid, 0, 0);
    }
}

static void sec_kill(void) {
    printf("== SIGKILL\n");
    pid_t pid = traced_child(SIGSTOP);
    if (pid == 0) _exit(1);
    describe("stop", wait_stop(pid));
    ptrace(PTRACE_SETOPTIONS, pid, 0, (void *)PTRACE_O_TRACEEXIT);
    kill(pid, SIGKILL);
    describe("end", wait_stop(pid));
    pid = traced_child(SIGSTOP);
    if (pid == 0) _exit(1);
    describe("stop", wait_stop(pid));
    printf("ptrace kill %s\n", err(ptrace(PTRACE_KILL, pid, 0, 0)));
    describe("end", wait_stop(pid));
    pid = fork();
    if (pid == 0) { ptrace(PTRACE_TRACEME, 0, 0, 0); for (;;) ; }
    usleep(50000);
    kill(pid, SIGKILL);
    describe("running", wait_stop(pid));
    printf("reaped twice %d\n", waitpid(pid, 0, __WALL | WNOHANG));
}

static void sec_vm(void) {
    printf("== process_vm\n");
    int p[2];
    pipe(p);
    pid_t pid = fork();
    if (pid == 0) {
        shared_word = 0x77;
        write(p[1], "r", 1);
        pause();
        _exit(0);
    }
    char c;
    read(p[0], &c, 1);
    long v = 0;
    struct iovec l = {&v, sizeof v}, r = {(void *)&shared_word, sizeof v};
    ssize_t got = process_vm_readv(pid, &l, 1, &r, 1, 0);
    printf("readv %zd value=%#lx\n", got, v);
    v = 0x99;
    printf("writev %zd\n", process_vm_writev(pid, &l, 1, &r, 1, 0));
    v = 0;
    process_vm_readv(pid, &l, 1, &r, 1, 0);
    printf("reread %#lx\n", v);
    struct iovec bad = {(void *)8, 8};
    printf("readv unmapped %s\n", err(process_vm_readv(pid, &l, 1, &bad, 1, 0)));
    printf("readv flags %s\n", err(process_vm_readv(pid, &l, 1, &r, 1, 1)));
    kill(pid, SIGKILL);
    describe("end", wait_stop(pid));
}

int main(int argc, char **argv) {
    setvbuf(stdout, 0, _IOLBF, 0);
    if (argc > 1 && strcmp(argv[1], "exec-target") == 0) _exit(5);
    const char *s = argc > 1 ? argv[1] : "all";
    int all = strcmp(s, "all") == 0;
#define SEC(name, call) if (all || strcmp(s, name) == 0) { call; fflush(stdout); }
    SEC("regs", sec_regs_memory());
    SEC("signals", sec_signals());
    SEC("syscalls", sec_syscalls());
    SEC("sysemu", sec_sysemu());
    SEC("events", sec_events(argv[0]));
    SEC("attach", sec_attach());
    SEC("errors", sec_errors());
    SEC("int3", sec_int3());
    SEC("step", sec_step());
    SEC("tracer-dies", (sec_tracer_dies(0), sec_tracer_dies(1)));
    SEC("vm", sec_vm());
    SEC("jobctl", sec_jobctl());
    SEC("kill", sec_kill());
    return 0;
}

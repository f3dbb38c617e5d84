/* Capabilities compared with Linux (run as root; each case in its own child so no state
 * leaks): capget/capset headers and EPERM rules, the bounding set, ambient capabilities,
 * securebits and keepcaps, no_new_privs, uid changes clearing capabilities, permission
 * checks by capability rather than uid 0, capabilities across exec (root, ambient, file
 * capabilities in security.capability on a tmpfs), /proc/self/status, and the prctl
 * knobs programs probe. The host may lack CAP_SYS_RESOURCE (24) in a container, so sets
 * are printed without that bit. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MASK (~(1ULL << 24) & ((1ULL << 41) - 1))
#define BIT(c) (1ULL << (c))


static int capget3(pid_t pid, uint64_t *eff, uint64_t *prm, uint64_t *inh) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, pid};
    struct __user_cap_data_struct d[2];
    int r = syscall(SYS_capget, &h, d);
    if (r) return r;
    *eff = d[0].effective | (uint64_t)d[1].effective << 32;
    *prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
    *inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
    return 0;
}

static int capset3(uint64_t eff, uint64_t prm, uint64_t inh) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2] = {
        {(uint32_t)eff, (uint32_t)prm, (uint32_t)inh},
        {(uint32_t)(eff >> 32), (uint32_t)(prm >> 32), (uint32_t)(inh >> 32)},
    };
    return syscall(SYS_capset, &h, d);
}

static void show(const char *what) {
    uint64_t e, p, i;
    capget3(0, &e, &p, &i);
    printf("%s: eff=%llx prm=%llx inh=%llx amb(net_raw)=%d\n", what, (unsigned long long)(e & MASK), (unsigned long long)(p & MASK),
           (unsigned long long)(i & MASK), prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_RAW, 0, 0));
}

#define R(expr) do { errno = 0; long _r = (long)(expr); printf("%-60s = %ld %s\n", #expr, _r, _r < 0 ? strerror(errno) : ""); } while (0)

static void drop_eff(uint64_t bits) {
    uint64_t e, p, i;
    capget3(0, &e, &p, &i);
    if (capset3(e & ~bits, p, i)) printf("drop_eff failed: %s\n", strerror(errno));
}

static void status_lines(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "CapInh", 6) || !strncmp(line, "CapAmb", 6) || !strncmp(line, "NoNewPrivs", 10) || !strncmp(line, "Seccomp:", 8))
            printf("status %s", line);
    if (f) fclose(f);
}

static void headers(void) {
    struct __user_cap_header_struct h = {0x12345678, 0};
    struct __user_cap_data_struct d[2];
    R(syscall(SYS_capget, &h, d));
    printf("version written back: %x\n", h.version);
    h.version = 0x12345678;
    R(syscall(SYS_capget, &h, NULL));
    printf("version written back: %x\n", h.version);
    h.version = _LINUX_CAPABILITY_VERSION_1;
    memset(d, 0xff, sizeof d);
    R(syscall(SYS_capget, &h, d));
    printf("v1: eff=%x second struct untouched=%d\n", d[0].effective & (uint32_t)MASK, d[1].effective == 0xffffffff);
    h.version = _LINUX_CAPABILITY_VERSION_3;
    h.pid = -1;
    R(syscall(SYS_capget, &h, d));
    h.pid = 999999;
    R(syscall(SYS_capget, &h, d));
    h.pid = getppid();
    R(syscall(SYS_capset, &h, d));
    h.pid = 0;
    R(syscall(SYS_capget, &h, (void *)8));
}

static void capset_rules(void) {
    uint64_t e, p, i;
    capget3(0, &e, &p, &i);
    R(capset3(e & ~BIT(CAP_NET_RAW), p, i));
    show("eff without net_raw");
    R(capset3(e, p, i));
    R(capset3(e, p & ~BIT(CAP_NET_RAW), i));
    R(capset3(e & ~BIT(CAP_NET_RAW), p & ~BIT(CAP_NET_RAW), i));
    R(capset3(e, p, i));
    show("after permitted drop");
    R(capset3(e & ~BIT(CAP_NET_RAW), p & ~BIT(CAP_NET_RAW), BIT(CAP_CHOWN)));
    drop_eff(BIT(CAP_SETPCAP));
    capget3(0, &e, &p, &i);
    R(capset3(e, p, i | BIT(CAP_KILL)));
    R(capset3(e, p, i | BIT(CAP_NET_RAW)));
    show("inheritable");
}

static void bounding(void) {
    R(prctl(PR_CAPBSET_READ, CAP_CHOWN, 0, 0, 0));
    R(prctl(PR_CAPBSET_READ, 99, 0, 0, 0));
    R(prctl(PR_CAPBSET_DROP, CAP_NET_RAW, 0, 0, 0));
    R(prctl(PR_CAPBSET_READ, CAP_NET_RAW, 0, 0, 0));
    R(prctl(PR_CAPBSET_DROP, 99, 0, 0, 0));
    drop_eff(BIT(CAP_SETPCAP));
    R(prctl(PR_CAPBSET_DROP, CAP_KILL, 0, 0, 0));
    R(prctl(PR_CAPBSET_DROP, 99, 0, 0, 0));
}

static void ambient(void) {
    uint64_t e, p, i;
    R(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_RAW, 0, 0));
    R(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_RAW, 0, 0));
    capget3(0, &e, &p, &i);
    R(capset3(e, p, BIT(CAP_NET_RAW) | BIT(CAP_CHOWN)));
    R(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_RAW, 0, 0));
    R(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CHOWN, 0, 0));
    R(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_RAW, 0, 0));
    status_lines();
    R(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, CAP_CHOWN, 0, 0));
    R(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN, 0, 0));
    R(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, 99, 0, 0));
    R(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_RAW, 1, 0));
    R(prctl(PR_CAP_AMBIENT, 9, CAP_NET_RAW, 0, 0));
    R(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 1, 0, 0));
    /* Dropping from inheritable drops from ambient. */
    R(capset3(e, p, BIT(CAP_CHOWN)));
    R(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_RAW, 0, 0));
    R(capset3(e, p, BIT(CAP_NET_RAW)));
    R(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_RAW, 0, 0));
    R(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0));
    R(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_RAW, 0, 0));
    R(prctl(PR_SET_SECUREBITS, SECBIT_NO_CAP_AMBIENT_RAISE, 0, 0, 0));
    R(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_RAW, 0, 0));
}

static void securebits(void) {
    R(prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
    R(prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
    R(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
    R(prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
    R(prctl(PR_SET_KEEPCAPS, 2, 0, 0, 0));
    R(prctl(PR_SET_SECUREBITS, 1 << 12, 0, 0, 0));
    R(prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS | SECBIT_KEEP_CAPS_LOCKED, 0, 0, 0));
    R(prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0));
    R(prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS, 0, 0, 0));
    R(prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS | SECBIT_KEEP_CAPS_LOCKED | SECBIT_NOROOT, 0, 0, 0));
    R(prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
    drop_eff(BIT(CAP_SETPCAP));
    R(prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS | SECBIT_KEEP_CAPS_LOCKED | SECBIT_NOROOT | SECBIT_NO_SETUID_FIXUP, 0, 0, 0));
}

static void uid_changes(void) {
    pid_t c = fork();
    if (c == 0) {
        R(setresuid(1000, 1000, 1000));
        show("setresuid(1000) drops all");
        R(setuid(0));
        R(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
        _exit(0);
    }
    waitpid(c, NULL, 0);
    c = fork();
    if (c == 0) {
        R(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
        R(setresuid(1000, 1000, 1000));
        show("keepcaps: permitted kept");
        uint64_t e, p, i;
        capget3(0, &e, &p, &i);
        R(capset3(BIT(CAP_CHOWN), p, i));
        R(chown("/tmp", 0, 0));
        R(setuid(0));
        _exit(0);
    }
    waitpid(c, NULL, 0);
    c = fork();
    if (c == 0) {
        R(seteuid(1000));
        show("seteuid(1000): effective cleared");
        R(seteuid(0));
        show("seteuid(0): effective restored");
        R(setfsuid(1000));
        show("setfsuid(1000): fs caps dropped");
        R(setfsuid(0));
        show("setfsuid(0): fs caps back");
        R(prctl(PR_SET_SECUREBITS, SECBIT_NO_SETUID_FIXUP, 0, 0, 0));
        R(seteuid(1000));
        show("no_setuid_fixup: unchanged");
        _exit(0);
    }
    waitpid(c, NULL, 0);
}

static void by_capability(const char *dir) {
    char f[256];
    snprintf(f, sizeof f, "%s/other", dir);
    int fd = open(f, O_CREAT | O_WRONLY, 0600);
    close(fd);
    chown(f, 4242, 4242);
    drop_eff(BIT(CAP_DAC_OVERRIDE));
    R(open(f, O_RDONLY) >= 0);
    R(open(f, O_WRONLY));
    R(access(f, R_OK));
    drop_eff(BIT(CAP_DAC_READ_SEARCH));
    R(open(f, O_RDONLY));
    R(chmod(f, 0644));
    drop_eff(BIT(CAP_FOWNER));
    R(chmod(f, 0644));
    R(chown(f, 0, 0));
    drop_eff(BIT(CAP_CHOWN));
    R(chown(f, 0, 0));
    snprintf(f, sizeof f, "%s/dev", dir);
    drop_eff(BIT(CAP_MKNOD));
    R(mknod(f, S_IFCHR | 0600, makedev(1, 3)));
    R(mknod(f, S_IFIFO | 0600, 0));
    drop_eff(BIT(CAP_SYS_CHROOT));
    R(chroot("/"));
    drop_eff(BIT(CAP_SYS_NICE));
    R(setpriority(PRIO_PROCESS, 0, -5));
    drop_eff(BIT(CAP_SYS_ADMIN));
    R(sethostname("x", 1));
    R(mount("none", dir, "tmpfs", 0, NULL));
    drop_eff(BIT(CAP_SETGID));
    R(setgroups(0, NULL));
    R(setgid(5));
    drop_eff(BIT(CAP_SETUID));
    R(setuid(5));
    R(setresuid(-1, 5, -1));
}

static void nnp(void) {
    R(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    R(prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0));
    R(prctl(PR_SET_NO_NEW_PRIVS, 1, 1, 0, 0));
    R(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
    R(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    R(prctl(PR_GET_NO_NEW_PRIVS, 1, 0, 0, 0));
    status_lines();
}

static void report(const char *label) {
    printf("exec %s: secure=%lu ", label, getauxval(AT_SECURE));
    uid_t r, e, s;
    getresuid(&r, &e, &s);
    printf("uids %u/%u/%u ", r, e, s);
    show("caps");
}

static void exec_self(const char *prog, const char *label) {
    execl(prog, prog, "report", label, (char *)NULL);
    printf("exec %s: %s\n", label, strerror(errno));
    _exit(1);
}

static int copy(const char *from, const char *to) {
    int in = open(from, O_RDONLY), out = open(to, O_CREAT | O_WRONLY | O_TRUNC, 0755);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, n) != n) return -1;
    close(in);
    close(out);
    return 0;
}

static void in_child(void (*f)(void), const char *name) {
    printf("== %s\n", name);
    pid_t c = fork();
    if (c == 0) {
        f();
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
}

static void exec_cases(const char *dir) {
    char p[256], q[256];
    snprintf(p, sizeof p, "%s/prog", dir);
    snprintf(q, sizeof q, "%s/fcap", dir);
    copy("/proc/self/exe", p);
    copy("/proc/self/exe", q);
    /* Root execs with its full sets. */
    pid_t c = fork();
    if (c == 0) exec_self(p, "root");
    waitpid(c, NULL, 0);
    /* An unprivileged exec keeps only ambient capabilities. */
    c = fork();
    if (c == 0) {
        prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
        setresuid(1000, 1000, 1000);
        uint64_t e, pp, i;
        capget3(0, &e, &pp, &i);
        capset3(pp, pp, BIT(CAP_NET_RAW));
        R(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_RAW, 0, 0));
        exec_self(p, "ambient");
    }
    waitpid(c, NULL, 0);
    c = fork();
    if (c == 0) {
        setresuid(1000, 1000, 1000);
        exec_self(p, "user");
    }
    waitpid(c, NULL, 0);
    /* SECBIT_NOROOT: root gets no capabilities from exec. */
    c = fork();
    if (c == 0) {
        prctl(PR_SET_SECUREBITS, SECBIT_NOROOT, 0, 0, 0);
        exec_self(p, "noroot");
    }
    waitpid(c, NULL, 0);
    /* Set-user-ID root program run by uid 1000, with and without no_new_privs. */
    chmod(p, 04755);
    c = fork();
    if (c == 0) {
        setresuid(1000, 1000, 1000);
        exec_self(p, "setuid-root");
    }
    waitpid(c, NULL, 0);
    c = fork();
    if (c == 0) {
        setresuid(1000, 1000, 1000);
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        exec_self(p, "setuid-root nnp");
    }
    waitpid(c, NULL, 0);
    /* File capabilities: v2 with net_raw permitted and effective. */
    unsigned char v2[20] = {1, 0, 0, 2};
    v2[4 + CAP_NET_RAW / 8] = 1 << (CAP_NET_RAW % 8);
    unsigned char bad[19] = {1, 0, 0, 2};
    R(setxattr(q, "security.capability", bad, sizeof bad, 0));
    R(setxattr(q, "security.capability", v2, sizeof v2, 0));
    c = fork();
    if (c == 0) {
        setresuid(1000, 1000, 1000);
        exec_self(q, "file caps");
    }
    waitpid(c, NULL, 0);
    c = fork();
    if (c == 0) {
        setresuid(1000, 1000, 1000);
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        exec_self(q, "file caps nnp");
    }
    waitpid(c, NULL, 0);
    /* fE set but net_raw out of the bounding set: the exec fails. */
    c = fork();
    if (c == 0) {
        prctl(PR_CAPBSET_DROP, CAP_NET_RAW, 0, 0, 0);
        setresuid(1000, 1000, 1000);
        exec_self(q, "file caps without bounding");
    }
    waitpid(c, NULL, 0);
    /* v3 with a root id of 0 is a file capability too. */
    unsigned char v3[24] = {1, 0, 0, 3};
    v3[4 + CAP_CHOWN / 8] = 1 << (CAP_CHOWN % 8);
    R(setxattr(q, "security.capability", v3, sizeof v3, 0));
    c = fork();
    if (c == 0) {
        setresuid(1000, 1000, 1000);
        exec_self(q, "file caps v3");
    }
    waitpid(c, NULL, 0);
    /* Not effective: permitted only. */
    v2[0] = 0;
    R(setxattr(q, "security.capability", v2, sizeof v2, 0));
    c = fork();
    if (c == 0) {
        setresuid(1000, 1000, 1000);
        exec_self(q, "file caps not effective");
    }
    waitpid(c, NULL, 0);
    unlink(p);
    unlink(q);
}

static void knobs(void) {
    char name[32] = {0};
    int v = -1;
    R(prctl(PR_SET_NAME, "capstest-long-name", 0, 0, 0));
    R(prctl(PR_GET_NAME, name, 0, 0, 0));
    printf("name %s\n", name);
    R(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
    R(prctl(PR_SET_DUMPABLE, 2, 0, 0, 0));
    R(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0));
    R(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
    R(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0));
    R(prctl(PR_SET_PDEATHSIG, 99, 0, 0, 0));
    R(prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0));
    R(prctl(PR_GET_PDEATHSIG, &v, 0, 0, 0));
    printf("pdeathsig %d\n", v);
    R(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
    R(prctl(PR_GET_CHILD_SUBREAPER, &v, 0, 0, 0));
    printf("subreaper %d\n", v);
    R(prctl(PR_SET_TIMERSLACK, 1000, 0, 0, 0));
    R(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
    R(prctl(PR_SET_TIMERSLACK, 0, 0, 0, 0));
    R(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
    R(prctl(PR_SET_THP_DISABLE, 1, 1, 0, 0));
    R(prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0));
    R(prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
    R(prctl(PR_MCE_KILL_GET, 0, 0, 0, 0));
    R(prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_EARLY, 0, 0));
    R(prctl(PR_MCE_KILL_GET, 0, 0, 0, 0));
    R(prctl(PR_MCE_KILL, PR_MCE_KILL_SET, 7, 0, 0));
    R(prctl(PR_MCE_KILL, PR_MCE_KILL_CLEAR, 0, 0, 0));
    R(prctl(PR_MCE_KILL_GET, 0, 0, 0, 0));
    R(prctl(PR_MCE_KILL_GET, 1, 0, 0, 0));
    R(prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
    R(prctl(PR_GET_TIMING, 0, 0, 0, 0));
    R(prctl(PR_SET_TIMING, 1, 0, 0, 0));
    R(prctl(PR_GET_TSC, &v, 0, 0, 0));
    printf("tsc %d\n", v);
    R(prctl(PR_GET_UNALIGN, &v, 0, 0, 0));
    R(prctl(PR_GET_FPEMU, &v, 0, 0, 0));
    R(prctl(PR_GET_ENDIAN, &v, 0, 0, 0));
    R(prctl(PR_GET_FP_MODE, 0, 0, 0, 0));
    R(prctl(1000, 0, 0, 0, 0));
    R(prctl(PR_TASK_PERF_EVENTS_DISABLE, 0, 0, 0, 0));
    R(prctl(PR_SET_MM, PR_SET_MM_START_CODE, 0, 0, 1));
    long tid = 0;
    R(prctl(PR_GET_TID_ADDRESS, &tid, 0, 0, 0));
    /* Without CAP_SYS_RESOURCE (not printed as the host may lack it anyway). */
    if (setresuid(1000, 1000, 1000) == 0) {
        R(prctl(PR_SET_MM, PR_SET_MM_START_CODE, 0x1000, 0, 0));
        R(prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0));
    }
}

static void pdeath_child(void) {
    /* The grandchild asks for SIGUSR1 when its parent exits, then reports it. */
    int p[2];
    pipe(p);
    pid_t mid = fork();
    if (mid == 0) {
        pid_t g = fork();
        if (g == 0) {
            sigset_t s;
            sigemptyset(&s);
            sigaddset(&s, SIGUSR1);
            sigprocmask(SIG_BLOCK, &s, NULL);
            prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0);
            write(p[1], "r", 1);
            siginfo_t si;
            struct timespec ts = {10, 0};
            int sig = sigtimedwait(&s, &si, &ts);
            printf("grandchild got signal %d code %d\n", sig, si.si_code);
            _exit(0);
        }
        char b;
        read(p[0], &b, 1);
        _exit(0);
    }
    waitpid(mid, NULL, 0);
    usleep(300000);
}

static void show_file(const char *path) {
    char buf[64] = {0};
    int fd = open(path, O_RDONLY);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("%s: %zd [%s]\n", path, n, buf);
}

static long write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY);
    if (fd < 0) return -1;
    long r = write(fd, text, strlen(text));
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

static void loginuid(void) {
    show_file("/proc/self/loginuid");
    show_file("/proc/self/sessionid");
    struct stat sb;
    stat("/proc/self/loginuid", &sb);
    printf("loginuid mode %o\n", sb.st_mode & 0777);
    stat("/proc/self/sessionid", &sb);
    printf("sessionid mode %o\n", sb.st_mode & 0777);
    R(write_file("/proc/self/loginuid", "abc"));
    R(write_file("/proc/self/loginuid", "1000\n"));
    show_file("/proc/self/loginuid");
    char buf[32] = {0};
    int fd = open("/proc/self/sessionid", O_RDONLY);
    read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("session set: %d\n", strcmp(buf, "4294967295") != 0);
    char parent[64];
    snprintf(parent, sizeof parent, "/proc/%d/loginuid", getppid());
    R(write_file(parent, "5"));
    R(write_file("/proc/self/loginuid", "1001"));
    drop_eff(BIT(CAP_AUDIT_CONTROL));
    R(write_file("/proc/self/loginuid", "1002"));
    show_file("/proc/self/loginuid");
    pid_t c = fork();
    if (c == 0) {
        show_file("/proc/self/loginuid");
        _exit(0);
    }
    waitpid(c, NULL, 0);
}

static void kill_perm(void) {
    int p[2];
    pipe(p);
    pid_t a = fork();
    if (a == 0) {
        close(p[1]);
        setpgid(0, 0);
        setresuid(2000, 2000, 2000);
        char b;
        read(p[0], &b, 1);
        _exit(0);
    }
    setpgid(a, a);
    usleep(100000);
    pid_t c = fork();
    if (c == 0) {
        setresuid(1000, 1000, 1000);
        R(kill(a, 0));
        R(kill(a, SIGTERM));
        R(kill(-a, 0));
        R(kill(-1, 0));
        R(kill(getpid(), 0));
        _exit(0);
    }
    waitpid(c, NULL, 0);
    c = fork();
    if (c == 0) {
        setresuid(2000, 2000, 0);
        R(kill(a, 0));
        _exit(0);
    }
    waitpid(c, NULL, 0);
    drop_eff(BIT(CAP_KILL));
    R(kill(a, 0));
    R(kill(a, SIGTERM));
    close(p[1]);
    int st;
    waitpid(a, &st, 0);
    printf("a exited normally: %d\n", WIFEXITED(st));
}

static char dir[64];
static void t_headers(void) { headers(); }
static void t_capset(void) { capset_rules(); }
static void t_bounding(void) { bounding(); }
static void t_ambient(void) { ambient(); }
static void t_securebits(void) { securebits(); }
static void t_nnp(void) { nnp(); }
static void t_bycap(void) { by_capability(dir); }
static void t_knobs(void) { knobs(); }
static void t_loginuid(void) { loginuid(); }
static void t_kill(void) { kill_perm(); }

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 2 && strcmp(argv[1], "report") == 0) {
        report(argv[2]);
        return 0;
    }
    if (getuid() != 0) {
        printf("must run as root\n");
        return 1;
    }
    strcpy(dir, "/tmp/capsXXXXXX");
    if (!mkdtemp(dir)) return 1;
    chmod(dir, 0755);
    if (mount("none", dir, "tmpfs", 0, "mode=755")) {
        perror("mount tmpfs");
        return 1;
    }
    show("root");
    status_lines();
    in_child(t_headers, "headers");
    in_child(t_capset, "capset");
    in_child(t_bounding, "bounding");
    in_child(t_ambient, "ambient");
    in_child(t_securebits, "securebits");
    printf("== uid changes\n");
    uid_changes();
    in_child(t_nnp, "no_new_privs");
    in_child(t_bycap, "permission by capability");
    printf("== exec\n");
    exec_cases(dir);
    in_child(t_knobs, "prctl knobs");
    in_child(t_loginuid, "loginuid");
    in_child(t_kill, "kill permission");
    printf("== pdeathsig\n");
    pdeath_child();
    umount(dir);
    rmdir(dir);
    return 0;
}

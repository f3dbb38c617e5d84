// A trinity-like syscall fuzzer for umbra's guests: several processes (some with threads, half
// of them as an unprivileged user) call random syscalls with arguments drawn from valid and
// invalid fds, addresses, lengths, flags and structures. The parent (run as the guest's init)
// keeps them going: a child that dies is replaced, one that makes no progress for 3 s (blocked
// with SIGALRM masked, stopped...) is killed and replaced.
//
// usage: fuzz SEED SECONDS PROCS
// Output: one line per second of progress, then "done: N syscalls, C children, seed S". The
// run is reproducible from its seed as far as scheduling allows: each child's stream of
// syscalls depends only on the seed and the child's index and generation.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PROCS 16

/* Shared with the parent: each child's count of calls made (its heartbeat). */
static volatile uint64_t *beats;
/* Shared too: each process's last call (number and arguments), printed if memory is corrupted. */
static volatile uint64_t (*lastcall)[8];

/* xorshift64*: the whole run follows from the seed. */
static __thread uint64_t rng;
static uint64_t rnd(void) {
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1DULL;
}
static uint64_t below(uint64_t n) { return n ? rnd() % n : 0; }

/* Syscalls never called: they would end or stall the fuzzing itself rather than test the
 * kernel (the driver makes processes itself; reboot ends the guest). */
static int denied(long nr) {
    switch (nr) {
    case SYS_exit: case SYS_exit_group: case SYS_fork: case SYS_vfork: case SYS_clone:
    case SYS_clone3: case SYS_execve: case SYS_execveat: case SYS_reboot: case SYS_kill:
    case SYS_tkill: case SYS_tgkill: case SYS_rt_sigreturn: case SYS_vhangup:
    case SYS_pidfd_send_signal: case SYS_rt_sigqueueinfo: case SYS_rt_tgsigqueueinfo:
        return 1;
    }
    return 0;
}

static int fds[32];
static int nfds;
static char *buf;        /* a valid, writable 64 KiB buffer */
static char *ro_page;    /* a read-only page */
static char *unmapped;   /* a page that is not mapped */
static const char *paths[] = {"/", "/tmp", "/tmp/fz/a", "/tmp/fz/b", "/tmp/fz/dir", "/proc/self/status",
                              "/proc/self/maps", "/dev/null", "/dev/zero", "/nonexistent/x", "", "/tmp/fz/link",
                              "/proc/1/mem", "/dev/full", "/tmp/fz/dir/../a"};

static uint64_t arg_fd(void) {
    switch (below(8)) {
    case 0: return (uint64_t)-1;
    case 1: return below(1024);
    case 2: return AT_FDCWD;
    default: return nfds ? (uint64_t)fds[below(nfds)] : 0;
    }
}

static uint64_t arg_addr(void) {
    switch (below(10)) {
    case 0: return 0;
    case 1: return (uint64_t)unmapped;
    case 2: return (uint64_t)ro_page;
    case 3: return 0xffff800000000000ULL + below(1 << 20);
    case 4: return (uint64_t)buf + 65536 - below(16); /* runs off the end */
    case 5: return (uint64_t)paths[below(sizeof paths / sizeof *paths)];
    case 6: return rnd();
    default: return (uint64_t)buf + below(4096);
    }
}

static uint64_t arg_len(void) {
    switch (below(7)) {
    case 0: return 0;
    case 1: return 1;
    case 2: return 4096;
    case 3: return below(65536);
    case 4: return (uint64_t)-1;
    case 5: return 1ULL << (32 + below(30));
    default: return below(256);
    }
}

static uint64_t arg_any(void) {
    switch (below(8)) {
    case 0: return arg_fd();
    case 1: return arg_addr();
    case 2: return arg_len();
    case 3: return 1ULL << below(64);        /* one flag bit */
    case 4: return rnd() & rnd();            /* a few bits */
    case 5: return (uint64_t)(int64_t)-(int64_t)below(5);
    case 6: return below(3) ? getpid() : 1;  /* pids */
    default: return rnd();
    }
}

/* FUZZ_NRS="9,10,11" limits the run to those syscalls (to narrow down a finding). */
static long only[64];
static int nonly;

static long pick_nr(void) {
    if (nonly)
        return only[below(nonly)];
    for (;;) {
        long nr = below(8) ? (long)below(335) : 424 + (long)below(40);
        if (!denied(nr))
            return nr;
    }
}

/* Fresh valid fds of many kinds, so random calls reach real objects. */
static void make_fds(void) {
    nfds = 0;
    int p[2], s[2];
    mkdir("/tmp/fz", 0777);
    mkdir("/tmp/fz/dir", 0777);
    fds[nfds++] = open("/tmp/fz/a", O_RDWR | O_CREAT, 0666);
    fds[nfds++] = open("/tmp/fz/dir", O_RDONLY | O_DIRECTORY);
    fds[nfds++] = open("/proc/self/stat", O_RDONLY);
    fds[nfds++] = open("/dev/null", O_RDWR);
    if (pipe2(p, O_NONBLOCK) == 0) {
        fds[nfds++] = p[0];
        fds[nfds++] = p[1];
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, s) == 0) {
        fds[nfds++] = s[0];
        fds[nfds++] = s[1];
    }
    fds[nfds++] = socket(AF_UNIX, SOCK_DGRAM, 0);
    fds[nfds++] = socket(AF_NETLINK, SOCK_RAW, 0);
    fds[nfds++] = syscall(SYS_eventfd2, 0, 0);
    fds[nfds++] = syscall(SYS_epoll_create1, 0);
    fds[nfds++] = syscall(SYS_memfd_create, "fz", 0);
    fds[nfds++] = syscall(SYS_timerfd_create, CLOCK_MONOTONIC, 0);
    fds[nfds++] = syscall(SYS_inotify_init1, 0);
}

static void on_alarm(int s) { (void)s; }

/* Re-arms the alarm that interrupts a call that would block for long. */
static void rearm(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    struct itimerval it = {{0, 0}, {0, 20 * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

static void fuzz_loop(int idx) {
    for (uint64_t n = 0;; n++) {
        if (n % 64 == 0) {
            rearm();
            if (n % 4096 == 0)
                make_fds();
        }
        long nr = pick_nr();
        uint64_t a[6];
        for (int k = 0; k < 6; k++)
            a[k] = arg_any();
        volatile uint64_t *rec = lastcall[idx];
        rec[0] = nr;
        for (int k = 0; k < 6; k++)
            rec[k + 1] = a[k];
        syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        beats[idx]++;
    }
}

static void *thread_main(void *arg) {
    rng = (uint64_t)(uintptr_t)arg | 1;
    fuzz_loop((int)((uintptr_t)arg >> 48));
    return NULL;
}

static void child(int idx, uint64_t seed) {
    rng = seed | 1;
    buf = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ro_page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unmapped = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(unmapped, 4096);
    if (idx % 2 == 1) {
        setgroups(0, NULL);
        setgid(65534);
        setuid(65534);
    }
    make_fds();
    if (idx % 3 == 0) {
        for (int t = 0; t < 2; t++) {
            pthread_t th;
            pthread_create(&th, NULL, thread_main, (void *)(uintptr_t)(((uint64_t)idx << 48) | (rnd() & 0xffffffffffffULL)));
        }
    }
    fuzz_loop(idx);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static pid_t spawn(int idx, uint64_t seed, int gen) {
    uint64_t s = seed ^ ((uint64_t)idx << 32) ^ ((uint64_t)gen * 0x9E3779B97F4A7C15ULL);
    pid_t p = fork();
    if (p == 0) {
        child(idx, s);
        _exit(0);
    }
    return p;
}

int main(int argc, char **argv) {
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 1;
    int secs = argc > 2 ? atoi(argv[2]) : 10;
    int nprocs = argc > 3 ? atoi(argv[3]) : 4;
    if (nprocs > MAX_PROCS)
        nprocs = MAX_PROCS;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (char *e = getenv("FUZZ_NRS"); e && *e && nonly < 64;) {
        only[nonly++] = strtol(e, &e, 10);
        if (*e == ',')
            e++;
    }
    printf("fuzz: seed %llu, %d s, %d processes\n", (unsigned long long)seed, secs, nprocs);
    beats = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    lastcall = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t pids[MAX_PROCS];
    int gens[MAX_PROCS] = {0};
    uint64_t last[MAX_PROCS] = {0}, done_before = 0;
    double seen[MAX_PROCS];
    for (int i = 0; i < nprocs; i++) {
        pids[i] = spawn(i, seed, 0);
        seen[i] = now();
    }
    /* Memory no child can reach: if it changes, the kernel wrote where it must not. */
    size_t canary_len = 1 << 16;
    unsigned char *canary = malloc(canary_len);
    for (size_t i = 0; i < canary_len; i++)
        canary[i] = (unsigned char)(i * 131 + 7);
    double start = now(), next_report = start + 1;
    int children = nprocs;
    int scribbled = 0;
    while (now() - start < secs) {
        struct timespec tick = {0, 100 * 1000 * 1000};
        nanosleep(&tick, NULL);
        int st;
        pid_t w;
        while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
            for (int i = 0; i < nprocs; i++) {
                if (pids[i] == w) {
                    done_before += last[i];
                    beats[i] = 0;
                    last[i] = 0;
                    pids[i] = spawn(i, seed, ++gens[i]);
                    seen[i] = now();
                    children++;
                }
            }
        }
        for (size_t i = 0; i < canary_len; i++) {
            if (canary[i] != (unsigned char)(i * 131 + 7)) {
                printf("CORRUPTION: the parent's private memory changed at byte %zu\n", i);
                return 2;
            }
        }
        for (int i = 0; i < nprocs; i++) {
            /* A child may scribble on its own view of this shared page (a random futex or
             * robust-list address that happens to point here, as natively): count only
             * plausible progress. */
            if (beats[i] < last[i] || beats[i] - last[i] > 100000000ULL) {
                scribbled++;
                beats[i] = last[i] + 1;
            }
            if (beats[i] != last[i]) {
                last[i] = beats[i];
                seen[i] = now();
            } else if (now() - seen[i] > 3) {
                kill(pids[i], SIGKILL);
                seen[i] = now();
            }
        }
        if (now() >= next_report) {
            uint64_t total = done_before;
            for (int i = 0; i < nprocs; i++)
                total += last[i];
            printf("fuzz: %.0f s, %llu syscalls, %d children\n", now() - start, (unsigned long long)total, children);
            next_report += 1;
        }
    }
    uint64_t total = done_before;
    for (int i = 0; i < nprocs; i++) {
        total += last[i];
        kill(pids[i], SIGKILL);
    }
    while (wait(NULL) > 0 || errno == EINTR)
        ;
    printf("done: %llu syscalls, %d children, seed %llu (%d heartbeat scribbles)\n", (unsigned long long)total, children, (unsigned long long)seed, scribbled);
    return 0;
}

/* Threads, compared with Linux: pthread_create/join with mutexes and condition variables
   (futex paths), gettid vs getpid, thread-directed signals (pthread_kill), process-directed
   signals picking a thread that does not block them, sigwait in a dedicated thread,
   pthread_exit vs exit vs a raw SYS_exit, exit_group from a thread, a fatal signal ending
   every thread, execve from a non-leader thread. Each case runs in a child process. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void msleep(int ms) { struct timespec t = {ms / 1000, (ms % 1000) * 1000000L}; nanosleep(&t, NULL); }
static pid_t gettid_(void) { return (pid_t)syscall(SYS_gettid); }

static void report(const char *what, int st) {
    if (WIFEXITED(st)) printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st)) printf("%s: killed by %d\n", what, WTERMSIG(st));
    else printf("%s: status %#x\n", what, st);
}

/* ---- mutex + condvar work ---- */
#define NTHREADS 4
#define ITERS 20000
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int ready, go;
static long counter;
static pid_t tids[NTHREADS];
static int pid_same[NTHREADS];

static void *worker(void *arg) {
    long idx = (long)arg;
    tids[idx] = gettid_();
    pid_same[idx] = getpid() == (pid_t)syscall(SYS_getpid);
    pthread_mutex_lock(&mu);
    ready++;
    pthread_cond_broadcast(&cv);
    while (!go) pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < ITERS; i++) {
        pthread_mutex_lock(&mu);
        counter++;
        if (i % 1000 == 0) sched_yield();
        pthread_mutex_unlock(&mu);
    }
    return (void *)(idx * 11);
}

static void case_work(void) {
    pthread_t th[NTHREADS];
    for (long i = 0; i < NTHREADS; i++) pthread_create(&th[i], NULL, worker, (void *)i);
    pthread_mutex_lock(&mu);
    while (ready < NTHREADS) pthread_cond_wait(&cv, &mu);
    go = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    long sum = 0;
    for (int i = 0; i < NTHREADS; i++) {
        void *r;
        pthread_join(th[i], &r);
        sum += (long)r;
    }
    int distinct = 1;
    for (int i = 0; i < NTHREADS; i++) {
        if (tids[i] == getpid() || tids[i] <= 0) distinct = 0;
        for (int j = 0; j < i; j++) if (tids[i] == tids[j]) distinct = 0;
    }
    printf("counter=%ld sum=%ld tids distinct=%d main tid==pid=%d pid same=%d%d%d%d\n", counter, sum, distinct,
           gettid_() == getpid(), pid_same[0], pid_same[1], pid_same[2], pid_same[3]);
    /* a timed wait that times out */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 50 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
    pthread_mutex_lock(&mu);
    int r = pthread_cond_timedwait(&cv, &mu, &ts);
    pthread_mutex_unlock(&mu);
    printf("timedwait=%s\n", r == ETIMEDOUT ? "ETIMEDOUT" : "?");
    /* many short-lived threads */
    pthread_t many[64];
    int ok = 0;
    for (int i = 0; i < 64; i++) ok += pthread_create(&many[i], NULL, worker, (void *)0) == 0 ? 0 : 0;
    (void)ok;
    for (int i = 0; i < 64; i++) pthread_join(many[i], NULL);
    printf("64 more threads: counter=%ld\n", counter);
}

/* ---- signals and threads ---- */
static volatile pid_t handled_on;
static volatile int handled_sig;
static void on_sig(int s) { handled_on = gettid_(); handled_sig = s; }
static volatile int stop_spin;
static volatile pid_t spinner_tid;
static void *spinner(void *arg) {
    sigset_t *unblock = arg;
    if (unblock) pthread_sigmask(SIG_UNBLOCK, unblock, NULL);
    spinner_tid = gettid_();
    while (!stop_spin) msleep(1);
    return NULL;
}

static void case_signals(void) {
    signal(SIGUSR1, on_sig);
    signal(SIGUSR2, on_sig);
    pthread_t t;
    stop_spin = 0;
    pthread_create(&t, NULL, spinner, NULL);
    while (!spinner_tid) msleep(1);
    pthread_kill(t, SIGUSR1);
    for (int i = 0; i < 1000 && !handled_on; i++) msleep(1);
    printf("pthread_kill: on target=%d\n", handled_on == spinner_tid);
    stop_spin = 1;
    pthread_join(t, NULL);
    /* a process-directed signal goes to the one thread that does not block it */
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
    handled_on = 0;
    spinner_tid = 0;
    stop_spin = 0;
    pthread_create(&t, NULL, spinner, &s);
    while (!spinner_tid) msleep(1);
    kill(getpid(), SIGUSR2);
    for (int i = 0; i < 1000 && !handled_on; i++) msleep(1);
    printf("kill to process: on unblocking thread=%d\n", handled_on == spinner_tid);
    stop_spin = 1;
    pthread_join(t, NULL);
    /* sent while every thread blocks it; a new thread that unblocks it takes it */
    handled_on = 0;
    spinner_tid = 0;
    stop_spin = 0;
    kill(getpid(), SIGUSR2);
    pthread_create(&t, NULL, spinner, &s);
    while (!spinner_tid) msleep(1);
    for (int i = 0; i < 1000 && !handled_on; i++) msleep(1);
    printf("pending for the process, taken by a thread unblocking it=%d\n", handled_on == spinner_tid);
    stop_spin = 1;
    pthread_join(t, NULL);
    sigset_t p;
    sigpending(&p);
    printf("still pending=%d\n", sigismember(&p, SIGUSR2));
    pthread_sigmask(SIG_UNBLOCK, &s, NULL);
}

static void *mask_reporter(void *arg) {
    (void)arg;
    sigset_t m, p;
    pthread_sigmask(SIG_SETMASK, NULL, &m);
    sigpending(&p);
    printf("new thread: USR2 blocked=%d pending=%d\n", sigismember(&m, SIGUSR2), sigismember(&p, SIGUSR2));
    return NULL;
}

/* sigwait in a dedicated thread, the signal sent before it starts waiting */
static volatile int waited_sig;
static void *sigwaiter(void *arg) {
    sigset_t *s = arg;
    int sig = 0;
    sigwait(s, &sig);
    waited_sig = sig;
    return NULL;
}
static void case_sigwait(void) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigaddset(&s, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
    kill(getpid(), SIGTERM);
    sigset_t p;
    sigpending(&p);
    printf("pending before: term=%d\n", sigismember(&p, SIGTERM));
    pthread_t t;
    pthread_create(&t, NULL, sigwaiter, &s);
    pthread_join(t, NULL);
    printf("sigwait thread got %d\n", waited_sig);
    pthread_create(&t, NULL, sigwaiter, &s);
    msleep(50);
    kill(getpid(), SIGUSR1);
    pthread_join(t, NULL);
    printf("sigwait thread got %d\n", waited_sig);
    /* tgkill to the main thread is not taken by the other thread's sigwait */
    waited_sig = 0;
    pthread_create(&t, NULL, sigwaiter, &s);
    msleep(50);
    syscall(SYS_tgkill, getpid(), getpid(), SIGUSR1);
    msleep(100);
    sigpending(&p);
    printf("thread-directed to main: waiter got=%d pending in main=%d\n", waited_sig, sigismember(&p, SIGUSR1));
    kill(getpid(), SIGTERM);
    pthread_join(t, NULL);
    printf("then waiter got %d\n", waited_sig);
}

/* ---- ways to end ---- */
static void *exit_thread_fn(void *arg) {
    long how = (long)arg;
    if (how == 1) pthread_exit((void *)77);
    if (how == 2) syscall(SYS_exit, 5);
    if (how == 3) { msleep(50); exit(3); }
    if (how == 4) { msleep(50); syscall(SYS_exit_group, 4); }
    if (how == 5) { msleep(100); printf("last thread exits 9\n"); exit(9); }
    if (how == 6) { for (;;) pause(); }
    if (how == 7) { msleep(50); char arg1[32]; snprintf(arg1, sizeof arg1, "%d", getpid()); execl("/proc/self/exe", "threads", "exec-helper", arg1, (char *)NULL); printf("exec failed %d\n", errno); }
    return (void *)how;
}

static pid_t in_child(void (*fn)(void)) {
    pid_t c = fork();
    if (c == 0) { fn(); fflush(stdout); _exit(0); }
    return c;
}

static void end_pthread_exit(void) {
    pthread_t t;
    void *r;
    pthread_create(&t, NULL, exit_thread_fn, (void *)1);
    pthread_join(t, &r);
    printf("pthread_exit value=%ld\n", (long)r);
    pthread_create(&t, NULL, exit_thread_fn, (void *)2);
    int jr = pthread_join(t, NULL);
    printf("raw SYS_exit thread joined=%d; process alive\n", jr);
}
static void end_exit_from_thread(void) {
    pthread_t t;
    pthread_create(&t, NULL, exit_thread_fn, (void *)3);
    pthread_join(t, NULL);
    printf("not reached\n");
}
static void end_exit_group_from_thread(void) {
    pthread_t t[3];
    pthread_create(&t[0], NULL, exit_thread_fn, (void *)6);
    pthread_create(&t[1], NULL, exit_thread_fn, (void *)6);
    pthread_create(&t[2], NULL, exit_thread_fn, (void *)4);
    for (;;) pause();
}
static void end_main_pthread_exit(void) {
    pthread_t t;
    pthread_create(&t, NULL, exit_thread_fn, (void *)5);
    pthread_exit(NULL);
}
static void end_main_raw_exit_others_run(void) {
    pthread_t t;
    pthread_create(&t, NULL, exit_thread_fn, (void *)5);
    syscall(SYS_exit, 1); /* only the main thread ends */
}
static void end_killed(void) {
    pthread_t t[3];
    for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, exit_thread_fn, (void *)6);
    for (;;) pause();
}
static void end_exec_from_thread(void) {
    pthread_t t[2];
    pthread_create(&t[0], NULL, exit_thread_fn, (void *)6);
    pthread_create(&t[1], NULL, exit_thread_fn, (void *)7);
    for (;;) pause();
}

static void case_ending(void) {
    int st;
    pid_t c = in_child(end_pthread_exit);
    waitpid(c, &st, 0);
    report("pthread_exit + raw exit", st);
    c = in_child(end_exit_from_thread);
    waitpid(c, &st, 0);
    report("exit() in a thread", st);
    c = in_child(end_exit_group_from_thread);
    waitpid(c, &st, 0);
    report("exit_group in a thread", st);
    c = in_child(end_main_pthread_exit);
    waitpid(c, &st, 0);
    report("main pthread_exit, last thread exit(9)", st);
    c = in_child(end_main_raw_exit_others_run);
    waitpid(c, &st, 0);
    report("main SYS_exit, other thread exit(9)", st);
    c = in_child(end_killed);
    msleep(100);
    kill(c, SIGTERM);
    waitpid(c, &st, 0);
    report("SIGTERM to threaded process", st);
    c = in_child(end_killed);
    msleep(100);
    kill(c, SIGKILL);
    waitpid(c, &st, 0);
    report("SIGKILL to threaded process", st);
}

static void case_exec_thread(void) {
    int st;
    pid_t c = in_child(end_exec_from_thread);
    waitpid(c, &st, 0);
    report("execve from a thread", st);
}

/* ---- a group stop stops every thread ---- */
static volatile long *counters;
static void *counting(void *arg) {
    long i = (long)arg;
    for (;;) { counters[i]++; if ((counters[i] & 0xfff) == 0) sched_yield(); }
    return NULL;
}
static void stop_target(void) {
    pthread_t t[3];
    for (long i = 0; i < 3; i++) pthread_create(&t[i], NULL, counting, (void *)i);
    for (;;) pause();
}
static void case_stop(void) {
    counters = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t c = in_child(stop_target);
    msleep(200);
    int st;
    kill(c, SIGSTOP);
    waitpid(c, &st, WUNTRACED);
    printf("stopped=%d\n", WIFSTOPPED(st));
    msleep(50);
    long a[3], b[3];
    for (int i = 0; i < 3; i++) a[i] = counters[i];
    msleep(200);
    for (int i = 0; i < 3; i++) b[i] = counters[i];
    printf("all threads ran before=%d, none ran while stopped=%d\n", a[0] > 0 && a[1] > 0 && a[2] > 0, a[0] == b[0] && a[1] == b[1] && a[2] == b[2]);
    kill(c, SIGCONT);
    waitpid(c, &st, WCONTINUED);
    printf("continued=%d\n", WIFCONTINUED(st));
    msleep(200);
    int moved = 0;
    for (int i = 0; i < 3; i++) moved += counters[i] != b[i];
    printf("threads running again=%d\n", moved);
    kill(c, SIGTERM);
    waitpid(c, &st, 0);
    report("stop target", st);
}

/* ---- futexes: errors, thread wake-ups, shared across processes, robust mutexes ---- */
#define TRY(what, expr) do { errno = 0; long r_ = (long)(expr); int e_ = errno; printf("%s: %ld %s\n", what, r_, r_ < 0 ? strerrorname_np(e_) : "ok"); } while (0)
static long futex(void *addr, int op, uint32_t val, const struct timespec *ts, void *addr2, uint32_t val3) {
    return syscall(SYS_futex, addr, op, val, ts, addr2, val3);
}
static uint32_t fword;
static void *futex_waiter(void *arg) {
    (void)arg;
    long r = futex(&fword, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    return (void *)r;
}
static pthread_mutex_t robust_mu;
static void *lock_and_die(void *arg) {
    (void)arg;
    pthread_mutex_lock(&robust_mu);
    return NULL; /* ends holding it */
}
static void case_futex(void) {
    struct timespec t50 = {0, 50 * 1000000L};
    uint32_t w = 5;
    TRY("wait value mismatch", futex(&w, FUTEX_WAIT_PRIVATE, 4, NULL, NULL, 0));
    TRY("wait timeout", futex(&w, FUTEX_WAIT_PRIVATE, 5, &t50, NULL, 0));
    TRY("wait unaligned", futex((char *)&w + 1, FUTEX_WAIT_PRIVATE, 5, NULL, NULL, 0));
    TRY("wait unmapped", futex((void *)8, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0));
    TRY("wait bitset 0", futex(&w, FUTEX_WAIT_BITSET_PRIVATE, 5, NULL, NULL, 0));
    struct timespec bad = {0, 2000000000L};
    TRY("wait bad timeout", futex(&w, FUTEX_WAIT_PRIVATE, 5, &bad, NULL, 0));
    TRY("wake nobody", futex(&w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
    TRY("wake unmapped private", futex((void *)8, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
    TRY("wake unmapped shared", futex((void *)8, FUTEX_WAKE, 1, NULL, NULL, 0));
    TRY("bad op", futex(&w, 99, 0, NULL, NULL, 0));
    TRY("cmp_requeue mismatch", futex(&w, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1, &fword, 4));
    /* a thread waits, main wakes it */
    pthread_t t;
    pthread_create(&t, NULL, futex_waiter, NULL);
    msleep(50);
    TRY("wake the thread", futex(&fword, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0));
    void *r;
    pthread_join(t, &r);
    printf("waiter returned %ld\n", (long)r);
    /* a shared futex across fork (MAP_SHARED memory, no PRIVATE flag) */
    uint32_t *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    *sh = 0;
    pid_t c = fork();
    if (c == 0) {
        while (*sh == 0) futex(sh, FUTEX_WAIT, 0, NULL, NULL, 0);
        _exit(*sh == 7 ? 0 : 1);
    }
    msleep(100);
    *sh = 7;
    TRY("wake across processes", futex(sh, FUTEX_WAKE, 1, NULL, NULL, 0));
    int st;
    waitpid(c, &st, 0);
    report("shared futex child", st);
    /* a process-shared semaphore */
    sem_t *sem = (sem_t *)(sh + 16);
    sem_init(sem, 1, 0);
    c = fork();
    if (c == 0) { _exit(sem_wait(sem) == 0 ? 0 : 1); }
    msleep(100);
    sem_post(sem);
    waitpid(c, &st, 0);
    report("pshared semaphore child", st);
    /* robust mutexes: the owner ends holding it */
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&robust_mu, &a);
    pthread_create(&t, NULL, lock_and_die, NULL);
    pthread_join(t, NULL);
    int lr = pthread_mutex_lock(&robust_mu);
    printf("robust lock after the owner thread ended: %s\n", lr == EOWNERDEAD ? "EOWNERDEAD" : lr == 0 ? "0" : "?");
    if (lr == EOWNERDEAD) pthread_mutex_consistent(&robust_mu);
    pthread_mutex_unlock(&robust_mu);
    /* ...and across processes, the owner process killed while the parent waits */
    pthread_mutex_t *pm = (pthread_mutex_t *)(sh + 64);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(pm, &a);
    c = fork();
    if (c == 0) { pthread_mutex_lock(pm); for (;;) pause(); }
    msleep(100);
    pid_t killer = fork();
    if (killer == 0) { msleep(100); kill(c, SIGKILL); _exit(0); }
    lr = pthread_mutex_lock(pm);
    printf("pshared robust lock after the owner was killed: %s\n", lr == EOWNERDEAD ? "EOWNERDEAD" : lr == 0 ? "0" : "?");
    waitpid(c, &st, 0);
    waitpid(killer, NULL, 0);
    report("owner", st);
}

/* ---- signals interrupting blocked threads ---- */
static int eintr_pipe[2];
static volatile int eintr_hits;
static volatile int reader_done;
static void count_hit(int s) { (void)s; eintr_hits++; }
static void *blocked_reader(void *arg) {
    (void)arg;
    char c;
    errno = 0;
    long r = read(eintr_pipe[0], &c, 1);
    reader_done = 1;
    return (void *)(r < 0 ? -(long)errno : r);
}
static void *pipe_writer(void *arg) {
    (void)arg;
    errno = 0;
    long r = write(eintr_pipe[1], "x", 1);
    return (void *)(r < 0 ? -(long)errno : r);
}
static void case_eintr(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = count_hit;
    sigaction(SIGUSR1, &sa, NULL);
    if (pipe(eintr_pipe)) return;
    pthread_t t;
    void *r;
    reader_done = 0;
    pthread_create(&t, NULL, blocked_reader, NULL);
    /* Signal until the read returns: on a loaded host the first signal may land before the
     * thread has reached read() (then the handler runs and the read would block forever). */
    for (int tries = 0; !reader_done && tries < 400; tries++) {
        msleep(50);
        if (!reader_done) pthread_kill(t, SIGUSR1);
    }
    pthread_join(t, &r);
    printf("read without SA_RESTART: %ld (EINTR=%d) hit: %d\n", (long)r, -EINTR, eintr_hits >= 1);
    eintr_hits = 0;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    pthread_create(&t, NULL, blocked_reader, NULL);
    msleep(50);
    pthread_kill(t, SIGUSR1);
    msleep(50);
    if (write(eintr_pipe[1], "y", 1) != 1) printf("write failed\n");
    pthread_join(t, &r);
    printf("read with SA_RESTART: %ld hits=%d\n", (long)r, eintr_hits);
    /* SIGPIPE goes to the thread that wrote */
    close(eintr_pipe[0]);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    pthread_create(&t, NULL, pipe_writer, NULL);
    pthread_join(t, &r);
    printf("write to a closed pipe: %ld (EPIPE=%d)\n", (long)r, -EPIPE);
    /* kill(tid of a non-leader thread) */
    spinner_tid = 0;
    stop_spin = 0;
    pthread_create(&t, NULL, spinner, NULL);
    while (!spinner_tid) msleep(1);
    errno = 0;
    int kr = kill(spinner_tid, 0);
    printf("kill(thread tid, 0): %d errno=%d\n", kr, errno);
    errno = 0;
    kr = (int)syscall(SYS_tgkill, getppid(), spinner_tid, 0);
    printf("tgkill(other process, our tid, 0): %d errno=%d\n", kr, errno);
    stop_spin = 1;
    pthread_join(t, NULL);
    /* the mask is inherited by a new thread, pending signals are not */
    sigset_t b, got;
    sigemptyset(&b);
    sigaddset(&b, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &b, NULL);
    pthread_kill(pthread_self(), SIGUSR2);
    pthread_create(&t, NULL, mask_reporter, NULL);
    pthread_join(t, NULL);
    sigpending(&got);
    printf("main still has SIGUSR2 pending=%d\n", sigismember(&got, SIGUSR2));
}

struct section { const char *name; void (*fn)(void); };
static const struct section sections[] = {
    {"work", case_work}, {"signals", case_signals}, {"sigwait", case_sigwait}, {"ending", case_ending},
    {"exec_thread", case_exec_thread}, {"stop", case_stop}, {"futex", case_futex}, {"eintr", case_eintr},
};

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 2 && strcmp(argv[1], "exec-helper") == 0) {
        printf("exec'd: same pid=%d tid==pid=%d\n", getpid() == atoi(argv[2]), gettid_() == getpid());
        return 12;
    }
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

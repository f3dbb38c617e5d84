/* Thread stress: many threads that each start many short-lived threads, all talking to the main
   thread, with malloc/free churn, MADV_DONTNEED on thread stacks, signals to threads, and checks
   that every thread keeps its own identity (gettid, pthread_self, fs-based TLS), its own SSE
   registers across syscalls, preemption and signal handlers, and that the heap stays intact.
   Prints "ok" and exits 0 natively; any inconsistency prints what broke and exits 1.
   Usage: threadstress start [workers] [rounds] [budget-seconds]: it forks and execs itself
   with "run" in place of "start", and the child does the work. Bounded: the workers stop early
   when the time budget is spent. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t gettid_(void) { return (pid_t)syscall(SYS_gettid); }

static volatile int failed;
static char first_failure[256];
static pthread_mutex_t fail_mu = PTHREAD_MUTEX_INITIALIZER;

static void fail(const char *fmt, long a, long b) {
    pthread_mutex_lock(&fail_mu);
    if (!failed) snprintf(first_failure, sizeof first_failure, fmt, a, b);
    failed = 1;
    pthread_mutex_unlock(&fail_mu);
}

/* ---- identity: tid, pthread_self and a TLS variable must agree for the thread's whole life ---- */
static __thread pid_t tls_tid;
static __thread pthread_t tls_self;
static __thread uint64_t tls_canary;

static void set_identity(void) {
    tls_tid = gettid_();
    tls_self = pthread_self();
    tls_canary = 0x5eed0000ULL ^ (uint64_t)tls_tid;
}

static void check_identity(const char *where) {
    pid_t t = gettid_();
    if (t != tls_tid) fail("%ld: gettid changed (now %ld)", (long)tls_tid, (long)t);
    if (!pthread_equal(pthread_self(), tls_self)) fail("tid %ld: pthread_self changed (%ld)", (long)t, 0);
    if (tls_canary != (0x5eed0000ULL ^ (uint64_t)t)) fail("tid %ld: TLS canary %lx", (long)t, (long)tls_canary);
    (void)where;
}

/* ---- SSE: a value put in xmm registers survives syscalls ---- */
static int sse_survives_syscall(uint64_t seed) {
    uint64_t in[2] = {seed, ~seed}, out8[2], out15[2];
    __asm__ volatile(
        "movdqu (%[in]), %%xmm8\n"
        "movdqu (%[in]), %%xmm15\n"
        "mov $39, %%eax\n" /* getpid */
        "syscall\n"
        "mov $24, %%eax\n" /* sched_yield */
        "syscall\n"
        "movdqu %%xmm8, (%[o8])\n"
        "movdqu %%xmm15, (%[o15])\n"
        :
        : [in] "r"(in), [o8] "r"(out8), [o15] "r"(out15)
        : "rax", "rcx", "r11", "xmm8", "xmm15", "memory");
    return out8[0] == in[0] && out8[1] == in[1] && out15[0] == in[0] && out15[1] == in[1];
}

/* SSE across preemption: spin a little with a value in xmm9, check it is still there. */
static int sse_survives_spin(uint64_t seed, int loops) {
    uint64_t in[2] = {seed, seed * 3}, out[2];
    __asm__ volatile(
        "movdqu (%[in]), %%xmm9\n"
        "1: dec %[n]\n"
        "jnz 1b\n"
        "movdqu %%xmm9, (%[out])\n"
        : [n] "+r"(loops)
        : [in] "r"(in), [out] "r"(out)
        : "xmm9", "memory");
    return out[0] == in[0] && out[1] == in[1];
}

/* SSE across a sleep that a signal interrupts: xmm8 holds a value through nanosleep. */
static int sse_survives_sleep(uint64_t seed, long ns) {
    uint64_t in[2] = {seed, seed ^ 0x77}, out[2];
    struct timespec ts = {0, ns};
    __asm__ volatile(
        "movdqu (%[in]), %%xmm8\n"
        "mov $35, %%eax\n" /* nanosleep */
        "mov %[ts], %%rdi\n"
        "xor %%esi, %%esi\n"
        "syscall\n"
        "movdqu %%xmm8, (%[out])\n"
        :
        : [in] "r"(in), [out] "r"(out), [ts] "r"(&ts)
        : "rax", "rcx", "rdx", "rdi", "rsi", "r11", "xmm8", "memory");
    return out[0] == in[0] && out[1] == in[1];
}

/* ---- signals to threads: the handler runs on the target thread, with its TLS; it clobbers
   SSE registers, which rt_sigreturn must restore ---- */
static volatile long signals_seen;

static void on_usr1(int sig) {
    (void)sig;
    if (tls_tid != 0 && gettid_() != tls_tid) fail("handler ran on tid %ld, TLS says %ld", (long)gettid_(), (long)tls_tid);
    __asm__ volatile("pxor %%xmm8, %%xmm8\npxor %%xmm9, %%xmm9\npxor %%xmm15, %%xmm15" ::: "xmm8", "xmm9", "xmm15");
    __atomic_add_fetch(&signals_seen, 1, __ATOMIC_RELAXED);
}

/* ---- the main thread is a server: clients post a request and wait for the answer ---- */
struct request {
    long value;
    long answer;
    int done;
    pthread_cond_t cv;
    struct request *next;
};

static pthread_mutex_t q_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cv = PTHREAD_COND_INITIALIZER;
static struct request *queue_head;
static int workers_left;

static long ask_main(long v) {
    struct request *r = calloc(1, sizeof *r);
    if (!r) { fail("calloc failed", 0, 0); return -1; }
    r->value = v;
    pthread_cond_init(&r->cv, NULL);
    pthread_mutex_lock(&q_mu);
    r->next = queue_head;
    queue_head = r;
    pthread_cond_signal(&q_cv);
    while (!r->done) pthread_cond_wait(&r->cv, &q_mu);
    pthread_mutex_unlock(&q_mu);
    long a = r->answer;
    pthread_cond_destroy(&r->cv);
    free(r);
    return a;
}

static void serve_until_workers_done(void) {
    set_identity();
    uint64_t seed = 0x3a17;
    pthread_mutex_lock(&q_mu);
    for (;;) {
        if (!sse_survives_syscall(++seed)) fail("xmm lost across a syscall in the main thread", 0, 0);
        while (queue_head) {
            struct request *r = queue_head;
            queue_head = r->next;
            r->answer = r->value * 2 + 1;
            r->done = 1;
            pthread_cond_signal(&r->cv);
        }
        if (workers_left == 0) break;
        pthread_cond_wait(&q_cv, &q_mu);
    }
    pthread_mutex_unlock(&q_mu);
    check_identity("main");
}

/* ---- malloc churn: blocks of varied sizes, filled with a pattern and checked before free ---- */
static void churn(uint64_t seed, int n) {
    void *blocks[16];
    size_t sizes[16];
    for (int i = 0; i < 16; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        sizes[i] = 16 + (seed >> 33) % (i % 4 == 0 ? 200000 : 2000);
        blocks[i] = malloc(sizes[i]);
        if (!blocks[i]) { fail("malloc(%ld) failed", (long)sizes[i], 0); return; }
        memset(blocks[i], (int)(i + n) & 0xff, sizes[i]);
    }
    for (int i = 15; i >= 0; i--) {
        unsigned char *p = blocks[i];
        unsigned char want = (unsigned char)((i + n) & 0xff);
        if (p[0] != want || p[sizes[i] / 2] != want || p[sizes[i] - 1] != want)
            fail("heap block of %ld bytes lost its contents (tid %ld)", (long)sizes[i], (long)gettid_());
        free(p);
    }
}

/* ---- a short-lived client thread ---- */
struct client_arg {
    long n;
    pid_t parent_tid;
};

static void *client(void *p) {
    struct client_arg *a = p;
    set_identity();
    if (tls_tid == a->parent_tid || tls_tid == getpid()) fail("new thread has tid %ld of its creator %ld", (long)tls_tid, (long)a->parent_tid);
    uint64_t seed = (uint64_t)tls_tid * 0x9e3779b97f4a7c15ULL;
    if (!sse_survives_syscall(seed)) fail("xmm lost across a syscall in tid %ld", (long)tls_tid, 0);
    churn(seed, (int)a->n);
    long answer = ask_main(a->n);
    if (answer != a->n * 2 + 1) fail("main answered %ld to %ld", answer, a->n);
    if (!sse_survives_spin(seed ^ 0xabc, 20000)) fail("xmm lost while spinning in tid %ld", (long)tls_tid, 0);
    check_identity("client");
    return (void *)(a->n + 7);
}

/* A thread that signals its creator (asleep in sse_survives_sleep) and ends at once, with other
   values in its own SSE registers: the creator's registers must come back intact. */
static void *kicker(void *p) {
    pid_t target = (pid_t)(long)p;
    struct timespec d = {0, 3 * 1000 * 1000};
    nanosleep(&d, NULL);
    uint64_t junk[2] = {0xdeadbeefdeadbeefULL, 0xbadc0ffee0ddf00dULL};
    __asm__ volatile("movdqu (%0), %%xmm8" : : "r"(junk) : "xmm8");
    syscall(SYS_tgkill, getpid(), target, SIGUSR1);
    return NULL;
}

static void signal_while_sleeping(uint64_t seed) {
    pthread_t k;
    if (pthread_create(&k, NULL, kicker, (void *)(long)tls_tid) != 0) { fail("pthread_create kicker", 0, 0); return; }
    if (!sse_survives_sleep(seed, 40 * 1000 * 1000)) fail("xmm lost across a signal in tid %ld", (long)tls_tid, 0);
    pthread_join(k, NULL);
}

/* ---- a worker: starts short-lived clients one after another, some with tiny stacks that it
   then advises away, and signals them ---- */
struct worker_arg {
    int rounds;
    int index;
    volatile int *stop;
};

static void *worker(void *p) {
    struct worker_arg *w = p;
    set_identity();
    uint64_t seed = (uint64_t)tls_tid * 0x51ed27ULL;
    for (int i = 0; i < w->rounds && !*w->stop && !failed; i++) {
        struct client_arg a = {w->index * 100000 + i, tls_tid};
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        void *own_stack = NULL;
        size_t stack_size = 64 * 1024;
        if (i % 3 == 1) {
            own_stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
            if (own_stack == MAP_FAILED) { fail("mmap stack failed", 0, 0); break; }
            pthread_attr_setstack(&attr, own_stack, stack_size);
        }
        int e = pthread_create(&t, &attr, client, &a);
        pthread_attr_destroy(&attr);
        if (e != 0) { fail("pthread_create: %ld", e, 0); break; }
        if (i % 4 == 2) pthread_kill(t, SIGUSR1);
        if (!sse_survives_syscall(seed + i)) fail("xmm lost across a syscall in worker %ld", (long)tls_tid, 0);
        churn(seed + i, i);
        void *r;
        pthread_join(t, &r);
        if ((long)r != a.n + 7) fail("join returned %ld for %ld", (long)r, a.n);
        if (own_stack) {
            /* The thread is gone: its stack is ours again. Drop its pages and reuse it. */
            madvise(own_stack, stack_size, MADV_DONTNEED);
            if (((volatile char *)own_stack)[stack_size - 1] != 0) fail("MADV_DONTNEED left data", 0, 0);
            munmap(own_stack, stack_size);
        }
        if (i % 8 == 5) signal_while_sleeping(seed ^ (uint64_t)i);
        check_identity("worker");
    }
    pthread_mutex_lock(&q_mu);
    workers_left--;
    pthread_cond_signal(&q_cv);
    pthread_mutex_unlock(&q_mu);
    return NULL;
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* Stops the workers when the time budget is spent, so the run stays bounded under load. */
struct timer_arg {
    double budget;
    volatile int *stop;
    volatile int *finished;
};

static void *budget_timer(void *p) {
    struct timer_arg *t = p;
    double start = now_s();
    while (!*t->finished) {
        if (now_s() - start > t->budget) { *t->stop = 1; break; }
        struct timespec d = {0, 20 * 1000 * 1000};
        nanosleep(&d, NULL);
    }
    return NULL;
}

/* The stress runs in a child that fork+exec'd this program: an exec'd program's threads must
   keep their state apart as well as those of a program the kernel started. */
static int run_in_exec_child(char **argv) {
    pid_t pid = fork();
    if (pid < 0) { printf("FAILED: fork\n"); return 1; }
    if (pid == 0) {
        argv[1] = "run";
        execv("/proc/self/exe", argv);
        printf("FAILED: execv: %s\n", strerror(errno));
        _exit(1);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid) { printf("FAILED: waitpid\n"); return 1; }
    if (WIFSIGNALED(st)) { printf("FAILED: killed by signal %d\n", WTERMSIG(st)); return 1; }
    return WEXITSTATUS(st);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2 || strcmp(argv[1], "run") != 0) {
        /* threadstress [start] [workers] [rounds] [budget-seconds]: re-exec as "run". */
        if (argc < 2) { char *a[] = {argv[0], "start", NULL}; return run_in_exec_child(a); }
        return run_in_exec_child(argv);
    }
    int nworkers = argc > 2 ? atoi(argv[2]) : 8;
    int rounds = argc > 3 ? atoi(argv[3]) : 60;
    double budget = argc > 4 ? atof(argv[4]) : 20.0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);

    volatile int stop = 0, finished = 0;
    struct timer_arg ta = {budget, &stop, &finished};
    pthread_t timer;
    pthread_create(&timer, NULL, budget_timer, &ta);

    pthread_t *ws = calloc((size_t)nworkers, sizeof *ws);
    struct worker_arg *wa = calloc((size_t)nworkers, sizeof *wa);
    workers_left = nworkers;
    for (int i = 0; i < nworkers; i++) {
        wa[i] = (struct worker_arg){rounds, i, &stop};
        if (pthread_create(&ws[i], NULL, worker, &wa[i]) != 0) { fail("pthread_create worker", 0, 0); return 1; }
    }
    serve_until_workers_done();
    for (int i = 0; i < nworkers; i++) pthread_join(ws[i], NULL);
    finished = 1;
    pthread_join(timer, NULL);
    churn(42, 1);
    check_identity("main at end");
    free(ws);
    free(wa);
    if (failed) {
        printf("FAILED: %s\n", first_failure);
        return 1;
    }
    printf("ok\n");
    return 0;
}

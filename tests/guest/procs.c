/* Processes: fork, exit statuses, wait4/waitpid/waitid corner cases, stop/continue reporting,
   vfork, execve errors, SIGCHLD, signal masks across fork, EINTR vs SA_RESTART, sigsuspend,
   sigtimedwait, pipes. Output is compared with the same program run natively. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int chld_count, usr1_count;
static void on_chld(int s) { (void)s; chld_count++; }
static void on_usr1(int s) { (void)s; usr1_count++; }
static void msleep(int ms) { struct timespec t = {0, ms * 1000000L}; nanosleep(&t, NULL); }

static void report(const char *what, int st) {
    if (WIFEXITED(st)) printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st)) printf("%s: killed by %d%s\n", what, WTERMSIG(st), WCOREDUMP(st) ? " (core)" : "");
    else if (WIFSTOPPED(st)) printf("%s: stopped by %d\n", what, WSTOPSIG(st));
    else if (WIFCONTINUED(st)) printf("%s: continued\n", what);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int st;
    /* exit codes and signals */
    for (int code = 0; code < 3; code++) {
        pid_t p = fork();
        if (p == 0) _exit(code * 10);
        waitpid(p, &st, 0);
        report("exit", st);
    }
    pid_t p = fork();
    if (p == 0) { raise(SIGTERM); _exit(99); }
    waitpid(p, &st, 0); report("raise TERM", st);
    p = fork();
    if (p == 0) { abort(); }
    waitpid(p, &st, 0); report("abort", st);
    p = fork();
    if (p == 0) { volatile int *z = 0; *z = 1; _exit(1); }
    waitpid(p, &st, 0); report("segv", st);
    /* WNOHANG, ECHILD, specific pids */
    p = fork();
    if (p == 0) { msleep(100); _exit(5); }
    printf("wnohang: %d\n", waitpid(p, &st, WNOHANG));
    waitpid(p, &st, 0); report("after wnohang", st);
    errno = 0;
    int w = waitpid(-1, &st, 0);
    printf("echild: %d %s\n", w, errno == ECHILD ? "ECHILD" : "?");
    pid_t a = fork(); if (a == 0) { msleep(60); _exit(1); }
    pid_t b = fork(); if (b == 0) { _exit(2); }
    waitpid(a, &st, 0); report("first a", st);
    waitpid(b, &st, 0); report("then b", st);
    /* waitid */
    p = fork(); if (p == 0) _exit(7);
    siginfo_t si; memset(&si, 0, sizeof si);
    waitid(P_PID, p, &si, WEXITED);
    printf("waitid: code=%d status=%d pid_ok=%d\n", si.si_code, si.si_status, si.si_pid == p);
    /* stop and continue */
    p = fork();
    if (p == 0) { raise(SIGSTOP); _exit(3); }
    waitpid(p, &st, WUNTRACED); report("untraced", st);
    kill(p, SIGCONT);
    waitpid(p, &st, WCONTINUED); report("wcontinued", st);
    waitpid(p, &st, 0); report("after continue", st);
    /* SIGCHLD */
    signal(SIGCHLD, on_chld);
    for (int i = 0; i < 3; i++) { p = fork(); if (p == 0) _exit(0); waitpid(p, &st, 0); }
    printf("sigchld >= 1: %d\n", chld_count >= 1);
    signal(SIGCHLD, SIG_DFL);
    /* vfork */
    volatile int shared = 1;
    p = vfork();
    if (p == 0) { shared = 2; _exit(4); }
    waitpid(p, &st, 0); report("vfork", st);
    printf("vfork shares memory: %d\n", shared == 2);
    /* execve errors */
    errno = 0; execl("/nonexistent/prog", "x", (char *)0); printf("execve enoent: %s\n", strerror(errno));
    int fd = open("/tmp/procs-noexec", O_CREAT | O_WRONLY | O_TRUNC, 0644); write(fd, "x\n", 2); close(fd);
    errno = 0; execl("/tmp/procs-noexec", "x", (char *)0); printf("execve eacces: %s\n", strerror(errno));
    chmod("/tmp/procs-noexec", 0755);
    p = fork();
    if (p == 0) { execl("/tmp/procs-noexec", "x", (char *)0); printf("execve garbage: %s\n", strerror(errno)); _exit(0); }
    waitpid(p, &st, 0);
    unlink("/tmp/procs-noexec");
    /* mask inherited, pending not */
    sigset_t set; sigemptyset(&set); sigaddset(&set, SIGUSR1);
    signal(SIGUSR1, on_usr1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    raise(SIGUSR1);
    p = fork();
    if (p == 0) {
        sigset_t cur, pend; sigprocmask(SIG_BLOCK, NULL, &cur); sigpending(&pend);
        printf("child mask has usr1: %d, pending usr1: %d\n", sigismember(&cur, SIGUSR1), sigismember(&pend, SIGUSR1));
        _exit(0);
    }
    waitpid(p, &st, 0);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    printf("parent got usr1: %d\n", usr1_count);
    /* pipes + EINTR vs SA_RESTART */
    int fds[2];
    for (int restart = 0; restart < 2; restart++) {
        pipe(fds);
        struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_handler = on_usr1; sa.sa_flags = restart ? SA_RESTART : 0;
        sigaction(SIGUSR1, &sa, NULL);
        pid_t parent = getpid();
        p = fork();
        if (p == 0) { msleep(50); kill(parent, SIGUSR1); msleep(50); write(fds[1], "data", 4); _exit(0); }
        char buf[8] = {0};
        errno = 0;
        ssize_t n = read(fds[0], buf, sizeof buf - 1);
        printf("read with%s SA_RESTART: %zd %s\n", restart ? "" : "out", n, n < 0 ? strerror(errno) : buf);
        waitpid(p, &st, 0);
        close(fds[0]); close(fds[1]);
    }
    /* a pipeline of processes */
    pipe(fds);
    p = fork();
    if (p == 0) { close(fds[0]); for (int i = 0; i < 1000; i++) dprintf(fds[1], "line %d\n", i); _exit(0); }
    close(fds[1]);
    long total = 0; char buf[4096]; ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0) total += n;
    printf("pipe total %ld, eof %zd\n", total, n);
    waitpid(p, &st, 0);
    /* EPIPE and SIGPIPE */
    pipe(fds);
    close(fds[0]);
    signal(SIGPIPE, SIG_IGN);
    errno = 0;
    ssize_t wr = write(fds[1], "x", 1);
    printf("write to closed pipe: %zd %s\n", wr, strerror(errno));
    signal(SIGPIPE, SIG_DFL);
    p = fork();
    if (p == 0) { write(fds[1], "x", 1); _exit(0); }
    waitpid(p, &st, 0); report("sigpipe", st);
    close(fds[1]);
    /* sigsuspend and sigtimedwait */
    sigprocmask(SIG_BLOCK, &set, NULL);
    pid_t parent = getpid();
    p = fork();
    if (p == 0) { msleep(30); kill(parent, SIGUSR1); _exit(0); }
    sigset_t empty; sigemptyset(&empty);
    usr1_count = 0;
    int r = sigsuspend(&empty);
    printf("sigsuspend: %d %s count=%d\n", r, strerror(errno), usr1_count);
    waitpid(p, &st, 0);
    p = fork();
    if (p == 0) { msleep(30); kill(parent, SIGUSR1); _exit(0); }
    siginfo_t info;
    int sig = sigwaitinfo(&set, &info);
    printf("sigwaitinfo: %d from child %d\n", sig, info.si_pid == p);
    waitpid(p, &st, 0);
    struct timespec ts = {0, 20000000};
    errno = 0;
    int tw = sigtimedwait(&set, &info, &ts);
    printf("sigtimedwait timeout: %d %s\n", tw, strerror(errno));
    return 0;
}

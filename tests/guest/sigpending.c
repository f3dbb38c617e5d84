/* RLIMIT_SIGPENDING compared with Linux: as an unprivileged user with a limit of 3, queued
 * real-time signals (sigqueue) fail with EAGAIN once 3 are pending; standard signals and
 * kill() still succeed; after the queue drains sigqueue works again. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define R(expr) do { errno = 0; long _r = (long)(expr); printf("%-45s = %ld %s\n", #expr, _r, _r < 0 ? strerror(errno) : ""); } while (0)

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    pid_t c = fork();
    if (c == 0) {
        struct rlimit rl = {3, 3};
        R(setrlimit(RLIMIT_SIGPENDING, &rl));
        if (setresuid(54321, 54321, 54321)) _exit(1);
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGRTMIN);
        sigaddset(&s, SIGRTMIN + 1);
        sigaddset(&s, SIGUSR1);
        sigprocmask(SIG_BLOCK, &s, NULL);
        union sigval v = {.sival_int = 7};
        for (int i = 0; i < 5; i++) R(sigqueue(getpid(), SIGRTMIN, v));
        R(sigqueue(getpid(), SIGUSR1, v));
        R(kill(getpid(), SIGRTMIN + 1));
        struct timespec zero = {0, 0};
        int n = 0, sig;
        while ((sig = sigtimedwait(&s, NULL, &zero)) > 0) {
            printf("took %d\n", sig == SIGUSR1 ? 0 : sig - SIGRTMIN + 1);
            n++;
        }
        printf("drained %d\n", n);
        R(sigqueue(getpid(), SIGRTMIN, v));
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    printf("child exit %d\n", WEXITSTATUS(st));
    return 0;
}

/* A fork bomb in a child process group: `while (1) fork();`. umbra's task cap must make
   fork fail with EAGAIN (or ENOMEM) and stay responsive; after a second the parent kills the
   group, reaps everything (as pid 1 it inherits the orphans) and checks that fork works
   again. Run only under umbra (never natively: it would exhaust the host). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int bomb_ms = argc > 1 ? atoi(argv[1]) : 1000;
    if (getpid() != 1) prctl(PR_SET_CHILD_SUBREAPER, 1); /* never run natively, but be safe */
    int pfd[2];
    if (pipe2(pfd, O_NONBLOCK)) return 1;
    pid_t leader = fork();
    if (leader == 0) {
        setpgid(0, 0);
        close(pfd[0]);
        for (;;) {
            pid_t p = fork();
            if (p < 0) {
                char c = errno == EAGAIN ? 'A' : errno == ENOMEM ? 'M' : '?';
                if (write(pfd[1], &c, 1) < 0) { /* pipe full: fine */ }
                sched_yield();
            }
        }
    }
    close(pfd[1]);
    setpgid(leader, leader);
    long start = now_ms();
    /* Stay responsive: this loop keeps running while the bomb goes off, until fork has failed
       (the pipe has a byte) and at least bomb_ms passed, or 60 s. */
    int ticks = 0;
    long last = start, max_gap = 0;
    char first_failure = 0;
    for (;;) {
        struct timespec t = {0, 50 * 1000000L};
        nanosleep(&t, NULL);
        long now = now_ms();
        if (now - last > max_gap) max_gap = now - last;
        last = now;
        ticks++;
        if (!first_failure && read(pfd[0], &first_failure, 1) != 1) first_failure = 0;
        if ((first_failure && now - start >= bomb_ms) || now - start > 60000) break;
    }
    printf("parent ran during the bomb (no stall over 20 s): %d\n", max_gap < 20000);
    printf("fork failed with EAGAIN/ENOMEM: %d\n", first_failure == 'A' || first_failure == 'M');
    long killed_at = now_ms();
    kill(-leader, SIGKILL);
    long reaped = 0;
    for (;;) {
        pid_t w = wait(NULL);
        if (w > 0) { reaped++; continue; }
        if (errno == EINTR) continue;
        break;
    }
    int echild = errno == ECHILD;
    long reaped_at = now_ms();
    printf("reaped many: %d (errno ECHILD=%d)\n", reaped > 10, echild);
    long eagain = 0, enomem = 0, other = 0;
    char buf[4096];
    ssize_t n;
    while ((n = read(pfd[0], buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == 'A') eagain++;
            else if (buf[i] == 'M') enomem++;
            else other++;
        }
    printf("other fork errors: %ld\n", other);
    fprintf(stderr, "bomb: reaped %ld, EAGAIN %ld, ENOMEM %ld; parent: %d ticks, longest stall %ld ms; bomb %ld ms, reaping %ld ms\n",
            reaped, eagain, enomem, ticks, max_gap, killed_at - start, reaped_at - killed_at);
    /* fork works again */
    pid_t c = fork();
    if (c == 0) _exit(7);
    int st = 0;
    waitpid(c, &st, 0);
    printf("fork after the bomb: exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    errno = 0;
    int kr = kill(-leader, 0);
    int esrch = errno == ESRCH;
    printf("kill of the group: %d errno ESRCH=%d\n", kr, esrch);
    return 0;
}

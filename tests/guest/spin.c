/* CPU-bound loops for the scheduler tests (init/tests/sched.rs).
 *
 *   spin SECONDS NICE_A NICE_B
 *
 * Forks two children that wait on a pipe until both exist, then each sets its nice value
 * (setpriority) and counts chunks of busy work until SECONDS of wall time have passed since
 * the start signal. Each child sends its count back over a pipe; the parent prints
 * "a=COUNT b=COUNT" and the children's CPU times in milliseconds ("cpu_a=MS cpu_b=MS"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* About a millisecond of work that the compiler cannot remove. */
static void chunk(void) {
    for (volatile unsigned i = 0; i < 200000; i++) {
    }
}

static void child(int go_fd, int out_fd, double seconds, int nice) {
    char c;
    if (setpriority(PRIO_PROCESS, 0, nice) != 0) {
        perror("setpriority");
        _exit(2);
    }
    if (read(go_fd, &c, 1) != 0) { /* EOF: the parent closed the start pipe */
        _exit(2);
    }
    double end = now() + seconds;
    unsigned long count = 0;
    while (now() < end) {
        for (int k = 0; k < 4; k++) {
            chunk();
        }
        count++;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    unsigned long cpu_ms = ru.ru_utime.tv_sec * 1000 + ru.ru_utime.tv_usec / 1000 + ru.ru_stime.tv_sec * 1000 +
                           ru.ru_stime.tv_usec / 1000;
    unsigned long msg[2] = {count, cpu_ms};
    if (write(out_fd, msg, sizeof msg) != sizeof msg) {
        _exit(2);
    }
    _exit(0);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: spin SECONDS NICE_A NICE_B\n");
        return 2;
    }
    double seconds = atof(argv[1]);
    int nices[2] = {atoi(argv[2]), atoi(argv[3])};
    int go[2], out[2][2];
    if (pipe(go) != 0 || pipe(out[0]) != 0 || pipe(out[1]) != 0) {
        perror("pipe");
        return 2;
    }
    pid_t pids[2];
    for (int i = 0; i < 2; i++) {
        pids[i] = fork();
        if (pids[i] < 0) {
            perror("fork");
            return 2;
        }
        if (pids[i] == 0) {
            close(go[1]);
            child(go[0], out[i][1], seconds, nices[i]);
        }
    }
    close(go[0]);
    close(go[1]); /* both children start now */
    unsigned long res[2][2];
    for (int i = 0; i < 2; i++) {
        if (read(out[i][0], res[i], sizeof res[i]) != sizeof res[i]) {
            fprintf(stderr, "child %d sent no result\n", i);
            return 2;
        }
    }
    for (int i = 0; i < 2; i++) {
        int st;
        waitpid(pids[i], &st, 0);
    }
    printf("a=%lu b=%lu cpu_a=%lu cpu_b=%lu\n", res[0][0], res[1][0], res[0][1], res[1][1]);
    return 0;
}

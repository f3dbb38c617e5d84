/* Many processes forking at once: in each wave the parent forks children that each fork a
   grandchild, and all of them sleep on one futex in shared memory until the wave is released,
   so hundreds of address spaces are alive together (most need a new stub: the pool of emptied
   stubs holds only a few). Every fork must succeed. Prints "ok" and exits 0; otherwise prints
   what failed and exits 1. Bounded: no new wave starts once the time budget is spent.
   Usage: forkstress [children per wave] [waves] [budget-seconds] */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile uint32_t *release_word;

static void wait_for_release(void) {
    while (__atomic_load_n(release_word, __ATOMIC_ACQUIRE) == 0)
        syscall(SYS_futex, release_word, FUTEX_WAIT, 0, NULL, NULL, 0);
}

/* A child: forks a grandchild, both wait for the release; exit 0 only if all went well. */
static void child(void) {
    pid_t g = fork();
    if (g < 0) _exit(2);
    wait_for_release();
    if (g == 0) _exit(0);
    int st;
    if (waitpid(g, &st, 0) != g || !WIFEXITED(st) || WEXITSTATUS(st) != 0) _exit(3);
    _exit(0);
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* One wave; 0 if every fork and every child succeeded. */
static int wave(int n, int index) {
    *release_word = 0;
    pid_t *kids = calloc((size_t)n, sizeof *kids);
    int forked = 0, bad = 0;
    for (; forked < n; forked++) {
        pid_t p = fork();
        if (p < 0) {
            printf("FAILED: wave %d: fork %d: %s\n", index, forked, strerror(errno));
            bad = 1;
            break;
        }
        if (p == 0) child();
        kids[forked] = p;
    }
    __atomic_store_n(release_word, 1, __ATOMIC_RELEASE);
    syscall(SYS_futex, release_word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
    for (int i = 0; i < forked; i++) {
        int st;
        if (waitpid(kids[i], &st, 0) != kids[i]) {
            printf("FAILED: wave %d: waitpid: %s\n", index, strerror(errno));
            bad = 1;
        } else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            if (!bad) printf("FAILED: wave %d: a child ended with status %#x (2: its fork failed)\n", index, st);
            bad = 1;
        }
    }
    free(kids);
    return bad;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 200;
    int waves = argc > 2 ? atoi(argv[2]) : 5;
    double budget = argc > 3 ? atof(argv[3]) : 20.0;
    setvbuf(stdout, NULL, _IONBF, 0);
    release_word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (release_word == MAP_FAILED) { printf("FAILED: mmap\n"); return 1; }
    double start = now_s();
    for (int w = 0; w < waves && now_s() - start < budget; w++)
        if (wave(n, w) != 0) return 1;
    printf("ok\n");
    return 0;
}

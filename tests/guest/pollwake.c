/* poll over N idle pipes plus one that becomes ready: how long from the write to poll's return.
 * The child writes to the last pipe after the parent has blocked in poll; both read CLOCK_MONOTONIC
 * and the child leaves its timestamp in shared memory. Prints the median wake latency in
 * microseconds for N = 1 and N = 1000, and "ok" if both polls reported exactly the right fd. */
#define _GNU_SOURCE
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

/* One round: returns the latency in ns, or -1 if poll reported the wrong thing. */
static long long round_trip(int n, int (*fds)[2], struct pollfd *p, volatile long long *stamp) {
    pid_t c = fork();
    if (c == 0) {
        usleep(20000);
        *stamp = now_ns();
        if (write(fds[n - 1][1], "x", 1) != 1) _exit(1);
        _exit(0);
    }
    for (int i = 0; i < n; i++) { p[i].fd = fds[i][0]; p[i].events = POLLIN; p[i].revents = 0; }
    int r = poll(p, n, 10000);
    long long t = now_ns();
    int bad = r != 1 || p[n - 1].revents != POLLIN;
    for (int i = 0; i < n - 1; i++) bad |= p[i].revents != 0;
    char ch;
    if (read(fds[n - 1][0], &ch, 1) != 1) bad = 1;
    waitpid(c, NULL, 0);
    return bad ? -1 : t - *stamp;
}

static long long median_latency(int n, int (*fds)[2], volatile long long *stamp) {
    enum { ROUNDS = 15 };
    long long lat[ROUNDS];
    struct pollfd *p = calloc(n, sizeof *p);
    for (int k = 0; k < ROUNDS; k++) {
        lat[k] = round_trip(n, fds, p, stamp);
        if (lat[k] < 0) return -1;
    }
    free(p);
    qsort(lat, ROUNDS, sizeof lat[0], cmp);
    return lat[ROUNDS / 2];
}

int main(void) {
    struct rlimit rl = {4096, 4096};
    setrlimit(RLIMIT_NOFILE, &rl);
    enum { N = 1000 };
    static int fds[N][2];
    for (int i = 0; i < N; i++)
        if (pipe(fds[i]) < 0) { perror("pipe"); return 1; }
    volatile long long *stamp = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    long long one = median_latency(1, &fds[N - 1], stamp);
    long long many = median_latency(N, fds, stamp);
    if (one < 0 || many < 0) { printf("wrong poll result\n"); return 1; }
    printf("latency_us 1=%lld %d=%lld\n", one / 1000, N, many / 1000);
    printf("ok\n");
    return 0;
}

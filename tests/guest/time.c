/* Clocks: realtime near the host's (passed as argv[1]), monotonic increasing, nanosleep. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
int main(int argc, char **argv) {
    long host = argc > 1 ? atol(argv[1]) : 0;
    struct timespec a, b, r;
    clock_gettime(CLOCK_REALTIME, &r);
    printf("realtime_close=%d\n", labs(r.tv_sec - host) < 30);
    clock_gettime(CLOCK_MONOTONIC, &a);
    struct timespec d = {0, 20 * 1000 * 1000};
    nanosleep(&d, NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    printf("slept_ok=%d\n", ms >= 19 && ms < 2000);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    printf("tod_close=%d\n", labs(tv.tv_sec - host) < 30);
    printf("time_close=%d\n", labs(time(NULL) - host) < 30);
    printf("bad_clock=%d\n", clock_gettime(12345, &a));
    return 0;
}

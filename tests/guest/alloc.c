// Allocates and touches N MiB (argv[1]), says so, then sleeps argv[2] seconds if given: the
// out-of-memory tests run it past --mem.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
    size_t mb = argc > 1 ? atol(argv[1]) : 1024;
    for (size_t i = 0; i < mb; i++) {
        char *p = malloc(1 << 20);
        if (!p) { printf("malloc failed at %zu MiB\n", i); return 1; }
        memset(p, 1, 1 << 20);
    }
    printf("allocated %zu MiB\n", mb);
    fflush(stdout);
    if (argc > 2) sleep(atoi(argv[2]));
    return 0;
}

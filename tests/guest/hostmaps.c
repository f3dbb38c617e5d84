/* Host resources stay bounded whatever the guest does (hardening issue, part 3):
 *   hostmaps maps    100 000 one-page mappings (alternating protections, so none merge):
 *                    mmap fails with ENOMEM at vm.max_map_count, every mapping made keeps its data
 *   hostmaps cow     300 MiB filled, fork, the child writes every other page: its pages are
 *                    scattered over frames (more host mappings than the host allows); all data right
 *   hostmaps hold N  N processes, 20 000 open files and 60 000 mappings at once, then "holding"
 *                    and a pause of 3 s (the test counts umbra's own host fds meanwhile) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096L

static long many_maps(long n, char ***out) {
    char **p = calloc(n, sizeof *p);
    long i;
    for (i = 0; i < n; i++) {
        int prot = (i & 1) ? PROT_READ | PROT_WRITE : PROT_READ;
        p[i] = mmap(NULL, PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p[i] == MAP_FAILED) break;
        if (prot & PROT_WRITE) p[i][0] = (char)i; else (void)*(volatile char *)p[i];
    }
    *out = p;
    return i;
}

static int maps(void) {
    char **p;
    long n = many_maps(100000, &p);
    int err = errno;
    long bad = 0;
    for (long i = 0; i < n; i++)
        if ((i & 1) ? p[i][0] != (char)i : p[i][0] != 0) bad++;
    printf("mappings %ld %s bad %ld\n", n, n < 100000 ? strerror(err) : "all", bad);
    for (long i = 0; i < n; i++) munmap(p[i], PAGE);
    char *q = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("after munmap %s\n", q == MAP_FAILED ? strerror(errno) : (q[5] = 1, "ok"));
    return 0;
}

static int cow(void) {
    long pages = 300L * 256;
    long *m = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) { perror("mmap"); return 1; }
    for (long i = 0; i < pages; i++) m[i * PAGE / 8] = i;
    pid_t c = fork();
    if (c == 0) {
        for (long i = 0; i < pages; i += 2) m[i * PAGE / 8] = -i;
        long bad = 0;
        for (long i = 0; i < pages; i++) bad += m[i * PAGE / 8] != ((i & 1) ? i : -i);
        _exit(bad ? 1 : 0);
    }
    int st;
    waitpid(c, &st, 0);
    long bad = 0;
    for (long i = 0; i < pages; i++) bad += m[i * PAGE / 8] != i;
    printf("cow child %s parent bad %ld\n", WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "ok" : "FAILED", bad);
    return 0;
}

static int hold(int procs) {
    int pfd[2];
    if (pipe(pfd)) { perror("pipe"); return 1; }
    int made = 0;
    for (int i = 0; i < procs; i++) {
        pid_t c = fork();
        if (c < 0) { printf("fork %d: %s\n", i, strerror(errno)); break; }
        if (c == 0) { char b; close(pfd[1]); read(pfd[0], &b, 1); _exit(0); }
        made++;
    }
    struct rlimit r = { 20010, 20010 };
    setrlimit(RLIMIT_NOFILE, &r);
    int fds = 0;
    while (fds < 20000 && open("/dev/null", O_RDONLY) >= 0) fds++;
    char **p;
    long n = many_maps(60000, &p);
    printf("holding procs %d fds %d maps %ld\n", made, fds, n);
    fflush(stdout);
    sleep(3);
    close(pfd[1]);
    while (wait(NULL) > 0) {}
    printf("released\n");
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "maps")) return maps();
    if (argc > 1 && !strcmp(argv[1], "cow")) return cow();
    if (argc > 1 && !strcmp(argv[1], "hold")) return hold(argc > 2 ? atoi(argv[2]) : 1000);
    fprintf(stderr, "usage: hostmaps maps|cow|hold [N]\n");
    return 2;
}

/* A large static program: 8 MiB of read-only data that every run reads in full. Run twice at
 * once, its file pages should be in memory once (Linux maps them from the page cache).
 *
 *   bigtext PROG      start two instances of PROG (a copy of this program not run before),
 *                     print how much free memory each one took and how much the page cache
 *                     grew, and the mappings of the first instance that name the program
 *   bigtext child FD  read all the data, write one byte to FD, wait to be killed */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define BIG (8 << 20)
const unsigned char big[BIG] = {1, [4096] = 2, [BIG - 1] = 3};

static long meminfo_kb(const char *field) {
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256], fmt[64];
    long kb = -1;
    snprintf(fmt, sizeof fmt, "%s: %%ld kB", field);
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, fmt, &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

static pid_t start(const char *self) {
    int p[2];
    if (pipe(p) != 0)
        exit(2);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        char fd[16];
        snprintf(fd, sizeof fd, "%d", p[1]);
        execl(self, self, "child", fd, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char c;
    if (read(p[0], &c, 1) != 1)
        exit(3);
    close(p[0]);
    return pid;
}

/* The mappings of `pid` naming the program: permissions and file offset. */
static void show_maps(pid_t pid) {
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/maps", pid);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f)) {
        char perms[8];
        unsigned long lo, hi, off;
        int name = 0;
        if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %n", &lo, &hi, perms, &off, &name) >= 4 && name > 0 && strstr(line + name, "bigdata"))
            printf("maps: %s %08lx\n", perms, off);
    }
    if (f)
        fclose(f);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "child") == 0) {
        unsigned long sum = 0;
        for (long i = 0; i < BIG; i += 1024)
            sum += big[i];
        char c = (char)sum;
        write(atoi(argv[2]), &c, 1);
        for (;;)
            pause();
    }
    if (argc != 2) {
        fprintf(stderr, "usage: bigtext PROG\n");
        return 2;
    }
    long before = meminfo_kb("MemFree"), cached = meminfo_kb("Cached");
    pid_t a = start(argv[1]);
    long after_a = meminfo_kb("MemFree");
    pid_t b = start(argv[1]);
    long after_b = meminfo_kb("MemFree");
    printf("first %ld kB second %ld kB cached %ld kB\n", before - after_a, after_a - after_b, meminfo_kb("Cached") - cached);
    show_maps(a);
    kill(a, SIGKILL);
    kill(b, SIGKILL);
    waitpid(a, NULL, 0);
    waitpid(b, NULL, 0);
    return 0;
}

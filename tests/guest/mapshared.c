/* Stores through a MAP_SHARED file mapping reach the file: read(2) sees them at once (Linux's
 * page cache is coherent), after msync and after munmap, also when the file's fd was closed
 * before the stores and when a child made them. Two files are left for the host to check
 * after the program (and umbra) exited:
 *   DIR/unmapped.dat  stored through a mapping that was then munmap'ed
 *   DIR/exited.dat    stored through a mapping the program still had when it exited
 * Output names no paths, so it can be compared with a native run.
 *
 *   mapshared DIR
 *   mapshared --synced DIR   store through mappings of DIR/msynced.dat (then msync) and of
 *                            DIR/fsynced.dat (then fsync of another fd), print "synced", sleep */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE (2 * 4096 + 100)

static char dir[4000];

static char *file_path(const char *name) {
    static char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

/* Creates NAME with SIZE bytes ("original" at 0, zeros elsewhere) and maps all of it shared;
 * the fd is closed before returning. */
static char *create_and_map(const char *name) {
    int fd = open(file_path(name), O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, SIZE) < 0 || pwrite(fd, "original", 8, 0) != 8) {
        perror(name);
        exit(1);
    }
    char *m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    close(fd);
    return m;
}

/* Prints what read(2) on a fresh fd returns at `off` (up to `len` bytes, NULs shown as '.'). */
static void show(const char *what, const char *name, off_t off, size_t len) {
    char buf[64] = {0};
    int fd = open(file_path(name), O_RDONLY);
    ssize_t n = pread(fd, buf, len, off);
    close(fd);
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == 0) {
            buf[i] = '.';
        }
    }
    printf("%s: %zd [%.*s]\n", what, n, (int)(n < 0 ? 0 : n), buf);
}

static void store(char *m) {
    memcpy(m, "stored-1", 8);
    memcpy(m + 4096 + 10, "stored-2", 8);
    memcpy(m + 2 * 4096 + 96, "stored-3", 8); /* only "stor" is inside the file */
}

static void show_all(const char *what, const char *name) {
    char label[128];
    snprintf(label, sizeof label, "%s page 0", what);
    show(label, name, 0, 10);
    snprintf(label, sizeof label, "%s page 1", what);
    show(label, name, 4096 + 8, 12);
    snprintf(label, sizeof label, "%s page 2", what);
    show(label, name, 2 * 4096 + 88, 20);
}

/* Stores made durable by msync and by fsync, for a test that SIGKILLs umbra afterwards. */
static int synced(void) {
    char *m = create_and_map("msynced.dat");
    store(m);
    if (msync(m, SIZE, MS_SYNC) < 0) {
        perror("msync");
        return 1;
    }
    m = create_and_map("fsynced.dat");
    store(m);
    int fd = open(file_path("fsynced.dat"), O_RDONLY);
    if (fsync(fd) < 0) {
        perror("fsync");
        return 1;
    }
    printf("synced\n");
    sleep(600);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 3 && strcmp(argv[1], "--synced") == 0) {
        snprintf(dir, sizeof dir, "%s", argv[2]);
        return synced();
    }
    if (argc != 2) {
        fprintf(stderr, "usage: mapshared [--synced] DIR\n");
        return 2;
    }
    snprintf(dir, sizeof dir, "%s", argv[1]);

    char *m = create_and_map("coherent.dat");
    store(m);
    show_all("no msync", "coherent.dat");
    printf("msync: %d\n", msync(m, SIZE, MS_SYNC));
    show_all("msync", "coherent.dat");
    /* write(2) is seen through the mapping. */
    int fd = open(file_path("coherent.dat"), O_WRONLY);
    pwrite(fd, "written", 7, 4096 + 10);
    close(fd);
    printf("mapping sees write(2): [%.8s]\n", m + 4096 + 10);
    printf("munmap: %d\n", munmap(m, SIZE));
    show_all("munmap", "coherent.dat");

    m = create_and_map("child.dat");
    pid_t c = fork();
    if (c == 0) {
        store(m);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    show_all("child's stores", "child.dat");
    printf("parent's mapping sees them: [%.8s]\n", m + 4096 + 10);
    munmap(m, SIZE);

    m = create_and_map("unmapped.dat");
    store(m);
    munmap(m, SIZE);
    show_all("unmapped", "unmapped.dat");

    m = create_and_map("exited.dat");
    store(m);
    printf("done\n");
    return 0; /* exits with exited.dat still mapped */
}

/* One page cache for file data: read(2), write(2), MAP_SHARED and MAP_PRIVATE mappings,
 * sendfile and splice of one file all see the same bytes, in every order; a truncated mapped
 * file gives SIGBUS past its last page and zeros past its end, as on Linux. Output names no
 * paths, so it can be compared with a native run; DIR/a.dat and DIR/b.dat are left for the
 * host to compare too.
 *
 *   pagecache DIR
 *   pagecache --unsynced DIR   write DIR/w.dat with write(2) and DIR/m.dat through a shared
 *                              mapping, never sync, print "written" and sleep (the periodic
 *                              write-back must bring both to the disk)
 *   pagecache --pressure DIR MB  write MB MiB to DIR/big.dat, read it back, fill MB/2 MiB of
 *                              anonymous memory, read the file again: with less guest RAM than
 *                              that, the page cache must give clean pages back and lose no data */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <unistd.h>

#define LEN (3 * 4096 + 123)

static char dir[4000];
static sigjmp_buf jb;
static volatile sig_atomic_t got;

static char *file_path(const char *name) {
    static char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static void on_signal(int sig) {
    got = sig;
    siglongjmp(jb, 1);
}

/* Reads one byte through the mapping: the byte, or -SIGNAL if the access was refused. */
static int touch(volatile char *p) {
    got = 0;
    if (sigsetjmp(jb, 1) == 0)
        return (unsigned char)*p;
    return -got;
}

static void check(const char *what, int ok) {
    printf("%s: %s\n", what, ok ? "ok" : "FAIL");
}

static int read_is(int fd, off_t off, const char *want) {
    char buf[64] = {0};
    size_t n = strlen(want);
    return pread(fd, buf, n, off) == (ssize_t)n && memcmp(buf, want, n) == 0;
}

/* 3 pages and a bit of a pattern only these files hold. */
static void unsynced_pattern(char *buf) {
    for (int i = 0; i < LEN; i++)
        buf[i] = 'A' + (i * 7) % 26;
}

static int unsynced(void) {
    static char buf[LEN];
    unsynced_pattern(buf);
    int fd = open(file_path("w.dat"), O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (write(fd, buf, LEN) != LEN)
        return 1;
    int fm = open(file_path("m.dat"), O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (ftruncate(fm, LEN) != 0)
        return 1;
    char *m = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fm, 0);
    if (m == MAP_FAILED)
        return 1;
    memcpy(m, buf, LEN);
    printf("written\n");
    fflush(stdout);
    sleep(600);
    return 0;
}

static unsigned char pressure_byte(long i) {
    return (unsigned char)(i / 4096 * 31 + i % 251);
}

/* Reads DIR/big.dat back and checks every byte. */
static int verify_big(long len, const char *when) {
    static unsigned char buf[1 << 16];
    int fd = open(file_path("big.dat"), O_RDONLY);
    long off = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        for (ssize_t k = 0; k < n; k++)
            if (buf[k] != pressure_byte(off + k)) {
                printf("%s: byte %ld differs\n", when, off + k);
                return 1;
            }
        off += n;
    }
    if (n < 0)
        printf("%s: read: %s\n", when, strerror(errno));
    close(fd);
    printf("%s: %s\n", when, off == len ? "ok" : "short");
    return off != len;
}

static int pressure(long mb) {
    static unsigned char buf[1 << 16];
    long len = mb << 20;
    int fd = open(file_path("big.dat"), O_CREAT | O_RDWR | O_TRUNC, 0644);
    for (long off = 0; off < len; off += sizeof buf) {
        for (size_t k = 0; k < sizeof buf; k++)
            buf[k] = pressure_byte(off + k);
        if (write(fd, buf, sizeof buf) != sizeof buf) {
            printf("write failed\n");
            return 1;
        }
    }
    close(fd);
    if (verify_big(len, "read after write"))
        return 1;
    size_t anon = (size_t)(mb / 2) << 20;
    char *a = mmap(NULL, anon, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED)
        return 1;
    for (size_t k = 0; k < anon; k += 4096)
        a[k] = 1;
    printf("anonymous memory: ok\n");
    return verify_big(len, "read after the anonymous memory");
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "--pressure") == 0) {
        snprintf(dir, sizeof dir, "%s", argv[2]);
        return pressure(atol(argv[3]));
    }
    if (argc == 3 && strcmp(argv[1], "--unsynced") == 0) {
        snprintf(dir, sizeof dir, "%s", argv[2]);
        return unsynced();
    }
    if (argc != 2) {
        fprintf(stderr, "usage: pagecache DIR\n");
        return 2;
    }
    snprintf(dir, sizeof dir, "%s", argv[1]);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGSEGV, &sa, NULL);

    static char buf[LEN];
    for (int i = 0; i < LEN; i++)
        buf[i] = 'a' + i % 26;
    int fd = open(file_path("a.dat"), O_CREAT | O_RDWR | O_TRUNC, 0644);
    check("write", write(fd, buf, LEN) == LEN);
    char *m = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    check("mmap shared", m != MAP_FAILED);
    check("the mapping sees the earlier write", memcmp(m, buf, LEN) == 0);
    memcpy(m + 4096 + 5, "STORE", 5);
    check("read(2) sees a store at once", read_is(fd, 4096 + 5, "STORE"));
    int fd2 = open(file_path("a.dat"), O_RDONLY);
    check("another open file sees it", read_is(fd2, 4096 + 5, "STORE"));
    check("pwrite", pwrite(fd, "WRITE", 5, 2 * 4096 + 7) == 5);
    check("the mapping sees a later write", memcmp(m + 2 * 4096 + 7, "WRITE", 5) == 0);

    char *p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    check("mmap private", p != MAP_FAILED);
    check("a private mapping sees the file", memcmp(p + 4096 + 5, "STORE", 5) == 0);
    p[0] = 'P';
    check("its store stays private", read_is(fd, 0, "a") && m[0] == 'a');
    check("pwrite to a page it did not store to", pwrite(fd, "LATE", 4, 2 * 4096 + 100) == 4);
    check("the private mapping sees that page's new bytes", memcmp(p + 2 * 4096 + 100, "LATE", 4) == 0);
    check("and keeps its own page", p[0] == 'P');
    memcpy(m + 10, "SHARED", 6);
    check("a shared store into the page it copied is not seen there", p[10] == buf[10]);
    munmap(p, LEN);

    check("msync", msync(m, LEN, MS_SYNC) == 0);
    memcpy(m + 100, "SEND", 4);
    int out = open(file_path("b.dat"), O_CREAT | O_RDWR | O_TRUNC, 0644);
    off_t off = 0;
    check("sendfile", sendfile(out, fd, &off, LEN) == LEN);
    check("sendfile copied the mapping's store", read_is(out, 100, "SEND") && read_is(out, 4096 + 5, "STORE"));
    int pfd[2];
    pipe(pfd);
    loff_t in_off = 4096;
    check("splice", splice(fd, &in_off, pfd[1], NULL, 16, 0) == 16);
    char sp[16];
    check("splice read the cached page", read(pfd[0], sp, 16) == 16 && memcmp(sp + 5, "STORE", 5) == 0);

    check("ftruncate down", ftruncate(fd, 4096 + 10) == 0);
    printf("byte inside the last page: %d\n", touch(m + 4096 + 5));
    printf("byte past the end in the last page: %d\n", touch(m + 4096 + 20));
    printf("byte in the page past the end: %d\n", touch(m + 2 * 4096 + 7));
    check("ftruncate up", ftruncate(fd, 3 * 4096) == 0);
    printf("after growing: %d %d %d\n", touch(m + 4096 + 5), touch(m + 4096 + 20), touch(m + 2 * 4096 + 7));
    check("read past the old end is zeros", read_is(fd, 4096 + 10, "\0\0\0\0"));
    memcpy(m + 2 * 4096 + 1, "GROWN", 5);
    check("msync after growing", msync(m, 3 * 4096, MS_SYNC) == 0);
    check("fsync", fsync(fd) == 0);
    munmap(m, LEN);
    close(fd);
    close(fd2);
    close(out);
    printf("done\n");
    return 0;
}

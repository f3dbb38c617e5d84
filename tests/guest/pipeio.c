// Vectored pipe I/O straight between the pipe and the caller's buffers: readv/writev as one
// operation, packets (O_DIRECT) across iovecs, PIPE_BUF atomicity of writev, faults in the
// middle of a buffer, SIGPIPE with a partial count. Prints what it sees; the test compares the
// output with the same program run natively.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static void show(const char *what, long r) {
    if (r < 0)
        printf("%s = -1 %s\n", what, strerrorname_np(errno));
    else
        printf("%s = %ld\n", what, r);
}

static void on_alarm(int s) {
    (void)s;
    static const char m[] = "blocked: alarm\n";
    write(1, m, sizeof m - 1);
    _exit(3);
}

/* readv of two buffers with less data than both: returns what is there, no second wait. */
static void sec_readv_short(void) {
    int p[2];
    pipe(p);
    write(p[1], "0123456789abcde", 15);
    char a[10], b[10];
    struct iovec iov[2] = {{a, 10}, {b, 10}};
    alarm(5);
    show("readv 15 of 20", readv(p[0], iov, 2));
    printf("a=%.10s b=%.5s\n", a, b);
    write(p[1], "0123456789", 10);
    show("readv exactly first", readv(p[0], iov, 2));
    alarm(0);
    close(p[0]);
    close(p[1]);
}

/* writev pieces land as one write; a reader sees them joined. */
static void sec_writev_join(void) {
    int p[2];
    pipe(p);
    struct iovec iov[3] = {{"abc", 3}, {"", 0}, {"defgh", 5}};
    show("writev 8", writev(p[1], iov, 3));
    char buf[64] = {0};
    show("read joined", read(p[0], buf, sizeof buf));
    printf("got=%s\n", buf);
    close(p[0]);
    close(p[1]);
}

/* Packet mode: one writev is one packet, one readv takes one packet across its buffers. */
static void sec_packets(void) {
    int p[2];
    if (pipe2(p, O_DIRECT) < 0) {
        show("pipe2 O_DIRECT", -1);
        return;
    }
    struct iovec w[2] = {{"hello ", 6}, {"world", 5}};
    show("writev packet 1", writev(p[1], w, 2));
    show("write packet 2", write(p[1], "xyz", 3));
    char a[4], b[20];
    memset(b, 0, sizeof b);
    struct iovec r[2] = {{a, 4}, {b, 20}};
    show("readv packet 1", readv(p[0], r, 2));
    printf("a=%.4s b=%s\n", a, b);
    memset(b, 0, sizeof b);
    show("readv packet 2", readv(p[0], r, 2));
    printf("a=%.3s\n", a);
    /* A packet longer than the reader's buffers: the rest is dropped. */
    show("write long packet", write(p[1], "0123456789", 10));
    char c[4];
    show("read 4 of packet", read(p[0], c, 4));
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    show("read rest (gone)", read(p[0], c, 4));
    close(p[0]);
    close(p[1]);
}

/* A buffer whose second page is unmapped: reads and writes stop at the fault. */
static void sec_faults(void) {
    long pg = sysconf(_SC_PAGESIZE);
    char *m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(m + pg, pg);
    memset(m, 'm', pg);
    int p[2];
    pipe(p);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    show("write page+fault", write(p[1], m, 2 * pg));
    show("write unaligned fault", write(p[1], m + 100, pg));
    show("write all unmapped", write(p[1], m + pg, 10));
    char *big = malloc(4 * pg);
    memset(big, 'b', 4 * pg);
    show("write 2 pages", write(p[1], big, 2 * pg));
    show("read page+fault", read(p[0], m, 2 * pg));
    show("read unaligned fault", read(p[0], m + 100, pg));
    show("read all unmapped", read(p[0], m + pg, 10));
    show("read rest", read(p[0], big, 4 * pg));
    show("read empty", read(p[0], big, 4 * pg));
    struct iovec bad[2] = {{big, 10}, {m + pg, 10}};
    write(p[1], "0123456789ABCDEFGHIJ", 20);
    show("readv second iov unmapped", readv(p[0], bad, 2));
    show("read left", read(p[0], big, 100));
    close(p[0]);
    close(p[1]);
    free(big);
}

/* A writer blocked on a full pipe gets the whole buffer through as the reader drains. */
static void sec_big_write(void) {
    int p[2];
    pipe(p);
    size_t n = 1 << 20;
    pid_t c = fork();
    if (c == 0) {
        close(p[1]);
        char *buf = malloc(65536);
        size_t total = 0, sum = 0;
        ssize_t r;
        while ((r = read(p[0], buf, 65536)) > 0) {
            for (ssize_t i = 0; i < r; i++)
                sum += (unsigned char)buf[i];
            total += r;
        }
        printf("child read %zu sum %zu\n", total, sum);
        fflush(stdout);
        _exit(0);
    }
    close(p[0]);
    char *data = malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (char)(i * 7);
    struct iovec iov[2] = {{data, n / 3}, {data + n / 3, n - n / 3}};
    show("writev 1 MiB", writev(p[1], iov, 2));
    close(p[1]);
    int st;
    waitpid(c, &st, 0);
    free(data);
}

/* The last reader goes away mid-write: the partial count, and SIGPIPE. */
static void sec_epipe(void) {
    signal(SIGPIPE, SIG_IGN);
    int p[2];
    pipe(p);
    close(p[0]);
    show("write no reader", write(p[1], "x", 1));
    struct iovec iov[1] = {{"abc", 3}};
    show("writev no reader", writev(p[1], iov, 1));
    close(p[1]);
    signal(SIGPIPE, SIG_DFL);
    pipe(p);
    pid_t c = fork();
    if (c == 0) {
        close(p[0]);
        char buf[4096];
        memset(buf, 'z', sizeof buf);
        for (;;)
            write(p[1], buf, sizeof buf);
    }
    close(p[1]);
    char buf[100];
    read(p[0], buf, sizeof buf);
    close(p[0]);
    int st;
    waitpid(c, &st, 0);
    printf("writer: signaled=%d sig=%d\n", WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* A file with only ->write: writev is one write per buffer (Linux's do_loop_readv_writev). */
static void sec_partial_file(void) {
    int e = eventfd(0, 0);
    uint64_t v[2] = {3, 4};
    struct iovec iov[2] = {{&v[0], 8}, {&v[1], 8}};
    show("eventfd writev 8+8", writev(e, iov, 2));
    uint64_t got = 0;
    show("eventfd read", read(e, &got, sizeof got));
    printf("counter=%llu\n", (unsigned long long)got);
    close(e);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGALRM, on_alarm);
    sec_readv_short();
    sec_writev_join();
    sec_packets();
    sec_faults();
    sec_big_write();
    sec_partial_file();
    sec_epipe();
    return 0;
}

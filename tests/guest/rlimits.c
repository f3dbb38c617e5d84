/* Resource limits compared with Linux: RLIMIT_FSIZE (a write cut at the limit, then EFBIG with
 * SIGXFSZ; truncate past it), RLIMIT_AS (mmap, brk and mremap refused past it), RLIMIT_NPROC
 * (an unprivileged user cannot fork past it), RLIMIT_NOFILE (EMFILE at the soft limit, EPERM
 * raising the hard one as non-root). Runs in a fresh directory under /tmp. */
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

static volatile int xfsz;
static void on_xfsz(int s) { (void)s; xfsz++; }

static void fsize(const char *dir) {
    char p[128];
    snprintf(p, sizeof p, "%s/f", dir);
    signal(SIGXFSZ, on_xfsz);
    struct rlimit rl = {100, 100};
    setrlimit(RLIMIT_FSIZE, &rl);
    int fd = open(p, O_CREAT | O_RDWR | O_TRUNC, 0644);
    char buf[150];
    memset(buf, 'x', sizeof buf);
    ssize_t a = write(fd, buf, 150);
    errno = 0;
    ssize_t b = write(fd, buf, 10);
    int e = errno;
    printf("fsize: write 150 -> %zd, then %zd errno=%d sigxfsz=%d\n", a, b, e, xfsz);
    errno = 0;
    int t = ftruncate(fd, 1000);
    e = errno;
    printf("fsize: ftruncate past -> %d errno=%d sigxfsz=%d\n", t, e, xfsz);
    printf("fsize: pwrite at 50 -> %zd\n", pwrite(fd, buf, 100, 50));
    printf("fsize: write 0 bytes at the limit -> %zd\n", write(fd, buf, 0));
    close(fd);
    unlink(p);
    rl.rlim_cur = rl.rlim_max = RLIM_INFINITY;
    setrlimit(RLIMIT_FSIZE, &rl);
}

static void as_limit(void) {
    pid_t c = fork();
    if (c == 0) {
        struct rlimit rl = {256 << 20, 256 << 20};
        setrlimit(RLIMIT_AS, &rl);
        errno = 0;
        void *big = mmap(NULL, 512 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        printf("as: mmap 512M -> %s errno=%d\n", big == MAP_FAILED ? "failed" : "ok", errno);
        void *small = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        printf("as: mmap 1M -> %s\n", small == MAP_FAILED ? "failed" : "ok");
        errno = 0;
        void *grown = mremap(small, 1 << 20, 600 << 20, MREMAP_MAYMOVE);
        printf("as: mremap to 600M -> %s errno=%d\n", grown == MAP_FAILED ? "failed" : "ok", errno);
        void *b0 = sbrk(0);
        errno = 0;
        void *b1 = sbrk(400 << 20);
        printf("as: sbrk 400M -> %s errno=%d moved=%d\n", b1 == (void *)-1 ? "failed" : "ok", errno, sbrk(0) != b0);
        fflush(stdout);
        _exit(0);
    }
    waitpid(c, NULL, 0);
}

static void nproc(void) {
    pid_t c = fork();
    if (c == 0) {
        struct rlimit rl = {3, 3};
        setrlimit(RLIMIT_NPROC, &rl);
        if (setgid(65534) || setuid(65534)) { printf("nproc: cannot drop privileges\n"); _exit(1); }
        int ok = 0, fail = 0, err = 0;
        pid_t kids[8];
        for (int i = 0; i < 8; i++) {
            pid_t k = fork();
            if (k == 0) { pause(); _exit(0); }
            if (k > 0) { kids[ok++] = k; } else { fail++; err = errno; }
        }
        printf("nproc: limit 3 as uid 65534: %d forks ok, %d failed errno=%d\n", ok, fail, err);
        for (int i = 0; i < ok; i++) { kill(kids[i], SIGKILL); waitpid(kids[i], NULL, 0); }
        fflush(stdout);
        _exit(0);
    }
    waitpid(c, NULL, 0);
}

static void nofile(void) {
    pid_t c = fork();
    if (c == 0) {
        struct rlimit rl = {8, 16};
        setrlimit(RLIMIT_NOFILE, &rl);
        int n = 0, e = 0;
        for (;;) { int fd = open("/dev/null", O_RDONLY); if (fd < 0) { e = errno; break; } n = fd; }
        printf("nofile: highest fd %d then errno=%d\n", n, e);
        if (setgid(65534) || setuid(65534)) { printf("nofile: cannot drop privileges\n"); _exit(1); }
        rl.rlim_cur = 32; rl.rlim_max = 32;
        errno = 0;
        int r = setrlimit(RLIMIT_NOFILE, &rl);
        printf("nofile: raise hard limit as non-root -> %d errno=%d\n", r, errno);
        fflush(stdout);
        _exit(0);
    }
    waitpid(c, NULL, 0);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    char dir[] = "/tmp/rlimXXXXXX";
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    fsize(dir);
    as_limit();
    nproc();
    nofile();
    rmdir(dir);
    return 0;
}

/* File-descriptor objects and zero-copy calls, compared with Linux: memfd_create and file
 * seals (F_ADD_SEALS/F_GET_SEALS), memfd mappings shared across fork, O_TMPFILE (+ linkat),
 * pidfd_open/pidfd_send_signal/pidfd_getfd and CLONE_PIDFD (clone and clone3), splice, tee,
 * vmsplice, sendfile, copy_file_range and mincore — results and errno of every call, error
 * paths included. Output never contains pids, inode numbers, addresses or times.
 *
 *   fdcalls memfd | seals | share | pidfd | pidfd_epoll | clonepidfd | mincore | vmsplice
 *   fdcalls tmpfile DIR OTHER      O_TMPFILE in DIR (a tmpfs or an ext2/ext4 directory);
 *                                  OTHER is on another filesystem
 *   fdcalls splice DIR             splice/tee with files in DIR
 *   fdcalls sendfile DIR           sendfile to and from files in DIR
 *   fdcalls sockets DIR            sendfile and splice with a unix socket on one side
 *   fdcalls copy DIR OTHER         copy_file_range in DIR; OTHER is on another filesystem */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/sched.h>

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#define PIDFD_NONBLOCK O_NONBLOCK

static const char *ename(int e) {
    if (e == 0) return "OK";
    const char *n = strerrorname_np(e);
    return n ? n : "E?";
}

/* "what: RESULT" with the errno name for a failure. */
static long show(const char *what, long r) {
    if (r < 0) printf("%s: -1 %s\n", what, ename(errno));
    else printf("%s: %ld\n", what, r);
    fflush(stdout);
    return r;
}

#define TRY(expr) show(#expr, (long)(expr))

/* Like show, for calls that return a new descriptor (whose number is not printed). */
static long showfd(const char *what, long r) {
    if (r < 0) printf("%s: -1 %s\n", what, ename(errno));
    else printf("%s: fd\n", what);
    fflush(stdout);
    return r;
}

#define TRYFD(expr) showfd(#expr, (long)(expr))

static int pidfd_open(pid_t pid, unsigned flags) { return syscall(SYS_pidfd_open, pid, flags); }
static int pidfd_send_signal(int fd, int sig, siginfo_t *info, unsigned flags) { return syscall(SYS_pidfd_send_signal, fd, sig, info, flags); }
static int pidfd_getfd(int fd, int target, unsigned flags) { return syscall(SYS_pidfd_getfd, fd, target, flags); }

static void show_link(const char *what, int fd) {
    char p[64], buf[512];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(p, buf, sizeof buf - 1);
    if (n < 0) {
        printf("%s link: %s\n", what, ename(errno));
        return;
    }
    buf[n] = 0;
    printf("%s link: %s\n", what, buf);
}

static void show_stat(const char *what, int fd) {
    struct stat st;
    if (fstat(fd, &st) < 0) {
        printf("%s fstat: %s\n", what, ename(errno));
        return;
    }
    printf("%s fstat: mode=%o nlink=%lu size=%lld blocks=%lld\n", what, st.st_mode, (unsigned long)st.st_nlink,
           (long long)st.st_size, (long long)st.st_blocks);
}

static void show_read(const char *what, int fd, off_t off, size_t n) {
    char buf[256] = {0};
    ssize_t r = pread(fd, buf, n < sizeof buf ? n : sizeof buf - 1, off);
    if (r < 0) printf("%s: %s\n", what, ename(errno));
    else printf("%s: %zd [%.*s]\n", what, r, (int)r, buf);
}

static void report(const char *what, int st) {
    if (WIFEXITED(st)) printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st)) printf("%s: killed by %d\n", what, WTERMSIG(st));
    fflush(stdout);
}

/* ---------------------------------------------------------------------------------------- */
/* memfd_create */

static void sec_memfd(void) {
    int fd = TRYFD(memfd_create("test", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    printf("F_GETFD %d F_GETFL %#x\n", fcntl(fd, F_GETFD), fcntl(fd, F_GETFL));
    show_stat("new", fd);
    show_link("memfd", fd);
    TRY(write(fd, "hello memfd", 11));
    TRY(lseek(fd, 0, SEEK_CUR));
    show_read("pread", fd, 6, 5);
    show_stat("written", fd);
    TRY(ftruncate(fd, 8192));
    show_stat("grown", fd);
    TRY(ftruncate(fd, 3));
    show_read("shrunk", fd, 0, 100);
    TRY(fcntl(fd, F_GET_SEALS));

    char name[300];
    memset(name, 'n', sizeof name);
    name[249] = 0;
    int ok = TRYFD(memfd_create(name, 0));
    close(ok);
    name[249] = 'n';
    name[250] = 0;
    TRYFD(memfd_create(name, 0));
    TRYFD(memfd_create(NULL, 0));
    TRYFD(memfd_create("flags", 0x100));
    TRYFD(memfd_create("flags", MFD_EXEC | MFD_NOEXEC_SEAL));
    int empty = TRYFD(memfd_create("", 0));
    show_link("empty name", empty);
    printf("no CLOEXEC: F_GETFD %d\n", fcntl(empty, F_GETFD));
    TRY(fcntl(empty, F_GET_SEALS));
    TRY(fcntl(empty, F_ADD_SEALS, F_SEAL_WRITE));
    int slash = TRYFD(memfd_create("a/b c", 0));
    show_link("odd name", slash);
    int noexec = TRYFD(memfd_create("noexec", MFD_NOEXEC_SEAL));
    show_stat("noexec", noexec);
    printf("noexec seals %#x\n", fcntl(noexec, F_GET_SEALS));
    TRY(fchmod(noexec, 0755));
    TRY(fchmod(noexec, 0600));
    show_stat("noexec chmod", noexec);

    /* Reopening through /proc/self/fd shares the content. */
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    int again = TRYFD(open(p, O_RDWR));
    TRY(pwrite(again, "XYZ", 3, 0));
    show_read("via first fd", fd, 0, 3);
    int ro = TRYFD(open(p, O_RDONLY));
    TRY(write(ro, "x", 1));
    TRY(fcntl(ro, F_ADD_SEALS, F_SEAL_SHRINK));
    TRY(fcntl(ro, F_GET_SEALS));

    /* The mapping is named after the memfd. */
    char *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    printf("mmap: %s\n", m == MAP_FAILED ? ename(errno) : "OK");
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[512];
    int named = 0;
    while (maps && fgets(line, sizeof line, maps))
        if (strstr(line, "/memfd:test (deleted)")) named = 1;
    if (maps) fclose(maps);
    printf("maps names it: %d\n", named);
    munmap(m, 4096);
}

/* ---------------------------------------------------------------------------------------- */
/* seals */

static void sec_seals(void) {
    int fd = TRYFD(memfd_create("seals", MFD_ALLOW_SEALING));
    TRY(fcntl(fd, F_GET_SEALS));
    TRY(fcntl(fd, F_ADD_SEALS, 0x100));
    TRY(write(fd, "abcdefgh", 8));
    TRY(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
    TRY(fcntl(fd, F_GET_SEALS));
    TRY(ftruncate(fd, 4));
    TRY(ftruncate(fd, 8));
    TRY(ftruncate(fd, 16));
    TRY(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
    TRY(ftruncate(fd, 32));
    TRY(ftruncate(fd, 16));
    TRY(pwrite(fd, "ij", 2, 14));
    TRY(pwrite(fd, "ijk", 3, 14));
    TRY(pwrite(fd, "x", 1, 16));
    TRY(fallocate(fd, 0, 0, 16));
    TRY(fallocate(fd, 0, 8, 16));
    TRY(lseek(fd, 0, SEEK_END));
    TRY(write(fd, "z", 1));
    show_stat("grow-sealed", fd);

    /* F_SEAL_WRITE: refused while a writable shared mapping exists (EBUSY). */
    char *w = mmap(NULL, 16, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("shared rw map: %s\n", w == MAP_FAILED ? ename(errno) : "OK");
    w[0] = 'A';
    TRY(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    char *r = mmap(NULL, 16, PROT_READ, MAP_SHARED, fd, 0);
    TRY(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    munmap(r, 16);
    munmap(w, 16);
    char *priv = mmap(NULL, 16, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    TRY(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    TRY(fcntl(fd, F_GET_SEALS));
    priv[1] = 'B';
    show_read("private write not in file", fd, 0, 4);
    munmap(priv, 16);
    TRY(write(fd, "q", 1));
    TRY(pwrite(fd, "q", 1, 0));
    TRY(pwrite(fd, "", 0, 0));
    TRY(ftruncate(fd, 16));
    char *m = mmap(NULL, 16, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("shared rw map after seal: %s\n", m == MAP_FAILED ? ename(errno) : "OK");
    m = mmap(NULL, 16, PROT_READ, MAP_SHARED, fd, 0);
    printf("shared ro map after seal: %s\n", m == MAP_FAILED ? ename(errno) : "OK");
    TRY(mprotect(m, 16, PROT_READ | PROT_WRITE));
    munmap(m, 16);
    m = mmap(NULL, 16, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    printf("private rw map after seal: %s\n", m == MAP_FAILED ? ename(errno) : "OK");
    munmap(m, 16);
    show_read("content", fd, 0, 16);
    TRY(fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL));
    TRY(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
    TRY(fcntl(fd, F_ADD_SEALS, 0));
    TRY(fcntl(fd, F_GET_SEALS));

    /* F_SEAL_FUTURE_WRITE: existing writable mappings keep working. */
    int fw = TRYFD(memfd_create("future", MFD_ALLOW_SEALING));
    TRY(ftruncate(fw, 4096));
    char *fm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fw, 0);
    TRY(fcntl(fw, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
    memcpy(fm, "through map", 11);
    show_read("future-sealed content", fw, 0, 11);
    TRY(write(fw, "no", 2));
    char *fm2 = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fw, 0);
    printf("new shared rw map: %s\n", fm2 == MAP_FAILED ? ename(errno) : "OK");
    TRY(ftruncate(fw, 8192));
    TRY(fcntl(fw, F_GET_SEALS));
    munmap(fm, 4096);

    /* A forked child's writable mapping counts too. */
    int fk = TRYFD(memfd_create("forked", MFD_ALLOW_SEALING));
    TRY(ftruncate(fk, 4096));
    char *km = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fk, 0);
    int go[2], done[2];
    if (pipe(go) || pipe(done)) return;
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        char b;
        km[0] = 'c';
        if (write(done[1], "r", 1) != 1) _exit(1);
        if (read(go[0], &b, 1) != 1) _exit(1);
        _exit(0);
    }
    char b;
    if (read(done[0], &b, 1) != 1) return;
    munmap(km, 4096);
    TRY(fcntl(fk, F_ADD_SEALS, F_SEAL_WRITE));
    if (write(go[1], "g", 1) != 1) return;
    int st;
    waitpid(c, &st, 0);
    TRY(fcntl(fk, F_ADD_SEALS, F_SEAL_WRITE));
    show_read("child's byte", fk, 0, 1);

    /* F_SEAL_EXEC on an executable memfd implies the write seals. */
    int ex = TRYFD(memfd_create("exec", MFD_ALLOW_SEALING | MFD_EXEC));
    TRY(fcntl(ex, F_ADD_SEALS, F_SEAL_EXEC));
    TRY(fcntl(ex, F_GET_SEALS));
    TRY(fchmod(ex, 0644));
    TRY(fchmod(ex, 0775));

    /* Not a memfd. */
    int pp[2];
    if (pipe(pp)) return;
    TRY(fcntl(pp[0], F_GET_SEALS));
    TRY(fcntl(pp[1], F_ADD_SEALS, F_SEAL_SEAL));
    TRY(fcntl(pp[0], F_ADD_SEALS, F_SEAL_SEAL));
    int reg = TRYFD(open("/proc/self/exe", O_RDONLY));
    TRY(fcntl(reg, F_GET_SEALS));
    TRY(fcntl(reg, F_ADD_SEALS, F_SEAL_SEAL));
}

/* ---------------------------------------------------------------------------------------- */
/* memfd mappings shared across fork, and coherence with read/write */

static void sec_share(void) {
    int fd = TRYFD(memfd_create("share", 0));
    TRY(ftruncate(fd, 3 * 4096));
    char *m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("map: %s\n", m == MAP_FAILED ? ename(errno) : "OK");
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        memcpy(m + 4096, "written by the child", 20);
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    printf("parent sees: [%.20s]\n", m + 4096);
    show_read("read(2) sees", fd, 4096, 20);
    TRY(pwrite(fd, "pwrite", 6, 8192));
    printf("map sees: [%.6s]\n", m + 8192);
    memcpy(m, "stored through the map", 22);
    TRY(munmap(m, 3 * 4096));
    show_read("after munmap", fd, 0, 22);
    char *again = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    printf("new map: [%.22s]\n", again);
    munmap(again, 4096);

    /* A mapping that outlives its fd keeps the pages shared with a child. */
    int fd2 = memfd_create("orphan", 0);
    TRY(ftruncate(fd2, 4096));
    char *o = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
    close(fd2);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        strcpy(o, "after close");
        _exit(0);
    }
    waitpid(c, &st, 0);
    printf("orphan map: [%s]\n", o);
    /* Beyond the end of the file is SIGBUS. */
    int fd3 = memfd_create("short", 0);
    TRY(ftruncate(fd3, 100));
    char *s = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd3, 0);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        volatile char x = s[4096];
        (void)x;
        _exit(0);
    }
    waitpid(c, &st, 0);
    report("touch past EOF", st);
}

/* ---------------------------------------------------------------------------------------- */
/* O_TMPFILE */

static void path_in(char *out, size_t n, const char *dir, const char *name) { snprintf(out, n, "%s/%s", dir, name); }

static void show_named(const char *dir, const char *name) {
    char p[512];
    path_in(p, sizeof p, dir, name);
    struct stat st;
    if (stat(p, &st) < 0) {
        printf("stat %s: %s\n", name, ename(errno));
        return;
    }
    int fd = open(p, O_RDONLY);
    char buf[64] = {0};
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("stat %s: mode=%o nlink=%lu size=%lld [%.*s]\n", name, st.st_mode, (unsigned long)st.st_nlink,
           (long long)st.st_size, (int)(n < 0 ? 0 : n), buf);
}

static void show_tmp_link(const char *dir, int fd) {
    char p[64], buf[512];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(p, buf, sizeof buf - 1);
    if (n < 0) {
        printf("tmpfile link: %s\n", ename(errno));
        return;
    }
    buf[n] = 0;
    size_t dl = strlen(dir);
    int shape = strncmp(buf, dir, dl) == 0 && buf[dl] == '/' && buf[dl + 1] == '#' && strstr(buf, " (deleted)") != NULL;
    printf("tmpfile link is DIR/#INO (deleted): %d\n", shape);
}

static void sec_tmpfile(const char *dir, const char *other) {
    char p[512], q[512];
    umask(022);
    int fd = TRYFD(open(dir, O_TMPFILE | O_RDWR, 0640));
    show_stat("tmpfile", fd);
    show_tmp_link(dir, fd);
    TRY(write(fd, "tmp data", 8));
    show_read("tmpfile data", fd, 0, 8);
    path_in(p, sizeof p, dir, "named");
    unlink(p);
    TRY(linkat(fd, "", AT_FDCWD, p, AT_EMPTY_PATH));
    show_stat("linked", fd);
    show_named(dir, "named");
    path_in(q, sizeof q, dir, "named2");
    unlink(q);
    TRY(linkat(fd, "", AT_FDCWD, q, AT_EMPTY_PATH));
    TRY(linkat(fd, "", AT_FDCWD, q, AT_EMPTY_PATH));
    show_named(dir, "named2");
    TRY(unlink(p));
    TRY(unlink(q));
    TRY(linkat(fd, "", AT_FDCWD, p, AT_EMPTY_PATH));
    close(fd);

    int ex = TRYFD(open(dir, O_TMPFILE | O_RDWR | O_EXCL, 0600));
    TRY(linkat(ex, "", AT_FDCWD, p, AT_EMPTY_PATH));
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", ex);
    TRY(linkat(AT_FDCWD, self, AT_FDCWD, p, AT_SYMLINK_FOLLOW));
    close(ex);

    int viaproc = TRYFD(open(dir, O_TMPFILE | O_WRONLY, 0600));
    TRY(write(viaproc, "via proc", 8));
    snprintf(self, sizeof self, "/proc/self/fd/%d", viaproc);
    path_in(p, sizeof p, dir, "viaproc");
    unlink(p);
    TRY(linkat(AT_FDCWD, self, AT_FDCWD, p, AT_SYMLINK_FOLLOW));
    show_named(dir, "viaproc");
    TRY(linkat(AT_FDCWD, self, AT_FDCWD, p, 0));
    TRY(unlink(p));
    close(viaproc);

    /* A file unlinked while open cannot get a name back. */
    path_in(p, sizeof p, dir, "gone");
    int gone = TRYFD(open(p, O_CREAT | O_RDWR, 0600));
    TRY(unlink(p));
    TRY(linkat(gone, "", AT_FDCWD, p, AT_EMPTY_PATH));
    close(gone);

    /* Misuse. */
    TRYFD(open(dir, O_TMPFILE | O_RDONLY, 0600));
    TRYFD(open(dir, 020000000 /* __O_TMPFILE alone */ | O_RDWR, 0600));
    TRYFD(open(dir, O_TMPFILE | O_PATH | O_RDWR, 0600));
    path_in(p, sizeof p, dir, "missing/x");
    TRYFD(open(p, O_TMPFILE | O_RDWR, 0600));
    path_in(p, sizeof p, dir, "missing");
    TRYFD(open(p, O_TMPFILE | O_RDWR, 0600));
    path_in(p, sizeof p, dir, "plain");
    close(open(p, O_CREAT | O_RDWR, 0600));
    TRYFD(open(p, O_TMPFILE | O_RDWR, 0600));
    TRYFD(open(dir, O_DIRECTORY | O_RDWR));
    TRY(unlink(p));
    TRYFD(open("/proc", O_TMPFILE | O_RDWR, 0600));
    int both = TRYFD(open(dir, O_TMPFILE | O_RDWR | O_CREAT, 0600));
    close(both);

    /* Into another filesystem: EXDEV. */
    int x = TRYFD(open(dir, O_TMPFILE | O_RDWR, 0600));
    path_in(p, sizeof p, other, "xdev");
    TRY(linkat(x, "", AT_FDCWD, p, AT_EMPTY_PATH));
    char *mm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, x, 0);
    printf("tmpfile mmap: %s\n", mm == MAP_FAILED ? ename(errno) : "OK");
    close(x);
}

/* ---------------------------------------------------------------------------------------- */
/* pidfd */

static void show_poll(const char *what, int fd) {
    struct pollfd p = {fd, POLLIN, 0};
    int n = poll(&p, 1, 0);
    printf("%s: poll %d revents %#x\n", what, n, p.revents);
}

static void sec_pidfd(void) {
    int go[2], has40[2];
    if (pipe(go) || pipe(has40)) return;
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        char b;
        close(go[1]);
        int m = memfd_create("secret", 0);
        if (write(m, "secret", 6) != 6) _exit(1);
        dup2(m, 40);
        if (write(has40[1], "r", 1) != 1) _exit(1);
        if (read(go[0], &b, 1) < 0) _exit(1);
        _exit(7);
    }
    close(go[0]);
    int pfd = TRYFD(pidfd_open(c, 0));
    printf("F_GETFD %d F_GETFL %#x\n", fcntl(pfd, F_GETFD), fcntl(pfd, F_GETFL));
    show_poll("running", pfd);
    TRY(pidfd_send_signal(pfd, 0, NULL, 0));
    TRY(pidfd_send_signal(pfd, 0, NULL, 8));
    TRY(pidfd_send_signal(pfd, 1000, NULL, 0));
    TRY(pidfd_send_signal(go[1], 0, NULL, 0));
    TRY(pidfd_send_signal(-1, 0, NULL, 0));
    TRYFD(pidfd_open(c, 1));
    TRYFD(pidfd_open(0, 0));
    TRYFD(pidfd_open(-1, 0));
    TRYFD(pidfd_open(4000000, 0));
    int self = TRYFD(pidfd_open(getpid(), PIDFD_NONBLOCK));
    printf("nonblocking F_GETFL %#x\n", fcntl(self, F_GETFL));
    TRY(waitid(P_PIDFD, self, &(siginfo_t){0}, WEXITED));
    TRY(waitid(P_PIDFD, go[1], &(siginfo_t){0}, WEXITED));
    TRY(waitid(P_PIDFD, 99, &(siginfo_t){0}, WEXITED));

    /* pidfd_getfd: the child's fd 40 is its memfd (once it said so). */
    char said;
    if (read(has40[0], &said, 1) != 1) return;
    int got = pidfd_getfd(pfd, 40, 0);
    printf("pidfd_getfd: %s\n", got >= 0 ? "OK" : ename(errno));
    if (got >= 0) {
        printf("getfd F_GETFD %d\n", fcntl(got, F_GETFD));
        show_read("child's memfd", got, 0, 6);
    }
    TRYFD(pidfd_getfd(pfd, 41, 0));
    TRYFD(pidfd_getfd(pfd, 40, 1));
    TRYFD(pidfd_getfd(go[1], 0, 0));
    TRYFD(pidfd_getfd(-1, 0, 0));

    /* A non-root caller may not take a root process's fds. */
    fflush(stdout);
    pid_t u = fork();
    if (u == 0) {
        int pp = pidfd_open(getppid(), 0);
        if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000)) _exit(2);
        show("unprivileged pidfd_getfd", pidfd_getfd(pp, 0, 0));
        show("unprivileged pidfd_send_signal", pidfd_send_signal(pp, 0, NULL, 0));
        _exit(0);
    }
    int st;
    waitpid(u, &st, 0);

    /* The child ends: readable, waitable through the pidfd. */
    if (write(go[1], "x", 1) != 1) return;
    struct pollfd p = {pfd, POLLIN, 0};
    int n = poll(&p, 1, -1);
    printf("exited: poll %d revents %#x\n", n, p.revents);
    TRYFD(pidfd_getfd(pfd, 40, 0));
    TRY(pidfd_send_signal(pfd, SIGUSR1, NULL, 0));
    siginfo_t si = {0};
    TRY(waitid(P_PIDFD, pfd, &si, WEXITED | WNOWAIT));
    printf("waitid: code %d status %d pid matches %d\n", si.si_code, si.si_status, si.si_pid == c);
    TRYFD(pidfd_open(c, 0));
    TRY(waitid(P_PIDFD, pfd, &si, WEXITED));
    show_poll("reaped", pfd);
    TRY(pidfd_send_signal(pfd, 0, NULL, 0));
    TRYFD(pidfd_open(c, 0));
    TRY(waitid(P_PIDFD, pfd, &si, WEXITED));

    /* Killing through the pidfd (the child ignores SIGTERM). */
    int ready[2];
    if (pipe(ready)) return;
    fflush(stdout);
    pid_t k = fork();
    if (k == 0) {
        signal(SIGTERM, SIG_IGN);
        if (write(ready[1], "r", 1) != 1) _exit(1);
        for (;;) pause();
    }
    char rb;
    if (read(ready[0], &rb, 1) != 1) return;
    int kfd = pidfd_open(k, PIDFD_NONBLOCK);
    TRY(waitid(P_PIDFD, kfd, &si, WEXITED));
    TRY(waitid(P_PIDFD, kfd, &si, WEXITED | WNOHANG));
    siginfo_t info = {0};
    info.si_signo = SIGTERM;
    info.si_code = SI_QUEUE;
    TRY(pidfd_send_signal(kfd, SIGTERM, &info, 0));
    info.si_signo = SIGUSR1;
    TRY(pidfd_send_signal(kfd, SIGTERM, &info, 0));
    TRY(pidfd_send_signal(kfd, SIGKILL, NULL, 0));
    p.fd = kfd;
    p.revents = 0;
    n = poll(&p, 1, -1);
    printf("killed: poll %d revents %#x\n", n, p.revents);
    memset(&si, 0, sizeof si);
    TRY(waitid(P_PIDFD, kfd, &si, WEXITED));
    printf("waitid: code %d status %d\n", si.si_code, si.si_status);
}

/* A pidfd in an epoll set: ready once the child exits. */
static void sec_pidfd_epoll(void) {
    int go[2];
    if (pipe(go)) return;
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        char b;
        close(go[1]);
        if (read(go[0], &b, 1) < 0) _exit(1);
        _exit(0);
    }
    close(go[0]);
    int pfd = pidfd_open(c, 0);
    int ep = TRYFD(epoll_create1(0));
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7};
    TRY(epoll_ctl(ep, EPOLL_CTL_ADD, pfd, &ev));
    struct epoll_event got[2];
    TRY(epoll_wait(ep, got, 2, 0));
    close(go[1]);
    int n = epoll_wait(ep, got, 2, -1);
    printf("epoll_wait: %d events %#x data %u\n", n, n > 0 ? got[0].events : 0, n > 0 ? got[0].data.u32 : 0);
    waitpid(c, NULL, 0);
    n = epoll_wait(ep, got, 2, 0);
    printf("after reaping: %d events %#x\n", n, n > 0 ? got[0].events : 0);
}

static int child_fn(void *arg) {
    (void)arg;
    return 0;
}

static void sec_clonepidfd(void) {
    int pidfd = -1;
    fflush(stdout);
    long c = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &pidfd, 0, 0);
    if (c == 0) _exit(3);
    show("clone(CLONE_PIDFD)", c > 0 ? 0 : -1);
    printf("pidfd set %d F_GETFD %d\n", pidfd >= 0, fcntl(pidfd, F_GETFD));
    struct pollfd p = {pidfd, POLLIN, 0};
    int n = poll(&p, 1, -1);
    printf("poll %d revents %#x\n", n, p.revents);
    siginfo_t si = {0};
    TRY(waitid(P_PIDFD, pidfd, &si, WEXITED));
    printf("status %d same pid %d\n", si.si_status, si.si_pid == c);
    close(pidfd);

    int ptid = 0;
    TRY(syscall(SYS_clone, CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD, 0, &ptid, 0, 0));

    struct clone_args a;
    memset(&a, 0, sizeof a);
    a.flags = CLONE_PIDFD;
    a.pidfd = (uint64_t)(uintptr_t)&pidfd;
    a.exit_signal = SIGCHLD;
    pidfd = -1;
    fflush(stdout);
    c = syscall(SYS_clone3, &a, sizeof a);
    if (c == 0) _exit(4);
    show("clone3(CLONE_PIDFD)", c > 0 ? 0 : -1);
    printf("pidfd set %d\n", pidfd >= 0);
    memset(&si, 0, sizeof si);
    TRY(waitid(P_PIDFD, pidfd, &si, WEXITED));
    printf("status %d\n", si.si_status);
    close(pidfd);

    a.flags = CLONE_PIDFD | CLONE_PARENT_SETTID;
    a.parent_tid = a.pidfd;
    TRY(syscall(SYS_clone3, &a, sizeof a));
    int tid = 0;
    a.parent_tid = (uint64_t)(uintptr_t)&tid;
    pidfd = -1;
    fflush(stdout);
    c = syscall(SYS_clone3, &a, sizeof a);
    if (c == 0) _exit(5);
    printf("clone3 both: pidfd set %d tid matches %d\n", pidfd >= 0, tid == c);
    waitpid(c, NULL, 0);
    close(pidfd);

    a.flags = CLONE_PIDFD;
    a.pidfd = 8;
    fflush(stdout);
    c = syscall(SYS_clone3, &a, sizeof a);
    if (c == 0) _exit(6);
    show("clone3 bad pidfd pointer", c);
    TRY(waitpid(-1, NULL, WNOHANG));

    /* A thread's pidfd (CLONE_THREAD). */
    static char stack[65536];
    pidfd = -1;
    long t = clone(child_fn, stack + sizeof stack, CLONE_VM | CLONE_SIGHAND | CLONE_THREAD | CLONE_PIDFD, NULL, &pidfd);
    show("clone(CLONE_THREAD|CLONE_PIDFD)", t > 0 ? 0 : -1);
    if (t > 0) {
        p.fd = pidfd;
        p.revents = 0;
        n = poll(&p, 1, -1);
        printf("thread pidfd poll %d revents %#x\n", n, p.revents);
        TRYFD(pidfd_open(t, 0));
    }
}

/* ---------------------------------------------------------------------------------------- */
/* splice, tee */

static int make_file(const char *dir, const char *name, int n, int flags) {
    char p[512];
    path_in(p, sizeof p, dir, name);
    int fd = open(p, O_CREAT | O_RDWR | O_TRUNC, 0644);
    char buf[4096];
    for (int done = 0; done < n;) {
        int k = n - done < (int)sizeof buf ? n - done : (int)sizeof buf;
        for (int i = 0; i < k; i++) buf[i] = 'a' + (done + i) % 26;
        if (write(fd, buf, k) != k) break;
        done += k;
    }
    close(fd);
    return open(p, flags);
}

/* Reads the pipe empty (non-blocking) and prints how much came out and whether it is the
   pattern from byte `from`. */
static void drain(const char *what, int rfd, int from) {
    char buf[70000];
    int fl = fcntl(rfd, F_GETFL);
    fcntl(rfd, F_SETFL, fl | O_NONBLOCK);
    ssize_t total = 0, n;
    while ((n = read(rfd, buf + total, sizeof buf - total)) > 0) total += n;
    fcntl(rfd, F_SETFL, fl);
    int ok = 1;
    for (ssize_t i = 0; i < total; i++)
        if (buf[i] != 'a' + (from + i) % 26) ok = 0;
    printf("%s: %zd bytes, pattern %s\n", what, total, ok ? "ok" : "WRONG");
}

static void sec_splice(const char *dir) {
    int p[2], q[2];
    if (pipe(p) || pipe(q)) return;
    int in = make_file(dir, "splice.in", 10000, O_RDONLY);
    loff_t off = 100;
    TRY(splice(in, &off, p[1], NULL, 5000, 0));
    printf("off now %lld, file pos %lld\n", (long long)off, (long long)lseek(in, 0, SEEK_CUR));
    drain("pipe", p[0], 100);
    TRY(splice(in, NULL, p[1], NULL, 10, 0));
    printf("file pos %lld\n", (long long)lseek(in, 0, SEEK_CUR));
    drain("pipe", p[0], 0);
    off = 9990;
    TRY(splice(in, &off, p[1], NULL, 100, 0));
    drain("at the end", p[0], 9990);
    off = 10000;
    TRY(splice(in, &off, p[1], NULL, 100, 0));
    off = -1;
    TRY(splice(in, &off, p[1], NULL, 100, 0));

    /* pipe -> file */
    int out = make_file(dir, "splice.out", 0, O_RDWR);
    off = 0;
    TRY(splice(in, &off, p[1], NULL, 3000, 0));
    loff_t oo = 10;
    TRY(splice(p[0], NULL, out, &oo, 1000, 0));
    printf("out off %lld pos %lld\n", (long long)oo, (long long)lseek(out, 0, SEEK_CUR));
    TRY(splice(p[0], NULL, out, NULL, 100000, 0));
    printf("out pos %lld size %lld\n", (long long)lseek(out, 0, SEEK_CUR), (long long)lseek(out, 0, SEEK_END));
    show_read("out", out, 8, 6);
    TRY(splice(p[0], NULL, out, NULL, 10, SPLICE_F_NONBLOCK));
    int app = make_file(dir, "splice.app", 0, O_WRONLY | O_APPEND);
    TRY(write(p[1], "x", 1));
    TRY(splice(p[0], NULL, app, NULL, 10, 0));
    int rdonly = make_file(dir, "splice.ro", 0, O_RDONLY);
    TRY(splice(p[0], NULL, rdonly, NULL, 10, 0));
    int wronly = make_file(dir, "splice.wo", 10, O_WRONLY);
    TRY(splice(wronly, NULL, p[1], NULL, 10, 0));
    drain("leftover", p[0], 0);

    /* Argument errors. */
    TRY(splice(in, NULL, out, NULL, 10, 0));
    TRY(splice(p[0], &off, out, NULL, 10, 0));
    TRY(splice(in, NULL, p[1], &off, 10, 0));
    TRY(splice(p[0], NULL, p[1], NULL, 10, 0));
    TRY(splice(-1, NULL, p[1], NULL, 10, 0));
    TRY(splice(in, NULL, 99, NULL, 10, 0));
    TRY(splice(-1, NULL, -1, NULL, 0, 0));
    TRY(splice(in, NULL, p[1], NULL, 10, 0x10));
    TRY(splice(in, NULL, p[0], NULL, 10, 0));
    TRY(splice(p[1], NULL, out, NULL, 10, 0));
    TRY(splice(in, (loff_t *)8, p[1], NULL, 10, 0));
    TRY(splice(in, NULL, p[1], NULL, 0, 0x10));

    /* pipe -> pipe moves; tee copies. */
    off = 0;
    TRY(splice(in, &off, p[1], NULL, 300, 0));
    TRY(tee(p[0], q[1], 100, 0));
    TRY(tee(p[0], q[1], 1000, 0));
    drain("tee'd", q[0], 0);
    TRY(splice(p[0], NULL, q[1], NULL, 50, 0));
    drain("moved", q[0], 0);
    drain("left", p[0], 50);
    TRY(tee(p[0], q[1], 10, SPLICE_F_NONBLOCK));
    TRY(splice(p[0], NULL, q[1], NULL, 10, SPLICE_F_NONBLOCK));
    TRY(tee(p[0], p[1], 10, 0));
    TRY(tee(in, q[1], 10, 0));
    TRY(tee(p[0], q[1], 0, 0));
    TRY(tee(p[0], q[1], 10, 0x10));
    TRY(tee(-1, q[1], 10, 0));
    TRY(tee(p[1], q[1], 10, 0));

    /* Full pipes. */
    int big = make_file(dir, "splice.big", 200000, O_RDONLY);
    long total = 0, r;
    while ((r = splice(big, NULL, p[1], NULL, 65536, SPLICE_F_NONBLOCK)) > 0) total += r;
    printf("filled %ld, then %s\n", total, r < 0 ? ename(errno) : "0");
    TRY(splice(big, NULL, p[1], NULL, 10, SPLICE_F_NONBLOCK));
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    TRY(splice(big, NULL, p[1], NULL, 10, 0));
    TRY(write(p[1], "y", 1));
    fcntl(p[1], F_SETFL, 0);
    drain("full pipe", p[0], 0);

    /* Writers gone: splice and tee see the end. */
    close(p[1]);
    TRY(splice(p[0], NULL, out, NULL, 10, 0));
    TRY(tee(p[0], q[1], 10, 0));
    TRY(splice(p[0], NULL, q[1], NULL, 10, 0));
    /* Readers gone: EPIPE (and SIGPIPE, ignored here). */
    signal(SIGPIPE, SIG_IGN);
    close(q[0]);
    off = 0;
    TRY(splice(in, &off, q[1], NULL, 10, 0));

    /* Devices. */
    int z = open("/dev/zero", O_RDONLY), nul = open("/dev/null", O_WRONLY);
    int r2[2];
    if (pipe(r2)) return;
    TRY(splice(z, NULL, r2[1], NULL, 5000, 0));
    TRY(splice(r2[0], NULL, nul, NULL, 100000, 0));

    /* A blocking splice waits for a writer. */
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        if (write(r2[1], "late", 4) != 4) _exit(1);
        _exit(0);
    }
    close(r2[1]);
    oo = 0;
    int late = make_file(dir, "splice.late", 0, O_RDWR);
    long got = 0;
    while ((r = splice(r2[0], NULL, late, &oo, 100, 0)) > 0) got += r;
    printf("blocking splice: %ld then %ld\n", got, r);
    waitpid(c, NULL, 0);
    show_read("late", late, 0, 4);
}

static void sec_vmsplice(void) {
    int p[2];
    if (pipe(p)) return;
    char a[] = "vm", b[] = "splice";
    struct iovec iov[2] = {{a, 2}, {b, 6}};
    TRY(vmsplice(p[1], iov, 2, 0));
    char o1[3] = {0}, o2[10] = {0};
    struct iovec out[2] = {{o1, 3}, {o2, 10}};
    TRY(vmsplice(p[0], out, 2, 0));
    printf("read back [%.3s][%s]\n", o1, o2);
    TRY(vmsplice(p[0], out, 2, SPLICE_F_NONBLOCK));
    TRY(vmsplice(p[1], iov, 0, 0));
    TRY(vmsplice(p[1], iov, 2, 0x10));
    TRY(vmsplice(-1, iov, 2, 0));
    int m = memfd_create("vm", 0);
    TRY(vmsplice(m, iov, 2, 0));
    TRY(vmsplice(p[1], (struct iovec *)8, 1, 0));
    TRY(vmsplice(p[1], iov, 2000, 0));
    struct iovec bad = {(void *)8, 10};
    TRY(vmsplice(p[1], &bad, 1, 0));
    /* Fill the pipe: one buffer per page piece, EAGAIN when full. */
    static char page[8192] __attribute__((aligned(4096)));
    memset(page, 'p', sizeof page);
    struct iovec pg = {page + 4000, 200};
    long n = 0, r;
    while ((r = vmsplice(p[1], &pg, 1, SPLICE_F_NONBLOCK)) > 0) n += r;
    printf("vmsplice filled %ld then %s\n", n, r < 0 ? ename(errno) : "0");
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    TRY(write(p[1], "x", 1));
    close(p[1]);
    char big[70000];
    TRY(read(p[0], big, sizeof big));
    TRY(vmsplice(p[0], out, 2, 0));
}

/* ---------------------------------------------------------------------------------------- */
/* sendfile */

static void sec_sendfile(const char *dir) {
    int in = make_file(dir, "sf.in", 10000, O_RDONLY);
    int out = make_file(dir, "sf.out", 0, O_RDWR);
    off_t off = 10;
    TRY(sendfile(out, in, &off, 500));
    printf("off %lld in pos %lld out pos %lld\n", (long long)off, (long long)lseek(in, 0, SEEK_CUR), (long long)lseek(out, 0, SEEK_CUR));
    TRY(sendfile(out, in, NULL, 20000));
    printf("in pos %lld out pos %lld\n", (long long)lseek(in, 0, SEEK_CUR), (long long)lseek(out, 0, SEEK_CUR));
    TRY(sendfile(out, in, NULL, 10));
    show_read("out", out, 495, 10);
    int m = memfd_create("sf", 0);
    off = 0;
    TRY(sendfile(m, in, &off, 4096));
    show_read("to memfd", m, 4090, 10);
    TRY(lseek(m, 0, SEEK_SET));
    TRY(sendfile(out, m, NULL, 100));
    int p[2];
    if (pipe(p)) return;
    off = 0;
    TRY(sendfile(p[1], in, &off, 3000));
    drain("to pipe", p[0], 0);
    TRY(sendfile(out, p[0], NULL, 10));
    int app = make_file(dir, "sf.app", 0, O_WRONLY | O_APPEND);
    off = 0;
    TRY(sendfile(app, in, &off, 10));
    printf("off after error %lld\n", (long long)off);
    int wronly = make_file(dir, "sf.wo", 10, O_WRONLY);
    TRY(sendfile(out, wronly, NULL, 10));
    TRY(sendfile(in, in, NULL, 10));
    TRY(sendfile(-1, in, NULL, 10));
    TRY(sendfile(out, -1, NULL, 10));
    off = -5;
    TRY(sendfile(out, in, &off, 10));
    TRY(sendfile(out, in, (off_t *)8, 10));
    off = 0;
    TRY(sendfile(out, in, &off, 0));
    int nul = open("/dev/null", O_WRONLY), z = open("/dev/zero", O_RDONLY);
    off = 0;
    TRY(sendfile(nul, in, &off, 10000));
    TRY(sendfile(out, z, NULL, 100));
    int ev = eventfd(0, 0);
    TRY(sendfile(ev, in, NULL, 8));
    off = 0;
    TRY(sendfile(ev, in, &off, 8));
    off = 0;
    fflush(stdout);
    TRY(sendfile(STDOUT_FILENO, in, &off, 26));
    off = 0;
    TRY(sendfile(out, in, &off, 10));
    show_stat("sf.out", out);
}

/* sendfile and splice with a socket on one side. */
static void sec_sockets(const char *dir) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
        printf("socketpair: %s\n", ename(errno));
        return;
    }
    int in = make_file(dir, "sock.in", 10000, O_RDONLY);
    off_t off = 0;
    TRY(sendfile(sv[0], in, &off, 3000));
    int p[2];
    if (pipe(p)) return;
    TRY(splice(sv[1], NULL, p[1], NULL, 1000, 0));
    drain("socket to pipe", p[0], 0);
    char buf[4000];
    TRY(read(sv[1], buf, sizeof buf));
    loff_t lo = 0;
    TRY(splice(in, &lo, p[1], NULL, 500, 0));
    TRY(splice(p[0], NULL, sv[0], NULL, 500, 0));
    TRY(read(sv[1], buf, sizeof buf));
    printf("pattern %s\n", buf[0] == 'a' && buf[499] == 'a' + 499 % 26 ? "ok" : "WRONG");
    TRY(splice(sv[1], NULL, p[1], NULL, 10, SPLICE_F_NONBLOCK));
    TRY(copy_file_range(sv[0], NULL, in, NULL, 10, 0));
}

/* ---------------------------------------------------------------------------------------- */
/* copy_file_range */

static void sec_copy(const char *dir, const char *other) {
    int in = make_file(dir, "cfr.in", 10000, O_RDWR);
    int out = make_file(dir, "cfr.out", 0, O_RDWR);
    loff_t oi = 0, oo = 0;
    TRY(copy_file_range(in, &oi, out, &oo, 10000, 0));
    printf("offsets %lld %lld positions %lld %lld\n", (long long)oi, (long long)oo, (long long)lseek(in, 0, SEEK_CUR), (long long)lseek(out, 0, SEEK_CUR));
    TRY(lseek(in, 9000, SEEK_SET));
    TRY(copy_file_range(in, NULL, out, NULL, 5000, 0));
    printf("positions %lld %lld\n", (long long)lseek(in, 0, SEEK_CUR), (long long)lseek(out, 0, SEEK_CUR));
    TRY(copy_file_range(in, NULL, out, NULL, 5000, 0));
    show_read("out", out, 0, 5);
    oi = 20000;
    TRY(copy_file_range(in, &oi, out, NULL, 10, 0));
    oi = 0;
    oo = 20000;
    TRY(copy_file_range(in, &oi, out, &oo, 10, 0));
    printf("sparse out size %lld\n", (long long)lseek(out, 0, SEEK_END));
    TRY(copy_file_range(in, NULL, out, NULL, 10, 1));
    TRY(copy_file_range(-1, NULL, out, NULL, 10, 0));
    TRY(copy_file_range(in, NULL, -1, NULL, 10, 0));
    TRY(copy_file_range(in, (loff_t *)8, out, NULL, 10, 0));
    oi = -1;
    TRY(copy_file_range(in, &oi, out, NULL, 10, 0));
    /* The same file: overlapping ranges are EINVAL. */
    oi = 0;
    oo = 100;
    TRY(copy_file_range(in, &oi, in, &oo, 500, 0));
    oo = 600;
    TRY(copy_file_range(in, &oi, in, &oo, 500, 0));
    show_read("self copy", in, 600, 5);
    oi = 9990;
    oo = 9985;
    TRY(copy_file_range(in, &oi, in, &oo, 100, 0));
    /* Modes and types. */
    int wo = make_file(dir, "cfr.wo", 10, O_WRONLY);
    int ro = make_file(dir, "cfr.ro", 10, O_RDONLY);
    int app = make_file(dir, "cfr.app", 10, O_WRONLY | O_APPEND);
    TRY(copy_file_range(wo, NULL, out, NULL, 10, 0));
    TRY(copy_file_range(in, NULL, ro, NULL, 10, 0));
    TRY(copy_file_range(in, NULL, app, NULL, 10, 0));
    int d = open(dir, O_RDONLY | O_DIRECTORY);
    TRY(copy_file_range(d, NULL, out, NULL, 10, 0));
    int p[2];
    if (pipe(p)) return;
    TRY(copy_file_range(in, NULL, p[1], NULL, 10, 0));
    TRY(copy_file_range(p[0], NULL, out, NULL, 10, 0));
    /* Another filesystem, and memfds. */
    int far = make_file(other, "cfr.far", 0, O_RDWR);
    oi = 0;
    TRY(copy_file_range(in, &oi, far, NULL, 10, 0));
    TRY(copy_file_range(far, NULL, in, NULL, 10, 0));
    int m1 = memfd_create("a", 0), m2 = memfd_create("b", 0);
    TRY(write(m1, "memfd to memfd", 14));
    oi = 0;
    TRY(copy_file_range(m1, &oi, m2, NULL, 100, 0));
    show_read("m2", m2, 0, 14);
    oi = 0;
    TRY(copy_file_range(m1, &oi, far, NULL, 100, 0));
    TRY(copy_file_range(m1, &oi, out, NULL, 100, 0));
}

/* ---------------------------------------------------------------------------------------- */
/* mincore */

static void show_vec(const char *what, const unsigned char *v, int n) {
    printf("%s:", what);
    for (int i = 0; i < n; i++) printf(" %d", v[i] & 1);
    printf("\n");
}

/* Pages are touched all or none within a mapping: which untouched neighbours of a touched
   page are in memory is the kernel's business (umbra faults in 16-page windows). */
static void sec_mincore(void) {
    long pg = 4096;
    unsigned char v[16];
    char *a = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    TRY(mincore(a, 4 * pg, v));
    show_vec("untouched", v, 4);
    for (int i = 0; i < 4; i++) a[i * pg] = 1;
    TRY(mincore(a, 4 * pg, v));
    show_vec("anon", v, 4);
    TRY(mincore(a, 4 * pg - 100, v));
    TRY(mincore(a + 1, pg, v));
    TRY(mincore(a, 0, v));
    TRY(munmap(a + 3 * pg, pg));
    memset(v, 9, sizeof v);
    TRY(mincore(a, 4 * pg, v));
    show_vec("partial before the hole", v, 3);
    TRY(mincore(a + 3 * pg, pg, v));
    TRY(mincore(a, pg, (unsigned char *)8));
    TRY(mincore(a, (size_t)1 << 62, v));
    TRY(mincore((void *)0x7ffffffff000UL, pg, v));
    char *pop = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    TRY(mincore(pop, 3 * pg, v));
    show_vec("populated", v, 3);
    char *none = mmap(NULL, 2 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    TRY(mincore(none, 2 * pg, v));
    show_vec("PROT_NONE", v, 2);
    /* Shared memory touched by a child is resident for the parent too. */
    char *sh = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        for (int i = 0; i < 3; i++) sh[i * pg] = 1;
        _exit(0);
    }
    waitpid(c, NULL, 0);
    TRY(mincore(sh, 3 * pg, v));
    show_vec("shared, touched by a child", v, 3);
    char *sh2 = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    TRY(mincore(sh2, 2 * pg, v));
    show_vec("shared, untouched", v, 2);
    /* A memfd: pages that hold data are resident, holes are not. */
    int m = memfd_create("mc", 0);
    TRY(ftruncate(m, 4 * pg));
    TRY(pwrite(m, "x", 1, 2 * pg));
    char *mf = mmap(NULL, 4 * pg, PROT_READ, MAP_SHARED, m, 0);
    TRY(mincore(mf, 4 * pg, v));
    show_vec("memfd", v, 4);
    /* Two adjacent mappings in one call. */
    char *two = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    two[0] = two[pg] = 1;
    TRY(mprotect(two, pg, PROT_READ));
    TRY(mincore(two, 2 * pg, v));
    show_vec("two vmas", v, 2);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *s = argc > 1 ? argv[1] : "";
    if (!strcmp(s, "memfd")) sec_memfd();
    else if (!strcmp(s, "seals")) sec_seals();
    else if (!strcmp(s, "share")) sec_share();
    else if (!strcmp(s, "tmpfile") && argc > 3) sec_tmpfile(argv[2], argv[3]);
    else if (!strcmp(s, "pidfd")) sec_pidfd();
    else if (!strcmp(s, "clonepidfd")) sec_clonepidfd();
    else if (!strcmp(s, "pidfd_epoll")) sec_pidfd_epoll();
    else if (!strcmp(s, "splice") && argc > 2) sec_splice(argv[2]);
    else if (!strcmp(s, "vmsplice")) sec_vmsplice();
    else if (!strcmp(s, "sendfile") && argc > 2) sec_sendfile(argv[2]);
    else if (!strcmp(s, "sockets") && argc > 2) sec_sockets(argv[2]);
    else if (!strcmp(s, "copy") && argc > 3) sec_copy(argv[2], argv[3]);
    else if (!strcmp(s, "mincore")) sec_mincore();
    else {
        fprintf(stderr, "usage: fdcalls SECTION [DIR [OTHER]]\n");
        return 2;
    }
    return 0;
}

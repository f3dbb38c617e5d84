/* inotify compared with Linux: instance flags, add_watch/rm_watch errors, the events of file
 * and directory operations (create, open, access, modify, attrib, close, move with one cookie,
 * delete, delete_self, ignored), oneshot, mask_add/mask_create, FIONREAD, non-blocking reads,
 * poll readiness and the short-buffer EINVAL. Runs in a fresh directory under /tmp. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static unsigned last_cookie;

static const char *names[] = {"ACCESS", "MODIFY", "ATTRIB", "CLOSE_WRITE", "CLOSE_NOWRITE", "OPEN", "MOVED_FROM",
                              "MOVED_TO", "CREATE", "DELETE", "DELETE_SELF", "MOVE_SELF", "?", "UNMOUNT", "Q_OVERFLOW", "IGNORED"};

static void show_mask(unsigned m) {
    int first = 1;
    for (int i = 0; i < 16; i++)
        if (m & (1u << i)) { printf("%s%s", first ? "" : "|", names[i]); first = 0; }
    if (m & IN_ISDIR) printf("|ISDIR");
}

/* Reads and prints every pending event (non-blocking fd). */
static void drain(int fd, const char *what) {
    char buf[4096] __attribute__((aligned(8)));
    printf("-- %s\n", what);
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0) { if (errno != EAGAIN) printf("read: errno %d\n", errno); return; }
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *e = (struct inotify_event *)p;
            printf("wd=%d ", e->wd);
            show_mask(e->mask);
            if (e->cookie) { printf(" cookie=%s", e->cookie == last_cookie ? "same" : "new"); last_cookie = e->cookie; }
            printf(" len%%16=%u name=%s\n", e->len % 16, e->len ? e->name : "");
            p += sizeof *e + e->len;
        }
    }
}

static void path(char *out, const char *name) { snprintf(out, 128, "%s/%s", dir, name); }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    strcpy(dir, "/tmp/inotifyXXXXXX");
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    char f[128], g[128], sub[128];
    path(f, "f"); path(g, "g"); path(sub, "sub");

    errno = 0; { int rv = inotify_init1(0x1); printf("init1(bad flags): %d errno=%d\n", rv, errno); }
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    printf("init1: %s cloexec=%d nonblock=%d\n", fd >= 0 ? "ok" : "fail", (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
    errno = 0; { int rv = inotify_add_watch(999, dir, IN_ALL_EVENTS); printf("add_watch(bad fd): %d errno=%d\n", rv, errno); }
    errno = 0; { int rv = inotify_add_watch(1, dir, IN_ALL_EVENTS); printf("add_watch(not inotify): %d errno=%d\n", rv, errno); }
    errno = 0; { int rv = inotify_add_watch(fd, dir, 0); printf("add_watch(no bits): %d errno=%d\n", rv, errno); }
    errno = 0; { int rv = inotify_add_watch(fd, dir, IN_CREATE | IN_MASK_ADD | IN_MASK_CREATE); printf("add_watch(add|create): %d errno=%d\n", rv, errno); }
    errno = 0; { int rv = inotify_add_watch(fd, "/nonexistent/x", IN_CREATE); printf("add_watch(missing): %d errno=%d\n", rv, errno); }
    int dw = inotify_add_watch(fd, dir, IN_ALL_EVENTS);
    printf("dir watch: %d; again: %d\n", dw, inotify_add_watch(fd, dir, IN_ALL_EVENTS));
    errno = 0; { int rv = inotify_add_watch(fd, dir, IN_CREATE | IN_MASK_CREATE); printf("mask_create on watched: %d errno=%d\n", rv, errno); }
    drain(fd, "nothing yet");

    int w = open(f, O_CREAT | O_WRONLY, 0644);
    if (write(w, "hello", 5) != 5) printf("write failed\n");
    close(w);
    drain(fd, "create, write, close");
    errno = 0; { int rv = inotify_add_watch(fd, f, IN_ALL_EVENTS | IN_ONLYDIR); printf("onlydir on a file: %d errno=%d\n", rv, errno); }
    int fw = inotify_add_watch(fd, f, IN_ALL_EVENTS);
    printf("file watch: %d\n", fw > dw);
    char b[8];
    int r = open(f, O_RDONLY);
    if (read(r, b, sizeof b) != 5) printf("read failed\n");
    close(r);
    drain(fd, "open, read, close (file and dir watch)");
    chmod(f, 0600);
    drain(fd, "chmod");
    struct pollfd p = {fd, POLLIN, 0};
    printf("poll before: %d\n", poll(&p, 1, 0));
    rename(f, g);
    printf("poll after: %d revents=%#x\n", poll(&p, 1, 0), p.revents);
    int avail = -1;
    ioctl(fd, FIONREAD, &avail);
    printf("FIONREAD: %d\n", avail);
    char tiny[8];
    errno = 0; { ssize_t rv = read(fd, tiny, sizeof tiny); printf("short read: %zd errno=%d\n", rv, errno); }
    drain(fd, "rename");
    mkdir(sub, 0755);
    int sw = inotify_add_watch(fd, sub, IN_DELETE_SELF | IN_ONESHOT);
    rmdir(sub);
    drain(fd, "mkdir, rmdir of a oneshot-watched dir");
    (void)sw;
    unlink(g);
    drain(fd, "unlink (file watch ends)");
    errno = 0; { int rv = inotify_rm_watch(fd, fw); printf("rm_watch(gone): %d errno=%d\n", rv, errno); }
    printf("rm_watch(dir): %d\n", inotify_rm_watch(fd, dw));
    drain(fd, "after rm_watch");
    w = open(f, O_CREAT | O_WRONLY, 0644);
    close(w);
    unlink(f);
    drain(fd, "no watch: nothing");
    rmdir(dir);
    close(fd);
    return 0;
}

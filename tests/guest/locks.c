/* POSIX record locks (fcntl F_SETLK/F_SETLKW/F_GETLK) and open-file-description locks
 * (F_OFD_*): when they are released. Linux drops all of a process's record locks on a file
 * when the process closes *any* fd of that file (close, dup2 over it, close_range, the
 * close-on-exec sweep of execve) and when it exits; OFD locks go with the last close of their
 * open file description. Every release is checked with a waiter child blocked in F_SETLKW (it
 * must wake up). Output names no pids or paths, so it can be compared with a native run.
 *
 *   locks DIR              run every case on DIR/locks.dat
 *   locks --exec-child GO READY  (internal) what a locking child execs: writes a byte to fd
 *                                READY, then waits for EOF on fd GO */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static char path[4096];
static const char *self_exe;

static int open_file(void) {
    int fd = open(path, O_RDWR);
    if (fd < 0) {
        perror("open");
        exit(1);
    }
    return fd;
}

static int lock(int fd, int cmd, short type, off_t start, off_t len) {
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    return fcntl(fd, cmd, &fl);
}

/* Prints what F_GETLK (or F_OFD_GETLK) reports for a write lock over [start, start+len):
 * "unlocked", or the conflicting lock with its l_pid as "holder" (== holder), "-1" or "other". */
static void show_getlk(const char *what, int fd, int cmd, off_t start, off_t len, pid_t holder) {
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    if (fcntl(fd, cmd, &fl) < 0) {
        printf("%s: getlk failed: %s\n", what, strerror(errno));
        return;
    }
    if (fl.l_type == F_UNLCK) {
        printf("%s: unlocked\n", what);
        return;
    }
    const char *pid = fl.l_pid == holder ? "holder" : fl.l_pid == -1 ? "-1" : "other";
    printf("%s: %s lock start=%ld len=%ld pid=%s\n", what, fl.l_type == F_WRLCK ? "write" : "read", (long)fl.l_start,
           (long)fl.l_len, pid);
}

/* F_GETLK from a fresh child process (a different lock owner). */
static void show_getlk_from_child(const char *what, int cmd, pid_t holder) {
    pid_t c = fork();
    if (c == 0) {
        int fd = open_file();
        show_getlk(what, fd, cmd, 0, 100, holder);
        _exit(0);
    }
    waitpid(c, NULL, 0);
}

/* A child that takes a write lock on [0,100) with `cmd` (F_SETLKW or F_OFD_SETLKW) on its own
 * open of the file and reports through a pipe: 'w' just before waiting, then 'g' (got it). */
struct waiter {
    pid_t pid;
    int rfd;
};

static struct waiter start_waiter(int cmd) {
    int p[2];
    if (pipe(p) < 0) {
        perror("pipe");
        exit(1);
    }
    pid_t c = fork();
    if (c == 0) {
        /* Keep no copy of the parent's descriptions (an OFD lock lives while one exists). */
        int out = dup2(p[1], 3);
        syscall(SYS_close_range, 4, ~0U, 0);
        int fd = open_file();
        write(out, "w", 1);
        char r = lock(fd, cmd, F_WRLCK, 0, 100) == 0 ? 'g' : 'e';
        write(out, &r, 1);
        _exit(0);
    }
    close(p[1]);
    char b;
    if (read(p[0], &b, 1) != 1 || b != 'w') {
        printf("waiter did not start\n");
        exit(1);
    }
    return (struct waiter){c, p[0]};
}

/* The waiter must still be waiting (the lock is held): nothing arrives within 100 ms. */
static void expect_blocked(const char *what, struct waiter w) {
    struct pollfd pfd = {.fd = w.rfd, .events = POLLIN};
    int n = poll(&pfd, 1, 100);
    printf("%s: waiter %s\n", what, n == 0 ? "blocked" : "NOT blocked");
}

/* After the release the waiter gets the lock (waits for it without a bound: a missed release
 * or wake-up hangs here, and the test harness's timeout reports it). */
static void finish_waiter(const char *what, struct waiter w) {
    char b = 0;
    ssize_t n = read(w.rfd, &b, 1);
    printf("%s: waiter %s\n", what, n == 1 && b == 'g' ? "got the lock" : "failed");
    close(w.rfd);
    waitpid(w.pid, NULL, 0);
}

/* A child that keeps running until told to act: the parent writes one byte to `go`. */
struct holder {
    pid_t pid;
    int go;
    int ready;
};

static void wait_go(int fd) {
    char b;
    read(fd, &b, 1);
}

static void tell(int fd) {
    write(fd, "x", 1);
}

static void ready(int fd) {
    write(fd, "r", 1);
}

static void wait_ready(int fd) {
    char b;
    if (read(fd, &b, 1) != 1) {
        printf("child did not get ready\n");
        exit(1);
    }
}

/* The parent closes a duplicate of its locked fd; an fd of another file does not matter. */
static void close_of_a_dup(void) {
    int fd = open_file();
    int dupfd = dup(fd);
    printf("setlk: %d\n", lock(fd, F_SETLK, F_WRLCK, 0, 100));
    show_getlk("own lock", fd, F_GETLK, 0, 100, getpid());
    int other = open("/dev/null", O_RDONLY);
    close(other);
    show_getlk_from_child("after closing another file", F_GETLK, getpid());
    struct waiter w = start_waiter(F_SETLKW);
    expect_blocked("close of a dup", w);
    close(dupfd);
    finish_waiter("close of a dup", w);
    show_getlk_from_child("after close of a dup", F_GETLK, getpid());
    close(fd);
}

/* Read locks are reported with the holder's pid too; an explicit unlock wakes the waiter. */
static void read_lock_and_unlock(void) {
    int fd = open_file();
    printf("setlk read: %d\n", lock(fd, F_SETLK, F_RDLCK, 10, 20));
    show_getlk_from_child("read lock", F_GETLK, getpid());
    struct waiter w = start_waiter(F_SETLKW);
    expect_blocked("unlock", w);
    printf("unlock: %d\n", lock(fd, F_SETLK, F_UNLCK, 0, 0));
    finish_waiter("unlock", w);
    close(fd);
}

/* dup2 and close_range replacing or closing a duplicate release the lock as close does. */
static void dup2_over_a_dup(void) {
    int fd = open_file();
    int dupfd = dup(fd);
    lock(fd, F_SETLK, F_WRLCK, 0, 100);
    struct waiter w = start_waiter(F_SETLKW);
    expect_blocked("dup2", w);
    int null = open("/dev/null", O_RDONLY);
    dup2(null, dupfd);
    finish_waiter("dup2", w);
    close(null);
    close(dupfd);
    close(fd);
}

static void close_range_of_a_dup(void) {
    int fd = open_file();
    int dupfd = dup(fd);
    lock(fd, F_SETLK, F_WRLCK, 0, 100);
    struct waiter w = start_waiter(F_SETLKW);
    expect_blocked("close_range", w);
    printf("close_range: %ld\n", syscall(SYS_close_range, dupfd, dupfd, 0));
    finish_waiter("close_range", w);
    close(fd);
}

/* A child takes a lock and then exits (or is killed) without unlocking or closing. */
static struct holder start_holder(int cmd, int exec_with_cloexec_fd, int exec_without) {
    int go[2], rd[2];
    if (pipe(go) < 0 || pipe(rd) < 0) {
        perror("pipe");
        exit(1);
    }
    pid_t c = fork();
    if (c == 0) {
        close(go[1]);
        close(rd[0]);
        int fd = open_file();
        int cloexec_fd = exec_with_cloexec_fd ? open(path, O_RDWR | O_CLOEXEC) : -1;
        if (lock(fd, cmd, F_WRLCK, 0, 100) < 0) {
            perror("holder lock");
        }
        ready(rd[1]);
        wait_go(go[0]);
        if (exec_with_cloexec_fd || exec_without) {
            char go_arg[16], ready_arg[16];
            snprintf(go_arg, sizeof go_arg, "%d", go[0]);
            snprintf(ready_arg, sizeof ready_arg, "%d", rd[1]);
            char *argv[] = {(char *)self_exe, "--exec-child", go_arg, ready_arg, NULL};
            execv(self_exe, argv);
            perror("execv");
        }
        (void)cloexec_fd;
        _exit(0);
    }
    close(go[0]);
    close(rd[1]);
    wait_ready(rd[0]);
    return (struct holder){c, go[1], rd[0]};
}

static void exit_with_lock_held(void) {
    struct holder h = start_holder(F_SETLK, 0, 0);
    show_getlk_from_child("held by a child", F_GETLK, h.pid);
    struct waiter w = start_waiter(F_SETLKW);
    expect_blocked("holder exits", w);
    tell(h.go);
    finish_waiter("holder exits", w);
    waitpid(h.pid, NULL, 0);
    close(h.go);
    close(h.ready);
}

static void killed_with_lock_held(void) {
    struct holder h = start_holder(F_SETLK, 0, 0);
    struct waiter w = start_waiter(F_SETLKW);
    expect_blocked("holder killed", w);
    kill(h.pid, SIGKILL);
    finish_waiter("holder killed", w);
    waitpid(h.pid, NULL, 0);
    close(h.go);
    close(h.ready);
}

/* execve keeps the process's locks, except that its close-on-exec sweep closing an fd of the
 * file drops them (the fd the lock was taken through stays open). */
static void execve_keeps_locks(void) {
    struct holder h = start_holder(F_SETLK, 0, 1);
    tell(h.go); /* exec, with no close-on-exec fd of the file */
    wait_ready(h.ready);
    show_getlk_from_child("after execve", F_GETLK, h.pid);
    kill(h.pid, SIGKILL);
    waitpid(h.pid, NULL, 0);
    close(h.go);
    close(h.ready);
}

static void execve_closes_cloexec_fd(void) {
    struct holder h = start_holder(F_SETLK, 1, 0);
    struct waiter w = start_waiter(F_SETLKW);
    expect_blocked("execve cloexec sweep", w);
    tell(h.go);
    finish_waiter("execve cloexec sweep", w);
    wait_ready(h.ready);
    close(h.go); /* the exec'd child sees EOF and exits */
    close(h.ready);
    waitpid(h.pid, NULL, 0);
}

/* OFD locks belong to the open file description: closing a dup keeps it, the last close drops
 * it; F_GETLK reports l_pid -1 for them. */
static void ofd_last_close(void) {
    int fd = open_file();
    printf("ofd setlk: %d\n", lock(fd, F_OFD_SETLK, F_WRLCK, 0, 10));
    int dupfd = dup(fd);
    close(fd);
    int other = open_file();
    show_getlk("ofd after close of one fd", other, F_OFD_GETLK, 0, 100, -2);
    show_getlk("ofd seen by F_GETLK", other, F_GETLK, 0, 100, -2);
    struct flock with_pid = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 50, .l_len = 1, .l_pid = 1};
    printf("ofd with l_pid set: %s\n", fcntl(other, F_OFD_SETLK, &with_pid) < 0 && errno == EINVAL ? "EINVAL" : "accepted");
    printf("ofd conflicts in the same process: %s\n",
           lock(other, F_OFD_SETLK, F_WRLCK, 5, 1) < 0 && errno == EAGAIN ? "EAGAIN" : "no");
    struct waiter w = start_waiter(F_OFD_SETLKW);
    expect_blocked("ofd last close", w);
    close(dupfd);
    finish_waiter("ofd last close", w);
    show_getlk("ofd after last close", other, F_OFD_GETLK, 0, 100, -2);
    close(other);
}

/* A description shared with a child by fork keeps its OFD lock until the child closes it too. */
static void ofd_shared_by_fork(void) {
    int fd = open_file();
    lock(fd, F_OFD_SETLK, F_WRLCK, 0, 100);
    int go[2];
    if (pipe(go) < 0) {
        perror("pipe");
        exit(1);
    }
    pid_t c = fork();
    if (c == 0) {
        close(go[1]);
        wait_go(go[0]);
        _exit(0);
    }
    close(go[0]);
    close(fd);
    show_getlk_from_child("ofd held by the fork child's fd", F_OFD_GETLK, -2);
    struct waiter w = start_waiter(F_OFD_SETLKW);
    expect_blocked("ofd child exits", w);
    tell(go[1]);
    finish_waiter("ofd child exits", w);
    waitpid(c, NULL, 0);
    close(go[1]);
}

/* Locks are not inherited by fork: the child's close does not drop the parent's lock. */
static void fork_child_close_keeps_parent_lock(void) {
    int fd = open_file();
    lock(fd, F_SETLK, F_WRLCK, 0, 100);
    pid_t c = fork();
    if (c == 0) {
        close(fd);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    show_getlk_from_child("after a fork child closed its copy", F_GETLK, getpid());
    close(fd);
}

static void on_alarm(int sig) {
    (void)sig;
}

/* A signal with a handler (no SA_RESTART) interrupts F_SETLKW with EINTR. */
static void setlkw_interrupted(void) {
    struct holder h = start_holder(F_SETLK, 0, 0);
    struct sigaction sa = {.sa_handler = on_alarm};
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {.it_value = {.tv_usec = 100000}};
    setitimer(ITIMER_REAL, &it, NULL);
    int fd = open_file();
    int r = lock(fd, F_SETLKW, F_WRLCK, 0, 100);
    printf("setlkw with a signal: %d %s\n", r, r < 0 && errno == EINTR ? "EINTR" : "?");
    tell(h.go);
    waitpid(h.pid, NULL, 0);
    close(h.go);
    close(h.ready);
    close(fd);
}

static void exec_child(const char *go_arg, const char *ready_arg) {
    int fd = atoi(go_arg);
    ready(atoi(ready_arg));
    char b;
    while (read(fd, &b, 1) > 0) {
    }
    _exit(0);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 4 && strcmp(argv[1], "--exec-child") == 0) {
        exec_child(argv[2], argv[3]);
    }
    if (argc != 2) {
        fprintf(stderr, "usage: locks DIR\n");
        return 2;
    }
    self_exe = argv[0];
    snprintf(path, sizeof path, "%s/locks.dat", argv[1]);
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (fd < 0 || write(fd, "0123456789", 10) != 10) {
        perror(path);
        return 1;
    }
    close(fd);
    close_of_a_dup();
    read_lock_and_unlock();
    dup2_over_a_dup();
    close_range_of_a_dup();
    exit_with_lock_held();
    killed_with_lock_held();
    execve_keeps_locks();
    execve_closes_cloexec_fd();
    ofd_last_close();
    ofd_shared_by_fork();
    fork_child_close_keeps_parent_lock();
    setlkw_interrupted();
    printf("done\n");
    return 0;
}

/* epoll: every errno of epoll_create/epoll_ctl/epoll_wait/epoll_pwait/epoll_pwait2, level- and
 * edge-triggered readiness on pipes, EPOLLONESHOT, EPOLLERR/EPOLLHUP, nested epolls and epoll in
 * poll, registrations following the open file description (dup, close, fork), timerfd and
 * eventfd readiness, the ready list's order, and epoll_pwait's signal mask. Output is errno
 * names, event bits and counts only, so it can be compared with the same program run natively.
 *
 * Also signalfd: its errors, reads (records, several at once, SIGCHLD's fields), mask
 * changes, and readiness in poll and epoll.
 *
 * Usage: epoll SECTION   (errors, ltet, oneshot, hup, nested, inpoll, dup, fork, fds, order,
 *                         sigmask, timeout, signalfd) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The errno name of a call returning -1, else its value. */
static char res_buf[8][64];
static int res_next;
static const char *res(long r) {
    char *b = res_buf[res_next++ % 8];
    if (r == -1) snprintf(b, 64, "%s", strerrorname_np(errno));
    else snprintf(b, 64, "%ld", r);
    return b;
}

static int add(int ep, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev = { .events = events, .data.u64 = data };
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static int mod(int ep, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev = { .events = events, .data.u64 = data };
    return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

/* Prints what one epoll_wait reports: "n [events/data ...]". */
static void show(const char *what, int ep, int max, int timeout) {
    struct epoll_event evs[16];
    int n = epoll_wait(ep, evs, max, timeout);
    printf("%s: %s", what, res(n));
    for (int i = 0; i < n; i++) printf(" %#x/%llu", evs[i].events, (unsigned long long)evs[i].data.u64);
    printf("\n");
}

static void errors(void) {
    int p[2], q[2];
    if (pipe(p) || pipe(q)) exit(1);
    printf("create(0): %s\n", res(epoll_create(0)));
    printf("create(-1): %s\n", res(epoll_create(-1)));
    printf("create1(1): %s\n", res(epoll_create1(1)));
    printf("create1(O_NONBLOCK): %s\n", res(epoll_create1(O_NONBLOCK)));
    int ep = epoll_create(1);
    printf("create(1) cloexec: %d\n", fcntl(ep, F_GETFD));
    int epc = epoll_create1(EPOLL_CLOEXEC);
    printf("create1(CLOEXEC) cloexec: %d flags: %#x\n", fcntl(epc, F_GETFD), fcntl(epc, F_GETFL) & O_ACCMODE);
    struct stat st;
    fstat(ep, &st);
    printf("fstat mode: %#o\n", st.st_mode);
    char link[64], target[64] = "";
    snprintf(link, sizeof link, "/proc/self/fd/%d", ep);
    readlink(link, target, sizeof target - 1);
    printf("fd link: %s\n", target);

    struct epoll_event ev = { .events = EPOLLIN };
    printf("ctl bad epfd: %s\n", res(epoll_ctl(999, EPOLL_CTL_ADD, p[0], &ev)));
    printf("ctl bad fd: %s\n", res(epoll_ctl(ep, EPOLL_CTL_ADD, 999, &ev)));
    printf("ctl epfd not epoll: %s\n", res(epoll_ctl(q[0], EPOLL_CTL_ADD, p[0], &ev)));
    printf("ctl epfd == fd: %s\n", res(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev)));
    int dupep = dup(ep);
    printf("ctl epfd dup of itself: %s\n", res(epoll_ctl(ep, EPOLL_CTL_ADD, dupep, &ev)));
    int reg = open("/tmp/epoll_regular", O_RDWR | O_CREAT | O_TRUNC, 0600);
    printf("ctl regular file: %s\n", res(epoll_ctl(ep, EPOLL_CTL_ADD, reg, &ev)));
    int dir = open("/", O_RDONLY | O_DIRECTORY);
    printf("ctl directory: %s\n", res(epoll_ctl(ep, EPOLL_CTL_ADD, dir, &ev)));
    int null = open("/dev/null", O_RDWR);
    printf("ctl /dev/null: %s\n", res(epoll_ctl(ep, EPOLL_CTL_ADD, null, &ev)));
    int opath = open("/tmp", O_PATH);
    printf("ctl O_PATH fd: %s\n", res(epoll_ctl(ep, EPOLL_CTL_ADD, opath, &ev)));
    int opath_ep = open("/proc/self/fd/3", O_PATH);
    printf("ctl O_PATH fd as epfd: %s\n", res(epoll_ctl(opath_ep, EPOLL_CTL_ADD, p[0], &ev)));
    printf("wait on an O_PATH fd: %s\n", res(epoll_wait(opath, (struct epoll_event *)&ev, 1, 0)));
    printf("ctl ADD null event: %s\n", res(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], NULL)));
    printf("ctl ADD null event, bad epfd: %s\n", res(epoll_ctl(999, EPOLL_CTL_ADD, p[0], NULL)));
    printf("ctl bad op null event: %s\n", res(epoll_ctl(ep, 7, p[0], NULL)));
    printf("ctl bad op: %s\n", res(epoll_ctl(ep, 7, p[0], &ev)));
    printf("ctl bad op on regular file: %s\n", res(epoll_ctl(ep, 7, reg, &ev)));
    printf("ctl MOD missing: %s\n", res(mod(ep, p[0], EPOLLIN, 0)));
    printf("ctl DEL missing: %s\n", res(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL)));
    printf("ctl ADD: %s\n", res(add(ep, p[0], EPOLLIN, 1)));
    printf("ctl ADD again: %s\n", res(add(ep, p[0], EPOLLIN, 1)));
    printf("ctl MOD: %s\n", res(mod(ep, p[0], EPOLLIN | EPOLLOUT, 2)));
    printf("ctl MOD exclusive: %s\n", res(mod(ep, p[0], EPOLLIN | EPOLLEXCLUSIVE, 2)));
    printf("ctl DEL null event: %s\n", res(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL)));
    printf("ctl DEL again: %s\n", res(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL)));
    printf("ctl ADD exclusive|oneshot: %s\n", res(add(ep, p[0], EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT, 0)));
    printf("ctl ADD exclusive|rdhup: %s\n", res(add(ep, p[0], EPOLLIN | EPOLLEXCLUSIVE | EPOLLRDHUP, 0)));
    printf("ctl ADD exclusive|et: %s\n", res(add(ep, p[0], EPOLLIN | EPOLLEXCLUSIVE | EPOLLET, 0)));
    printf("ctl MOD of an exclusive item: %s\n", res(mod(ep, p[0], EPOLLIN, 0)));
    printf("ctl ADD wakeup: %s\n", res(add(ep, q[0], EPOLLIN | EPOLLWAKEUP, 5)));
    write(q[1], "x", 1);
    show("wait wakeup item", ep, 4, 0);
    int inner = epoll_create1(0);
    printf("ctl ADD exclusive epoll: %s\n", res(add(ep, inner, EPOLLIN | EPOLLEXCLUSIVE, 0)));
    printf("ctl ADD epoll: %s\n", res(add(ep, inner, EPOLLIN, 0)));
    printf("ctl ADD loop: %s\n", res(add(inner, ep, EPOLLIN, 0)));
    printf("ctl ADD loop via dup: %s\n", res(add(inner, dupep, EPOLLIN, 0)));

    /* Chains: bottom-up (each new epoll watches the last) and top-down (each new one is
     * added below the last). */
    int e[8], n;
    e[0] = epoll_create1(0);
    for (n = 1; n < 8; n++) {
        e[n] = epoll_create1(0);
        if (add(e[n], e[n - 1], EPOLLIN, 0)) break;
    }
    printf("chain bottom-up stops at %d: %s\n", n, strerrorname_np(errno));
    e[0] = epoll_create1(0);
    for (n = 1; n < 8; n++) {
        e[n] = epoll_create1(0);
        if (add(e[n - 1], e[n], EPOLLIN, 0)) break;
    }
    printf("chain top-down stops at %d: %s\n", n, strerrorname_np(errno));

    struct epoll_event out[4];
    printf("wait maxevents 0: %s\n", res(syscall(SYS_epoll_wait, ep, out, 0, 0)));
    printf("wait maxevents -1: %s\n", res(syscall(SYS_epoll_wait, ep, out, -1, 0)));
    printf("wait maxevents 0 bad fd: %s\n", res(syscall(SYS_epoll_wait, 999, out, 0, 0)));
    printf("wait maxevents huge: %s\n", res(syscall(SYS_epoll_wait, ep, out, 0x7fffffff, 0)));
    printf("wait bad epfd: %s\n", res(epoll_wait(999, out, 4, 0)));
    printf("wait not epoll: %s\n", res(epoll_wait(p[0], out, 4, 0)));
    printf("wait kernel pointer: %s\n", res(epoll_wait(ep, (void *)0xffff888000000000ULL, 4, 0)));
    printf("wait kernel pointer, not epoll: %s\n", res(epoll_wait(p[0], (void *)0xffff888000000000ULL, 4, 0)));
    printf("wait kernel pointer bad fd: %s\n", res(epoll_wait(999, (void *)0xffff888000000000ULL, 4, 0)));
    printf("wait NULL with events: %s\n", res(epoll_wait(ep, NULL, 4, 0)));
    show("the event is still there", ep, 4, 0);
    int idle = epoll_create1(0);
    printf("wait NULL, nothing ready: %s\n", res(epoll_wait(idle, NULL, 4, 0)));
    sigset_t m;
    sigemptyset(&m);
    printf("pwait bad sigsetsize: %s\n", res(syscall(SYS_epoll_pwait, ep, out, 4, 0, &m, 4)));
    printf("pwait bad sigmask ptr: %s\n", res(syscall(SYS_epoll_pwait, ep, out, 4, 0, (void *)8, 8)));
    printf("pwait null sigmask any size: %s\n", res(syscall(SYS_epoll_pwait, idle, out, 4, 0, NULL, 4)));
    struct timespec bad = { 0, 1000000000 }, neg = { -1, 0 }, zero = { 0, 0 };
    printf("pwait2 bad nsec: %s\n", res(syscall(SYS_epoll_pwait2, idle, out, 4, &bad, NULL, 8)));
    printf("pwait2 negative: %s\n", res(syscall(SYS_epoll_pwait2, idle, out, 4, &neg, NULL, 8)));
    printf("pwait2 bad pointer: %s\n", res(syscall(SYS_epoll_pwait2, idle, out, 4, (void *)8, NULL, 8)));
    printf("pwait2 bad pointer maxevents 0: %s\n", res(syscall(SYS_epoll_pwait2, idle, out, 0, (void *)8, NULL, 8)));
    printf("pwait2 zero: %s\n", res(syscall(SYS_epoll_pwait2, idle, out, 4, &zero, NULL, 8)));
    char c;
    printf("read epoll: %s\n", res(read(ep, &c, 1)));
    printf("write epoll: %s\n", res(write(ep, "x", 1)));
}

/* Level- vs edge-triggered on a pipe. */
static void ltet(void) {
    int p[2];
    pipe(p);
    int lt = epoll_create1(0), et = epoll_create1(0);
    add(lt, p[0], EPOLLIN, 1);
    add(et, p[0], EPOLLIN | EPOLLET, 2);
    show("lt empty", lt, 4, 0);
    show("et empty", et, 4, 0);
    write(p[1], "ab", 2);
    show("lt after write", lt, 4, 0);
    show("lt again", lt, 4, 0);
    show("et after write", et, 4, 0);
    show("et again", et, 4, 0);
    write(p[1], "c", 1);
    show("et after a second write", et, 4, 0);
    show("et again", et, 4, 0);
    char b[8];
    read(p[0], b, 1);
    show("lt after a partial read", lt, 4, 0);
    show("et after a partial read", et, 4, 0);
    read(p[0], b, 8);
    show("lt after draining", lt, 4, 0);
    show("et after draining", et, 4, 0);
    /* The write end: EPOLLOUT while there is room. */
    int w = epoll_create1(0);
    add(w, p[1], EPOLLOUT | EPOLLET, 3);
    show("et write end", w, 4, 0);
    show("et write end again", w, 4, 0);
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    char big[4096];
    memset(big, 'x', sizeof big);
    int chunks = 0;
    while (write(p[1], big, sizeof big) > 0) chunks++;
    printf("filled with %d pages\n", chunks);
    show("et write end full", w, 4, 0);
    read(p[0], big, sizeof big);
    show("et write end after a page is read", w, 4, 0);
    /* A blocking wait woken by a child's write. */
    int q[2];
    pipe(q);
    int ep = epoll_create1(0);
    add(ep, q[0], EPOLLIN | EPOLLET, 9);
    if (fork() == 0) {
        usleep(50000);
        write(q[1], "z", 1);
        _exit(0);
    }
    show("blocking wait", ep, 4, -1);
    wait(NULL);
    /* MOD changes the mask and the data. */
    mod(lt, p[0], EPOLLOUT, 11);
    show("lt read end after MOD to EPOLLOUT", lt, 4, 0);
    write(p[1], "", 0);
}

static void oneshot(void) {
    int p[2];
    pipe(p);
    int ep = epoll_create1(0);
    add(ep, p[0], EPOLLIN | EPOLLONESHOT, 1);
    write(p[1], "a", 1);
    show("oneshot first", ep, 4, 0);
    show("oneshot second", ep, 4, 0);
    write(p[1], "b", 1);
    show("oneshot after another write", ep, 4, 0);
    close(p[1]);
    show("oneshot after the writer closed", ep, 4, 0);
    printf("MOD re-arms: %s\n", res(mod(ep, p[0], EPOLLIN | EPOLLONESHOT, 2)));
    show("oneshot re-armed", ep, 4, 0);
    show("oneshot re-armed second", ep, 4, 0);
    printf("ADD while disabled: %s\n", res(add(ep, p[0], EPOLLIN, 3)));
    printf("DEL while disabled: %s\n", res(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL)));
}

/* EPOLLERR and EPOLLHUP are reported unasked; EPOLLRDHUP and EPOLLPRI only where they apply. */
static void hup(void) {
    int p[2];
    pipe(p);
    int ep = epoll_create1(0);
    add(ep, p[0], 0, 1);
    add(ep, p[1], EPOLLIN, 2);
    show("nothing asked, nothing ready", ep, 4, 0);
    int q[2];
    pipe(q);
    add(ep, q[0], EPOLLIN | EPOLLRDHUP | EPOLLPRI, 3);
    add(ep, q[1], EPOLLOUT, 4);
    show("rdhup/pri/out", ep, 4, 0);
    close(p[1]);
    show("writer closed: HUP unasked", ep, 4, 0);
    close(q[0]);
    show("reader closed: ERR on the write end", ep, 4, 0);
    write(q[1], "", 0);
}

/* An epoll inside another: readable when its ready list has a ready item. */
static void nested(void) {
    int p[2];
    pipe(p);
    int inner = epoll_create1(0), outer = epoll_create1(0), et = epoll_create1(0);
    add(inner, p[0], EPOLLIN, 1);
    add(outer, inner, EPOLLIN, 2);
    add(et, inner, EPOLLIN | EPOLLET, 3);
    show("outer idle", outer, 4, 0);
    show("et idle", et, 4, 0);
    write(p[1], "a", 1);
    show("outer after write", outer, 4, 0);
    show("outer again", outer, 4, 0);
    show("et after write", et, 4, 0);
    show("et again", et, 4, 0);
    show("inner", inner, 4, 0);
    show("et after inner wait", et, 4, 0);
    char c;
    read(p[0], &c, 1);
    show("outer after read", outer, 4, 0);
    show("inner after read", inner, 4, 0);
    int top = epoll_create1(0);
    add(top, outer, EPOLLIN, 4);
    if (fork() == 0) {
        usleep(50000);
        write(p[1], "b", 1);
        _exit(0);
    }
    show("three levels, blocking", top, 4, -1);
    wait(NULL);
    printf("DEL inner: %s\n", res(epoll_ctl(outer, EPOLL_CTL_DEL, inner, NULL)));
    show("outer after DEL", outer, 4, 0);
}

/* Prints what one poll of `fd` for POLLIN|POLLOUT reports. */
static void show_poll(const char *what, int fd, int timeout) {
    struct pollfd pf = { .fd = fd, .events = POLLIN | POLLOUT };
    int n = poll(&pf, 1, timeout);
    printf("%s: %s revents %#x\n", what, res(n), pf.revents);
}

/* An epoll in poll(2), and poll's own wake-up through it. */
static void inpoll(void) {
    int p[2];
    pipe(p);
    int ep = epoll_create1(0);
    add(ep, p[0], EPOLLIN, 1);
    show_poll("poll idle", ep, 0);
    write(p[1], "a", 1);
    show_poll("poll ready", ep, 0);
    char c;
    read(p[0], &c, 1);
    show_poll("poll after read", ep, 0);
    if (fork() == 0) {
        usleep(50000);
        write(p[1], "b", 1);
        _exit(0);
    }
    show_poll("poll blocking", ep, -1);
    wait(NULL);
    fd_set r;
    FD_ZERO(&r);
    FD_SET(ep, &r);
    struct timeval tv = { 0, 0 };
    int n = select(ep + 1, &r, NULL, NULL, &tv);
    printf("select: %s set %d\n", res(n), FD_ISSET(ep, &r));
}

/* Registrations follow the open file description: (fd, file) keys, dup and close. */
static void dups(void) {
    int p[2];
    pipe(p);
    int ep = epoll_create1(0);
    int d = dup(p[0]);
    printf("ADD fd: %s\n", res(add(ep, p[0], EPOLLIN, 1)));
    printf("ADD its dup: %s\n", res(add(ep, d, EPOLLIN, 2)));
    write(p[1], "a", 1);
    show("both reported", ep, 4, 0);
    printf("DEL dup: %s\n", res(epoll_ctl(ep, EPOLL_CTL_DEL, d, NULL)));
    close(p[0]);
    show("the original fd closed, its dup open: still reported", ep, 4, 0);
    printf("DEL the closed fd: %s\n", res(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL)));
    printf("DEL via the dup: %s\n", res(epoll_ctl(ep, EPOLL_CTL_DEL, d, NULL)));
    int again = dup2(d, p[0]);
    printf("MOD via the old number, same file again: %s\n", res(mod(ep, again, EPOLLIN, 7)));
    show("after MOD", ep, 4, 0);
    close(p[0]);
    close(d);
    show("every fd closed: gone", ep, 4, 0);
    int q[2];
    pipe(q);
    printf("new pipe on fd %d: %d\n", q[0], q[0] == p[0] || q[0] == d);
    printf("ADD the new file: %s\n", res(add(ep, q[0], EPOLLIN, 3)));
    write(q[1], "b", 1);
    show("the new file", ep, 4, 0);
    /* A registration does not keep a file open: the writer's close reaches the reader. */
    int r[2];
    pipe(r);
    add(ep, r[1], EPOLLOUT, 4);
    close(r[1]);
    char c;
    printf("read after the only writer closed: %s\n", res(read(r[0], &c, 1)));
    /* Closing the epoll while a file is watched is fine; the file lives on. */
    close(ep);
    printf("pipe still works: %s\n", res(read(q[0], &c, 1)));
}

/* fork shares the epoll and its registrations. */
static void forks(void) {
    int p[2];
    pipe(p);
    int ep = epoll_create1(0);
    pid_t c = fork();
    if (c == 0) {
        printf("child ADD: %s\n", res(add(ep, p[0], EPOLLIN, 42)));
        fflush(stdout);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    printf("parent ADD of the same fd: %s\n", res(add(ep, p[0], EPOLLIN, 1)));
    write(p[1], "x", 1);
    show("parent sees the child's registration", ep, 4, 0);
    c = fork();
    if (c == 0) {
        show("child waits on the shared epoll", ep, 4, 0);
        close(p[0]);
        close(ep);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    show("parent after the child closed its copies", ep, 4, 0);
}

/* timerfd and eventfd readiness. */
static void fds(void) {
    int ep = epoll_create1(0);
    int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
    add(ep, tfd, EPOLLIN, 1);
    show("timerfd unarmed", ep, 4, 0);
    struct itimerspec its = { .it_value = { 1, 0 } };
    timerfd_settime(tfd, 0, &its, NULL);
    show("timerfd armed, not yet", ep, 4, 0);
    show("timerfd expired", ep, 4, -1);
    uint64_t v;
    printf("timerfd read: %s\n", res(read(tfd, &v, 8)));
    show("timerfd after read", ep, 4, 0);
    int efd = eventfd(0, EFD_NONBLOCK);
    int e2 = epoll_create1(0);
    add(e2, efd, EPOLLIN | EPOLLOUT, 2);
    show("eventfd 0", e2, 4, 0);
    uint64_t one = 1;
    write(efd, &one, 8);
    show("eventfd 1", e2, 4, 0);
    int et = epoll_create1(0);
    add(et, efd, EPOLLIN | EPOLLET, 3);
    show("eventfd et", et, 4, 0);
    show("eventfd et again", et, 4, 0);
    write(efd, &one, 8);
    show("eventfd et after another write", et, 4, 0);
    read(efd, &v, 8);
    show("eventfd after read", e2, 4, 0);
    uint64_t max = 0xfffffffffffffffeULL;
    write(efd, &max, 8);
    show("eventfd full", e2, 4, 0);
    read(efd, &v, 8);
    if (fork() == 0) {
        usleep(50000);
        write(efd, &one, 8);
        _exit(0);
    }
    show("eventfd blocking wait", et, 4, -1);
    wait(NULL);
}

/* With fewer slots than ready items, level-triggered items take turns. */
static void order(void) {
    int ep = epoll_create1(0);
    int p[4][2];
    for (int i = 0; i < 4; i++) {
        pipe(p[i]);
        write(p[i][1], "x", 1);
        add(ep, p[i][0], EPOLLIN, i);
    }
    for (int k = 0; k < 6; k++) show("one slot", ep, 1, 0);
    show("three slots", ep, 3, 0);
    show("all", ep, 16, 0);
    char c;
    read(p[1][0], &c, 1);
    show("one drained", ep, 16, 0);
}

static volatile sig_atomic_t usr1;
static void on_usr1(int s) { (void)s; usr1++; }

/* epoll_pwait with a mask that lets SIGUSR1 in: EINTR, the handler runs, the old mask is back. */
static void pwait_mask(void) {
    signal(SIGUSR1, on_usr1);
    sigset_t block, open_mask, now;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, NULL);
    sigemptyset(&open_mask);
    int ep = epoll_create1(0);
    int p[2];
    pipe(p);
    add(ep, p[0], EPOLLIN, 1);
    pid_t parent = getpid();
    pid_t c = fork();
    if (c == 0) {
        usleep(50000);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    struct epoll_event ev;
    int r = epoll_pwait(ep, &ev, 1, -1, &open_mask);
    printf("pwait: %s handler ran %d\n", res(r), usr1);
    sigprocmask(SIG_BLOCK, NULL, &now);
    printf("SIGUSR1 blocked again: %d\n", sigismember(&now, SIGUSR1));
    waitpid(c, NULL, 0);
    /* Blocked and pending: epoll_wait does not see it, pwait with the open mask does. */
    kill(getpid(), SIGUSR1);
    printf("wait with SIGUSR1 blocked and pending: %s\n", res(epoll_wait(ep, &ev, 1, 20)));
    r = epoll_pwait(ep, &ev, 1, -1, &open_mask);
    printf("pwait with it pending: %s handler ran %d\n", res(r), usr1);
    /* Ready events win over a pending signal. */
    write(p[1], "x", 1);
    kill(getpid(), SIGUSR1);
    r = epoll_pwait(ep, &ev, 1, -1, &open_mask);
    printf("pwait ready and pending: %s handler ran %d\n", res(r), usr1);
    r = syscall(SYS_epoll_pwait2, ep, &ev, 1, NULL, &open_mask, 8);
    printf("pwait2 ready: %s\n", res(r));
    sigprocmask(SIG_BLOCK, NULL, &now);
    printf("SIGUSR1 still blocked: %d\n", sigismember(&now, SIGUSR1));
    /* An unblocked signal with a handler and SA_RESTART still gives EINTR (the child keeps
     * signalling, so one lands while the parent waits however late it gets there). */
    struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
    sigaction(SIGUSR1, &sa, NULL);
    char c1;
    read(p[0], &c1, 1);
    sigprocmask(SIG_UNBLOCK, &block, NULL);
    c = fork();
    if (c == 0) {
        for (;;) {
            usleep(20000);
            kill(parent, SIGUSR1);
        }
    }
    int before = usr1;
    r = epoll_wait(ep, &ev, 1, -1);
    printf("wait with SA_RESTART: %s handler ran: %d\n", res(r), usr1 > before);
    kill(c, SIGKILL);
    waitpid(c, NULL, 0);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void timeout(void) {
    int ep = epoll_create1(0);
    struct epoll_event ev;
    double t0 = now();
    int r = epoll_wait(ep, &ev, 1, 100);
    double dt = now() - t0;
    printf("wait 100 ms: %s, waited long enough: %d\n", res(r), dt >= 0.099);
    struct timespec ts = { 0, 100000000 };
    t0 = now();
    r = syscall(SYS_epoll_pwait2, ep, &ev, 1, &ts, NULL, 8);
    dt = now() - t0;
    printf("pwait2 100 ms: %s, waited long enough: %d\n", res(r), dt >= 0.099);
}

/* Reads what a signalfd has, printing each record's main fields. */
static void show_sfd(const char *what, int sfd, size_t size) {
    struct signalfd_siginfo si[4];
    ssize_t n = read(sfd, si, size);
    printf("%s: %s", what, res(n));
    for (int i = 0; n > 0 && i < n / (ssize_t)sizeof si[0]; i++)
        printf(" [signo %u code %d pid-is-me %d uid %u int %d]", si[i].ssi_signo, si[i].ssi_code,
               si[i].ssi_pid == (uint32_t)getpid(), si[i].ssi_uid, si[i].ssi_int);
    printf("\n");
}

/* Reads (and drops) whatever a nonblocking signalfd has. */
static void drain(int sfd) {
    struct signalfd_siginfo si[4];
    while (read(sfd, si, sizeof si) > 0) {
    }
}

static void signalfds(void) {
    sigset_t m, usr1, both;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    both = usr1;
    sigaddset(&both, SIGUSR2);
    sigaddset(&both, SIGRTMIN);
    sigaddset(&both, SIGCHLD);
    sigprocmask(SIG_BLOCK, &both, NULL);
    int p[2];
    pipe(p);
    printf("bad sizemask: %s\n", res(syscall(SYS_signalfd4, -1, &usr1, 4, 0)));
    printf("bad mask pointer: %s\n", res(syscall(SYS_signalfd4, -1, (void *)8, 8, 0)));
    printf("bad flags: %s\n", res(syscall(SYS_signalfd4, -1, &usr1, 8, 1)));
    printf("not a signalfd: %s\n", res(signalfd(p[0], &usr1, 0)));
    printf("bad fd: %s\n", res(signalfd(999, &usr1, 0)));
    printf("fd -2: %s\n", res(signalfd(-2, &usr1, 0)));
    int sfd = signalfd(-1, &usr1, SFD_NONBLOCK | SFD_CLOEXEC);
    printf("flags: cloexec %d nonblock %d\n", fcntl(sfd, F_GETFD), (fcntl(sfd, F_GETFL) & O_NONBLOCK) != 0);
    struct stat st;
    fstat(sfd, &st);
    printf("fstat mode: %#o\n", st.st_mode);
    char link[64], target[64] = "";
    snprintf(link, sizeof link, "/proc/self/fd/%d", sfd);
    readlink(link, target, sizeof target - 1);
    printf("fd link: %s\n", target);
    printf("old syscall: %s\n", res(syscall(SYS_signalfd, -1, &usr1, 8) >= 0));
    char small[64];
    struct signalfd_siginfo one;
    printf("read nothing pending: %s\n", res(read(sfd, &one, sizeof one)));
    kill(getpid(), SIGUSR1);
    printf("read short buffer: %s\n", res(read(sfd, small, sizeof small)));
    printf("write: %s\n", res(write(sfd, small, 8)));
    show_poll("poll pending", sfd, 0);
    show_sfd("read", sfd, 4 * sizeof(struct signalfd_siginfo));
    show_poll("poll after read", sfd, 0);
    kill(getpid(), SIGUSR2);
    show_poll("SIGUSR2 pending, not in the mask", sfd, 0);
    printf("new mask on the same fd: %s\n", res(signalfd(sfd, &both, 0) == sfd));
    printf("still nonblocking: %d\n", (fcntl(sfd, F_GETFL) & O_NONBLOCK) != 0);
    show_poll("poll with the new mask", sfd, 0);
    union sigval v = { .sival_int = 42 };
    sigqueue(getpid(), SIGRTMIN, v);
    v.sival_int = 43;
    sigqueue(getpid(), SIGRTMIN, v);
    kill(getpid(), SIGUSR1);
    show_sfd("read four at once", sfd, 4 * sizeof(struct signalfd_siginfo));
    show_sfd("read the last", sfd, 4 * sizeof(struct signalfd_siginfo));
    sigset_t pend;
    sigpending(&pend);
    printf("nothing left pending: %d\n", sigismember(&pend, SIGUSR1) + sigismember(&pend, SIGRTMIN));

    /* In epoll, level- and edge-triggered. */
    int ep = epoll_create1(0), et = epoll_create1(0);
    add(ep, sfd, EPOLLIN, 1);
    add(et, sfd, EPOLLIN | EPOLLET, 2);
    show("epoll idle", ep, 4, 0);
    kill(getpid(), SIGUSR2);
    show("epoll pending", ep, 4, 0);
    show("epoll pending again", ep, 4, 0);
    show("et pending", et, 4, 0);
    show("et again", et, 4, 0);
    show_sfd("read", sfd, sizeof(struct signalfd_siginfo));
    show("epoll after read", ep, 4, 0);

    /* SIGCHLD's record, and a blocking read woken by another process's signal. */
    pid_t c = fork();
    if (c == 0) _exit(3);
    int blocking = signalfd(-1, &both, 0);
    struct signalfd_siginfo si;
    ssize_t n = read(blocking, &si, sizeof si);
    printf("SIGCHLD: %s signo %u code %d status %d pid-is-child %d\n", res(n), si.ssi_signo, si.ssi_code,
           si.ssi_status, si.ssi_pid == (uint32_t)c);
    waitpid(c, NULL, 0);
    pid_t parent = getpid();
    c = fork();
    if (c == 0) {
        usleep(50000);
        kill(parent, SIGUSR2);
        _exit(0);
    }
    show_sfd("blocking read", blocking, sizeof(struct signalfd_siginfo));
    waitpid(c, NULL, 0);
    drain(sfd);
    c = fork();
    if (c == 0) {
        usleep(50000);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    show("epoll blocking wait", ep, 4, -1);
    waitpid(c, NULL, 0);
    show_sfd("read", sfd, sizeof(struct signalfd_siginfo));
    drain(sfd);
    /* A child reads its own signals through the inherited signalfd. */
    c = fork();
    if (c == 0) {
        kill(getpid(), SIGUSR1);
        show_sfd("child reads its own", sfd, sizeof(struct signalfd_siginfo));
        _exit(0);
    }
    waitpid(c, NULL, 0);
    show_sfd("parent has its SIGCHLD", sfd, sizeof(struct signalfd_siginfo));
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *s = argc > 1 ? argv[1] : "";
    if (!strcmp(s, "errors")) errors();
    else if (!strcmp(s, "ltet")) ltet();
    else if (!strcmp(s, "oneshot")) oneshot();
    else if (!strcmp(s, "hup")) hup();
    else if (!strcmp(s, "nested")) nested();
    else if (!strcmp(s, "inpoll")) inpoll();
    else if (!strcmp(s, "dup")) dups();
    else if (!strcmp(s, "fork")) forks();
    else if (!strcmp(s, "fds")) fds();
    else if (!strcmp(s, "order")) order();
    else if (!strcmp(s, "sigmask")) pwait_mask();
    else if (!strcmp(s, "timeout")) timeout();
    else if (!strcmp(s, "signalfd")) signalfds();
    else {
        fprintf(stderr, "usage: epoll SECTION\n");
        return 2;
    }
    return 0;
}

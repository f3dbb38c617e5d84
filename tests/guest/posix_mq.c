/* POSIX message queues compared with Linux (run natively in fresh IPC and mount namespaces):
 *   basic   mq_open/mq_unlink/mq_timedsend/mq_timedreceive/mq_getsetattr results and errors,
 *           priorities, non-blocking descriptors, timeouts, the status text, poll
 *   wait    a sleeping receiver handed the message, a sleeping sender let in by a receive,
 *           signals (EINTR, or restarted under SA_RESTART)
 *   notify  mq_notify: the signal and its siginfo, EBUSY, one shot, unregistering, SIGEV_NONE,
 *           SIGEV_THREAD (glibc's netlink helper thread)
 *   fs      the mqueue filesystem mounted on DIR: queues as files, open(O_CREAT), unlink
 *   perm    an ordinary user (setuid after fork) against root's queues and the limits
 * Root without CAP_SYS_RESOURCE (as test hosts may be) has the ordinary limits, so the
 * privileged ones are not exercised. */
#include "ipc_common.h"
#include <dirent.h>
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

static void show_attr(const char *label, mqd_t q) {
    struct mq_attr a;
    if (mq_getattr(q, &a) == -1) { printf("%s: %s\n", label, strerrorname_np(errno)); return; }
    printf("%s: flags=%s maxmsg=%ld msgsize=%ld curmsgs=%ld\n", label, a.mq_flags & O_NONBLOCK ? "O_NONBLOCK" : "0", a.mq_maxmsg,
           a.mq_msgsize, a.mq_curmsgs);
}

static void recv_show(const char *label, mqd_t q, size_t len, const struct timespec *abs) {
    char buf[10000];
    unsigned prio = 99;
    errno = 0;
    ssize_t n = abs ? mq_timedreceive(q, buf, len, &prio, abs) : mq_receive(q, buf, len, &prio);
    if (n < 0) printf("%s: %s\n", label, strerrorname_np(errno));
    else printf("%s: prio=%u len=%zd text=%.*s\n", label, prio, n, (int)n, buf);
}

/* The status line reading the queue's descriptor gives, with the notifying pid masked. */
static void show_status(const char *label, mqd_t q) {
    char buf[200];
    ssize_t n = pread(q, buf, sizeof buf - 1, 0);
    if (n < 0) { printf("%s: %s\n", label, strerrorname_np(errno)); return; }
    buf[n] = 0;
    char *pid = strstr(buf, "NOTIFY_PID:");
    if (pid && atoi(pid + 11)) sprintf(pid + 11, "%s", atoi(pid + 11) == getpid() ? "self\n" : "other\n");
    printf("%s (%zd bytes): %s", label, n, buf);
}

/* Prints the names in `dir` (without . and ..), sorted. */
static void list_dir(const char *label, const char *dir) {
    char names[16][64];
    int k = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) && k < 16)
        if (e->d_name[0] != '.') snprintf(names[k++], sizeof names[0], "%.63s", e->d_name);
    if (d) closedir(d);
    qsort(names, k, sizeof names[0], (int (*)(const void *, const void *))strcmp);
    printf("%s:", label);
    for (int i = 0; i < k; i++) printf(" %s", names[i]);
    printf("\n");
}

static struct timespec in_ms(int ms) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_nsec += (ms % 1000) * 1000000L;
    t.tv_sec += ms / 1000 + t.tv_nsec / 1000000000L;
    t.tv_nsec %= 1000000000L;
    return t;
}

static void basic(void) {
    T("open absent", mq_open("/q", O_RDWR));
    T("raw: empty name", syscall(SYS_mq_open, "", O_RDWR | O_CREAT, 0600, NULL));
    T("raw: name with a slash", syscall(SYS_mq_open, "a/b", O_RDWR | O_CREAT, 0600, NULL));
    T("raw: name ..", syscall(SYS_mq_open, "..", O_RDWR | O_CREAT, 0600, NULL));
    char longname[300];
    memset(longname, 'n', sizeof longname);
    longname[299] = 0;
    T("raw: 299-byte name", syscall(SYS_mq_open, longname, O_RDWR | O_CREAT, 0600, NULL));
    struct mq_attr bad = {0, 0, 100, 0};
    T("create maxmsg 0", mq_open("/q", O_RDWR | O_CREAT, 0600, &bad));
    bad.mq_maxmsg = 5;
    bad.mq_msgsize = -1;
    T("create msgsize -1", mq_open("/q", O_RDWR | O_CREAT, 0600, &bad));
    T("create with a bad attr pointer", mq_open("/q", O_RDWR | O_CREAT, 0600, (void *)8));

    umask(022);
    mqd_t q = mq_open("/q", O_RDWR | O_CREAT, 0666, NULL);
    printf("create default: %s cloexec=%d\n", q == -1 ? strerrorname_np(errno) : "ok", (fcntl(q, F_GETFD) & FD_CLOEXEC) != 0);
    show_attr("defaults", q);
    struct stat st;
    fstat(q, &st);
    printf("fstat: mode=%o size=%ld uid=%u\n", st.st_mode, (long)st.st_size, st.st_uid);
    T("open again excl", mq_open("/q", O_RDWR | O_CREAT | O_EXCL, 0600, NULL));
    T("open again O_ACCMODE", mq_open("/q", O_WRONLY | O_RDWR));

    struct mq_attr small = {0, 3, 16, 0};
    mqd_t s = mq_open("/small", O_RDWR | O_CREAT | O_NONBLOCK, 0600, &small);
    show_attr("custom", s);
    T("send 17 bytes", mq_send(s, "0123456789abcdefg", 17, 0));
    T("send prio 32768", mq_send(s, "x", 1, 32768));
    T("send prio 32767", mq_send(s, "p32767", 6, 32767));
    T("send prio 1", mq_send(s, "p1-a", 4, 1));
    T("send prio 1 again", mq_send(s, "p1-b", 4, 1));
    T("send to a full non-blocking queue", mq_send(s, "x", 1, 0));
    show_attr("full", s);
    show_status("status", s);
    struct pollfd pfd = {s, POLLIN | POLLOUT, 0};
    poll(&pfd, 1, 0);
    printf("poll full: in=%d out=%d\n", !!(pfd.revents & POLLIN), !!(pfd.revents & POLLOUT));
    recv_show("receive with a short buffer", s, 15, NULL);
    recv_show("highest priority first", s, 16, NULL);
    recv_show("then in order", s, 16, NULL);
    recv_show("then in order", s, 16, NULL);
    recv_show("empty non-blocking", s, 16, NULL);
    pfd.revents = 0;
    poll(&pfd, 1, 0);
    printf("poll empty: in=%d out=%d\n", !!(pfd.revents & POLLIN), !!(pfd.revents & POLLOUT));

    struct mq_attr set = {O_NONBLOCK, 0, 0, 0}, old;
    mq_setattr(q, &set, &old);
    printf("setattr: old flags=%ld\n", old.mq_flags);
    show_attr("now non-blocking", q);
    recv_show("empty", q, 8192, NULL);
    set.mq_flags = 0;
    mq_setattr(q, &set, NULL);
    set.mq_flags = O_NONBLOCK | O_APPEND;
    T("setattr other flags", mq_setattr(q, &set, NULL));
    T("getattr of a pipe", ({ int p[2]; pipe(p); mq_getattr(p[0], &old); }));
    T("getattr of a bad fd", mq_getattr(99, &old));

    struct timespec t = in_ms(50);
    recv_show("timed receive on empty", q, 8192, &t);
    struct timespec badts = {0, 1000000000};
    recv_show("bad timeout", q, 8192, &badts);
    struct timespec past = {1, 0};
    recv_show("timeout in the past", q, 8192, &past);
    T("timed send, room", mq_timedsend(q, "hello", 5, 3, &past));
    recv_show("and back", q, 8192, &past);

    mqd_t ro = mq_open("/q", O_RDONLY);
    T("send on a read-only descriptor", mq_send(ro, "x", 1, 0));
    mqd_t wo = mq_open("/q", O_WRONLY);
    recv_show("receive on a write-only descriptor", wo, 8192, NULL);
    T("write(2) to a queue", write(q, "x", 1));
    T("unlink", mq_unlink("/q"));
    T("unlink again", mq_unlink("/q"));
    T("open after unlink", mq_open("/q", O_RDWR));
    T("still usable", mq_send(wo, "after unlink", 12, 0));
    recv_show("still usable", ro, 8192, NULL);
    mq_close(ro);
    mq_close(wo);
    mq_close(q);
    mq_close(s);
    mq_unlink("/small");
}

static void wait_test(void) {
    struct mq_attr a = {0, 2, 64, 0};
    mqd_t q = mq_open("/w", O_RDWR | O_CREAT, 0600, &a);
    pid_t r = fork();
    if (r == 0) {
        char buf[64];
        unsigned p;
        ssize_t n = mq_receive(q, buf, sizeof buf, &p);
        _exit(n == 5 && p == 4 && !memcmp(buf, "wakey", 5) ? 0 : n < 0 ? errno : 1);
    }
    WAIT_FOR(sleeping(r));
    mq_send(q, "wakey", 5, 4);
    show_attr("right after the send (handed over)", q);
    reap("receiver", r);

    mq_send(q, "one", 3, 1);
    mq_send(q, "two", 3, 2);
    pid_t s = fork();
    if (s == 0) _exit(code_of(mq_send(q, "three", 5, 3)));
    WAIT_FOR(sleeping(s));
    recv_show("receive from the full queue", q, 64, NULL);
    show_attr("the sleeper's message is in", q);
    reap("sender", s);
    recv_show("next", q, 64, NULL);
    recv_show("next", q, 64, NULL);

    for (int restart = 0; restart < 2; restart++) {
        pid_t c = fork();
        if (c == 0) {
            catch_signal(SIGUSR1, restart);
            char buf[64];
            ssize_t n = mq_receive(q, buf, sizeof buf, NULL);
            _exit(n < 0 ? errno : n == 7 ? 0 : 1);
        }
        WAIT_FOR(sleeping(c));
        kill(c, SIGUSR1);
        if (restart) {
            /* Restarted: it sleeps again, and takes the next message. */
            WAIT_FOR(sleeping(c));
            mq_send(q, "message", 7, 0);
        }
        reap(restart ? "receiver signalled (SA_RESTART)" : "receiver signalled", c);
    }
    /* A poller sleeping on the empty queue wakes when a message arrives. */
    pid_t p = fork();
    if (p == 0) {
        struct pollfd pfd = {q, POLLIN, 0};
        int n = poll(&pfd, 1, -1);
        _exit(n == 1 && pfd.revents == POLLIN ? 0 : 1);
    }
    WAIT_FOR(sleeping(p));
    mq_send(q, "poke", 4, 0);
    reap("poller woken by a send", p);
    recv_show("the poke", q, 64, NULL);

    /* epoll too: a sleeper in epoll_wait wakes with EPOLLIN when a message arrives. */
    int ep = epoll_create1(0);
    struct epoll_event ee = {EPOLLIN, {.u64 = 7}};
    T("epoll_ctl add a queue", epoll_ctl(ep, EPOLL_CTL_ADD, q, &ee));
    p = fork();
    if (p == 0) {
        struct epoll_event got;
        int n = epoll_wait(ep, &got, 1, -1);
        _exit(n == 1 && got.events == EPOLLIN && got.data.u64 == 7 ? 0 : 1);
    }
    WAIT_FOR(sleeping(p));
    mq_send(q, "epoll", 5, 0);
    reap("epoll waiter woken by a send", p);
    recv_show("the epoll message", q, 64, NULL);
    close(ep);

    struct timespec t = in_ms(50);
    mq_send(q, "1", 1, 0);
    mq_send(q, "2", 1, 0);
    T("timed send to a full queue", mq_timedsend(q, "3", 1, 0, &t));

    /* And a poller waiting for room wakes when a receive makes some. */
    p = fork();
    if (p == 0) {
        struct pollfd pfd = {q, POLLOUT, 0};
        int n = poll(&pfd, 1, -1);
        _exit(n == 1 && pfd.revents == POLLOUT ? 0 : 1);
    }
    WAIT_FOR(sleeping(p));
    recv_show("receive", q, 64, NULL);
    reap("poller woken by room", p);
    mq_close(q);
    mq_unlink("/w");
}

static int thread_pipe[2];

/* The SIGEV_THREAD notification function: reports its value through a pipe. */
static void on_notify_thread(union sigval v) {
    int x = v.sival_int;
    write(thread_pipe[1], &x, sizeof x);
}

static void notify_test(void) {
    mqd_t q = mq_open("/n", O_RDWR | O_CREAT | O_NONBLOCK, 0600, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    ev.sigev_value.sival_int = 4242;
    T("notify", mq_notify(q, &ev));
    show_status("registered", q);
    T("notify again", mq_notify(q, &ev));
    pid_t c = fork();
    if (c == 0) _exit(code_of(mq_notify(q, &ev)));
    reap("another process registers", c);
    c = fork();
    if (c == 0) _exit(code_of(mq_send(q, "ping", 4, 0)));
    reap("another process sends", c);
    siginfo_t si;
    struct timespec ts = {5, 0};
    int sig = sigtimedwait(&set, &si, &ts);
    printf("signal: %s code=%s value=%d pid=%s uid=%u\n", sig == SIGUSR1 ? "SIGUSR1" : "none", si.si_code == SI_MESGQ ? "SI_MESGQ" : "other",
           si.si_value.sival_int, si.si_pid == c ? "sender" : "other", si.si_uid);
    show_status("after the notification", q);
    mq_send(q, "again", 5, 0);
    struct timespec zero = {0, 0};
    printf("one shot: %s\n", sigtimedwait(&set, &si, &zero) == -1 ? "no second signal" : "signalled again");
    T("notify on a non-empty queue", mq_notify(q, &ev));
    mq_send(q, "third", 5, 0);
    printf("not empty before: %s\n", sigtimedwait(&set, &si, &zero) == -1 ? "no signal" : "signalled");
    T("unregister", mq_notify(q, NULL));
    T("unregister when not registered", mq_notify(q, NULL));
    ev.sigev_notify = 99;
    T("bad sigev_notify", mq_notify(q, &ev));
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = 65;
    T("bad signal", mq_notify(q, &ev));
    ev.sigev_notify = SIGEV_NONE;
    T("SIGEV_NONE", mq_notify(q, &ev));
    show_status("SIGEV_NONE registered", q);
    T("notify on a bad fd", mq_notify(99, &ev));
    mq_close(q);
    mq_unlink("/n");

    /* SIGEV_THREAD: glibc's helper thread gets the kernel's cookie on a netlink socket. */
    q = mq_open("/t", O_RDWR | O_CREAT, 0600, NULL);
    if (pipe(thread_pipe)) return;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD;
    ev.sigev_notify_function = on_notify_thread;
    ev.sigev_value.sival_int = 77;
    T("SIGEV_THREAD", mq_notify(q, &ev));
    show_status("SIGEV_THREAD registered", q);
    mq_send(q, "wake", 4, 0);
    struct pollfd pfd = {thread_pipe[0], POLLIN, 0};
    int value = 0;
    if (poll(&pfd, 1, 20000) == 1) read(thread_pipe[0], &value, sizeof value);
    printf("notification thread ran with value %d\n", value);
    show_status("after the thread notification", q);
    T("SIGEV_THREAD again", mq_notify(q, &ev));
    T("unregister SIGEV_THREAD", mq_notify(q, NULL));
    /* The raw call wants a netlink socket in sigev_signo. */
    struct sigevent raw;
    memset(&raw, 0, sizeof raw);
    char cookie[32] = {0};
    raw.sigev_notify = SIGEV_THREAD;
    raw.sigev_value.sival_ptr = cookie;
    raw.sigev_signo = thread_pipe[0];
    T("raw SIGEV_THREAD with a pipe", syscall(SYS_mq_notify, q, &raw));
    int sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    raw.sigev_signo = sv[0];
    T("raw SIGEV_THREAD with a unix socket", syscall(SYS_mq_notify, q, &raw));
    raw.sigev_signo = 99;
    T("raw SIGEV_THREAD with a bad fd", syscall(SYS_mq_notify, q, &raw));
    raw.sigev_value.sival_ptr = (void *)8;
    T("raw SIGEV_THREAD with a bad cookie", syscall(SYS_mq_notify, q, &raw));
    mq_close(q);
    mq_unlink("/t");

    /* Closing the descriptor drops the registration. */
    q = mq_open("/n2", O_RDWR | O_CREAT, 0600, NULL);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    mqd_t q2 = mq_open("/n2", O_RDWR);
    mq_notify(q2, &ev);
    mq_close(q2);
    show_status("after close", q);
    mq_close(q);
    mq_unlink("/n2");
}

static void fs_test(const char *dir) {
    mkdir(dir, 0755);
    T("mount mqueue", mount("none", dir, "mqueue", 0, NULL));
    struct statfs sf;
    statfs(dir, &sf);
    printf("statfs: type=%#lx namelen=%ld\n", (unsigned long)sf.f_type, (long)sf.f_namelen);
    struct stat st;
    stat(dir, &st);
    printf("directory: mode=%o\n", st.st_mode);
    umask(0);
    mqd_t q = mq_open("/alpha", O_RDWR | O_CREAT, 0640, NULL);
    mq_send(q, "abc", 3, 0);
    char path[256];
    snprintf(path, sizeof path, "%s/alpha", dir);
    T("stat the queue", stat(path, &st));
    printf("queue file: mode=%o size=%ld nlink=%lu\n", st.st_mode, (long)st.st_size, (unsigned long)st.st_nlink);
    int fd = open(path, O_RDONLY);
    char buf[200];
    ssize_t n = read(fd, buf, sizeof buf);
    printf("read %zd: %.*s", n, (int)n, buf);
    n = read(fd, buf, sizeof buf);
    printf("then read %zd\n", n);
    recv_show("receive through the opened file", fd, 8192, NULL);
    close(fd);
    snprintf(path, sizeof path, "%s/beta", dir);
    fd = open(path, O_RDWR | O_CREAT, 0600);
    printf("open(O_CREAT) in the mount: %s\n", fd >= 0 ? "ok" : strerrorname_np(errno));
    show_attr("created by open", fd);
    close(fd);
    snprintf(path, sizeof path, "%s/sub", dir);
    T("mkdir in the mount", mkdir(path, 0700));
    list_dir("listing", dir);
    snprintf(path, sizeof path, "%s/beta", dir);
    T("unlink through the mount", unlink(path));
    T("mq_open of the unlinked name", mq_open("/beta", O_RDWR));
    mq_close(q);
    mq_unlink("/alpha");
    T("umount", umount(dir));
}

static void perm_test(void) {
    umask(0);
    mqd_t q = mq_open("/root-only", O_RDWR | O_CREAT, 0600, NULL);
    mqd_t r = mq_open("/readable", O_RDWR | O_CREAT, 0644, NULL);
    mq_close(q);
    mq_close(r);
    pid_t pid = fork();
    if (pid == 0) {
        become_user();
        T("user: open 0600", mq_open("/root-only", O_RDONLY));
        T("user: open 0644 read-only", mq_open("/readable", O_RDONLY));
        T("user: open 0644 write", mq_open("/readable", O_WRONLY));
        T("user: unlink root's queue", mq_unlink("/readable"));
        struct mq_attr big = {0, 11, 128, 0};
        T("user: maxmsg 11", mq_open("/big", O_RDWR | O_CREAT, 0600, &big));
        big.mq_maxmsg = 10;
        big.mq_msgsize = 8193;
        T("user: msgsize 8193", mq_open("/big", O_RDWR | O_CREAT, 0600, &big));
        mqd_t mine = mq_open("/mine", O_RDWR | O_CREAT, 0600, NULL);
        struct stat st;
        fstat(mine, &st);
        printf("user's queue: uid=%u gid=%u mode=%o\n", st.st_uid, st.st_gid, st.st_mode);
        T("user: unlink own queue", mq_unlink("/mine"));
        _exit(0);
    }
    reap("user child", pid);
    mq_unlink("/root-only");
    mq_unlink("/readable");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *what = argc > 1 ? argv[1] : "";
    if (!strcmp(what, "basic")) basic();
    else if (!strcmp(what, "wait")) wait_test();
    else if (!strcmp(what, "notify")) notify_test();
    else if (!strcmp(what, "fs") && argc > 2) fs_test(argv[2]);
    else if (!strcmp(what, "perm")) perm_test();
    else { fprintf(stderr, "usage: posix_mq basic|wait|notify|fs DIR|perm\n"); return 2; }
    return 0;
}

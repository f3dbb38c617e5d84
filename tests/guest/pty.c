// Pseudo-terminals: posix_openpt/grantpt/unlockpt/ptsname, the slave lock, echo and line
// editing through the master, raw mode, signals typed on the master, a session with the slave
// as controlling terminal, hangup when the master closes, the master after the slave closes,
// TIOCGPTPEER, packet mode, window sizes, and readiness through poll/select/epoll.
// Output is compared with the same program run natively, so it prints no pty numbers, owners
// or modes that depend on the host's devpts mount. Every wait is bounded (alarm, poll timeouts).
//
// Usage: pty basic|echo|raw|signals|session|hangup|leaderexit|slaveclose|peer|packet|winsize|poll|epoll|flow
//        pty run PROGRAM ARGS...   (a forkpty runner: PROGRAM on a new pty, its output copied)
//        pty whoami                (what a program on a terminal sees)
//        pty expect PROGRAM ARGS... -- STEPS...   (PROGRAM on a pty driven by steps, see expect)
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

static const char *en(int e) {
    switch (e) {
    case EIO: return "EIO";
    case EAGAIN: return "EAGAIN";
    case ENOTTY: return "ENOTTY";
    case ENXIO: return "ENXIO";
    case EPERM: return "EPERM";
    case EINVAL: return "EINVAL";
    case ENOENT: return "ENOENT";
    case EBUSY: return "EBUSY";
    case ENODEV: return "ENODEV";
    case EBADF: return "EBADF";
    case EACCES: return "EACCES";
    case EINTR: return "EINTR";
    default: return "E?";
    }
}

static void show(const char *what, long r) {
    if (r < 0)
        printf("%s: -1 %s\n", what, en(errno));
    else
        printf("%s: %ld\n", what, r);
}

static void die(const char *what) {
    printf("FATAL %s: %s\n", what, en(errno));
    exit(1);
}

static void esc(const char *what, const unsigned char *b, int n) {
    printf("%s: [", what);
    for (int i = 0; i < n; i++) {
        unsigned c = b[i];
        if (c == '\r') printf("\\r");
        else if (c == '\n') printf("\\n");
        else if (c == '\t') printf("\\t");
        else if (c == '\b') printf("\\b");
        else if (c < 32 || c >= 127) printf("\\x%02x", c);
        else putchar(c);
    }
    printf("]\n");
}

static long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

// Reads from fd until the bytes read contain `until` (or `want` bytes arrived if until is
// NULL) or `ms` passed; returns the count.
static int collect(int fd, unsigned char *buf, int cap, const char *until, int want, int ms) {
    int n = 0;
    long end = now_ms() + ms;
    for (;;) {
        if (until && memmem(buf, n, until, strlen(until))) break;
        if (!until && n >= want) break;
        long left = end - now_ms();
        if (left <= 0 || n >= cap) break;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, left) <= 0) break;
        if (!(p.revents & POLLIN)) break;
        int r = read(fd, buf + n, cap - n);
        if (r <= 0) break;
        n += r;
    }
    return n;
}

// The master's output up to `until`, printed.
static void expect_out(int m, const char *what, const char *until) {
    unsigned char b[512];
    int n = collect(m, b, sizeof b, until, 0, 5000);
    esc(what, b, n);
}

// A new pty: the master and the unlocked slave opened with O_NOCTTY (slave -1: not opened).
static int new_pty(int *s, char *name) {
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0) die("posix_openpt");
    if (grantpt(m) || unlockpt(m)) die("grantpt/unlockpt");
    strcpy(name, ptsname(m));
    if (s) {
        *s = open(name, O_RDWR | O_NOCTTY);
        if (*s < 0) die("open slave");
    }
    return m;
}

static short revents(int fd, short events) {
    struct pollfd p = {fd, events, 0};
    if (poll(&p, 1, 0) < 0) return -1;
    return p.revents;
}

static void link_of(int fd, char *out) {
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    int n = readlink(p, out, 127);
    out[n > 0 ? n : 0] = 0;
}

// ---------------------------------------------------------------------------------------------

static void basic(void) {
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    show("posix_openpt", m >= 0 ? 0 : -1);
    printf("isatty(master) %d\n", isatty(m));
    show("grantpt", grantpt(m));
    unsigned n = 99;
    show("TIOCGPTN", ioctl(m, TIOCGPTN, &n));
    char want[64];
    snprintf(want, sizeof want, "/dev/pts/%u", n);
    char *name = ptsname(m);
    printf("ptsname is /dev/pts/<TIOCGPTN>: %d\n", name && strcmp(name, want) == 0);
    int lk = -1;
    show("TIOCGPTLCK", ioctl(m, TIOCGPTLCK, &lk));
    printf("locked %d\n", lk);
    struct stat st;
    show("stat slave", stat(want, &st));
    printf("char device %d, 136:N %d, owner is me %d\n", S_ISCHR(st.st_mode), major(st.st_rdev) == 136 && minor(st.st_rdev) == n, st.st_uid == geteuid());
    show("open locked slave", open(want, O_RDWR | O_NOCTTY));
    show("TIOCGPTPEER locked", ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY));
    show("unlockpt", unlockpt(m));
    show("TIOCGPTLCK", ioctl(m, TIOCGPTLCK, &lk));
    printf("locked %d\n", lk);
    int s = open(want, O_RDWR | O_NOCTTY);
    show("open slave", s >= 0 ? 0 : -1);
    printf("isatty(slave) %d\n", isatty(s));
    char *tn = ttyname(s);
    printf("ttyname(slave) is ptsname: %d\n", tn && strcmp(tn, want) == 0);
    char l[128];
    link_of(s, l);
    printf("fd link of slave is ptsname: %d\n", strcmp(l, want) == 0);
    struct stat fst;
    fstat(s, &fst);
    printf("fstat(slave) is the node: %d\n", fst.st_rdev == st.st_rdev && fst.st_ino == st.st_ino && fst.st_dev == st.st_dev);
    tn = ttyname(m);
    printf("ttyname(master) %s\n", tn ? tn : "(null)");
    link_of(m, l);
    printf("fd link of master %s\n", l);
    fstat(m, &fst);
    printf("fstat(master) char %d %u:%u\n", S_ISCHR(fst.st_mode), major(fst.st_rdev), minor(fst.st_rdev));
    unsigned dev = 0;
    show("TIOCGDEV slave", ioctl(s, TIOCGDEV, &dev));
    printf("TIOCGDEV is 136:N %d\n", major(dev) == 136 && minor(dev) == n);
    unsigned k;
    show("TIOCGPTN on slave", ioctl(s, TIOCGPTN, &k));
    int zero = 0;
    show("TIOCSPTLCK on slave", ioctl(s, TIOCSPTLCK, &zero));
    show("TIOCPKT on slave", ioctl(s, TIOCPKT, &zero));
    show("TIOCGPTPEER on slave", ioctl(s, TIOCGPTPEER, O_RDWR));
    show("stat /dev/pts/ptmx", stat("/dev/pts/ptmx", &st));
    printf("/dev/pts/ptmx char %d %u:%u\n", S_ISCHR(st.st_mode), major(st.st_rdev), minor(st.st_rdev));
    struct termios t;
    show("tcgetattr slave", tcgetattr(s, &t));
    printf("iflag %o oflag %o cflag %o lflag %o\n", t.c_iflag, t.c_oflag, t.c_cflag, t.c_lflag);
    printf("cc");
    for (int i = 0; i < 17; i++) printf(" %d", t.c_cc[i]);
    printf("\nspeed %d %d\n", (int)cfgetispeed(&t), (int)cfgetospeed(&t));
    struct termios tm;
    tcgetattr(m, &tm);
    printf("master termios is the slave's: %d\n", memcmp(&t, &tm, sizeof t) == 0);
    struct winsize ws = {1, 1, 1, 1};
    show("TIOCGWINSZ", ioctl(s, TIOCGWINSZ, &ws));
    printf("winsize %d %d %d %d\n", ws.ws_row, ws.ws_col, ws.ws_xpixel, ws.ws_ypixel);
    show("tcgetpgrp(slave) without ctty", tcgetpgrp(s));
    show("tcgetpgrp(master)", tcgetpgrp(m));
    show("tcgetsid(master)", tcgetsid(m));
    int q = -1;
    show("FIONREAD master", ioctl(m, FIONREAD, &q));
    printf("inq %d\n", q);
    close(s);
    close(m);
    show("stat slave after close", stat(want, &st));
    int m1 = posix_openpt(O_RDWR), m2 = posix_openpt(O_RDWR);
    unsigned n1, n2;
    ioctl(m1, TIOCGPTN, &n1);
    ioctl(m2, TIOCGPTN, &n2);
    printf("two masters, two numbers: %d\n", n1 != n2);
    close(m1);
    close(m2);
    show("mkdir in /dev/pts", mkdir("/dev/pts/x", 0755));
}

// Canonical mode through the master: echo of what is typed, editing, EOF, output processing.
static void echo(void) {
    char name[64];
    int s, m = new_pty(&s, name);
    unsigned char b[256];
    write(m, "hello\n", 6);
    expect_out(m, "echo", "\r\n");
    show("slave read", read(s, b, sizeof b));
    esc("line", b, 6);
    write(m, "abc\177d\r", 6);
    expect_out(m, "erase echo", "\r\n");
    int n = read(s, b, sizeof b);
    esc("line", b, n);
    write(m, "foo bar\027baz\n", 12);
    expect_out(m, "werase echo", "\r\n");
    n = read(s, b, sizeof b);
    esc("line", b, n);
    write(m, "xyz\025q\n", 6);
    expect_out(m, "kill echo", "\r\n");
    n = read(s, b, sizeof b);
    esc("line", b, n);
    write(m, "\001\t|\n", 4);
    expect_out(m, "control echo", "\r\n");
    n = read(s, b, sizeof b);
    esc("line", b, n);
    write(m, "ab\ncd", 5);
    expect_out(m, "two lines echo", "cd");
    int q = -1;
    ioctl(s, FIONREAD, &q);
    printf("FIONREAD slave %d\n", q);
    n = read(s, b, sizeof b);
    esc("first", b, n);
    write(m, "\004", 1);
    n = read(s, b, sizeof b);
    esc("partial at EOF", b, n);
    write(m, "\004", 1);
    show("EOF read", read(s, b, sizeof b));
    write(s, "out\tput\n", 8);
    expect_out(m, "slave output", "\r\n");
    struct termios t;
    tcgetattr(s, &t);
    t.c_lflag &= ~ECHO;
    tcsetattr(s, TCSANOW, &t);
    write(m, "secret\n", 7);
    n = read(s, b, sizeof b);
    esc("no echo line", b, n);
    printf("master has nothing: %d\n", collect(m, b, sizeof b, NULL, 1, 200) == 0);
    t.c_lflag |= ECHO;
    t.c_oflag &= ~OPOST;
    tcsetattr(s, TCSANOW, &t);
    write(s, "raw\n", 4);
    expect_out(m, "no OPOST", "\n");
    close(s);
    close(m);
}

static void set_raw(int fd, int vmin, int vtime) {
    struct termios t;
    tcgetattr(fd, &t);
    cfmakeraw(&t);
    t.c_cc[VMIN] = vmin;
    t.c_cc[VTIME] = vtime;
    tcsetattr(fd, TCSANOW, &t);
}

static void raw(void) {
    char name[64];
    int s, m = new_pty(&s, name);
    set_raw(s, 1, 0);
    unsigned char b[256];
    write(m, "\003\r\177\n", 4);
    int n = collect(s, b, sizeof b, NULL, 4, 5000);
    esc("raw input", b, n);
    write(s, "a\nb", 3);
    n = collect(m, b, sizeof b, NULL, 3, 5000);
    esc("raw output", b, n);
    set_raw(s, 0, 0);
    show("VMIN 0 read", read(s, b, sizeof b));
    set_raw(s, 0, 2);
    long t0 = now_ms();
    show("VTIME read", read(s, b, sizeof b));
    long took = now_ms() - t0;
    printf("VTIME waited: %d\n", took >= 150 && took < 5000);
    set_raw(s, 3, 0);
    write(m, "xy", 2);
    int q = 0;
    for (long end = now_ms() + 5000; q < 2 && now_ms() < end; usleep(1000)) ioctl(s, FIONREAD, &q);
    printf("poll with 2 of VMIN 3: %x\n", revents(s, POLLIN));
    int fl = fcntl(s, F_GETFL);
    fcntl(s, F_SETFL, fl | O_NONBLOCK);
    n = read(s, b, sizeof b);
    esc("non-blocking read with 2 of VMIN 3", b, n > 0 ? n : 0);
    show("non-blocking read with none", read(s, b, sizeof b));
    fcntl(s, F_SETFL, fl);
    write(m, "xy", 2);
    pid_t c = fork();
    if (c == 0) {
        usleep(100000);
        write(m, "z", 1);
        _exit(0);
    }
    n = read(s, b, sizeof b);
    waitpid(c, 0, 0);
    esc("VMIN 3", b, n);
    close(s);
    close(m);
}

// ---------------------------------------------------------------------------------------------
// Processes on the slave. A report pipe carries what children saw, line by line.

static int rep[2];

static void report(const char *fmt, ...) {
    char b[200];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    write(rep[1], b, n);
}

// One report line from the pipe (bounded by the caller's alarm).
static void relay(void) {
    char c;
    char line[256];
    int n = 0;
    while (n < 255 && read(rep[0], &c, 1) == 1) {
        line[n++] = c;
        if (c == '\n') break;
    }
    line[n] = 0;
    printf("%s", line);
}

static const char *role = "?";
static volatile sig_atomic_t signals_seen, hup_seen, cont_seen;

static void on_hangup(int sig) {
    signals_seen++;
    if (sig == SIGHUP) hup_seen = 1;
    if (sig == SIGCONT) cont_seen = 1;
}

static void on_signal(int sig) {
    signals_seen++;
    report("%s got %s\n", role, sig == SIGINT ? "SIGINT" : sig == SIGQUIT ? "SIGQUIT" : sig == SIGTSTP ? "SIGTSTP" : sig == SIGHUP ? "SIGHUP" : sig == SIGCONT ? "SIGCONT" : sig == SIGWINCH ? "SIGWINCH" : "other");
}

static void catch_all(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    int sigs[] = {SIGINT, SIGQUIT, SIGTSTP, SIGHUP, SIGCONT, SIGWINCH};
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, 0);
}

// A child session: a leader that opens the slave as its controlling terminal and a second
// process group made foreground. Returns the leader's pid; `go` is written once ready.
static pid_t session_on(const char *name, int ready_fd, int stay_ms) {
    pid_t leader = fork();
    if (leader) return leader;
    role = "leader";
    setsid();
    catch_all();
    int s = open(name, O_RDWR);
    if (s < 0) {
        report("leader open: %s\n", en(errno));
        _exit(1);
    }
    int fg[2];
    pipe(fg);
    pid_t g = fork();
    if (g == 0) {
        role = "foreground";
        setpgid(0, 0);
        char c;
        read(fg[0], &c, 1);
        write(ready_fd, "r", 1);
        long end = now_ms() + stay_ms;
        while (now_ms() < end) usleep(10000);
        _exit(0);
    }
    setpgid(g, g);
    signal(SIGTTOU, SIG_IGN);
    tcsetpgrp(s, g);
    write(fg[1], "g", 1);
    while (waitpid(g, 0, 0) < 0 && errno == EINTR) {}
    _exit(0);
}

static void wait_ready(int fd) {
    char c;
    read(fd, &c, 1);
}

static void signals(void) {
    char name[64];
    int m = new_pty(NULL, name);
    pipe(rep);
    int ready[2];
    pipe(ready);
    pid_t leader = session_on(name, ready[1], 15000);
    wait_ready(ready[0]);
    write(m, "\003", 1);
    relay();
    expect_out(m, "^C echo", "^C");
    write(m, "\034", 1);
    relay();
    expect_out(m, "^\\ echo", "^\\");
    write(m, "\032", 1);
    relay();
    expect_out(m, "^Z echo", "^Z");
    show("TIOCSIG SIGINT", ioctl(m, TIOCSIG, SIGINT));
    relay();
    show("TIOCSIG SIGTERM", ioctl(m, TIOCSIG, SIGTERM));
    int pg = -1;
    show("TIOCGPGRP via master", ioctl(m, TIOCGPGRP, &pg));
    printf("foreground is not the leader: %d\n", pg > 0 && pg != leader);
    int sid = -1;
    show("TIOCGSID via master", ioctl(m, TIOCGSID, &sid));
    printf("session is the leader's: %d\n", sid == leader);
    struct termios t;
    tcgetattr(m, &t);
    t.c_lflag |= NOFLSH;
    tcsetattr(m, TCSANOW, &t);
    write(m, "ab\003", 3);
    relay();
    expect_out(m, "NOFLSH echo", "^C");
    kill(-pg, SIGKILL);
    waitpid(leader, 0, 0);
    close(m);
}

static void stat_tty(int *tty_nr, int *tpgid) {
    char b[512];
    int f = open("/proc/self/stat", O_RDONLY);
    int n = read(f, b, sizeof b - 1);
    close(f);
    b[n > 0 ? n : 0] = 0;
    char *p = strrchr(b, ')');
    char st;
    int ppid, pgrp, sess;
    sscanf(p + 2, "%c %d %d %d %d %d", &st, &ppid, &pgrp, &sess, tty_nr, tpgid);
}

static void session(void) {
    char name[64];
    int s, m = new_pty(&s, name);
    unsigned n;
    ioctl(m, TIOCGPTN, &n);
    show("open /dev/tty without ctty", open("/dev/tty", O_RDWR));
    pid_t c = fork();
    if (c == 0) {
        show("TIOCSCTTY not a leader", ioctl(s, TIOCSCTTY, 0));
        _exit(0);
    }
    waitpid(c, 0, 0);
    c = fork();
    if (c == 0) {
        setsid();
        signal(SIGHUP, SIG_IGN);
        show("child tcgetsid before", tcgetsid(s));
        show("child TIOCSCTTY", ioctl(s, TIOCSCTTY, 0));
        printf("tcgetsid is me: %d\n", tcgetsid(s) == getpid());
        printf("foreground is me: %d\n", tcgetpgrp(s) == getpid());
        show("TIOCSCTTY again", ioctl(s, TIOCSCTTY, 0));
        int nr, tp;
        stat_tty(&nr, &tp);
        printf("stat tty_nr is the slave: %d, tpgid is me: %d\n", major(nr) == 136 && minor(nr) == n, tp == getpid());
        int t = open("/dev/tty", O_RDWR);
        show("open /dev/tty", t >= 0 ? 0 : -1);
        char *tn = ttyname(t);
        printf("ttyname(/dev/tty) %s\n", tn ? tn : "(null)");
        write(t, "via /dev/tty\n", 13);
        struct stat a, b;
        fstat(t, &a);
        fstat(s, &b);
        printf("/dev/tty is the slave: %d\n", a.st_rdev == b.st_rdev);
        close(t);
        pid_t other = fork();
        if (other == 0) {
            setsid();
            show("another leader's TIOCSCTTY", ioctl(s, TIOCSCTTY, 0));
            show("another leader's TIOCSCTTY steal", ioctl(s, TIOCSCTTY, 1));
            show("tcgetsid after steal", tcgetsid(s) == getpid() ? 0 : -1);
            show("TIOCNOTTY", ioctl(s, TIOCNOTTY));
            _exit(0);
        }
        waitpid(other, 0, 0);
        show("tcgetsid after the thief gave up", tcgetsid(s));
        show("open /dev/tty after losing it", open("/dev/tty", O_RDWR));
        show("TIOCSCTTY to get it back", ioctl(s, TIOCSCTTY, 0));
        show("TIOCNOTTY", ioctl(s, TIOCNOTTY));
        show("tcgetsid after TIOCNOTTY", tcgetsid(s));
        show("open /dev/tty after TIOCNOTTY", open("/dev/tty", O_RDWR));
        stat_tty(&nr, &tp);
        printf("stat tty_nr %d tpgid %d\n", nr, tp);
        int s2 = open(name, O_RDWR);
        printf("open without O_NOCTTY makes it ours: %d\n", tcgetsid(s2) == getpid());
        pid_t nonleader = fork();
        if (nonleader == 0) {
            show("non-leader TIOCNOTTY", ioctl(s2, TIOCNOTTY));
            show("non-leader open /dev/tty after", open("/dev/tty", O_RDWR));
            _exit(0);
        }
        waitpid(nonleader, 0, 0);
        printf("leader still has it: %d\n", tcgetsid(s2) == getpid());
        exit(0);
    }
    waitpid(c, 0, 0);
    expect_out(m, "master saw", "\r\n");
    show("TIOCGSID via master after the leader exited", ioctl(m, TIOCGSID, &n));
    close(s);
    close(m);
}

static void hangup(void) {
    char name[64];
    int m = new_pty(NULL, name);
    pipe(rep);
    int ready[2];
    pipe(ready);
    pid_t leader = fork();
    if (leader == 0) {
        role = "leader";
        close(m);
        setsid();
        signal(SIGHUP, on_hangup);
        signal(SIGCONT, on_hangup);
        sigset_t block, none;
        sigemptyset(&none);
        sigemptyset(&block);
        sigaddset(&block, SIGHUP);
        sigaddset(&block, SIGCONT);
        sigprocmask(SIG_BLOCK, &block, 0);
        int s = open(name, O_RDWR);
        write(ready[1], "r", 1);
        while (signals_seen < 2) sigsuspend(&none);
        report("leader got SIGHUP %d SIGCONT %d\n", hup_seen, cont_seen);
        char b[16];
        errno = 0;
        long r = read(s, b, sizeof b);
        report("leader read after hangup: %ld %s\n", r, r < 0 ? en(errno) : "");
        r = write(s, "x", 1);
        report("leader write after hangup: %ld %s\n", r, r < 0 ? en(errno) : "");
        struct termios t;
        r = tcgetattr(s, &t);
        report("leader tcgetattr after hangup: %ld %s\n", r, r < 0 ? en(errno) : "");
        int pg;
        r = ioctl(s, TIOCSPGRP, &pg);
        report("leader TIOCSPGRP after hangup: %ld %s\n", r, r < 0 ? en(errno) : "");
        struct pollfd p = {s, POLLIN | POLLOUT, 0};
        poll(&p, 1, 0);
        report("leader poll after hangup: %x\n", p.revents);
        r = open("/dev/tty", O_RDWR);
        report("leader open /dev/tty after hangup: %ld %s\n", r, r < 0 ? en(errno) : "");
        struct stat st;
        r = stat(name, &st);
        report("stat slave after hangup: %ld %s\n", r, r < 0 ? en(errno) : "");
        int nr, tp;
        stat_tty(&nr, &tp);
        report("stat tty_nr %d tpgid %d\n", nr, tp);
        _exit(0);
    }
    wait_ready(ready[0]);
    close(m);
    for (int i = 0; i < 9; i++) relay();
    waitpid(leader, 0, 0);
}

// The session leader exits while a job is in the foreground: the job gets SIGHUP (no SIGCONT:
// a pty is not hung up by its leader's exit), the session loses the terminal, which still works.
static void leaderexit(void) {
    char name[64];
    int m = new_pty(NULL, name);
    pipe(rep);
    int go[2], ready[2];
    pipe(go);
    pipe(ready);
    pid_t leader = fork();
    if (leader == 0) {
        close(m);
        setsid();
        int s = open(name, O_RDWR);
        pid_t g = fork();
        if (g == 0) {
            role = "job";
            sigset_t block, none;
            sigemptyset(&none);
            sigemptyset(&block);
            sigaddset(&block, SIGHUP);
            sigprocmask(SIG_BLOCK, &block, 0);
            catch_all();
            setpgid(0, 0);
            char c;
            read(go[0], &c, 1);
            write(ready[1], "r", 1);
            while (!signals_seen) sigsuspend(&none);
            long end = now_ms() + 200;
            while (now_ms() < end) usleep(10000);
            int sid = tcgetsid(s);
            const char *sid_err = sid < 0 ? en(errno) : "ok";
            int t = open("/dev/tty", O_RDWR);
            report("job: tcgetsid %s, /dev/tty %s\n", sid_err, t < 0 ? en(errno) : "opens");
            write(s, "still works\n", 12);
            report("job done\n");
            _exit(0);
        }
        setpgid(g, g);
        signal(SIGTTOU, SIG_IGN);
        tcsetpgrp(s, g);
        write(go[1], "g", 1);
        char c;
        read(ready[0], &c, 1);
        _exit(0);
    }
    waitpid(leader, 0, 0);
    relay();
    relay();
    relay();
    expect_out(m, "master", "\r\n");
    close(m);
}

static void slaveclose(void) {
    char name[64];
    int s, m = new_pty(&s, name);
    printf("poll master with slave open: %x\n", revents(m, POLLIN | POLLOUT | POLLPRI));
    write(s, "bye\n", 4);
    close(s);
    unsigned char b[64];
    int n = collect(m, b, sizeof b, "\r\n", 0, 5000);
    esc("master read after slave close", b, n);
    fcntl(m, F_SETFL, O_NONBLOCK);
    show("master read drained", read(m, b, sizeof b));
    fcntl(m, F_SETFL, 0);
    show("master blocking read drained", read(m, b, sizeof b));
    printf("poll master drained: %x\n", revents(m, POLLIN | POLLOUT | POLLPRI));
    show("master write with slave closed", write(m, "q", 1));
    s = open(name, O_RDWR | O_NOCTTY);
    show("reopen slave", s >= 0 ? 0 : -1);
    printf("poll master reopened: %x\n", revents(m, POLLOUT | POLLPRI));
    close(s);
    close(m);
    m = new_pty(NULL, name);
    printf("poll master never opened: %x\n", revents(m, POLLIN | POLLOUT | POLLPRI));
    fcntl(m, F_SETFL, O_NONBLOCK);
    show("read master never opened", read(m, b, sizeof b));
    close(m);
}

static void peer(void) {
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    grantpt(m);
    show("TIOCGPTPEER locked", ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY));
    unlockpt(m);
    int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    show("TIOCGPTPEER", s >= 0 ? 0 : -1);
    printf("cloexec %d\n", (fcntl(s, F_GETFD) & FD_CLOEXEC) != 0);
    char *tn = ttyname(s);
    printf("ttyname(peer) is ptsname: %d\n", tn && strcmp(tn, ptsname(m)) == 0);
    char l[128];
    link_of(s, l);
    printf("fd link of peer is ptsname: %d\n", strcmp(l, ptsname(m)) == 0);
    write(s, "peer\n", 5);
    expect_out(m, "master read", "\r\n");
    int ro = ioctl(m, TIOCGPTPEER, O_RDONLY | O_NOCTTY);
    show("write to a read-only peer", write(ro, "x", 1));
    close(ro);
    close(s);
    close(m);
}

// One read of the master in packet mode, shown.
static void packet_read(int m, const char *what) {
    unsigned char b[64];
    struct pollfd p = {m, POLLIN | POLLPRI, 0};
    int r = poll(&p, 1, 2000);
    if (r <= 0) {
        printf("%s: nothing\n", what);
        return;
    }
    int n = read(m, b, sizeof b);
    if (n < 0) {
        printf("%s: -1 %s\n", what, en(errno));
        return;
    }
    esc(what, b, n);
}

static void packet(void) {
    char name[64];
    int s, m = new_pty(&s, name);
    int one = 1, v = -1;
    show("TIOCPKT", ioctl(m, TIOCPKT, &one));
    show("TIOCGPKT", ioctl(m, TIOCGPKT, &v));
    printf("packet %d\n", v);
    printf("poll idle %x\n", revents(m, POLLIN | POLLPRI | POLLOUT));
    write(s, "hi", 2);
    packet_read(m, "data");
    tcflush(s, TCIFLUSH);
    printf("poll status %x\n", revents(m, POLLIN | POLLPRI | POLLOUT));
    packet_read(m, "TCIFLUSH");
    tcflush(s, TCOFLUSH);
    packet_read(m, "TCOFLUSH");
    tcflush(s, TCIOFLUSH);
    packet_read(m, "TCIOFLUSH");
    tcflow(s, TCOOFF);
    packet_read(m, "TCOOFF");
    fcntl(s, F_SETFL, O_NONBLOCK);
    show("slave write while stopped", write(s, "a", 1));
    tcflow(s, TCOON);
    packet_read(m, "TCOON");
    packet_read(m, "held output");
    struct termios t;
    tcgetattr(s, &t);
    t.c_iflag &= ~IXON;
    tcsetattr(s, TCSANOW, &t);
    packet_read(m, "IXON off");
    t.c_iflag |= IXON;
    tcsetattr(s, TCSANOW, &t);
    packet_read(m, "IXON on");
    t.c_cc[VSTOP] = 'x';
    tcsetattr(s, TCSANOW, &t);
    packet_read(m, "VSTOP changed");
    t.c_cc[VSTOP] = 023;
    tcsetattr(s, TCSANOW, &t);
    packet_read(m, "VSTOP back");
    write(m, "\023", 1);
    packet_read(m, "^S typed");
    write(m, "\021", 1);
    packet_read(m, "^Q typed");
    tcflush(s, TCIFLUSH);
    tcflush(s, TCIFLUSH);
    packet_read(m, "two flushes");
    tcflush(m, TCIFLUSH);
    packet_read(m, "flush on the master");
    tcsetattr(s, TCSAFLUSH, &t);
    packet_read(m, "TCSAFLUSH");
    write(m, "\003", 1);
    packet_read(m, "^C status");
    packet_read(m, "^C echo");
    int zero = 0;
    ioctl(m, TIOCPKT, &zero);
    write(s, "ok", 2);
    packet_read(m, "packet off");
    ioctl(m, TIOCPKT, &one);
    tcflow(s, TCIOFF);
    packet_read(m, "TCIOFF");
    close(s);
    close(m);
}

static void winsize(void) {
    char name[64];
    int m = new_pty(NULL, name);
    pipe(rep);
    int ready[2];
    pipe(ready);
    pid_t leader = session_on(name, ready[1], 15000);
    wait_ready(ready[0]);
    struct winsize ws = {24, 80, 0, 0}, got;
    show("TIOCSWINSZ master", ioctl(m, TIOCSWINSZ, &ws));
    relay();
    int s = open(name, O_RDWR | O_NOCTTY);
    ioctl(s, TIOCGWINSZ, &got);
    printf("slave sees %d %d\n", got.ws_row, got.ws_col);
    show("same size again", ioctl(m, TIOCSWINSZ, &ws));
    ws.ws_row = 30;
    ws.ws_xpixel = 640;
    show("TIOCSWINSZ slave", ioctl(s, TIOCSWINSZ, &ws));
    relay();
    ioctl(m, TIOCGWINSZ, &got);
    printf("master sees %d %d %d\n", got.ws_row, got.ws_col, got.ws_xpixel);
    int pg;
    ioctl(m, TIOCGPGRP, &pg);
    kill(-pg, SIGKILL);
    waitpid(leader, 0, 0);
    close(s);
    close(m);
}

static void readiness(void) {
    char name[64];
    int s, m = new_pty(&s, name);
    printf("slave idle %x\n", revents(s, POLLIN | POLLOUT));
    write(m, "ab", 2);
    unsigned char b[64];
    expect_out(m, "echo", "ab");
    printf("slave with a partial line %x\n", revents(s, POLLIN | POLLOUT));
    write(m, "\n", 1);
    expect_out(m, "echo", "\r\n");
    printf("slave with a line %x\n", revents(s, POLLIN | POLLOUT));
    fd_set r;
    FD_ZERO(&r);
    FD_SET(s, &r);
    FD_SET(m, &r);
    struct timeval tv = {1, 0};
    int k = select((s > m ? s : m) + 1, &r, 0, 0, &tv);
    printf("select %d slave %d master %d\n", k, FD_ISSET(s, &r) != 0, FD_ISSET(m, &r) != 0);
    read(s, b, sizeof b);
    pid_t c = fork();
    if (c == 0) {
        usleep(100000);
        write(s, "late\n", 5);
        _exit(0);
    }
    struct pollfd p = {m, POLLIN, 0};
    k = poll(&p, 1, 5000);
    printf("poll woke %d %x\n", k, p.revents);
    expect_out(m, "late", "\r\n");
    waitpid(c, 0, 0);
    c = fork();
    if (c == 0) {
        usleep(100000);
        write(m, "typed\n", 6);
        _exit(0);
    }
    int n = read(s, b, sizeof b);
    esc("blocking slave read", b, n);
    waitpid(c, 0, 0);
    expect_out(m, "its echo", "\r\n");
    close(s);
    close(m);
}

static void show_epoll(int ep, const char *what) {
    struct epoll_event got[2];
    int k = epoll_wait(ep, got, 2, 0);
    printf("%s: %d", what, k);
    for (int i = 0; i < k; i++) printf(" %s %x", got[i].data.u32 ? "slave" : "master", got[i].events);
    printf("\n");
}

// epoll on both sides: a line for the slave, output for the master, the slave's last close.
static void epoll(void) {
    char name[64];
    int s, m = new_pty(&s, name);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = 0};
    epoll_ctl(ep, EPOLL_CTL_ADD, m, &ev);
    ev.data.u32 = 1;
    ev.events = EPOLLIN;
    epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
    show_epoll(ep, "idle");
    write(m, "line\n", 5);
    expect_out(m, "echo", "\r\n");
    show_epoll(ep, "a line typed");
    unsigned char b[64];
    read(s, b, sizeof b);
    pid_t c = fork();
    if (c == 0) {
        usleep(100000);
        write(s, "x", 1);
        _exit(0);
    }
    struct epoll_event got;
    ev.events = EPOLLIN;
    ev.data.u32 = 0;
    epoll_ctl(ep, EPOLL_CTL_MOD, m, &ev);
    int k = epoll_wait(ep, &got, 1, 5000);
    printf("epoll woke %d %s %x\n", k, got.data.u32 ? "slave" : "master", got.events);
    waitpid(c, 0, 0);
    read(m, b, sizeof b);
    epoll_ctl(ep, EPOLL_CTL_DEL, s, 0);
    close(s);
    show_epoll(ep, "slave closed");
    close(m);
    close(ep);
}

// Bulk transfer both ways with a blocked writer: every byte arrives, in order.
static void flow(void) {
    char name[64];
    int s, m = new_pty(&s, name);
    set_raw(s, 1, 0);
    enum { TOTAL = 200000 };
    pid_t c = fork();
    if (c == 0) {
        unsigned char b[1000];
        for (int i = 0; i < TOTAL; i += sizeof b) {
            for (unsigned j = 0; j < sizeof b; j++) b[j] = (i + j) % 251;
            if (write(s, b, sizeof b) != sizeof b) _exit(1);
        }
        _exit(0);
    }
    long got = 0, bad = 0;
    unsigned char b[4096];
    while (got < TOTAL) {
        struct pollfd p = {m, POLLIN, 0};
        if (poll(&p, 1, 10000) <= 0) break;
        int n = read(m, b, sizeof b);
        if (n <= 0) break;
        for (int i = 0; i < n; i++) bad += b[i] != (got + i) % 251;
        got += n;
    }
    int st;
    waitpid(c, &st, 0);
    printf("slave to master: %ld bytes, %ld wrong, writer %d\n", got, bad, WEXITSTATUS(st));
    c = fork();
    if (c == 0) {
        unsigned char b[1000];
        for (int i = 0; i < TOTAL; i += sizeof b) {
            for (unsigned j = 0; j < sizeof b; j++) b[j] = (i + j) % 251;
            if (write(m, b, sizeof b) != sizeof b) _exit(1);
        }
        _exit(0);
    }
    got = bad = 0;
    while (got < TOTAL) {
        struct pollfd p = {s, POLLIN, 0};
        if (poll(&p, 1, 10000) <= 0) break;
        int n = read(s, b, sizeof b);
        if (n <= 0) break;
        for (int i = 0; i < n; i++) bad += b[i] != (got + i) % 251;
        got += n;
    }
    waitpid(c, &st, 0);
    printf("master to slave: %ld bytes, %ld wrong, writer %d\n", got, bad, WEXITSTATUS(st));
    close(s);
    close(m);
}

// ---------------------------------------------------------------------------------------------

static void whoami(void) {
    char *tn = ttyname(0);
    printf("%s\n", tn ? tn : "not a tty");
    printf("isatty %d %d %d\n", isatty(0), isatty(1), isatty(2));
    printf("session leader %d, foreground %d\n", getsid(0) == getpid(), tcgetpgrp(0) == getpgrp());
    int t = open("/dev/tty", O_RDWR);
    printf("/dev/tty opens: %d\n", t >= 0);
}

// forkpty's runner, as `script -qc`: the program on a new pty, its output copied to stdout
// until the slave side is gone; exits with the program's status.
static int run(char **argv) {
    int m;
    fflush(stdout);
    pid_t c = forkpty(&m, NULL, NULL, NULL);
    if (c < 0) die("forkpty");
    if (c == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    unsigned char b[4096];
    for (;;) {
        int n = read(m, b, sizeof b);
        if (n <= 0) break;
        write(1, b, n);
    }
    int st;
    waitpid(c, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// Decodes \n, \r, \t, \\ and \xHH in a step's text.
static int unescape(const char *in, char *out) {
    int n = 0;
    while (*in) {
        if (in[0] == '\\' && in[1]) {
            char c = in[1];
            in += 2;
            if (c == 'n') out[n++] = '\n';
            else if (c == 'r') out[n++] = '\r';
            else if (c == 't') out[n++] = '\t';
            else if (c == 'x') {
                unsigned v = 0;
                sscanf(in, "%2x", &v);
                in += 2;
                out[n++] = (char)v;
            } else out[n++] = c;
        } else {
            out[n++] = *in++;
        }
    }
    out[n] = 0;
    return n;
}

// A small `expect`: PROGRAM on a new pty, driven by steps, each wait bounded (5 s):
//   w:TEXT  wait until the output (since the last match) contains TEXT
//   s:TEXT  type TEXT
//   f       wait until a job other than PROGRAM's group is in the foreground
//   b       wait until PROGRAM's group is back in the foreground
// Each step prints one line; the transcript goes to stderr. Exits with PROGRAM's status.
static int expect(char **prog, char **steps) {
    int m;
    pid_t c = forkpty(&m, NULL, NULL, NULL);
    if (c < 0) die("forkpty");
    if (c == 0) {
        execv(prog[0], prog);
        _exit(127);
    }
    static char out[65536];
    int len = 0, from = 0;
    for (; *steps; steps++) {
        const char *st = *steps;
        char text[256];
        unescape(st[0] && st[1] == ':' ? st + 2 : "", text);
        long end = now_ms() + 5000;
        int ok = 0;
        if (st[0] == 's') {
            write(m, text, strlen(text));
            printf("typed %s\n", st + 2);
            continue;
        }
        while (!ok && now_ms() < end) {
            if (st[0] == 'w') {
                char *hit = memmem(out + from, len - from, text, strlen(text));
                if (hit) {
                    from = hit - out + strlen(text);
                    ok = 1;
                    break;
                }
            } else {
                pid_t fg = tcgetpgrp(m);
                ok = st[0] == 'f' ? fg > 0 && fg != c : fg == c;
                if (ok) break;
            }
            struct pollfd p = {m, POLLIN, 0};
            if (poll(&p, 1, st[0] == 'w' ? 100 : 10) > 0) {
                int n = read(m, out + len, sizeof out - 1 - len);
                if (n <= 0) break;
                write(2, out + len, n);
                len += n;
            }
        }
        printf("%s %s\n", ok ? "ok" : "TIMEOUT", st);
        if (!ok) {
            kill(c, SIGKILL);
            break;
        }
    }
    for (;;) {
        struct pollfd p = {m, POLLIN, 0};
        if (poll(&p, 1, 5000) <= 0) break;
        int n = read(m, out, sizeof out);
        if (n <= 0) break;
        write(2, out, n);
    }
    int st;
    waitpid(c, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2) return 2;
    if (!strcmp(argv[1], "run")) return run(argv + 2);
    if (!strcmp(argv[1], "expect")) {
        int i = 2;
        while (i < argc && strcmp(argv[i], "--")) i++;
        if (i == argc) return 2;
        argv[i] = NULL;
        return expect(argv + 2, argv + i + 1);
    }
    if (!strcmp(argv[1], "whoami")) {
        whoami();
        return 0;
    }
    // Run in a session of our own, without a controlling terminal, wherever we started.
    pid_t c = fork();
    if (c) {
        int st;
        waitpid(c, &st, 0);
        return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
    }
    setsid();
    alarm(20);
    const char *t = argv[1];
    if (!strcmp(t, "basic")) basic();
    else if (!strcmp(t, "echo")) echo();
    else if (!strcmp(t, "raw")) raw();
    else if (!strcmp(t, "signals")) signals();
    else if (!strcmp(t, "session")) session();
    else if (!strcmp(t, "hangup")) hangup();
    else if (!strcmp(t, "leaderexit")) leaderexit();
    else if (!strcmp(t, "slaveclose")) slaveclose();
    else if (!strcmp(t, "peer")) peer();
    else if (!strcmp(t, "packet")) packet();
    else if (!strcmp(t, "winsize")) winsize();
    else if (!strcmp(t, "poll")) readiness();
    else if (!strcmp(t, "epoll")) epoll();
    else if (!strcmp(t, "flow")) flow();
    else return 2;
    return 0;
}

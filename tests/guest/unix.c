/* AF_UNIX sockets, compared with Linux: stream, datagram and seqpacket pairs; binding to paths,
   abstract names and autobind; listen/connect/accept with a real backlog; shutdown, close and
   EOF; SIGPIPE; MSG_* flags; poll readiness; SCM_RIGHTS and SCM_CREDENTIALS; credentials and
   permissions (a child drops to an unprivileged uid). Every subcommand works in a fresh
   directory under /tmp (or the directory given as the second argument) and prints only what
   does not depend on pids, inode numbers or time. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>

#define TRY(what, expr) do { errno = 0; long r_ = (long)(expr); int e_ = errno; printf("%s: %ld %s\n", what, r_, r_ < 0 ? strerrorname_np(e_) : "ok"); } while (0)
#define CHECK(expr) do { if ((expr) < 0) { printf("FAILED %s: %s (line %d)\n", #expr, strerrorname_np(errno), __LINE__); exit(1); } } while (0)

static char dir[64];
static volatile int sigpipes;
static void on_sigpipe(int s) { (void)s; sigpipes++; }

static void enter_tmpdir(const char *base) {
    snprintf(dir, sizeof dir, "%s/unixtest.XXXXXX", base);
    if (!mkdtemp(dir) || chdir(dir) < 0) { perror("tmpdir"); exit(1); }
    chmod(dir, 0777);
}

static void leave_tmpdir(void) {
    char cmd[128];
    if (chdir("/") == 0) {
        snprintf(cmd, sizeof cmd, "%s", dir);
        /* remove what the tests left: sockets and files, then the directory */
        const char *names[] = {"s", "s2", "d", "d2", "q", "sp", "file", "sub/s", "sub", "link", "closed", NULL};
        for (int i = 0; names[i]; i++) {
            char p[160];
            snprintf(p, sizeof p, "%s/%s", dir, names[i]);
            unlink(p);
            rmdir(p);
        }
        rmdir(cmd);
    }
}

static socklen_t un_addr(struct sockaddr_un *a, const char *path) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    strcpy(a->sun_path, path);
    return offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
}

static socklen_t abstract_addr(struct sockaddr_un *a, const char *name) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    memcpy(a->sun_path + 1, name, strlen(name));
    return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name);
}

static void show_name(const char *what, const struct sockaddr_un *a, socklen_t len) {
    printf("%s: len %u", what, (unsigned)len);
    if (len > offsetof(struct sockaddr_un, sun_path)) {
        if (a->sun_path[0])
            printf(" path '%s'", a->sun_path);
        else
            printf(" abstract '%.*s'", (int)(len - 3), a->sun_path + 1);
    }
    printf("\n");
}

static void sockname(const char *what, int fd, int peer) {
    struct sockaddr_un a;
    socklen_t len = sizeof a;
    memset(&a, 0x55, sizeof a);
    int r = peer ? getpeername(fd, (struct sockaddr *)&a, &len) : getsockname(fd, (struct sockaddr *)&a, &len);
    if (r < 0) { printf("%s: %s\n", what, strerrorname_np(errno)); return; }
    show_name(what, &a, len);
}

static long nb_read(int fd, void *buf, size_t n) { return recv(fd, buf, n, MSG_DONTWAIT); }

static void show_poll(const char *what, int fd) {
    struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP | POLLPRI, 0};
    poll(&p, 1, 0);
    printf("%s: poll", what);
    if (p.revents & POLLIN) printf(" IN");
    if (p.revents & POLLOUT) printf(" OUT");
    if (p.revents & POLLRDHUP) printf(" RDHUP");
    if (p.revents & POLLHUP) printf(" HUP");
    if (p.revents & POLLERR) printf(" ERR");
    if (p.revents & POLLPRI) printf(" PRI");
    printf("\n");
}

static void report(const char *what, int st) {
    if (WIFEXITED(st)) printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st)) printf("%s: killed by %d\n", what, WTERMSIG(st));
}

static int getint(int fd, int opt) {
    int v = -7;
    socklen_t l = sizeof v;
    if (getsockopt(fd, SOL_SOCKET, opt, &v, &l) < 0) return -errno;
    return v;
}

/* ---------------------------------------------------------------------------------------- */

static void test_pairs(void) {
    int types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};
    const char *names[] = {"stream", "dgram", "seqpacket"};
    char buf[64];
    signal(SIGPIPE, on_sigpipe);
    for (int i = 0; i < 3; i++) {
        int sv[2];
        char what[96];
        CHECK(socketpair(AF_UNIX, types[i], 0, sv));
        printf("[%s] type %d domain %d protocol %d acceptconn %d\n", names[i], getint(sv[0], SO_TYPE), getint(sv[0], SO_DOMAIN),
               getint(sv[0], SO_PROTOCOL), getint(sv[0], SO_ACCEPTCONN));
        struct stat st;
        fstat(sv[0], &st);
        printf("[%s] fstat sock %d mode %o nlink %lu size %ld\n", names[i], S_ISSOCK(st.st_mode), st.st_mode & 07777, (unsigned long)st.st_nlink, (long)st.st_size);
        snprintf(what, sizeof what, "[%s] lseek", names[i]);
        TRY(what, lseek(sv[0], 0, SEEK_CUR));
        snprintf(what, sizeof what, "[%s] pread", names[i]);
        TRY(what, pread(sv[0], buf, 1, 0));
        sockname("  name", sv[0], 0);
        sockname("  peer", sv[0], 1);
        show_poll("  empty", sv[1]);
        TRY("  write hello", write(sv[0], "hello", 5));
        TRY("  write world", write(sv[0], "world", 5));
        int avail = -1;
        ioctl(sv[1], FIONREAD, &avail);
        printf("  FIONREAD %d\n", avail);
        int outq = -1;
        ioctl(sv[0], SIOCOUTQ, &outq);
        printf("  SIOCOUTQ positive %d\n", outq > 0);
        show_poll("  data", sv[1]);
        memset(buf, 0, sizeof buf);
        TRY("  read 3", read(sv[1], buf, 3));
        printf("  got '%s'\n", buf);
        memset(buf, 0, sizeof buf);
        TRY("  read 64", read(sv[1], buf, 64));
        printf("  got '%s'\n", buf);
        TRY("  read empty", nb_read(sv[1], buf, 64));
        TRY("  write 0", write(sv[0], "", 0));
        TRY("  read after write 0", nb_read(sv[1], buf, 64));
        TRY("  read 0", read(sv[1], buf, 0));
        TRY("  shutdown bad", shutdown(sv[0], 3));
        TRY("  shutdown WR", shutdown(sv[0], SHUT_WR));
        show_poll("  after peer SHUT_WR", sv[1]);
        show_poll("  after own SHUT_WR", sv[0]);
        TRY("  read at EOF", nb_read(sv[1], buf, 64));
        sigpipes = 0;
        TRY("  write after SHUT_WR", write(sv[0], "x", 1));
        printf("  sigpipes %d\n", sigpipes);
        TRY("  send NOSIGNAL", send(sv[0], "x", 1, MSG_NOSIGNAL));
        printf("  sigpipes %d\n", sigpipes);
        TRY("  reverse write", write(sv[1], "back", 4));
        TRY("  reverse read", nb_read(sv[0], buf, 64));
        close(sv[1]);
        show_poll("  peer closed", sv[0]);
        sigpipes = 0;
        TRY("  write to closed peer", write(sv[0], "x", 1));
        printf("  sigpipes %d\n", sigpipes);
        TRY("  read from closed peer", nb_read(sv[0], buf, 64));
        close(sv[0]);
    }
    /* close with unread data: the peer's next read reports ECONNRESET, once */
    for (int i = 0; i < 3; i += 2) {
        int sv[2];
        CHECK(socketpair(AF_UNIX, types[i], 0, sv));
        write(sv[0], "unread", 6);
        write(sv[1], "pending", 7);
        close(sv[1]);
        printf("[%s] unread data closed\n", names[i]);
        show_poll("  poll", sv[0]);
        TRY("  read", nb_read(sv[0], buf, 64));
        TRY("  read again", nb_read(sv[0], buf, 64));
        TRY("  and again", nb_read(sv[0], buf, 64));
        close(sv[0]);
        CHECK(socketpair(AF_UNIX, types[i], 0, sv));
        write(sv[0], "unread", 6);
        close(sv[1]);
        TRY("  SO_ERROR", getint(sv[0], SO_ERROR));
        TRY("  SO_ERROR again", getint(sv[0], SO_ERROR));
        sigpipes = 0;
        signal(SIGPIPE, on_sigpipe);
        TRY("  write", write(sv[0], "x", 1));
        printf("  sigpipes %d\n", sigpipes);
        close(sv[0]);
    }
    for (int i = 0; i < 3; i++) {
        int sv[2];
        CHECK(socketpair(AF_UNIX, types[i], 0, sv));
        write(sv[1], "pending", 7);
        close(sv[1]);
        printf("[%s] peer wrote then closed\n", names[i]);
        TRY("  read", nb_read(sv[0], buf, 64));
        TRY("  read again", nb_read(sv[0], buf, 64));
        close(sv[0]);
    }
    signal(SIGPIPE, SIG_DFL);
    /* SIGPIPE with the default action kills the writer */
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    close(sv[1]);
    pid_t p = fork();
    if (p == 0) { write(sv[0], "x", 1); _exit(0); }
    int st;
    waitpid(p, &st, 0);
    report("write to closed stream, default SIGPIPE", st);
    close(sv[0]);
}

static void test_flags(void) {
    int sv[2];
    char buf[64];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    write(sv[0], "abcdef", 6);
    memset(buf, 0, sizeof buf);
    TRY("stream peek", recv(sv[1], buf, 4, MSG_PEEK));
    printf("  got '%s'\n", buf);
    memset(buf, 0, sizeof buf);
    TRY("stream read after peek", recv(sv[1], buf, 64, 0));
    printf("  got '%s'\n", buf);
    TRY("stream DONTWAIT empty", recv(sv[1], buf, 64, MSG_DONTWAIT));
    TRY("stream TRUNC flag is ignored", (write(sv[0], "xyz", 3), recv(sv[1], buf, 1, MSG_TRUNC)));
    TRY("stream rest", recv(sv[1], buf, 64, MSG_DONTWAIT));
    TRY("stream OOB recv", recv(sv[1], buf, 64, MSG_OOB | MSG_DONTWAIT));
    /* MSG_WAITALL across several writes of a child */
    pid_t p = fork();
    if (p == 0) {
        for (int i = 0; i < 4; i++) { usleep(20000); write(sv[0], "0123456789", 10); }
        _exit(0);
    }
    memset(buf, 0, sizeof buf);
    TRY("stream WAITALL 35", recv(sv[1], buf, 35, MSG_WAITALL));
    printf("  got '%s'\n", buf);
    waitpid(p, NULL, 0);
    TRY("stream rest", recv(sv[1], buf, 64, 0));
    /* WAITALL stops at EOF */
    write(sv[0], "tail", 4);
    shutdown(sv[0], SHUT_WR);
    TRY("stream WAITALL at EOF", recv(sv[1], buf, 64, MSG_WAITALL));
    close(sv[0]);
    close(sv[1]);

    /* readv/writev keep message boundaries on datagram sockets */
    CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    struct iovec w[3] = {{"one", 3}, {"two", 3}, {"three", 5}};
    TRY("dgram writev", writev(sv[0], w, 3));
    TRY("dgram write", write(sv[0], "second", 6));
    char a[4] = {0}, b[20] = {0};
    struct iovec r[2] = {{a, 3}, {b, 20}};
    TRY("dgram readv", readv(sv[1], r, 2));
    printf("  got '%s' '%s'\n", a, b);
    TRY("dgram peek", recv(sv[1], buf, 64, MSG_PEEK));
    TRY("dgram TRUNC short", recv(sv[1], buf, 2, MSG_TRUNC));
    write(sv[0], "longer datagram", 15);
    struct msghdr m = {0};
    struct iovec io = {buf, 4};
    m.msg_iov = &io;
    m.msg_iovlen = 1;
    TRY("dgram recvmsg short", recvmsg(sv[1], &m, 0));
    printf("  msg_flags %#x\n", m.msg_flags);
    TRY("dgram zero-length datagram", send(sv[0], "", 0, 0));
    TRY("dgram receive it", recv(sv[1], buf, 64, MSG_DONTWAIT));
    TRY("dgram nothing left", recv(sv[1], buf, 64, MSG_DONTWAIT));
    TRY("dgram OOB send", send(sv[0], "x", 1, MSG_OOB));
    TRY("dgram OOB recv", recv(sv[1], buf, 1, MSG_OOB));
    /* the largest datagram the default send buffer takes, and one more byte */
    static char big[300000];
    int sndbuf = getint(sv[0], SO_SNDBUF);
    printf("dgram default SO_SNDBUF %d\n", sndbuf);
    TRY("dgram sndbuf-32", send(sv[0], big, sndbuf - 32, 0));
    TRY("dgram sndbuf-31", send(sv[0], big, sndbuf - 31, 0));
    TRY("dgram receive big", recv(sv[1], big, sizeof big, 0));
    close(sv[0]);
    close(sv[1]);

    /* seqpacket keeps records, truncates, and ends */
    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
    write(sv[0], "rec1", 4);
    write(sv[0], "record2", 7);
    TRY("seqpacket read 2", read(sv[1], buf, 2));
    m.msg_flags = 0;
    io.iov_len = 64;
    TRY("seqpacket recvmsg", recvmsg(sv[1], &m, 0));
    printf("  msg_flags %#x\n", m.msg_flags);
    close(sv[0]);
    TRY("seqpacket EOF", recv(sv[1], buf, 64, 0));
    TRY("seqpacket EOF nonblocking", recv(sv[1], buf, 64, MSG_DONTWAIT));
    close(sv[1]);
}

static void test_timeouts(void) {
    int sv[2];
    char buf[8];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    struct timeval tv = {0, 100000};
    CHECK(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    TRY("read with SO_RCVTIMEO", read(sv[0], buf, 8));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    printf("  waited at least 90 ms: %d\n", ms >= 90);
    TRY("recv with SO_RCVTIMEO", recv(sv[0], buf, 8, 0));
    /* a negative timeout means "do not wait" */
    struct timeval neg = {-1, 0};
    TRY("negative SO_RCVTIMEO", setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &neg, sizeof neg));
    TRY("read with negative timeout", read(sv[0], buf, 8));
    /* send buffer: a small SO_SNDBUF fills, a non-blocking write gets EAGAIN, a timed one too */
    int v = 4096;
    CHECK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v));
    static char blob[65536];
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    long total = 0, r;
    while ((r = write(sv[0], blob, sizeof blob)) > 0) total += r;
    printf("small sndbuf: filled %d (%s)\n", total > 0 && total < 65536, strerrorname_np(errno));
    show_poll("  full writer", sv[0]);
    fcntl(sv[0], F_SETFL, 0);
    CHECK(setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv));
    TRY("write with SO_SNDTIMEO", write(sv[0], blob, 100));
    /* draining the reader makes room again */
    while (recv(sv[1], blob, sizeof blob, MSG_DONTWAIT) > 0) {}
    show_poll("  drained writer", sv[0]);
    TRY("write after drain", write(sv[0], "x", 1));
    close(sv[0]);
    close(sv[1]);
    /* a blocked reader is woken by a signal: EINTR with a timeout, restart without */
    CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    struct sigaction sa = {0};
    sa.sa_handler = on_sigpipe;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {0, 50000}};
    setitimer(ITIMER_REAL, &it, NULL);
    TRY("blocked recv, SIGALRM without SA_RESTART", recv(sv[0], buf, 8, 0));
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    pid_t p = fork();
    if (p == 0) { usleep(150000); write(sv[1], "late", 4); _exit(0); }
    setitimer(ITIMER_REAL, &it, NULL);
    TRY("blocked recv, SA_RESTART", recv(sv[0], buf, 8, 0));
    waitpid(p, NULL, 0);
    tv.tv_sec = 5;
    tv.tv_usec = 0;
    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setitimer(ITIMER_REAL, &it, NULL);
    TRY("blocked recv with timeout, SA_RESTART", recv(sv[0], buf, 8, 0));
    close(sv[0]);
    close(sv[1]);
}

/* ---------------------------------------------------------------------------------------- */

static void test_bind(void) {
    struct sockaddr_un a;
    socklen_t len;
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    umask(022);
    len = un_addr(&a, "s");
    TRY("bind s", bind(s, (struct sockaddr *)&a, len));
    sockname("  name", s, 0);
    struct stat st;
    CHECK(lstat("s", &st));
    printf("  socket file: sock %d mode %o\n", S_ISSOCK(st.st_mode), st.st_mode & 07777);
    TRY("  open the socket file", open("s", O_RDWR));
    TRY("  bind again (bound)", bind(s, (struct sockaddr *)&a, len));
    len = un_addr(&a, "s2");
    TRY("  bind bound socket to a new path", bind(s, (struct sockaddr *)&a, len));
    TRY("  the new path was removed again", access("s2", F_OK));
    int t = socket(AF_UNIX, SOCK_DGRAM, 0);
    len = un_addr(&a, "s");
    TRY("bind existing path", bind(t, (struct sockaddr *)&a, len));
    int fd = open("file", O_CREAT | O_WRONLY, 0644);
    close(fd);
    len = un_addr(&a, "file");
    TRY("bind over a file", bind(t, (struct sockaddr *)&a, len));
    len = un_addr(&a, "nodir/x");
    TRY("bind in a missing directory", bind(t, (struct sockaddr *)&a, len));
    len = un_addr(&a, "file/x");
    TRY("bind under a file", bind(t, (struct sockaddr *)&a, len));
    len = un_addr(&a, "d/");
    TRY("bind with a trailing slash", bind(t, (struct sockaddr *)&a, len));
    /* lengths */
    len = un_addr(&a, "d");
    TRY("bind length 110 + 1", bind(t, (struct sockaddr *)&a, sizeof a + 1));
    TRY("bind length 129", bind(t, (struct sockaddr *)&a, 129));
    TRY("bind length -1", bind(t, (struct sockaddr *)&a, -1));
    TRY("bind length 1", bind(t, (struct sockaddr *)&a, 1));
    TRY("bind length 0", bind(t, (struct sockaddr *)&a, 0));
    a.sun_family = AF_INET;
    TRY("bind family AF_INET", bind(t, (struct sockaddr *)&a, len));
    a.sun_family = AF_UNIX;
    TRY("bind bad pointer", bind(t, (struct sockaddr *)8, len));
    /* a path of 108 bytes fills sun_path with no NUL */
    struct sockaddr_un full;
    memset(&full, 0, sizeof full);
    full.sun_family = AF_UNIX;
    memset(full.sun_path, 'L', sizeof full.sun_path);
    int t108 = socket(AF_UNIX, SOCK_DGRAM, 0);
    TRY("bind 108-byte relative path", bind(t108, (struct sockaddr *)&full, sizeof full));
    struct sockaddr_un got108;
    socklen_t gl108 = sizeof got108;
    getsockname(t108, (struct sockaddr *)&got108, &gl108);
    printf("  name len %u\n", (unsigned)gl108);
    close(t108);
    char lpath[109];
    memset(lpath, 'L', 108);
    lpath[108] = 0;
    TRY("  the 108-byte name exists", unlink(lpath));
    TRY("bind d (no NUL counted)", bind(t, (struct sockaddr *)&a, len - 1));
    sockname("  name", t, 0);
    TRY("unlink d", unlink("d"));
    sockname("  name after unlink", t, 0);
    int c = socket(AF_UNIX, SOCK_DGRAM, 0);
    TRY("  sendto the unlinked path", sendto(c, "x", 1, 0, (struct sockaddr *)&a, len));
    int t2 = socket(AF_UNIX, SOCK_DGRAM, 0);
    TRY("  bind a new socket there", bind(t2, (struct sockaddr *)&a, len));
    TRY("  sendto reaches the new one", sendto(c, "y", 1, 0, (struct sockaddr *)&a, len));
    char b[8] = {0};
    TRY("  new one receives", recv(t2, b, 8, MSG_DONTWAIT));
    TRY("  old one has nothing", recv(t, b, 8, MSG_DONTWAIT));
    close(t2);
    TRY("  sendto after the socket closed", sendto(c, "z", 1, 0, (struct sockaddr *)&a, len));
    unlink("d");
    TRY("symlink to s", symlink("s", "link"));
    len = un_addr(&a, "link");
    TRY("bind over a symlink", bind(c, (struct sockaddr *)&a, len));
    close(c);
    close(t);
    close(s);
    unlink("s");
    unlink("file");

    /* abstract names: per type, exact length */
    s = socket(AF_UNIX, SOCK_STREAM, 0);
    t = socket(AF_UNIX, SOCK_STREAM, 0);
    len = abstract_addr(&a, "umbra-abstract-test");
    TRY("bind abstract", bind(s, (struct sockaddr *)&a, len));
    sockname("  name", s, 0);
    TRY("bind abstract again (in use)", bind(t, (struct sockaddr *)&a, len));
    int dg = socket(AF_UNIX, SOCK_DGRAM, 0);
    TRY("bind abstract, other type", bind(dg, (struct sockaddr *)&a, len));
    TRY("bind same name longer", bind(t, (struct sockaddr *)&a, len + 1));
    sockname("  name", t, 0);
    close(s);
    s = socket(AF_UNIX, SOCK_STREAM, 0);
    TRY("bind abstract after close", bind(s, (struct sockaddr *)&a, len));
    close(s);
    close(t);
    close(dg);

    /* autobind */
    s = socket(AF_UNIX, SOCK_DGRAM, 0);
    a.sun_family = AF_UNIX;
    TRY("autobind (family only)", bind(s, (struct sockaddr *)&a, sizeof(sa_family_t)));
    struct sockaddr_un got;
    socklen_t gl = sizeof got;
    getsockname(s, (struct sockaddr *)&got, &gl);
    int hex = 1;
    for (int i = 1; i < 6; i++) hex &= !!strchr("0123456789abcdef", got.sun_path[i]);
    printf("  autobound: len %u nul %d hex %d\n", (unsigned)gl, got.sun_path[0] == 0, hex);
    TRY("  autobind again", bind(s, (struct sockaddr *)&a, sizeof(sa_family_t)));
    TRY("  bind a path after autobind", bind(s, (struct sockaddr *)&a, un_addr(&a, "q")));
    close(s);
    /* a datagram socket with SO_PASSCRED autobinds when it sends; so does connect */
    s = socket(AF_UNIX, SOCK_DGRAM, 0);
    t = socket(AF_UNIX, SOCK_DGRAM, 0);
    len = un_addr(&a, "q");
    CHECK(bind(t, (struct sockaddr *)&a, len));
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
    sockname("  unbound with SO_PASSCRED", s, 0);
    TRY("  sendto", sendto(s, "hi", 2, 0, (struct sockaddr *)&a, len));
    gl = sizeof got;
    getsockname(s, (struct sockaddr *)&got, &gl);
    printf("  after sendto: len %u nul %d\n", (unsigned)gl, got.sun_path[0] == 0);
    struct sockaddr_un from;
    socklen_t fl = sizeof from;
    TRY("  recvfrom", recvfrom(t, b, 8, 0, (struct sockaddr *)&from, &fl));
    printf("  source: len %u same %d\n", (unsigned)fl, fl == gl && memcmp(&from, &got, gl) == 0);
    int u = socket(AF_UNIX, SOCK_STREAM, 0);
    setsockopt(u, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
    TRY("  connect to a datagram socket's path", connect(u, (struct sockaddr *)&a, len));
    gl = sizeof got;
    getsockname(u, (struct sockaddr *)&got, &gl);
    printf("  stream after failed connect: len %u\n", (unsigned)gl);
    close(u);
    close(s);
    close(t);
    unlink("q");
    unlink("link");
}

static void test_connect(void) {
    signal(SIGPIPE, SIG_IGN);
    struct sockaddr_un a;
    socklen_t len = un_addr(&a, "s");
    char buf[64];
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    TRY("connect to nothing", connect(c, (struct sockaddr *)&a, len));
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    TRY("listen unbound", listen(l, 5));
    CHECK(bind(l, (struct sockaddr *)&a, len));
    TRY("connect to a bound, not listening socket", connect(c, (struct sockaddr *)&a, len));
    TRY("accept before listen", accept(l, NULL, NULL));
    TRY("listen", listen(l, 1));
    printf("  SO_ACCEPTCONN %d\n", getint(l, SO_ACCEPTCONN));
    show_poll("  idle listener", l);
    TRY("recv on a listener", recv(l, buf, 8, MSG_DONTWAIT));
    TRY("send on a listener", send(l, "x", 1, MSG_DONTWAIT));
    TRY("read on an unconnected stream socket", read(c, buf, 8));
    TRY("write on an unconnected stream socket", write(c, "x", 1));
    TRY("getpeername unconnected", getpeername(c, (struct sockaddr *)&a, &len));
    len = un_addr(&a, "s");
    int dg = socket(AF_UNIX, SOCK_DGRAM, 0);
    TRY("datagram connect to a stream path", connect(dg, (struct sockaddr *)&a, len));
    int sp = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    TRY("seqpacket connect to a stream path", connect(sp, (struct sockaddr *)&a, len));
    /* backlog 1 admits two connections, then EAGAIN for a non-blocking connector */
    int cs[4];
    for (int i = 0; i < 3; i++) {
        cs[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        char what[40];
        snprintf(what, sizeof what, "connect %d (backlog 1)", i);
        TRY(what, connect(cs[i], (struct sockaddr *)&a, len));
    }
    show_poll("  listener with pending", l);
    TRY("connect again (connected)", connect(cs[0], (struct sockaddr *)&a, len));
    TRY("write before accept", write(cs[0], "early", 5));
    sockname("  client name", cs[0], 0);
    sockname("  client peer", cs[0], 1);
    struct sockaddr_un pa;
    socklen_t pl = sizeof pa;
    int s1 = accept4(l, (struct sockaddr *)&pa, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    printf("accept4: %s peer len %u nonblock %d cloexec %d\n", s1 >= 0 ? "ok" : strerrorname_np(errno), (unsigned)pl,
           !!(fcntl(s1, F_GETFL) & O_NONBLOCK), !!(fcntl(s1, F_GETFD) & FD_CLOEXEC));
    sockname("  accepted name", s1, 0);
    sockname("  accepted peer", s1, 1);
    TRY("  read early data", read(s1, buf, 64));
    TRY("  accepted SO_ACCEPTCONN", getint(s1, SO_ACCEPTCONN));
    TRY("connect 2 now (room)", connect(cs[2], (struct sockaddr *)&a, len));
    int s2 = accept(l, NULL, NULL);
    printf("accept: %s nonblock %d\n", s2 >= 0 ? "ok" : strerrorname_np(errno), !!(fcntl(s2, F_GETFL) & O_NONBLOCK));
    TRY("accept4 bad flags", accept4(l, NULL, NULL, 1));
    TRY("accept with a bad address pointer", accept(l, (struct sockaddr *)8, &pl));
    TRY("  that connection was closed", write(cs[2], "x", 1));
    TRY("accept on a datagram socket", accept(dg, NULL, NULL));
    TRY("listen on a datagram socket", listen(dg, 1));
    TRY("listen on a connected socket", listen(cs[0], 1));
    fcntl(l, F_SETFL, O_NONBLOCK);
    TRY("accept with nothing pending", accept(l, NULL, NULL));
    /* the listener closes with a connection pending: the client sees ECONNRESET */
    cs[3] = socket(AF_UNIX, SOCK_STREAM, 0);
    TRY("connect 3", connect(cs[3], (struct sockaddr *)&a, len));
    close(l);
    show_poll("  pending client after listener close", cs[3]);
    TRY("  pending client read", read(cs[3], buf, 8));
    TRY("  pending client read again", read(cs[3], buf, 8));
    TRY("connect after the listener closed", connect(c, (struct sockaddr *)&a, len));
    unlink("s");
    for (int i = 0; i < 4; i++) close(cs[i]);
    close(s1);
    close(s2);
    close(c);
    close(dg);
    close(sp);

    /* blocking connect waits for room in the backlog; accept makes it */
    l = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    CHECK(bind(l, (struct sockaddr *)&a, len));
    CHECK(listen(l, 0));
    int first = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    TRY("seqpacket connect (backlog 0)", connect(first, (struct sockaddr *)&a, len));
    int sync[2];
    pipe(sync);
    pid_t p = fork();
    if (p == 0) {
        int second = socket(AF_UNIX, SOCK_SEQPACKET, 0);
        write(sync[1], "g", 1);
        int r = connect(second, (struct sockaddr *)&a, len);
        printf("  child blocking connect: %s\n", r == 0 ? "ok" : strerrorname_np(errno));
        fflush(stdout);
        write(second, "from child", 10);
        _exit(0);
    }
    read(sync[0], buf, 1);
    usleep(100000);
    int x1 = accept(l, NULL, NULL);
    int x2 = accept(l, NULL, NULL);
    memset(buf, 0, sizeof buf);
    TRY("second connection's data", read(x2, buf, 64));
    printf("  got '%s'\n", buf);
    int st;
    waitpid(p, &st, 0);
    report("  child", st);
    /* a timed connect to a full backlog gives up with EAGAIN */
    int third = socket(AF_UNIX, SOCK_SEQPACKET, 0), fourth = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    TRY("fill the backlog", connect(third, (struct sockaddr *)&a, len));
    struct timeval tv = {0, 50000};
    setsockopt(fourth, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    TRY("timed connect to a full backlog", connect(fourth, (struct sockaddr *)&a, len));
    /* listen again raises the backlog */
    TRY("listen again with 5", listen(l, 5));
    TRY("now the connect fits", connect(fourth, (struct sockaddr *)&a, len));
    close(first); close(third); close(fourth); close(x1); close(x2); close(l);
    unlink("s");

    /* datagram association */
    int d1 = socket(AF_UNIX, SOCK_DGRAM, 0), d2 = socket(AF_UNIX, SOCK_DGRAM, 0), d3 = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un a1, a2;
    socklen_t l1 = un_addr(&a1, "d"), l2 = un_addr(&a2, "d2");
    CHECK(bind(d1, (struct sockaddr *)&a1, l1));
    CHECK(bind(d2, (struct sockaddr *)&a2, l2));
    TRY("dgram send unconnected", send(d3, "x", 1, 0));
    TRY("dgram connect d3 -> d1", connect(d3, (struct sockaddr *)&a1, l1));
    sockname("  d3 peer", d3, 1);
    TRY("dgram send", send(d3, "to d1", 5, 0));
    struct sockaddr_un from;
    socklen_t fl = sizeof from;
    TRY("dgram recvfrom unbound sender", recvfrom(d1, buf, 64, 0, (struct sockaddr *)&from, &fl));
    printf("  fromlen %u\n", (unsigned)fl);
    TRY("dgram connect d1 -> d2", connect(d1, (struct sockaddr *)&a2, l2));
    TRY("d3 -> d1 now refused (d1 connected elsewhere)", send(d3, "x", 1, 0));
    TRY("d2 -> d1 allowed (d1's peer)", sendto(d2, "from d2", 7, 0, (struct sockaddr *)&a1, l1));
    fl = sizeof from;
    TRY("d1 recvfrom", recvfrom(d1, buf, 64, 0, (struct sockaddr *)&from, &fl));
    show_name("  from", &from, fl);
    TRY("connect d3 -> d1 (d1 connected elsewhere)", connect(d3, (struct sockaddr *)&a1, l1));
    struct sockaddr unspec = {AF_UNSPEC};
    TRY("d1 disconnect (AF_UNSPEC)", connect(d1, &unspec, sizeof unspec));
    TRY("d1 send after disconnect", send(d1, "x", 1, 0));
    TRY("d3 -> d1 again", send(d3, "again", 5, 0));
    TRY("d1 receives", recv(d1, buf, 64, MSG_DONTWAIT));
    close(d1);
    TRY("send to a closed peer", send(d3, "x", 1, 0));
    TRY("send again", send(d3, "x", 1, 0));
    TRY("sendto a closed socket's path", sendto(d3, "x", 1, 0, (struct sockaddr *)&a1, l1));
    /* the queue limit for senders that are not the receiver's peer: 10 + 1 datagrams */
    int n = 0;
    while (sendto(d3, "q", 1, MSG_DONTWAIT, (struct sockaddr *)&a2, l2) == 1) n++;
    printf("unconnected datagrams queued: %d (%s)\n", n, strerrorname_np(errno));
    TRY("connected d3 -> d2 (d2's queue full)", connect(d3, (struct sockaddr *)&a2, l2));
    TRY("send to a full queue", send(d3, "q", 1, MSG_DONTWAIT));
    show_poll("  writer to a full queue", d3);
    recv(d2, buf, 64, 0);
    show_poll("  after one is read", d3);
    TRY("send after one is read", send(d3, "q", 1, MSG_DONTWAIT));
    /* a socket may send to itself */
    TRY("d2 sendto itself", sendto(d2, "self", 4, 0, (struct sockaddr *)&a2, l2));
    close(d2);
    close(d3);
    unlink("d");
    unlink("d2");
}

/* ---------------------------------------------------------------------------------------- */

static int send_fds(int s, const int *fds, int n, const void *data, size_t len, int flags) {
    char ctl[CMSG_SPACE(sizeof(int) * 256)];
    memset(ctl, 0, sizeof ctl);
    struct iovec io = {(void *)data, len};
    struct msghdr m = {0};
    m.msg_iov = &io;
    m.msg_iovlen = 1;
    if (n > 0) {
        m.msg_control = ctl;
        m.msg_controllen = CMSG_SPACE(sizeof(int) * n);
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * n);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
    }
    return sendmsg(s, &m, flags);
}

/* Receives with a control buffer of `ctlsize` bytes; prints what arrived and stores the
   first descriptor in *fd_out. */
static void recv_show(const char *what, int s, size_t ctlsize, int flags, int *fd_out) {
    char data[64] = {0};
    char ctl[4096];
    struct iovec io = {data, sizeof data - 1};
    struct msghdr m = {0};
    m.msg_iov = &io;
    m.msg_iovlen = 1;
    m.msg_control = ctlsize ? ctl : NULL;
    m.msg_controllen = ctlsize;
    long r = recvmsg(s, &m, flags);
    if (r < 0) { printf("%s: %s\n", what, strerrorname_np(errno)); return; }
    printf("%s: %ld '%s' flags %#x controllen %lu\n", what, r, data, m.msg_flags, (unsigned long)m.msg_controllen);
    if (fd_out) *fd_out = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            int *fds = (int *)CMSG_DATA(c);
            printf("  SCM_RIGHTS %d fds, cloexec", nfd);
            for (int i = 0; i < nfd; i++) printf(" %d", !!(fcntl(fds[i], F_GETFD) & FD_CLOEXEC));
            printf("\n");
            if (fd_out && nfd > 0) *fd_out = fds[0];
            for (int i = fd_out ? 1 : 0; i < nfd; i++) close(fds[i]);
        } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
            struct ucred u;
            memcpy(&u, CMSG_DATA(c), sizeof u);
            printf("  SCM_CREDENTIALS len %lu pid-is-me %d pid-is-zero %d uid %d gid %d\n", (unsigned long)c->cmsg_len,
                   u.pid == getpid(), u.pid == 0, (int)u.uid, (int)u.gid);
        } else {
            printf("  cmsg level %d type %d len %lu\n", c->cmsg_level, c->cmsg_type, (unsigned long)c->cmsg_len);
        }
    }
}

static void test_scm(void) {
    int sv[2], pfd[2];
    char buf[64];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    CHECK(pipe(pfd));
    write(pfd[1], "through the pipe", 16);
    TRY("send a pipe's read end", send_fds(sv[0], &pfd[0], 1, "F", 1, 0));
    close(pfd[0]);
    int got = -1;
    recv_show("receive it", sv[1], 256, 0, &got);
    memset(buf, 0, sizeof buf);
    TRY("  read the passed pipe", read(got, buf, 64));
    printf("  got '%s'\n", buf);
    close(got);
    /* MSG_CMSG_CLOEXEC */
    int two[2] = {pfd[1], pfd[1]};
    TRY("send two fds", send_fds(sv[0], two, 2, "G", 1, 0));
    recv_show("receive with MSG_CMSG_CLOEXEC", sv[1], 256, MSG_CMSG_CLOEXEC, NULL);
    /* descriptors in flight survive the sender closing them and its socket */
    int p2[2];
    pipe(p2);
    int sv2[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv2);
    TRY("send in flight", send_fds(sv2[0], &p2[1], 1, "H", 1, 0));
    close(p2[1]);
    close(sv2[0]);
    recv_show("receive after the sender closed", sv2[1], 256, 0, &got);
    TRY("  write through the received end", write(got, "alive", 5));
    close(got);
    TRY("  the pipe's reader sees it", read(p2[0], buf, 64));
    TRY("  and then EOF (no writer left)", read(p2[0], buf, 64));
    close(sv2[1]);
    /* files in a queue die with the receiving socket */
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv2);
    pipe(p2);
    send_fds(sv2[0], &p2[1], 1, "I", 1, 0);
    close(p2[1]);
    close(sv2[1]);
    TRY("writer end dropped with the unread message: EOF", read(p2[0], buf, 64));
    close(p2[0]);
    close(sv2[0]);
    /* passing to a closed socket */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv2);
    close(sv2[1]);
    TRY("send fds to a closed peer", send_fds(sv2[0], &pfd[1], 1, "J", 1, MSG_NOSIGNAL));
    close(sv2[0]);
    /* truncated control buffers */
    int three[3] = {pfd[1], pfd[1], pfd[1]};
    send_fds(sv[0], three, 3, "K", 1, 0);
    recv_show("control room for one fd", sv[1], CMSG_SPACE(sizeof(int)), 0, NULL);
    send_fds(sv[0], three, 3, "L", 1, 0);
    recv_show("no control buffer", sv[1], 0, 0, NULL);
    send_fds(sv[0], three, 3, "M", 1, 0);
    recv_show("control smaller than a header", sv[1], 8, 0, NULL);
    send_fds(sv[0], three, 3, "N", 1, 0);
    TRY("plain recv drops the fds", recv(sv[1], buf, 64, 0));
    /* peek duplicates, then the real receive gets them too */
    send_fds(sv[0], &pfd[1], 1, "O", 1, 0);
    recv_show("peek", sv[1], 256, MSG_PEEK, NULL);
    recv_show("receive", sv[1], 256, 0, NULL);
    /* stream: fds stop a read at their message */
    write(sv[0], "ab", 2);
    send_fds(sv[0], &pfd[1], 1, "cd", 2, 0);
    write(sv[0], "ef", 2);
    recv_show("stream read across an fd message", sv[1], 256, 0, NULL);
    recv_show("stream rest", sv[1], 256, 0, NULL);
    /* 253 descriptors at most */
    int many[254];
    for (int i = 0; i < 254; i++) many[i] = pfd[1];
    TRY("send 253 fds", send_fds(sv[0], many, 253, "P", 1, 0));
    recv_show("receive 253", sv[1], 4096, 0, NULL);
    TRY("send 254 fds", send_fds(sv[0], many, 254, "Q", 1, 0));
    int bad = 999;
    TRY("send a closed fd", send_fds(sv[0], &bad, 1, "R", 1, 0));
    bad = -1;
    TRY("send fd -1", send_fds(sv[0], &bad, 1, "R", 1, 0));
    TRY("send 0 fds (empty SCM_RIGHTS)", send_fds(sv[0], many, 0, "S", 1, 0));
    recv(sv[1], buf, 64, MSG_DONTWAIT);
    /* a socket can carry itself (a cycle Linux's garbage collector frees) */
    TRY("send a socket over itself", send_fds(sv[0], &sv[1], 1, "T", 1, 0));
    close(sv[0]);
    close(sv[1]);
    close(pfd[1]);
}

/* Returns 1 if `fd` reads end of file within 10 s. */
static int eof_within(int fd) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 10000) != 1) return 0;
    char b;
    return read(fd, &b, 1) == 0;
}

/* Sockets sent over themselves (or each other) and then closed are unreachable: the collector
   that runs when a unix socket is released frees them and the files they carry. */
static void test_gc(void) {
    int p[2], sv[2];
    pipe(p);
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    int self_and_pipe[2] = {sv[1], p[1]};
    TRY("send a socket and a pipe's writer to that socket", send_fds(sv[0], self_and_pipe, 2, "a", 1, 0));
    close(p[1]);
    close(sv[0]);
    close(sv[1]);
    close(socket(AF_UNIX, SOCK_STREAM, 0));
    printf("self cycle collected: the pipe reader sees EOF: %d\n", eof_within(p[0]));
    close(p[0]);
    /* two sockets holding each other */
    int a[2], b[2];
    pipe(p);
    socketpair(AF_UNIX, SOCK_STREAM, 0, a);
    socketpair(AF_UNIX, SOCK_STREAM, 0, b);
    int x[2] = {b[1], p[1]};
    TRY("send b[1] and the writer into a[1]'s queue", send_fds(a[0], x, 2, "x", 1, 0));
    TRY("send a[1] into b[1]'s queue", send_fds(b[0], &a[1], 1, "y", 1, 0));
    close(p[1]);
    close(a[0]); close(a[1]); close(b[0]); close(b[1]);
    close(socket(AF_UNIX, SOCK_DGRAM, 0));
    printf("two-socket cycle collected: the pipe reader sees EOF: %d\n", eof_within(p[0]));
    close(p[0]);
    /* a socket in flight that a live socket can still receive is not garbage */
    pipe(p);
    socketpair(AF_UNIX, SOCK_DGRAM, 0, a);
    socketpair(AF_UNIX, SOCK_DGRAM, 0, b);
    send_fds(b[0], &p[1], 1, "w", 1, 0);
    TRY("send b[1] (holding the writer) to a[1]", send_fds(a[0], &b[1], 1, "z", 1, 0));
    close(p[1]); close(b[0]); close(b[1]); close(a[0]);
    close(socket(AF_UNIX, SOCK_DGRAM, 0));
    struct pollfd pf = {p[0], POLLIN, 0};
    printf("reachable socket kept: pipe still has a writer: %d\n", poll(&pf, 1, 200) == 0);
    int got = -1;
    recv_show("receive b[1] through a[1]", a[1], 256, 0, &got);
    int w = -1;
    recv_show("receive the writer through it", got, 256, 0, &w);
    TRY("write through it", write(w, "k", 1));
    close(w); close(got); close(a[1]);
    char c;
    TRY("read it", read(p[0], &c, 1));
    TRY("then EOF", read(p[0], &c, 1));
    close(p[0]);
}

static void test_creds(void) {
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    struct ucred u;
    socklen_t l = sizeof u;
    getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &u, &l);
    printf("socketpair SO_PEERCRED: len %u pid-is-me %d uid %d gid %d\n", (unsigned)l, u.pid == getpid(), (int)u.uid, (int)u.gid);
    l = 4;
    TRY("SO_PEERCRED short", getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &u, &l));
    printf("  len %u\n", (unsigned)l);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    l = sizeof u;
    getsockopt(s, SOL_SOCKET, SO_PEERCRED, &u, &l);
    printf("unconnected SO_PEERCRED: pid %d uid %d gid %d\n", u.pid, (int)u.uid, (int)u.gid);
    close(s);
    write(sv[0], "no creds", 8);
    int one = 1;
    TRY("SO_PASSCRED on", setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one));
    printf("  SO_PASSCRED %d\n", getint(sv[1], SO_PASSCRED));
    recv_show("sent before SO_PASSCRED", sv[1], 256, 0, NULL);
    write(sv[0], "with creds", 10);
    recv_show("sent after", sv[1], 256, 0, NULL);
    write(sv[0], "no room", 7);
    recv_show("control room for a header only", sv[1], 16, 0, NULL);
    /* explicit credentials */
    char ctl[CMSG_SPACE(sizeof u)];
    struct iovec io = {"explicit", 8};
    struct msghdr m = {0};
    m.msg_iov = &io;
    m.msg_iovlen = 1;
    m.msg_control = ctl;
    m.msg_controllen = sizeof ctl;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_CREDENTIALS;
    c->cmsg_len = CMSG_LEN(sizeof u);
    u.pid = getpid(); u.uid = 0; u.gid = 0;
    memcpy(CMSG_DATA(c), &u, sizeof u);
    TRY("send own credentials", sendmsg(sv[0], &m, 0));
    recv_show("receive them", sv[1], 256, 0, NULL);
    u.pid = 999999;
    memcpy(CMSG_DATA(c), &u, sizeof u);
    TRY("root claims a pid that does not exist", sendmsg(sv[0], &m, 0));
    int hold[2];
    pipe(hold);
    pid_t other = fork();
    if (other == 0) { char b; read(hold[0], &b, 1); _exit(0); }
    u.pid = other;
    u.uid = 4242;
    memcpy(CMSG_DATA(c), &u, sizeof u);
    TRY("root claims a child's pid, uid 4242", sendmsg(sv[0], &m, 0));
    {
        char d[16], cb[256];
        struct iovec rio = {d, sizeof d};
        struct msghdr rm = {0};
        rm.msg_iov = &rio;
        rm.msg_iovlen = 1;
        rm.msg_control = cb;
        rm.msg_controllen = sizeof cb;
        recvmsg(sv[1], &rm, 0);
        struct ucred ru;
        memcpy(&ru, CMSG_DATA(CMSG_FIRSTHDR(&rm)), sizeof ru);
        printf("  received pid-is-child %d uid %d\n", ru.pid == other, (int)ru.uid);
    }
    write(hold[1], "x", 1);
    waitpid(other, NULL, 0);
    u.uid = -1;
    memcpy(CMSG_DATA(c), &u, sizeof u);
    TRY("uid -1", sendmsg(sv[0], &m, 0));
    c->cmsg_len = CMSG_LEN(sizeof u) - 1;
    TRY("short SCM_CREDENTIALS", sendmsg(sv[0], &m, 0));
    c->cmsg_len = CMSG_LEN(sizeof u);
    /* an unprivileged child may only claim its own ids */
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        if (setgid(65534) < 0 || setuid(65534) < 0) _exit(3);
        u.pid = getpid(); u.uid = 65534; u.gid = 65534;
        memcpy(CMSG_DATA(c), &u, sizeof u);
        TRY("child: own credentials", sendmsg(sv[0], &m, 0));
        u.pid = getppid();
        memcpy(CMSG_DATA(c), &u, sizeof u);
        TRY("child: the parent's pid", sendmsg(sv[0], &m, 0));
        u.pid = getpid(); u.uid = 0;
        memcpy(CMSG_DATA(c), &u, sizeof u);
        TRY("child: uid 0", sendmsg(sv[0], &m, 0));
        TRY("child: plain write", write(sv[0], "child", 5));
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(p, &st, 0);
    report("child", st);
    recv_show("child's own credentials", sv[1], 256, 0, NULL);
    recv_show("child's plain write", sv[1], 256, 0, NULL);
    close(sv[0]);
    close(sv[1]);
    /* stream: data of different credentials is not joined */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
    write(sv[0], "aa", 2);
    u.pid = getpid(); u.uid = 4242; u.gid = 0;
    memcpy(CMSG_DATA(c), &u, sizeof u);
    io.iov_base = "bb";
    io.iov_len = 2;
    sendmsg(sv[0], &m, 0);
    write(sv[0], "cc", 2);
    recv_show("stream creds 1", sv[1], 256, 0, NULL);
    recv_show("stream creds 2", sv[1], 256, 0, NULL);
    recv_show("stream creds 3", sv[1], 256, MSG_DONTWAIT, NULL);
    close(sv[0]);
    close(sv[1]);
    /* SO_PEERCRED across connect/accept: each side sees the other */
    struct sockaddr_un a;
    socklen_t len = un_addr(&a, "s");
    int lsn = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(lsn, (struct sockaddr *)&a, len);
    listen(lsn, 5);
    int sync[2];
    pipe(sync);
    fflush(stdout);
    p = fork();
    if (p == 0) {
        int cl = socket(AF_UNIX, SOCK_STREAM, 0);
        connect(cl, (struct sockaddr *)&a, len);
        struct ucred pc;
        socklen_t pl = sizeof pc;
        getsockopt(cl, SOL_SOCKET, SO_PEERCRED, &pc, &pl);
        printf("client sees the listener: pid-is-parent %d\n", pc.pid == getppid());
        fflush(stdout);
        char b;
        read(cl, &b, 1);
        _exit(0);
    }
    int acc = accept(lsn, NULL, NULL);
    l = sizeof u;
    getsockopt(acc, SOL_SOCKET, SO_PEERCRED, &u, &l);
    write(acc, "x", 1);
    waitpid(p, &st, 0);
    printf("server sees the client: pid-is-child %d\n", u.pid == p);
    close(acc);
    close(lsn);
    unlink("s");
}

static void test_perms(void) {
    struct sockaddr_un a;
    socklen_t len;
    umask(0);
    mkdir("sub", 0755);
    len = un_addr(&a, "sub/s");
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(bind(l, (struct sockaddr *)&a, len));
    CHECK(listen(l, 5));
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un da;
    socklen_t dlen = un_addr(&da, "d");
    CHECK(bind(d, (struct sockaddr *)&da, dlen));
    fflush(stdout);
    for (int round = 0; round < 3; round++) {
        if (round == 0) chmod("sub/s", 0700);
        if (round == 1) { chmod("sub/s", 0777); chmod("sub", 0700); }
        if (round == 2) { chmod("sub", 0755); chmod("d", 0755); }
        pid_t p = fork();
        if (p == 0) {
            if (setgid(65534) < 0 || setuid(65534) < 0) _exit(3);
            int c = socket(AF_UNIX, SOCK_STREAM, 0);
            printf("round %d:\n", round);
            TRY("  unprivileged connect", connect(c, (struct sockaddr *)&a, len));
            int s = socket(AF_UNIX, SOCK_DGRAM, 0);
            TRY("  unprivileged sendto", sendto(s, "x", 1, 0, (struct sockaddr *)&da, dlen));
            struct sockaddr_un b;
            TRY("  unprivileged bind in a root-owned directory", bind(s, (struct sockaddr *)&b, un_addr(&b, "sub/mine")));
            fflush(stdout);
            _exit(0);
        }
        int st;
        waitpid(p, &st, 0);
        report("  child", st);
    }
    close(l);
    close(d);
    unlink("sub/s");
    unlink("d");
    rmdir("sub");
}

static void test_proc(void) {
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    char link[64], target[64] = {0}, want[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", sv[0]);
    readlink(link, target, sizeof target - 1);
    struct stat st;
    fstat(sv[0], &st);
    snprintf(want, sizeof want, "socket:[%lu]", (unsigned long)st.st_ino);
    printf("fd link is socket:[ino]: %d\n", strcmp(target, want) == 0);
    struct stat st1;
    fstat(sv[1], &st1);
    printf("the two ends are different inodes: %d, same device: %d\n", st.st_ino != st1.st_ino, st.st_dev == st1.st_dev);
    struct sockaddr_un a;
    socklen_t len = un_addr(&a, "s");
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(bind(l, (struct sockaddr *)&a, len));
    CHECK(listen(l, 5));
    char path[128];
    snprintf(path, sizeof path, "%s/s", dir);
    FILE *f = fopen("/proc/net/unix", "r");
    int found = 0, header = 0;
    char line[512];
    struct stat lst;
    fstat(l, &lst);
    if (f) {
        if (fgets(line, sizeof line, f)) header = strncmp(line, "Num       RefCount Protocol Flags    Type St Inode Path", 55) == 0;
        while (fgets(line, sizeof line, f)) {
            unsigned long ino;
            char p[300] = {0};
            unsigned flags, type, state;
            if (sscanf(line, "%*s %*s %*s %x %x %x %lu %299s", &flags, &type, &state, &ino, p) >= 4 && ino == lst.st_ino) {
                found = 1;
                printf("/proc/net/unix: flags %05x type %04x st %02x path-is-relative-name %d\n", flags, type, state, strcmp(p, "s") == 0);
            }
        }
        fclose(f);
    }
    printf("/proc/net/unix header %d listener found %d\n", header, found);
    close(l);
    close(sv[0]);
    close(sv[1]);
    unlink("s");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2) { fprintf(stderr, "usage: unix TEST [BASE-DIR]\n"); return 2; }
    enter_tmpdir(argc > 2 ? argv[2] : "/tmp");
    const char *t = argv[1];
    if (!strcmp(t, "pairs")) test_pairs();
    else if (!strcmp(t, "flags")) test_flags();
    else if (!strcmp(t, "timeouts")) test_timeouts();
    else if (!strcmp(t, "bind")) test_bind();
    else if (!strcmp(t, "connect")) test_connect();
    else if (!strcmp(t, "scm")) test_scm();
    else if (!strcmp(t, "creds")) test_creds();
    else if (!strcmp(t, "gc")) test_gc();
    else if (!strcmp(t, "perms")) test_perms();
    else if (!strcmp(t, "proc")) test_proc();
    else { fprintf(stderr, "unknown test %s\n", t); leave_tmpdir(); return 2; }
    leave_tmpdir();
    return 0;
}

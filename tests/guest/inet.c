/* AF_INET/AF_INET6 sockets between programs of one machine, compared with Linux on 127.0.0.1
   and ::1: TCP listen/connect/accept, names, dual-stack and IPV6_V6ONLY, bind errors and
   SO_REUSEADDR/SO_REUSEPORT, non-blocking connect, refused and reset connections, EPIPE,
   shutdown, MSG_* flags, urgent data, UDP connected and not, sendmmsg/recvmmsg, options and
   poll. Every listener binds port 0, and nothing printed depends on port numbers. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/sockios.h>

#define TRY(what, expr) do { errno = 0; long r_ = (long)(expr); int e_ = errno; printf("%s: %ld %s\n", what, r_, r_ < 0 ? strerrorname_np(e_) : "ok"); } while (0)
#define CHECK(expr) ({ long r_ = (long)(expr); if (r_ < 0) { printf("FAILED %s: %s (line %d)\n", #expr, strerrorname_np(errno), __LINE__); exit(1); } r_; })

typedef union { struct sockaddr sa; struct sockaddr_in in; struct sockaddr_in6 in6; struct sockaddr_storage ss; } addr_t;

static socklen_t mkaddr(addr_t *a, int fam, const char *ip, int port) {
    memset(a, 0, sizeof *a);
    if (fam == AF_INET) {
        a->in.sin_family = AF_INET;
        a->in.sin_port = htons(port);
        inet_pton(AF_INET, ip, &a->in.sin_addr);
        return sizeof a->in;
    }
    a->in6.sin6_family = AF_INET6;
    a->in6.sin6_port = htons(port);
    inet_pton(AF_INET6, ip, &a->in6.sin6_addr);
    return sizeof a->in6;
}

static int port_of(int fd) {
    addr_t a; socklen_t l = sizeof a;
    CHECK(getsockname(fd, &a.sa, &l));
    return ntohs(a.sa.sa_family == AF_INET ? a.in.sin_port : a.in6.sin6_port);
}

/* Prints an address without its port. */
static void show(const char *what, addr_t *a, socklen_t l) {
    char buf[64] = "?";
    if (a->sa.sa_family == AF_INET) inet_ntop(AF_INET, &a->in.sin_addr, buf, sizeof buf);
    else if (a->sa.sa_family == AF_INET6) inet_ntop(AF_INET6, &a->in6.sin6_addr, buf, sizeof buf);
    printf("%s: family %d len %u addr %s\n", what, a->sa.sa_family, l, buf);
}

static void names(const char *what, int fd) {
    addr_t a; socklen_t l = sizeof a;
    char w[64];
    snprintf(w, sizeof w, "%s sockname", what);
    if (getsockname(fd, &a.sa, &l) == 0) show(w, &a, l); else printf("%s: %s\n", w, strerrorname_np(errno));
    l = sizeof a;
    snprintf(w, sizeof w, "%s peername", what);
    if (getpeername(fd, &a.sa, &l) == 0) show(w, &a, l); else printf("%s: %s\n", w, strerrorname_np(errno));
}

static int listener(int fam, const char *ip, int backlog) {
    int s = CHECK(socket(fam, SOCK_STREAM, 0));
    addr_t a; socklen_t l = mkaddr(&a, fam, ip, 0);
    CHECK(bind(s, &a.sa, l));
    CHECK(listen(s, backlog));
    return s;
}

static int connect_to(int fam, const char *ip, int port) {
    int c = CHECK(socket(fam, SOCK_STREAM, 0));
    addr_t a; socklen_t l = mkaddr(&a, fam, ip, port);
    CHECK(connect(c, &a.sa, l));
    return c;
}

static void pevents(const char *what, int fd) {
    struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT | POLLPRI | POLLRDHUP };
    int n = poll(&p, 1, 0);
    printf("%s: poll %d revents %#x\n", what, n, p.revents);
}

/* ------------------------------------------------------------------------------------------ */

static void stream_pair(int fam, const char *lip, const char *cip, int cfam) {
    printf("-- stream %s -> %s\n", cip, lip);
    int l = listener(fam, lip, 5);
    names("listener", l);
    int c = connect_to(cfam, cip, port_of(l));
    addr_t pa; socklen_t pl = sizeof pa;
    int s = CHECK(accept(l, &pa.sa, &pl));
    show("accept peer", &pa, pl);
    names("client", c);
    names("server", s);
    /* the client's name is the server's peer name, port included */
    addr_t x, y; socklen_t xl = sizeof x, yl = sizeof y;
    getsockname(c, &x.sa, &xl); getpeername(s, &y.sa, &yl);
    int cport = ntohs(x.sa.sa_family == AF_INET ? x.in.sin_port : x.in6.sin6_port);
    int pport = ntohs(y.sa.sa_family == AF_INET ? y.in.sin_port : y.in6.sin6_port);
    printf("ports agree: %d\n", cport == pport);
    TRY("send", send(c, "hello", 5, 0));
    char buf[64] = {0};
    TRY("recv", recv(s, buf, sizeof buf, 0));
    printf("got %s\n", buf);
    TRY("write back", write(s, "world!", 6));
    TRY("read", read(c, buf, sizeof buf));
    TRY("shutdown wr", shutdown(c, SHUT_WR));
    TRY("recv eof", recv(s, buf, sizeof buf, 0));
    TRY("send after peer shut", send(s, "x", 1, 0));
    TRY("recv x", recv(c, buf, 1, 0));
    TRY("send after own shut", send(c, "x", 1, MSG_NOSIGNAL));
    close(c); close(s); close(l);
}

static void cmd_stream(void) {
    stream_pair(AF_INET, "127.0.0.1", "127.0.0.1", AF_INET);
    stream_pair(AF_INET, "0.0.0.0", "127.0.0.1", AF_INET);
    stream_pair(AF_INET, "0.0.0.0", "127.0.0.2", AF_INET);
    stream_pair(AF_INET6, "::1", "::1", AF_INET6);
    stream_pair(AF_INET6, "::", "127.0.0.1", AF_INET);
    stream_pair(AF_INET6, "::", "::ffff:127.0.0.1", AF_INET6);
    /* IPV6_V6ONLY: the v4 client is refused */
    int l = CHECK(socket(AF_INET6, SOCK_STREAM, 0));
    int one = 1;
    CHECK(setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one));
    addr_t a; socklen_t al = mkaddr(&a, AF_INET6, "::", 0);
    CHECK(bind(l, &a.sa, al));
    CHECK(listen(l, 1));
    TRY("v6only after bind", setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one));
    int c = CHECK(socket(AF_INET, SOCK_STREAM, 0));
    al = mkaddr(&a, AF_INET, "127.0.0.1", port_of(l));
    TRY("v4 to v6only", connect(c, &a.sa, al));
    close(c);
    c = CHECK(socket(AF_INET6, SOCK_STREAM, 0));
    CHECK(setsockopt(c, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one));
    al = mkaddr(&a, AF_INET6, "::ffff:127.0.0.1", port_of(l));
    TRY("v6only connect to mapped", connect(c, &a.sa, al));
    al = mkaddr(&a, AF_INET6, "::ffff:127.0.0.1", 0);
    TRY("v6only bind to mapped", bind(c, &a.sa, al));
    close(c); close(l);
    /* a connect to the wildcard reaches loopback */
    l = listener(AF_INET, "127.0.0.1", 1);
    c = connect_to(AF_INET, "0.0.0.0", port_of(l));
    names("to wildcard", c);
    close(c); close(l);
}

/* ------------------------------------------------------------------------------------------ */

static void cmd_bind(void) {
    addr_t a; socklen_t al;
    int s1 = CHECK(socket(AF_INET, SOCK_STREAM, 0));
    al = mkaddr(&a, AF_INET, "127.0.0.1", 0);
    TRY("bind", bind(s1, &a.sa, al));
    int port = port_of(s1);
    int lo, hi;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f && fscanf(f, "%d %d", &lo, &hi) == 2) printf("ephemeral in range: %d\n", port >= lo && port <= hi);
    if (f) fclose(f);
    TRY("bind again", bind(s1, &a.sa, al));
    int s2 = CHECK(socket(AF_INET, SOCK_STREAM, 0));
    al = mkaddr(&a, AF_INET, "127.0.0.1", port);
    TRY("same port", bind(s2, &a.sa, al));
    al = mkaddr(&a, AF_INET, "0.0.0.0", port);
    TRY("wildcard over it", bind(s2, &a.sa, al));
    close(s2);
    s2 = CHECK(socket(AF_INET6, SOCK_STREAM, 0));
    al = mkaddr(&a, AF_INET6, "::", port);
    TRY("dual-stack over it", bind(s2, &a.sa, al));
    close(s2);
    s2 = CHECK(socket(AF_INET6, SOCK_STREAM, 0));
    int one = 1;
    setsockopt(s2, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    TRY("v6only over it", bind(s2, &a.sa, al));
    close(s2);
    s2 = CHECK(socket(AF_INET, SOCK_STREAM, 0));
    al = mkaddr(&a, AF_INET, "192.0.2.1", 0);
    TRY("foreign address", bind(s2, &a.sa, al));
    al = mkaddr(&a, AF_INET, "127.0.0.1", 0);
    TRY("short", bind(s2, &a.sa, 8));
    a.sa.sa_family = AF_INET6;
    TRY("wrong family", bind(s2, &a.sa, sizeof a.in));
    a.sa.sa_family = AF_UNSPEC;
    TRY("unspec non-any", bind(s2, &a.sa, sizeof a.in));
    close(s2);
    close(s1);

    /* SO_REUSEADDR: sharing while nobody listens; the second listen fails */
    s1 = CHECK(socket(AF_INET, SOCK_STREAM, 0));
    s2 = CHECK(socket(AF_INET, SOCK_STREAM, 0));
    setsockopt(s1, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(s2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    al = mkaddr(&a, AF_INET, "127.0.0.1", 0);
    CHECK(bind(s1, &a.sa, al));
    al = mkaddr(&a, AF_INET, "127.0.0.1", port_of(s1));
    TRY("reuseaddr bind", bind(s2, &a.sa, al));
    TRY("listen 1", listen(s1, 1));
    TRY("listen 2", listen(s2, 1));
    int s3 = CHECK(socket(AF_INET, SOCK_STREAM, 0));
    setsockopt(s3, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    TRY("reuseaddr on listener", bind(s3, &a.sa, al));
    close(s1); close(s2); close(s3);

    /* SO_REUSEPORT: two listeners share the port, connections reach both */
    s1 = CHECK(socket(AF_INET, SOCK_STREAM, 0));
    s2 = CHECK(socket(AF_INET, SOCK_STREAM, 0));
    TRY("reuseport opt", setsockopt(s1, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one));
    setsockopt(s2, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    int v = 0; socklen_t vl = sizeof v;
    getsockopt(s1, SOL_SOCKET, SO_REUSEPORT, &v, &vl);
    printf("reuseport get: %d\n", v);
    al = mkaddr(&a, AF_INET, "127.0.0.1", 0);
    CHECK(bind(s1, &a.sa, al));
    port = port_of(s1);
    al = mkaddr(&a, AF_INET, "127.0.0.1", port);
    TRY("reuseport bind", bind(s2, &a.sa, al));
    TRY("listen 1", listen(s1, 64));
    TRY("listen 2", listen(s2, 64));
    int got1 = 0, got2 = 0;
    int cs[40];
    for (int i = 0; i < 40; i++) cs[i] = connect_to(AF_INET, "127.0.0.1", port);
    fcntl(s1, F_SETFL, O_NONBLOCK); fcntl(s2, F_SETFL, O_NONBLOCK);
    int x;
    while ((x = accept(s1, NULL, NULL)) >= 0) { got1++; close(x); }
    while ((x = accept(s2, NULL, NULL)) >= 0) { got2++; close(x); }
    printf("reuseport spread: all %d both %d\n", got1 + got2 == 40, got1 > 0 && got2 > 0);
    for (int i = 0; i < 40; i++) close(cs[i]);
    close(s1); close(s2);

    /* a closed port is free again */
    s1 = listener(AF_INET, "127.0.0.1", 1);
    port = port_of(s1);
    close(s1);
    s1 = CHECK(socket(AF_INET, SOCK_STREAM, 0));
    al = mkaddr(&a, AF_INET, "127.0.0.1", port);
    TRY("rebind closed listener's port", bind(s1, &a.sa, al));
    close(s1);
}

/* ------------------------------------------------------------------------------------------ */

static void cmd_errors(void) {
    signal(SIGPIPE, SIG_IGN);
    addr_t a; socklen_t al;
    char buf[64];
    /* a closed port */
    int l = listener(AF_INET, "127.0.0.1", 1);
    int port = port_of(l);
    close(l);
    int c = CHECK(socket(AF_INET, SOCK_STREAM, 0));
    al = mkaddr(&a, AF_INET, "127.0.0.1", port);
    TRY("refused", connect(c, &a.sa, al));
    close(c);
    c = CHECK(socket(AF_INET6, SOCK_STREAM, 0));
    al = mkaddr(&a, AF_INET6, "::1", port);
    TRY("refused v6", connect(c, &a.sa, al));
    close(c);
    /* non-blocking connect: EINPROGRESS, then writable with SO_ERROR */
    l = listener(AF_INET, "127.0.0.1", 1);
    c = CHECK(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
    al = mkaddr(&a, AF_INET, "127.0.0.1", port_of(l));
    TRY("nonblocking connect", connect(c, &a.sa, al));
    struct pollfd p = { .fd = c, .events = POLLOUT };
    TRY("poll", poll(&p, 1, 5000));
    printf("revents %#x\n", p.revents);
    int err = -1; socklen_t el = sizeof err;
    getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el);
    printf("so_error %d\n", err);
    TRY("connect again", connect(c, &a.sa, al));
    close(c);
    c = CHECK(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
    al = mkaddr(&a, AF_INET, "127.0.0.1", port);
    TRY("nonblocking refused", connect(c, &a.sa, al));
    p.fd = c; p.events = POLLOUT; p.revents = 0;
    TRY("poll", poll(&p, 1, 5000));
    printf("revents %#x\n", p.revents);
    el = sizeof err;
    getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el);
    printf("so_error %s\n", strerrorname_np(err));
    close(c);
    int s = accept(l, NULL, NULL);
    close(s);
    /* unconnected */
    c = CHECK(socket(AF_INET, SOCK_STREAM, 0));
    TRY("recv unconnected", recv(c, buf, 1, 0));
    TRY("send unconnected", send(c, "x", 1, 0));
    TRY("shutdown unconnected", shutdown(c, SHUT_RDWR));
    TRY("accept unlistening", accept(c, NULL, NULL));
    pevents("fresh", c);
    close(c);
    TRY("recv listener", recv(l, buf, 1, 0));
    TRY("connect listener", connect(l, &a.sa, al));
    pevents("listener", l);
    /* reset: the peer closes with unread data */
    c = connect_to(AF_INET, "127.0.0.1", port_of(l));
    s = CHECK(accept(l, NULL, NULL));
    TRY("connect connected", connect(c, &a.sa, al));
    send(c, "abc", 3, 0);
    send(s, "zz", 2, 0);
    usleep(20000);
    close(s);
    usleep(20000);
    pevents("reset", c);
    TRY("recv queued", recv(c, buf, sizeof buf, 0));
    TRY("recv reset", recv(c, buf, sizeof buf, 0));
    TRY("recv after", recv(c, buf, sizeof buf, 0));
    TRY("send after", send(c, "x", 1, 0));
    close(c);
    /* EPIPE: the peer closed cleanly, a write is answered by a reset */
    c = connect_to(AF_INET, "127.0.0.1", port_of(l));
    s = CHECK(accept(l, NULL, NULL));
    close(s);
    usleep(20000);
    pevents("peer closed", c);
    TRY("recv eof", recv(c, buf, sizeof buf, 0));
    TRY("first write", write(c, "x", 1));
    usleep(20000);
    pevents("after reset", c);
    TRY("second write", write(c, "x", 1));
    TRY("third write", write(c, "x", 1));
    TRY("recv", recv(c, buf, sizeof buf, 0));
    el = sizeof err;
    getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el);
    printf("so_error %d\n", err);
    close(c);
    /* the listener closes with a pending connection */
    c = connect_to(AF_INET, "127.0.0.1", port_of(l));
    close(l);
    usleep(20000);
    TRY("recv pending reset", recv(c, buf, sizeof buf, 0));
    close(c);
    /* SIGPIPE is sent */
    signal(SIGPIPE, SIG_DFL);
    l = listener(AF_INET, "127.0.0.1", 1);
    c = connect_to(AF_INET, "127.0.0.1", port_of(l));
    s = CHECK(accept(l, NULL, NULL));
    shutdown(c, SHUT_WR);
    pid_t pid = fork();
    if (pid == 0) { write(c, "x", 1); _exit(0); }
    int status;
    waitpid(pid, &status, 0);
    printf("child signalled %d sig %d\n", WIFSIGNALED(status), WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    close(c); close(s); close(l);
}

/* ------------------------------------------------------------------------------------------ */

static void cmd_flags(void) {
    char buf[64];
    int l = listener(AF_INET, "127.0.0.1", 1);
    int c = connect_to(AF_INET, "127.0.0.1", port_of(l));
    int s = CHECK(accept(l, NULL, NULL));
    TRY("dontwait empty", recv(s, buf, sizeof buf, MSG_DONTWAIT));
    send(c, "abcdef", 6, 0);
    usleep(10000);
    memset(buf, 0, sizeof buf);
    TRY("peek", recv(s, buf, 3, MSG_PEEK));
    printf("peeked %s\n", buf);
    int n = 0;
    ioctl(s, FIONREAD, &n);
    printf("fionread %d\n", n);
    memset(buf, 0, sizeof buf);
    TRY("read", recv(s, buf, sizeof buf, 0));
    printf("read %s\n", buf);
    /* MSG_WAITALL across two writes */
    pid_t pid = fork();
    if (pid == 0) { usleep(20000); send(c, "12345", 5, MSG_MORE); usleep(20000); send(c, "67890", 5, 0); _exit(0); }
    memset(buf, 0, sizeof buf);
    TRY("waitall", recv(s, buf, 10, MSG_WAITALL));
    printf("got %s\n", buf);
    waitpid(pid, NULL, 0);
    /* urgent data */
    send(c, "ab", 2, 0);
    TRY("send oob", send(c, "XY", 2, MSG_OOB));
    send(c, "cd", 2, 0);
    usleep(10000);
    pevents("urgent", s);
    int mark = -1;
    ioctl(s, SIOCATMARK, &mark);
    printf("atmark %d\n", mark);
    memset(buf, 0, sizeof buf);
    TRY("read to mark", recv(s, buf, sizeof buf, 0));
    printf("read %s\n", buf);
    ioctl(s, SIOCATMARK, &mark);
    printf("atmark %d\n", mark);
    memset(buf, 0, sizeof buf);
    TRY("oob", recv(s, buf, 1, MSG_OOB));
    printf("oob %s\n", buf);
    TRY("oob again", recv(s, buf, 1, MSG_OOB));
    memset(buf, 0, sizeof buf);
    TRY("read rest", recv(s, buf, sizeof buf, 0));
    printf("read %s\n", buf);
    ioctl(s, SIOCATMARK, &mark);
    printf("atmark %d\n", mark);
    TRY("oob none", recv(s, buf, 1, MSG_OOB));
    /* SO_OOBINLINE */
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_OOBINLINE, &one, sizeof one);
    send(c, "pq", 2, 0);
    send(c, "R", 1, MSG_OOB);
    send(c, "st", 2, 0);
    usleep(10000);
    memset(buf, 0, sizeof buf);
    TRY("inline to mark", recv(s, buf, sizeof buf, 0));
    printf("read %s\n", buf);
    ioctl(s, SIOCATMARK, &mark);
    printf("atmark %d\n", mark);
    TRY("oob inline", recv(s, buf, 1, MSG_OOB));
    memset(buf, 0, sizeof buf);
    TRY("inline rest", recv(s, buf, sizeof buf, 0));
    printf("read %s\n", buf);
    /* a big transfer through a child */
    pid = fork();
    if (pid == 0) {
        static char big[1 << 20];
        for (int i = 0; i < (int)sizeof big; i++) big[i] = (char)(i * 7);
        size_t off = 0;
        while (off < sizeof big) { ssize_t w = write(c, big + off, sizeof big - off); if (w <= 0) _exit(1); off += w; }
        _exit(0);
    }
    static char in[1 << 20];
    size_t got = 0;
    while (got < sizeof in) { ssize_t r = read(s, in + got, sizeof in - got); if (r <= 0) break; got += r; }
    int ok = got == sizeof in;
    for (size_t i = 0; ok && i < sizeof in; i++) ok = in[i] == (char)(i * 7);
    int st;
    waitpid(pid, &st, 0);
    printf("1 MiB intact: %d child %d\n", ok, WEXITSTATUS(st));
    /* a writer that is never read: EAGAIN once the buffers are full */
    fcntl(c, F_SETFL, O_NONBLOCK);
    static char chunk[65536];
    long total = 0;
    ssize_t w;
    while ((w = write(c, chunk, sizeof chunk)) > 0) total += w;
    printf("full: %s, wrote something %d\n", strerrorname_np(errno), total > 0);
    pevents("full writer", c);
    close(c); close(s); close(l);
}

/* ------------------------------------------------------------------------------------------ */

static void cmd_udp(void) {
    addr_t a, from; socklen_t al, fl;
    char buf[128];
    int r = CHECK(socket(AF_INET, SOCK_DGRAM, 0));
    al = mkaddr(&a, AF_INET, "127.0.0.1", 0);
    CHECK(bind(r, &a.sa, al));
    int rport = port_of(r);
    int s = CHECK(socket(AF_INET, SOCK_DGRAM, 0));
    names("fresh udp", s);
    pevents("fresh udp", s);
    TRY("send no dest", send(s, "x", 1, 0));
    al = mkaddr(&a, AF_INET, "127.0.0.1", rport);
    TRY("sendto", sendto(s, "one", 3, 0, &a.sa, al));
    TRY("sendto", sendto(s, "second", 6, 0, &a.sa, al));
    names("after sendto", s);
    int n = 0;
    ioctl(r, FIONREAD, &n);
    printf("fionread %d\n", n);
    pevents("receiver", r);
    fl = sizeof from;
    memset(buf, 0, sizeof buf);
    TRY("recvfrom", recvfrom(r, buf, sizeof buf, 0, &from.sa, &fl));
    show("from", &from, fl);
    printf("port agrees %d\n", ntohs(from.in.sin_port) == port_of(s));
    TRY("trunc", recv(r, buf, 2, MSG_TRUNC));
    TRY("empty", recv(r, buf, sizeof buf, MSG_DONTWAIT));
    /* msg_flags MSG_TRUNC */
    sendto(s, "truncated", 9, 0, &a.sa, al);
    struct iovec iov = { buf, 4 };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
    TRY("recvmsg short", recvmsg(r, &m, 0));
    printf("msg_flags %#x\n", m.msg_flags);
    /* IP_PKTINFO */
    int one = 1;
    TRY("pktinfo", setsockopt(r, IPPROTO_IP, IP_PKTINFO, &one, sizeof one));
    sendto(s, "pk", 2, 0, &a.sa, al);
    char ctl[256];
    iov.iov_len = sizeof buf;
    m = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl };
    TRY("recvmsg pktinfo", recvmsg(r, &m, 0));
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        printf("cmsg level %d type %d len %zu\n", c->cmsg_level, c->cmsg_type, (size_t)c->cmsg_len);
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo pi; memcpy(&pi, CMSG_DATA(c), sizeof pi);
            char x[32], y[32];
            inet_ntop(AF_INET, &pi.ipi_spec_dst, x, sizeof x); inet_ntop(AF_INET, &pi.ipi_addr, y, sizeof y);
            printf("pktinfo ifindex %d spec %s addr %s\n", pi.ipi_ifindex, x, y);
        }
    }
    /* connected: only the peer's datagrams arrive */
    int c = CHECK(socket(AF_INET, SOCK_DGRAM, 0));
    TRY("connect", connect(c, &a.sa, al));
    names("connected", c);
    TRY("send", send(c, "conn", 4, 0));
    TRY("recv", recv(r, buf, sizeof buf, 0));
    addr_t ca; socklen_t cal = sizeof ca;
    getsockname(c, &ca.sa, &cal);
    TRY("reply from receiver", sendto(r, "re", 2, 0, &ca.sa, cal));
    TRY("third party to connected", sendto(s, "3p", 2, 0, &ca.sa, cal));
    TRY("recv reply", recv(c, buf, sizeof buf, 0));
    TRY("no more", recv(c, buf, sizeof buf, MSG_DONTWAIT));
    /* connected to a closed port: ECONNREFUSED */
    close(r);
    TRY("send to closed", send(c, "x", 1, 0));
    usleep(10000);
    pevents("refused", c);
    TRY("recv refused", recv(c, buf, sizeof buf, MSG_DONTWAIT));
    TRY("recv again", recv(c, buf, sizeof buf, MSG_DONTWAIT));
    /* unconnected to a closed port: nothing */
    TRY("sendto closed", sendto(s, "x", 1, 0, &a.sa, al));
    usleep(10000);
    TRY("recv", recv(s, buf, sizeof buf, MSG_DONTWAIT));
    /* disconnect */
    a.sa.sa_family = AF_UNSPEC;
    TRY("disconnect", connect(c, &a.sa, sizeof a.sa));
    names("disconnected", c);
    close(c);
    /* limits and errors */
    al = mkaddr(&a, AF_INET, "127.0.0.1", 0);
    TRY("port 0", sendto(s, "x", 1, 0, &a.sa, al));
    static char huge[70000];
    al = mkaddr(&a, AF_INET, "127.0.0.1", 9);
    TRY("too big", sendto(s, huge, sizeof huge, 0, &a.sa, al));
    TRY("short addr", sendto(s, "x", 1, 0, &a.sa, 4));
    al = mkaddr(&a, AF_INET, "255.255.255.255", 9);
    TRY("broadcast no opt", sendto(s, "x", 1, 0, &a.sa, al));
    TRY("connect broadcast no opt", connect(s, &a.sa, al));
    TRY("listen udp", listen(s, 1));
    TRY("accept udp", accept(s, NULL, NULL));
    TRY("oob", send(s, "x", 1, MSG_OOB));
    close(s);
    /* v6 and dual stack */
    r = CHECK(socket(AF_INET6, SOCK_DGRAM, 0));
    al = mkaddr(&a, AF_INET6, "::", 0);
    CHECK(bind(r, &a.sa, al));
    rport = port_of(r);
    s = CHECK(socket(AF_INET, SOCK_DGRAM, 0));
    al = mkaddr(&a, AF_INET, "127.0.0.1", rport);
    TRY("v4 to dual", sendto(s, "v4", 2, 0, &a.sa, al));
    fl = sizeof from;
    TRY("recvfrom", recvfrom(r, buf, sizeof buf, 0, &from.sa, &fl));
    show("from", &from, fl);
    int s6 = CHECK(socket(AF_INET6, SOCK_DGRAM, 0));
    al = mkaddr(&a, AF_INET6, "::1", rport);
    TRY("v6 to dual", sendto(s6, "v6", 2, 0, &a.sa, al));
    TRY("recv6pktinfo", setsockopt(r, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one));
    sendto(s6, "v6", 2, 0, &a.sa, al);
    fl = sizeof from;
    TRY("recvfrom", recvfrom(r, buf, sizeof buf, 0, &from.sa, &fl));
    show("from", &from, fl);
    m = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl };
    TRY("recvmsg pktinfo6", recvmsg(r, &m, 0));
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm))
        printf("cmsg level %d type %d len %zu\n", cm->cmsg_level, cm->cmsg_type, (size_t)cm->cmsg_len);
    close(s); close(s6); close(r);
    /* sendmmsg / recvmmsg keep boundaries */
    r = CHECK(socket(AF_INET, SOCK_DGRAM, 0));
    al = mkaddr(&a, AF_INET, "127.0.0.1", 0);
    CHECK(bind(r, &a.sa, al));
    s = CHECK(socket(AF_INET, SOCK_DGRAM, 0));
    al = mkaddr(&a, AF_INET, "127.0.0.1", port_of(r));
    CHECK(connect(s, &a.sa, al));
    struct mmsghdr mm[4];
    struct iovec iv[4];
    const char *words[] = {"alpha", "be", "gamma!", "d"};
    for (int i = 0; i < 4; i++) {
        iv[i] = (struct iovec){ (void *)words[i], strlen(words[i]) };
        mm[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iv[i], .msg_iovlen = 1 } };
    }
    TRY("sendmmsg", sendmmsg(s, mm, 4, 0));
    char bufs[4][16];
    for (int i = 0; i < 4; i++) {
        iv[i] = (struct iovec){ bufs[i], sizeof bufs[i] };
        mm[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iv[i], .msg_iovlen = 1 } };
    }
    TRY("recvmmsg", recvmmsg(r, mm, 4, MSG_DONTWAIT, NULL));
    for (int i = 0; i < 4; i++) printf("msg %d len %u %.*s\n", i, mm[i].msg_len, (int)mm[i].msg_len, bufs[i]);
    TRY("zero-length", send(s, "", 0, 0));
    TRY("recv zero", recv(r, buf, sizeof buf, 0));
    TRY("shutdown rd", shutdown(r, SHUT_RD));
    TRY("recv after shutdown", recv(r, buf, sizeof buf, 0));
    pevents("shut udp", r);
    close(s); close(r);
}

/* ------------------------------------------------------------------------------------------ */

static void getint(const char *what, int fd, int level, int opt) {
    int v = -12345; socklen_t l = sizeof v;
    errno = 0;
    int r = getsockopt(fd, level, opt, &v, &l);
    if (r < 0) printf("%s: %s\n", what, strerrorname_np(errno));
    else printf("%s: %d (len %u)\n", what, v, l);
}

static void setint(const char *what, int fd, int level, int opt, int v) {
    errno = 0;
    int r = setsockopt(fd, level, opt, &v, sizeof v);
    printf("set %s %d: %s\n", what, v, r < 0 ? strerrorname_np(errno) : "ok");
}

static void opts_of(const char *what, int fd, int stream) {
    printf("-- options of %s\n", what);
    getint("SO_TYPE", fd, SOL_SOCKET, SO_TYPE);
    getint("SO_PROTOCOL", fd, SOL_SOCKET, SO_PROTOCOL);
    getint("SO_DOMAIN", fd, SOL_SOCKET, SO_DOMAIN);
    getint("SO_ERROR", fd, SOL_SOCKET, SO_ERROR);
    getint("SO_ACCEPTCONN", fd, SOL_SOCKET, SO_ACCEPTCONN);
    getint("SO_KEEPALIVE", fd, SOL_SOCKET, SO_KEEPALIVE);
    getint("SO_BROADCAST", fd, SOL_SOCKET, SO_BROADCAST);
    getint("IP_TTL", fd, IPPROTO_IP, IP_TTL);
    getint("IP_TOS", fd, IPPROTO_IP, IP_TOS);
    getint("IP_PKTINFO", fd, IPPROTO_IP, IP_PKTINFO);
    getint("IP_RECVERR", fd, IPPROTO_IP, IP_RECVERR);
    getint("IP_MTU", fd, IPPROTO_IP, IP_MTU);
    getint("IP_MULTICAST_TTL", fd, IPPROTO_IP, IP_MULTICAST_TTL);
    getint("IPV6_V6ONLY", fd, IPPROTO_IPV6, IPV6_V6ONLY);
    getint("IPV6_UNICAST_HOPS", fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS);
    getint("IPV6_RECVPKTINFO", fd, IPPROTO_IPV6, IPV6_RECVPKTINFO);
    getint("TCP_NODELAY", fd, IPPROTO_TCP, TCP_NODELAY);
    getint("TCP_CORK", fd, IPPROTO_TCP, TCP_CORK);
    getint("TCP_KEEPIDLE", fd, IPPROTO_TCP, TCP_KEEPIDLE);
    getint("TCP_KEEPINTVL", fd, IPPROTO_TCP, TCP_KEEPINTVL);
    getint("TCP_KEEPCNT", fd, IPPROTO_TCP, TCP_KEEPCNT);
    getint("TCP_SYNCNT", fd, IPPROTO_TCP, TCP_SYNCNT);
    getint("TCP_USER_TIMEOUT", fd, IPPROTO_TCP, TCP_USER_TIMEOUT);
    getint("TCP_MAXSEG", fd, IPPROTO_TCP, TCP_MAXSEG);
    getint("UDP_CORK", fd, IPPROTO_UDP, UDP_CORK);
    if (stream) {
        /* the name is the host's choice (cubic, bbr): only that there is one */
        char cc[32] = {0}; socklen_t l = sizeof cc;
        printf("TCP_CONGESTION: %d\n", getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc, &l) == 0 && cc[0]);
    }
}

static void cmd_opts(void) {
    int t = CHECK(socket(AF_INET, SOCK_STREAM, 0));
    opts_of("tcp4", t, 1);
    setint("TCP_NODELAY", t, IPPROTO_TCP, TCP_NODELAY, 5);
    getint("TCP_NODELAY", t, IPPROTO_TCP, TCP_NODELAY);
    setint("TCP_CORK", t, IPPROTO_TCP, TCP_CORK, 1);
    setint("TCP_KEEPIDLE", t, IPPROTO_TCP, TCP_KEEPIDLE, 0);
    setint("TCP_KEEPIDLE", t, IPPROTO_TCP, TCP_KEEPIDLE, 30);
    getint("TCP_KEEPIDLE", t, IPPROTO_TCP, TCP_KEEPIDLE);
    setint("TCP_KEEPCNT", t, IPPROTO_TCP, TCP_KEEPCNT, 200);
    setint("TCP_MAXSEG", t, IPPROTO_TCP, TCP_MAXSEG, 10);
    setint("TCP_MAXSEG", t, IPPROTO_TCP, TCP_MAXSEG, 1000);
    getint("TCP_MAXSEG", t, IPPROTO_TCP, TCP_MAXSEG);
    setint("IP_TTL", t, IPPROTO_IP, IP_TTL, 0);
    setint("IP_TTL", t, IPPROTO_IP, IP_TTL, 300);
    setint("IP_TTL", t, IPPROTO_IP, IP_TTL, 17);
    getint("IP_TTL", t, IPPROTO_IP, IP_TTL);
    setint("IP_TTL", t, IPPROTO_IP, IP_TTL, -1);
    getint("IP_TTL", t, IPPROTO_IP, IP_TTL);
    setint("IP_TOS", t, IPPROTO_IP, IP_TOS, 0x13);
    getint("IP_TOS", t, IPPROTO_IP, IP_TOS);
    setint("IP_RECVERR", t, IPPROTO_IP, IP_RECVERR, 1);
    setint("SO_KEEPALIVE", t, SOL_SOCKET, SO_KEEPALIVE, 1);
    getint("SO_KEEPALIVE", t, SOL_SOCKET, SO_KEEPALIVE);
    setint("UDP_CORK on tcp", t, IPPROTO_UDP, UDP_CORK, 1);
    setint("IPV6_V6ONLY on v4", t, IPPROTO_IPV6, IPV6_V6ONLY, 1);
    setint("unknown level", t, 99, 1, 1);
    struct linger lg = { 1, 0 };
    printf("linger: %d\n", setsockopt(t, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
    struct tcp_info ti; socklen_t tl = sizeof ti;
    TRY("tcp_info", getsockopt(t, IPPROTO_TCP, TCP_INFO, &ti, &tl));
    printf("tcpi_state %d\n", ti.tcpi_state);
    close(t);
    int l = listener(AF_INET, "127.0.0.1", 3);
    opts_of("listener", l, 1);
    tl = sizeof ti;
    getsockopt(l, IPPROTO_TCP, TCP_INFO, &ti, &tl);
    printf("tcpi_state %d\n", ti.tcpi_state);
    int c = connect_to(AF_INET, "127.0.0.1", port_of(l));
    int s = CHECK(accept(l, NULL, NULL));
    opts_of("connected", c, 1);
    tl = sizeof ti;
    getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &tl);
    printf("tcpi_state %d\n", ti.tcpi_state);
    shutdown(c, SHUT_WR);
    usleep(10000);
    tl = sizeof ti;
    getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &tl);
    printf("after shutdown: client %d", ti.tcpi_state);
    tl = sizeof ti;
    getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &tl);
    printf(" server %d\n", ti.tcpi_state);
    close(c); close(s); close(l);
    t = CHECK(socket(AF_INET6, SOCK_STREAM, 0));
    opts_of("tcp6", t, 1);
    setint("IPV6_V6ONLY", t, IPPROTO_IPV6, IPV6_V6ONLY, 1);
    getint("IPV6_V6ONLY", t, IPPROTO_IPV6, IPV6_V6ONLY);
    setint("IPV6_UNICAST_HOPS", t, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 256);
    close(t);
    int u = CHECK(socket(AF_INET, SOCK_DGRAM, 0));
    opts_of("udp4", u, 0);
    setint("SO_BROADCAST", u, SOL_SOCKET, SO_BROADCAST, 1);
    getint("SO_BROADCAST", u, SOL_SOCKET, SO_BROADCAST);
    setint("TCP_NODELAY on udp", u, IPPROTO_TCP, TCP_NODELAY, 1);
    close(u);
    u = CHECK(socket(AF_INET6, SOCK_DGRAM, 0));
    opts_of("udp6", u, 0);
    close(u);
    TRY("raw unprivileged? seqpacket", socket(AF_INET, SOCK_SEQPACKET, 0));
    TRY("udp with tcp", socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP));
    TRY("bad protocol", socket(AF_INET, SOCK_STREAM, 300));
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *cmd = argc > 1 ? argv[1] : "";
    if (!strcmp(cmd, "stream")) cmd_stream();
    else if (!strcmp(cmd, "bind")) cmd_bind();
    else if (!strcmp(cmd, "errors")) cmd_errors();
    else if (!strcmp(cmd, "flags")) cmd_flags();
    else if (!strcmp(cmd, "udp")) cmd_udp();
    else if (!strcmp(cmd, "opts")) cmd_opts();
    else { fprintf(stderr, "usage: inet stream|bind|errors|flags|udp|opts\n"); return 2; }
    return 0;
}

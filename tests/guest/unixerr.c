/* Bad input to the socket syscalls, compared with Linux (whose errno precedence is the ABI):
   socket()'s family/type/protocol checks, descriptors that are not sockets, garbage message
   headers and control messages, huge iovec counts, sendmmsg/recvmmsg, socket options, and
   running out of descriptors. Raw syscalls, so libc's own checks do not hide the kernel's. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <grp.h>
#include <sys/wait.h>
#include <signal.h>

#define TRY(what, expr) do { errno = 0; long r_ = (long)(expr); int e_ = errno; printf("%s: %ld %s\n", what, r_, r_ < 0 ? strerrorname_np(e_) : "ok"); } while (0)
#define SHOW(what, r, e) printf("%s: %ld %s\n", what, (long)(r), (r) < 0 ? strerrorname_np(e) : "ok")
#define BAD ((void *)8)
#define MSG_CMSG_COMPAT 0x80000000
#define KERNEL ((void *)0xffff800000000000ULL)

static void test_socket(void) {
    char what[96];
    int families[] = {-1, AF_UNSPEC, AF_MAX, AF_MAX + 1, 1000, INT_MIN};
    for (unsigned i = 0; i < sizeof families / sizeof families[0]; i++) {
        snprintf(what, sizeof what, "socket(family %d, STREAM)", families[i]);
        TRY(what, syscall(SYS_socket, families[i], SOCK_STREAM, 0));
        snprintf(what, sizeof what, "socket(family %d, type 99)", families[i]);
        TRY(what, syscall(SYS_socket, families[i], 99, 0));
    }
    int types[] = {0, SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_RDM, SOCK_SEQPACKET, 6, SOCK_PACKET, 11, 15, -1,
                   SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, SOCK_STREAM | 0x100, SOCK_STREAM | O_RDWR, 16};
    for (unsigned i = 0; i < sizeof types / sizeof types[0]; i++) {
        snprintf(what, sizeof what, "socket(AF_UNIX, type %#x)", types[i]);
        long r = syscall(SYS_socket, AF_UNIX, types[i], 0);
        SHOW(what, r, errno);
        if (r >= 0) {
            int t = -1;
            socklen_t l = sizeof t;
            getsockopt(r, SOL_SOCKET, SO_TYPE, &t, &l);
            printf("  SO_TYPE %d nonblock %d cloexec %d\n", t, !!(fcntl(r, F_GETFL) & O_NONBLOCK), !!(fcntl(r, F_GETFD) & FD_CLOEXEC));
            close(r);
        }
        snprintf(what, sizeof what, "socketpair(AF_UNIX, type %#x)", types[i]);
        int sv[2] = {-1, -1};
        r = syscall(SYS_socketpair, AF_UNIX, types[i], 0, sv);
        SHOW(what, r, errno);
        if (r == 0) { close(sv[0]); close(sv[1]); }
    }
    int protos[] = {0, 1, 2, -1, 17};
    for (unsigned i = 0; i < sizeof protos / sizeof protos[0]; i++) {
        snprintf(what, sizeof what, "socket(AF_UNIX, STREAM, protocol %d)", protos[i]);
        long r = syscall(SYS_socket, AF_UNIX, SOCK_STREAM, protos[i]);
        SHOW(what, r, errno);
        if (r >= 0) close(r);
        snprintf(what, sizeof what, "socket(AF_UNIX, type 0, protocol %d)", protos[i]);
        TRY(what, syscall(SYS_socket, AF_UNIX, 0, protos[i]));
    }
    /* netlink: types other than raw/datagram, and protocols beyond MAX_LINKS */
    TRY("socket(AF_NETLINK, STREAM)", syscall(SYS_socket, AF_NETLINK, SOCK_STREAM, 0));
    TRY("socket(AF_NETLINK, SEQPACKET)", syscall(SYS_socket, AF_NETLINK, SOCK_SEQPACKET, 0));
    TRY("socket(AF_NETLINK, RAW, 32)", syscall(SYS_socket, AF_NETLINK, SOCK_RAW, 32));
    TRY("socket(AF_NETLINK, RAW, -1)", syscall(SYS_socket, AF_NETLINK, SOCK_RAW, -1));
    /* socketpair: flags, then descriptors written before the family is checked */
    int sv[2] = {-5, -5};
    TRY("socketpair bad flags", syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM | 0x100, 0, sv));
    TRY("socketpair(AF_MAX)", syscall(SYS_socketpair, AF_MAX, SOCK_STREAM, 0, sv));
    printf("  descriptors written anyway: %d\n", sv[0] >= 0 && sv[1] == sv[0] + 1);
    TRY("socketpair bad pointer", syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, BAD));
    TRY("socketpair(AF_MAX) bad pointer", syscall(SYS_socketpair, AF_MAX, SOCK_STREAM, 0, BAD));
    TRY("socketpair(AF_UNIX, type 0)", syscall(SYS_socketpair, AF_UNIX, 0, 0, sv));
    TRY("socketpair protocol 5", syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 5, sv));
    int fd = open("/proc/self/status", O_RDONLY);
    TRY("next descriptor is still the lowest", fd == sv[0] ? 0 : -1);
    close(fd);
}

static void test_notsock(void) {
    int p[2];
    pipe(p);
    struct sockaddr_un a = {AF_UNIX, "x"};
    socklen_t l = sizeof a;
    char buf[8];
    int v = 1;
    struct msghdr m = {0};
    TRY("bind(pipe)", syscall(SYS_bind, p[0], &a, sizeof a));
    TRY("bind(pipe, bad len)", syscall(SYS_bind, p[0], &a, 500));
    TRY("bind(-1)", syscall(SYS_bind, -1, &a, sizeof a));
    TRY("connect(pipe)", syscall(SYS_connect, p[0], &a, sizeof a));
    TRY("connect(pipe, bad len)", syscall(SYS_connect, p[0], &a, 500));
    TRY("connect(pipe, bad address)", syscall(SYS_connect, p[0], BAD, sizeof a));
    TRY("connect(99, bad len)", syscall(SYS_connect, 99, &a, 500));
    TRY("listen(pipe)", syscall(SYS_listen, p[0], 1));
    TRY("accept(pipe)", syscall(SYS_accept, p[0], NULL, NULL));
    TRY("accept4(pipe, bad flags)", syscall(SYS_accept4, p[0], NULL, NULL, -1));
    TRY("accept4(99, bad flags)", syscall(SYS_accept4, 99, NULL, NULL, -1));
    TRY("getsockname(pipe)", syscall(SYS_getsockname, p[0], &a, &l));
    TRY("getpeername(pipe)", syscall(SYS_getpeername, p[0], &a, &l));
    TRY("shutdown(pipe)", syscall(SYS_shutdown, p[0], SHUT_RD));
    TRY("sendto(pipe)", syscall(SYS_sendto, p[1], "x", 1, 0, NULL, 0));
    TRY("sendto(pipe, kernel buffer)", syscall(SYS_sendto, p[1], KERNEL, 1, 0, NULL, 0));
    TRY("sendto(99, wrapping buffer)", syscall(SYS_sendto, 99, (void *)-1, 10, 0, NULL, 0));
    TRY("recvfrom(pipe)", syscall(SYS_recvfrom, p[0], buf, 1, 0, NULL, NULL));
    TRY("sendmsg(pipe)", syscall(SYS_sendmsg, p[1], &m, 0));
    TRY("sendmsg(pipe, COMPAT)", syscall(SYS_sendmsg, p[1], &m, MSG_CMSG_COMPAT));
    TRY("recvmsg(pipe)", syscall(SYS_recvmsg, p[0], &m, 0));
    TRY("setsockopt(pipe)", syscall(SYS_setsockopt, p[0], SOL_SOCKET, SO_REUSEADDR, &v, sizeof v));
    TRY("setsockopt(pipe, len -1)", syscall(SYS_setsockopt, p[0], SOL_SOCKET, SO_REUSEADDR, &v, -1));
    TRY("getsockopt(pipe)", syscall(SYS_getsockopt, p[0], SOL_SOCKET, SO_TYPE, &v, &l));
    TRY("sendmmsg(pipe)", syscall(SYS_sendmmsg, p[1], NULL, 0, 0));
    TRY("recvmmsg(pipe)", syscall(SYS_recvmmsg, p[0], NULL, 0, 0, NULL));
    struct timespec bad_ts = {0, 2000000000L};
    TRY("recvmmsg(pipe, bad timeout)", syscall(SYS_recvmmsg, p[0], NULL, 0, 0, &bad_ts));
    TRY("recvmmsg(pipe, timeout pointer bad)", syscall(SYS_recvmmsg, p[0], NULL, 0, 0, BAD));
    close(p[0]);
    close(p[1]);
}

static void test_msghdr(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    char data[16] = "payload";
    struct iovec io = {data, 7};
    struct msghdr m;
#define RESET() do { memset(&m, 0, sizeof m); m.msg_iov = &io; m.msg_iovlen = 1; } while (0)
    RESET();
    TRY("sendmsg ok", syscall(SYS_sendmsg, sv[0], &m, 0));
    TRY("sendmsg header unreadable", syscall(SYS_sendmsg, sv[0], BAD, 0));
    TRY("recvmsg header unreadable", syscall(SYS_recvmsg, sv[1], BAD, 0));
    TRY("sendmsg COMPAT", syscall(SYS_sendmsg, sv[0], &m, MSG_CMSG_COMPAT));
    TRY("recvmsg COMPAT", syscall(SYS_recvmsg, sv[1], &m, MSG_CMSG_COMPAT));
    struct sockaddr_un a = {AF_UNIX, "nowhere"};
    m.msg_name = &a;
    m.msg_namelen = -1;
    TRY("namelen -1", syscall(SYS_sendmsg, sv[0], &m, 0));
    m.msg_iovlen = 5000;
    TRY("namelen -1 and 5000 iovecs", syscall(SYS_sendmsg, sv[0], &m, 0));
    RESET();
    m.msg_name = NULL;
    m.msg_namelen = -1;
    TRY("namelen -1 without a name", syscall(SYS_sendmsg, sv[0], &m, 0));
    RESET();
    m.msg_name = &a;
    m.msg_namelen = 1000;
    TRY("namelen 1000 (clamped to 128)", syscall(SYS_sendmsg, sv[0], &m, 0));
    m.msg_namelen = sizeof a;
    TRY("to a path that does not exist", syscall(SYS_sendmsg, sv[0], &m, 0));
    m.msg_name = BAD;
    TRY("name unreadable", syscall(SYS_sendmsg, sv[0], &m, 0));
    RESET();
    m.msg_iovlen = 1025;
    TRY("1025 iovecs", syscall(SYS_sendmsg, sv[0], &m, 0));
    TRY("1025 iovecs (recv)", syscall(SYS_recvmsg, sv[1], &m, 0));
    m.msg_iovlen = (size_t)-1;
    TRY("-1 iovecs", syscall(SYS_sendmsg, sv[0], &m, 0));
    static struct iovec many[1024];
    for (int i = 0; i < 1024; i++) { many[i].iov_base = data; many[i].iov_len = 1; }
    m.msg_iov = many;
    m.msg_iovlen = 1024;
    TRY("1024 iovecs", syscall(SYS_sendmsg, sv[0], &m, 0));
    m.msg_iov = BAD;
    m.msg_iovlen = 2;
    TRY("iovecs unreadable", syscall(SYS_sendmsg, sv[0], &m, 0));
    m.msg_iov = NULL;
    m.msg_iovlen = 0;
    TRY("no iovecs", syscall(SYS_sendmsg, sv[0], &m, 0));
    struct iovec neg[2] = {{data, 1}, {data, (size_t)-1}};
    m.msg_iov = neg;
    m.msg_iovlen = 2;
    TRY("iov_len -1", syscall(SYS_sendmsg, sv[0], &m, 0));
    struct iovec kern[1] = {{KERNEL, 4}};
    m.msg_iov = kern;
    m.msg_iovlen = 1;
    TRY("kernel iov_base", syscall(SYS_sendmsg, sv[0], &m, 0));
    struct iovec badbase[1] = {{BAD, 4}};
    m.msg_iov = badbase;
    TRY("unmapped iov_base", syscall(SYS_sendmsg, sv[0], &m, 0));
    RESET();
    m.msg_control = data;
    m.msg_controllen = (size_t)INT_MAX + 1;
    TRY("controllen INT_MAX+1", syscall(SYS_sendmsg, sv[0], &m, 0));
    m.msg_controllen = 1 << 20;
    TRY("controllen 1 MiB", syscall(SYS_sendmsg, sv[0], &m, 0));
    m.msg_control = BAD;
    m.msg_controllen = 64;
    TRY("control unreadable", syscall(SYS_sendmsg, sv[0], &m, 0));
    char ctl[256];
    struct cmsghdr *c = (struct cmsghdr *)ctl;
    memset(ctl, 0, sizeof ctl);
    m.msg_control = ctl;
    m.msg_controllen = 8;
    TRY("controllen 8 (no header fits)", syscall(SYS_sendmsg, sv[0], &m, 0));
    m.msg_controllen = 16;
    c->cmsg_len = 8;
    TRY("cmsg_len 8", syscall(SYS_sendmsg, sv[0], &m, 0));
    c->cmsg_len = 17;
    TRY("cmsg_len beyond controllen", syscall(SYS_sendmsg, sv[0], &m, 0));
    c->cmsg_len = 16;
    c->cmsg_level = 99;
    c->cmsg_type = 99;
    TRY("unknown level (ignored)", syscall(SYS_sendmsg, sv[0], &m, 0));
    c->cmsg_level = SOL_SOCKET;
    TRY("SOL_SOCKET type 99", syscall(SYS_sendmsg, sv[0], &m, 0));
    c->cmsg_type = SCM_RIGHTS;
    TRY("SCM_RIGHTS with no fds", syscall(SYS_sendmsg, sv[0], &m, 0));
    c->cmsg_type = 3; /* SCM_SECURITY */
    TRY("SCM_SECURITY", syscall(SYS_sendmsg, sv[0], &m, 0));
    /* the second header: trailing bytes shorter than a header are ignored */
    c->cmsg_type = SCM_RIGHTS;
    m.msg_controllen = 16 + 15;
    TRY("15 trailing bytes", syscall(SYS_sendmsg, sv[0], &m, 0));
    m.msg_controllen = 32;
    struct cmsghdr *c2 = (struct cmsghdr *)(ctl + 16);
    c2->cmsg_len = 8;
    TRY("a bad second header", syscall(SYS_sendmsg, sv[0], &m, 0));
    c2->cmsg_len = 16;
    c2->cmsg_level = SOL_SOCKET;
    c2->cmsg_type = 77;
    TRY("a bad second type", syscall(SYS_sendmsg, sv[0], &m, 0));
    /* SCM_RIGHTS on a stream socket whose peer is gone, with a bad fd: the fd check wins */
    int st[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, st);
    close(st[1]);
    c->cmsg_len = CMSG_LEN(sizeof(int));
    *(int *)CMSG_DATA(c) = 999;
    m.msg_controllen = CMSG_SPACE(sizeof(int));
    TRY("bad fd to a closed stream peer", syscall(SYS_sendmsg, st[0], &m, MSG_NOSIGNAL));
    *(int *)CMSG_DATA(c) = sv[0];
    TRY("good fd to a closed stream peer", syscall(SYS_sendmsg, st[0], &m, MSG_NOSIGNAL));
    m.msg_name = &a;
    m.msg_namelen = sizeof a;
    TRY("an address on a connected stream socket", syscall(SYS_sendmsg, st[0], &m, MSG_NOSIGNAL));
    close(st[0]);
    /* drain, then receive with garbage */
    char buf[64];
    while (recv(sv[1], buf, sizeof buf, MSG_DONTWAIT) >= 0) {}
    send(sv[0], "abc", 3, 0);
    RESET();
    io.iov_base = BAD;
    io.iov_len = 8;
    TRY("recvmsg into an unmapped buffer", syscall(SYS_recvmsg, sv[1], &m, MSG_DONTWAIT));
    io.iov_base = buf;
    m.msg_name = &a;
    m.msg_namelen = -1;
    TRY("recvmsg namelen -1", syscall(SYS_recvmsg, sv[1], &m, MSG_DONTWAIT));
    m.msg_namelen = sizeof a;
    m.msg_name = BAD;
    TRY("recvmsg name unwritable", syscall(SYS_recvmsg, sv[1], &m, MSG_DONTWAIT));
    send(sv[0], "def", 3, 0);
    RESET();
    io.iov_base = buf;
    io.iov_len = sizeof buf;
    m.msg_control = BAD;
    m.msg_controllen = 64;
    TRY("recvmsg control unwritable (nothing to put)", syscall(SYS_recvmsg, sv[1], &m, MSG_DONTWAIT));
    printf("  controllen after %lu\n", (unsigned long)m.msg_controllen);
    TRY("recv with an unreadable address length", syscall(SYS_recvfrom, sv[1], buf, 8, MSG_DONTWAIT, &a, BAD));
    send(sv[0], "ghi", 3, 0);
    socklen_t al = 3;
    TRY("recvfrom a 3-byte address buffer", syscall(SYS_recvfrom, sv[1], buf, 8, MSG_DONTWAIT, &a, &al));
    printf("  address length %u\n", (unsigned)al);
    send(sv[0], "jkl", 3, 0);
    int neg_len = -1;
    TRY("recvfrom a negative address length", syscall(SYS_recvfrom, sv[1], buf, 8, MSG_DONTWAIT, &a, &neg_len));
    TRY("recvfrom kernel buffer", syscall(SYS_recvfrom, sv[1], KERNEL, 8, MSG_DONTWAIT, NULL, NULL));
    close(sv[0]);
    close(sv[1]);
}

static void test_mmsg(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    struct mmsghdr mm[4];
    struct iovec io[4];
    char bufs[4][16];
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 4; i++) {
        snprintf(bufs[i], 16, "msg%d", i);
        io[i].iov_base = bufs[i];
        io[i].iov_len = 4;
        mm[i].msg_hdr.msg_iov = &io[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    TRY("sendmmsg 0", syscall(SYS_sendmmsg, sv[0], mm, 0, 0));
    TRY("sendmmsg 3", syscall(SYS_sendmmsg, sv[0], mm, 3, 0));
    printf("  lens %u %u %u\n", mm[0].msg_len, mm[1].msg_len, mm[2].msg_len);
    mm[1].msg_hdr.msg_iovlen = 2000;
    TRY("sendmmsg with a bad second", syscall(SYS_sendmmsg, sv[0], mm, 3, 0));
    mm[0].msg_hdr.msg_iovlen = 2000;
    TRY("sendmmsg with a bad first", syscall(SYS_sendmmsg, sv[0], mm, 3, 0));
    TRY("sendmmsg unreadable vector", syscall(SYS_sendmmsg, sv[0], BAD, 3, 0));
    TRY("sendmmsg COMPAT", syscall(SYS_sendmmsg, sv[0], mm, 3, MSG_CMSG_COMPAT));
    /* receive */
    char rb[4][16];
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 4; i++) {
        io[i].iov_base = rb[i];
        io[i].iov_len = 16;
        mm[i].msg_hdr.msg_iov = &io[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    TRY("recvmmsg 4 (4 queued, DONTWAIT)", syscall(SYS_recvmmsg, sv[1], mm, 4, MSG_DONTWAIT, NULL));
    printf("  lens %u %u %u %u\n", mm[0].msg_len, mm[1].msg_len, mm[2].msg_len, mm[3].msg_len);
    TRY("recvmmsg empty, DONTWAIT", syscall(SYS_recvmmsg, sv[1], mm, 4, MSG_DONTWAIT, NULL));
    send(sv[0], "one", 3, 0);
    TRY("recvmmsg WAITFORONE", syscall(SYS_recvmmsg, sv[1], mm, 4, MSG_WAITFORONE, NULL));
    send(sv[0], "two", 3, 0);
    struct timespec ts = {1, 0};
    TRY("recvmmsg 1 with a timeout", syscall(SYS_recvmmsg, sv[1], mm, 1, 0, &ts));
    printf("  timeout left: some %d\n", ts.tv_sec == 0 || ts.tv_nsec > 0);
    send(sv[0], "three", 5, 0);
    mm[1].msg_hdr.msg_iov = BAD;
    TRY("recvmmsg with a bad second", syscall(SYS_recvmmsg, sv[1], mm, 2, MSG_DONTWAIT, NULL));
    TRY("recvmmsg 0", syscall(SYS_recvmmsg, sv[1], mm, 0, 0, NULL));
    TRY("recvmmsg COMPAT", syscall(SYS_recvmmsg, sv[1], mm, 1, MSG_CMSG_COMPAT, NULL));
    close(sv[0]);
    close(sv[1]);
}

static void get(const char *what, int fd, int opt) {
    int v = -7;
    socklen_t l = sizeof v;
    errno = 0;
    long r = syscall(SYS_getsockopt, fd, SOL_SOCKET, opt, &v, &l);
    printf("%s: %ld %s value %d len %u\n", what, r, r < 0 ? strerrorname_np(errno) : "ok", v, (unsigned)l);
}

static void set(const char *what, int fd, int opt, int v) {
    char w[96];
    snprintf(w, sizeof w, "set %s %d", what, v);
    TRY(w, syscall(SYS_setsockopt, fd, SOL_SOCKET, opt, &v, sizeof v));
}

/* Receives one datagram with a control buffer and prints its control messages; timestamps
   are checked against the clock, not printed. */
static void show_cmsgs(const char *what, int s) {
    char data[16], ctl[256];
    struct iovec io = {data, sizeof data};
    struct msghdr m = {0};
    m.msg_iov = &io;
    m.msg_iovlen = 1;
    m.msg_control = ctl;
    m.msg_controllen = sizeof ctl;
    long r = recvmsg(s, &m, MSG_DONTWAIT);
    printf("%s: %ld flags %#x controllen %lu\n", what, r, m.msg_flags, (unsigned long)m.msg_controllen);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        long long sec = 0, frac = 0;
        if (c->cmsg_len >= CMSG_LEN(16)) { memcpy(&sec, CMSG_DATA(c), 8); memcpy(&frac, CMSG_DATA(c) + 8, 8); }
        long long diff = now.tv_sec - sec;
        printf("  level %d type %d len %lu recent %d\n", c->cmsg_level, c->cmsg_type, (unsigned long)c->cmsg_len, diff >= 0 && diff < 10);
    }
}

static void test_more_opts(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    int opts[] = {SO_TIMESTAMP, SO_TIMESTAMPNS, 63, 64};
    for (unsigned i = 0; i < 4; i++) {
        char w[48];
        snprintf(w, sizeof w, "timestamp option %d", opts[i]);
        set(w, sv[1], opts[i], 1);
        for (unsigned j = 0; j < 4; j++) {
            snprintf(w, sizeof w, "  get %d", opts[j]);
            get(w, sv[1], opts[j]);
        }
        send(sv[0], "t", 1, 0);
        show_cmsgs("  receive", sv[1]);
    }
    send(sv[0], "u", 1, 0);
    set("SO_TIMESTAMP off", sv[1], SO_TIMESTAMP, 0);
    show_cmsgs("  stamped before it was turned off", sv[1]);
    int one = 1;
    setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
    set("SO_TIMESTAMPNS", sv[1], SO_TIMESTAMPNS, 1);
    send(sv[0], "v", 1, 0);
    show_cmsgs("  timestamp and credentials", sv[1]);
    set("SO_TIMESTAMPNS off", sv[1], SO_TIMESTAMPNS, 0);
    /* booleans and integers Linux keeps for any socket */
    int bools[] = {40, 41, 43, 44, 45, 69, 75};
    for (unsigned i = 0; i < sizeof bools / sizeof bools[0]; i++) {
        char w[48];
        snprintf(w, sizeof w, "option %d", bools[i]);
        set(w, sv[0], bools[i], 7);
        get("  reads", sv[0], bools[i]);
        set(w, sv[0], bools[i], 0);
    }
    get("SO_INCOMING_CPU", sv[0], 49);
    set("SO_INCOMING_CPU", sv[0], 49, 3);
    get("SO_INCOMING_CPU", sv[0], 49);
    set("SO_BUSY_POLL", sv[0], 46, 50);
    get("SO_BUSY_POLL", sv[0], 46);
    set("SO_BUSY_POLL -1", sv[0], 46, -1);
    get("SO_BPF_EXTENSIONS", sv[0], 48);
    get("SO_BUF_LOCK", sv[0], 72);
    set("SO_SNDBUF", sv[0], SO_SNDBUF, 10000);
    get("SO_BUF_LOCK after SO_SNDBUF", sv[0], 72);
    set("SO_BUF_LOCK 4", sv[0], 72, 4);
    set("SO_BUF_LOCK 2", sv[0], 72, 2);
    get("SO_BUF_LOCK", sv[0], 72);
    set("SO_ZEROCOPY", sv[0], 60, 1);
    get("SO_ZEROCOPY", sv[0], 60);
    set("SO_DETACH_FILTER", sv[0], 27, 0);
    uint64_t rate = 0;
    socklen_t l = sizeof rate;
    TRY("SO_MAX_PACING_RATE 8 bytes", syscall(SYS_getsockopt, sv[0], SOL_SOCKET, 47, &rate, &l));
    printf("  all ones %d len %u\n", rate == ~0ULL, (unsigned)l);
    uint64_t c1 = 0, c2 = 0, c3 = 0;
    l = 8;
    getsockopt(sv[0], SOL_SOCKET, SO_COOKIE, &c1, &l);
    l = 8;
    getsockopt(sv[0], SOL_SOCKET, SO_COOKIE, &c2, &l);
    l = 8;
    getsockopt(sv[1], SOL_SOCKET, SO_COOKIE, &c3, &l);
    printf("SO_COOKIE: nonzero %d stable %d distinct %d len %u\n", c1 != 0, c1 == c2, c1 != c3, (unsigned)l);
    char dev[16] = "";
    TRY("SO_BINDTODEVICE empty", syscall(SYS_setsockopt, sv[0], SOL_SOCKET, SO_BINDTODEVICE, dev, 0));
    l = sizeof dev;
    TRY("SO_BINDTODEVICE get", syscall(SYS_getsockopt, sv[0], SOL_SOCKET, SO_BINDTODEVICE, dev, &l));
    printf("  len %u\n", (unsigned)l);
    TRY("SO_BINDTODEVICE nosuchdev0", syscall(SYS_setsockopt, sv[0], SOL_SOCKET, SO_BINDTODEVICE, "nosuchdev0", 10));
    unsigned mem[9];
    l = sizeof mem;
    TRY("SO_MEMINFO", syscall(SYS_getsockopt, sv[0], SOL_SOCKET, SO_MEMINFO, mem, &l));
    printf("  len %u rcvbuf %u sndbuf %u\n", (unsigned)l, mem[1], mem[3]);
    /* SO_PEERNAME, SO_PEERGROUPS */
    char name[128];
    l = sizeof name;
    TRY("SO_PEERNAME unbound peer", syscall(SYS_getsockopt, sv[0], SOL_SOCKET, SO_PEERNAME, name, &l));
    l = 2;
    TRY("SO_PEERNAME 2 bytes", syscall(SYS_getsockopt, sv[0], SOL_SOCKET, SO_PEERNAME, name, &l));
    printf("  len %u\n", (unsigned)l);
    int lone = socket(AF_UNIX, SOCK_STREAM, 0);
    l = sizeof name;
    TRY("SO_PEERNAME unconnected", syscall(SYS_getsockopt, lone, SOL_SOCKET, SO_PEERNAME, name, &l));
    l = sizeof name;
    TRY("SO_PEERGROUPS unconnected", syscall(SYS_getsockopt, lone, SOL_SOCKET, SO_PEERGROUPS, name, &l));
    close(lone);
    close(sv[0]);
    close(sv[1]);
    pid_t p = fork();
    if (p == 0) {
        gid_t g[3] = {4, 5, 6};
        setgroups(3, g);
        socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
        gid_t out[8] = {0};
        socklen_t gl = 4;
        TRY("SO_PEERGROUPS small", syscall(SYS_getsockopt, sv[0], SOL_SOCKET, SO_PEERGROUPS, out, &gl));
        printf("  needs %u\n", (unsigned)gl);
        gl = sizeof out;
        TRY("SO_PEERGROUPS", syscall(SYS_getsockopt, sv[0], SOL_SOCKET, SO_PEERGROUPS, out, &gl));
        printf("  len %u groups %u %u %u\n", (unsigned)gl, out[0], out[1], out[2]);
        _exit(0);
    }
    waitpid(p, NULL, 0);
}

static void test_opts(void) {
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    int opts[] = {SO_DEBUG, SO_REUSEADDR, SO_TYPE, SO_ERROR, SO_DONTROUTE, SO_BROADCAST, SO_SNDBUF, SO_RCVBUF, SO_KEEPALIVE, SO_OOBINLINE,
                  SO_NO_CHECK, SO_PRIORITY, SO_BSDCOMPAT, SO_REUSEPORT, SO_PASSCRED, SO_RCVLOWAT, SO_SNDLOWAT, SO_ACCEPTCONN, SO_PASSSEC,
                  SO_PROTOCOL, SO_DOMAIN, SO_MARK, 9999};
    for (unsigned i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        char w[40];
        snprintf(w, sizeof w, "get opt %d", opts[i]);
        get(w, s, opts[i]);
    }
    set("SO_SNDBUF", s, SO_SNDBUF, 0);
    get("  SO_SNDBUF", s, SO_SNDBUF);
    set("SO_SNDBUF", s, SO_SNDBUF, 100000);
    get("  SO_SNDBUF", s, SO_SNDBUF);
    set("SO_SNDBUF", s, SO_SNDBUF, 3000);
    get("  SO_SNDBUF", s, SO_SNDBUF);
    set("SO_RCVBUF", s, SO_RCVBUF, 0);
    get("  SO_RCVBUF", s, SO_RCVBUF);
    set("SO_RCVBUF", s, SO_RCVBUF, 50000);
    get("  SO_RCVBUF", s, SO_RCVBUF);
    set("SO_SNDBUFFORCE", s, SO_SNDBUFFORCE, -5);
    get("  SO_SNDBUF", s, SO_SNDBUF);
    set("SO_RCVLOWAT", s, SO_RCVLOWAT, 0);
    get("  SO_RCVLOWAT", s, SO_RCVLOWAT);
    set("SO_RCVLOWAT", s, SO_RCVLOWAT, -3);
    get("  SO_RCVLOWAT", s, SO_RCVLOWAT);
    set("SO_RCVLOWAT", s, SO_RCVLOWAT, 10);
    set("SO_KEEPALIVE", s, SO_KEEPALIVE, 5);
    get("  SO_KEEPALIVE", s, SO_KEEPALIVE);
    set("SO_REUSEADDR", s, SO_REUSEADDR, 1);
    get("  SO_REUSEADDR", s, SO_REUSEADDR);
    set("SO_REUSEPORT", s, SO_REUSEPORT, 1);
    set("SO_PASSSEC", s, SO_PASSSEC, 1);
    get("  SO_PASSSEC", s, SO_PASSSEC);
    set("SO_PRIORITY", s, SO_PRIORITY, 6);
    set("SO_PRIORITY", s, SO_PRIORITY, 7);
    get("  SO_PRIORITY", s, SO_PRIORITY);
    set("SO_TYPE", s, SO_TYPE, 1);
    set("SO_ERROR", s, SO_ERROR, 1);
    set("SO_ACCEPTCONN", s, SO_ACCEPTCONN, 1);
    set("SO_PEERCRED", s, SO_PEERCRED, 1);
    set("unknown", s, 9999, 1);
    int v = 1;
    TRY("setsockopt len 3", syscall(SYS_setsockopt, s, SOL_SOCKET, SO_KEEPALIVE, &v, 3));
    TRY("setsockopt len -1", syscall(SYS_setsockopt, s, SOL_SOCKET, SO_KEEPALIVE, &v, -1));
    TRY("setsockopt unreadable", syscall(SYS_setsockopt, s, SOL_SOCKET, SO_KEEPALIVE, BAD, 4));
    TRY("setsockopt unknown level", syscall(SYS_setsockopt, s, 99, SO_KEEPALIVE, &v, 4));
    TRY("setsockopt SOL_IP", syscall(SYS_setsockopt, s, 0, 1, &v, 4));
    TRY("setsockopt unknown level, len -1", syscall(SYS_setsockopt, s, 99, SO_KEEPALIVE, &v, -1));
    socklen_t l = 4;
    TRY("getsockopt unknown level", syscall(SYS_getsockopt, s, 99, SO_TYPE, &v, &l));
    TRY("getsockopt length unreadable", syscall(SYS_getsockopt, s, SOL_SOCKET, SO_TYPE, &v, BAD));
    int neg = -1;
    TRY("getsockopt negative length", syscall(SYS_getsockopt, s, SOL_SOCKET, SO_TYPE, &v, &neg));
    l = 4;
    TRY("getsockopt value unwritable", syscall(SYS_getsockopt, s, SOL_SOCKET, SO_TYPE, BAD, &l));
    l = 4;
    TRY("getsockopt unknown, length unreadable", syscall(SYS_getsockopt, s, SOL_SOCKET, 9999, &v, BAD));
    char small[8] = {0};
    l = 1;
    TRY("getsockopt 1 byte of SO_TYPE", syscall(SYS_getsockopt, s, SOL_SOCKET, SO_TYPE, small, &l));
    printf("  value %d len %u\n", small[0], (unsigned)l);
    l = 100;
    TRY("getsockopt 100 bytes of SO_TYPE", syscall(SYS_getsockopt, s, SOL_SOCKET, SO_TYPE, &v, &l));
    printf("  len %u\n", (unsigned)l);
    /* timeouts: jiffy rounding, EDOM, negative, short */
    struct timeval tvs[] = {{0, 0}, {1, 500000}, {0, 8000}, {2, 0}, {0, 999999}, {0, 1000000}, {0, -1}, {-5, 0}, {LONG_MAX, 0}};
    for (unsigned i = 0; i < sizeof tvs / sizeof tvs[0]; i++) {
        char w[80];
        snprintf(w, sizeof w, "SO_RCVTIMEO {%ld, %ld}", (long)tvs[i].tv_sec, (long)tvs[i].tv_usec);
        TRY(w, syscall(SYS_setsockopt, s, SOL_SOCKET, SO_RCVTIMEO, &tvs[i], sizeof tvs[i]));
        struct timeval out = {-1, -1};
        l = sizeof out;
        syscall(SYS_getsockopt, s, SOL_SOCKET, SO_RCVTIMEO, &out, &l);
        printf("  reads back {%ld, %ld} len %u\n", (long)out.tv_sec, (long)out.tv_usec, (unsigned)l);
    }
    struct timeval tv = {3, 0};
    TRY("SO_SNDTIMEO len 8", syscall(SYS_setsockopt, s, SOL_SOCKET, SO_SNDTIMEO, &tv, 8));
    TRY("SO_SNDTIMEO len 16", syscall(SYS_setsockopt, s, SOL_SOCKET, SO_SNDTIMEO, &tv, 16));
    l = 8;
    struct timeval out = {0, 0};
    TRY("SO_SNDTIMEO read 8 bytes", syscall(SYS_getsockopt, s, SOL_SOCKET, SO_SNDTIMEO, &out, &l));
    printf("  {%ld, %ld} len %u\n", (long)out.tv_sec, (long)out.tv_usec, (unsigned)l);
    struct linger lg = {1, 30};
    TRY("SO_LINGER", syscall(SYS_setsockopt, s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
    TRY("SO_LINGER short", syscall(SYS_setsockopt, s, SOL_SOCKET, SO_LINGER, &lg, 4));
    memset(&lg, 0, sizeof lg);
    l = sizeof lg;
    syscall(SYS_getsockopt, s, SOL_SOCKET, SO_LINGER, &lg, &l);
    printf("  linger %d %d len %u\n", lg.l_onoff, lg.l_linger, (unsigned)l);
    int sr = socket(AF_UNIX, SOCK_RAW, 0);
    get("SOCK_RAW SO_TYPE", sr, SO_TYPE);
    close(sr);
    close(s);
    test_more_opts();
}

static void test_emfile(void) {
    syscall(SYS_close_range, 3, ~0U, 0);
    struct rlimit rl = {16, 16};
    setrlimit(RLIMIT_NOFILE, &rl);
    int n = 0, last = -1;
    for (;;) {
        int s = socket(AF_UNIX, SOCK_DGRAM, 0);
        if (s < 0) { printf("sockets until %s (opened %d, last fd %d)\n", strerrorname_np(errno), n, last); break; }
        n++;
        last = s;
    }
    int sv[2] = {-5, -5};
    TRY("socketpair with a full table", syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, sv));
    TRY("socket with a full table and a bad family", syscall(SYS_socket, AF_MAX, SOCK_STREAM, 0));
    close(last);
    TRY("socketpair with one free slot", syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, sv));
    printf("  sv untouched %d\n", sv[0] == -5 && sv[1] == -5);
    close(last - 1);
    TRY("socketpair with two free slots", syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, sv));
    int a = sv[0], b = sv[1];
    /* a listener and a client; the accept has no slot left */
    close(last - 2);
    close(last - 3);
    close(last - 4);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path + 1, "emfile-test", 11);
    socklen_t alen = offsetof(struct sockaddr_un, sun_path) + 12;
    bind(l, (struct sockaddr *)&addr, alen);
    listen(l, 5);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    TRY("connect", connect(c, (struct sockaddr *)&addr, alen));
    int filler = socket(AF_UNIX, SOCK_DGRAM, 0);
    TRY("the table is full again", socket(AF_UNIX, SOCK_DGRAM, 0));
    TRY("accept with a full table", syscall(SYS_accept, l, NULL, NULL));
    TRY("accept4 bad flags with a full table", syscall(SYS_accept4, l, NULL, NULL, 0x100));
    TRY("accept on stdin with a full table", syscall(SYS_accept, 0, NULL, NULL));
    close(filler);
    TRY("accept on stdin with a free slot", syscall(SYS_accept, 0, NULL, NULL));
    int acc = syscall(SYS_accept, l, NULL, NULL);
    printf("accept with one free slot: %s\n", acc >= 0 ? "ok" : strerrorname_np(errno));
    /* SCM_RIGHTS into a full table: truncated */
    char ctl[CMSG_SPACE(sizeof(int) * 2)];
    struct iovec io = {"x", 1};
    struct msghdr m = {0};
    m.msg_iov = &io;
    m.msg_iovlen = 1;
    m.msg_control = ctl;
    m.msg_controllen = sizeof ctl;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int) * 2);
    int fds[2] = {c, c};
    memcpy(CMSG_DATA(cm), fds, sizeof fds);
    TRY("send 2 fds", sendmsg(a, &m, 0));
    char buf[8], rctl[64];
    struct iovec rio = {buf, 8};
    struct msghdr rm = {0};
    rm.msg_iov = &rio;
    rm.msg_iovlen = 1;
    rm.msg_control = rctl;
    rm.msg_controllen = sizeof rctl;
    TRY("receive them with no free slot", recvmsg(b, &rm, 0));
    printf("  flags %#x controllen %lu\n", rm.msg_flags, (unsigned long)rm.msg_controllen);
    close(acc);
    TRY("send 2 fds again", sendmsg(a, &m, 0));
    rm.msg_controllen = sizeof rctl;
    TRY("receive with one free slot", recvmsg(b, &rm, 0));
    printf("  flags %#x controllen %lu fds %lu\n", rm.msg_flags, (unsigned long)rm.msg_controllen,
           rm.msg_controllen >= CMSG_LEN(0) ? (unsigned long)((CMSG_FIRSTHDR(&rm)->cmsg_len - CMSG_LEN(0)) / sizeof(int)) : 0ul);
}

/* What umbra lacks (compared with fixed expectations, not with the host, which has them). */
static void test_families(void) {
    TRY("socket(AF_INET, STREAM)", syscall(SYS_socket, AF_INET, SOCK_STREAM, 0));
    TRY("socket(AF_INET6, DGRAM)", syscall(SYS_socket, AF_INET6, SOCK_DGRAM, 0));
    TRY("socket(AF_INET, type 99)", syscall(SYS_socket, AF_INET, 99, 0));
    TRY("socket(AF_NETLINK, RAW, NETLINK_AUDIT)", syscall(SYS_socket, AF_NETLINK, SOCK_RAW, NETLINK_AUDIT));
    TRY("socket(AF_PACKET, RAW)", syscall(SYS_socket, AF_PACKET, SOCK_RAW, 0));
    int sv[2];
    TRY("socketpair(AF_INET, STREAM)", syscall(SYS_socketpair, AF_INET, SOCK_STREAM, 0, sv));
}

/* Random socket syscalls with random, mostly bad, arguments (a fixed seed): the kernel must
   neither crash nor hang (a 10 ms interval timer interrupts anything that blocks). */
static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }
static void tick(int s) { (void)s; }

static long pick_ptr(char *buf) {
    static const long bad[] = {0, 8, 0x10000L, -1L, (long)0xffff800000000000ULL};
    if (next() % 3) return (long)(buf + next() % 64);
    return bad[next() % 5];
}

static long pick_len(void) {
    static const long lens[] = {0, 1, 2, 3, 8, 16, 28, 56, 110, 111, 128, 129, 4096, 1 << 20, -1, INT_MAX, (long)INT_MAX + 1};
    return lens[next() % (sizeof lens / sizeof lens[0])];
}

static void test_fuzz(const char *seed) {
    if (seed) rng ^= strtoull(seed, NULL, 0) * 0x2545F4914F6CDD1DULL;
    char dir[] = "/tmp/unixfuzz.XXXXXX";
    if (!mkdtemp(dir) || chdir(dir) < 0) return;
    struct sigaction sa = {0};
    sa.sa_handler = tick;
    sigaction(SIGALRM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct itimerval it = {{0, 10000}, {0, 10000}};
    setitimer(ITIMER_REAL, &it, NULL);
    /* every length the fuzzer passes fits: a receive may fill up to a full socket buffer */
    static char buf[4 << 20];
    int ok[18] = {0};
    for (int i = 0; i < 200000; i++) {
        for (unsigned j = 0; j < 512; j++) ((uint64_t *)buf)[j] = next() % 4 ? next() % 64 : next();
        if (next() % 4 == 0) {
            struct msghdr *m = (struct msghdr *)buf;
            m->msg_name = (void *)pick_ptr(buf + 4096);
            m->msg_namelen = pick_len();
            m->msg_iov = (struct iovec *)(buf + 8192);
            m->msg_iovlen = next() % 4;
            m->msg_control = (void *)pick_ptr(buf + 12288);
            m->msg_controllen = pick_len();
            struct iovec *v = (struct iovec *)(buf + 8192);
            for (int k = 0; k < 4; k++) { v[k].iov_base = (void *)pick_ptr(buf + 16384); v[k].iov_len = next() % 200; }
            struct cmsghdr *c = (struct cmsghdr *)(buf + 12288);
            c->cmsg_len = next() % 40;
            c->cmsg_level = next() % 2 ? SOL_SOCKET : (int)next();
            c->cmsg_type = next() % 4;
        }
        long fd = next() % 12;
        long a1 = pick_ptr(buf), a2 = pick_len(), a3 = pick_ptr(buf);
        if (next() % 2) {
            /* a valid address: a short abstract name or a path in /tmp */
            struct sockaddr_un *u = (struct sockaddr_un *)(buf + 20000);
            memset(u, 0, sizeof *u);
            u->sun_family = AF_UNIX;
            int abstract = next() % 2;
            snprintf(u->sun_path + abstract, 8, "f%d", (int)(next() % 4));
            a1 = (long)u;
            a2 = offsetof(struct sockaddr_un, sun_path) + abstract + 3;
        }
        if (next() % 2) {
            /* a sane message: two iovecs, maybe descriptors or credentials */
            struct msghdr *m = (struct msghdr *)(buf + 24000);
            struct iovec *v = (struct iovec *)(buf + 25000);
            char *ctl = buf + 26000;
            memset(m, 0, sizeof *m);
            v[0].iov_base = buf + 30000; v[0].iov_len = next() % 300;
            v[1].iov_base = buf + 40000; v[1].iov_len = next() % 3000;
            m->msg_iov = v;
            m->msg_iovlen = 2;
            if (next() % 3 == 0) {
                struct cmsghdr *c = (struct cmsghdr *)ctl;
                int kind = next() % 2;
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = kind ? SCM_RIGHTS : SCM_CREDENTIALS;
                if (kind) {
                    int n = 1 + next() % 3;
                    c->cmsg_len = CMSG_LEN(n * sizeof(int));
                    for (int k = 0; k < n; k++) ((int *)CMSG_DATA(c))[k] = next() % 12;
                } else {
                    struct ucred u = {getpid(), 0, 0};
                    c->cmsg_len = CMSG_LEN(sizeof u);
                    memcpy(CMSG_DATA(c), &u, sizeof u);
                }
                m->msg_control = ctl;
                m->msg_controllen = CMSG_SPACE(c->cmsg_len - CMSG_LEN(0));
            }
            if (next() % 2) { m->msg_name = (void *)a1; m->msg_namelen = a2; }
            a3 = (long)m;
        }
        int dom = next() % 3 ? AF_UNIX : (int)(next() % 50) - 2;
        int ty = (int)(next() % 7) | (next() % 2 ? SOCK_NONBLOCK : 0) | (next() % 5 == 0 ? (int)next() : 0);
        long r = 0;
        int which = next() % 18;
        switch (which) {
        case 0: r = syscall(SYS_socket, dom, ty | SOCK_NONBLOCK, next() % 3); break;
        case 1: r = syscall(SYS_socketpair, dom, ty | SOCK_NONBLOCK, next() % 3, next() % 2 ? (long)buf : a1); break;
        case 2: r = syscall(SYS_bind, fd, a1, a2); break;
        case 3: r = syscall(SYS_connect, fd, a1, a2); break;
        case 4: r = syscall(SYS_listen, fd, next() % 2 ? (int)(next() % 3) : (int)next()); break;
        case 5: r = syscall(SYS_accept4, fd, a1, a3, next() % 2 ? SOCK_NONBLOCK : (int)next()); break;
        case 6: r = syscall(SYS_sendto, fd, a1, a2, (int)(next() & 0x4fff) | MSG_DONTWAIT, next() % 2 ? 0 : a3, pick_len()); break;
        case 7: r = syscall(SYS_recvfrom, fd, a1, a2, (int)(next() & 0x4fff) | MSG_DONTWAIT, next() % 2 ? 0 : a3, next() % 2 ? 0 : (long)(buf + 100)); break;
        case 8: r = syscall(SYS_sendmsg, fd, next() % 2 ? a3 : a1, (int)(next() & 0x4fff) | MSG_DONTWAIT); break;
        case 9: r = syscall(SYS_recvmsg, fd, next() % 2 ? a3 : a1, (int)(next() & 0x4fff) | MSG_DONTWAIT); break;
        case 10: r = syscall(SYS_sendmmsg, fd, next() % 2 ? (long)buf : a1, next() % 3, MSG_DONTWAIT); break;
        case 11: r = syscall(SYS_recvmmsg, fd, next() % 2 ? (long)buf : a1, next() % 3, MSG_DONTWAIT, next() % 2 ? 0 : a3); break;
        case 12: r = syscall(SYS_setsockopt, fd, next() % 4 ? SOL_SOCKET : (int)next(), next() % 70, next() % 2 ? (long)(buf + 50000) : a1, next() % 2 ? 16 : a2); break;
        case 13: r = syscall(SYS_getsockopt, fd, next() % 4 ? SOL_SOCKET : (int)next(), next() % 70, a1, next() % 2 ? (long)(buf + 200) : a3); break;
        case 14: r = syscall(SYS_shutdown, fd, (int)(next() % 4)); break;
        case 15: r = syscall(SYS_getsockname, fd, a1, next() % 2 ? (long)(buf + 300) : a3); break;
        case 16: r = syscall(SYS_getpeername, fd, a1, next() % 2 ? (long)(buf + 300) : a3); break;
        case 17: if (fd > 2) close(fd); break;
        }
        if (r >= 0) ok[which]++;
    }
    for (int i = 0; i < 18; i++) fprintf(stderr, "%d:%d ", i, ok[i]);
    fprintf(stderr, "\n");
    for (int i = 0; i < 4; i++) {
        char p[32];
        snprintf(p, sizeof p, "f%d", i);
        unlink(p);
    }
    chdir("/");
    rmdir(dir);
    printf("done\n");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2) return 2;
    const char *t = argv[1];
    if (!strcmp(t, "socket")) test_socket();
    else if (!strcmp(t, "notsock")) test_notsock();
    else if (!strcmp(t, "msghdr")) test_msghdr();
    else if (!strcmp(t, "mmsg")) test_mmsg();
    else if (!strcmp(t, "opts")) test_opts();
    else if (!strcmp(t, "emfile")) test_emfile();
    else if (!strcmp(t, "families")) test_families();
    else if (!strcmp(t, "fuzz")) test_fuzz(argc > 2 ? argv[2] : NULL);
    else return 2;
    return 0;
}

/* Small network clients and servers for the relay tests (guest <-> host):
     connect IP PORT MSG      connect, send MSG, half-close, print the reply until EOF
     serve PORT               listen on 0.0.0.0:PORT, accept one connection, reply "echo:" + data
     udpecho IP PORT MSG      send MSG, print the reply (5 s timeout)
     udpserve PORT            receive one datagram on 0.0.0.0:PORT, reply "echo:" + data
     source PORT MIB          listen on 0.0.0.0:PORT, send MIB MiB in 64 KiB writes to one client
     sink PORT SECS           listen on 0.0.0.0:PORT, accept one client, read nothing for SECS
                              seconds, then read all and print the count and how it ended
     churn IP PORT CTL N      with a control connection to IP:CTL: say "before", wait for a
                              byte, open and drop N connections to IP:PORT, say "after", wait */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct sockaddr_in addr(const char *ip, int port) {
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static int tcp_to(const char *ip, int port) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = addr(ip, port);
    if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
        printf("connect: %s\n", strerrorname_np(errno));
        exit(1);
    }
    return s;
}

static void wait_byte(int s) {
    char c;
    if (read(s, &c, 1) != 1) exit(3);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2) return 2;
    const char *cmd = argv[1];
    char buf[65536];
    if (!strcmp(cmd, "connect") && argc == 5) {
        int s = tcp_to(argv[2], atoi(argv[3]));
        printf("connect: ok\n");
        write(s, argv[4], strlen(argv[4]));
        shutdown(s, SHUT_WR);
        ssize_t n; size_t total = 0;
        while ((n = read(s, buf + total, sizeof buf - 1 - total)) > 0) total += n;
        buf[total] = 0;
        printf("reply: %s\n", buf);
        return 0;
    }
    if (!strcmp(cmd, "serve") && argc == 3) {
        int l = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_in a = addr("0.0.0.0", atoi(argv[2]));
        if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 8) < 0) { perror("listen"); return 1; }
        printf("listening\n");
        struct sockaddr_in peer; socklen_t pl = sizeof peer;
        int s = accept(l, (struct sockaddr *)&peer, &pl);
        char ip[32];
        inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
        printf("peer %s\n", ip);
        ssize_t n; size_t total = 0;
        while ((n = read(s, buf + total, sizeof buf - 1 - total)) > 0) total += n;
        buf[total] = 0;
        printf("got: %s\n", buf);
        dprintf(s, "echo:%s", buf);
        close(s);
        return 0;
    }
    if (!strcmp(cmd, "source") && argc == 4) {
        int l = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = addr("0.0.0.0", atoi(argv[2]));
        if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 8) < 0) { perror("listen"); return 1; }
        printf("listening\n");
        int s = accept(l, NULL, NULL);
        static char chunk[65536];
        long left = atol(argv[3]) << 20;
        while (left > 0) {
            ssize_t w = write(s, chunk, left < (long)sizeof chunk ? left : (long)sizeof chunk);
            if (w <= 0) { printf("write: %s\n", strerrorname_np(errno)); return 1; }
            left -= w;
        }
        close(s);
        return 0;
    }
    if (!strcmp(cmd, "sink") && argc == 4) {
        int l = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = addr("0.0.0.0", atoi(argv[2]));
        if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 8) < 0) { perror("listen"); return 1; }
        printf("listening\n");
        int s = accept(l, NULL, NULL);
        sleep(atoi(argv[3]));
        long total = 0;
        ssize_t n;
        while ((n = read(s, buf, sizeof buf)) > 0) total += n;
        printf("read %ld then %s\n", total, n == 0 ? "EOF" : strerrorname_np(errno));
        return 0;
    }
    if (!strcmp(cmd, "udpecho") && argc == 5) {
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in a = addr(argv[2], atoi(argv[3]));
        if (sendto(s, argv[4], strlen(argv[4]), 0, (struct sockaddr *)&a, sizeof a) < 0) {
            printf("sendto: %s\n", strerrorname_np(errno));
            return 1;
        }
        struct pollfd p = { .fd = s, .events = POLLIN };
        if (poll(&p, 1, 5000) != 1) { printf("no reply\n"); return 1; }
        struct sockaddr_in from; socklen_t fl = sizeof from;
        ssize_t n = recvfrom(s, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &fl);
        buf[n < 0 ? 0 : n] = 0;
        char ip[32];
        inet_ntop(AF_INET, &from.sin_addr, ip, sizeof ip);
        printf("reply from %s port-matches %d: %s\n", ip, ntohs(from.sin_port) == atoi(argv[3]), buf);
        return 0;
    }
    if (!strcmp(cmd, "udpserve") && argc == 3) {
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in a = addr("0.0.0.0", atoi(argv[2]));
        if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) { perror("bind"); return 1; }
        printf("listening\n");
        struct sockaddr_in from; socklen_t fl = sizeof from;
        ssize_t n = recvfrom(s, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &fl);
        buf[n < 0 ? 0 : n] = 0;
        char ip[32], out[70000];
        inet_ntop(AF_INET, &from.sin_addr, ip, sizeof ip);
        printf("from %s: %s\n", ip, buf);
        int len = snprintf(out, sizeof out, "echo:%s", buf);
        sendto(s, out, len, 0, (struct sockaddr *)&from, fl);
        return 0;
    }
    if (!strcmp(cmd, "churn") && argc == 6) {
        int ctl = tcp_to(argv[2], atoi(argv[4]));
        int n = atoi(argv[5]), ok = 0;
        write(ctl, "before\n", 7);
        wait_byte(ctl);
        for (int i = 0; i < n; i++) {
            int s = socket(AF_INET, SOCK_STREAM, 0);
            struct sockaddr_in a = addr(argv[2], atoi(argv[3]));
            if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) ok++;
            else if (i < 3) printf("connect %d: %s\n", i, strerrorname_np(errno));
            close(s);
        }
        printf("connected %d of %d\n", ok, n);
        write(ctl, "after\n", 6);
        wait_byte(ctl);
        return 0;
    }
    fprintf(stderr, "bad arguments\n");
    return 2;
}

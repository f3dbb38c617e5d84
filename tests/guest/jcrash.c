/* Heavy writes for the journal crash test: `jcrash DIR TARBALL`. Runs until killed.
 * A child untars TARBALL into DIR/t0..t2 in turn (busybox tar), deleting the next tree first.
 * The parent appends records to four logs DIR/l<i>g<gen>: after each fsync/fdatasync that
 * returned it prints "F <name> <size>"; a log past 256 KiB is followed by generation gen+1,
 * and generation gen-1 is unlinked ("D <name>" once unlink returned). Byte o of a log is
 * pattern(i * 1000 + gen, o), so a checker can verify any prefix. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define LOG_LIMIT (256 * 1024)

static unsigned char pattern(unsigned id, unsigned long o) {
    return (unsigned char)((o / 4096) * 131 + o * 7 + id * 13 + (o >> 16));
}

static void run(const char *prog, const char *a1, const char *a2, const char *a3, const char *a4) {
    pid_t p = fork();
    if (p == 0) {
        execl("/bin/busybox", prog, a1, a2, a3, a4, (char *)0);
        _exit(127);
    }
    waitpid(p, 0, 0);
}

static void untar_forever(const char *dir, const char *tarball) {
    for (unsigned n = 0;; n++) {
        char t[256], next[256];
        snprintf(t, sizeof t, "%s/t%u", dir, n % 3);
        snprintf(next, sizeof next, "%s/t%u", dir, (n + 1) % 3);
        run("rm", "-rf", next, (char *)0, (char *)0);
        mkdir(t, 0755);
        run("tar", "-xf", tarball, "-C", t);
    }
}

struct log { int fd; unsigned gen; unsigned long size; };

static void log_name(char *buf, size_t n, const char *dir, int i, unsigned gen) {
    snprintf(buf, n, "%s/l%dg%u", dir, i, gen);
}

static void log_open(struct log *l, const char *dir, int i) {
    char path[256];
    log_name(path, sizeof path, dir, i, l->gen);
    l->fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    struct stat st;
    if (l->fd < 0 || fstat(l->fd, &st) < 0) { perror(path); exit(1); }
    l->size = (unsigned long)st.st_size;
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    const char *dir = argv[1];
    if (fork() == 0) untar_forever(dir, argv[2]);
    struct log logs[4] = {{0}};
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        int i; unsigned g;
        if (sscanf(e->d_name, "l%dg%u", &i, &g) == 2 && i >= 0 && i < 4 && g > logs[i].gen) logs[i].gen = g;
    }
    if (d) closedir(d);
    for (int i = 0; i < 4; i++) log_open(&logs[i], dir, i);
    unsigned seed = (unsigned)getpid() * 2654435761u;
    static unsigned char buf[4096];
    char line[300], name[256];
    for (unsigned n = 0;; n++) {
        seed = seed * 1103515245u + 12345u;
        int i = (int)((seed >> 16) % 4);
        struct log *l = &logs[i];
        unsigned len = 1 + (seed >> 4) % sizeof buf;
        for (unsigned k = 0; k < len; k++) buf[k] = pattern((unsigned)i * 1000 + l->gen, l->size + k);
        if (write(l->fd, buf, len) != (ssize_t)len) { perror("write"); return 1; }
        l->size += len;
        if (n % 3 == 0) {
            if ((n / 3) % 2 ? fdatasync(l->fd) : fsync(l->fd)) { perror("fsync"); return 1; }
            log_name(name, sizeof name, "", i, l->gen);
            int k = snprintf(line, sizeof line, "F %s %lu\n", name + 1, l->size);
            if (write(1, line, (size_t)k) != k) return 1;
        }
        if (l->size > LOG_LIMIT) {
            close(l->fd);
            if (l->gen > 0) {
                log_name(name, sizeof name, dir, i, l->gen - 1);
                if (unlink(name) == 0) {
                    int k = snprintf(line, sizeof line, "D %s\n", strrchr(name, '/') + 1);
                    if (write(1, line, (size_t)k) != k) return 1;
                }
            }
            l->gen++;
            log_open(l, dir, i);
        }
    }
}

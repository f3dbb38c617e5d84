/* Set-user-ID and set-group-ID programs compared with Linux: a copy of this program owned by
 * uid/gid 4242 with mode 6755 is run by a process of uid 1000 (ruid, euid, suid as resuid
 * reports them, and AT_SECURE); without the bits it keeps the caller's ids; setgid without
 * group execute does not change the group. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char *what) {
    uid_t r, e, s;
    gid_t gr, ge, gs;
    getresuid(&r, &e, &s);
    getresgid(&gr, &ge, &gs);
    printf("%s: uid %u/%u/%u gid %u/%u/%u secure=%lu\n", what, r, e, s, gr, ge, gs, getauxval(AT_SECURE));
}

static int copy(const char *from, const char *to) {
    int in = open(from, O_RDONLY), out = open(to, O_CREAT | O_WRONLY | O_TRUNC, 0755);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, n) != n) return -1;
    close(in);
    close(out);
    return 0;
}

static void run_as(const char *prog, const char *label) {
    pid_t c = fork();
    if (c == 0) {
        if (setgid(1000) || setuid(1000)) { printf("cannot drop privileges\n"); _exit(1); }
        execl(prog, prog, "report", label, (char *)NULL);
        perror("exec");
        _exit(1);
    }
    waitpid(c, NULL, 0);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 2 && strcmp(argv[1], "report") == 0) {
        report(argv[2]);
        return 0;
    }
    char dir[] = "/tmp/suidXXXXXX";
    if (!mkdtemp(dir)) return 1;
    chmod(dir, 0755);
    char p[128];
    snprintf(p, sizeof p, "%s/prog", dir);
    if (copy("/proc/self/exe", p)) return 1;
    chown(p, 4242, 4242);
    run_as(p, "plain");
    chmod(p, 06755);
    run_as(p, "setuid+setgid");
    chmod(p, 02745);
    run_as(p, "setgid without group exec");
    chmod(p, 04755);
    run_as(p, "setuid only");
    unlink(p);
    rmdir(dir);
    return 0;
}

// Runs every program in a directory (mutated ELF files made by init/tests/elf_fuzz.rs), each in
// a child with a 1 s alarm (which survives execve, so a program that loops is killed), and
// prints how they ended: execve errors by errno, deaths by signal, exits by status.
// usage: execfuzz DIR
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/m";
    DIR *d = opendir(dir);
    if (!d) {
        perror(dir);
        return 1;
    }
    int errs[200] = {0}, sigs[65] = {0}, exits[256] = {0}, n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        int p[2];
        pipe2(p, O_CLOEXEC);
        pid_t c = fork();
        if (c == 0) {
            int null = open("/dev/null", O_WRONLY);
            dup2(null, 1);
            alarm(1);
            char *av[] = {path, NULL}, *ev[] = {NULL};
            execve(path, av, ev);
            int err = errno;
            write(p[1], &err, sizeof err);
            _exit(127);
        }
        close(p[1]);
        int err = 0, st = 0;
        ssize_t got = read(p[0], &err, sizeof err);
        close(p[0]);
        waitpid(c, &st, 0);
        n++;
        if (got == sizeof err && err > 0 && err < 200)
            errs[err]++;
        else if (WIFSIGNALED(st))
            sigs[WTERMSIG(st) & 63]++;
        else
            exits[WEXITSTATUS(st) & 255]++;
    }
    printf("ran %d programs\n", n);
    for (int i = 0; i < 200; i++)
        if (errs[i])
            printf("  execve %s: %d\n", strerrorname_np(i), errs[i]);
    for (int i = 0; i < 65; i++)
        if (sigs[i])
            printf("  killed by %s: %d\n", sigabbrev_np(i), sigs[i]);
    for (int i = 0; i < 256; i++)
        if (exits[i])
            printf("  exit %d: %d\n", i, exits[i]);
    return 0;
}

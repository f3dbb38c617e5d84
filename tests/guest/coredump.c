/* RLIMIT_CORE compared with Linux: a dumping signal (SIGABRT, SIGSEGV, SIGQUIT) kills a child
 * with a core limit of 0, of less than a page, and unlimited; only the last sets the core-dump
 * bit in the wait status and leaves an ELF core file ("core", mode 0600, ET_CORE) in the cwd.
 * A non-dumping signal (SIGTERM) and PR_SET_DUMPABLE 0 give no core. The core file of the
 * unlimited SIGSEGV case is kept in the directory argv[1] (default /tmp/umbra-core-test)
 * for the test to read with readelf. */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>


static void die_by(int sig) {
    if (sig == SIGSEGV) *(volatile int *)8 = 1;
    if (sig == SIGABRT) abort();
    kill(getpid(), sig);
    pause();
}

static void child(const char *label, rlim_t limit, int sig, int undumpable) {
    unlink("core");
    pid_t c = fork();
    if (c == 0) {
        struct rlimit rl = {limit, RLIM_INFINITY};
        setrlimit(RLIMIT_CORE, &rl);
        if (undumpable) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        die_by(sig);
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    struct stat sb;
    int have = stat("core", &sb) == 0;
    printf("%s: signaled=%d sig=%d coredump=%d file=%d", label, WIFSIGNALED(st), WTERMSIG(st), WCOREDUMP(st) != 0, have);
    if (have) {
        Elf64_Ehdr eh;
        int fd = open("core", O_RDONLY);
        read(fd, &eh, sizeof eh);
        close(fd);
        printf(" mode=%o elf=%d type=%d machine=%d", sb.st_mode & 07777, memcmp(eh.e_ident, ELFMAG, 4) == 0, eh.e_type, eh.e_machine);
    }
    printf("\n");
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/tmp/umbra-core-test";
    setvbuf(stdout, NULL, _IONBF, 0);
    mkdir(dir, 0755);
    if (chdir(dir)) return 1;
    child("abort, limit 0", 0, SIGABRT, 0);
    child("abort, limit 100", 100, SIGABRT, 0);
    child("quit, unlimited, undumpable", RLIM_INFINITY, SIGQUIT, 1);
    child("term, unlimited", RLIM_INFINITY, SIGTERM, 0);
    child("abort, unlimited", RLIM_INFINITY, SIGABRT, 0);
    child("segv, unlimited", RLIM_INFINITY, SIGSEGV, 0);
    return 0;
}

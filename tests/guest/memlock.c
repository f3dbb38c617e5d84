/* RLIMIT_MEMLOCK compared with Linux: mlock/mlock2/munlock/mlockall/munlockall as root
 * (CAP_IPC_LOCK bypasses the limit) and as uid 1000 with a limit of 0 (EPERM) and of two
 * pages (ENOMEM past it, overlapping locks counted once, unmapped pages ENOMEM, flag
 * checks EINVAL). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define R(expr) do { errno = 0; long _r = (long)(expr); printf("%-50s = %ld %s\n", #expr, _r, _r < 0 ? strerror(errno) : ""); } while (0)

static void as_user(rlim_t limit, void (*f)(char *)) {
    pid_t c = fork();
    if (c == 0) {
        struct rlimit rl = {limit, limit};
        setrlimit(RLIMIT_MEMLOCK, &rl);
        if (setresuid(1000, 1000, 1000)) _exit(1);
        char *p = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        f(p);
        _exit(0);
    }
    waitpid(c, NULL, 0);
}

static void zero(char *p) {
    R(syscall(SYS_mlock2, p, 4096, 2));
    R(mlock(p, 4096));
    R(syscall(SYS_mlock2, p, 4096, 0));
    R(mlockall(MCL_CURRENT));
    R(mlockall(0));
    R(mlockall(MCL_ONFAULT));
    R(munlock(p, 4096));
    R(munlockall());
}

static void two(char *p) {
    R(mlock(p, 2 * 4096));
    R(mlock(p + 100, 4096));
    R(mlock(p, 3 * 4096));
    R(munlock(p, 4096));
    R(mlock(p + 2 * 4096, 4096));
    R(mlock(p + 3 * 4096, 1));
    R(mlockall(MCL_CURRENT));
    R(munlockall());
    R(syscall(SYS_mlock2, p, 2 * 4096, MLOCK_ONFAULT));
    R(munlockall());
    munmap(p + 3 * 4096, 4096);
    R(mlock(p + 3 * 4096, 4096));
    R(munlock(p + 2 * 4096, 2 * 4096));
    R(mlock(p + 2 * 4096, 2 * 4096));
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    char *p = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct rlimit rl = {0, RLIM_INFINITY};
    setrlimit(RLIMIT_MEMLOCK, &rl);
    printf("== root, limit 0\n");
    R(mlock(p, 4 * 4096));
    R(mlockall(MCL_CURRENT | MCL_FUTURE));
    R(munlockall());
    printf("== user, limit 0\n");
    as_user(0, zero);
    printf("== user, limit 2 pages\n");
    as_user(2 * 4096, two);
    return 0;
}

/* RLIMIT_STACK compared with Linux: stack growth follows the limit in force when the stack
 * grows, not the one at exec — a recursion of about 12 MiB (past the default 8 MiB) dies
 * with SIGSEGV under a 4 MiB limit and finishes once the limit is raised to 32 MiB or
 * unlimited. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static int depth(int n) {
    volatile char buf[16384];
    memset((char *)buf, n, sizeof buf);
    return n == 0 ? buf[0] : depth(n - 1) + buf[100];
}

static void run(const char *label, rlim_t limit) {
    pid_t c = fork();
    if (c == 0) {
        struct rlimit rl = {limit, RLIM_INFINITY};
        setrlimit(RLIMIT_STACK, &rl);
        depth(768); /* about 12 MiB */
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    printf("%s: exited=%d signaled=%d sig=%d\n", label, WIFEXITED(st), WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    run("limit 4 MiB", 4 << 20);
    run("limit 32 MiB", 32 << 20);
    run("unlimited", RLIM_INFINITY);
    return 0;
}

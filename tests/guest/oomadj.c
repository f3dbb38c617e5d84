/* /proc/PID/oom_score_adj and oom_score as Linux has them: values, range and syntax errors,
 * inheritance across fork, and the CAP_SYS_RESOURCE rule for going below the minimum a
 * privileged writer set. Prints one line per step; the test compares with a native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void put(const char *v) {
    int fd = open("/proc/self/oom_score_adj", O_WRONLY);
    if (fd < 0) { printf("open for %s: %s\n", v, strerror(errno)); return; }
    ssize_t n = write(fd, v, strlen(v));
    printf("write '%s': %s\n", v, n < 0 ? strerror(errno) : "ok");
    close(fd);
}

static void show(const char *who) {
    char b[32] = "";
    int fd = open("/proc/self/oom_score_adj", O_RDONLY);
    ssize_t n = read(fd, b, sizeof b - 1);
    close(fd);
    b[n > 0 ? n : 0] = 0;
    printf("%s: oom_score_adj %s", who, b);
    fd = open("/proc/self/oom_score", O_RDONLY);
    n = read(fd, b, sizeof b - 1);
    close(fd);
    b[n > 0 ? n : 0] = 0;
    printf("%s: oom_score is a number: %s\n", who, n > 1 && b[0] >= '0' && b[0] <= '9' ? "yes" : "no");
}

/* Drops CAP_SYS_RESOURCE from the effective set, so a native run as root (which may or may
 * not have it) and the guest agree. */
static void drop_sys_resource(void) {
    struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct d[2];
    syscall(SYS_capget, &h, d);
    d[0].effective &= ~(1u << CAP_SYS_RESOURCE);
    if (syscall(SYS_capset, &h, d)) perror("capset");
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    drop_sys_resource();
    show("start");
    put("500"); show("after 500");
    put("0\n"); show("after 0");
    put("1001"); put("-1001"); put("abc"); put(" 7 "); show("after ' 7 '"); put("0");
    put("-100"); show("root set -100");
    pid_t c = fork();
    if (c == 0) {
        show("child");
        if (setuid(65534)) { perror("setuid"); _exit(1); }
        prctl(PR_SET_DUMPABLE, 1);
        put("-500"); put("200"); show("nobody 200"); put("-50"); show("nobody -50");
        _exit(0);
    }
    waitpid(c, NULL, 0);
    return 0;
}

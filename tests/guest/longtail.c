/* The long tail of syscalls a Debian userland calls, with Linux's errnos: sched_setparam,
 * sched_rr_get_interval, sched_getattr/setattr, execveat (AT_EMPTY_PATH), chroot, preadv2 and
 * pwritev2 with flags, unshare of the fd table and fs context, membarrier, sync_file_range,
 * ioprio_get/set, as root and as an unprivileged user. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SHOW(label, call) do { errno = 0; long rv_ = (long)(call); printf("%s: %ld errno=%d\n", label, rv_, rv_ < 0 ? errno : 0); } while (0)

struct sched_attr_v0 { uint32_t size, policy; uint64_t flags; int32_t nice; uint32_t prio; uint64_t runtime, deadline, period; };

static void sched_calls(void) {
    int prio = 0;
    SHOW("sched_setparam(self, 0)", syscall(SYS_sched_setparam, 0, &prio));
    prio = 5;
    SHOW("sched_setparam(self, 5)", syscall(SYS_sched_setparam, 0, &prio));
    SHOW("sched_setparam(-1)", syscall(SYS_sched_setparam, -1, &prio));
    SHOW("sched_setparam(no such pid)", syscall(SYS_sched_setparam, 999999, &prio));
    SHOW("sched_setparam(NULL)", syscall(SYS_sched_setparam, 0, NULL));
    struct timespec ts = {-1, -1};
    SHOW("sched_rr_get_interval(self)", syscall(SYS_sched_rr_get_interval, 0, &ts));
    printf("  interval set: %d\n", ts.tv_sec >= 0 && ts.tv_nsec >= 0);
    SHOW("sched_rr_get_interval(no such pid)", syscall(SYS_sched_rr_get_interval, 999999, &ts));
    struct sched_attr_v0 a;
    memset(&a, 0xff, sizeof a);
    SHOW("sched_getattr(self, 48)", syscall(SYS_sched_getattr, 0, &a, 48, 0));
    printf("  size=%u policy=%u nice=%d prio=%u\n", a.size, a.policy, a.nice, a.prio);
    SHOW("sched_getattr(size 8)", syscall(SYS_sched_getattr, 0, &a, 8, 0));
    SHOW("sched_getattr(flags 1)", syscall(SYS_sched_getattr, 0, &a, 48, 1));
    memset(&a, 0, sizeof a);
    a.size = 48; a.policy = SCHED_OTHER; a.nice = 3;
    SHOW("sched_setattr(nice 3)", syscall(SYS_sched_setattr, 0, &a, 0));
    printf("  nice now %d\n", nice(0));
    a.policy = 77;
    SHOW("sched_setattr(policy 77)", syscall(SYS_sched_setattr, 0, &a, 0));
    a.policy = SCHED_OTHER; a.size = 3;
    SHOW("sched_setattr(size 3)", syscall(SYS_sched_setattr, 0, &a, 0));
}

static void io_calls(const char *dir) {
    char p[128];
    snprintf(p, sizeof p, "%s/f", dir);
    int fd = open(p, O_CREAT | O_RDWR | O_TRUNC, 0644);
    char a[4] = "abcd", b[4] = "wxyz", r[8] = {0};
    struct iovec w[2] = {{a, 4}, {b, 4}};
    SHOW("pwritev2(off 0)", pwritev2(fd, w, 2, 0, 0));
    SHOW("pwritev2(off -1, current position)", pwritev2(fd, w, 1, -1, 0));
    SHOW("pwritev2(RWF_DSYNC)", pwritev2(fd, w, 1, 2, RWF_DSYNC));
    SHOW("pwritev2(bad flag)", pwritev2(fd, w, 1, 0, 0x10000));
    struct iovec rv = {r, 8};
    SHOW("preadv2(off 0)", preadv2(fd, &rv, 1, 0, 0));
    printf("  read: %.8s\n", r);
    lseek(fd, 0, SEEK_SET);
    SHOW("preadv2(off -1)", preadv2(fd, &rv, 1, -1, 0));
    SHOW("preadv2(RWF_HIPRI)", preadv2(fd, &rv, 1, 0, RWF_HIPRI));
    SHOW("preadv2(bad flag)", preadv2(fd, &rv, 1, 0, 0x10000));
    SHOW("sync_file_range", sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE));
    SHOW("sync_file_range(bad flags)", sync_file_range(fd, 0, 0, 0x100));
    SHOW("sync_file_range(negative)", sync_file_range(fd, -1, 0, 0));
    int pfd[2];
    if (pipe(pfd) == 0) {
        SHOW("sync_file_range(pipe)", sync_file_range(pfd[0], 0, 0, 0));
        close(pfd[0]); close(pfd[1]);
    }
    close(fd);
    unlink(p);
}

static void process_calls(const char *dir) {
    SHOW("ioprio_get(process self)", syscall(SYS_ioprio_get, 1, 0));
    SHOW("ioprio_set(best effort 3)", syscall(SYS_ioprio_set, 1, 0, (2 << 13) | 3));
    SHOW("ioprio_get after", syscall(SYS_ioprio_get, 1, 0));
    SHOW("ioprio_set(bad class)", syscall(SYS_ioprio_set, 1, 0, (5 << 13)));
    SHOW("ioprio_get(bad which)", syscall(SYS_ioprio_get, 9, 0));
    SHOW("membarrier(query)", syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0) > 0);
    SHOW("membarrier(private expedited, unregistered)", syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0));
    SHOW("membarrier(register private expedited)", syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0));
    SHOW("membarrier(private expedited)", syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0));
    SHOW("membarrier(bad cmd)", syscall(SYS_membarrier, 12345, 0, 0));
    SHOW("membarrier(bad flags)", syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 7, 0));
    SHOW("unshare(CLONE_FILES|CLONE_FS)", unshare(CLONE_FILES | CLONE_FS));
    SHOW("unshare(bad flag)", unshare(0x1));
    pid_t c = fork();
    if (c == 0) {
        SHOW("chroot(missing)", chroot("/nonexistent"));
        char f[128];
        snprintf(f, sizeof f, "%s/file", dir);
        close(open(f, O_CREAT | O_WRONLY, 0644));
        SHOW("chroot(a file)", chroot(f));
        SHOW("chroot(dir)", chroot(dir));
        SHOW("  /file visible after chdir /", chdir("/") == 0 && access("/file", F_OK) == 0);
        if (setuid(65534) == 0) SHOW("chroot as non-root", chroot("/"));
        fflush(stdout);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    char f[128];
    snprintf(f, sizeof f, "%s/file", dir);
    unlink(f);
    c = fork();
    if (c == 0) {
        int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        char *argv[] = {"longtail", "exec-helper", NULL};
        char *envp[] = {NULL};
        SHOW("execveat(bad flags)", syscall(SYS_execveat, self, "", argv, envp, 0x10));
        SHOW("execveat(\"\" without AT_EMPTY_PATH)", syscall(SYS_execveat, self, "", argv, envp, 0));
        fflush(stdout);
        syscall(SYS_execveat, self, "", argv, envp, AT_EMPTY_PATH);
        printf("execveat failed: %d\n", errno);
        _exit(1);
    }
    int st;
    waitpid(c, &st, 0);
    printf("execveat child exit: %d\n", WEXITSTATUS(st));
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && strcmp(argv[1], "exec-helper") == 0) {
        printf("execveat: running the new image\n");
        return 7;
    }
    char dir[] = "/tmp/tailXXXXXX";
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    sched_calls();
    io_calls(dir);
    process_calls(dir);
    rmdir(dir);
    return 0;
}

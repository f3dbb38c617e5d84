/* Helpers shared by the IPC guest programs (sysv_shm.c, sysv_sem.c, sysv_msg.c, posix_mq.c).
 * They print what Linux's results are, never ids, pids or times (which differ between a run
 * under umbra and the native run in a fresh IPC namespace): errors by name, pids as relations. */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Prints "label: ok" or "label: ERRNAME" for a call returning -1 on error. */
#define T(label, expr)                                                                 \
    do {                                                                               \
        errno = 0;                                                                     \
        long r_ = (long)(expr);                                                        \
        printf("%s: %s\n", (label), r_ == -1 ? strerrorname_np(errno) : "ok");         \
    } while (0)

/* Prints "label: <value>" or "label: ERRNAME". */
#define V(label, expr)                                                                 \
    do {                                                                               \
        errno = 0;                                                                     \
        long r_ = (long)(expr);                                                        \
        if (r_ == -1 && errno) printf("%s: %s\n", (label), strerrorname_np(errno));   \
        else printf("%s: %ld\n", (label), r_);                                         \
    } while (0)

/* The exit code a child reports a result with: 0 for success, else the errno. */
static inline int code_of(long r) { return r == -1 ? errno : 0; }

/* Waits for `pid` and prints how the child's reported result reads. */
static inline void reap(const char *label, pid_t pid) {
    int st;
    if (waitpid(pid, &st, 0) != pid) { printf("%s: waitpid failed\n", label); return; }
    if (WIFSIGNALED(st)) printf("%s: killed by %s\n", label, sigabbrev_np(WTERMSIG(st)));
    else if (WEXITSTATUS(st) == 0) printf("%s: ok\n", label);
    else printf("%s: %s\n", label, strerrorname_np(WEXITSTATUS(st)));
}

/* Sleeps `ms` milliseconds. */
static inline void msleep(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {}
}

/* Polls `cond` every 5 ms for up to 20 s (generous against host load); 1 if it held. */
#define WAIT_FOR(cond) ({ int ok_ = 0; for (int i_ = 0; i_ < 4000; i_++) { if (cond) { ok_ = 1; break; } msleep(5); } ok_; })

/* Whether process `pid` is asleep (state S in /proc/<pid>/stat): blocked in a call. */
static inline int sleeping(pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    return p && p[1] == ' ' && p[2] == 'S';
}

static void on_signal(int sig) { (void)sig; }

/* Installs a handler for `sig` that does nothing (with SA_RESTART if `restart`). */
static inline void catch_signal(int sig, int restart) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigaction(sig, &sa, NULL);
}

/* Drops root: the ids of an ordinary user (uid and gid 1000). */
static inline void become_user(void) {
    if (setgroups(0, NULL) || setgid(1000) || setuid(1000)) { perror("become_user"); _exit(99); }
}

/* Prints a /proc/sysvipc file with the columns that differ between runs replaced: `pidcols`
 * and `timecols` are bit masks of 0-based column numbers; a pid column reads "self" (the
 * caller), "0" or "pid", a time column "0" or "t". The header line is printed as is, and
 * each line's length (the column widths) is checked against the header's. */
static inline void show_sysvipc(const char *file, unsigned pidcols, unsigned timecols) {
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/sysvipc/%s", file);
    FILE *f = fopen(path, "r");
    if (!f) { printf("%s: %s\n", path, strerrorname_np(errno)); return; }
    size_t header = 0;
    while (fgets(line, sizeof line, f)) {
        if (!header) { header = strlen(line); printf("%s", line); continue; }
        printf("  [%s]", strlen(line) == header ? "width ok" : "width differs");
        int col = 0;
        for (char *tok = strtok(line, " \n"); tok; tok = strtok(NULL, " \n"), col++) {
            if (pidcols & (1u << col)) {
                long p = atol(tok);
                printf(" %s", p == 0 ? "0" : p == getpid() ? "self" : "pid");
            } else if (timecols & (1u << col)) printf(" %s", atol(tok) ? "t" : "0");
            else printf(" %s", tok);
        }
        printf("\n");
    }
    fclose(f);
}

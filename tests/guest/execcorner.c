/* execve corner cases, compared with Linux: `#!` nesting up to the limit (ELOOP beyond),
   interpreter arguments, E2BIG for a huge argv or one huge string, close-on-exec, signal
   dispositions reset (ignored ones kept), the mask and pending signals kept, the alternate
   stack disabled, errors (ENOENT, EACCES, ENOEXEC, ENOTDIR, EFAULT), exec from a vfork child.
   Scripts are made in a fresh directory under /tmp; output has no paths or pids. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char self[4096];
static char dir[] = "/tmp/execcornerXXXXXX";
static char dir_env[64];
static char *envc[] = {dir_env, NULL};

static void report(const char *what, int st) {
    if (WIFEXITED(st)) printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st)) printf("%s: killed by %d\n", what, WTERMSIG(st));
    else printf("%s: status %#x\n", what, st);
}

static void write_file(const char *path, const char *text, mode_t mode) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) printf("cannot write %s\n", path);
    close(fd);
    chmod(path, mode);
}

/* runs execve in a child; prints the errno on failure, or the child's output and status */
static void try_exec(const char *what, const char *path, char *const argv[], char *const envp[]) {
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        execve(path, argv, envp);
        printf("%s: execve failed: %s\n", what, strerrorname_np(errno));
        _exit(100);
    }
    int st;
    waitpid(c, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 100) report(what, st);
}

/* ---- the helper: what the new program sees ---- */
static int helper(int argc, char **argv) {
    printf("  helper argc=%d argv0_empty=%d:", argc, argc > 0 && argv[0][0] == 0);
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (strncmp(a, dir, strlen(dir)) == 0) a += strlen(dir); /* strip the temp dir */
        if (strcmp(a, self) == 0) a = "SELF";
        if (strlen(a) > 40) printf(" [%zu bytes]", strlen(a));
        else printf(" [%s]", a);
    }
    printf("\n");
    const char *what = argc > 1 ? argv[argc - 1] : "";
    if (strcmp(what, "state") == 0) {
        struct sigaction sa;
        const int sigs[] = {SIGUSR1, SIGUSR2, SIGINT, SIGCHLD, SIGPIPE, SIGALRM};
        const char *names[] = {"USR1", "USR2", "INT", "CHLD", "PIPE", "ALRM"};
        for (int i = 0; i < 6; i++) {
            sigaction(sigs[i], NULL, &sa);
            printf("  %s: %s flags=%#x\n", names[i], sa.sa_handler == SIG_DFL ? "DFL" : sa.sa_handler == SIG_IGN ? "IGN" : "handler",
                   (unsigned)sa.sa_flags & ~0x04000000u /* SA_RESTORER */);
        }
        sigset_t m, p;
        sigprocmask(SIG_SETMASK, NULL, &m);
        sigpending(&p);
        printf("  blocked USR1=%d TERM=%d RT5=%d; pending USR1=%d RT5=%d\n", sigismember(&m, SIGUSR1), sigismember(&m, SIGTERM),
               sigismember(&m, SIGRTMIN + 5), sigismember(&p, SIGUSR1), sigismember(&p, SIGRTMIN + 5));
        stack_t ss;
        sigaltstack(NULL, &ss);
        printf("  altstack flags=%d\n", ss.ss_flags);
        for (int fd = 3; fd < 12; fd++) {
            int fl = fcntl(fd, F_GETFD);
            if (fl >= 0) printf("  fd %d open cloexec=%d\n", fd, fl & FD_CLOEXEC);
        }
        printf("  ppid same=%d\n", getppid() == atoi(getenv("PARENT_PID") ? getenv("PARENT_PID") : "0"));
        /* the pending SIGUSR1 is delivered by default action once unblocked: terminate */
        sigset_t u;
        sigemptyset(&u);
        sigaddset(&u, SIGUSR1);
        sigprocmask(SIG_UNBLOCK, &u, NULL);
        printf("  survived unblocking USR1\n");
    }
    return 42;
}

static void on_sig(int s) { (void)s; }

static void scripts(void) {
    char path[8][256], text[8192];
    /* s0 is interpreted by the program itself with one argument; sN by s(N-1) */
    for (int i = 0; i < 8; i++) snprintf(path[i], sizeof path[i], "%s/s%d", dir, i);
    snprintf(text, sizeof text, "#!%s helper-arg\n", self);
    write_file(path[0], text, 0755);
    for (int i = 1; i < 8; i++) {
        snprintf(text, sizeof text, "#!%s\n", path[i - 1]);
        write_file(path[i], text, 0755);
    }
    char **envp = envc;
    for (int i = 0; i < 8; i++) {
        char what[32];
        snprintf(what, sizeof what, "depth %d", i + 1);
        char *argv[] = {"script", "a1", NULL};
        printf("%s:\n", what);
        try_exec(what, path[i], argv, envp);
    }
    /* interpreter argument handling: everything after the name is one argument; tabs; no arg */
    char p2[300];
    snprintf(p2, sizeof p2, "%s/args", dir);
    snprintf(text, sizeof text, "#! \t%s  one two\tthree  \n", self);
    write_file(p2, text, 0755);
    char *argv[] = {"script", "x", NULL};
    printf("spaces:\n");
    try_exec("spaces", p2, argv, envp);
    snprintf(text, sizeof text, "#!%s\n", self);
    write_file(p2, text, 0755);
    printf("no arg:\n");
    try_exec("no arg", p2, argv, envp);
    char *argv0[] = {NULL};
    printf("empty argv:\n");
    try_exec("empty argv", p2, argv0, envp);
    /* no interpreter, missing interpreter, not executable, garbage, empty, a directory */
    write_file(p2, "#!\n", 0755);
    try_exec("empty #!", p2, argv, envp);
    write_file(p2, "#!   \n", 0755);
    try_exec("blank #!", p2, argv, envp);
    write_file(p2, "#!/nonexistent/interp\n", 0755);
    try_exec("missing interpreter", p2, argv, envp);
    snprintf(text, sizeof text, "#!%s\n", dir);
    write_file(p2, text, 0755);
    try_exec("directory interpreter", p2, argv, envp);
    snprintf(text, sizeof text, "#!%s\n", self);
    write_file(p2, text, 0644);
    try_exec("script not executable", p2, argv, envp);
    write_file(p2, "\177ELF garbage garbage garbage garbage garbage garbage garbage", 0755);
    try_exec("garbage ELF", p2, argv, envp);
    write_file(p2, "plain text\n", 0755);
    try_exec("text file", p2, argv, envp);
    write_file(p2, "", 0755);
    try_exec("empty file", p2, argv, envp);
    try_exec("directory", dir, argv, envp);
    try_exec("missing", "/nonexistent", argv, envp);
    snprintf(text, sizeof text, "%s/args/x", dir);
    try_exec("not a dir", text, argv, envp);
    try_exec("empty path", "", argv, envp);
    unlink(p2);
    for (int i = 0; i < 8; i++) unlink(path[i]);
}

static void bad_pointers(void) {
    char **envp = envc;
    char *argv[] = {"x", NULL};
    try_exec("bad path ptr", (char *)8, argv, envp);
    char **volatile bad = (char **)8; /* volatile: gcc must not see through it */
    try_exec("bad argv ptr", self, bad, envp);
    try_exec("bad envp ptr", self, argv, bad);
    char *bad_arg[] = {"x", (char *)8, NULL};
    try_exec("bad argv string", self, bad_arg, envp);
    /* NULL argv and envp are allowed (Linux treats them as empty, with a warning) */
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) { syscall(SYS_execve, self, NULL, NULL); printf("null argv failed: %s\n", strerrorname_np(errno)); _exit(100); }
    int st;
    waitpid(c, &st, 0);
    report("null argv/envp", st);
}

static void too_big(void) {
    char **envp = envc;
    /* one string longer than MAX_ARG_STRLEN (32 pages) */
    size_t n = 32 * 4096 + 10;
    char *big = malloc(n + 1);
    memset(big, 'a', n);
    big[n] = 0;
    char *argv1[] = {"x", big, NULL};
    try_exec("huge string", self, argv1, envp);
    char *env1[] = {big, NULL};
    try_exec("huge env string", self, (char *[]){"x", NULL}, env1);
    big[32 * 4096 - 1] = 0; /* exactly MAX_ARG_STRLEN with the NUL: allowed */
    char *argv2[] = {"x", big, "small", NULL};
    printf("max string:\n");
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) { execve(self, argv2, envp); printf("max string failed: %s\n", strerrorname_np(errno)); _exit(100); }
    int st;
    waitpid(c, &st, 0);
    report("max string", st);
    /* more than a quarter of the 8 MiB stack limit in total */
    int count = 100000;
    char **argv3 = calloc((size_t)count + 2, sizeof(char *));
    static char word[32] = "abcdefghijklmnopqrstuvwxyz01234";
    argv3[0] = "x";
    for (int i = 1; i <= count; i++) argv3[i] = word;
    try_exec("huge argv", self, argv3, envp);
    /* too many pointers beyond the limit also E2BIG (MAX_ARG_STRINGS is 0x7fffffff, so the
       total size limit is what triggers) */
    free(argv3);
    free(big);
}

static void state_across_exec(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sig;
    sa.sa_flags = SA_RESTART | SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGUSR2, SIG_IGN);
    signal(SIGCHLD, SIG_IGN);
    sa.sa_handler = SIG_IGN;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGPIPE, &sa, NULL);
    static char alt[65536];
    stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt};
    sigaltstack(&ss, NULL);
    sigset_t b;
    sigemptyset(&b);
    sigaddset(&b, SIGUSR1);
    sigaddset(&b, SIGTERM);
    sigaddset(&b, SIGRTMIN + 5);
    sigprocmask(SIG_BLOCK, &b, NULL);
    raise(SIGUSR1);
    union sigval v = {.sival_int = 1};
    sigqueue(getpid(), SIGRTMIN + 5, v);
    int keep = open("/proc/self/exe", O_RDONLY);
    int drop = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    int dupd = fcntl(keep, F_DUPFD_CLOEXEC, 9);
    int dup2d = dup2(drop, 10); /* dup2 clears close-on-exec */
    printf("fds keep=%d drop=%d dupd=%d dup2d=%d\n", keep, drop, dupd, dup2d);
    char ppid[32];
    snprintf(ppid, sizeof ppid, "PARENT_PID=%d", getppid());
    char *envp[] = {ppid, dir_env, NULL};
    char *argv[] = {"x", "state", NULL};
    execve(self, argv, envp);
    printf("exec failed %s\n", strerrorname_np(errno));
}

static void vfork_exec(void) {
    char **envp = envc;
    char *argv[] = {"x", "from-vfork", NULL};
    fflush(stdout);
    pid_t c = vfork();
    if (c == 0) { execve(self, argv, envp); _exit(100); }
    int resumed = 1; /* the parent runs again once the child has exec'd */
    int st;
    waitpid(c, &st, 0);
    printf("parent resumed after the child's exec: %d\n", resumed);
    report("vfork+exec", st);
    c = vfork();
    if (c == 0) { execve("/nonexistent", argv, envp); _exit(101); }
    waitpid(c, &st, 0);
    report("vfork+failed exec", st);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *d = getenv("EXECCORNER_DIR");
    if (d) snprintf(dir, sizeof dir, "%s", d);
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n < 0) { printf("no /proc/self/exe\n"); return 1; }
    self[n] = 0;
    if (d || argc != 1 || argv[0][0] == '\0') return helper(argc, argv);
    if (!mkdtemp(dir)) { printf("mkdtemp failed\n"); return 1; }
    snprintf(dir_env, sizeof dir_env, "EXECCORNER_DIR=%s", dir);
    printf("== scripts\n");
    scripts();
    printf("== pointers\n");
    bad_pointers();
    printf("== e2big\n");
    too_big();
    printf("== state\n");
    pid_t c = fork();
    if (c == 0) { state_across_exec(); _exit(1); }
    int st;
    waitpid(c, &st, 0);
    report("state", st);
    printf("== vfork\n");
    vfork_exec();
    rmdir(dir);
    return 0;
}

/* System V shared memory compared with Linux (run natively in a fresh IPC namespace):
 *   basic  shmget/shmat/shmdt/shmctl results and errors, attach flags, IPC_STAT fields,
 *          IPC_RMID of an attached segment, IPC_INFO/SHM_INFO/SHM_STAT, /proc/sysvipc/shm
 *   fork   attaches inherited across fork, memory shared both ways, counts after exit
 *   key    an unrelated program (fork + exec) finds the segment by key; exec drops attaches
 *   perm   an ordinary user (setuid after fork) against root's segments */
#include "ipc_common.h"
#include <setjmp.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/shm.h>

#define KEY 0x5a5a0001

static struct shmid_ds stat_of(int id) {
    struct shmid_ds ds;
    memset(&ds, 0, sizeof ds);
    if (shmctl(id, IPC_STAT, &ds) == -1) printf("  IPC_STAT: %s\n", strerrorname_np(errno));
    return ds;
}

static void show_stat(const char *label, int id) {
    struct shmid_ds ds = stat_of(id);
    printf("%s: key=%#x mode=%o size=%zu nattch=%lu cpid=%s lpid=%s atime=%s dtime=%s ctime=%s uid=%u cuid=%u\n", label,
           ds.shm_perm.__key, ds.shm_perm.mode, ds.shm_segsz, (unsigned long)ds.shm_nattch,
           ds.shm_cpid == getpid() ? "self" : "other", ds.shm_lpid == 0 ? "0" : ds.shm_lpid == getpid() ? "self" : "other",
           ds.shm_atime ? "set" : "0", ds.shm_dtime ? "set" : "0", ds.shm_ctime ? "set" : "0", ds.shm_perm.uid, ds.shm_perm.cuid);
}

static sigjmp_buf jump;
static void on_segv(int sig) { siglongjmp(jump, sig); }

/* Whether writing to `p` faults (SIGSEGV caught and recovered from). */
static const char *write_faults(volatile char *p) {
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_segv;
    sigaction(SIGSEGV, &sa, &old);
    const char *r = "writable";
    if (sigsetjmp(jump, 1)) r = "SIGSEGV";
    else p[0] = 1;
    sigaction(SIGSEGV, &old, NULL);
    return r;
}

static void basic(void) {
    T("shmget size 0", shmget(IPC_PRIVATE, 0, 0600));
    T("shmget absent key", shmget(KEY, 100, 0600));
    T("shmget huge", shmget(IPC_PRIVATE, 1UL << 62, 0600));
    int id = shmget(KEY, 10000, IPC_CREAT | 0640);
    printf("shmget create: %s\n", id >= 0 ? "ok" : strerrorname_np(errno));
    V("shmget same key", shmget(KEY, 5000, 0) == id);
    T("shmget excl", shmget(KEY, 100, IPC_CREAT | IPC_EXCL | 0600));
    T("shmget larger", shmget(KEY, 20000, 0));
    T("shmget ask 0600 of 0640", shmget(KEY, 0, 0600));
    show_stat("fresh", id);

    T("shmat -1", shmat(-1, NULL, 0));
    T("shmat unknown", shmat(id + 1, NULL, 0));
    T("shmat unaligned", shmat(id, (void *)0x10000123, 0));
    T("shmat remap without address", shmat(id, NULL, SHM_REMAP));
    char *a = shmat(id, NULL, 0);
    printf("shmat: %s aligned=%d\n", a == (void *)-1 ? strerrorname_np(errno) : "ok", ((unsigned long)a & 4095) == 0);
    strcpy(a, "hello shm");
    a[9999] = 'z';
    char *b = shmat(id, NULL, SHM_RDONLY);
    printf("second attach sees: %s %c\n", b, b[9999]);
    printf("read-only attach write: %s\n", write_faults(b));
    T("mprotect read-only attach writable", mprotect(b, 4096, PROT_READ | PROT_WRITE));
    show_stat("two attaches", id);

    /* SHM_RND rounds down; an address in use is EINVAL without SHM_REMAP. */
    char *spot = mmap(NULL, 8 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    T("shmat over a mapping", shmat(id, spot, 0));
    munmap(spot, 8 * 4096);
    char *c = shmat(id, spot + 5, SHM_RND);
    printf("shmat SHM_RND: %s at=%s\n", c == (void *)-1 ? strerrorname_np(errno) : "ok", c == spot ? "rounded" : "elsewhere");
    char *d = shmat(id, spot, SHM_REMAP);
    printf("shmat SHM_REMAP: %s same=%d text=%s\n", d == (void *)-1 ? strerrorname_np(errno) : "ok", d == spot, d);
    show_stat("remapped", id);

    T("shmdt unaligned", shmdt(a + 1));
    T("shmdt middle", shmdt(a + 4096));
    T("shmdt not attached", shmdt(spot + 0x100000));
    T("shmdt", shmdt(a));
    T("shmdt again", shmdt(a));
    T("shmdt rdonly", shmdt(b));
    show_stat("one attach", id);

    /* A split attach is still one shmdt. */
    T("mprotect part", mprotect(d + 4096, 4096, PROT_READ));
    show_stat("split", id);

    struct shmid_ds ds = stat_of(id);
    ds.shm_perm.mode = 0600;
    ds.shm_perm.uid = 1234;
    T("IPC_SET", shmctl(id, IPC_SET, &ds));
    show_stat("after IPC_SET", id);
    ds.shm_perm.uid = -1;
    T("IPC_SET uid -1", shmctl(id, IPC_SET, &ds));
    T("IPC_SET bad buffer", shmctl(id, IPC_SET, (void *)8));
    T("IPC_STAT bad buffer", shmctl(id, IPC_STAT, (void *)8));
    T("bad command", shmctl(id, 99, &ds));
    T("negative id", shmctl(-5, IPC_STAT, &ds));

    T("SHM_LOCK", shmctl(id, SHM_LOCK, NULL));
    show_stat("locked", id);
    T("SHM_UNLOCK", shmctl(id, SHM_UNLOCK, NULL));

    struct shminfo si;
    V("IPC_INFO max index", shmctl(0, IPC_INFO, (void *)&si));
    printf("limits: max=%lu min=%lu mni=%lu seg=%lu all=%lu\n", si.shmmax, si.shmmin, si.shmmni, si.shmseg, si.shmall);
    struct shm_info in;
    int priv = shmget(IPC_PRIVATE, 3 * 4096 + 1, 0600);
    V("SHM_INFO max index", shmctl(0, SHM_INFO, (void *)&in));
    printf("used_ids=%d shm_tot=%lu\n", in.used_ids, in.shm_tot);
    V("SHM_STAT of index 0 is the id", shmctl(0, SHM_STAT, &ds) == id);
    T("SHM_STAT of a free index", shmctl(7, SHM_STAT, &ds));
    show_sysvipc("shm", 3u << 4, 15u << 11);

    T("IPC_RMID attached", shmctl(id, IPC_RMID, NULL));
    show_stat("removed", id);
    T("key is free at once", shmget(KEY, 0, 0));
    int again = shmget(KEY, 100, IPC_CREAT | 0600);
    printf("new segment on the key: %s\n", again >= 0 && again != id ? "ok" : "no");
    char *e = shmat(id, NULL, 0);
    printf("attach a removed segment: %s text=%s\n", e == (void *)-1 ? strerrorname_np(errno) : "ok", e);
    show_stat("removed, attached twice", id);
    shmdt(e);
    T("shmdt split attach", shmdt(d));
    T("destroyed after last detach", shmctl(id, IPC_STAT, &ds));
    show_sysvipc("shm", 3u << 4, 15u << 11);

    /* RLIMIT_AS bounds attaches as it bounds mmap. */
    int big = shmget(IPC_PRIVATE, 128 << 20, 0600);
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit rl = {64 << 20, 64 << 20};
        setrlimit(RLIMIT_AS, &rl);
        if (shmat(big, NULL, 0) != (void *)-1) _exit(100);
        _exit(code_of(shmat(again, NULL, 0) == (void *)-1 ? -1 : 0));
    }
    int st;
    waitpid(pid, &st, 0);
    printf("RLIMIT_AS: 128 MiB attach refused, small one %s\n", WEXITSTATUS(st) == 0 ? "ok" : WEXITSTATUS(st) == 100 ? "big one attached" : strerrorname_np(WEXITSTATUS(st)));
    shmctl(big, IPC_RMID, NULL);
    T("IPC_RMID", shmctl(again, IPC_RMID, NULL));
    T("IPC_RMID twice", shmctl(again, IPC_RMID, NULL));
    T("IPC_RMID private", shmctl(priv, IPC_RMID, NULL));
}

static void fork_test(void) {
    int id = shmget(IPC_PRIVATE, 2 * 4096, 0600);
    char *p = shmat(id, NULL, 0);
    strcpy(p, "from parent");
    pid_t pid = fork();
    if (pid == 0) {
        struct shmid_ds ds;
        shmctl(id, IPC_STAT, &ds);
        /* Written in the child, read by the parent; the second page is first touched here. */
        int ok = strcmp(p, "from parent") == 0 && ds.shm_nattch == 2 && ds.shm_lpid == getppid();
        strcpy(p, "from child");
        strcpy(p + 4096, "second page");
        _exit(ok ? 0 : 1);
    }
    reap("child saw the parent's data and two attaches", pid);
    printf("parent reads: %s / %s\n", p, p + 4096);
    struct shmid_ds ds;
    shmctl(id, IPC_STAT, &ds);
    printf("after the child's exit: nattch=%lu lpid=%s\n", (unsigned long)ds.shm_nattch, ds.shm_lpid == pid ? "child" : "other");

    /* A child that detaches explicitly, then one whose segment was removed meanwhile. */
    pid = fork();
    if (pid == 0) _exit(code_of(shmdt(p)));
    reap("child shmdt", pid);
    shmctl(id, IPC_RMID, NULL);
    pid = fork();
    if (pid == 0) {
        struct shmid_ds ds2;
        shmctl(id, IPC_STAT, &ds2);
        _exit(ds2.shm_nattch == 2 && (ds2.shm_perm.mode & SHM_DEST) ? 0 : 1);
    }
    reap("removed segment still attached in the child", pid);
    shmdt(p);
    T("gone after the last detach", shmctl(id, IPC_STAT, &ds));
}

/* The exec'd half of `key`: finds the segment by key, answers, and checks the attach count. */
static int key_child(void) {
    int id = shmget(KEY, 0, 0);
    if (id < 0) return 2;
    char *p = shmat(id, NULL, 0);
    if (p == (void *)-1) return 3;
    struct shmid_ds ds;
    shmctl(id, IPC_STAT, &ds);
    int ok = strcmp(p, "by key") == 0 && ds.shm_nattch == 2;
    strcpy(p, "answered");
    return ok ? 0 : 4;
}

static void key_test(const char *self) {
    int id = shmget(KEY, 4096, IPC_CREAT | IPC_EXCL | 0600);
    char *p = shmat(id, NULL, 0);
    strcpy(p, "by key");
    pid_t pid = fork();
    if (pid == 0) {
        /* Attached before exec: the attach goes with the old image. */
        shmat(id, NULL, 0);
        execl(self, self, "key-child", (char *)NULL);
        _exit(127);
    }
    reap("unrelated program found the segment", pid);
    struct shmid_ds ds;
    shmctl(id, IPC_STAT, &ds);
    printf("parent reads: %s, nattch=%lu\n", p, (unsigned long)ds.shm_nattch);
    shmdt(p);
    shmctl(id, IPC_RMID, NULL);
}

static void perm_test(void) {
    int priv = shmget(KEY, 4096, IPC_CREAT | 0600);
    int ro = shmget(KEY + 1, 4096, IPC_CREAT | 0604);
    int grp = shmget(KEY + 2, 4096, IPC_CREAT | 0660);
    struct shmid_ds ds;
    shmctl(grp, IPC_STAT, &ds);
    ds.shm_perm.gid = 1000;
    shmctl(grp, IPC_SET, &ds);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        become_user();
        T("user: shmget 0600 segment asking 0600", shmget(KEY, 0, 0600));
        T("user: shmget 0600 segment asking nothing", shmget(KEY, 0, 0));
        T("user: shmat 0600", shmat(priv, NULL, 0));
        T("user: shmat 0604 read-write", shmat(ro, NULL, 0));
        T("user: shmat 0604 read-only", shmat(ro, NULL, SHM_RDONLY));
        T("user: shmat 0660 group", shmat(grp, NULL, 0));
        T("user: IPC_STAT 0600", shmctl(priv, IPC_STAT, &ds));
        T("user: IPC_STAT 0604", shmctl(ro, IPC_STAT, &ds));
        T("user: SHM_STAT_ANY 0600", shmctl(0, SHM_STAT_ANY, &ds));
        T("user: IPC_SET", shmctl(ro, IPC_SET, &ds));
        T("user: IPC_RMID", shmctl(ro, IPC_RMID, NULL));
        T("user: SHM_LOCK", shmctl(ro, SHM_LOCK, NULL));
        int mine = shmget(IPC_PRIVATE, 4096, 0600);
        shmctl(mine, IPC_STAT, &ds);
        printf("user's own segment: uid=%u gid=%u cuid=%u\n", ds.shm_perm.uid, ds.shm_perm.gid, ds.shm_perm.cuid);
        T("user: SHM_LOCK own", shmctl(mine, SHM_LOCK, NULL));
        T("user: IPC_RMID own", shmctl(mine, IPC_RMID, NULL));
        fflush(stdout);
        _exit(0);
    }
    reap("user child", pid);
    /* Given to the user, the segment may be removed by it. */
    shmctl(ro, IPC_STAT, &ds);
    ds.shm_perm.uid = 1000;
    shmctl(ro, IPC_SET, &ds);
    pid = fork();
    if (pid == 0) {
        become_user();
        _exit(code_of(shmctl(ro, IPC_RMID, NULL)));
    }
    reap("user removes a segment given to it", pid);
    shmctl(priv, IPC_RMID, NULL);
    shmctl(grp, IPC_RMID, NULL);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *what = argc > 1 ? argv[1] : "";
    if (!strcmp(what, "basic")) basic();
    else if (!strcmp(what, "fork")) fork_test();
    else if (!strcmp(what, "key")) key_test(argv[0]);
    else if (!strcmp(what, "key-child")) return key_child();
    else if (!strcmp(what, "perm")) perm_test();
    else { fprintf(stderr, "usage: sysv_shm basic|fork|key|perm\n"); return 2; }
    return 0;
}

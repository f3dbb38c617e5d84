/* System V semaphores compared with Linux (run natively in a fresh IPC namespace):
 *   basic     semget/semop/semctl results and errors, atomicity, IPC_STAT/IPC_SET, limits,
 *             /proc/sysvipc/sem
 *   wait      blocking: GETNCNT/GETZCNT of sleepers, completion by the waker, timeouts,
 *             signals (EINTR even with SA_RESTART), IPC_RMID waking sleepers with EIDRM
 *   pingpong  two processes alternating through two semaphores, counting in shared memory
 *   undo      SEM_UNDO applied at exit (clamped), kept across exec, not inherited by fork
 *   perm      an ordinary user (setuid after fork) against root's arrays */
#include "ipc_common.h"
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>

#define KEY 0x5a5a0101

union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
    struct seminfo *__buf;
};

static int op(int id, unsigned short num, short o, short flg) {
    struct sembuf b = {num, o, flg};
    return semop(id, &b, 1);
}

static void show_vals(const char *label, int id, int n) {
    printf("%s:", label);
    for (int i = 0; i < n; i++) printf(" %d", semctl(id, i, GETVAL));
    printf("\n");
}

static void basic(void) {
    T("semget nsems 0", semget(IPC_PRIVATE, 0, 0600));
    T("semget nsems -1", semget(IPC_PRIVATE, -1, 0600));
    T("semget nsems 32001", semget(IPC_PRIVATE, 32001, 0600));
    T("semget absent key", semget(KEY, 1, 0600));
    int id = semget(KEY, 4, IPC_CREAT | 0600);
    printf("semget create: %s\n", id >= 0 ? "ok" : strerrorname_np(errno));
    V("semget same key, nsems 0", semget(KEY, 0, 0) == id);
    T("semget more than it has", semget(KEY, 5, 0));
    T("semget excl", semget(KEY, 4, IPC_CREAT | IPC_EXCL | 0600));
    show_vals("fresh", id, 4);

    struct sembuf many[501];
    memset(many, 0, sizeof many);
    T("semop 0 ops", semop(id, many, 0));
    T("semop 501 ops", semop(id, many, 501));
    T("semop bad pointer", semop(id, (void *)8, 1));
    T("semop negative id", op(-1, 0, 1, 0));
    T("semop unknown id", op(id + 1, 0, 1, 0));
    T("semop sem_num 4", op(id, 4, 1, 0));
    T("semop +32767", op(id, 0, 32767, 0));
    T("semop +1 beyond SEMVMX", op(id, 0, 1, 0));
    T("semop -32767", op(id, 0, -32767, 0));
    T("semop -1 NOWAIT on 0", op(id, 0, -1, IPC_NOWAIT));
    T("semop wait-for-zero on 0", op(id, 0, 0, 0));
    T("semop +2", op(id, 1, 2, 0));
    T("semop wait-for-zero NOWAIT on 2", op(id, 1, 0, IPC_NOWAIT));

    /* All or nothing: the first two would succeed, the third cannot. */
    struct sembuf three[3] = {{1, -1, 0}, {2, 5, 0}, {3, -1, IPC_NOWAIT}};
    T("atomic list failing on the third", semop(id, three, 3));
    show_vals("unchanged", id, 4);
    struct sembuf dup[3] = {{2, 3, 0}, {2, -2, 0}, {2, -1, 0}};
    T("same semaphore three times", semop(id, dup, 3));
    struct sembuf range[2] = {{2, 1, 0}, {3, 32767, 0}};
    T("ERANGE in the second", semop(id, range, 2));
    show_vals("after", id, 4);
    struct sembuf undo_range[2] = {{3, 20000, SEM_UNDO}, {3, -20000, SEM_UNDO}};
    T("undo adjustments cancelling", semop(id, undo_range, 2));
    struct sembuf undo_over[1] = {{3, 32767, SEM_UNDO}};
    T("undo beyond SEMAEM", semop(id, undo_over, 1));
    T("undo -32767 as one op", op(id, 3, 32767, 0) == -1 ? -1 : op(id, 3, -32767, SEM_UNDO));

    V("GETVAL 1", semctl(id, 1, GETVAL));
    V("GETPID is self", semctl(id, 1, GETPID) == getpid());
    V("GETPID of sem 2 is self", semctl(id, 2, GETPID) == getpid());
    T("GETVAL num 4", semctl(id, 4, GETVAL));
    T("GETVAL num -1", semctl(id, -1, GETVAL));
    T("SETVAL 32768", semctl(id, 0, SETVAL, (union semun){.val = 32768}));
    T("SETVAL -1", semctl(id, 0, SETVAL, (union semun){.val = -1}));
    T("SETVAL 32768 on num 9", semctl(id, 9, SETVAL, (union semun){.val = 32768}));
    T("SETVAL num 9", semctl(id, 9, SETVAL, (union semun){.val = 1}));
    T("SETVAL 7", semctl(id, 0, SETVAL, (union semun){.val = 7}));
    unsigned short all[4] = {1, 2, 3, 4};
    T("SETALL", semctl(id, 0, SETALL, (union semun){.array = all}));
    unsigned short bad[4] = {1, 2, 40000, 4};
    T("SETALL 40000", semctl(id, 0, SETALL, (union semun){.array = bad}));
    T("SETALL bad pointer", semctl(id, 0, SETALL, (union semun){.array = (void *)8}));
    unsigned short got[4] = {0};
    T("GETALL", semctl(id, 0, GETALL, (union semun){.array = got}));
    printf("GETALL: %d %d %d %d\n", got[0], got[1], got[2], got[3]);
    T("GETALL bad pointer", semctl(id, 0, GETALL, (union semun){.array = (void *)8}));
    V("GETNCNT", semctl(id, 0, GETNCNT));
    V("GETZCNT", semctl(id, 0, GETZCNT));
    T("bad command", semctl(id, 0, 99));
    T("negative id", semctl(-1, 0, GETVAL));

    struct semid_ds ds;
    T("IPC_STAT", semctl(id, 0, IPC_STAT, (union semun){.buf = &ds}));
    printf("stat: key=%#x mode=%o nsems=%lu otime=%s ctime=%s uid=%u\n", ds.sem_perm.__key, ds.sem_perm.mode, ds.sem_nsems,
           ds.sem_otime ? "set" : "0", ds.sem_ctime ? "set" : "0", ds.sem_perm.uid);
    ds.sem_perm.mode = 0640;
    ds.sem_perm.gid = 55;
    T("IPC_SET", semctl(id, 0, IPC_SET, (union semun){.buf = &ds}));
    T("IPC_STAT bad pointer", semctl(id, 0, IPC_STAT, (union semun){.buf = (void *)8}));
    memset(&ds, 0, sizeof ds);
    semctl(id, 0, IPC_STAT, (union semun){.buf = &ds});
    printf("after IPC_SET: mode=%o gid=%u cgid=%u\n", ds.sem_perm.mode, ds.sem_perm.gid, ds.sem_perm.cgid);

    int other = semget(IPC_PRIVATE, 2, 0600);
    struct seminfo si;
    V("IPC_INFO max index", semctl(0, 0, IPC_INFO, (union semun){.__buf = &si}));
    printf("IPC_INFO: map=%d mni=%d mns=%d mnu=%d msl=%d opm=%d ume=%d usz=%d vmx=%d aem=%d\n", si.semmap, si.semmni, si.semmns,
           si.semmnu, si.semmsl, si.semopm, si.semume, si.semusz, si.semvmx, si.semaem);
    V("SEM_INFO max index", semctl(0, 0, SEM_INFO, (union semun){.__buf = &si}));
    printf("SEM_INFO: usz=%d aem=%d\n", si.semusz, si.semaem);
    V("SEM_STAT of index 0 is the id", semctl(0, 0, SEM_STAT, (union semun){.buf = &ds}) == id);
    T("SEM_STAT of a free index", semctl(5, 0, SEM_STAT, (union semun){.buf = &ds}));
    show_sysvipc("sem", 0, 3u << 8);
    T("IPC_RMID", semctl(id, 0, IPC_RMID));
    T("IPC_RMID twice", semctl(id, 0, IPC_RMID));
    T("semop on removed", op(id, 0, 1, 0));
    semctl(other, 0, IPC_RMID);
}

/* A child that runs one semop and reports its result through its exit status. */
static pid_t child_op(int id, unsigned short num, short o, short flg) {
    pid_t pid = fork();
    if (pid == 0) _exit(code_of(op(id, num, o, flg)));
    return pid;
}

static void wait_test(void) {
    int id = semget(IPC_PRIVATE, 2, 0600);
    /* A sleeper's operation is done by the time the waker's semop returns. */
    pid_t a = child_op(id, 0, -2, 0);
    printf("sleeper counted in GETNCNT: %d\n", WAIT_FOR(semctl(id, 0, GETNCNT) == 1));
    op(id, 1, 1, 0);
    pid_t z = child_op(id, 1, 0, 0);
    printf("zero-waiter counted in GETZCNT: %d\n", WAIT_FOR(semctl(id, 1, GETZCNT) == 1));
    T("V by 1 (not enough)", op(id, 0, 1, 0));
    V("value after V by 1", semctl(id, 0, GETVAL));
    T("V by 1 again", op(id, 0, 1, 0));
    V("value right after the waking V", semctl(id, 0, GETVAL));
    V("GETNCNT after", semctl(id, 0, GETNCNT));
    V("GETPID is the sleeper", semctl(id, 0, GETPID) == a);
    reap("sleeper", a);
    T("P on 1 wakes the zero-waiter", op(id, 1, -1, 0));
    reap("zero-waiter", z);

    /* A multi-operation sleeper counts on the operation it waits for. */
    pid_t m = fork();
    if (m == 0) {
        struct sembuf two[2] = {{0, 0, 0}, {1, -1, 0}};
        _exit(code_of(semop(id, two, 2)));
    }
    printf("complex sleeper counted on sem 1: %d\n", WAIT_FOR(semctl(id, 1, GETNCNT) == 1));
    V("GETZCNT of sem 0", semctl(id, 0, GETZCNT));
    op(id, 1, 1, 0);
    reap("complex sleeper", m);

    /* Timeouts. */
    struct sembuf p = {0, -1, 0};
    struct timespec ts = {0, 50 * 1000 * 1000};
    T("semtimedop times out", semtimedop(id, &p, 1, &ts));
    struct timespec zero = {0, 0};
    T("semtimedop zero timeout", semtimedop(id, &p, 1, &zero));
    struct timespec bad = {0, 1000000000};
    T("semtimedop bad timeout", semtimedop(id, &p, 1, &bad));
    T("semtimedop timeout pointer bad", semtimedop(id, &p, 1, (void *)8));
    op(id, 0, 1, 0);
    T("semtimedop succeeds at once", semtimedop(id, &p, 1, &ts));

    /* Signals interrupt the wait with EINTR, SA_RESTART or not. */
    for (int restart = 0; restart < 2; restart++) {
        pid_t s = fork();
        if (s == 0) {
            catch_signal(SIGUSR1, restart);
            _exit(code_of(op(id, 0, -1, 0)));
        }
        WAIT_FOR(semctl(id, 0, GETNCNT) == 1);
        kill(s, SIGUSR1);
        reap(restart ? "signal with SA_RESTART" : "signal", s);
        V("no sleeper left", semctl(id, 0, GETNCNT));
    }

    /* Removal wakes every sleeper with EIDRM. */
    op(id, 1, 1, 0);
    pid_t r1 = child_op(id, 0, -1, 0), r2 = child_op(id, 1, 0, 0);
    WAIT_FOR(semctl(id, 0, GETNCNT) == 1 && semctl(id, 1, GETZCNT) == 1);
    T("IPC_RMID with sleepers", semctl(id, 0, IPC_RMID));
    reap("sleeper on removal", r1);
    reap("zero-waiter on removal", r2);

    /* SETVAL and SETALL wake sleepers too. */
    id = semget(IPC_PRIVATE, 2, 0600);
    pid_t w = child_op(id, 0, -3, 0);
    WAIT_FOR(semctl(id, 0, GETNCNT) == 1);
    semctl(id, 0, SETVAL, (union semun){.val = 5});
    V("after SETVAL 5 the sleeper took 3", semctl(id, 0, GETVAL));
    reap("woken by SETVAL", w);
    w = child_op(id, 1, -1, 0);
    WAIT_FOR(semctl(id, 1, GETNCNT) == 1);
    unsigned short vals[2] = {9, 4};
    semctl(id, 0, SETALL, (union semun){.array = vals});
    V("after SETALL the sleeper took 1", semctl(id, 1, GETVAL));
    reap("woken by SETALL", w);
    semctl(id, 0, IPC_RMID);
}

static void pingpong(void) {
    enum { ROUNDS = 2000 };
    int sem = semget(IPC_PRIVATE, 2, 0600);
    int shm = shmget(IPC_PRIVATE, 4096, 0600);
    volatile int *count = shmat(shm, NULL, 0);
    shmctl(shm, IPC_RMID, NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int bad = 0;
        for (int i = 0; i < ROUNDS; i++) {
            op(sem, 1, -1, 0);
            bad |= *count != 2 * i + 1;
            *count += 1;
            op(sem, 0, 1, 0);
        }
        _exit(bad);
    }
    int bad = 0;
    for (int i = 0; i < ROUNDS; i++) {
        bad |= *count != 2 * i;
        *count += 1;
        op(sem, 1, 1, 0);
        op(sem, 0, -1, 0);
    }
    reap("child alternated", pid);
    printf("parent alternated: %s, count=%d\n", bad ? "no" : "yes", *count);
    semctl(sem, 0, IPC_RMID);
}

static void undo_test(const char *self) {
    int id = semget(KEY, 3, IPC_CREAT | 0600);
    semctl(id, 0, SETVAL, (union semun){.val = 2});
    pid_t pid = fork();
    if (pid == 0) {
        op(id, 0, -2, SEM_UNDO);
        op(id, 1, 3, SEM_UNDO);
        op(id, 2, 1, 0);
        _exit(0);
    }
    reap("child took 2 and gave 3 with undo", pid);
    show_vals("after its exit", id, 3);
    V("GETPID is the child", semctl(id, 0, GETPID) == pid);

    /* Clamped at 0: the child's +3 is undone after the parent took 2 of it. */
    pid = fork();
    if (pid == 0) {
        op(id, 2, 3, SEM_UNDO);
        _exit(0);
    }
    /* (Parent's op happens after the child exited.) */
    waitpid(pid, NULL, 0);
    show_vals("after a +3 undone", id, 3);
    pid = fork();
    if (pid == 0) {
        op(id, 2, 3, SEM_UNDO);
        pid_t g = fork();
        if (g == 0) {
            /* The grandchild takes 4 of the 4 without undo while its parent holds +3. */
            _exit(code_of(op(id, 2, -4, 0)));
        }
        int st;
        waitpid(g, &st, 0);
        _exit(WEXITSTATUS(st));
    }
    reap("grandchild took 4", pid);
    show_vals("undo of +3 clamped at 0", id, 3);

    /* SETVAL clears adjustments; fork does not inherit them; exec keeps them. */
    int pipefd[2];
    if (pipe(pipefd)) return;
    pid = fork();
    if (pid == 0) {
        op(id, 1, 1, SEM_UNDO);
        char c;
        read(pipefd[0], &c, 1);
        _exit(0);
    }
    WAIT_FOR(semctl(id, 1, GETVAL) == 1);
    semctl(id, 1, SETVAL, (union semun){.val = 10});
    write(pipefd[1], "x", 1);
    reap("child whose adjustment SETVAL cleared", pid);
    V("value stays 10", semctl(id, 1, GETVAL));
    pid = fork();
    if (pid == 0) {
        op(id, 1, 5, SEM_UNDO);
        pid_t g = fork();
        if (g == 0) _exit(0);
        waitpid(g, NULL, 0);
        _exit(semctl(id, 1, GETVAL) == 15 ? 0 : 1);
    }
    reap("a fork child does not inherit adjustments", pid);
    V("the parent's undo applied", semctl(id, 1, GETVAL));
    pid = fork();
    if (pid == 0) {
        op(id, 1, 7, SEM_UNDO);
        execl(self, self, "undo-exec", (char *)NULL);
        _exit(127);
    }
    reap("exec'd child", pid);
    V("adjustment kept across exec and applied", semctl(id, 1, GETVAL));
    semctl(id, 0, IPC_RMID);
}

static void perm_test(void) {
    int priv = semget(KEY, 2, IPC_CREAT | 0600);
    int ro = semget(KEY + 1, 2, IPC_CREAT | 0604);
    pid_t pid = fork();
    if (pid == 0) {
        become_user();
        struct semid_ds ds;
        T("user: semget asking 0600", semget(KEY, 0, 0600));
        T("user: semget asking nothing", semget(KEY, 0, 0));
        T("user: GETVAL 0600", semctl(priv, 0, GETVAL));
        T("user: GETVAL 0604", semctl(ro, 0, GETVAL));
        T("user: SETVAL 0604", semctl(ro, 0, SETVAL, (union semun){.val = 1}));
        T("user: wait-for-zero 0604", op(ro, 0, 0, IPC_NOWAIT));
        T("user: V 0604", op(ro, 0, 1, 0));
        T("user: IPC_STAT 0600", semctl(priv, 0, IPC_STAT, (union semun){.buf = &ds}));
        T("user: IPC_RMID", semctl(ro, 0, IPC_RMID));
        T("user: IPC_SET", semctl(ro, 0, IPC_SET, (union semun){.buf = &ds}));
        _exit(0);
    }
    reap("user child", pid);
    semctl(priv, 0, IPC_RMID);
    semctl(ro, 0, IPC_RMID);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *what = argc > 1 ? argv[1] : "";
    if (!strcmp(what, "basic")) basic();
    else if (!strcmp(what, "wait")) wait_test();
    else if (!strcmp(what, "pingpong")) pingpong();
    else if (!strcmp(what, "undo")) undo_test(argv[0]);
    else if (!strcmp(what, "undo-exec")) return 0;
    else if (!strcmp(what, "perm")) perm_test();
    else { fprintf(stderr, "usage: sysv_sem basic|wait|pingpong|undo|perm\n"); return 2; }
    return 0;
}

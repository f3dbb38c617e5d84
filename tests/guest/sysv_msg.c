/* System V message queues compared with Linux (run natively in a fresh IPC namespace):
 *   basic  msgget/msgsnd/msgrcv/msgctl results and errors, message types (any, equal,
 *          lowest up to, MSG_EXCEPT), MSG_NOERROR/E2BIG, MSG_COPY, stat fields, limits,
 *          /proc/sysvipc/msg
 *   wait   blocking: a receiver handed a message by the sender, a sender blocked by
 *          msg_qbytes until a receive makes room, IPC_RMID waking both with EIDRM, signals
 *   perm   an ordinary user (setuid after fork) against root's queues */
#include "ipc_common.h"
#include <sys/ipc.h>
#include <sys/msg.h>

#define KEY 0x5a5a0201

struct msg {
    long type;
    char text[9000];
};

static int send(int id, long type, const char *text, int flags) {
    struct msg m;
    m.type = type;
    strcpy(m.text, text);
    return msgsnd(id, &m, strlen(text), flags);
}

/* Receives and prints one message (or the error). */
static void recv_show(const char *label, int id, size_t size, long type, int flags) {
    struct msg m;
    memset(&m, 0, sizeof m);
    errno = 0;
    ssize_t n = msgrcv(id, &m, size, type, flags);
    if (n < 0) printf("%s: %s\n", label, strerrorname_np(errno));
    else printf("%s: type=%ld len=%zd text=%.*s\n", label, m.type, n, (int)n, m.text);
}

static void show_stat(const char *label, int id) {
    struct msqid_ds ds;
    memset(&ds, 0, sizeof ds);
    if (msgctl(id, IPC_STAT, &ds) == -1) { printf("%s: %s\n", label, strerrorname_np(errno)); return; }
    printf("%s: mode=%o qnum=%lu cbytes=%lu qbytes=%lu lspid=%s lrpid=%s stime=%s rtime=%s ctime=%s\n", label,
           ds.msg_perm.mode, (unsigned long)ds.msg_qnum, (unsigned long)ds.__msg_cbytes, (unsigned long)ds.msg_qbytes,
           ds.msg_lspid == 0 ? "0" : ds.msg_lspid == getpid() ? "self" : "other",
           ds.msg_lrpid == 0 ? "0" : ds.msg_lrpid == getpid() ? "self" : "other", ds.msg_stime ? "set" : "0",
           ds.msg_rtime ? "set" : "0", ds.msg_ctime ? "set" : "0");
}

static void basic(void) {
    T("msgget absent key", msgget(KEY, 0600));
    int id = msgget(KEY, IPC_CREAT | 0600);
    printf("msgget create: %s\n", id >= 0 ? "ok" : strerrorname_np(errno));
    V("msgget same key", msgget(KEY, 0) == id);
    T("msgget excl", msgget(KEY, IPC_CREAT | IPC_EXCL | 0600));
    show_stat("fresh", id);

    struct msg m = {0};
    T("msgsnd type 0", msgsnd(id, &m, 1, 0));
    m.type = 1;
    T("msgsnd 8193 bytes", msgsnd(id, &m, 8193, 0));
    T("msgsnd negative id", msgsnd(-1, &m, 1, 0));
    T("msgsnd unknown id", msgsnd(id + 1, &m, 1, 0));
    T("msgsnd bad pointer", msgsnd(id, (void *)8, 1, 0));
    T("msgsnd 8192 bytes", msgsnd(id, &m, 8192, 0));
    T("msgsnd 0 bytes", msgsnd(id, &m, 0, 0));
    recv_show("take the 8192", id, 9000, 0, 0);
    recv_show("take the empty one", id, 10, 0, 0);

    send(id, 5, "five", 0);
    send(id, 3, "three", 0);
    send(id, 7, "seven", 0);
    send(id, 3, "three again", 0);
    send(id, 1, "one", 0);
    show_stat("five queued", id);
    recv_show("type 3", id, 100, 3, 0);
    recv_show("lowest up to 4", id, 100, -4, 0);
    recv_show("lowest up to 6", id, 100, -6, 0);
    recv_show("not 5", id, 100, 5, MSG_EXCEPT);
    recv_show("type 9 nowait", id, 100, 9, IPC_NOWAIT);
    recv_show("too small", id, 2, 0, 0);
    recv_show("MSG_NOERROR", id, 2, 0, MSG_NOERROR);
    recv_show("empty nowait", id, 100, 0, IPC_NOWAIT);
    recv_show("negative size", id, -1, 0, IPC_NOWAIT);
    recv_show("negative id", -1, 100, 0, IPC_NOWAIT);

    send(id, 4, "four", 0);
    send(id, 2, "two", 0);
    recv_show("MSG_COPY 1", id, 100, 1, MSG_COPY | IPC_NOWAIT);
    recv_show("MSG_COPY 5", id, 100, 5, MSG_COPY | IPC_NOWAIT);
    recv_show("MSG_COPY without NOWAIT", id, 100, 0, MSG_COPY);
    recv_show("MSG_COPY with EXCEPT", id, 100, 0, MSG_COPY | MSG_EXCEPT | IPC_NOWAIT);
    show_stat("still two", id);
    m.type = 1;
    T("msgrcv into a bad pointer", msgrcv(id, (void *)8, 100, 0, 0));
    show_stat("the message is gone", id);

    struct msqid_ds ds;
    msgctl(id, IPC_STAT, &ds);
    ds.msg_qbytes = 10;
    ds.msg_perm.mode = 0644;
    T("IPC_SET qbytes 10", msgctl(id, IPC_SET, &ds));
    show_stat("after IPC_SET", id);
    T("msgsnd 11 bytes nowait", send(id, 1, "eleven byte", IPC_NOWAIT));
    T("msgsnd 6 bytes", send(id, 1, "sixsix", IPC_NOWAIT));
    T("msgsnd 5 more bytes nowait", send(id, 1, "fiver", IPC_NOWAIT));
    ds.msg_qbytes = 3;
    msgctl(id, IPC_SET, &ds);
    T("qbytes 3 limits the count too", send(id, 1, "", IPC_NOWAIT));
    show_stat("full", id);
    /* (Beyond MSGMNB needs CAP_SYS_RESOURCE, which test hosts may lack even as root.) */
    ds.msg_qbytes = 16384;
    T("IPC_SET qbytes 16384", msgctl(id, IPC_SET, &ds));
    ds.msg_perm.uid = -1;
    T("IPC_SET uid -1", msgctl(id, IPC_SET, &ds));
    T("IPC_SET bad pointer", msgctl(id, IPC_SET, (void *)8));
    T("bad command", msgctl(id, 99, &ds));

    int other = msgget(IPC_PRIVATE, 0600);
    struct msginfo mi;
    V("IPC_INFO max index", msgctl(0, IPC_INFO, (void *)&mi));
    printf("IPC_INFO: pool=%d map=%d max=%d mnb=%d mni=%d ssz=%d tql=%d seg=%d\n", mi.msgpool, mi.msgmap, mi.msgmax, mi.msgmnb,
           mi.msgmni, mi.msgssz, mi.msgtql, mi.msgseg);
    V("MSG_INFO max index", msgctl(0, MSG_INFO, (void *)&mi));
    printf("MSG_INFO: pool=%d map=%d tql=%d\n", mi.msgpool, mi.msgmap, mi.msgtql);
    V("MSG_STAT of index 0 is the id", msgctl(0, MSG_STAT, &ds) == id);
    T("MSG_STAT of a free index", msgctl(9, MSG_STAT, &ds));
    show_sysvipc("msg", 3u << 5, 7u << 11);
    T("IPC_RMID", msgctl(id, IPC_RMID, NULL));
    T("IPC_RMID twice", msgctl(id, IPC_RMID, NULL));
    msgctl(other, IPC_RMID, NULL);
}

/* A child that receives one message of `type` with a buffer of `size` and reports it:
 * exit 0 if the text is `want`, else the errno (or 1 for another text). */
static pid_t child_recv(int id, long type, size_t size, const char *want) {
    pid_t pid = fork();
    if (pid == 0) {
        struct msg m;
        ssize_t n = msgrcv(id, &m, size, type, 0);
        if (n < 0) _exit(errno);
        _exit(n == (ssize_t)strlen(want) && !memcmp(m.text, want, n) ? 0 : 1);
    }
    return pid;
}

static void wait_test(void) {
    int id = msgget(IPC_PRIVATE, 0600);
    struct msqid_ds ds;
    /* The sleeping receiver has the message by the time msgsnd returns. */
    pid_t r = child_recv(id, 2, 100, "for you");
    WAIT_FOR(sleeping(r));
    send(id, 1, "not yours", 0);
    send(id, 2, "for you", 0);
    msgctl(id, IPC_STAT, &ds);
    printf("right after the send: qnum=%lu lrpid=%s\n", (unsigned long)ds.msg_qnum, ds.msg_lrpid == r ? "receiver" : "other");
    reap("receiver", r);
    recv_show("the other one stayed", id, 100, 0, IPC_NOWAIT);

    /* A sleeping receiver with a small buffer gets E2BIG; the message stays queued. */
    r = child_recv(id, 0, 3, "");
    WAIT_FOR(sleeping(r));
    send(id, 1, "too long", 0);
    reap("small receiver", r);
    recv_show("still queued", id, 100, 0, IPC_NOWAIT);

    /* A sender blocked by msg_qbytes goes on when a receive makes room. */
    msgctl(id, IPC_STAT, &ds);
    ds.msg_qbytes = 8;
    msgctl(id, IPC_SET, &ds);
    send(id, 1, "12345678", 0);
    pid_t s = fork();
    if (s == 0) _exit(code_of(send(id, 2, "blocked", 0)));
    WAIT_FOR(sleeping(s));
    show_stat("while the sender sleeps", id);
    recv_show("receive makes room", id, 100, 0, 0);
    reap("blocked sender", s);
    recv_show("its message", id, 100, 0, 0);

    /* Signals: EINTR with a handler, SA_RESTART or not. */
    for (int restart = 0; restart < 2; restart++) {
        pid_t c = fork();
        if (c == 0) {
            catch_signal(SIGUSR1, restart);
            struct msg m;
            _exit(code_of(msgrcv(id, &m, 100, 0, 0)));
        }
        WAIT_FOR(sleeping(c));
        kill(c, SIGUSR1);
        reap(restart ? "receiver signalled (SA_RESTART)" : "receiver signalled", c);
    }

    /* Removal wakes a sleeping receiver and a sleeping sender with EIDRM. */
    send(id, 1, "fill1234", 0);
    r = child_recv(id, 9, 100, "");
    s = fork();
    if (s == 0) _exit(code_of(send(id, 1, "more", 0)));
    WAIT_FOR(sleeping(r) && sleeping(s));
    T("IPC_RMID with sleepers", msgctl(id, IPC_RMID, NULL));
    reap("receiver on removal", r);
    reap("sender on removal", s);
}

static void perm_test(void) {
    int priv = msgget(KEY, IPC_CREAT | 0600);
    int wr = msgget(KEY + 1, IPC_CREAT | 0622);
    send(priv, 1, "secret", 0);
    struct msqid_ds ds;
    msgctl(wr, IPC_STAT, &ds);
    ds.msg_perm.uid = 1000;
    msgctl(wr, IPC_SET, &ds);
    pid_t pid = fork();
    if (pid == 0) {
        become_user();
        struct msg m;
        T("user: msgget asking 0600", msgget(KEY, 0600));
        T("user: msgsnd 0600", send(priv, 1, "x", IPC_NOWAIT));
        T("user: msgrcv 0600", msgrcv(priv, &m, 100, 0, IPC_NOWAIT));
        T("user: msgsnd 0622", send(wr, 1, "x", IPC_NOWAIT));
        T("user: msgrcv 0622", msgrcv(wr, &m, 100, 0, IPC_NOWAIT));
        T("user: IPC_STAT 0600", msgctl(priv, IPC_STAT, &ds));
        T("user: MSG_STAT_ANY", msgctl(0, MSG_STAT_ANY, &ds));
        T("user: IPC_RMID 0600", msgctl(priv, IPC_RMID, NULL));
        msgctl(wr, IPC_STAT, &ds);
        ds.msg_qbytes = 20000;
        T("user (owner): IPC_SET qbytes beyond MSGMNB", msgctl(wr, IPC_SET, &ds));
        ds.msg_qbytes = 100;
        T("user (owner): IPC_SET qbytes 100", msgctl(wr, IPC_SET, &ds));
        T("user (owner): IPC_RMID", msgctl(wr, IPC_RMID, NULL));
        _exit(0);
    }
    reap("user child", pid);
    msgctl(priv, IPC_RMID, NULL);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *what = argc > 1 ? argv[1] : "";
    if (!strcmp(what, "basic")) basic();
    else if (!strcmp(what, "wait")) wait_test();
    else if (!strcmp(what, "perm")) perm_test();
    else { fprintf(stderr, "usage: sysv_msg basic|wait|perm\n"); return 2; }
    return 0;
}

/* Random IPC syscalls (System V shm/sem/msg, POSIX mq) with random, mostly bad, arguments from
 * a fixed seed: the kernel must neither panic nor hang, and this program must survive. A 10 ms
 * interval timer interrupts any call that blocks. SHM_REMAP is never asked for (it could map a
 * segment over this program's own code), nor IPC_RMID-then-reuse tricks that need a native
 * oracle: there is none, ids and the random walk differ between environments.
 * Prints "done". */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t next(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void tick(int s) { (void)s; }

static char buf[1 << 20] __attribute__((aligned(4096)));
static int ids[3][4];

/* A pointer: null, tiny, unmapped, kernel, inside the buffer (with room for the longest
 * message after it), or the buffer. */
static long pick_ptr(void) {
    switch (next() % 8) {
    case 0: return 0;
    case 1: return 8;
    case 2: return 0x7ffffffff000L;
    case 3: return (long)0xffffffffff600000ULL;
    case 4: return (long)(buf + next() % (sizeof buf - 65536));
    default: return (long)buf;
    }
}

/* A number: small, negative, an id, a limit's neighbour, or anything. */
static long pick_num(int kind) {
    switch (next() % 8) {
    case 0: return -1;
    case 1: return (long)(next() % 8);
    case 2: return ids[kind][next() % 4];
    case 3: return (long)(next() % 40000);
    case 4: return 1L << (next() % 63);
    case 5: return (long)next();
    default: return ids[kind][next() % 4];
    }
}

/* Flags: random bits among those the calls know, without SHM_REMAP. */
static long pick_flags(void) {
    long f = (long)(next() & 0x7fff);
    if (next() % 2) f |= IPC_NOWAIT;
    if (next() % 8 == 0) f = (long)next();
    return f & ~(long)SHM_REMAP;
}

int main(int argc, char **argv) {
    if (argc > 1) rng ^= strtoull(argv[1], NULL, 0) * 0x2545F4914F6CDD1DULL;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = tick;
    sigaction(SIGALRM, &sa, NULL);
    signal(SIGUSR1, SIG_IGN);
    signal(SIGUSR2, SIG_IGN);
    struct itimerval it = {{0, 10000}, {0, 10000}};
    setitimer(ITIMER_REAL, &it, NULL);
    for (int k = 0; k < 4; k++) {
        ids[0][k] = shmget(IPC_PRIVATE, 4096 << k, 0600);
        ids[1][k] = semget(IPC_PRIVATE, 1 + k, 0600);
        ids[2][k] = msgget(IPC_PRIVATE, 0600);
    }
    char name[8] = "q0";
    for (int i = 0; i < 30000; i++) {
        for (unsigned j = 0; j < 64; j++) ((uint64_t *)buf)[j] = next() % 4 ? next() % 64 : next();
        name[1] = (char)('0' + next() % 4);
        long p = pick_ptr(), q = pick_ptr();
        switch (next() % 18) {
        case 0: syscall(SYS_shmget, pick_num(0), next() % 4 ? next() % 100000 : next(), pick_flags()); break;
        case 1: {
            long a = syscall(SYS_shmat, pick_num(0), next() % 4 ? 0 : pick_ptr() & ~0xfffL, pick_flags());
            if (a != -1 && next() % 2) syscall(SYS_shmdt, a);
            break;
        }
        case 2: syscall(SYS_shmdt, pick_ptr()); break;
        case 3: syscall(SYS_shmctl, pick_num(0), (long)(next() % 17) - 1, p); break;
        case 4: syscall(SYS_semget, pick_num(1), pick_num(1), pick_flags()); break;
        case 5: syscall(SYS_semop, pick_num(1), p, next() % 4 ? next() % 6 : next()); break;
        case 6: syscall(SYS_semtimedop, pick_num(1), p, next() % 6, q); break;
        case 7: syscall(SYS_semctl, pick_num(1), pick_num(1), (long)(next() % 22) - 1, next() % 2 ? (long)(next() % 40000) : p); break;
        case 8: syscall(SYS_msgget, pick_num(2), pick_flags()); break;
        case 9: syscall(SYS_msgsnd, pick_num(2), p, next() % 4 ? next() % 9000 : next(), pick_flags()); break;
        case 10: syscall(SYS_msgrcv, pick_num(2), p, next() % 4 ? next() % 9000 : next(), pick_num(2), pick_flags()); break;
        case 11: syscall(SYS_msgctl, pick_num(2), (long)(next() % 15) - 1, p); break;
        case 12: {
            long fd = syscall(SYS_mq_open, next() % 8 ? (long)name : pick_ptr(), pick_flags() | (next() % 2 ? 0100 : 0), 0600, next() % 2 ? 0 : p);
            if (fd >= 0 && next() % 2) close((int)fd);
            break;
        }
        case 13: syscall(SYS_mq_unlink, next() % 8 ? (long)name : pick_ptr()); break;
        case 14: syscall(SYS_mq_timedsend, (long)(next() % 12), p, next() % 4 ? next() % 9000 : next(), next() % 40000, next() % 2 ? 0 : q); break;
        case 15: syscall(SYS_mq_timedreceive, (long)(next() % 12), p, next() % 4 ? next() % 9000 : next(), next() % 2 ? 0 : q, next() % 2 ? 0 : pick_ptr()); break;
        case 16: {
            /* A registration by signal number that is ignored, or a bogus one. */
            ((int *)buf)[2] = next() % 2 ? SIGUSR1 : (int)next();
            ((int *)buf)[3] = (int)(next() % 4);
            syscall(SYS_mq_notify, (long)(next() % 12), next() % 4 ? (long)buf : pick_ptr());
            break;
        }
        default: syscall(SYS_mq_getsetattr, (long)(next() % 12), next() % 2 ? 0 : p, next() % 2 ? 0 : q); break;
        }
        /* The fuzzer must not lose its own buffer: re-map it if a detach or remove took it. */
        if (next() % 512 == 0) {
            for (int k = 0; k < 4; k++) shmctl(ids[0][k], IPC_RMID, NULL), ids[0][k] = shmget(IPC_PRIVATE, 4096 << k, 0600);
        }
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    printf("done\n");
    return 0;
}

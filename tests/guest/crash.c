/* Dies in the way argv[1] says: null, ud2, abort, stack, div0, exit42, int80, garbage, segvhandler. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
static void handler(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    printf("caught %d code=%d addr=%p\n", sig, si->si_code, si->si_addr);
    fflush(stdout);
    _exit(7);
}
static int recurse(int n) { volatile char big[4096]; big[0] = (char)n; return recurse(n + 1) + big[0]; }
int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *how = argc > 1 ? argv[1] : "null";
    if (!strcmp(how, "null")) { volatile int *p = 0; return *p; }
    if (!strcmp(how, "ud2")) __asm__ volatile("ud2");
    if (!strcmp(how, "abort")) abort();
    if (!strcmp(how, "stack")) return recurse(0);
    if (!strcmp(how, "div0")) { volatile int z = 0; return 5 / z; }
    if (!strcmp(how, "exit42")) exit(42);
    if (!strcmp(how, "sleep")) { sleep(30); return 0; }
    if (!strcmp(how, "int80")) {
        long r;
        __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
        printf("int80 getpid=%ld\n", r);
        return 0;
    }
    if (!strcmp(how, "garbage")) {
        /* Random syscall numbers and arguments must give errnos, never kill umbra. */
        unsigned long x = 12345;
        for (int i = 0; i < 20000; i++) {
            x = x * 6364136223846793005UL + 1442695040888963407UL;
            long nr = (long)((x >> 33) % 460);
            /* skip calls that would end or block the test itself */
            if (nr == SYS_exit || nr == SYS_exit_group || nr == SYS_execve || nr == SYS_rt_sigreturn ||
                nr == SYS_pause || nr == SYS_kill || nr == SYS_tkill || nr == SYS_tgkill || nr == SYS_nanosleep ||
                nr == SYS_clock_nanosleep || nr == SYS_read || nr == SYS_readv || nr == SYS_preadv || nr == SYS_poll ||
                nr == SYS_select || nr == SYS_pselect6 || nr == SYS_ppoll || nr == SYS_wait4 || nr == SYS_vfork || nr == SYS_fork ||
                nr == SYS_clone || nr == SYS_clone3 || nr == SYS_munmap || nr == SYS_mprotect || nr == SYS_mremap ||
                nr == SYS_brk || nr == SYS_mmap || nr == SYS_madvise || nr == SYS_rt_sigsuspend || nr == SYS_rt_sigtimedwait ||
                nr == SYS_epoll_wait || nr == SYS_epoll_pwait || nr == SYS_futex || nr == SYS_arch_prctl || nr == SYS_rt_sigprocmask ||
                nr == SYS_close || nr == SYS_dup2 || nr == SYS_dup3 || nr == SYS_write || nr == SYS_writev || nr == SYS_pwrite64 ||
                nr == SYS_sigaltstack || nr == SYS_rt_sigaction || nr == SYS_set_tid_address || nr == SYS_prlimit64 || nr == SYS_setrlimit ||
                nr == SYS_close_range || nr == SYS_exit || nr == SYS_shmdt || nr == SYS_io_destroy || nr == SYS_reboot || nr == SYS_setsid)
                continue;
            syscall(nr, x, x >> 7, (long)-1, x << 3, 0L, x ^ 0xdeadbeef);
        }
        syscall(9999, 1, 2, 3);
        syscall(-1L, 1, 2, 3);
        printf("survived garbage\n");
        return 0;
    }
    if (!strcmp(how, "segvhandler")) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = handler;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGSEGV, &sa, NULL);
        volatile int *p = (int *)0x1234;
        return *p;
    }
    return 1;
}

/* Signal handlers: a handler runs, registers and FPU state survive rt_sigreturn, masks,
   SA_RESETHAND, sigaltstack, raise to self. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static volatile int hits;
static volatile double fp_in_handler;
static void on_usr1(int sig) { hits++; fp_in_handler = 1.25 * sig; }
static char altstack[65536];
static volatile void *handler_sp;
static void on_usr2(int sig) { int local; (void)sig; handler_sp = &local; }
int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    double d = 3.5;
    for (int i = 0; i < 1000; i++) { raise(SIGUSR1); d += 0.5; }
    printf("hits=%d d=%.1f fp=%.2f\n", hits, d, fp_in_handler);
    /* blocked signals stay pending until unblocked */
    sigset_t s, old;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigprocmask(SIG_BLOCK, &s, &old);
    raise(SIGUSR1);
    sigset_t pend;
    sigpending(&pend);
    printf("pending=%d hits=%d\n", sigismember(&pend, SIGUSR1), hits);
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("after unblock hits=%d\n", hits);
    /* SA_RESETHAND */
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    struct sigaction cur;
    sigaction(SIGUSR1, NULL, &cur);
    printf("resethand dfl=%d\n", cur.sa_handler == SIG_DFL);
    /* sigaltstack */
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr2;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR2, &sa, NULL);
    raise(SIGUSR2);
    printf("onstack=%d\n", (char *)handler_sp >= altstack && (char *)handler_sp < altstack + sizeof altstack);
    /* ignored signal does nothing */
    signal(SIGUSR2, SIG_IGN);
    raise(SIGUSR2);
    printf("ignored ok\n");
    return 0;
}

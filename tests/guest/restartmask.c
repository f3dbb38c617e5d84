/* A syscall with a temporary signal mask (pselect6, ppoll) interrupted by a signal whose
 * action is to ignore it (SIGCONT, SIGCHLD by default) is restarted with the caller's mask
 * restored. umbra deadlocked on its own signal-state lock there, hanging every process
 * (Debian's shutdown: killall5 sends SIGCONT to everyone). Prints one line per case. */
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void poke_parent_later(int signo) {
    if (fork() == 0) {
        struct timespec t = {0, 100 * 1000 * 1000};
        nanosleep(&t, NULL);
        kill(getppid(), signo);
        _exit(0);
    }
}

int main(void) {
    sigset_t none;
    sigemptyset(&none);
    struct timespec t = {0, 400 * 1000 * 1000};
    poke_parent_later(SIGCONT);
    int r = pselect(0, NULL, NULL, NULL, &t, &none);
    printf("pselect after SIGCONT: %d\n", r);
    wait(NULL);
    poke_parent_later(SIGCONT);
    r = ppoll(NULL, 0, &t, &none);
    printf("ppoll after SIGCONT: %d\n", r);
    wait(NULL);
    return 0;
}

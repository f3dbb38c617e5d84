/* Timers: alarm, setitimer/getitimer (REAL, VIRTUAL, PROF), POSIX timers (SIGEV_SIGNAL,
 * SIGEV_NONE, SIGEV_THREAD_ID, the default sigevent, overruns, CPU clocks, TIMER_ABSTIME,
 * deletion at exec), timerfd and eventfd. Output is counts and booleans only, so it can be
 * compared with the same program run on Linux.
 *
 * Usage: timers            every section but the CPU-time ones
 *        timers cpu        the CPU-time sections (ITIMER_VIRTUAL/PROF, CPU-clock timers)
 *        timers exec-check ID   (internal: run after execve by the exec section) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case 0: return "0";
    case EINVAL: return "EINVAL";
    case EAGAIN: return "EAGAIN";
    case EBADF: return "EBADF";
    case EFAULT: return "EFAULT";
    case EINTR: return "EINTR";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    default: return "other";
    }
}

/* The errno of a call returning -1, or "0". */
#define ERR(call) ((call) == -1 ? ename(errno) : "0")

static volatile sig_atomic_t alrm_count, vt_count, prof_count, usr1_count;
static volatile int last_code, last_value, last_overrun, last_timerid, last_getoverrun, rt_count;
static timer_t overrun_timer;

static void on_alrm(int s) { (void)s; alrm_count++; }
static void on_vt(int s) { (void)s; vt_count++; }
static void on_prof(int s) { (void)s; prof_count++; }
static void on_usr1(int s) { (void)s; usr1_count++; }

static void on_info(int s, siginfo_t *si, void *uc) {
    (void)s; (void)uc;
    last_code = si->si_code;
    last_value = si->si_value.sival_int;
    last_overrun = si->si_overrun;
    last_timerid = si->si_timerid;
    rt_count++;
}

static void on_overrun(int s, siginfo_t *si, void *uc) {
    (void)s; (void)uc;
    last_overrun = si->si_overrun;
    last_getoverrun = timer_getoverrun(overrun_timer);
    rt_count++;
}

static void handle(int sig, void (*h)(int)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sigaction(sig, &sa, NULL);
}

static void handle_info(int sig, void (*h)(int, siginfo_t *, void *)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = h;
    sa.sa_flags = SA_SIGINFO;
    sigaction(sig, &sa, NULL);
}

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) == -1 && errno == EINTR) {
    }
}

static long long now_ns(clockid_t c) {
    struct timespec t;
    clock_gettime(c, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* Waits (sleeping 10 ms at a time) until *flag >= n or about 2 s pass. */
static int wait_for(volatile int *flag, int n) {
    for (int i = 0; i < 200 && *flag < n; i++) {
        struct timespec t = {0, 10 * 1000000L};
        nanosleep(&t, NULL);
    }
    return *flag >= n;
}

/* Burns CPU until *flag >= n or 3 s of process CPU time pass. */
static int burn_until(volatile sig_atomic_t *flag, int n) {
    long long start = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    volatile unsigned long x = 0;
    while (*flag < n) {
        for (int i = 0; i < 100000; i++) x += i;
        if (now_ns(CLOCK_PROCESS_CPUTIME_ID) - start > 3000000000LL) return 0;
    }
    return 1;
}

static void test_alarm(void) {
    alarm(5);
    printf("alarm_prev=%u\n", alarm(3));
    printf("alarm_cancel=%u\n", alarm(0));
    printf("alarm_none=%u\n", alarm(0));
    handle(SIGALRM, on_alrm);
    alrm_count = 0;
    alarm(1);
    int r = pause();
    printf("pause_ret=%d errno=%s alarm_handled=%d\n", r, ename(errno), (int)alrm_count);
}

static void test_itimer_real(void) {
    struct itimerval it = {{0, 20000}, {0, 20000}}, old, cur;
    handle(SIGALRM, on_alrm);
    alrm_count = 0;
    printf("setitimer_real=%s\n", ERR(setitimer(ITIMER_REAL, &it, NULL)));
    getitimer(ITIMER_REAL, &cur);
    printf("getitimer_interval=%ld value_in_range=%d\n", (long)cur.it_interval.tv_usec,
           cur.it_value.tv_sec == 0 && cur.it_value.tv_usec > 0 && cur.it_value.tv_usec <= 20000);
    while (alrm_count < 5) pause();
    struct itimerval zero = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &zero, &old);
    printf("itimer_real_signals_ge5=%d old_interval=%ld old_value_le=%d\n", alrm_count >= 5,
           (long)old.it_interval.tv_usec, old.it_value.tv_sec == 0 && old.it_value.tv_usec <= 20000);
    getitimer(ITIMER_REAL, &cur);
    printf("disarmed=%d\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0 && cur.it_interval.tv_usec == 0);
    int before = alrm_count;
    sleep_ms(60);
    printf("no_more_after_disarm=%d\n", alrm_count == before);
    /* A one-shot setitimer interrupts a blocking read of a pipe with EINTR. */
    int p[2];
    pipe(p);
    struct itimerval once = {{0, 0}, {0, 30000}};
    setitimer(ITIMER_REAL, &once, NULL);
    char c;
    ssize_t n = read(p[0], &c, 1);
    printf("read_interrupted=%d errno=%s\n", (int)n, ename(errno));
    close(p[0]);
    close(p[1]);
    /* alarm() sees the time left by setitimer. */
    struct itimerval two = {{0, 0}, {2, 400000}};
    setitimer(ITIMER_REAL, &two, NULL);
    printf("alarm_rounds=%u\n", alarm(0));
    struct itimerval bad = {{0, 0}, {0, 1000000}};
    printf("setitimer_bad_usec=%s\n", ERR(setitimer(ITIMER_REAL, &bad, NULL)));
    printf("setitimer_bad_which=%s\n", ERR(setitimer(99, &zero, NULL)));
    printf("getitimer_bad_which=%s\n", ERR(getitimer(99, &cur)));
    printf("setitimer_efault=%s\n", ERR(syscall(SYS_setitimer, ITIMER_REAL, (void *)8, NULL)));
}

static void test_itimer_cpu(void) {
    struct itimerval it = {{0, 0}, {0, 50000}}, cur, zero = {{0, 0}, {0, 0}};
    /* A wall-clock timer must also fire while the process only computes. */
    handle(SIGALRM, on_alrm);
    alrm_count = 0;
    struct itimerval real = {{0, 0}, {0, 30000}};
    setitimer(ITIMER_REAL, &real, NULL);
    printf("real_fires_during_busy_loop=%d\n", burn_until(&alrm_count, 1));
    handle(SIGVTALRM, on_vt);
    handle(SIGPROF, on_prof);
    setitimer(ITIMER_VIRTUAL, &it, NULL);
    getitimer(ITIMER_VIRTUAL, &cur);
    printf("virtual_armed=%d\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_usec > 0);
    printf("vtalrm_fired=%d\n", burn_until(&vt_count, 1));
    getitimer(ITIMER_VIRTUAL, &cur);
    printf("virtual_one_shot_done=%d\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0);
    struct itimerval prof = {{0, 20000}, {0, 20000}};
    setitimer(ITIMER_PROF, &prof, NULL);
    printf("prof_fired_at_least_3=%d\n", burn_until(&prof_count, 3));
    setitimer(ITIMER_PROF, &zero, &cur);
    printf("prof_old_interval=%ld\n", (long)cur.it_interval.tv_usec);
}

static void test_posix_signal(void) {
    handle_info(SIGRTMIN, on_info);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGRTMIN;
    ev.sigev_value.sival_int = 0x1234;
    timer_t t;
    printf("timer_create=%s\n", ERR(timer_create(CLOCK_MONOTONIC, &ev, &t)));
    struct itimerspec v, old;
    timer_gettime(t, &v);
    printf("fresh_disarmed=%d\n", v.it_value.tv_sec == 0 && v.it_value.tv_nsec == 0);
    struct itimerspec one = {{0, 0}, {0, 20 * 1000000L}};
    rt_count = 0;
    timer_settime(t, 0, &one, NULL);
    timer_gettime(t, &v);
    printf("armed_in_range=%d\n", v.it_value.tv_sec == 0 && v.it_value.tv_nsec > 0 && v.it_value.tv_nsec <= 20000000);
    int fired = wait_for(&rt_count, 1);
    printf("posix_fired=%d\n", fired);
    printf("si_code_timer=%d si_value=%#x overrun=%d timerid_matches=%d\n", last_code == SI_TIMER, last_value,
           last_overrun, last_timerid == (int)(intptr_t)t);
    timer_gettime(t, &v);
    printf("one_shot_done=%d\n", v.it_value.tv_sec == 0 && v.it_value.tv_nsec == 0);
    /* Periodic, then re-set: the old value comes back. */
    struct itimerspec per = {{0, 10 * 1000000L}, {0, 10 * 1000000L}};
    rt_count = 0;
    timer_settime(t, 0, &per, NULL);
    printf("periodic_ge3=%d\n", wait_for(&rt_count, 3));
    struct itimerspec zero = {{0, 0}, {0, 0}};
    timer_settime(t, 0, &zero, &old);
    printf("old_interval_ms=%ld old_value_le=%d\n", old.it_interval.tv_nsec / 1000000,
           old.it_value.tv_sec == 0 && old.it_value.tv_nsec <= 10000000);
    /* Absolute times: MONOTONIC in the future, REALTIME in the past (fires at once). */
    struct itimerspec abs = {{0, 0}, {0, 0}};
    long long when = now_ns(CLOCK_MONOTONIC) + 20000000LL;
    abs.it_value.tv_sec = when / 1000000000LL;
    abs.it_value.tv_nsec = when % 1000000000LL;
    rt_count = 0;
    timer_settime(t, TIMER_ABSTIME, &abs, NULL);
    printf("abstime_fired=%d\n", wait_for(&rt_count, 1));
    timer_t rt;
    timer_create(CLOCK_REALTIME, &ev, &rt);
    long long past = now_ns(CLOCK_REALTIME) - 1000000000LL;
    abs.it_value.tv_sec = past / 1000000000LL;
    abs.it_value.tv_nsec = past % 1000000000LL;
    rt_count = 0;
    timer_settime(rt, TIMER_ABSTIME, &abs, NULL);
    printf("abstime_past_fired=%d\n", wait_for(&rt_count, 1));
    printf("settime_bad_nsec=%s\n", ERR(timer_settime(t, 0, &(struct itimerspec){{0, 0}, {0, 1000000000L}}, NULL)));
    printf("settime_null=%s\n", ERR(syscall(SYS_timer_settime, (int)(intptr_t)t, 0, NULL, NULL)));
    printf("delete=%s\n", ERR(timer_delete(t)));
    printf("gettime_deleted=%s\n", ERR(timer_gettime(t, &v)));
    printf("delete_again=%s\n", ERR(timer_delete(t)));
    printf("getoverrun_deleted=%s\n", ERR(timer_getoverrun(t)));
    timer_delete(rt);
}

static void test_posix_overrun(void) {
    handle_info(SIGRTMIN + 1, on_overrun);
    sigset_t s, old;
    sigemptyset(&s);
    sigaddset(&s, SIGRTMIN + 1);
    sigprocmask(SIG_BLOCK, &s, &old);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGRTMIN + 1;
    timer_create(CLOCK_MONOTONIC, &ev, &overrun_timer);
    struct itimerspec per = {{0, 5 * 1000000L}, {0, 5 * 1000000L}};
    rt_count = 0;
    timer_settime(overrun_timer, 0, &per, NULL);
    sleep_ms(100);
    sigprocmask(SIG_SETMASK, &old, NULL);
    struct itimerspec zero = {{0, 0}, {0, 0}};
    timer_settime(overrun_timer, 0, &zero, NULL);
    printf("overrun_delivered=%d overrun_ge10=%d overrun_le100=%d getoverrun_matches=%d\n", rt_count >= 1,
           last_overrun >= 10, last_overrun <= 100, last_getoverrun == last_overrun);
    printf("getoverrun_after_settime=%d\n", timer_getoverrun(overrun_timer));
    timer_delete(overrun_timer);
}

static void test_posix_variants(void) {
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    struct itimerspec v;
    /* SIGEV_NONE counts down and reads 0 once expired. */
    ev.sigev_notify = SIGEV_NONE;
    timer_t n;
    printf("none_create=%s\n", ERR(timer_create(CLOCK_MONOTONIC, &ev, &n)));
    timer_settime(n, 0, &(struct itimerspec){{0, 0}, {0, 30 * 1000000L}}, NULL);
    timer_gettime(n, &v);
    printf("none_counts_down=%d\n", v.it_value.tv_sec == 0 && v.it_value.tv_nsec > 0);
    sleep_ms(40);
    timer_gettime(n, &v);
    printf("none_expired_zero=%d\n", v.it_value.tv_sec == 0 && v.it_value.tv_nsec == 0);
    timer_settime(n, 0, &(struct itimerspec){{0, 10 * 1000000L}, {0, 10 * 1000000L}}, NULL);
    sleep_ms(25);
    timer_gettime(n, &v);
    printf("none_periodic_in_range=%d\n", v.it_value.tv_sec == 0 && v.it_value.tv_nsec > 0 && v.it_value.tv_nsec <= 10000000);
    timer_delete(n);
    /* SIGEV_THREAD_ID to this thread. */
    handle_info(SIGUSR2, on_info);
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = SIGUSR2;
    ev.sigev_value.sival_int = 77;
    ev._sigev_un._tid = gettid();
    timer_t th;
    printf("thread_id_create=%s\n", ERR(timer_create(CLOCK_MONOTONIC, &ev, &th)));
    rt_count = 0;
    timer_settime(th, 0, &(struct itimerspec){{0, 0}, {0, 5 * 1000000L}}, NULL);
    int fired = wait_for(&rt_count, 1);
    printf("thread_id_fired=%d value=%d\n", fired, last_value);
    timer_delete(th);
    ev._sigev_un._tid = 999999;
    printf("thread_id_bad_tid=%s\n", ERR(timer_create(CLOCK_MONOTONIC, &ev, &th)));
    /* The kernel's default sigevent: SIGALRM with the timer id as the value. */
    handle_info(SIGALRM, on_info);
    int kid = -1;
    printf("default_create=%s\n", ERR(syscall(SYS_timer_create, CLOCK_MONOTONIC, NULL, &kid)));
    rt_count = 0;
    struct itimerspec once = {{0, 0}, {0, 5 * 1000000L}};
    syscall(SYS_timer_settime, kid, 0, &once, NULL);
    fired = wait_for(&rt_count, 1);
    printf("default_fired=%d value_is_id=%d signal_code_timer=%d\n", fired, last_value == kid, last_code == SI_TIMER);
    int kid2 = -1;
    syscall(SYS_timer_create, CLOCK_MONOTONIC, NULL, &kid2);
    printf("ids_differ=%d\n", kid2 != kid);
    syscall(SYS_timer_delete, kid);
    syscall(SYS_timer_delete, kid2);
    /* Errors. */
    timer_t e;
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = 0;
    printf("bad_signo=%s\n", ERR(timer_create(CLOCK_MONOTONIC, &ev, &e)));
    ev.sigev_signo = 65;
    printf("signo_65=%s\n", ERR(timer_create(CLOCK_MONOTONIC, &ev, &e)));
    ev.sigev_signo = SIGUSR1;
    ev.sigev_notify = 99;
    printf("bad_notify=%s\n", ERR(timer_create(CLOCK_MONOTONIC, &ev, &e)));
    ev.sigev_notify = SIGEV_SIGNAL;
    printf("bad_clock=%s\n", ERR(syscall(SYS_timer_create, 12345, &ev, &kid)));
    printf("raw_clock=%s\n", ERR(syscall(SYS_timer_create, CLOCK_MONOTONIC_RAW, &ev, &kid)));
    printf("coarse_clock=%s\n", ERR(syscall(SYS_timer_create, CLOCK_MONOTONIC_COARSE, &ev, &kid)));
    printf("efault_event=%s\n", ERR(syscall(SYS_timer_create, CLOCK_MONOTONIC, (void *)8, &kid)));
    printf("efault_id=%s\n", ERR(syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, (void *)8)));
    printf("boottime_ok=%s\n", ERR(timer_create(CLOCK_BOOTTIME, &ev, &e)));
    timer_delete(e);
    printf("gettime_bad_id=%s\n", ERR(syscall(SYS_timer_gettime, 4242, &v)));
    printf("process_cpu_clock_ok=%s\n", ERR(timer_create(CLOCK_PROCESS_CPUTIME_ID, &ev, &e)));
    timer_delete(e);
    printf("thread_cpu_clock_ok=%s\n", ERR(timer_create(CLOCK_THREAD_CPUTIME_ID, &ev, &e)));
    timer_delete(e);
}

static void test_posix_cpu(void) {
    handle(SIGUSR1, on_usr1);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    timer_t t;
    timer_create(CLOCK_PROCESS_CPUTIME_ID, &ev, &t);
    usr1_count = 0;
    timer_settime(t, 0, &(struct itimerspec){{0, 0}, {0, 30 * 1000000L}}, NULL);
    printf("cpu_timer_fired=%d\n", burn_until(&usr1_count, 1));
    timer_delete(t);
    timer_create(CLOCK_THREAD_CPUTIME_ID, &ev, &t);
    usr1_count = 0;
    timer_settime(t, 0, &(struct itimerspec){{0, 20 * 1000000L}, {0, 20 * 1000000L}}, NULL);
    printf("thread_cpu_timer_periodic_ge2=%d\n", burn_until(&usr1_count, 2));
    timer_delete(t);
    /* A sleeping process uses no CPU: its CPU timer does not fire. */
    timer_create(CLOCK_PROCESS_CPUTIME_ID, &ev, &t);
    usr1_count = 0;
    timer_settime(t, 0, &(struct itimerspec){{0, 0}, {0, 50 * 1000000L}}, NULL);
    sleep_ms(100);
    printf("cpu_timer_idle_quiet=%d\n", usr1_count == 0);
    timer_delete(t);
}

/* The exec section: a child with an alarm and a POSIX timer execs this program, which checks
 * that the alarm survived and the timer did not. A forked child inherits neither. */
static void test_exec(const char *self) {
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_NONE;
    timer_t t;
    timer_create(CLOCK_MONOTONIC, &ev, &t);
    alarm(100);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        struct itimerspec v;
        printf("child_alarm=%u child_gettime=%s\n", alarm(0), ERR(timer_gettime(t, &v)));
        timer_t mine;
        timer_create(CLOCK_MONOTONIC, &ev, &mine);
        alarm(50);
        char id[32];
        snprintf(id, sizeof id, "%d", (int)(intptr_t)mine);
        fflush(stdout);
        execl(self, self, "exec-check", id, (char *)NULL);
        _exit(99);
    }
    int st;
    waitpid(c, &st, 0);
    printf("exec_child_status=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    alarm(0);
    timer_delete(t);
}

static int exec_check(const char *id) {
    struct itimerspec v;
    unsigned left = alarm(0);
    printf("after_exec_alarm_kept=%d after_exec_gettime=%s\n", left >= 49 && left <= 50,
           ERR(syscall(SYS_timer_gettime, atoi(id), &v)));
    return 0;
}

static void test_timerfd(void) {
    int fd = timerfd_create(CLOCK_MONOTONIC, 0);
    printf("tfd_create=%d\n", fd >= 0);
    struct itimerspec per = {{0, 10 * 1000000L}, {0, 10 * 1000000L}}, v, old;
    timerfd_settime(fd, 0, &per, NULL);
    uint64_t ticks = 0;
    ssize_t n = read(fd, &ticks, sizeof ticks);
    printf("tfd_read=%d first_ge1=%d\n", (int)n, ticks >= 1);
    sleep_ms(55);
    read(fd, &ticks, sizeof ticks);
    printf("tfd_accumulated_ge4=%d le30=%d\n", ticks >= 4, ticks <= 30);
    timerfd_gettime(fd, &v);
    printf("tfd_interval_ms=%ld value_in_range=%d\n", v.it_interval.tv_nsec / 1000000,
           v.it_value.tv_sec == 0 && v.it_value.tv_nsec <= 10000000);
    struct itimerspec zero = {{0, 0}, {0, 0}};
    timerfd_settime(fd, 0, &zero, &old);
    printf("tfd_old_interval_ms=%ld\n", old.it_interval.tv_nsec / 1000000);
    timerfd_gettime(fd, &v);
    printf("tfd_disarmed=%d\n", v.it_value.tv_sec == 0 && v.it_value.tv_nsec == 0 && v.it_interval.tv_nsec == 0);
    char small[4];
    printf("tfd_short_read=%s\n", ERR(read(fd, small, sizeof small)));
    printf("tfd_write=%s\n", ERR(write(fd, &ticks, sizeof ticks)));
    /* poll: nothing before the expiry, POLLIN after. */
    struct pollfd p = {fd, POLLIN, 0};
    timerfd_settime(fd, 0, &(struct itimerspec){{0, 0}, {0, 20 * 1000000L}}, NULL);
    printf("tfd_poll_before=%d\n", poll(&p, 1, 0));
    int r = poll(&p, 1, 2000);
    printf("tfd_poll_after=%d revents_in=%d\n", r, (p.revents & POLLIN) != 0);
    read(fd, &ticks, sizeof ticks);
    printf("tfd_one_shot_ticks=%llu\n", (unsigned long long)ticks);
    /* TFD_TIMER_ABSTIME. */
    long long when = now_ns(CLOCK_MONOTONIC) + 15000000LL;
    struct itimerspec abs = {{0, 0}, {when / 1000000000LL, when % 1000000000LL}};
    printf("tfd_abstime=%s\n", ERR(timerfd_settime(fd, TFD_TIMER_ABSTIME, &abs, NULL)));
    read(fd, &ticks, sizeof ticks);
    printf("tfd_abstime_ticks=%llu\n", (unsigned long long)ticks);
    /* Unread expirations are dropped by settime. */
    timerfd_settime(fd, 0, &(struct itimerspec){{0, 0}, {0, 1000000L}}, NULL);
    sleep_ms(10);
    timerfd_settime(fd, 0, &(struct itimerspec){{0, 0}, {10, 0}}, NULL);
    p.revents = 0;
    printf("tfd_settime_clears=%d\n", poll(&p, 1, 0));
    close(fd);
    /* Flags and errors. */
    int nb = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
    printf("tfd_nonblock=%d cloexec=%d\n", (fcntl(nb, F_GETFL) & O_NONBLOCK) != 0, (fcntl(nb, F_GETFD) & FD_CLOEXEC) != 0);
    printf("tfd_eagain=%s\n", ERR(read(nb, &ticks, sizeof ticks)));
    long long rwhen = now_ns(CLOCK_REALTIME) + 10000000LL;
    struct itimerspec rabs = {{0, 0}, {rwhen / 1000000000LL, rwhen % 1000000000LL}};
    timerfd_settime(nb, TFD_TIMER_ABSTIME, &rabs, NULL);
    p.fd = nb;
    poll(&p, 1, 2000);
    printf("tfd_realtime_abs_ticks=%d\n", read(nb, &ticks, sizeof ticks) == 8 ? (int)ticks : -1);
    printf("tfd_bad_clock=%s\n", ERR(timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0)));
    printf("tfd_bad_flags=%s\n", ERR(timerfd_create(CLOCK_MONOTONIC, 1)));
    printf("tfd_settime_bad_flags=%s\n", ERR(timerfd_settime(nb, 4, &zero, NULL)));
    printf("tfd_settime_bad_value=%s\n", ERR(timerfd_settime(nb, 0, &(struct itimerspec){{0, 0}, {0, -1}}, NULL)));
    printf("tfd_settime_ebadf=%s\n", ERR(timerfd_settime(999, 0, &zero, NULL)));
    int efd = eventfd(0, 0);
    printf("tfd_settime_not_timerfd=%s\n", ERR(timerfd_settime(efd, 0, &zero, NULL)));
    printf("tfd_gettime_not_timerfd=%s\n", ERR(timerfd_gettime(efd, &v)));
    close(efd);
    close(nb);
}

static void on_alarm_noop(int sig) { (void)sig; }

static void test_eventfd(void) {
    int fd = eventfd(3, 0);
    uint64_t v = 4;
    printf("efd_write=%d\n", (int)write(fd, &v, sizeof v));
    read(fd, &v, sizeof v);
    printf("efd_read=%llu\n", (unsigned long long)v);
    struct pollfd p = {fd, POLLIN | POLLOUT, 0};
    poll(&p, 1, 0);
    printf("efd_poll_empty_in=%d out=%d\n", (p.revents & POLLIN) != 0, (p.revents & POLLOUT) != 0);
    /* A blocking read wakes when another process writes. */
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        sleep_ms(20);
        uint64_t five = 5;
        write(fd, &five, sizeof five);
        _exit(0);
    }
    v = 0;
    read(fd, &v, sizeof v);
    waitpid(c, NULL, 0);
    printf("efd_blocking_read=%llu\n", (unsigned long long)v);
    char small[4];
    printf("efd_short_read=%s short_write=%s\n", ERR(read(fd, small, 4)), ERR(write(fd, small, 4)));
    uint64_t big[2] = {0, 0};
    ssize_t n;
    v = 9;
    write(fd, &v, sizeof v);
    n = read(fd, big, sizeof big);
    printf("efd_read_16=%d value=%llu\n", (int)n, (unsigned long long)big[0]);
    close(fd);
    int s = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC);
    uint64_t a = 0, b = 0;
    read(s, &a, 8);
    read(s, &b, 8);
    printf("efd_sem=%llu,%llu then=%s cloexec=%d\n", (unsigned long long)a, (unsigned long long)b, ERR(read(s, &a, 8)),
           (fcntl(s, F_GETFD) & FD_CLOEXEC) != 0);
    v = UINT64_MAX;
    printf("efd_write_max=%s\n", ERR(write(s, &v, 8)));
    v = UINT64_MAX - 1;
    printf("efd_write_near_max=%s\n", ERR(write(s, &v, 8)));
    v = 1;
    printf("efd_overflow=%s\n", ERR(write(s, &v, 8)));
    p.fd = s;
    p.revents = 0;
    poll(&p, 1, 0);
    printf("efd_full_in=%d out=%d\n", (p.revents & POLLIN) != 0, (p.revents & POLLOUT) != 0);
    printf("efd_bad_flags=%s\n", ERR(eventfd(0, 2)));
    close(s);
    /* A blocking write that would overflow sleeps (poll says writable: there is room for a
     * small value) until a read makes room, or a signal interrupts it. */
    int bf = eventfd(1, 0);
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm_noop;
    sigaction(SIGALRM, &sa, NULL);
    alarm(1);
    v = UINT64_MAX - 1;
    printf("efd_blocking_overflow=%s\n", ERR(write(bf, &v, 8)));
    fflush(stdout);
    c = fork();
    if (c == 0) {
        sleep_ms(50);
        read(bf, &v, 8);
        _exit(0);
    }
    v = UINT64_MAX - 1;
    printf("efd_overflow_after_read=%s\n", ERR(write(bf, &v, 8)));
    waitpid(c, NULL, 0);
    close(bf);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 2 && strcmp(argv[1], "exec-check") == 0) return exec_check(argv[2]);
    if (argc > 1 && strcmp(argv[1], "cpu") == 0) {
        test_itimer_cpu();
        test_posix_cpu();
        return 0;
    }
    test_alarm();
    test_itimer_real();
    test_posix_signal();
    test_posix_overrun();
    test_posix_variants();
    test_exec(argv[0]);
    test_timerfd();
    test_eventfd();
    return 0;
}

/*
 * The Umbra guest vDSO: the time functions glibc and musl look up through AT_SYSINFO_EHDR,
 * served without a syscall (each syscall is a ptrace round trip under umbra, ~10-20 us).
 *
 * Built by arch-um/build.rs as a tiny position-independent shared object (linked by vdso.lds,
 * symbols versioned LINUX_2.6 by vdso.ver) and mapped by the kernel into every guest, with the
 * vvar page (vdso_abi.h) read-only right below it. Time is the TSC scaled by the parameters the
 * kernel publishes there under a seqlock. What it cannot serve (CPU-time clocks, unknown ids, a
 * TSC the kernel marked unusable, a writer that never finishes) it hands to the kernel with a
 * real `syscall` instruction, which umbra emulates like any other.
 *
 * It runs as guest code, in the guest's process, on the guest's stack: no globals, no libc.
 */
#include <stddef.h>
#include "vdso_abi.h"

typedef unsigned long u64;
typedef long s64;
typedef unsigned int u32;

struct vdso_timespec { long tv_sec; long tv_nsec; };
struct vdso_timeval { long tv_sec; long tv_usec; };
struct vdso_timezone { int tz_minuteswest; int tz_dsttime; };

_Static_assert(offsetof(struct umbra_vvar, seq) == UMBRA_VVAR_OFF_SEQ, "vvar seq");
_Static_assert(offsetof(struct umbra_vvar, usable) == UMBRA_VVAR_OFF_USABLE, "vvar usable");
_Static_assert(offsetof(struct umbra_vvar, tsc_base) == UMBRA_VVAR_OFF_TSC_BASE, "vvar tsc_base");
_Static_assert(offsetof(struct umbra_vvar, mono_base_ns) == UMBRA_VVAR_OFF_MONO, "vvar mono");
_Static_assert(offsetof(struct umbra_vvar, real_base_ns) == UMBRA_VVAR_OFF_REAL, "vvar real");
_Static_assert(offsetof(struct umbra_vvar, mult) == UMBRA_VVAR_OFF_MULT, "vvar mult");
_Static_assert(offsetof(struct umbra_vvar, shift) == UMBRA_VVAR_OFF_SHIFT, "vvar shift");
_Static_assert(offsetof(struct umbra_vvar, version) == UMBRA_VVAR_OFF_VERSION, "vvar version");
_Static_assert(sizeof(struct umbra_vvar) == UMBRA_VVAR_STRUCT_SIZE, "vvar size");

/* The vvar page: defined by vdso.lds at UMBRA_VVAR_SIZE below the image's first byte. */
extern const struct umbra_vvar umbra_vvar_page __attribute__((visibility("hidden")));

#define NSEC_PER_SEC 1000000000UL
/* Give up on the seqlock after this many tries and ask the kernel instead. */
#define MAX_TRIES 1000

#define NR_gettimeofday 96
#define NR_time 201
#define NR_clock_gettime 228
#define NR_clock_getres 229

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_MONOTONIC_RAW 4
#define CLOCK_REALTIME_COARSE 5
#define CLOCK_MONOTONIC_COARSE 6
#define CLOCK_BOOTTIME 7
#define CLOCK_TAI 11

/* Resolution of the coarse clocks, as the kernel reports it (one 250 Hz tick). */
#define COARSE_RES_NS 4000000L

enum base { BASE_NONE = -1, BASE_MONO = 0, BASE_REAL = 1 };

static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }
static inline u32 load32(const u32 *p) { return *(const volatile u32 *)p; }
static inline u64 load64(const u64 *p) { return *(const volatile u64 *)p; }

/* The TSC, not read before earlier loads complete (Linux's rdtsc_ordered). */
static inline u64 rdtsc_ordered(void) {
    u32 lo, hi;
    __asm__ volatile("lfence\n\trdtsc" : "=a"(lo), "=d"(hi) : : "memory");
    return ((u64)hi << 32) | lo;
}

static inline long syscall2(long nr, long a, long b) {
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
    return ret;
}

/* Which vvar base serves `clock`, or BASE_NONE for the kernel to answer. */
static inline enum base clock_base(int clock) {
    switch (clock) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
    case CLOCK_TAI:
        return BASE_REAL;
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_BOOTTIME:
        return BASE_MONO;
    default:
        return BASE_NONE;
    }
}

/* ns = base + (delta * mult) >> shift, the product in 128 bits; a TSC behind the base (another
   CPU's TSC a few cycles apart) counts as no time. */
static inline u64 scale(u64 base, u64 tsc, u64 tsc_base, u64 mult, u32 shift) {
    u64 delta = (s64)(tsc - tsc_base) > 0 ? tsc - tsc_base : 0;
    return base + (u64)(((unsigned __int128)delta * mult) >> shift);
}

/* Reads clock base `b` in ns into *ns; -1 when the vvar cannot serve it (use the syscall). */
static int read_ns(enum base b, u64 *ns) {
    const struct umbra_vvar *v = &umbra_vvar_page;
    for (int tries = 0; tries < MAX_TRIES; tries++) {
        u32 seq = load32(&v->seq);
        if (seq & 1) {
            __asm__ volatile("pause");
            continue;
        }
        barrier();
        u32 usable = load32(&v->usable);
        u64 tsc_base = load64(&v->tsc_base);
        u64 base = b == BASE_REAL ? load64(&v->real_base_ns) : load64(&v->mono_base_ns);
        u64 mult = load64(&v->mult);
        u32 shift = load32(&v->shift);
        u64 tsc = rdtsc_ordered();
        barrier();
        if (load32(&v->seq) != seq)
            continue;
        if (!usable || shift > 63)
            return -1;
        *ns = scale(base, tsc, tsc_base, mult, shift);
        return 0;
    }
    return -1;
}

int __vdso_clock_gettime(int clock, struct vdso_timespec *ts) {
    enum base b = clock_base(clock);
    u64 ns;
    if (b == BASE_NONE || read_ns(b, &ns) != 0)
        return syscall2(NR_clock_gettime, clock, (long)ts);
    ts->tv_sec = ns / NSEC_PER_SEC;
    ts->tv_nsec = ns % NSEC_PER_SEC;
    return 0;
}

int __vdso_gettimeofday(struct vdso_timeval *tv, struct vdso_timezone *tz) {
    if (tv) {
        u64 ns;
        if (read_ns(BASE_REAL, &ns) != 0)
            return syscall2(NR_gettimeofday, (long)tv, (long)tz);
        tv->tv_sec = ns / NSEC_PER_SEC;
        tv->tv_usec = (ns % NSEC_PER_SEC) / 1000;
    }
    if (tz) {
        /* The kernel keeps no timezone: UTC, as its gettimeofday reports. */
        tz->tz_minuteswest = 0;
        tz->tz_dsttime = 0;
    }
    return 0;
}

long __vdso_time(long *t) {
    u64 ns;
    if (read_ns(BASE_REAL, &ns) != 0)
        return syscall2(NR_time, (long)t, 0);
    long secs = ns / NSEC_PER_SEC;
    if (t)
        *t = secs;
    return secs;
}

/* One virtual CPU on one node, as the kernel's getcpu(2) says. */
long __vdso_getcpu(unsigned *cpu, unsigned *node, void *unused) {
    (void)unused;
    if (cpu)
        *cpu = 0;
    if (node)
        *node = 0;
    return 0;
}

int __vdso_clock_getres(int clock, struct vdso_timespec *res) {
    if (clock_base(clock) == BASE_NONE)
        return syscall2(NR_clock_getres, clock, (long)res);
    if (res) {
        int coarse = clock == CLOCK_REALTIME_COARSE || clock == CLOCK_MONOTONIC_COARSE;
        res->tv_sec = 0;
        res->tv_nsec = coarse ? COARSE_RES_NS : 1;
    }
    return 0;
}

/* The unprefixed names Linux's vDSO exports too. */
int clock_gettime(int, struct vdso_timespec *) __attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(struct vdso_timeval *, struct vdso_timezone *) __attribute__((weak, alias("__vdso_gettimeofday")));
long time(long *) __attribute__((weak, alias("__vdso_time")));
long getcpu(unsigned *, unsigned *, void *) __attribute__((weak, alias("__vdso_getcpu")));
int clock_getres(int, struct vdso_timespec *) __attribute__((weak, alias("__vdso_clock_getres")));

/* The contract between umbra (arch-um/src/vdso.rs) and the guest vDSO (vdso.c): the layout of the
   vvar page the kernel writes and the vDSO reads. Keep in sync with `Vvar` in arch-um/src/vdso.rs;
   both sides assert every offset, so a mismatch fails the build of one of them. */
#ifndef UMBRA_VDSO_ABI_H
#define UMBRA_VDSO_ABI_H

/* The vvar area: this many pages mapped read-only right below the vDSO text. */
#define UMBRA_VVAR_PAGES 1
#define UMBRA_VVAR_SIZE (UMBRA_VVAR_PAGES * 4096)

/* Bumped when the layout changes. */
#define UMBRA_VVAR_VERSION 1

/*
 * The time parameters, at offset 0 of the vvar page. The kernel is the only writer; it follows
 * the seqlock protocol: seq += 1 (odd: being written), write the fields, seq += 1 (even).
 * A reader takes seq, retries while it is odd, reads the fields and rdtsc, and retries if seq
 * changed meanwhile. Time in ns of a clock at TSC value t:
 *     base_ns + (((t - tsc_base) as u128 * mult) >> shift)       (t < tsc_base counts as tsc_base)
 */
struct umbra_vvar {
    unsigned int seq;                  /*  0: the seqlock counter */
    unsigned int usable;               /*  4: 0 = the TSC cannot be used: make the syscall */
    unsigned long tsc_base;            /*  8: TSC value the bases were taken at */
    unsigned long mono_base_ns;        /* 16: CLOCK_MONOTONIC (= BOOTTIME, MONOTONIC_RAW) at tsc_base */
    unsigned long real_base_ns;        /* 24: CLOCK_REALTIME (= TAI) at tsc_base, ns since the epoch */
    unsigned long mult;                /* 32: ns = (ticks * mult) >> shift */
    unsigned int shift;                /* 40 */
    unsigned int version;              /* 44: UMBRA_VVAR_VERSION */
};

#define UMBRA_VVAR_OFF_SEQ 0
#define UMBRA_VVAR_OFF_USABLE 4
#define UMBRA_VVAR_OFF_TSC_BASE 8
#define UMBRA_VVAR_OFF_MONO 16
#define UMBRA_VVAR_OFF_REAL 24
#define UMBRA_VVAR_OFF_MULT 32
#define UMBRA_VVAR_OFF_SHIFT 40
#define UMBRA_VVAR_OFF_VERSION 44
#define UMBRA_VVAR_STRUCT_SIZE 48

#endif

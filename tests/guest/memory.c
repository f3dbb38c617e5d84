/* Exercises brk, malloc, mmap/munmap/mprotect/mremap/madvise, and checks data survives. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
int main(void) {

    /* brk */
    char *b0 = sbrk(0);
    char *b1 = sbrk(1 << 20);
    memset(b1, 0x5a, 1 << 20);
    printf("sbrk ok=%d\n", b1 == b0 && ((char *)sbrk(0)) == b0 + (1 << 20) && b1[12345] == 0x5a);
    /* malloc of many sizes */
    long sum = 0;
    for (int i = 1; i < 2000; i++) { char *p = malloc(i * 37); memset(p, i, i * 37); sum += p[i * 37 - 1]; free(p); }
    printf("malloc sum=%ld\n", sum);
    /* a big mmap touched page by page */
    size_t len = 64 << 20;
    char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (size_t i = 0; i < len; i += 4096) m[i] = (char)(i >> 12);
    long s2 = 0;
    for (size_t i = 0; i < len; i += 4096) s2 += (unsigned char)m[i];
    printf("mmap sum=%ld\n", s2);
    /* mremap grow keeps data */
    char *r = mremap(m, len, 2 * len, MREMAP_MAYMOVE);
    printf("mremap ok=%d\n", r != MAP_FAILED && r[4096 * 7] == 7);
    /* madvise DONTNEED zeroes private anonymous memory */
    madvise(r, 4096, MADV_DONTNEED);
    printf("dontneed zero=%d\n", r[0] == 0);
    /* munmap then mprotect errors as Linux */
    munmap(r, 2 * len);
    errno = 0;
    int e = mprotect(r, 4096, PROT_READ);
    printf("mprotect unmapped=%d errno=%d\n", e, errno);
    printf("mmap len0 errno=%d\n", mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED ? errno : 0);
    /* Below vm.mmap_min_addr: EPERM as for an unprivileged Linux user (native root may map it). */
    if (getenv("CHECK_MIN_ADDR"))
        printf("mmap fixed low errno=%d\n", mmap((void *)4096, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED ? errno : 0);
    /* read-only page: write faults with SIGSEGV (not tested here); read works */
    char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("ro read=%d\n", ro[100]);
    return 0;
}

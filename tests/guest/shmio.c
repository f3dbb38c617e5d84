/* read/write/pread/pwrite whose user buffer is a MAP_SHARED mapping of the very file being
 * read or written, with overlapping source and destination (the buffer at file offset X, the
 * I/O at offset X +/- d), plus I/O between a shared mapping and another file and through a
 * MAP_SHARED|MAP_ANONYMOUS buffer. Linux copies forward, byte order ascending, page cache to
 * page cache: a destination after its source repeats the first d bytes. Prints the return value
 * and a hash of the file (read with pread into a private buffer) and of the mapping after each
 * case. Usage: shmio DIR (the files are created there and unlinked at once). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE 4096
#define FILE_LEN (4 * PAGE)

static unsigned char pattern[FILE_LEN];
static unsigned char scratch[FILE_LEN];

static unsigned long hash(const unsigned char *b, size_t n) {
    unsigned long h = 1469598103934665603UL;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211UL;
    }
    return h;
}

static int temp_file(const char *dir) {
    char path[512];
    snprintf(path, sizeof path, "%s/shmioXXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("mkstemp");
        exit(1);
    }
    unlink(path);
    return fd;
}

/* Rewrites the whole file with the pattern (through a private buffer). */
static void reset(int fd) {
    if (pwrite(fd, pattern, FILE_LEN, 0) != FILE_LEN) {
        perror("reset");
        exit(1);
    }
    lseek(fd, 0, SEEK_SET);
}

static void report(const char *name, long ret, int fd, const unsigned char *map) {
    struct stat st;
    fstat(fd, &st);
    memset(scratch, 0, sizeof scratch);
    long got = pread(fd, scratch, FILE_LEN, 0);
    printf("%-24s ret=%-5ld size=%-5lld file=%016lx map=%016lx coherent=%d\n", name, ret, (long long)st.st_size,
           hash(scratch, FILE_LEN), hash(map, FILE_LEN), got == FILE_LEN && memcmp(scratch, map, FILE_LEN) == 0);
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    for (int i = 0; i < FILE_LEN; i++) pattern[i] = (unsigned char)(i * 7 + i / 251);
    int fd = temp_file(dir);
    reset(fd);
    unsigned char *p = mmap(NULL, FILE_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    report("start", 0, fd, p);

    /* The file's own mapping as the source of a write to a later offset (forward overlap),
     * to an earlier one, and across a page boundary. */
    reset(fd);
    report("pwrite p -> +100", pwrite(fd, p, 2 * PAGE, 100), fd, p);
    reset(fd);
    report("pwrite p+100 -> 0", pwrite(fd, p + 100, 2 * PAGE, 0), fd, p);
    reset(fd);
    report("pwrite p -> +4196", pwrite(fd, p, 2 * PAGE, PAGE + 100), fd, p);
    reset(fd);
    report("pwrite p+8 -> 0 (3pg)", pwrite(fd, p + 8, 3 * PAGE, 0), fd, p);

    /* The file's own mapping as the destination of a read. */
    reset(fd);
    report("pread 0 -> p+100", pread(fd, p + 100, 2 * PAGE, 0), fd, p);
    reset(fd);
    report("pread +100 -> p", pread(fd, p, 2 * PAGE, 100), fd, p);
    reset(fd);
    report("pread 0 -> p+4196", pread(fd, p + PAGE + 100, 2 * PAGE, 0), fd, p);

    /* write(2)/read(2) at the file offset. */
    reset(fd);
    lseek(fd, PAGE + 50, SEEK_SET);
    report("write p -> +4146", write(fd, p, 6000), fd, p);
    reset(fd);
    lseek(fd, 0, SEEK_SET);
    report("read 0 -> p+4146", read(fd, p + PAGE + 50, 6000), fd, p);
    reset(fd);
    lseek(fd, 300, SEEK_SET);
    report("read +300 -> p", read(fd, p, 3 * PAGE), fd, p);

    /* Between a shared mapping and another file, both ways. */
    reset(fd);
    int other = temp_file(dir);
    long w = write(other, p + 10, 3 * PAGE);
    memset(scratch, 0, sizeof scratch);
    long r = pread(other, scratch, FILE_LEN, 0);
    printf("write map -> other ret=%ld read=%ld data=%016lx\n", w, r, hash(scratch, r > 0 ? r : 0));
    for (int i = 0; i < FILE_LEN; i++) scratch[i] = (unsigned char)(255 - i % 253);
    pwrite(other, scratch, FILE_LEN, 0);
    report("pread other -> p+20", pread(other, p + 20, 2 * PAGE, 5), fd, p);

    /* A MAP_SHARED|MAP_ANONYMOUS buffer. */
    unsigned char *anon = mmap(NULL, FILE_LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    reset(fd);
    long ra = pread(fd, anon, FILE_LEN, 3);
    printf("pread -> anon ret=%ld data=%016lx\n", ra, hash(anon, FILE_LEN));
    report("pwrite anon -> +7", pwrite(fd, anon + 1, FILE_LEN - 8, 7), fd, p);

    munmap(anon, FILE_LEN);
    munmap(p, FILE_LEN);
    close(other);
    close(fd);
    printf("done\n");
    return 0;
}

/* Exercises ext4 extent trees from a guest: a file written out of order (thousands of
 * extents, a tree of depth 2), truncation to several sizes, holes punched, preallocation with
 * fallocate (mode 0 and KEEP_SIZE) written in parts, and a nearly full disk. Every step is
 * checked against a model of the file's bytes; prints "extents ok" at the end.
 * Usage: extents DIR */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BS 4096
static char *model;
static long model_size;

static void die(const char *what) { printf("FAIL %s: %s\n", what, strerror(errno)); exit(1); }

static void check(int fd, const char *step) {
    struct stat st;
    if (fstat(fd, &st)) die("fstat");
    if (st.st_size != model_size) { printf("FAIL %s: size %ld want %ld\n", step, (long)st.st_size, model_size); exit(1); }
    char *buf = malloc(model_size + 1);
    long n = pread(fd, buf, model_size, 0);
    if (n != model_size) { printf("FAIL %s: read %ld\n", step, n); exit(1); }
    for (long i = 0; i < model_size; i++)
        if (buf[i] != model[i]) { printf("FAIL %s: byte %ld is %d want %d\n", step, i, buf[i], model[i]); exit(1); }
    free(buf);
    printf("%s ok\n", step);
}

static void put(int fd, long off, long len, char c) {
    char *b = malloc(len);
    memset(b, c, len);
    if (pwrite(fd, b, len, off) != len) die("pwrite");
    memset(model + off, c, len);
    if (off + len > model_size) model_size = off + len;
    free(b);
}

int main(int argc, char **argv) {
    char path[256];
    snprintf(path, sizeof path, "%s/extents.dat", argc > 1 ? argv[1] : "/tmp");
    long blocks = 6000;
    model = calloc(blocks * BS + BS, 1);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) die("open");
    /* every other block, backwards: each block its own extent, inserted before the others */
    for (long b = blocks - 2; b >= 0; b -= 2) put(fd, b * BS, BS, 'a' + b % 26);
    check(fd, "sparse-backwards");
    for (long b = 1; b < blocks; b += 2) put(fd, b * BS, BS, 'A' + b % 26);
    check(fd, "filled");
    if (fsync(fd)) die("fsync");
    if (ftruncate(fd, 4000L * BS + 123)) die("ftruncate");
    memset(model + 4000L * BS + 123, 0, (blocks - 4000) * BS); model_size = 4000L * BS + 123;
    check(fd, "truncate-down");
    if (ftruncate(fd, 4500L * BS)) die("ftruncate up");
    model_size = 4500L * BS;
    check(fd, "truncate-up");
    put(fd, 4400L * BS + 7, 5000, 'z');
    check(fd, "write-in-hole");
    if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100L * BS + 10, 300L * BS)) die("punch");
    memset(model + 100L * BS + 10, 0, 300L * BS);
    check(fd, "punch");
    if (fallocate(fd, 0, 4500L * BS, 1000L * BS)) die("fallocate");
    model_size = 5500L * BS;
    check(fd, "fallocate");
    if (fallocate(fd, FALLOC_FL_KEEP_SIZE, 5500L * BS, 100L * BS)) die("fallocate keep");
    check(fd, "fallocate-keep-size");
    put(fd, 4700L * BS + 100, 3 * BS, 'q');
    put(fd, 4600L * BS, BS, 'r');
    for (long b = 5000; b < 5200; b++) put(fd, b * BS, BS, 'w');
    check(fd, "write-preallocated");
    if (fsync(fd)) die("fsync2");
    close(fd);
    /* a fragmented file (a tree with several leaves) to be written on a full disk below */
    char fpath[256];
    snprintf(fpath, sizeof fpath, "%s/frag.dat", argc > 1 ? argv[1] : "/tmp");
    long fblocks = 3000;
    char *fmodel = calloc(fblocks * BS, 1);
    int ff = open(fpath, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (ff < 0) die("open frag");
    char blk[BS];
    for (long b = fblocks - 1; b >= 0; b -= 3) {
        memset(blk, 'f', BS);
        if (pwrite(ff, blk, BS, b * BS) != BS) die("pwrite frag");
        memset(fmodel + b * BS, 'f', BS);
    }
    /* a nearly full disk: fill it, expect ENOSPC, then free and check the first file */
    snprintf(path, sizeof path, "%s/filler.dat", argc > 1 ? argv[1] : "/tmp");
    int f2 = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    char *chunk = calloc(1, 1 << 20);
    long wrote = 0; ssize_t n;
    while ((n = write(f2, chunk, 1 << 20)) > 0) wrote += n;
    printf("filler stopped with %s\n", n < 0 ? strerror(errno) : "EOF?");
    /* Fill the fragmented file's holes on the full disk: each needs a block and a new extent
     * (leaves split, the tree rebuilt) until ENOSPC; what was written must read back, nothing
     * else may change. */
    long filled = 0;
    for (long b = 1; b < fblocks; b += 3) {
        memset(blk, 'g', BS);
        if (pwrite(ff, blk, BS, b * BS) != BS) break;
        memset(fmodel + b * BS, 'g', BS);
        filled++;
    }
    char *fb = malloc(fblocks * BS);
    if (pread(ff, fb, fblocks * BS, 0) != fblocks * BS) die("pread frag");
    printf("frag-on-full-disk %s\n", memcmp(fb, fmodel, fblocks * BS) == 0 ? "ok" : "CORRUPT");
    close(ff);
    (void)filled;
    close(f2);
    if (unlink(path)) die("unlink");
    snprintf(path, sizeof path, "%s/extents.dat", argc > 1 ? argv[1] : "/tmp");
    fd = open(path, O_RDONLY);
    check(fd, "after-enospc");
    close(fd);
    printf("extents ok\n");
    return 0;
}

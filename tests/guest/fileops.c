/* File operations on a writable directory: create/write/fsync/rename/unlink/mkdir/rmdir/link/
 * symlink/truncate/chmod, each read back. Output depends only on the operations' results
 * (no absolute paths, owners or times), so it can be compared with a native run.
 *
 *   fileops DIR            work in DIR/fo (created), print every result, leave files to check
 *   fileops --ro DIR       try to write in DIR (expecting EROFS) and read DIR/fo/keep.txt
 *   fileops --synced DIR   write DIR/durable.txt, fsync it, print "synced", sleep */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case 0: return "OK";
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EPERM: return "EPERM";
    case EROFS: return "EROFS";
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case EACCES: return "EACCES";
    case ENOSYS: return "ENOSYS";
    default: return "E?";
    }
}

/* Prints "what: OK" or "what: ENAME" for a call's return value. */
static void check(const char *what, long r) {
    printf("%s: %s\n", what, ename(r < 0 ? errno : 0));
}

static void write_file(const char *p, const char *data, size_t n) {
    int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    check("create", fd);
    printf("write %zd\n", write(fd, data, n));
    check("fsync", fsync(fd));
    check("close", close(fd));
}

static void show_file(const char *p) {
    char buf[256] = {0};
    int fd = open(p, O_RDONLY);
    if (fd < 0) {
        printf("read %s: %s\n", p, ename(errno));
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("read %s %zd: [%s]\n", p, n, buf);
}

static void show_stat(const char *p) {
    struct stat st;
    if (lstat(p, &st) < 0) {
        printf("stat %s: %s\n", p, ename(errno));
        return;
    }
    const char *t = S_ISREG(st.st_mode) ? "reg" : S_ISDIR(st.st_mode) ? "dir" : S_ISLNK(st.st_mode) ? "lnk" : "other";
    printf("stat %s: %s mode=%04o nlink=%lu size=%lld\n", p, t, st.st_mode & 07777,
           (unsigned long)st.st_nlink, S_ISDIR(st.st_mode) ? 0LL : (long long)st.st_size);
}

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

static void list_dir(const char *p) {
    DIR *d = opendir(p);
    if (!d) {
        printf("opendir %s: %s\n", p, ename(errno));
        return;
    }
    char *names[128];
    int k = 0;
    struct dirent *e;
    while ((e = readdir(d)) && k < 128) {
        char s[300];
        snprintf(s, sizeof s, "%s(%s)", e->d_name, e->d_type == DT_DIR ? "d" : e->d_type == DT_LNK ? "l" : e->d_type == DT_REG ? "f" : "?");
        names[k++] = strdup(s);
    }
    closedir(d);
    qsort(names, k, sizeof *names, cmp);
    printf("ls %s:", p);
    for (int i = 0; i < k; i++) printf(" %s", names[i]);
    printf("\n");
}

/* A pattern large enough for double-indirect blocks on a 1 KiB-block ext2. */
static void big_file(void) {
    enum { N = 300000 };
    static char buf[N], back[N];
    for (int i = 0; i < N; i++) buf[i] = (char)(i * 7 + i / 1000);
    int fd = open("big", O_CREAT | O_RDWR | O_TRUNC, 0644);
    printf("big write %zd\n", write(fd, buf, N));
    printf("big pread %zd\n", pread(fd, back, N, 0));
    printf("big same %d\n", memcmp(buf, back, N) == 0);
    check("big ftruncate", ftruncate(fd, 70000));
    check("big ftruncate grow", ftruncate(fd, 1000000));
    char z = 1;
    printf("big hole %zd %d\n", pread(fd, &z, 1, 999999), z);
    close(fd);
    show_stat("big");
    check("unlink big", unlink("big"));
}

static void open_unlinked(void) {
    write_file("tmp", "temporary", 9);
    int fd = open("tmp", O_RDWR);
    check("unlink open file", unlink("tmp"));
    struct stat st;
    fstat(fd, &st);
    printf("fstat unlinked nlink=%lu\n", (unsigned long)st.st_nlink);
    printf("write unlinked %zd\n", pwrite(fd, "!", 1, 9));
    char buf[16] = {0};
    printf("read unlinked %zd [%s]\n", pread(fd, buf, sizeof buf - 1, 0), buf);
    check("close unlinked", close(fd));
    show_stat("tmp");
}

static void names_and_links(void) {
    write_file("a.txt", "hello, ext2\n", 12);
    show_file("a.txt");
    int fd = open("a.txt", O_WRONLY | O_APPEND);
    printf("append %zd\n", write(fd, "more\n", 5));
    close(fd);
    show_file("a.txt");
    check("rename a.txt b.txt", rename("a.txt", "b.txt"));
    show_stat("a.txt");
    check("link b.txt c.txt", link("b.txt", "c.txt"));
    show_stat("b.txt");
    check("symlink", symlink("b.txt", "s"));
    char t[64] = {0};
    printf("readlink %zd [%s]\n", readlink("s", t, sizeof t - 1), t);
    show_stat("s");
    show_file("s");
    check("truncate c.txt", truncate("c.txt", 5));
    show_file("b.txt");
    check("chmod b.txt", chmod("b.txt", 0600));
    show_stat("c.txt");
    check("unlink c.txt", unlink("c.txt"));
    show_stat("b.txt");
    write_file("x", "from x", 6);
    write_file("y", "from y", 6);
    check("rename x over y", rename("x", "y"));
    show_file("y");
    show_stat("x");
}

static void directories(void) {
    check("mkdir d1", mkdir("d1", 0755));
    check("mkdir d1/sub", mkdir("d1/sub", 0700));
    check("mkdir d2", mkdir("d2", 0755));
    show_stat("d1");
    check("rmdir d1 (not empty)", rmdir("d1"));
    check("rename d1/sub d2/sub", rename("d1/sub", "d2/sub"));
    show_stat("d1");
    show_stat("d2");
    show_stat("d2/sub");
    check("rmdir d2/sub", rmdir("d2/sub"));
    check("rmdir d1", rmdir("d1"));
    show_stat("d2");
    check("mkdir existing", mkdir("d2", 0755));
    check("rmdir file", rmdir("y"));
    check("unlink dir", unlink("d2"));
    check("link dir", link("d2", "d3"));
    check("open excl", open("y", O_CREAT | O_EXCL | O_WRONLY, 0644));
    check("open dir for writing", open("d2", O_WRONLY));
    check("rename dir over file", rename("d2", "y"));
}

static void keep_for_host(void) {
    check("mkdir dir", mkdir("dir", 0755));
    write_file("keep.txt", "kept for debugfs\n", 17);
    write_file("dir/nested.txt", "nested data\n", 12);
    check("symlink keep.lnk", symlink("keep.txt", "keep.lnk"));
    /* No fsync: umbra must write this back when it exits. */
    int fd = open("tail.txt", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    printf("tail write %zd\n", write(fd, "written back at exit\n", 21));
    check("tail close", close(fd));
    list_dir(".");
    list_dir("dir");
}

static int ro_mode(const char *dir) {
    if (chdir(dir) < 0) return 1;
    check("ro create", open("new.txt", O_CREAT | O_WRONLY, 0644));
    check("ro open for writing", open("fo/keep.txt", O_WRONLY));
    check("ro mkdir", mkdir("newdir", 0755));
    check("ro unlink", unlink("fo/keep.txt"));
    check("ro rename", rename("fo/keep.txt", "fo/other"));
    check("ro chmod", chmod("fo/keep.txt", 0600));
    check("ro symlink", symlink("x", "fo/sym"));
    show_file("fo/keep.txt");
    return 0;
}

static int synced_mode(const char *dir) {
    if (chdir(dir) < 0) return 1;
    int fd = open("durable.txt", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0 || write(fd, "durable after SIGKILL\n", 22) != 22 || fsync(fd) < 0) return 2;
    printf("synced\n");
    fflush(stdout);
    sleep(60);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--ro") == 0) return ro_mode(argv[2]);
    if (argc == 3 && strcmp(argv[1], "--synced") == 0) return synced_mode(argv[2]);
    if (argc != 2 || chdir(argv[1]) < 0) return 1;
    umask(022);
    check("mkdir fo", mkdir("fo", 0755));
    check("chdir fo", chdir("fo"));
    names_and_links();
    open_unlinked();
    big_file();
    directories();
    keep_for_host();
    printf("done\n");
    return 0;
}

/* Extended attributes and POSIX ACLs through the raw syscalls, in directory argv[1]: values,
 * flags, limits and errnos, namespaces, symlinks/FIFOs/pipes, the fd and *xattrat forms, ACL
 * formats, mode updates, chmod, inheritance, and an unprivileged user (uid 1000) checked by
 * the namespace rules and by ACLs. Output is the same on every filesystem that keeps
 * xattrs and ACLs (tmpfs, ext2, ext4), so it is compared with a native run.
 * "share" leaves files for the ext2 tests to inspect: s1 and s2 with the same attributes (one
 * shared block), s3 changed after sharing (its own copy), s4 emptied, s2 then unlinked.
 * Usage: xattr DIR [all|basic|acl|user|share] */
#define _GNU_SOURCE
/* Bad pointers and sizes are passed on purpose. */
#pragma GCC diagnostic ignored "-Wnonnull"
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#pragma GCC diagnostic ignored "-Wstringop-overread"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#ifndef SYS_setxattrat
#define SYS_setxattrat 463
#define SYS_getxattrat 464
#define SYS_listxattrat 465
#define SYS_removexattrat 466
#endif

struct xargs {
    uint64_t value;
    uint32_t size;
    uint32_t flags;
};

static const char *ename(int e) {
    switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EBADF: return "EBADF";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EINVAL: return "EINVAL";
    case ENOSPC: return "ENOSPC";
    case EROFS: return "EROFS";
    case ERANGE: return "ERANGE";
    case E2BIG: return "E2BIG";
    case ENODATA: return "ENODATA";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ENOSYS: return "ENOSYS";
    default: return "E?";
    }
}

/* Prints "label: N" for a success or "label: ERRNO". */
static long show(const char *label, long r) {
    if (r < 0)
        printf("%s: %s\n", label, ename(errno));
    else
        printf("%s: %ld\n", label, r);
    return r;
}

static char dir[4096];

/* DIR/name (allocated, never freed: the program is short-lived). */
static const char *at(const char *name) {
    char *p;
    if (asprintf(&p, "%s/%s", dir, name) < 0)
        exit(2);
    return p;
}

static void make_file(const char *name, mode_t mode) {
    unlink(at(name));
    int fd = open(at(name), O_CREAT | O_WRONLY | O_TRUNC, mode);
    if (fd < 0) {
        perror(name);
        exit(2);
    }
    close(fd);
    chmod(at(name), mode);
}

/* Prints a value read back: its length and bytes (escaped). */
static void show_value(const char *label, const char *path, const char *name) {
    char buf[70000];
    ssize_t n = getxattr(path, name, buf, sizeof buf);
    if (n < 0) {
        printf("%s: %s\n", label, ename(errno));
        return;
    }
    printf("%s: %zd \"", label, n);
    for (ssize_t i = 0; i < n && i < 40; i++)
        printf(buf[i] >= 32 && buf[i] < 127 ? "%c" : "\\x%02x", (unsigned char)buf[i]);
    printf("\"\n");
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Prints the sorted names of a listxattr buffer. */
static void print_names(const char *label, char *buf, ssize_t n) {
    char *names[256];
    int count = 0;
    for (ssize_t i = 0; i < n && count < 256; i += strlen(buf + i) + 1)
        names[count++] = buf + i;
    qsort(names, count, sizeof names[0], cmp_str);
    printf("%s: %d [", label, count);
    for (int i = 0; i < count; i++)
        printf("%s%s", i ? " " : "", names[i]);
    printf("]\n");
}

static void show_list(const char *label, const char *path, int follow) {
    char buf[70000];
    ssize_t n = follow ? listxattr(path, buf, sizeof buf) : llistxattr(path, buf, sizeof buf);
    if (n < 0) {
        printf("%s: %s\n", label, ename(errno));
        return;
    }
    print_names(label, buf, n);
}

/* An ACL in the xattr format from "tag perm id" triples. */
struct ace {
    uint16_t tag, perm;
    uint32_t id;
};

static size_t acl_bytes(char *out, const struct ace *e, int n, uint32_t version) {
    memcpy(out, &version, 4);
    for (int i = 0; i < n; i++) {
        memcpy(out + 4 + 8 * i, &e[i].tag, 2);
        memcpy(out + 6 + 8 * i, &e[i].perm, 2);
        memcpy(out + 8 + 8 * i, &e[i].id, 4);
    }
    return 4 + 8 * (size_t)n;
}

#define U 0xffffffffu
#define UO 0x01
#define NU 0x02
#define GO 0x04
#define NG 0x08
#define MK 0x10
#define OT 0x20

static long set_acl(const char *path, const char *name, const struct ace *e, int n) {
    char buf[512];
    size_t len = acl_bytes(buf, e, n, 2);
    return setxattr(path, name, buf, len, 0);
}

/* Prints an ACL read back as "tag:id:perm" entries. */
static void show_acl(const char *label, const char *path, const char *name) {
    char buf[1024];
    ssize_t n = getxattr(path, name, buf, sizeof buf);
    if (n < 0) {
        printf("%s: %s\n", label, ename(errno));
        return;
    }
    uint32_t version;
    memcpy(&version, buf, 4);
    printf("%s: v%u", label, version);
    for (ssize_t off = 4; off + 8 <= n; off += 8) {
        uint16_t tag, perm;
        uint32_t id;
        memcpy(&tag, buf + off, 2);
        memcpy(&perm, buf + off + 2, 2);
        memcpy(&id, buf + off + 4, 4);
        printf(" %x:%d:%o", tag, id == U ? -1 : (int)id, perm);
    }
    printf("\n");
}

static void show_mode(const char *label, const char *path) {
    struct stat st;
    if (lstat(path, &st) < 0)
        printf("%s: %s\n", label, ename(errno));
    else
        printf("%s: %o\n", label, st.st_mode & 07777);
}

static void basic(void) {
    const char *f = at("f");
    make_file("f", 0644);
    char buf[256];
    show("set", setxattr(f, "user.a", "hello", 5, 0));
    show("get size 0", getxattr(f, "user.a", NULL, 0));
    show("get small", getxattr(f, "user.a", buf, 3));
    show_value("get", f, "user.a");
    show("create existing", setxattr(f, "user.a", "x", 1, XATTR_CREATE));
    show("replace missing", setxattr(f, "user.b", "x", 1, XATTR_REPLACE));
    show("both flags existing", setxattr(f, "user.a", "x", 1, XATTR_CREATE | XATTR_REPLACE));
    show("both flags missing", setxattr(f, "user.b", "x", 1, XATTR_CREATE | XATTR_REPLACE));
    show("bad flags", setxattr(f, "user.a", "x", 1, 4));
    show("replace", setxattr(f, "user.a", "world!", 6, XATTR_REPLACE));
    show_value("get replaced", f, "user.a");
    show("create new", setxattr(f, "user.b", "", 0, XATTR_CREATE));
    show_value("get empty", f, "user.b");
    show("null value size 0", setxattr(f, "user.c", NULL, 0, 0));
    show("null value size 1", setxattr(f, "user.c", NULL, 1, 0));
    show("get missing", getxattr(f, "user.zz", buf, sizeof buf));
    show("remove missing", removexattr(f, "user.zz"));
    show("remove", removexattr(f, "user.c"));
    show("get removed", getxattr(f, "user.c", buf, sizeof buf));

    /* names and sizes */
    char name[300];
    memset(name, 'n', sizeof name);
    memcpy(name, "user.", 5);
    name[255] = 0;
    show("name 255", setxattr(f, name, "v", 1, 0));
    show("get name 255", getxattr(f, name, buf, sizeof buf));
    show("remove name 255", removexattr(f, name));
    name[255] = 'n';
    name[256] = 0;
    show("name 256", setxattr(f, name, "v", 1, 0));
    show("get name 256", getxattr(f, name, buf, sizeof buf));
    show("empty name", setxattr(f, "", "v", 1, 0));
    show("get empty name", getxattr(f, "", buf, sizeof buf));
    show("null name", setxattr(f, NULL, "v", 1, 0));
    static char big[65537];
    show("value 65537", setxattr(f, "user.big", big, sizeof big, 0));
    show("value 65537 bad flags", setxattr(f, "user.big", big, sizeof big, 8));
    show("bare prefix", setxattr(f, "user.", "v", 1, 0));
    show("get bare prefix", getxattr(f, "user.", buf, sizeof buf));
    show("bare trusted", setxattr(f, "trusted.", "v", 1, 0));
    show("unknown prefix", setxattr(f, "foo.bar", "v", 1, 0));
    show("get unknown prefix", getxattr(f, "foo.bar", buf, sizeof buf));
    show("system other", setxattr(f, "system.foo", "v", 1, 0));
    show("get system other", getxattr(f, "system.foo", buf, sizeof buf));
    show("remove unknown", removexattr(f, "foo.bar"));
    show("trusted set", setxattr(f, "trusted.t", "tv", 2, 0));
    show_value("trusted get", f, "trusted.t");
    show("security set", setxattr(f, "security.s", "sv", 2, 0));
    show_value("security get", f, "security.s");
    show("caps bad", setxattr(f, "security.capability", "xx", 2, 0));
    show("missing file", getxattr(at("nope"), "user.a", buf, sizeof buf));
    show("missing file bad name", getxattr(at("nope"), "", buf, sizeof buf));
    show("missing file set", setxattr(at("nope"), "user.a", "v", 1, 0));
    show("bad path pointer", getxattr((char *)8, "user.a", buf, sizeof buf));
    show("bad value pointer", getxattr(f, "user.a", (char *)8, 100));
    show("bad set value pointer", setxattr(f, "user.a", (char *)8, 4, 0));

    /* listing */
    show("list size 0", listxattr(f, NULL, 0));
    show("list small", listxattr(f, buf, 5));
    show_list("list", f, 1);

    /* a directory */
    mkdir(at("d"), 0755);
    show("dir set", setxattr(at("d"), "user.d", "dv", 2, 0));
    show_value("dir get", at("d"), "user.d");

    /* symlinks and special files */
    unlink(at("l"));
    symlink("f", at("l"));
    show("lset user on link", lsetxattr(at("l"), "user.x", "v", 1, 0));
    show("lget user on link", lgetxattr(at("l"), "user.x", buf, sizeof buf));
    show("lset trusted on link", lsetxattr(at("l"), "trusted.x", "v", 1, 0));
    show_list("llist link", at("l"), 0);
    show("lget acl on link", lgetxattr(at("l"), "system.posix_acl_access", buf, sizeof buf));
    show("lremove acl on link", lremovexattr(at("l"), "system.posix_acl_access"));
    show("lset acl on link", lsetxattr(at("l"), "system.posix_acl_access", "\2\0\0\0", 4, 0));
    show("lremove trusted on link", lremovexattr(at("l"), "trusted.x"));
    show("set through link", setxattr(at("l"), "user.viaLink", "v", 1, 0));
    show("get through link", getxattr(at("l"), "user.viaLink", buf, sizeof buf));
    show("remove through link", removexattr(at("l"), "user.viaLink"));
    unlink(at("p"));
    mkfifo(at("p"), 0644);
    show("fifo user set", setxattr(at("p"), "user.x", "v", 1, 0));
    show("fifo user get", getxattr(at("p"), "user.x", buf, sizeof buf));
    show("fifo trusted set", setxattr(at("p"), "trusted.x", "v", 1, 0));
    show("fifo trusted remove", removexattr(at("p"), "trusted.x"));

    /* file descriptors */
    int fd = open(f, O_RDONLY);
    show("fset", fsetxattr(fd, "user.fd", "fv", 2, 0));
    show("fget", fgetxattr(fd, "user.fd", buf, sizeof buf));
    show("flist size 0", flistxattr(fd, NULL, 0));
    show("fremove", fremovexattr(fd, "user.fd"));
    show("fget removed", fgetxattr(fd, "user.fd", buf, sizeof buf));
    close(fd);
    show("fget bad fd", fgetxattr(-1, "user.fd", buf, sizeof buf));
    show("fget bad fd bad name", fgetxattr(-1, "", buf, sizeof buf));
    show("fset bad fd", fsetxattr(99, "user.fd", "v", 1, 0));
    show("flist bad fd", flistxattr(99, buf, sizeof buf));
    int pfd[2];
    if (pipe(pfd) == 0) {
        show("pipe fget user", fgetxattr(pfd[0], "user.x", buf, sizeof buf));
        show("pipe fset user", fsetxattr(pfd[0], "user.x", "v", 1, 0));
        show("pipe fset trusted", fsetxattr(pfd[0], "trusted.x", "v", 1, 0));
        show("pipe flist", flistxattr(pfd[0], buf, sizeof buf));
        show("pipe fget acl", fgetxattr(pfd[0], "system.posix_acl_access", buf, sizeof buf));
        show("pipe fget security", fgetxattr(pfd[0], "security.x", buf, sizeof buf));
        close(pfd[0]);
        close(pfd[1]);
    }

    /* the *xattrat family */
    struct xargs a = { (uint64_t)(uintptr_t) "atv", 3, 0 };
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    show("setxattrat", syscall(SYS_setxattrat, dfd, "f", 0, "user.at", &a, sizeof a));
    char vbuf[16] = { 0 };
    struct xargs g = { (uint64_t)(uintptr_t)vbuf, sizeof vbuf, 0 };
    show("getxattrat", syscall(SYS_getxattrat, dfd, "f", 0, "user.at", &g, sizeof g));
    printf("getxattrat value: %s\n", vbuf);
    g.flags = 1;
    show("getxattrat flags", syscall(SYS_getxattrat, dfd, "f", 0, "user.at", &g, sizeof g));
    g.flags = 0;
    show("getxattrat short args", syscall(SYS_getxattrat, dfd, "f", 0, "user.at", &g, 8));
    char bigargs[32] = { 0 };
    memcpy(bigargs, &g, sizeof g);
    show("getxattrat long zero args", syscall(SYS_getxattrat, dfd, "f", 0, "user.at", bigargs, sizeof bigargs));
    bigargs[20] = 1;
    show("getxattrat long dirty args", syscall(SYS_getxattrat, dfd, "f", 0, "user.at", bigargs, sizeof bigargs));
    show("getxattrat bad at_flags", syscall(SYS_getxattrat, dfd, "f", 0x4000, "user.at", &g, sizeof g));
    int ffd = open(f, O_RDONLY);
    show("getxattrat empty path", syscall(SYS_getxattrat, ffd, "", AT_EMPTY_PATH, "user.at", &g, sizeof g));
    show("getxattrat null path", syscall(SYS_getxattrat, ffd, NULL, AT_EMPTY_PATH, "user.at", &g, sizeof g));
    show("getxattrat empty path no flag", syscall(SYS_getxattrat, ffd, "", 0, "user.at", &g, sizeof g));
    show("listxattrat size 0", syscall(SYS_listxattrat, dfd, "f", 0, NULL, 0));
    show("listxattrat nofollow link", syscall(SYS_listxattrat, dfd, "l", AT_SYMLINK_NOFOLLOW, NULL, 0));
    show("removexattrat", syscall(SYS_removexattrat, dfd, "f", 0, "user.at"));
    show("removexattrat again", syscall(SYS_removexattrat, dfd, "f", 0, "user.at"));
    a.flags = 4;
    show("setxattrat bad flags", syscall(SYS_setxattrat, dfd, "f", 0, "user.at", &a, sizeof a));
    close(ffd);
    close(dfd);
    show_list("final list", f, 1);
}

static void acl(void) {
    const char *f = at("af");
    make_file("af", 0644);
    char buf[512];
    struct ace full[] = { { UO, 6, U }, { NU, 7, 1000 }, { GO, 4, U }, { NG, 6, 2000 }, { MK, 6, U }, { OT, 0, U } };
    show("acl set", set_acl(f, "system.posix_acl_access", full, 6));
    show_mode("acl mode", f);
    show_acl("acl get", f, "system.posix_acl_access");
    show("acl get size 0", getxattr(f, "system.posix_acl_access", NULL, 0));
    show("acl get small", getxattr(f, "system.posix_acl_access", buf, 10));
    show_list("acl list", f, 1);
    show("chmod", chmod(f, 0751));
    show_mode("chmod mode", f);
    show_acl("chmod acl", f, "system.posix_acl_access");
    struct ace minimal[] = { { UO, 7, U }, { GO, 5, U }, { OT, 4, U } };
    show("acl minimal", set_acl(f, "system.posix_acl_access", minimal, 3));
    show_mode("minimal mode", f);
    show_acl("minimal get", f, "system.posix_acl_access");
    struct ace masked[] = { { UO, 6, U }, { GO, 6, U }, { MK, 4, U }, { OT, 4, U } };
    show("acl mask only", set_acl(f, "system.posix_acl_access", masked, 4));
    show_mode("mask only mode", f);
    show_acl("mask only get", f, "system.posix_acl_access");
    show("acl remove", removexattr(f, "system.posix_acl_access"));
    show_mode("removed mode", f);
    show("acl remove again", removexattr(f, "system.posix_acl_access"));
    show("acl get removed", getxattr(f, "system.posix_acl_access", buf, sizeof buf));
    show("acl create flag", setxattr(f, "system.posix_acl_access", buf, acl_bytes(buf, full, 6, 2), XATTR_CREATE));
    show("acl create flag again", setxattr(f, "system.posix_acl_access", buf, acl_bytes(buf, full, 6, 2), XATTR_CREATE));
    show("acl empty value removes", setxattr(f, "system.posix_acl_access", "", 0, 0));
    show("acl get after empty", getxattr(f, "system.posix_acl_access", buf, sizeof buf));
    show("acl header only", setxattr(f, "system.posix_acl_access", buf, acl_bytes(buf, full, 0, 2), 0));
    struct ace nomask[] = { { UO, 6, U }, { NU, 7, 1000 }, { GO, 4, U }, { OT, 0, U } };
    show("acl no mask", set_acl(f, "system.posix_acl_access", nomask, 4));
    struct ace order[] = { { GO, 4, U }, { UO, 6, U }, { OT, 0, U } };
    show("acl bad order", set_acl(f, "system.posix_acl_access", order, 3));
    struct ace perm[] = { { UO, 8, U }, { GO, 4, U }, { OT, 0, U } };
    show("acl bad perm", set_acl(f, "system.posix_acl_access", perm, 3));
    struct ace tag[] = { { UO, 6, U }, { 0x40, 4, U }, { OT, 0, U } };
    show("acl bad tag", set_acl(f, "system.posix_acl_access", tag, 3));
    struct ace undef[] = { { UO, 6, U }, { NU, 6, U }, { GO, 4, U }, { MK, 6, U }, { OT, 0, U } };
    show("acl undefined id", set_acl(f, "system.posix_acl_access", undef, 5));
    show("acl bad version", setxattr(f, "system.posix_acl_access", buf, acl_bytes(buf, minimal, 3, 1), 0));
    show("acl ragged", setxattr(f, "system.posix_acl_access", buf, acl_bytes(buf, minimal, 3, 2) - 1, 0));
    show("acl tiny", setxattr(f, "system.posix_acl_access", "\2\0", 2, 0));
    show("default on file", set_acl(f, "system.posix_acl_default", minimal, 3));
    show("remove default on file", removexattr(f, "system.posix_acl_default"));
    show("get default on file", getxattr(f, "system.posix_acl_default", buf, sizeof buf));
    show_mode("file mode after errors", f);

    /* a default ACL is inherited, and the umask is then ignored */
    const char *d = at("ad");
    mkdir(d, 0755);
    struct ace dflt[] = { { UO, 7, U }, { NU, 7, 1000 }, { GO, 5, U }, { MK, 7, U }, { OT, 5, U } };
    show("default set", set_acl(d, "system.posix_acl_default", dflt, 5));
    show_acl("default get", d, "system.posix_acl_default");
    show_mode("dir mode unchanged", d);
    show_list("dir list", d, 1);
    mode_t old = umask(077);
    int fd = open(at("ad/new"), O_CREAT | O_WRONLY, 0666);
    close(fd);
    mkdir(at("ad/sub"), 0777);
    mknod(at("ad/fifo"), S_IFIFO | 0640, 0);
    symlink("new", at("ad/link"));
    int tmp = open(d, O_TMPFILE | O_RDWR, 0666);
    umask(old);
    char tmp_path[64];
    snprintf(tmp_path, sizeof tmp_path, "/proc/self/fd/%d", tmp);
    struct stat tst;
    if (fstat(tmp, &tst) < 0)
        printf("inherited O_TMPFILE mode: %s\n", ename(errno));
    else
        printf("inherited O_TMPFILE mode: %o\n", tst.st_mode & 07777);
    show_acl("inherited O_TMPFILE acl", tmp_path, "system.posix_acl_access");
    close(tmp);
    show_mode("inherited file mode", at("ad/new"));
    show_acl("inherited file acl", at("ad/new"), "system.posix_acl_access");
    show("inherited file default", getxattr(at("ad/new"), "system.posix_acl_default", buf, sizeof buf));
    show_mode("inherited dir mode", at("ad/sub"));
    show_acl("inherited dir acl", at("ad/sub"), "system.posix_acl_access");
    show_acl("inherited dir default", at("ad/sub"), "system.posix_acl_default");
    show_mode("inherited fifo mode", at("ad/fifo"));
    show_acl("inherited fifo acl", at("ad/fifo"), "system.posix_acl_access");
    show_mode("inherited link mode", at("ad/link"));
    show_list("inherited link list", at("ad/link"), 0);
    /* a default ACL equivalent to mode bits: no access ACL, mode restricted by it */
    const char *d2 = at("ad2");
    mkdir(d2, 0755);
    struct ace plain[] = { { UO, 7, U }, { GO, 5, U }, { OT, 0, U } };
    show("plain default set", set_acl(d2, "system.posix_acl_default", plain, 3));
    old = umask(0);
    fd = open(at("ad2/new"), O_CREAT | O_WRONLY, 0666);
    close(fd);
    umask(old);
    show_mode("plain inherited mode", at("ad2/new"));
    show("plain inherited acl", getxattr(at("ad2/new"), "system.posix_acl_access", buf, sizeof buf));
    show("default remove", removexattr(d2, "system.posix_acl_default"));
    old = umask(027);
    fd = open(at("ad2/new2"), O_CREAT | O_WRONLY, 0666);
    close(fd);
    umask(old);
    show_mode("umask mode after removal", at("ad2/new2"));
}

/* Runs `body` in a child that dropped to uid/gid 1000 and no supplementary groups. */
static void as_user(void (*body)(void)) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (setgroups(0, NULL) || setgid(1000) || setuid(1000)) {
            perror("dropping privileges");
            _exit(2);
        }
        body();
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("child exit: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

static void user_body(void) {
    char buf[512];
    int pfd[2];
    if (pipe(pfd) == 0) {
        show("user pipe fset security", fsetxattr(pfd[0], "security.x", "v", 1, 0));
        show("user pipe fset trusted", fsetxattr(pfd[0], "trusted.x", "v", 1, 0));
        show("user pipe fget trusted", fgetxattr(pfd[0], "trusted.x", buf, sizeof buf));
        close(pfd[0]);
        close(pfd[1]);
    }
    const char *f = at("uf");
    show("user trusted get", getxattr(f, "trusted.t", buf, sizeof buf));
    show("user trusted set", setxattr(f, "trusted.t", "v", 1, 0));
    show("user trusted remove", removexattr(f, "trusted.t"));
    show_value("user security get", f, "security.s");
    show("user security set", setxattr(f, "security.s", "v", 1, 0));
    show("user security remove", removexattr(f, "security.s"));
    uint32_t caps[5] = { 0x02000000, 0, 0, 0, 0 };
    show("user caps set", setxattr(f, "security.capability", caps, sizeof caps, 0));
    show_list("user list", f, 1);
    show_value("user read 0644", f, "user.u");
    show("user write 0644", setxattr(f, "user.u", "v", 1, 0));
    show("user remove 0644", removexattr(f, "user.u"));
    show("user read 0600", getxattr(at("uprivate"), "user.u", buf, sizeof buf));
    show("user list 0600", listxattr(at("uprivate"), NULL, 0));
    show("user write 0666", setxattr(at("uopen"), "user.u", "w", 1, 0));
    show("user sticky dir write", setxattr(at("usticky"), "user.u", "w", 1, 0));
    show("user sticky dir read", getxattr(at("usticky"), "user.u", buf, sizeof buf));
    show_acl("user reads acl", at("uacl"), "system.posix_acl_access");
    struct ace mine[] = { { UO, 7, U }, { GO, 7, U }, { OT, 7, U } };
    show("user sets acl on root file", set_acl(at("uacl"), "system.posix_acl_access", mine, 3));
    show("user removes acl on root file", removexattr(at("uacl"), "system.posix_acl_access"));
    /* permission through ACL entries */
    int fd = open(at("uacl"), O_RDWR);
    show("acl grants rw", fd);
    if (fd >= 0)
        close(fd);
    show("acl grants user xattr write", setxattr(at("uacl"), "user.byacl", "v", 1, 0));
    fd = open(at("umask"), O_RDWR);
    show("mask limits to r", fd);
    if (fd >= 0)
        close(fd);
    fd = open(at("umask"), O_RDONLY);
    show("mask allows r", fd);
    if (fd >= 0)
        close(fd);
    fd = open(at("ugroup"), O_RDONLY);
    show("other group entry", fd);
    if (fd >= 0)
        close(fd);
    fd = open(at("uacldir/mine"), O_CREAT | O_WRONLY, 0600);
    show("create in acl dir", fd);
    if (fd >= 0)
        close(fd);
    show("user owns new file acl", set_acl(at("uacldir/mine"), "system.posix_acl_access", mine, 3));
    show_mode("user file mode", at("uacldir/mine"));
    show("walk denied by acl", open(at("udeny/x"), O_RDONLY));
    show("access R_OK by acl", access(at("uacl"), R_OK));
    show("access X_OK by acl", access(at("uacl"), X_OK));
}

static void user(void) {
    const char *f = at("uf");
    make_file("uf", 0644);
    setxattr(f, "trusted.t", "tv", 2, 0);
    setxattr(f, "security.s", "sv", 2, 0);
    setxattr(f, "user.u", "uv", 2, 0);
    make_file("uprivate", 0600);
    setxattr(at("uprivate"), "user.u", "uv", 2, 0);
    make_file("uopen", 0666);
    mkdir(at("usticky"), 01777);
    chmod(at("usticky"), 01777);
    setxattr(at("usticky"), "user.u", "uv", 2, 0);
    make_file("uacl", 0600);
    struct ace grant[] = { { UO, 6, U }, { NU, 6, 1000 }, { GO, 0, U }, { MK, 6, U }, { OT, 0, U } };
    show("grant set", set_acl(at("uacl"), "system.posix_acl_access", grant, 5));
    make_file("umask", 0600);
    struct ace limited[] = { { UO, 6, U }, { NU, 7, 1000 }, { GO, 0, U }, { MK, 4, U }, { OT, 0, U } };
    show("limited set", set_acl(at("umask"), "system.posix_acl_access", limited, 5));
    make_file("ugroup", 0604);
    struct ace group[] = { { UO, 6, U }, { GO, 0, U }, { NG, 6, 2000 }, { MK, 6, U }, { OT, 4, U } };
    show("group set", set_acl(at("ugroup"), "system.posix_acl_access", group, 5));
    mkdir(at("uacldir"), 0700);
    chmod(at("uacldir"), 0700);
    struct ace dirgrant[] = { { UO, 7, U }, { NU, 7, 1000 }, { GO, 0, U }, { MK, 7, U }, { OT, 0, U } };
    show("dir grant set", set_acl(at("uacldir"), "system.posix_acl_access", dirgrant, 5));
    mkdir(at("udeny"), 0755);
    chmod(at("udeny"), 0755);
    make_file("udeny/x", 0644);
    struct ace deny[] = { { UO, 7, U }, { NU, 0, 1000 }, { GO, 5, U }, { MK, 5, U }, { OT, 5, U } };
    show("deny set", set_acl(at("udeny"), "system.posix_acl_access", deny, 5));
    as_user(user_body);
    show_list("root list", f, 1);
}

static void share(void) {
    const char *names[] = { "s1", "s2", "s3", "s4" };
    for (int i = 0; i < 4; i++) {
        make_file(names[i], 0644);
        show("share set k", setxattr(at(names[i]), "user.k", "shared value", 12, 0));
        show("share set k2", setxattr(at(names[i]), "user.k2", "v2", 2, 0));
    }
    show("share change s3", setxattr(at("s3"), "user.k", "changed", 7, 0));
    show("share empty s4 k", removexattr(at("s4"), "user.k"));
    show("share empty s4 k2", removexattr(at("s4"), "user.k2"));
    show("share unlink s2", unlink(at("s2")));
    show_value("share s1", at("s1"), "user.k");
    show_value("share s3", at("s3"), "user.k");
    show_list("share s4", at("s4"), 1);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: xattr DIR [all|basic|acl|user|share]\n");
        return 2;
    }
    snprintf(dir, sizeof dir, "%s/xt", argv[1]);
    mkdir(dir, 0755);
    chmod(dir, 0755);
    umask(022);
    const char *what = argc > 2 ? argv[2] : "all";
    int all = !strcmp(what, "all");
    if (all || !strcmp(what, "basic"))
        basic();
    if (all || !strcmp(what, "acl"))
        acl();
    if (all || !strcmp(what, "user"))
        user();
    if (!strcmp(what, "share"))
        share();
    return 0;
}

/* Mount options (the Debian-system issue, item 5): tmpfs size=/nr_inodes=/mode=/uid=/gid=,
 * remount,ro, bind and bind-remount-ro, noexec, nodev, nosuid, and what mountinfo shows.
 * Runs as root with a scratch directory argv[1]; natively under `unshare -m`. Output must match. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static char base[256];

static const char *at(const char *rel) {
    static char buf[4][512];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", base, rel);
    return buf[i];
}

#define SHOW(label, expr) do { errno = 0; long r_ = (long)(expr); printf("%s: %ld errno %d\n", label, r_ < 0 ? -1L : r_, r_ < 0 ? errno : 0); } while (0)

/* The per-mount options and the super options of the mount at `rel`, without inode64. */
static void show_mountinfo(const char *rel) {
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[1024];
    const char *target = at(rel);
    while (f && fgets(line, sizeof line, f)) {
        char root[512], mp[512], opts[256], fstype[64], src[256], sb[256];
        if (sscanf(line, "%*d %*d %*s %511s %511s %255s", root, mp, opts) != 3 || strcmp(mp, target))
            continue;
        char *dash = strstr(line, " - ");
        if (!dash || sscanf(dash, " - %63s %255s %255s", fstype, src, sb) != 3)
            continue;
        char *i64 = strstr(sb, ",inode64");
        if (i64)
            memmove(i64, i64 + 8, strlen(i64 + 8) + 1);
        printf("mountinfo %s: root %s %s - %s %s\n", rel, root, opts, fstype, sb);
    }
    if (f)
        fclose(f);
}

/* open(2) and close at once: 0 or -1 with errno kept. */
static int open_close(const char *path, int flags) {
    int fd = open(path, flags, 0644);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

static void copy_self(const char *dst) {
    int in = open("/proc/self/exe", O_RDONLY), out = open(dst, O_CREAT | O_WRONLY | O_TRUNC, 0755);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, n) != n)
            break;
    close(in);
    close(out);
}

static int try_exec(const char *path) {
    pid_t p = fork();
    if (p == 0) {
        execl(path, path, "--exit", NULL);
        _exit(100 + errno);
    }
    int st;
    waitpid(p, &st, 0);
    return WEXITSTATUS(st);
}

static void tmpfs_limits(void) {
    struct stat st;
    struct statvfs sv;
    mkdir(at("t"), 0755);
    SHOW("mount tmpfs bad option", mount("tmpfs", at("t"), "tmpfs", 0, "bogus=1"));
    SHOW("mount tmpfs", mount("tmpfs", at("t"), "tmpfs", 0, "size=64k,nr_inodes=4,mode=710,uid=7,gid=8"));
    stat(at("t"), &st);
    printf("root mode %o uid %d gid %d\n", st.st_mode, st.st_uid, st.st_gid);
    statvfs(at("t"), &sv);
    printf("statvfs blocks %lu bsize %lu files %lu\n", sv.f_blocks, sv.f_bsize, sv.f_files);
    int fd = open(at("t/big"), O_CREAT | O_WRONLY, 0644);
    char *buf = calloc(1, 100000);
    long total = 0;
    for (;;) {
        ssize_t n = write(fd, buf, 4096);
        if (n <= 0) {
            printf("write stopped after %ld bytes errno %d\n", total, errno);
            break;
        }
        total += n;
    }
    close(fd);
    SHOW("create 2", open_close(at("t/f2"), O_CREAT | O_WRONLY));
    SHOW("create 3", open_close(at("t/f3"), O_CREAT | O_WRONLY));
    SHOW("create 4", open_close(at("t/f4"), O_CREAT | O_WRONLY));
    SHOW("mkdir 4", mkdir(at("t/d4"), 0755));
    show_mountinfo("t");
    SHOW("remount ro", mount("none", at("t"), NULL, MS_REMOUNT | MS_RDONLY, NULL));
    SHOW("create on ro", open_close(at("t/f5"), O_CREAT | O_WRONLY));
    SHOW("write open on ro", open_close(at("t/f2"), O_WRONLY));
    SHOW("unlink on ro", unlink(at("t/f2")));
    show_mountinfo("t");
    SHOW("remount rw", mount("none", at("t"), NULL, MS_REMOUNT, NULL));
    SHOW("unlink on rw", unlink(at("t/f2")));
    SHOW("umount", umount(at("t")));
}

static void binds(void) {
    mkdir(at("src"), 0755);
    SHOW("mount src tmpfs", mount("tmpfs", at("src"), "tmpfs", 0, "mode=755"));
    mkdir(at("src/sub"), 0755);
    mkdir(at("dst"), 0755);
    close(open(at("src/sub/file"), O_CREAT | O_WRONLY, 0644));
    SHOW("bind", mount(at("src/sub"), at("dst"), NULL, MS_BIND, NULL));
    SHOW("file seen through bind", access(at("dst/file"), F_OK));
    show_mountinfo("dst");
    SHOW("bind remount ro", mount("none", at("dst"), NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL));
    SHOW("create in ro bind", open_close(at("dst/new"), O_CREAT | O_WRONLY));
    SHOW("create in source", open_close(at("src/sub/new"), O_CREAT | O_WRONLY));
    SHOW("new file seen in bind", access(at("dst/new"), F_OK));
    show_mountinfo("dst");
    SHOW("umount bind", umount(at("dst")));
    mkdir(at("src/inner"), 0755);
    SHOW("mount inner", mount("tmpfs", at("src/inner"), "tmpfs", 0, "mode=755"));
    close(open(at("src/inner/x"), O_CREAT | O_WRONLY, 0644));
    mkdir(at("plain"), 0755);
    mkdir(at("rec"), 0755);
    SHOW("bind without MS_REC", mount(at("src"), at("plain"), NULL, MS_BIND, NULL));
    SHOW("submount not in plain bind", access(at("plain/inner/x"), F_OK));
    SHOW("rbind", mount(at("src"), at("rec"), NULL, MS_BIND | MS_REC, NULL));
    SHOW("submount in rbind", access(at("rec/inner/x"), F_OK));
    show_mountinfo("rec/inner");
    SHOW("umount rbind child", umount(at("rec/inner")));
    SHOW("umount rbind", umount(at("rec")));
    SHOW("umount plain", umount(at("plain")));
    SHOW("umount inner", umount(at("src/inner")));
    SHOW("umount src", umount(at("src")));
}

static void flags(void) {
    struct statvfs sv;
    mkdir(at("n"), 0755);
    SHOW("mount noexec,nodev,nosuid", mount("tmpfs", at("n"), "tmpfs", MS_NOEXEC | MS_NODEV | MS_NOSUID, "mode=755"));
    statvfs(at("n"), &sv);
    printf("statvfs flags nosuid %d nodev %d noexec %d rdonly %d\n", !!(sv.f_flag & ST_NOSUID), !!(sv.f_flag & ST_NODEV), !!(sv.f_flag & ST_NOEXEC), !!(sv.f_flag & ST_RDONLY));
    show_mountinfo("n");
    copy_self(at("n/prog"));
    SHOW("access X_OK noexec", access(at("n/prog"), X_OK));
    printf("exec on noexec: %d\n", try_exec(at("n/prog")));
    int fd = open(at("n/prog"), O_RDONLY);
    void *m = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
    printf("mmap PROT_EXEC noexec: %s errno %d\n", m == MAP_FAILED ? "failed" : "ok", m == MAP_FAILED ? errno : 0);
    m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    printf("mmap PROT_READ noexec: %s\n", m == MAP_FAILED ? "failed" : "ok");
    errno = 0;
    int r = mprotect(m, 4096, PROT_READ | PROT_EXEC);
    printf("mprotect to exec: %d errno %d\n", r, r ? errno : 0);
    munmap(m, 4096);
    close(fd);
    SHOW("mknod null", mknod(at("n/null"), S_IFCHR | 0666, makedev(1, 3)));
    SHOW("open dev on nodev", open_close(at("n/null"), O_RDWR));
    SHOW("remount exec,dev", mount("none", at("n"), NULL, MS_REMOUNT, "mode=755"));
    SHOW("access X_OK after remount", access(at("n/prog"), X_OK));
    printf("exec after remount: %d\n", try_exec(at("n/prog")));
    SHOW("open dev after remount", open_close(at("n/null"), O_RDWR));
    SHOW("umount", umount(at("n")));
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--exit"))
        return 42;
    snprintf(base, sizeof base, "%s", argc > 1 ? argv[1] : "/tmp");
    setvbuf(stdout, NULL, _IONBF, 0);
    tmpfs_limits();
    binds();
    flags();
    return 0;
}

/* sysfs as user space reads it (the Debian-system issue, item 5): run under umbra and natively;
 * every line printed must be the same. Prints only facts that do not depend on the machine. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <unistd.h>

static void show(const char *path) {
    char buf[256];
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("%s: errno %d\n", path, errno);
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n < 0 ? 0 : n] = 0;
    printf("%s: %s", path, buf);
}

/* Number of CPUs in a list like "0-3,5". */
static int count_list(const char *s) {
    int total = 0;
    while (*s && *s != '\n') {
        char *end;
        long a = strtol(s, &end, 10), b = a;
        if (*end == '-')
            b = strtol(end + 1, &end, 10);
        total += (int)(b - a + 1);
        s = *end == ',' ? end + 1 : end;
    }
    return total;
}

static int read_count(const char *path) {
    char buf[256] = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    if (read(fd, buf, sizeof buf - 1) < 0)
        buf[0] = 0;
    close(fd);
    return count_list(buf);
}

static int cpu_dirs(void) {
    DIR *d = opendir("/sys/devices/system/cpu");
    int n = 0;
    struct dirent *e;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, "cpu", 3) && e->d_name[3] >= '0' && e->d_name[3] <= '9')
            n++;
    closedir(d);
    return n;
}

int main(void) {
    struct statfs sf;
    struct stat st;
    char link[256];
    int r = statfs("/sys", &sf);
    printf("statfs /sys: %d magic %s\n", r, sf.f_type == 0x62656572 ? "SYSFS" : "other");
    for (const char *f = "type\0addr_len\0address\0ifindex\0iflink\0flags\0"; *f; f += strlen(f) + 1) {
        char p[128];
        snprintf(p, sizeof p, "/sys/class/net/lo/%s", f);
        show(p);
    }
    ssize_t n = readlink("/sys/class/net/lo", link, sizeof link - 1);
    link[n < 0 ? 0 : n] = 0;
    printf("class/net/lo -> %s\n", link);
    printf("lstat lo is link: %d\n", lstat("/sys/class/net/lo", &st) == 0 && S_ISLNK(st.st_mode));
    r = stat("/sys/class/net/lo/type", &st);
    printf("stat lo/type: %d mode %o size %lld\n", r, st.st_mode, (long long)st.st_size);
    errno = 0;
    r = open("/sys/class/net/lo/type", O_WRONLY);
    printf("open type O_WRONLY: %d errno %d\n", r >= 0, errno);
    errno = 0;
    r = open("/sys/class/net/newfile", O_CREAT | O_WRONLY, 0644);
    printf("open O_CREAT in /sys/class/net: %d errno %d\n", r >= 0, errno);
    errno = 0;
    r = mkdir("/sys/kernel/newdir", 0755);
    printf("mkdir in /sys/kernel: %d errno %d\n", r, errno);
    errno = 0;
    r = unlink("/sys/kernel/uevent_seqnum");
    printf("unlink in /sys/kernel: %d errno %d\n", r, errno);
    show("/sys/class/net/nosuchif/type");
    printf("fs/cgroup is dir: %d\n", stat("/sys/fs/cgroup", &st) == 0 && S_ISDIR(st.st_mode));
    show("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size");
    int online = read_count("/sys/devices/system/cpu/online");
    printf("online = get_nprocs: %d\n", online == get_nprocs());
    printf("online = _SC_NPROCESSORS_ONLN: %d\n", online == sysconf(_SC_NPROCESSORS_ONLN));
    printf("possible >= online: %d\n", read_count("/sys/devices/system/cpu/possible") >= online);
    printf("present = online: %d\n", read_count("/sys/devices/system/cpu/present") == online);
    printf("cpuN dirs = _SC_NPROCESSORS_CONF: %d\n", cpu_dirs() == sysconf(_SC_NPROCESSORS_CONF));
    printf("cpu0/topology is dir: %d\n", stat("/sys/devices/system/cpu/cpu0/topology", &st) == 0 && S_ISDIR(st.st_mode));
    FILE *m = fopen("/proc/mounts", "r");
    char line[512];
    int listed = 0;
    while (m && fgets(line, sizeof line, m))
        listed |= !strncmp(line, "sysfs /sys sysfs ", 17);
    printf("/proc/mounts lists sysfs: %d\n", listed);
    return 0;
}

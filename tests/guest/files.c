/* Reads files and directories of the root: open/read/pread/lseek/fstat/getdents/readlink. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }
int main(void) {
    int fd = open("/etc/motd", O_RDONLY);
    char buf[256] = {0};
    ssize_t n = read(fd, buf, sizeof buf - 1);
    printf("read %zd: %s", n, buf);
    struct stat st;
    fstat(fd, &st);
    printf("size=%lld reg=%d\n", (long long)st.st_size, S_ISREG(st.st_mode));
    char p[6] = {0};
    pread(fd, p, 5, 6);
    printf("pread=%s\n", p);
    printf("lseek end=%lld\n", (long long)lseek(fd, 0, SEEK_END));
    close(fd);
    printf("enoent=%d\n", open("/nonexistent", O_RDONLY) < 0 && errno == ENOENT);
    printf("enotdir=%d\n", open("/etc/motd/x", O_RDONLY) < 0 && errno == ENOTDIR);
    printf("ebadf=%d\n", read(99, buf, 1) < 0 && errno == EBADF);
    DIR *d = opendir("/etc");
    char *names[64]; int k = 0;
    struct dirent *e;
    while ((e = readdir(d)) && k < 64) names[k++] = strdup(e->d_name);
    qsort(names, k, sizeof *names, cmp);
    for (int i = 0; i < k; i++) printf("entry %s\n", names[i]);
    struct stat ls;
    printf("lstat link=%d\n", lstat("/etc/link", &ls) == 0 && S_ISLNK(ls.st_mode));
    char t[64] = {0};
    printf("readlink=%zd %s\n", readlink("/etc/link", t, sizeof t), t);
    FILE *f = fopen("/etc/link", "r");
    char line[64] = {0};
    fgets(line, sizeof line, f);
    printf("via link: %s", line);
    return 0;
}

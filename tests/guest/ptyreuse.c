/* A pty index reused after its master closed: opening /dev/pts/N must reach the new pty
 * (umbra kept the dead one in its dentry cache: EIO, which broke startpar at Debian boot). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <sys/ioctl.h>
int main(void) {
    for (int round = 0; round < 3; round++) {
        int m = open("/dev/ptmx", O_RDWR | O_NOCTTY);
        int n = -1, unlock = 0;
        ioctl(m, TIOCGPTN, &n);
        ioctl(m, TIOCSPTLCK, &unlock);
        char p[64]; snprintf(p, sizeof p, "/dev/pts/%d", n);
        int s = open(p, O_RDWR | O_NOCTTY);
        printf("round %d: open %s\n", round, s < 0 ? strerror(errno) : "ok");
        if (s >= 0) close(s);
        if (round == 0) close(m);
    }
    return 0;
}

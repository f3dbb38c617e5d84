/* Prints argv, selected environment variables and auxv entries, as the initial stack gives them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>
int main(int argc, char **argv) {
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
    printf("PATH=%s\n", getenv("PATH") ? getenv("PATH") : "(unset)");
    printf("HOME=%s\n", getenv("HOME") ? getenv("HOME") : "(unset)");
    printf("FOO=%s\n", getenv("FOO") ? getenv("FOO") : "(unset)");
    printf("pagesz=%lu\n", getauxval(AT_PAGESZ));
    printf("clktck=%lu\n", getauxval(AT_CLKTCK));
    printf("secure=%lu\n", getauxval(AT_SECURE));
    printf("random=%s\n", getauxval(AT_RANDOM) ? "yes" : "no");
    printf("platform=%s\n", (char *)getauxval(AT_PLATFORM));
    printf("execfn=%s\n", (char *)getauxval(AT_EXECFN));
    printf("entry_ok=%d\n", getauxval(AT_ENTRY) != 0);
    printf("phdr_ok=%d\n", getauxval(AT_PHDR) != 0);
    printf("pid=%d ppid=%d uid=%d gid=%d\n", getpid(), getppid(), getuid(), getgid());
    char cwd[256];
    printf("cwd=%s\n", getcwd(cwd, sizeof cwd));
    return 0;
}

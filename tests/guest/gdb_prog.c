/* A small program for the Debian gdb test (built -g -O0 -no-pie at test time). */
#include <stdio.h>
int x = 42;
int add(int a, int b) { return a + b + x; }
int main(void) {
    int y = add(1, 2);
    printf("y=%d\n", y);
    return 0;
}

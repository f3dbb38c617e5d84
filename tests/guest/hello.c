/* Prints a line and exits with status 3. */
#include <stdio.h>
int main(void) { printf("hello from the guest\n"); return 3; }

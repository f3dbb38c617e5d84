// The smallest program there is (no libc): writes "tiny\n" and exits 0. The ELF-loader fuzzer
// mutates copies of it (tests/guest/execfuzz.c runs them).
void _start(void) {
    static const char msg[] = "tiny\n";
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(1), "D"(1), "S"(msg), "d"(5) : "rcx", "r11", "memory");
    __asm__ volatile("syscall" : : "a"(60), "D"(0) : "rcx", "r11", "memory");
    for (;;)
        ;
}

/* The contract between umbra (arch-um/src/stub.rs) and the stub: addresses and the batch layout.
   Keep in sync with arch-um/src/stub.rs (a test checks the offsets through the built binary). */
#define STUB_START 0x7fff00000000UL
#define STUB_END (STUB_START + 0x100000UL)
#define STUB_DATA (STUB_START + 0x80000UL)
#define STUB_DATA_SIZE 0x10000UL
#define STUB_DATA_FD 4
#define STUB_PHYSMEM_FD 3
#define USER_TOP 0x7ffffffff000UL /* the host TASK_SIZE: munmap beyond it is EINVAL */
#define STUB_STACK_WORDS 2048
#define STUB_MAX_OPS ((STUB_DATA_SIZE - 32) / 56)

struct stub_op { unsigned long nr; unsigned long args[6]; };
struct stub_batch {
    unsigned long count;   /* ops queued by umbra */
    unsigned long done;    /* ops completed by the stub */
    long error;            /* -errno of the failing op, or 0 */
    unsigned long pad;
    struct stub_op ops[STUB_MAX_OPS];
};

//! Typed guest pointers. A guest address is never a bare integer in the kernel: it is a
//! `UserAddr`, or a `UserRef<T>`/`UserSlice<T>`/`UserCStr` that says what lies there. Reading and
//! writing them is `mm`'s job (`mm::uaccess`), which checks every access against the guest's page
//! table and returns `EFAULT` instead of trusting the pointer.

use core::fmt;
use core::marker::PhantomData;

/// An address in a guest's virtual address space.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UserAddr(pub u64);

impl UserAddr {
    /// The null pointer.
    pub const NULL: UserAddr = UserAddr(0);

    /// True for the null pointer.
    pub fn is_null(self) -> bool {
        self.0 == 0
    }

    /// `self + off`, or `None` on overflow (a guest pointer near the top of the address space).
    pub fn checked_add(self, off: u64) -> Option<UserAddr> {
        self.0.checked_add(off).map(UserAddr)
    }

    /// The raw value.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Debug for UserAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

impl From<u64> for UserAddr {
    fn from(v: u64) -> Self {
        UserAddr(v)
    }
}

/// A guest pointer to one `T` (a `struct stat *`, an `int *`).
pub struct UserRef<T> {
    addr: UserAddr,
    _t: PhantomData<fn() -> T>,
}

impl<T> UserRef<T> {
    /// Wraps a guest address.
    pub fn new(addr: UserAddr) -> Self {
        UserRef { addr, _t: PhantomData }
    }
    /// The address.
    pub fn addr(&self) -> UserAddr {
        self.addr
    }
    /// True for NULL (many syscalls treat a NULL out-pointer as "not wanted").
    pub fn is_null(&self) -> bool {
        self.addr.is_null()
    }
    /// The `i`-th element after this one (`ptr + i`), or `None` on overflow.
    pub fn offset(&self, i: u64) -> Option<UserRef<T>> {
        let bytes = i.checked_mul(core::mem::size_of::<T>() as u64)?;
        Some(UserRef::new(self.addr.checked_add(bytes)?))
    }
}

impl<T> Clone for UserRef<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for UserRef<T> {}
impl<T> fmt::Debug for UserRef<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.addr)
    }
}
impl<T> From<u64> for UserRef<T> {
    fn from(v: u64) -> Self {
        UserRef::new(UserAddr(v))
    }
}

/// A guest buffer of `len` elements of `T` (a `char *buf, size_t count` pair).
pub struct UserSlice<T> {
    addr: UserAddr,
    len: usize,
    _t: PhantomData<fn() -> T>,
}

impl<T> UserSlice<T> {
    /// Wraps a guest address and an element count.
    pub fn new(addr: UserAddr, len: usize) -> Self {
        UserSlice { addr, len, _t: PhantomData }
    }
    /// The address of the first element.
    pub fn addr(&self) -> UserAddr {
        self.addr
    }
    /// The number of elements.
    pub fn len(&self) -> usize {
        self.len
    }
    /// True if the buffer has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}
impl<T> Clone for UserSlice<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for UserSlice<T> {}
impl<T> fmt::Debug for UserSlice<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}[{}]", self.addr, self.len)
    }
}

/// A guest pointer to a NUL-terminated string (a path, an argv element).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct UserCStr(pub UserAddr);

impl fmt::Debug for UserCStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}
impl From<u64> for UserCStr {
    fn from(v: u64) -> Self {
        UserCStr(UserAddr(v))
    }
}

/// Plain-old-data ABI structs that may be copied to and from guest memory as bytes
/// (`#[derive(Pod, Zeroable)]` from `bytemuck` proves there is no padding, with no `unsafe` here).
pub use bytemuck::{Pod, Zeroable};

/// Views a `Pod` value as bytes.
pub fn as_bytes<T: Pod>(v: &T) -> &[u8] {
    bytemuck::bytes_of(v)
}

/// Builds a `Pod` value from bytes (shorter input is zero-extended, longer input is truncated).
pub fn from_bytes<T: Pod>(bytes: &[u8]) -> T {
    let mut v = T::zeroed();
    let dst = bytemuck::bytes_of_mut(&mut v);
    let n = bytes.len().min(dst.len());
    dst[..n].copy_from_slice(&bytes[..n]);
    v
}

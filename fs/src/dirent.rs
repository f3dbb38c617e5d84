//! `getdents64` record encoding: Linux's `struct linux_dirent64` (`fs/readdir.c`
//! `filldir64`): `d_ino: u64, d_off: i64, d_reclen: u16, d_type: u8, d_name[]` NUL-terminated
//! and padded to 8 bytes.

/// Offset of `d_name` within a record.
const NAME_OFFSET: usize = 19;

/// The record length for a name of `name_len` bytes (header + name + NUL, 8-aligned).
pub fn dirent64_reclen(name_len: usize) -> usize {
    (NAME_OFFSET + name_len + 1 + 7) & !7
}

/// Fills a caller's buffer with `linux_dirent64` records.
pub struct Dirent64Writer<'a> {
    buf: &'a mut [u8],
    used: usize,
}

impl<'a> Dirent64Writer<'a> {
    /// A writer over `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Dirent64Writer { buf, used: 0 }
    }

    /// Bytes written so far.
    pub fn used(&self) -> usize {
        self.used
    }

    /// Appends one record; returns `false` (writing nothing) if it does not fit.
    pub fn push(&mut self, ino: u64, off: u64, d_type: u8, name: &[u8]) -> bool {
        let reclen = dirent64_reclen(name.len());
        let Some(end) = self.used.checked_add(reclen) else { return false };
        let (Some(rec), Ok(reclen16)) = (self.buf.get_mut(self.used..end), u16::try_from(reclen)) else {
            return false;
        };
        rec.fill(0);
        rec[0..8].copy_from_slice(&ino.to_le_bytes());
        rec[8..16].copy_from_slice(&off.to_le_bytes());
        rec[16..18].copy_from_slice(&reclen16.to_le_bytes());
        rec[18] = d_type;
        rec[NAME_OFFSET..NAME_OFFSET + name.len()].copy_from_slice(name);
        self.used = end;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_layout() {
        let mut buf = [0xffu8; 64];
        let mut w = Dirent64Writer::new(&mut buf);
        assert!(w.push(42, 7, 8, b"hello"));
        assert_eq!(w.used(), 32);
        assert!(w.push(43, 8, 4, b"a"));
        assert_eq!(w.used(), 56);
        assert!(!w.push(44, 9, 4, b"b"));
        assert_eq!(u64::from_le_bytes(buf[0..8].try_into().unwrap_or_default()), 42);
        assert_eq!(i64::from_le_bytes(buf[8..16].try_into().unwrap_or_default()), 7);
        assert_eq!(u16::from_le_bytes([buf[16], buf[17]]), 32);
        assert_eq!(buf[18], 8);
        assert_eq!(&buf[19..25], b"hello\0");
        assert_eq!(dirent64_reclen(5), 32);
        assert_eq!(dirent64_reclen(4), 24);
    }
}

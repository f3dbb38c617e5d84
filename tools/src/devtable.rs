//! Device tables in the format genext2fs and busybox `makedevs` read:
//! `name type mode uid gid major minor start inc count`, one entry a line, `#` comments,
//! `-` for unused fields. Types: `f` file, `d` directory, `c`/`b` devices, `p` FIFO. With a
//! count, entries `name<start>`..`name<start+count-1>` are made, minors stepping by `inc`.

/// One (expanded) device-table entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevEntry {
    /// Absolute path inside the image.
    pub path: String,
    /// `f`, `d`, `c`, `b` or `p`.
    pub kind: char,
    /// Permission bits.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub major: u32,
    pub minor: u32,
}

fn num(s: &str, radix: u32, line: usize, what: &str) -> Result<u64, String> {
    if s == "-" {
        return Ok(0);
    }
    u64::from_str_radix(s, radix).map_err(|_| format!("device table line {line}: bad {what} `{s}`"))
}

/// Parses a device table; errors name the line.
pub fn parse(text: &str) -> Result<Vec<DevEntry>, String> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.split('#').next().unwrap_or("").trim();
        if l.is_empty() {
            continue;
        }
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < 5 {
            return Err(format!("device table line {line}: expected `name type mode uid gid major minor start inc count`"));
        }
        let get = |k: usize| f.get(k).copied().unwrap_or("-");
        let name = f[0];
        if !name.starts_with('/') {
            return Err(format!("device table line {line}: `{name}` is not an absolute path"));
        }
        let kind = match f[1] {
            "f" | "d" | "c" | "b" | "p" => f[1].chars().next().unwrap_or('f'),
            t => return Err(format!("device table line {line}: unknown type `{t}` (use f d c b p)")),
        };
        let mode = num(f[2], 8, line, "mode")? as u32 & 0o7777;
        let uid = num(f[3], 10, line, "uid")? as u32;
        let gid = num(f[4], 10, line, "gid")? as u32;
        let major = num(get(5), 10, line, "major")? as u32;
        let minor = num(get(6), 10, line, "minor")? as u32;
        let start = num(get(7), 10, line, "start")?;
        let inc = num(get(8), 10, line, "inc")?;
        let count = num(get(9), 10, line, "count")?;
        if count > 65536 {
            return Err(format!("device table line {line}: count {count} too large"));
        }
        if count == 0 {
            out.push(DevEntry { path: name.to_string(), kind, mode, uid, gid, major, minor });
        } else {
            for k in 0..count {
                out.push(DevEntry {
                    path: format!("{name}{}", start + k),
                    kind,
                    mode,
                    uid,
                    gid,
                    major,
                    minor: minor.saturating_add((k * inc) as u32),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_genext2fs_example() {
        let t = "#<name> <type> <mode> <uid> <gid> <major> <minor> <start> <inc> <count>\n\
                 /dev d 755 0 0 - - - - -\n\
                 /dev/console c 600 0 0 5 1 - - -\n\
                 /dev/ttyS c 666 0 5 4 64 0 1 3\n\
                 /etc/shadow f 600 0 0 - - - - -\n";
        let e = parse(t).unwrap();
        assert_eq!(e.len(), 6);
        assert_eq!(e[0], DevEntry { path: "/dev".into(), kind: 'd', mode: 0o755, uid: 0, gid: 0, major: 0, minor: 0 });
        assert_eq!(e[4].path, "/dev/ttyS2");
        assert_eq!(e[4].minor, 66);
        assert_eq!(e[4].gid, 5);
        assert!(parse("/x q 1 0 0").is_err());
        assert!(parse("x c 1 0 0").is_err());
    }
}

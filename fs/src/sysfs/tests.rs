use super::*;
use crate::abi::MsFlags;
use crate::{Credentials, FsContext, Vfs};

fn text(t: &Tree, path: &str) -> String {
    match t.find(path) {
        Some(TreeNode::File(d)) => String::from_utf8_lossy(d).into_owned(),
        other => panic!("{path}: {other:?}"),
    }
}

#[test]
fn cpu_lists_follow_the_cpu_count() {
    let t = build(4, &[NetIf::loopback()]);
    for f in ["online", "possible", "present"] {
        assert_eq!(text(&t, &format!("devices/system/cpu/{f}")), "0-3\n");
    }
    assert!(t.find("devices/system/cpu/cpu3/topology/core_id").is_some());
    assert!(t.find("devices/system/cpu/cpu4").is_none());
    assert_eq!(text(&build(1, &[]), "devices/system/cpu/online"), "0\n");
}

#[test]
fn net_class_links_every_interface() {
    let eth0 = NetIf { index: 2, name: "eth0".into(), flags: 0x1_1043, hw_type: 1, mtu: 1500, mac: [0x52, 0x54, 0, 0x12, 0x34, 0x56] };
    let t = build(1, &[NetIf::loopback(), eth0]);
    assert_eq!(t.find("class/net/lo"), Some(&TreeNode::Link("../../devices/virtual/net/lo".into())));
    assert_eq!(text(&t, "devices/virtual/net/lo/mtu"), "65536\n");
    assert_eq!(text(&t, "devices/virtual/net/lo/flags"), "0x9\n");
    assert_eq!(text(&t, "devices/virtual/net/eth0/address"), "52:54:00:12:34:56\n");
    assert_eq!(text(&t, "devices/virtual/net/eth0/operstate"), "up\n");
    assert_eq!(text(&t, "devices/virtual/net/eth0/flags"), "0x1003\n");
}

#[test]
fn mounted_sysfs_reads_through_the_vfs() {
    let vfs = Vfs::new(crate::tmpfs::TmpFs::new(None));
    let fsc = FsContext::new(vfs.root());
    let cred = Credentials::root();
    let c = fsc.ctx(&cred);
    vfs.mkdir(&c, &fsc.cwd, b"/sys", 0o755).unwrap();
    vfs.mount(&c, &fsc.cwd, b"sysfs", b"/sys", b"sysfs", MsFlags::empty(), b"").unwrap();
    let p = vfs.lookup(&c, &fsc.cwd, b"/sys/class/net/lo/mtu", true).unwrap();
    let mut buf = [0u8; 32];
    let n = p.inode().read_bytes(0, &mut buf).unwrap();
    assert_eq!(&buf[..n], b"65536\n");
    let cg = vfs.lookup(&c, &fsc.cwd, b"/sys/fs/cgroup", true).unwrap();
    assert!(cg.attr().unwrap().is_dir());
    assert_eq!(p.inode().write_bytes(0, b"1").unwrap_err(), uapi::Errno::EACCES);
    assert!(vfs.mounts_text(&vfs.root()).contains("sysfs /sys sysfs rw"));
}

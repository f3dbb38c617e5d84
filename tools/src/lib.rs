//! `tools`: host-side utilities over `fs`'s one ext2 implementation (no shell-outs to
//! e2fsprogs): building ext2 images from host directory trees.

#![deny(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod debian;
pub mod devtable;
pub mod mkfs;
pub mod rootfs;

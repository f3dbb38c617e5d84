//! Block device layers stacked on [`crate::block::BlockDevice`] (Linux's block drivers): the
//! copy-on-write overlay of UML's `ubd` ([`cow`]), and a disk opened as a file ([`node`]).

pub mod cow;
pub mod node;

//! Block device layers stacked on [`crate::block::BlockDevice`] (Linux's block drivers): the
//! copy-on-write overlay of UML's `ubd` ([`cow`]).

pub mod cow;

//! Golden models for every operation the hardware performs.
//!
//! Two layers, each checked against the one below it: [`reference`] is plain,
//! obviously-correct integer Rust; the wgpu compute kernels (added on top) are
//! checked against it, and the RTL is checked against both.

pub mod reference;

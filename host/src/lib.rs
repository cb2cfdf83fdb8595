//! Host side of the board's UART protocol (`docs/uart-protocol.md`).
//!
//! - [`frame`]: encode requests, decode responses; no I/O.
//! - [`link`]: the [`Link`] trait, a byte pipe with timeouts and a break, which a
//!   real serial port (the `host` binary) and the simulated pins of a Verilated
//!   board (`testbench::uart`) both implement.
//! - [`client`]: a session with a board: INFO, GEMM tiles, whole GEMMs of any
//!   shape, written against [`Link`] only so the same code is tested in
//!   simulation and used on hardware; engine boards: register and memory
//!   reads and writes.
//! - [`engine`]: a compiled network on an engine board: load, infer.

pub mod client;
pub mod engine;
pub mod frame;
pub mod link;

pub use client::{Board, HostError, Options, Stats};
pub use frame::{FrameError, Info, Response};
pub use link::{Link, LinkError};

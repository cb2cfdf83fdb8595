//! The shared hardware library: the parts every block is built from, written
//! once and tested once, so that a block reads as wiring and control.
//!
//! - [`skid`]: a full-throughput valid/ready register slice with registered ready.
//! - [`fifo`]: a synchronous FIFO in registers or block RAM, with `count`/`full`/`empty`.
//! - [`counter`]: nested wrap/carry counters with an optional address accumulator
//!   (the loop nest of an address generator).
//! - [`delay`]: a delay line of N register stages.
//! - [`ram`]: a simple dual-port RAM with byte enables, inferred as block RAM.
//! - [`rom`]: a read-only memory with fixed contents and a synchronous read port.
//! - [`bundle`]: interface bundles (valid/ready stream, memory port, register port).
//! - [`inst`]: the one way to instantiate and wire a submodule, checked against
//!   the child's ports.
//! - [`ops`]: constant-folding expression helpers and small counter arithmetic.
//!
//! Each part is a generator function from a config struct (validated in its
//! `validate`) to a [`crate::ir::Module`]; the caller names the module (usually
//! `<block>_<what>`) and adds it with [`crate::ir::Design::include`].

pub mod bundle;
pub mod counter;
pub mod delay;
pub mod fifo;
pub mod inst;
pub mod ops;
pub mod ram;
pub mod rom;
pub mod skid;

pub use bundle::{Bundle, CsrPort, MemPort, Role, Stream};
pub use inst::{Inst, Instantiate};

use crate::ir::{Module, SignalId, Ty};

/// The `clk` and `rst` inputs every clocked part starts with.
pub(crate) fn clock_and_reset(m: &mut Module) -> (SignalId, SignalId) {
    let clk = m.input(
        "clk",
        Ty::bit(),
        Some("Clock and synchronous active-high reset"),
        "",
    );
    let rst = m.input("rst", Ty::bit(), None, "");
    (clk, rst)
}

//! The micro-sequencer of the area-first engine (`gen --top engine
//! --control micro`, for the small FPGAs): a two-read-port register file and
//! a program ROM in block RAM, one adder, and the engine's checks and
//! schedule as a program instead of state machines and per-layer hardware.
//!
//! - [`isa`]: the instruction set and its encoding (the RTL decodes with it);
//! - [`asm`]: an assembler written as Rust calls;
//! - [`program`]: the engine's microprogram, generated per build;
//! - [`sim`]: the interpreter, the reference the RTL is compared with.
//!
//! `testbench::micro_model` runs the program with a functional model of the
//! datapath against the contract's oracle.

pub mod asm;
pub mod isa;
pub mod program;
pub mod sim;

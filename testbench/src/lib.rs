//! Testbench: a Verilator harness driven from Rust, reusable agents for the
//! shared interfaces (streams, memory port, register port), cycle-accurate
//! drivers for the generated blocks built on them, and the tools checks (lint,
//! synthesis) every emitted design must pass. Every result is compared
//! bit-exactly with the golden model.

pub mod agents;
pub mod array;
pub mod cpu_time;
pub mod dut;
pub mod engine;
pub mod icarus;
pub mod ireval;
pub mod maxpool;
pub mod micro_model;
pub mod models;
pub mod tools;
pub mod uart;
pub mod verilator;

//! `runner`: the logic behind the `run` binary, which answers "does my network
//! run correctly on the engine, and how fast?" with one command.
//!
//! A model (`digits-cnn`, `lenet5` or a model file, [`digits::ModelFile`]) runs
//! over the digits test split on one or more backends:
//!
//! - `ref`: golden's plain-Rust reference, layer by layer
//!   ([`golden::reference::layer_reference`]);
//! - `gpu`: golden's wgpu kernels ([`golden::Golden`]; lavapipe on a machine
//!   without a GPU); a machine without any adapter is an error, never a quiet
//!   fall-back to the reference;
//! - `rtl`: the Verilated engine ([`testbench::engine::EngineSim`]) with the
//!   Rust memory model, running the compiler's program ([`compiler::compile()`]).
//!
//! Every backend yields every layer's int8 output ([`backend`]); the class is
//! [`digits::argmax`] of the last. [`stats`] gathers accuracy, the confusion
//! matrix and the engine's counters next to the cost model's prediction,
//! [`check`] compares the layers bit by bit across backends, [`report`] renders
//! the tables and [`svg`] the per-layer picture.
//!
//! Errors are one line ([`RunError`]): usage errors (unknown model, malformed
//! model file, an engine configuration or layer the engine refuses) exit 2,
//! runtime failures (no GPU adapter, an engine error, a bit mismatch) exit 1.

pub mod backend;
pub mod check;
pub mod cli;
pub mod report;
pub mod rtl;
pub mod stats;
pub mod svg;

pub use cli::{execute, Args, BackendKind};

/// Why a run stopped, in one line; [`RunError::exit_code`] is the process's
/// exit status.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The command asked for something that cannot be done: exit 2.
    #[error("{0}")]
    Usage(String),
    /// The run itself failed (a tool, a device, the engine): exit 1.
    #[error("{0}")]
    Runtime(String),
    /// `--check` found two backends disagreeing: exit 1.
    #[error("{0}")]
    Mismatch(String),
}

impl RunError {
    /// 2 for usage errors, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Usage(_) => 2,
            RunError::Runtime(_) | RunError::Mismatch(_) => 1,
        }
    }
}

//! `flow`: FPGA (and ASIC-style estimate) flows for the accelerator's blocks.
//!
//! One run goes raw flags -> [`config::FlowConfig`] (validated) -> the design
//! ([`top`]) -> a [`plan::Plan`] (files and commands, built by a pure function)
//! -> [`exec`] (runs it, keeps logs, reads the reports) -> `report.json` and
//! `summary.md`. `--plan-only` stops after the plan, which is what CI checks for
//! every board without the tools. [`sweep`] repeats runs over sizes and plots
//! them; [`asic`] is a technology-independent yosys estimate.
//!
//! Boards come from the `boards` crate (data files); tools are found by [`tools`]
//! and run by the workspace's one tool runner (`toolrun`).
//!
//! # Layering
//!
//! Each module uses only modules above it in this list (no import cycles;
//! `flow/tests/layering.rs` checks it):
//!
//! 1. [`tools`] (finding programs), [`report`] (parsing the tools' reports);
//! 2. [`error`], [`record`] (the types of `report.json`), [`out`] (stdout);
//! 3. [`config`] (flags -> validated configuration), [`args`] (the raw clap flags);
//! 4. [`top`] (the design), [`constraints`] (its pins), [`plan`] (files and commands);
//! 5. [`summary`] (`summary.md`), [`points`] (a sweep's rows and tables), [`plot`];
//! 6. [`exec`] (runs a plan), [`asic`] (the ASIC estimate);
//! 7. [`sweep`] (runs many plans), then [`cli`] (the command line).

pub mod args;
pub mod asic;
pub mod cli;
pub mod config;
pub mod constraints;
pub mod error;
pub mod exec;
pub mod out;
pub mod plan;
pub mod plot;
pub mod points;
pub mod record;
pub mod report;
pub mod summary;
pub mod sweep;
pub mod tools;
pub mod top;

pub use error::FlowError;
pub use exec::run_flow;
pub use plan::plan_for;

//! `flow`: FPGA (and ASIC-style estimate) flows for the accelerator's blocks.
//!
//! One run goes raw flags -> [`config::FlowConfig`] (validated) -> the design
//! ([`top`]) -> a [`plan::Plan`] (files and commands, built by a pure function)
//! -> [`exec`] (runs it, keeps logs, reads the reports) -> `report.json` and
//! `summary.md`. `--plan-only` stops after the plan, which is what CI checks for
//! every board without the tools. [`sweep`] repeats runs over sizes and plots
//! them; [`asic`] is a technology-independent yosys estimate.
//!
//! Boards come from the `boards` crate (data files); tools are found by [`tools`].

pub mod asic;
pub mod cli;
pub mod config;
pub mod constraints;
pub mod error;
pub mod exec;
pub mod plan;
pub mod plot;
pub mod report;
pub mod summary;
pub mod sweep;
pub mod tools;
pub mod top;

pub use error::FlowError;

use config::FlowConfig;
use tools::{Tool, ToolPaths};

/// Generate the design and build the plan. With `resolve_tools`, the commands
/// name the tools where they were found (and a missing one is an error);
/// without, they use plain names (for `--plan-only` and tests).
pub fn plan_for(cfg: &FlowConfig, resolve_tools: bool) -> Result<plan::Plan, FlowError> {
    let family_tools = Tool::for_family(cfg.board.family);
    let tools = if resolve_tools {
        ToolPaths::resolve(&family_tools)?
    } else {
        ToolPaths::resolve_lenient(&family_tools)
    };
    let top = top::generate(&cfg.board, &cfg.design, cfg.target_hz)?;
    plan::build(cfg, &top, &tools)
}

/// Run the whole flow for `cfg`.
pub fn run_flow(cfg: &FlowConfig, progress: exec::Progress) -> Result<exec::Outcome, FlowError> {
    let plan = plan_for(cfg, true)?;
    exec::execute(&plan, progress)
}

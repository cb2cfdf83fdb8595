//! `hdl`: hardware blocks of the int8 CNN accelerator, built as a typed netlist IR,
//! checked, and printed as Verilog-2005.
//!
//! - [`ir`]: modules, typed signals, expressions, registers, memories, instances.
//! - [`process`]: clock domains, processes of `if`/`case` statements, FSMs.
//! - [`check`]: the static rules every design must pass before printing.
//! - [`examples`]: small designs showing the constructs (an FSM example).
//! - [`verilog`]: the deterministic printer.
//! - [`array`]: the output-stationary int8 systolic array.
//! - [`manifest`]: the JSON manifest written next to the Verilog.
//! - [`parts`]: the shared hardware library (skid buffer, FIFO, counters, RAM, bundles, instances).
//!
//! Each block is a Rust function from a validated config struct to a [`ir::Design`].

pub mod array;
pub mod board;
pub mod check;
pub mod engine;
pub mod examples;
pub mod harness;
pub mod ir;
pub mod manifest;
pub mod maxpool;
pub mod parts;
pub mod process;
pub mod util;
pub mod verilog;

use std::fmt;

/// The generator version printed into every file and manifest; defined in
/// `contracts`, because a board reports it and the host compares it with its own.
pub use contracts::VERSION;

/// A configuration value that breaks a rule. The message names the rule and the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The parameter, e.g. `rows`.
    pub param: String,
    /// The rule, e.g. `must be in 1..=256`.
    pub rule: String,
    /// The offending value as the user wrote it.
    pub value: String,
}

impl ConfigError {
    pub fn new(param: &str, rule: impl Into<String>, value: impl fmt::Display) -> ConfigError {
        ConfigError {
            param: param.to_string(),
            rule: rule.into(),
            value: value.to_string(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}, got {}", self.param, self.rule, self.value)
    }
}

impl std::error::Error for ConfigError {}

/// Check that an integer parameter lies in `lo..=hi`.
pub fn check_range(param: &str, value: u64, lo: u64, hi: u64) -> Result<(), ConfigError> {
    if (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::new(
            param,
            format!("must be in {lo}..={hi}"),
            value,
        ))
    }
}

/// Check that a module name is a legal Verilog identifier.
pub fn check_name(param: &str, value: &str) -> Result<(), ConfigError> {
    if check::is_identifier(value) {
        Ok(())
    } else {
        Err(ConfigError::new(
            param,
            "must be a Verilog identifier ([A-Za-z_][A-Za-z0-9_]*, not a keyword)",
            format!("`{value}`"),
        ))
    }
}

/// Why generation failed: a bad configuration, or (a generator bug) a design that
/// breaks an IR rule.
#[derive(Debug)]
pub enum GenError {
    Config(ConfigError),
    Check(check::CheckErrors),
    /// A generator step was given a design it cannot handle (a bug, not bad input).
    Internal(String),
}

impl fmt::Display for GenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GenError::Config(e) => e.fmt(f),
            GenError::Check(e) => write!(f, "internal generator error: {e}"),
            GenError::Internal(e) => write!(f, "internal generator error: {e}"),
        }
    }
}

impl std::error::Error for GenError {}

impl From<ConfigError> for GenError {
    fn from(e: ConfigError) -> Self {
        GenError::Config(e)
    }
}
impl From<check::CheckErrors> for GenError {
    fn from(e: check::CheckErrors) -> Self {
        GenError::Check(e)
    }
}

/// A generated block: the Verilog text and its manifest.
#[derive(Clone, Debug)]
pub struct Generated {
    pub design: ir::Design,
    pub verilog: String,
    pub manifest: manifest::Manifest,
}

impl Generated {
    /// Finish a block's design: build its manifest, put the manifest's banner at the
    /// head of the file, check and print. Every block's `generate` ends here.
    pub fn from_design(
        block: &str,
        config: &impl serde::Serialize,
        derived: &impl serde::Serialize,
        mut design: ir::Design,
    ) -> Result<Generated, GenError> {
        let manifest = manifest::Manifest::new(block, config, derived, &design)?;
        design.header = manifest.header_lines();
        let verilog = verilog::print(&design)?;
        Ok(Generated {
            design,
            verilog,
            manifest,
        })
    }
}

//! What can go wrong in a flow, each with its exit status and a one-line message.
//!
//! Usage errors exit 2 (like `gen`); everything else exits 1. Messages are one
//! line: tool failures name the step, the exit status, the log file and the last
//! error line the tool printed, so the cause is visible without opening the log.

use std::fmt;
use std::path::PathBuf;

use crate::tools::MissingTool;

#[derive(Debug)]
pub enum FlowError {
    /// Bad flags or values: exit 2.
    Usage(String),
    /// A tool is not installed.
    Missing(MissingTool),
    /// The generator rejected the configuration (a usage error) or failed.
    Gen(String),
    /// A tool exited non-zero for a reason other than fit or timing.
    Tool {
        step: String,
        status: String,
        log: PathBuf,
        last_error: String,
    },
    /// The design does not fit the device.
    NoFit {
        board: String,
        detail: String,
        log: PathBuf,
    },
    /// No seed met the timing target.
    Timing {
        board: String,
        clock: String,
        achieved_mhz: f64,
        target_mhz: f64,
        /// The `--freq` asked for, when the PLL's output (the target) differs.
        requested_mhz: Option<f64>,
        seeds: String,
    },
    /// A report could not be read.
    Report(String),
    /// Reading or writing a file failed.
    Io(String),
}

impl FlowError {
    pub fn exit_code(&self) -> i32 {
        match self {
            FlowError::Usage(_) => 2,
            _ => 1,
        }
    }

    pub fn io(what: impl fmt::Display, e: std::io::Error) -> FlowError {
        FlowError::Io(format!("{what}: {e}"))
    }
}

impl fmt::Display for FlowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlowError::Usage(m) | FlowError::Gen(m) | FlowError::Report(m) | FlowError::Io(m) => {
                f.write_str(m)
            }
            FlowError::Missing(m) => m.fmt(f),
            FlowError::Tool {
                step,
                status,
                log,
                last_error,
            } => {
                write!(f, "{step} failed ({status}), log {}", log.display())?;
                if !last_error.is_empty() {
                    write!(f, ": {last_error}")?;
                }
                Ok(())
            }
            FlowError::NoFit { board, detail, log } => {
                write!(
                    f,
                    "design does not fit {board}: {detail} (log {})",
                    log.display()
                )
            }
            FlowError::Timing {
                board,
                clock,
                achieved_mhz,
                target_mhz,
                requested_mhz,
                seeds,
            } => {
                write!(
                    f,
                    "timing missed on {board}: clock {clock} achieved {achieved_mhz:.2} MHz < \
                     target {target_mhz:.2} MHz"
                )?;
                if let Some(r) = requested_mhz {
                    write!(f, " (the PLL's output for --freq {r})")?;
                }
                write!(
                    f,
                    " (best of seeds {seeds}); rerun with --allow-timing-fail to keep the \
                     bitstream anyway"
                )
            }
        }
    }
}

impl std::error::Error for FlowError {}

impl From<MissingTool> for FlowError {
    fn from(m: MissingTool) -> Self {
        FlowError::Missing(m)
    }
}

impl From<hdl::GenError> for FlowError {
    fn from(e: hdl::GenError) -> Self {
        match e {
            hdl::GenError::Config(c) => FlowError::Usage(c.to_string()),
            other => FlowError::Gen(other.to_string()),
        }
    }
}

impl From<hdl::ConfigError> for FlowError {
    fn from(e: hdl::ConfigError) -> Self {
        FlowError::Usage(e.to_string())
    }
}

impl From<boards::BoardError> for FlowError {
    fn from(e: boards::BoardError) -> Self {
        FlowError::Usage(e.to_string())
    }
}

//! Error type of the Verilator harness.

use std::path::PathBuf;

/// Everything that can go wrong while building, loading or driving a Verilated model.
///
/// Build failures always carry the path of the log file that holds the full output of the
/// failing tool, so a failing test points straight at the compiler message.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// A required program (`verilator`, `make`, `g++`, `ar`) is not installed.
    #[error("required tool `{tool}` was not found in PATH; {hint}")]
    ToolMissing {
        /// The program that was looked for.
        tool: String,
        /// How to install it.
        hint: String,
    },

    /// A file-system operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What the harness was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A tool ran but exited unsuccessfully.
    #[error(
        "command failed ({status}): {command}\n  full log: {}\n--- last lines of the log ---\n{tail}{hint}",
        .log.display()
    )]
    CommandFailed {
        /// The command line (program and arguments).
        command: String,
        /// Exit status as reported by the OS.
        status: String,
        /// Log file holding the command's stdout and stderr.
        log: PathBuf,
        /// The last lines of the log.
        tail: String,
        /// Extra advice for well-known failures (may be empty).
        hint: String,
    },

    /// The [`BuildSpec`](super::BuildSpec) is malformed or does not match the design.
    #[error("invalid build spec for `{top}`: {reason}")]
    InvalidSpec {
        /// Top module name from the spec.
        top: String,
        /// What is wrong.
        reason: String,
    },

    /// The built shared object could not be loaded or lacks the expected entry points.
    #[error("failed to load Verilated model {}: {reason}", .path.display())]
    Load {
        /// The shared object.
        path: PathBuf,
        /// Why loading failed.
        reason: String,
    },

    /// [`Model::port`](super::Model::port) was asked for a port the model does not have.
    #[error("model `{top}` has no port `{name}` (its ports: {available})")]
    UnknownPort {
        /// Top module name.
        top: String,
        /// The requested name.
        name: String,
        /// Comma-separated list of the model's ports.
        available: String,
    },

    /// The simulation raised an error: `$stop`, `$error`, `$fatal` or an internal Verilator
    /// fatal error (for example a combinational loop that does not converge).
    #[error("simulation of `{top}` failed: {message}")]
    Simulation {
        /// Top module name.
        top: String,
        /// Message collected from the Verilator runtime.
        message: String,
    },
}

impl HarnessError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        HarnessError::Io {
            context: context.into(),
            source,
        }
    }
}

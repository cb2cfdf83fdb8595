//! `contracts`: the numbers and layouts the host side and the generated hardware
//! must agree on, in one leaf crate.
//!
//! Why a crate of its own: the generator (`hdl`) builds the hardware from these
//! numbers and the host tool (`host`, later the `compiler`) talks to that hardware
//! with them. If both read them from here, the two sides cannot disagree, and the
//! host tool does not have to depend on the generator (its IR, printer and blocks)
//! to know a command byte. This crate therefore depends on nothing of ours.
//!
//! - [`uart`]: the board's UART protocol: sync bytes, commands, responses, error
//!   codes, frame layout and CRC, the INFO payload, the break length.
//! - [`engine`]: the engine's programming model: registers, descriptor and
//!   channel-record layouts, error codes, limits.
//! - [`VERSION`]: the generator version, which the board reports in INFO and the
//!   host compares with its own.

pub mod engine;
pub mod uart;

/// The generator version: printed into every generated file and manifest
/// (`hdl::VERSION` re-exports it), reported by a board in its INFO payload (see
/// [`uart::version_bytes`]) and compared by the host with its own.
///
/// This is the workspace version (every crate takes `version.workspace = true`), so
/// the generator and the host built from one checkout carry the same string.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

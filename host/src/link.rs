//! The byte pipe to a board: a real serial port (the `host` binary) or the
//! simulated UART pins of a Verilated board (`testbench::uart`). The GEMM
//! routine is written against this trait only, so the same code runs on both.

use std::time::Duration;

/// A failed transfer.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("timed out after {timeout:?}: received {got} of {wanted} bytes")]
    Timeout {
        wanted: usize,
        got: usize,
        timeout: Duration,
    },
    #[error("{0}")]
    Io(String),
}

/// A serial line to a board.
pub trait Link {
    /// Send every byte (returning once they are on their way).
    fn send(&mut self, bytes: &[u8]) -> Result<(), LinkError>;

    /// Fill `buf`, waiting at most `timeout` in total, measured in the link's own
    /// time (wall clock for a port, simulated time for a simulation).
    fn recv_exact(&mut self, buf: &mut [u8], timeout: Duration) -> Result<(), LinkError>;

    /// Hold the line low for at least two frames (a break), which resets the
    /// board, then drop whatever was received before.
    fn send_break(&mut self) -> Result<(), LinkError>;
}

impl<L: Link + ?Sized> Link for &mut L {
    fn send(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        (**self).send(bytes)
    }
    fn recv_exact(&mut self, buf: &mut [u8], timeout: Duration) -> Result<(), LinkError> {
        (**self).recv_exact(buf, timeout)
    }
    fn send_break(&mut self) -> Result<(), LinkError> {
        (**self).send_break()
    }
}

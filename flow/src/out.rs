//! Writing the product (plan, tables, result lines) to stdout.

use std::io::{self, Write};

use crate::error::FlowError;

/// Write the product to stdout; a closed pipe (`flow ... | head`) is not an error.
pub fn print_out(text: &str) -> Result<(), FlowError> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(FlowError::io("cannot write to stdout", e)),
    }
}

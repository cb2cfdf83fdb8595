//! The numbers of the UART wire protocol, re-exported from [`contracts::uart`]
//! where they are defined, so the bridge hardware built here and the `host` crate
//! (which depends on `contracts`, not on the generator) read the same values.
//! `docs/uart-protocol.md` describes the protocol.

pub use contracts::uart::*;

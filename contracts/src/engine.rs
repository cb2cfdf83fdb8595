//! The engine's host interface (empty until the engine lands): its register map
//! (offsets, fields and reset values of the control/status registers the host
//! reads and writes over the register port) and its descriptor format (the
//! in-memory layout of the job descriptors the engine fetches over its memory
//! port).
//!
//! Both go here, not in `hdl`, for the same reason as [`crate::uart`]: the
//! generator builds the engine's decoder from these numbers and the host driver and
//! the compiler write registers and descriptors with them, without depending on the
//! generator.

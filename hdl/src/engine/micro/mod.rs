//! The area-first engine (`EngineConfig::control = Micro`): the same
//! contract as the engine, with its checks and schedule run by a
//! micro-sequencer ([`seq`], program from `useq::program`) instead of state
//! machines, per-layer multipliers and on-chip buffers, for the small FPGAs:
//! [`seq`] the sequencer, `loader` its loader and lanes, [`top`] the rest
//! (fire, tile info into the shared output path, the port, the registers).
//! docs/engine-micro.md is the design.

mod loader;
pub mod seq;
pub mod top;

//! The area-first engine (`EngineConfig::control = Micro`): the same
//! contract as the engine, with its checks and schedule run by a
//! micro-sequencer ([`seq`], program from `useq::program`) instead of state
//! machines, per-layer multipliers and on-chip buffers, for the small FPGAs.

pub mod seq;
pub mod top;

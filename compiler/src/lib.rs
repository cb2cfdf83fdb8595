//! `compiler`: the host side of the conv/FC engine.
//!
//! - [`net`]: the network file (JSON): layers with int8 HWIO weights and
//!   per-channel requantization; FC is the 1x1 case. [`Network::validate`]
//!   names the layer and field of a malformed file.
//! - [`check`]: the engine's descriptor checks, in the RTL's order, with the
//!   contract's error names.
//! - [`compile`](mod@compile): a network to one memory image (descriptor list,
//!   weights, channel records, input, two ping-pong activation regions) and a
//!   map of where everything lives; refuses what the engine would refuse.
//! - [`first_layer`]: the first layer im2col'ed by the host (a 1x1 or
//!   `k_h x 1` layer on a packed input), bit-identical, to fill the array
//!   when the input has few channels.
//! - [`exec`]: an independent functional executor of the programming model,
//!   the byte-for-byte reference for RTL runs.
//! - [`model`]: the analytical cost model (traffic exact, in closed form);
//!   [`timing`]: its cycles, an event model of the engine's schedule.
//!
//! Every offset, size, limit and error code comes from the engine's
//! programming model ([`contracts::engine::ProgrammingModel`], as built in or
//! read from a manifest); nothing here hard-codes them.

pub mod check;
pub mod compile;
pub mod exec;
pub mod first_layer;
pub mod micro;
pub mod model;
pub mod net;
pub mod timing;

pub use check::{Descriptor, Violation};
pub use compile::{
    compile, compile_with, CompileError, CompileOptions, Placement, Program, Region, RegionKind,
};
pub use exec::{run, ExecError, Outcome};
pub use first_layer::{FirstLayer, InputPacker};
pub use model::{layer_cost, program_cost, LayerCost, ModelParams, ProgramCost};
pub use net::{Layer, NetError, Network, Shape};

//! The engine's board top: the conv/FC engine with on-chip memory behind its
//! memory port, in a clock domain of its own, reached over the board's USB UART
//! through the register and memory commands of protocol version 2
//! (`docs/uart-protocol.md`).
//!
//! ```text
//!            bridge clock (clk_in)                 |  engine clock (PLL or pin)
//! uart_rx -> uart_rx -> bridge --req--> cdc ------>|--> access --> csr port --> engine
//! uart_tx <- uart_tx <-   |    <-resp-- (toggle    |      |                      | mem port
//!                         |             handshake) |      +--> host port --> mem <+ (engine first)
//! led     <- heartbeat, busy, error, locked, irq <-|-- irq (2-FF) ---------------/
//! ```
//!
//! One hardware level per file:
//! - [`clocks`]: the bridge clock (the board clock) and the engine clock (a PLL
//!   output, the board clock, or a second input pin for simulation);
//! - [`cdc`]: the toggle handshake that carries one request at a time from the
//!   bridge domain into the engine domain and its answer back, plus the reset
//!   synchronizer of the engine domain;
//! - [`bridge`]: the framed protocol's parser and responder for the engine board;
//! - [`access`]: in the engine domain, turns one request into a register access
//!   or a one-byte memory access;
//! - [`mem`]: the on-chip memory (block RAM) behind the engine's memory port,
//!   shared with the host's accesses (the engine has priority);
//! - [`top`]: pins and wiring.
//!
//! [`EngineBoardConfig`] is the one configuration, validated in one place
//! ([`EngineBoardConfig::derived`]); the derived numbers go to the manifest,
//! with the engine's programming model.

pub mod access;
pub mod bridge;
pub mod cdc;
pub mod clocks;
pub mod mem;
pub mod spram;
pub mod top;

use serde::Serialize;

use crate::array::ArrayConfig;
use crate::engine::{EngineConfig, EngineDerived};
use crate::ir::Design;
use crate::util::clog2;
use crate::{check_name, check_range, ConfigError, GenError, Generated};

use super::pll::{self, ClockPlan};
use super::{BoardDerived, BoardTopConfig, Family, MAX_LEDS};

/// Where the engine's clock comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EngineClock {
    /// A PLL output at `engine_hz` (the board clock itself when equal: no PLL).
    Pll,
    /// A second input pin, `clk_engine`, of nominal frequency `engine_hz`: for
    /// simulation (the testbench drives two unrelated clocks) or a board with a
    /// second oscillator.
    Pin,
}

/// How an iCE40 PLL gets the board clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PllInput {
    /// `clk_in` is the PLL's own pad (iCEBreaker's pin 35): `SB_PLL40_2_PAD`,
    /// whose port A passes the pad's clock on to the bridge.
    Pad,
    /// `clk_in` is an ordinary global input (the HX8K breakout's J3):
    /// `SB_PLL40_CORE` fed from its global net.
    Fabric,
}

/// What the memory behind the engine is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MemKind {
    /// Inferred block RAM (any family), `mem_bytes` a power of two.
    BlockRam,
    /// The iCE40 UltraPlus `SB_SPRAM256KA`s: 64 KB (two) or 128 KB (all four
    /// of a UP5K), with a 32-bit memory port.
    Spram,
}

/// User-facing parameters of the engine board top.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EngineBoardConfig {
    /// Top module name; sub-modules are prefixed with it (default `board_top`).
    pub name: String,
    pub family: Family,
    /// Frequency of the board oscillator on `clk_in`, in Hz; the bridge and the
    /// UART run on it.
    pub clock_in_hz: u64,
    /// The engine's clock in Hz (requested PLL output, or the pin's frequency).
    pub engine_hz: u64,
    pub engine_clock: EngineClock,
    /// iCE40 only: whether `clk_in` is the PLL's pad.
    pub pll_input: PllInput,
    /// UART baud rate (8N1), from the board clock.
    pub baud: u32,
    /// The engine behind the bridge.
    pub engine: EngineConfig,
    /// Bytes of on-chip memory behind the engine's memory port, a power of
    /// two. The engine is built with its address space narrowed to it
    /// ([`EngineBoardConfig::built_engine`]): an address past the memory is
    /// refused (`address_wrap`), not wrapped onto it.
    pub mem_bytes: u32,
    pub memory: MemKind,
    /// Width of the `led` port: heartbeat, busy, error, PLL locked, engine irq,
    /// then unused (off).
    pub leds: u32,
    /// Bit i set: LED i lights when its pin is low.
    pub led_active_low: u32,
}

impl Default for EngineBoardConfig {
    /// An iCE40 board with a 12 MHz oscillator, the engine on the same clock
    /// (no PLL), 115200 baud, a 4 x 4 engine with a 32-bit memory port and
    /// small buffers, 8 KB of memory and five LEDs.
    fn default() -> Self {
        EngineBoardConfig {
            name: "board_top".into(),
            family: Family::Ice40,
            clock_in_hz: 12_000_000,
            engine_hz: 12_000_000,
            engine_clock: EngineClock::Pll,
            pll_input: PllInput::Pad,
            baud: 115_200,
            engine: small_engine(4, 4),
            mem_bytes: 8192,
            memory: MemKind::BlockRam,
            leds: 5,
            led_active_low: 0,
        }
    }
}

/// An engine sized for a board: a 32-bit memory port (four bytes per block RAM
/// word pair), a memory of latency 1 (so 4 reads in flight keep the port busy),
/// buffers that hold the digits networks' layers, and the output path's
/// second stage (`out_pipe`: on the ULX3S the engine's Fmax goes from 23.5 to
/// 37.3 MHz at 4x4 for 3 more cycles per digits-cnn image, docs/measurements.md),
/// and the staging ring in block RAM (`staging_ram`: same cycles, 0.8k fewer
/// logic cells on the icebreaker, 4.5k on the ULX3S at 4x4, docs/engine.md).
pub fn small_engine(rows: u32, cols: u32) -> EngineConfig {
    EngineConfig {
        name: "engine".into(),
        rows,
        cols,
        mem_bits: 32,
        max_inflight: 4,
        ibuf_bytes: 1024,
        wbuf_rows: 256,
        out_pipe: true,
        staging_ram: true,
        ..EngineConfig::default()
    }
}

/// What each LED shows, in bit order.
pub const LED_MEANINGS: [&str; 5] = [
    "heartbeat (bridge clock runs)",
    "busy (a request is in progress)",
    "error (an error response was sent or a byte was dropped since reset)",
    "PLL locked",
    "engine irq (status.done or status.error)",
];

/// Largest memory: 2^20 words of the RAM part.
pub const MAX_MEM_WORDS: u64 = 1 << 20;

/// Numbers derived from an [`EngineBoardConfig`]; written to the manifest.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EngineBoardDerived {
    /// The bridge's clock: the board clock, no PLL.
    pub bridge_clock: ClockPlan,
    /// The engine's clock ([`EngineClock::Pin`]: the pin's nominal frequency).
    pub engine_clock: ClockPlan,
    pub engine_clock_source: &'static str,
    /// Bridge clocks per UART bit: round(board clock / baud).
    pub clks_per_bit: u32,
    pub baud_actual: f64,
    pub baud_error_ppm: f64,
    pub break_cycles: u32,
    pub por_cycles: u32,
    pub heartbeat_bits: u32,
    pub protocol_version: u8,
    /// Words of the memory (mem_bytes / (mem_bits / 8)) and their address bits.
    pub mem_words: u32,
    pub mem_addr_bits: u32,
    /// The engine's byte address bits as built (`limits.addr_bits` in the
    /// manifest): `min(engine.addr_bits, log2(mem_bytes))`, at least
    /// [`crate::engine::config::MIN_ADDR_BITS`].
    pub engine_addr_bits: u32,
    /// Flip-flops of every synchronizer between the two clock domains.
    pub sync_stages: u32,
    /// What each bit of `led` shows.
    pub leds: Vec<String>,
    pub engine: EngineDerived,
    /// The numbers the UART blocks (shared with the array's board top) use.
    #[serde(skip)]
    pub uart: BoardDerived,
}

impl EngineBoardConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.derived().map(|_| ())
    }

    /// The bridge half as the array board's configuration, so the receiver,
    /// transmitter and reset blocks are the same ones (the array in it is a
    /// placeholder that is never built).
    pub fn bridge_side(&self) -> BoardTopConfig {
        BoardTopConfig {
            name: self.name.clone(),
            family: self.family,
            clock_in_hz: self.clock_in_hz,
            target_hz: self.clock_in_hz,
            baud: self.baud,
            array: ArrayConfig {
                rows: 1,
                cols: 1,
                name: format!("{}_unused", self.engine.name),
                ..ArrayConfig::default()
            },
            leds: self.leds,
            led_active_low: self.led_active_low,
        }
    }

    /// Validate and derive every number the hardware uses.
    pub fn derived(&self) -> Result<EngineBoardDerived, ConfigError> {
        check_name("name", &self.name)?;
        self.engine.validate().map_err(super::nested("engine"))?;
        let (a, b) = (&self.engine.name, &self.name);
        if a == b || a.starts_with(&format!("{b}_")) || b.starts_with(&format!("{a}_")) {
            return Err(ConfigError::new(
                "engine.name",
                format!(
                    "must differ from name `{b}` and neither may start with the other followed by `_` (each prefixes its modules)"
                ),
                format!("`{a}`"),
            ));
        }
        check_range("leds", self.leds.into(), 1, MAX_LEDS.into())?;
        check_range("engine_hz", self.engine_hz, 1_000, 1_000_000_000)?;
        let uart = self.bridge_side().derived()?;
        let engine_clock = match self.engine_clock {
            EngineClock::Pin => pll::plan_for(self.family, self.engine_hz, self.engine_hz)?,
            EngineClock::Pll => pll::plan_for(self.family, self.clock_in_hz, self.engine_hz)
                .map_err(|mut e| {
                    e.param = "engine_hz".into();
                    e
                })?,
        };
        let source = match (self.engine_clock, engine_clock.pll) {
            (EngineClock::Pin, _) => "pin clk_engine",
            (_, pll::Pll::Bypass) => "board clock clk_in",
            (_, pll::Pll::Ice40(_)) if self.pll_input == PllInput::Fabric => "SB_PLL40_CORE",
            (_, pll::Pll::Ice40(_)) => "SB_PLL40_2_PAD port B",
            (_, pll::Pll::Ecp5(_)) => "EHXPLLL CLKOP",
        };
        let mb = u64::from(self.engine.mem_bits / 8);
        let bytes = u64::from(self.mem_bytes);
        if !bytes.is_power_of_two() || bytes < 2 * mb || bytes / mb > MAX_MEM_WORDS {
            return Err(ConfigError::new(
                "mem_bytes",
                format!(
                    "must be a power of two of 2..={MAX_MEM_WORDS} memory words ({mb} bytes each)"
                ),
                self.mem_bytes,
            ));
        }
        if self.memory == MemKind::Spram
            && (self.family != Family::Ice40
                || self.engine.mem_bits != 32
                || ![65536, 131072].contains(&self.mem_bytes))
        {
            return Err(ConfigError::new(
                "memory",
                format!(
                    "spram needs family ice40 (an UltraPlus part), engine.mem_bits 32 and mem_bytes 65536 or 131072; got {:?}, {} and {}",
                    self.family, self.engine.mem_bits, self.mem_bytes
                ),
                "spram",
            ));
        }
        let words = (bytes / mb) as u32;
        Ok(EngineBoardDerived {
            bridge_clock: uart.clock,
            engine_clock,
            engine_clock_source: source,
            clks_per_bit: uart.clks_per_bit,
            baud_actual: uart.baud_actual,
            baud_error_ppm: uart.baud_error_ppm,
            break_cycles: uart.break_cycles,
            por_cycles: uart.por_cycles,
            heartbeat_bits: uart.heartbeat_bits,
            protocol_version: super::protocol::PROTOCOL_VERSION,
            mem_words: words,
            mem_addr_bits: clog2(u64::from(words)).max(1),
            engine_addr_bits: self.built_engine().addr_bits,
            sync_stages: cdc::SYNC_STAGES,
            leds: super::led_list(self.leds, &LED_MEANINGS),
            engine: self.engine.derived(),
            uart,
        })
    }

    /// The engine as built: `engine` with its address space narrowed to the
    /// memory (`addr_bits = min(engine.addr_bits, log2(mem_bytes))`, at least
    /// [`crate::engine::config::MIN_ADDR_BITS`]), so its address registers are
    /// no wider than the memory needs and a stray address is an error.
    pub fn built_engine(&self) -> EngineConfig {
        let mem_bits = clog2(u64::from(self.mem_bytes)).max(crate::engine::config::MIN_ADDR_BITS);
        EngineConfig {
            addr_bits: self.engine.addr_bits.min(mem_bits),
            ..self.engine.clone()
        }
    }

    /// Name of a sub-module of the board top.
    pub fn sub(&self, what: &str) -> String {
        super::sub_name(&self.name, what)
    }
}

/// Elaborate the engine board top described by `cfg` (validating it first).
pub fn design(cfg: &EngineBoardConfig) -> Result<Design, GenError> {
    let d = cfg.derived()?;
    let engine = crate::engine::design(&cfg.built_engine())?;
    let bside = cfg.bridge_side();
    let mut design = Design::new(cfg.name.clone());
    let clock = clocks::build(cfg, &d, &mut design)?;
    let super::UartBlocks { reset, rx, tx } = super::UartBlocks::build(&bside, &d.uart);
    let bridge = bridge::build(cfg, &d);
    let req_cdc = cdc::build(&cfg.sub("cdc"), cdc::REQ_BITS, cdc::RESP_BITS)?;
    let rst_sync = cdc::reset_sync(&cfg.sub("engine_reset"));
    let access = access::build(cfg, &d);
    let memory = mem::build(cfg, &d, &mut design)?;
    let engine_top = engine.top_module().ok_or_else(|| {
        GenError::Internal(format!("engine design has no top module {}", engine.top))
    })?;
    let top = top::build(
        cfg,
        &d,
        top::Blocks {
            clock: &clock,
            reset: &reset,
            uart_rx: &rx,
            uart_tx: &tx,
            bridge: &bridge,
            cdc: &req_cdc,
            rst_sync: &rst_sync,
            access: &access,
            mem: &memory.top,
            engine: engine_top,
        },
    )?;
    design.include(top)?;
    for m in [clock, reset, rx, tx, bridge, req_cdc, rst_sync, access] {
        design.include(m)?;
    }
    design.include(memory.top)?;
    for m in memory.modules {
        design.include(m)?;
    }
    super::include_all(&mut design, engine)?;
    Ok(design)
}

/// Generate the engine board top: design, Verilog and a manifest that carries
/// the engine's programming model at its top level (as `gen --top engine` does).
pub fn generate(cfg: &EngineBoardConfig) -> Result<Generated, GenError> {
    let derived = cfg.derived()?;
    let mut g = Generated::from_design("engine_board", cfg, &derived, design(cfg)?)?;
    if let serde_json::Value::Object(map) =
        serde_json::to_value(cfg.built_engine().programming_model())
            .map_err(|e| GenError::Internal(format!("programming model: {e}")))?
    {
        g.manifest.extra = map;
    }
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_name_the_parameter_and_value() {
        let base = EngineBoardConfig::default();
        let e = EngineBoardConfig {
            mem_bytes: 3000,
            ..base.clone()
        }
        .validate()
        .expect_err("not a power of two");
        assert_eq!(e.param, "mem_bytes");
        assert!(e.to_string().ends_with("got 3000"), "{e}");
        let mut c = base.clone();
        c.engine.name = "board_top_x".into();
        assert_eq!(c.validate().expect_err("prefix").param, "engine.name");
        let mut c = base.clone();
        c.engine.rows = 0;
        assert_eq!(c.validate().expect_err("rows").param, "engine.rows");
        let e = EngineBoardConfig {
            engine_hz: 2_000_000_000,
            ..base.clone()
        }
        .validate()
        .expect_err("engine clock");
        assert_eq!(e.param, "engine_hz");
        let e = EngineBoardConfig {
            baud: 3_000_000,
            ..base
        }
        .validate()
        .expect_err("baud");
        assert_eq!(e.param, "baud");
    }

    #[test]
    fn the_engine_is_built_with_the_memory_address_bits() {
        let at = |mem_bytes: u32, addr_bits: u32| {
            let mut c = EngineBoardConfig {
                mem_bytes,
                ..EngineBoardConfig::default()
            };
            c.engine.addr_bits = addr_bits;
            let d = c.derived().unwrap_or_else(|e| panic!("{e}"));
            let built = c.built_engine();
            assert_eq!(built.addr_bits, d.engine_addr_bits);
            let g = generate(&c).unwrap_or_else(|e| panic!("{e}"));
            let limits = serde_json::to_value(&g.manifest)
                .ok()
                .and_then(|m| m.pointer("/limits/addr_bits").and_then(|v| v.as_u64()));
            assert_eq!(limits, Some(u64::from(built.addr_bits)), "manifest");
            built.addr_bits
        };
        // 8 KiB: 13 bits; 128 KiB: 17; a narrower engine keeps its own; a
        // memory below 4 KiB still gets the engine's least (12).
        assert_eq!(at(8192, 32), 13);
        assert_eq!(at(131072, 32), 17);
        assert_eq!(at(131072, 14), 14);
        assert_eq!(at(1024, 32), crate::engine::config::MIN_ADDR_BITS);
    }

    #[test]
    fn derived_numbers() {
        let c = EngineBoardConfig {
            engine_hz: 30_000_000,
            ..EngineBoardConfig::default()
        };
        let d = c.derived().expect("valid");
        assert_eq!(d.engine_clock.achieved_hz, 30_000_000);
        assert_eq!(d.bridge_clock.achieved_hz, 12_000_000);
        assert_eq!(d.clks_per_bit, 104);
        // 8 KB of 32-bit words.
        assert_eq!((d.mem_words, d.mem_addr_bits), (2048, 11));
        assert_eq!(d.engine_clock_source, "SB_PLL40_2_PAD port B");
    }
}

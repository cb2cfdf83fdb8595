//! The board top-level: what turns the generated systolic array into a bitstream a
//! person can load and talk to over the board's USB UART, with open tools only.
//!
//! One hardware level per file:
//! - [`pll`]: the core clock (iCE40 `SB_PLL40_PAD` or ECP5 `EHXPLLL`, or none when
//!   the target is the board clock), divider settings computed here;
//! - [`reset`]: power-on reset after PLL lock (and after a UART break), heartbeat;
//! - [`uart_rx`], [`uart_tx`]: 8N1 serial receiver and transmitter;
//! - [`bridge`]: the framed protocol ([`protocol`], `docs/uart-protocol.md`):
//!   parses requests, streams GEMM beats into the array, frames result rows;
//! - [`top`]: the pins (`clk_in`, `uart_rx`, `uart_tx`, `led`) and the wiring;
//! - [`engine`]: the conv/FC engine's board top (on-chip memory, its own clock
//!   domain, the register and memory commands), built from the same UART,
//!   reset and PLL blocks.
//!
//! [`BoardTopConfig`] is the one configuration, validated in one place
//! ([`BoardTopConfig::derived`]); every number the hardware uses (achieved clock,
//! clocks per UART bit, counter lengths) is derived there and written to the
//! manifest.

pub mod bridge;
mod common;
pub mod engine;
mod frame;
pub mod pll;
pub mod protocol;
pub mod reset;
pub mod top;
pub mod uart_rx;
pub mod uart_tx;

use serde::Serialize;

use crate::array::{ArrayConfig, ArrayDerived};
use crate::ir::{Const, Design, Expr, Reset, SignalId, Ty};
use crate::{check_name, check_range, ConfigError, GenError, Generated};

pub use pll::{ClockPlan, Pll};

/// FPGA family: decides the PLL primitive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Lattice iCE40 (icestorm + nextpnr-ice40).
    Ice40,
    /// Lattice ECP5 (prjtrellis + nextpnr-ecp5).
    Ecp5,
}

/// User-facing parameters of the board top-level.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BoardTopConfig {
    /// Top module name; sub-modules are prefixed with it (default `board_top`).
    pub name: String,
    pub family: Family,
    /// Frequency of the board oscillator on `clk_in`, in Hz.
    pub clock_in_hz: u64,
    /// Requested core clock in Hz; equal to `clock_in_hz` means no PLL.
    pub target_hz: u64,
    /// UART baud rate (8N1).
    pub baud: u32,
    /// The systolic array behind the bridge.
    pub array: ArrayConfig,
    /// Width of the `led` port: heartbeat, busy, error, PLL locked, then unused (off).
    pub leds: u32,
    /// Bit i set: LED i lights when its pin is low (the iCEBreaker's red and green
    /// LEDs), so the top inverts it and every LED reads "on = true".
    pub led_active_low: u32,
}

impl Default for BoardTopConfig {
    /// An iCE40 board with a 12 MHz oscillator (iCEBreaker), no PLL, 115200 baud,
    /// a 4 x 4 array and four LEDs.
    fn default() -> Self {
        BoardTopConfig {
            name: "board_top".into(),
            family: Family::Ice40,
            clock_in_hz: 12_000_000,
            target_hz: 12_000_000,
            baud: 115_200,
            array: ArrayConfig {
                rows: 4,
                cols: 4,
                name: "systolic_array".into(),
                ..ArrayConfig::default()
            },
            leds: 4,
            led_active_low: 0,
        }
    }
}

/// Fewest core clocks per UART bit: the receiver samples mid-bit and needs room.
pub const MIN_CLKS_PER_BIT: u32 = 8;
/// Largest tolerated difference between the requested and the achieved baud rate,
/// in parts per million: 8N1 framing tolerates about 4% total between the two ends.
pub const MAX_BAUD_ERROR_PPM: f64 = 20_000.0;
/// Width of the `led` port: 1..=MAX_LEDS.
pub const MAX_LEDS: u32 = 16;
/// Reset lasts 2^POR_BITS core clocks after PLL lock: the lock is the slow part, the
/// counter only guarantees a clean multi-cycle reset.
pub const POR_BITS: u32 = 8;
/// `uart_rx` held low this many bit times is a break (a reset); the host sends it.
pub use contracts::uart::BREAK_BITS;
/// What each LED shows, in bit order.
pub const LED_MEANINGS: [&str; 4] = [
    "heartbeat (core clock runs)",
    "busy (a request is in progress)",
    "error (an error response was sent or a byte was dropped since reset)",
    "PLL locked",
];

/// Numbers derived from a [`BoardTopConfig`]; written to the manifest.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BoardDerived {
    pub clock: ClockPlan,
    /// Core clocks per UART bit: round(achieved clock / baud).
    pub clks_per_bit: u32,
    /// Baud rate the board really runs at: achieved clock / clks_per_bit.
    pub baud_actual: f64,
    pub baud_error_ppm: f64,
    /// Core clocks of a low `uart_rx` that make a break (reset).
    pub break_cycles: u32,
    /// Core clocks of reset after lock or break.
    pub por_cycles: u32,
    /// Width of the heartbeat counter: its top bit toggles about once a second.
    pub heartbeat_bits: u32,
    pub protocol_version: u8,
    /// Largest K of one GEMM request frame.
    pub max_k: u32,
    /// What each bit of `led` shows.
    pub leds: Vec<String>,
    pub array: ArrayDerived,
}

impl BoardTopConfig {
    /// Check every rule; the error names the rule and the value.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.derived().map(|_| ())
    }

    /// Validate and derive every number the hardware uses.
    pub fn derived(&self) -> Result<BoardDerived, ConfigError> {
        check_name("name", &self.name)?;
        self.array.validate().map_err(nested("array"))?;
        if self.array.name == self.name || self.array.name.starts_with(&format!("{}_", self.name)) {
            return Err(ConfigError::new(
                "array.name",
                format!(
                    "must differ from name `{}` and not start with `{}_` (the board's own modules use that prefix)",
                    self.name, self.name
                ),
                format!("`{}`", self.array.name),
            ));
        }
        check_range("clock_in_hz", self.clock_in_hz, 1_000, 1_000_000_000)?;
        check_range("target_hz", self.target_hz, 1_000, 1_000_000_000)?;
        check_range("leds", self.leds.into(), 1, MAX_LEDS.into())?;
        if self.baud == 0 || u64::from(self.baud) * u64::from(MIN_CLKS_PER_BIT) > self.target_hz {
            return Err(ConfigError::new(
                "baud",
                format!(
                    "must be in 1..=target_hz/{MIN_CLKS_PER_BIT} = {} (at least {MIN_CLKS_PER_BIT} clocks per bit)",
                    self.target_hz / u64::from(MIN_CLKS_PER_BIT)
                ),
                self.baud,
            ));
        }
        let clock = pll::plan(self)?;
        // clks_per_bit = round(achieved / baud), in exact arithmetic.
        let (num, den) = (
            u128::from(clock.achieved.num),
            u128::from(clock.achieved.den) * u128::from(self.baud),
        );
        let cpb = (num + den / 2) / den;
        let cpb = u32::try_from(cpb).unwrap_or(u32::MAX);
        let baud_actual = clock.achieved.f64() / f64::from(cpb.max(1));
        let baud_error_ppm = (baud_actual - f64::from(self.baud)) / f64::from(self.baud) * 1e6;
        if cpb < MIN_CLKS_PER_BIT || baud_error_ppm.abs() > MAX_BAUD_ERROR_PPM {
            return Err(ConfigError::new(
                "baud",
                format!(
                    "must be within {:.0}% of achieved clock / N for an integer N >= {MIN_CLKS_PER_BIT}; at the achieved {} Hz the closest is {baud_actual:.0} baud (N = {cpb}, {:+.2}%)",
                    MAX_BAUD_ERROR_PPM / 1e4,
                    clock.achieved_hz,
                    baud_error_ppm / 1e4
                ),
                self.baud,
            ));
        }
        let (rows, cols) = (self.array.rows as usize, self.array.cols as usize);
        Ok(BoardDerived {
            clks_per_bit: cpb,
            baud_actual,
            baud_error_ppm,
            break_cycles: BREAK_BITS * cpb,
            por_cycles: 1 << POR_BITS,
            heartbeat_bits: crate::util::clog2(clock.achieved_hz).max(1),
            protocol_version: protocol::PROTOCOL_VERSION,
            max_k: protocol::max_k(rows, cols) as u32,
            leds: led_list(self.leds, &LED_MEANINGS),
            array: self.array.derived(),
            clock,
        })
    }

    /// Name of a sub-module of the board top.
    pub fn sub(&self, what: &str) -> String {
        sub_name(&self.name, what)
    }
}

/// Rename a nested configuration's error to its path in the board's
/// configuration (`rows` -> `array.rows`).
pub(crate) fn nested(prefix: &str) -> impl FnOnce(ConfigError) -> ConfigError + '_ {
    move |mut e| {
        e.param = format!("{prefix}.{}", e.param);
        e
    }
}

/// Name of the sub-module `what` of the top `top`: every board module is
/// prefixed with its top's name.
pub(crate) fn sub_name(top: &str, what: &str) -> String {
    format!("{top}_{what}")
}

/// What each of `leds` LEDs shows, from a top's list of meanings (`off` past
/// its end): the manifest's `leds` and the top's header comments.
pub(crate) fn led_list(leds: u32, meanings: &[&str]) -> Vec<String> {
    (0..leds as usize)
        .map(|i| meanings.get(i).copied().unwrap_or("off").to_string())
        .collect()
}

/// The bridge-side blocks both board tops share, built from one
/// configuration: power-on/break reset, UART receiver and transmitter.
pub(crate) struct UartBlocks {
    pub reset: crate::ir::Module,
    pub rx: crate::ir::Module,
    pub tx: crate::ir::Module,
}

impl UartBlocks {
    pub(crate) fn build(cfg: &BoardTopConfig, d: &BoardDerived) -> Self {
        UartBlocks {
            reset: reset::build(cfg, d),
            rx: uart_rx::build(cfg, d),
            tx: uart_tx::build(cfg, d),
        }
    }
}

/// Elaborate the board top described by `cfg` (validating `cfg` first).
pub fn design(cfg: &BoardTopConfig) -> Result<Design, GenError> {
    let d = cfg.derived()?;
    let array = crate::array::design(&cfg.array)?;
    let mut design = Design::new(cfg.name.clone());
    let clock = pll::build(cfg, &d.clock, &mut design)?;
    let UartBlocks { reset, rx, tx } = UartBlocks::build(cfg, &d);
    let bridge = bridge::build(cfg, &d);
    let array_top = array.top_module().ok_or_else(|| {
        GenError::Internal(format!("array design has no top module {}", array.top))
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
            array: array_top,
        },
    )?;
    design.include(top)?;
    for m in [clock, reset, rx, tx, bridge] {
        design.include(m)?;
    }
    include_all(&mut design, array)?;
    Ok(design)
}

/// Add every module and primitive of `sub` (the design of the block behind a
/// board top's bridge) to `design`.
pub(crate) fn include_all(design: &mut Design, sub: Design) -> Result<(), GenError> {
    for m in sub.modules {
        design.include(m)?;
    }
    for e in sub.externs {
        design.add_extern(e);
    }
    Ok(())
}

/// Generate the board top: design, Verilog and manifest.
pub fn generate(cfg: &BoardTopConfig) -> Result<Generated, GenError> {
    let derived = cfg.derived()?;
    Generated::from_design("board_top", cfg, &derived, design(cfg)?)
}

/// `value` as an unsigned constant expression of `width` bits.
pub(crate) fn k(width: u32, value: u64) -> Expr {
    Expr::uconst(width, u128::from(value))
}

/// Nested muxes, now in the shared library.
pub(crate) use crate::parts::ops::priority;

/// Synchronous reset of a `width`-bit control register to `value`.
pub(crate) fn reset_to(rst: SignalId, width: u32, value: u64) -> Option<Reset> {
    Some(Reset {
        rst,
        value: Const {
            ty: Ty::u(width),
            bits: u128::from(value),
        },
    })
}

/// Byte `idx - offset` of `bytes` (zero outside), as an AND-OR tree: each byte is
/// gated by a compare of `idx` with its own constant, which maps to LUTs better
/// than a shifter and needs no subtractor.
pub(crate) fn select_byte(bytes: Vec<Expr>, idx: Expr, idx_bits: u32, offset: u64) -> Expr {
    // A zero byte adds nothing to the OR: leave its term out.
    let terms = bytes
        .into_iter()
        .enumerate()
        .filter(|(_, b)| !matches!(b, Expr::Const(c) if c.bits == 0))
        .map(|(i, b)| {
            let hit = idx.clone().cmp_eq(k(idx_bits, offset + i as u64));
            Expr::mux(hit, b, k(8, 0))
        })
        .collect();
    Expr::or_all(terms, Ty::u(8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_name_the_parameter_and_value() {
        let base = BoardTopConfig::default();
        let e = BoardTopConfig {
            baud: 3_000_000,
            ..base.clone()
        }
        .validate()
        .expect_err("too fast");
        assert_eq!(
            e.to_string(),
            "baud must be in 1..=target_hz/8 = 1500000 (at least 8 clocks per bit), got 3000000"
        );
        let e = BoardTopConfig {
            leds: 0,
            ..base.clone()
        }
        .validate()
        .expect_err("no LED");
        assert_eq!(e.to_string(), "leds must be in 1..=16, got 0");
        let mut c = base.clone();
        c.array.rows = 0;
        assert_eq!(c.validate().expect_err("rows").param, "array.rows");
        let mut c = base.clone();
        c.array.name = "board_top_bridge".into();
        assert_eq!(c.validate().expect_err("prefix").param, "array.name");
        // 12 MHz / 1_000_000 baud = 12 clocks per bit: fine; 1_400_000 -> 8.57 rounds to
        // 9 clocks = 1.333 Mbaud, 4.8% off: refused.
        let ok = BoardTopConfig {
            baud: 1_000_000,
            ..base.clone()
        };
        assert_eq!(ok.derived().expect("valid").clks_per_bit, 12);
        let e = BoardTopConfig {
            baud: 1_400_000,
            ..base
        }
        .validate()
        .expect_err("baud error");
        assert!(e.rule.contains("within 2%"), "{e}");
    }

    /// iCEBreaker (12 -> 30 MHz), ULX3S (25 -> 100 MHz) and a PLL-less simulation build
    /// all pass the IR checks; the PLL settings are printed as instance parameters.
    #[test]
    fn generates_every_clocking() {
        let ice = BoardTopConfig {
            target_hz: 30_000_000,
            ..BoardTopConfig::default()
        };
        let g = generate(&ice).unwrap_or_else(|e| panic!("{e}"));
        for needle in [
            "SB_PLL40_PAD #(",
            ".DIVF(7'd79),",
            ".DIVQ(3'd5),",
            "f_vco = f_pfd * (DIVF+1) = 12 MHz * 80 = 960 MHz",
        ] {
            assert!(g.verilog.contains(needle), "missing {needle:?}");
        }
        let ecp = BoardTopConfig {
            family: Family::Ecp5,
            clock_in_hz: 25_000_000,
            target_hz: 100_000_000,
            array: ArrayConfig {
                rows: 8,
                cols: 8,
                name: "systolic_array".into(),
                pipeline: 4,
                dsp_cell: crate::array::DspCell::Ecp5,
                ..ArrayConfig::default()
            },
            ..BoardTopConfig::default()
        };
        let g = generate(&ecp).unwrap_or_else(|e| panic!("{e}"));
        for needle in [
            "MULT18X18D #(",
            "EHXPLLL #(",
            ".CLKOP_DIV(6),",
            ".CLKFB_DIV(4),",
            ".CLKOP_CPHASE(2),",
            ".FEEDBK_PATH(\"CLKOP\")",
            "(* FREQUENCY_PIN_CLKOP = \"100\" *)",
            "(* ICP_CURRENT = \"12\" *)",
        ] {
            assert!(g.verilog.contains(needle), "missing {needle:?}");
        }
        assert_eq!(g.manifest.derived["clock"]["achieved_hz"], 100_000_000);
        let sim = BoardTopConfig {
            clock_in_hz: 1_000_000,
            target_hz: 1_000_000,
            baud: 125_000,
            array: ArrayConfig {
                rows: 1,
                cols: 1,
                name: "systolic_array".into(),
                ..ArrayConfig::default()
            },
            leds: 6,
            ..BoardTopConfig::default()
        };
        let g = generate(&sim).unwrap_or_else(|e| panic!("{e}"));
        assert!(!g.verilog.contains("PLL40"));
        assert_eq!(g.manifest.derived["clks_per_bit"], 8);
    }

    #[test]
    fn uart_divider_uses_the_achieved_clock() {
        // iCEBreaker 12 MHz -> 30 MHz (exact), 115200 baud: 260 clocks per bit.
        let c = BoardTopConfig {
            target_hz: 30_000_000,
            ..BoardTopConfig::default()
        };
        let d = c.derived().expect("valid");
        assert_eq!(d.clock.achieved_hz, 30_000_000);
        assert_eq!(d.clks_per_bit, 260);
        assert!(
            (d.baud_error_ppm - 1602.56).abs() < 0.1,
            "{}",
            d.baud_error_ppm
        );
    }
}

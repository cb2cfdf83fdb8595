//! The engine board's two clocks: the bridge runs on the board clock `clk_in`
//! (the UART divider needs nothing faster), the engine on its own clock, so the
//! engine runs at its own Fmax whatever the bridge's is.
//!
//! - iCE40 with a PLL on its pad: `SB_PLL40_2_PAD`, whose port A passes the
//!   pad's clock through to a global net (a pad feeding a PLL cannot also
//!   drive the fabric) and port B is the PLL's output; with the clock on an
//!   ordinary pin ([`PllInput::Fabric`]): `SB_PLL40_CORE` from its global net;
//! - ECP5 with a PLL: `EHXPLLL`'s `CLKOP`; the fabric takes `clk_in` directly;
//! - no PLL (`engine_hz` = `clock_in_hz`): both domains on `clk_in` (the
//!   crossing is still there; it just crosses between equal clocks);
//! - [`EngineClock::Pin`]: the engine clock is the input `clk_engine`
//!   (simulation drives two unrelated clocks through it).

use crate::ir::{Design, Expr, Module, Ty};
use crate::GenError;

use super::super::pll::{self, Pll, Sb40};
use super::{EngineBoardConfig, EngineBoardDerived, EngineClock, PllInput};

/// Build `<name>_clocks`: `clk_in` (and `clk_engine` with a pin clock) in;
/// `clk_bridge`, `clk_engine_out`, `locked` out.
pub fn build(
    cfg: &EngineBoardConfig,
    d: &EngineBoardDerived,
    design: &mut Design,
) -> Result<Module, GenError> {
    let mut m = Module::new(cfg.sub("clocks"));
    m.doc("Bridge clock = board clock; engine clock from the PLL, the board clock or a pin.")
        .doc(format!("Engine clock: {}.", d.engine_clock_source));
    if cfg.engine_clock == EngineClock::Pll {
        for line in pll::arithmetic(&d.engine_clock) {
            m.doc(line);
        }
    }
    let clk_in = m.input("clk_in", Ty::bit(), Some("Board clock"), "");
    let pin = (cfg.engine_clock == EngineClock::Pin).then(|| {
        m.input(
            "clk_engine",
            Ty::bit(),
            None,
            &format!("engine clock pin, {} Hz", cfg.engine_hz),
        )
    });
    let clk_bridge = m.output(
        "clk_bridge",
        Ty::bit(),
        Some("Clocks"),
        &format!("{} Hz", d.bridge_clock.achieved_hz),
    );
    let clk_engine = m.output(
        "clk_engine_out",
        Ty::bit(),
        None,
        &format!("{} Hz", d.engine_clock.achieved_hz),
    );
    let locked = m.output(
        "locked",
        Ty::bit(),
        None,
        "PLL locked (asynchronous to both clocks)",
    );
    match (pin, d.engine_clock.pll) {
        (Some(pin), _) => {
            m.assign(clk_bridge, clk_in);
            m.assign(clk_engine, pin);
            m.assign(locked, Expr::bit(true));
        }
        (None, Pll::Bypass) => {
            m.assign(clk_bridge, clk_in);
            m.assign(clk_engine, clk_in);
            m.assign(locked, Expr::bit(true));
        }
        (None, Pll::Ice40(p)) if cfg.pll_input == PllInput::Fabric => {
            m.assign(clk_bridge, clk_in);
            Sb40::Core.instantiate(&mut m, design, &p, clk_in, &[clk_engine], locked)?;
        }
        (None, Pll::Ice40(p)) => {
            // Port A passes the pad's clock on to the bridge.
            Sb40::TwoPad.instantiate(
                &mut m,
                design,
                &p,
                clk_in,
                &[clk_bridge, clk_engine],
                locked,
            )?;
        }
        (None, Pll::Ecp5(p)) => {
            m.assign(clk_bridge, clk_in);
            pll::ecp5_instance(
                &mut m,
                design,
                &d.engine_clock,
                &p,
                clk_in,
                clk_engine,
                locked,
            )?;
        }
    }
    Ok(m)
}

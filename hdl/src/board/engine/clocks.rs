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

use crate::ir::{Conn, Design, Expr, Module, ParamValue, Ty};

use super::super::pll::{self, bits, text, Pll};
use super::{EngineBoardConfig, EngineBoardDerived, EngineClock, PllInput};

/// Build `<name>_clocks`: `clk_in` (and `clk_engine` with a pin clock) in;
/// `clk_bridge`, `clk_engine_out`, `locked` out.
pub fn build(cfg: &EngineBoardConfig, d: &EngineBoardDerived, design: &mut Design) -> Module {
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
    let conn = |p: &str, e: Expr| (p.to_string(), Conn::In(e));
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
            design.add_extern(pll::sb_pll40_core());
            let params: Vec<(String, ParamValue)> = vec![
                ("FEEDBACK_PATH".into(), text("SIMPLE")),
                ("PLLOUT_SELECT".into(), text("GENCLK")),
                ("DIVR".into(), bits(4, p.divr)),
                ("DIVF".into(), bits(7, p.divf)),
                ("DIVQ".into(), bits(3, p.divq)),
                ("FILTER_RANGE".into(), bits(3, p.filter_range)),
            ];
            let conns = vec![
                conn("REFERENCECLK", clk_in.into()),
                conn("RESETB", Expr::bit(true)),
                conn("BYPASS", Expr::bit(false)),
                ("PLLOUTGLOBAL".into(), Conn::Out(clk_engine)),
                ("LOCK".into(), Conn::Out(locked)),
            ];
            m.assign(clk_bridge, clk_in);
            m.extern_instance("SB_PLL40_CORE", "pll", params, Vec::new(), conns);
        }
        (None, Pll::Ice40(p)) => {
            design.add_extern(pll::sb_pll40_2_pad());
            let params: Vec<(String, ParamValue)> = vec![
                ("FEEDBACK_PATH".into(), text("SIMPLE")),
                ("PLLOUT_SELECT_PORTB".into(), text("GENCLK")),
                ("DIVR".into(), bits(4, p.divr)),
                ("DIVF".into(), bits(7, p.divf)),
                ("DIVQ".into(), bits(3, p.divq)),
                ("FILTER_RANGE".into(), bits(3, p.filter_range)),
            ];
            let conns = vec![
                conn("PACKAGEPIN", clk_in.into()),
                conn("RESETB", Expr::bit(true)),
                conn("BYPASS", Expr::bit(false)),
                ("PLLOUTGLOBALA".into(), Conn::Out(clk_bridge)),
                ("PLLOUTGLOBALB".into(), Conn::Out(clk_engine)),
                ("LOCK".into(), Conn::Out(locked)),
            ];
            m.extern_instance("SB_PLL40_2_PAD", "pll", params, Vec::new(), conns);
        }
        (None, Pll::Ecp5(p)) => {
            design.add_extern(pll::ehxplll());
            let int = |v: u32| ParamValue::Int(i64::from(v));
            let params = vec![
                ("PLLRST_ENA".into(), text("DISABLED")),
                ("INTFB_WAKE".into(), text("DISABLED")),
                ("STDBY_ENABLE".into(), text("DISABLED")),
                ("DPHASE_SOURCE".into(), text("DISABLED")),
                ("OUTDIVIDER_MUXA".into(), text("DIVA")),
                ("CLKOP_ENABLE".into(), text("ENABLED")),
                ("CLKOP_DIV".into(), int(p.clkop_div)),
                ("CLKOP_CPHASE".into(), int(p.clkop_cphase)),
                ("CLKOP_FPHASE".into(), int(0)),
                ("CLKFB_DIV".into(), int(p.clkfb_div)),
                ("CLKI_DIV".into(), int(p.clki_div)),
                ("FEEDBK_PATH".into(), text("CLKOP")),
            ];
            let mut conns = vec![
                conn("CLKI", clk_in.into()),
                conn("CLKFB", clk_engine.into()),
            ];
            for p in [
                "RST",
                "STDBY",
                "PHASESEL0",
                "PHASESEL1",
                "PHASEDIR",
                "PHASESTEP",
                "PHASELOADREG",
                "PLLWAKESYNC",
                "ENCLKOP",
            ] {
                conns.push(conn(p, Expr::bit(false)));
            }
            conns.push(("CLKOP".into(), Conn::Out(clk_engine)));
            conns.push(("LOCK".into(), Conn::Out(locked)));
            m.assign(clk_bridge, clk_in);
            m.extern_instance(
                "EHXPLLL",
                "pll",
                params,
                pll::ecp5_attrs(&d.engine_clock),
                conns,
            );
        }
    }
    m
}

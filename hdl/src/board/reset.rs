//! Reset and heartbeat: the one reset of the core clock domain.
//!
//! The PLL's `locked` is asynchronous to the clock it produces, so it passes a
//! two-flip-flop synchronizer first. Reset then holds for 2^POR_BITS clocks after
//! lock, restarting whenever lock drops or the UART receiver reports a break (the
//! host's way to reset a board it cannot otherwise reach). The counter itself has
//! no reset: FPGA flip-flops power up at zero, which starts the count, and a
//! break clears it from any state, which is also how simulation (random initial
//! state) gets a defined start.
//!
//! The heartbeat is the top bit of a free-running counter about one second long:
//! a blinking LED shows the core clock runs at roughly the expected rate.

use crate::ir::{Expr, Module, Ty};

use super::{k, reset_to, BoardDerived, BoardTopConfig, POR_BITS};

/// Build `<name>_reset`.
pub fn build(cfg: &BoardTopConfig, d: &BoardDerived) -> Module {
    let mut m = Module::new(cfg.sub("reset"));
    m.doc("Synchronous reset of the core clock domain and a heartbeat.")
        .doc(format!(
            "rst holds for {} clocks after PLL lock (2-FF synchronized) and after a UART break.",
            d.por_cycles
        ))
        .doc(format!(
            "heartbeat toggles every 2^{} clocks (about {:.2} s at {} Hz).",
            d.heartbeat_bits - 1,
            f64::from(1u32 << (d.heartbeat_bits - 1).min(31)) / d.clock.achieved.f64(),
            d.clock.achieved_hz
        ));
    let clk = m.input("clk", Ty::bit(), Some("Core clock"), "");
    let locked = m.input(
        "locked",
        Ty::bit(),
        Some("Reset sources"),
        "PLL lock, asynchronous to clk",
    );
    let brk = m.input(
        "brk",
        Ty::bit(),
        None,
        "UART break held (synchronous to clk)",
    );
    let rst = m.output(
        "rst",
        Ty::bit(),
        Some("Outputs"),
        "active-high synchronous reset",
    );
    let heartbeat = m.output("heartbeat", Ty::bit(), None, "about 1 Hz blink");

    let locked_meta = m.reg("locked_meta_reg", Ty::bit(), "synchronizer, first stage");
    let locked_sync = m.reg("locked_sync_reg", Ty::bit(), "synchronizer, second stage");
    m.clocked(locked_meta, clk, locked, None, None);
    m.clocked(locked_sync, clk, locked_meta, None, None);

    let por = m.reg(
        "por_cnt_reg",
        Ty::u(POR_BITS),
        "clocks since lock or break, saturating",
    );
    let restart = m.wire_of(
        "restart",
        !Expr::from(locked_sync) | brk,
        "lock lost or break: start the reset over",
    );
    let por_done = m.wire_of(
        "por_done",
        Expr::from(por).reduce_and(),
        "the reset has lasted long enough",
    );
    m.clocked(
        por,
        clk,
        Expr::mux(restart, k(POR_BITS, 0), Expr::from(por) + k(POR_BITS, 1)),
        Some(Expr::from(restart) | !Expr::from(por_done)),
        None,
    );
    let rst_reg = m.reg("rst_reg", Ty::bit(), "registered: reset fans out widely");
    m.clocked(
        rst_reg,
        clk,
        Expr::from(restart) | !Expr::from(por_done),
        None,
        None,
    );
    m.assign(rst, rst_reg);

    let hb_bits = d.heartbeat_bits;
    let hb = m.reg("heartbeat_cnt_reg", Ty::u(hb_bits), "free-running");
    m.clocked(
        hb,
        clk,
        Expr::from(hb) + k(hb_bits, 1),
        None,
        reset_to(rst_reg, hb_bits, 0),
    );
    m.assign(heartbeat, Expr::from(hb).bit_at(hb_bits - 1));
    m
}

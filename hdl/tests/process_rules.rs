//! The check's rules applied to processes, domains and FSMs: each broken rule
//! is rejected with a message naming the rule and the signal; the FSM example
//! passes and prints states as `localparam`s and a `case`.

use hdl::check::check;
use hdl::ir::{Design, Expr, Module, Ty};

fn design_of(m: Module) -> Design {
    let mut d = Design::new(m.name.clone());
    d.add(m);
    d
}

fn one_error(m: Module, needles: &[&str]) {
    let errs = check(&design_of(m)).expect_err("the design breaks a rule and must be rejected");
    let msgs: Vec<String> = errs.0.iter().map(|e| e.to_string()).collect();
    assert!(
        msgs.iter().any(|m| needles.iter().all(|n| m.contains(n))),
        "expected an error containing {needles:?}, got {msgs:#?}"
    );
}

/// clk, rst, a (u8), sel (u2), y (u8 output) and a sync domain.
fn base() -> (Module, hdl::ir::DomainId) {
    let mut m = Module::new("procs");
    let clk = m.input("clk", Ty::bit(), None, "");
    let rst = m.input("rst", Ty::bit(), None, "");
    m.input("a", Ty::u(8), None, "");
    m.input("sel", Ty::u(2), None, "");
    m.output("y", Ty::u(8), None, "");
    let d = m.domain("sync", clk, Some(rst));
    (m, d)
}

fn sig(m: &Module, n: &str) -> hdl::ir::SignalId {
    m.find(n).expect("declared above")
}

#[test]
fn fsm_example_passes_and_prints_states() {
    let d = hdl::examples::fsm_demo(5);
    let v = hdl::verilog::print(&d).expect("the example passes the check");
    assert!(
        v.contains("localparam [1:0] STATE_IDLE = 2'd0, STATE_RUN = 2'd1, STATE_DONE = 2'd2;"),
        "{v}"
    );
    assert!(v.contains("case (state_reg)"), "{v}");
    assert!(v.contains("STATE_RUN: if (take) begin"), "{v}");
    assert!(v.contains("STATE_DONE: done = 1'd1;"), "{v}");
    assert!(
        v.contains("if (count_reg == 3'd4) state_reg <= STATE_DONE;"),
        "{v}"
    );
    assert!(v.contains("assign busy = state_reg != STATE_IDLE;"), "{v}");
    assert!(v.contains("always @* begin"), "{v}");
    assert!(v.contains("output reg  s_ready"), "{v}");
    // Resets come from the declarations, last in the domain's block; data registers have none.
    let rst = v.find("if (rst) begin").expect("reset block");
    assert!(v[rst..].contains("count_reg <= 3'd0;"));
    assert!(!v[rst..].contains("sum_reg <="));
}

#[test]
fn double_driver_process_and_assign() {
    let (mut m, _) = base();
    let (a, y) = (sig(&m, "a"), sig(&m, "y"));
    m.comb("", |p| {
        p.set(y, a);
    });
    m.assign(y, a);
    one_error(m, &["`y` has 2 drivers", "driven exactly once"]);
}

#[test]
fn double_driver_two_processes() {
    let (mut m, d) = base();
    let a = sig(&m, "a");
    let r = m.reg_reset("r_reg", Ty::u(8), d, 0, "");
    let y = sig(&m, "y");
    m.assign(y, r);
    m.sync(d, "", |p| {
        p.set(r, a);
    });
    m.sync(d, "", |p| {
        p.set(r, a);
    });
    one_error(m, &["`r_reg` has 2 drivers"]);
}

#[test]
fn width_of_assignment() {
    let (mut m, d) = base();
    let sel = sig(&m, "sel");
    let r = m.reg_in("r_reg", Ty::u(8), d, "");
    let y = sig(&m, "y");
    m.assign(y, r);
    m.sync(d, "", |p| {
        p.set(r, sel);
    });
    one_error(
        m,
        &[
            "assignment to `r_reg` (u8) from an expression of type u2",
            "widths",
        ],
    );
}

#[test]
fn condition_is_one_bit() {
    let (mut m, d) = base();
    let (a, sel) = (sig(&m, "a"), sig(&m, "sel"));
    let r = m.reg_in("r_reg", Ty::u(8), d, "");
    let y = sig(&m, "y");
    m.assign(y, r);
    m.sync(d, "", |p| {
        p.if_(sel, |p| {
            p.set(r, a);
        });
    });
    one_error(
        m,
        &["`if` condition", "driving `r_reg`", "must be 1 bit, is u2"],
    );
}

#[test]
fn case_value_fits_selector() {
    let (mut m, d) = base();
    let (a, sel) = (sig(&m, "a"), sig(&m, "sel"));
    let r = m.reg_in("r_reg", Ty::u(8), d, "");
    let y = sig(&m, "y");
    m.assign(y, r);
    m.sync(d, "", |p| {
        p.switch(sel).case(&[1, 4], |p| {
            p.set(r, a);
        });
    });
    one_error(
        m,
        &[
            "case value 4 does not fit the u2 selector",
            "`r_reg`",
            "rule",
        ],
    );
}

#[test]
fn latch_in_comb_process() {
    let (mut m, _) = base();
    let (a, sel, y) = (sig(&m, "a"), sig(&m, "sel"), sig(&m, "y"));
    m.comb("", |p| {
        p.switch(sel)
            .case(&[0], |p| {
                p.set(y, a);
            })
            .case(&[1, 2], |p| {
                p.set(y, !Expr::from(a));
            });
    });
    one_error(
        m,
        &["latch: `y` is not assigned on every path", "rule: no latch"],
    );
}

#[test]
fn full_case_or_default_is_no_latch() {
    let mut m = Module::new("full");
    let a = m.input("a", Ty::u(8), None, "");
    let sel = m.input("sel", Ty::u(2), None, "");
    let y = m.output("y", Ty::u(8), None, "");
    m.comb("", |p| {
        p.switch(sel).case(&[0, 1, 2, 3], |p| {
            p.set(y, a);
        });
    });
    check(&design_of(m)).expect("every value of the selector assigns y");
}

#[test]
fn comb_loop_through_process() {
    let (mut m, _) = base();
    let (a, y) = (sig(&m, "a"), sig(&m, "y"));
    let w = m.wire("w", Ty::u(8), "");
    let bit = m.wire_of("w0", Expr::from(w).bit_at(0), "");
    m.comb("", |p| {
        p.set(w, a);
        p.if_(bit, |p| {
            p.set(w, !Expr::from(a));
        });
    });
    m.assign(y, w);
    one_error(m, &["combinational loop", "w0", "w"]);
}

#[test]
fn sync_process_assigns_only_its_domain() {
    let (mut m, d) = base();
    let clk2 = m.input("clk2", Ty::bit(), None, "");
    let other = m.domain("other", clk2, None);
    let a = sig(&m, "a");
    let r = m.reg_in("r_reg", Ty::u(8), other, "");
    let y = sig(&m, "y");
    m.assign(y, r);
    m.sync(d, "", |p| {
        p.set(r, a);
    });
    one_error(
        m,
        &[
            "`r_reg` is assigned in a synchronous process of domain `sync`",
            "rule",
        ],
    );
}

#[test]
fn comb_process_assigns_no_register() {
    let (mut m, _) = base();
    let a = sig(&m, "a");
    let r = m.reg("r_reg", Ty::u(8), "");
    let y = sig(&m, "y");
    m.assign(y, r);
    m.comb("", |p| {
        p.set(r, a);
    });
    one_error(
        m,
        &[
            "`r_reg` is assigned in a combinational process",
            "wires and outputs",
        ],
    );
}

#[test]
fn reset_needs_a_reset_domain() {
    let (mut m, _) = base();
    let clk = sig(&m, "clk");
    let nores = m.domain("free", clk, None);
    let a = sig(&m, "a");
    let r = m.reg_reset("r_reg", Ty::u(8), nores, 3, "");
    let y = sig(&m, "y");
    m.assign(y, r);
    m.sync(nores, "", |p| {
        p.set(r, a);
    });
    one_error(
        m,
        &["`r_reg` has a reset value but domain `free` has no reset"],
    );
}

#[test]
fn unknown_state_is_an_error_not_a_panic() {
    let (mut m, d) = base();
    let fsm = m.fsm("state_reg", d, &["IDLE", "RUN"], "");
    let y = sig(&m, "y");
    let run = m.in_state(&fsm, "RUN");
    let bogus = m.in_state(&fsm, "STOP");
    m.assign(
        y,
        Expr::mux(run & bogus, Expr::uconst(8, 1), Expr::uconst(8, 0)),
    );
    m.sync(d, "", |p| {
        p.fsm(&fsm)
            .state("IDLE", |p| {
                p.goto("RUN");
            })
            .state("RUN", |p| {
                p.goto("HALT");
            });
    });
    one_error(m.clone(), &["FSM `state_reg` has no state `STOP`", "rule"]);
    one_error(
        m,
        &["FSM `state_reg` has no state `HALT`", "declared: IDLE, RUN"],
    );
}

//! Each static rule rejects the design that breaks it, with a message naming the
//! rule and the offending signal; a clean design passes and prints.

use hdl::check::check;
use hdl::ir::{Conn, Design, Expr, Item, Module, Ty};

fn design_of(modules: Vec<Module>) -> Design {
    let mut d = Design::new(modules[0].name.clone());
    for m in modules {
        d.add(m);
    }
    d
}

/// An instance pushed into the IR as is, bypassing the builder's checks
/// (`parts::Inst`), so these tests see what `check` alone catches.
fn raw_instance(m: &mut Module, module: &str, name: &str, conns: Vec<(String, Conn)>) {
    m.items.push(Item::Instance {
        module: module.into(),
        name: name.into(),
        params: Vec::new(),
        attrs: Vec::new(),
        conns,
    });
}

/// Check and return the single error message, failing if there is not exactly one
/// containing `needle`.
fn one_error(d: &Design, needle: &str) -> String {
    let errs = check(d).expect_err("the design breaks a rule and must be rejected");
    let msgs: Vec<String> = errs.0.iter().map(|e| e.to_string()).collect();
    assert!(
        msgs.iter().any(|m| m.contains(needle)),
        "expected an error containing {needle:?}, got {msgs:#?}"
    );
    msgs.join("\n")
}

/// A small clean module: y = a + b registered.
fn adder() -> Module {
    let mut m = Module::new("adder");
    let clk = m.input("clk", Ty::bit(), None, "");
    let a = m.input("a", Ty::u(8), None, "");
    let b = m.input("b", Ty::u(8), None, "");
    let y = m.output("y", Ty::u(8), None, "");
    let r = m.reg("y_reg", Ty::u(8), "");
    m.clocked(r, clk, a + b, None, None);
    m.assign(y, r);
    m
}

#[test]
fn clean_design_passes_and_prints() {
    let d = design_of(vec![adder()]);
    check(&d).expect("clean design");
    let v = hdl::verilog::print(&d).expect("prints");
    assert!(v.contains("module adder"));
    assert!(v.contains("y_reg <= a + b;"));
}

#[test]
fn double_driver() {
    let mut m = adder();
    let y = m.find("y").expect("y");
    let a = m.find("a").expect("a");
    m.assign(y, a);
    let msg = one_error(&design_of(vec![m]), "`y` has 2 drivers");
    assert!(msg.contains("driven exactly once"), "{msg}");
}

#[test]
fn undriven_wire() {
    let mut m = adder();
    let w = m.wire("w", Ty::u(8), "");
    let y = m.find("y").expect("y");
    let _ = (w, y);
    m.allow_unused(w, "test");
    one_error(&design_of(vec![m]), "`w` has no driver");
}

#[test]
fn width_mismatch_in_operator() {
    let mut m = Module::new("bad");
    let a = m.input("a", Ty::u(8), None, "");
    let b = m.input("b", Ty::u(9), None, "");
    let y = m.output("y", Ty::u(8), None, "");
    m.assign(y, a + b);
    one_error(
        &design_of(vec![m]),
        "must have the same type, got u8 and u9",
    );
}

#[test]
fn signedness_mismatch_in_assignment() {
    let mut m = Module::new("bad");
    let a = m.input("a", Ty::s(8), None, "");
    let y = m.output("y", Ty::u(8), None, "");
    m.assign(y, a);
    one_error(&design_of(vec![m]), "widths and signedness agree");
}

#[test]
fn combinational_loop_inside_module() {
    let mut m = Module::new("bad");
    let a = m.input("a", Ty::bit(), None, "");
    let y = m.output("y", Ty::bit(), None, "");
    let w1 = m.wire("w1", Ty::bit(), "");
    let w2 = m.wire("w2", Ty::bit(), "");
    m.assign(w1, Expr::from(w2) ^ a);
    m.assign(w2, w1);
    m.assign(y, w2);
    one_error(&design_of(vec![m]), "combinational loop");
}

#[test]
fn combinational_loop_through_instances() {
    // pass: y = a (combinational). Two instances wired in a ring form a loop.
    let mut pass = Module::new("pass");
    let a = pass.input("a", Ty::bit(), None, "");
    let y = pass.output("y", Ty::bit(), None, "");
    pass.assign(y, a);
    let mut top = Module::new("top");
    let o = top.output("o", Ty::bit(), None, "");
    let x1 = top.wire("x1", Ty::bit(), "");
    let x2 = top.wire("x2", Ty::bit(), "");
    raw_instance(
        &mut top,
        "pass",
        "p1",
        vec![
            ("a".into(), Conn::In(x2.into())),
            ("y".into(), Conn::Out(x1)),
        ],
    );
    raw_instance(
        &mut top,
        "pass",
        "p2",
        vec![
            ("a".into(), Conn::In(x1.into())),
            ("y".into(), Conn::Out(x2)),
        ],
    );
    top.assign(o, x2);
    one_error(&design_of(vec![top, pass]), "combinational loop");
}

#[test]
fn registered_ring_is_not_a_loop() {
    let mut top = Module::new("top");
    let clk = top.input("clk", Ty::bit(), None, "");
    let o = top.output("o", Ty::u(8), None, "");
    let mut prev = None;
    let regs: Vec<_> = (0..3)
        .map(|i| top.reg(&format!("r{i}"), Ty::u(8), ""))
        .collect();
    for (i, r) in regs.iter().enumerate() {
        let src = regs[(i + 2) % 3];
        top.clocked(*r, clk, src, None, None);
        prev = Some(*r);
    }
    top.assign(o, prev.expect("r2"));
    check(&design_of(vec![top])).expect("a ring through registers is fine");
}

#[test]
fn instance_port_unconnected_and_undriven_input() {
    let mut top = Module::new("top");
    let clk = top.input("clk", Ty::bit(), None, "");
    let y = top.output("y", Ty::u(8), None, "");
    let a = top.input("a", Ty::u(8), None, "");
    raw_instance(
        &mut top,
        "adder",
        "u",
        vec![
            ("clk".into(), Conn::In(clk.into())),
            ("a".into(), Conn::In(a.into())),
            ("y".into(), Conn::Out(y)),
        ],
    );
    one_error(
        &design_of(vec![top, adder()]),
        "leaves port `b` unconnected",
    );

    let mut top = Module::new("top");
    let clk = top.input("clk", Ty::bit(), None, "");
    let y = top.output("y", Ty::u(8), None, "");
    let a = top.input("a", Ty::u(8), None, "");
    raw_instance(
        &mut top,
        "adder",
        "u",
        vec![
            ("clk".into(), Conn::In(clk.into())),
            ("a".into(), Conn::In(a.into())),
            ("b".into(), Conn::Open("nothing".into())),
            ("y".into(), Conn::Out(y)),
        ],
    );
    one_error(&design_of(vec![top, adder()]), "no undriven input");
}

#[test]
fn open_output_needs_a_reason() {
    let mut top = Module::new("top");
    let clk = top.input("clk", Ty::bit(), None, "");
    let a = top.input("a", Ty::u(8), None, "");
    let y = top.output("y", Ty::bit(), None, "");
    top.assign(y, Expr::from(a).reduce_or() & clk);
    raw_instance(
        &mut top,
        "adder",
        "u",
        vec![
            ("clk".into(), Conn::In(clk.into())),
            ("a".into(), Conn::In(a.into())),
            ("b".into(), Conn::In(a.into())),
            ("y".into(), Conn::Open(" ".into())),
        ],
    );
    one_error(&design_of(vec![top, adder()]), "open without a reason");
}

#[test]
fn unread_bits_need_a_reason() {
    let mut m = Module::new("bad");
    let a = m.input("a", Ty::u(8), None, "");
    let y = m.output("y", Ty::u(4), None, "");
    m.assign(y, Expr::from(a).slice(2, 4));
    let msg = one_error(
        &design_of(vec![m.clone()]),
        "`a` bits [1:0], [7:6] are never read",
    );
    assert!(msg.contains("stated reason"), "{msg}");
    m.allow_unused(a, "only the middle nibble matters here");
    check(&design_of(vec![m])).expect("allowed with a reason");
}

#[test]
fn names_must_be_legal_and_unique() {
    let mut m = Module::new("bad");
    let a = m.input("wire", Ty::u(8), None, "");
    let y = m.output("y", Ty::u(8), None, "");
    let y2 = m.wire("y", Ty::u(8), "");
    m.assign(y, a);
    m.assign(y2, a);
    m.allow_unused(y2, "test");
    let msg = one_error(
        &design_of(vec![m]),
        "`wire` is not a legal Verilog identifier",
    );
    assert!(msg.contains("`y` is declared twice"), "{msg}");
}

#[test]
fn driving_an_input_is_rejected() {
    let mut m = adder();
    let a = m.find("a").expect("a");
    let b = m.find("b").expect("b");
    m.assign(a, b);
    one_error(&design_of(vec![m]), "input `a` is driven inside the module");
}

/// A ROM (`Module::rom`): a memory with contents and no write port passes and
/// prints its words in an `initial` block; a word wider than the ROM, or no
/// read port, is rejected; a memory without contents still needs a write port.
#[test]
fn rom_rules() {
    let rom_module = |words: Vec<u128>, read: bool, with_init: bool| {
        let mut m = Module::new("lut8");
        let clk = m.input("clk", Ty::bit(), None, "");
        let a = m.input("a", Ty::u(2), None, "");
        let y = m.output("y", Ty::u(8), None, "");
        let mem = if with_init {
            m.rom("words", 8, words, "")
        } else {
            m.memory("words", 8, 4, "")
        };
        let r = m.reg("y_reg", Ty::u(8), "");
        if read {
            m.mem_read(mem, clk, Expr::bit(true), a, r);
        } else {
            m.allow_unused(clk, "test");
            m.allow_unused(a, "test");
            m.clocked(r, clk, Expr::uconst(8, 0), None, None);
        }
        m.assign(y, r);
        m
    };
    let d = design_of(vec![rom_module(vec![1, 0x2a, 0xff, 7], true, true)]);
    check(&d).expect("a ROM with a read port");
    let v = hdl::verilog::print(&d).expect("prints");
    assert!(
        v.contains("initial begin\n    words[0] = 8'h01;\n    words[1] = 8'h2a;"),
        "{v}"
    );
    one_error(
        &design_of(vec![rom_module(vec![1, 0x100, 0, 0], true, true)]),
        "ROM `words`: word 1 (0x100) does not fit 8 bits",
    );
    one_error(
        &design_of(vec![rom_module(vec![1, 2, 3, 4], false, true)]),
        "ROM `words` needs a read port",
    );
    one_error(
        &design_of(vec![rom_module(Vec::new(), true, false)]),
        "memory `words` needs at least one write and one read port",
    );
}

//! Extern (black-box) modules: vendor primitives the design instantiates but does
//! not define. Instances are checked against the declared ports and parameters,
//! carry no combinational path, print with their parameters, and the primitive
//! itself is never printed.

use hdl::check::check;
use hdl::ir::{Conn, Const, Design, Expr, ExternModule, Item, Module, ParamValue, PortDir, Ty};
use hdl::verilog::{print, print_extern_stubs};

/// A PLL-like primitive: clock in, feedback in, clock and lock out.
fn pll_extern() -> ExternModule {
    ExternModule::new("VENDOR_PLL", "a test PLL primitive")
        .port("CLKI", Ty::bit(), PortDir::Input)
        .port("CLKFB", Ty::bit(), PortDir::Input)
        .port("SEL", Ty::u(2), PortDir::Input)
        .port("CLKOP", Ty::bit(), PortDir::Output)
        .port("LOCK", Ty::bit(), PortDir::Output)
        .params(&["DIV", "MODE", "WIDE"])
}

fn params() -> Vec<(String, ParamValue)> {
    vec![
        ("DIV".into(), ParamValue::Int(37)),
        ("MODE".into(), ParamValue::Str("SIMPLE".into())),
        (
            "WIDE".into(),
            ParamValue::Bits(Const {
                ty: Ty::u(4),
                bits: 5,
            }),
        ),
    ]
}

/// An instance pushed into the IR as is, bypassing the builder's checks
/// (`parts::Inst`), so these tests see what `check` alone catches.
fn raw_instance(
    m: &mut Module,
    module: &str,
    name: &str,
    params: Vec<(String, ParamValue)>,
    attrs: Vec<(String, String)>,
    conns: Vec<(String, Conn)>,
) {
    m.items.push(Item::Instance {
        module: module.into(),
        name: name.into(),
        params,
        attrs,
        conns,
    });
}

/// A top that feeds the PLL's output clock back into its feedback input, as an
/// ECP5 EHXPLLL is wired; `edit` may break one rule.
fn design_with(
    edit: impl FnOnce(&mut Vec<(String, ParamValue)>, &mut Vec<(String, Conn)>),
) -> Design {
    let mut m = Module::new("top");
    let clk_in = m.input("clk_in", Ty::bit(), None, "");
    let locked = m.output("locked", Ty::bit(), None, "");
    let clk = m.wire("clk", Ty::bit(), "PLL output clock");
    let mut ps = params();
    let mut conns = vec![
        ("CLKI".to_string(), Conn::In(clk_in.into())),
        ("CLKFB".to_string(), Conn::In(clk.into())),
        ("SEL".to_string(), Conn::In(Expr::uconst(2, 1))),
        ("CLKOP".to_string(), Conn::Out(clk)),
        ("LOCK".to_string(), Conn::Out(locked)),
    ];
    edit(&mut ps, &mut conns);
    let attrs = vec![("FREQUENCY_PIN_CLKI".to_string(), "25".to_string())];
    raw_instance(&mut m, "VENDOR_PLL", "pll", ps, attrs, conns);
    let mut d = Design::new("top");
    d.add(m);
    d.add_extern(pll_extern());
    d
}

fn errors(d: &Design) -> Vec<String> {
    match check(d) {
        Ok(()) => Vec::new(),
        Err(e) => e.0.iter().map(|e| e.to_string()).collect(),
    }
}

fn assert_one_error(d: &Design, needle: &str) {
    let errs = errors(d);
    assert!(
        errs.iter().any(|e| e.contains(needle)),
        "expected an error containing {needle:?}, got {errs:#?}"
    );
}

#[test]
fn extern_instance_checks_and_prints_with_parameters() {
    let d = design_with(|_, _| {});
    assert_eq!(errors(&d), Vec::<String>::new());
    let v = print(&d).expect("clean design prints");
    assert!(
        v.contains(
            "(* FREQUENCY_PIN_CLKI = \"25\" *)\nVENDOR_PLL #(\n    .DIV(37),\n    .MODE(\"SIMPLE\"),\n    .WIDE(4'd5)\n) pll ("
        ),
        "{v}"
    );
    assert!(
        !v.contains("module VENDOR_PLL"),
        "the primitive is not printed"
    );
    assert!(
        v.contains("//   VENDOR_PLL: a test PLL primitive"),
        "the banner lists it"
    );
}

#[test]
fn feedback_through_an_extern_is_not_a_loop() {
    // CLKFB is fed by CLKOP of the same instance: a loop only if paths ran through it.
    let d = design_with(|_, _| {});
    assert!(errors(&d).iter().all(|e| !e.contains("combinational loop")));
}

#[test]
fn extern_ports_are_type_checked() {
    let d = design_with(|_, c| c[2].1 = Conn::In(Expr::uconst(3, 1)));
    assert_one_error(
        &d,
        "port `SEL` is u2, connected to an expression of type u3",
    );
    let d = design_with(|_, c| {
        c.remove(4);
    });
    assert_one_error(&d, "leaves port `LOCK` unconnected");
    let d = design_with(|_, c| c.push(("NOPE".into(), Conn::In(Expr::bit(true)))));
    assert_one_error(&d, "connects `NOPE`, which is not a port of `VENDOR_PLL`");
}

#[test]
fn extern_parameters_are_checked() {
    let d = design_with(|p, _| p.push(("DIVV".into(), ParamValue::Int(1))));
    assert_one_error(
        &d,
        "sets parameter `DIVV`, which `VENDOR_PLL` does not declare",
    );
    let d = design_with(|p, _| p.push(("DIV".into(), ParamValue::Int(1))));
    assert_one_error(&d, "sets parameter `DIV` twice");
    let d = design_with(|p, _| p[1].1 = ParamValue::Str("a\"b".into()));
    assert_one_error(&d, "holds a quote, backslash or control character");
    let d = design_with(|p, _| {
        p[2].1 = ParamValue::Bits(Const {
            ty: Ty::u(2),
            bits: 5,
        })
    });
    assert_one_error(&d, "does not fit in 2 bits");
}

#[test]
fn extern_attributes_are_checked() {
    let set_attrs = |attrs: Vec<(&str, &str)>| {
        let mut d = design_with(|_, _| {});
        if let Some(Item::Instance { attrs: a, .. }) = d.modules[0].items.last_mut() {
            *a = attrs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        }
        d
    };
    assert_eq!(
        errors(&set_attrs(vec![("A", "1"), ("B", "x y")])),
        Vec::<String>::new()
    );
    assert_one_error(
        &set_attrs(vec![("A", "1"), ("A", "2")]),
        "attribute `A` is illegal or set twice",
    );
    assert_one_error(
        &set_attrs(vec![("A", "say \"hi\"")]),
        "holds a quote, backslash or control character",
    );
}

#[test]
fn only_extern_instances_take_parameters() {
    let mut d = design_with(|_, _| {});
    let mut child = Module::new("child");
    let a = child.input("a", Ty::bit(), None, "");
    let y = child.output("y", Ty::bit(), None, "");
    child.assign(y, a);
    d.add(child);
    let top = &mut d.modules[0];
    let y = top.wire("child_y", Ty::bit(), "");
    top.allow_unused(y, "test");
    raw_instance(
        top,
        "child",
        "c",
        vec![("DIV".into(), ParamValue::Int(1))],
        Vec::new(),
        vec![
            ("a".into(), Conn::In(Expr::bit(true))),
            ("y".into(), Conn::Out(y)),
        ],
    );
    assert_one_error(&d, "only extern instances take parameters and attributes");
}

#[test]
fn extern_declarations_are_checked() {
    let mut d = design_with(|_, _| {});
    d.add_extern(ExternModule::new("top", "clashes with the top module"));
    assert_one_error(&d, "extern module name clashes");
    let mut d = design_with(|_, _| {});
    d.externs[0].ports.push(hdl::ir::ExternPort {
        name: "CLKI".into(),
        ty: Ty::bit(),
        dir: PortDir::Input,
    });
    assert_one_error(&d, "extern port name `CLKI` is illegal or declared twice");
}

#[test]
fn stubs_declare_ports_and_parameters() {
    let d = design_with(|_, _| {});
    let s = print_extern_stubs(&d);
    assert!(
        s.contains("module VENDOR_PLL #(\n    parameter DIV = 0,"),
        "{s}"
    );
    assert!(s.contains("input  wire [1:0] SEL,"), "{s}");
    assert!(s.contains("assign LOCK = 1'd0;"), "{s}");
    assert_eq!(print_extern_stubs(&Design::new("x")), "");
}

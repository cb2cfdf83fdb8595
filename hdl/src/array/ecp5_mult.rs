//! The PE's multiplier as an ECP5 `MULT18X18D` with its own input and output
//! registers (`--dsp-cell ecp5`, pipeline depth 3 and up).
//!
//! Why a primitive: yosys maps `*` to a `MULT18X18D` with every register off and
//! does not move neighbouring flip-flops into it, so the multiplier's 3.9 ns sits
//! between two fabric registers. ECP5 DSP blocks sit in a few rows of the die,
//! far from the slices around them: measured on the 85F (8x8, out of context),
//! the operand and product registers ended up 25 to 35 rows away and the path
//! was 9.7 ns (about 103 MHz) however the fabric registers were arranged. With
//! the block's own registers the multiply is register to register inside the
//! block, and only plain routing is left between the block and the fabric.
//!
//! The registers the PE asks for map one to one: the multiplier operand
//! registers of depth 3 are the input registers A and B (clock enable `CE0`),
//! the product register is the output register (clock enable `CE1`). Nothing is
//! reset (`RST0` low), as for every data register of the array. `GSR` is off so
//! the block's registers do not depend on the global set/reset either.

use crate::ir::{Expr, ExternModule, Module, ParamValue, PortDir, SignalId, Ty};
use crate::parts::Instantiate;
use crate::GenError;

use super::config::OPERAND_BITS;

/// The primitive's name in the yosys/nextpnr ECP5 cell library.
pub const CELL: &str = "MULT18X18D";
/// Width of each operand port of the block.
const PORT_BITS: u32 = 18;
/// Product bits used: the int8 x int8 product fits 16 signed bits.
const PRODUCT_BITS: u32 = 2 * OPERAND_BITS;

/// The parameters every instance sets, and their values.
pub const PARAMS: [(&str, &str); 13] = [
    ("REG_INPUTA_CLK", "CLK0"),
    ("REG_INPUTA_CE", "CE0"),
    ("REG_INPUTA_RST", "RST0"),
    ("REG_INPUTB_CLK", "CLK0"),
    ("REG_INPUTB_CE", "CE0"),
    ("REG_INPUTB_RST", "RST0"),
    ("REG_PIPELINE_CLK", "NONE"),
    ("REG_OUTPUT_CLK", "CLK0"),
    ("REG_OUTPUT_CE", "CE1"),
    ("REG_OUTPUT_RST", "RST0"),
    ("GSR", "DISABLED"),
    ("RESETMODE", "SYNC"),
    ("MULT_BYPASS", "DISABLED"),
];

fn bit_ports(prefix: &str, n: u32) -> impl Iterator<Item = String> + '_ {
    (0..n).map(move |i| format!("{prefix}{i}"))
}

/// The `MULT18X18D` with the ports the PE connects.
pub fn extern_module() -> ExternModule {
    let bit = Ty::bit();
    let mut e = ExternModule::new(
        CELL,
        "ECP5 18x18 multiplier block (yosys ecp5 cell library)",
    );
    for p in bit_ports("A", PORT_BITS)
        .chain(bit_ports("B", PORT_BITS))
        .chain(bit_ports("C", PORT_BITS))
    {
        e = e.port(&p, bit, PortDir::Input);
    }
    for p in [
        "SIGNEDA", "SIGNEDB", "SOURCEA", "SOURCEB", "CLK0", "CE0", "CE1", "RST0",
    ] {
        e = e.port(p, bit, PortDir::Input);
    }
    for p in bit_ports("P", PRODUCT_BITS) {
        e = e.port(&p, bit, PortDir::Output);
    }
    let names: Vec<&str> = PARAMS.iter().map(|(n, _)| *n).collect();
    e.params(&names)
}

/// Instantiate the block in `m`: `product` (signed 16 bits) is `a * b` of the
/// operands loaded on the previous `load_en` step, registered on `step_en`.
pub fn instantiate(
    m: &mut Module,
    clk: SignalId,
    load_en: Expr,
    step_en: Expr,
    a: SignalId,
    b: SignalId,
) -> Result<SignalId, GenError> {
    let p_bits: Vec<SignalId> = (0..PRODUCT_BITS)
        .map(|i| m.wire(&format!("mult_p{i}"), Ty::bit(), ""))
        .collect();
    let mut inst = m.inst(&extern_module(), "mult").params(
        PARAMS
            .iter()
            .map(|(n, v)| (n.to_string(), ParamValue::Str(v.to_string())))
            .collect(),
    );
    // Sign-extend the int8 operands to the 18-bit ports (SIGNEDA/B high).
    for (prefix, op) in [("A", a), ("B", b)] {
        for i in 0..PORT_BITS {
            let bit = Expr::from(op).bit_at(i.min(OPERAND_BITS - 1));
            inst = inst.connect(&format!("{prefix}{i}"), bit);
        }
    }
    for p in bit_ports("C", PORT_BITS) {
        inst = inst.connect(&p, Expr::bit(false));
    }
    inst = inst
        .connect("SIGNEDA", Expr::bit(true))
        .connect("SIGNEDB", Expr::bit(true))
        .connect("SOURCEA", Expr::bit(false))
        .connect("SOURCEB", Expr::bit(false))
        .connect("CLK0", clk)
        .connect("CE0", load_en)
        .connect("CE1", step_en)
        .connect("RST0", Expr::bit(false));
    for (i, s) in p_bits.iter().enumerate() {
        inst = inst.out(&format!("P{i}"), *s);
    }
    inst.finish()?;
    let bits = p_bits.into_iter().map(Expr::from).collect();
    Ok(m.wire_of(
        "prod_reg",
        Expr::concat(bits).as_signed(),
        "product, from the block's output register",
    ))
}

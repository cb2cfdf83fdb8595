//! Two PEs' multipliers in one iCE40 UltraPlus `SB_MAC16` (`--dsp-cell ice40`).
//!
//! The block has four 8x8 multipliers; in 8x8 mode (`MODE_8x8`) the top one
//! multiplies `A[15:8]` by `B[15:8]` into `O[31:16]` and the bottom one `A[7:0]`
//! by `B[7:0]` into `O[15:0]`, each product independent of the other. yosys maps
//! `*` one product per block, so the UP5K's 8 blocks gave an array 8 products;
//! instantiated this way they give 16.
//!
//! Signedness: `A_SIGNED`/`B_SIGNED` apply to both halves of a port in 8x8 mode,
//! so with both set each half is a signed int8 x int8 product and no offset
//! correction is needed. That is the behaviour of yosys' `SB_MAC16` simulation
//! model (`techlibs/ice40/cells_sim.v`: the low bytes are sign-extended when
//! `A_SIGNED && MODE_8x8`), which yosys checks against Lattice's own model
//! (yosys issue 1211, PR 1212), and MARLANN relies on it on the UP5K (two signed
//! 8x8 products per block, the same parameters). Outside 8x8 mode the low bytes
//! are unsigned, which is why the mode matters.
//!
//! Registers: the block's input registers (`A_REG`, `B_REG`) are the PE's
//! multiplier operand registers of depth 3 and up, its 8x8 product registers
//! (`TOP_8x8_MULT_REG`, `BOT_8x8_MULT_REG`) the product register of depth 1 and
//! up; depth 0 uses neither and the block is combinational. Every register of
//! the block shares one clock enable (`CE`), the array-wide step enable; the
//! two PEs of a block step together, as every PE does. Nothing is reset: the
//! valid flags that say whether a product is taken live in the PEs.
//!
//! Synthesis: run `synth_ice40` without `-dsp` on a design with these blocks
//! (`flow` does). `-dsp` only maps `*` to blocks, and yosys 0.23's `ice40_dsp`
//! pass also takes every instantiated `SB_MAC16` for one it made and resets its
//! parameters (measured: 16x16 mode, no registers), which silently breaks the
//! two-product blocks.

use crate::ir::{Const, Expr, ExternModule, Module, ParamValue, PortDir, SignalId, Ty};
use crate::parts::Instantiate;
use crate::GenError;

use super::config::OPERAND_BITS;

/// The primitive's name in the yosys/nextpnr iCE40 cell library.
pub const CELL: &str = "SB_MAC16";
/// Width of each data input of the block.
const PORT_BITS: u32 = 16;
/// Width of one 8x8 product (a half of the output).
const PRODUCT_BITS: u32 = 2 * OPERAND_BITS;

/// The parameters every instance sets, with their widths in the cell library.
pub const PARAMS: [(&str, u32); 20] = [
    ("NEG_TRIGGER", 1),
    ("C_REG", 1),
    ("A_REG", 1),
    ("B_REG", 1),
    ("D_REG", 1),
    ("TOP_8x8_MULT_REG", 1),
    ("BOT_8x8_MULT_REG", 1),
    ("PIPELINE_16x16_MULT_REG1", 1),
    ("PIPELINE_16x16_MULT_REG2", 1),
    ("TOPOUTPUT_SELECT", 2),
    ("TOPADDSUB_LOWERINPUT", 2),
    ("TOPADDSUB_UPPERINPUT", 1),
    ("TOPADDSUB_CARRYSELECT", 2),
    ("BOTOUTPUT_SELECT", 2),
    ("BOTADDSUB_LOWERINPUT", 2),
    ("BOTADDSUB_UPPERINPUT", 1),
    ("BOTADDSUB_CARRYSELECT", 2),
    ("MODE_8x8", 1),
    ("A_SIGNED", 1),
    ("B_SIGNED", 1),
];

/// Output select of each half: the 8x8 multiplier (through its register when
/// that is on), not the accumulator.
const OUTPUT_SELECT_8X8: u64 = 2;

/// The single-bit control inputs, all tied low: no hold, no reset, no load, add.
const TIED_LOW: [&str; 17] = [
    "AHOLD",
    "BHOLD",
    "CHOLD",
    "DHOLD",
    "IRSTTOP",
    "IRSTBOT",
    "ORSTTOP",
    "ORSTBOT",
    "OLOADTOP",
    "OLOADBOT",
    "ADDSUBTOP",
    "ADDSUBBOT",
    "OHOLDTOP",
    "OHOLDBOT",
    "CI",
    "ACCUMCI",
    "SIGNEXTIN",
];

/// The `SB_MAC16` with every port, as the cell library declares it.
pub fn extern_module() -> ExternModule {
    let bit = Ty::bit();
    let mut e = ExternModule::new(
        CELL,
        "iCE40 UltraPlus multiply-accumulate block (yosys ice40 cell library)",
    )
    .port("CLK", bit, PortDir::Input)
    .port("CE", bit, PortDir::Input);
    for p in ["C", "A", "B", "D"] {
        e = e.port(p, Ty::u(PORT_BITS), PortDir::Input);
    }
    for p in TIED_LOW {
        e = e.port(p, bit, PortDir::Input);
    }
    e = e
        .port("O", Ty::u(2 * PORT_BITS), PortDir::Output)
        .port("CO", bit, PortDir::Output)
        .port("ACCUMCO", bit, PortDir::Output)
        .port("SIGNEXTOUT", bit, PortDir::Output);
    let names: Vec<&str> = PARAMS.iter().map(|(n, _)| *n).collect();
    e.params(&names)
}

/// One block named `name` with `params`, `A`/`B` from `a`/`b` (16 bits each);
/// `C`, `D` and every control input low, the accumulator outputs open.
/// Returns the multiplier outputs `O` as the wire `{name}_o` (`o_doc` says
/// what they hold).
#[allow(clippy::too_many_arguments)]
fn block(
    m: &mut Module,
    name: &str,
    params: Vec<(String, ParamValue)>,
    clk: SignalId,
    ce: Expr,
    a: Expr,
    b: Expr,
    o_doc: &str,
) -> Result<SignalId, GenError> {
    let o = m.wire(&format!("{name}_o"), Ty::u(2 * PORT_BITS), o_doc);
    let mut inst = m
        .inst(&extern_module(), name)
        .params(params)
        .connect("CLK", clk)
        .connect("CE", ce)
        .connect("C", Expr::zero(Ty::u(PORT_BITS)))
        .connect("A", a)
        .connect("B", b)
        .connect("D", Expr::zero(Ty::u(PORT_BITS)));
    for p in TIED_LOW {
        inst = inst.connect(p, Expr::bit(false));
    }
    inst = inst.out("O", o);
    for p in ["CO", "ACCUMCO", "SIGNEXTOUT"] {
        inst = inst.open(p, "the accumulators are not used");
    }
    inst.finish()?;
    Ok(o)
}

/// Every parameter at the value `value` gives it (by name).
fn params_by(value: impl Fn(&str) -> u64) -> Vec<(String, ParamValue)> {
    PARAMS
        .iter()
        .map(|&(name, width)| {
            (
                name.to_string(),
                ParamValue::Bits(Const {
                    ty: Ty::u(width),
                    bits: value(name).into(),
                }),
            )
        })
        .collect()
}

/// The value of each parameter for a block with (or without) its input and
/// product registers.
pub fn param_values(input_regs: bool, product_regs: bool) -> Vec<(String, ParamValue)> {
    params_by(|name| match name {
        "A_REG" | "B_REG" => u64::from(input_regs),
        "TOP_8x8_MULT_REG" | "BOT_8x8_MULT_REG" => u64::from(product_regs),
        "TOPOUTPUT_SELECT" | "BOTOUTPUT_SELECT" => OUTPUT_SELECT_8X8,
        "MODE_8x8" | "A_SIGNED" | "B_SIGNED" => 1,
        _ => 0,
    })
}

/// Output select of each half: the 16x16 product's upper and lower half.
const OUTPUT_SELECT_16X16: u64 = 3;

/// The parameters of a combinational 16x16 multiplier block: no register, the
/// product on `O`, `A` signed when `a_signed`, `B` unsigned.
///
/// Mixed signedness is exact: in 16x16 mode the block forms the product from
/// four 8x8 partial products, sign-extending those of a signed operand's high
/// byte only (yosys' `cells_sim.v`, checked against Lattice's model), so a
/// signed x unsigned 16-bit product comes out as the 32-bit two's complement
/// value, which always fits (-32768 x 65535 > -2^31).
pub fn mul16_param_values(a_signed: bool) -> Vec<(String, ParamValue)> {
    params_by(|name| match name {
        "TOPOUTPUT_SELECT" | "BOTOUTPUT_SELECT" => OUTPUT_SELECT_16X16,
        "A_SIGNED" => u64::from(a_signed),
        _ => 0,
    })
}

/// A combinational 16x16 product in one block named `name`: `a` (16 bits,
/// signed when `a_signed`) times `b` (16 bits, unsigned), returned as the
/// 32-bit wire `{name}_p` (signed when `a_signed`). `CE` is low: the block's
/// registers are bypassed and never load.
pub fn mul16(
    m: &mut Module,
    name: &str,
    clk: SignalId,
    a: Expr,
    b: Expr,
    a_signed: bool,
) -> Result<SignalId, GenError> {
    let o = block(
        m,
        name,
        mul16_param_values(a_signed),
        clk,
        Expr::bit(false),
        a.as_unsigned(),
        b.as_unsigned(),
        "the 16x16 product",
    )?;
    let p = Expr::from(o);
    Ok(m.wire_of(
        &format!("{name}_p"),
        if a_signed { p.as_signed() } else { p },
        "product",
    ))
}

/// One int8 x int8 product's operands: (a, b), signed 8 bits each.
pub type Operands = (Expr, Expr);

/// Instantiate a block named `name` in `m`: the bottom multiplier takes `lo`, the
/// top one `hi` (zeros when there is none). The products come back as signed
/// 16-bit wires `{name}_p_lo` and `{name}_p_hi` (`None` without `hi`), `depth`
/// register stages after the operands (0 or 1; the input registers add one more
/// when `input_regs` is set). All registers advance on `ce`.
#[allow(clippy::too_many_arguments)]
pub fn instantiate(
    m: &mut Module,
    name: &str,
    clk: SignalId,
    ce: Expr,
    lo: Operands,
    hi: Option<Operands>,
    input_regs: bool,
    product_regs: bool,
) -> Result<(SignalId, Option<SignalId>), GenError> {
    let zero8 = || Expr::zero(Ty::u(OPERAND_BITS));
    let (hi_a, hi_b) = match &hi {
        Some((a, b)) => (a.clone().as_unsigned(), b.clone().as_unsigned()),
        None => (zero8(), zero8()),
    };
    let a = Expr::concat(vec![lo.0.as_unsigned(), hi_a]);
    let b = Expr::concat(vec![lo.1.as_unsigned(), hi_b]);
    let o = block(
        m,
        name,
        param_values(input_regs, product_regs),
        clk,
        ce,
        a,
        b,
        "products: top multiplier in the upper half, bottom in the lower",
    )?;
    let p_lo = m.wire_of(
        &format!("{name}_p_lo"),
        Expr::from(o).slice(0, PRODUCT_BITS).as_signed(),
        "bottom product",
    );
    let p_hi = if hi.is_some() {
        Some(m.wire_of(
            &format!("{name}_p_hi"),
            Expr::from(o).slice(PRODUCT_BITS, PRODUCT_BITS).as_signed(),
            "top product",
        ))
    } else {
        m.allow_unused(o, "the top multiplier has no PE (upper half)");
        None
    };
    Ok((p_lo, p_hi))
}

//! The output-stationary int8 systolic array, one hardware level per file:
//! [`pe`] (multiply-accumulate), [`mesh`] (grid + column collect), [`skew`]
//! (skew/deskew delay lines) and [`top`] (the valid/ready contract).

pub mod config;
pub mod ecp5_mult;
pub mod ice40_mac16;
pub mod mesh;
pub mod pe;
pub mod skew;
pub mod top;

pub use config::{ArrayConfig, ArrayDerived, DspCell, MulStyle};

use crate::ir::{Design, Ty};
use crate::{GenError, Generated};

/// Elaborate the array described by `cfg` into a design (validating `cfg` first).
pub fn design(cfg: &ArrayConfig) -> Result<Design, GenError> {
    cfg.validate()?;
    let (rows, cols) = (cfg.rows, cfg.cols);
    let edge = cfg.edge_stages();
    let mut d = Design::new(cfg.name.clone());
    let pes: Vec<_> = [true, false]
        .into_iter()
        .filter(|&dsp| (0..rows).any(|i| (0..cols).any(|j| cfg.pe_uses_dsp(i, j) == dsp)))
        .map(|dsp| pe::build(cfg, dsp))
        .collect::<Result<_, _>>()?;
    let mesh = mesh::build(cfg, &pes)?;
    let op = Ty::s(config::OPERAND_BITS);
    let skew_a = skew::build(
        &cfg.sub("skew_a"),
        "Skew of the A operands: row i is delayed i steps (plus the edge stages).",
        op,
        &(0..rows).map(|i| i + edge).collect::<Vec<_>>(),
        false,
    );
    let skew_flags = (!cfg.diagonal_flags()).then(|| {
        skew::build(
            &cfg.sub("skew_flags"),
            "Skew of the {last, valid} flags travelling with A.",
            Ty::u(2),
            &(0..rows).map(|i| i + edge).collect::<Vec<_>>(),
            true,
        )
    });
    let skew_b = skew::build(
        &cfg.sub("skew_b"),
        "Skew of the B operands: column j is delayed j steps (plus the edge stages).",
        op,
        &(0..cols).map(|j| j + edge).collect::<Vec<_>>(),
        false,
    );
    let deskew_c = skew::build(
        &cfg.sub("deskew_c"),
        "Deskew of the results: column j is delayed cols-1-j steps so a row leaves whole.",
        Ty::s(config::ACC_BITS),
        &(0..cols).map(|j| cols - 1 - j + edge).collect::<Vec<_>>(),
        false,
    );
    let top = top::build(
        cfg,
        top::Blocks {
            mesh: &mesh,
            skew_a: &skew_a,
            skew_flags: skew_flags.as_ref(),
            skew_b: &skew_b,
            deskew_c: &deskew_c,
        },
    )?;
    if cfg.dsp_cell == DspCell::Ecp5 && pes.iter().any(|p| p.name == pe::name(cfg, true)) {
        d.add_extern(ecp5_mult::extern_module());
    }
    if cfg.dsp_cell == DspCell::Ice40 && pes.iter().any(|p| p.name == pe::name(cfg, true)) {
        d.add_extern(ice40_mac16::extern_module());
    }
    d.include(top)?;
    d.include(mesh)?;
    for pe in pes {
        d.include(pe)?;
    }
    for s in [Some(skew_a), skew_flags, Some(skew_b), Some(deskew_c)]
        .into_iter()
        .flatten()
    {
        d.include(s.module)?;
    }
    Ok(d)
}

/// Generate the array: design, Verilog and manifest.
pub fn generate(cfg: &ArrayConfig) -> Result<Generated, GenError> {
    Generated::from_design("systolic_array", cfg, &cfg.derived(), design(cfg)?)
}

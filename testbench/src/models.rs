//! Simulation models of the vendor primitives a design instantiates, appended to
//! the generated Verilog before Verilator builds it.
//!
//! The generator emits primitives (`hdl::ir::ExternModule`) only where synthesis
//! would not otherwise use a block's features, e.g. the ECP5 multiplier's own
//! registers. Verilator needs a model of each; the models live in
//! `testbench/models/` and cover the subset of parameters the generator sets,
//! stopping the simulation on anything else.
//!
//! Also the Verilator build spec of a generated block (its Verilog, models and
//! manifest ports): the block drivers (`array`, `maxpool`, `uart`) build on it,
//! so it sits below them and imports none of them.

use hdl::ir::Design;
use hdl::manifest::Manifest;
use hdl::Generated;

use crate::verilator::{BuildSpec, Dir, PortDesc};

/// The model of each primitive we have one for: (cell name, Verilog text).
const MODELS: [(&str, &str); 3] = [
    ("MULT18X18D", include_str!("../models/ecp5_mult18x18d.v")),
    (
        "SB_SPRAM256KA",
        include_str!("../models/ice40_sb_spram256ka.v"),
    ),
    ("SB_MAC16", include_str!("../models/ice40_sb_mac16.v")),
];

/// The models of every extern module of `design`, concatenated; an error names
/// the first extern with no model.
pub fn for_design(design: &Design) -> Result<String, String> {
    let mut out = String::new();
    for e in &design.externs {
        let (_, text) = MODELS
            .iter()
            .find(|(name, _)| *name == e.name)
            .ok_or_else(|| format!("no simulation model of primitive {}", e.name))?;
        out.push('\n');
        out.push_str(text);
    }
    Ok(out)
}

/// The two static checks of a generated design, primitives and all:
/// `verilator --lint-only -Wall` with the models of the primitives we have
/// one for appended (so their ports and parameters are checked against real
/// modules) and stubs of the others (the PLLs: ports and parameters only),
/// and yosys' latch and driver check with stubs of every primitive (yosys
/// would synthesize the models). `label` names the log folder; the error
/// names the failing tool.
pub fn lint_with_models(label: &str, design: &Design, verilog: &str) -> Result<(), String> {
    let top = &design.top;
    let mut modelled = String::new();
    let mut stubbed = Design::new(top.clone());
    for e in &design.externs {
        match MODELS.iter().find(|(name, _)| *name == e.name) {
            Some((_, text)) => {
                modelled.push('\n');
                modelled.push_str(text);
            }
            None => stubbed.externs.push(e.clone()),
        }
    }
    let stubs = hdl::verilog::print_extern_stubs(&stubbed);
    crate::tools::verilator_lint(label, top, &format!("{verilog}{modelled}\n{stubs}"))
        .map_err(|e| e.to_string())?;
    let stubs = hdl::verilog::print_extern_stubs(design);
    crate::tools::yosys_check(label, top, &format!("{verilog}\n{stubs}")).map_err(|e| e.to_string())
}

/// The Verilator build of a generated block whose top module is `top`: its
/// Verilog followed by the models of its primitives, its ports from its manifest.
pub fn build_spec(g: &Generated, top: &str) -> Result<BuildSpec, String> {
    Ok(BuildSpec::new(
        format!("{}{}", g.verilog, for_design(&g.design)?),
        top,
        port_descs(&g.manifest),
    ))
}

/// The harness port list of a generated block, read from its manifest.
pub fn port_descs(manifest: &Manifest) -> Vec<PortDesc> {
    manifest
        .ports
        .iter()
        .map(|p| PortDesc {
            name: p.name.clone(),
            width: p.width,
            dir: if p.dir == hdl::ir::PortDir::Input {
                Dir::Input
            } else {
                Dir::Output
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitive_arrays_get_their_block_model_and_plain_arrays_none() {
        let mut cfg = hdl::array::ArrayConfig {
            rows: 2,
            cols: 2,
            pipeline: 3,
            ..hdl::array::ArrayConfig::default()
        };
        let plain = hdl::array::design(&cfg).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(for_design(&plain), Ok(String::new()));
        cfg.dsp_cell = hdl::array::DspCell::Ecp5;
        let d = hdl::array::design(&cfg).unwrap_or_else(|e| panic!("{e}"));
        let text = for_design(&d).unwrap_or_else(|e| panic!("{e}"));
        assert!(text.contains("module MULT18X18D"));
        // Every parameter the generator sets is one the model declares.
        for (p, _) in hdl::array::ecp5_mult::PARAMS {
            assert!(text.contains(&format!("parameter {p} =")), "{p}");
        }
        cfg.dsp_cell = hdl::array::DspCell::Ice40;
        let d = hdl::array::design(&cfg).unwrap_or_else(|e| panic!("{e}"));
        let text = for_design(&d).unwrap_or_else(|e| panic!("{e}"));
        assert!(text.contains("module SB_MAC16"));
        assert!(!text.contains("module MULT18X18D"));
        for (p, width) in hdl::array::ice40_mac16::PARAMS {
            let decl = if width == 1 {
                format!("parameter [0:0] {p} =")
            } else {
                format!("parameter [{}:0] {p} =", width - 1)
            };
            assert!(text.contains(&decl), "{decl}");
        }
    }
}

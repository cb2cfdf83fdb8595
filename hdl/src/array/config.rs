//! `ArrayConfig`: the one configuration of the systolic array, validated in one
//! place, with every derived number computed here and nowhere else.

use serde::Serialize;

use crate::{check_name, check_range, ConfigError};

/// Largest supported number of rows or columns.
pub const MAX_DIM: u32 = 256;
/// Operand width (signed int8).
pub const OPERAND_BITS: u32 = 8;
/// Accumulator width (two's complement, wraps on overflow).
pub const ACC_BITS: u32 = 32;

/// Largest supported PE pipeline depth.
pub const MAX_PIPELINE: u32 = 4;

/// How each PE's 8x8 multiplier is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MulStyle {
    /// The `*` operator: synthesis maps it to DSP blocks where it can.
    Dsp,
    /// Explicit shift-and-add partial products: LUTs and carry chains, never a DSP.
    Lut,
    /// `*` for the first `dsp_limit` PEs (row-major), partial products for the rest,
    /// so an array fits a device with few DSP blocks (the iCE40UP5K has 8).
    Auto,
}

impl MulStyle {
    pub fn parse(s: &str) -> Result<MulStyle, ConfigError> {
        match s {
            "dsp" => Ok(MulStyle::Dsp),
            "lut" => Ok(MulStyle::Lut),
            "auto" => Ok(MulStyle::Auto),
            other => Err(ConfigError::new(
                "mul",
                "must be one of dsp, lut, auto",
                format!("`{other}`"),
            )),
        }
    }
}

/// How a DSP-style multiplier (`MulStyle::Dsp`, or the DSP share of `Auto`) is
/// written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DspCell {
    /// The `*` operator; synthesis picks the block (any FPGA, ASIC flows, simulation).
    Infer,
    /// An instantiated ECP5 `MULT18X18D` whose own input and output registers are
    /// the PE's multiplier registers; needs pipeline depth 3 or more.
    Ecp5,
    /// Instantiated iCE40 UltraPlus `SB_MAC16` blocks in 8x8 mode, each shared by
    /// two neighbouring PEs of a row (its top and bottom multipliers), so the
    /// UP5K's 8 blocks give 16 products; any pipeline depth (see `ice40_mac16`).
    Ice40,
}

impl DspCell {
    pub fn parse(s: &str) -> Result<DspCell, ConfigError> {
        match s {
            "infer" => Ok(DspCell::Infer),
            "ecp5" => Ok(DspCell::Ecp5),
            "ice40" => Ok(DspCell::Ice40),
            other => Err(ConfigError::new(
                "dsp_cell",
                "must be one of infer, ecp5, ice40",
                format!("`{other}`"),
            )),
        }
    }
}

/// User-facing parameters of the output-stationary systolic array.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ArrayConfig {
    /// PE rows = rows of A and C per tile (1..=256).
    pub rows: u32,
    /// PE columns = columns of B and C per tile (1..=256).
    pub cols: u32,
    /// Name of the top module; sub-modules are prefixed with it.
    pub name: String,
    /// PE pipeline depth (0..=3): 0 multiplies and accumulates in one step; 1 registers
    /// the product; 2 also multiplies registered operands (the pass-through
    /// registers); 3 gives the multiplier operand registers of its own; 4 adds a
    /// second product register and a register stage on each edge of the mesh.
    /// Results are identical for every depth; latency grows by the depth.
    pub pipeline: u32,
    /// Multiplier implementation.
    pub mul: MulStyle,
    /// With `mul = auto`: how many PEs (row-major) use the DSP-style multiplier.
    pub dsp_limit: u32,
    /// How the DSP-style multipliers are written.
    pub dsp_cell: DspCell,
}

impl Default for ArrayConfig {
    fn default() -> Self {
        ArrayConfig {
            rows: 16,
            cols: 16,
            name: "systolic_array".into(),
            pipeline: 0,
            mul: MulStyle::Dsp,
            dsp_limit: 0,
            dsp_cell: DspCell::Infer,
        }
    }
}

/// Numbers derived from an [`ArrayConfig`]; written to the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ArrayDerived {
    pub operand_bits: u32,
    pub acc_bits: u32,
    pub in_a_bits: u32,
    pub in_b_bits: u32,
    pub out_c_bits: u32,
    pub pes: u32,
    /// PEs whose multiplier is the `*` operator (DSP-mappable).
    pub dsp_pes: u32,
    /// DSP blocks those PEs use: one per PE, except with `dsp_cell = ice40`,
    /// where two neighbours of a row share one (see [`ArrayConfig::dsp_partner`]).
    pub dsp_blocks: u32,
    /// Cycles from accepting the last beat of a tile to out_valid of its last row,
    /// with out_ready held high.
    pub last_beat_to_last_row_cycles: u32,
    /// Minimum distance, in accepted beats, between two `in_last` beats at full rate;
    /// shorter tiles (K < rows) are throttled to this.
    pub min_tile_beats: u32,
}

impl ArrayConfig {
    /// Check every rule; the error names the rule and the value.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range("rows", self.rows.into(), 1, MAX_DIM.into())?;
        check_range("cols", self.cols.into(), 1, MAX_DIM.into())?;
        check_range("pipeline", self.pipeline.into(), 0, MAX_PIPELINE.into())?;
        check_range(
            "dsp_limit",
            self.dsp_limit.into(),
            0,
            u64::from(MAX_DIM * MAX_DIM),
        )?;
        if self.dsp_cell == DspCell::Ecp5 && self.pipeline < 3 {
            return Err(ConfigError::new(
                "dsp_cell",
                "ecp5 needs pipeline >= 3 (the block's registers are the PE's operand and product registers)",
                format!("ecp5 with pipeline {}", self.pipeline),
            ));
        }
        check_name("name", &self.name)
    }

    pub fn derived(&self) -> ArrayDerived {
        let dsp_pes = match self.mul {
            MulStyle::Dsp => self.rows * self.cols,
            MulStyle::Lut => 0,
            MulStyle::Auto => self.dsp_limit.min(self.rows * self.cols),
        };
        // A block per DSP PE, less one for each PE that shares its left
        // neighbour's block.
        let sharing = (0..self.rows)
            .flat_map(|i| (0..self.cols).map(move |j| (i, j)))
            .filter(|&(i, j)| j % 2 == 1 && self.dsp_partner(i, j).is_some())
            .count() as u32;
        ArrayDerived {
            operand_bits: OPERAND_BITS,
            acc_bits: ACC_BITS,
            in_a_bits: self.rows * OPERAND_BITS,
            in_b_bits: self.cols * OPERAND_BITS,
            out_c_bits: self.cols * ACC_BITS,
            pes: self.rows * self.cols,
            dsp_pes,
            dsp_blocks: dsp_pes - sharing,
            // input register + skew (rows-1) + PE + result register + deskew + output register
            last_beat_to_last_row_cycles: self.rows
                + self.cols
                + 1
                + self.pipeline
                + 2 * self.edge_stages(),
            min_tile_beats: self.rows,
        }
    }

    /// Extra register stages on each side of the mesh (between the input register
    /// and the skew, between the column collect and the deskew): 1 from pipeline
    /// depth 4, where the PEs are spread over the die after their DSP blocks and
    /// the mesh's edges are too far from the top's registers for one clock.
    pub fn edge_stages(&self) -> u32 {
        u32::from(self.pipeline >= 4)
    }

    /// Do the PEs share their valid/last flags per anti-diagonal? Every PE on
    /// anti-diagonal i + j sees the same flags one step after its neighbours
    /// above and to the left, so one chain of flag registers in the mesh can
    /// serve them all (synthesis merges the per-PE copies into that anyway when
    /// it flattens). At depth 0, where the multiply-add sets the clock, that is
    /// what the mesh does: a simulator then evaluates about 2 flags per diagonal
    /// instead of 5 per PE (Verilator at 16x16: 15.5k -> 11.8k instructions
    /// per cycle). From depth 1 up, built for the clock, each PE keeps its own
    /// copies, so that a flow that does not merge them (yosys `-noflatten`)
    /// keeps every accumulator's clear local (docs/measurements.md).
    pub fn diagonal_flags(&self) -> bool {
        self.pipeline == 0
    }

    /// Does PE (i, j) use the DSP-style (`*`) multiplier?
    pub fn pe_uses_dsp(&self, i: u32, j: u32) -> bool {
        match self.mul {
            MulStyle::Dsp => true,
            MulStyle::Lut => false,
            MulStyle::Auto => i * self.cols + j < self.dsp_limit,
        }
    }

    /// With `dsp_cell = ice40`, the column of the PE that shares PE (i, j)'s
    /// `SB_MAC16`: columns 2p and 2p+1 of a row pair up when both use the DSP
    /// multiplier; a DSP PE without a partner (odd `cols`, or the last of
    /// `dsp_limit`) has a block to itself. `None` for every other cell.
    pub fn dsp_partner(&self, i: u32, j: u32) -> Option<u32> {
        let other = j ^ 1;
        (self.dsp_cell == DspCell::Ice40
            && other < self.cols
            && self.pe_uses_dsp(i, j)
            && self.pe_uses_dsp(i, other))
        .then_some(other)
    }

    /// Name of a sub-module of this array.
    pub fn sub(&self, what: &str) -> String {
        format!("{}_{what}", self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ice40(rows: u32, cols: u32, mul: MulStyle, dsp_limit: u32) -> ArrayConfig {
        ArrayConfig {
            rows,
            cols,
            mul,
            dsp_limit,
            dsp_cell: DspCell::Ice40,
            ..ArrayConfig::default()
        }
    }

    #[test]
    fn ice40_pairs_neighbours_of_a_row_and_counts_blocks() {
        // 4x4: 16 products in the UP5K's 8 blocks.
        let c = ice40(4, 4, MulStyle::Dsp, 0);
        assert_eq!((c.derived().dsp_pes, c.derived().dsp_blocks), (16, 8));
        assert_eq!(c.dsp_partner(2, 0), Some(1));
        assert_eq!(c.dsp_partner(2, 1), Some(0));
        assert_eq!(c.dsp_partner(2, 3), Some(2));
        // Odd columns: the last PE of each row has a block to itself.
        let c = ice40(3, 5, MulStyle::Dsp, 0);
        assert_eq!(c.dsp_partner(0, 4), None);
        assert_eq!(c.derived().dsp_blocks, 9);
        // auto, 16 of 5x4: four rows of pairs, the fifth row in LUTs.
        let c = ice40(5, 4, MulStyle::Auto, 16);
        assert_eq!((c.derived().dsp_pes, c.derived().dsp_blocks), (16, 8));
        assert_eq!(c.dsp_partner(4, 0), None);
        // An odd limit leaves the last DSP PE alone.
        let c = ice40(2, 4, MulStyle::Auto, 5);
        assert_eq!(c.dsp_partner(1, 0), None);
        assert_eq!(c.derived().dsp_blocks, 3);
        // Other cells never share a block.
        let c = ArrayConfig {
            dsp_cell: DspCell::Infer,
            ..ice40(4, 4, MulStyle::Dsp, 0)
        };
        assert_eq!(c.dsp_partner(0, 0), None);
        assert_eq!(c.derived().dsp_blocks, 16);
    }

    #[test]
    fn ice40_cell_parses_and_takes_every_depth() {
        assert_eq!(DspCell::parse("ice40"), Ok(DspCell::Ice40));
        let e = DspCell::parse("sb_mac16").err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("dsp_cell must be one of infer, ecp5, ice40, got `sb_mac16`")
        );
        for pipeline in 0..=MAX_PIPELINE {
            let c = ArrayConfig {
                pipeline,
                ..ice40(2, 2, MulStyle::Dsp, 0)
            };
            assert_eq!(c.validate(), Ok(()), "pipeline {pipeline}");
        }
    }
}

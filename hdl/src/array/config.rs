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

/// User-facing parameters of the output-stationary systolic array.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ArrayConfig {
    /// PE rows = rows of A and C per tile (1..=256).
    pub rows: u32,
    /// PE columns = columns of B and C per tile (1..=256).
    pub cols: u32,
    /// Name of the top module; sub-modules are prefixed with it.
    pub name: String,
}

impl Default for ArrayConfig {
    fn default() -> Self {
        ArrayConfig {
            rows: 16,
            cols: 16,
            name: "systolic_array".into(),
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
        check_name("name", &self.name)
    }

    pub fn derived(&self) -> ArrayDerived {
        ArrayDerived {
            operand_bits: OPERAND_BITS,
            acc_bits: ACC_BITS,
            in_a_bits: self.rows * OPERAND_BITS,
            in_b_bits: self.cols * OPERAND_BITS,
            out_c_bits: self.cols * ACC_BITS,
            pes: self.rows * self.cols,
            // input register + skew (rows-1) + PE + result register + deskew + output register
            last_beat_to_last_row_cycles: self.rows + self.cols + 1,
            min_tile_beats: self.rows,
        }
    }

    /// Name of a sub-module of this array.
    pub fn sub(&self, what: &str) -> String {
        format!("{}_{what}", self.name)
    }
}

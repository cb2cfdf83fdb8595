//! `MaxpoolConfig`: the one configuration of the streaming max-pool unit,
//! validated in one place, and [`Plan`]: every number the hardware derives
//! from it, computed here and nowhere else.
//!
//! Both axes pool with the same window `K`, stride `S` and padding `P`, so one
//! set of window numbers serves the rows (vertical) and the columns
//! (horizontal). Along an axis, window `o` covers the cells
//! `o*S - P ..= o*S - P + K - 1`; cells outside the image are padding and
//! never win. A window is kept as a running maximum in one of `slots` storage
//! slots, slot `o mod slots`, from its first real cell to its last.

use serde::Serialize;

use crate::{check_name, ConfigError};

/// Largest number of channels.
pub const MAX_CHANNELS: u32 = 256;
/// Largest image width.
pub const MAX_WIDTH: u32 = 4096;
/// Largest pooling window.
pub const MAX_WINDOW: u32 = 8;
/// Bits of one channel value (signed int8).
pub const LANE_BITS: u32 = 8;
/// Pipeline registers from the input port to the output port: line-buffer
/// stage, window stage, hold register, output register.
pub const PIPELINE_STAGES: u32 = 4;

/// User-facing parameters of the max-pool unit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MaxpoolConfig {
    /// Channels per pixel (1..=256); channel c travels at bits `[8*c +: 8]`.
    pub channels: u32,
    /// Image width W in pixels (1..=4096). The height comes from `in_last`.
    pub width: u32,
    /// Pooling window K (K x K), 1..=8.
    pub window: u32,
    /// Stride S in both directions, 1..=K.
    pub stride: u32,
    /// Padding P on all four sides, 0..=K/2; padded cells never win.
    pub pad: u32,
    /// Name of the top module; sub-modules are prefixed with it.
    pub name: String,
}

impl Default for MaxpoolConfig {
    fn default() -> Self {
        MaxpoolConfig {
            channels: 8,
            width: 28,
            window: 2,
            stride: 2,
            pad: 0,
            name: "maxpool".into(),
        }
    }
}

/// The allowed range of one integer parameter, which may depend on others.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamRange {
    pub lo: u32,
    pub hi: u32,
    /// How the range reads in messages, e.g. `1..=window (2)`.
    pub text: String,
}

/// Numbers derived from a [`MaxpoolConfig`]; written to the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MaxpoolDerived {
    /// Width of `in_data` and `out_data`: channels * 8.
    pub data_bits: u32,
    /// Pooled pixels per output row: (width + 2*pad - window) / stride + 1.
    pub out_width: u32,
    /// Fewest input rows an image may have: window - 2*pad (at least 1).
    pub min_height: u32,
    /// Running-maximum slots per axis: ceil((window - 1) / stride).
    pub slots: u32,
    /// How the line buffer is held: `block_ram`, `registers` (width 1) or `none` (window 1).
    pub line_buffer: String,
    /// Line buffer word width in bits (slots * data_bits) and depth in words (width).
    pub line_buffer_bits: u32,
    pub line_buffer_depth: u32,
    /// Extra cycles (input not accepted) after each input row that completes a row of
    /// windows: the windows reaching into the right padding leave one per cycle.
    pub extra_cycles_per_pooled_row: u32,
    /// Most bottom-padding rows emitted after `in_last`, each `width + extra` cycles.
    pub max_flush_rows: u32,
    /// Registers from input port to output port.
    pub pipeline_stages: u32,
}

/// The window arithmetic of one axis and of the last column, as the hardware uses it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Running-maximum slots: the most windows alive across a cell boundary.
    pub slots: u32,
    /// Windows whose first real cell is cell 0: `P/S + 1` (top/left padding).
    pub first_starts: u32,
    /// Bit j set: slot j starts a window at cell 0.
    pub start_mask0: u64,
    /// Cells from cell 0 to the end of window 0: `K - 1 - P`.
    pub end_init: u32,
    /// Cell where window `first_starts` starts: `first_starts*S - P` (>= 1).
    pub start_init: u32,
    /// Slot of window `first_starts`.
    pub start_slot_init: u32,
    /// Pooled pixels per row.
    pub w_out: u32,
    /// First window whose (padded) end is at or after the last column.
    pub last_first_window: u32,
    /// Windows completed at the last column (the first at the column itself, the
    /// rest in extra cycles); 0 when the last windows end before it.
    pub last_windows: u32,
    /// The window completed at the last column has only that column as a real cell.
    pub last_fresh: bool,
    /// Column where a row's last window completes, when that is a column token
    /// (`last_windows <= 1`); with more, the last extra completes it.
    pub row_last_col: u32,
    /// Slot of the window emitted by the extra cycle with `e` extras left, at index `e`
    /// (index 0 unused).
    pub extra_slots: Vec<u32>,
}

impl MaxpoolConfig {
    /// The range of integer parameter `param` given the others; `None` for an unknown name.
    pub fn range(&self, param: &str) -> Option<ParamRange> {
        let fixed = |lo: u32, hi: u32| ParamRange {
            lo,
            hi,
            text: format!("{lo}..={hi}"),
        };
        Some(match param {
            "channels" => fixed(1, MAX_CHANNELS),
            "width" => fixed(1, MAX_WIDTH),
            "window" => fixed(1, MAX_WINDOW),
            "stride" => ParamRange {
                lo: 1,
                hi: self.window,
                text: format!("1..=window ({})", self.window),
            },
            "pad" => ParamRange {
                lo: 0,
                hi: self.window / 2,
                text: format!("0..=window/2 ({})", self.window / 2),
            },
            _ => return None,
        })
    }

    /// Check every rule; the error names the rule and the value.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (param, value) in [
            ("channels", self.channels),
            ("width", self.width),
            ("window", self.window),
            ("stride", self.stride),
            ("pad", self.pad),
        ] {
            if let Some(r) = self.range(param) {
                if !(r.lo..=r.hi).contains(&value) {
                    return Err(ConfigError::new(
                        param,
                        format!("must be in {}", r.text),
                        value,
                    ));
                }
            }
        }
        // Otherwise a row has no complete window and the output would be 0 pixels wide.
        if self.width + 2 * self.pad < self.window {
            return Err(ConfigError::new(
                "width",
                format!("+ 2*pad must be >= window ({})", self.window),
                format!(
                    "{} + 2*{} = {}",
                    self.width,
                    self.pad,
                    self.width + 2 * self.pad
                ),
            ));
        }
        check_name("name", &self.name)
    }

    /// Width of one pixel (all channels) in bits.
    pub fn data_bits(&self) -> u32 {
        self.channels * LANE_BITS
    }

    /// The window arithmetic. Meaningful for a valid configuration only.
    pub fn plan(&self) -> Plan {
        let (k, s, p, w) = (
            i64::from(self.window),
            i64::from(self.stride),
            i64::from(self.pad),
            i64::from(self.width),
        );
        let slots = (k - 1 + s - 1) / s;
        let first_starts = p / s + 1;
        let start_mask0 = if slots == 0 {
            0
        } else {
            (0..first_starts).fold(0u64, |m, o| m | 1 << (o % slots))
        };
        let end_of = |o: i64| o * s - p + k - 1;
        let w_out = (w + 2 * p - k) / s + 1;
        // The first window ending at or after the last column.
        let last_first = if end_of(0) >= w - 1 {
            0
        } else {
            (w - 1 - end_of(0) + s - 1) / s
        };
        let last_windows = (w_out - last_first).max(0);
        let last_fresh = last_windows > 0 && (last_first * s - p).max(0) == w - 1;
        let slot_of = |o: i64| if slots == 0 { 0 } else { (o % slots) as u32 };
        let extra_slots = (0..last_windows.max(1))
            .map(|e| {
                if e == 0 {
                    0
                } else {
                    slot_of(last_first + last_windows - e)
                }
            })
            .collect();
        Plan {
            slots: slots as u32,
            first_starts: first_starts as u32,
            start_mask0,
            end_init: (k - 1 - p) as u32,
            start_init: (first_starts * s - p) as u32,
            start_slot_init: slot_of(first_starts),
            w_out: w_out as u32,
            last_first_window: last_first as u32,
            last_windows: last_windows as u32,
            last_fresh,
            row_last_col: end_of(w_out - 1).min(w - 1) as u32,
            extra_slots,
        }
    }

    pub fn derived(&self) -> MaxpoolDerived {
        let plan = self.plan();
        let line_buffer = if plan.slots == 0 {
            "none"
        } else if self.width == 1 {
            "registers"
        } else {
            "block_ram"
        };
        MaxpoolDerived {
            data_bits: self.data_bits(),
            out_width: plan.w_out,
            min_height: self.window.saturating_sub(2 * self.pad).max(1),
            slots: plan.slots,
            line_buffer: line_buffer.into(),
            line_buffer_bits: plan.slots * self.data_bits(),
            line_buffer_depth: if plan.slots == 0 { 0 } else { self.width },
            extra_cycles_per_pooled_row: plan.last_windows.saturating_sub(1),
            max_flush_rows: self.pad.div_ceil(self.stride),
            pipeline_stages: PIPELINE_STAGES,
        }
    }

    /// Name of a sub-module of this unit.
    pub fn sub(&self, what: &str) -> String {
        format!("{}_{what}", self.name)
    }

    /// Pooled rows of an image of `height` rows (0 when it is shorter than `min_height`).
    pub fn out_height(&self, height: u32) -> u32 {
        let span = i64::from(height) + 2 * i64::from(self.pad) - i64::from(self.window);
        if span < 0 {
            0
        } else {
            (span / i64::from(self.stride) + 1) as u32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(w: u32, k: u32, s: u32, p: u32) -> MaxpoolConfig {
        MaxpoolConfig {
            width: w,
            window: k,
            stride: s,
            pad: p,
            ..MaxpoolConfig::default()
        }
    }

    #[test]
    fn messages_name_rule_and_value() {
        let e = |c: MaxpoolConfig| c.validate().map_err(|e| e.to_string()).err();
        assert_eq!(
            e(cfg(28, 2, 3, 0)).as_deref(),
            Some("stride must be in 1..=window (2), got 3")
        );
        assert_eq!(
            e(cfg(28, 3, 1, 2)).as_deref(),
            Some("pad must be in 0..=window/2 (1), got 2")
        );
        assert_eq!(
            e(cfg(28, 9, 1, 0)).as_deref(),
            Some("window must be in 1..=8, got 9")
        );
        assert_eq!(
            e(cfg(2, 3, 1, 0)).as_deref(),
            Some("width + 2*pad must be >= window (3), got 2 + 2*0 = 2")
        );
        assert_eq!(e(cfg(1, 3, 1, 1)), None);
    }

    #[test]
    fn plan_of_common_shapes() {
        let p = cfg(28, 2, 2, 0).plan();
        assert_eq!((p.slots, p.w_out, p.last_windows), (1, 14, 1));
        let p = cfg(224, 3, 2, 1).plan();
        assert_eq!(
            (p.slots, p.w_out, p.last_windows, p.end_init),
            (1, 112, 1, 1)
        );
        // K=2, S=1, P=1: W+1 outputs per row, two of them at the last column.
        let p = cfg(5, 2, 1, 1).plan();
        assert_eq!((p.w_out, p.last_first_window, p.last_windows), (6, 4, 2));
        assert!(!p.last_fresh, "window 4 covers columns 3 and 4");
        // K=2, S=2, P=1, W=4: window 2 covers column 3 and the padding only.
        let p = cfg(4, 2, 2, 1).plan();
        assert_eq!((p.w_out, p.last_first_window, p.last_windows), (3, 2, 1));
        assert!(p.last_fresh);
        let p = cfg(7, 1, 1, 0).plan();
        assert_eq!((p.slots, p.w_out, p.last_windows), (0, 7, 1));
    }
}

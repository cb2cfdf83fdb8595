//! The requantization + activation rule: int32 accumulator back to int8.
//!
//! This is the one definition of the rule. The Rust reference calls
//! [`Requant::apply`], the WGSL kernel mirrors it line by line (with 64-bit
//! arithmetic emulated in 32-bit words, see `gpu/requant.wgsl`), and the
//! hardware implements exactly the same arithmetic:
//!
//! ```text
//! x     = acc + bias                               (int32, wrapping)
//! round = shift > 0 ? 1 << (shift - 1) : 0
//! y     = (x as i64 * mult + round) >> shift       (64-bit, arithmetic shift)
//! out   = clamp(y, lo, 127)                        lo = 0 with ReLU, -128 without
//! ```
//!
//! with `mult` in `1..=65535` and `shift` in `0..=31`. The 64-bit intermediate
//! never overflows: `|x * mult| < 2^31 * 2^16 = 2^47` and `round <= 2^30`.
//! Rounding is "round half up" (towards +infinity) on the fixed-point value
//! `x * mult / 2^shift`.

use crate::error::{GoldenError, Result};

/// Requantization parameters: a fixed-point multiplier, a right shift and
/// whether ReLU clips negatives. Only constructible valid (see [`Requant::new`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Requant {
    mult: u32,
    shift: u32,
    relu: bool,
}

impl Requant {
    /// Largest allowed multiplier (16 bits in hardware).
    pub const MULT_MAX: u32 = 65535;
    /// Largest allowed shift.
    pub const SHIFT_MAX: u32 = 31;

    /// Checks `1 <= mult <= 65535` and `shift <= 31`; the error names the rule.
    pub fn new(mult: u32, shift: u32, relu: bool) -> Result<Self> {
        if !(1..=Self::MULT_MAX).contains(&mult) {
            return Err(GoldenError::invalid(
                "requant",
                "1 <= mult <= 65535",
                format!("mult = {mult}"),
            ));
        }
        if shift > Self::SHIFT_MAX {
            return Err(GoldenError::invalid(
                "requant",
                "shift <= 31",
                format!("shift = {shift}"),
            ));
        }
        Ok(Requant { mult, shift, relu })
    }

    /// The identity-like setting `mult = 1, shift = 0` (plain saturation to int8).
    pub const fn saturate(relu: bool) -> Self {
        Requant {
            mult: 1,
            shift: 0,
            relu,
        }
    }

    /// Fixed-point multiplier, `1..=65535`.
    pub const fn mult(&self) -> u32 {
        self.mult
    }

    /// Right shift, `0..=31`.
    pub const fn shift(&self) -> u32 {
        self.shift
    }

    /// Whether ReLU is applied (lower clamp 0 instead of -128).
    pub const fn relu(&self) -> bool {
        self.relu
    }

    /// Lower clamp bound: 0 with ReLU, -128 without.
    pub const fn lo(&self) -> i8 {
        if self.relu {
            0
        } else {
            i8::MIN
        }
    }

    /// Rounding constant `shift > 0 ? 1 << (shift-1) : 0`.
    pub const fn round(&self) -> i64 {
        if self.shift > 0 {
            1i64 << (self.shift - 1)
        } else {
            0
        }
    }

    /// THE rule: `clamp(((acc + bias) * mult + round) >> shift, lo, 127)`,
    /// `acc + bias` wrapping in int32, the rest in int64 with an arithmetic shift.
    pub fn apply(&self, acc: i32, bias: i32) -> i8 {
        let x = i64::from(acc.wrapping_add(bias));
        let y = (x * i64::from(self.mult) + self.round()) >> self.shift;
        // In range after the clamp, so the cast is exact.
        y.clamp(i64::from(self.lo()), 127) as i8
    }
}

/// Bit-for-bit Rust transcription of the WGSL `requant` function: the 64-bit
/// arithmetic done in `(hi, lo)` pairs of u32 words exactly as the shader does
/// it, so the emulation itself can be tested at CPU speed against
/// [`Requant::apply`] over many more values than a GPU test can afford.
#[cfg(test)]
pub(crate) fn apply_u32_pieces(rq: &Requant, acc: i32, bias: i32) -> i8 {
    let (mult, shift, lo_bound) = (rq.mult, rq.shift, i32::from(rq.lo()));
    let x = acc.wrapping_add(bias);
    let xu = x as u32;
    let p0 = (xu & 0xffff) * mult;
    let p1 = (xu >> 16) * mult;
    let mut lo = p0.wrapping_add(p1 << 16);
    let mut hi = (p1 >> 16) + u32::from(lo < p0);
    if x < 0 {
        hi = hi.wrapping_sub(mult);
    }
    if shift > 0 {
        let r = 1u32 << (shift - 1);
        let lo2 = lo.wrapping_add(r);
        hi = hi.wrapping_add(u32::from(lo2 < lo));
        lo = lo2;
        lo = (lo >> shift) | (hi << (32 - shift));
        hi = ((hi as i32) >> shift) as u32;
    }
    let hs = hi as i32;
    let y = if hs > 0 {
        127
    } else if hs < -1 {
        lo_bound
    } else if hs == 0 {
        lo.min(127) as i32
    } else if lo >= 0x8000_0000 {
        lo as i32
    } else {
        lo_bound
    };
    y.clamp(lo_bound, 127) as i8
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rule_by_hand() {
        let rq = Requant::new(3, 2, false).unwrap();
        // (10 + 1) * 3 = 33, + round 2 = 35, >> 2 = 8.
        assert_eq!(rq.apply(10, 1), 8);
        // -11 * 3 = -33, + 2 = -31, >> 2 = -8 (arithmetic shift floors).
        assert_eq!(rq.apply(-10, -1), -8);
        // Half rounds up: 2 * 3 = 6, +2 = 8, >> 2 = 2 (1.5 -> 2); -6+2 = -4 >> 2 = -1 (-1.5 -> -1).
        assert_eq!(rq.apply(2, 0), 2);
        assert_eq!(rq.apply(-2, 0), -1);
        // Saturation both ways, ReLU.
        assert_eq!(Requant::saturate(false).apply(1000, 0), 127);
        assert_eq!(Requant::saturate(false).apply(-1000, 0), -128);
        assert_eq!(Requant::saturate(true).apply(-1000, 0), 0);
        assert_eq!(Requant::saturate(true).apply(-1, 0), 0);
        // acc + bias wraps in int32 before widening: MAX + 1 = MIN.
        assert_eq!(Requant::saturate(false).apply(i32::MAX, 1), -128);
        // Largest product: MIN * 65535 >> 31 = -65535 -> clamped.
        assert_eq!(
            Requant::new(65535, 31, false).unwrap().apply(i32::MIN, 0),
            -128
        );
        // 2^31-1 * 65535 >> 31 = 65534.99.. -> rounds to 65535 -> 127.
        assert_eq!(
            Requant::new(65535, 31, false).unwrap().apply(i32::MAX, 0),
            127
        );
        // 2^24 * 1 >> 31 = 0.0078 -> 0; 2^30 >> 31 = 0.5 -> rounds up to 1.
        assert_eq!(Requant::new(1, 31, false).unwrap().apply(1 << 24, 0), 0);
        assert_eq!(Requant::new(1, 31, false).unwrap().apply(1 << 30, 0), 1);
        assert_eq!(Requant::new(1, 31, false).unwrap().apply(-(1 << 30), 0), 0);
        assert_eq!(
            Requant::new(1, 31, false).unwrap().apply(-(1 << 30) - 1, 0),
            -1
        );
    }

    #[test]
    fn params_are_checked() {
        assert!(Requant::new(0, 0, false)
            .unwrap_err()
            .to_string()
            .contains("1 <= mult <= 65535"));
        assert!(Requant::new(65536, 0, false).is_err());
        assert!(Requant::new(1, 32, false)
            .unwrap_err()
            .to_string()
            .contains("shift = 32"));
        assert!(Requant::new(65535, 31, true).is_ok());
    }

    const EXTREME_ACC: [i32; 12] = [
        i32::MIN,
        i32::MIN + 1,
        -(1 << 30) - 1,
        -(1 << 30),
        -65536,
        -1,
        0,
        1,
        65535,
        1 << 30,
        i32::MAX - 1,
        i32::MAX,
    ];

    #[test]
    fn u32_piece_emulation_matches_at_extremes() {
        for &mult in &[1u32, 2, 255, 256, 32767, 32768, 65534, 65535] {
            for shift in 0..=31 {
                for relu in [false, true] {
                    let rq = Requant::new(mult, shift, relu).unwrap();
                    for &a in &EXTREME_ACC {
                        for &b in &EXTREME_ACC {
                            assert_eq!(
                                apply_u32_pieces(&rq, a, b),
                                rq.apply(a, b),
                                "acc {a} bias {b} mult {mult} shift {shift} relu {relu}"
                            );
                        }
                    }
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(100_000))]
        #[test]
        fn u32_piece_emulation_matches(acc in any::<i32>(), bias in any::<i32>(),
                                       mult in 1u32..=65535, shift in 0u32..=31, relu in any::<bool>()) {
            let rq = Requant::new(mult, shift, relu).unwrap();
            prop_assert_eq!(apply_u32_pieces(&rq, acc, bias), rq.apply(acc, bias));
        }
    }
}

//! Strategies shared by the GPU-vs-reference test binaries.

#![allow(dead_code)] // Each test binary uses its own subset.

use proptest::collection::vec;
use proptest::prelude::*;

/// int8 data with edge values weighted in: random, random extremes, or constant -128 / 127 / 0.
pub fn values(len: usize) -> impl Strategy<Value = Vec<i8>> {
    prop_oneof![
        4 => vec(any::<i8>(), len),
        1 => vec(prop_oneof![Just(-128i8), Just(127i8), Just(-1i8), Just(0i8)], len),
        1 => Just(vec![-128i8; len]),
        1 => Just(vec![127i8; len]),
        1 => Just(vec![0i8; len]),
    ]
}

/// int32 values with the extremes weighted in.
pub fn acc_value() -> impl Strategy<Value = i32> {
    prop_oneof![
        3 => any::<i32>(),
        2 => -70_000i32..70_000,
        1 => prop_oneof![Just(i32::MIN), Just(i32::MAX), Just(i32::MIN + 1), Just(i32::MAX - 1), Just(0), Just(-1)],
    ]
}

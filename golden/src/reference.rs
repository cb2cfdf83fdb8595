//! Plain-Rust integer reference models: slow, simple, the bottom of the golden chain.
//!
//! All tensors are row-major. Accumulation wraps in the accumulator type,
//! exactly as the hardware's two's-complement accumulators do.

use num_traits::{WrappingAdd, WrappingMul};

/// C[m x n] = A[m x k] * B[k x n], accumulated with wrapping arithmetic in `Acc`.
///
/// Generic so the same loop serves int8 -> int32 (the hardware) and wider
/// accumulators (for checking that a test never relied on wrapping by accident).
pub fn gemm<T, Acc>(a: &[T], b: &[T], m: usize, k: usize, n: usize) -> Vec<Acc>
where
    T: Copy + Into<Acc>,
    Acc: Copy + Default + WrappingAdd + WrappingMul,
{
    assert_eq!(a.len(), m * k, "A must hold m*k = {m}*{k} elements");
    assert_eq!(b.len(), k * n, "B must hold k*n = {k}*{n} elements");
    let mut c = vec![Acc::default(); m * n];
    for i in 0..m {
        for j in 0..n {
            let mut acc = Acc::default();
            for kk in 0..k {
                let p = a[i * k + kk].into().wrapping_mul(&b[kk * n + j].into());
                acc = acc.wrapping_add(&p);
            }
            c[i * n + j] = acc;
        }
    }
    c
}

/// The hardware's GEMM: int8 operands, int32 wrapping accumulation.
pub fn gemm_i8(a: &[i8], b: &[i8], m: usize, k: usize, n: usize) -> Vec<i32> {
    gemm::<i8, i32>(a, b, m, k, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_small_by_hand() {
        // [1 2; 3 4] * [5 6; 7 8] = [19 22; 43 50]
        let c = gemm_i8(&[1, 2, 3, 4], &[5, 6, 7, 8], 2, 2, 2);
        assert_eq!(c, vec![19, 22, 43, 50]);
    }

    #[test]
    fn gemm_wraps_like_int32() {
        // 2^14 * 2^14 summed 2^4... use -128*-128 = 16384, K = 131072 would overflow:
        // check against i64 accumulation truncated to 32 bits instead of a literal.
        let k = 140_000;
        let a = vec![-128i8; k];
        let b = vec![-128i8; k];
        let c32 = gemm_i8(&a, &b, 1, k, 1)[0];
        let c64 = gemm::<i8, i64>(&a, &b, 1, k, 1)[0];
        assert_eq!(c32, c64 as i32);
        assert_ne!(c32 as i64, c64, "this K must overflow int32");
    }
}

//! Small arithmetic helpers shared by the blocks.

/// Bits needed to hold the values `0..n` (at least 1): `clog2(1) = 0`, `clog2(5) = 3`.
pub fn clog2(n: u64) -> u32 {
    if n <= 1 {
        0
    } else {
        64 - (n - 1).leading_zeros()
    }
}

/// Bits needed to hold the value `n` itself (at least 1).
pub fn bits_for(n: u64) -> u32 {
    clog2(n + 1).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clog2_matches_definition() {
        for n in 1u64..2000 {
            let c = clog2(n);
            assert!(1u64 << c >= n, "2^clog2({n}) must cover {n}");
            assert!(c == 0 || 1u64 << (c - 1) < n, "clog2({n}) must be minimal");
        }
        assert_eq!(bits_for(0), 1);
        assert_eq!(bits_for(255), 8);
        assert_eq!(bits_for(256), 9);
    }
}

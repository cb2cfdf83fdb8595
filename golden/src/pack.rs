//! Packing int8 tensors four to a `u32` word for the GPU.
//!
//! WGSL has no 8-bit storage type, so int8 data travels as `array<u32>` with
//! four values per word, **lowest byte = lowest index** (little-endian byte
//! order, two's complement). That is the layout `dot4I8Packed`, `unpack4xI8`
//! and `pack4xI8` use, so a word holds a 4-vector along the reduction axis.
//!
//! Matrix operands are packed row by row with each row zero-padded to a whole
//! number of words; zero padding contributes nothing to a dot product, which is
//! how K not a multiple of 4 stays exact.

/// Words needed for `len` int8 values.
pub const fn words_for(len: usize) -> usize {
    len.div_ceil(4)
}

/// Packs a flat int8 slice, zero-padding the last word.
pub fn pack_i8(v: &[i8]) -> Vec<u32> {
    v.chunks(4)
        .map(|c| {
            c.iter()
                .enumerate()
                .fold(0u32, |w, (i, &x)| w | (u32::from(x as u8) << (8 * i)))
        })
        .collect()
}

/// Unpacks the first `len` int8 values from packed words (fewer if `words`
/// holds fewer than `len` values).
pub fn unpack_i8(words: &[u32], len: usize) -> Vec<i8> {
    words
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .take(len)
        .map(|b| b as i8)
        .collect()
}

/// Packs a row-major `rows x cols` matrix row by row, each row padded to
/// `words_for(cols)` words. Returns the words; row `r` starts at
/// `r * words_for(cols)`.
///
/// # Panics
/// If `v.len() != rows * cols`.
pub fn pack_rows_i8(v: &[i8], rows: usize, cols: usize) -> Vec<u32> {
    assert_eq!(
        v.len(),
        rows * cols,
        "pack_rows_i8: v must hold rows*cols values"
    );
    let wpr = words_for(cols);
    let mut out = Vec::with_capacity(rows * wpr);
    if cols == 0 {
        return out;
    }
    for row in v.chunks(cols) {
        out.extend(pack_i8(row));
    }
    out
}

/// Packs the transpose of a row-major `rows x cols` matrix: row `c` of the
/// result holds column `c` of the input (`rows` values padded to
/// `words_for(rows)` words). This puts GEMM's B (`K x N`) in `N` rows of
/// packed K, so each word is a 4-vector along K.
///
/// # Panics
/// If `v.len() != rows * cols`.
pub fn pack_cols_i8(v: &[i8], rows: usize, cols: usize) -> Vec<u32> {
    assert_eq!(
        v.len(),
        rows * cols,
        "pack_cols_i8: v must hold rows*cols values"
    );
    let wpc = words_for(rows);
    let mut out = vec![0u32; cols * wpc];
    for (r, row) in v.chunks(cols.max(1)).enumerate().take(rows) {
        let (word, shift) = (r / 4, 8 * (r % 4));
        for (c, &x) in row.iter().enumerate() {
            out[c * wpc + word] |= u32::from(x as u8) << shift;
        }
    }
    out
}

/// Packs HWIO conv weights `[kh*kw][c_in][c_out]` for the implicit-im2col
/// kernel: `c_out` rows, each `kh*kw` groups of `words_for(c_in)` words (input
/// channels zero-padded to a multiple of 4, matching the padded input pixels).
///
/// # Panics
/// If `w.len() != taps * c_in * c_out`.
pub fn pack_conv_weights(w: &[i8], taps: usize, c_in: usize, c_out: usize) -> Vec<u32> {
    assert_eq!(
        w.len(),
        taps * c_in * c_out,
        "pack_conv_weights: w must hold taps*c_in*c_out values"
    );
    let cw = words_for(c_in);
    let row_words = taps * cw;
    let mut out = vec![0u32; c_out * row_words];
    for t in 0..taps {
        for ci in 0..c_in {
            let (word, shift) = (t * cw + ci / 4, 8 * (ci % 4));
            let src = &w[(t * c_in + ci) * c_out..][..c_out];
            for (co, &x) in src.iter().enumerate() {
                out[co * row_words + word] |= u32::from(x as u8) << shift;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_byte_is_lowest_index() {
        assert_eq!(pack_i8(&[1, 2, 3, 4]), vec![0x0403_0201]);
        assert_eq!(pack_i8(&[-1, 0, -128, 127]), vec![0x7f80_00ff]);
        assert_eq!(pack_i8(&[5, -2]), vec![0x0000_fe05]);
        let v: Vec<i8> = (-9..9).collect();
        assert_eq!(unpack_i8(&pack_i8(&v), v.len()), v);
    }

    #[test]
    fn rows_and_cols_pad_each_row() {
        // 2 x 3: rows [1 2 3], [4 5 6].
        let m = [1i8, 2, 3, 4, 5, 6];
        assert_eq!(pack_rows_i8(&m, 2, 3), vec![0x0003_0201, 0x0006_0504]);
        // Columns [1 4], [2 5], [3 6].
        assert_eq!(pack_cols_i8(&m, 2, 3), vec![0x0401, 0x0502, 0x0603]);
    }

    #[test]
    fn conv_weights_group_taps() {
        // taps 2, c_in 1, c_out 2: w[t][0][co] = 10*t + co.
        let w = [0i8, 1, 10, 11];
        // c_out 0: taps words [0, 10]; c_out 1: [1, 11].
        assert_eq!(pack_conv_weights(&w, 2, 1, 2), vec![0, 10, 1, 11]);
    }
}

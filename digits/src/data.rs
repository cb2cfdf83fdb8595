//! The data set (`data/digits/digits.csv.gz`, compiled into the crate) and its
//! fixed split: row `i` is a test image when `i % 5 == 0`, a training image
//! otherwise. No shuffling, so every machine sees the same 360 test images.

use std::io::Read;

/// Image edge in pixels.
pub const EDGE: usize = 8;
/// Pixels per image.
pub const PIXELS: usize = EDGE * EDGE;
/// Largest grey level.
pub const MAX_LEVEL: u8 = 16;
/// Number of classes.
pub const CLASSES: usize = 10;
/// Rows of the file.
pub const ROWS: usize = 1797;
/// Row `i` is in the test split when `i % TEST_EVERY == 0`.
pub const TEST_EVERY: usize = 5;

static CSV_GZ: &[u8] = include_bytes!("../../data/digits/digits.csv.gz");

/// One labelled image: 64 grey levels `0..=16`, row-major, and its class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    /// Row of the file (0-based), so reports can name an image.
    pub index: usize,
    pub pixels: [u8; PIXELS],
    pub label: u8,
}

/// Which part of the data set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

/// The whole data set, split.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub train: Vec<Sample>,
    pub test: Vec<Sample>,
}

/// The embedded file is broken (cannot happen with the committed file; kept
/// as an error so a bad edit is reported, not a panic).
#[derive(Debug, thiserror::Error)]
#[error("digits data set, line {line}: {detail}")]
pub struct DataError {
    pub line: usize,
    pub detail: String,
}

impl Dataset {
    /// Decompress and parse the embedded file.
    pub fn load() -> Result<Dataset, DataError> {
        let mut text = String::new();
        flate2::read::GzDecoder::new(CSV_GZ)
            .read_to_string(&mut text)
            .map_err(|e| DataError {
                line: 0,
                detail: format!("gzip: {e}"),
            })?;
        let mut train = Vec::new();
        let mut test = Vec::new();
        let mut rows = 0;
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let err = |detail: String| DataError {
                line: i + 1,
                detail,
            };
            let values = line
                .split(',')
                .map(|v| v.trim().parse::<u8>())
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|e| err(format!("not an integer: {e}")))?;
            if values.len() != PIXELS + 1 {
                return Err(err(format!("{} values, want {}", values.len(), PIXELS + 1)));
            }
            let mut pixels = [0u8; PIXELS];
            pixels.copy_from_slice(&values[..PIXELS]);
            if let Some(p) = pixels.iter().find(|&&p| p > MAX_LEVEL) {
                return Err(err(format!("grey level {p} > {MAX_LEVEL}")));
            }
            let label = values[PIXELS];
            if usize::from(label) >= CLASSES {
                return Err(err(format!("label {label} >= {CLASSES}")));
            }
            let sample = Sample {
                index: rows,
                pixels,
                label,
            };
            if rows % TEST_EVERY == 0 {
                test.push(sample);
            } else {
                train.push(sample);
            }
            rows += 1;
        }
        if rows != ROWS {
            return Err(DataError {
                line: rows,
                detail: format!("{rows} rows, want {ROWS}"),
            });
        }
        Ok(Dataset { train, test })
    }

    /// One split.
    pub fn split(&self, split: Split) -> &[Sample] {
        match split {
            Split::Train => &self.train,
            Split::Test => &self.test,
        }
    }
}

/// The image scaled to 32x32 for `lenet5`: nearest neighbour, every pixel
/// becomes a 4x4 block (so grey levels stay `0..=16`).
pub fn upscale32(pixels: &[u8; PIXELS]) -> Vec<u8> {
    let mut out = vec![0u8; 32 * 32];
    for (i, o) in out.iter_mut().enumerate() {
        let (y, x) = (i / 32, i % 32);
        *o = pixels[(y / 4) * EDGE + x / 4];
    }
    out
}

/// A grey level as the int8 input value: `round(p * 127 / 16)`, so the
/// float input `p / 16` in `[0, 1]` is represented with scale `1/127`.
pub fn level_to_i8(p: u8) -> i8 {
    let q = (u32::from(p.min(MAX_LEVEL)) * 127 + 8) / 16;
    q as i8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_sizes_and_labels() {
        let d = Dataset::load().expect("embedded data set parses");
        assert_eq!(d.test.len(), 360);
        assert_eq!(d.train.len(), 1437);
        assert!(d.test.iter().all(|s| s.index % TEST_EVERY == 0));
        assert!(d.train.iter().all(|s| s.index % TEST_EVERY != 0));
        for c in 0..CLASSES as u8 {
            assert!(d.test.iter().filter(|s| s.label == c).count() >= 20);
        }
    }

    #[test]
    fn level_scale_ends() {
        assert_eq!(level_to_i8(0), 0);
        assert_eq!(level_to_i8(16), 127);
        assert_eq!(level_to_i8(8), 64);
    }

    #[test]
    fn upscale_blocks() {
        let mut p = [0u8; PIXELS];
        p[9] = 5; // (1, 1)
        let u = upscale32(&p);
        for y in 0..32 {
            for x in 0..32 {
                let want = if (4..8).contains(&y) && (4..8).contains(&x) {
                    5
                } else {
                    0
                };
                assert_eq!(u[y * 32 + x], want, "({y}, {x})");
            }
        }
    }
}

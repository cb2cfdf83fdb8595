//! `--check`: every layer's output compared bit by bit across the backends,
//! naming the first difference by backend pair, image, layer, pixel and
//! channel.

use compiler::Shape;

use crate::backend::ImageRun;
use crate::RunError;

/// A layer as the check names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerInfo {
    pub name: String,
    /// The output shape (NHWC, batch 1).
    pub output: Shape,
}

/// Where the first difference between two runs of one image lies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    pub layer: usize,
    pub y: u32,
    pub x: u32,
    pub channel: u32,
    pub a: i8,
    pub b: i8,
}

/// The first differing value of `a` against `b`, layer by layer in order
/// (a layer of the wrong length differs at its first missing value).
pub fn first_mismatch(layers: &[LayerInfo], a: &ImageRun, b: &ImageRun) -> Option<Mismatch> {
    for (i, info) in layers.iter().enumerate() {
        let empty = Vec::new();
        let la = a.layers.get(i).unwrap_or(&empty);
        let lb = b.layers.get(i).unwrap_or(&empty);
        let n = info
            .output
            .bytes()
            .max(la.len() as u64)
            .max(lb.len() as u64) as usize;
        let Some(at) = (0..n).find(|&k| la.get(k) != lb.get(k)) else {
            continue;
        };
        let c = info.output.c.max(1) as usize;
        let w = info.output.w.max(1) as usize;
        let (pixel, channel) = (at / c, at % c);
        return Some(Mismatch {
            layer: i,
            y: (pixel / w) as u32,
            x: (pixel % w) as u32,
            channel: channel as u32,
            a: la.get(at).copied().unwrap_or(0),
            b: lb.get(at).copied().unwrap_or(0),
        });
    }
    None
}

/// Compare `runs` (backend name, run) of image `image` (its index in the
/// images run, and its row of the data set) with the first one; the first
/// difference is a [`RunError::Mismatch`] in one line.
pub fn check_image(
    layers: &[LayerInfo],
    image: usize,
    row: usize,
    runs: &[(&str, &ImageRun)],
) -> Result<(), RunError> {
    let Some(&(first, base)) = runs.first() else {
        return Ok(());
    };
    for &(other, run) in &runs[1..] {
        if let Some(m) = first_mismatch(layers, base, run) {
            let info = &layers[m.layer];
            return Err(RunError::Mismatch(format!(
                "check: {first} and {other} differ: image {image} (data set row {row}), layer {} `{}` (output {}), pixel (y {}, x {}), channel {}: {first} {}, {other} {}",
                m.layer, info.name, info.output, m.y, m.x, m.channel, m.a, m.b
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(layers: Vec<Vec<i8>>) -> ImageRun {
        ImageRun {
            layers,
            counters: None,
        }
    }

    #[test]
    fn names_layer_pixel_and_channel() {
        let layers = vec![
            LayerInfo {
                name: "a".into(),
                output: Shape { h: 1, w: 2, c: 2 },
            },
            LayerInfo {
                name: "b".into(),
                output: Shape { h: 2, w: 3, c: 2 },
            },
        ];
        let x = run(vec![vec![1, 2, 3, 4], vec![0; 12]]);
        let mut y = x.clone();
        assert_eq!(first_mismatch(&layers, &x, &y), None);
        // Layer 1, element 9 = pixel 4 (y 1, x 1), channel 1.
        y.layers[1][9] = -7;
        assert_eq!(
            first_mismatch(&layers, &x, &y),
            Some(Mismatch {
                layer: 1,
                y: 1,
                x: 1,
                channel: 1,
                a: 0,
                b: -7
            })
        );
        let e = check_image(&layers, 3, 15, &[("ref", &x), ("rtl", &y)]).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("ref and rtl differ: image 3 (data set row 15), layer 1 `b`"),
            "{msg}"
        );
        assert!(
            msg.contains("pixel (y 1, x 1), channel 1: ref 0, rtl -7"),
            "{msg}"
        );
        assert_eq!(e.exit_code(), 1);
    }

    #[test]
    fn short_output_is_a_mismatch() {
        let layers = vec![LayerInfo {
            name: "a".into(),
            output: Shape { h: 1, w: 1, c: 3 },
        }];
        let x = run(vec![vec![1, 2, 3]]);
        let y = run(vec![vec![1, 2]]);
        assert_eq!(first_mismatch(&layers, &x, &y).map(|m| m.channel), Some(2));
    }
}

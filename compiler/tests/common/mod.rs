//! Shared test helpers: random networks and the golden chain computed
//! straight from the network file (not through the compiler's conversion).
#![allow(dead_code)]

use compiler::{Layer, Network, Shape};
use golden::{ConvLayer, Padding};
use rand::rngs::StdRng;
use rand::Rng;

/// A random int8 with the edges -128 and 127 over-represented.
pub fn rand_i8(rng: &mut StdRng) -> i8 {
    match rng.gen_range(0..8) {
        0 => -128,
        1 => 127,
        _ => rng.gen(),
    }
}

/// A layer of `out_c` channels with random weights and requant for `in_c`
/// inputs; geometry fields left at the identity 1x1 conv.
pub fn plain_layer(
    rng: &mut StdRng,
    name: &str,
    in_c: u32,
    out_c: u32,
    k_h: u32,
    k_w: u32,
) -> Layer {
    let n = (k_h * k_w * in_c * out_c) as usize;
    Layer {
        name: name.into(),
        out_c,
        k_h,
        k_w,
        stride_h: 1,
        stride_w: 1,
        dil_h: 1,
        dil_w: 1,
        pad_t: 0,
        pad_b: 0,
        pad_l: 0,
        pad_r: 0,
        relu: false,
        pool_k: 0,
        pool_s: 0,
        pool_pad: 0,
        flatten: false,
        weights: (0..n).map(|_| rand_i8(rng)).collect(),
        bias: (0..out_c).map(|_| rng.gen_range(-5000..5000)).collect(),
        mult: (0..out_c).map(|_| rng.gen_range(1..=65535)).collect(),
        shift: (0..out_c).map(|_| rng.gen_range(16..=26)).collect(),
    }
}

fn out_size(size: u32, pa: u32, pb: u32, k: u32, dil: u32, s: u32) -> Option<u32> {
    (size + pa + pb)
        .checked_sub(dil * (k - 1) + 1)
        .map(|r| r / s + 1)
}

/// A random conv layer on `inp` that the engine accepts (pads within
/// `dil*(k-1)`, pooling rules), or `None` if the draw does not fit.
pub fn rand_conv(rng: &mut StdRng, name: &str, inp: Shape, out_c: u32) -> Option<Layer> {
    let k_h = rng.gen_range(1..=5.min(inp.h + 2));
    let k_w = rng.gen_range(1..=5.min(inp.w + 2));
    let mut l = plain_layer(rng, name, inp.c, out_c, k_h, k_w);
    l.stride_h = rng.gen_range(1..=3);
    l.stride_w = rng.gen_range(1..=3);
    l.dil_h = rng.gen_range(1..=2);
    l.dil_w = rng.gen_range(1..=2);
    l.pad_t = rng.gen_range(0..=l.dil_h * (k_h - 1));
    l.pad_b = rng.gen_range(0..=l.dil_h * (k_h - 1));
    l.pad_l = rng.gen_range(0..=l.dil_w * (k_w - 1));
    l.pad_r = rng.gen_range(0..=l.dil_w * (k_w - 1));
    l.relu = rng.gen();
    let h_c = out_size(inp.h, l.pad_t, l.pad_b, k_h, l.dil_h, l.stride_h)?;
    let w_c = out_size(inp.w, l.pad_l, l.pad_r, k_w, l.dil_w, l.stride_w)?;
    if rng.gen_bool(0.4) {
        let k = rng.gen_range(1..=3);
        let p = rng.gen_range(0..k);
        if h_c + 2 * p >= k && w_c + 2 * p >= k {
            l.pool_k = k;
            l.pool_s = rng.gen_range(1..=3);
            l.pool_pad = p;
        }
    }
    Some(l)
}

/// A random network of 2..=4 layers, ending in an FC layer (flatten) half
/// of the time.
pub fn rand_network(rng: &mut StdRng) -> Network {
    loop {
        let input = Shape {
            h: rng.gen_range(1..=10),
            w: rng.gen_range(1..=10),
            c: rng.gen_range(1..=6),
        };
        let mut net = Network {
            name: "random".into(),
            input,
            layers: Vec::new(),
        };
        let n = rng.gen_range(2..=4);
        let mut ok = true;
        let mut shape = input;
        for i in 0..n {
            let out_c = rng.gen_range(1..=9);
            let layer = if i == n - 1 && rng.gen_bool(0.5) {
                let k = shape.h * shape.w * shape.c;
                let mut l = plain_layer(rng, &format!("fc{i}"), k, out_c, 1, 1);
                l.flatten = true;
                l.relu = rng.gen();
                Some(l)
            } else {
                rand_conv(rng, &format!("conv{i}"), shape, out_c)
            };
            let Some(layer) = layer else {
                ok = false;
                break;
            };
            net.layers.push(layer);
            match net.shapes() {
                Ok(s) => shape = s[s.len() - 1].output,
                Err(_) => {
                    ok = false;
                    break;
                }
            }
        }
        if ok && net.validate().is_ok() {
            return net;
        }
    }
}

/// The network's output by golden's reference, layer by layer, each golden
/// layer built here from the file's fields.
pub fn golden_chain(net: &Network, input: &[i8]) -> Vec<Vec<i8>> {
    let mut shape = (
        net.input.h as usize,
        net.input.w as usize,
        net.input.c as usize,
    );
    let mut x = input.to_vec();
    let mut outs = Vec::new();
    for l in &net.layers {
        if l.flatten {
            shape = (1, 1, shape.0 * shape.1 * shape.2);
        }
        let z = |v: u32| v as usize;
        let c = ConvLayer::new(shape.0, shape.1, shape.2, z(l.out_c), z(l.k_h), z(l.k_w))
            .with_stride(z(l.stride_h), z(l.stride_w))
            .with_dilation(z(l.dil_h), z(l.dil_w))
            .with_padding(Padding {
                top: z(l.pad_t),
                bottom: z(l.pad_b),
                left: z(l.pad_l),
                right: z(l.pad_r),
            })
            .with_relu(l.relu)
            .with_pool(z(l.pool_k), z(l.pool_s), z(l.pool_pad))
            .with_requant(l.bias.clone(), l.mult.clone(), l.shift.clone());
        x = golden::reference::layer_reference(&c, &x, &l.weights).expect("valid layer");
        shape = (c.h_o(), c.w_o(), c.out_c);
        outs.push(x.clone());
    }
    outs
}

pub fn rand_input(rng: &mut StdRng, s: Shape) -> Vec<i8> {
    (0..s.bytes()).map(|_| rand_i8(rng)).collect()
}

pub fn as_i8(b: &[u8]) -> Vec<i8> {
    b.iter().map(|&v| v as i8).collect()
}

//! `Network::validate` refuses malformed files with one line naming the layer
//! and the field; the JSON reader refuses unknown keys and bad values.

mod common;

use common::plain_layer;
use compiler::{Layer, NetError, Network, Shape};
use rand::rngs::StdRng;
use rand::SeedableRng;

fn base() -> Network {
    let mut rng = StdRng::seed_from_u64(0xA1);
    let mut l1 = plain_layer(&mut rng, "pool", 4, 3, 3, 3);
    (l1.pool_k, l1.pool_s) = (2, 2);
    Network {
        name: "v".into(),
        input: Shape { h: 8, w: 8, c: 2 },
        layers: vec![plain_layer(&mut rng, "conv", 2, 4, 1, 1), l1, {
            let mut fc = plain_layer(&mut rng, "fc", 3 * 3 * 3, 5, 1, 1);
            fc.flatten = true;
            fc
        }],
    }
}

/// Apply `edit` to a valid network and expect `field` of layer `layer`
/// (None: the network) named, with `detail` in the message.
fn refused(edit: impl FnOnce(&mut Network), layer: Option<usize>, field: &str, detail: &str) {
    let mut net = base();
    edit(&mut net);
    let e: NetError = net.validate().expect_err("refused");
    let msg = e.to_string();
    assert_eq!(e.layer.as_ref().map(|l| l.0), layer, "{msg}");
    assert_eq!(e.field, field, "{msg}");
    assert!(msg.contains(detail), "`{detail}` not in: {msg}");
    assert!(!msg.contains('\n'), "one line: {msg}");
    if let Some(i) = layer {
        let prefix = format!("layer {i} `{}`: `{field}`: ", net.layers[i].name);
        assert!(msg.starts_with(&prefix), "{msg}");
    }
}

#[test]
fn the_base_network_is_valid() {
    let net = base();
    let shapes = net.shapes().expect("valid");
    // 8x8x2 -> 1x1 -> 8x8x4 -> 3x3 (6x6) pool 2/2 -> 3x3x3 -> flatten 1x1x27 -> 1x1x5.
    assert_eq!(shapes[1].output, Shape { h: 3, w: 3, c: 3 });
    assert_eq!((shapes[1].h_c, shapes[1].w_c), (6, 6));
    assert_eq!(shapes[2].input, Shape { h: 1, w: 1, c: 27 });
    assert_eq!(shapes[2].output, Shape { h: 1, w: 1, c: 5 });
    assert_eq!(net.conv_layers().expect("valid").len(), 3);
}

#[test]
fn tensor_lengths() {
    refused(
        |n| {
            n.layers[1].weights.pop();
        },
        Some(1),
        "weights",
        "holds 107 values, k_h*k_w*in_c*out_c = 3*3*4*3 = 108",
    );
    refused(
        |n| n.layers[2].weights.push(1),
        Some(2),
        "weights",
        "holds 136 values",
    );
    refused(
        |n| {
            n.layers[0].bias.pop();
        },
        Some(0),
        "bias",
        "holds 3 values, out_c = 4",
    );
    refused(
        |n| n.layers[0].mult.push(1),
        Some(0),
        "mult",
        "holds 5 values, out_c = 4",
    );
    refused(
        |n| n.layers[1].shift.clear(),
        Some(1),
        "shift",
        "holds 0 values, out_c = 3",
    );
    // A changed out_c upstream changes what the next layer's weights must hold.
    refused(
        |n| {
            let l = &mut n.layers[0];
            l.out_c = 5;
            l.weights.extend([0, 0]);
            l.bias.push(0);
            l.mult.push(1);
            l.shift.push(0);
        },
        Some(1),
        "weights",
        "k_h*k_w*in_c*out_c = 3*3*5*3 = 135",
    );
}

#[test]
fn quantization_ranges() {
    refused(
        |n| n.layers[1].mult[2] = 0,
        Some(1),
        "mult",
        "mult[2] = 0 is outside 1..=65535",
    );
    refused(
        |n| n.layers[0].mult[0] = 65536,
        Some(0),
        "mult",
        "mult[0] = 65536",
    );
    refused(
        |n| n.layers[2].shift[4] = 32,
        Some(2),
        "shift",
        "shift[4] = 32 is over 31",
    );
}

#[test]
fn geometry() {
    refused(
        |n| n.layers[0].out_c = 0,
        Some(0),
        "out_c",
        "must be >= 1, is 0",
    );
    refused(
        |n| n.layers[1].stride_w = 0,
        Some(1),
        "stride_w",
        "must be >= 1",
    );
    refused(|n| n.layers[1].dil_h = 0, Some(1), "dil_h", "must be >= 1");
    refused(|n| n.layers[1].k_w = 0, Some(1), "k_w", "must be >= 1");
    refused(
        |n| n.layers[1].dil_h = 4,
        Some(1),
        "k_h",
        "dil_h*(k_h-1)+1 = 9 > in_h + pad_t + pad_b = 8",
    );
    refused(
        |n| n.layers[1].dil_w = 4,
        Some(1),
        "k_w",
        "dil_w*(k_w-1)+1 = 9 > in_w + pad_l + pad_r = 8",
    );
    refused(
        |n| n.layers[1].pool_s = 0,
        Some(1),
        "pool_s",
        "must be >= 1 with pool_k = 2",
    );
    refused(
        |n| n.layers[1].pool_pad = 2,
        Some(1),
        "pool_pad",
        "must be < pool_k = 2",
    );
    refused(
        |n| n.layers[1].pool_k = 7,
        Some(1),
        "pool_k",
        "pool_k = 7 > H_c + 2*pool_pad = 6",
    );
    refused(
        |n| n.layers[0].pool_s = 1,
        Some(0),
        "pool_s",
        "must be 0 without pooling",
    );
    refused(
        |n| n.layers[0].pool_pad = 1,
        Some(0),
        "pool_pad",
        "must be 0 without pooling",
    );
    refused(|n| n.input.c = 0, None, "input.c", "must be >= 1");
    refused(|n| n.layers.clear(), None, "layers", "no layer");
}

#[test]
fn json_reader() {
    let net = base();
    let text = net.to_json();
    assert_eq!(Network::from_json(&text).expect("round trip"), net);
    // Defaults: only the required keys.
    let minimal = r#"{"name": "m", "input": {"h": 1, "w": 4, "c": 2}, "layers": [
        {"name": "fc", "out_c": 1, "k_h": 1, "k_w": 1, "weights": [1, -2],
         "bias": [0], "mult": [1], "shift": [0]}]}"#;
    let m = Network::from_json(minimal).expect("parses");
    let l: &Layer = &m.layers[0];
    assert_eq!((l.stride_h, l.stride_w, l.dil_h, l.dil_w), (1, 1, 1, 1));
    assert_eq!((l.pad_t, l.pool_k, l.relu, l.flatten), (0, 0, false, false));
    m.validate().expect("valid");
    for (bad, want) in [
        (minimal.replace("\"k_w\"", "\"kw\""), "unknown field `kw`"),
        (minimal.replace("[1, -2]", "[1, 200]"), "200"),
        (minimal.replace("\"bias\": [0]", "\"bias\": [0.5]"), "0.5"),
        (
            minimal.replace("\"out_c\": 1,", ""),
            "missing field `out_c`",
        ),
    ] {
        let e = Network::from_json(&bad).expect_err("refused");
        assert_eq!(e.field, "json");
        let msg = e.to_string();
        assert!(msg.contains(want) && msg.contains("line"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
    }
}

//! Bit-exact tests of the generated max-pool unit under Verilator, against the
//! golden max pooling (wgpu, cross-checked with the plain-Rust reference), plus
//! lint, yosys and block-RAM checks of a spread of configurations.
//!
//! Every configuration is a Verilator build, so the shapes are grouped: one
//! model (the "zoo") holds a unit for every window 1..=4, stride 1..=window and
//! padding 0..=window/2, at widths 1, 2, odd and 28 and 1, 3 or 8 channels;
//! another holds the two 224-wide, 64-channel shapes. Many images go through each.

use hdl::maxpool::MaxpoolConfig;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use testbench::array::Traffic;
use testbench::maxpool::{golden_maxpool, token_cycles, Image, PoolSim};
use testbench::tools;

fn seed(base: u64) -> u64 {
    std::env::var("TB_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(base)
}

fn cfg(c: u32, w: u32, k: u32, s: u32, p: u32) -> MaxpoolConfig {
    MaxpoolConfig {
        channels: c,
        width: w,
        window: k,
        stride: s,
        pad: p,
        ..MaxpoolConfig::default()
    }
}

const STALLS: Traffic = Traffic {
    in_valid_p: 0.6,
    out_ready_p: 0.5,
};

/// Every window 1..=4 x stride 1..=window x padding 0..=window/2, with the widths
/// and channel counts rotating through 1, 2, odd, 28 and 1, 3, 8; plus width 1
/// with real windows.
fn zoo_configs() -> Vec<MaxpoolConfig> {
    const WIDTHS: [u32; 7] = [1, 2, 5, 28, 7, 13, 3];
    const CHANNELS: [u32; 3] = [1, 3, 8];
    let mut out = Vec::new();
    for k in 1..=4 {
        for s in 1..=k {
            for p in 0..=k / 2 {
                let i = out.len();
                let mut w = WIDTHS[i % WIDTHS.len()];
                if w + 2 * p < k {
                    // Narrowest legal width, kept odd where it can be.
                    w = (k - 2 * p) | 1;
                }
                out.push(cfg(CHANNELS[i % CHANNELS.len()], w, k, s, p));
            }
        }
    }
    // One-pixel rows with real windows (the line buffer is then a register): only
    // padded windows fit.
    out.extend([cfg(3, 1, 2, 1, 1), cfg(1, 1, 3, 2, 1), cfg(8, 1, 4, 1, 2)]);
    out
}

/// The zoo model: built once (the harness caches it on disk and serialises
/// concurrent builders), loaded by every test that needs it.
fn zoo() -> PoolSim {
    PoolSim::new(&zoo_configs()).unwrap_or_else(|e| panic!("zoo: {e}"))
}

/// Stream `images` through unit `u`, compare each with the golden model; return the cycles.
fn check(
    sim: &mut PoolSim,
    u: usize,
    images: &[Image],
    traffic: Traffic,
    rng: &mut StdRng,
    what: &str,
) -> u64 {
    let cfg = sim.units[u].cfg.clone();
    let want: Vec<Vec<i8>> = golden_maxpool(&cfg, images)
        .unwrap_or_else(|e| panic!("golden model failed: {e}"))
        .into_iter()
        .filter(|v| !v.is_empty())
        .collect();
    let got = sim
        .run(u, images, traffic, rng)
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(got.images.len(), want.len(), "{what}: image count");
    let kept: Vec<&Image> = images
        .iter()
        .filter(|im| cfg.out_height(im.height) > 0)
        .collect();
    for (i, (g, w)) in got.images.iter().zip(&want).enumerate() {
        if g != w {
            let first = g.iter().zip(w).position(|(x, y)| x != y).unwrap_or(0);
            let c = cfg.channels as usize;
            let wo = cfg.plan().w_out as usize;
            panic!(
                "{what}: {cfg:?} image {i} (H = {}) differs first at pooled ({}, {}) channel {}: rtl {} golden {}; {}",
                kept[i].height,
                first / c / wo,
                first / c % wo,
                first % c,
                g[first],
                w[first],
                sim.model.trace_note()
            );
        }
    }
    got.cycles
}

/// Images of every height from the shortest legal one up, in random order, plus
/// extremes: all -128, few levels (ties), and one image too short to pool.
fn image_set(rng: &mut StdRng, c: &MaxpoolConfig) -> Vec<Image> {
    let min_h = c.derived().min_height;
    let mut heights: Vec<u32> = (min_h..min_h + 2 * c.window + 2).collect();
    for i in (1..heights.len()).rev() {
        heights.swap(i, rng.gen_range(0..=i));
    }
    let mut images: Vec<Image> = heights.iter().map(|&h| Image::random(rng, c, h)).collect();
    images.insert(2, Image::filled(c, min_h + 1, -128));
    images.push(Image::random_levels(rng, c, min_h + c.stride));
    if min_h > 1 {
        // No window row fits: nothing comes out, and the next image is unaffected.
        images.insert(3, Image::random(rng, c, min_h - 1));
    }
    images.push(Image::filled(c, min_h, 127));
    images
}

/// Every window/stride/padding shape, random stalls on both sides, images back to back.
#[test]
fn every_shape_bit_exact_with_stalls() {
    let mut rng = StdRng::seed_from_u64(seed(1));
    let mut sim = zoo();
    for u in 0..sim.units.len() {
        let c = sim.units[u].cfg.clone();
        let images = image_set(&mut rng, &c);
        check(
            &mut sim,
            u,
            &images,
            STALLS,
            &mut rng,
            &format!("{c:?} stalls"),
        );
    }
}

/// With the input always valid and out_ready high the unit takes one pixel per
/// clock: images back to back finish exactly one pipeline latency after the last
/// token (pixels, plus the right-padding extras and bottom-padding rows the shape needs).
#[test]
fn full_rate_is_one_pixel_per_clock() {
    let mut rng = StdRng::seed_from_u64(seed(2));
    let mut sim = zoo();
    for u in 0..sim.units.len() {
        let c = sim.units[u].cfg.clone();
        let images = image_set(&mut rng, &c);
        let cycles = check(
            &mut sim,
            u,
            &images,
            Traffic::FULL,
            &mut rng,
            &format!("{c:?} full rate"),
        );
        let tokens: u64 = images.iter().map(|im| token_cycles(&c, im.height)).sum();
        // Last token -> line-buffer stage -> window stage -> hold -> output register,
        // plus one when the last token itself completes the last pooled pixel.
        assert!(
            (tokens + 3..=tokens + 4).contains(&cycles),
            "{c:?}: {} images took {cycles} cycles for {tokens} tokens",
            images.len()
        );
    }
}

/// Latency at full rate, in edges after the edge that took the input pixel
/// completing a pooled pixel's window: 4 (line-buffer stage, window stage, hold,
/// output register). A row's last pooled pixel instead waits in the hold register
/// until the next pooled pixel is computed (taken 3 edges after the input pixel
/// completing that one) or the image ends (3 edges after in_last, 4 when in_last's
/// pixel completes it).
#[test]
fn pooled_pixel_latency() {
    let mut rng = StdRng::seed_from_u64(seed(7));
    let mut sim = zoo();
    for u in 0..sim.units.len() {
        let c = sim.units[u].cfg.clone();
        if c.pad > 0 || c.window == 1 {
            continue;
        }
        let h = c.derived().min_height + 2 * c.stride;
        let im = Image::random(&mut rng, &c, h);
        let r = sim
            .run(u, std::slice::from_ref(&im), Traffic::FULL, &mut rng)
            .unwrap_or_else(|e| panic!("{c:?}: {e}"));
        let (w, k, s) = (u64::from(c.width), u64::from(c.window), u64::from(c.stride));
        let wo = u64::from(c.plan().w_out);
        for (i, &t) in r.out_cycles.iter().enumerate() {
            let (oy, ox) = (i as u64 / wo, i as u64 % wo);
            // Without padding, window (oy, ox) completes at input pixel (oy*S+K-1, ox*S+K-1).
            let done = (oy * s + k - 1) * w + ox * s + k - 1;
            let latency = t - done;
            if ox + 1 < wo {
                assert_eq!(latency, 4, "{c:?}: pooled ({oy}, {ox})");
            } else if i + 1 == r.out_cycles.len() {
                let in_last = u64::from(h) * w - 1;
                let want = in_last + if done == in_last { 4 } else { 3 };
                assert_eq!(t, want, "{c:?}: the last pooled pixel");
            } else {
                // Waits for the first pooled pixel of the next row.
                let next = ((oy + 1) * s + k - 1) * w + k - 1;
                assert_eq!(t, next + 3, "{c:?}: row-final pooled ({oy}, {ox})");
            }
        }
    }
}

/// The same images give the same results whatever the stall pattern.
#[test]
fn many_stall_patterns() {
    let mut rng = StdRng::seed_from_u64(seed(3));
    let mut sim = zoo();
    let picks: Vec<usize> = (0..sim.units.len())
        .filter(|&u| {
            let c = &sim.units[u].cfg;
            c.pad > 0 && c.window >= 3
        })
        .collect();
    for round in 0..24 {
        let u = picks[round % picks.len()];
        let c = sim.units[u].cfg.clone();
        let traffic = Traffic {
            in_valid_p: rng.gen_range(0.1..=1.0),
            out_ready_p: rng.gen_range(0.1..=1.0),
        };
        let min_h = c.derived().min_height;
        let images: Vec<Image> = (0..3)
            .map(|_| {
                let h = rng.gen_range(min_h..=min_h + 5);
                Image::random(&mut rng, &c, h)
            })
            .collect();
        check(
            &mut sim,
            u,
            &images,
            traffic,
            &mut rng,
            &format!("round {round} {c:?} {traffic:?}"),
        );
    }
}

/// Reset in the middle of an image (pooled pixels in flight, stalls), then clean images.
#[test]
fn reset_mid_image() {
    let mut rng = StdRng::seed_from_u64(seed(4));
    let mut sim = zoo();
    for u in 0..sim.units.len() {
        let c = sim.units[u].cfg.clone();
        if u % 3 != 0 && c.width != 1 {
            continue;
        }
        let h = c.derived().min_height + 3;
        let first = Image::random(&mut rng, &c, h);
        check(
            &mut sim,
            u,
            std::slice::from_ref(&first),
            STALLS,
            &mut rng,
            "before reset",
        );
        let cut = Image::random(&mut rng, &c, h + 2);
        let pixels = (h * c.width + c.width / 2 + 1) as usize;
        sim.run_then_reset(u, &cut, pixels, STALLS, &mut rng)
            .unwrap_or_else(|e| panic!("{e}"));
        let after = vec![
            Image::random(&mut rng, &c, h),
            Image::random(&mut rng, &c, h + 1),
        ];
        check(
            &mut sim,
            u,
            &after,
            STALLS,
            &mut rng,
            &format!("{c:?} after reset"),
        );
    }
}

/// `in_last` on a pixel that does not end a row is outside the contract: that
/// image's output is unspecified (its last pooled pixel may have left without
/// `out_last`), but `in_last` still ends it, and the next image comes out exact
/// and closed by `out_last`.
#[test]
fn early_in_last_recovers() {
    let mut rng = StdRng::seed_from_u64(seed(5));
    let mut sim = zoo();
    for u in 0..sim.units.len() {
        let c = sim.units[u].cfg.clone();
        if c.width < 3 {
            continue;
        }
        let ch = c.channels as usize;
        let h = c.derived().min_height + 2;
        let bad = Image::random(&mut rng, &c, h);
        let good = Image::random(&mut rng, &c, h);
        let cut = (h * c.width - c.width / 2) as usize;
        let mut beats: Vec<(&[i8], bool)> = (0..cut)
            .map(|i| (&bad.data[i * ch..(i + 1) * ch], i + 1 == cut))
            .collect();
        let n = (h * c.width) as usize;
        beats.extend((0..n).map(|i| (&good.data[i * ch..(i + 1) * ch], i + 1 == n)));
        let got = sim
            .stream(u, &beats, None, STALLS, &mut rng)
            .unwrap_or_else(|e| panic!("{c:?}: {e}"));
        let want = golden_maxpool(&c, std::slice::from_ref(&good))
            .unwrap_or_else(|e| panic!("golden model failed: {e}"));
        let all: Vec<i8> = got.images.concat();
        let want = want.concat();
        assert_eq!(
            got.trailing, 0,
            "{c:?}: the image after an early in_last closes"
        );
        assert!(
            all.len() >= want.len() && all[all.len() - want.len()..] == want[..],
            "{c:?}: the image after an early in_last: got {all:?}, want it to end with {want:?}"
        );
    }
}

/// The 224-wide, 64-channel shapes: a whole 224x224 image at full rate and short
/// images with stalls.
#[test]
fn wide_images_64_channels() {
    let mut rng = StdRng::seed_from_u64(seed(6));
    let cfgs = [cfg(64, 224, 2, 2, 0), cfg(64, 224, 3, 2, 1)];
    let mut sim = PoolSim::new(&cfgs).unwrap_or_else(|e| panic!("{e}"));
    for (u, c) in cfgs.iter().enumerate() {
        let full = [Image::random(&mut rng, c, 224)];
        let cycles = check(
            &mut sim,
            u,
            &full,
            Traffic::FULL,
            &mut rng,
            &format!("{c:?} 224x224"),
        );
        let tokens = token_cycles(c, 224);
        assert!(
            (tokens + 3..=tokens + 4).contains(&cycles),
            "{c:?}: {cycles} cycles for {tokens} tokens"
        );
        let short: Vec<Image> = [3, 2, 5, 4]
            .iter()
            .map(|&h| Image::random_levels(&mut rng, c, h))
            .collect();
        check(
            &mut sim,
            u,
            &short,
            STALLS,
            &mut rng,
            &format!("{c:?} short with stalls"),
        );
    }
}

/// The ports are exactly the contract's, in its order, with its widths.
#[test]
fn port_contract() {
    for c in [
        cfg(1, 1, 1, 1, 0),
        cfg(3, 28, 3, 2, 1),
        cfg(256, 4096, 8, 8, 4),
    ] {
        let g = hdl::maxpool::generate(&c).unwrap_or_else(|e| panic!("{e}"));
        let ports: Vec<(String, String, u32)> = g
            .manifest
            .ports
            .iter()
            .map(|p| (p.name.clone(), p.dir.to_string(), p.width))
            .collect();
        let d = c.channels * 8;
        let want: Vec<(String, String, u32)> = [
            ("clk", "input", 1),
            ("rst", "input", 1),
            ("in_valid", "input", 1),
            ("in_ready", "output", 1),
            ("in_data", "input", d),
            ("in_last", "input", 1),
            ("out_valid", "output", 1),
            ("out_ready", "input", 1),
            ("out_data", "output", d),
            ("out_last", "output", 1),
        ]
        .iter()
        .map(|(n, dir, w)| (n.to_string(), dir.to_string(), *w))
        .collect();
        assert_eq!(ports, want, "{c:?}");
        assert_eq!(g.manifest.block, "maxpool");
        assert_eq!(g.manifest.derived["out_width"], c.plan().w_out);
    }
}

/// `verilator --lint-only -Wall` and the yosys elaboration check over a spread of shapes.
#[test]
fn lint_and_yosys_spread() {
    let spread = [
        cfg(1, 1, 1, 1, 0),
        cfg(3, 1, 2, 1, 1),
        cfg(3, 2, 3, 1, 1),
        cfg(2, 5, 4, 3, 2),
        cfg(8, 28, 2, 2, 0),
        cfg(3, 7, 8, 3, 4),
        cfg(1, 2, 3, 3, 1),
        cfg(5, 13, 5, 2, 2),
        cfg(2, 4096, 2, 2, 0),
        cfg(3, 9, 4, 1, 2),
        cfg(2, 10, 7, 7, 3),
        cfg(4, 3, 1, 1, 0),
        cfg(256, 16, 2, 1, 1),
        cfg(4, 9, 8, 1, 4),
        cfg(64, 224, 3, 2, 1),
    ];
    for c in spread {
        let g = hdl::maxpool::generate(&c).unwrap_or_else(|e| panic!("{c:?}: {e}"));
        let label = format!(
            "maxpool-c{}-w{}-k{}-s{}-p{}",
            c.channels, c.width, c.window, c.stride, c.pad
        );
        tools::verilator_lint(&label, &c.name, &g.verilog)
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        tools::yosys_check(&label, &c.name, &g.verilog).unwrap_or_else(|e| panic!("{label}: {e}"));
    }
}

/// The last `stat` report in a yosys log.
fn last_stat(log: &str) -> &str {
    log.rfind("Printing statistics").map_or(log, |i| &log[i..])
}

/// Count cells of `kind` in a yosys `stat` report (the top-level summary, listed last).
fn cells(report: &str, kind: &str) -> u64 {
    report
        .lines()
        .rev()
        .find_map(|l| {
            let mut it = l.split_whitespace();
            (it.next() == Some(kind)).then(|| it.next().and_then(|n| n.parse().ok()))?
        })
        .unwrap_or(0)
}

/// The line buffer maps to block RAM on iCE40 and ECP5, with no soft logic for
/// read/write collisions (they cannot happen) and no flops holding image rows.
#[test]
fn line_buffer_is_block_ram() {
    let c = cfg(8, 28, 2, 2, 0);
    let g = hdl::maxpool::generate(&c).unwrap_or_else(|e| panic!("{e}"));
    let dir = std::env::temp_dir().join(format!("maxpool-bram-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let file = dir.join("maxpool.v");
    std::fs::write(&file, &g.verilog).unwrap_or_else(|e| panic!("{e}"));
    for (synth, ram, ram_count) in [
        ("synth_ice40", "SB_RAM40_4K", 4),
        ("synth_ecp5", "DP16KD", 2),
    ] {
        let mut cmd = std::process::Command::new("yosys");
        cmd.arg("-p").arg(format!(
            "read_verilog {}; {synth} -top maxpool; stat",
            file.display()
        ));
        let log = dir.join(format!("{synth}.log"));
        let log_text =
            tools::run_logged(cmd, "yosys", "yosys", &log).unwrap_or_else(|e| panic!("{e}"));
        let report = last_stat(&log_text);
        // 28 words x 64 bits: 4 iCE40 blocks (16 bits wide), 2 ECP5 blocks (36 bits wide).
        assert_eq!(
            cells(report, ram),
            ram_count,
            "{synth}: {ram} cells; log {}",
            log.display()
        );
        // Registers: pipeline and control only, far fewer than a row of 28 x 64 bits.
        let flops: u64 = report
            .lines()
            .filter_map(|l| {
                let mut it = l.split_whitespace();
                let name = it.next()?;
                (name.starts_with("SB_DFF") || name == "TRELLIS_FF")
                    .then(|| it.next().and_then(|n| n.parse::<u64>().ok()))?
            })
            .sum();
        assert!(
            flops < 28 * 64 / 2,
            "{synth}: {flops} flops; log {}",
            log.display()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

//! Bit-exact tests of the generated systolic array under Verilator, against the
//! golden GEMM (wgpu, itself cross-checked with the plain-Rust reference).

use hdl::array::ArrayConfig;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use testbench::array::{ArrayDut, Tile, Traffic};

fn seed(base: u64) -> u64 {
    std::env::var("TB_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(base)
}

fn cfg(rows: u32, cols: u32) -> ArrayConfig {
    ArrayConfig {
        rows,
        cols,
        ..ArrayConfig::default()
    }
}

/// Expected C for every tile, from the golden model.
fn golden(dut: &ArrayDut, tiles: &[Tile]) -> Vec<Vec<i32>> {
    let (rows, cols) = (dut.cfg.rows as usize, dut.cfg.cols as usize);
    tiles
        .iter()
        .map(|t| {
            golden::checked_gemm_i8(&t.a, &t.b, rows, t.k, cols)
                .unwrap_or_else(|e| panic!("golden model failed: {e}"))
        })
        .collect()
}

/// Stream `tiles`, compare each result with the golden model, return the cycle count.
fn check_tiles(
    dut: &mut ArrayDut,
    tiles: &[Tile],
    traffic: Traffic,
    rng: &mut StdRng,
    what: &str,
) -> u64 {
    let want = golden(dut, tiles);
    let got = dut
        .run(tiles, traffic, rng)
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(got.c.len(), tiles.len(), "{what}: tile count");
    for (t, (g, w)) in got.c.iter().zip(&want).enumerate() {
        if g != w {
            let first = g.iter().zip(w).position(|(x, y)| x != y).unwrap_or(0);
            panic!(
                "{what}: tile {t} (K = {}) differs first at C[{}][{}]: rtl {} golden {}; {}",
                tiles[t].k,
                first / dut.cfg.cols as usize,
                first % dut.cfg.cols as usize,
                g[first],
                w[first],
                dut.model.trace_note()
            );
        }
    }
    got.cycles
}

fn random_tiles(rng: &mut StdRng, rows: usize, cols: usize, ks: &[usize]) -> Vec<Tile> {
    ks.iter()
        .map(|&k| Tile::random(rng, rows, cols, k))
        .collect()
}

const STALLS: Traffic = Traffic {
    in_valid_p: 0.6,
    out_ready_p: 0.5,
};

/// Every size in the contract's list, random K, random stalls on both streams,
/// tiles back to back.
#[test]
fn sizes_with_random_stalls() {
    let mut rng = StdRng::seed_from_u64(seed(1));
    for (r, c) in [(1, 1), (1, 8), (8, 1), (3, 5), (4, 4), (8, 8), (16, 16)] {
        let mut dut = ArrayDut::new(&cfg(r, c)).unwrap_or_else(|e| panic!("{r}x{c}: {e}"));
        let ks: Vec<usize> = (0..5)
            .map(|_| rng.gen_range(1..=3 * r as usize + 4))
            .collect();
        let tiles = random_tiles(&mut rng, r as usize, c as usize, &ks);
        check_tiles(
            &mut dut,
            &tiles,
            STALLS,
            &mut rng,
            &format!("{r}x{c} stalls"),
        );
        check_tiles(
            &mut dut,
            &tiles,
            Traffic::FULL,
            &mut rng,
            &format!("{r}x{c} full rate"),
        );
    }
}

/// K from 1 to several hundred on one array, including K < ROWS (throttled tiles).
#[test]
fn k_from_one_to_hundreds() {
    let mut rng = StdRng::seed_from_u64(seed(2));
    let mut dut = ArrayDut::new(&cfg(4, 4)).unwrap_or_else(|e| panic!("{e}"));
    let ks = [1, 2, 3, 4, 5, 7, 16, 33, 64, 127, 300, 1, 1, 1, 450];
    let tiles = random_tiles(&mut rng, 4, 4, &ks);
    check_tiles(
        &mut dut,
        &tiles,
        Traffic::FULL,
        &mut rng,
        "4x4 K sweep full rate",
    );
    check_tiles(
        &mut dut,
        &tiles,
        STALLS,
        &mut rng,
        "4x4 K sweep with stalls",
    );
    let mut dut = ArrayDut::new(&cfg(3, 5)).unwrap_or_else(|e| panic!("{e}"));
    let tiles = random_tiles(&mut rng, 3, 5, &[1, 1, 2, 1, 3, 1, 257]);
    check_tiles(&mut dut, &tiles, STALLS, &mut rng, "3x5 tiny tiles");
}

/// Extreme operands: -128 x -128 (the largest product), all 127, zeros, mixed signs;
/// K = 300 of -128 x -128 sums past 2^22 and checks the upper accumulator bits.
#[test]
fn edge_operands() {
    let mut rng = StdRng::seed_from_u64(seed(3));
    for (r, c) in [(4, 4), (3, 5)] {
        let mut dut = ArrayDut::new(&cfg(r, c)).unwrap_or_else(|e| panic!("{e}"));
        let (ru, cu) = (r as usize, c as usize);
        let mut mixed = Tile::filled(ru, cu, 9, 127);
        for (i, v) in mixed.b.iter_mut().enumerate() {
            *v = if i % 2 == 0 { -128 } else { 127 };
        }
        let tiles = vec![
            Tile::filled(ru, cu, 300, -128),
            Tile::filled(ru, cu, 7, 127),
            Tile::filled(ru, cu, 5, 0),
            mixed,
            Tile::filled(ru, cu, 1, -128),
        ];
        check_tiles(
            &mut dut,
            &tiles,
            STALLS,
            &mut rng,
            &format!("{r}x{c} edge operands"),
        );
    }
}

/// With out_ready high and K >= ROWS the array takes one beat per clock: T tiles
/// finish within sum(K) + ROWS + COLS + a small constant cycles.
#[test]
fn full_rate_cycle_bound() {
    let mut rng = StdRng::seed_from_u64(seed(4));
    for (r, c) in [(1, 1), (4, 4), (3, 5), (8, 8)] {
        let mut dut = ArrayDut::new(&cfg(r, c)).unwrap_or_else(|e| panic!("{e}"));
        let ks: Vec<usize> = (0..6)
            .map(|_| rng.gen_range(r as usize..=4 * r as usize))
            .collect();
        let tiles = random_tiles(&mut rng, r as usize, c as usize, &ks);
        let cycles = check_tiles(&mut dut, &tiles, Traffic::FULL, &mut rng, "full rate");
        let bound = ks.iter().sum::<usize>() as u64 + u64::from(r + c) + 4;
        assert!(
            cycles <= bound,
            "{r}x{c}: {} tiles (K = {ks:?}) took {cycles} cycles, contract bound is {bound}",
            tiles.len()
        );
    }
}

/// Reset in the middle of a tile (with stalls and results in flight), then clean results.
#[test]
fn reset_mid_tile() {
    let mut rng = StdRng::seed_from_u64(seed(5));
    for (r, c) in [(4, 4), (3, 5), (1, 1)] {
        let (ru, cu) = (r as usize, c as usize);
        let mut dut = ArrayDut::new(&cfg(r, c)).unwrap_or_else(|e| panic!("{e}"));
        // A complete tile whose results are still draining, then half of another.
        let first = Tile::random(&mut rng, ru, cu, 6);
        let cut = Tile::random(&mut rng, ru, cu, 20);
        check_tiles(
            &mut dut,
            std::slice::from_ref(&first),
            STALLS,
            &mut rng,
            "before reset",
        );
        dut.run_then_reset(&cut, 10, STALLS, &mut rng)
            .unwrap_or_else(|e| panic!("{e}"));
        let after = random_tiles(&mut rng, ru, cu, &[1, 5, 9]);
        check_tiles(
            &mut dut,
            &after,
            STALLS,
            &mut rng,
            &format!("{r}x{c} after reset"),
        );
    }
}

/// The same tiles give the same results whatever the stall pattern (many seeds, small array).
#[test]
fn many_stall_patterns() {
    let mut rng = StdRng::seed_from_u64(seed(6));
    let mut dut = ArrayDut::new(&cfg(2, 3)).unwrap_or_else(|e| panic!("{e}"));
    for round in 0..20 {
        let traffic = Traffic {
            in_valid_p: rng.gen_range(0.1..=1.0),
            out_ready_p: rng.gen_range(0.1..=1.0),
        };
        let ks: Vec<usize> = (0..4).map(|_| rng.gen_range(1..=8)).collect();
        let tiles = random_tiles(&mut rng, 2, 3, &ks);
        check_tiles(
            &mut dut,
            &tiles,
            traffic,
            &mut rng,
            &format!("round {round} {traffic:?}"),
        );
    }
}

/// Every PE pipeline depth and multiplier style gives the same bit-exact results,
/// with stalls, short and long tiles, edge operands and a reset mid-tile; at full
/// rate each pipeline stage costs one cycle of latency and no throughput.
#[test]
fn pipeline_depths_and_multiplier_styles() {
    use hdl::array::MulStyle;
    let mut rng = StdRng::seed_from_u64(seed(7));
    for (i, (pipeline, mul, dsp_limit)) in [
        (1, MulStyle::Dsp, 0),
        (2, MulStyle::Dsp, 0),
        (3, MulStyle::Dsp, 0),
        (4, MulStyle::Dsp, 0),
        (0, MulStyle::Lut, 0),
        (2, MulStyle::Auto, 7),
        (4, MulStyle::Auto, 5),
        (3, MulStyle::Auto, 6),
        (4, MulStyle::Dsp, 0),
    ]
    .into_iter()
    .enumerate()
    {
        // The last two run the ECP5 MULT18X18D blocks (through their model).
        let dsp_cell = if i >= 7 {
            hdl::array::DspCell::Ecp5
        } else {
            hdl::array::DspCell::Infer
        };
        let cfg = ArrayConfig {
            rows: 3,
            cols: 4,
            pipeline,
            mul,
            dsp_limit,
            dsp_cell,
            ..ArrayConfig::default()
        };
        let what = format!("3x4 pipeline {pipeline} mul {mul:?}/{dsp_limit} {dsp_cell:?}");
        let mut dut = ArrayDut::new(&cfg).unwrap_or_else(|e| panic!("{what}: {e}"));
        let mut tiles = random_tiles(&mut rng, 3, 4, &[1, 2, 5, 3, 40]);
        tiles.push(Tile::filled(3, 4, 50, -128));
        tiles.push(Tile::filled(3, 4, 3, 127));
        check_tiles(&mut dut, &tiles, STALLS, &mut rng, &what);
        let cut = Tile::random(&mut rng, 3, 4, 9);
        dut.run_then_reset(&cut, 4, STALLS, &mut rng)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let ks = [3, 8, 5, 12];
        let tiles = random_tiles(&mut rng, 3, 4, &ks);
        let cycles = check_tiles(&mut dut, &tiles, Traffic::FULL, &mut rng, &what);
        let bound = ks.iter().sum::<usize>() as u64
            + 3
            + u64::from(cfg.derived().last_beat_to_last_row_cycles);
        assert!(cycles <= bound, "{what}: {cycles} cycles, bound {bound}");
    }
}

/// in_ready and out_valid come from registers: toggling out_ready within a cycle
/// never changes them (checked every cycle under heavy, random backpressure).
#[test]
fn ready_and_valid_do_not_depend_on_out_ready() {
    let mut rng = StdRng::seed_from_u64(seed(8));
    for (r, c) in [(3, 5), (1, 1)] {
        let mut dut = ArrayDut::new(&cfg(r, c)).unwrap_or_else(|e| panic!("{e}"));
        dut.check_registered_ready = true;
        for traffic in [
            STALLS,
            Traffic {
                in_valid_p: 1.0,
                out_ready_p: 0.2,
            },
            Traffic::FULL,
        ] {
            let ks: Vec<usize> = (0..6).map(|_| rng.gen_range(1..=9)).collect();
            let tiles = random_tiles(&mut rng, r as usize, c as usize, &ks);
            check_tiles(
                &mut dut,
                &tiles,
                traffic,
                &mut rng,
                &format!("{r}x{c} {traffic:?}"),
            );
        }
    }
}

/// `--dsp-cell ice40`: two PEs per SB_MAC16 (through yosys' model of the block)
/// and the split, read-in-place accumulator give the golden results at every
/// pipeline depth, for pairs, lone PEs (odd columns, an odd DSP count) and LUT
/// PEs beside them; with -128 x -128 and mixed-sign edge tiles (sums that cross
/// 2^16 and zero many times, so the high half's late carry is exercised both
/// ways), stalls, a reset mid-tile, and no cycle lost at full rate.
#[test]
fn ice40_shared_mac16_blocks() {
    use hdl::array::{DspCell, MulStyle};
    let mut rng = StdRng::seed_from_u64(seed(9));
    for (rows, cols, pipeline, mul, dsp_limit) in [
        (3, 4, 0, MulStyle::Dsp, 0),
        (3, 4, 1, MulStyle::Dsp, 0),
        (3, 4, 2, MulStyle::Dsp, 0),
        (3, 5, 3, MulStyle::Dsp, 0),
        (4, 4, 4, MulStyle::Dsp, 0),
        (3, 4, 3, MulStyle::Auto, 7),
        (2, 3, 4, MulStyle::Auto, 5),
    ] {
        let cfg = ArrayConfig {
            rows,
            cols,
            pipeline,
            mul,
            dsp_limit,
            dsp_cell: DspCell::Ice40,
            ..ArrayConfig::default()
        };
        let what = format!("{rows}x{cols} ice40 pipeline {pipeline} mul {mul:?}/{dsp_limit}");
        let mut dut = ArrayDut::new(&cfg).unwrap_or_else(|e| panic!("{what}: {e}"));
        // The block count, from the pairing rule written out here: in each row,
        // the DSP PEs (the first dsp_limit row-major with auto) in columns 2p and
        // 2p+1 share a block; every other DSP PE has one of its own.
        let dsp = |i: u32, j: u32| match mul {
            MulStyle::Dsp => true,
            MulStyle::Lut => false,
            MulStyle::Auto => i * cols + j < dsp_limit,
        };
        let blocks: usize = (0..rows)
            .map(|i| {
                (0..cols)
                    .step_by(2)
                    .filter(|&j| dsp(i, j) || (j + 1 < cols && dsp(i, j + 1)))
                    .count()
            })
            .sum();
        assert_eq!(
            dut.verilog.matches("SB_MAC16 #(").count(),
            blocks,
            "{what}: SB_MAC16 instances"
        );
        let (ru, cu) = (rows as usize, cols as usize);
        let mut tiles = random_tiles(&mut rng, ru, cu, &[1, 2, 5, 3, 40]);
        tiles.push(Tile::filled(ru, cu, 300, -128));
        let mut mixed = Tile::filled(ru, cu, 200, -128);
        for (n, v) in mixed.b.iter_mut().enumerate() {
            // Runs of positive and negative products: the sums swing through 0.
            *v = if (n / (3 * cu)) % 2 == 0 { 127 } else { -128 };
        }
        tiles.push(mixed);
        tiles.push(Tile::filled(ru, cu, 3, 127));
        tiles.push(Tile::filled(ru, cu, 1, -128));
        tiles.push(Tile::filled(ru, cu, 4, 0));
        check_tiles(&mut dut, &tiles, STALLS, &mut rng, &what);
        let cut = Tile::random(&mut rng, ru, cu, 9);
        dut.run_then_reset(&cut, 4, STALLS, &mut rng)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let ks = [3, 8, 5, 12];
        let tiles = random_tiles(&mut rng, ru, cu, &ks);
        let cycles = check_tiles(&mut dut, &tiles, Traffic::FULL, &mut rng, &what);
        let bound = ks.iter().sum::<usize>() as u64
            + 3
            + u64::from(cfg.derived().last_beat_to_last_row_cycles);
        assert!(cycles <= bound, "{what}: {cycles} cycles, bound {bound}");
    }
}

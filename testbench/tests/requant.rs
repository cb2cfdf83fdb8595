//! The engine's requantization datapath (`hdl::engine::requant`: `scaled`
//! then `finish`) under Verilator, bit-exact against `golden`'s
//! `Requant::apply` (the plain-Rust integer reference) on every shift and
//! ReLU setting with edge sums and multipliers (`i32::MIN`/`MAX` sums,
//! multipliers 1 and 65535, results right at the clamp bounds and the
//! rounding ties) and random ones (seeded, `$TB_SEED` overrides).

use golden::requant::Requant;
use hdl::engine::requant::{finish, scaled, Product, SHIFT_BITS};
use hdl::ir::{Design, Expr, Module, Ty};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use testbench::verilator::{BuildSpec, Model, PortDesc};

fn datapath() -> Module {
    let mut m = Module::new("rq_dp");
    m.doc("requant::scaled then requant::finish, combinational");
    let clk = m.input("clk", Ty::u(1), Some("Unused: the simulator's clock"), "");
    m.allow_unused(clk, "the datapath is combinational");
    let acc = m.input("acc", Ty::u(32), Some("Operands"), "int32 accumulator");
    let bias = m.input("bias", Ty::u(32), None, "");
    let mult = m.input("mult", Ty::u(16), None, "");
    let shift = m.input("shift", Ty::u(SHIFT_BITS), None, "0..=31");
    let relu = m.input("relu", Ty::u(1), None, "");
    let out = m.output("r", Ty::u(8), Some("Result"), "int8");
    let prod = scaled(
        &mut m,
        "",
        Product::Infer,
        acc.into(),
        bias.into(),
        mult.into(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let r = finish(&mut m, "", prod, shift.into(), relu.into());
    m.assign(out, Expr::from(r));
    m
}

#[test]
fn scaled_then_finish_matches_golden() {
    let m = datapath();
    let name = m.name.clone();
    let mut d = Design::new(m.name.clone());
    d.include(m).unwrap_or_else(|e| panic!("{e}"));
    let v = hdl::verilog::print(&d).unwrap_or_else(|e| panic!("{e}"));
    testbench::tools::verilator_lint(&name, &name, &v).unwrap_or_else(|e| panic!("{e}"));
    let ports = vec![
        PortDesc::input("clk", 1),
        PortDesc::input("acc", 32),
        PortDesc::input("bias", 32),
        PortDesc::input("mult", 16),
        PortDesc::input("shift", SHIFT_BITS),
        PortDesc::input("relu", 1),
        PortDesc::output("r", 8),
    ];
    let mut sim =
        Model::build(&BuildSpec::new(v, name.as_str(), ports)).unwrap_or_else(|e| panic!("{e}"));
    let p = |name: &str| sim.port(name).unwrap_or_else(|e| panic!("{e}"));
    let (acc_p, bias_p, mult_p, shift_p, relu_p, r_p) = (
        p("acc"),
        p("bias"),
        p("mult"),
        p("shift"),
        p("relu"),
        p("r"),
    );
    let seed = std::env::var("TB_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_1234);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut cases: Vec<(i32, i32, u32)> = Vec::new();
    let sums = [i32::MIN, i32::MIN + 1, -1, 0, 1, i32::MAX - 1, i32::MAX];
    for &a in &sums {
        for mult in [1u32, 2, 3, 255, 256, 32768, 65534, 65535] {
            cases.push((a, 0, mult));
        }
    }
    // Sums whose result lands at the clamp bounds and rounding ties: for
    // mult 1, acc = k * 2^s + d with d around half a step.
    for s in 0..32u32 {
        for k in [-130i64, -129, -128, -127, -1, 0, 1, 126, 127, 128, 129] {
            for d in [-1i64, 0, 1] {
                let half = if s == 0 { 0 } else { 1i64 << (s - 1) };
                let x = (k << s) + half + d;
                if let Ok(x) = i32::try_from(x) {
                    cases.push((x, 0, 1));
                }
            }
        }
    }
    for _ in 0..20_000 {
        let mult = if rng.gen_bool(0.5) {
            rng.gen_range(1..=65535)
        } else {
            rng.gen_range(1..=300)
        };
        cases.push((rng.gen(), rng.gen(), mult));
    }
    let mut checked = 0u64;
    for (i, &(acc, bias, mult)) in cases.iter().enumerate() {
        // Edge cases on every shift; random ones on a random shift each.
        let shifts: Vec<u32> = if i < cases.len() - 20_000 {
            (0..32).collect()
        } else {
            vec![rng.gen_range(0..32)]
        };
        for shift in shifts {
            for relu in [false, true] {
                let want = Requant::new(mult, shift, relu)
                    .unwrap_or_else(|e| panic!("{e}"))
                    .apply(acc, bias);
                sim.set(acc_p, u64::from(acc as u32));
                sim.set(bias_p, u64::from(bias as u32));
                sim.set(mult_p, u64::from(mult));
                sim.set(shift_p, u64::from(shift));
                sim.set(relu_p, u64::from(relu));
                let got = sim.get(r_p) as u8 as i8;
                assert_eq!(
                    got, want,
                    "acc {acc} bias {bias} mult {mult} shift {shift} relu {relu}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 90_000, "only {checked} vectors");
}

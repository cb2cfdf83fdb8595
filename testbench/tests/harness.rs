//! Tests of the Verilator harness (`testbench::verilator`) on small fixture designs, checked
//! bit-exactly against Rust computations.

use std::time::{Duration, Instant};

use testbench::verilator::{BuildOptions, BuildSpec, Dir, HarnessError, Model, Port, PortDesc};

/// 4-bit counter with synchronous reset and enable.
const COUNTER_V: &str = r#"
module counter(input clk, input rst, input en, output reg [3:0] count);
  always @(posedge clk) begin
    if (rst) count <= 4'd0;
    else if (en) count <= count + 4'd1;
  end
endmodule
"#;

fn counter_spec() -> BuildSpec {
    BuildSpec::new(
        COUNTER_V,
        "counter",
        vec![
            PortDesc::input("clk", 1),
            PortDesc::input("rst", 1),
            PortDesc::input("en", 1),
            PortDesc::output("count", 4),
        ],
    )
}

/// 100-bit combinational increment: carries must cross the 32-bit words of VlWide.
const WIDE_V: &str = r#"
module wide(input [99:0] in, output [99:0] out);
  assign out = in + 100'd1;
endmodule
"#;

fn wide_spec() -> BuildSpec {
    BuildSpec::new(
        WIDE_V,
        "wide",
        vec![PortDesc::input("in", 100), PortDesc::output("out", 100)],
    )
}

/// One port of each scalar storage class: CData (8), SData (16), IData (32), QData (40).
const WIDTHS_V: &str = r#"
module widths(
  input  [7:0]  a8,
  input  [15:0] b16,
  input  [31:0] d32,
  input  [39:0] c40,
  output [7:0]  inc8,
  output [15:0] prod16,
  output [31:0] rot32,
  output [39:0] sum40,
  output        top40
);
  assign inc8   = a8 + 8'd1;
  assign prod16 = a8 * b16;
  assign rot32  = {d32[26:0], d32[31:27]};
  assign sum40  = c40 + {16'd0, a8, b16};
  assign top40  = c40[39];
endmodule
"#;

fn widths_spec() -> BuildSpec {
    BuildSpec::new(
        WIDTHS_V,
        "widths",
        vec![
            PortDesc::input("a8", 8),
            PortDesc::input("b16", 16),
            PortDesc::input("d32", 32),
            PortDesc::input("c40", 40),
            PortDesc::output("inc8", 8),
            PortDesc::output("prod16", 16),
            PortDesc::output("rot32", 32),
            PortDesc::output("sum40", 40),
            PortDesc::output("top40", 1),
        ],
    )
}

/// Deterministic xorshift64* generator for test vectors.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn next_u128(&mut self) -> u128 {
        (u128::from(self.next()) << 64) | u128::from(self.next())
    }
}

fn build(spec: &BuildSpec) -> Model {
    match Model::build(spec) {
        Ok(m) => m,
        Err(e) => panic!("building `{}` failed:\n{e}", spec.top),
    }
}

#[test]
fn counter_counts_with_reset_and_enable() -> Result<(), HarnessError> {
    let mut m = build(&counter_spec());
    let (clk, rst, en, count) = (
        m.port("clk")?,
        m.port("rst")?,
        m.port("en")?,
        m.port("count")?,
    );
    assert_eq!((count.width(), count.dir()), (4, Dir::Output));

    m.set(rst, 1);
    m.tick(clk);
    m.set(rst, 0);
    assert_eq!(m.get(count), 0, "{}", m.trace_note());

    let mut expected = 0u64;
    let mut rng = Rng(0x1234_5678);
    for cycle in 0..100 {
        let enable = rng.next() & 1;
        let reset = u64::from(rng.next() % 23 == 0);
        m.set(en, enable);
        m.set(rst, reset);
        m.tick(clk);
        expected = if reset == 1 {
            0
        } else {
            (expected + enable) & 0xf
        };
        assert_eq!(m.get(count), expected, "cycle {cycle}; {}", m.trace_note());
    }

    // Wrap-around.
    m.set(rst, 0);
    m.set(en, 1);
    for _ in 0..16 {
        m.tick(clk);
    }
    assert_eq!(m.get(count), expected, "{}", m.trace_note());
    assert!(!m.finished());
    Ok(())
}

#[test]
fn wide_port_increment_carries_across_words() -> Result<(), HarnessError> {
    let mut m = build(&wide_spec());
    let (inp, out) = (m.port("in")?, m.port("out")?);
    let mask: u128 = (1u128 << 100) - 1;

    let mut cases: Vec<u128> = vec![
        0,
        1,
        0xffff_ffff,           // carry out of word 0
        0xffff_ffff_ffff_ffff, // carry into word 2
        (1u128 << 96) - 1,     // carry into the partial top word
        mask,                  // wraps to zero
        mask - 1,
        0x8_0000_0000_0000_0000_0000_0000,
    ];
    let mut rng = Rng(0xdead_beef);
    cases.extend((0..200).map(|_| rng.next_u128() & mask));

    for v in cases {
        m.set_u128(inp, v);
        let got = m.get_u128(out);
        assert_eq!(got, (v + 1) & mask, "in = {v:#x}; {}", m.trace_note());
        // Word view, least significant word first; 100 bits = 4 words.
        let words = m.get_words(out);
        assert_eq!(words.len(), 4);
        let expect = (v + 1) & mask;
        for (i, w) in words.iter().enumerate() {
            assert_eq!(*w, (expect >> (32 * i)) as u32, "word {i} of {expect:#x}");
        }
        // The same words into a caller's buffer; words past the port's are zeroed.
        let mut buf = [u32::MAX; 6];
        m.get_words_into(out, &mut buf);
        assert_eq!(&buf[..4], &words[..]);
        assert_eq!(&buf[4..], &[0, 0]);
    }

    // Bits above the port width are dropped by set_words.
    m.set_words(inp, &[0xffff_ffff, 0xffff_ffff, 0xffff_ffff, 0xffff_ffff]);
    assert_eq!(m.get_words(inp), vec![u32::MAX, u32::MAX, u32::MAX, 0xf]);
    assert_eq!(m.get_u128(out), 0);
    // Missing high words are zero.
    m.set_words(inp, &[7]);
    assert_eq!(m.get_u128(out), 8);
    Ok(())
}

#[test]
fn scalar_ports_of_every_storage_class() -> Result<(), HarnessError> {
    let mut m = build(&widths_spec());
    let p = |name: &str| m.port(name);
    let (a8, b16, d32, c40) = (p("a8")?, p("b16")?, p("d32")?, p("c40")?);
    let (inc8, prod16, rot32, sum40, top40) = (
        p("inc8")?,
        p("prod16")?,
        p("rot32")?,
        p("sum40")?,
        p("top40")?,
    );
    let m40 = (1u64 << 40) - 1;

    let mut rng = Rng(42);
    let mut vectors: Vec<[u64; 4]> = vec![
        [0, 0, 0, 0],
        [0xff, 0xffff, 0xffff_ffff, m40],
        [0x80, 0x8000, 0x8000_0000, 1 << 39],
    ];
    vectors.extend((0..300).map(|_| [rng.next(), rng.next(), rng.next(), rng.next()]));
    for [a, b, d, c] in vectors {
        // set() truncates to the port width; the expectations use the truncated values.
        m.set(a8, a);
        m.set(b16, b);
        m.set(d32, d);
        m.set(c40, c);
        let (a, b, d, c) = (a & 0xff, b & 0xffff, d & 0xffff_ffff, c & m40);
        let ctx = format!("a={a:#x} b={b:#x} d={d:#x} c={c:#x}; {}", m.trace_note());
        assert_eq!(m.get(a8), a, "{ctx}");
        assert_eq!(m.get(c40), c, "{ctx}");
        assert_eq!(m.get(inc8), (a + 1) & 0xff, "{ctx}");
        assert_eq!(m.get(prod16), (a * b) & 0xffff, "{ctx}");
        assert_eq!(m.get(rot32), u64::from((d as u32).rotate_left(5)), "{ctx}");
        assert_eq!(m.get(sum40), (c + ((a << 16) | b)) & m40, "{ctx}");
        assert_eq!(m.get(top40), c >> 39, "{ctx}");
        // Word view of a QData port.
        let s = (c + ((a << 16) | b)) & m40;
        assert_eq!(
            m.get_words(sum40),
            vec![s as u32, (s >> 32) as u32],
            "{ctx}"
        );
    }

    // set_words on a QData port.
    m.set(a8, 0);
    m.set(b16, 0);
    m.set_words(c40, &[0x89ab_cdef, 0xfff1_2345]);
    assert_eq!(m.get(sum40), 0x45_89ab_cdef);
    Ok(())
}

#[test]
fn second_build_is_a_cache_hit() -> Result<(), HarnessError> {
    // A nonce in a comment makes this a design nobody has built before.
    let nonce = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    );
    let mut spec = counter_spec();
    spec.verilog = format!("// cache test {nonce}\n{COUNTER_V}");

    let t0 = Instant::now();
    let first = build(&spec);
    let cold = t0.elapsed();
    assert!(!first.was_cached(), "a fresh design must be built");
    assert!(first.build_dir().join("verilator.log").is_file());
    assert!(first.build_dir().join("shim.cpp").is_file());

    let t1 = Instant::now();
    let mut second = build(&spec);
    let warm = t1.elapsed();
    assert!(
        second.was_cached(),
        "the second build must come from the cache"
    );
    assert_eq!(first.build_dir(), second.build_dir());
    assert!(
        warm < cold && warm < Duration::from_secs(2),
        "cached build took {warm:?} (cold {cold:?})"
    );
    eprintln!("cold build {cold:?}, cached build {warm:?}");

    // The cached model works.
    let (clk, rst, en, count) = (
        second.port("clk")?,
        second.port("rst")?,
        second.port("en")?,
        second.port("count")?,
    );
    second.set(rst, 1);
    second.tick(clk);
    second.set(rst, 0);
    second.set(en, 1);
    second.ticks(clk, 3);
    assert_eq!(second.get(count), 3);

    // The nonce design is never needed again: keep the cache from growing on every run.
    let dir = second.build_dir().to_path_buf();
    drop((first, second));
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

#[test]
fn two_instances_of_one_design_are_independent() -> Result<(), HarnessError> {
    let mut a = build(&counter_spec());
    let mut b = build(&counter_spec());
    let clk = a.port("clk")?;
    let (rst, en, count) = (a.port("rst")?, a.port("en")?, a.port("count")?);
    for m in [&mut a, &mut b] {
        m.set(rst, 1);
        m.tick(clk);
        m.set(rst, 0);
    }
    a.set(en, 1);
    b.set(en, 0);
    a.ticks(clk, 5);
    b.ticks(clk, 2);
    b.set(en, 1);
    b.ticks(clk, 2);
    assert_eq!(a.get(count), 5);
    assert_eq!(b.get(count), 2);

    // A different design loaded at the same time.
    let mut w = build(&wide_spec());
    let (inp, out) = (w.port("in")?, w.port("out")?);
    w.set_u128(inp, 41);
    assert_eq!(w.get_u128(out), 42);
    drop(a);
    b.tick(clk);
    assert_eq!(b.get(count), 3);
    Ok(())
}

#[test]
fn port_errors_are_reported() {
    let m = build(&counter_spec());
    match m.port("nope") {
        Err(HarnessError::UnknownPort { available, .. }) => {
            assert!(available.contains("count"), "{available}")
        }
        other => panic!("expected UnknownPort, got {other:?}"),
    }

    // Wrong width in the port list.
    let mut spec = counter_spec();
    spec.ports[3].width = 5;
    let err = Model::build(&spec).expect_err("width mismatch must fail");
    assert!(
        matches!(err, HarnessError::InvalidSpec { .. }) && err.to_string().contains("count"),
        "{err}"
    );

    // A design port missing from the list.
    let mut spec = counter_spec();
    spec.ports.remove(2);
    let err = Model::build(&spec).expect_err("missing port must fail");
    assert!(
        err.to_string().contains("missing from the port list"),
        "{err}"
    );
}

#[test]
fn broken_verilog_reports_the_log() {
    let spec = BuildSpec::new(
        "module broken(input a, output b);\n  assign b = a +;\nendmodule\n",
        "broken",
        vec![PortDesc::input("a", 1), PortDesc::output("b", 1)],
    );
    let err = Model::build(&spec).expect_err("syntax error must fail the build");
    let msg = err.to_string();
    match &err {
        HarnessError::CommandFailed {
            command, log, tail, ..
        } => {
            assert!(command.starts_with("verilator"), "{command}");
            assert!(log.is_file(), "log {} must exist", log.display());
            assert!(msg.contains(&log.display().to_string()), "{msg}");
            assert!(tail.contains("syntax error"), "{tail}");
            // Failed builds stay in the cache's tmp dir for their logs; this one is expected.
            if let Some(dir) = log.parent() {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
        other => panic!("expected CommandFailed, got {other:?}"),
    }
}

#[test]
fn trace_writes_an_fst_file() -> Result<(), HarnessError> {
    let mut spec = counter_spec();
    spec.trace = true;
    let mut m = build(&spec);
    let path = m.trace_path().expect("tracing enabled").to_path_buf();
    assert!(m.trace_note().contains(&path.display().to_string()));
    let (clk, rst, en) = (m.port("clk")?, m.port("rst")?, m.port("en")?);
    m.set(rst, 1);
    m.tick(clk);
    m.set(rst, 0);
    m.set(en, 1);
    m.ticks(clk, 20);
    drop(m); // closes the FST file
    let len = std::fs::metadata(&path)
        .map(|md| md.len())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(len > 0, "{} is empty", path.display());
    let _ = std::fs::remove_file(&path);
    Ok(())
}

#[test]
fn stop_and_finish_do_not_kill_the_process() -> Result<(), HarnessError> {
    let spec = BuildSpec::new(
        r#"
module stopper(input clk, input go_stop, input go_finish, input go_fatal);
  always @(posedge clk) begin
    if (go_stop) $stop;
    if (go_finish) $finish;
    if (go_fatal) $fatal(1, "boom");
  end
endmodule
"#,
        "stopper",
        vec![
            PortDesc::input("clk", 1),
            PortDesc::input("go_stop", 1),
            PortDesc::input("go_finish", 1),
            PortDesc::input("go_fatal", 1),
        ],
    );
    let mut m = build(&spec);
    let (clk, stop, finish) = (m.port("clk")?, m.port("go_stop")?, m.port("go_finish")?);
    m.tick(clk);
    m.set(finish, 1);
    m.tick(clk);
    m.tick(clk); // a second $finish must not exit() the process either
    assert!(m.finished());
    m.set(finish, 0);
    m.set(stop, 1);
    match m.try_tick(clk) {
        Err(HarnessError::Simulation { message, .. }) => {
            assert!(message.contains("$stop"), "{message}")
        }
        other => panic!("expected a simulation error, got {other:?}"),
    }
    // The failed model stays failed.
    assert!(m.try_eval().is_err());

    let mut m = build(&spec);
    let fatal = m.port("go_fatal")?;
    m.set(fatal, 1);
    match m.try_tick(clk) {
        Err(HarnessError::Simulation { message, .. }) => {
            assert!(message.contains("boom"), "{message}")
        }
        other => panic!("expected a simulation error, got {other:?}"),
    }
    Ok(())
}

/// Both clock edges and a combinational output, to compare the two ways of clocking a model.
const CLOCKED_V: &str = r#"
module clocked(input clk, input rst, input [7:0] d, output reg [7:0] q, output reg [7:0] qn,
               output [7:0] sum);
  always @(posedge clk) begin
    if (rst) q <= 8'd0;
    else q <= q + d;
  end
  always @(negedge clk) qn <= q ^ 8'h5a;
  assign sum = q + d;
endmodule
"#;

fn clocked_spec() -> BuildSpec {
    BuildSpec::new(
        CLOCKED_V,
        "clocked",
        vec![
            PortDesc::input("clk", 1),
            PortDesc::input("rst", 1),
            PortDesc::input("d", 8),
            PortDesc::output("q", 8),
            PortDesc::output("qn", 8),
            PortDesc::output("sum", 8),
        ],
    )
}

#[test]
fn one_call_per_cycle_clocks_like_one_call_per_evaluation() -> Result<(), HarnessError> {
    let spec = clocked_spec();
    let build_with = |options: &BuildOptions| match Model::build_with(&spec, options) {
        Ok(m) => m,
        Err(e) => panic!("building `clocked` with {options:?} failed:\n{e}"),
    };
    let fused = build_with(&BuildOptions::default());
    let per_eval = build_with(&BuildOptions::legacy());
    // The split option is part of the cache key.
    assert_ne!(fused.build_dir(), per_eval.build_dir());
    // Port handles belong to one model (one shared object).
    struct Ports {
        clk: Port,
        rst: Port,
        d: Port,
        q: Port,
        qn: Port,
        sum: Port,
    }
    let ports = |m: &Model| -> Result<Ports, HarnessError> {
        Ok(Ports {
            clk: m.port("clk")?,
            rst: m.port("rst")?,
            d: m.port("d")?,
            q: m.port("q")?,
            qn: m.port("qn")?,
            sum: m.port("sum")?,
        })
    };
    let mut pair = [(ports(&fused)?, fused), (ports(&per_eval)?, per_eval)];
    for (p, m) in pair.iter_mut() {
        m.set(p.rst, 1);
        m.tick(p.clk);
        m.set(p.rst, 0);
    }
    let mut expect_q = 0u64;
    let mut rng = Rng(0x5eed);
    for cycle in 0..200 {
        let v = rng.next() & 0xff;
        // Every few cycles a run of ticks in one call, with the input unchanged.
        let n = if cycle % 7 == 3 {
            1 + (rng.next() % 5) as usize
        } else {
            1
        };
        for (p, m) in pair.iter_mut() {
            m.set(p.d, v);
            // Combinational output before the edge, then registered ones after it.
            assert_eq!(m.get(p.sum), (expect_q + v) & 0xff, "cycle {cycle}");
            m.ticks(p.clk, n);
        }
        expect_q = (expect_q + v * n as u64) & 0xff;
        for (p, m) in &pair {
            let ctx = format!("cycle {cycle}, {n} tick(s); {}", m.trace_note());
            assert_eq!(m.get(p.q), expect_q, "{ctx}");
            assert_eq!(m.get(p.qn), expect_q ^ 0x5a, "{ctx}");
        }
        // The same evaluations and time steps.
        assert_eq!(pair[0].1.time(), pair[1].1.time(), "cycle {cycle}");
    }
    Ok(())
}

#[test]
fn bad_build_options_are_refused() {
    let mut options = BuildOptions::default();
    options.threads = 0;
    let err = Model::build_with(&counter_spec(), &options).expect_err("0 threads must fail");
    assert!(
        matches!(err, HarnessError::InvalidSpec { .. }) && err.to_string().contains("threads"),
        "{err}"
    );
}

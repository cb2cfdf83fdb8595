//! Tests of the testbench agents (`testbench::agents`) on small fixture designs
//! built with the hdl IR: every result is compared with a plain Rust model of
//! the fixture, and deliberately broken fixtures must be caught by the checks.

use hdl::ir::{Const, Design, Expr, Module, Reset, SignalId, Ty};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use testbench::agents::{
    Agent, Bench, BenchError, CsrMaster, CsrPorts, MemPorts, MemSlave, MemSlaveConfig, NoCombPath,
    Region, RegionAccess, StreamPorts, StreamSink, StreamSource,
};
use testbench::verilator::{BuildSpec, Dir, Model, PortDesc};

fn seed(base: u64) -> u64 {
    std::env::var("TB_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(base)
}

/// Print, check and build `d` under Verilator.
fn build(d: &Design) -> Model {
    let verilog = hdl::verilog::print(d).unwrap_or_else(|e| panic!("{}: {e}", d.top));
    let top = d
        .top_module()
        .unwrap_or_else(|| panic!("{}: no top module", d.top));
    let ports = top
        .ports()
        .map(|(_, p)| PortDesc {
            name: p.name.clone(),
            width: p.ty.width,
            dir: if p.kind == hdl::ir::SignalKind::Input {
                Dir::Input
            } else {
                Dir::Output
            },
        })
        .collect();
    Model::build(&BuildSpec::new(verilog, d.top.clone(), ports))
        .unwrap_or_else(|e| panic!("building {}: {e}", d.top))
}

fn design(m: Module) -> Design {
    let mut d = Design::new(m.name.clone());
    d.add(m);
    d
}

fn zero_reset(rst: SignalId, width: u32) -> Option<Reset> {
    Some(Reset {
        rst,
        value: Const {
            ty: Ty::u(width),
            bits: 0,
        },
    })
}

/// A register `name` of `width` bits: `next` at each edge where `enable` holds,
/// zero on reset when `rst` is given.
#[allow(clippy::too_many_arguments)]
fn reg(
    m: &mut Module,
    name: &str,
    width: u32,
    clk: SignalId,
    rst: Option<SignalId>,
    next: impl Into<Expr>,
    enable: Option<Expr>,
) -> SignalId {
    let r = m.reg(name, Ty::u(width), "");
    m.clocked(r, clk, next, enable, rst.and_then(|s| zero_reset(s, width)));
    r
}

fn sig(s: SignalId) -> Expr {
    Expr::from(s)
}

// ---------------------------------------------------------------------------
// Streams

/// A one-deep register slice (`in` -> `out`, 72-bit data: wider than 64, so
/// the word paths are used; `in_ready` follows `out_ready` combinationally) and
/// a broken source `b`: with `b_mode` = 0 its valid toggles whatever ready says,
/// with 1 its valid holds but its data counts every cycle.
fn streams_design() -> Design {
    let bit = Ty::bit();
    let mut m = Module::new("tb_streams");
    m.doc("Agent test fixture: a register slice and a source that breaks the stream rules.");
    let clk = m.input("clk", bit, Some("Clock and reset"), "");
    let rst = m.input("rst", bit, None, "");
    let in_valid = m.input("in_valid", bit, Some("Register slice input"), "");
    let in_ready = m.output("in_ready", bit, None, "");
    let in_data = m.input("in_data", Ty::u(72), None, "");
    let in_last = m.input("in_last", bit, None, "");
    let out_valid = m.output("out_valid", bit, Some("Register slice output"), "");
    let out_ready = m.input("out_ready", bit, None, "");
    let out_data = m.output("out_data", Ty::u(72), None, "");
    let out_last = m.output("out_last", bit, None, "");
    let full = m.reg("full_reg", bit, "");
    m.assign(in_ready, !full | out_ready);
    let load = m.wire_of("load", sig(in_valid) & in_ready, "");
    m.clocked(
        full,
        clk,
        sig(load) | (sig(full) & !out_ready),
        None,
        zero_reset(rst, 1),
    );
    let data = reg(
        &mut m,
        "data_reg",
        72,
        clk,
        None,
        in_data,
        Some(load.into()),
    );
    let last = reg(&mut m, "last_reg", 1, clk, None, in_last, Some(load.into()));
    m.assign(out_valid, full);
    m.assign(out_data, data);
    m.assign(out_last, last);

    let mode = m.input("b_mode", bit, Some("Broken source"), "");
    let b_valid = m.output("b_valid", bit, None, "");
    let b_ready = m.input("b_ready", bit, None, "");
    let b_data = m.output("b_data", Ty::u(40), None, "");
    let b_last = m.output("b_last", bit, None, "");
    m.allow_unused(b_ready, "the broken source ignores ready on purpose");
    let tog = m.reg("tog_reg", bit, "");
    m.clocked(tog, clk, !tog, None, zero_reset(rst, 1));
    let count = m.reg("count_reg", Ty::u(40), "");
    m.clocked(
        count,
        clk,
        count + Expr::uconst(40, 1),
        None,
        zero_reset(rst, 40),
    );
    m.assign(b_valid, Expr::mux(mode, Expr::bit(true), tog));
    m.assign(b_data, count);
    m.assign(b_last, Expr::bit(false));
    design(m)
}

fn reset(m: &mut Model, bench: &mut Bench, cycles: u64) {
    let rst = m.port("rst").unwrap_or_else(|e| panic!("{e}"));
    m.set(rst, 1);
    bench
        .steps(m, &mut [], cycles)
        .unwrap_or_else(|e| panic!("{e}"));
    m.set(rst, 0);
}

fn random_beats(rng: &mut StdRng, n: usize) -> Vec<([u32; 3], bool)> {
    (0..n)
        .map(|_| {
            (
                [rng.gen(), rng.gen(), rng.gen::<u32>() & 0xff],
                rng.gen_bool(0.3),
            )
        })
        .collect()
}

/// Beats through the register slice come out bit-exact, in order, whatever the
/// stalls on either side; at full rate one beat per cycle, which holds only if
/// both agents sample the handshake as the edge sees it (`in_ready` depends on
/// the sink's `out_ready` in the same cycle).
#[test]
fn stream_source_and_sink_through_a_register_slice() {
    let mut rng = StdRng::seed_from_u64(seed(1));
    let mut m = build(&streams_design());
    let mut bench = Bench::new(m.port("clk").unwrap_or_else(|e| panic!("{e}")));
    reset(&mut m, &mut bench, 2);
    let inp = StreamPorts::prefixed(&m, "in", &["data"], true).unwrap_or_else(|e| panic!("{e}"));
    let out = StreamPorts::prefixed(&m, "out", &["data"], true).unwrap_or_else(|e| panic!("{e}"));
    for (round, (valid_p, ready_p)) in [(1.0, 1.0), (0.5, 0.5), (1.0, 0.2), (0.2, 1.0), (0.7, 0.9)]
        .into_iter()
        .enumerate()
    {
        let beats = random_beats(&mut rng, 200);
        let mut src = StreamSource::new("in", inp.clone(), valid_p, rng.gen())
            .unwrap_or_else(|e| panic!("{e}"));
        for (w, last) in &beats {
            src.push(w, *last);
        }
        let mut sink = StreamSink::new("out", out.clone(), ready_p, rng.gen())
            .unwrap_or_else(|e| panic!("{e}"));
        let start = bench.cycle();
        while sink.len() < beats.len() {
            assert!(
                bench.cycle() - start < 20_000,
                "round {round}: {}",
                sink.status()
            );
            bench
                .step(&mut m, &mut [&mut src, &mut sink])
                .unwrap_or_else(|e| panic!("round {round}: {e}"));
        }
        assert_eq!(sink.len(), beats.len(), "round {round}");
        for (i, (w, last)) in beats.iter().enumerate() {
            assert_eq!(sink.beat(i), &w[..], "round {round}: beat {i}");
            assert_eq!(sink.lasts()[i], *last, "round {round}: last of beat {i}");
        }
        if round == 0 {
            // First beat offered at cycle `start`, taken at its edge, out one edge later.
            assert_eq!(src.stalls(), 0);
            assert_eq!(sink.cycles()[0], start + 1);
            assert_eq!(*sink.cycles().last().unwrap_or(&0), start + 200);
        } else if ready_p < 1.0 {
            assert!(
                src.stalls() > 0,
                "round {round}: the slice never stalled the source"
            );
        } else {
            // Always ready downstream: the slice never stalls.
            assert_eq!(src.stalls(), 0, "round {round}");
        }
        // Let the slice empty before the next round.
        let mut drain =
            StreamSink::new("out", out.clone(), 1.0, 0).unwrap_or_else(|e| panic!("{e}"));
        bench
            .steps(&mut m, &mut [&mut src, &mut drain], 2)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(drain.is_empty());
    }
}

/// A sink expecting packets checks `last` on every beat and refuses beats after the last.
#[test]
fn sink_checks_packet_boundaries() {
    let mut rng = StdRng::seed_from_u64(seed(2));
    let mut m = build(&streams_design());
    let mut bench = Bench::new(m.port("clk").unwrap_or_else(|e| panic!("{e}")));
    reset(&mut m, &mut bench, 2);
    let inp = StreamPorts::prefixed(&m, "in", &["data"], true).unwrap_or_else(|e| panic!("{e}"));
    let out = StreamPorts::prefixed(&m, "out", &["data"], true).unwrap_or_else(|e| panic!("{e}"));
    // Packets of 3, 1 and 2 beats; the source marks the second's only beat wrongly.
    let lasts = [false, false, true, false, false, true];
    let mut src = StreamSource::new("in", inp, 0.8, rng.gen()).unwrap_or_else(|e| panic!("{e}"));
    for (i, &l) in lasts.iter().enumerate() {
        src.push(&[i as u32, 0, 0], l);
    }
    let mut sink = StreamSink::new("out", out, 0.6, rng.gen()).unwrap_or_else(|e| panic!("{e}"));
    sink.expect_packets(&[3, 1, 2]);
    let err = bench
        .run(&mut m, &mut [&mut src, &mut sink], 1000)
        .expect_err("beat 3 lacks out_last but its packet has one beat");
    match &err {
        BenchError::Protocol { agent, what, .. } => {
            assert_eq!(agent, "out");
            assert!(
                what.contains("`out_last` = false on beat 0 of 1 of packet 1"),
                "{err}"
            );
        }
        e => panic!("expected a protocol violation, got {e}"),
    }
    assert_eq!(
        sink.len(),
        3,
        "the first packet arrived before the violation"
    );
}

/// The sink's hold check catches a source that drops valid before ready, and one
/// that changes its data under a raised valid, naming the port and the cycle.
#[test]
fn sink_catches_a_broken_source() {
    let mut rng = StdRng::seed_from_u64(seed(3));
    let mut m = build(&streams_design());
    let mut bench = Bench::new(m.port("clk").unwrap_or_else(|e| panic!("{e}")));
    let mode = m.port("b_mode").unwrap_or_else(|e| panic!("{e}"));
    let b = StreamPorts::prefixed(&m, "b", &["data"], true).unwrap_or_else(|e| panic!("{e}"));
    for (mode_v, want) in [
        (0, "`b_valid` dropped at cycle"),
        (1, "`b_data` changed at cycle"),
    ] {
        m.set(mode, mode_v);
        reset(&mut m, &mut bench, 2);
        let mut sink =
            StreamSink::new("b", b.clone(), 0.5, rng.gen()).unwrap_or_else(|e| panic!("{e}"));
        let err = bench
            .run_until(&mut m, &mut [&mut sink], 1000, |_| false)
            .expect_err("the broken source must be caught");
        match &err {
            BenchError::Protocol {
                agent, cycle, what, ..
            } => {
                assert_eq!(agent, "b");
                assert!(what.contains(want), "mode {mode_v}: {err}");
                assert!(what.contains(&format!("cycle {cycle}")), "{err}");
            }
            e => panic!("mode {mode_v}: expected a protocol violation, got {e}"),
        }
    }
    // Always ready, the same source breaks no rule.
    m.set(mode, 0);
    reset(&mut m, &mut bench, 2);
    let mut sink = StreamSink::new("b", b, 1.0, 0).unwrap_or_else(|e| panic!("{e}"));
    bench
        .steps(&mut m, &mut [&mut sink], 100)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sink.len(), 50);
}

// ---------------------------------------------------------------------------
// Register port

const ID: u32 = 0x5eed_0001;

/// Four read-write registers at 0x0, 0x4, 0x8, 0xc and a read-only ID at 0x10;
/// other addresses read 0. `csr_ready` drops for a cycle after each request;
/// reads answer one cycle after they are taken. With `mode` = 1 (broken) writes
/// get a `csr_rvalid` pulse too.
fn regfile_design() -> Design {
    let bit = Ty::bit();
    let mut m = Module::new("tb_regfile");
    m.doc("Agent test fixture: a register file on the register port.");
    let clk = m.input("clk", bit, Some("Clock and reset"), "");
    let rst = m.input("rst", bit, None, "");
    let valid = m.input("csr_valid", bit, Some("Register port"), "");
    let ready = m.output("csr_ready", bit, None, "");
    let write = m.input("csr_write", bit, None, "");
    let addr = m.input("csr_addr", Ty::u(8), None, "");
    let wdata = m.input("csr_wdata", Ty::u(32), None, "");
    let rvalid = m.output("csr_rvalid", bit, None, "");
    let rdata = m.output("csr_rdata", Ty::u(32), None, "");
    let mode = m.input("mode", bit, Some("Test control"), "");
    let busy = m.reg("busy_reg", bit, "");
    let fire = m.wire_of("fire", sig(valid) & !busy, "");
    m.clocked(busy, clk, fire, None, zero_reset(rst, 1));
    m.assign(ready, !busy);
    let at = |a: u32| sig(addr).cmp_eq(Expr::uconst(8, a.into()));
    let mut read = Expr::mux(at(0x10), Expr::uconst(32, ID.into()), Expr::uconst(32, 0));
    for i in (0..4u32).rev() {
        let en = sig(fire) & write & at(4 * i);
        let r = reg(&mut m, &format!("r{i}_reg"), 32, clk, None, wdata, Some(en));
        read = Expr::mux(at(4 * i), r, read);
    }
    let answer = m.wire_of("answer", sig(fire) & (!write | mode), "");
    let rv = reg(&mut m, "rvalid_reg", 1, clk, Some(rst), answer, None);
    let rd = reg(
        &mut m,
        "rdata_reg",
        32,
        clk,
        None,
        read,
        Some(answer.into()),
    );
    m.assign(rvalid, rv);
    m.assign(rdata, rd);
    design(m)
}

/// The register file's Rust model.
struct RegModel([u32; 4]);

impl RegModel {
    fn read(&self, a: u64) -> u64 {
        match a {
            0 | 4 | 8 | 12 => self.0[a as usize / 4].into(),
            0x10 => ID.into(),
            _ => 0,
        }
    }
    fn write(&mut self, a: u64, v: u64) {
        if let 0 | 4 | 8 | 12 = a {
            self.0[a as usize / 4] = v as u32;
        }
    }
}

/// Random reads and writes, random gaps: every read returns what the model says,
/// in order.
#[test]
fn csr_master_reads_and_writes_a_register_file() {
    let mut rng = StdRng::seed_from_u64(seed(4));
    let mut m = build(&regfile_design());
    let mut bench = Bench::new(m.port("clk").unwrap_or_else(|e| panic!("{e}")));
    reset(&mut m, &mut bench, 2);
    let ports = CsrPorts::new(&m, "csr_").unwrap_or_else(|e| panic!("{e}"));
    let mut model = RegModel([0; 4]);
    for valid_p in [1.0, 0.4] {
        let mut csr = CsrMaster::new("csr", ports.clone(), valid_p, rng.gen());
        // Registers start random: write all of them first.
        let mut want = Vec::new();
        for a in [0u64, 4, 8, 12] {
            let v = u64::from(rng.gen::<u32>());
            csr.write(a, v);
            model.write(a, v);
        }
        let addrs = [0u64, 4, 8, 12, 0x10, 0x14, 3, 0xfc];
        for _ in 0..300 {
            let a = addrs[rng.gen_range(0..addrs.len())];
            if rng.gen_bool(0.4) {
                let v = u64::from(rng.gen::<u32>());
                csr.write(a, v);
                model.write(a, v);
            } else {
                csr.read(a);
                want.push((a, model.read(a)));
            }
        }
        bench
            .run(&mut m, &mut [&mut csr], 10_000)
            .unwrap_or_else(|e| panic!("valid_p {valid_p}: {e}"));
        assert_eq!(csr.reads(), &want[..], "valid_p {valid_p}");
        assert_eq!(csr.writes(), 304 - want.len());
    }
}

/// A `csr_rvalid` with no read outstanding fails, naming the cycle.
#[test]
fn csr_master_catches_an_unrequested_response() {
    let mut m = build(&regfile_design());
    let mut bench = Bench::new(m.port("clk").unwrap_or_else(|e| panic!("{e}")));
    reset(&mut m, &mut bench, 2);
    let mode = m.port("mode").unwrap_or_else(|e| panic!("{e}"));
    m.set(mode, 1);
    let ports = CsrPorts::new(&m, "csr_").unwrap_or_else(|e| panic!("{e}"));
    let mut csr = CsrMaster::new("csr", ports, 1.0, 1);
    csr.read(4);
    csr.write(8, 5);
    let start = bench.cycle();
    // Keep stepping past the master's last request: the pulse comes after it.
    let err = bench
        .steps(&mut m, &mut [&mut csr], 10)
        .expect_err("a write answered with rvalid");
    match &err {
        BenchError::Protocol {
            agent, cycle, what, ..
        } => {
            assert_eq!(agent, "csr");
            // Read taken at start, answered at start + 1; the write waits out
            // the busy cycle, is taken at start + 2 and answered at start + 3.
            assert_eq!(*cycle, start + 3, "{err}");
            assert!(what.contains("`csr_rvalid` high at cycle"), "{err}");
        }
        e => panic!("expected a protocol violation, got {e}"),
    }
    assert_eq!(csr.reads().len(), 1);
}

// ---------------------------------------------------------------------------
// Memory port

const COPY_BYTES: u32 = 16;
const READ_BYTES: u32 = 8;

/// The memory port of `MEM_BITS` = 8 * `bytes` under `prefix`: (req_valid,
/// req_ready, req_write, req_addr, req_wdata, req_wstrb, resp_valid, resp_ready,
/// resp_rdata).
fn mem_port(m: &mut Module, prefix: &str, bytes: u32) -> [SignalId; 9] {
    let bit = Ty::bit();
    let group = format!("Memory port {prefix}");
    let n = |s: &str| format!("{prefix}{s}");
    [
        m.output(&n("req_valid"), bit, Some(&group), ""),
        m.input(&n("req_ready"), bit, None, ""),
        m.output(&n("req_write"), bit, None, ""),
        m.output(&n("req_addr"), Ty::u(32), None, ""),
        m.output(&n("req_wdata"), Ty::u(8 * bytes), None, ""),
        m.output(&n("req_wstrb"), Ty::u(bytes), None, ""),
        m.input(&n("resp_valid"), bit, None, ""),
        m.output(&n("resp_ready"), bit, None, ""),
        m.input(&n("resp_rdata"), Ty::u(8 * bytes), None, ""),
    ]
}

/// Two memory masters:
/// * `a`: copies `a_count` 16-byte words from `a_src` to `a_dst` one at a time
///   (read, wait for the response, write it with strobes `a_wstrb`), raising
///   `a_done`; its `resp_ready` toggles every cycle to stress the slave's hold.
/// * `b`: reads `b_count` 8-byte words from `b_src` back to back without waiting
///   for responses, and passes the responses out on stream `r` (no last); with
///   `b_wobble` its address moves every other cycle, taken or not (broken).
fn mem_design() -> Design {
    let bit = Ty::bit();
    let mut m = Module::new("tb_mem");
    m.doc("Agent test fixture: a copy engine and a streaming reader on two memory ports.");
    let clk = m.input("clk", bit, Some("Clock and reset"), "");
    let rst = m.input("rst", bit, None, "");

    // Copier: IDLE 0, RD 1, WAIT 2, WR 3.
    let start = m.input("a_start", bit, Some("Copier control"), "");
    let src = m.input("a_src", Ty::u(32), None, "");
    let dst = m.input("a_dst", Ty::u(32), None, "");
    let count = m.input("a_count", Ty::u(16), None, "");
    let wstrb = m.input("a_wstrb", Ty::u(COPY_BYTES), None, "");
    let done = m.output("a_done", bit, None, "");
    let [req_valid, req_ready, req_write, req_addr, req_wdata, req_wstrb, resp_valid, resp_ready, resp_rdata] =
        mem_port(&mut m, "a_mem_", COPY_BYTES);
    let state = m.reg("state_reg", Ty::u(2), "");
    let is = |s: u32| sig(state).cmp_eq(Expr::uconst(2, s.into()));
    let idx = m.reg("idx_reg", Ty::u(16), "");
    let tog = m.reg("tog_reg", bit, "");
    m.clocked(tog, clk, !tog, None, zero_reset(rst, 1));
    m.assign(req_valid, is(1) | is(3));
    m.assign(req_write, is(3));
    let word = Expr::concat(vec![Expr::uconst(4, 0), idx.into()]).resize(32);
    m.assign(req_addr, Expr::mux(is(3), dst, src) + word);
    let req_fire = m.wire_of("a_req_fire", sig(req_valid) & req_ready, "");
    m.assign(resp_ready, is(2) & tog);
    let resp_fire = m.wire_of("a_resp_fire", sig(resp_valid) & resp_ready, "");
    let buf = reg(
        &mut m,
        "buf_reg",
        8 * COPY_BYTES,
        clk,
        None,
        resp_rdata,
        Some(resp_fire.into()),
    );
    m.assign(req_wdata, buf);
    m.assign(req_wstrb, wstrb);
    let last = m.wire_of("a_last", (idx + Expr::uconst(16, 1)).cmp_eq(count), "");
    let wrote = m.wire_of("a_wrote", is(3) & req_fire, "");
    m.clocked(
        idx,
        clk,
        Expr::mux(start, Expr::uconst(16, 0), idx + Expr::uconst(16, 1)),
        Some(sig(start) | wrote),
        None,
    );
    let c = |v: u32| Expr::uconst(2, v.into());
    let next = Expr::mux(
        start,
        c(1),
        Expr::mux(
            is(1) & req_fire,
            c(2),
            Expr::mux(
                is(2) & resp_fire,
                c(3),
                Expr::mux(wrote, Expr::mux(last, c(0), c(1)), state),
            ),
        ),
    );
    m.clocked(state, clk, next, None, zero_reset(rst, 2));
    let done_r = m.reg("done_reg", bit, "");
    m.clocked(
        done_r,
        clk,
        Expr::mux(
            start,
            Expr::bit(false),
            Expr::mux(sig(wrote) & last, Expr::bit(true), done_r),
        ),
        None,
        zero_reset(rst, 1),
    );
    m.assign(done, done_r);

    // Reader.
    let b_start = m.input("b_start", bit, Some("Reader control"), "");
    let b_src = m.input("b_src", Ty::u(32), None, "");
    let b_count = m.input("b_count", Ty::u(16), None, "");
    let [b_req_valid, b_req_ready, b_req_write, b_req_addr, b_req_wdata, b_req_wstrb, b_resp_valid, b_resp_ready, b_resp_rdata] =
        mem_port(&mut m, "b_mem_", READ_BYTES);
    let r_valid = m.output("r_valid", bit, Some("Read data out"), "");
    let r_ready = m.input("r_ready", bit, None, "");
    let r_data = m.output("r_data", Ty::u(8 * READ_BYTES), None, "");
    let active = m.reg("active_reg", bit, "");
    let b_idx = m.reg("b_idx_reg", Ty::u(16), "");
    m.assign(b_req_valid, active);
    let b_fire = m.wire_of("b_req_fire", sig(active) & b_req_ready, "");
    let b_word = Expr::concat(vec![Expr::uconst(3, 0), b_idx.into()]).resize(32);
    // Broken on purpose with `b_wobble`: the address moves under a raised request.
    let wobble = m.input("b_wobble", bit, None, "");
    let shift = Expr::mux(sig(wobble) & tog, Expr::uconst(32, 8), Expr::uconst(32, 0));
    m.assign(b_req_addr, sig(b_src) + b_word + shift);
    m.assign(b_req_write, Expr::bit(false));
    m.assign(b_req_wdata, Expr::uconst(8 * READ_BYTES, 0));
    m.assign(b_req_wstrb, Expr::uconst(READ_BYTES, 0));
    m.clocked(
        b_idx,
        clk,
        Expr::mux(b_start, Expr::uconst(16, 0), b_idx + Expr::uconst(16, 1)),
        Some(sig(b_start) | b_fire),
        None,
    );
    let b_last = (b_idx + Expr::uconst(16, 1)).cmp_eq(b_count);
    m.clocked(
        active,
        clk,
        Expr::mux(
            b_start,
            Expr::bit(true),
            Expr::mux(sig(b_fire) & b_last, Expr::bit(false), active),
        ),
        None,
        zero_reset(rst, 1),
    );
    m.assign(r_valid, b_resp_valid);
    m.assign(r_data, b_resp_rdata);
    m.assign(b_resp_ready, r_ready);
    design(m)
}

struct MemBench {
    m: Model,
    bench: Bench,
}

fn mem_bench() -> MemBench {
    let mut m = build(&mem_design());
    let mut bench = Bench::new(m.port("clk").unwrap_or_else(|e| panic!("{e}")));
    reset(&mut m, &mut bench, 2);
    MemBench { m, bench }
}

impl MemBench {
    fn set(&mut self, name: &str, v: u64) {
        let p = self.m.port(name).unwrap_or_else(|e| panic!("{e}"));
        self.m.set(p, v);
    }

    /// Pulse `start` for one cycle.
    fn pulse(&mut self, start: &str) {
        self.set(start, 1);
        self.bench
            .steps(&mut self.m, &mut [], 1)
            .unwrap_or_else(|e| panic!("{e}"));
        self.set(start, 0);
    }

    /// Run the copier from `src` to `dst` with `slave` until `a_done`.
    fn copy(
        &mut self,
        slave: &mut MemSlave,
        src: u64,
        dst: u64,
        count: u64,
        strobes: u64,
    ) -> Result<(), BenchError> {
        self.set("a_src", src);
        self.set("a_dst", dst);
        self.set("a_count", count);
        self.set("a_wstrb", strobes);
        self.pulse("a_start");
        let done = self.m.port("a_done").unwrap_or_else(|e| panic!("{e}"));
        let start = self.bench.cycle();
        while self.m.get(done) == 0 {
            if self.bench.cycle() - start > 20_000 {
                return Err(self.bench.timeout(&self.m, &[&mut *slave], 20_000));
            }
            self.bench.step(&mut self.m, &mut [&mut *slave])?;
        }
        Ok(())
    }
}

const BASE: u64 = 0x1000;
const SIZE: usize = 0x1000;

fn copy_slave(b: &MemBench, rng: &mut StdRng, cfg: MemSlaveConfig) -> (MemSlave, Vec<u8>) {
    let ports = MemPorts::new(&b.m, "a_mem_").unwrap_or_else(|e| panic!("{e}"));
    let mut s =
        MemSlave::new("mem", ports, BASE, SIZE, cfg, rng.gen()).unwrap_or_else(|e| panic!("{e}"));
    let init: Vec<u8> = (0..SIZE).map(|_| rng.gen()).collect();
    s.load(BASE, &init);
    s.set_regions(vec![
        Region::new("src", 0x1000, 0x400, RegionAccess::ReadOnly),
        Region::new("dst", 0x1800, 0x400, RegionAccess::ReadWrite),
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    (s, init)
}

/// The copy lands bit-exact (strobed bytes copied, the others and the rest of
/// memory untouched) under random latency, request stalls and response gaps,
/// and the traffic log and counts match the copy.
#[test]
fn mem_slave_serves_a_copy_engine() {
    let mut rng = StdRng::seed_from_u64(seed(5));
    let mut b = mem_bench();
    for (round, cfg) in [
        MemSlaveConfig::default(),
        MemSlaveConfig {
            latency: 1..=6,
            req_ready_p: 0.5,
            resp_gap_p: 0.4,
            max_outstanding: 4,
        },
        MemSlaveConfig {
            latency: 3..=3,
            req_ready_p: 0.9,
            resp_gap_p: 0.0,
            max_outstanding: 1,
        },
    ]
    .into_iter()
    .enumerate()
    {
        let (mut s, init) = copy_slave(&b, &mut rng, cfg);
        let count = 24u64;
        let (src, dst) = (0x1000 + 16 * round as u64, 0x1800 + 48 * round as u64);
        let strobes: u64 = if round == 0 {
            0xffff
        } else {
            rng.gen::<u16>().into()
        };
        b.copy(&mut s, src, dst, count, strobes)
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        // The Rust model of the copy.
        let mut want = init.clone();
        for i in 0..(16 * count) as usize {
            if strobes >> (i % 16) & 1 == 1 {
                want[(dst - BASE) as usize + i] = init[(src - BASE) as usize + i];
            }
        }
        let got = s.bytes(BASE, SIZE);
        if let Some(i) = (0..SIZE).find(|&i| got[i] != want[i]) {
            panic!(
                "round {round}: memory differs first at {:#x}: {:#04x}, want {:#04x}; {}",
                BASE + i as u64,
                got[i],
                want[i],
                b.m.trace_note()
            );
        }
        let written = u64::from(strobes.count_ones()) * count;
        assert_eq!(s.bytes_read(), 16 * count, "round {round}: {}", s.summary());
        assert_eq!(s.bytes_written(), written, "round {round}: {}", s.summary());
        let log: Vec<(bool, u64)> = s.log().iter().map(|a| (a.write, a.addr)).collect();
        let want_log: Vec<(bool, u64)> = (0..count)
            .flat_map(|i| [(false, src + 16 * i), (true, dst + 16 * i)])
            .collect();
        assert_eq!(log, want_log, "round {round}");
        assert!(s.log().windows(2).all(|w| w[0].cycle < w[1].cycle));
    }
}

/// An access outside the allowed regions, a write to a read-only region and a
/// misaligned address each fail with the address, the cycle and the direction.
#[test]
fn mem_slave_refuses_accesses_outside_the_rules() {
    let mut rng = StdRng::seed_from_u64(seed(6));
    for (src, dst, want) in [
        (0x1000, 0x1400, "write at 0x1400 at cycle"),
        (0x1000, 0x1010, "write at 0x1010 at cycle"),
        (0x1c00, 0x1800, "read at 0x1c00 at cycle"),
        (0x1008, 0x1800, "read at 0x1008 at cycle"),
    ] {
        let mut b = mem_bench();
        let (mut s, _) = copy_slave(&b, &mut rng, MemSlaveConfig::default());
        let err = b
            .copy(&mut s, src, dst, 2, 0xffff)
            .expect_err("the access breaks a rule");
        let rule = match (src, dst) {
            (_, 0x1400) | (0x1c00, _) => "outside every allowed region",
            (_, 0x1010) => "region `src` is read-only",
            _ => "not a multiple of 16 bytes",
        };
        match &err {
            BenchError::Protocol {
                agent, cycle, what, ..
            } => {
                assert_eq!(agent, "mem");
                assert!(what.contains(&format!("{want} {cycle}")), "{err}");
                assert!(what.contains(rule), "{err}");
            }
            e => panic!("expected a protocol violation, got {e}"),
        }
        // Nothing was written.
        assert_eq!(s.bytes_written(), 0);
    }
}

/// Back-to-back reads with several in flight come back in order, bit-exact,
/// through a stalling stream sink.
#[test]
fn mem_slave_answers_reads_in_order() {
    let mut rng = StdRng::seed_from_u64(seed(7));
    let mut b = mem_bench();
    let ports = MemPorts::new(&b.m, "b_mem_").unwrap_or_else(|e| panic!("{e}"));
    let out = StreamPorts::new(&b.m, "r_valid", "r_ready", &["r_data"], None)
        .unwrap_or_else(|e| panic!("{e}"));
    for (round, ready_p) in [1.0, 0.5].into_iter().enumerate() {
        let cfg = MemSlaveConfig {
            latency: 1..=6,
            req_ready_p: 0.8,
            resp_gap_p: 0.2,
            max_outstanding: 4,
        };
        let mut s = MemSlave::new("mem", ports.clone(), 0, 1024, cfg, rng.gen())
            .unwrap_or_else(|e| panic!("{e}"));
        let init: Vec<u8> = (0..1024).map(|_| rng.gen()).collect();
        s.load(0, &init);
        let n = 60usize;
        let src = 0x100u64;
        b.set("b_src", src);
        b.set("b_count", n as u64);
        b.pulse("b_start");
        let mut sink =
            StreamSink::new("r", out.clone(), ready_p, rng.gen()).unwrap_or_else(|e| panic!("{e}"));
        sink.expect_packets(&[n]); // no last port: counts beats only
        b.bench
            .run(&mut b.m, &mut [&mut s, &mut sink], 5000)
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        for i in 0..n {
            let off = src as usize + 8 * i;
            let want = [
                u32::from_le_bytes(init[off..off + 4].try_into().unwrap_or_default()),
                u32::from_le_bytes(init[off + 4..off + 8].try_into().unwrap_or_default()),
            ];
            assert_eq!(sink.beat(i), &want[..], "round {round}: word {i}");
        }
        // Several reads were in flight at once: read i+1 taken before beat i came out.
        let reads: Vec<u64> = s.log().iter().map(|a| a.cycle).collect();
        let overlapped = (0..n - 1)
            .filter(|&i| reads[i + 1] < sink.cycles()[i])
            .count();
        assert!(
            overlapped > n / 4,
            "round {round}: only {overlapped} overlapping reads"
        );
        assert_eq!(s.bytes_read(), 8 * n as u64);
    }
}

/// The agent trait is object safe and the bench stops with a timeout naming the
/// agents still waiting.
#[test]
fn bench_timeout_names_the_waiting_agents() {
    let mut m = build(&streams_design());
    let mut bench = Bench::new(m.port("clk").unwrap_or_else(|e| panic!("{e}")));
    reset(&mut m, &mut bench, 2);
    let inp = StreamPorts::prefixed(&m, "in", &["data"], true).unwrap_or_else(|e| panic!("{e}"));
    let mut src = StreamSource::new("in", inp, 1.0, 0).unwrap_or_else(|e| panic!("{e}"));
    for i in 0..5 {
        src.push(&[i, 0, 0], false);
    }
    // Nobody takes the slice's output: it fills after one beat, then stalls.
    let out_ready = m.port("out_ready").unwrap_or_else(|e| panic!("{e}"));
    m.set(out_ready, 0);
    let agents: &mut [&mut dyn Agent] = &mut [&mut src];
    let err = bench
        .run(&mut m, agents, 50)
        .expect_err("the source cannot finish");
    match &err {
        BenchError::Timeout {
            budget, waiting, ..
        } => {
            assert_eq!(*budget, 50);
            assert!(waiting.contains("in waiting: 1 of 5 beats taken"), "{err}");
        }
        e => panic!("expected a timeout, got {e}"),
    }
}

/// The per-agent budgets: a source kept waiting and a sink starved each fail
/// with the port and the cycle the wait began.
#[test]
fn agent_budgets_fail_a_stuck_stream() {
    let mut m = build(&streams_design());
    let mut bench = Bench::new(m.port("clk").unwrap_or_else(|e| panic!("{e}")));
    reset(&mut m, &mut bench, 2);
    let inp = StreamPorts::prefixed(&m, "in", &["data"], true).unwrap_or_else(|e| panic!("{e}"));
    let out = StreamPorts::prefixed(&m, "out", &["data"], true).unwrap_or_else(|e| panic!("{e}"));
    let mut src = StreamSource::new("in", inp, 1.0, 0).unwrap_or_else(|e| panic!("{e}"));
    src.push(&[1, 0, 0], false);
    src.push(&[2, 0, 0], false);
    src.set_max_wait(Some(10));
    // Never ready: the slice holds beat 0 and refuses beat 1 from the next cycle on.
    let mut sink = StreamSink::new("out", out, 0.0, 0).unwrap_or_else(|e| panic!("{e}"));
    let start = bench.cycle();
    let err = bench
        .run(&mut m, &mut [&mut src, &mut sink], 100)
        .expect_err("the source waits forever");
    match &err {
        BenchError::Protocol {
            agent, cycle, what, ..
        } => {
            assert_eq!(agent, "in");
            assert_eq!(*cycle, start + 11, "{err}");
            assert!(
                what.contains(&format!(
                    "`in_ready` low for 10 cycles while beat 1 was offered since cycle {}",
                    start + 1
                )),
                "{err}"
            );
        }
        e => panic!("expected a protocol violation, got {e}"),
    }
    sink.set_max_idle(Some(20), bench.cycle());
    src.set_max_wait(None);
    let from = bench.cycle();
    let err = bench
        .run(&mut m, &mut [&mut src, &mut sink], 100)
        .expect_err("the sink takes nothing");
    match &err {
        BenchError::Protocol {
            agent, cycle, what, ..
        } => {
            assert_eq!(agent, "out");
            assert_eq!(*cycle, from + 21, "{err}");
            assert!(
                what.contains("no beat taken on `out_valid` for 20 cycles"),
                "{err}"
            );
        }
        e => panic!("expected a protocol violation, got {e}"),
    }
}

/// A master that changes its request under a raised valid is caught, with the
/// cycle and the addresses.
#[test]
fn mem_slave_catches_a_request_that_moves() {
    let mut rng = StdRng::seed_from_u64(seed(8));
    let mut b = mem_bench();
    let ports = MemPorts::new(&b.m, "b_mem_").unwrap_or_else(|e| panic!("{e}"));
    let out = StreamPorts::new(&b.m, "r_valid", "r_ready", &["r_data"], None)
        .unwrap_or_else(|e| panic!("{e}"));
    let cfg = MemSlaveConfig {
        req_ready_p: 0.3,
        ..MemSlaveConfig::default()
    };
    let mut s =
        MemSlave::new("mem", ports, 0, 1024, cfg, rng.gen()).unwrap_or_else(|e| panic!("{e}"));
    b.set("b_wobble", 1);
    b.set("b_src", 0);
    b.set("b_count", 100);
    b.pulse("b_start");
    let mut sink = StreamSink::new("r", out, 1.0, 0).unwrap_or_else(|e| panic!("{e}"));
    let err = b
        .bench
        .steps(&mut b.m, &mut [&mut s, &mut sink], 1000)
        .expect_err("the address moves while the request waits");
    match &err {
        BenchError::Protocol {
            agent, cycle, what, ..
        } => {
            assert_eq!(agent, "mem");
            assert!(
                what.contains(&format!("request changed at cycle {cycle}")),
                "{err}"
            );
            assert!(what.contains("`b_mem_req_ready` low since cycle"), "{err}");
        }
        e => panic!("expected a protocol violation, got {e}"),
    }
}

/// The combinational-path check passes on the register slice's registered
/// `out_valid` and catches its `in_ready`, which follows `out_ready` while full.
#[test]
fn no_comb_path_check_finds_the_slice_ready_path() {
    let mut rng = StdRng::seed_from_u64(seed(9));
    let mut m = build(&streams_design());
    let mut bench = Bench::new(m.port("clk").unwrap_or_else(|e| panic!("{e}")));
    reset(&mut m, &mut bench, 2);
    let inp = StreamPorts::prefixed(&m, "in", &["data"], true).unwrap_or_else(|e| panic!("{e}"));
    let out = StreamPorts::prefixed(&m, "out", &["data"], true).unwrap_or_else(|e| panic!("{e}"));
    for (watch, broken) in [("out_valid", false), ("in_ready", true)] {
        let mut src =
            StreamSource::new("in", inp.clone(), 0.8, rng.gen()).unwrap_or_else(|e| panic!("{e}"));
        for (w, last) in random_beats(&mut rng, 50) {
            src.push(&w, last);
        }
        let mut sink =
            StreamSink::new("out", out.clone(), 0.5, rng.gen()).unwrap_or_else(|e| panic!("{e}"));
        let mut check =
            NoCombPath::new(&m, "out_ready", &[watch]).unwrap_or_else(|e| panic!("{e}"));
        let r = bench.run(&mut m, &mut [&mut src, &mut sink, &mut check], 1000);
        match (r, broken) {
            (Ok(_), false) => {}
            (Err(BenchError::Protocol { what, .. }), true) => {
                assert!(
                    what.contains("`in_ready` changed when `out_ready` was flipped"),
                    "{what}"
                );
            }
            (r, _) => panic!("{watch}: {r:?}"),
        }
        // Empty the slice for the next case.
        let mut drain =
            StreamSink::new("out", out.clone(), 1.0, 0).unwrap_or_else(|e| panic!("{e}"));
        bench
            .steps(&mut m, &mut [&mut drain], 2)
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

//! The micro-sequencer's RTL (`hdl::engine::micro::seq`) against the
//! interpreter (`useq::sim`), running the engine's real microprogram: the
//! testbench plays the machine (the functional datapath model, taking each
//! command after a random delay), and the commands the RTL issues, in order
//! and with their operands, must equal the interpreter's; so must the halt,
//! the memory, and the cycle count (two cycles an instruction plus the
//! cycles a command waited).

use hdl::ir::Design;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use testbench::dut::Dut;
use testbench::engine::cases::{boundary_value, one_layer, random_layer, three_layers};
use testbench::engine::image::Program;
use testbench::engine::oracle::FIELDS;
use testbench::micro_model::{oracle_machine, Call, Logged, Memory, Model};
use useq::isa::Op;
use useq::program::UConfig;
use useq::sim::{Cpu, Halt, Machine};

const BASE: u64 = 0x0001_0000;

fn cfg() -> UConfig {
    UConfig {
        rows: 2,
        cols: 2,
        mem_bits: 32,
        addr_bits: 20,
    }
}

/// The sequencer and its ROM under Verilator.
fn dut(prog: &useq::asm::Program) -> Dut {
    let (seq, rom) = hdl::engine::micro::seq::build("useq", prog).unwrap_or_else(|e| panic!("{e}"));
    let mut d = Design::new("useq");
    d.include(seq).unwrap_or_else(|e| panic!("{e}"));
    d.include(rom).unwrap_or_else(|e| panic!("{e}"));
    Dut::new(&d).unwrap_or_else(|e| panic!("{e}"))
}

/// What a run gave: the halt, the commands, the memory, busy cycles and the
/// cycles commands waited.
struct Run {
    halt: Halt,
    log: Vec<Call>,
    mem: Vec<u8>,
    busy: u64,
    waited: u64,
}

/// Run the program on the RTL from a start, the machine answering after
/// 0..=`max_wait` cycles; `cut` stops the run after that many cycles
/// (a reset in the middle).
fn run_rtl(
    dut: &mut Dut,
    rng: &mut StdRng,
    prog: &Program,
    max_wait: u32,
    cut: Option<u64>,
) -> Option<Run> {
    let mut model = Model::new(cfg(), Memory::of(prog));
    model.set_list(prog.desc_addr as u32, prog.desc_count as u32);
    let mut mach = Logged {
        inner: &mut model,
        log: Vec::new(),
    };
    dut.set("sp_desc_addr", prog.desc_addr);
    dut.set("sp_desc_count", prog.desc_count);
    dut.set("cmd_ready", 0);
    dut.set("start", 1);
    dut.tick();
    dut.set("start", 0);
    let (mut busy, mut waited) = (0u64, 0u64);
    let mut wait: Option<u32> = None;
    for cycle in 0..20_000_000u64 {
        if cut == Some(cycle) {
            dut.set("rst", 1);
            dut.tick();
            dut.set("rst", 0);
            assert_eq!(dut.get("busy"), 0, "reset stops the sequencer");
            return None;
        }
        busy += dut.get("busy");
        let mut ready = 0;
        let mut data = 0;
        if dut.get("cmd_valid") == 1 {
            let w = *wait.get_or_insert_with(|| rng.gen_range(0..=max_wait));
            if w == 0 {
                wait = None;
                ready = 1;
                let (x, a, b, sum) = (
                    dut.get("cmd_x") as u16,
                    dut.get("cmd_a") as u32,
                    dut.get("cmd_b") as u32,
                    dut.get("cmd_sum") as u32,
                );
                let kind = hdl::engine::micro::seq::KINDS[dut.get("cmd_kind") as usize];
                let r = match kind {
                    Op::Ldr => mach.load(sum, 1 << x).map(|v| data = v),
                    Op::Ldl => mach.lane(x, sum),
                    Op::Sets => mach.set(x, sum),
                    Op::Fire => mach.fire(x & 1 == 1),
                    Op::Tile => mach.tile(a, b, x & 1 == 1, x & 2 == 2),
                    _ => mach.wait_out(),
                };
                r.unwrap_or_else(|e| panic!("cycle {cycle}: {kind:?}: {e}"));
            } else {
                wait = Some(w - 1);
                waited += 1;
            }
        }
        dut.set("cmd_ready", ready);
        dut.set("ldr_data", u64::from(data));
        let halt = if dut.get("done") == 1 {
            Some(Halt::Done)
        } else if dut.get("err") == 1 {
            Some(Halt::Error {
                code: dut.get("err_code") as u32,
                index: dut.get("err_index") as u32,
            })
        } else {
            None
        };
        dut.tick();
        if let Some(halt) = halt {
            assert_eq!(dut.get("busy"), 0, "the sequencer stops after its halt");
            let log = mach.log;
            return Some(Run {
                halt,
                log,
                mem: model.mem.bytes.clone(),
                busy,
                waited,
            });
        }
    }
    panic!("no halt");
}

fn check(dut: &mut Dut, rng: &mut StdRng, code: &useq::asm::Program, prog: &Program, what: &str) {
    let mut model = Model::new(cfg(), Memory::of(prog));
    model.set_list(prog.desc_addr as u32, prog.desc_count as u32);
    let mut cpu = Cpu::new();
    let mut mach = Logged {
        inner: &mut model,
        log: Vec::new(),
    };
    let halt = cpu
        .run(code, &mut mach, 50_000_000)
        .unwrap_or_else(|e| panic!("{what}: interpreter: {e}"));
    let log = mach.log;
    let r = run_rtl(dut, rng, prog, 3, None).unwrap_or_else(|| panic!("{what}: cut"));
    if let Some(i) = (0..log.len().min(r.log.len())).find(|&i| log[i] != r.log[i]) {
        panic!(
            "{what}: command {i}: RTL {:?}, interpreter {:?}",
            r.log[i], log[i]
        );
    }
    assert_eq!(
        r.log.len(),
        log.len(),
        "{what}: commands (RTL halt {:?}, interpreter {:?})",
        r.halt,
        halt
    );
    assert_eq!(r.halt, halt, "{what}: halt");
    assert!(r.mem == model.mem.bytes, "{what}: memory differs");
    assert_eq!(
        r.busy,
        2 * cpu.instructions() + r.waited,
        "{what}: busy cycles = 2 per instruction + waits"
    );
}

/// Layers, broken descriptors and start errors; a reset in the middle of a
/// run, then a clean run.
#[test]
fn rtl_sequencer_matches_the_interpreter() {
    let c = cfg();
    let pm = c.programming_model();
    let code = useq::program::program(&c).unwrap_or_else(|e| panic!("{e}"));
    let mut dut = dut(&code);
    dut.set("rst", 1);
    dut.tick();
    dut.set("rst", 0);
    let mut rng = StdRng::seed_from_u64(21);
    for i in 0..6 {
        let l = random_layer(&mut rng, 5, 5);
        let prog = one_layer(&pm, &mut rng, &l, BASE, false);
        check(
            &mut dut,
            &mut rng,
            &code,
            &prog,
            &format!("layer {i}: {}", prog.descs[0].summary()),
        );
    }
    let mut broken = 0;
    while broken < 12 {
        let middle = random_layer(&mut rng, 4, 4);
        let mut b = three_layers(&pm, BASE, &mut rng, &middle);
        let Some(d) = b.desc_mut(1) else { continue };
        let name = FIELDS[rng.gen_range(0..FIELDS.len())];
        let v = boundary_value(&mut rng, &pm, d, name);
        d.set(name, v).unwrap_or_else(|e| panic!("{e}"));
        let prog = b.finish().unwrap_or_else(|e| panic!("{e}"));
        let Ok((_, want)) = prog.expected(&pm, &oracle_machine(&c)) else {
            continue;
        };
        if want.error.is_none() {
            continue;
        }
        broken += 1;
        check(
            &mut dut,
            &mut rng,
            &code,
            &prog,
            &format!("broken {name} = {v}"),
        );
    }
    let l = random_layer(&mut rng, 4, 4);
    let mut p = one_layer(&pm, &mut rng, &l, BASE, false);
    p.desc_count = 70_000;
    check(&mut dut, &mut rng, &code, &p, "desc_count past the limit");
    let l = random_layer(&mut rng, 5, 5);
    let prog = one_layer(&pm, &mut rng, &l, BASE, false);
    assert!(run_rtl(&mut dut, &mut rng, &prog, 2, Some(1_500)).is_none());
    check(&mut dut, &mut rng, &code, &prog, "after a reset mid-run");
}

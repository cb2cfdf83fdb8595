//! The micro-sequencer (`useq`): a program ROM and a register file in block
//! RAM, one adder, and a three-state loop: `DEC` (the instruction is at the
//! ROM's output; the register file reads `ra` and `rb`), `EXE` (operands
//! ready; the ALU, the branch, the write-back, the next address to the ROM),
//! with `EXE` held while the machine has not taken a command. Two cycles an
//! instruction, no hazards: a register written at the end of `EXE` is read at
//! the end of the next `DEC`. The interpreter (`useq::sim`) is the reference;
//! `testbench/tests/micro_seq.rs` runs both side by side.
//!
//! Machine commands (`Ldr`, `Ldl`, `Sets`, `Fire`, `Tile`, `Waito`) are
//! offered in `EXE` as `cmd_valid` with the op, `x`, `A`, `B` and `A + B`;
//! the instruction completes in the cycle `cmd_ready` is high (for `Ldr`,
//! with the loaded value on `ldr_data`).

use useq::asm::Program;
use useq::isa::{self, Op};

use crate::ir::{Expr, MemHints, Module, Ty};
use crate::parts::inst::Instantiate;
use crate::parts::ops::{bit, k, priority};
use crate::parts::rom::{self, RomConfig};
use crate::process::Proc;
use crate::util::clog2;
use crate::GenError;

/// Machine command kinds on `cmd_kind`.
pub const KINDS: [Op; 6] = [Op::Ldr, Op::Ldl, Op::Sets, Op::Fire, Op::Tile, Op::Waito];

/// The `cmd_kind` code of `op` (its index in [`KINDS`]).
pub fn kind_code(op: Op) -> u32 {
    KINDS.iter().position(|&o| o == op).unwrap_or(0) as u32
}

/// Bits of `cmd_kind`.
pub const KIND_BITS: u32 = 3;

/// Program-counter bits for `p`.
pub fn pc_bits(p: &Program) -> u32 {
    clog2(p.code.len() as u64).max(1)
}

/// The sequencer module `name` running `p`, and its program ROM.
pub fn build(name: &str, p: &Program) -> Result<(Module, Module), GenError> {
    let rom = rom::build(&RomConfig {
        name: format!("{name}_rom"),
        width: isa::WORD_BITS,
        contents: {
            let mut w: Vec<u128> = p.words().into_iter().map(u128::from).collect();
            if w.len() < 2 {
                w.push(0);
            }
            w
        },
    })?;
    let pcb = pc_bits(p);
    let mut m = Module::new(name);
    m.doc("Micro-sequencer of the area-first engine: program ROM and register file in block RAM,")
        .doc("one adder, two cycles an instruction (useq::isa is the instruction set).");
    let clk = m.input(
        "clk",
        bit(),
        Some("Clock and synchronous active-high reset"),
        "",
    );
    let rst = m.input("rst", bit(), None, "");
    let start = m.input(
        "start",
        bit(),
        Some("Control"),
        "run the program from address 0",
    );
    let busy = m.output("busy", bit(), None, "the program is running");
    let done = m.output(
        "done",
        bit(),
        None,
        "a Done instruction completes (one cycle)",
    );
    let err = m.output(
        "err",
        bit(),
        None,
        "an Err instruction completes (one cycle)",
    );
    let err_code = m.output("err_code", Ty::u(8), None, "its code (x)");
    let err_index = m.output("err_index", Ty::u(16), None, "its index (A)");
    let sp_addr = m.input(
        "sp_desc_addr",
        Ty::u(32),
        Some("Special inputs (Mfs)"),
        "desc_addr",
    );
    let sp_count = m.input("sp_desc_count", Ty::u(32), None, "desc_count");
    let cmd_valid = m.output(
        "cmd_valid",
        bit(),
        Some("Machine commands"),
        "a command is offered",
    );
    let cmd_ready = m.input(
        "cmd_ready",
        bit(),
        None,
        "the machine completes it this cycle",
    );
    let cmd_kind = m.output(
        "cmd_kind",
        Ty::u(KIND_BITS),
        None,
        "Ldr Ldl Sets Fire Tile Waito",
    );
    let cmd_x = m.output("cmd_x", Ty::u(isa::X_BITS), None, "the x field");
    let cmd_a = m.output("cmd_a", Ty::u(32), None, "A");
    let cmd_b = m.output("cmd_b", Ty::u(32), None, "B");
    let cmd_sum = m.output("cmd_sum", Ty::u(32), None, "A + B");
    let ldr_data = m.input("ldr_data", Ty::u(32), None, "Ldr's value, with cmd_ready");
    let sync = m.domain("sync", clk, Some(rst));

    let fsm = m.fsm(
        "state_reg",
        sync,
        &["IDLE", "DEC", "EXE"],
        "sequencer phase",
    );
    let idle = m.in_state(&fsm, "IDLE");
    let dec = m.in_state(&fsm, "DEC");
    let exe = m.in_state(&fsm, "EXE");
    let pc = m.reg_reset("pc_reg", Ty::u(pcb), sync, 0, "address of the instruction");

    // The instruction, held at the ROM's output from DEC to the end of EXE.
    let iw = m.wire("instr", Ty::u(isa::WORD_BITS), "the instruction word");
    let f = |lsb: u32, bits: u32| Expr::from(iw).slice(lsb, bits);
    let op = m.wire_of("op", f(isa::OP_LSB, isa::OP_BITS), "");
    let rd = f(isa::RD_LSB, isa::REG_BITS);
    let ra = f(isa::RA_LSB, isa::REG_BITS);
    let bi = f(isa::BI_LSB, 1);
    let hi = f(isa::HI_LSB, 1);
    let imm = m.wire_of("imm", f(isa::IMM_LSB, isa::IMM_BITS), "");
    let x = m.wire_of("x", f(isa::X_LSB, isa::X_BITS), "");
    let is = |o: Op| Expr::from(op).cmp_eq(k(isa::OP_BITS, o as u32));
    let any = |ops: &[Op]| {
        ops.iter()
            .map(|&o| is(o))
            .reduce(|a, b| a | b)
            .unwrap_or_else(|| Expr::bit(false))
    };

    // Register file: two copies (one per read port), written together.
    let rf_we = m.wire("rf_we", bit(), "write-back");
    let rf_wdata = m.wire("rf_wdata", Ty::u(32), "");
    let rf_a = m.reg("rf_a_reg", Ty::u(32), "R[ra]");
    let rf_b = m.reg("rf_b_reg", Ty::u(32), "R[rb]");
    for (copy, addr, out) in [("rf_a", ra.clone(), rf_a), ("rf_b", imm.into(), rf_b)] {
        let mem = m.memory(copy, 32, isa::REGS, "register file copy");
        m.memory_hints(
            mem,
            MemHints {
                block_ram: true,
                no_rw_collision: true,
            },
        );
        m.mem_write(mem, clk, rf_we, rd.clone(), rf_wdata);
        m.mem_read(mem, clk, dec.clone(), addr.slice(0, isa::REG_BITS), out);
    }

    // ALU: one adder; subtraction and compares add ~B + 1.
    let bval = m.wire_of(
        "bval",
        Expr::mux(
            bi,
            Expr::mux(
                hi,
                Expr::concat(vec![k(16, 0), imm.into()]),
                Expr::concat(vec![imm.into(), k(16, 0)]),
            ),
            rf_b,
        ),
        "B",
    );
    let sub = m.wire_of(
        "alu_sub",
        any(&[Op::Sub, Op::Sltu, Op::Beq, Op::Bne, Op::Bltu, Op::Bgeu]),
        "A - B",
    );
    let bx = Expr::mux(sub, !Expr::from(bval), bval);
    let sum33 = m.wire_of(
        "sum33",
        Expr::from(rf_a).resize(33) + bx.resize(33) + Expr::from(sub).resize(33),
        "A + B (or A - B) with its carry",
    );
    let s = m.wire_of("alu_s", Expr::from(sum33).slice(0, 32), "");
    let carry = Expr::from(sum33).bit_at(32);
    let ltu = m.wire_of("alu_ltu", !carry.clone(), "A < B (with alu_sub)");
    let eq = m.wire_of(
        "alu_eq",
        Expr::from(s).cmp_eq(k(32, 0)),
        "A == B (with alu_sub)",
    );
    let ones = Expr::uconst(32, 0xFFFF_FFFF);
    let a = Expr::from(rf_a);
    let pc1 = m.wire_of("pc_inc", Expr::from(pc) + k(pcb, 1), "");
    let special = priority(
        vec![(
            Expr::from(x).cmp_eq(k(isa::X_BITS, isa::Special::DescCount as u32)),
            sp_count.into(),
        )],
        sp_addr.into(),
    );
    let result = priority(
        vec![
            (is(Op::AddS), Expr::mux(carry, ones.clone(), s)),
            (is(Op::And), a.clone() & bval),
            (is(Op::Or), a.clone() | bval),
            (is(Op::Sltu), Expr::from(ltu).resize(32)),
            (
                is(Op::Shr1),
                Expr::concat(vec![a.clone().slice(1, 31), k(1, 0)]),
            ),
            (
                is(Op::Shl1S),
                Expr::mux(
                    a.clone().bit_at(31),
                    ones,
                    Expr::concat(vec![k(1, 0), a.clone().slice(0, 31)]),
                ),
            ),
            (is(Op::Mfs), special),
            (is(Op::Jal), Expr::from(pc1).resize(32)),
            (is(Op::Ldr), ldr_data.into()),
        ],
        s.into(),
    );
    m.assign(rf_wdata, result);
    let taken = m.wire_of(
        "taken",
        (is(Op::Beq) & eq)
            | (is(Op::Bne) & !Expr::from(eq))
            | (is(Op::Bltu) & ltu)
            | (is(Op::Bgeu) & !Expr::from(ltu))
            | is(Op::Jal),
        "the branch goes to x",
    );
    let pc_next = m.wire_of(
        "pc_next",
        priority(
            vec![
                (taken.into(), Expr::from(x).resize(pcb)),
                (is(Op::Jr), a.clone().slice(0, pcb)),
            ],
            pc1.into(),
        ),
        "",
    );

    // Machine commands.
    let is_cmd = any(&KINDS);
    m.assign(cmd_valid, exe.clone() & is_cmd.clone());
    m.assign(
        cmd_kind,
        KINDS.iter().skip(1).fold(k(KIND_BITS, 0), |acc, &o| {
            Expr::mux(is(o), k(KIND_BITS, kind_code(o)), acc)
        }),
    );
    m.assign(cmd_x, x);
    m.assign(cmd_a, rf_a);
    m.assign(cmd_b, bval);
    m.assign(cmd_sum, s);
    let go = m.wire_of(
        "exe_go",
        exe.clone() & (!is_cmd | cmd_ready),
        "the instruction completes",
    );
    let halt = any(&[Op::Done, Op::Err]);
    let writes: Vec<Op> = isa::OPS.iter().copied().filter(|o| o.writes_rd()).collect();
    m.assign(rf_we, Expr::from(go) & any(&writes));
    m.assign(done, Expr::from(go) & is(Op::Done));
    m.assign(err, Expr::from(go) & is(Op::Err));
    m.assign(err_code, Expr::from(x).resize(8));
    m.assign(err_index, a.slice(0, 16));
    m.assign(busy, !idle.clone());

    // The ROM reads address 0 at the start, the next address as EXE completes.
    let rom_en = m.wire_of(
        "rom_en",
        (idle.clone() & start) | (Expr::from(go) & !halt.clone()),
        "",
    );
    let rom_addr = m.wire_of("rom_addr", Expr::mux(idle.clone(), k(pcb, 0), pc_next), "");
    let mut pr = Proc::sync(sync).with_comment("Phase and program counter.");
    let sw = pr.fsm(&fsm).state("IDLE", |p| {
        p.if_(start, |p| {
            p.set(pc, k(pcb, 0));
            p.goto("DEC");
        });
    });
    sw.state("DEC", |p| {
        p.goto("EXE");
    })
    .state("EXE", |p| {
        p.if_(go, |p| {
            p.set(pc, pc_next);
            p.if_(halt.clone(), |p| {
                p.goto("IDLE");
            })
            .else_(|p| {
                p.goto("DEC");
            });
        });
    })
    .default(|p| {
        p.goto("IDLE");
    });
    m.process(pr);
    m.inst(&rom, "u_rom")
        .connect("clk", clk)
        .connect("rd_en", rom_en)
        .connect("rd_addr", rom_addr)
        .out("rd_data", iw)
        .finish()?;
    Ok((m, rom))
}

//! Every error code the executor produces, one test per rule: a valid
//! three-layer program with one descriptor (or channel record, or the start
//! registers) broken. The run must stop with the rule's code (looked up by
//! name in the programming model) and the descriptor's index, the earlier
//! layers' outputs written (equal to golden's), and nothing else changed.

mod common;

use common::{golden_chain, plain_layer, rand_input};
use compiler::{compile, run, ExecError, Network, Outcome, Program, Shape};
use contracts::engine::ProgrammingModel;
use rand::rngs::StdRng;
use rand::SeedableRng;

const TOP: u64 = 1 << 32;

struct Fixture {
    pm: ProgrammingModel,
    net: Network,
    input: Vec<i8>,
    prog: Program,
    golden: Vec<Vec<i8>>,
}

/// 6x6x3 -> conv 3x3 pad 1 -> 6x6x4 (act_a) -> conv 3x3 -> 4x4x5 (act_b)
/// -> conv 1x1 -> 4x4x2 (act_a).
fn fixture(mem_bits: u32) -> Fixture {
    let mut rng = StdRng::seed_from_u64(0xE0 + u64::from(mem_bits));
    let pm = ProgrammingModel::new(mem_bits);
    let mut l0 = plain_layer(&mut rng, "l0", 3, 4, 3, 3);
    (l0.pad_t, l0.pad_b, l0.pad_l, l0.pad_r) = (1, 1, 1, 1);
    let l1 = plain_layer(&mut rng, "l1", 4, 5, 3, 3);
    let l2 = plain_layer(&mut rng, "l2", 5, 2, 1, 1);
    let net = Network {
        name: "errors".into(),
        input: Shape { h: 6, w: 6, c: 3 },
        layers: vec![l0, l1, l2],
    };
    let input = rand_input(&mut rng, net.input);
    let prog = compile(&net, Some(&input), &pm, 0).expect("compiles");
    let golden = golden_chain(&net, &input);
    Fixture {
        pm,
        net,
        input,
        prog,
        golden,
    }
}

impl Fixture {
    fn desc_at(&self, i: usize) -> usize {
        (self.prog.desc_addr - self.prog.base) as usize + i * self.pm.descriptor.bytes as usize
    }

    fn set(&self, mem: &mut [u8], i: usize, name: &str, value: u64) {
        let at = self.desc_at(i);
        let bytes = self.pm.descriptor.bytes as usize;
        self.pm
            .descriptor
            .put(&mut mem[at..at + bytes], name, value)
            .expect("value fits the field");
    }

    fn set_record(&self, mem: &mut [u8], layer: usize, co: usize, name: &str, value: u64) {
        let rb = self.pm.channel_record.bytes as usize;
        let at = (self.prog.layers[layer].ch_addr - self.prog.base) as usize + co * rb;
        self.pm
            .channel_record
            .put(&mut mem[at..at + rb], name, value)
            .expect("value fits the field");
    }

    fn field(&self, i: usize, name: &str) -> u64 {
        self.prog.descriptor_fields(i).expect("descriptor")[name]
    }

    /// `mem` with the outputs of layers `0..n` written as golden computes them.
    fn with_outputs(&self, mut mem: Vec<u8>, n: usize) -> Vec<u8> {
        for i in 0..n {
            let p = &self.prog.layers[i];
            let at = (p.out_addr - self.prog.base) as usize;
            for (k, &v) in self.golden[i].iter().enumerate() {
                mem[at + k] = v as u8;
            }
        }
        mem
    }

    /// Break descriptor `index` (and/or its records) with `mutate`, run, and
    /// expect `rule` at `index` with exactly the earlier outputs written.
    fn expect(&self, index: usize, rule: &str, mutate: impl Fn(&Fixture, &mut Vec<u8>)) {
        let mut mem = self.prog.image.clone();
        mutate(self, &mut mem);
        let want_mem = self.with_outputs(mem.clone(), index);
        let out = run(
            &mut mem,
            self.prog.base,
            &self.pm,
            self.prog.desc_addr,
            self.prog.desc_count,
        );
        let code = self.pm.error_code(rule).expect("rule in the manifest");
        assert_eq!(
            out,
            Ok(Outcome::Error {
                code,
                index: index as u32
            }),
            "rule {rule}"
        );
        assert!(
            mem == want_mem,
            "rule {rule}: memory differs from the earlier outputs only"
        );
        // The failing layer's output bytes are exactly as before the run.
        let p = &self.prog.layers[index];
        let at = (p.out_addr - self.prog.base) as usize;
        let n = p.out_shape.bytes() as usize;
        let before = self.with_outputs(self.prog.image.clone(), index);
        assert_eq!(
            &mem[at..at + n],
            &before[at..at + n],
            "rule {rule}: failing layer wrote"
        );
    }
}

#[test]
fn valid_fixture_runs_to_done() {
    for mem_bits in [32, 64, 128] {
        let f = fixture(mem_bits);
        let mut mem = f.prog.image.clone();
        let out = run(
            &mut mem,
            f.prog.base,
            &f.pm,
            f.prog.desc_addr,
            f.prog.desc_count,
        );
        assert_eq!(out, Ok(Outcome::Done));
        assert_eq!(mem, f.with_outputs(f.prog.image.clone(), 3));
        assert_eq!(f.input.len(), 6 * 6 * 3);
        assert_eq!(f.net.layers.len(), 3);
    }
}

#[test]
fn bad_op() {
    let f = fixture(64);
    for op in [1, 2, u64::from(u32::MAX)] {
        f.expect(1, "bad_op", |f, m| f.set(m, 1, "op", op));
    }
    // At index 0 nothing at all is written; at index 2 two layers are.
    f.expect(0, "bad_op", |f, m| f.set(m, 0, "op", 1));
    f.expect(2, "bad_op", |f, m| f.set(m, 2, "op", 1));
}

#[test]
fn zero_size() {
    let f = fixture(64);
    for name in [
        "in_h", "in_w", "in_c", "out_c", "k_h", "k_w", "stride_h", "stride_w", "dil_h", "dil_w",
    ] {
        f.expect(1, "zero_size", |f, m| f.set(m, 1, name, 0));
    }
}

#[test]
fn too_large() {
    let f = fixture(64);
    let l = f.pm.limits.clone();
    let over = |v: u32| u64::from(v) + 1;
    for (name, value) in [
        ("in_h", over(l.in_h)),
        ("in_w", over(l.in_w)),
        ("in_c", over(l.in_c)),
        ("out_c", over(l.out_c)),
        ("k_h", over(l.k_h)),
        ("k_w", over(l.k_w)),
        ("stride_h", over(l.stride)),
        ("stride_w", over(l.stride)),
        ("dil_h", over(l.dil)),
        ("dil_w", over(l.dil)),
        ("relu", over(l.relu)),
        ("pool_k", over(l.pool_k)),
        // pool_s past its limit is too_large even without a window.
        ("pool_s", over(l.pool_s)),
        // Layer 1 is 3x3, dilation 1: pads up to 2.
        ("pad_t", 3),
        ("pad_b", 3),
        ("pad_l", 3),
        ("pad_r", 3),
    ] {
        f.expect(1, "too_large", |f, m| f.set(m, 1, name, value));
    }
    // The pad rule scales with dilation: dil 2 allows pad 4, not 5.
    f.expect(1, "too_large", |f, m| {
        f.set(m, 1, "dil_h", 2);
        f.set(m, 1, "pad_t", 5);
    });
}

#[test]
fn bad_geometry() {
    let f = fixture(64);
    // Layer 1: 6x6 input, 3x3 kernel, no pad.
    f.expect(1, "bad_geometry", |f, m| f.set(m, 1, "in_h", 2));
    f.expect(1, "bad_geometry", |f, m| f.set(m, 1, "in_w", 1));
    f.expect(1, "bad_geometry", |f, m| {
        f.set(m, 1, "dil_w", 3);
    });
    f.expect(1, "bad_geometry", |f, m| {
        f.set(m, 1, "pool_k", 2);
        f.set(m, 1, "pool_s", 0);
    });
    f.expect(1, "bad_geometry", |f, m| {
        f.set(m, 1, "pool_k", 2);
        f.set(m, 1, "pool_s", 1);
        f.set(m, 1, "pool_pad", 2);
    });
    // H_c = 4: a window of 4 fits, but not with in_h 5 (H_c = 3).
    f.expect(1, "bad_geometry", |f, m| {
        f.set(m, 1, "in_h", 5);
        f.set(m, 1, "pool_k", 4);
        f.set(m, 1, "pool_s", 1);
    });
    f.expect(1, "bad_geometry", |f, m| {
        f.set(m, 1, "in_w", 5);
        f.set(m, 1, "pool_k", 4);
        f.set(m, 1, "pool_s", 1);
    });
    f.expect(1, "bad_geometry", |f, m| f.set(m, 1, "pool_pad", 1));
}

#[test]
fn pool_s_is_ignored_without_a_window() {
    let f = fixture(64);
    let mut mem = f.prog.image.clone();
    f.set(&mut mem, 1, "pool_s", 3);
    let want = f.with_outputs(mem.clone(), 3);
    let out = run(&mut mem, 0, &f.pm, f.prog.desc_addr, f.prog.desc_count);
    assert_eq!(out, Ok(Outcome::Done));
    assert!(mem == want);
}

#[test]
fn misaligned() {
    for mem_bits in [32, 64, 128] {
        let f = fixture(mem_bits);
        let align = u64::from(f.pm.limits.align);
        for (name, delta) in [
            ("in_addr", align / 2),
            ("w_addr", 1),
            ("ch_addr", align - 1),
            ("out_addr", 2),
        ] {
            let v = f.field(1, name) + delta;
            f.expect(1, "misaligned", |f, m| f.set(m, 1, name, v));
        }
    }
}

#[test]
fn address_wrap() {
    let f = fixture(64);
    let align = u64::from(f.pm.limits.align);
    // Each tensor of layer 1 is longer than `align` bytes.
    for name in ["in_addr", "w_addr", "ch_addr", "out_addr"] {
        f.expect(1, "address_wrap", |f, m| f.set(m, 1, name, TOP - align));
    }
    // Ending exactly at 2^32 is not a wrap: the run goes on and needs memory
    // up there (here: none, so the executor reports the access it cannot make).
    let out_bytes = f.prog.layers[1].out_shape.bytes();
    assert_eq!(out_bytes % align, 0, "fixture: output is whole words");
    let mut mem = f.prog.image.clone();
    f.set(&mut mem, 1, "out_addr", TOP - out_bytes);
    let out = run(&mut mem, 0, &f.pm, f.prog.desc_addr, f.prog.desc_count);
    assert!(
        matches!(
            out,
            Err(ExecError::OutOfMemory {
                index: 1,
                what: "output",
                ..
            })
        ),
        "{out:?}"
    );
}

#[test]
fn bad_requant() {
    let f = fixture(64);
    let last = f.net.layers[1].out_c as usize - 1;
    f.expect(1, "bad_requant", |f, m| f.set_record(m, 1, last, "mult", 0));
    f.expect(1, "bad_requant", |f, m| f.set_record(m, 1, 0, "shift", 32));
    f.expect(1, "bad_requant", |f, m| f.set_record(m, 1, 2, "shift", 255));
    // The edges of the ranges are fine.
    let mut mem = f.prog.image.clone();
    f.set_record(&mut mem, 1, 0, "mult", 65535);
    f.set_record(&mut mem, 1, 1, "shift", 31);
    let out = run(&mut mem, 0, &f.pm, f.prog.desc_addr, f.prog.desc_count);
    assert_eq!(out, Ok(Outcome::Done));
    // Only out_c records are checked: the bytes after layer 1's last record
    // are guard bytes, which read as a record would break the rule.
    let rb = f.pm.channel_record.bytes as usize;
    let after = (f.prog.layers[1].ch_addr - f.prog.base) as usize + (last + 1) * rb;
    let shift =
        f.pm.channel_record
            .get(&f.prog.image[after..after + rb], "shift");
    assert!(shift.expect("field") > 31);
}

/// A descriptor that breaks two rules reports the one checked first.
#[test]
fn first_rule_wins() {
    let f = fixture(64);
    let top = TOP - u64::from(f.pm.limits.align);
    f.expect(1, "bad_op", |f, m| {
        f.set(m, 1, "op", 3);
        f.set(m, 1, "in_h", 0);
    });
    f.expect(1, "zero_size", |f, m| {
        f.set(m, 1, "stride_w", 0);
        f.set(m, 1, "k_h", 12);
    });
    f.expect(1, "too_large", |f, m| {
        f.set(m, 1, "k_w", 12);
        f.set(m, 1, "in_w", 1);
    });
    f.expect(1, "bad_geometry", |f, m| {
        f.set(m, 1, "in_w", 1);
        f.set(m, 1, "in_addr", 3);
    });
    f.expect(1, "misaligned", |f, m| {
        f.set(m, 1, "w_addr", top + 1);
        f.set(m, 1, "out_addr", top);
    });
    f.expect(1, "address_wrap", |f, m| {
        f.set(m, 1, "out_addr", top);
        f.set_record(m, 1, 0, "mult", 0);
    });
}

#[test]
fn start_checks() {
    let f = fixture(64);
    let l = &f.pm.limits;
    let align = l.align;
    let runs = |addr: u32, count: u32| {
        let mut mem = f.prog.image.clone();
        let out = run(&mut mem, 0, &f.pm, addr, count);
        assert!(
            mem == f.prog.image,
            "start {addr:#x} x {count}: memory untouched"
        );
        out
    };
    let err = |rule: &str| {
        Ok(Outcome::Error {
            code: f.pm.error_code(rule).expect("rule"),
            index: 0,
        })
    };
    assert_eq!(runs(f.prog.desc_addr, l.desc_count + 1), err("too_large"));
    assert_eq!(runs(f.prog.desc_addr + align / 2, 3), err("misaligned"));
    let db = f.pm.descriptor.bytes;
    assert_eq!(runs(0u32.wrapping_sub(db), 2), err("address_wrap"));
    // The list may end exactly at 2^32 (here past the memory: the executor says so).
    let mut mem = f.prog.image.clone();
    let out = run(&mut mem, 0, &f.pm, 0u32.wrapping_sub(db), 1);
    assert!(
        matches!(
            out,
            Err(ExecError::OutOfMemory {
                what: "descriptor",
                ..
            })
        ),
        "{out:?}"
    );
    // No descriptor: done at once, nothing touched.
    assert_eq!(runs(f.prog.desc_addr, 0), Ok(Outcome::Done));
    // An empty list is done before the start checks, whatever the address.
    assert_eq!(runs(f.prog.desc_addr + 1, 0), Ok(Outcome::Done));
    assert_eq!(runs(u32::MAX, 0), Ok(Outcome::Done));
    // Checks come in order: a too-long list at a misaligned address is too_large.
    assert_eq!(
        runs(f.prog.desc_addr + 1, l.desc_count + 1),
        err("too_large")
    );
}

//! A token-level model of the max-pool schedule, checked against a naive max
//! pool over thousands of shapes.
//!
//! It follows the generated hardware step by step (the sequencer's registers
//! and decisions in [`super::seq`], the line-buffer stage in [`super::vpool`],
//! the window stage and hold register in [`super::hpool`]) but without clocks
//! or stalls, so a mistake in the window arithmetic of [`super::Plan`] shows up
//! here in milliseconds instead of in a Verilator run.

use super::config::{MaxpoolConfig, Plan};

/// The sequencer's registers (see `seq.rs` for what each means).
#[derive(Clone, Debug)]
struct Seq {
    x: u32,
    first_row: bool,
    vs_cnt: u32,
    vs_slot: u32,
    ve_cnt: u32,
    ve_slot: u32,
    hs_cnt: u32,
    hs_slot: u32,
    he_cnt: u32,
    he_slot: u32,
    flushing: bool,
    pad_left: u32,
    extra_left: u32,
    extra_close: bool,
}

/// What enters the line-buffer stage in one step.
#[derive(Clone, Debug, Default)]
struct Token {
    pix: bool,
    flush: bool,
    extra: bool,
    close: bool,
    x: u32,
    v_st: u64,
    v_end: bool,
    v_slot: u32,
    v_fresh: bool,
    h_st: u64,
    h_end: bool,
    h_slot: u32,
    h_fresh: bool,
    h_last: bool,
}

fn inc(slot: u32, slots: u32) -> u32 {
    if slot + 1 == slots {
        0
    } else {
        slot + 1
    }
}

fn step(cnt: u32, s: u32) -> u32 {
    if cnt == 0 {
        s - 1
    } else {
        cnt - 1
    }
}

impl Seq {
    fn new(p: &Plan) -> Seq {
        Seq {
            x: 0,
            first_row: true,
            vs_cnt: p.start_init,
            vs_slot: p.start_slot_init,
            ve_cnt: p.end_init,
            ve_slot: 0,
            hs_cnt: p.start_init,
            hs_slot: p.start_slot_init,
            he_cnt: p.end_init,
            he_slot: 0,
            flushing: false,
            pad_left: 0,
            extra_left: 0,
            extra_close: false,
        }
    }

    /// One step: `input` is `Some(in_last)` when a pixel is offered. Returns the
    /// token (None: bubble) and whether the offered pixel was taken.
    fn issue(&mut self, c: &MaxpoolConfig, p: &Plan, input: Option<bool>) -> (Option<Token>, bool) {
        let (s, w, n) = (c.stride, c.width, p.slots);
        let extra_now = self.extra_left != 0;
        let flush_now = !extra_now && self.flushing;
        let can_take = !extra_now && !self.flushing;
        let pix = can_take && input.is_some();
        let in_last = input.unwrap_or(false);
        if extra_now {
            let t = Token {
                extra: true,
                close: self.extra_close && self.extra_left == 1,
                h_slot: p.extra_slots[self.extra_left as usize],
                h_last: self.extra_left == 1,
                ..Token::default()
            };
            self.extra_left -= 1;
            return (Some(t), false);
        }
        if !pix && !flush_now {
            return (None, false);
        }
        let x_first = self.x == 0;
        let x_last = self.x == w - 1;
        let row_end = x_last || (pix && in_last);
        let v_end = flush_now || self.ve_cnt == 0;
        let ve_next = step(self.ve_cnt, s);
        let flush_needed = c.pad > 0 && ve_next < c.pad;
        let last_flush_row = self.pad_left <= s;
        let final_row = if pix {
            in_last && !flush_needed
        } else {
            last_flush_row
        };
        let has_extras = v_end && p.last_windows >= 2;
        let onehot = |b: bool, slot: u32| if b && n > 0 { 1u64 << slot } else { 0 };
        let t = Token {
            pix,
            flush: flush_now,
            extra: false,
            close: row_end && final_row && !has_extras,
            x: self.x,
            v_st: if self.first_row {
                p.start_mask0
            } else {
                onehot(self.vs_cnt == 0, self.vs_slot)
            },
            v_end,
            v_slot: self.ve_slot,
            v_fresh: self.first_row,
            h_st: if x_first {
                p.start_mask0
            } else {
                onehot(self.hs_cnt == 0, self.hs_slot)
            },
            h_end: if x_last {
                p.last_windows >= 1
            } else {
                self.he_cnt == 0
            },
            h_slot: self.he_slot,
            h_fresh: x_first || (x_last && p.last_fresh),
            h_last: n == 0 || (p.last_windows <= 1 && self.x == p.row_last_col),
        };
        // Column state.
        if row_end {
            self.x = 0;
            self.hs_cnt = p.start_init;
            self.hs_slot = p.start_slot_init;
            self.he_cnt = p.end_init;
            self.he_slot = 0;
        } else {
            self.x += 1;
            if self.hs_cnt == 0 {
                self.hs_slot = inc(self.hs_slot, n);
            }
            self.hs_cnt = step(self.hs_cnt, s);
            if self.he_cnt == 0 {
                self.he_slot = inc(self.he_slot, n);
            }
            self.he_cnt = step(self.he_cnt, s);
        }
        // Row state.
        if row_end {
            let v_init = final_row;
            if v_init {
                self.first_row = true;
                self.vs_cnt = p.start_init;
                self.vs_slot = p.start_slot_init;
                self.ve_cnt = p.end_init;
                self.ve_slot = 0;
            } else {
                self.first_row = false;
                if self.vs_cnt == 0 {
                    self.vs_slot = inc(self.vs_slot, n);
                }
                self.vs_cnt = step(self.vs_cnt, s);
                if flush_now || self.ve_cnt == 0 {
                    self.ve_slot = inc(self.ve_slot, n);
                }
                self.ve_cnt = ve_next;
            }
            let pad_next = if pix {
                c.pad.wrapping_sub(ve_next)
            } else {
                self.pad_left.wrapping_sub(s)
            };
            self.flushing = (pix && in_last && flush_needed) || (flush_now && !last_flush_row);
            self.pad_left = pad_next;
            if has_extras {
                self.extra_left = p.last_windows - 1;
                self.extra_close = final_row;
            }
        }
        (Some(t), pix)
    }
}

/// The datapath after the sequencer, one lane (channel) per vector element.
struct Datapath {
    /// Line buffer: [column][slot][channel].
    mem: Vec<Vec<Vec<i8>>>,
    /// Horizontal running maxima: [slot][channel].
    hp: Vec<Vec<i8>>,
    /// The held pooled pixel, whether it is known to be the image's last, and
    /// whether it is known not to be (not its row's last).
    hold: Option<(Vec<i8>, bool, bool)>,
    out: Vec<(Vec<i8>, bool)>,
}

fn lane_max(a: &[i8], b: &[i8]) -> Vec<i8> {
    a.iter().zip(b).map(|(x, y)| *x.max(y)).collect()
}

impl Datapath {
    fn token(&mut self, t: &Token, data: &[i8]) {
        // Line-buffer stage.
        let mut col = None;
        if t.pix || t.flush {
            let n = self.hp.len();
            let cv = if n == 0 {
                data.to_vec()
            } else {
                let q = self.mem[t.x as usize].clone();
                let qe = &q[t.v_slot as usize];
                if t.pix {
                    self.mem[t.x as usize] = (0..n)
                        .map(|j| {
                            if t.v_st >> j & 1 == 1 {
                                data.to_vec()
                            } else {
                                lane_max(&q[j], data)
                            }
                        })
                        .collect();
                }
                if t.flush {
                    qe.clone()
                } else if t.v_fresh {
                    data.to_vec()
                } else {
                    lane_max(qe, data)
                }
            };
            if t.v_end {
                col = Some(cv);
            }
        }
        // Window stage.
        let mut p = None;
        if let Some(v) = &col {
            let n = self.hp.len();
            if n == 0 {
                if t.h_end {
                    p = Some(v.clone());
                }
            } else {
                let sel = self.hp[t.h_slot as usize].clone();
                for j in 0..n {
                    self.hp[j] = if t.h_st >> j & 1 == 1 {
                        v.clone()
                    } else {
                        lane_max(&self.hp[j], v)
                    };
                }
                if t.h_end {
                    p = Some(if t.h_fresh {
                        v.clone()
                    } else {
                        lane_max(&sel, v)
                    });
                }
            }
        }
        if t.extra {
            p = Some(self.hp[t.h_slot as usize].clone());
        }
        // Hold register: a row's last pooled pixel leaves once the next one exists or
        // the image closed; any other leaves on the next step.
        if let Some((h, fin, early)) = self.hold.take() {
            if fin || early || p.is_some() || t.close {
                self.out.push((h, fin || (t.close && p.is_none())));
            } else {
                self.hold = Some((h, false, false));
            }
        }
        if let Some(v) = p {
            self.hold = Some((v, t.close, !t.h_last));
        }
    }
}

/// Run `images` (each rows x width x channels, row-major HWC) through the model;
/// returns per image the pooled pixels, after checking `out_last` marks exactly
/// the last pixel of each non-empty image.
pub fn run(c: &MaxpoolConfig, images: &[(u32, Vec<i8>)]) -> Vec<Vec<i8>> {
    let p = c.plan();
    let (w, ch) = (c.width as usize, c.channels as usize);
    let mut seq = Seq::new(&p);
    let mut dp = Datapath {
        mem: vec![vec![vec![0; ch]; p.slots as usize]; w],
        hp: vec![vec![0; ch]; p.slots as usize],
        hold: None,
        out: Vec::new(),
    };
    let mut pixels = images
        .iter()
        .flat_map(|(h, img)| {
            let n = *h as usize * w;
            (0..n).map(move |i| (img[i * ch..(i + 1) * ch].to_vec(), i + 1 == n))
        })
        .peekable();
    let mut idle = 0;
    while idle < 1000 {
        let offer = pixels.peek().map(|(_, last)| *last);
        let data = pixels.peek().map(|(d, _)| d.clone());
        let (tok, taken) = seq.issue(c, &p, offer);
        if taken {
            pixels.next();
        }
        // A bubble still steps the hold register.
        idle = if tok.is_some() { 0 } else { idle + 1 };
        let t = tok.unwrap_or_default();
        dp.token(&t, data.as_deref().unwrap_or(&vec![0; ch]));
    }
    let mut per_image = Vec::new();
    let mut cur = Vec::new();
    for (v, last) in dp.out {
        cur.extend(v);
        if last {
            per_image.push(std::mem::take(&mut cur));
        }
    }
    assert!(cur.is_empty(), "pixels after the last out_last");
    per_image
}

/// Naive max pooling of one rows x width x channels image; padded cells are skipped.
pub fn naive(c: &MaxpoolConfig, h: u32, img: &[i8]) -> Vec<i8> {
    let (k, s, p) = (c.window as i64, c.stride as i64, c.pad as i64);
    let (w, ch) = (c.width as i64, c.channels as usize);
    let ho = c.out_height(h) as i64;
    let wo = c.plan().w_out as i64;
    let mut out = Vec::new();
    for oy in 0..ho {
        for ox in 0..wo {
            for cc in 0..ch {
                let mut m: Option<i8> = None;
                for ky in 0..k {
                    for kx in 0..k {
                        let (y, x) = (oy * s - p + ky, ox * s - p + kx);
                        if (0..h as i64).contains(&y) && (0..w).contains(&x) {
                            let v = img[((y * w + x) as usize) * ch + cc];
                            m = Some(m.map_or(v, |m| m.max(v)));
                        }
                    }
                }
                out.push(m.expect("every window holds a real cell"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (no dependency needed).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> i8 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 56) as i8
        }
    }

    #[test]
    fn schedule_matches_naive_pooling_for_every_small_shape() {
        let mut rng = Lcg(7);
        let mut shapes = 0;
        for k in 1..=8u32 {
            for s in 1..=k {
                for pad in 0..=k / 2 {
                    for w in 1..=12u32 {
                        let c = MaxpoolConfig {
                            channels: 2,
                            width: w,
                            window: k,
                            stride: s,
                            pad,
                            ..MaxpoolConfig::default()
                        };
                        if c.validate().is_err() {
                            continue;
                        }
                        shapes += 1;
                        let min_h = c.derived().min_height;
                        let heights: Vec<u32> = (min_h..min_h + 2 * k + 2)
                            .chain([min_h, 1, min_h + 1])
                            .collect();
                        let images: Vec<(u32, Vec<i8>)> = heights
                            .iter()
                            .map(|&h| {
                                let n = (h * w * 2) as usize;
                                (h, (0..n).map(|_| rng.next()).collect())
                            })
                            .collect();
                        let got = run(&c, &images);
                        let want: Vec<Vec<i8>> = images
                            .iter()
                            .filter(|(h, _)| c.out_height(*h) > 0)
                            .map(|(h, img)| naive(&c, *h, img))
                            .collect();
                        assert_eq!(got, want, "K={k} S={s} P={pad} W={w} heights {heights:?}");
                    }
                }
            }
        }
        assert!(shapes > 300, "{shapes} shapes");
    }
}

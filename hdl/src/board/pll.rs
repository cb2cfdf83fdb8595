//! Clocking: the PLL that turns the board clock into the core clock, its divider
//! search, and the module that wraps the vendor primitive.
//!
//! The divider settings are computed here with the same search, the same limits
//! and the same floating-point arithmetic as the open tools people already
//! trust, so they pick identical settings: `icepll` (iCE40 sysCLOCK PLL, SIMPLE
//! feedback) and `ecppll` (ECP5 EHXPLLL, feedback from CLKOP). The closest
//! achievable frequency wins. The achieved frequency is then computed exactly
//! from the chosen dividers, printed above the PLL in the Verilog with the rest
//! of the arithmetic, and written to the manifest, because everything clocked
//! (the UART divider first) must use the achieved frequency, not the requested one.
//!
//! When the target equals the board clock there is no PLL at all: the board clock
//! is the core clock and `locked` is tied high. Simulation uses that.

use serde::Serialize;

use crate::ir::{Const, Design, Expr, ExternModule, Module, ParamValue, PortDir, SignalId, Ty};
use crate::parts::Instantiate;
use crate::{ConfigError, GenError};

use super::{BoardTopConfig, Family};

/// Input, PFD, VCO and output limits of the iCE40 PLL, in Hz (as in `icepll`).
pub const ICE40_IN_HZ: (u64, u64) = (10_000_000, 133_000_000);
pub const ICE40_PFD_HZ: (u64, u64) = (10_000_000, 133_000_000);
pub const ICE40_VCO_HZ: (u64, u64) = (533_000_000, 1_066_000_000);
pub const ICE40_OUT_HZ: (u64, u64) = (16_000_000, 275_000_000);

/// Input, PFD, VCO and output limits of the ECP5 PLL, in Hz (as in `ecppll`).
pub const ECP5_IN_HZ: (u64, u64) = (8_000_000, 400_000_000);
pub const ECP5_PFD_HZ: (u64, u64) = (3_125_000, 400_000_000);
pub const ECP5_VCO_HZ: (u64, u64) = (400_000_000, 800_000_000);
pub const ECP5_OUT_HZ: (u64, u64) = (10_000_000, 400_000_000);
/// `ecppll` prefers, among equally close outputs, the VCO nearest this.
pub const ECP5_VCO_PREFERRED_HZ: u64 = 600_000_000;

/// An exact frequency `num / den` Hz.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Hz {
    pub num: u64,
    pub den: u64,
}

impl Hz {
    pub fn f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }
    /// Rounded to the nearest Hz.
    pub fn round(self) -> u64 {
        (self.num + self.den / 2) / self.den
    }
}

/// iCE40 PLL settings (SIMPLE feedback): `f_out = f_in * (DIVF+1) / ((DIVR+1) * 2^DIVQ)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Ice40Pll {
    pub divr: u32,
    pub divf: u32,
    pub divq: u32,
    pub filter_range: u32,
}

/// ECP5 PLL settings (feedback from CLKOP): `f_out = f_in * CLKFB_DIV / CLKI_DIV`,
/// `f_vco = f_out * CLKOP_DIV`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Ecp5Pll {
    pub clki_div: u32,
    pub clkfb_div: u32,
    pub clkop_div: u32,
    pub clkop_cphase: u32,
}

/// How the core clock is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Pll {
    /// No PLL: the core runs on the board clock.
    Bypass,
    Ice40(Ice40Pll),
    Ecp5(Ecp5Pll),
}

/// The clock plan: settings plus the frequencies they give.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ClockPlan {
    pub pll: Pll,
    pub clock_in_hz: u64,
    pub requested_hz: u64,
    /// Exact achieved core frequency.
    pub achieved: Hz,
    /// Achieved core frequency, rounded to the nearest Hz.
    pub achieved_hz: u64,
    /// Phase-detector and VCO frequencies (equal to the input for a bypass).
    pub pfd: Hz,
    pub vco: Hz,
    /// (achieved - requested) / requested, in parts per million.
    pub error_ppm: f64,
}

fn check_hz(param: &str, what: &str, value: u64, (lo, hi): (u64, u64)) -> Result<(), ConfigError> {
    if (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::new(
            param,
            format!("must be in {lo}..={hi} Hz for the {what}"),
            value,
        ))
    }
}

/// The iCE40 divider search of `icepll` (SIMPLE feedback): every DIVR, DIVF and
/// DIVQ whose PFD and VCO are in range, the first strictly closest output wins.
/// It runs in icepll's own double-precision MHz arithmetic so that ties and
/// rounding resolve exactly as the tool resolves them.
pub fn ice40(fin: u64, fout: u64) -> Result<Ice40Pll, ConfigError> {
    check_hz("clock_in_hz", "iCE40 PLL input", fin, ICE40_IN_HZ)?;
    check_hz("target_hz", "iCE40 PLL output", fout, ICE40_OUT_HZ)?;
    let mhz = |(lo, hi): (u64, u64)| (lo as f64 / 1e6, hi as f64 / 1e6);
    let (pfd_lo, pfd_hi) = mhz(ICE40_PFD_HZ);
    let (vco_lo, vco_hi) = mhz(ICE40_VCO_HZ);
    let (f_in, f_out) = (fin as f64 / 1e6, fout as f64 / 1e6);
    let mut best: Option<(Ice40Pll, f64)> = None;
    for divr in 0..=15u32 {
        let f_pfd = f_in / f64::from(divr + 1);
        if f_pfd < pfd_lo || f_pfd > pfd_hi {
            continue;
        }
        for divf in 0..=127u32 {
            let f_vco = f_pfd * f64::from(divf + 1);
            if f_vco < vco_lo || f_vco > vco_hi {
                continue;
            }
            for divq in 1..=6u32 {
                let f = f_vco * (-f64::from(divq)).exp2();
                if best
                    .as_ref()
                    .is_none_or(|&(_, bf)| (f - f_out).abs() < (bf - f_out).abs())
                {
                    let pll = Ice40Pll {
                        divr,
                        divf,
                        divq,
                        filter_range: 0,
                    };
                    best = Some((pll, f));
                }
            }
        }
    }
    let (mut pll, _) = best.ok_or_else(|| {
        ConfigError::new(
            "target_hz",
            "has no iCE40 PLL setting with PFD and VCO in range",
            fout,
        )
    })?;
    // Loop filter by PFD frequency, as icepll: < 17, 26, 44, 66, 101 MHz, else 6.
    let f_pfd = f_in / f64::from(pll.divr + 1);
    pll.filter_range = [17.0, 26.0, 44.0, 66.0, 101.0]
        .iter()
        .position(|&limit| f_pfd < limit)
        .map_or(6, |i| i as u32 + 1);
    Ok(pll)
}

/// The ECP5 divider search of `ecppll`: every CLKI_DIV, CLKFB_DIV and CLKOP_DIV
/// whose PFD and VCO are in range; the closest output wins, ties go to the VCO
/// nearest 600 MHz, remaining ties to the first found. It runs in ecppll's own
/// single-precision MHz arithmetic, whose rounding decides between settings that
/// are equally good in exact arithmetic (25 -> 133 MHz: CLKOP_DIV 5, not 4).
pub fn ecp5(fin: u64, fout: u64) -> Result<Ecp5Pll, ConfigError> {
    check_hz("clock_in_hz", "ECP5 PLL input", fin, ECP5_IN_HZ)?;
    check_hz("target_hz", "ECP5 PLL output", fout, ECP5_OUT_HZ)?;
    let mhz = |(lo, hi): (u64, u64)| ((lo as f64 / 1e6) as f32, (hi as f64 / 1e6) as f32);
    let (pfd_lo, pfd_hi) = mhz(ECP5_PFD_HZ);
    let (vco_lo, vco_hi) = mhz(ECP5_VCO_HZ);
    let pref = (ECP5_VCO_PREFERRED_HZ as f64 / 1e6) as f32;
    let input = (fin as f64 / 1e6) as f32;
    let output = (fout as f64 / 1e6) as f32;
    // (settings, output error, VCO) of the best so far
    let mut best: Option<(Ecp5Pll, f32, f32)> = None;
    for refdiv in 1..=128u32 {
        let fpfd = input / refdiv as f32;
        if fpfd < pfd_lo || fpfd > pfd_hi {
            continue;
        }
        for fb in 1..=80u32 {
            for od in 1..=128u32 {
                let fvco = fpfd * fb as f32 * od as f32;
                if fvco < vco_lo || fvco > vco_hi {
                    continue;
                }
                let err = (fvco / od as f32 - output).abs();
                let better = match best {
                    None => true,
                    Some((_, be, bvco)) => {
                        err < be || (err == be && (fvco - pref).abs() < (bvco - pref).abs())
                    }
                };
                if better {
                    let pll = Ecp5Pll {
                        clki_div: refdiv,
                        clkfb_div: fb,
                        clkop_div: od,
                        clkop_cphase: ecppll_cphase(fvco, od),
                    };
                    best = Some((pll, err, fvco));
                }
            }
        }
    }
    best.map(|(p, ..)| p).ok_or_else(|| {
        ConfigError::new(
            "target_hz",
            "has no ECP5 PLL setting with PFD and VCO in range",
            fout,
        )
    })
}

/// CLKOP_CPHASE as `ecppll` writes it: half an output period in VCO cycles,
/// `trunc(0.5 * f_vco / f_out)`, evaluated in ecppll's mix of float and double so
/// the value matches it exactly (2, not 3, for CLKOP_DIV = 6). With feedback from
/// CLKOP the phase of CLKOP against the input does not matter to this design;
/// matching the tool keeps generated and hand-made settings comparable.
fn ecppll_cphase(fvco: f32, od: u32) -> u32 {
    let fout = fvco / od as f32;
    let ns_phase = (1.0 / (f64::from(fout) * 1e6) * 0.5) as f32;
    (f64::from(ns_phase) * (f64::from(fvco) * 1e6)) as u32
}

/// Plan the core clock for `cfg`: no PLL when the target is the board clock.
pub fn plan(cfg: &BoardTopConfig) -> Result<ClockPlan, ConfigError> {
    plan_for(cfg.family, cfg.clock_in_hz, cfg.target_hz)
}

/// Plan a clock of `target_hz` from a `fin` Hz board clock on `family`: no PLL
/// when the two are equal.
pub fn plan_for(family: Family, fin: u64, target_hz: u64) -> Result<ClockPlan, ConfigError> {
    let (pll, achieved, pfd, vco) = if target_hz == fin {
        let f = Hz { num: fin, den: 1 };
        (Pll::Bypass, f, f, f)
    } else {
        match family {
            Family::Ice40 => {
                let p = ice40(fin, target_hz)?;
                let r = u64::from(p.divr + 1);
                let f = u64::from(p.divf + 1);
                (
                    Pll::Ice40(p),
                    Hz {
                        num: fin * f,
                        den: r << p.divq,
                    },
                    Hz { num: fin, den: r },
                    Hz {
                        num: fin * f,
                        den: r,
                    },
                )
            }
            Family::Ecp5 => {
                let p = ecp5(fin, target_hz)?;
                let r = u64::from(p.clki_div);
                let out = fin * u64::from(p.clkfb_div);
                (
                    Pll::Ecp5(p),
                    Hz { num: out, den: r },
                    Hz { num: fin, den: r },
                    Hz {
                        num: out * u64::from(p.clkop_div),
                        den: r,
                    },
                )
            }
        }
    };
    let error_ppm = (achieved.f64() - target_hz as f64) / target_hz as f64 * 1e6;
    Ok(ClockPlan {
        pll,
        clock_in_hz: fin,
        requested_hz: target_hz,
        achieved,
        achieved_hz: achieved.round(),
        pfd,
        vco,
        error_ppm,
    })
}

fn mhz(f: Hz) -> String {
    let s = format!("{:.6}", f.f64() / 1e6);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s} MHz")
}

fn mhz_range((lo, hi): (u64, u64)) -> String {
    let m = |v: u64| mhz(Hz { num: v, den: 1 });
    format!("{}..{}", m(lo), m(hi))
}

/// The PLL arithmetic, one line per step, for the comment above the PLL.
pub fn arithmetic(plan: &ClockPlan) -> Vec<String> {
    let fin = Hz {
        num: plan.clock_in_hz,
        den: 1,
    };
    let mut lines = match plan.pll {
        Pll::Bypass => vec![
            "No PLL: the requested core clock equals the board clock.".to_string(),
            format!("f_core = f_in = {}", mhz(fin)),
        ],
        Pll::Ice40(p) => vec![
            "iCE40 sysCLOCK PLL, SIMPLE feedback (the divider search of icepll):".to_string(),
            format!(
                "f_pfd = f_in / (DIVR+1) = {} / {} = {}  (limit {})",
                mhz(fin),
                p.divr + 1,
                mhz(plan.pfd),
                mhz_range(ICE40_PFD_HZ)
            ),
            format!(
                "f_vco = f_pfd * (DIVF+1) = {} * {} = {}  (limit {})",
                mhz(plan.pfd),
                p.divf + 1,
                mhz(plan.vco),
                mhz_range(ICE40_VCO_HZ)
            ),
            format!(
                "f_out = f_vco / 2^DIVQ = {} / {} = {}  (limit {})",
                mhz(plan.vco),
                1u32 << p.divq,
                mhz(plan.achieved),
                mhz_range(ICE40_OUT_HZ)
            ),
            format!(
                "DIVR = {}, DIVF = {}, DIVQ = {}, FILTER_RANGE = {} (from f_pfd: <17, <26, <44, <66, <101 MHz -> 1..5, else 6)",
                p.divr, p.divf, p.divq, p.filter_range
            ),
        ],
        Pll::Ecp5(p) => vec![
            "ECP5 EHXPLLL, feedback from CLKOP (the divider search of ecppll):".to_string(),
            format!(
                "f_pfd = f_in / CLKI_DIV = {} / {} = {}  (limit {})",
                mhz(fin),
                p.clki_div,
                mhz(plan.pfd),
                mhz_range(ECP5_PFD_HZ)
            ),
            format!(
                "f_out = f_pfd * CLKFB_DIV = {} * {} = {}  (limit {})",
                mhz(plan.pfd),
                p.clkfb_div,
                mhz(plan.achieved),
                mhz_range(ECP5_OUT_HZ)
            ),
            format!(
                "f_vco = f_out * CLKOP_DIV = {} * {} = {}  (limit {}, nearest 600 MHz preferred)",
                mhz(plan.achieved),
                p.clkop_div,
                mhz(plan.vco),
                mhz_range(ECP5_VCO_HZ)
            ),
            format!(
                "CLKOP_CPHASE = {} (ecppll's half-period phase: trunc(0.5 * f_vco / f_out) in its float arithmetic)",
                p.clkop_cphase
            ),
        ],
    };
    lines.push(format!(
        "Requested {}, achieved {} ({:+.1} ppm).",
        mhz(Hz {
            num: plan.requested_hz,
            den: 1
        }),
        mhz(plan.achieved),
        plan.error_ppm
    ));
    lines
}

/// The iCE40 PLL fed straight from its package pin, with the ports this design uses.
pub fn sb_pll40_pad() -> ExternModule {
    Sb40::Pad.cell()
}

/// The iCE40 PLL fed from its package pin with two global outputs: port A
/// passes the pad's clock through, port B is the PLL's output. A pad that
/// feeds a PLL cannot also drive the fabric, so this is how a design gets both
/// the board clock and a PLL clock from one pin.
pub fn sb_pll40_2_pad() -> ExternModule {
    Sb40::TwoPad.cell()
}

/// The iCE40 PLL fed from the fabric (a global net), for a board whose clock
/// pin is not a PLL pad: any pin can feed it.
pub fn sb_pll40_core() -> ExternModule {
    Sb40::Core.cell()
}

/// The three iCE40 PLL cells the board tops use: one description of their
/// ports and parameters, one way to instantiate them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sb40 {
    /// `SB_PLL40_PAD`: from its pad, one output.
    Pad,
    /// `SB_PLL40_2_PAD`: from its pad, the pad's clock on A, the PLL's on B.
    TwoPad,
    /// `SB_PLL40_CORE`: from a global net, one output.
    Core,
}

impl Sb40 {
    fn name(self) -> &'static str {
        match self {
            Sb40::Pad => "SB_PLL40_PAD",
            Sb40::TwoPad => "SB_PLL40_2_PAD",
            Sb40::Core => "SB_PLL40_CORE",
        }
    }

    fn input(self) -> &'static str {
        match self {
            Sb40::Pad | Sb40::TwoPad => "PACKAGEPIN",
            Sb40::Core => "REFERENCECLK",
        }
    }

    fn outputs(self) -> &'static [&'static str] {
        match self {
            Sb40::Pad | Sb40::Core => &["PLLOUTGLOBAL"],
            Sb40::TwoPad => &["PLLOUTGLOBALA", "PLLOUTGLOBALB"],
        }
    }

    /// The parameter that selects the PLL's output (port B's on the 2-pad cell).
    fn select(self) -> &'static str {
        match self {
            Sb40::Pad | Sb40::Core => "PLLOUT_SELECT",
            Sb40::TwoPad => "PLLOUT_SELECT_PORTB",
        }
    }

    /// The cell's declaration, with the ports this design uses.
    pub(crate) fn cell(self) -> ExternModule {
        let doc = match self {
            Sb40::Pad => "iCE40 PLL fed from its dedicated clock pad (yosys ice40 cell library)",
            Sb40::TwoPad => "iCE40 PLL fed from its clock pad, pad clock on port A and PLL clock on port B (yosys ice40 cell library)",
            Sb40::Core => "iCE40 PLL fed from a global net (yosys ice40 cell library)",
        };
        let mut e = ExternModule::new(self.name(), doc)
            .port(self.input(), Ty::bit(), PortDir::Input)
            .port("RESETB", Ty::bit(), PortDir::Input)
            .port("BYPASS", Ty::bit(), PortDir::Input);
        for o in self.outputs() {
            e = e.port(o, Ty::bit(), PortDir::Output);
        }
        e.port("LOCK", Ty::bit(), PortDir::Output).params(&[
            "FEEDBACK_PATH",
            self.select(),
            "DIVR",
            "DIVF",
            "DIVQ",
            "FILTER_RANGE",
        ])
    }

    /// Instantiate the cell as `pll` in `m` (declaring it in `design`): `clk_in`
    /// on its input, `outs` on its outputs in order, simple feedback.
    pub(crate) fn instantiate(
        self,
        m: &mut Module,
        design: &mut Design,
        p: &Ice40Pll,
        clk_in: SignalId,
        outs: &[SignalId],
        locked: SignalId,
    ) -> Result<(), GenError> {
        let cell = self.cell();
        let mut inst = m
            .inst(&cell, "pll")
            .param("FEEDBACK_PATH", text("SIMPLE"))
            .param(self.select(), text("GENCLK"))
            .param("DIVR", bits(4, p.divr))
            .param("DIVF", bits(7, p.divf))
            .param("DIVQ", bits(3, p.divq))
            .param("FILTER_RANGE", bits(3, p.filter_range))
            .connect(self.input(), clk_in)
            .connect("RESETB", Expr::bit(true))
            .connect("BYPASS", Expr::bit(false));
        for (port, sig) in self.outputs().iter().zip(outs) {
            inst = inst.out(port, *sig);
        }
        inst.out("LOCK", locked).finish()?;
        design.add_extern(cell);
        Ok(())
    }
}

/// The ECP5 PLL's control inputs this design ties low (no reset, standby or
/// dynamic phase steps).
const ECP5_TIED_LOW: [&str; 9] = [
    "RST",
    "STDBY",
    "PHASESEL0",
    "PHASESEL1",
    "PHASEDIR",
    "PHASESTEP",
    "PHASELOADREG",
    "PLLWAKESYNC",
    "ENCLKOP",
];

/// Instantiate the ECP5 PLL as `pll` in `m` (declaring it in `design`):
/// `clk_in` in, `clk_out` from `CLKOP` at `plan`'s frequency.
pub(crate) fn ecp5_instance(
    m: &mut Module,
    design: &mut Design,
    plan: &ClockPlan,
    p: &Ecp5Pll,
    clk_in: SignalId,
    clk_out: SignalId,
    locked: SignalId,
) -> Result<(), GenError> {
    let cell = ehxplll();
    let int = |v: u32| ParamValue::Int(i64::from(v));
    let mut inst = m
        .inst(&cell, "pll")
        .param("PLLRST_ENA", text("DISABLED"))
        .param("INTFB_WAKE", text("DISABLED"))
        .param("STDBY_ENABLE", text("DISABLED"))
        .param("DPHASE_SOURCE", text("DISABLED"))
        .param("OUTDIVIDER_MUXA", text("DIVA"))
        .param("CLKOP_ENABLE", text("ENABLED"))
        .param("CLKOP_DIV", int(p.clkop_div))
        .param("CLKOP_CPHASE", int(p.clkop_cphase))
        .param("CLKOP_FPHASE", int(0))
        .param("CLKFB_DIV", int(p.clkfb_div))
        .param("CLKI_DIV", int(p.clki_div))
        .param("FEEDBK_PATH", text("CLKOP"))
        .attrs(ecp5_attrs(plan))
        .connect("CLKI", clk_in)
        // Feedback from CLKOP: the output is phase-aligned to the input.
        .connect("CLKFB", clk_out);
    for p in ECP5_TIED_LOW {
        inst = inst.connect(p, Expr::bit(false));
    }
    inst.out("CLKOP", clk_out).out("LOCK", locked).finish()?;
    design.add_extern(cell);
    Ok(())
}

/// The ECP5 PLL with the ports this design uses.
pub fn ehxplll() -> ExternModule {
    let bit = Ty::bit();
    let mut e = ExternModule::new("EHXPLLL", "ECP5 PLL (yosys ecp5 cell library)");
    for p in ["CLKI", "CLKFB"].into_iter().chain(ECP5_TIED_LOW) {
        e = e.port(p, bit, PortDir::Input);
    }
    e.port("CLKOP", bit, PortDir::Output)
        .port("LOCK", bit, PortDir::Output)
        .params(&[
            "PLLRST_ENA",
            "INTFB_WAKE",
            "STDBY_ENABLE",
            "DPHASE_SOURCE",
            "OUTDIVIDER_MUXA",
            "CLKOP_ENABLE",
            "CLKOP_DIV",
            "CLKOP_CPHASE",
            "CLKOP_FPHASE",
            "CLKFB_DIV",
            "CLKI_DIV",
            "FEEDBK_PATH",
        ])
}

/// The attributes nextpnr-ecp5 reads from an EHXPLLL: the input and output
/// frequencies (MHz) for timing analysis, and the loop-filter settings every
/// ecppll-generated PLL carries. nextpnr writes 0 for a missing ICP_CURRENT or
/// LPF_RESISTOR, a PLL with no charge-pump current, so these are not optional.
pub(crate) fn ecp5_attrs(plan: &ClockPlan) -> Vec<(String, String)> {
    let mhz = |f: Hz| {
        let s = format!("{:.6}", f.f64() / 1e6);
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    let fin = Hz {
        num: plan.clock_in_hz,
        den: 1,
    };
    [
        ("FREQUENCY_PIN_CLKI", mhz(fin)),
        ("FREQUENCY_PIN_CLKOP", mhz(plan.achieved)),
        ("ICP_CURRENT", "12".to_string()),
        ("LPF_RESISTOR", "8".to_string()),
        ("MFG_ENABLE_FILTEROPAMP", "1".to_string()),
        ("MFG_GMCREF_SEL", "2".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

pub(crate) fn bits(width: u32, value: u32) -> ParamValue {
    ParamValue::Bits(Const {
        ty: Ty::u(width),
        bits: u128::from(value),
    })
}

pub(crate) fn text(s: &str) -> ParamValue {
    ParamValue::Str(s.to_string())
}

/// Build the clock module `<name>_clock` (board clock in; core clock and `locked`
/// out) and declare the primitive it uses in `design`.
pub fn build(
    cfg: &BoardTopConfig,
    plan: &ClockPlan,
    design: &mut Design,
) -> Result<Module, GenError> {
    let mut m = Module::new(format!("{}_clock", cfg.name));
    m.doc("Core clock from the board clock.");
    for line in arithmetic(plan) {
        m.doc(line);
    }
    let clk_in = m.input("clk_in", Ty::bit(), Some("Board clock"), "");
    let clk = m.output(
        "clk",
        Ty::bit(),
        Some("Core clock"),
        &format!("{} Hz", plan.achieved_hz),
    );
    let locked = m.output(
        "locked",
        Ty::bit(),
        None,
        "PLL locked (asynchronous to clk)",
    );
    match plan.pll {
        Pll::Bypass => {
            m.assign(clk, clk_in);
            m.assign(locked, Expr::bit(true));
        }
        Pll::Ice40(p) => Sb40::Pad.instantiate(&mut m, design, &p, clk_in, &[clk], locked)?,
        Pll::Ecp5(p) => ecp5_instance(&mut m, design, plan, &p, clk_in, clk, locked)?,
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (f_in Hz, f_out Hz) -> (DIVR, DIVF, DIVQ, FILTER_RANGE), as printed by
    /// `icepll -i IN -o OUT` (IceStorm, Debian 0~20220915), exact and inexact requests.
    const ICEPLL: &[(u64, u64, u32, u32, u32, u32)] = &[
        (12_000_000, 30_000_000, 0, 79, 5, 1),
        (12_000_000, 48_000_000, 0, 63, 4, 1),
        (12_000_000, 96_000_000, 0, 63, 3, 1),
        (12_000_000, 33_000_000, 0, 87, 5, 1),
        (48_000_000, 100_000_000, 2, 49, 3, 1),
        (48_000_000, 150_000_000, 1, 24, 2, 2),
        (96_000_000, 16_000_000, 2, 31, 6, 3),
        (48_000_000, 60_000_000, 0, 19, 4, 4),
        (25_000_000, 100_000_000, 0, 31, 3, 2),
        (100_000_000, 275_000_000, 1, 10, 1, 4),
        (10_000_000, 16_000_000, 0, 101, 6, 1),
        (133_000_000, 17_500_000, 4, 20, 5, 3),
        (27_000_000, 74_250_000, 0, 21, 3, 3),
    ];

    #[test]
    fn ice40_matches_icepll() {
        for &(fin, fout, divr, divf, divq, fr) in ICEPLL {
            let p = ice40(fin, fout).expect("in range");
            assert_eq!(
                (p.divr, p.divf, p.divq, p.filter_range),
                (divr, divf, divq, fr),
                "{fin} -> {fout} Hz"
            );
        }
    }

    /// (f_in Hz, f_out Hz) -> (CLKI_DIV, CLKFB_DIV, CLKOP_DIV, CLKOP_CPHASE), as
    /// written by `ecppll -i IN -o OUT -f FILE` (prjtrellis 1.4). The last two are
    /// decided by single-precision rounding: exact arithmetic ties them.
    const ECPPLL: &[(u64, u64, u32, u32, u32, u32)] = &[
        (25_000_000, 100_000_000, 1, 4, 6, 2),
        (12_000_000, 16_000_000, 3, 4, 37, 18),
        (25_000_000, 50_000_000, 1, 2, 12, 5),
        (27_000_000, 74_250_000, 4, 11, 8, 3),
        (25_000_000, 133_000_000, 3, 16, 5, 2),
        (25_000_000, 11_000_000, 7, 3, 53, 26),
    ];

    #[test]
    fn ecp5_matches_ecppll() {
        for &(fin, fout, r, f, o, c) in ECPPLL {
            let p = ecp5(fin, fout).expect("in range");
            assert_eq!(
                (p.clki_div, p.clkfb_div, p.clkop_div, p.clkop_cphase),
                (r, f, o, c),
                "{fin} -> {fout} Hz"
            );
        }
    }

    #[test]
    fn out_of_range_requests_name_the_rule() {
        let e = ice40(12_000_000, 300_000_000).expect_err("above the iCE40 output limit");
        assert_eq!(
            e.to_string(),
            "target_hz must be in 16000000..=275000000 Hz for the iCE40 PLL output, got 300000000"
        );
        let e = ecp5(5_000_000, 100_000_000).expect_err("below the ECP5 input limit");
        assert_eq!(e.param, "clock_in_hz");
    }

    #[test]
    fn plan_reports_the_achieved_frequency() {
        let mut cfg = BoardTopConfig {
            clock_in_hz: 10_000_000,
            target_hz: 16_000_000,
            ..BoardTopConfig::default()
        };
        let p = plan(&cfg).expect("in range");
        // 10 MHz * 102 / 64 = 15.9375 MHz, the closest the iCE40 PLL gets.
        assert_eq!(
            p.achieved,
            Hz {
                num: 1_020_000_000,
                den: 64
            }
        );
        assert_eq!(p.achieved_hz, 15_937_500);
        assert!((p.error_ppm + 3906.25).abs() < 1e-6);
        cfg.target_hz = cfg.clock_in_hz;
        assert_eq!(plan(&cfg).expect("bypass").pll, Pll::Bypass);
    }
}

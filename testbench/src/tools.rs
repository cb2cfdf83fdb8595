//! The tool checks every emitted design must pass: Verilator's `-Wall` lint and
//! a yosys elaboration with `proc; check -assert` and no latch.
//!
//! Each check runs the real tool on the real text, keeps its log, checks the exit
//! status, and reports what failed with the log's tail. A missing tool is an
//! error that says how to install it, never a silent pass.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A failed tool check.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("`{tool}` not found on PATH: install it with `apt-get install -y {package}` (or run scripts/test.sh)")]
    Missing { tool: String, package: String },
    #[error("`{cmd}` failed ({status}); log: {log}\n{tail}")]
    Failed {
        cmd: String,
        status: String,
        log: PathBuf,
        tail: String,
    },
    #[error("io error around `{what}`: {err}")]
    Io { what: String, err: std::io::Error },
}

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

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Run `cmd` in `dir`, log stdout+stderr to `log`, fail on a non-zero exit.
/// Returns the combined output.
pub fn run_logged(
    mut cmd: Command,
    tool: &str,
    package: &str,
    log: &Path,
) -> Result<String, ToolError> {
    let shown = format!("{cmd:?}");
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ToolError::Missing {
                tool: tool.into(),
                package: package.into(),
            })
        }
        Err(e) => {
            return Err(ToolError::Io {
                what: shown,
                err: e,
            })
        }
    };
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    std::fs::write(log, &text).map_err(io("writing the tool log"))?;
    if !out.status.success() {
        return Err(ToolError::Failed {
            cmd: shown,
            status: out.status.to_string(),
            log: log.to_path_buf(),
            tail: tail(&text, 40),
        });
    }
    Ok(text)
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
            cmd: "verilator --lint-only -Wall".into(),
            status: "exit 0 but warnings printed".into(),
            log,
            tail: tail(&text, 40),
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

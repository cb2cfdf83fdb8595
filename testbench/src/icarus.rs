//! The generated systolic array under Icarus Verilog, for `bench`'s side-by-side
//! speed figure against the Verilator harness.
//!
//! [`run_array`] compiles the array's Verilog with the hand-written testbench
//! `testbench/icarus/array_tb.v` (`iverilog`), writes the tiles as a `$readmemh`
//! stimulus, runs `vvp`, and reads back every result row the testbench took. The
//! testbench plays the Rust driver at full traffic (beats back to back, `out_ready`
//! high), so the rows, their order and the cycle count must match the Verilator
//! run of the same tiles exactly; the caller compares the rows with the golden
//! model. The simulation is timed from the testbench's `start` line (after
//! elaboration and reset) to its `done` line, as the Verilator figure excludes
//! building and loading the model.
//!
//! Files and logs stay in `<target>/icarus/<top>-<rows>x<cols>/` (rewritten by the
//! next run) so a failure can be looked at.

use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hdl::array::ArrayConfig;

use crate::array::Tile;
use crate::tools::{run_logged, ToolError};

/// The testbench, compiled next to the design.
const TESTBENCH: &str = include_str!("../icarus/array_tb.v");

/// What one Icarus run produced.
#[derive(Clone, Debug)]
pub struct IcarusRun {
    /// Per tile, C as rows x cols row-major, in the order the tiles were given.
    pub c: Vec<Vec<i32>>,
    /// Cycles from the first offered beat to the edge that took the last row
    /// (same definition as [`crate::array::RunResult::cycles`]).
    pub cycles: u64,
    /// Wall time of the simulation proper (after elaboration and reset).
    pub sim_time: Duration,
    /// CPU time `vvp` used in the same stretch, where the system reports it
    /// ([`crate::cpu_time`]): unlike the wall time, it barely grows with other processes'
    /// load.
    pub sim_cpu_time: Option<Duration>,
    /// Wall time of `iverilog`.
    pub compile_time: Duration,
}

/// A failed Icarus run.
#[derive(Debug, thiserror::Error)]
pub enum IcarusError {
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error("io error around `{what}`: {err}")]
    Io { what: String, err: std::io::Error },
    #[error("`{cmd}` failed ({status}); log: {log}\n{tail}")]
    Run {
        cmd: String,
        status: String,
        log: PathBuf,
        tail: String,
    },
    #[error("Icarus results do not fit the tiles: {reason} (files in {dir})")]
    Results { reason: String, dir: PathBuf },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> IcarusError {
    let what = what.into();
    move |err| IcarusError::Io { what, err }
}

/// Whether `iverilog` and `vvp` are on `PATH`.
pub fn available() -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    ["iverilog", "vvp"]
        .iter()
        .all(|tool| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
}

/// `<target>/icarus/<label>`, created empty.
fn work_dir(label: &str) -> Result<PathBuf, IcarusError> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("icarus").join(label);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(io(format!("removing {}", dir.display())))?;
    }
    std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
    Ok(dir)
}

/// One line per beat: `{in_last, in_b, in_a}` in hex, most significant digit first.
fn stimulus(tiles: &[Tile], rows: usize, cols: usize) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let beats: usize = tiles.iter().map(|t| t.k).sum();
    let mut out = String::with_capacity(beats * (2 * (rows + cols) + 2));
    for t in tiles {
        for kk in 0..t.k {
            out.push(if kk + 1 == t.k { '1' } else { '0' });
            // B[kk][j] at [8*j +: 8] of in_b, above in_a; highest lane first.
            let b = (0..cols).rev().map(|j| t.b[kk * cols + j] as u8);
            let a = (0..rows).rev().map(|i| t.a[i * t.k + kk] as u8);
            for byte in b.chain(a) {
                out.push(HEX[usize::from(byte >> 4)] as char);
                out.push(HEX[usize::from(byte & 15)] as char);
            }
            out.push('\n');
        }
    }
    out
}

/// Run `tiles` through the array generated for `cfg` (its Verilog in `verilog`,
/// primitive models included) under Icarus Verilog.
pub fn run_array(
    cfg: &ArrayConfig,
    verilog: &str,
    tiles: &[Tile],
) -> Result<IcarusRun, IcarusError> {
    let (rows, cols) = (cfg.rows as usize, cfg.cols as usize);
    for t in tiles {
        assert!(t.k >= 1 && t.a.len() == rows * t.k && t.b.len() == t.k * cols);
    }
    let beats: usize = tiles.iter().map(|t| t.k).sum();
    let dir = work_dir(&format!("{}-{rows}x{cols}", cfg.name))?;
    let write = |name: &str, text: &str| -> Result<PathBuf, IcarusError> {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(io(format!("writing {}", path.display())))?;
        Ok(path)
    };
    let design = write("design.v", verilog)?;
    let tb = write("array_tb.v", TESTBENCH)?;
    let stim = write("stimulus.hex", &stimulus(tiles, rows, cols))?;
    let results = dir.join("results.hex");

    let compiled = dir.join("sim.vvp");
    let mut cmd = Command::new("iverilog");
    cmd.arg("-g2005")
        .arg(format!("-DDUT={}", cfg.name))
        .arg(format!("-Parray_tb.ROWS={rows}"))
        .arg(format!("-Parray_tb.COLS={cols}"))
        .arg(format!("-Parray_tb.BEATS={}", beats.max(1)))
        .arg(format!("-Parray_tb.TILES={}", tiles.len()))
        .arg("-o")
        .arg(&compiled)
        .arg(&tb)
        .arg(&design);
    let start = Instant::now();
    run_logged(cmd, "iverilog", "iverilog", &dir.join("iverilog.log"))?;
    let compile_time = start.elapsed();

    let (sim_time, sim_cpu_time, cycles) = run_vvp(&dir, &compiled, &stim, &results)?;
    let c = read_results(&dir, &results, tiles.len(), rows, cols)?;
    Ok(IcarusRun {
        c,
        cycles,
        sim_time,
        sim_cpu_time,
        compile_time,
    })
}

/// Run the compiled testbench, timing it from its `start` line to its `done` line: wall
/// time, CPU time if known, and the cycle count it printed.
fn run_vvp(
    dir: &Path,
    compiled: &Path,
    stim: &Path,
    results: &Path,
) -> Result<(Duration, Option<Duration>, u64), IcarusError> {
    let log_path = dir.join("vvp.log");
    let mut log = std::fs::File::create(&log_path).map_err(io("creating the vvp log"))?;
    let mut cmd = Command::new("vvp");
    cmd.arg("-n")
        .arg(compiled)
        .arg(format!("+stimulus={}", stim.display()))
        .arg(format!("+results={}", results.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let shown = format!("{cmd:?}");
    let mut child = cmd.spawn().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            IcarusError::Tool(ToolError::Missing {
                tool: "vvp".into(),
                install: "`apt-get install -y iverilog` (or run scripts/install.sh)".into(),
            })
        } else {
            IcarusError::Io {
                what: shown.clone(),
                err: e,
            }
        }
    })?;
    let pid = child.id();
    let stderr = child.stderr.take();
    let err_thread = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut s) = stderr {
            let _ = std::io::Read::read_to_string(&mut s, &mut text);
        }
        text
    });
    let (mut started, mut done, mut cycles) = (None, None, None);
    let (mut cpu_start, mut cpu_done) = (None, None);
    let mut text = String::new();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(io("reading vvp's output"))?;
            let now = Instant::now();
            if line.trim() == "array_tb: start" {
                started = Some(now);
                cpu_start = crate::cpu_time::process(pid);
            } else if let Some(n) = line.trim().strip_prefix("array_tb: done cycles=") {
                done = Some(now);
                cpu_done = crate::cpu_time::process(pid);
                cycles = n.trim().parse::<u64>().ok();
            }
            text.push_str(&line);
            text.push('\n');
        }
    }
    let status = child.wait().map_err(io("waiting for vvp"))?;
    text.push_str(&err_thread.join().unwrap_or_default());
    log.write_all(text.as_bytes())
        .map_err(io("writing the vvp log"))?;
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(40)..].join("\n");
    let failed = |status: String| IcarusError::Run {
        cmd: shown.clone(),
        status,
        log: log_path.clone(),
        tail: tail.clone(),
    };
    if !status.success() {
        return Err(failed(status.to_string()));
    }
    match (started, done, cycles) {
        (Some(s), Some(d), Some(c)) => {
            let cpu = match (cpu_start, cpu_done) {
                (Some(a), Some(b)) if b > a => Some(b - a),
                _ => None,
            };
            Ok((d.duration_since(s), cpu, c))
        }
        _ => Err(failed(
            "exit 0 without the testbench's start and done lines".into(),
        )),
    }
}

/// Parse `<out_last> <out_c>` lines back into tiles, checking `out_last` marks
/// exactly the last row of each tile.
fn read_results(
    dir: &Path,
    results: &Path,
    tiles: usize,
    rows: usize,
    cols: usize,
) -> Result<Vec<Vec<i32>>, IcarusError> {
    let bad = |reason: String| IcarusError::Results {
        reason,
        dir: dir.to_path_buf(),
    };
    let text = std::fs::read_to_string(results).map_err(io("reading the results"))?;
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.len() != tiles * rows {
        return Err(bad(format!(
            "{} result rows, expected {tiles} tiles x {rows} rows",
            lines.len()
        )));
    }
    let mut c = Vec::with_capacity(tiles);
    for (n, line) in lines.iter().enumerate() {
        let (last, data) = line
            .trim()
            .split_once(' ')
            .ok_or_else(|| bad(format!("row {n}: `{line}` is not `<last> <data>`")))?;
        let expect_last = n % rows == rows - 1;
        if last != if expect_last { "1" } else { "0" } {
            return Err(bad(format!(
                "row {n}: out_last = {last} on row {} of a {rows}-row tile",
                n % rows
            )));
        }
        if data.len() != 8 * cols || !data.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad(format!(
                "row {n}: out_c `{data}` is not {} hex digits (x or z bits?)",
                8 * cols
            )));
        }
        if n % rows == 0 {
            c.push(Vec::with_capacity(rows * cols));
        }
        let tile = c.last_mut().expect("pushed at the first row of each tile");
        // C[i][j] at [32*j +: 32]: column 0 is the last 8 digits.
        for j in 0..cols {
            let end = data.len() - 8 * j;
            let word = u32::from_str_radix(&data[end - 8..end], 16)
                .map_err(|e| bad(format!("row {n}, column {j}: {e}")))?;
            tile.push(word as i32);
        }
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stimulus_lines_pack_last_b_a_most_significant_first() {
        // 2x2, K = 2: A = [[1, 2], [3, 4]] (rows x k), B = [[5, 6], [7, -1]] (k x cols).
        let t = Tile {
            k: 2,
            a: vec![1, 2, 3, 4],
            b: vec![5, 6, 7, -1],
        };
        let s = stimulus(&[t], 2, 2);
        // Beat 0: a = {A[1][0], A[0][0]} = 03 01, b = {B[0][1], B[0][0]} = 06 05.
        // Beat 1: last, a = 04 02, b = ff 07.
        assert_eq!(s, "006050301\n1ff070402\n");
    }
}

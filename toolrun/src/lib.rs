//! `toolrun`: the one way this workspace runs an external tool (yosys, nextpnr,
//! Verilator, ...), used by the flows (`flow`) and the tool checks (`testbench`).
//!
//! A run sends the tool's stdout and stderr, interleaved as written, to one log
//! file that is kept; stdin is closed. [`run`] returns what happened whatever the
//! exit status (a flow judges nextpnr from its report even when it exits 1);
//! [`Finished::check`] turns a non-zero exit into an error naming the command, the
//! status, the log file and the log's last lines. A program that cannot be found
//! is [`ToolError::Missing`], with the command that installs it: a missing tool is
//! never a silent pass. [`spawn`] starts a tool without waiting, so several run
//! at once (the Verilator builder compiles a model and its shim side by side);
//! [`Running::wait`] ends it exactly as [`run`] does.
//!
//! A leaf crate (std only), so anything can depend on it.

use std::ffi::OsStr;
use std::fmt;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Instant;

/// Lines of the log shown in a failure message.
pub const TAIL_LINES: usize = 40;

/// Why a tool run failed.
#[derive(Debug)]
pub enum ToolError {
    /// The program is not installed (or not where it was looked for).
    Missing {
        tool: String,
        /// The command that installs it.
        install: String,
    },
    /// The tool ran and exited non-zero (or was killed).
    Failed {
        command: String,
        status: String,
        log: PathBuf,
        /// The last [`TAIL_LINES`] lines of the log.
        tail: String,
    },
    /// The log could not be written or read, or the program could not start.
    Io { what: String, err: std::io::Error },
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ToolError::Missing { tool, install } => {
                write!(f, "`{tool}` not found: install it with {install}")
            }
            ToolError::Failed {
                command,
                status,
                log,
                tail,
            } => write!(
                f,
                "`{command}` failed ({status}); log: {}\n{tail}",
                log.display()
            ),
            ToolError::Io { what, err } => write!(f, "{what}: {err}"),
        }
    }
}

impl std::error::Error for ToolError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ToolError::Io { err, .. } => Some(err),
            _ => None,
        }
    }
}

/// A finished run: the tool started and ended, successfully or not.
#[derive(Debug)]
pub struct Finished {
    /// The command as a shell would show it (program and arguments).
    pub command: String,
    pub status: ExitStatus,
    pub seconds: f64,
    /// The log file: stdout and stderr, interleaved.
    pub log: PathBuf,
    /// The log's text.
    pub output: String,
}

impl Finished {
    /// The exit code (None when killed by a signal).
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// The last `n` lines of the log.
    pub fn tail(&self, n: usize) -> String {
        tail(&self.output, n)
    }

    /// Ok when the tool exited 0, else [`ToolError::Failed`].
    pub fn check(self) -> Result<Finished, ToolError> {
        if self.success() {
            Ok(self)
        } else {
            Err(self.failure(self.status.to_string()))
        }
    }

    /// A [`ToolError::Failed`] for this run, for a tool that exited 0 but whose
    /// output shows a failure (`why`: e.g. "exit 0 but warnings printed").
    pub fn failure(&self, why: impl Into<String>) -> ToolError {
        ToolError::Failed {
            command: self.command.clone(),
            status: why.into(),
            log: self.log.clone(),
            tail: self.tail(TAIL_LINES),
        }
    }
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn shell_word(s: &OsStr) -> String {
    let s = s.to_string_lossy();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// `cmd` as a shell command line.
pub fn command_line(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(shell_word)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A started run ([`spawn`]): the tool is running, its output going to the log.
#[derive(Debug)]
pub struct Running {
    child: Child,
    command: String,
    log: PathBuf,
    /// Bytes of the log's first line (the command, see [`spawn`]).
    header: usize,
    start: Instant,
}

impl Running {
    /// The command as a shell would show it.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// Wait for the tool to end and read its log. Errors only when waiting or
    /// reading the log failed; a non-zero exit is a [`Finished`] (see
    /// [`Finished::check`]).
    pub fn wait(mut self) -> Result<Finished, ToolError> {
        let status = self.child.wait().map_err(|err| ToolError::Io {
            what: format!("cannot wait for `{}`", self.command),
            err,
        })?;
        let seconds = self.start.elapsed().as_secs_f64();
        let output = std::fs::read(&self.log)
            .map(|b| String::from_utf8_lossy(b.get(self.header..).unwrap_or_default()).into_owned())
            .map_err(|err| ToolError::Io {
                what: format!("cannot read the log {}", self.log.display()),
                err,
            })?;
        Ok(Finished {
            command: self.command,
            status,
            seconds,
            log: self.log,
            output,
        })
    }

    /// [`Running::wait`], then [`Finished::check`]: the tool must exit 0.
    pub fn wait_checked(self) -> Result<Finished, ToolError> {
        self.wait()?.check()
    }
}

/// Start `cmd` (its program, arguments, folder and environment as set by the
/// caller) with stdout and stderr in `log` (created or truncated; its first
/// line is the command as a shell would run it, `$ cd DIR && ...` when the
/// caller set a folder, so the log says how to rerun it; [`Finished::output`]
/// is the tool's output without it) and stdin closed, without waiting: several tools can run at once, each
/// [`Running::wait`]ed for. `install` is the command that installs the
/// program, for the message when it is missing.
///
/// Errors only when the tool could not start (missing, or the log failed).
pub fn spawn(mut cmd: Command, log: &Path, install: &str) -> Result<Running, ToolError> {
    let command = command_line(&cmd);
    let io = |what: String| move |err| ToolError::Io { what, err };
    let mut out =
        File::create(log).map_err(io(format!("cannot create the log {}", log.display())))?;
    let header = match cmd.get_current_dir() {
        Some(dir) => format!("$ cd {} && {command}\n", shell_word(dir.as_os_str())),
        None => format!("$ {command}\n"),
    };
    // The child's output follows: it shares this handle's offset.
    out.write_all(header.as_bytes())
        .map_err(io(format!("cannot write the log {}", log.display())))?;
    let err = out
        .try_clone()
        .map_err(io(format!("cannot share the log {}", log.display())))?;
    let start = Instant::now();
    match cmd.stdin(Stdio::null()).stdout(out).stderr(err).spawn() {
        Ok(child) => Ok(Running {
            child,
            command,
            log: log.to_path_buf(),
            header: header.len(),
            start,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let program = Path::new(cmd.get_program());
            let tool = program
                .file_name()
                .unwrap_or(program.as_os_str())
                .to_string_lossy()
                .into_owned();
            Err(ToolError::Missing {
                tool,
                install: install.to_string(),
            })
        }
        Err(e) => Err(io(format!("cannot start `{command}`"))(e)),
    }
}

/// Run `cmd` as [`spawn`] starts it, and wait for it ([`Running::wait`]).
///
/// Errors only when the tool could not run (missing, or the log failed); a
/// non-zero exit is a [`Finished`] (see [`Finished::check`]).
pub fn run(cmd: Command, log: &Path, install: &str) -> Result<Finished, ToolError> {
    spawn(cmd, log, install)?.wait()
}

/// [`run`], then [`Finished::check`]: the tool must exit 0.
pub fn run_checked(cmd: Command, log: &Path, install: &str) -> Result<Finished, ToolError> {
    run(cmd, log, install)?.check()
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The first of `names` found as an executable file in `dirs` (in order), then
/// on `PATH`.
pub fn find_program(names: &[&str], dirs: &[PathBuf]) -> Option<PathBuf> {
    let path: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    names.iter().find_map(|name| {
        dirs.iter()
            .chain(path.iter())
            .map(|d| d.join(name))
            .find(|p| is_executable(p))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("toolrun-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{e}"));
        d
    }

    #[test]
    fn output_goes_to_the_log_and_success_is_checked() {
        let d = scratch("ok");
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo out; echo err >&2"]).current_dir(&d);
        let log = d.join("ok.log");
        let f = run_checked(cmd, &log, "apt-get install -y dash").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.code(), Some(0));
        assert_eq!(f.output, "out\nerr\n");
        let header = format!("$ cd {} && sh -c 'echo out; echo err >&2'\n", d.display());
        assert_eq!(
            std::fs::read_to_string(&log).ok(),
            Some(format!("{header}out\nerr\n"))
        );
        assert_eq!(f.command, "sh -c 'echo out; echo err >&2'");
    }

    #[test]
    fn a_non_zero_exit_is_a_failure_with_the_log_and_its_tail() {
        let d = scratch("fail");
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "for i in $(seq 1 50); do echo line$i; done; exit 3"]);
        let log = d.join("fail.log");
        let f = run(cmd, &log, "-").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.code(), Some(3), "run returns the exit status");
        match f.check() {
            Err(ToolError::Failed {
                status,
                log: l,
                tail,
                ..
            }) => {
                assert!(status.contains('3'), "{status}");
                assert_eq!(l, log);
                assert_eq!(tail.lines().count(), TAIL_LINES);
                assert!(
                    tail.starts_with("line11\n") && tail.ends_with("line50"),
                    "{tail}"
                );
            }
            other => panic!("expected Failed, got {other:?}"),
        }
    }

    #[test]
    fn a_missing_program_names_its_install_command() {
        let d = scratch("missing");
        let cmd = Command::new("no-such-tool-toolrun-test");
        let e = run(cmd, &d.join("m.log"), "apt-get install -y no-such-tool")
            .map(|f| f.command)
            .err();
        let m = e.map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            m,
            "`no-such-tool-toolrun-test` not found: install it with apt-get install -y no-such-tool"
        );
    }

    #[test]
    fn spawned_tools_run_side_by_side_and_wait_like_run() {
        let d = scratch("spawn");
        // The first job waits (up to 20 s) for a file the second creates: it
        // only succeeds if both run at once, i.e. `spawn` does not block.
        let flag = d.join("flag");
        let script = format!(
            "i=0; while [ ! -e '{}' ]; do i=$((i+1)); [ $i -gt 2000 ] && exit 9; sleep 0.01; done; echo saw it; echo e0 >&2",
            flag.display()
        );
        let mut waiter = Command::new("sh");
        waiter.args(["-c", &script]);
        let mut maker = Command::new("sh");
        maker
            .args(["-c", "touch flag; echo made; echo e1 >&2"])
            .current_dir(&d);
        let jobs = [
            spawn(waiter, &d.join("j0.log"), "-").unwrap_or_else(|e| panic!("{e}")),
            spawn(maker, &d.join("j1.log"), "-").unwrap_or_else(|e| panic!("{e}")),
        ];
        assert_eq!(
            jobs[1].command(),
            "sh -c 'touch flag; echo made; echo e1 >&2'"
        );
        let done: Vec<Finished> = jobs
            .into_iter()
            .map(|j| j.wait_checked().unwrap_or_else(|e| panic!("{e}")))
            .collect();
        for (i, (f, out)) in done.iter().zip(["saw it", "made"]).enumerate() {
            assert_eq!(f.code(), Some(0));
            assert_eq!(f.output, format!("{out}\ne{i}\n"));
            assert_eq!(f.log, d.join(format!("j{i}.log")));
            // The log: the command line (with the folder where one was set), then the output.
            let log = std::fs::read_to_string(&f.log).unwrap_or_else(|e| panic!("{e}"));
            let first = log.lines().next().unwrap_or_default();
            assert!(first.starts_with("$ "), "{first}");
            assert_eq!(first.contains(" && sh -c"), i == 1, "{first}");
            assert!(first.ends_with(&shell_word(OsStr::new(if i == 0 {
                script.as_str()
            } else {
                "touch flag; echo made; echo e1 >&2"
            }))));
            assert_eq!(&log[first.len() + 1..], f.output);
        }
    }

    #[test]
    fn a_spawned_tool_that_fails_names_status_log_and_tail() {
        let d = scratch("spawn-fail");
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo first; echo last >&2; exit 7"]);
        let log = d.join("f.log");
        let running = spawn(cmd, &log, "-").unwrap_or_else(|e| panic!("{e}"));
        let e = running.wait_checked().err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some(
                format!(
                    "`sh -c 'echo first; echo last >&2; exit 7'` failed (exit status: 7); log: {}\nfirst\nlast",
                    log.display()
                )
                .as_str()
            )
        );
    }

    #[test]
    fn spawning_a_missing_program_names_its_install_command() {
        let d = scratch("spawn-missing");
        let cmd = Command::new("/nonexistent/no-such-tool-toolrun-test");
        match spawn(cmd, &d.join("m.log"), "apt-get install -y no-such-tool") {
            Err(ToolError::Missing { tool, install }) => {
                assert_eq!(tool, "no-such-tool-toolrun-test");
                assert_eq!(install, "apt-get install -y no-such-tool");
            }
            other => panic!("expected Missing, got {other:?}"),
        }
        let cmd = Command::new("sh");
        match spawn(cmd, &d.join("no-such-dir").join("m.log"), "-") {
            Err(ToolError::Io { what, .. }) => {
                assert!(what.starts_with("cannot create the log "), "{what}")
            }
            other => panic!("expected Io, got {other:?}"),
        }
    }

    #[test]
    fn programs_are_found_in_the_given_folders_first() {
        let d = scratch("find");
        let dirs = [d.clone()];
        assert_eq!(find_program(&["no-such-tool-toolrun-test"], &dirs), None);
        let name = "toolrun-test-tool";
        let p = d.join(name);
        std::fs::write(&p, "#!/bin/sh\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(find_program(&[name], &dirs), None, "not executable");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            find_program(&["no-such-tool-toolrun-test", name], &dirs),
            Some(p)
        );
        assert!(find_program(&["sh"], &[]).is_some(), "sh on PATH");
    }
}

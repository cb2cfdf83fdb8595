//! Helpers shared by the `gen` CLI tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Run the `gen` binary with `args`.
pub fn gen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gen"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run gen: {e}"))
}

/// A fresh, empty scratch folder unique to this process and a name, removed
/// when dropped; a failing test leaves it behind to look at.
pub struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

pub fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("gen-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    Scratch(dir)
}

/// `gen args` is a usage error: exit 2, nothing on stdout, exactly one line on
/// stderr, and that line contains `want`.
pub fn assert_usage_error(args: &[&str], want: &str) {
    let out = gen(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{args:?}: exit status; stderr {err}"
    );
    assert!(out.stdout.is_empty(), "{args:?}: stdout must stay empty");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{args:?}: one line, got {err:?}"
    );
    assert!(
        err.contains(want),
        "{args:?}: {err:?} should contain {want:?}"
    );
}

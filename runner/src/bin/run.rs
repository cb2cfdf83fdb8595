//! `run`: see `runner` and `docs/run.md`. Parses the flags (clap: a usage
//! error exits 2), runs, prints the tables; an error is one line on stderr,
//! exit 2 for usage errors and 1 for runtime failures.

use clap::Parser;

fn main() {
    let args = runner::Args::parse();
    // `--backend gpu` means the wgpu kernels: golden must not quietly fall
    // back to the reference when there is no adapter.
    std::env::set_var("GOLDEN_REQUIRE_GPU", "1");
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = runner::execute(&args, &mut stdout) {
        eprintln!("run: {e}");
        std::process::exit(e.exit_code());
    }
}

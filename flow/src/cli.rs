//! The command line: raw flags ([`crate::args`], all strings) -> validated
//! configuration -> the library -> stdout (the product: plan, result line, file paths) and stderr
//! (progress and diagnostics). Usage errors exit 2 with one line; failures
//! (tool, fit, timing) exit 1.

use clap::Parser;

use crate::args::{RawCli, RawCmd, RawRunArgs};
use crate::config;
use crate::error::FlowError;
use crate::out::print_out;
use crate::tools::ToolPaths;

fn progress_to_stderr(msg: &str) {
    eprintln!("flow: {msg}");
}

/// One flow run (the default command).
pub fn run(args: &RawRunArgs) -> Result<(), FlowError> {
    let cfg = config::flow_from(&args.to_raw_flow())?;
    if args.plan_only {
        let plan = crate::plan::plan_for(&cfg, &ToolPaths::plain())?;
        return print_out(&plan.describe());
    }
    let outcome = crate::exec::run_flow(&cfg, &progress_to_stderr)?;
    print_out(&format!(
        "{}\nreport: {}\nsummary: {}\n",
        crate::exec::result_line(&outcome.report),
        crate::exec::report_path(&cfg.out_dir).display(),
        cfg.out_dir.join(crate::plan::names::SUMMARY).display()
    ))?;
    match outcome.error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Parse the process arguments and run; returns the exit status.
pub fn main() -> i32 {
    let cli = match RawCli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return 0;
            }
            // One line: clap's first line names the flag and the value.
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("invalid arguments").trim();
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("flow: error: {first} (see flow --help)");
            return 2;
        }
    };
    let result = match &cli.cmd {
        None => run(&cli.run),
        Some(RawCmd::Sweep(s)) => crate::sweep::run_cli(s),
        Some(RawCmd::Asic(a)) => crate::asic::run_cli(a),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("flow: error: {e}");
            e.exit_code()
        }
    }
}

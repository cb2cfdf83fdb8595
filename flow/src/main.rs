//! `flow`: run the FPGA flow for a board (see the `flow` library for the logic).

fn main() {
    std::process::exit(flow::cli::main());
}

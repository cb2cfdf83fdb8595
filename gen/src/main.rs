//! `gen`: print the Verilog of a configured accelerator block. See `gencli` for the logic.

use clap::Parser;

// Elaborating a 256x256 array allocates about a million small objects; mimalloc
// roughly halves the time the system allocator spends on them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args = match gencli::RawArgs::try_parse() {
        Ok(a) => a,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                std::process::exit(0);
            }
            // One line: clap's first line names the flag and the value.
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("invalid arguments").trim();
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("gen: error: {first} (see gen --help)");
            std::process::exit(2);
        }
    };
    if let Err(e) = gencli::run(&args) {
        eprintln!("gen: error: {e}");
        std::process::exit(e.exit_code());
    }
}

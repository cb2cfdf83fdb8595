//! `train --model digits-cnn|lenet5 [--epochs N --seed S]`: train the float
//! network on the training split with candle (CPU) and write
//! `models/<name>.float.json`. Offline, not part of CI; then run
//! `quantize --model <name>` (crate `digits`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use digits::model::models_dir;
use digits::Dataset;
use train::Settings;

#[derive(Parser)]
#[command(about = "Train a digits network (float, CPU) and write models/<name>.float.json")]
struct Args {
    /// `digits-cnn` or `lenet5`.
    #[arg(long)]
    model: String,
    /// Passes over the training split.
    #[arg(long, default_value_t = 30)]
    epochs: u32,
    /// Seed of the weight initialisation and the shuffling.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// AdamW learning rate.
    #[arg(long, default_value_t = 0.01)]
    lr: f64,
    /// Images per step.
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Where to write instead of models/<name>.float.json.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let Some(arch) = digits::float::architecture(&args.model) else {
        eprintln!(
            "train: --model `{}`: use one of {:?}",
            args.model,
            digits::model::BUILTIN
        );
        return ExitCode::from(2);
    };
    // One thread: every float reduction in one order, the same bytes each run.
    std::env::set_var("RAYON_NUM_THREADS", "1");
    match run(&args, arch) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("train: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args, arch: &digits::float::Architecture) -> Result<()> {
    let data = Dataset::load()?;
    let settings = Settings {
        epochs: args.epochs,
        seed: args.seed,
        batch: args.batch,
        lr: args.lr,
    };
    let start = Instant::now();
    let model = train::train(arch, &data.train, &settings)?;
    let secs = start.elapsed().as_secs_f64();
    let differ = train::cross_check(&model, &data.test)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| models_dir().join(format!("{}.float.json", arch.name)));
    let tmp = out.with_extension("json.tmp");
    std::fs::write(&tmp, model.to_json()).with_context(|| tmp.display().to_string())?;
    std::fs::rename(&tmp, &out).with_context(|| out.display().to_string())?;
    println!(
        "{}: trained in {secs:.1} s; train {}/{}, float test {}/{} (plain Rust); \
         candle and plain Rust disagree on {differ} test images; wrote {}",
        arch.name,
        model.training.train_correct,
        data.train.len(),
        model.correct(&data.test),
        data.test.len(),
        out.display()
    );
    Ok(())
}

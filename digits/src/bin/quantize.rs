//! `quantize --model NAME`: post-training int8 quantization of
//! `models/NAME.float.json` (calibrated on the training split) into
//! `models/NAME.json`, with the float and int8 test accuracy; prints both.
//! The math and the calibration rule are in `digits::quant`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use digits::model::models_dir;
use digits::{quant, Dataset, FloatModel};

#[derive(Parser)]
#[command(about = "Quantize a trained float digits model to the engine's int8 model file")]
struct Args {
    /// Model name (`digits-cnn`, `lenet5`): reads models/NAME.float.json.
    #[arg(long)]
    model: String,
    /// Float file to read instead of models/NAME.float.json.
    #[arg(long)]
    float: Option<PathBuf>,
    /// Where to write instead of models/NAME.json.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if !digits::model::BUILTIN.contains(&args.model.as_str()) {
        eprintln!(
            "quantize: --model `{}`: use one of {:?}",
            args.model,
            digits::model::BUILTIN
        );
        return ExitCode::from(2);
    }
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quantize: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let float_path = args
        .float
        .clone()
        .unwrap_or_else(|| models_dir().join(format!("{}.float.json", args.model)));
    let float = FloatModel::load(&float_path).map_err(|e| e.to_string())?;
    if float.name != args.model {
        return Err(format!(
            "{}: `name`: is `{}`, want `{}`",
            float_path.display(),
            float.name,
            args.model
        ));
    }
    let data = Dataset::load().map_err(|e| e.to_string())?;
    let file = quant::model_file(&float, &data).map_err(|e| e.to_string())?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| models_dir().join(format!("{}.json", args.model)));
    // Write beside the target and rename: never a half-written model file.
    let tmp = out.with_extension("json.tmp");
    std::fs::write(&tmp, file.to_json()).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &out).map_err(|e| format!("{}: {e}", out.display()))?;
    let a = &file.accuracy;
    let pct = |n: u32| 100.0 * f64::from(n) / f64::from(a.test_images);
    println!("model {} -> {}", file.name(), out.display());
    println!("| network | test images | float correct | float % | int8 correct | int8 % |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| {} | {} | {} | {:.2} | {} | {:.2} |",
        file.name(),
        a.test_images,
        a.float_correct,
        pct(a.float_correct),
        a.int8_correct,
        pct(a.int8_correct)
    );
    Ok(())
}

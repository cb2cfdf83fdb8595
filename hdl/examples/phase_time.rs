//! Times the phases of generating a 256x256 array (build, check, print).
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(256);
    let cfg = hdl::array::ArrayConfig {
        rows: n,
        cols: n,
        name: "systolic_array".into(),
        ..hdl::array::ArrayConfig::default()
    };
    let t = Instant::now();
    let d = hdl::array::design(&cfg)?;
    let t1 = t.elapsed();
    hdl::check::check(&d)?;
    let t2 = t.elapsed();
    let v = hdl::verilog::print(&d)?;
    let t3 = t.elapsed();
    eprintln!(
        "build {:?} check {:?} print (check + text) {:?}, {} bytes",
        t1,
        t2 - t1,
        t3 - t2,
        v.len()
    );
    Ok(())
}

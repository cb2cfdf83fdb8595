use std::time::Instant;
fn main() {
    let cfg = hdl::array::ArrayConfig {
        rows: 256,
        cols: 256,
        name: "systolic_array".into(),
    };
    let t = Instant::now();
    let d = hdl::array::design(&cfg).unwrap();
    let t1 = t.elapsed();
    hdl::check::check(&d).unwrap();
    let t2 = t.elapsed();
    let v = hdl::verilog::print(&d).unwrap();
    let t3 = t.elapsed();
    eprintln!(
        "build {:?} check {:?} print(incl check) {:?} len {}",
        t1,
        t2 - t1,
        t3 - t2,
        v.len()
    );
}

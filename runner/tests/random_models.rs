//! Development helper, not a CI test: writes model files of the two
//! networks' topologies with random weights (`tests/common`) into the
//! directory named by `RUNNER_RANDOM_MODELS`, to exercise `run` before (or
//! without) the trained models:
//!
//! ```text
//! RUNNER_RANDOM_MODELS=/tmp/models cargo test -p runner --test random_models -- --ignored
//! cargo run -p runner --bin run -- --model /tmp/models/lenet5.json --backend ref --backend rtl --check
//! ```

mod common;

#[test]
#[ignore = "development helper: writes files where RUNNER_RANDOM_MODELS says"]
fn write_random_models() {
    let dir = std::env::var("RUNNER_RANDOM_MODELS")
        .expect("set RUNNER_RANDOM_MODELS to the directory to write into");
    let dir = std::path::Path::new(&dir);
    std::fs::create_dir_all(dir).expect("creates the directory");
    for (i, name) in ["digits-cnn", "lenet5"].into_iter().enumerate() {
        let path = common::write_model(dir, name, &common::random_model(name, 11 + i as u64));
        let back = digits::ModelFile::open(&path).expect("reads back");
        assert_eq!(back, common::random_model(name, 11 + i as u64));
    }
}

/// The random models exercise the datapath: on the first images every
/// layer's outputs spread over many values, mostly unsaturated.
#[test]
fn random_models_are_not_degenerate() {
    let data = digits::Dataset::load().expect("data set");
    for name in ["digits-cnn", "lenet5"] {
        let m = common::random_model(name, 11);
        let convs = m.network.conv_layers().expect("layers");
        for s in &data.test[..5] {
            let mut x = m.image(s);
            for (i, (c, l)) in convs.iter().zip(&m.network.layers).enumerate() {
                x = golden::reference::layer_reference(c, &x, &l.weights).expect("runs");
                let sat = x.iter().filter(|&&v| v == 127 || v == -128).count();
                let mut distinct = x.clone();
                distinct.sort_unstable();
                distinct.dedup();
                assert!(
                    2 * sat <= x.len() && distinct.len() >= x.len().min(16) / 2,
                    "{name} layer {i}: {sat} of {} saturated, {} distinct values",
                    x.len(),
                    distinct.len()
                );
            }
        }
    }
}

//! The README's "run one layer" example, kept compiling and correct: a conv
//! layer described as JSON, compiled to a memory image, run on the Verilated
//! engine, and its output compared with the golden model.

use compiler::compile::compile;
use compiler::net::Network;
use contracts::engine::ProgrammingModel;
use hdl::engine::EngineConfig;
use testbench::engine::{EngineSim, MemConfig};

#[test]
fn readme_example_runs_one_layer() -> Result<(), Box<dyn std::error::Error>> {
    // A 3x3 conv, 6x6x4 -> 8 channels, pad 1, ReLU, 2x2 max-pool.
    let w: Vec<i8> = (0..3 * 3 * 4 * 8)
        .map(|i| ((i * 37) % 255 - 127) as i8)
        .collect();
    let net_json = serde_json::json!({
        "name": "readme", "input": {"h": 6, "w": 6, "c": 4},
        "layers": [{"name": "conv", "out_c": 8, "k_h": 3, "k_w": 3,
            "pad_t": 1, "pad_b": 1, "pad_l": 1, "pad_r": 1, "relu": true,
            "pool_k": 2, "pool_s": 2, "weights": w,
            "bias": [0, 10, -10, 100, -100, 1000, -1000, 5],
            "mult": vec![300; 8], "shift": vec![10; 8]}]
    });
    let input: Vec<i8> = (0..6 * 6 * 4).map(|i| (i * 13 % 256) as u8 as i8).collect();

    // --- the README example ---
    let net = Network::from_json(&net_json.to_string())?;
    let cfg = EngineConfig {
        rows: 4,
        cols: 4,
        ..EngineConfig::default()
    };
    let pm = ProgrammingModel::new(cfg.mem_bits); // or from_manifest_json(engine.json)
    let prog = compile(&net, Some(&input), &pm, 0x1000)?; // image, descriptors, tensor map
    let mut sim = EngineSim::new(&cfg, MemConfig::fixed(0x1000, prog.image.len(), 8))?;
    sim.load_compiled(&prog)?; // the image, and the regions the engine may touch
    sim.start(u64::from(prog.desc_addr), u64::from(prog.desc_count))?;
    let run = sim.run_until_irq(1_000_000)?; // status, cycles, array_beats, rd/wr bytes
    let out = sim.memory_at(u64::from(prog.output.addr), prog.output.bytes as usize)?;
    // --- end of the example ---

    assert!(run.done && !run.error, "status {:#x}", run.status);
    let layer = &net.conv_layers()?[0];
    let want = golden::reference::layer_reference(layer, &input, &net.layers[0].weights)?;
    let got: Vec<i8> = out.iter().map(|&b| b as i8).collect();
    assert_eq!(got, want);
    assert_eq!(run.wr_bytes, want.len() as u64);
    Ok(())
}

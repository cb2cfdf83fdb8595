//! The committed models (`models/*.json`): they load, the engine's compiler
//! accepts them, their recorded int8 accuracy is what the golden reference
//! measures, re-quantizing the committed float file gives the committed file
//! byte for byte, and malformed files are refused in one line naming the field.

use contracts::engine::ProgrammingModel;
use digits::model::{models_dir, ModelFile, BUILTIN};
use digits::{quant, Dataset, FloatModel};
use serde_json::Value;

fn float(name: &str) -> FloatModel {
    FloatModel::load(&models_dir().join(format!("{name}.float.json")))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn committed_text(name: &str) -> String {
    std::fs::read_to_string(models_dir().join(format!("{name}.json")))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn committed_models_load_and_compile() {
    let pm = ProgrammingModel::new(64);
    for name in BUILTIN {
        let m = ModelFile::open(name).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.name(), *name);
        assert_eq!(m.accuracy.test_images, 360);
        assert_eq!(m.commands.len(), 2, "{name}: train and quantize");
        let f = float(name);
        assert_eq!(f.name, *name);
        assert_eq!(m.commands[0], f.training.command);
        assert_eq!(m.network.layers.len(), f.layers.len());
        let prog = compiler::compile(&m.network, None, &pm, 0)
            .unwrap_or_else(|e| panic!("{name}: the compiler refuses it: {e}"));
        assert_eq!(prog.desc_count as usize, m.network.layers.len());
    }
}

/// The compiled program, run by the compiler's functional executor, gives
/// the golden reference's class scores on a few test images of each model.
#[test]
fn compiled_models_execute_like_the_reference() {
    let pm = ProgrammingModel::new(64);
    let data = Dataset::load().expect("data set");
    for name in BUILTIN {
        let m = ModelFile::open(name).unwrap_or_else(|e| panic!("{e}"));
        for s in data.test.iter().step_by(90) {
            let input = m.image(s);
            let prog = compiler::compile(&m.network, Some(&input), &pm, 0)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let mut mem = prog.image.clone();
            let out = compiler::run(&mut mem, prog.base, &pm, prog.desc_addr, prog.desc_count);
            assert_eq!(out, Ok(compiler::Outcome::Done), "{name} image {}", s.index);
            let off = (prog.output.addr - prog.base) as usize;
            let got: Vec<i8> = mem[off..off + prog.output.bytes as usize]
                .iter()
                .map(|&b| b as i8)
                .collect();
            let want = m.reference(&input).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(Some(&got), want.last(), "{name} image {}", s.index);
        }
    }
}

#[test]
fn recorded_int8_accuracy_is_the_reference_accuracy() {
    let data = Dataset::load().expect("data set");
    for name in BUILTIN {
        let m = ModelFile::open(name).unwrap_or_else(|e| panic!("{e}"));
        let n = m.correct(&data.test).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(n, m.accuracy.int8_correct, "{name}");
        let f = float(name);
        assert_eq!(f.correct(&data.test), m.accuracy.float_correct, "{name}");
    }
    let cnn = ModelFile::open("digits-cnn").expect("digits-cnn");
    assert!(
        f64::from(cnn.accuracy.int8_correct) >= 0.95 * 360.0,
        "digits-cnn int8 accuracy {}/360 is under 95%",
        cnn.accuracy.int8_correct
    );
}

#[test]
fn quantizing_again_gives_the_same_bytes() {
    let data = Dataset::load().expect("data set");
    for name in BUILTIN {
        let file = quant::model_file(&float(name), &data).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            file.to_json() == committed_text(name),
            "{name}: re-quantizing differs from the committed models/{name}.json"
        );
    }
}

/// The digits-cnn file with one edit applied, parsed; must be refused with
/// one line naming `field`.
fn refused_model(edit: impl Fn(&mut Value), field: &str) {
    let mut v: Value = serde_json::from_str(&committed_text("digits-cnn")).expect("json");
    edit(&mut v);
    let text = serde_json::to_string(&v).expect("serializes");
    let e = ModelFile::parse(&text, "bad.json")
        .expect_err("malformed file accepted")
        .to_string();
    assert!(!e.contains('\n'), "not one line: {e}");
    assert!(e.starts_with("bad.json: "), "{e}");
    assert!(e.contains(field), "`{field}` not named in: {e}");
}

fn layer(v: &mut Value, i: usize) -> &mut Value {
    &mut v["network"]["layers"][i]
}

#[test]
fn malformed_model_files_are_refused_naming_the_field() {
    refused_model(
        |v| {
            layer(v, 0)["weights"]
                .as_array_mut()
                .expect("weights")
                .pop();
        },
        "`network.layers[0].weights`",
    );
    refused_model(
        |v| {
            layer(v, 1).as_object_mut().expect("layer").remove("bias");
        },
        "`network.layers[1].bias`: missing field `bias`",
    );
    refused_model(
        |v| layer(v, 1)["mult"][3] = 0.into(),
        "`network.layers[1].mult`",
    );
    refused_model(
        |v| layer(v, 2)["mult"][0] = 70000.into(),
        "`network.layers[2].mult`",
    );
    refused_model(
        |v| layer(v, 0)["shift"][0] = 40.into(),
        "`network.layers[0].shift`",
    );
    refused_model(|v| v["input"] = "nearest32".into(), "`network.input`");
    refused_model(
        |v| {
            // FC 64 -> 9: consistent tensors, but 9 class scores.
            let l = layer(v, 2);
            l["out_c"] = 9.into();
            let w: Vec<Value> = l["weights"]
                .as_array()
                .expect("weights")
                .chunks(10)
                .flat_map(|row| row[..9].to_vec())
                .collect();
            l["weights"] = w.into();
            for t in ["bias", "mult", "shift"] {
                l[t].as_array_mut().expect("tensor").pop();
            }
        },
        "`network.layers`",
    );
    refused_model(|v| v["colour"] = 1.into(), "unknown field `colour`");
    refused_model(
        |v| layer(v, 0)["strid_h"] = 1.into(),
        "unknown field `strid_h`",
    );
    refused_model(|v| v["format"] = 2.into(), "`format`");
    refused_model(|v| v["accuracy"]["int8_correct"] = 400.into(), "`accuracy`");
}

fn refused_float(edit: impl Fn(&mut Value), field: &str) {
    let path = models_dir().join("digits-cnn.float.json");
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("float file")).expect("json");
    edit(&mut v);
    let text = serde_json::to_string(&v).expect("serializes");
    let e = FloatModel::parse(&text, "bad.float.json")
        .expect_err("malformed float file accepted")
        .to_string();
    assert!(!e.contains('\n'), "not one line: {e}");
    assert!(e.contains(field), "`{field}` not named in: {e}");
}

#[test]
fn malformed_float_files_are_refused_naming_the_field() {
    refused_float(
        |v| {
            v["layers"][1]["weights"]
                .as_array_mut()
                .expect("weights")
                .push(0.5.into());
        },
        "`layers[1].weights`",
    );
    refused_float(
        |v| {
            v["layers"][2]["bias"].as_array_mut().expect("bias").pop();
        },
        "`layers[2].bias`",
    );
    refused_float(
        |v| {
            v["layers"][0]
                .as_object_mut()
                .expect("layer")
                .remove("weights");
        },
        "`layers[0].weights`: missing field `weights`",
    );
    // The 4x4 conv output cannot take a 5-window pool.
    refused_float(|v| v["layers"][1]["pool"] = 5.into(), "`layers[1].pool`");
    refused_float(|v| v["input"] = "nearest32".into(), "`layers[2].weights`");
    refused_float(|v| v["format"] = 7.into(), "`format`");
    refused_float(|v| v["extra"] = true.into(), "unknown field `extra`");
}

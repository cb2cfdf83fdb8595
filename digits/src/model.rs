//! The committed int8 model files (`models/<name>.json`): the compiler's
//! network (int8 weights, int32 bias, per-channel mult/shift) plus what the
//! network needs around it (the input rule) and what it was measured to do
//! (float and int8 test accuracy, the commands that made the file).
//!
//! The class of an image is the index of the largest int8 output of the last
//! layer (the lowest index on a tie), [`argmax`]; every backend uses it.

use std::path::{Path, PathBuf};

use compiler::Network;
use serde::{Deserialize, Serialize};

use crate::data::{self, Sample, CLASSES};

/// The file format version this crate reads and writes.
pub const FORMAT: u32 = 1;

/// The networks the project ships, by name (`models/<name>.json`).
pub const BUILTIN: &[&str] = &["digits-cnn", "lenet5"];

/// How an 8x8 sample becomes the network's input tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputRule {
    /// `8 x 8 x 1`, each grey level through [`data::level_to_i8`].
    Native8,
    /// `32 x 32 x 1`: [`data::upscale32`], then [`data::level_to_i8`].
    Nearest32,
}

impl InputRule {
    /// `(h, w, c)` of the input tensor.
    pub fn shape(self) -> (u32, u32, u32) {
        match self {
            InputRule::Native8 => (8, 8, 1),
            InputRule::Nearest32 => (32, 32, 1),
        }
    }
}

/// Test-split accuracy as measured when the file was made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accuracy {
    /// Images in the test split.
    pub test_images: u32,
    /// Correct classes of the float network.
    pub float_correct: u32,
    /// Correct classes of the int8 network (this file), on the golden model.
    pub int8_correct: u32,
}

/// One model file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    /// [`FORMAT`].
    pub format: u32,
    pub input: InputRule,
    pub accuracy: Accuracy,
    /// The commands that made this file, in order.
    pub commands: Vec<String>,
    /// The int8 network; its `name` is the model's name.
    pub network: Network,
}

/// What is wrong with a model file, in one line naming the file and field.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: `{field}`: {detail}")]
    Invalid {
        path: String,
        field: String,
        detail: String,
    },
    #[error("unknown model `{0}`: use one of {BUILTIN:?} or a path to a model file")]
    Unknown(String),
}

/// `models/` of the repository.
pub fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models")
}

impl ModelFile {
    /// A built-in name (`digits-cnn`, `lenet5`) or a path to a model file.
    pub fn open(name_or_path: &str) -> Result<ModelFile, ModelError> {
        if BUILTIN.contains(&name_or_path) {
            return ModelFile::load(&models_dir().join(format!("{name_or_path}.json")));
        }
        let path = Path::new(name_or_path);
        if path.extension().is_some_and(|e| e == "json") || path.exists() {
            return ModelFile::load(path);
        }
        Err(ModelError::Unknown(name_or_path.to_string()))
    }

    /// Read and validate a model file.
    pub fn load(path: &Path) -> Result<ModelFile, ModelError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
            path: shown.clone(),
            source,
        })?;
        ModelFile::parse(&text, &shown)
    }

    /// Parse and validate model file text; `path` only names it in errors.
    pub fn parse(text: &str, path: &str) -> Result<ModelFile, ModelError> {
        let file: ModelFile = serde_json::from_str(text).map_err(|e| ModelError::Invalid {
            path: path.to_string(),
            field: crate::json::error_field(text, &e, "/network/layers", "network.layers"),
            detail: e.to_string(),
        })?;
        file.validate(path)?;
        Ok(file)
    }

    /// The file as committed: indented JSON with every tensor on one line
    /// ([`crate::json`]); deterministic.
    pub fn to_json(&self) -> String {
        crate::json::to_string(self).unwrap_or_default()
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.network.name
    }

    /// Check everything a backend relies on; the first problem names the field.
    pub fn validate(&self, path: &str) -> Result<(), ModelError> {
        let bad = |field: &str, detail: String| ModelError::Invalid {
            path: path.to_string(),
            field: field.to_string(),
            detail,
        };
        if self.format != FORMAT {
            return Err(bad(
                "format",
                format!("version {} is not {FORMAT}", self.format),
            ));
        }
        let shapes = self.network.shapes().map_err(|e| match &e.layer {
            Some((i, name)) => bad(
                &format!("network.layers[{i}].{}", e.field),
                format!("layer `{name}`: {}", e.detail),
            ),
            None => bad(&format!("network.{}", e.field), e.detail.clone()),
        })?;
        let (h, w, c) = self.input.shape();
        let i = self.network.input;
        if (i.h, i.w, i.c) != (h, w, c) {
            return Err(bad(
                "network.input",
                format!(
                    "{i} does not match input rule {:?} ({h}x{w}x{c})",
                    self.input
                ),
            ));
        }
        let out = shapes.last().map(|s| s.output);
        if out.map(|o| o.bytes()) != Some(CLASSES as u64) {
            return Err(bad(
                "network.layers",
                format!(
                    "the last layer gives {} values, want {CLASSES} class scores",
                    out.map(|o| o.to_string()).unwrap_or_default()
                ),
            ));
        }
        let a = &self.accuracy;
        if a.test_images == 0 || a.float_correct > a.test_images || a.int8_correct > a.test_images {
            return Err(bad(
                "accuracy",
                format!(
                    "correct counts {} / {} must not exceed test_images {} (>= 1)",
                    a.float_correct, a.int8_correct, a.test_images
                ),
            ));
        }
        Ok(())
    }

    /// Every layer's int8 output (NHWC) for one input tensor, layer by layer
    /// on the golden plain-Rust reference (`golden::reference::layer_reference`).
    pub fn reference(&self, input: &[i8]) -> Result<Vec<Vec<i8>>, ModelError> {
        let err = |field: String, detail: String| ModelError::Invalid {
            path: self.name().to_string(),
            field,
            detail,
        };
        let layers = self
            .network
            .conv_layers()
            .map_err(|e| err(format!("network.{}", e.field), e.to_string()))?;
        let mut x = input.to_vec();
        let mut outs = Vec::with_capacity(layers.len());
        for (i, (c, l)) in layers.iter().zip(&self.network.layers).enumerate() {
            x = golden::reference::layer_reference(c, &x, &l.weights)
                .map_err(|e| err(format!("network.layers[{i}]"), e.to_string()))?;
            outs.push(x.clone());
        }
        Ok(outs)
    }

    /// The class of one sample on the golden reference ([`argmax`] of the
    /// last layer).
    pub fn classify(&self, sample: &Sample) -> Result<u8, ModelError> {
        let outs = self.reference(&self.image(sample))?;
        Ok(argmax(outs.last().map(Vec::as_slice).unwrap_or(&[])))
    }

    /// Correct classes over `samples` on the golden reference.
    pub fn correct(&self, samples: &[Sample]) -> Result<u32, ModelError> {
        let mut n = 0;
        for s in samples {
            n += u32::from(self.classify(s)? == s.label);
        }
        Ok(n)
    }

    /// The int8 input tensor (NHWC, `h*w*c` bytes) of one sample.
    pub fn image(&self, sample: &Sample) -> Vec<i8> {
        match self.input {
            InputRule::Native8 => sample
                .pixels
                .iter()
                .map(|&p| data::level_to_i8(p))
                .collect(),
            InputRule::Nearest32 => data::upscale32(&sample.pixels)
                .into_iter()
                .map(data::level_to_i8)
                .collect(),
        }
    }
}

/// The class: index of the largest score, the lowest index on a tie.
pub fn argmax(scores: &[i8]) -> u8 {
    let mut best = 0;
    for (i, &s) in scores.iter().enumerate() {
        if s > scores[best] {
            best = i;
        }
    }
    best as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_first_of_ties() {
        assert_eq!(argmax(&[1, 5, 5, -3]), 1);
        assert_eq!(argmax(&[-128, -128]), 0);
        assert_eq!(argmax(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 127]), 9);
    }
}

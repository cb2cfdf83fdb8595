//! The end-to-end workload: the 8x8 handwritten digits ([`data`]), the two
//! networks that classify them ([`float`]: their topologies, float weight
//! files and a plain-Rust f32 forward pass), post-training int8 quantization
//! ([`quant`], the `quantize` binary) and the committed int8 model files
//! ([`model`], laid out by [`json`]). Training is the separate `train` crate
//! (candle), so nothing here needs a training library.
//!
//! Everything a backend needs to classify an image is here and nowhere else:
//! which images form the test split, how grey levels 0..16 become the int8
//! input tensor (and how `lenet5` scales the 8x8 image to 32x32), and how the
//! class is read from the last layer's output. The `run` binary, the tests and
//! the host tool all call these functions, so the three cannot disagree.

pub mod data;
pub mod float;
pub mod json;
pub mod model;
pub mod quant;

pub use data::{Dataset, Sample, Split};
pub use float::FloatModel;
pub use model::{argmax, InputRule, ModelError, ModelFile};

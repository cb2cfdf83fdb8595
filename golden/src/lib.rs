//! Golden models for every operation the hardware performs.
//!
//! Two layers, each checked against the one below it: [`reference`](mod@reference) is plain,
//! obviously-correct integer Rust; the wgpu compute kernels ([`Golden`] on a
//! GPU adapter) are checked against it, and the RTL is checked against both
//! (see [`checked_gemm_i8`]).
//!
//! Operations, all int8 in / int32 accumulate, bit-exact between the layers:
//! GEMM, 2-D convolution ([`Conv2dShape`]), requantization + activation
//! ([`Requant`], the one rule the hardware implements), max pooling
//! ([`MaxPoolShape`]), the composite fully-connected and convolution layers,
//! and the engine's layer descriptor [`ConvLayer`] (conv or FC, per-channel
//! requant, fused pooling) with its one-call oracle [`Golden::layer`].
//!
//! The GPU path needs no GPU in the usual sense: on a machine without one,
//! wgpu runs on Mesa's lavapipe (a Vulkan driver on the CPU). Where no adapter
//! at all can be had, [`Golden`] says so once on stderr and computes with the
//! reference instead, unless `CI=true` or `GOLDEN_REQUIRE_GPU=1`, where that is
//! an error so the wgpu path is never silently skipped.

pub mod error;
mod gpu;
pub mod layer;
pub mod pack;
pub mod reference;
pub mod requant;
pub mod shape;

use std::sync::{Once, OnceLock};

pub use error::{GoldenError, Result};
pub use layer::ConvLayer;
pub use requant::Requant;
pub use shape::{Conv2dShape, MaxPoolShape, Padding, PoolWindow};

/// Name reported by [`Golden::backend_name`] when running on the reference.
pub const REFERENCE_BACKEND_NAME: &str = "rust-reference (no GPU adapter)";

enum Backend {
    Gpu(Box<gpu::GpuGolden>),
    Reference,
}

/// The golden model: wgpu kernels on a GPU adapter, or the Rust reference
/// where no adapter exists (and none is required).
///
/// Every method checks its arguments and returns [`GoldenError`] rather than
/// panicking. Methods take `&self` and are safe to call from many threads
/// (GPU work is serialized internally); use [`Golden::global`] to share one
/// device across a test binary.
pub struct Golden {
    backend: Backend,
}

impl std::fmt::Debug for Golden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Golden")
            .field("backend", &self.backend_name())
            .finish()
    }
}

/// Which environment variable, if any, makes a GPU adapter mandatory.
fn gpu_required_by() -> Option<&'static str> {
    let truthy = |var: &str| {
        std::env::var(var)
            .map(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
            .unwrap_or(false)
    };
    if truthy("GOLDEN_REQUIRE_GPU") {
        Some("GOLDEN_REQUIRE_GPU=1")
    } else if truthy("CI") {
        Some("CI=true")
    } else {
        None
    }
}

/// Vulkan loaders and Mesa's window-system code complain (and some refuse to
/// work) when `XDG_RUNTIME_DIR` is unset or not a directory, as in containers
/// and CI. Point it at a private temp directory in that case.
fn ensure_xdg_runtime_dir() {
    let ok = std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| std::path::Path::new(&d).is_dir());
    if ok {
        return;
    }
    let user = std::env::var("USER").unwrap_or_else(|_| "user".to_owned());
    let dir = std::env::temp_dir().join(format!("golden-xdg-runtime-{user}"));
    if std::fs::create_dir_all(&dir).is_err() {
        return; // Best effort: the driver works without it, only noisier.
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Best effort as well: the spec asks for 0700.
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
    }
    // Called before any wgpu/Vulkan thread exists in this process's golden
    // code path; the variable is only read by the driver we are about to load.
    std::env::set_var("XDG_RUNTIME_DIR", &dir);
}

static ANNOUNCE: Once = Once::new();

impl Golden {
    /// Creates the golden model on the first high-performance wgpu adapter
    /// (honouring `WGPU_BACKEND`, `WGPU_ADAPTER_NAME`, `WGPU_POWER_PREF`), and
    /// prints the adapter once per process to stderr.
    ///
    /// Without an adapter it prints one line and returns a reference-backed
    /// model, or fails with [`GoldenError::NoGpu`] when `CI=true` or
    /// `GOLDEN_REQUIRE_GPU=1`.
    pub fn new() -> Result<Golden> {
        Golden::create(None)
    }

    /// Like [`Golden::new`], but the device allows at most `max` workgroups
    /// per dispatch dimension (clamped to `1..=65535`). Kernels split big
    /// dispatches over a 2-D grid to respect that limit; a small `max` lets
    /// tests exercise the split without problems of 65536+ workgroups.
    pub fn with_max_workgroups_per_dim(max: u32) -> Result<Golden> {
        Golden::create(Some(max))
    }

    fn create(max_workgroups_per_dim: Option<u32>) -> Result<Golden> {
        ensure_xdg_runtime_dir();
        match gpu::GpuGolden::new(max_workgroups_per_dim) {
            Ok(g) => {
                ANNOUNCE.call_once(|| eprintln!("golden: wgpu adapter: {}", g.description()));
                Ok(Golden {
                    backend: Backend::Gpu(Box::new(g)),
                })
            }
            Err(gpu::AcquireError::Broken(e)) => Err(e),
            Err(gpu::AcquireError::Unavailable(detail)) => match gpu_required_by() {
                Some(why) => Err(GoldenError::NoGpu {
                    why: why.to_owned(),
                    detail,
                }),
                None => {
                    ANNOUNCE.call_once(|| {
                        eprintln!(
                            "golden: no GPU adapter ({detail}); using the Rust reference \
                             (CI=true or GOLDEN_REQUIRE_GPU=1 makes this an error)"
                        )
                    });
                    Ok(Golden::reference_only())
                }
            },
        }
    }

    /// A model that always computes with the Rust reference (no device).
    pub fn reference_only() -> Golden {
        Golden {
            backend: Backend::Reference,
        }
    }

    /// The process-wide model, created on first use, so all tests of a binary
    /// share one device. A creation error is returned on every call.
    pub fn global() -> Result<&'static Golden> {
        static GLOBAL: OnceLock<Result<Golden>> = OnceLock::new();
        GLOBAL
            .get_or_init(Golden::new)
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Adapter name, or [`REFERENCE_BACKEND_NAME`].
    pub fn backend_name(&self) -> &str {
        match &self.backend {
            Backend::Gpu(g) => g.name(),
            Backend::Reference => REFERENCE_BACKEND_NAME,
        }
    }

    /// Whether the wgpu kernels run (false: Rust reference).
    pub fn is_gpu(&self) -> bool {
        matches!(self.backend, Backend::Gpu(_))
    }

    /// `C[m x n] = A[m x k] * B[k x n]`, row-major int8, int32 wrapping sums.
    pub fn gemm_i8(&self, a: &[i8], b: &[i8], m: usize, k: usize, n: usize) -> Result<Vec<i32>> {
        const OP: &str = "gemm_i8";
        error::check_len(OP, "A (m*k)", error::checked_mul(OP, "m*k", m, k)?, a.len())?;
        error::check_len(OP, "B (k*n)", error::checked_mul(OP, "k*n", k, n)?, b.len())?;
        error::checked_mul(OP, "m*n", m, n)?;
        match &self.backend {
            Backend::Gpu(g) if m > 0 && n > 0 => g.gemm_i8(a, b, m, k, n),
            _ => Ok(reference::gemm_i8(a, b, m, k, n)),
        }
    }

    /// 2-D convolution (NHWC int8 input, HWIO int8 weights, optional int32
    /// bias per output channel) to int32 NHWC; see [`Conv2dShape`].
    pub fn conv2d(
        &self,
        input: &[i8],
        weights: &[i8],
        bias: Option<&[i32]>,
        shape: &Conv2dShape,
    ) -> Result<Vec<i32>> {
        match &self.backend {
            Backend::Gpu(g) => {
                reference::check_conv_args("conv2d", input, weights, bias, shape)?;
                g.conv2d(input, weights, bias, shape)
            }
            Backend::Reference => reference::conv2d(input, weights, bias, shape),
        }
    }

    /// Requantizes int32 `acc` (channel-last, `channels` channels, bias per
    /// channel) to int8 with the [`Requant`] rule.
    pub fn requant(
        &self,
        acc: &[i32],
        bias: Option<&[i32]>,
        channels: usize,
        rq: &Requant,
    ) -> Result<Vec<i8>> {
        reference::check_requant_args(acc, bias, channels)?;
        match &self.backend {
            Backend::Gpu(g) if !acc.is_empty() => g.requant(acc, bias, channels, rq),
            _ => reference::requant(acc, bias, channels, rq),
        }
    }

    /// Max pooling of an int8 NHWC tensor; see [`MaxPoolShape`].
    pub fn maxpool(&self, input: &[i8], shape: &MaxPoolShape) -> Result<Vec<i8>> {
        shape.validate()?;
        error::check_len("maxpool", "input (n*h*w*c)", shape.input_len(), input.len())?;
        match &self.backend {
            Backend::Gpu(g) => g.maxpool(input, shape),
            Backend::Reference => reference::maxpool(input, shape),
        }
    }

    /// Fully-connected layer: `requant(x[m x k] * w[k x n] + bias[n])` to int8.
    #[allow(clippy::too_many_arguments)]
    pub fn fc_layer(
        &self,
        x: &[i8],
        w: &[i8],
        bias: &[i32],
        m: usize,
        k: usize,
        n: usize,
        rq: &Requant,
    ) -> Result<Vec<i8>> {
        reference::check_fc_args(x, w, bias, m, k, n)?;
        match &self.backend {
            Backend::Gpu(g) => g.fc_layer(x, w, bias, m, k, n, rq),
            Backend::Reference => reference::fc_layer(x, w, bias, m, k, n, rq),
        }
    }

    /// Convolution layer: `requant(conv2d + bias)`, then optional max pooling
    /// of the int8 result; all stages stay on the GPU.
    pub fn conv_layer(
        &self,
        input: &[i8],
        weights: &[i8],
        bias: &[i32],
        shape: &Conv2dShape,
        rq: &Requant,
        pool: Option<PoolWindow>,
    ) -> Result<Vec<i8>> {
        let pool_shape = reference::check_conv_layer_args(input, weights, bias, shape, pool)?;
        match &self.backend {
            Backend::Gpu(g) => g.conv_layer(input, weights, bias, shape, rq, pool_shape.as_ref()),
            Backend::Reference => reference::conv_layer(input, weights, bias, shape, rq, pool),
        }
    }

    /// One engine layer ([`ConvLayer`]): convolution, per-channel requant
    /// (+ ReLU) and fused max pooling in one call, int8 NHWC out
    /// (`H_o x W_o x out_c`). On the GPU all stages run in one submission;
    /// the result equals [`reference::layer_reference`] bit for bit.
    pub fn layer(&self, layer: &ConvLayer, input: &[i8], weights: &[i8]) -> Result<Vec<i8>> {
        reference::check_layer_args(layer, input, weights)?;
        match &self.backend {
            Backend::Gpu(g) => g.layer(layer, input, weights),
            Backend::Reference => reference::layer_reference(layer, input, weights),
        }
    }
}

/// GEMM on the global golden model, cross-checked against the Rust reference:
/// returns [`GoldenError::Mismatch`] if the GPU and the reference differ.
/// This is what RTL tests compare the hardware against.
pub fn checked_gemm_i8(a: &[i8], b: &[i8], m: usize, k: usize, n: usize) -> Result<Vec<i32>> {
    let g = Golden::global()?;
    let out = g.gemm_i8(a, b, m, k, n)?;
    if g.is_gpu() {
        error::compare("gemm_i8", &out, &reference::gemm_i8(a, b, m, k, n))?;
    }
    Ok(out)
}

/// One [`ConvLayer`] on the global golden model, cross-checked against
/// [`reference::layer_reference`]: returns [`GoldenError::Mismatch`] if the
/// GPU and the reference differ. This is what the engine's RTL tests compare
/// the hardware against.
pub fn checked_layer(layer: &ConvLayer, input: &[i8], weights: &[i8]) -> Result<Vec<i8>> {
    let g = Golden::global()?;
    let out = g.layer(layer, input, weights)?;
    if g.is_gpu() {
        error::compare(
            "layer",
            &out,
            &reference::layer_reference(layer, input, weights)?,
        )?;
    }
    Ok(out)
}

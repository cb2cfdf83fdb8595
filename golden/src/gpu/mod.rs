//! The wgpu layer: device setup, the compute pipelines and the host side of
//! every kernel (packing, buffers, dispatch sizes, read-back).
//!
//! Kernels (WGSL next to this file):
//! - `matmul.wgsl`: 64x64-tiled int8 GEMM with `dot4I8Packed`, K staged
//!   through workgroup memory. Built twice: with a plain row load for GEMM
//!   and with an implicit-im2col load for convolution.
//! - `requant.wgsl`: the requantization rule with 64-bit math in u32 pairs,
//!   bias, multiplier and shift per channel.
//! - `maxpool.wgsl`: max pooling on packed int8.
//!
//! All async wgpu calls are driven with `pollster` inside this module, every
//! operation runs inside validation and out-of-memory error scopes (so wgpu
//! errors come back as [`GoldenError::Gpu`] instead of panics), and a mutex
//! serializes operations so error scopes from concurrent test threads never
//! interleave.

use std::borrow::Cow;
use std::sync::{mpsc, Mutex};

use wgpu::util::DeviceExt;

use crate::error::{GoldenError, Result};
use crate::layer::ConvLayer;
use crate::pack::{pack_cols_i8, pack_conv_weights, pack_i8, pack_rows_i8, unpack_i8, words_for};
use crate::requant::Requant;
use crate::shape::{Conv2dShape, MaxPoolShape};

const MATMUL_WGSL: &str = include_str!("matmul.wgsl");
const REQUANT_WGSL: &str = include_str!("requant.wgsl");
const MAXPOOL_WGSL: &str = include_str!("maxpool.wgsl");

/// Output tile edge of the matmul kernel (rows and columns).
const TILE: usize = 64;
/// Threads per workgroup of the elementwise kernels.
const ELEMWISE_WG: u64 = 256;

const GEMM_LOAD_A: &str = "fn load_a(row: u32, kq: u32) -> u32 {
    return a[row * P.k4 + kq];
}";

const CONV_LOAD_A: &str = "// Implicit im2col: row = output pixel (b, oy, ox), kq = packed word of
// tap (ky, kx) and input-channel group cw. Input pixels are packed with c_in
// padded to cin_w words, so a word never straddles two taps.
fn load_a(row: u32, kq: u32) -> u32 {
    let ox = row % P.wo;
    let t = row / P.wo;
    let oy = t % P.ho;
    let b = t / P.ho;
    let tap = kq / P.cin_w;
    let cw = kq % P.cin_w;
    let kx = tap % P.kw;
    let ky = tap / P.kw;
    let yy = oy * P.sy + ky * P.dy;
    let xx = ox * P.sx + kx * P.dx;
    if (yy < P.pad_top || xx < P.pad_left) {
        return 0u;
    }
    let iy = yy - P.pad_top;
    let ix = xx - P.pad_left;
    if (iy >= P.h || ix >= P.w) {
        return 0u;
    }
    return a[((b * P.h + iy) * P.w + ix) * P.cin_w + cw];
}";

/// The matmul WGSL with `load_a` spliced in and the 4x4 register tile unrolled.
pub(crate) fn matmul_source(load_a: &str) -> String {
    let mut decl = String::new();
    let mut inner = String::new();
    let mut store = String::new();
    for i in 0..4 {
        inner += &format!("            let a{i} = As[kk * TM + ty + {}u];\n", 16 * i);
    }
    for j in 0..4 {
        inner += &format!("            let b{j} = Bs[kk * TN + tx + {}u];\n", 16 * j);
    }
    for i in 0..4 {
        for j in 0..4 {
            decl += &format!("    var c{i}{j} = 0i;\n");
            inner += &format!("            c{i}{j} = c{i}{j} + dot4I8Packed(a{i}, b{j});\n");
        }
    }
    // Names must not collide with the kernel's `row0` / `col0` tile origin.
    for i in 0..4 {
        store += &format!("        let out_r{i} = row0 + ty + {}u;\n", 16 * i);
    }
    for j in 0..4 {
        store += &format!(
            "        let out_c{j} = col0 + tx + {}u;\n        var bias_c{j} = 0i;\n        \
             if (P.has_bias != 0u && out_c{j} < P.n) {{ bias_c{j} = bias[out_c{j}]; }}\n",
            16 * j
        );
    }
    for i in 0..4 {
        for j in 0..4 {
            store += &format!(
                "        if (out_r{i} < P.m && out_c{j} < P.n) {{ c[out_r{i} * P.n + out_c{j}] = c{i}{j} + bias_c{j}; }}\n"
            );
        }
    }
    MATMUL_WGSL
        .replace("{{LOAD_A}}", load_a)
        .replace("{{ACC_DECL}}", decl.trim_end())
        .replace("{{INNER}}", inner.trim_end())
        .replace("{{STORE}}", store.trim_end())
}

/// Why no GPU context could be made.
pub(crate) enum AcquireError {
    /// No adapter or no device: the caller may fall back to the reference.
    Unavailable(String),
    /// A device exists but our own setup failed (e.g. a shader does not
    /// compile): always an error.
    Broken(GoldenError),
}

/// A wgpu device with the golden model's pipelines.
pub(crate) struct GpuGolden {
    device: wgpu::Device,
    queue: wgpu::Queue,
    name: String,
    description: String,
    limits: wgpu::Limits,
    gemm: wgpu::ComputePipeline,
    conv: wgpu::ComputePipeline,
    requant: wgpu::ComputePipeline,
    maxpool: wgpu::ComputePipeline,
    lock: Mutex<()>,
}

/// Host copy of `Params` in matmul.wgsl (20 u32, 80 bytes).
#[derive(Default)]
struct MatmulParams {
    m: u32,
    n: u32,
    k4: u32,
    has_bias: u32,
    // conv only
    h: u32,
    w: u32,
    cin_w: u32,
    kh: u32,
    kw: u32,
    sy: u32,
    sx: u32,
    dy: u32,
    dx: u32,
    pad_top: u32,
    pad_left: u32,
    ho: u32,
    wo: u32,
}

/// `v` as u32 for a kernel parameter, or an error naming it.
fn u32_param(op: &'static str, name: &str, v: usize) -> Result<u32> {
    u32::try_from(v).map_err(|_| {
        GoldenError::invalid(
            op,
            format!("{name} <= u32::MAX on the GPU"),
            format!("{name} = {v}"),
        )
    })
}

/// The `Chan` array of requant.wgsl: `[bias, mult, shift, 0]` per channel.
/// A per-tensor [`Requant`] repeats its multiplier and shift on every channel.
fn chan_params(
    channels: usize,
    bias: Option<&[i32]>,
    mult_shift: impl Fn(usize) -> (u32, u32),
) -> Vec<[u32; 4]> {
    (0..channels)
        .map(|c| {
            let (m, s) = mult_shift(c);
            let b = bias.map_or(0, |b| b[c]);
            [b as u32, m, s, 0]
        })
        .collect()
}

fn pick_adapter(
    instance: &wgpu::Instance,
    backends: wgpu::Backends,
) -> std::result::Result<wgpu::Adapter, String> {
    if let Ok(want) = std::env::var("WGPU_ADAPTER_NAME") {
        let adapters = instance.enumerate_adapters(backends);
        let names: Vec<String> = adapters.iter().map(|a| a.get_info().name).collect();
        let lower = want.to_lowercase();
        return adapters
            .into_iter()
            .find(|a| a.get_info().name.to_lowercase().contains(&lower))
            .ok_or_else(|| {
                format!(
                    "WGPU_ADAPTER_NAME={want} matches none of the adapters [{}]",
                    names.join(", ")
                )
            });
    }
    let options = wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::from_env()
            .unwrap_or(wgpu::PowerPreference::HighPerformance),
        force_fallback_adapter: false,
        compatible_surface: None,
    };
    pollster::block_on(instance.request_adapter(&options))
        .map_err(|e| format!("no wgpu adapter for backends {backends:?}: {e}"))
}

impl GpuGolden {
    /// Picks an adapter (`WGPU_BACKEND`, `WGPU_ADAPTER_NAME`,
    /// `WGPU_POWER_PREF` honoured; default: first high-performance adapter),
    /// creates a device and compiles the pipelines.
    ///
    /// `max_workgroups_per_dim` lowers the device's per-dimension dispatch
    /// limit (tests use it to exercise dispatch splitting on small problems).
    pub(crate) fn new(
        max_workgroups_per_dim: Option<u32>,
    ) -> std::result::Result<Self, AcquireError> {
        let desc = wgpu::InstanceDescriptor::from_env_or_default();
        let backends = desc.backends;
        let instance = wgpu::Instance::new(&desc);
        let adapter = pick_adapter(&instance, backends).map_err(AcquireError::Unavailable)?;
        let info = adapter.get_info();
        if !adapter
            .get_downlevel_capabilities()
            .flags
            .contains(wgpu::DownlevelFlags::COMPUTE_SHADERS)
        {
            return Err(AcquireError::Unavailable(format!(
                "adapter {} has no compute shaders",
                info.name
            )));
        }
        // WebGPU's downlevel defaults (what lavapipe and every real GPU offer),
        // except that buffer sizes go as high as the adapter allows.
        let al = adapter.limits();
        let base = wgpu::Limits::downlevel_defaults();
        let limits = wgpu::Limits {
            max_storage_buffer_binding_size: al.max_storage_buffer_binding_size,
            max_buffer_size: al.max_buffer_size,
            max_compute_workgroups_per_dimension: max_workgroups_per_dim
                .map_or(base.max_compute_workgroups_per_dimension, |cap| {
                    cap.clamp(1, base.max_compute_workgroups_per_dimension)
                }),
            ..base
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("golden"),
            required_features: wgpu::Features::empty(),
            required_limits: limits.clone(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| {
            AcquireError::Unavailable(format!("adapter {} refused a device: {e}", info.name))
        })?;
        // Errors outside our scopes must not panic the process; they are logged.
        device.on_uncaptured_error(Box::new(|e| {
            eprintln!("golden: uncaptured wgpu error: {e}")
        }));

        device.push_error_scope(wgpu::ErrorFilter::Validation);
        let pipeline = |label: &str, src: String| {
            let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(label),
                source: wgpu::ShaderSource::Wgsl(Cow::Owned(src)),
            });
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(label),
                layout: None,
                module: &module,
                entry_point: Some("main"),
                compilation_options: wgpu::PipelineCompilationOptions::default(),
                cache: None,
            })
        };
        let gemm = pipeline("golden gemm", matmul_source(GEMM_LOAD_A));
        let conv = pipeline("golden conv2d", matmul_source(CONV_LOAD_A));
        let requant = pipeline("golden requant", REQUANT_WGSL.to_owned());
        let maxpool = pipeline("golden maxpool", MAXPOOL_WGSL.to_owned());
        if let Some(e) = pollster::block_on(device.pop_error_scope()) {
            return Err(AcquireError::Broken(GoldenError::Gpu {
                op: "pipeline creation",
                msg: e.to_string(),
            }));
        }
        let description = format!(
            "{} [{:?}, {:?}, driver: {} {}]",
            info.name, info.backend, info.device_type, info.driver, info.driver_info
        );
        Ok(GpuGolden {
            device,
            queue,
            name: info.name,
            description,
            limits,
            gemm,
            conv,
            requant,
            maxpool,
            lock: Mutex::new(()),
        })
    }

    /// Adapter name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Adapter name, backend, device type and driver, for logs.
    pub(crate) fn description(&self) -> &str {
        &self.description
    }

    /// Runs `f` with the device locked and inside validation + OOM error scopes.
    fn scoped<T>(&self, op: &'static str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let _guard = self
            .lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let out = f();
        let validation = pollster::block_on(self.device.pop_error_scope());
        let oom = pollster::block_on(self.device.pop_error_scope());
        if let Some(e) = validation.or(oom) {
            return Err(GoldenError::Gpu {
                op,
                msg: e.to_string(),
            });
        }
        out
    }

    fn check_size(&self, op: &'static str, what: &'static str, bytes: u64) -> Result<()> {
        let limits = [
            ("max_buffer_size", self.limits.max_buffer_size),
            (
                "max_storage_buffer_binding_size",
                u64::from(self.limits.max_storage_buffer_binding_size),
            ),
        ];
        for (limit_name, limit) in limits {
            if bytes > limit {
                return Err(GoldenError::TooLarge {
                    op,
                    what,
                    bytes,
                    limit_name,
                    limit,
                });
            }
        }
        Ok(())
    }

    /// Checks a matmul's packed operand and output sizes before anything is
    /// packed or allocated, so an oversized problem fails fast and cheaply.
    fn precheck_matmul(
        &self,
        op: &'static str,
        a_words: usize,
        b_words: usize,
        out_len: usize,
    ) -> Result<()> {
        self.check_size(op, "A / input (packed)", (a_words as u64).saturating_mul(4))?;
        self.check_size(
            op,
            "B / weights (packed)",
            (b_words as u64).saturating_mul(4),
        )?;
        self.check_size(op, "output", (out_len as u64).saturating_mul(4))
    }

    /// A storage buffer holding `data` (one zero word if empty: bindings may not be empty).
    fn upload<T: bytemuck::Pod>(
        &self,
        op: &'static str,
        what: &'static str,
        data: &[T],
    ) -> Result<wgpu::Buffer> {
        let bytes: &[u8] = bytemuck::cast_slice(data);
        self.check_size(op, what, bytes.len() as u64)?;
        let zero = [0u8; 4];
        let contents = if bytes.is_empty() { &zero[..] } else { bytes };
        Ok(self
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(what),
                contents,
                usage: wgpu::BufferUsages::STORAGE,
            }))
    }

    /// A zeroed storage buffer of `words` 32-bit words that can be copied out.
    fn output(&self, op: &'static str, what: &'static str, words: usize) -> Result<wgpu::Buffer> {
        let bytes = (words.max(1) as u64) * 4;
        self.check_size(op, what, bytes)?;
        Ok(self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(what),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        }))
    }

    fn uniform(&self, words: &[u32]) -> wgpu::Buffer {
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("golden params"),
                contents: bytemuck::cast_slice(words),
                usage: wgpu::BufferUsages::UNIFORM,
            })
    }

    /// Splits `groups` workgroups into a 2-D grid within the per-dimension limit.
    fn grid(&self, op: &'static str, groups: u64) -> Result<(u32, u32)> {
        let max = u64::from(self.limits.max_compute_workgroups_per_dimension);
        let x = groups.clamp(1, max);
        let y = groups.div_ceil(x).max(1);
        if y > max {
            return Err(GoldenError::invalid(
                op,
                format!("workgroups <= {max}^2"),
                format!("workgroups = {groups}"),
            ));
        }
        // Both fit in u32: each is at most `max`, itself a u32.
        Ok((x as u32, y as u32))
    }

    fn dispatch(
        &self,
        enc: &mut wgpu::CommandEncoder,
        pipeline: &wgpu::ComputePipeline,
        buffers: &[&wgpu::Buffer],
        (x, y): (u32, u32),
    ) {
        let layout = pipeline.get_bind_group_layout(0);
        let entries: Vec<wgpu::BindGroupEntry<'_>> = buffers
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: b.as_entire_binding(),
            })
            .collect();
        let group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &layout,
            entries: &entries,
        });
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: None,
            timestamp_writes: None,
        });
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, &group, &[]);
        pass.dispatch_workgroups(x, y, 1);
    }

    /// Submits `enc` after copying `words` words of `src` out, and returns them.
    fn finish_and_read(
        &self,
        op: &'static str,
        mut enc: wgpu::CommandEncoder,
        src: &wgpu::Buffer,
        words: usize,
    ) -> Result<Vec<u32>> {
        let bytes = (words.max(1) as u64) * 4;
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("golden read-back"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        enc.copy_buffer_to_buffer(src, 0, &staging, 0, bytes);
        self.queue.submit([enc.finish()]);
        let slice = staging.slice(..);
        let (tx, rx) = mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            // The receiver outlives the poll below; a failed send only means it is gone.
            let _ = tx.send(r);
        });
        let gpu_err = |msg: String| GoldenError::Gpu { op, msg };
        self.device
            .poll(wgpu::PollType::Wait)
            .map_err(|e| gpu_err(e.to_string()))?;
        rx.recv()
            .map_err(|e| gpu_err(format!("map callback never ran: {e}")))?
            .map_err(|e| gpu_err(format!("mapping the result failed: {e}")))?;
        let mut out: Vec<u32> = bytemuck::cast_slice(&slice.get_mapped_range()).to_vec();
        staging.unmap();
        out.truncate(words);
        Ok(out)
    }

    fn encoder(&self) -> wgpu::CommandEncoder {
        self.device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("golden"),
            })
    }

    /// Encodes the tiled matmul; returns the int32 output buffer (`m*n` values).
    fn enc_matmul(
        &self,
        op: &'static str,
        enc: &mut wgpu::CommandEncoder,
        conv: bool,
        [a, bt]: [&[u32]; 2],
        bias: Option<&[i32]>,
        p: MatmulParams,
    ) -> Result<wgpu::Buffer> {
        let (m, n) = (p.m as usize, p.n as usize);
        let tiles_n = n.div_ceil(TILE);
        let total = m.div_ceil(TILE) * tiles_n;
        let total_u32 = u32_param(op, "output tiles", total)?;
        let out_len = m * n;
        let out_bytes = (out_len as u64) * 4;
        self.check_size(op, "output", out_bytes)?;
        let a_buf = self.upload(op, "A / input (packed)", a)?;
        let b_buf = self.upload(op, "B / weights (packed)", bt)?;
        let bias_buf = self.upload(op, "bias", bias.unwrap_or(&[0]))?;
        let out = self.output(op, "output", out_len)?;
        let words = [
            p.m,
            p.n,
            p.k4,
            tiles_n as u32,
            total_u32,
            p.has_bias,
            p.h,
            p.w,
            p.cin_w,
            p.kh,
            p.kw,
            p.sy,
            p.sx,
            p.dy,
            p.dx,
            p.pad_top,
            p.pad_left,
            p.ho,
            p.wo,
            0,
        ];
        let params = self.uniform(&words);
        let grid = self.grid(op, total as u64)?;
        let pipeline = if conv { &self.conv } else { &self.gemm };
        self.dispatch(
            enc,
            pipeline,
            &[&params, &a_buf, &b_buf, &bias_buf, &out],
            grid,
        );
        Ok(out)
    }

    /// Encodes requantization of `len` int32 values in `acc` with per-channel
    /// parameters `chan` (value `i` uses `chan[i % chan.len()]`, see
    /// [`chan_params`]); returns the packed int8 buffer.
    fn enc_requant(
        &self,
        op: &'static str,
        enc: &mut wgpu::CommandEncoder,
        (acc, len): (&wgpu::Buffer, usize),
        chan: &[[u32; 4]],
        relu: bool,
    ) -> Result<wgpu::Buffer> {
        let words = words_for(len);
        let chan_buf = self.upload(op, "per-channel requant parameters", chan)?;
        let out = self.output(op, "requantized output", words)?;
        let lo: i32 = if relu { 0 } else { -128 };
        let params = self.uniform(&[
            u32_param(op, "len", len)?,
            u32_param(op, "channels", chan.len())?,
            lo as u32,
            u32_param(op, "words", words)?,
        ]);
        let grid = self.grid(op, (words as u64).div_ceil(ELEMWISE_WG))?;
        self.dispatch(enc, &self.requant, &[&params, acc, &chan_buf, &out], grid);
        Ok(out)
    }

    /// Encodes max pooling of the packed int8 buffer `input`; returns the packed output.
    fn enc_maxpool(
        &self,
        op: &'static str,
        enc: &mut wgpu::CommandEncoder,
        input: &wgpu::Buffer,
        s: &MaxPoolShape,
    ) -> Result<wgpu::Buffer> {
        let len = s.output_len();
        let words = words_for(len);
        let out = self.output(op, "pooled output", words)?;
        let win = &s.window;
        let pad_h = s.h + win.pad.top + win.pad.bottom;
        let pad_w = s.w + win.pad.left + win.pad.right;
        u32_param(op, "h + pad.top + pad.bottom", pad_h)?;
        u32_param(op, "w + pad.left + pad.right", pad_w)?;
        u32_param(op, "input length", s.input_len())?;
        let params = self.uniform(&[
            u32_param(op, "n", s.n)?,
            u32_param(op, "h", s.h)?,
            u32_param(op, "w", s.w)?,
            u32_param(op, "c", s.c)?,
            u32_param(op, "kh", win.kh)?,
            u32_param(op, "kw", win.kw)?,
            u32_param(op, "stride_y", win.stride.0)?,
            u32_param(op, "stride_x", win.stride.1)?,
            u32_param(op, "pad.top", win.pad.top)?,
            u32_param(op, "pad.left", win.pad.left)?,
            u32_param(op, "h_out", s.h_out())?,
            u32_param(op, "w_out", s.w_out())?,
            u32_param(op, "output length", len)?,
            u32_param(op, "output words", words)?,
            0,
            0,
        ]);
        let grid = self.grid(op, (words as u64).div_ceil(ELEMWISE_WG))?;
        self.dispatch(enc, &self.maxpool, &[&params, input, &out], grid);
        Ok(out)
    }

    fn conv_params(op: &'static str, s: &Conv2dShape) -> Result<MatmulParams> {
        let cin_w = words_for(s.c_in);
        u32_param(
            op,
            "h + pad.top + pad.bottom",
            s.h + s.pad.top + s.pad.bottom,
        )?;
        u32_param(
            op,
            "w + pad.left + pad.right",
            s.w + s.pad.left + s.pad.right,
        )?;
        u32_param(op, "packed input words", s.n * s.h * s.w * cin_w)?;
        Ok(MatmulParams {
            m: u32_param(op, "n*h_out*w_out", s.output_pixels())?,
            n: u32_param(op, "c_out", s.c_out)?,
            k4: u32_param(op, "kh*kw*ceil(c_in/4)", s.kh * s.kw * cin_w)?,
            has_bias: 0,
            h: u32_param(op, "h", s.h)?,
            w: u32_param(op, "w", s.w)?,
            cin_w: u32_param(op, "ceil(c_in/4)", cin_w)?,
            kh: u32_param(op, "kh", s.kh)?,
            kw: u32_param(op, "kw", s.kw)?,
            sy: u32_param(op, "stride_y", s.stride.0)?,
            sx: u32_param(op, "stride_x", s.stride.1)?,
            dy: u32_param(op, "dilation_y", s.dilation.0)?,
            dx: u32_param(op, "dilation_x", s.dilation.1)?,
            pad_top: u32_param(op, "pad.top", s.pad.top)?,
            pad_left: u32_param(op, "pad.left", s.pad.left)?,
            ho: u32_param(op, "h_out", s.h_out())?,
            wo: u32_param(op, "w_out", s.w_out())?,
        })
    }

    fn enc_conv(
        &self,
        op: &'static str,
        enc: &mut wgpu::CommandEncoder,
        input: &[i8],
        weights: &[i8],
        bias: Option<&[i32]>,
        s: &Conv2dShape,
    ) -> Result<wgpu::Buffer> {
        let mut p = Self::conv_params(op, s)?;
        p.has_bias = u32::from(bias.is_some());
        let cin_w = words_for(s.c_in);
        self.precheck_matmul(
            op,
            s.n * s.h * s.w * cin_w,
            s.c_out * s.kh * s.kw * cin_w,
            s.output_len(),
        )?;
        let a = pack_rows_i8(input, s.n * s.h * s.w, s.c_in);
        let bt = pack_conv_weights(weights, s.kh * s.kw, s.c_in, s.c_out);
        self.enc_matmul(op, enc, true, [&a, &bt], bias, p)
    }

    fn gemm_params(op: &'static str, m: usize, k: usize, n: usize) -> Result<MatmulParams> {
        Ok(MatmulParams {
            m: u32_param(op, "m", m)?,
            n: u32_param(op, "n", n)?,
            k4: u32_param(op, "ceil(k/4)", words_for(k))?,
            ..MatmulParams::default()
        })
    }

    /// GEMM; arguments already checked by the caller.
    pub(crate) fn gemm_i8(
        &self,
        a: &[i8],
        b: &[i8],
        m: usize,
        k: usize,
        n: usize,
    ) -> Result<Vec<i32>> {
        const OP: &str = "gemm_i8";
        let p = Self::gemm_params(OP, m, k, n)?;
        self.precheck_matmul(OP, m * words_for(k), n * words_for(k), m * n)?;
        let (ap, bp) = (pack_rows_i8(a, m, k), pack_cols_i8(b, k, n));
        self.scoped(OP, || {
            let mut enc = self.encoder();
            let out = self.enc_matmul(OP, &mut enc, false, [&ap, &bp], None, p)?;
            let words = self.finish_and_read(OP, enc, &out, m * n)?;
            Ok(bytemuck::cast_slice(&words).to_vec())
        })
    }

    /// Convolution; arguments already checked by the caller.
    pub(crate) fn conv2d(
        &self,
        input: &[i8],
        weights: &[i8],
        bias: Option<&[i32]>,
        s: &Conv2dShape,
    ) -> Result<Vec<i32>> {
        const OP: &str = "conv2d";
        self.scoped(OP, || {
            let mut enc = self.encoder();
            let out = self.enc_conv(OP, &mut enc, input, weights, bias, s)?;
            let words = self.finish_and_read(OP, enc, &out, s.output_len())?;
            Ok(bytemuck::cast_slice(&words).to_vec())
        })
    }

    /// Requantization; arguments already checked by the caller.
    pub(crate) fn requant(
        &self,
        acc: &[i32],
        bias: Option<&[i32]>,
        channels: usize,
        rq: &Requant,
    ) -> Result<Vec<i8>> {
        const OP: &str = "requant";
        self.scoped(OP, || {
            let mut enc = self.encoder();
            let acc_buf = self.upload(OP, "acc", acc)?;
            let chan = chan_params(channels, bias, |_| (rq.mult(), rq.shift()));
            let out = self.enc_requant(OP, &mut enc, (&acc_buf, acc.len()), &chan, rq.relu())?;
            let words = self.finish_and_read(OP, enc, &out, words_for(acc.len()))?;
            Ok(unpack_i8(&words, acc.len()))
        })
    }

    /// Max pooling; arguments already checked by the caller.
    pub(crate) fn maxpool(&self, input: &[i8], s: &MaxPoolShape) -> Result<Vec<i8>> {
        const OP: &str = "maxpool";
        self.scoped(OP, || {
            let mut enc = self.encoder();
            let in_buf = self.upload(OP, "input (packed)", &pack_i8(input))?;
            let out = self.enc_maxpool(OP, &mut enc, &in_buf, s)?;
            let words = self.finish_and_read(OP, enc, &out, words_for(s.output_len()))?;
            Ok(unpack_i8(&words, s.output_len()))
        })
    }

    /// Fully-connected layer, all on the GPU; arguments already checked.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn fc_layer(
        &self,
        x: &[i8],
        w: &[i8],
        bias: &[i32],
        m: usize,
        k: usize,
        n: usize,
        rq: &Requant,
    ) -> Result<Vec<i8>> {
        const OP: &str = "fc_layer";
        let p = Self::gemm_params(OP, m, k, n)?;
        self.precheck_matmul(OP, m * words_for(k), n * words_for(k), m * n)?;
        let (ap, bp) = (pack_rows_i8(x, m, k), pack_cols_i8(w, k, n));
        self.scoped(OP, || {
            let mut enc = self.encoder();
            let acc = self.enc_matmul(OP, &mut enc, false, [&ap, &bp], None, p)?;
            let chan = chan_params(n, Some(bias), |_| (rq.mult(), rq.shift()));
            let out = self.enc_requant(OP, &mut enc, (&acc, m * n), &chan, rq.relu())?;
            let words = self.finish_and_read(OP, enc, &out, words_for(m * n))?;
            Ok(unpack_i8(&words, m * n))
        })
    }

    /// Conv layer (conv, bias + requant, optional pool), all on the GPU without
    /// intermediate read-back; arguments already checked.
    pub(crate) fn conv_layer(
        &self,
        input: &[i8],
        weights: &[i8],
        bias: &[i32],
        s: &Conv2dShape,
        rq: &Requant,
        pool: Option<&MaxPoolShape>,
    ) -> Result<Vec<i8>> {
        const OP: &str = "conv_layer";
        self.scoped(OP, || {
            let mut enc = self.encoder();
            let acc = self.enc_conv(OP, &mut enc, input, weights, None, s)?;
            let chan = chan_params(s.c_out, Some(bias), |_| (rq.mult(), rq.shift()));
            let y = self.enc_requant(OP, &mut enc, (&acc, s.output_len()), &chan, rq.relu())?;
            let (out, len) = match pool {
                Some(ps) => (self.enc_maxpool(OP, &mut enc, &y, ps)?, ps.output_len()),
                None => (y, s.output_len()),
            };
            let words = self.finish_and_read(OP, enc, &out, words_for(len))?;
            Ok(unpack_i8(&words, len))
        })
    }

    /// One [`ConvLayer`] in one submission: implicit-im2col conv, per-channel
    /// requant (+ ReLU), optional max pool, with no read-back in between.
    /// Arguments already checked by the caller.
    pub(crate) fn layer(&self, l: &ConvLayer, input: &[i8], weights: &[i8]) -> Result<Vec<i8>> {
        const OP: &str = "layer";
        let s = l.conv_shape();
        let pool = l.pool_shape();
        // The layer's rules include the max-pool unit's; re-checking is cheap
        // and keeps a wrong mapping from reaching the kernel.
        if let Some(ps) = &pool {
            ps.validate()?;
        }
        let chan = chan_params(l.out_c, Some(&l.bias), |c| (l.mult[c], l.shift[c]));
        self.scoped(OP, || {
            let mut enc = self.encoder();
            let acc = self.enc_conv(OP, &mut enc, input, weights, None, &s)?;
            let r = self.enc_requant(OP, &mut enc, (&acc, l.conv_len()), &chan, l.relu)?;
            let out = match &pool {
                Some(ps) => self.enc_maxpool(OP, &mut enc, &r, ps)?,
                None => r,
            };
            let len = l.output_len();
            let words = self.finish_and_read(OP, enc, &out, words_for(len))?;
            Ok(unpack_i8(&words, len))
        })
    }
}

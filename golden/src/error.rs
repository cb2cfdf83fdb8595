//! The crate's one error type, so callers see plain `Result<T, GoldenError>`.
//!
//! Every check that can fail on user input (shapes, lengths, parameters) or on
//! the GPU (no adapter, validation, buffer limits) lands here instead of
//! panicking: the golden model sits under every RTL test, and a panic deep in a
//! shared GPU context would take the whole test process down.

/// Result alias used throughout the crate.
pub type Result<T, E = GoldenError> = std::result::Result<T, E>;

/// Everything that can go wrong in the golden models.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GoldenError {
    /// A shape or parameter breaks one of the documented rules.
    ///
    /// `rule` is the rule as written in the docs (e.g. `stride_y >= 1`) and
    /// `value` shows the offending value(s) (e.g. `stride_y = 0`).
    #[error("{op}: violates `{rule}`: {value}")]
    Invalid {
        /// Operation whose arguments were checked (`conv2d`, `maxpool`, ...).
        op: &'static str,
        /// The broken rule.
        rule: String,
        /// The values that broke it.
        value: String,
    },

    /// A tensor slice does not hold as many elements as its shape says.
    #[error("{op}: {what} must hold {expected} elements, got {got}")]
    LengthMismatch {
        /// Operation being called.
        op: &'static str,
        /// Which argument (`A`, `weights`, `bias`, ...).
        what: &'static str,
        /// Elements the shape implies.
        expected: usize,
        /// Elements actually passed.
        got: usize,
    },

    /// No usable GPU adapter, and the environment requires one
    /// (`CI=true` or `GOLDEN_REQUIRE_GPU=1`).
    #[error("no GPU adapter for the golden model and one is required ({why}): {detail}")]
    NoGpu {
        /// Which environment variable made the GPU mandatory.
        why: String,
        /// What failed while looking for an adapter or device.
        detail: String,
    },

    /// A buffer needed by the problem exceeds what the adapter allows.
    #[error(
        "{op}: {what} needs {bytes} bytes, over the adapter limit {limit_name} = {limit} bytes"
    )]
    TooLarge {
        /// Operation being run.
        op: &'static str,
        /// Which buffer.
        what: &'static str,
        /// Bytes it would need.
        bytes: u64,
        /// Name of the wgpu limit.
        limit_name: &'static str,
        /// Value of that limit on this device.
        limit: u64,
    },

    /// wgpu reported an error (validation, out of memory, map failure, device lost).
    #[error("wgpu error in {op}: {msg}")]
    Gpu {
        /// Operation being run.
        op: &'static str,
        /// wgpu's message.
        msg: String,
    },

    /// The GPU golden model and the Rust reference disagree.
    #[error(
        "{op}: GPU golden and Rust reference differ at {count} of {len} elements; \
         first at index {index}: gpu = {gpu}, reference = {reference}"
    )]
    Mismatch {
        /// Operation compared.
        op: &'static str,
        /// Index of the first differing element.
        index: usize,
        /// GPU value there.
        gpu: i64,
        /// Reference value there.
        reference: i64,
        /// Number of differing elements.
        count: usize,
        /// Number of elements compared.
        len: usize,
    },
}

impl GoldenError {
    /// Shorthand for [`GoldenError::Invalid`].
    pub(crate) fn invalid(
        op: &'static str,
        rule: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        GoldenError::Invalid {
            op,
            rule: rule.into(),
            value: value.into(),
        }
    }
}

/// Checks that a slice holds exactly `expected` elements.
pub(crate) fn check_len(
    op: &'static str,
    what: &'static str,
    expected: usize,
    got: usize,
) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(GoldenError::LengthMismatch {
            op,
            what,
            expected,
            got,
        })
    }
}

/// `a * b`, or an error naming the product when it overflows `usize`.
pub(crate) fn checked_mul(op: &'static str, what: &str, a: usize, b: usize) -> Result<usize> {
    a.checked_mul(b).ok_or_else(|| {
        GoldenError::invalid(
            op,
            format!("{what} fits in usize"),
            format!("{a} * {b} overflows"),
        )
    })
}

/// Compares two equal-length results element by element.
pub(crate) fn compare<T: Copy + Into<i64> + PartialEq>(
    op: &'static str,
    gpu: &[T],
    reference: &[T],
) -> Result<()> {
    check_len(op, "GPU result", reference.len(), gpu.len())?;
    let mut first = None;
    let mut count = 0usize;
    for (i, (g, r)) in gpu.iter().zip(reference).enumerate() {
        if g != r {
            count += 1;
            first.get_or_insert((i, (*g).into(), (*r).into()));
        }
    }
    match first {
        None => Ok(()),
        Some((index, gpu_v, ref_v)) => Err(GoldenError::Mismatch {
            op,
            index,
            gpu: gpu_v,
            reference: ref_v,
            count,
            len: reference.len(),
        }),
    }
}

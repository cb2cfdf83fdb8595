//! The three ways to run a network, behind one interface: an image in, every
//! layer's int8 output (NHWC) out, and for the engine its counters.

use compiler::Network;
use golden::{ConvLayer, Golden};

use crate::rtl::{LayerCounters, Rtl};
use crate::RunError;

/// What one image gave on one backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRun {
    /// Every layer's output, in order (the last one holds the class scores).
    pub layers: Vec<Vec<i8>>,
    /// The engine's counters per layer (`rtl` only).
    pub counters: Option<Vec<LayerCounters>>,
}

/// A backend ready to run images of one network.
pub enum Backend {
    Reference(Layers),
    Gpu(Layers, Box<Golden>),
    Rtl(Box<Rtl>),
}

/// A network as golden layers with their weights.
pub struct Layers {
    pub layers: Vec<(ConvLayer, Vec<i8>)>,
}

impl Layers {
    /// The layers of a validated network; a network golden refuses is a usage error.
    pub fn new(net: &Network) -> Result<Layers, RunError> {
        let convs = net
            .conv_layers()
            .map_err(|e| RunError::Usage(format!("model `{}`: {e}", net.name)))?;
        Ok(Layers {
            layers: convs
                .into_iter()
                .zip(&net.layers)
                .map(|(c, l)| (c, l.weights.clone()))
                .collect(),
        })
    }

    fn run(
        &self,
        backend: &str,
        image: &[i8],
        mut f: impl FnMut(&ConvLayer, &[i8], &[i8]) -> golden::Result<Vec<i8>>,
    ) -> Result<ImageRun, RunError> {
        let mut outs: Vec<Vec<i8>> = Vec::with_capacity(self.layers.len());
        for (i, (layer, w)) in self.layers.iter().enumerate() {
            let input = outs.last().map_or(image, Vec::as_slice);
            let out = f(layer, input, w)
                .map_err(|e| RunError::Runtime(format!("backend {backend}: layer {i}: {e}")))?;
            outs.push(out);
        }
        Ok(ImageRun {
            layers: outs,
            counters: None,
        })
    }
}

impl Backend {
    /// `ref`: golden's plain-Rust reference.
    pub fn reference(net: &Network) -> Result<Backend, RunError> {
        Ok(Backend::Reference(Layers::new(net)?))
    }

    /// `gpu`: golden's wgpu kernels on the first adapter; an error (not the
    /// reference) when there is none.
    pub fn gpu(net: &Network) -> Result<Backend, RunError> {
        let layers = Layers::new(net)?;
        let g = Golden::new().map_err(|e| RunError::Runtime(format!("backend gpu: {e}")))?;
        if !g.is_gpu() {
            return Err(RunError::Runtime(
                "backend gpu: no wgpu adapter on this machine (install a Vulkan driver, e.g. Mesa's lavapipe, or use --backend ref)"
                    .into(),
            ));
        }
        Ok(Backend::Gpu(layers, Box::new(g)))
    }

    /// The backend's name as given on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Reference(_) => "ref",
            Backend::Gpu(..) => "gpu",
            Backend::Rtl(_) => "rtl",
        }
    }

    /// What the backend runs on, for the report: the wgpu adapter of `gpu`.
    pub fn device(&self) -> Option<String> {
        match self {
            Backend::Gpu(_, g) => Some(format!("wgpu adapter `{}`", g.backend_name())),
            Backend::Reference(_) | Backend::Rtl(_) => None,
        }
    }

    /// Run one image (the network's int8 input tensor).
    pub fn run(&mut self, image: &[i8]) -> Result<ImageRun, RunError> {
        match self {
            Backend::Reference(l) => l.run("ref", image, golden::reference::layer_reference),
            Backend::Gpu(l, g) => l.run("gpu", image, |layer, x, w| g.layer(layer, x, w)),
            Backend::Rtl(r) => r.run_layers(image),
        }
    }
}

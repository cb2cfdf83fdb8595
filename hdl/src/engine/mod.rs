//! The tile-based conv/FC engine: a descriptor-driven block that runs whole
//! int8 conv and FC layers out of memory on the systolic array
//! (`docs/engine.md` for the design, `docs/engine-contract.md` for the
//! contract, [`contracts::engine`] for the programming model as data).

pub mod config;

pub use config::{EngineConfig, EngineDerived};

use crate::ir::{Design, Module, Ty};
use crate::parts::bundle::{CsrPort, MemPort, Role};
use crate::{GenError, Generated};

/// Elaborate the engine described by `cfg` (validating `cfg` first).
pub fn design(cfg: &EngineConfig) -> Result<Design, GenError> {
    cfg.validate()?;
    let mut d = Design::new(cfg.name.clone());
    let mut m = Module::new(cfg.name.clone());
    m.doc("Tile-based int8 conv/FC engine (work in progress: ports only).");
    let clk = m.input(
        "clk",
        Ty::bit(),
        Some("Clock and synchronous active-high reset"),
        "",
    );
    let rst = m.input("rst", Ty::bit(), None, "");
    let csr = CsrPort::ports(
        &mut m,
        "csr",
        Role::Slave,
        contracts::engine::CSR_ADDR_BITS,
        "Register port",
    );
    let mem = MemPort::ports(
        &mut m,
        "mem",
        Role::Master,
        cfg.mem_bits,
        "Memory master port",
    );
    let irq = m.output(
        "irq",
        Ty::bit(),
        Some("Interrupt"),
        "status.done or status.error",
    );
    let _ = (clk, rst, csr, mem, irq);
    d.include(m)?;
    Ok(d)
}

/// Generate the engine: design, Verilog and a manifest carrying the programming model.
pub fn generate(cfg: &EngineConfig) -> Result<Generated, GenError> {
    let mut g = Generated::from_design("engine", cfg, &cfg.derived(), design(cfg)?)?;
    if let serde_json::Value::Object(map) = serde_json::to_value(cfg.programming_model())
        .map_err(|e| GenError::Internal(format!("programming model: {e}")))?
    {
        g.manifest.extra = map;
    }
    Ok(g)
}

//! The tile-based conv/FC engine: a descriptor-driven block that runs whole
//! int8 conv and FC layers out of memory on the systolic array
//! (`docs/engine.md` for the design, `docs/engine-contract.md` for the
//! contract, [`contracts::engine`] for the programming model as data).

pub mod config;
pub mod desc;
pub mod micro;
mod output;
mod port;
pub mod regs;
pub mod requant;
pub mod setup;
pub mod top;
pub mod writer;

pub use config::{Control, EngineConfig, EngineDerived, FifoStorage};

use crate::ir::Design;
use crate::parts::fifo::{self, FifoConfig, Storage};
use crate::parts::ram::{self, RamConfig};
use crate::{GenError, Generated};

/// Elaborate the engine described by `cfg` (validating `cfg` first).
pub fn design(cfg: &EngineConfig) -> Result<Design, GenError> {
    cfg.validate()?;
    let array = crate::array::design(&cfg.array())?;
    let fifo = |name: &str, width: u32, depth: u32, storage: Storage| {
        fifo::build(&FifoConfig {
            name: format!("{}_{name}", cfg.name),
            width,
            depth,
            storage,
        })
    };
    let at = |ram: bool| {
        if ram {
            Storage::BlockRam
        } else {
            Storage::Registers
        }
    };
    let place = cfg.fifo_storage();
    let info = fifo("info_fifo", top::info_bits(cfg), 4, at(place.info))?;
    // A whole tile of output pixels fits, so the array never waits for the writer.
    let wjob = fifo(
        "wjob_fifo",
        top::wjob_bits(cfg),
        top::wjob_depth(cfg),
        at(place.wjob),
    )?;
    let wr = fifo("wr_fifo", top::wr_bits(cfg), 2, at(place.wr))?;
    let array_top = array
        .top_module()
        .ok_or_else(|| GenError::Internal("array design has no top".into()))?
        .clone();
    let mut d = Design::new(cfg.name.clone());
    if cfg.control == Control::Micro {
        let prog = useq::program::program(&cfg.micro())
            .map_err(|e| GenError::Internal(format!("the microprogram: {e}")))?;
        let (seq, rom) = micro::seq::build(&format!("{}_seq", cfg.name), &prog)?;
        let top = micro::top::build(
            cfg,
            micro::top::Parts {
                array: &array_top,
                seq: &seq,
                info_fifo: &info,
                wjob_fifo: &wjob,
                wr_fifo: &wr,
            },
        )?;
        d.include(top)?;
        for m in [seq, rom, info, wjob, wr] {
            d.include(m)?;
        }
        return finish(cfg, d, array);
    }
    let rq = fifo("rq_fifo", top::rq_bits(cfg), 4, at(place.rq))?;
    let tag = fifo(
        "tag_fifo",
        top::tag_layout(cfg).bits(),
        cfg.max_inflight,
        at(place.tag),
    )?;
    let ibuf = ram::build(&RamConfig {
        name: format!("{}_ibuf", cfg.name),
        width: 8 * cfg.chunk_bytes(),
        depth: cfg.ibuf_bytes / cfg.chunk_bytes(),
        forwarded: false,
    })?;
    let wbuf = ram::build(&RamConfig {
        name: format!("{}_wbuf", cfg.name),
        width: 8 * cfg.cols,
        depth: 2 * cfg.wbuf_rows,
        forwarded: false,
    })?;
    // The staging ring in block RAM (`staging_ram`): a RAM of the CB bytes of
    // a row per array row, and one of the B rows (COLS bytes) of every half.
    let staging = if cfg.staging_ram {
        let cb = cfg.chunk_bytes();
        Some((
            ram::build(&RamConfig {
                name: format!("{}_sa", cfg.name),
                width: 8 * cb,
                depth: top::HALVES,
                forwarded: true,
            })?,
            ram::build(&RamConfig {
                name: format!("{}_sb", cfg.name),
                width: 8 * cfg.cols,
                depth: top::HALVES * cb,
                forwarded: true,
            })?,
        ))
    } else {
        None
    };
    let top = top::build(
        cfg,
        top::Parts {
            array: &array_top,
            rq_fifo: &rq,
            tag_fifo: &tag,
            info_fifo: &info,
            wjob_fifo: &wjob,
            wr_fifo: &wr,
            ibuf: &ibuf,
            wbuf: &wbuf,
            staging: staging.as_ref().map(|(a, b)| (a, b)),
        },
    )?;
    d.include(top)?;
    for m in [rq, tag, info, wjob, wr, ibuf, wbuf] {
        d.include(m)?;
    }
    if let Some((sa, sb)) = staging {
        d.include(sa)?;
        d.include(sb)?;
    }
    finish(cfg, d, array)
}

/// Add the array's modules and the extern cells to the design.
fn finish(cfg: &EngineConfig, mut d: Design, array: Design) -> Result<Design, GenError> {
    for m in array.modules {
        d.include(m)?;
    }
    for e in array.externs {
        d.add_extern(e);
    }
    // The requantization's products (`requant::Product::Ice40`).
    if cfg.requant_on_mac16() {
        d.add_extern(crate::array::ice40_mac16::extern_module());
    }
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

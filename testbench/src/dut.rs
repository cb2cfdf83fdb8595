//! A generated design under Verilator, its top module's ports by name: the
//! small driver the part and sequencer tests share (set inputs with the clock
//! low, read outputs, tick).

use std::collections::HashMap;

use hdl::ir::{Design, SignalKind};

use crate::verilator::{BuildSpec, Model, Port, PortDesc};

pub struct Dut {
    m: Model,
    clk: Port,
    ports: HashMap<String, Port>,
}

impl Dut {
    /// Print `d`, build it under Verilator (cached) with its top module's
    /// ports, which must include `clk`.
    pub fn new(d: &Design) -> Result<Dut, String> {
        let top = d.top_module().ok_or("the design has no top module")?;
        let descs: Vec<PortDesc> = top
            .ports()
            .map(|(_, s)| match s.kind {
                SignalKind::Input => PortDesc::input(&s.name, s.ty.width),
                _ => PortDesc::output(&s.name, s.ty.width),
            })
            .collect();
        let names: Vec<String> = top.ports().map(|(_, s)| s.name.clone()).collect();
        let v = hdl::verilog::print(d).map_err(|e| format!("{}: {e}", top.name))?;
        let m = Model::build(&BuildSpec::new(v, top.name.clone(), descs))
            .map_err(|e| format!("{}: {e}", top.name))?;
        let ports = names
            .into_iter()
            .map(|n| m.port(&n).map(|p| (n, p)).map_err(|e| e.to_string()))
            .collect::<Result<HashMap<String, Port>, String>>()?;
        let clk = *ports.get("clk").ok_or("the top module has no clk")?;
        Ok(Dut { m, clk, ports })
    }

    pub fn set(&mut self, name: &str, v: u64) {
        let p = self.ports[name];
        self.m.set(p, v);
    }

    pub fn get(&self, name: &str) -> u64 {
        self.m.get(self.ports[name])
    }

    pub fn tick(&mut self) {
        self.m.tick(self.clk);
    }

    /// `rst` high for two edges.
    pub fn reset(&mut self) {
        self.set("rst", 1);
        self.tick();
        self.tick();
        self.set("rst", 0);
    }

    /// How to reproduce a failure (seed, trace).
    pub fn note(&self) -> String {
        self.m.trace_note()
    }
}

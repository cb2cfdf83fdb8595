//! Interface bundles: groups of ports declared together with one name prefix,
//! returned as a struct of signals, and wired with [`super::Inst::bundle`].
//!
//! - [`Stream`]: valid/ready stream `<p>_valid`, `<p>_ready`, `<p>_data`, `<p>_last`.
//! - [`MemPort`]: the engine's memory master port (`<p>_req_*`, `<p>_resp_*`).
//! - [`CsrPort`]: the engine's register port (`<p>_valid`, ..., `<p>_rdata`).
//!
//! A bundle is declared on a module as [`Role::Master`] (drives the request
//! side) or [`Role::Slave`], or as internal wires joining two instances.

use crate::ir::{Module, SignalId, Ty};

/// Which side of a bundle a module is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Drives valid and the payload, reads ready.
    Master,
    /// Reads valid and the payload, drives ready.
    Slave,
}

/// A group of signals with field names (the port name after the prefix).
pub trait Bundle {
    fn fields(&self) -> Vec<(&'static str, SignalId)>;
}

/// How one field is declared: name, type, whether the master drives it.
type Field = (&'static str, Ty, bool);

/// Declare `fields` with `prefix` as ports of `m` for `role` (`comment` heads the
/// group), or as plain wires when `role` is `None`.
fn declare(
    m: &mut Module,
    prefix: &str,
    role: Option<Role>,
    comment: &str,
    fields: &[Field],
) -> Vec<SignalId> {
    fields
        .iter()
        .enumerate()
        .map(|(i, &(name, ty, from_master))| {
            let full = format!("{prefix}_{name}");
            let group = (i == 0).then_some(comment);
            match role {
                None => m.wire(&full, ty, ""),
                Some(r) if (r == Role::Master) == from_master => m.output(&full, ty, group, ""),
                Some(_) => m.input(&full, ty, group, ""),
            }
        })
        .collect()
}

/// A valid/ready stream: a beat moves when valid and ready are high at a rising edge.
#[derive(Clone, Copy, Debug)]
pub struct Stream {
    pub valid: SignalId,
    pub ready: SignalId,
    pub data: SignalId,
    /// Marks the last beat of a packet, when the stream has one.
    pub last: Option<SignalId>,
}

impl Stream {
    fn fields(data: Ty, last: bool) -> Vec<Field> {
        let mut f = vec![
            ("valid", Ty::bit(), true),
            ("ready", Ty::bit(), false),
            ("data", data, true),
        ];
        if last {
            f.push(("last", Ty::bit(), true));
        }
        f
    }
    fn from(ids: Vec<SignalId>) -> Stream {
        Stream {
            valid: ids[0],
            ready: ids[1],
            data: ids[2],
            last: ids.get(3).copied(),
        }
    }
    /// Declare the stream's ports on `m`.
    pub fn ports(
        m: &mut Module,
        prefix: &str,
        role: Role,
        data: Ty,
        last: bool,
        comment: &str,
    ) -> Stream {
        Stream::from(declare(
            m,
            prefix,
            Some(role),
            comment,
            &Stream::fields(data, last),
        ))
    }
    /// Declare the stream as wires of `m` (to join two instances).
    pub fn wires(m: &mut Module, prefix: &str, data: Ty, last: bool) -> Stream {
        Stream::from(declare(m, prefix, None, "", &Stream::fields(data, last)))
    }
}

impl Bundle for Stream {
    fn fields(&self) -> Vec<(&'static str, SignalId)> {
        let mut f = vec![
            ("valid", self.valid),
            ("ready", self.ready),
            ("data", self.data),
        ];
        if let Some(l) = self.last {
            f.push(("last", l));
        }
        f
    }
}

/// The engine's memory master port, `data_bits` wide (a multiple of 8):
/// requests (`req_write` with `req_wdata`/`req_wstrb`, else a read) and read
/// responses in request order. Addresses are 32-bit byte addresses.
#[derive(Clone, Copy, Debug)]
pub struct MemPort {
    pub req_valid: SignalId,
    pub req_ready: SignalId,
    pub req_write: SignalId,
    pub req_addr: SignalId,
    pub req_wdata: SignalId,
    pub req_wstrb: SignalId,
    pub resp_valid: SignalId,
    pub resp_ready: SignalId,
    pub resp_rdata: SignalId,
}

const MEM_FIELDS: [&str; 9] = [
    "req_valid",
    "req_ready",
    "req_write",
    "req_addr",
    "req_wdata",
    "req_wstrb",
    "resp_valid",
    "resp_ready",
    "resp_rdata",
];

impl MemPort {
    fn fields(data_bits: u32) -> Vec<Field> {
        let tys = [
            (Ty::bit(), true),
            (Ty::bit(), false),
            (Ty::bit(), true),
            (Ty::u(32), true),
            (Ty::u(data_bits), true),
            (Ty::u(data_bits.div_ceil(8)), true),
            (Ty::bit(), false),
            (Ty::bit(), true),
            (Ty::u(data_bits), false),
        ];
        MEM_FIELDS
            .iter()
            .zip(tys)
            .map(|(&n, (t, m))| (n, t, m))
            .collect()
    }
    fn from(s: Vec<SignalId>) -> MemPort {
        MemPort {
            req_valid: s[0],
            req_ready: s[1],
            req_write: s[2],
            req_addr: s[3],
            req_wdata: s[4],
            req_wstrb: s[5],
            resp_valid: s[6],
            resp_ready: s[7],
            resp_rdata: s[8],
        }
    }
    /// Declare the port on `m` (the engine is the [`Role::Master`]).
    pub fn ports(
        m: &mut Module,
        prefix: &str,
        role: Role,
        data_bits: u32,
        comment: &str,
    ) -> MemPort {
        MemPort::from(declare(
            m,
            prefix,
            Some(role),
            comment,
            &MemPort::fields(data_bits),
        ))
    }
    /// Declare the port as wires of `m`.
    pub fn wires(m: &mut Module, prefix: &str, data_bits: u32) -> MemPort {
        MemPort::from(declare(m, prefix, None, "", &MemPort::fields(data_bits)))
    }
}

impl Bundle for MemPort {
    fn fields(&self) -> Vec<(&'static str, SignalId)> {
        let s = [
            self.req_valid,
            self.req_ready,
            self.req_write,
            self.req_addr,
            self.req_wdata,
            self.req_wstrb,
            self.resp_valid,
            self.resp_ready,
            self.resp_rdata,
        ];
        MEM_FIELDS.iter().copied().zip(s).collect()
    }
}

/// The register (CSR) port: 32-bit registers at byte addresses. A request moves
/// on `valid & ready`; a read answers with one `rvalid` beat carrying `rdata`.
#[derive(Clone, Copy, Debug)]
pub struct CsrPort {
    pub valid: SignalId,
    pub ready: SignalId,
    pub write: SignalId,
    pub addr: SignalId,
    pub wdata: SignalId,
    pub rvalid: SignalId,
    pub rdata: SignalId,
}

const CSR_FIELDS: [&str; 7] = [
    "valid", "ready", "write", "addr", "wdata", "rvalid", "rdata",
];

impl CsrPort {
    fn fields(addr_bits: u32) -> Vec<Field> {
        let tys = [
            (Ty::bit(), true),
            (Ty::bit(), false),
            (Ty::bit(), true),
            (Ty::u(addr_bits), true),
            (Ty::u(32), true),
            (Ty::bit(), false),
            (Ty::u(32), false),
        ];
        CSR_FIELDS
            .iter()
            .zip(tys)
            .map(|(&n, (t, m))| (n, t, m))
            .collect()
    }
    fn from(s: Vec<SignalId>) -> CsrPort {
        CsrPort {
            valid: s[0],
            ready: s[1],
            write: s[2],
            addr: s[3],
            wdata: s[4],
            rvalid: s[5],
            rdata: s[6],
        }
    }
    /// Declare the port on `m` (the engine is the [`Role::Slave`]).
    pub fn ports(
        m: &mut Module,
        prefix: &str,
        role: Role,
        addr_bits: u32,
        comment: &str,
    ) -> CsrPort {
        CsrPort::from(declare(
            m,
            prefix,
            Some(role),
            comment,
            &CsrPort::fields(addr_bits),
        ))
    }
    /// Declare the port as wires of `m`.
    pub fn wires(m: &mut Module, prefix: &str, addr_bits: u32) -> CsrPort {
        CsrPort::from(declare(m, prefix, None, "", &CsrPort::fields(addr_bits)))
    }
}

impl Bundle for CsrPort {
    fn fields(&self) -> Vec<(&'static str, SignalId)> {
        let s = [
            self.valid,
            self.ready,
            self.write,
            self.addr,
            self.wdata,
            self.rvalid,
            self.rdata,
        ];
        CSR_FIELDS.iter().copied().zip(s).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::SignalKind;

    fn dirs(m: &Module) -> Vec<(String, bool, u32)> {
        m.ports()
            .map(|(_, s)| (s.name.clone(), s.kind == SignalKind::Input, s.ty.width))
            .collect()
    }

    #[test]
    fn names_and_directions_follow_the_engine_issue() {
        let mut m = Module::new("e");
        CsrPort::ports(&mut m, "csr", Role::Slave, 8, "Registers");
        MemPort::ports(&mut m, "mem", Role::Master, 64, "Memory");
        let want: Vec<(&str, bool, u32)> = vec![
            ("csr_valid", true, 1),
            ("csr_ready", false, 1),
            ("csr_write", true, 1),
            ("csr_addr", true, 8),
            ("csr_wdata", true, 32),
            ("csr_rvalid", false, 1),
            ("csr_rdata", false, 32),
            ("mem_req_valid", false, 1),
            ("mem_req_ready", true, 1),
            ("mem_req_write", false, 1),
            ("mem_req_addr", false, 32),
            ("mem_req_wdata", false, 64),
            ("mem_req_wstrb", false, 8),
            ("mem_resp_valid", true, 1),
            ("mem_resp_ready", false, 1),
            ("mem_resp_rdata", true, 64),
        ];
        let got = dirs(&m);
        let want: Vec<(String, bool, u32)> = want
            .into_iter()
            .map(|(n, i, w)| (n.to_string(), i, w))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn stream_master_drives_valid_and_data() {
        let mut m = Module::new("s");
        Stream::ports(&mut m, "out", Role::Master, Ty::u(8), true, "Out");
        Stream::ports(&mut m, "in", Role::Slave, Ty::u(8), false, "In");
        let got = dirs(&m);
        let want = [
            ("out_valid", false),
            ("out_ready", true),
            ("out_data", false),
            ("out_last", false),
            ("in_valid", true),
            ("in_ready", false),
            ("in_data", true),
        ];
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert_eq!((g.0.as_str(), g.1), w);
        }
    }
}

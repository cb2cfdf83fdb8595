//! The generated C++ shim and the parsing of Verilator's model header.
//!
//! Verilator 5 declares the top-level ports of `V<top>` as *references* into the model's
//! root structure, one macro per port, e.g.
//!
//! ```text
//! VL_IN8(&clk,0,0);
//! VL_OUTW(&y,99,0,4);
//! VL_IN8(&__SYM__goto,0,0);      // C++ keyword, prefixed with __SYM__
//! VL_IN8(&a___05Fb,0,0);         // Verilog `a__b`: "__" is encoded as "_" + "__05F"
//! ```
//!
//! The harness reads those lines after running Verilator to (1) check the Rust port list
//! against the real design (names, directions, widths) and (2) learn the C++ member name of
//! each port, which the shim then uses in a `switch` returning the address of the port's
//! storage.

use super::{Dir, PortDesc};

/// Bumped whenever the shim's ABI or text changes; part of every model's cache key.
pub(crate) const SHIM_ABI_VERSION: u32 = 3;

/// A port as declared in the Verilated header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeaderPort {
    /// The C++ member name (possibly escaped).
    pub cname: String,
    /// The Verilog name (decoded).
    pub vname: String,
    /// `None` for `inout` ports, which the harness does not support.
    pub dir: Option<Dir>,
    pub width: u32,
}

/// Number of bytes Verilator uses to store a port of `width` bits:
/// CData (u8), SData (u16), IData (u32), QData (u64) or VlWide (u32 words).
pub(crate) fn storage_bytes(width: u32) -> usize {
    match width {
        0..=8 => 1,
        9..=16 => 2,
        17..=32 => 4,
        33..=64 => 8,
        w => 4 * w.div_ceil(32) as usize,
    }
}

/// Undo Verilator's name mangling of a C++ member name.
pub(crate) fn decode_name(cname: &str) -> String {
    let s = cname.strip_prefix("__SYM__").unwrap_or(cname);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if i + 5 <= b.len() && &b[i..i + 3] == b"__0" {
            let hex = std::str::from_utf8(&b[i + 3..i + 5]).ok();
            if let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(byte);
                i += 5;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Extract the port declarations from `V<top>.h`.
pub(crate) fn parse_header_ports(header: &str) -> Result<Vec<HeaderPort>, String> {
    let mut ports = Vec::new();
    for line in header.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("VL_") else {
            continue;
        };
        let Some(open) = rest.find('(') else { continue };
        let macro_name = &rest[..open];
        let dir = if macro_name.starts_with("INOUT") {
            None
        } else if macro_name.starts_with("IN") {
            Some(Dir::Input)
        } else if macro_name.starts_with("OUT") {
            Some(Dir::Output)
        } else {
            continue;
        };
        let kind = macro_name.trim_start_matches("INOUT");
        let kind = kind
            .strip_prefix("IN")
            .or_else(|| kind.strip_prefix("OUT"))
            .unwrap_or(kind);
        if !matches!(kind, "" | "8" | "16" | "64" | "W") {
            continue;
        }
        let Some(close) = rest.rfind(')') else {
            return Err(format!("cannot parse port declaration `{line}`"));
        };
        let args: Vec<&str> = rest[open + 1..close].split(',').map(str::trim).collect();
        if args.len() < 3 {
            return Err(format!("cannot parse port declaration `{line}`"));
        }
        let cname = args[0].trim_start_matches('&').to_string();
        let msb: u32 = args[1]
            .parse()
            .map_err(|_| format!("bad msb in port declaration `{line}`"))?;
        let lsb: u32 = args[2]
            .parse()
            .map_err(|_| format!("bad lsb in port declaration `{line}`"))?;
        if cname.is_empty()
            || !cname
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'_')
        {
            return Err(format!("unexpected port name in `{line}`"));
        }
        ports.push(HeaderPort {
            vname: decode_name(&cname),
            cname,
            dir,
            width: msb.abs_diff(lsb) + 1,
        });
    }
    Ok(ports)
}

/// Match the Rust port list against the header; returns the C++ member name of each port in
/// the order of `spec_ports`.
pub(crate) fn match_ports(
    spec_ports: &[PortDesc],
    header: &[HeaderPort],
) -> Result<Vec<String>, String> {
    let describe = |p: &HeaderPort| {
        let dir = match p.dir {
            Some(Dir::Input) => "input",
            Some(Dir::Output) => "output",
            None => "inout",
        };
        format!("{dir} [{}:0] {}", p.width - 1, p.vname)
    };
    let mut problems = Vec::new();
    let mut cnames = Vec::with_capacity(spec_ports.len());
    for sp in spec_ports {
        match header.iter().find(|h| h.vname == sp.name) {
            None => problems.push(format!("port `{}` does not exist in the design", sp.name)),
            Some(h) if h.dir.is_none() => {
                problems.push(format!("port `{}` is inout, which is unsupported", sp.name))
            }
            Some(h) if h.dir != Some(sp.dir) || h.width != sp.width => problems.push(format!(
                "port `{}` is listed as {:?} {} bit(s) but the design declares `{}`",
                sp.name,
                sp.dir,
                sp.width,
                describe(h)
            )),
            Some(h) => cnames.push(h.cname.clone()),
        }
    }
    for h in header {
        if !spec_ports.iter().any(|sp| sp.name == h.vname) {
            problems.push(format!(
                "design port `{}` is missing from the port list",
                describe(h)
            ));
        }
    }
    if problems.is_empty() {
        Ok(cnames)
    } else {
        Err(problems.join("; "))
    }
}

/// The fixed part of the shim; `@TOP@`, `@TRACE@`, `@NPORTS@`, `@ASSERTS@` and `@CASES@` are
/// substituted per design.
pub(crate) const SHIM_TEMPLATE: &str = r#"// Generated by testbench::verilator. Do not edit: rewritten for every design.
//
// A C ABI over one Verilated model so that Rust can drive it through dlopen. The shared
// Verilator runtime is compiled with VL_USER_FINISH/VL_USER_STOP/VL_USER_FATAL, so the hooks
// below replace the default ones, which exit() or abort() the whole test process, and with
// VL_PRINTF=tb_vl_printf, so that simulation output ($display, error messages) is handed to
// Rust, which prints it where the test harness captures it.
#include "verilated.h"
#include "V@TOP@.h"
#define TB_TRACE @TRACE@
#if TB_TRACE
#include "verilated_fst_c.h"
#endif
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <utility>

#define TB_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

// Thrown by vl_fatal so that a fatal error unwinds to the entry point below instead of
// aborting the process.
struct TbFatal {};

// Messages raised by $stop/$error/$fatal/internal errors during the current call.
thread_local std::string tb_pending;

// Simulation output (VL_PRINTF) not yet handed to Rust.
thread_local std::string tb_output;

// Output produced outside tb_eval goes straight to stdout.
void tb_flush_output() {
    if (!tb_output.empty()) {
        std::fwrite(tb_output.data(), 1, tb_output.size(), stdout);
        std::fflush(stdout);
        tb_output.clear();
    }
}

void tb_note(const char* what, const char* filename, int linenum, const char* msg) {
    if (!tb_pending.empty()) tb_pending += "\n";
    tb_pending += what;
    if (filename && filename[0]) {
        tb_pending += " at ";
        tb_pending += filename;
        tb_pending += ":";
        tb_pending += std::to_string(linenum);
    }
    if (msg && msg[0]) {
        tb_pending += ": ";
        tb_pending += msg;
    }
}

struct TbInstance {
    std::unique_ptr<VerilatedContext> ctx;
    std::unique_ptr<V@TOP@> top;
#if TB_TRACE
    std::unique_ptr<VerilatedFstC> tfp;
#endif
    std::string error;
    std::string output;
};

void tb_copy(const std::string& s, char* buf, std::size_t len) {
    if (!buf || len == 0) return;
    std::size_t n = s.size() < len - 1 ? s.size() : len - 1;
    std::memcpy(buf, s.data(), n);
    buf[n] = '\0';
}

}  // namespace

// Storage-size checks: the Rust side assumes CData/SData/IData/QData/VlWide by width.
@ASSERTS@

int tb_vl_printf(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int n = std::vsnprintf(nullptr, 0, fmt, ap);
    va_end(ap);
    if (n > 0) {
        std::size_t old = tb_output.size();
        tb_output.resize(old + static_cast<std::size_t>(n) + 1);
        std::vsnprintf(&tb_output[old], static_cast<std::size_t>(n) + 1, fmt, ap2);
        tb_output.resize(old + static_cast<std::size_t>(n));
    }
    va_end(ap2);
    return n;
}

void vl_finish(const char* filename, int linenum, const char* hier) {
    (void)filename;
    (void)linenum;
    (void)hier;
    Verilated::threadContextp()->gotFinish(true);
}

void vl_stop(const char* filename, int linenum, const char* hier) {
    (void)hier;
    Verilated::threadContextp()->gotError(true);
    Verilated::threadContextp()->gotFinish(true);
    tb_note("Verilog $stop/$error", filename, linenum, nullptr);
}

void vl_fatal(const char* filename, int linenum, const char* hier, const char* msg) {
    (void)hier;
    Verilated::threadContextp()->gotError(true);
    Verilated::threadContextp()->gotFinish(true);
    tb_note("fatal", filename, linenum, msg);
    throw TbFatal{};
}

TB_EXPORT std::uint32_t tb_abi_version() { return @ABI@; }

TB_EXPORT std::uint32_t tb_port_count() { return @NPORTS@; }

// Returns nullptr on failure, with a message in err.
TB_EXPORT void* tb_create(std::uint32_t seed, const char* trace_path, char* err, std::size_t err_len) {
    tb_pending.clear();
    try {
        std::unique_ptr<TbInstance> inst(new TbInstance());
        inst->ctx.reset(new VerilatedContext());
        inst->ctx->randReset(2);  // registers and memories start random (--x-initial unique)
        inst->ctx->randSeed(static_cast<int>(seed));
        inst->ctx->fatalOnError(false);
#if TB_TRACE
        inst->ctx->traceEverOn(true);
#endif
        Verilated::threadContextp(inst->ctx.get());
        inst->top.reset(new V@TOP@(inst->ctx.get(), "TOP"));
#if TB_TRACE
        if (trace_path && trace_path[0]) {
            inst->tfp.reset(new VerilatedFstC());
            inst->top->trace(inst->tfp.get(), 99);
            inst->tfp->open(trace_path);
            if (!inst->tfp->isOpen()) {
                tb_copy(std::string("cannot open FST file ") + trace_path, err, err_len);
                return nullptr;
            }
        }
#else
        (void)trace_path;
#endif
        tb_flush_output();
        return inst.release();
    } catch (const TbFatal&) {
        tb_copy(tb_pending, err, err_len);
    } catch (const std::exception& e) {
        tb_copy(e.what(), err, err_len);
    } catch (...) {
        tb_copy("unknown C++ exception", err, err_len);
    }
    tb_flush_output();
    return nullptr;
}

namespace {

// The calling thread's message and output buffers, looked up once per entry point call:
// in a shared object every access to a thread_local is a call into the dynamic loader.
struct TbThread {
    std::string& pending;
    std::string& output;
};

// Makes `inst` the current thread's model and starts collecting messages and output for one
// entry point call.
TbThread tb_begin(TbInstance* inst) {
    Verilated::threadContextp(inst->ctx.get());
    TbThread t{tb_pending, tb_output};
    t.pending.clear();
    t.output.clear();
    return t;
}

// Hands the output collected since tb_begin to the instance; sets bit 2 of rc if there was any.
int tb_end(TbInstance* inst, const TbThread& t, int rc) {
    if (t.output.empty()) {
        inst->output.clear();
        return rc;
    }
    inst->output.swap(t.output);
    t.output.clear();
    return rc | 4;
}

// Sets the simulation time, evaluates, dumps a trace sample at that time.
// Returns 0 = ok, 1 = $finish was executed (now or earlier), 2 = error (see tb_error).
int tb_eval_at(TbInstance* inst, const TbThread& t, std::uint64_t time) {
    try {
        inst->ctx->time(time);
        inst->top->eval();
#if TB_TRACE
        if (inst->tfp) inst->tfp->dump(time);
#endif
        if (!t.pending.empty()) {
            inst->error = t.pending;
            return 2;
        }
        return inst->ctx->gotFinish() ? 1 : 0;
    } catch (const TbFatal&) {
        inst->error = t.pending;
    } catch (const std::exception& e) {
        inst->error = e.what();
    } catch (...) {
        inst->error = "unknown C++ exception";
    }
    return 2;
}

}  // namespace

// One evaluation at `time` (see tb_eval_at); bit 2 of the result is set when the evaluation
// printed output (see tb_output_text).
TB_EXPORT int tb_eval(void* handle, std::uint64_t time) {
    TbInstance* inst = static_cast<TbInstance*>(handle);
    const TbThread t = tb_begin(inst);
    return tb_end(inst, t, tb_eval_at(inst, t, time));
}

// `cycles` clock cycles on the 1-bit input stored at `clk`, in one call: if `settle`, first an
// evaluation with the clock low (pending input changes), then per cycle a rising edge and a
// falling edge, one evaluation (and one time step) each, starting at `*time`. `*time` is
// advanced past every evaluation made. Stops at the first error; the result is that of
// tb_eval for the whole call (the worst of the evaluations, output of all of them).
TB_EXPORT int tb_tick(void* handle, std::uint8_t* clk, std::uint64_t* time, int settle,
                      std::uint64_t cycles) {
    TbInstance* inst = static_cast<TbInstance*>(handle);
    const TbThread th = tb_begin(inst);
    std::uint64_t t = *time;
    int rc = 0;
    if (settle) rc = tb_eval_at(inst, th, t++);
    for (std::uint64_t i = 0; i < cycles && rc < 2; i++) {
        *clk = 1;
        int r = tb_eval_at(inst, th, t++);
        if (r > rc) rc = r;
        if (rc >= 2) break;
        *clk = 0;
        r = tb_eval_at(inst, th, t++);
        if (r > rc) rc = r;
    }
    *time = t;
    return tb_end(inst, th, rc);
}

// Output printed by the last tb_eval or tb_tick.
TB_EXPORT const char* tb_output_text(void* handle) {
    return static_cast<TbInstance*>(handle)->output.c_str();
}

TB_EXPORT const char* tb_error(void* handle) {
    return static_cast<TbInstance*>(handle)->error.c_str();
}

TB_EXPORT void* tb_port_ptr(void* handle, std::uint32_t idx) {
    V@TOP@* top = static_cast<TbInstance*>(handle)->top.get();
    switch (idx) {
@CASES@
        default: return nullptr;
    }
}

TB_EXPORT void tb_destroy(void* handle) {
    TbInstance* inst = static_cast<TbInstance*>(handle);
    Verilated::threadContextp(inst->ctx.get());
    tb_output.clear();
    try {
        inst->top->final();
    } catch (...) {
    }
    tb_flush_output();
#if TB_TRACE
    if (inst->tfp) inst->tfp->close();
    inst->tfp.reset();
#endif
    inst->top.reset();
    inst->ctx.reset();
    Verilated::threadContextp(nullptr);
    delete inst;
}
"#;

/// Instantiate [`SHIM_TEMPLATE`] for one design.
pub(crate) fn generate_shim(
    top: &str,
    trace: bool,
    ports: &[PortDesc],
    cnames: &[String],
) -> String {
    let mut asserts = String::new();
    let mut cases = String::new();
    for (i, (p, c)) in ports.iter().zip(cnames).enumerate() {
        let bytes = storage_bytes(p.width);
        asserts.push_str(&format!(
            "static_assert(sizeof(std::declval<V{top}&>().{c}) == {bytes}, \
             \"port {c}: the harness expects {bytes} byte(s) of storage for {w} bit(s)\");\n",
            w = p.width
        ));
        cases.push_str(&format!(
            "        case {i}: return static_cast<void*>(&top->{c});\n"
        ));
    }
    SHIM_TEMPLATE
        .replace("@TOP@", top)
        .replace("@TRACE@", if trace { "1" } else { "0" })
        .replace("@ABI@", &SHIM_ABI_VERSION.to_string())
        .replace("@NPORTS@", &ports.len().to_string())
        .replace("@ASSERTS@", &asserts)
        .replace("@CASES@", &cases)
}

/// Linker version script: only the `tb_*` entry points are exported; the embedded Verilator
/// runtime stays private to each shared object, so several different designs can be loaded
/// into one process without their runtime copies interposing on each other.
/// Force-included into every runtime source: the runtime prints through `VL_PRINTF`, which is
/// redirected to the shim's `tb_vl_printf`.
pub(crate) const PRINTF_HEADER: &str =
    "#pragma once\nint tb_vl_printf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));\n";

pub(crate) const EXPORTS_MAP: &str = "{\n  global: tb_*;\n  local: *;\n};\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_verilator_names() {
        assert_eq!(decode_name("clk"), "clk");
        assert_eq!(decode_name("__SYM__goto"), "goto");
        assert_eq!(decode_name("a___05Fb"), "a__b");
        assert_eq!(decode_name("esc__02eid"), "esc.id");
    }

    #[test]
    fn parses_header_ports() {
        let h = "    VL_IN8(&clk,0,0);\n    VL_OUTW(&y,99,0,4);\n    VL_IN(&x32,31,0);\n    \
                 VL_IN64(&q,39,0);\n    VL_OUT8(&rev,7,0);\n    VL_INOUT8(&io,0,0);\n    \
                 VL_DEBUG_IF(x);\n";
        let p = parse_header_ports(h).expect("parse");
        let summary: Vec<_> = p
            .iter()
            .map(|p| (p.vname.as_str(), p.dir, p.width))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("clk", Some(Dir::Input), 1),
                ("y", Some(Dir::Output), 100),
                ("x32", Some(Dir::Input), 32),
                ("q", Some(Dir::Input), 40),
                ("rev", Some(Dir::Output), 8),
                ("io", None, 1),
            ]
        );
    }

    #[test]
    fn storage_sizes() {
        assert_eq!(storage_bytes(1), 1);
        assert_eq!(storage_bytes(9), 2);
        assert_eq!(storage_bytes(32), 4);
        assert_eq!(storage_bytes(33), 8);
        assert_eq!(storage_bytes(65), 12);
        assert_eq!(storage_bytes(100), 16);
    }
}

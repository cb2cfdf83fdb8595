//! The netlist IR: modules of typed signals, expressions with explicit widths and
//! signedness, clocked registers, memories and instances, and the control
//! constructs of [`crate::process`] (clock domains, registers declared with their
//! reset, `if`/`case` processes, FSMs with named states; see `docs/ir.md`).
//!
//! Why our own IR: hardware blocks are Rust functions whose sizes are chosen at run
//! time, so the IR must represent "256 PE instances wired in a grid" directly, and
//! every width must be known before a single character of Verilog is printed. The
//! rules are stricter than Verilog's on purpose: binary operators take operands of
//! the same width and signedness, and widening is an explicit [`Expr::resize`].
//! That removes Verilog's context-dependent sizing, the usual source of silent
//! truncation, and lets [`crate::check`] prove widths agree before printing.

use std::fmt;

pub use crate::process::{Case, Domain, DomainId, FsmInfo, ProcKind, Process, Stmt};

/// Width and signedness of a signal or expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ty {
    pub width: u32,
    pub signed: bool,
}

impl Ty {
    /// Unsigned vector of `width` bits.
    pub const fn u(width: u32) -> Ty {
        Ty {
            width,
            signed: false,
        }
    }
    /// Signed (two's-complement) vector of `width` bits.
    pub const fn s(width: u32) -> Ty {
        Ty {
            width,
            signed: true,
        }
    }
    /// One unsigned bit.
    pub const fn bit() -> Ty {
        Ty::u(1)
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", if self.signed { "s" } else { "u" }, self.width)
    }
}

/// Index of a signal inside its module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SignalId(pub u32);

impl SignalId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// What a signal is, which decides how it may be driven.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignalKind {
    /// Module input: driven from outside, never inside.
    Input,
    /// Module output: driven by one `assign` or one instance output.
    Output,
    /// Internal net: driven by one `assign` or one instance output.
    Wire,
    /// Internal register: driven by one clocked process or one memory read port.
    Reg,
}

/// A named signal.
#[derive(Clone, Debug)]
pub struct Signal {
    pub name: String,
    pub ty: Ty,
    pub kind: SignalKind,
    /// One-line comment printed beside the declaration.
    pub comment: String,
    /// For ports: a group heading printed before the first port of the group.
    pub group: Option<String>,
    /// Why some bits of this signal are deliberately never read. Without it, an
    /// unread signal is a check error (and a Verilator `UNUSED` warning).
    pub unused_reason: Option<String>,
    /// For a register declared in a clock domain ([`Module::reg_reset`],
    /// [`Module::reg_in`]): the domain whose synchronous processes drive it.
    pub domain: Option<DomainId>,
    /// The value a domain register takes while the domain's reset is high;
    /// `None` for data registers, which are never reset.
    pub reset: Option<Const>,
}

/// A constant with explicit type. `bits` holds the two's-complement pattern,
/// masked to the width; constants wider than 128 bits hold patterns of at most
/// 128 significant bits (zero-extended), which is all generators need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Const {
    pub ty: Ty,
    pub bits: u128,
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    /// Bitwise NOT, same type.
    Not,
    /// Two's-complement negation, same type.
    Neg,
    /// OR of all bits, one unsigned bit.
    ReduceOr,
    /// AND of all bits, one unsigned bit.
    ReduceAnd,
    /// XOR of all bits, one unsigned bit.
    ReduceXor,
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    /// Product truncated to the operand width.
    Mul,
    And,
    Or,
    Xor,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// Logical shift left by an unsigned amount; result has the left operand's type.
    Shl,
    /// Logical shift right (zero fill).
    Shr,
    /// Arithmetic shift right (sign fill); the left operand must be signed.
    Sra,
}

impl BinOp {
    pub fn is_compare(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
        )
    }
    pub fn is_shift(self) -> bool {
        matches!(self, BinOp::Shl | BinOp::Shr | BinOp::Sra)
    }
    pub fn verilog(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::And => "&",
            BinOp::Or => "|",
            BinOp::Xor => "^",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Shl => "<<",
            BinOp::Shr => ">>",
            BinOp::Sra => ">>>",
        }
    }
}

/// A combinational expression. Types are computed by [`Module::ty_of`] and
/// checked by [`crate::check`]; the constructors below do not panic on bad
/// types so that a generator bug surfaces as one check error naming the rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    Sig(SignalId),
    Const(Const),
    /// Bits `[lo +: width]` of the operand; unsigned.
    Slice {
        e: Box<Expr>,
        lo: u32,
        width: u32,
    },
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `sel ? t : f`; `sel` is one bit, `t` and `f` share a type.
    Mux {
        sel: Box<Expr>,
        t: Box<Expr>,
        f: Box<Expr>,
    },
    /// Concatenation, parts listed least-significant first; unsigned.
    Concat(Vec<Expr>),
    /// Sign-extend (signed operand), zero-extend (unsigned) or truncate to `width`,
    /// keeping the operand's signedness.
    Resize {
        e: Box<Expr>,
        width: u32,
    },
    /// Reinterpret the bits as signed or unsigned.
    Cast {
        e: Box<Expr>,
        signed: bool,
    },
    /// Full-width product: operands of equal signedness, result `wa + wb` bits.
    MulWide(Box<Expr>, Box<Expr>),
}

impl From<SignalId> for Expr {
    fn from(s: SignalId) -> Expr {
        Expr::Sig(s)
    }
}

impl From<&SignalId> for Expr {
    fn from(s: &SignalId) -> Expr {
        Expr::Sig(*s)
    }
}

impl Expr {
    /// An unsigned constant of `width` bits.
    pub fn uconst(width: u32, value: u128) -> Expr {
        Expr::Const(Const {
            ty: Ty::u(width),
            bits: value,
        })
    }
    /// A signed constant of `width` bits; the value is stored as its two's-complement pattern.
    pub fn sconst(width: u32, value: i128) -> Expr {
        let bits = if width >= 128 {
            value as u128
        } else {
            (value as u128) & ((1u128 << width) - 1)
        };
        Expr::Const(Const {
            ty: Ty::s(width),
            bits,
        })
    }
    /// Zero of the given type.
    pub fn zero(ty: Ty) -> Expr {
        Expr::Const(Const { ty, bits: 0 })
    }
    /// One-bit constant.
    pub fn bit(value: bool) -> Expr {
        Expr::uconst(1, value as u128)
    }
    pub fn slice(self, lo: u32, width: u32) -> Expr {
        Expr::Slice {
            e: Box::new(self),
            lo,
            width,
        }
    }
    pub fn bit_at(self, index: u32) -> Expr {
        self.slice(index, 1)
    }
    pub fn resize(self, width: u32) -> Expr {
        Expr::Resize {
            e: Box::new(self),
            width,
        }
    }
    pub fn as_signed(self) -> Expr {
        Expr::Cast {
            e: Box::new(self),
            signed: true,
        }
    }
    pub fn as_unsigned(self) -> Expr {
        Expr::Cast {
            e: Box::new(self),
            signed: false,
        }
    }
    pub fn mul_wide(self, rhs: impl Into<Expr>) -> Expr {
        Expr::MulWide(Box::new(self), Box::new(rhs.into()))
    }
    pub fn mux(sel: impl Into<Expr>, t: impl Into<Expr>, f: impl Into<Expr>) -> Expr {
        Expr::Mux {
            sel: Box::new(sel.into()),
            t: Box::new(t.into()),
            f: Box::new(f.into()),
        }
    }
    pub fn concat(parts_lsb_first: Vec<Expr>) -> Expr {
        Expr::Concat(parts_lsb_first)
    }
    fn bin(op: BinOp, a: Expr, b: impl Into<Expr>) -> Expr {
        Expr::Binary(op, Box::new(a), Box::new(b.into()))
    }
    pub fn cmp_eq(self, rhs: impl Into<Expr>) -> Expr {
        Expr::bin(BinOp::Eq, self, rhs)
    }
    pub fn cmp_ne(self, rhs: impl Into<Expr>) -> Expr {
        Expr::bin(BinOp::Ne, self, rhs)
    }
    pub fn cmp_lt(self, rhs: impl Into<Expr>) -> Expr {
        Expr::bin(BinOp::Lt, self, rhs)
    }
    pub fn cmp_le(self, rhs: impl Into<Expr>) -> Expr {
        Expr::bin(BinOp::Le, self, rhs)
    }
    pub fn cmp_gt(self, rhs: impl Into<Expr>) -> Expr {
        Expr::bin(BinOp::Gt, self, rhs)
    }
    pub fn cmp_ge(self, rhs: impl Into<Expr>) -> Expr {
        Expr::bin(BinOp::Ge, self, rhs)
    }
    pub fn sra(self, amount: impl Into<Expr>) -> Expr {
        Expr::bin(BinOp::Sra, self, amount)
    }
    pub fn reduce_or(self) -> Expr {
        Expr::Unary(UnOp::ReduceOr, Box::new(self))
    }
    pub fn reduce_and(self) -> Expr {
        Expr::Unary(UnOp::ReduceAnd, Box::new(self))
    }
    /// OR of many same-typed expressions (a balanced tree keeps printed nesting shallow).
    pub fn or_all(mut terms: Vec<Expr>, ty: Ty) -> Expr {
        if terms.is_empty() {
            return Expr::zero(ty);
        }
        while terms.len() > 1 {
            let mut next = Vec::with_capacity(terms.len().div_ceil(2));
            let mut it = terms.into_iter();
            while let Some(a) = it.next() {
                match it.next() {
                    Some(b) => next.push(a | b),
                    None => next.push(a),
                }
            }
            terms = next;
        }
        terms.pop().unwrap_or_else(|| Expr::zero(ty))
    }
}

macro_rules! binop_trait {
    ($tr:ident, $f:ident, $op:expr) => {
        impl<R: Into<Expr>> std::ops::$tr<R> for Expr {
            type Output = Expr;
            fn $f(self, rhs: R) -> Expr {
                Expr::bin($op, self, rhs)
            }
        }
        impl<R: Into<Expr>> std::ops::$tr<R> for SignalId {
            type Output = Expr;
            fn $f(self, rhs: R) -> Expr {
                Expr::bin($op, Expr::Sig(self), rhs)
            }
        }
    };
}
binop_trait!(Add, add, BinOp::Add);
binop_trait!(Sub, sub, BinOp::Sub);
binop_trait!(Mul, mul, BinOp::Mul);
binop_trait!(BitAnd, bitand, BinOp::And);
binop_trait!(BitOr, bitor, BinOp::Or);
binop_trait!(BitXor, bitxor, BinOp::Xor);
// `<<` and `>>` are logical shifts by an unsigned amount; `sra` is the arithmetic one.
binop_trait!(Shl, shl, BinOp::Shl);
binop_trait!(Shr, shr, BinOp::Shr);

impl std::ops::Not for Expr {
    type Output = Expr;
    fn not(self) -> Expr {
        Expr::Unary(UnOp::Not, Box::new(self))
    }
}
impl std::ops::Not for SignalId {
    type Output = Expr;
    fn not(self) -> Expr {
        Expr::Unary(UnOp::Not, Box::new(Expr::Sig(self)))
    }
}
impl std::ops::Neg for Expr {
    type Output = Expr;
    fn neg(self) -> Expr {
        Expr::Unary(UnOp::Neg, Box::new(self))
    }
}

/// Synchronous reset of a register: when `rst` is high at a clock edge the
/// register takes `value`, whatever its enable says.
#[derive(Clone, Debug, PartialEq)]
pub struct Reset {
    pub rst: SignalId,
    pub value: Const,
}

/// How a module item connects one port of an instance.
#[derive(Clone, Debug)]
pub enum Conn {
    /// An input port, fed by an expression of the port's exact type.
    In(Expr),
    /// An output port, driving a wire or output of the parent (whole signal).
    Out(SignalId),
    /// An output port deliberately left open; the reason is printed beside it.
    Open(String),
}

/// A memory (unpacked array), written and read only through clocked ports so that
/// FPGA synthesis infers block RAM.
#[derive(Clone, Debug)]
pub struct Memory {
    pub name: String,
    pub width: u32,
    pub depth: u32,
    pub comment: String,
    /// Synthesis hints, printed as attributes; none by default.
    pub hints: MemHints,
    /// Initial contents, one word per address (`Module::rom`): a memory with
    /// them may have no write port (a ROM). Printed as an `initial` block,
    /// which simulators load and synthesis takes as the block RAM's
    /// initial value.
    pub init: Option<Vec<u128>>,
}

/// Synthesis hints of a [`Memory`]. They never change simulation semantics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemHints {
    /// Map to block RAM even where the tool would choose LUT RAM for a small
    /// memory (`ram_style = "block"`): line buffers should not eat logic.
    pub block_ram: bool,
    /// The generator guarantees that no read port reads an address at the clock
    /// edge where a write port writes it, or that the word of such a read is
    /// never used, so the tool need not emulate Verilog's read-old-data
    /// behaviour on such a collision in soft logic (`no_rw_check`).
    /// Without it, yosys adds a data-width register and comparator per port pair.
    pub no_rw_collision: bool,
}

/// Index of a memory inside its module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryId(pub u32);

/// Everything that drives signals.
#[derive(Clone, Debug)]
pub enum Item {
    /// Continuous assignment to a wire or output.
    Assign { target: SignalId, expr: Expr },
    /// A register updated at the rising edge of `clk`: `if (enable) target <= next`,
    /// then `if (rst) target <= value`.
    Clocked {
        target: SignalId,
        clk: SignalId,
        next: Expr,
        enable: Option<Expr>,
        reset: Option<Reset>,
    },
    /// `if (enable) mem[addr] <= data` at the rising edge of `clk`.
    MemWrite {
        mem: MemoryId,
        clk: SignalId,
        enable: Expr,
        addr: Expr,
        data: Expr,
    },
    /// Synchronous read: `if (enable) target <= mem[addr]` at the rising edge of `clk`.
    MemRead {
        mem: MemoryId,
        clk: SignalId,
        enable: Expr,
        addr: Expr,
        target: SignalId,
    },
    /// A process of `if`/`case` statements ([`crate::process`]): synchronous
    /// (registers of one clock domain) or combinational (`always @*`).
    Process(Process),
    /// An instance of another module of the design, or of an extern module
    /// ([`ExternModule`]); only extern instances may set parameters and
    /// attributes (what vendor tools read from `(* NAME = "value" *)`).
    Instance {
        module: String,
        name: String,
        params: Vec<(String, ParamValue)>,
        attrs: Vec<(String, String)>,
        conns: Vec<(String, Conn)>,
    },
}

/// The value of a parameter set on an extern (vendor primitive) instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamValue {
    /// A sized constant, printed like any constant (`4'd0`).
    Bits(Const),
    /// An unsized integer, printed in decimal (`37`).
    Int(i64),
    /// A string, printed in double quotes (`"SIMPLE"`); no quotes, backslashes or
    /// control characters.
    Str(String),
}

/// Direction of a port of an [`ExternModule`], and of a top-level port in the
/// manifest (serialized as `"input"` / `"output"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PortDir {
    Input,
    Output,
}

impl fmt::Display for PortDir {
    /// The Verilog keyword: `input` or `output`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PortDir::Input => "input",
            PortDir::Output => "output",
        })
    }
}

/// One port of an [`ExternModule`].
#[derive(Clone, Debug, PartialEq)]
pub struct ExternPort {
    pub name: String,
    pub ty: Ty,
    pub dir: PortDir,
}

/// A module the design instantiates but does not define: a vendor primitive such
/// as a PLL, supplied by the synthesis tool's cell library.
///
/// Instances are type-checked against the declared ports like any other, but the
/// printer emits no module for it, and the checker assumes no combinational path
/// from its inputs to its outputs. That holds for PLLs, not for a DSP block used
/// without registers (`SB_MAC16` at pipeline 0 and in the requantization): their
/// loops are caught in the tests, where Verilator builds the block's model.
/// Declaring only the ports a design uses is fine: the others keep the
/// primitive's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct ExternModule {
    pub name: String,
    /// What the primitive is, printed in the file banner.
    pub doc: String,
    pub ports: Vec<ExternPort>,
    /// Names of the parameters instances may set.
    pub params: Vec<String>,
}

impl ExternModule {
    pub fn new(name: impl Into<String>, doc: impl Into<String>) -> ExternModule {
        ExternModule {
            name: name.into(),
            doc: doc.into(),
            ports: Vec::new(),
            params: Vec::new(),
        }
    }
    /// Declare a port.
    pub fn port(mut self, name: &str, ty: Ty, dir: PortDir) -> Self {
        self.ports.push(ExternPort {
            name: name.to_string(),
            ty,
            dir,
        });
        self
    }
    /// Declare parameters instances may set.
    pub fn params(mut self, names: &[&str]) -> Self {
        self.params.extend(names.iter().map(|n| n.to_string()));
        self
    }
}

/// A hardware module: ports and internal signals, memories and the items driving them.
#[derive(Clone, Debug)]
pub struct Module {
    pub name: String,
    /// Block comment printed above the module: what it does and why.
    pub doc: Vec<String>,
    pub signals: Vec<Signal>,
    pub memories: Vec<Memory>,
    pub items: Vec<Item>,
    /// Clock domains of the module's registers ([`Module::domain`]).
    pub domains: Vec<Domain>,
    /// State machines declared with [`Module::fsm`]: their state names.
    pub fsms: Vec<FsmInfo>,
    /// Rules broken while the module was built (an unknown FSM state name),
    /// reported by [`crate::check`] like every other rule.
    pub build_errors: Vec<String>,
}

impl Module {
    pub fn new(name: impl Into<String>) -> Module {
        Module {
            name: name.into(),
            doc: Vec::new(),
            signals: Vec::new(),
            memories: Vec::new(),
            items: Vec::new(),
            domains: Vec::new(),
            fsms: Vec::new(),
            build_errors: Vec::new(),
        }
    }

    pub fn doc(&mut self, line: impl Into<String>) -> &mut Self {
        self.doc.push(line.into());
        self
    }

    fn add_signal(
        &mut self,
        name: &str,
        ty: Ty,
        kind: SignalKind,
        comment: &str,
        group: Option<&str>,
    ) -> SignalId {
        let id = SignalId(self.signals.len() as u32);
        self.signals.push(Signal {
            name: name.to_string(),
            ty,
            kind,
            comment: comment.to_string(),
            group: group.map(str::to_string),
            unused_reason: None,
            domain: None,
            reset: None,
        });
        id
    }

    /// Declare an input port. `group` starts a new commented port group when given.
    pub fn input(&mut self, name: &str, ty: Ty, group: Option<&str>, comment: &str) -> SignalId {
        self.add_signal(name, ty, SignalKind::Input, comment, group)
    }
    /// Declare an output port.
    pub fn output(&mut self, name: &str, ty: Ty, group: Option<&str>, comment: &str) -> SignalId {
        self.add_signal(name, ty, SignalKind::Output, comment, group)
    }
    /// Declare an internal wire.
    pub fn wire(&mut self, name: &str, ty: Ty, comment: &str) -> SignalId {
        self.add_signal(name, ty, SignalKind::Wire, comment, None)
    }
    /// Declare an internal register.
    pub fn reg(&mut self, name: &str, ty: Ty, comment: &str) -> SignalId {
        self.add_signal(name, ty, SignalKind::Reg, comment, None)
    }
    /// Declare a wire and drive it with `expr` (its type is computed from `expr`;
    /// an ill-typed expression gets a 1-bit wire and fails the check).
    pub fn wire_of(&mut self, name: &str, expr: Expr, comment: &str) -> SignalId {
        let ty = self.ty_of(&expr).unwrap_or(Ty::bit());
        let id = self.wire(name, ty, comment);
        self.assign(id, expr);
        id
    }
    /// Mark bits of a signal as deliberately unread, with the reason printed in the Verilog.
    pub fn allow_unused(&mut self, sig: SignalId, reason: &str) {
        self.signals[sig.index()].unused_reason = Some(reason.to_string());
    }
    pub fn memory(&mut self, name: &str, width: u32, depth: u32, comment: &str) -> MemoryId {
        let id = MemoryId(self.memories.len() as u32);
        self.memories.push(Memory {
            name: name.to_string(),
            width,
            depth,
            comment: comment.to_string(),
            hints: MemHints::default(),
            init: None,
        });
        id
    }
    /// A read-only memory of `contents.len()` words of `width` bits (at most
    /// 128), read with [`Module::mem_read`]; no write port. The check refuses
    /// a word wider than `width` and an empty ROM.
    pub fn rom(&mut self, name: &str, width: u32, contents: Vec<u128>, comment: &str) -> MemoryId {
        let id = self.memory(name, width, contents.len() as u32, comment);
        if let Some(m) = self.memories.get_mut(id.0 as usize) {
            m.init = Some(contents);
        }
        id
    }
    /// Set the synthesis hints of a memory.
    pub fn memory_hints(&mut self, mem: MemoryId, hints: MemHints) {
        if let Some(m) = self.memories.get_mut(mem.0 as usize) {
            m.hints = hints;
        }
    }
    /// `if (enable) mem[addr] <= data` at the rising edge of `clk`.
    pub fn mem_write(
        &mut self,
        mem: MemoryId,
        clk: SignalId,
        enable: impl Into<Expr>,
        addr: impl Into<Expr>,
        data: impl Into<Expr>,
    ) {
        self.items.push(Item::MemWrite {
            mem,
            clk,
            enable: enable.into(),
            addr: addr.into(),
            data: data.into(),
        });
    }
    /// Synchronous read: `if (enable) target <= mem[addr]` at the rising edge of `clk`.
    pub fn mem_read(
        &mut self,
        mem: MemoryId,
        clk: SignalId,
        enable: impl Into<Expr>,
        addr: impl Into<Expr>,
        target: SignalId,
    ) {
        self.items.push(Item::MemRead {
            mem,
            clk,
            enable: enable.into(),
            addr: addr.into(),
            target,
        });
    }

    pub fn assign(&mut self, target: SignalId, expr: impl Into<Expr>) {
        self.items.push(Item::Assign {
            target,
            expr: expr.into(),
        });
    }

    /// Drive register `target` from `next` at each rising `clk` edge where `enable` holds.
    pub fn clocked(
        &mut self,
        target: SignalId,
        clk: SignalId,
        next: impl Into<Expr>,
        enable: Option<Expr>,
        reset: Option<Reset>,
    ) {
        self.items.push(Item::Clocked {
            target,
            clk,
            next: next.into(),
            enable,
            reset,
        });
    }

    /// An unchecked instance, for the printer's unit tests; blocks instantiate
    /// with the checked builder ([`crate::parts::Instantiate::inst`]), the one
    /// way to instantiate a module or an extern primitive.
    #[cfg(test)]
    pub(crate) fn instance(&mut self, module: &str, name: &str, conns: Vec<(String, Conn)>) {
        self.items.push(Item::Instance {
            module: module.to_string(),
            name: name.to_string(),
            params: Vec::new(),
            attrs: Vec::new(),
            conns,
        });
    }

    pub fn signal(&self, id: SignalId) -> &Signal {
        &self.signals[id.index()]
    }

    /// Ports in declaration order.
    pub fn ports(&self) -> impl Iterator<Item = (SignalId, &Signal)> {
        self.signals
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s.kind, SignalKind::Input | SignalKind::Output))
            .map(|(i, s)| (SignalId(i as u32), s))
    }

    pub fn find(&self, name: &str) -> Option<SignalId> {
        self.signals
            .iter()
            .position(|s| s.name == name)
            .map(|i| SignalId(i as u32))
    }

    /// Type of an expression, or the rule it breaks.
    pub fn ty_of(&self, e: &Expr) -> Result<Ty, String> {
        match e {
            Expr::Sig(s) => self
                .signals
                .get(s.index())
                .map(|s| s.ty)
                .ok_or_else(|| format!("reference to signal #{} which does not exist", s.0)),
            Expr::Const(c) => {
                if c.ty.width == 0 {
                    return Err("constant of width 0".into());
                }
                if c.ty.width < 128 && c.bits >> c.ty.width != 0 {
                    return Err(format!(
                        "constant pattern {:#x} does not fit in {} bits",
                        c.bits, c.ty.width
                    ));
                }
                Ok(c.ty)
            }
            Expr::Slice { e, lo, width } => {
                let t = self.ty_of(e)?;
                if *width == 0 || lo + width > t.width {
                    return Err(format!(
                        "slice [{lo} +: {width}] out of range of a {}-bit operand",
                        t.width
                    ));
                }
                Ok(Ty::u(*width))
            }
            Expr::Unary(op, e) => {
                let t = self.ty_of(e)?;
                Ok(match op {
                    UnOp::Not | UnOp::Neg => t,
                    UnOp::ReduceOr | UnOp::ReduceAnd | UnOp::ReduceXor => Ty::bit(),
                })
            }
            Expr::Binary(op, a, b) => {
                let ta = self.ty_of(a)?;
                let tb = self.ty_of(b)?;
                if op.is_shift() {
                    if tb.signed {
                        return Err(format!("shift amount must be unsigned, got {tb}"));
                    }
                    if *op == BinOp::Sra && !ta.signed {
                        return Err(format!(
                            "arithmetic shift right needs a signed operand, got {ta}"
                        ));
                    }
                    return Ok(ta);
                }
                if ta != tb {
                    return Err(format!(
                        "operands of `{}` must have the same type, got {ta} and {tb}",
                        op.verilog()
                    ));
                }
                Ok(if op.is_compare() { Ty::bit() } else { ta })
            }
            Expr::Mux { sel, t, f } => {
                let ts = self.ty_of(sel)?;
                if ts.width != 1 {
                    return Err(format!("mux select must be 1 bit, got {ts}"));
                }
                let tt = self.ty_of(t)?;
                let tf = self.ty_of(f)?;
                if tt != tf {
                    return Err(format!(
                        "mux arms must have the same type, got {tt} and {tf}"
                    ));
                }
                Ok(tt)
            }
            Expr::Concat(parts) => {
                if parts.is_empty() {
                    return Err("empty concatenation".into());
                }
                let mut w = 0;
                for p in parts {
                    w += self.ty_of(p)?.width;
                }
                Ok(Ty::u(w))
            }
            Expr::Resize { e, width } => {
                let t = self.ty_of(e)?;
                if *width == 0 {
                    return Err("resize to width 0".into());
                }
                Ok(Ty {
                    width: *width,
                    signed: t.signed,
                })
            }
            Expr::Cast { e, signed } => {
                let t = self.ty_of(e)?;
                Ok(Ty {
                    width: t.width,
                    signed: *signed,
                })
            }
            Expr::MulWide(a, b) => {
                let ta = self.ty_of(a)?;
                let tb = self.ty_of(b)?;
                if ta.signed != tb.signed {
                    return Err(format!(
                        "full-width multiply needs operands of equal signedness, got {ta} and {tb}"
                    ));
                }
                Ok(Ty {
                    width: ta.width + tb.width,
                    signed: ta.signed,
                })
            }
        }
    }
}

/// Visit every signal an expression reads, with the bit range it reads
/// (`None` = all bits).
pub fn visit_reads(e: &Expr, f: &mut impl FnMut(SignalId, Option<(u32, u32)>)) {
    match e {
        Expr::Sig(s) => f(*s, None),
        Expr::Const(_) => {}
        Expr::Slice { e, lo, width } => {
            if let Expr::Sig(s) = e.as_ref() {
                f(*s, Some((*lo, *width)));
            } else {
                visit_reads(e, f);
            }
        }
        Expr::Unary(_, e) | Expr::Resize { e, .. } | Expr::Cast { e, .. } => visit_reads(e, f),
        Expr::Binary(_, a, b) | Expr::MulWide(a, b) => {
            visit_reads(a, f);
            visit_reads(b, f);
        }
        Expr::Mux { sel, t, f: fe } => {
            visit_reads(sel, f);
            visit_reads(t, f);
            visit_reads(fe, f);
        }
        Expr::Concat(parts) => parts.iter().for_each(|p| visit_reads(p, f)),
    }
}

/// A set of modules with one top. Modules are printed top first, then the others
/// in the order they were added.
#[derive(Clone, Debug)]
pub struct Design {
    pub top: String,
    /// Banner lines printed at the head of the file (generator version, configuration).
    pub header: Vec<String>,
    pub modules: Vec<Module>,
    /// Modules instantiated but not defined here (vendor primitives).
    pub externs: Vec<ExternModule>,
}

impl Design {
    pub fn new(top: impl Into<String>) -> Design {
        Design {
            top: top.into(),
            header: Vec::new(),
            modules: Vec::new(),
            externs: Vec::new(),
        }
    }
    pub fn add(&mut self, m: Module) {
        self.modules.push(m);
    }
    /// Add a module unless the design already has it. A module of the same
    /// name but different content is refused: two blocks built parts of one
    /// name with different parameters, and one would silently replace the other.
    pub fn include(&mut self, m: Module) -> Result<(), crate::GenError> {
        match self.modules.iter().find(|x| x.name == m.name) {
            // Debug covers every field, so equal text is equal content.
            Some(x) if format!("{x:?}") == format!("{m:?}") => Ok(()),
            Some(_) => Err(crate::GenError::Internal(format!(
                "module `{}` is already in design `{}` with different content (rule: one name, one module)",
                m.name, self.top
            ))),
            None if self.externs.iter().any(|e| e.name == m.name) => {
                Err(crate::GenError::Internal(format!(
                    "module `{}` clashes with an extern module of design `{}`",
                    m.name, self.top
                )))
            }
            None => {
                self.modules.push(m);
                Ok(())
            }
        }
    }
    /// Declare a primitive the design instantiates; declaring the same one
    /// twice (the engine and its array both use `SB_MAC16`) keeps one.
    pub fn add_extern(&mut self, e: ExternModule) {
        if !self.externs.contains(&e) {
            self.externs.push(e);
        }
    }
    pub fn extern_module(&self, name: &str) -> Option<&ExternModule> {
        self.externs.iter().find(|e| e.name == name)
    }
    pub fn module(&self, name: &str) -> Option<&Module> {
        self.modules.iter().find(|m| m.name == name)
    }
    pub fn top_module(&self) -> Option<&Module> {
        self.module(&self.top)
    }
}

//! Talking to a board over any [`Link`]: INFO, one GEMM tile, and whole GEMMs of
//! any shape, tiled into ROWS x COLS tiles (padded with zeros) and split along K
//! where one frame cannot carry it.
//!
//! The protocol is strictly one request at a time, so every read has a deadline
//! computed from the bytes still to cross the line at the configured baud rate
//! (twice that, plus a fixed slack): a board that does not answer is reported as
//! a timeout naming how many bytes did arrive, never a hang.

use std::time::Duration;

use contracts::uart::{self as protocol, FRAME_OVERHEAD, PROTOCOL_VERSION, SYNC_RESPONSE};

use crate::frame::{self, FrameError, Info, Response};
use crate::link::{Link, LinkError};

/// What can go wrong talking to a board.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error("bad frame from the board: {0}")]
    Frame(#[from] FrameError),
    #[error("the board answered error {code:#04x} ({}) to command {cmd:#04x}", frame::error_name(*.code))]
    Board { code: u8, cmd: u8 },
    #[error("unexpected response: {0}")]
    Unexpected(String),
    #[error("incompatible board: {0}")]
    Incompatible(String),
    #[error("bad request: {0}")]
    Request(String),
    #[error("{0}")]
    Engine(String),
}

/// How to open a session.
#[derive(Clone, Debug)]
pub struct Options {
    /// Baud rate of the line, for the read deadlines.
    pub baud: u32,
    /// Send a break first, resetting the board (recommended: it recovers a board
    /// left in the middle of a frame by an interrupted session).
    pub reset: bool,
    /// Added to every deadline: USB latency, the OS, a slow simulation start.
    pub slack: Duration,
}

impl Options {
    pub fn new(baud: u32) -> Options {
        Options {
            baud,
            reset: true,
            slack: Duration::from_millis(200),
        }
    }
}

/// Bytes that crossed the line in a session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Bytes skipped while looking for a response's sync byte.
    pub junk_bytes: u64,
    pub tiles: u64,
}

/// Bytes per MEM_WRITE / MEM_READ frame: long enough that the 5 bytes of
/// framing cost little, short enough that a lost frame costs little.
pub const MEM_CHUNK: usize = 1024;

/// Most junk bytes skipped before a response's sync byte before giving up.
const MAX_JUNK: usize = 64;

/// A session with one board.
pub struct Board<L: Link> {
    link: L,
    info: Info,
    opts: Options,
    stats: Stats,
}

impl<L: Link> Board<L> {
    /// Open a session: optionally reset the board, then ask INFO and check the
    /// protocol version.
    pub fn connect(link: L, opts: Options) -> Result<Board<L>, HostError> {
        if opts.baud == 0 {
            return Err(HostError::Request("baud must be at least 1".into()));
        }
        let mut b = Board {
            link,
            info: Info {
                protocol: 0,
                version: [0; 3],
                rows: 0,
                cols: 0,
                clock_hz: 0,
                baud: 0,
                kind: 0,
                mem_bits: 0,
                mem_bytes: 0,
                engine_hz: 0,
            },
            opts,
            stats: Stats::default(),
        };
        if b.opts.reset {
            b.link.send_break()?;
        }
        let info = b.query_info()?;
        if info.protocol != PROTOCOL_VERSION {
            return Err(HostError::Incompatible(format!(
                "board speaks protocol version {}, this host {PROTOCOL_VERSION}",
                info.protocol
            )));
        }
        if info.rows == 0 || info.cols == 0 {
            return Err(HostError::Incompatible(format!(
                "board reports a {} x {} array",
                info.rows, info.cols
            )));
        }
        b.info = info;
        Ok(b)
    }

    /// What the board reported when the session opened.
    pub fn info(&self) -> &Info {
        &self.info
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The link, for sending hand-made (e.g. corrupted) frames.
    pub fn link(&mut self) -> &mut L {
        &mut self.link
    }

    pub fn into_link(self) -> L {
        self.link
    }

    /// The deadline for `bytes` to cross the line: twice their time at the baud
    /// rate, plus the slack.
    pub fn timeout_for(&self, bytes: usize) -> Duration {
        let secs = bytes as f64 * 10.0 / f64::from(self.opts.baud);
        Duration::from_secs_f64(2.0 * secs) + self.opts.slack
    }

    /// Send raw bytes.
    pub fn send(&mut self, bytes: &[u8]) -> Result<(), HostError> {
        self.link.send(bytes)?;
        self.stats.bytes_sent += bytes.len() as u64;
        Ok(())
    }

    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> Result<(), HostError> {
        self.link.recv_exact(buf, timeout)?;
        self.stats.bytes_received += buf.len() as u64;
        Ok(())
    }

    /// Read one response frame; `timeout` covers the whole frame.
    pub fn read_response(&mut self, timeout: Duration) -> Result<Response, HostError> {
        let mut h = [0u8; 4];
        let mut junk = 0;
        loop {
            self.recv(&mut h[..1], timeout)?;
            if h[0] == SYNC_RESPONSE {
                break;
            }
            junk += 1;
            self.stats.junk_bytes += 1;
            if junk > MAX_JUNK {
                return Err(FrameError::BadSync { got: h[0] }.into());
            }
        }
        self.recv(&mut h[1..], timeout)?;
        let (kind, len) = frame::parse_header(h)?;
        let mut rest = vec![0u8; len + 1];
        self.recv(&mut rest, timeout)?;
        Ok(frame::decode(kind, &rest[..len], rest[len])?)
    }

    /// Send a request and read its one response.
    pub fn exchange(&mut self, request: &[u8], reply_len: usize) -> Result<Response, HostError> {
        self.send(request)?;
        let t = self.timeout_for(request.len() + reply_len + FRAME_OVERHEAD);
        self.read_response(t)
    }

    /// Ask INFO.
    pub fn query_info(&mut self) -> Result<Info, HostError> {
        match self.exchange(&frame::info_request(), protocol::InfoLayout::LEN)? {
            Response::Info(i) => Ok(i),
            Response::Error { code, cmd } => Err(HostError::Board { code, cmd }),
            other => Err(HostError::Unexpected(format!(
                "{other:?} in answer to INFO"
            ))),
        }
    }

    /// Refuse an engine command on a board that has no engine.
    fn need_engine(&self, what: &str) -> Result<(), HostError> {
        if self.info.is_engine() {
            Ok(())
        } else {
            Err(HostError::Incompatible(format!(
                "{what} needs an engine board; this board reports design kind {} (a systolic array)",
                self.info.kind
            )))
        }
    }

    /// Send a request whose answer is one ACK.
    fn expect_ack(&mut self, req: &[u8], what: &str) -> Result<(), HostError> {
        match self.exchange(req, 0)? {
            Response::Ack => Ok(()),
            Response::Error { code, cmd } => Err(HostError::Board { code, cmd }),
            other => Err(HostError::Unexpected(format!(
                "{other:?} in answer to {what}"
            ))),
        }
    }

    /// Write `value` to the engine register at byte offset `addr`.
    pub fn reg_write(&mut self, addr: u32, value: u32) -> Result<(), HostError> {
        self.need_engine("REG_WRITE")?;
        let a = u8::try_from(addr).map_err(|_| {
            HostError::Request(format!("register offset must fit a byte, got {addr:#x}"))
        })?;
        self.expect_ack(&frame::reg_write_request(a, value), "REG_WRITE")
    }

    /// Read the engine register at byte offset `addr`.
    pub fn reg_read(&mut self, addr: u32) -> Result<u32, HostError> {
        self.need_engine("REG_READ")?;
        let a = u8::try_from(addr).map_err(|_| {
            HostError::Request(format!("register offset must fit a byte, got {addr:#x}"))
        })?;
        match self.exchange(&frame::reg_read_request(a), 4)? {
            Response::Reg(v) => Ok(v),
            Response::Error { code, cmd } => Err(HostError::Board { code, cmd }),
            other => Err(HostError::Unexpected(format!(
                "{other:?} in answer to REG_READ"
            ))),
        }
    }

    /// Check that `len` bytes from `addr` lie inside the board's memory.
    fn check_span(&self, addr: u32, len: usize) -> Result<(), HostError> {
        let end = u64::from(addr) + len as u64;
        if end > u64::from(self.info.mem_bytes) {
            return Err(HostError::Request(format!(
                "{len} bytes at {addr:#x} run past the board's {} bytes of memory",
                self.info.mem_bytes
            )));
        }
        Ok(())
    }

    /// Write `data` into the board's memory from byte address `addr`, in frames
    /// of at most `chunk` bytes (1..=MAX_MEM_WRITE).
    pub fn mem_write_chunked(
        &mut self,
        addr: u32,
        data: &[u8],
        chunk: usize,
    ) -> Result<(), HostError> {
        self.need_engine("MEM_WRITE")?;
        self.check_span(addr, data.len())?;
        let chunk = chunk.clamp(1, protocol::MAX_MEM_WRITE);
        for (i, part) in data.chunks(chunk).enumerate() {
            let a = addr + (i * chunk) as u32;
            self.expect_ack(&frame::mem_write_request(a, part)?, "MEM_WRITE")?;
        }
        Ok(())
    }

    /// Write `data` into the board's memory from byte address `addr`.
    pub fn mem_write(&mut self, addr: u32, data: &[u8]) -> Result<(), HostError> {
        self.mem_write_chunked(addr, data, MEM_CHUNK)
    }

    /// Read `len` bytes of the board's memory from byte address `addr`.
    pub fn mem_read(&mut self, addr: u32, len: usize) -> Result<Vec<u8>, HostError> {
        self.need_engine("MEM_READ")?;
        self.check_span(addr, len)?;
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            let n = (len - out.len()).min(MEM_CHUNK);
            let a = addr + out.len() as u32;
            match self.exchange(&frame::mem_read_request(a, n)?, n)? {
                Response::Mem(b) if b.len() == n => out.extend(b),
                Response::Error { code, cmd } => return Err(HostError::Board { code, cmd }),
                other => {
                    return Err(HostError::Unexpected(format!(
                        "{other:?} in answer to MEM_READ of {n} bytes"
                    )))
                }
            }
        }
        Ok(out)
    }

    /// One tile: `a` is ROWS x k, `b` is k x COLS (row-major); returns C, ROWS x
    /// COLS row-major, as the board computed it.
    pub fn gemm_tile(&mut self, k: usize, a: &[i8], b: &[i8]) -> Result<Vec<i32>, HostError> {
        let (rows, cols) = (self.info.rows, self.info.cols);
        let req = frame::gemm_request(rows, cols, k, a, b)?;
        self.send(&req)?;
        let row_frame = FRAME_OVERHEAD + protocol::row_payload_len(cols);
        let mut c = vec![0i32; rows * cols];
        for i in 0..rows {
            // The first row also waits for the request itself to cross the line.
            let t = self.timeout_for(row_frame + if i == 0 { req.len() } else { 0 });
            match self.read_response(t)? {
                Response::Row { index, values } => {
                    if usize::from(index) != i || values.len() != cols {
                        return Err(HostError::Unexpected(format!(
                            "row {index} with {} values where row {i} with {cols} was due",
                            values.len()
                        )));
                    }
                    c[i * cols..(i + 1) * cols].copy_from_slice(&values);
                }
                Response::Error { code, cmd } => return Err(HostError::Board { code, cmd }),
                other => {
                    return Err(HostError::Unexpected(format!(
                        "{other:?} where row {i} of C was due"
                    )))
                }
            }
        }
        self.stats.tiles += 1;
        Ok(c)
    }

    /// C = A * B for A of m x k and B of k x n (row-major), any shape: tiles are
    /// padded with zeros to ROWS x COLS and K is split where one frame cannot
    /// carry it (partial sums added with int32 wrap, as the array accumulates).
    pub fn gemm(
        &mut self,
        a: &[i8],
        b: &[i8],
        m: usize,
        k: usize,
        n: usize,
    ) -> Result<Vec<i32>, HostError> {
        if m == 0 || k == 0 || n == 0 || a.len() != m * k || b.len() != k * n {
            return Err(HostError::Request(format!(
                "GEMM needs m, k, n >= 1, A of m * k and B of k * n values; got m = {m}, k = {k}, n = {n}, {} and {} values",
                a.len(),
                b.len()
            )));
        }
        let (rows, cols) = (self.info.rows, self.info.cols);
        let kmax = protocol::max_k(rows, cols);
        let mut c = vec![0i32; m * n];
        for i0 in (0..m).step_by(rows) {
            for j0 in (0..n).step_by(cols) {
                for k0 in (0..k).step_by(kmax) {
                    let kc = kmax.min(k - k0);
                    let mut ta = vec![0i8; rows * kc];
                    for i in 0..rows.min(m - i0) {
                        let src = (i0 + i) * k + k0;
                        ta[i * kc..(i + 1) * kc].copy_from_slice(&a[src..src + kc]);
                    }
                    let mut tb = vec![0i8; kc * cols];
                    let w = cols.min(n - j0);
                    for kk in 0..kc {
                        let src = (k0 + kk) * n + j0;
                        tb[kk * cols..kk * cols + w].copy_from_slice(&b[src..src + w]);
                    }
                    let t = self.gemm_tile(kc, &ta, &tb)?;
                    for i in 0..rows.min(m - i0) {
                        for j in 0..w {
                            let o = &mut c[(i0 + i) * n + j0 + j];
                            *o = o.wrapping_add(t[i * cols + j]);
                        }
                    }
                }
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::uart::{
        crc8, ERR_BAD_CRC, ERR_UNKNOWN_CMD, RSP_ERROR, RSP_INFO, RSP_ROW, SYNC_REQUEST,
    };
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use std::collections::VecDeque;

    /// A deliberately naive software board: parses whole request frames and
    /// answers like the bridge, computing C with the golden reference.
    struct SoftBoard {
        rows: usize,
        cols: usize,
        rx: Vec<u8>,
        tx: VecDeque<u8>,
    }

    impl SoftBoard {
        fn new(rows: usize, cols: usize) -> SoftBoard {
            SoftBoard {
                rows,
                cols,
                rx: Vec::new(),
                tx: VecDeque::new(),
            }
        }
        fn respond(&mut self, kind: u8, payload: &[u8]) {
            let f = frame::encode(SYNC_RESPONSE, kind, payload).expect("fits");
            self.tx.extend(f);
        }
        fn step(&mut self) {
            while self.rx.first().is_some_and(|&b| b != SYNC_REQUEST) {
                self.rx.remove(0);
            }
            if self.rx.len() < 4 {
                return;
            }
            let len = usize::from(u16::from_le_bytes([self.rx[2], self.rx[3]]));
            if self.rx.len() < 5 + len {
                return;
            }
            let f: Vec<u8> = self.rx.drain(..5 + len).collect();
            let (cmd, p) = (f[1], &f[4..4 + len]);
            if crc8(&f[1..4 + len]) != f[4 + len] {
                return self.respond(RSP_ERROR, &[ERR_BAD_CRC, cmd]);
            }
            match cmd {
                0x01 => {
                    let info = contracts::uart::InfoFields {
                        version: [0, 1, 0],
                        rows: self.rows as u16,
                        cols: self.cols as u16,
                        clock_hz: 1_000_000,
                        baud: 115_200,
                        kind: contracts::uart::KIND_ARRAY,
                        mem_bits: 0,
                        mem_bytes: 0,
                        engine_hz: 1_000_000,
                    };
                    self.respond(RSP_INFO, &info.encode());
                }
                0x02 => {
                    let (r, c) = (self.rows, self.cols);
                    let k = usize::from(u16::from_le_bytes([p[0], p[1]]));
                    let mut a = vec![0i8; r * k];
                    let mut b = vec![0i8; k * c];
                    for kk in 0..k {
                        let beat = &p[2 + kk * (r + c)..2 + (kk + 1) * (r + c)];
                        for i in 0..r {
                            a[i * k + kk] = beat[i] as i8;
                        }
                        for j in 0..c {
                            b[kk * c + j] = beat[r + j] as i8;
                        }
                    }
                    let out = golden::reference::gemm_i8(&a, &b, r, k, c);
                    for i in 0..r {
                        let mut row = (i as u16).to_le_bytes().to_vec();
                        for v in &out[i * c..(i + 1) * c] {
                            row.extend_from_slice(&v.to_le_bytes());
                        }
                        self.respond(RSP_ROW, &row);
                    }
                }
                _ => self.respond(RSP_ERROR, &[ERR_UNKNOWN_CMD, cmd]),
            }
        }
    }

    impl Link for SoftBoard {
        fn send(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
            self.rx.extend_from_slice(bytes);
            self.step();
            Ok(())
        }
        fn recv_exact(&mut self, buf: &mut [u8], timeout: Duration) -> Result<(), LinkError> {
            if self.tx.len() < buf.len() {
                return Err(LinkError::Timeout {
                    wanted: buf.len(),
                    got: self.tx.len(),
                    timeout,
                });
            }
            for b in buf.iter_mut() {
                *b = self.tx.pop_front().unwrap_or(0);
            }
            Ok(())
        }
        fn send_break(&mut self) -> Result<(), LinkError> {
            self.rx.clear();
            self.tx.clear();
            Ok(())
        }
    }

    fn board(rows: usize, cols: usize) -> Board<SoftBoard> {
        Board::connect(SoftBoard::new(rows, cols), Options::new(115_200)).expect("connects")
    }

    #[test]
    fn any_shape_is_tiled_padded_and_split_along_k() {
        let mut rng = StdRng::seed_from_u64(7);
        // 8 x 8: one frame carries at most K = 4095, so K = 5000 is split in two.
        for (rows, cols, m, k, n) in [
            (4, 4, 6, 9, 7),
            (2, 3, 1, 1, 1),
            (3, 5, 7, 2, 11),
            (8, 8, 3, 5000, 9),
        ] {
            let mut b = board(rows, cols);
            let av: Vec<i8> = (0..m * k).map(|_| rng.gen()).collect();
            let bv: Vec<i8> = (0..k * n).map(|_| rng.gen()).collect();
            let got = b.gemm(&av, &bv, m, k, n).expect("gemm");
            assert_eq!(
                got,
                golden::reference::gemm_i8(&av, &bv, m, k, n),
                "{rows}x{cols} array, {m}x{k}x{n}"
            );
            let tiles =
                m.div_ceil(rows) * n.div_ceil(cols) * k.div_ceil(protocol::max_k(rows, cols));
            assert_eq!(b.stats().tiles, tiles as u64);
        }
    }

    #[test]
    fn board_errors_and_timeouts_are_reported() {
        let mut b = board(2, 2);
        let mut f = frame::info_request();
        f[4] ^= 1;
        b.send(&f).expect("send");
        let t = b.timeout_for(10);
        assert_eq!(
            b.read_response(t).expect("a response"),
            Response::Error {
                code: ERR_BAD_CRC,
                cmd: 1
            }
        );
        let e = b.read_response(t).expect_err("nothing more");
        assert!(
            matches!(e, HostError::Link(LinkError::Timeout { got: 0, .. })),
            "{e}"
        );
        let e = b
            .exchange(&frame::request(0x33, &[]).expect("fits"), 2)
            .expect("answer");
        assert_eq!(
            e,
            Response::Error {
                code: ERR_UNKNOWN_CMD,
                cmd: 0x33
            }
        );
        assert!(matches!(
            b.gemm(&[1], &[1, 2], 1, 1, 1),
            Err(HostError::Request(_))
        ));
        // Engine commands are refused before anything is sent to an array board.
        let sent = b.stats().bytes_sent;
        assert!(matches!(b.reg_read(8), Err(HostError::Incompatible(_))));
        assert!(matches!(
            b.mem_write(0, &[1]),
            Err(HostError::Incompatible(_))
        ));
        assert_eq!(b.stats().bytes_sent, sent);
    }
}

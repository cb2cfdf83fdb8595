//! The board's UART wire protocol, in one place: the bridge hardware
//! (`hdl::board::bridge`) is built from these numbers and the `host` crate encodes
//! and decodes frames with them, so the two cannot disagree. `docs/uart-protocol.md`
//! describes the protocol.
//!
//! Request (host -> board):  `0xA5, CMD, LEN_LO, LEN_HI, payload[LEN], CRC`
//! Response (board -> host): `0x5A, TYPE, LEN_LO, LEN_HI, payload[LEN], CRC`
//!
//! CRC is CRC-8/SMBUS (polynomial 0x07, initial value 0, no reflection, no final
//! XOR) over CMD/TYPE, both length bytes and the payload, not over the sync byte.

/// Version of this protocol, the first byte of the INFO payload. Version 2 added
/// the engine board's register and memory commands and the design kind and
/// engine fields of INFO.
pub const PROTOCOL_VERSION: u8 = 2;

/// First byte of every request frame.
pub const SYNC_REQUEST: u8 = 0xA5;
/// First byte of every response frame (differs from [`SYNC_REQUEST`] so a looped-back
/// line is not mistaken for a board).
pub const SYNC_RESPONSE: u8 = 0x5A;

/// Request: report the configuration. Empty payload; answered by [`RSP_INFO`].
pub const CMD_INFO: u8 = 0x01;
/// Request: one GEMM tile. Payload: K (u16 LE, >= 1), then K beats of ROWS bytes
/// of A's column k followed by COLS bytes of B's row k. Answered by ROWS
/// [`RSP_ROW`] frames, or one [`RSP_ERROR`].
pub const CMD_GEMM: u8 = 0x02;

/// Request (engine board): write an engine register. Payload: register byte
/// address (u8), value (u32). Applied after the CRC checked; answered by [`RSP_ACK`].
pub const CMD_REG_WRITE: u8 = 0x03;
/// Request (engine board): read an engine register. Payload: register byte
/// address (u8). Answered by [`RSP_REG`].
pub const CMD_REG_READ: u8 = 0x04;
/// Request (engine board): write bytes into the board's memory. Payload: byte
/// address (u32), then at least one data byte, written in order as they arrive.
/// Answered by [`RSP_ACK`] (or an ERROR; the bytes before it may be written).
pub const CMD_MEM_WRITE: u8 = 0x05;
/// Request (engine board): read bytes of the board's memory. Payload: byte
/// address (u32), count (u16, >= 1). Answered by [`RSP_MEM`] with the bytes.
pub const CMD_MEM_READ: u8 = 0x06;

/// Response to [`CMD_INFO`]; payload layout in [`InfoLayout`].
pub const RSP_INFO: u8 = 0x81;
/// One row of C: row index (u16 LE), then COLS int32 little-endian.
pub const RSP_ROW: u8 = 0x82;
/// Response to [`CMD_REG_WRITE`] and [`CMD_MEM_WRITE`]: done, empty payload.
pub const RSP_ACK: u8 = 0x83;
/// Response to [`CMD_REG_READ`]: the register's value (u32).
pub const RSP_REG: u8 = 0x84;
/// Response to [`CMD_MEM_READ`]: the bytes read, in address order.
pub const RSP_MEM: u8 = 0x85;
/// The request failed: payload `[error code, command byte of the request]`.
pub const RSP_ERROR: u8 = 0xEE;

/// The frame's CRC byte did not match.
pub const ERR_BAD_CRC: u8 = 0x01;
/// The command byte is not one this bridge knows.
pub const ERR_UNKNOWN_CMD: u8 = 0x02;
/// LEN does not fit the command (INFO: 0; GEMM: 2 + K * (ROWS + COLS), K >= 1).
pub const ERR_BAD_LENGTH: u8 = 0x03;
/// A byte of the frame had a low stop bit (baud mismatch or line noise).
pub const ERR_FRAMING: u8 = 0x04;
/// A byte arrived before the array took the previous beat, or (engine board)
/// before the previous MEM_WRITE byte reached the memory (the engine held the
/// memory port for a whole byte time: write memory while the engine is idle).
pub const ERR_OVERRUN: u8 = 0x05;

/// Largest LEN a frame can carry.
pub const MAX_LEN: usize = 0xFFFF;
/// Bytes of framing around a payload: sync, command/type, two length bytes, CRC.
pub const FRAME_OVERHEAD: usize = 5;

/// Bytes before the payload: sync, command/type, two length bytes.
pub const HEADER_LEN: usize = 4;

/// Payload length of [`CMD_REG_WRITE`]: address byte and a u32.
pub const REG_WRITE_LEN: usize = 5;
/// Payload length of [`CMD_REG_READ`]: the address byte.
pub const REG_READ_LEN: usize = 1;
/// Payload length of [`CMD_MEM_READ`]: address (u32) and count (u16).
pub const MEM_READ_LEN: usize = 6;
/// Bytes of [`CMD_MEM_WRITE`]'s payload before the data: the address (u32).
pub const MEM_WRITE_HEADER: usize = 4;
/// Most data bytes one MEM_WRITE frame carries.
pub const MAX_MEM_WRITE: usize = MAX_LEN - MEM_WRITE_HEADER;
/// Most bytes one MEM_READ asks for (the answer's LEN is a u16).
pub const MAX_MEM_READ: usize = MAX_LEN;

/// INFO's design kind: a systolic array behind the GEMM bridge.
pub const KIND_ARRAY: u8 = 0;
/// INFO's design kind: the conv/FC engine with on-chip memory, behind the
/// register and memory bridge.
pub const KIND_ENGINE: u8 = 1;

/// `uart_rx` held low for this many bit times (two whole frames: no byte looks like
/// it) is a break, which resets the board; the host sends one to recover.
pub const BREAK_BITS: u32 = 20;

/// Byte offsets of the INFO payload (all multi-byte fields little-endian).
pub struct InfoLayout;

impl InfoLayout {
    /// [`PROTOCOL_VERSION`].
    pub const PROTOCOL: usize = 0;
    /// Generator version: major, minor, patch (one byte each).
    pub const VERSION: usize = 1;
    /// PE rows (u16).
    pub const ROWS: usize = 4;
    /// PE columns (u16).
    pub const COLS: usize = 6;
    /// Achieved clock of the bridge (the UART's clock; the whole design on an
    /// array board) in Hz, rounded (u32).
    pub const CLOCK_HZ: usize = 8;
    /// Configured baud rate (u32).
    pub const BAUD: usize = 12;
    /// Design kind (u8): [`KIND_ARRAY`] or [`KIND_ENGINE`].
    pub const KIND: usize = 16;
    /// Engine memory port width in bits (u8); 0 on an array board.
    pub const MEM_BITS: usize = 17;
    /// Bytes of on-chip memory behind the engine (u32); 0 on an array board.
    pub const MEM_BYTES: usize = 18;
    /// Engine clock in Hz, rounded (u32); the core clock on an array board.
    pub const ENGINE_HZ: usize = 22;
    /// Payload length.
    pub const LEN: usize = 26;
}

/// The fields of an INFO payload, as numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InfoFields {
    pub version: [u8; 3],
    pub rows: u16,
    pub cols: u16,
    pub clock_hz: u32,
    pub baud: u32,
    pub kind: u8,
    pub mem_bits: u8,
    pub mem_bytes: u32,
    pub engine_hz: u32,
}

impl InfoFields {
    /// The INFO payload ([`PROTOCOL_VERSION`] first).
    pub fn encode(&self) -> [u8; InfoLayout::LEN] {
        let mut p = [0u8; InfoLayout::LEN];
        let mut put = |at: usize, b: &[u8]| p[at..at + b.len()].copy_from_slice(b);
        put(InfoLayout::PROTOCOL, &[PROTOCOL_VERSION]);
        put(InfoLayout::VERSION, &self.version);
        put(InfoLayout::ROWS, &self.rows.to_le_bytes());
        put(InfoLayout::COLS, &self.cols.to_le_bytes());
        put(InfoLayout::CLOCK_HZ, &self.clock_hz.to_le_bytes());
        put(InfoLayout::BAUD, &self.baud.to_le_bytes());
        put(InfoLayout::KIND, &[self.kind]);
        put(InfoLayout::MEM_BITS, &[self.mem_bits]);
        put(InfoLayout::MEM_BYTES, &self.mem_bytes.to_le_bytes());
        put(InfoLayout::ENGINE_HZ, &self.engine_hz.to_le_bytes());
        p
    }
}

/// Payload length of a row response for an array with `cols` columns.
pub fn row_payload_len(cols: usize) -> usize {
    2 + 4 * cols
}

/// Payload length of a GEMM request with `k` beats.
pub fn gemm_payload_len(rows: usize, cols: usize, k: usize) -> usize {
    2 + k * (rows + cols)
}

/// Largest K one GEMM frame can carry for this array size.
pub fn max_k(rows: usize, cols: usize) -> usize {
    (MAX_LEN - 2) / (rows + cols)
}

/// The generator version as three bytes (major, minor, patch); parts that do not
/// parse or fit a byte read as 0xFF.
pub fn version_bytes(version: &str) -> [u8; 3] {
    let mut out = [0xFF; 3];
    let core = version.split(['-', '+']).next().unwrap_or("");
    for (slot, part) in out.iter_mut().zip(core.split('.')) {
        if let Ok(v) = part.parse::<u8>() {
            *slot = v;
        }
    }
    out
}

/// One CRC-8/SMBUS step: the CRC after `byte`, MSB first.
pub const fn crc8_update(crc: u8, byte: u8) -> u8 {
    let mut c = crc ^ byte;
    let mut i = 0;
    while i < 8 {
        c = if c & 0x80 != 0 {
            (c << 1) ^ 0x07
        } else {
            c << 1
        };
        i += 1;
    }
    c
}

/// CRC-8/SMBUS of `bytes`.
pub fn crc8(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |c, &b| crc8_update(c, b))
}

/// One whole frame: `sync`, `kind` (command or response type), the payload length
/// (u16 LE), the payload and the CRC over everything after the sync byte. `None`
/// when the payload is longer than [`MAX_LEN`].
pub fn encode_frame(sync: u8, kind: u8, payload: &[u8]) -> Option<Vec<u8>> {
    let len = u16::try_from(payload.len()).ok()?;
    let mut f = Vec::with_capacity(payload.len() + FRAME_OVERHEAD);
    f.push(sync);
    f.push(kind);
    f.extend_from_slice(&len.to_le_bytes());
    f.extend_from_slice(payload);
    f.push(crc8(&f[1..]));
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc8_matches_the_catalogue_check_value() {
        // CRC-8/SMBUS check value from the CRC catalogue.
        assert_eq!(crc8(b"123456789"), 0xF4);
        assert_eq!(crc8(&[]), 0);
    }

    #[test]
    fn crc8_is_linear_so_hardware_can_use_an_xor_network() {
        for a in 0..=255u8 {
            for b in [0u8, 1, 0x80, 0x5A, 0xFF] {
                assert_eq!(
                    crc8_update(a, b),
                    crc8_update(a ^ b, 0),
                    "the update depends on crc ^ byte only"
                );
            }
        }
        for x in 0..=255u8 {
            let by_bits = (0..8)
                .filter(|j| x >> j & 1 == 1)
                .fold(0, |acc, j| acc ^ crc8_update(1 << j, 0));
            assert_eq!(crc8_update(x, 0), by_bits);
        }
    }

    #[test]
    fn version_bytes_parse() {
        assert_eq!(version_bytes("0.1.0"), [0, 1, 0]);
        assert_eq!(version_bytes("1.2.3-rc1"), [1, 2, 3]);
        assert_eq!(version_bytes("1.x"), [1, 0xFF, 0xFF]);
    }

    /// CRC-8/SMBUS written independently of [`crc8`]: long division of the whole
    /// message (followed by 8 zero bits) by x^8 + x^2 + x + 1, one bit at a time.
    fn crc8_by_division(bytes: &[u8]) -> u8 {
        let mut rem: u16 = 0;
        let bits = bytes
            .iter()
            .flat_map(|&b| (0..8).rev().map(move |i| b >> i & 1))
            .chain([0; 8]);
        for bit in bits {
            rem = rem << 1 | u16::from(bit);
            if rem & 0x100 != 0 {
                rem ^= 0x107;
            }
        }
        rem as u8
    }

    /// A frame taken apart by hand, from the layout in `docs/uart-protocol.md`.
    #[derive(Debug, PartialEq)]
    struct Parsed {
        sync: u8,
        kind: u8,
        payload: Vec<u8>,
        crc_ok: bool,
    }

    fn parse(f: &[u8]) -> Parsed {
        assert!(
            f.len() >= 5,
            "a frame has at least 5 bytes, got {}",
            f.len()
        );
        let len = f[2] as usize + 256 * f[3] as usize;
        assert_eq!(f.len(), 4 + len + 1, "length field {len} vs frame size");
        Parsed {
            sync: f[0],
            kind: f[1],
            payload: f[4..4 + len].to_vec(),
            crc_ok: crc8_by_division(&f[1..4 + len]) == f[4 + len],
        }
    }

    /// Deterministic bytes (xorshift), so the test needs no dependency.
    fn bytes(seed: u32, n: usize) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    #[test]
    fn crc8_agrees_with_long_division() {
        assert_eq!(crc8_by_division(b"123456789"), 0xF4, "the reference itself");
        for (seed, n) in [(1, 0), (2, 1), (3, 2), (4, 17), (5, 300), (6, 4096)] {
            let b = bytes(seed, n);
            assert_eq!(crc8(&b), crc8_by_division(&b), "{n} bytes");
        }
    }

    #[test]
    fn frames_round_trip_through_an_independent_parser() {
        for (seed, n) in [
            (7, 0),
            (8, 1),
            (9, 255),
            (10, 256),
            (11, 1000),
            (12, MAX_LEN),
        ] {
            let payload = bytes(seed, n);
            for (sync, kind) in [(SYNC_REQUEST, CMD_GEMM), (SYNC_RESPONSE, RSP_ROW)] {
                let f = encode_frame(sync, kind, &payload).expect("fits");
                assert_eq!(f.len(), n + FRAME_OVERHEAD);
                assert_eq!(f[HEADER_LEN..HEADER_LEN + n], payload[..]);
                assert_eq!(
                    parse(&f),
                    Parsed {
                        sync,
                        kind,
                        payload: payload.clone(),
                        crc_ok: true
                    }
                );
            }
        }
        assert_eq!(
            encode_frame(SYNC_REQUEST, CMD_GEMM, &[0; MAX_LEN + 1]),
            None
        );
    }

    #[test]
    fn a_flipped_bit_breaks_the_crc() {
        let f = encode_frame(SYNC_RESPONSE, RSP_ROW, &bytes(13, 40)).expect("fits");
        // Every bit after the sync byte is covered (the sync byte is not, by design).
        let (last, covered) = (f.len() - 1, 1..f.len() - 1);
        assert_eq!(crc8_by_division(&f[covered.clone()]), f[last]);
        for i in 1..f.len() {
            for bit in 0..8 {
                let mut g = f.clone();
                g[i] ^= 1 << bit;
                assert_ne!(
                    crc8_by_division(&g[covered.clone()]),
                    g[last],
                    "byte {i} bit {bit}"
                );
            }
        }
    }

    #[test]
    fn the_documented_example_frames() {
        // docs/uart-protocol.md, "Example": INFO to a 4 x 4 board at 12 MHz and
        // 115200 baud, generator 0.1.0.
        assert_eq!(
            encode_frame(SYNC_REQUEST, CMD_INFO, &[]),
            Some(vec![0xA5, 0x01, 0x00, 0x00, 0x6B])
        );
        let p = InfoFields {
            version: version_bytes("0.1.0"),
            rows: 4,
            cols: 4,
            clock_hz: 12_000_000,
            baud: 115_200,
            kind: KIND_ARRAY,
            mem_bits: 0,
            mem_bytes: 0,
            engine_hz: 12_000_000,
        }
        .encode();
        let doc = [
            0x5A, 0x81, 0x1A, 0x00, 0x02, 0x00, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00, 0x00, 0x1B,
            0xB7, 0x00, 0x00, 0xC2, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1B,
            0xB7, 0x00, 0x64,
        ];
        assert_eq!(
            encode_frame(SYNC_RESPONSE, RSP_INFO, &p),
            Some(doc.to_vec())
        );
    }

    #[test]
    fn info_layout_tiles_the_payload() {
        // (offset, size) in field order, sizes from the table in the protocol doc.
        let fields = [
            (InfoLayout::PROTOCOL, 1),
            (InfoLayout::VERSION, 3),
            (InfoLayout::ROWS, 2),
            (InfoLayout::COLS, 2),
            (InfoLayout::CLOCK_HZ, 4),
            (InfoLayout::BAUD, 4),
            (InfoLayout::KIND, 1),
            (InfoLayout::MEM_BITS, 1),
            (InfoLayout::MEM_BYTES, 4),
            (InfoLayout::ENGINE_HZ, 4),
        ];
        let mut next = 0;
        for (offset, size) in fields {
            assert_eq!(offset, next, "fields are contiguous, no gap or overlap");
            next += size;
        }
        assert_eq!(next, InfoLayout::LEN);
    }

    #[test]
    fn version_bytes_of_this_build() {
        // Cargo's own split of the package version, independent of the parser.
        let part = |s: &str| s.parse::<u8>().expect("a small version number");
        assert_eq!(
            version_bytes(crate::VERSION),
            [
                part(env!("CARGO_PKG_VERSION_MAJOR")),
                part(env!("CARGO_PKG_VERSION_MINOR")),
                part(env!("CARGO_PKG_VERSION_PATCH")),
            ]
        );
        assert_eq!(version_bytes("1.2.3+build.7"), [1, 2, 3]);
        assert_eq!(
            version_bytes("256.0.0"),
            [0xFF, 0, 0],
            "does not fit a byte"
        );
        assert_eq!(version_bytes("4.5"), [4, 5, 0xFF], "missing part");
        assert_eq!(version_bytes(""), [0xFF; 3]);
    }

    #[test]
    fn codes_are_distinct_and_framing_is_consistent() {
        assert_ne!(SYNC_REQUEST, SYNC_RESPONSE);
        assert_eq!(FRAME_OVERHEAD, HEADER_LEN + 1, "header plus CRC");
        assert_eq!(MAX_LEN, usize::from(u16::MAX), "LEN is a u16");
        let kinds = [
            CMD_INFO,
            CMD_GEMM,
            CMD_REG_WRITE,
            CMD_REG_READ,
            CMD_MEM_WRITE,
            CMD_MEM_READ,
            RSP_INFO,
            RSP_ROW,
            RSP_ACK,
            RSP_REG,
            RSP_MEM,
            RSP_ERROR,
        ];
        let errors = [
            ERR_BAD_CRC,
            ERR_UNKNOWN_CMD,
            ERR_BAD_LENGTH,
            ERR_FRAMING,
            ERR_OVERRUN,
        ];
        for set in [&kinds[..], &errors[..]] {
            for (i, a) in set.iter().enumerate() {
                assert!(set[i + 1..].iter().all(|b| a != b), "{a:#04x} used twice");
            }
        }
    }

    #[test]
    fn lengths() {
        assert_eq!(row_payload_len(4), 18);
        assert_eq!(gemm_payload_len(4, 4, 3), 26);
        assert!(gemm_payload_len(16, 16, max_k(16, 16)) <= MAX_LEN);
        assert!(gemm_payload_len(16, 16, max_k(16, 16) + 1) > MAX_LEN);
    }
}

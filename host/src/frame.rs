//! Frames of the UART protocol: encoding requests and decoding responses, with no
//! I/O. The numbers and the frame layout come from `contracts::uart`, the same
//! module the bridge hardware is generated from.

use contracts::uart::{
    self as protocol, crc8, encode_frame, InfoLayout, CMD_GEMM, CMD_INFO, CMD_MEM_READ,
    CMD_MEM_WRITE, CMD_REG_READ, CMD_REG_WRITE, ERR_BAD_CRC, ERR_BAD_LENGTH, ERR_FRAMING,
    ERR_OVERRUN, ERR_UNKNOWN_CMD, MAX_LEN, MAX_MEM_READ, MAX_MEM_WRITE, RSP_ACK, RSP_ERROR,
    RSP_INFO, RSP_MEM, RSP_REG, RSP_ROW, SYNC_REQUEST, SYNC_RESPONSE,
};

/// A frame that cannot be built or does not decode.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("a payload of {len} bytes does not fit a frame (at most {MAX_LEN})")]
    TooLong { len: usize },
    #[error("GEMM tile: {0}")]
    BadTile(String),
    #[error("response header starts with {got:#04x}, expected the sync byte {SYNC_RESPONSE:#04x}")]
    BadSync { got: u8 },
    #[error("response CRC mismatch: frame carries {got:#04x}, its bytes give {want:#04x} (type {kind:#04x}, {len} payload bytes)")]
    BadCrc {
        kind: u8,
        len: usize,
        got: u8,
        want: u8,
    },
    #[error("unknown response type {kind:#04x}")]
    UnknownType { kind: u8 },
    #[error("{what} payload is {got} bytes, expected {want}")]
    BadLength {
        what: &'static str,
        got: usize,
        want: String,
    },
}

/// One frame as it travels: sync, kind, LE length, payload, CRC.
pub fn encode(sync: u8, kind: u8, payload: &[u8]) -> Result<Vec<u8>, FrameError> {
    encode_frame(sync, kind, payload).ok_or(FrameError::TooLong { len: payload.len() })
}

/// A request frame.
pub fn request(cmd: u8, payload: &[u8]) -> Result<Vec<u8>, FrameError> {
    encode(SYNC_REQUEST, cmd, payload)
}

/// The INFO request.
pub fn info_request() -> Vec<u8> {
    // An empty payload always fits.
    encode(SYNC_REQUEST, CMD_INFO, &[]).unwrap_or_default()
}

/// The GEMM request for one tile: `a` is rows x k and `b` is k x cols, both
/// row-major; beat kk carries A's column kk then B's row kk.
pub fn gemm_request(
    rows: usize,
    cols: usize,
    k: usize,
    a: &[i8],
    b: &[i8],
) -> Result<Vec<u8>, FrameError> {
    if k == 0 || k > protocol::max_k(rows, cols) {
        return Err(FrameError::BadTile(format!(
            "K must be in 1..={} for a {rows} x {cols} array, got {k}",
            protocol::max_k(rows, cols)
        )));
    }
    if a.len() != rows * k || b.len() != k * cols {
        return Err(FrameError::BadTile(format!(
            "A must hold rows * K = {} values and B K * cols = {}, got {} and {}",
            rows * k,
            k * cols,
            a.len(),
            b.len()
        )));
    }
    let mut p = Vec::with_capacity(protocol::gemm_payload_len(rows, cols, k));
    p.extend_from_slice(&(k as u16).to_le_bytes());
    for kk in 0..k {
        p.extend((0..rows).map(|i| a[i * k + kk] as u8));
        p.extend((0..cols).map(|j| b[kk * cols + j] as u8));
    }
    request(CMD_GEMM, &p)
}

/// REG_WRITE: write `value` to the engine register at byte address `addr`.
pub fn reg_write_request(addr: u8, value: u32) -> Vec<u8> {
    let mut p = vec![addr];
    p.extend_from_slice(&value.to_le_bytes());
    request(CMD_REG_WRITE, &p).unwrap_or_default()
}

/// REG_READ: read the engine register at byte address `addr`.
pub fn reg_read_request(addr: u8) -> Vec<u8> {
    request(CMD_REG_READ, &[addr]).unwrap_or_default()
}

/// MEM_WRITE: `data` (1..=MAX_MEM_WRITE bytes) to memory from byte address `addr`.
pub fn mem_write_request(addr: u32, data: &[u8]) -> Result<Vec<u8>, FrameError> {
    if data.is_empty() || data.len() > MAX_MEM_WRITE {
        return Err(FrameError::BadTile(format!(
            "MEM_WRITE carries 1..={MAX_MEM_WRITE} bytes, got {}",
            data.len()
        )));
    }
    let mut p = addr.to_le_bytes().to_vec();
    p.extend_from_slice(data);
    request(CMD_MEM_WRITE, &p)
}

/// MEM_READ: `count` (1..=MAX_MEM_READ) bytes of memory from byte address `addr`.
pub fn mem_read_request(addr: u32, count: usize) -> Result<Vec<u8>, FrameError> {
    if count == 0 || count > MAX_MEM_READ {
        return Err(FrameError::BadTile(format!(
            "MEM_READ asks for 1..={MAX_MEM_READ} bytes, got {count}"
        )));
    }
    let mut p = addr.to_le_bytes().to_vec();
    p.extend_from_slice(&(count as u16).to_le_bytes());
    request(CMD_MEM_READ, &p)
}

/// What INFO reports: enough to check the host talks to the bitstream it expects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Info {
    pub protocol: u8,
    /// Generator version (major, minor, patch) the bitstream was built from.
    pub version: [u8; 3],
    pub rows: usize,
    pub cols: usize,
    /// Achieved clock of the bridge (the whole design on an array board), Hz.
    pub clock_hz: u32,
    /// Configured baud rate.
    pub baud: u32,
    /// Design kind: `contracts::uart::KIND_ARRAY` or `KIND_ENGINE`.
    pub kind: u8,
    /// Engine memory port width in bits (0 on an array board).
    pub mem_bits: u32,
    /// Bytes of on-chip memory behind the engine (0 on an array board).
    pub mem_bytes: u32,
    /// Engine clock, Hz.
    pub engine_hz: u32,
}

impl Info {
    pub fn decode(p: &[u8]) -> Result<Info, FrameError> {
        if p.len() != InfoLayout::LEN {
            return Err(FrameError::BadLength {
                what: "INFO",
                got: p.len(),
                want: InfoLayout::LEN.to_string(),
            });
        }
        let u16_at = |o: usize| usize::from(u16::from_le_bytes([p[o], p[o + 1]]));
        let u32_at = |o: usize| u32::from_le_bytes([p[o], p[o + 1], p[o + 2], p[o + 3]]);
        let v = InfoLayout::VERSION;
        Ok(Info {
            protocol: p[InfoLayout::PROTOCOL],
            version: [p[v], p[v + 1], p[v + 2]],
            rows: u16_at(InfoLayout::ROWS),
            cols: u16_at(InfoLayout::COLS),
            clock_hz: u32_at(InfoLayout::CLOCK_HZ),
            baud: u32_at(InfoLayout::BAUD),
            kind: p[InfoLayout::KIND],
            mem_bits: u32::from(p[InfoLayout::MEM_BITS]),
            mem_bytes: u32_at(InfoLayout::MEM_BYTES),
            engine_hz: u32_at(InfoLayout::ENGINE_HZ),
        })
    }

    /// The board runs the conv/FC engine (register and memory commands).
    pub fn is_engine(&self) -> bool {
        self.kind == protocol::KIND_ENGINE
    }

    /// `major.minor.patch` of the generator that built the bitstream.
    pub fn version_string(&self) -> String {
        let [a, b, c] = self.version;
        format!("{a}.{b}.{c}")
    }
}

/// A decoded response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    Info(Info),
    /// One row of C.
    Row {
        index: u16,
        values: Vec<i32>,
    },
    /// A write (REG_WRITE, MEM_WRITE) is done.
    Ack,
    /// A register's value.
    Reg(u32),
    /// Bytes of memory.
    Mem(Vec<u8>),
    /// The request failed; `cmd` is the command byte the board saw.
    Error {
        code: u8,
        cmd: u8,
    },
}

/// Human name of an error code.
pub fn error_name(code: u8) -> &'static str {
    match code {
        ERR_BAD_CRC => "bad CRC",
        ERR_UNKNOWN_CMD => "unknown command",
        ERR_BAD_LENGTH => "bad length",
        ERR_FRAMING => "UART framing error (baud mismatch or noise)",
        ERR_OVERRUN => "overrun",
        _ => "unknown error code",
    }
}

/// The header of a response (`5A TYPE LEN_LO LEN_HI`): its type and payload length.
pub fn parse_header(h: [u8; 4]) -> Result<(u8, usize), FrameError> {
    if h[0] != SYNC_RESPONSE {
        return Err(FrameError::BadSync { got: h[0] });
    }
    Ok((h[1], usize::from(u16::from_le_bytes([h[2], h[3]]))))
}

/// Check a response's CRC and decode it.
pub fn decode(kind: u8, payload: &[u8], crc: u8) -> Result<Response, FrameError> {
    let len = payload.len();
    let mut covered = vec![kind];
    covered.extend_from_slice(&(len as u16).to_le_bytes());
    covered.extend_from_slice(payload);
    let want = crc8(&covered);
    if want != crc {
        return Err(FrameError::BadCrc {
            kind,
            len,
            got: crc,
            want,
        });
    }
    match kind {
        RSP_INFO => Info::decode(payload).map(Response::Info),
        RSP_ROW => {
            if len < 2 || (len - 2) % 4 != 0 {
                return Err(FrameError::BadLength {
                    what: "ROW",
                    got: len,
                    want: "2 + 4 * cols".into(),
                });
            }
            let values = payload[2..]
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            Ok(Response::Row {
                index: u16::from_le_bytes([payload[0], payload[1]]),
                values,
            })
        }
        RSP_ACK => {
            if len != 0 {
                return Err(FrameError::BadLength {
                    what: "ACK",
                    got: len,
                    want: "0".into(),
                });
            }
            Ok(Response::Ack)
        }
        RSP_REG => {
            if len != 4 {
                return Err(FrameError::BadLength {
                    what: "REG",
                    got: len,
                    want: "4".into(),
                });
            }
            Ok(Response::Reg(u32::from_le_bytes([
                payload[0], payload[1], payload[2], payload[3],
            ])))
        }
        RSP_MEM => Ok(Response::Mem(payload.to_vec())),
        RSP_ERROR => {
            if len != 2 {
                return Err(FrameError::BadLength {
                    what: "ERROR",
                    got: len,
                    want: "2".into(),
                });
            }
            Ok(Response::Error {
                code: payload[0],
                cmd: payload[1],
            })
        }
        _ => Err(FrameError::UnknownType { kind }),
    }
}

/// Decode one whole response frame from `bytes`; returns it and the bytes after it.
pub fn decode_frame(bytes: &[u8]) -> Result<(Response, &[u8]), FrameError> {
    let short = |got: usize, want: usize| FrameError::BadLength {
        what: "frame",
        got,
        want: format!("at least {want}"),
    };
    let h: [u8; 4] = bytes
        .get(..4)
        .and_then(|h| h.try_into().ok())
        .ok_or_else(|| short(bytes.len(), 4))?;
    let (kind, len) = parse_header(h)?;
    let total = 4 + len + 1;
    if bytes.len() < total {
        return Err(short(bytes.len(), total));
    }
    let r = decode(kind, &bytes[4..4 + len], bytes[4 + len])?;
    Ok((r, &bytes[total..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(kind: u8, payload: &[u8]) -> Vec<u8> {
        encode(SYNC_RESPONSE, kind, payload).expect("fits")
    }

    #[test]
    fn info_request_is_the_documented_bytes() {
        // The example in docs/uart-protocol.md.
        assert_eq!(info_request(), vec![0xA5, 0x01, 0x00, 0x00, 0x6B]);
    }

    #[test]
    fn gemm_request_interleaves_a_columns_and_b_rows() {
        // A 2x2 = [[1, 2], [3, 4]], B 2x3 = [[5, 6, 7], [8, 9, -1]], K = 2.
        let f = gemm_request(2, 3, 2, &[1, 2, 3, 4], &[5, 6, 7, 8, 9, -1]).expect("valid");
        assert_eq!(&f[..4], &[0xA5, 0x02, 12, 0]);
        assert_eq!(&f[4..6], &[2, 0], "K");
        assert_eq!(&f[6..11], &[1, 3, 5, 6, 7], "beat 0: A column 0, B row 0");
        assert_eq!(&f[11..16], &[2, 4, 8, 9, 0xFF], "beat 1");
        assert_eq!(f[16], crc8(&f[1..16]));
        assert!(gemm_request(2, 3, 0, &[], &[]).is_err());
        assert!(gemm_request(2, 3, 2, &[1], &[5, 6, 7, 8, 9, -1]).is_err());
    }

    #[test]
    fn responses_round_trip() {
        let mut info = vec![2, 0, 1, 0, 4, 0, 3, 0];
        info.extend_from_slice(&12_000_000u32.to_le_bytes());
        info.extend_from_slice(&115_200u32.to_le_bytes());
        info.extend_from_slice(&[1, 32]);
        info.extend_from_slice(&8192u32.to_le_bytes());
        info.extend_from_slice(&30_000_000u32.to_le_bytes());
        let mut row = vec![1, 0];
        for v in [-1i32, i32::MIN, 7] {
            row.extend_from_slice(&v.to_le_bytes());
        }
        let mut stream = response(RSP_INFO, &info);
        stream.extend(response(RSP_ROW, &row));
        stream.extend(response(RSP_ERROR, &[ERR_BAD_CRC, CMD_GEMM]));
        let (r, rest) = decode_frame(&stream).expect("info");
        assert_eq!(
            r,
            Response::Info(Info {
                protocol: 2,
                version: [0, 1, 0],
                rows: 4,
                cols: 3,
                clock_hz: 12_000_000,
                baud: 115_200,
                kind: 1,
                mem_bits: 32,
                mem_bytes: 8192,
                engine_hz: 30_000_000,
            })
        );
        let (r, rest) = decode_frame(rest).expect("row");
        assert_eq!(
            r,
            Response::Row {
                index: 1,
                values: vec![-1, i32::MIN, 7]
            }
        );
        let (r, rest) = decode_frame(rest).expect("error");
        assert_eq!(
            r,
            Response::Error {
                code: ERR_BAD_CRC,
                cmd: CMD_GEMM
            }
        );
        assert!(rest.is_empty());
    }

    #[test]
    fn engine_requests_and_responses() {
        // Laid out by hand from docs/uart-protocol.md.
        // The documented example: start the engine.
        assert_eq!(
            reg_write_request(0x0C, 1),
            vec![0xA5, 0x03, 5, 0, 0x0C, 1, 0, 0, 0, 0x1F]
        );
        assert_eq!(
            decode_frame(&[0x5A, 0x83, 0, 0, 0xB6]).expect("ACK").0,
            Response::Ack
        );
        assert_eq!(&reg_read_request(0x08)[..5], &[0xA5, 0x04, 1, 0, 0x08]);
        let f = mem_write_request(0x1234_5678, &[9, 8]).expect("fits");
        assert_eq!(&f[..10], &[0xA5, 0x05, 6, 0, 0x78, 0x56, 0x34, 0x12, 9, 8]);
        let f = mem_read_request(0x100, 300).expect("fits");
        assert_eq!(&f[..10], &[0xA5, 0x06, 6, 0, 0, 1, 0, 0, 0x2C, 0x01]);
        assert!(mem_write_request(0, &[]).is_err());
        assert!(mem_read_request(0, 0).is_err());
        assert!(mem_read_request(0, MAX_MEM_READ + 1).is_err());
        let mut stream = response(RSP_ACK, &[]);
        stream.extend(response(RSP_REG, &[1, 2, 3, 4]));
        stream.extend(response(RSP_MEM, &[7, 8, 9]));
        let (r, rest) = decode_frame(&stream).expect("ack");
        assert_eq!(r, Response::Ack);
        let (r, rest) = decode_frame(rest).expect("reg");
        assert_eq!(r, Response::Reg(0x0403_0201));
        let (r, _) = decode_frame(rest).expect("mem");
        assert_eq!(r, Response::Mem(vec![7, 8, 9]));
        assert!(matches!(
            decode_frame(&response(RSP_REG, &[1])),
            Err(FrameError::BadLength { what: "REG", .. })
        ));
    }

    #[test]
    fn corrupt_responses_are_refused() {
        let mut f = response(RSP_ERROR, &[1, 2]);
        f[5] ^= 0x10;
        assert!(matches!(
            decode_frame(&f),
            Err(FrameError::BadCrc {
                kind: RSP_ERROR,
                ..
            })
        ));
        assert_eq!(
            decode_frame(&[0xA5, 0, 0, 0, 0]).unwrap_err(),
            FrameError::BadSync { got: 0xA5 }
        );
        assert!(matches!(
            decode_frame(&response(0x42, &[])),
            Err(FrameError::UnknownType { kind: 0x42 })
        ));
        assert!(matches!(
            decode_frame(&response(RSP_ROW, &[0, 0, 1])),
            Err(FrameError::BadLength { what: "ROW", .. })
        ));
        assert!(encode(SYNC_REQUEST, 1, &vec![0; MAX_LEN + 1]).is_err());
    }
}

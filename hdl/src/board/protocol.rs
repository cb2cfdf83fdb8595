//! The numbers of the UART wire protocol, in one place: the bridge hardware is
//! built from them and the `host` crate encodes and decodes frames with them, so
//! the two cannot disagree. `docs/uart-protocol.md` describes the protocol.
//!
//! Request (host -> board):  `0xA5, CMD, LEN_LO, LEN_HI, payload[LEN], CRC`
//! Response (board -> host): `0x5A, TYPE, LEN_LO, LEN_HI, payload[LEN], CRC`
//!
//! CRC is CRC-8/SMBUS (polynomial 0x07, initial value 0, no reflection, no final
//! XOR) over CMD/TYPE, both length bytes and the payload, not over the sync byte.

/// Version of this protocol, the first byte of the INFO payload.
pub const PROTOCOL_VERSION: u8 = 1;

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

/// Response to [`CMD_INFO`]; payload layout in [`InfoLayout`].
pub const RSP_INFO: u8 = 0x81;
/// One row of C: row index (u16 LE), then COLS int32 little-endian.
pub const RSP_ROW: u8 = 0x82;
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
/// A byte arrived before the array took the previous beat (cannot happen at
/// UART speed; kept so a broken assumption is reported, not hidden).
pub const ERR_OVERRUN: u8 = 0x05;

/// Largest LEN a frame can carry.
pub const MAX_LEN: usize = 0xFFFF;
/// Bytes of framing around a payload: sync, command/type, two length bytes, CRC.
pub const FRAME_OVERHEAD: usize = 5;

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
    /// Achieved core clock in Hz, rounded (u32).
    pub const CLOCK_HZ: usize = 8;
    /// Configured baud rate (u32).
    pub const BAUD: usize = 12;
    /// Payload length.
    pub const LEN: usize = 16;
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

    #[test]
    fn lengths() {
        assert_eq!(row_payload_len(4), 18);
        assert_eq!(gemm_payload_len(4, 4, 3), 26);
        assert!(gemm_payload_len(16, 16, max_k(16, 16)) <= MAX_LEN);
        assert!(gemm_payload_len(16, 16, max_k(16, 16) + 1) > MAX_LEN);
    }
}

//! [`Link`] over a real serial port (the board's USB UART), via `serialport`
//! built without libudev: ports are opened by path.

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use contracts::uart::BREAK_BITS;
use host::{Link, LinkError};
use serialport::{ClearBuffer, SerialPort};

pub struct SerialLink {
    port: Box<dyn SerialPort>,
    path: String,
    baud: u32,
}

/// Ports the system lists, for error messages.
fn known_ports() -> String {
    match serialport::available_ports() {
        Ok(ports) if !ports.is_empty() => ports
            .iter()
            .map(|p| p.port_name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        Ok(_) => "none found".into(),
        Err(e) => format!("cannot list them: {e}"),
    }
}

impl SerialLink {
    /// Open `path` at `baud`, 8N1, no flow control.
    pub fn open(path: &str, baud: u32) -> Result<SerialLink, LinkError> {
        let port = serialport::new(path, baud)
            .data_bits(serialport::DataBits::Eight)
            .parity(serialport::Parity::None)
            .stop_bits(serialport::StopBits::One)
            .flow_control(serialport::FlowControl::None)
            .timeout(Duration::from_millis(100))
            .open()
            .map_err(|e| {
                LinkError::Io(format!(
                    "cannot open serial port {path}: {e} (is the board plugged in? serial ports here: {})",
                    known_ports()
                ))
            })?;
        Ok(SerialLink {
            port,
            path: path.to_string(),
            baud,
        })
    }

    fn io(&self, what: &str, e: impl std::fmt::Display) -> LinkError {
        LinkError::Io(format!("{what} {}: {e}", self.path))
    }
}

impl Link for SerialLink {
    fn send(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        self.port
            .write_all(bytes)
            .and_then(|()| self.port.flush())
            .map_err(|e| self.io("writing to", e))
    }

    fn recv_exact(&mut self, buf: &mut [u8], timeout: Duration) -> Result<(), LinkError> {
        let deadline = Instant::now() + timeout;
        let mut got = 0;
        while got < buf.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(LinkError::Timeout {
                    wanted: buf.len(),
                    got,
                    timeout,
                });
            }
            self.port
                .set_timeout(left.max(Duration::from_millis(1)))
                .map_err(|e| self.io("configuring", e))?;
            match self.port.read(&mut buf[got..]) {
                Ok(n) => got += n,
                Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::Interrupted) => {}
                Err(e) => return Err(self.io("reading from", e)),
            }
        }
        Ok(())
    }

    fn send_break(&mut self) -> Result<(), LinkError> {
        // Hold the break half as long again as the board needs, at least 2 ms
        // (USB serial adapters apply line changes on their own frame clock).
        let bit = Duration::from_secs_f64(1.0 / f64::from(self.baud));
        let hold = (bit * BREAK_BITS * 3 / 2).max(Duration::from_millis(2));
        self.port
            .set_break()
            .map_err(|e| self.io("sending a break on", e))?;
        std::thread::sleep(hold);
        self.port
            .clear_break()
            .map_err(|e| self.io("ending the break on", e))?;
        // The board's reset lasts a few hundred core clocks: microseconds.
        std::thread::sleep(Duration::from_millis(5));
        self.port
            .clear(ClearBuffer::Input)
            .map_err(|e| self.io("flushing", e))
    }
}

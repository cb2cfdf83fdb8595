//! The generated board top under Verilator, reached only through its pins: a
//! UART bit-banger drives `uart_rx` and decodes `uart_tx` one clock at a time,
//! and [`SimBoard`] implements [`host::Link`], so the host's own protocol and
//! GEMM code talks to the simulated board exactly as it talks to a serial port.
//!
//! Time is simulated: a link timeout of one second is one second's worth of core
//! clocks. The host side's bit period can differ from the board's
//! ([`SimBoard::set_host_baud_error`]) to check the receiver's tolerance, and
//! every byte the board sends is checked for a high stop bit.
//!
//! The engine's board top ([`SimBoard::engine`]) has a second clock pin for the
//! engine's domain; the simulation drives the two clocks at unrelated rates
//! (half-periods in integer time units, e.g. 5 and 4), so every request
//! crosses between domains whose edges drift against each other, as on a board.

use std::collections::VecDeque;
use std::time::Duration;

use contracts::uart::BREAK_BITS;
use hdl::board::engine::{EngineBoardConfig, EngineClock};
use hdl::board::BoardTopConfig;
use hdl::manifest::Manifest;
use host::{Link, LinkError};

use crate::array::DriveError;
use crate::verilator::{Model, Port};

/// The host's transmitter: the byte on the wire and when it started.
struct HostTx {
    queue: VecDeque<u8>,
    /// (byte, cycle its start bit began)
    current: Option<(u8, u64)>,
    /// The line is held low until this cycle (a break).
    break_until: u64,
}

/// The host's receiver, sampling mid-bit at the board's exact bit period.
enum HostRx {
    Idle,
    /// Start bit seen falling at this cycle.
    Byte {
        start: u64,
        bits: u16,
    },
}

/// How the board's clocks are driven.
enum Clocking {
    /// One clock: `clk_in`, one tick per cycle.
    One(Port),
    /// Two unrelated clocks: the bridge's (`clk_in`, which counts the cycles)
    /// and the engine's, toggled every `half_b` and `half_e` time units.
    Two {
        bridge: Port,
        engine: Port,
        half_b: u64,
        half_e: u64,
        /// Time of each clock's next toggle, and its level now.
        next_b: u64,
        next_e: u64,
        level_b: bool,
        level_e: bool,
    },
}

/// A Verilated board top, driven through `uart_rx` / `uart_tx`.
pub struct SimBoard {
    /// Configured baud rate.
    pub baud: u32,
    pub manifest: Manifest,
    pub verilog: String,
    pub model: Model,
    clocks: Clocking,
    uart_rx: Port,
    uart_tx: Port,
    led: Port,
    /// Core clock, Hz (the board clock: simulation builds have no PLL).
    clk_hz: f64,
    /// Board clocks per bit.
    cpb: u64,
    /// Host bit period in board clocks (cpb, or off by a chosen error).
    host_bit: f64,
    cycle: u64,
    rx_level: bool,
    tx: HostTx,
    rx: HostRx,
    received: VecDeque<u8>,
    /// Bytes from the board whose stop bit was low.
    pub framing_errors: u64,
}

impl SimBoard {
    /// Generate the board top for `cfg` (which must not use a PLL: the simulation
    /// drives `clk_in` as the core clock), build its model and idle the line.
    /// The board starts in a random state: send a break (as `host::Board::connect`
    /// does) before talking to it.
    pub fn new(cfg: &BoardTopConfig) -> Result<SimBoard, DriveError> {
        if cfg.target_hz != cfg.clock_in_hz {
            return Err(DriveError::Gen(format!(
                "simulate a board without PLL: target_hz ({}) must equal clock_in_hz ({})",
                cfg.target_hz, cfg.clock_in_hz
            )));
        }
        let g = hdl::board::generate(cfg).map_err(|e| DriveError::Gen(e.to_string()))?;
        let derived = cfg.derived().map_err(|e| DriveError::Gen(e.to_string()))?;
        let spec = crate::models::build_spec(&g, &cfg.name).map_err(DriveError::Gen)?;
        let model = Model::build(&spec)?;
        let clocks = Clocking::One(model.port("clk_in")?);
        SimBoard::with_model(
            g,
            model,
            clocks,
            cfg.baud,
            derived.clock.achieved.f64(),
            derived.clks_per_bit,
        )
    }

    /// Generate the engine's board top for `cfg` (whose engine clock must be
    /// the pin `clk_engine`), build its model and idle the line. The bridge
    /// clock toggles every `half_bridge` time units, the engine clock every
    /// `half_engine`: e.g. 5 and 4 run the engine 1.25 times as fast.
    pub fn engine(
        cfg: &EngineBoardConfig,
        half_bridge: u64,
        half_engine: u64,
    ) -> Result<SimBoard, DriveError> {
        if cfg.engine_clock != EngineClock::Pin {
            return Err(DriveError::Gen(
                "simulate the engine board with engine_clock = pin: the test drives both clocks"
                    .into(),
            ));
        }
        if half_bridge == 0 || half_engine == 0 {
            return Err(DriveError::Gen(
                "clock half-periods must be at least 1".into(),
            ));
        }
        let g = hdl::board::engine::generate(cfg).map_err(|e| DriveError::Gen(e.to_string()))?;
        let derived = cfg.derived().map_err(|e| DriveError::Gen(e.to_string()))?;
        let spec = crate::models::build_spec(&g, &cfg.name).map_err(DriveError::Gen)?;
        let model = Model::build(&spec)?;
        let clocks = Clocking::Two {
            bridge: model.port("clk_in")?,
            engine: model.port("clk_engine")?,
            half_b: half_bridge,
            half_e: half_engine,
            next_b: half_bridge,
            next_e: half_engine,
            level_b: false,
            level_e: false,
        };
        SimBoard::with_model(
            g,
            model,
            clocks,
            cfg.baud,
            derived.bridge_clock.achieved.f64(),
            derived.clks_per_bit,
        )
    }

    fn with_model(
        g: hdl::Generated,
        model: Model,
        clocks: Clocking,
        baud: u32,
        clk_hz: f64,
        clks_per_bit: u32,
    ) -> Result<SimBoard, DriveError> {
        let mut b = SimBoard {
            uart_rx: model.port("uart_rx")?,
            uart_tx: model.port("uart_tx")?,
            led: model.port("led")?,
            baud,
            manifest: g.manifest,
            verilog: g.verilog,
            model,
            clocks,
            clk_hz,
            cpb: u64::from(clks_per_bit),
            host_bit: f64::from(clks_per_bit),
            cycle: 0,
            rx_level: false,
            tx: HostTx {
                queue: VecDeque::new(),
                current: None,
                break_until: 0,
            },
            rx: HostRx::Idle,
            received: VecDeque::new(),
            framing_errors: 0,
        };
        b.drive_rx(true);
        Ok(b)
    }

    /// Board clocks per UART bit.
    pub fn clks_per_bit(&self) -> u64 {
        self.cpb
    }

    /// Clock cycles simulated so far.
    pub fn cycle(&self) -> u64 {
        self.cycle
    }

    /// The `led` port.
    pub fn leds(&self) -> u64 {
        self.model.get(self.led)
    }

    /// Make the host's bit period longer (positive) or shorter (negative) than the
    /// board's by `error` (e.g. 0.02 = 2%).
    pub fn set_host_baud_error(&mut self, error: f64) {
        self.host_bit = self.cpb as f64 * (1.0 + error);
    }

    fn drive_rx(&mut self, level: bool) {
        if level != self.rx_level {
            self.model.set(self.uart_rx, u64::from(level));
            self.rx_level = level;
        }
    }

    /// The level the host drives on `uart_rx` this cycle.
    fn host_line(&mut self) -> bool {
        if self.cycle < self.tx.break_until {
            return false;
        }
        loop {
            match self.tx.current {
                None => match self.tx.queue.pop_front() {
                    Some(b) => self.tx.current = Some((b, self.cycle)),
                    None => return true,
                },
                Some((byte, start)) => {
                    let bit = ((self.cycle - start) as f64 / self.host_bit) as u64;
                    return match bit {
                        0 => false,
                        1..=8 => byte >> (bit - 1) & 1 == 1,
                        9 => true,
                        _ => {
                            self.tx.current = None;
                            continue;
                        }
                    };
                }
            }
        }
    }

    /// One bridge clock cycle: rising then falling edge of `clk_in`, with the
    /// engine clock's edges that fall in between.
    fn clock_cycle(&mut self) {
        match &mut self.clocks {
            Clocking::One(clk) => self.model.tick(*clk),
            Clocking::Two {
                bridge,
                engine,
                half_b,
                half_e,
                next_b,
                next_e,
                level_b,
                level_e,
            } => loop {
                let t = (*next_b).min(*next_e);
                let mut bridge_fell = false;
                if *next_e == t {
                    *level_e = !*level_e;
                    self.model.set(*engine, u64::from(*level_e));
                    *next_e += *half_e;
                }
                if *next_b == t {
                    *level_b = !*level_b;
                    self.model.set(*bridge, u64::from(*level_b));
                    *next_b += *half_b;
                    bridge_fell = !*level_b;
                }
                self.model.eval();
                if bridge_fell {
                    break;
                }
            },
        }
    }

    /// One clock: drive the host's line, tick, decode what the board sends.
    fn step(&mut self) {
        let level = self.host_line();
        self.drive_rx(level);
        self.clock_cycle();
        self.cycle += 1;
        let line = self.model.get(self.uart_tx) == 1;
        match self.rx {
            HostRx::Idle => {
                if !line {
                    self.rx = HostRx::Byte {
                        start: self.cycle,
                        bits: 0,
                    };
                }
            }
            HostRx::Byte {
                start,
                ref mut bits,
            } => {
                let t = self.cycle - start;
                let half = self.cpb / 2;
                if t >= half && (t - half) % self.cpb == 0 {
                    let n = (t - half) / self.cpb; // 0 = start bit, 1..=8 data, 9 stop
                    *bits |= u16::from(line) << n;
                    if n == 9 {
                        if *bits & 1 != 0 {
                            // The start bit was a glitch: wait for the next edge.
                            self.framing_errors += 1;
                        } else {
                            if *bits >> 9 & 1 == 0 {
                                self.framing_errors += 1;
                            }
                            self.received.push_back((*bits >> 1) as u8);
                        }
                        self.rx = HostRx::Idle;
                    }
                }
            }
        }
    }

    /// Run `n` clocks.
    pub fn run(&mut self, n: u64) {
        for _ in 0..n {
            self.step();
        }
    }

    /// Bytes received from the board and not yet read.
    pub fn pending(&self) -> usize {
        self.received.len()
    }

    fn cycles(&self, d: Duration) -> u64 {
        (d.as_secs_f64() * self.clk_hz).ceil() as u64
    }

    fn check_framing(&self) -> Result<(), LinkError> {
        if self.framing_errors > 0 {
            return Err(LinkError::Io(format!(
                "{} byte(s) from the board had a low stop bit (by cycle {}); {}",
                self.framing_errors,
                self.cycle,
                self.model.trace_note()
            )));
        }
        Ok(())
    }
}

impl Link for SimBoard {
    /// Queue the bytes and simulate until the last stop bit has been sent.
    fn send(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        self.tx.queue.extend(bytes);
        while !self.tx.queue.is_empty() || self.tx.current.is_some() {
            self.step();
        }
        self.check_framing()
    }

    fn recv_exact(&mut self, buf: &mut [u8], timeout: Duration) -> Result<(), LinkError> {
        let deadline = self.cycle + self.cycles(timeout);
        while self.received.len() < buf.len() {
            if self.cycle >= deadline {
                return Err(LinkError::Timeout {
                    wanted: buf.len(),
                    got: self.received.len(),
                    timeout,
                });
            }
            self.step();
        }
        self.check_framing()?;
        for b in buf.iter_mut() {
            *b = self.received.pop_front().unwrap_or(0);
        }
        Ok(())
    }

    /// Hold the line low for 1.5 break lengths, then idle long enough for the
    /// reset to finish, and drop anything received before.
    fn send_break(&mut self) -> Result<(), LinkError> {
        while !self.tx.queue.is_empty() || self.tx.current.is_some() {
            self.step();
        }
        let hold = self.cpb * u64::from(BREAK_BITS) * 3 / 2;
        self.tx.break_until = self.cycle + hold;
        let por = 1u64 << hdl::board::POR_BITS;
        self.run(hold + por + 4 * self.cpb);
        self.received.clear();
        self.rx = HostRx::Idle;
        self.framing_errors = 0;
        Ok(())
    }
}

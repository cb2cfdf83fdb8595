//! Boards as data: each FPGA board is one TOML table (`boards/*.toml`) giving the
//! device, package, clock, UART, LEDs, buttons, IO standard, resource counts and
//! nextpnr arguments. The files are embedded with `include_str!`, so the `flow`
//! binary is self-contained, and parsed into one [`Board`] that is validated here
//! and nowhere else.
//!
//! Why data and not code: a board is a fact sheet copied from its published
//! documentation (each file cites its source). Keeping it a table makes it easy to
//! review against that source, to add a board without touching the flow, and to
//! test every board the same way.
//!
//! A file may name a `base` board: the base table is read first and the file's
//! keys replace it, table by table. The ULX3S variants use this to change only the
//! device and its resource counts.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

/// Every board file, embedded: (name, TOML text). The name must match the file's
/// `name` key; a test checks it.
const FILES: &[(&str, &str)] = &[
    ("icebreaker", include_str!("../icebreaker.toml")),
    ("ice40-hx8k", include_str!("../ice40-hx8k.toml")),
    ("ulx3s", include_str!("../ulx3s.toml")),
    ("ulx3s-12f", include_str!("../ulx3s-12f.toml")),
    ("ulx3s-25f", include_str!("../ulx3s-25f.toml")),
    ("ulx3s-45f", include_str!("../ulx3s-45f.toml")),
];

/// Names of the known boards, in a stable order.
pub fn names() -> Vec<&'static str> {
    FILES.iter().map(|(n, _)| *n).collect()
}

/// The embedded TOML text of a board file (before `base` merging).
pub fn source(name: &str) -> Option<&'static str> {
    FILES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// FPGA family, which decides the synthesis command, the constraint format and
/// the place-and-route tool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Ice40,
    Ecp5,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Ice40 => "ice40",
            Family::Ecp5 => "ecp5",
        }
    }
    /// The open toolchain that targets this family.
    pub fn toolchain(self) -> Toolchain {
        match self {
            Family::Ice40 => Toolchain::Icestorm,
            Family::Ecp5 => Toolchain::Trellis,
        }
    }
    /// Devices (nextpnr names) of this family the flow knows.
    pub fn devices(self) -> &'static [&'static str] {
        match self {
            Family::Ice40 => &[
                "lp384", "lp1k", "lp4k", "lp8k", "hx1k", "hx4k", "hx8k", "up3k", "up5k", "u1k",
                "u2k", "u4k",
            ],
            Family::Ecp5 => &["12k", "25k", "45k", "85k"],
        }
    }
    /// Packages valid for `device` (nextpnr names), from the families' data sheets.
    pub fn packages(self, device: &str) -> &'static [&'static str] {
        match (self, device) {
            (Family::Ice40, "up5k" | "up3k") => &["sg48", "uwg30"],
            (Family::Ice40, "hx8k") => &["ct256", "cb132", "tq144", "bg121", "cm225"],
            (Family::Ice40, "hx4k") => &["tq144", "cb132", "bg121"],
            (Family::Ice40, "hx1k") => &["tq144", "vq100", "cb132"],
            (Family::Ice40, "lp8k") => &["cm81", "cm121", "cm225"],
            (Family::Ice40, _) => &["sg48", "cm81", "cm121", "cb132", "tq144"],
            (Family::Ecp5, _) => &["CABGA256", "CABGA381", "CABGA554", "CABGA756", "CSFBGA285"],
        }
    }
    /// The DSP primitive this family's synthesis maps multipliers to.
    pub fn dsp_kind(self) -> &'static str {
        match self {
            Family::Ice40 => "SB_MAC16",
            Family::Ecp5 => "MULT18X18D",
        }
    }
    /// The block-RAM primitive.
    pub fn bram_kind(self) -> &'static str {
        match self {
            Family::Ice40 => "SB_RAM40_4K",
            Family::Ecp5 => "DP16KD",
        }
    }
    /// The LUT primitive (after synthesis).
    pub fn lut_kind(self) -> &'static str {
        match self {
            Family::Ice40 => "SB_LUT4",
            Family::Ecp5 => "LUT4",
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The open-source toolchain flavour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Toolchain {
    /// yosys `synth_ice40` + nextpnr-ice40 + icepack.
    Icestorm,
    /// yosys `synth_ecp5` + nextpnr-ecp5 + ecppack (Project Trellis).
    Trellis,
}

impl Toolchain {
    pub fn as_str(self) -> &'static str {
        match self {
            Toolchain::Icestorm => "icestorm",
            Toolchain::Trellis => "trellis",
        }
    }
}

/// A named pin (an LED or a button).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct NamedPin {
    pub name: String,
    pub pin: String,
    /// The LED lights (or the button reads) when the pin is low.
    #[serde(default)]
    pub active_low: bool,
}

/// The board's oscillator.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Clock {
    /// The board's name for it (`clk12`).
    pub name: String,
    pub pin: String,
    pub hz: u64,
}

/// The host UART, seen from the FPGA: it receives on `rx` and drives `tx`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Uart {
    pub rx: String,
    pub tx: String,
    /// Enable the FPGA's pull-up on `rx`, so an idle or unplugged line reads high
    /// (a low line would look like a break).
    #[serde(default)]
    pub rx_pullup: bool,
}

/// Resource counts of the device (from the family data sheet) and the primitive
/// each count is measured in.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// 4-input LUTs (iCE40: logic cells, one LUT4 + one flip-flop each).
    pub luts: u64,
    pub lut_kind: String,
    pub dsps: u64,
    pub dsp_kind: String,
    pub brams: u64,
    pub bram_kind: String,
    /// User IOs in this package.
    pub ios: u64,
}

/// One board, validated: every field obeys the rules of [`Board::validate`].
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Board {
    /// Short name used on the command line (`icebreaker`).
    pub name: String,
    /// Human name (`1BitSquared iCEBreaker`).
    pub title: String,
    pub family: Family,
    pub toolchain: Toolchain,
    /// Full part number as marked on the chip (`iCE40UP5K-SG48`).
    pub part: String,
    /// nextpnr device name (`up5k`, `hx8k`, `85k`).
    pub device: String,
    /// nextpnr package name (`sg48`, `ct256`, `CABGA381`).
    pub package: String,
    /// Speed grade, where the family has them (ECP5: `6`, `7`, `8`).
    #[serde(default)]
    pub speed: Option<String>,
    /// IO standard written into the constraints (ECP5 `IO_TYPE`); iCE40 banks
    /// take theirs from the bank voltage.
    #[serde(default)]
    pub io_standard: Option<String>,
    /// Device and package arguments for nextpnr, exactly as passed.
    pub nextpnr_args: Vec<String>,
    pub clock: Clock,
    pub uart: Uart,
    #[serde(default, rename = "led")]
    pub leds: Vec<NamedPin>,
    #[serde(default, rename = "button")]
    pub buttons: Vec<NamedPin>,
    pub resources: Resources,
}

/// A board file that breaks a rule: the message names the board, the field, the
/// rule and the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoardError {
    pub board: String,
    pub field: String,
    pub rule: String,
    pub value: String,
}

impl BoardError {
    fn new(board: &str, field: &str, rule: impl Into<String>, value: impl fmt::Display) -> Self {
        BoardError {
            board: board.to_string(),
            field: field.to_string(),
            rule: rule.into(),
            value: value.to_string(),
        }
    }
}

impl fmt::Display for BoardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(
                f,
                "board `{}`: {}, got {}",
                self.board, self.rule, self.value
            )
        } else {
            write!(
                f,
                "board `{}`: {} {}, got {}",
                self.board, self.field, self.rule, self.value
            )
        }
    }
}

impl std::error::Error for BoardError {}

/// Look a board up by name. An unknown name gets an error listing the known ones.
pub fn get(name: &str) -> Result<Board, BoardError> {
    match source(name) {
        Some(_) => load(name, 0),
        None => Err(BoardError::new(
            name,
            "",
            format!("board must be one of: {}", names().join(", ")),
            format!("`{name}`"),
        )),
    }
}

/// Every known board, parsed and validated.
pub fn all() -> Result<Vec<Board>, BoardError> {
    names().into_iter().map(get).collect()
}

/// Load an embedded board, merging its `base` chain (at most a few levels deep).
fn load(name: &str, depth: usize) -> Result<Board, BoardError> {
    let table = merged_table(name, depth)?;
    let board: Board = table.try_into().map_err(|e: toml::de::Error| {
        BoardError::new(
            name,
            "",
            "file must match the board schema",
            one_line(&e.to_string()),
        )
    })?;
    if board.name != name {
        return Err(BoardError::new(
            name,
            "name",
            "must match the file name",
            format!("`{}`", board.name),
        ));
    }
    board.validate()?;
    Ok(board)
}

fn merged_table(name: &str, depth: usize) -> Result<toml::Table, BoardError> {
    let text = source(name).ok_or_else(|| {
        BoardError::new(name, "base", "must name a known board", format!("`{name}`"))
    })?;
    let mut table = parse_table(name, text)?;
    let Some(base) = table.remove("base") else {
        return Ok(table);
    };
    let base = base
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| BoardError::new(name, "base", "must be a string", base.to_string()))?;
    if depth >= 4 || base == name {
        return Err(BoardError::new(
            name,
            "base",
            "must not form a cycle",
            format!("`{base}`"),
        ));
    }
    let mut merged = merged_table(&base, depth + 1)?;
    merge(&mut merged, table);
    Ok(merged)
}

/// Parse TOML text into a table; the error is one line.
pub fn parse_table(name: &str, text: &str) -> Result<toml::Table, BoardError> {
    text.parse::<toml::Table>().map_err(|e| {
        BoardError::new(
            name,
            "",
            "file must be valid TOML",
            one_line(&e.to_string()),
        )
    })
}

/// Parse and validate a board from TOML text that has no `base` (used by tests and
/// for boards kept outside the binary).
pub fn from_toml(name: &str, text: &str) -> Result<Board, BoardError> {
    let table = parse_table(name, text)?;
    if table.contains_key("base") {
        return Err(BoardError::new(
            name,
            "base",
            "is only allowed in embedded board files",
            "a base",
        ));
    }
    let board: Board = table.try_into().map_err(|e: toml::de::Error| {
        BoardError::new(
            name,
            "",
            "file must match the board schema",
            one_line(&e.to_string()),
        )
    })?;
    board.validate()?;
    Ok(board)
}

/// Replace `base`'s keys by `over`'s, recursing into tables so a variant can change
/// one count of `[resources]` without repeating the others. Arrays are replaced whole.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Is `pin` a well-formed package pin name for this family and package?
/// iCE40 QFN/TQFP packages number their pins (`35`); BGAs use ball names (`J3`, `G2`).
fn pin_well_formed(family: Family, package: &str, pin: &str) -> bool {
    let numbered = family == Family::Ice40
        && (package.starts_with("sg") || package.starts_with("tq") || package.starts_with("vq"));
    if numbered {
        !pin.is_empty() && pin.len() <= 3 && pin.chars().all(|c| c.is_ascii_digit()) && pin != "0"
    } else {
        let letters = pin.chars().take_while(|c| c.is_ascii_uppercase()).count();
        let digits = &pin[letters..];
        (1..=2).contains(&letters)
            && !digits.is_empty()
            && digits.len() <= 2
            && digits.chars().all(|c| c.is_ascii_digit())
    }
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

impl Board {
    /// Every rule a board obeys; the first broken one is returned.
    pub fn validate(&self) -> Result<(), BoardError> {
        let b = self.name.as_str();
        let err = |field: &str, rule: &str, value: &dyn fmt::Display| {
            Err(BoardError::new(b, field, rule, value))
        };
        if !is_name(&self.name) {
            return err(
                "name",
                "must be lowercase letters, digits, `-` or `_`",
                &format!("`{}`", self.name),
            );
        }
        if self.title.trim().is_empty() {
            return err("title", "must not be empty", &"``");
        }
        if self.toolchain != self.family.toolchain() {
            return err(
                "toolchain",
                &format!(
                    "must be `{}` for family {}",
                    self.family.toolchain().as_str(),
                    self.family
                ),
                &format!("`{}`", self.toolchain.as_str()),
            );
        }
        if !self.family.devices().contains(&self.device.as_str()) {
            return err(
                "device",
                &format!(
                    "must be one of {} for family {}",
                    self.family.devices().join(", "),
                    self.family
                ),
                &format!("`{}`", self.device),
            );
        }
        let packages = self.family.packages(&self.device);
        if !packages.contains(&self.package.as_str()) {
            return err(
                "package",
                &format!("must be one of {} for {}", packages.join(", "), self.device),
                &format!("`{}`", self.package),
            );
        }
        // The part number must name the same device as the nextpnr device name.
        let part = self.part.to_ascii_uppercase();
        let part_ok = match self.family {
            Family::Ice40 => {
                part.starts_with(&format!("ICE40{}", self.device.to_ascii_uppercase()))
            }
            Family::Ecp5 => {
                let size = self.device.trim_end_matches('k');
                part.starts_with(&format!("LFE5U-{size}F"))
                    || part.starts_with(&format!("LFE5UM-{size}F"))
                    || part.starts_with(&format!("LFE5UM5G-{size}F"))
            }
        };
        if !part_ok {
            return err(
                "part",
                &format!("must name device {}", self.device),
                &format!("`{}`", self.part),
            );
        }
        match (self.family, &self.speed) {
            (Family::Ecp5, Some(s)) if ["6", "7", "8"].contains(&s.as_str()) => {}
            (Family::Ecp5, s) => {
                return err("speed", "must be 6, 7 or 8 for ecp5", &format!("{s:?}"));
            }
            (Family::Ice40, None) => {}
            (Family::Ice40, Some(s)) => {
                return err(
                    "speed",
                    "must be absent for ice40 (no speed grades)",
                    &format!("`{s}`"),
                );
            }
        }
        match (self.family, &self.io_standard) {
            (Family::Ecp5, Some(s)) if s.starts_with("LVCMOS") || s.starts_with("LVTTL") => {}
            (Family::Ecp5, s) => {
                return err(
                    "io_standard",
                    "must be an LVCMOS/LVTTL standard for ecp5",
                    &format!("{s:?}"),
                );
            }
            (Family::Ice40, None) => {}
            (Family::Ice40, Some(s)) => {
                return err(
                    "io_standard",
                    "must be absent for ice40 (set by the bank voltage)",
                    &format!("`{s}`"),
                );
            }
        }
        // nextpnr must get exactly this device and package.
        let mut expected = vec![
            format!("--{}", self.device),
            "--package".into(),
            self.package.clone(),
        ];
        if let Some(s) = &self.speed {
            expected.extend(["--speed".to_string(), s.clone()]);
        }
        if self.nextpnr_args != expected {
            return err(
                "nextpnr_args",
                &format!("must be {expected:?}"),
                &format!("{:?}", self.nextpnr_args),
            );
        }
        if !(1_000_000..=500_000_000).contains(&self.clock.hz) {
            return err("clock.hz", "must be in 1000000..=500000000", &self.clock.hz);
        }
        if !is_name(&self.clock.name) {
            return err(
                "clock.name",
                "must be lowercase letters, digits, `-` or `_`",
                &format!("`{}`", self.clock.name),
            );
        }
        if self.leds.is_empty() {
            return err("led", "must list at least one LED", &"none");
        }
        // Every pin well formed, and no pin used twice.
        let mut seen: BTreeMap<&str, String> = BTreeMap::new();
        let mut names: BTreeMap<&str, ()> = BTreeMap::new();
        let mut pins: Vec<(String, &str)> = vec![
            ("clock.pin".into(), self.clock.pin.as_str()),
            ("uart.rx".into(), self.uart.rx.as_str()),
            ("uart.tx".into(), self.uart.tx.as_str()),
        ];
        for (kind, list) in [("led", &self.leds), ("button", &self.buttons)] {
            for p in list.iter() {
                if !is_name(&p.name) {
                    return err(
                        kind,
                        "names must be lowercase letters, digits, `-` or `_`",
                        &format!("`{}`", p.name),
                    );
                }
                if names.insert(p.name.as_str(), ()).is_some() {
                    return err(kind, "names must be unique", &format!("`{}` twice", p.name));
                }
                pins.push((format!("{kind} {}", p.name), p.pin.as_str()));
            }
        }
        for (what, pin) in pins {
            if !pin_well_formed(self.family, &self.package, pin) {
                return err(
                    &what,
                    &format!("must be a pin name of package {}", self.package),
                    &format!("`{pin}`"),
                );
            }
            if let Some(first) = seen.insert(pin, what.clone()) {
                return err(
                    &what,
                    &format!("pins must be unique (also used by {first})"),
                    &format!("`{pin}`"),
                );
            }
        }
        let r = &self.resources;
        if r.luts == 0 {
            return err("resources.luts", "must be positive", &r.luts);
        }
        if r.ios < 3 + self.leds.len() as u64 {
            return err(
                "resources.ios",
                "must cover the clock, UART and LED pins",
                &r.ios,
            );
        }
        for (field, got, want) in [
            ("resources.lut_kind", &r.lut_kind, self.family.lut_kind()),
            ("resources.dsp_kind", &r.dsp_kind, self.family.dsp_kind()),
            ("resources.bram_kind", &r.bram_kind, self.family.bram_kind()),
        ] {
            if got != want {
                return err(
                    field,
                    &format!("must be `{want}` for family {}", self.family),
                    &format!("`{got}`"),
                );
            }
        }
        Ok(())
    }

    /// Clock frequency in MHz, for display and nextpnr's `--freq`.
    pub fn clock_mhz(&self) -> f64 {
        self.clock.hz as f64 / 1e6
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_replaces_keys_and_recurses_into_tables() {
        let mut base: toml::Table = "a = 1\n[t]\nx = 1\ny = 2\n".parse().unwrap();
        let over: toml::Table = "a = 3\n[t]\ny = 5\n".parse().unwrap();
        merge(&mut base, over);
        assert_eq!(base["a"].as_integer(), Some(3));
        assert_eq!(base["t"]["x"].as_integer(), Some(1));
        assert_eq!(base["t"]["y"].as_integer(), Some(5));
    }

    #[test]
    fn pin_names_follow_the_package() {
        assert!(pin_well_formed(Family::Ice40, "sg48", "35"));
        assert!(!pin_well_formed(Family::Ice40, "sg48", "J3"));
        assert!(pin_well_formed(Family::Ice40, "ct256", "J3"));
        assert!(pin_well_formed(Family::Ecp5, "CABGA381", "H16"));
        assert!(!pin_well_formed(Family::Ecp5, "CABGA381", "16"));
        assert!(!pin_well_formed(Family::Ecp5, "CABGA381", "G2 "));
    }
}

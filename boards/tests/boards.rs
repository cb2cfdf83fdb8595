//! Every embedded board file parses and obeys the rules, and each rule rejects a
//! broken table with a message naming the rule and the value.

use boards::{Board, Family};

fn icebreaker_text() -> &'static str {
    boards::source("icebreaker").expect("icebreaker is embedded")
}

/// The icebreaker table with one line replaced: the way each negative test breaks a rule.
fn broken(from: &str, to: &str) -> String {
    let text = icebreaker_text();
    assert!(
        text.contains(from),
        "test fixture: `{from}` not in icebreaker.toml"
    );
    text.replacen(from, to, 1)
}

fn error_of(text: &str) -> String {
    boards::from_toml("icebreaker", text)
        .expect_err("the broken table must be rejected")
        .to_string()
}

#[test]
fn every_board_parses_and_validates() {
    let all = boards::all().unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = all.iter().map(|b| b.name.as_str()).collect();
    for want in [
        "icebreaker",
        "ice40-hx8k",
        "ulx3s",
        "ulx3s-12f",
        "ulx3s-25f",
        "ulx3s-45f",
    ] {
        assert!(names.contains(&want), "board {want} missing from {names:?}");
    }
    for b in &all {
        b.validate().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(boards::get(&b.name).as_ref(), Ok(b));
    }
}

#[test]
fn pins_are_unique_per_board() {
    for b in boards::all().unwrap_or_else(|e| panic!("{e}")) {
        let mut pins: Vec<&str> = vec![&b.clock.pin, &b.uart.rx, &b.uart.tx];
        pins.extend(b.leds.iter().map(|p| p.pin.as_str()));
        pins.extend(b.buttons.iter().map(|p| p.pin.as_str()));
        let n = pins.len();
        pins.sort_unstable();
        pins.dedup();
        assert_eq!(pins.len(), n, "board {} uses a pin twice", b.name);
    }
}

#[test]
fn device_package_and_primitives_match_the_family() {
    for b in boards::all().unwrap_or_else(|e| panic!("{e}")) {
        assert!(
            b.family.devices().contains(&b.device.as_str()),
            "{}",
            b.name
        );
        assert!(
            b.family.packages(&b.device).contains(&b.package.as_str()),
            "{}",
            b.name
        );
        assert_eq!(b.toolchain, b.family.toolchain());
        assert_eq!(b.resources.dsp_kind, b.family.dsp_kind());
        assert_eq!(b.resources.bram_kind, b.family.bram_kind());
        assert_eq!(b.nextpnr_args[0], format!("--{}", b.device));
        match b.family {
            Family::Ice40 => assert!(b.io_standard.is_none() && b.speed.is_none()),
            Family::Ecp5 => {
                assert_eq!(b.io_standard.as_deref(), Some("LVCMOS33"));
                assert_eq!(b.package, "CABGA381");
            }
        }
    }
}

/// Spot checks against the cited sources (amaranth-boards), so an edit that
/// shifts a pin is caught here and not on the bench.
#[test]
fn known_pins_match_the_published_tables() {
    let ib = boards::get("icebreaker").unwrap();
    assert_eq!((ib.clock.pin.as_str(), ib.clock.hz), ("35", 12_000_000));
    assert_eq!((ib.uart.rx.as_str(), ib.uart.tx.as_str()), ("6", "9"));
    assert_eq!(
        ib.leds.iter().map(|l| l.pin.as_str()).collect::<Vec<_>>(),
        ["11", "37"]
    );
    assert!(ib.leds.iter().all(|l| l.active_low));
    let hx = boards::get("ice40-hx8k").unwrap();
    assert_eq!(
        (
            hx.clock.pin.as_str(),
            hx.uart.rx.as_str(),
            hx.uart.tx.as_str()
        ),
        ("J3", "B10", "B12")
    );
    assert_eq!(hx.leds.len(), 8);
    let ulx: Board = boards::get("ulx3s").unwrap();
    assert_eq!((ulx.clock.pin.as_str(), ulx.clock.hz), ("G2", 25_000_000));
    assert_eq!((ulx.uart.rx.as_str(), ulx.uart.tx.as_str()), ("M1", "L4"));
    assert_eq!(ulx.leds.first().map(|l| l.pin.as_str()), Some("B2"));
    assert_eq!(ulx.leds.last().map(|l| l.pin.as_str()), Some("H3"));
}

#[test]
fn variants_inherit_pins_and_change_only_the_device() {
    let base = boards::get("ulx3s").unwrap();
    for (name, device, luts) in [
        ("ulx3s-12f", "12k", 12000),
        ("ulx3s-25f", "25k", 24288),
        ("ulx3s-45f", "45k", 43848),
    ] {
        let v = boards::get(name).unwrap();
        assert_eq!(v.device, device);
        assert_eq!(v.resources.luts, luts);
        assert_eq!(
            (&v.clock, &v.uart, &v.leds, &v.buttons),
            (&base.clock, &base.uart, &base.leds, &base.buttons)
        );
        assert_eq!(v.resources.dsp_kind, base.resources.dsp_kind);
        assert!(v.resources.luts < base.resources.luts);
    }
}

#[test]
fn unknown_board_lists_the_known_ones() {
    let e = boards::get("de0-nano").unwrap_err().to_string();
    assert!(e.contains("`de0-nano`"), "{e}");
    for n in boards::names() {
        assert!(e.contains(n), "{e} should list {n}");
    }
}

#[test]
fn a_pin_used_twice_is_rejected() {
    let e = error_of(&broken("tx = \"9\"", "tx = \"6\""));
    assert_eq!(
        e,
        "board `icebreaker`: uart.tx pins must be unique (also used by uart.rx), got `6`"
    );
}

#[test]
fn a_package_of_another_device_is_rejected() {
    let text = broken("package = \"sg48\"", "package = \"ct256\"");
    let e = error_of(&text);
    assert_eq!(
        e,
        "board `icebreaker`: package must be one of sg48, uwg30 for up5k, got `ct256`"
    );
}

#[test]
fn a_device_of_another_family_is_rejected() {
    let e = error_of(&broken("device = \"up5k\"", "device = \"85k\""));
    assert!(
        e.starts_with("board `icebreaker`: device must be one of"),
        "{e}"
    );
    assert!(e.ends_with("for family ice40, got `85k`"), "{e}");
}

#[test]
fn nextpnr_args_must_match_device_and_package() {
    let e = error_of(&broken(
        "[\"--up5k\", \"--package\", \"sg48\"]",
        "[\"--hx8k\", \"--package\", \"sg48\"]",
    ));
    assert!(
        e.contains("nextpnr_args must be [\"--up5k\", \"--package\", \"sg48\"]"),
        "{e}"
    );
}

#[test]
fn wrong_primitive_kinds_and_pin_syntax_are_rejected() {
    let e = error_of(&broken(
        "dsp_kind = \"SB_MAC16\"",
        "dsp_kind = \"MULT18X18D\"",
    ));
    assert_eq!(e, "board `icebreaker`: resources.dsp_kind must be `SB_MAC16` for family ice40, got `MULT18X18D`");
    let e = error_of(&broken("pin = \"35\"", "pin = \"J3\""));
    assert_eq!(
        e,
        "board `icebreaker`: clock.pin must be a pin name of package sg48, got `J3`"
    );
}

#[test]
fn ecp5_needs_an_io_standard_and_ice40_must_not_have_one() {
    let e = error_of(&broken(
        "package = \"sg48\"",
        "package = \"sg48\"\nio_standard = \"LVCMOS33\"",
    ));
    assert_eq!(e, "board `icebreaker`: io_standard must be absent for ice40 (set by the bank voltage), got `LVCMOS33`");
    let ulx = boards::source("ulx3s")
        .unwrap()
        .replace("io_standard = \"LVCMOS33\"\n", "");
    let e = boards::from_toml("ulx3s", &ulx).unwrap_err().to_string();
    assert_eq!(
        e,
        "board `ulx3s`: io_standard must be an LVCMOS/LVTTL standard for ecp5, got None"
    );
}

#[test]
fn unknown_keys_and_bad_toml_are_one_line_errors() {
    let e = error_of(&broken("title =", "colour = \"red\"\ntitle ="));
    assert!(
        e.starts_with("board `icebreaker`: file must match the board schema"),
        "{e}"
    );
    assert!(!e.contains('\n'), "{e}");
    let e = error_of("name = ");
    assert!(
        e.starts_with("board `icebreaker`: file must be valid TOML"),
        "{e}"
    );
    assert!(!e.contains('\n'), "{e}");
}

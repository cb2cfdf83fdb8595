//! The tables of `docs/engine-contract.md` (register map, descriptor, channel
//! record, errors, limits) are generated from [`contracts::engine`], so the
//! document a user programs the engine from cannot drift from the data the
//! generator, the compiler and the tests use.
//!
//! Each table sits between `<!-- generated: NAME -->` and
//! `<!-- end generated: NAME -->`. The test regenerates every table and fails,
//! naming the table, where the document differs; `UPDATE_DOCS=1 cargo test -p
//! contracts --test doc_tables` rewrites them instead. The numbers come from the
//! data; the meaning column comes from the texts below, and a register, field,
//! error or limit without a text fails the test, so a new entry gets a
//! description before it reaches the document.

use std::path::PathBuf;

use contracts::engine::{self, Layout, ProgrammingModel, Register};

fn doc_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/engine-contract.md")
}

/// The text of `name` in `texts`, or a note of the missing one in `missing`.
fn text_of<'a>(
    texts: &[(&str, &'a str)],
    kind: &str,
    name: &str,
    missing: &mut Vec<String>,
) -> &'a str {
    match texts.iter().find(|(n, _)| *n == name) {
        Some((_, t)) => t,
        None => {
            missing.push(format!("{kind} `{name}`"));
            ""
        }
    }
}

const REGISTER_TEXTS: &[(&str, &str)] = &[
    ("id", "`{id}`, ASCII \"ENG1\" read as a little-endian word: this is an engine"),
    ("config0", "The array's rows and columns, the memory port width in bits, the array's PE pipeline depth"),
    ("status", "`busy`: a descriptor list is running. `done`: the list finished without error. `error`: a descriptor was refused; `code` says why (see Errors), `index` which descriptor (0 for the start-level checks). `irq` = `done` \\| `error`"),
    ("ctrl", "Write 1 to `start`: if not busy, clear `done`, `error`, `code`, `index` and the counters and run the list (ignored while busy). Write 1 to `clear`: clear `done`, `error`, `code` and `index` (drops `irq`). Reads return 0"),
    ("desc_addr", "Byte address of descriptor 0, a multiple of `limits.align`"),
    ("desc_count", "Number of descriptors in the list (0: the start finishes at once with `done`)"),
    ("config1", "Bytes per descriptor, bytes per channel record, array beats per staging chunk"),
    ("config2", "Input buffer bytes (`gen --ibuf-bytes`): a layer whose whole input fits is read from memory once"),
    ("config3", "Weight buffer rows of `cols` bytes per bank (`gen --wbuf-rows`): a layer with `k_h*k_w*in_c` up to this reads its weights once"),
];

const COUNTER_TEXTS: &[(&str, &str)] = &[
    ("cycles", "clock cycles from the start to `done` or `error`"),
    ("array_beats", "input beats the array took"),
    ("rd_bytes", "bytes of read responses taken (whole words)"),
    ("wr_bytes", "bytes written with their strobe set"),
];

const DESCRIPTOR_TEXTS: &[(&str, &str)] = &[
    (
        "op",
        "0 = convolution (FC is the 1x1 case); any other value is `bad_op`",
    ),
    ("in_addr", "Byte address of `in[0][0][0]` (NHWC)"),
    ("in_h", "Input height H"),
    ("in_w", "Input width W"),
    ("in_c", "Input channels C_in"),
    ("w_addr", "Byte address of `w[0][0][0][0]` (HWIO)"),
    (
        "ch_addr",
        "Byte address of the channel record of output channel 0",
    ),
    ("out_addr", "Byte address of `out[0][0][0]` (NHWC)"),
    ("out_c", "Output channels C_out"),
    ("k_h", "Kernel height"),
    ("k_w", "Kernel width"),
    ("stride_h", "Vertical stride"),
    ("stride_w", "Horizontal stride"),
    ("dil_h", "Vertical dilation (1 = dense)"),
    ("dil_w", "Horizontal dilation (1 = dense)"),
    ("pad_t", "Zero rows above the image"),
    ("pad_b", "Zero rows below the image"),
    ("pad_l", "Zero columns left of the image"),
    ("pad_r", "Zero columns right of the image"),
    ("relu", "1: ReLU (clamp at 0 instead of -128); 0: none"),
    (
        "pool_k",
        "Max-pool window pool_k x pool_k after requantization; 0: no pooling",
    ),
    ("pool_s", "Max-pool stride (ignored when `pool_k` = 0)"),
    (
        "pool_pad",
        "Max-pool padding on every side; padded positions never win (0 when `pool_k` = 0)",
    ),
];

const RECORD_TEXTS: &[(&str, &str)] = &[
    (
        "bias",
        "Added to the int32 accumulator (two's complement, wrapping)",
    ),
    ("mult", "Requantization multiplier, 1..=65535"),
    ("shift", "Requantization right shift with rounding, 0..=31"),
];

const ERROR_TEXTS: &[(&str, &str)] = &[
    ("bad_op", "`op` != 0"),
    ("zero_size", "a zero in `in_h`, `in_w`, `in_c`, `out_c`, `k_h`, `k_w`, `stride_h`, `stride_w`, `dil_h` or `dil_w`"),
    ("too_large", "a field past `limits` (`in_h`, `in_w`, `in_c`, `out_c`, `k_h`, `k_w`; `stride_h`, `stride_w` > `limits.stride`; `dil_h`, `dil_w` > `limits.dil`); `pad_t` or `pad_b` > `dil_h*(k_h-1)`, `pad_l` or `pad_r` > `dil_w*(k_w-1)`; `relu` > 1; `pool_k` > `limits.pool_k`; `pool_s` > `limits.pool_s`"),
    ("bad_geometry", "no conv output (`H + pad_t + pad_b < dil_h*(k_h-1) + 1`, or the same across W); with `pool_k` > 0: `pool_s` = 0, or `pool_pad` >= `pool_k`, or `H_c + 2*pool_pad < pool_k` (or the same across W); with `pool_k` = 0: `pool_pad` != 0 (`pool_s` is ignored)"),
    ("misaligned", "`in_addr`, `w_addr`, `ch_addr` or `out_addr` not a multiple of `limits.align`"),
    ("address_wrap", "a tensor runs past the address space: `in_addr + H*W*C_in`, `w_addr + k_h*k_w*C_in*C_out`, `ch_addr + record_bytes*C_out` or `out_addr + H_o*W_o*C_out` > 2^`limits.addr_bits` (2^32 unless the build narrows it)"),
    ("bad_requant", "a channel record of the layer with `mult` = 0 or `shift` > 31; all records are checked before any output byte of the layer is written"),
];

const LIMIT_TEXTS: &[(&str, &str)] = &[
    ("in_h", "Largest `in_h`"),
    ("in_w", "Largest `in_w`"),
    ("in_c", "Largest `in_c`"),
    ("out_c", "Largest `out_c`"),
    ("k_h", "Largest `k_h`"),
    ("k_w", "Largest `k_w`"),
    ("stride", "Largest `stride_h` and `stride_w`"),
    ("dil", "Largest `dil_h` and `dil_w`"),
    ("pad", "Largest pad the pad rule allows (`limits.dil*(limits.k_h-1)`); the rule itself is `pad_t`, `pad_b` <= `dil_h*(k_h-1)`, `pad_l`, `pad_r` <= `dil_w*(k_w-1)`"),
    ("relu", "Largest `relu`"),
    ("pool_k", "Largest `pool_k`"),
    ("pool_s", "Largest `pool_s`"),
    ("desc_count", "Largest `desc_count` (`status.index` is 16 bits)"),
    ("align", "Base addresses (`desc_addr`, `in_addr`, `w_addr`, `ch_addr`, `out_addr`) are multiples of this: the memory port's bytes per word"),
    ("addr_bits", "The address space is 2^`addr_bits` bytes (`address_wrap` past it); 32, the whole port, unless the build narrows it to its memory (`gen --addr-bits`)"),
];

fn bits(lsb: u32, n: u32) -> String {
    if n == 1 {
        format!("[{lsb}]")
    } else {
        format!("[{}:{lsb}]", lsb + n - 1)
    }
}

fn register_text(r: &Register, missing: &mut Vec<String>) -> String {
    for (i, c) in engine::COUNTERS.iter().enumerate() {
        let half = if r.name == format!("{c}_lo") {
            "bits 31:0"
        } else if r.name == format!("{c}_hi") {
            "bits 63:32"
        } else {
            continue;
        };
        let what = COUNTER_TEXTS
            .get(i)
            .filter(|(n, _)| n == c)
            .map(|(_, t)| *t);
        let what = what.unwrap_or_else(|| {
            missing.push(format!("counter `{c}`"));
            ""
        });
        return format!("Counter `{c}` {half}: {what}; 64-bit, cleared by `ctrl.start`");
    }
    text_of(REGISTER_TEXTS, "register", &r.name, missing)
        .replace("{id}", &format!("0x{:08X}", engine::ID))
}

fn registers_table(pm: &ProgrammingModel, missing: &mut Vec<String>) -> String {
    let mut s =
        String::from("| Offset | Register | Access | Fields | Meaning |\n|---:|---|---|---|---|\n");
    let mut regs = pm.registers.clone();
    regs.sort_by_key(|r| r.offset);
    for r in &regs {
        let fields: Vec<String> = r
            .fields
            .iter()
            .map(|f| format!("`{}` {}", f.name, bits(f.lsb, f.bits)))
            .collect();
        s += &format!(
            "| 0x{:02X} | `{}` | {} | {} | {} |\n",
            r.offset,
            r.name,
            r.access,
            fields.join(", "),
            register_text(r, missing)
        );
    }
    s
}

/// A layout as a table, its unused bytes listed as reserved.
fn layout_table(
    layout: &Layout,
    texts: &[(&str, &str)],
    kind: &str,
    missing: &mut Vec<String>,
) -> String {
    let mut s = String::from("| Offset | Bytes | Field | Meaning |\n|---:|---:|---|---|\n");
    let mut fields = layout.fields.clone();
    fields.sort_by_key(|f| f.offset);
    let mut next = 0;
    let reserved = |from: u32, to: u32| {
        format!(
            "| {from} | {} | (reserved) | Ignored by the engine; write 0 |\n",
            to - from
        )
    };
    for f in &fields {
        if f.offset > next {
            s += &reserved(next, f.offset);
        }
        s += &format!(
            "| {} | {} | `{}` | {} |\n",
            f.offset,
            f.bytes,
            f.name,
            text_of(texts, kind, &f.name, missing)
        );
        next = f.offset + f.bytes;
    }
    if layout.bytes > next {
        s += &reserved(next, layout.bytes);
    }
    s
}

fn errors_table(pm: &ProgrammingModel, missing: &mut Vec<String>) -> String {
    let mut s = String::from(
        "| Checked | `status.code` | Error | Rule (the first failing one is reported) |\n|---:|---:|---|---|\n",
    );
    // engine::ERRORS is the order of the checks; the manifest's map has the codes.
    for (i, (name, _)) in engine::ERRORS.iter().enumerate() {
        let code = pm.error_code(name).unwrap_or_else(|e| panic!("{e}"));
        s += &format!(
            "| {} | {code} | `{name}` | {} |\n",
            i + 1,
            text_of(ERROR_TEXTS, "error", name, missing)
        );
    }
    s
}

fn limits_table(missing: &mut Vec<String>) -> String {
    let widths = [32u32, 64, 128];
    let as_map = |bits: u32| -> Vec<(String, u64)> {
        let v = serde_json::to_value(engine::limits(bits)).unwrap_or_else(|e| panic!("{e}"));
        v.as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or_else(|| panic!("{k}"))))
                    .collect()
            })
            .unwrap_or_default()
    };
    let per_width: Vec<Vec<(String, u64)>> = widths.iter().map(|&b| as_map(b)).collect();
    // Rows in the order of the struct's fields, as the manifest writes them.
    let order: Vec<String> = {
        let v = serde_json::to_string(&engine::limits(64)).unwrap_or_else(|e| panic!("{e}"));
        let mut keys: Vec<(usize, String)> = per_width[0]
            .iter()
            .map(|(k, _)| (v.find(&format!("\"{k}\"")).unwrap_or(usize::MAX), k.clone()))
            .collect();
        keys.sort();
        keys.into_iter().map(|(_, k)| k).collect()
    };
    let mut s = String::from("| Limit | Value | Meaning |\n|---|---:|---|\n");
    for name in &order {
        let vals: Vec<u64> = per_width
            .iter()
            .map(|m| {
                m.iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| *v)
                    .unwrap_or(0)
            })
            .collect();
        let value = if vals.iter().all(|&v| v == vals[0]) {
            vals[0].to_string()
        } else {
            let w: Vec<String> = widths.iter().map(|b| b.to_string()).collect();
            let v: Vec<String> = vals.iter().map(|v| v.to_string()).collect();
            format!("{} (mem_bits {})", v.join(" / "), w.join(" / "))
        };
        s += &format!(
            "| `{name}` | {value} | {} |\n",
            text_of(LIMIT_TEXTS, "limit", name, missing)
        );
    }
    s
}

/// Every generated table: (name, markdown).
fn tables() -> Vec<(&'static str, String)> {
    let pm = ProgrammingModel::new(64);
    let mut missing = Vec::new();
    let t = vec![
        ("registers", registers_table(&pm, &mut missing)),
        (
            "descriptor",
            layout_table(
                &pm.descriptor,
                DESCRIPTOR_TEXTS,
                "descriptor field",
                &mut missing,
            ),
        ),
        (
            "channel_record",
            layout_table(
                &pm.channel_record,
                RECORD_TEXTS,
                "channel record field",
                &mut missing,
            ),
        ),
        ("errors", errors_table(&pm, &mut missing)),
        ("limits", limits_table(&mut missing)),
    ];
    assert!(
        missing.is_empty(),
        "contracts/tests/doc_tables.rs has no description for: {}",
        missing.join(", ")
    );
    t
}

/// The byte range of the body between the markers of table `name` in `doc`.
fn body_range(doc: &str, name: &str) -> Result<std::ops::Range<usize>, String> {
    let begin = format!("<!-- generated: {name} -->\n");
    let end = format!("<!-- end generated: {name} -->");
    let b = doc
        .find(&begin)
        .ok_or_else(|| format!("no `{}` marker", begin.trim_end()))?;
    if doc[b + 1..].contains(&begin) {
        return Err(format!("`{}` appears twice", begin.trim_end()));
    }
    let start = b + begin.len();
    let e = doc[start..]
        .find(&end)
        .ok_or_else(|| format!("no `{end}` marker after `{}`", begin.trim_end()))?;
    Ok(start..start + e)
}

#[test]
fn engine_contract_tables_match_the_programming_model() {
    let path = doc_path();
    let mut doc = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let update = std::env::var_os("UPDATE_DOCS").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for (name, table) in tables() {
        let range = body_range(&doc, name).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if doc[range.clone()] != table {
            stale.push(name);
            doc.replace_range(range, &table);
        }
    }
    if update {
        if !stale.is_empty() {
            std::fs::write(&path, &doc)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
            eprintln!("rewrote tables {stale:?} of {}", path.display());
        }
    } else {
        assert!(
            stale.is_empty(),
            "{}: tables {stale:?} differ from contracts::engine; rewrite them with \
             `UPDATE_DOCS=1 cargo test -p contracts --test doc_tables`",
            path.display()
        );
    }
}

/// The generator's own checks: a changed table is detected, the markers are found.
#[test]
fn a_stale_table_is_detected() {
    let doc = "a\n<!-- generated: errors -->\nold\n<!-- end generated: errors -->\nb\n";
    let r = body_range(doc, "errors").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(&doc[r], "old\n");
    assert!(body_range(doc, "limits").is_err());
    let twice = format!("{doc}{doc}");
    assert!(body_range(&twice, "errors").is_err());
    let t = tables();
    let errors = &t
        .iter()
        .find(|(n, _)| *n == "errors")
        .expect("errors table")
        .1;
    assert!(errors.contains("| 1 | 1 | `bad_op` |"), "{errors}");
    assert_ne!(errors, "old\n");
}

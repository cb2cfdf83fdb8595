//! The committed files' JSON layout: objects indented one key per line, arrays
//! of numbers or strings on one line (`[1,-2,3]`), arrays of objects one
//! object per line-block. A model's tens of thousands of weights then take
//! one line per tensor instead of one line per number, so `lenet5` stays a
//! few hundred kilobytes and a diff still shows which tensor changed.
//!
//! Deterministic: the output depends only on the value (struct field order,
//! serde_json's shortest round-trip number formatting).

use std::io;

use serde::Serialize;
use serde_json::ser::Formatter;

/// One open container.
struct Frame {
    array: bool,
    /// An array that holds objects or arrays: its values go on their own lines.
    multiline: bool,
    /// An object with at least one key.
    keys: bool,
}

/// The formatter: PrettyFormatter's objects, compact scalar arrays.
#[derive(Default)]
struct Layout {
    stack: Vec<Frame>,
}

impl Layout {
    fn newline<W: ?Sized + io::Write>(&self, w: &mut W, depth: usize) -> io::Result<()> {
        w.write_all(b"\n")?;
        for _ in 0..depth {
            w.write_all(b"  ")?;
        }
        Ok(())
    }

    /// A container starts: inside an array it goes on its own line.
    fn open<W: ?Sized + io::Write>(&mut self, w: &mut W, array: bool) -> io::Result<()> {
        let depth = self.stack.len();
        if let Some(parent) = self.stack.last_mut() {
            if parent.array {
                parent.multiline = true;
                self.newline(w, depth)?;
            }
        }
        self.stack.push(Frame {
            array,
            multiline: false,
            keys: false,
        });
        w.write_all(if array { b"[" } else { b"{" })
    }
}

impl Formatter for Layout {
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, true)
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        if let Some(f) = self.stack.pop() {
            if f.multiline {
                self.newline(w, self.stack.len())?;
            }
        }
        w.write_all(b"]")
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b",")
        }
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, _w: &mut W) -> io::Result<()> {
        Ok(())
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, false)
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        if let Some(f) = self.stack.pop() {
            if f.keys {
                self.newline(w, self.stack.len())?;
            }
        }
        w.write_all(b"}")
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        if let Some(f) = self.stack.last_mut() {
            f.keys = true;
        }
        self.newline(w, self.stack.len())
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, _w: &mut W) -> io::Result<()> {
        Ok(())
    }
}

/// Where a serde error points, for errors serde cannot place itself: for
/// "missing field `x`", the first object of the array at `layers` (a JSON
/// pointer, e.g. `/network/layers`) that lacks `x`, as `prefix[i].x`;
/// otherwise `json`.
pub fn error_field(text: &str, err: &serde_json::Error, layers: &str, prefix: &str) -> String {
    let msg = err.to_string();
    let missing = msg
        .strip_prefix("missing field `")
        .and_then(|m| m.split('`').next());
    let value: Option<serde_json::Value> = serde_json::from_str(text).ok();
    if let (Some(key), Some(v)) = (missing, value) {
        if let Some(items) = v.pointer(layers).and_then(|l| l.as_array()) {
            for (i, item) in items.iter().enumerate() {
                if item.as_object().is_some_and(|o| !o.contains_key(key)) {
                    return format!("{prefix}[{i}].{key}");
                }
            }
        }
    }
    "json".into()
}

/// `value` in the committed layout, ending with a newline. A value that
/// cannot be serialized (a map with non-string keys; none of this crate's
/// types) gives the serializer's message.
pub fn to_string<T: Serialize>(value: &T) -> Result<String, String> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, Layout::default());
    value.serialize(&mut ser).map_err(|e| e.to_string())?;
    out.push(b'\n');
    String::from_utf8(out).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Inner {
        name: String,
        w: Vec<f32>,
    }

    #[derive(Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Outer {
        n: u32,
        empty: Vec<i8>,
        v: Vec<i8>,
        layers: Vec<Inner>,
    }

    #[test]
    fn layout_and_round_trip() {
        let o = Outer {
            n: 3,
            empty: vec![],
            v: vec![1, -2, 3],
            layers: vec![
                Inner {
                    name: "a".into(),
                    w: vec![0.5, -0.125],
                },
                Inner {
                    name: "b".into(),
                    w: vec![0.1],
                },
            ],
        };
        let s = to_string(&o).expect("serializes");
        let want = "{\n  \"n\": 3,\n  \"empty\": [],\n  \"v\": [1,-2,3],\n  \"layers\": [\n    {\n      \"name\": \"a\",\n      \"w\": [0.5,-0.125]\n    },\n    {\n      \"name\": \"b\",\n      \"w\": [0.1]\n    }\n  ]\n}\n";
        assert_eq!(s, want);
        let back: Outer = serde_json::from_str(&s).expect("parses");
        assert_eq!(back, o);
    }
}

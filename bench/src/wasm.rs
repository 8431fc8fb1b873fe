//! Just enough of the wasm binary format to say what a module's bytes are: its sections, the
//! custom ones (debug info, the `name` section), and code size per crate (from the function
//! names in the `name` section, when it is there).

use std::collections::HashMap;
use std::ops::Range;

use anyhow::{bail, Context};

pub struct Section {
    pub id: u8,
    /// For custom sections (id 0).
    pub name: Option<String>,
    /// The section's payload, after its id and size.
    pub payload: Range<usize>,
    /// The whole section, id and size included.
    pub whole: Range<usize>,
}

pub struct Module<'a> {
    bytes: &'a [u8],
    pub sections: Vec<Section>,
}

impl<'a> Module<'a> {
    pub fn parse(bytes: &'a [u8]) -> anyhow::Result<Self> {
        if bytes.get(..4) != Some(b"\0asm".as_slice()) {
            bail!("not a wasm module");
        }
        let mut reader = Reader { bytes, at: 8 };
        let mut sections = Vec::new();
        while reader.at < bytes.len() {
            let start = reader.at;
            let id = reader.byte()?;
            let size = reader.leb()? as usize;
            let payload = reader.at..reader.at.saturating_add(size);
            if payload.end > bytes.len() {
                bail!("section {id} runs past the end of the module");
            }
            let name = if id == 0 {
                let mut inner = Reader {
                    bytes: &bytes[..payload.end],
                    at: payload.start,
                };
                Some(inner.name()?)
            } else {
                None
            };
            reader.at = payload.end;
            sections.push(Section {
                id,
                name,
                whole: start..payload.end,
                payload,
            });
        }
        Ok(Self { bytes, sections })
    }

    /// A human name for a section: `code`, `data`, `custom "name"`, ...
    pub fn label(section: &Section) -> String {
        const NAMES: [&str; 14] = [
            "custom",
            "type",
            "import",
            "function",
            "table",
            "memory",
            "global",
            "export",
            "start",
            "element",
            "code",
            "data",
            "data count",
            "tag",
        ];
        match &section.name {
            Some(name) => format!("custom \"{name}\""),
            None => NAMES
                .get(usize::from(section.id))
                .map_or_else(|| format!("section {}", section.id), |n| (*n).to_owned()),
        }
    }

    /// Names of `.debug_*` custom sections (present in debug builds only).
    pub fn debug_sections(&self) -> Vec<String> {
        self.sections
            .iter()
            .filter_map(|s| s.name.clone())
            .filter(|n| n.starts_with(".debug"))
            .collect()
    }

    /// The module without its custom sections (names, debug info, producers): what a
    /// size-optimised build ships.
    pub fn without_custom_sections(&self) -> Vec<u8> {
        let mut out = self.bytes[..8].to_vec();
        for section in self.sections.iter().filter(|s| s.id != 0) {
            out.extend_from_slice(&self.bytes[section.whole.clone()]);
        }
        out
    }

    /// Code bytes per crate, largest first, from the `name` section's function names; empty
    /// without a `name` section.
    pub fn code_by_crate(&self) -> anyhow::Result<Vec<(String, u64)>> {
        let Some(names) = self.function_names()? else {
            return Ok(Vec::new());
        };
        let imported = self.imported_functions()?;
        let Some(code) = self.sections.iter().find(|s| s.id == 10) else {
            return Ok(Vec::new());
        };
        let mut reader = Reader {
            bytes: &self.bytes[..code.payload.end],
            at: code.payload.start,
        };
        let mut sizes: HashMap<String, u64> = HashMap::new();
        let count = reader.leb()?;
        for i in 0..count {
            let size = reader.leb()?;
            reader.at += size as usize;
            let name = names
                .get(&(imported + i))
                .map_or("(unnamed)", String::as_str);
            *sizes.entry(crate_of(name)).or_default() += size;
        }
        let mut sizes: Vec<(String, u64)> = sizes.into_iter().collect();
        sizes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(sizes)
    }

    /// Function index → name, from subsection 1 of the `name` section.
    fn function_names(&self) -> anyhow::Result<Option<HashMap<u64, String>>> {
        let Some(section) = self
            .sections
            .iter()
            .find(|s| s.name.as_deref() == Some("name"))
        else {
            return Ok(None);
        };
        let mut reader = Reader {
            bytes: &self.bytes[..section.payload.end],
            at: section.payload.start,
        };
        reader.name()?; // "name"
        while reader.at < section.payload.end {
            let id = reader.byte()?;
            let size = reader.leb()? as usize;
            if id != 1 {
                reader.at += size;
                continue;
            }
            let mut names = HashMap::new();
            let count = reader.leb()?;
            for _ in 0..count {
                let index = reader.leb()?;
                names.insert(index, reader.name()?);
            }
            return Ok(Some(names));
        }
        Ok(None)
    }

    /// Imported functions come first in the function index space.
    fn imported_functions(&self) -> anyhow::Result<u64> {
        let Some(section) = self.sections.iter().find(|s| s.id == 2) else {
            return Ok(0);
        };
        let mut reader = Reader {
            bytes: &self.bytes[..section.payload.end],
            at: section.payload.start,
        };
        let mut functions = 0;
        let count = reader.leb()?;
        for _ in 0..count {
            reader.name()?;
            reader.name()?;
            match reader.byte()? {
                0 => {
                    functions += 1;
                    reader.leb()?;
                }
                1 => {
                    reader.byte()?;
                    reader.limits()?;
                }
                2 => reader.limits()?,
                3 => {
                    reader.byte()?;
                    reader.byte()?;
                }
                4 => {
                    reader.byte()?;
                    reader.leb()?;
                }
                kind => bail!("unknown import kind {kind}"),
            }
        }
        Ok(functions)
    }
}

/// The crate a Rust function name belongs to: `leptos_router::...` → `leptos_router`,
/// `<serde_json::Value as ...>::fmt` → `serde_json`, `<T as tachys::view::Render>::build` →
/// `tachys`; also for mangled names as cargo leaves them before wasm-bindgen demangles them
/// (legacy `_ZN…` and v0 `_R…`). Good enough to see what dominates, not a demangler.
fn crate_of(name: &str) -> String {
    if let Some(krate) = v0_crate(name) {
        return krate.to_owned();
    }
    let demangled;
    let name = match legacy_first_segment(name) {
        Some(segment)
            if segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
        {
            return segment.to_owned()
        }
        Some(segment) => {
            demangled = segment
                .replace("$LT$", "<")
                .replace("$GT$", ">")
                .replace("$RF$", "&")
                .replace("$BP$", "*")
                .replace("$u20$", " ")
                .replace("..", "::");
            demangled.trim_start_matches('_')
        }
        None => name,
    };
    path_crate(name).unwrap_or("(other)").to_owned()
}

/// The crate of a demangled path or `<Type as Trait>` (the trait's crate when the type is a
/// bare type parameter).
fn path_crate(name: &str) -> Option<&str> {
    let name = name.trim_start_matches(['<', '&', '*', ' ']);
    let name = name.strip_prefix("mut ").unwrap_or(name);
    let name = name.strip_prefix("dyn ").unwrap_or(name);
    let ident = name
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(name, |end| &name[..end]);
    if !ident.is_empty() && name[ident.len()..].starts_with("::") {
        return Some(ident);
    }
    let (_, trait_path) = name.split_once(" as ")?;
    path_crate(trait_path)
}

/// The first path segment of a legacy-mangled name, `_ZN4core3fmt5write17h…E` → `core`.
fn legacy_first_segment(name: &str) -> Option<&str> {
    let rest = name.strip_prefix("_ZN")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let len: usize = rest[..digits].parse().ok()?;
    rest.get(digits..digits + len)
}

/// The first crate root (`Cs<disambiguator>_<len><name>`) of a v0-mangled name.
fn v0_crate(name: &str) -> Option<&str> {
    let rest = name.strip_prefix("_R")?;
    let root = &rest[rest.find("Cs")? + 2..];
    let ident = &root[root.find('_')? + 1..];
    let digits = ident.bytes().take_while(u8::is_ascii_digit).count();
    let len: usize = ident[..digits].parse().ok()?;
    ident.get(digits..digits + len)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> anyhow::Result<u8> {
        let byte = *self
            .bytes
            .get(self.at)
            .context("unexpected end of the module")?;
        self.at += 1;
        Ok(byte)
    }

    /// An unsigned LEB128 number.
    fn leb(&mut self) -> anyhow::Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        bail!("a number longer than 64 bits")
    }

    fn name(&mut self) -> anyhow::Result<String> {
        let len = self.leb()? as usize;
        let end = self.at.saturating_add(len);
        let bytes = self
            .bytes
            .get(self.at..end)
            .context("a name runs past its section")?;
        self.at = end;
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }

    fn limits(&mut self) -> anyhow::Result<()> {
        let flags = self.byte()?;
        self.leb()?;
        if flags & 1 != 0 {
            self.leb()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module with one imported and two defined functions, a `name` section and a
    /// `.debug_info` section.
    fn module() -> Vec<u8> {
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        // import section: one function "env"."f" of type 0
        m.extend_from_slice(&[2, 9, 1, 3, b'e', b'n', b'v', 1, b'f', 0, 0]);
        // code section: two bodies of 3 and 5 bytes
        m.extend_from_slice(&[10, 11, 2, 3, 0, 0, 0, 5, 0, 0, 0, 0, 0]);
        // name section, function names: 1 -> "a::x", 2 -> "<b::Y as c::Z>::z"
        let mut names = vec![4, b'n', b'a', b'm', b'e'];
        let mut sub = vec![2, 1, 4];
        sub.extend_from_slice(b"a::x");
        sub.extend_from_slice(&[2, 17]);
        sub.extend_from_slice(b"<b::Y as c::Z>::z");
        names.push(1);
        names.push(sub.len() as u8);
        names.extend_from_slice(&sub);
        m.push(0);
        m.push(names.len() as u8);
        m.extend_from_slice(&names);
        let debug = b"\x0b.debug_info\x01\x02";
        m.push(0);
        m.push(debug.len() as u8);
        m.extend_from_slice(debug);
        m
    }

    #[test]
    fn reads_sections_names_and_code_per_crate() {
        let bytes = module();
        let module = Module::parse(&bytes).expect("parses");
        let labels: Vec<String> = module.sections.iter().map(Module::label).collect();
        assert_eq!(
            labels,
            [
                "import",
                "code",
                "custom \"name\"",
                "custom \".debug_info\""
            ]
        );
        assert_eq!(module.debug_sections(), [".debug_info"]);
        let by_crate = module.code_by_crate().expect("code sizes");
        assert_eq!(by_crate, [("b".to_owned(), 5), ("a".to_owned(), 3)]);
        let stripped = module.without_custom_sections();
        let stripped = Module::parse(&stripped).expect("still a module");
        assert_eq!(stripped.sections.len(), 2);
        assert!(Module::parse(b"not wasm").is_err());
    }

    #[test]
    fn crates_from_demangled_and_mangled_names() {
        assert_eq!(
            crate_of("leptos_router::components::Router::h0"),
            "leptos_router"
        );
        assert_eq!(
            crate_of("<serde_json::Value as core::fmt::Debug>::fmt"),
            "serde_json"
        );
        assert_eq!(
            crate_of("_ZN13leptos_router10components17h0123456789abcdefE"),
            "leptos_router"
        );
        assert_eq!(
            crate_of(
                "_ZN58_$LT$alloc..string..String$u20$as$u20$core..fmt..Write$GT$9write_str17h0E"
            ),
            "alloc"
        );
        assert_eq!(
            crate_of("_ZN53_$LT$T$u20$as$u20$tachys..view..any_view..IntoAny$GT$8into_any17h0E"),
            "tachys"
        );
        assert_eq!(
            crate_of(
                "_RNvNtNtNtNtCsgXGp5Oqx2Ny_4core3num7flt2dec8strategy6dragon15format_shortest"
            ),
            "core"
        );
        assert_eq!(crate_of("memcpy"), "(other)");
    }
}

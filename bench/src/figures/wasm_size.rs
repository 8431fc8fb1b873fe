//! Figure 6: what the browser downloads: the wasm and JS in `site/pkg`, brotli-compressed at
//! quality 11 (what a server or CDN would precompress them with).

use std::io::Write;

use anyhow::{bail, Context};
use serde_json::json;

use crate::report::{Goal, Row};
use crate::server::BenchEnv;
use crate::sizes::Sizes;

const GOAL_BYTES: f64 = 250.0 * 1000.0;

pub async fn run(env: &BenchEnv, sizes: &Sizes) -> anyhow::Result<Vec<Row>> {
    let pkg = env.site.join("pkg");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&pkg).with_context(|| format!("reading {}", pkg.display()))? {
        let path = entry.context("listing pkg")?.path();
        let shipped = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("wasm" | "js")
        );
        if shipped && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    let mut notes = Vec::new();
    let mut details = Vec::new();
    let (mut raw_total, mut brotli_total) = (0u64, 0u64);
    for path in &files {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        // Compressing a few MB at quality 11 takes seconds; keep it off the async threads.
        let data = bytes.clone();
        let compressed = tokio::task::spawn_blocking(move || brotli_size(&data))
            .await
            .context("the compression task")??;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.ends_with(".wasm") {
            let debug = debug_sections(&bytes);
            if !debug.is_empty() {
                let message = format!(
                    "{name} carries debug sections ({}): it is a debug build, not what \
                     `cargo leptos build --release` ships",
                    debug.join(", ")
                );
                if !sizes.quick {
                    bail!("{message}; build the release site first");
                }
                notes.push(message);
            }
        }
        notes.push(format!(
            "{name}: {} → {} bytes brotli",
            bytes.len(),
            compressed
        ));
        details.push(json!({"file": name, "bytes": bytes.len(), "brotli": compressed}));
        raw_total += bytes.len() as u64;
        brotli_total += compressed;
    }
    if files.is_empty() {
        bail!("no .wasm or .js in {}", pkg.display());
    }
    let mut row = Row::new(
        "wasm + JS shipped to the browser, brotli",
        brotli_total as f64,
        format!(
            "{:.1} KB ({:.1} KB uncompressed)",
            brotli_total as f64 / 1000.0,
            raw_total as f64 / 1000.0
        ),
        Goal::at_most(GOAL_BYTES, "≤ 250 KB"),
    )
    .details(json!({"files": details, "bytes": raw_total, "brotli": brotli_total}));
    row.notes = notes;
    Ok(vec![row])
}

/// Size after brotli at quality 11 with a 4 MiB window (the usual settings for static files).
fn brotli_size(data: &[u8]) -> anyhow::Result<u64> {
    let mut out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 64 * 1024, 11, 22);
        writer.write_all(data).context("brotli")?;
        writer.flush().context("brotli")?;
    }
    Ok(out.len() as u64)
}

/// Names of `.debug_*` custom sections in a wasm module (present in debug builds only).
fn debug_sections(wasm: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    if wasm.get(..4) != Some(b"\0asm".as_slice()) {
        return names;
    }
    let mut at = 8;
    while at < wasm.len() {
        let id = wasm[at];
        at += 1;
        let Some((size, used)) = leb128(&wasm[at..]) else {
            break;
        };
        at += used;
        let end = at.saturating_add(size as usize).min(wasm.len());
        if id == 0 {
            if let Some((len, used)) = leb128(&wasm[at..end]) {
                let start = at + used;
                if let Some(name) = wasm.get(start..start + len as usize) {
                    let name = String::from_utf8_lossy(name);
                    if name.starts_with(".debug") {
                        names.push(name.into_owned());
                    }
                }
            }
        }
        at = end;
    }
    names
}

/// An unsigned LEB128 number and the bytes it took.
fn leb128(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_debug_sections_in_a_module() {
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        // custom section ".debug_info" with 2 bytes of payload
        let name = b".debug_info";
        wasm.push(0);
        wasm.push((1 + name.len() + 2) as u8);
        wasm.push(name.len() as u8);
        wasm.extend_from_slice(name);
        wasm.extend_from_slice(&[1, 2]);
        // a type section (id 1), empty
        wasm.extend_from_slice(&[1, 1, 0]);
        assert_eq!(debug_sections(&wasm), vec![".debug_info".to_owned()]);
        assert!(debug_sections(b"\0asm\x01\0\0\0").is_empty());
        assert!(debug_sections(b"not wasm").is_empty());
    }

    #[test]
    fn leb128_reads_multi_byte_numbers() {
        assert_eq!(leb128(&[0xe5, 0x8e, 0x26]), Some((624_485, 3)));
        assert_eq!(leb128(&[0x80]), None);
    }

    #[test]
    fn brotli_shrinks_repetitive_data() {
        let size = brotli_size(&vec![b'a'; 100_000]).ok();
        assert!(size.is_some_and(|s| s < 1_000), "{size:?}");
    }
}

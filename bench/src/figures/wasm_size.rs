//! Figure 6: what the browser downloads: the wasm and JS in `site/pkg`, brotli-compressed at
//! quality 11 (what a server or CDN would precompress them with). The notes say what the
//! wasm's bytes are, so a miss points at its cause.

use std::io::Write;

use anyhow::{bail, Context};
use serde_json::json;

use crate::report::{Goal, Row};
use crate::server::BenchEnv;
use crate::sizes::Sizes;
use crate::wasm::Module;

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
    if files.is_empty() {
        bail!("no .wasm or .js in {}", pkg.display());
    }
    files.sort();
    let mut notes = Vec::new();
    let mut details = Vec::new();
    let (mut raw_total, mut brotli_total) = (0u64, 0u64);
    for path in &files {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let compressed = brotli_size(bytes.clone()).await?;
        notes.push(format!(
            "{name}: {} → {} bytes brotli",
            bytes.len(),
            compressed
        ));
        details.push(json!({"file": name, "bytes": bytes.len(), "brotli": compressed}));
        raw_total += bytes.len() as u64;
        brotli_total += compressed;
        if name.ends_with(".wasm") {
            notes.extend(explain_wasm(&name, &bytes, sizes).await?);
        }
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

/// What the module's bytes are: sections, custom sections, code per crate, and the size it
/// would have without custom sections. A debug build is refused in a full run.
async fn explain_wasm(name: &str, bytes: &[u8], sizes: &Sizes) -> anyhow::Result<Vec<String>> {
    let module = Module::parse(bytes).with_context(|| format!("reading {name}"))?;
    let mut notes = Vec::new();
    // `cargo leptos build --release` runs `wasm-opt -Oz`, which drops debug info and the
    // `name` section; a module with either is a debug build (perhaps one run after the release
    // build, since both write the same site directory).
    let mut leftovers = module.debug_sections();
    if module
        .sections
        .iter()
        .any(|s| s.name.as_deref() == Some("name"))
    {
        leftovers.push("name".into());
    }
    if !leftovers.is_empty() {
        let message = format!(
            "{name} has custom sections wasm-opt would have dropped ({}): a debug build, not \
             what `cargo leptos build --release` ships",
            leftovers.join(", ")
        );
        if !sizes.quick {
            bail!("{message}; build the release site again right before the benchmark");
        }
        notes.push(message);
    }
    notes.push(sections_line(name, &module, 6));
    if !leftovers.is_empty() {
        let stripped = module.without_custom_sections();
        let stripped_len = stripped.len();
        let compressed = brotli_size(stripped).await?;
        notes.push(format!(
            "without its custom sections {name} would be {stripped_len} bytes, {compressed} brotli"
        ));
    }
    match crates_line(&module, 12)? {
        Some(line) => notes.push(line),
        None => notes.push(format!(
            "{name} has no function names (wasm-opt dropped them); for code by crate run \
             `fleet-bench --explain-wasm {FRONTEND_WASM}` (the same build before wasm-bindgen \
             and wasm-opt, with names)"
        )),
    }
    Ok(notes)
}

/// The frontend as cargo builds it for `cargo leptos build --release`, names included.
const FRONTEND_WASM: &str = "target/front/wasm32-unknown-unknown/wasm-release/frontend.wasm";

/// `--explain-wasm PATH`: the sections and code by crate of any wasm module, on stdout.
pub fn explain(path: &std::path::Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let module = Module::parse(&bytes).with_context(|| format!("reading {}", path.display()))?;
    println!(
        "{}",
        sections_line(&path.display().to_string(), &module, usize::MAX)
    );
    match crates_line(&module, 40)? {
        Some(line) => println!("{line}"),
        None => println!("no `name` section: no function names to attribute code to crates"),
    }
    Ok(())
}

/// `NAME sections, largest first: code 1200 KB, data 300 KB, ...`
fn sections_line(name: &str, module: &Module, top: usize) -> String {
    let mut sections: Vec<(String, usize)> = module
        .sections
        .iter()
        .map(|s| (Module::label(s), s.whole.len()))
        .collect();
    sections.sort_by_key(|s| std::cmp::Reverse(s.1));
    let listed: Vec<String> = sections
        .iter()
        .take(top)
        .map(|(label, size)| format!("{label} {:.0} KB", *size as f64 / 1000.0))
        .collect();
    format!("{name} sections, largest first: {}", listed.join(", "))
}

/// `code by crate ...: core 900 KB (20 %), ...`; `None` without function names.
fn crates_line(module: &Module, top: usize) -> anyhow::Result<Option<String>> {
    let by_crate = module.code_by_crate()?;
    if by_crate.is_empty() {
        return Ok(None);
    }
    let total: u64 = by_crate.iter().map(|(_, size)| size).sum();
    let listed: Vec<String> = by_crate
        .iter()
        .take(top)
        .map(|(krate, size)| {
            format!(
                "{krate} {:.0} KB ({:.0} %)",
                *size as f64 / 1000.0,
                100.0 * *size as f64 / total as f64
            )
        })
        .collect();
    Ok(Some(format!(
        "code by crate (from function names; generic code counts for the crate of the function, \
         not of its type parameters): {}",
        listed.join(", ")
    )))
}

/// Size after brotli at quality 11 with a 4 MiB window (the usual settings for static files).
/// Takes seconds for a few MB, so it runs off the async threads.
async fn brotli_size(data: Vec<u8>) -> anyhow::Result<u64> {
    tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        {
            let mut writer = brotli::CompressorWriter::new(&mut out, 64 * 1024, 11, 22);
            writer.write_all(&data).context("brotli")?;
            writer.flush().context("brotli")?;
        }
        Ok(out.len() as u64)
    })
    .await
    .context("the compression task")?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn brotli_shrinks_repetitive_data() {
        let size = brotli_size(vec![b'a'; 100_000]).await.ok();
        assert!(size.is_some_and(|s| s < 1_000), "{size:?}");
    }
}

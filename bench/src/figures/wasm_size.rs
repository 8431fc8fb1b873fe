//! Figure 6: what the browser downloads for the first page, as bytes on the wire: the server is
//! asked for every `/pkg` file the sign-in page links, with `Accept-Encoding: br, gzip`, as a
//! browser asks, and what comes back is counted (the server sends its precompressed copies;
//! see `server::assets`). Each file is also brotli-compressed here at quality 11, for the notes
//! and to check the server's copies against. Chunks that the split build
//! loads only when a lazy island (the admin pages) is first shown (see
//! `__wasm_split_manifest.json`) are reported on a row of their own. The notes say what the wasm's bytes are, so a miss points
//! at its cause.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{bail, Context};
use serde_json::json;

use crate::report::{Goal, Row};
use crate::server::BenchEnv;
use crate::sizes::Sizes;
use crate::wasm::Module;

const GOAL_BYTES: f64 = 250.0 * 1000.0;

/// Every `/pkg/…` file the page links, once each.
fn linked_assets(page: &str) -> Vec<String> {
    let mut assets: Vec<String> = page
        .match_indices("/pkg/")
        .filter_map(|(start, _)| {
            let rest = &page[start..];
            let end = rest.find(['"', '\'', ')', ' '])?;
            Some(rest[..end].to_owned())
        })
        .collect();
    assets.sort();
    assets.dedup();
    assets
}

/// Bytes on the wire for the first page: every linked `/pkg` file, asked for as a browser asks
/// (the client here decompresses nothing, so the body is what travelled). Waits for the
/// server's start-up compression, which runs in the background: until then the server
/// compresses on the fly at a lower quality, which is not what a browser gets afterwards.
async fn on_the_wire(env: &BenchEnv) -> anyhow::Result<(u64, Vec<String>)> {
    let fleet = env.start_fleet("wire", 30, 0).await?;
    let server = &fleet.server;
    let page = server
        .http
        .get(server.url("/sign-in"))
        .send()
        .await
        .context("the sign-in page")?
        .text()
        .await?;
    let assets = linked_assets(&page);
    if !assets.iter().any(|a| a.ends_with(".wasm")) {
        bail!("the sign-in page links no wasm: {assets:?}");
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let (mut total, mut notes) = (0u64, Vec::new());
    for asset in assets {
        let precompressed = env
            .site
            .join(format!("{}.br", asset.trim_start_matches('/')));
        while !precompressed.exists() && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        loop {
            let response = server
                .http
                .get(server.url(&asset))
                .header(reqwest::header::ACCEPT_ENCODING, "br, gzip")
                .send()
                .await
                .with_context(|| format!("GET {asset}"))?;
            let encoding = response
                .headers()
                .get(reqwest::header::CONTENT_ENCODING)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = response.bytes().await?;
            if encoding.is_none() && std::time::Instant::now() < deadline {
                // Not compressed yet: the server is still at it.
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                continue;
            }
            let encoding = encoding.unwrap_or_else(|| "none".into());
            notes.push(format!(
                "{asset}: {} bytes on the wire ({encoding})",
                body.len()
            ));
            total += body.len() as u64;
            break;
        }
    }
    Ok((total, notes))
}

pub async fn run(env: &BenchEnv, sizes: &Sizes) -> anyhow::Result<Vec<Row>> {
    let (wire_total, wire_notes) = on_the_wire(env).await?;
    let pkg = env.site.join("pkg");
    let split = SplitManifest::read(&pkg)?;
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
    let mut brotli_by_chunk = BTreeMap::new();
    let (mut raw_total, mut brotli_total) = (0u64, 0u64);
    for path in &files {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let compressed = brotli_size(bytes.clone()).await?;
        details.push(json!({"file": name, "bytes": bytes.len(), "brotli": compressed}));
        if let Some(chunk) = split.chunk_name(&name) {
            // Loaded by a lazy island when it is first shown, not by the first page.
            brotli_by_chunk.insert(chunk.to_owned(), compressed);
            continue;
        }
        notes.push(format!(
            "{name}: {} → {} bytes brotli",
            bytes.len(),
            compressed
        ));
        raw_total += bytes.len() as u64;
        brotli_total += compressed;
        if name.ends_with(".wasm") {
            notes.extend(explain_wasm(&name, &bytes, sizes).await?);
        }
    }
    let mut rows = vec![{
        let mut row = Row::new(
            "what the browser downloads for the first page (wasm, JS, CSS), bytes on the wire",
            wire_total as f64,
            format!(
                "{:.1} KB (wasm + JS {:.1} KB brotli here, {:.1} KB uncompressed)",
                wire_total as f64 / 1000.0,
                brotli_total as f64 / 1000.0,
                raw_total as f64 / 1000.0
            ),
            Goal::at_most(GOAL_BYTES, "≤ 250 KB"),
        )
        .details(
            json!({"files": details, "bytes": raw_total, "brotli": brotli_total,
                        "on_the_wire": wire_total}),
        );
        row.notes = wire_notes;
        row.notes.extend(notes);
        row
    }];
    if !split.pages.is_empty() {
        let mut extra: Vec<(String, u64)> = split
            .pages
            .iter()
            .map(|(page, chunks)| {
                let bytes = chunks
                    .iter()
                    .filter_map(|c| brotli_by_chunk.get(c))
                    .sum::<u64>();
                (page.clone(), bytes)
            })
            .collect();
        extra.sort_by_key(|(_, bytes)| std::cmp::Reverse(*bytes));
        let largest = extra.first().map_or(0, |(_, bytes)| *bytes);
        let all_chunks: u64 = brotli_by_chunk.values().sum();
        rows.push(
            Row::new(
                "wasm an admin page's island adds on its first visit (split out), brotli, largest",
                largest as f64,
                format!("{:.1} KB", largest as f64 / 1000.0),
                Goal::none(),
            )
            .note(format!(
                "per page: {}; all split code together {:.1} KB",
                extra
                    .iter()
                    .map(|(page, bytes)| format!("{page} {:.1} KB", *bytes as f64 / 1000.0))
                    .collect::<Vec<_>>()
                    .join(", "),
                all_chunks as f64 / 1000.0
            ))
            .details(json!({"pages": extra, "all_chunks_brotli": all_chunks})),
        );
    }
    Ok(rows)
}

/// `pkg/__wasm_split_manifest.json`, written by `cargo leptos build --split`: for each
/// split-out function (a lazy island's loader), the chunks the browser fetches to run it.
#[derive(Debug, Default)]
struct SplitManifest {
    /// A readable page name (from the split function's name) → its chunk names.
    pages: BTreeMap<String, Vec<String>>,
}

impl SplitManifest {
    fn read(pkg: &std::path::Path) -> anyhow::Result<Self> {
        // `__wasm_split_manifest.json`, or with hashed names `__wasm_split_manifest.<hash>.json`.
        let path = std::fs::read_dir(pkg)
            .with_context(|| format!("listing {}", pkg.display()))?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .find(|path| {
                path.file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| {
                        name.starts_with("__wasm_split_manifest.") && name.ends_with(".json")
                    })
            })
            .unwrap_or_else(|| pkg.join("__wasm_split_manifest.json"));
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let raw: BTreeMap<String, Vec<String>> =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        let pages = raw
            .into_iter()
            .map(|(function, chunks)| (page_name(&function), chunks))
            .collect();
        Ok(Self { pages })
    }

    /// `chunk_4.wasm` → `chunk_4` when the manifest names it.
    fn chunk_name<'a>(&self, file: &'a str) -> Option<&'a str> {
        let stem = file.strip_suffix(".wasm")?;
        self.pages
            .values()
            .any(|chunks| chunks.iter().any(|c| c == stem))
            .then_some(stem)
    }
}

/// A split function's readable name: a lazy island's loader (`users_admin_loader_4278…` →
/// `users admin`) or a lazy route's view (`__audit_route_view_5978…` → `audit`).
fn page_name(function: &str) -> String {
    let name = function.trim_start_matches('_');
    let end = ["_loader", "_route_view"]
        .iter()
        .filter_map(|marker| name.find(marker))
        .min()
        .unwrap_or(name.len());
    name[..end].replace('_', " ")
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

/// The main module of `cargo leptos build --release --split` before wasm-bindgen and wasm-opt,
/// names included (`frontend.wasm` beside it is the whole app before the split).
const FRONTEND_WASM: &str = "target/front/wasm32-unknown-unknown/wasm-release/frontend_split.wasm";

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

    #[test]
    fn split_chunks_are_named_after_their_page() {
        assert_eq!(
            page_name("users_admin_loader_427848783884875393"),
            "users admin"
        );
        assert_eq!(page_name("__audit_route_view_597839993756735091"), "audit");
        assert_eq!(page_name("__projects_route_view_1316"), "projects");
        let manifest = SplitManifest {
            pages: BTreeMap::from([("audit".into(), vec!["chunk_4".into(), "split_a".into()])]),
        };
        assert_eq!(manifest.chunk_name("chunk_4.wasm"), Some("chunk_4"));
        assert_eq!(manifest.chunk_name("picky-fleet.wasm"), None);
        assert_eq!(manifest.chunk_name("chunk_4.js"), None);
    }

    #[tokio::test]
    async fn brotli_shrinks_repetitive_data() {
        let size = brotli_size(vec![b'a'; 100_000]).await.ok();
        assert!(size.is_some_and(|s| s < 1_000), "{size:?}");
    }
}

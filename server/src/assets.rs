//! How the browser gets what it downloads: the wasm, JS and CSS under `/pkg`, compressed once
//! (brotli at its best quality, and gzip) into `.br` and `.gz` siblings that `ServeDir` sends
//! to browsers that accept them; everything rendered per request (pages, server functions,
//! the API's JSON) compressed on the way out. The event stream is left alone: its events must
//! leave at once, not wait in a compressor's buffer (tower-http's default predicate skips
//! `text/event-stream`).
//!
//! Caching: cargo-leptos puts each file's content hash in its name (`hash-files`), so a named
//! file never changes: `/pkg` files with a hash in their name are cached for a year,
//! `immutable` (a second visit downloads no wasm and asks nothing). Anything else under `/pkg`
//! (a build without hashes) is revalidated (`no-cache`, 304 from its modification time), and
//! pages are `no-cache`: they show live data for a signed-in user.

use std::{
    io::Write as _,
    path::{Path, PathBuf},
};

use axum::{extract::Request, http::header, middleware::Next, response::Response, Router};
use tower_http::{compression::CompressionLayer, services::ServeDir};

/// What is worth compressing: text and wasm (images and fonts are compressed already).
const COMPRESSIBLE: [&str; 5] = ["wasm", "js", "css", "json", "svg"];

/// Files up to this size get brotli's best (quality 11: seconds for a release wasm); bigger
/// ones, only debug builds' wasm, a quick quality 5, so a test run does not spend a minute
/// compressing what nobody downloads over a slow line.
const BEST_UP_TO: usize = 2 * 1024 * 1024;

/// Directories this process compressed already: every test app of a test binary starts a
/// server on the same site, and one compression is enough.
static STARTED: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Temporary names unique within the process (the process id tells processes apart).
static TEMPORARY: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// `/pkg`, served from `dir` with its precompressed siblings.
pub fn pkg_routes<S: Clone + Send + Sync + 'static>(dir: &Path) -> Router<S> {
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    Router::new().nest_service(
        "/pkg",
        tower::ServiceBuilder::new()
            .layer(axum::middleware::from_fn(cache_policy))
            .service(files),
    )
}

/// A year, `immutable`, for a file whose name holds its content's hash; revalidate otherwise.
async fn cache_policy(request: Request, next: Next) -> Response {
    let forever = is_content_addressed(request.uri().path());
    let mut response = next.run(request).await;
    let policy = if forever && response.status().is_success() {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static(policy),
    );
    response
}

/// Whether a file name carries a content hash as cargo-leptos writes it: a dot-separated part
/// of 22 URL-safe base64 characters (an MD5), as in `picky-fleet.Xk3…Q.wasm`, or a name that is
/// a hash of its own (the lazily loaded wasm chunks).
fn is_content_addressed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    name.split('.').any(|part| {
        part.len() == 22
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            // Not the unhashed placeholder (`______________________`) nor a plain word.
            && part.bytes().any(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    })
}

/// Compression for what is made per request.
pub fn compression() -> CompressionLayer {
    CompressionLayer::new()
}

/// Removes `.br` and `.gz` siblings older than their file (left by the previous build): run
/// before serving, or `ServeDir` would send the old build's wasm with the new build's JS until
/// [`precompress`] has caught up. Quick: it only compares times.
pub fn remove_stale(dir: &Path) -> std::io::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        // A copy half-written when a server stopped (one being written now is younger).
        if path.extension().is_some_and(|e| e == "tmp") {
            let old = std::fs::metadata(&path)?
                .modified()?
                .elapsed()
                .is_ok_and(|age| age > std::time::Duration::from_secs(600));
            if old {
                std::fs::remove_file(&path)?;
            }
            continue;
        }
        let Some(source) = ["br", "gz"].into_iter().find_map(|suffix| {
            let name = path.to_str()?.strip_suffix(&format!(".{suffix}"))?;
            Some(PathBuf::from(name))
        }) else {
            continue;
        };
        let (Ok(copy), Ok(original)) = (std::fs::metadata(&path), std::fs::metadata(&source))
        else {
            continue;
        };
        if copy.modified()? < original.modified()? {
            std::fs::remove_file(&path)?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Writes `name.br` and `name.gz` beside each compressible file of `dir` that lacks them or
/// is newer than them (a fresh build). Each is written to a temporary name and renamed, so a
/// browser, or a second server starting at once, never gets half a file. Returns how many
/// files were compressed.
pub fn precompress(dir: &Path) -> std::io::Result<usize> {
    {
        let mut started = STARTED.lock().unwrap_or_else(|p| p.into_inner());
        if started.iter().any(|d| d == dir) {
            return Ok(0);
        }
        started.push(dir.to_owned());
    }
    let mut done = 0;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let compressible = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| COMPRESSIBLE.contains(&e));
        if !compressible || !path.is_file() {
            continue;
        }
        let source = std::fs::read(&path)?;
        let modified = std::fs::metadata(&path)?.modified()?;
        let mut wrote = false;
        for (suffix, compress) in [
            ("br", brotli_bytes as fn(&[u8]) -> std::io::Result<Vec<u8>>),
            ("gz", gzip_bytes),
        ] {
            let target = sibling(&path, suffix);
            let fresh = std::fs::metadata(&target)
                .and_then(|m| m.modified())
                .is_ok_and(|t| t >= modified);
            if fresh {
                continue;
            }
            let n = TEMPORARY.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let temporary = sibling(&path, &format!("{suffix}.{}-{n}.tmp", std::process::id()));
            std::fs::write(&temporary, compress(&source)?)?;
            std::fs::rename(&temporary, &target)?;
            wrote = true;
        }
        done += usize::from(wrote);
    }
    Ok(done)
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

fn brotli_bytes(source: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let quality = if source.len() <= BEST_UP_TO { 11 } else { 5 };
        let mut writer = brotli::CompressorWriter::new(&mut out, 64 * 1024, quality, 22);
        writer.write_all(source)?;
    }
    Ok(out)
}

fn gzip_bytes(source: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(source)?;
    encoder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hashed_names_are_cached_for_good() {
        assert!(is_content_addressed(
            "/pkg/picky-fleet.Xk3dQ0vB1n2m3L4p5r6s7t.wasm"
        ));
        assert!(is_content_addressed(
            "/pkg/__wasm_split.aB-cD_eF0123456789abcd.js"
        ));
        assert!(!is_content_addressed("/pkg/picky-fleet.wasm"));
        assert!(!is_content_addressed("/pkg/picky-fleet.css"));
        assert!(!is_content_addressed(
            "/pkg/__wasm_split.______________________.js"
        ));
        assert!(!is_content_addressed("/pkg/a-name-that-is-long-enough.js"));
    }

    #[test]
    fn compressible_files_get_fresh_siblings_once() {
        let dir = tempfile::tempdir().expect("dir");
        let wasm = dir.path().join("app.wasm");
        std::fs::write(&wasm, vec![b'a'; 100_000]).expect("write");
        std::fs::write(dir.path().join("logo.png"), b"png").expect("write");
        assert_eq!(precompress(dir.path()).expect("compress"), 1);
        let br = std::fs::read(dir.path().join("app.wasm.br")).expect("br");
        let gz = std::fs::read(dir.path().join("app.wasm.gz")).expect("gz");
        assert!(
            br.len() < 1000 && gz.len() < 1000,
            "{} {}",
            br.len(),
            gz.len()
        );
        let mut decoded = Vec::new();
        brotli::BrotliDecompress(&mut br.as_slice(), &mut decoded).expect("brotli");
        assert_eq!(decoded.len(), 100_000);
        assert!(
            !dir.path().join("logo.png.br").exists(),
            "images are left alone"
        );
        assert_eq!(
            precompress(dir.path()).expect("again"),
            0,
            "once per process"
        );
        STARTED.lock().expect("lock").clear();
        assert_eq!(
            precompress(dir.path()).expect("again"),
            0,
            "fresh: nothing to do"
        );

        // A new build: the old copies go before anything is served, then new ones come.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&wasm, vec![b'b'; 1000]).expect("rebuild");
        assert_eq!(remove_stale(dir.path()).expect("stale"), 2);
        assert!(!dir.path().join("app.wasm.br").exists());
        STARTED.lock().expect("lock").clear();
        assert_eq!(precompress(dir.path()).expect("new"), 1);
    }
}

//! `pickyassist-sim`: serves the simulator until Ctrl-C.

use std::net::SocketAddr;
use std::process::ExitCode;

use chrono::FixedOffset;
use pickyassist_sim::{spawn, SimConfig, Simulator};

const USAGE: &str = "\
Usage: pickyassist-sim [OPTIONS]

A simulator of the PickyAssist device API (device-status, device-action) with a /_sim/ control API.

Options:
  --listen ADDR           address to listen on [default: 127.0.0.1:8910]
  --no-demo               start with no projects instead of the demo fleet
  --status-limit N|off    status checks per token per minute before requests are dropped [default: 3]
  --utc-offset +HH:MM     offset of the `time` field [default: +05:30]
  -h, --help              print this help
";

#[derive(Debug)]
struct Options {
    listen: SocketAddr,
    config: SimConfig,
}

/// `Ok(None)` means help was asked for.
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    let mut listen = SocketAddr::from(([127, 0, 0, 1], 8910));
    let mut config = SimConfig::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        // Both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg, None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--no-demo" => config.demo_fleet = false,
            "--listen" => {
                let raw = value("--listen")?;
                listen = raw.parse().map_err(|_| {
                    format!("--listen: {raw:?} is not an address like 127.0.0.1:8910")
                })?;
            }
            "--status-limit" => {
                let raw = value("--status-limit")?;
                config.status_limit_per_minute = match raw.as_str() {
                    "off" | "none" => None,
                    n => Some(n.parse().map_err(|_| {
                        format!("--status-limit: {raw:?} is neither a number nor \"off\"")
                    })?),
                };
            }
            "--utc-offset" => {
                let raw = value("--utc-offset")?;
                config.utc_offset = raw
                    .parse::<FixedOffset>()
                    .map_err(|_| format!("--utc-offset: {raw:?} is not an offset like +05:30"))?;
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Some(Options { listen, config }))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("pickyassist-sim: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };

    let sim = Simulator::new(options.config);
    let handle = match spawn(sim.clone(), options.listen).await {
        Ok(handle) => handle,
        Err(error) => {
            eprintln!(
                "pickyassist-sim: cannot listen on {}: {error}",
                options.listen
            );
            return ExitCode::FAILURE;
        }
    };
    println!("{}", handle.base_url);
    println!("control API: {}", handle.control_url);
    for project in sim.projects() {
        println!(
            "  project {} {:<24} {}",
            project.project_id,
            project.name.as_deref().unwrap_or("-"),
            project.state
        );
    }

    if let Err(error) = tokio::signal::ctrl_c().await {
        eprintln!("pickyassist-sim: cannot wait for Ctrl-C: {error}");
    }
    handle.shutdown().await;
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Options>, String> {
        parse_args(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn defaults_match_the_documented_ones() {
        let Ok(Some(options)) = parse(&[]) else {
            panic!("no arguments must parse")
        };
        assert_eq!(options.listen, SocketAddr::from(([127, 0, 0, 1], 8910)));
        assert_eq!(options.config.status_limit_per_minute, Some(3));
        assert!(options.config.demo_fleet);
    }

    #[test]
    fn every_option_is_understood() {
        let Ok(Some(options)) = parse(&[
            "--listen",
            "0.0.0.0:0",
            "--no-demo",
            "--status-limit=off",
            "--utc-offset",
            "-03:00",
        ]) else {
            panic!("valid arguments must parse")
        };
        assert_eq!(options.listen, SocketAddr::from(([0, 0, 0, 0], 0)));
        assert!(!options.config.demo_fleet);
        assert_eq!(options.config.status_limit_per_minute, None);
        assert_eq!(options.config.utc_offset.local_minus_utc(), -3 * 3600);
        let Ok(Some(options)) = parse(&["--status-limit", "10"]) else {
            panic!()
        };
        assert_eq!(options.config.status_limit_per_minute, Some(10));
    }

    #[test]
    fn bad_arguments_are_explained() {
        assert!(matches!(parse(&["--help"]), Ok(None)));
        for bad in [
            &["--listen"][..],
            &["--listen", "localhost"],
            &["--status-limit", "many"],
            &["--frobnicate"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}

//! The results: a Markdown table (figure, measured, goal, met?) with the machine it ran on,
//! and the same as JSON.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;
use serde_json::Value;

/// What a figure must reach.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    AtMost,
    AtLeast,
    Exactly,
    /// Reported beside a goal, not judged itself.
    None,
}

#[derive(Debug, Clone, Serialize)]
pub struct Goal {
    pub bound: Bound,
    pub limit: f64,
    pub text: String,
}

impl Goal {
    pub fn at_most(limit: f64, text: &str) -> Self {
        Self::new(Bound::AtMost, limit, text)
    }
    pub fn at_least(limit: f64, text: &str) -> Self {
        Self::new(Bound::AtLeast, limit, text)
    }
    pub fn exactly(limit: f64, text: &str) -> Self {
        Self::new(Bound::Exactly, limit, text)
    }
    pub fn none() -> Self {
        Self::new(Bound::None, 0.0, "(reported)")
    }
    fn new(bound: Bound, limit: f64, text: &str) -> Self {
        Self {
            bound,
            limit,
            text: text.to_owned(),
        }
    }

    fn met(&self, value: f64) -> Option<bool> {
        match self.bound {
            Bound::AtMost => Some(value <= self.limit),
            Bound::AtLeast => Some(value >= self.limit),
            Bound::Exactly => Some((value - self.limit).abs() < 1e-9),
            Bound::None => None,
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub figure: String,
    /// As shown, e.g. `1.18× (p50 1.42 ms ÷ 1.20 ms)`.
    pub measured: String,
    /// The number judged against the goal.
    pub value: f64,
    pub goal: String,
    pub bound: Goal,
    pub met: Option<bool>,
    /// What was measured on each side, and anything a reader needs to judge the number.
    pub notes: Vec<String>,
    pub details: Value,
}

impl Row {
    pub fn new(
        figure: impl Into<String>,
        value: f64,
        measured: impl Into<String>,
        goal: Goal,
    ) -> Self {
        Self {
            figure: figure.into(),
            measured: measured.into(),
            value,
            goal: goal.text.clone(),
            met: goal.met(value),
            bound: goal,
            notes: Vec::new(),
            details: Value::Null,
        }
    }

    pub fn note(mut self, text: impl Into<String>) -> Self {
        self.notes.push(text.into());
        self
    }

    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

#[derive(Debug, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub cpu: String,
    pub ram_gib: f64,
}

impl Machine {
    fn here() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|rest| rest.split_once(':'))
            .map(|(_, name)| name.trim().to_owned())
            .unwrap_or_else(|| "unknown".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let ram_kib: f64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0.0);
        Self {
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu,
            ram_gib: ram_kib / (1024.0 * 1024.0),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub quick: bool,
    pub date: String,
    pub command: String,
    pub commit: String,
    pub machine: Machine,
    pub seconds: f64,
    pub rows: Vec<Row>,
}

impl Report {
    pub fn new(quick: bool, command: String, root: &Path) -> Self {
        Self {
            quick,
            date: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            command,
            commit: commit(root),
            machine: Machine::here(),
            seconds: 0.0,
            rows: Vec::new(),
        }
    }

    pub fn markdown(&self) -> anyhow::Result<String> {
        let mut md = String::new();
        let mode = if self.quick {
            "quick (small sizes: checks the harness, not the goals)"
        } else {
            "full"
        };
        writeln!(md, "# picky-fleet benchmarks: {mode}")?;
        writeln!(md)?;
        writeln!(md, "- date: {}", self.date)?;
        writeln!(
            md,
            "- machine: {} cores, {}, {:.1} GiB RAM",
            self.machine.cores, self.machine.cpu, self.machine.ram_gib
        )?;
        writeln!(md, "- commit: {}", self.commit)?;
        writeln!(md, "- command: `{}`", self.command)?;
        writeln!(md, "- took: {:.0} s", self.seconds)?;
        writeln!(md)?;
        writeln!(
            md,
            "Every figure is a ratio of two things measured side by side in this run (except the \
             two sizes), so it means the same on a busy machine as on a quiet one."
        )?;
        writeln!(md)?;
        writeln!(md, "| figure | measured | goal | met? |")?;
        writeln!(md, "|---|---|---|---|")?;
        for row in &self.rows {
            let met = match row.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "",
            };
            writeln!(
                md,
                "| {} | {} | {} | {met} |",
                row.figure, row.measured, row.goal
            )?;
        }
        writeln!(md)?;
        writeln!(md, "## Notes")?;
        writeln!(md)?;
        for row in self.rows.iter().filter(|r| !r.notes.is_empty()) {
            writeln!(md, "- **{}**", row.figure)?;
            for note in &row.notes {
                writeln!(md, "  - {note}")?;
            }
        }
        Ok(md)
    }

    /// `{stem}.md` and `{stem}.json` in `dir`.
    pub fn write(&self, dir: &Path, stem: &str, markdown: &str) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let md = dir.join(format!("{stem}.md"));
        std::fs::write(&md, markdown).with_context(|| format!("writing {}", md.display()))?;
        let json = dir.join(format!("{stem}.json"));
        let text = serde_json::to_string_pretty(self).context("serialising the report")?;
        std::fs::write(&json, text + "\n")
            .with_context(|| format!("writing {}", json.display()))?;
        Ok(())
    }
}

/// The measured commit, marked when the work tree had changes.
fn commit(root: &Path) -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        Some(hash) => match git(&["status", "--porcelain", "--untracked-files=no"]) {
            Some(changes) if !changes.is_empty() => format!("{hash} + uncommitted changes"),
            _ => hash,
        },
        None => "unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goals_judge_their_bound() {
        assert_eq!(Goal::at_most(1.3, "").met(1.3), Some(true));
        assert_eq!(Goal::at_most(1.3, "").met(1.31), Some(false));
        assert_eq!(Goal::at_least(0.5, "").met(0.49), Some(false));
        assert_eq!(Goal::exactly(1.0, "").met(1.0), Some(true));
        assert_eq!(Goal::exactly(1.0, "").met(1.02), Some(false));
        assert_eq!(Goal::none().met(7.0), None);
    }
}

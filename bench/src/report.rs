//! How benchmark figures are printed: a readable table, or with `--json` one JSON
//! object per line and nothing else on stdout.

use std::io::Write;

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Figure {
    pub(crate) bench: &'static str,
    pub(crate) backend: String,
    pub(crate) case: String,
    pub(crate) metric: &'static str,
    pub(crate) value: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) baseline: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) baseline_value: Option<f64>,
}

pub(crate) struct Report {
    json: bool,
}

impl Report {
    pub(crate) fn new(json: bool) -> Self {
        Self { json }
    }

    /// Whether figures are printed as JSON (a child benchmark prints alike).
    pub(crate) fn json(&self) -> bool {
        self.json
    }

    /// Progress for a person watching; silent in JSON mode so stdout stays parseable.
    pub(crate) fn note(&self, text: &str) {
        if !self.json {
            eprintln!("{text}");
        }
    }

    pub(crate) fn print(&self, figure: &Figure) {
        // A closed stdout (`| head`) is not worth a panic: the figure is just not read.
        let mut out = std::io::stdout().lock();
        if self.json {
            let _ = writeln!(
                out,
                "{}",
                serde_json::to_string(figure).expect("figures serialize")
            );
            return;
        }
        let baseline = match (&figure.baseline, figure.baseline_value) {
            (Some(name), Some(v)) if v > 0.0 => {
                format!("   vs {name}: {v:.2} ({:.2}x)", figure.value / v)
            }
            (Some(name), Some(v)) => format!("   vs {name}: {v:.2}"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "{:<8} {:<9} {:<12} {:<14} {:>12.2}{baseline}",
            figure.bench, figure.backend, figure.case, figure.metric, figure.value
        );
    }
}

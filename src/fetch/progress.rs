//! Progress reporting: an indicatif bar on a terminal's stderr, log lines otherwise.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Debug, Clone, Copy)]
pub struct Progress {
    terminal: bool,
}

impl Progress {
    /// A bar when stderr is a terminal, log lines otherwise.
    pub fn auto() -> Self {
        Self {
            terminal: std::io::stderr().is_terminal(),
        }
    }

    /// Log lines only.
    pub fn quiet() -> Self {
        Self { terminal: false }
    }

    /// A byte-counting bar for a download of `total` bytes (unknown when `None`).
    pub fn bytes(&self, what: &str, total: Option<u64>) -> Task {
        tracing::info!("downloading {what}");
        let bar = if self.terminal {
            let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{msg} {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_message(what.to_owned());
            bar
        } else {
            ProgressBar::hidden()
        };
        Task { bar }
    }

    /// A spinner for a step whose length is unknown.
    pub fn step(&self, what: &str) -> Task {
        tracing::info!("{what}");
        let bar = if self.terminal {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_message(what.to_owned());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        } else {
            ProgressBar::hidden()
        };
        Task { bar }
    }
}

/// One step in progress; the bar is cleared when it is dropped.
pub struct Task {
    bar: ProgressBar,
}

impl Task {
    pub fn advance(&self, n: u64) {
        self.bar.inc(n);
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

//! Progress: a status line on stderr while it is a terminal, and `--status-json FILE` with the
//! same figures as NDJSON for programs.

use super::meta::Figures;
use crate::event::{Event, PortState};
use std::io::{self, Write};

pub struct Progress {
    terminal: bool,
    /// Open ports (and hosts up, in a sweep) printed on stderr as found.
    live: bool,
    json: Option<Box<dyn Write + Send>>,
    last_sent: u64,
    last_elapsed: f64,
    rate: f64,
    last_held: f64,
    /// The share of the last tick the engine was held back by the stages after it.
    held: f64,
    /// One-line notices go to stderr (not `-q`), and which was said already.
    notices: bool,
    paced_notice: bool,
}

impl Progress {
    pub fn new(terminal: bool, live: bool, json: Option<Box<dyn Write + Send>>) -> Progress {
        Progress {
            terminal,
            live,
            json,
            last_sent: 0,
            last_elapsed: 0.0,
            rate: 0.0,
            last_held: 0.0,
            held: 0.0,
            notices: false,
            paced_notice: false,
        }
    }

    /// Says the notices of a running scan on stderr (the adaptive rate's first cut).
    pub fn with_notices(mut self, on: bool) -> Progress {
        self.notices = on;
        self
    }

    pub fn tick(&mut self, f: &Figures) -> io::Result<()> {
        let dt = f.elapsed_s - self.last_elapsed;
        if dt > 0.0 {
            let now = (f.sent - self.last_sent.min(f.sent)) as f64 / dt;
            // Smooth over about a second of ticks so the figure is readable.
            self.rate = if self.rate == 0.0 {
                now
            } else {
                0.7 * self.rate + 0.3 * now
            };
            self.held = ((f.held_s - self.last_held) / dt).clamp(0.0, 1.0);
            self.last_held = f.held_s;
            self.last_sent = f.sent;
            self.last_elapsed = f.elapsed_s;
        }
        if self.notices
            && !self.paced_notice
            && let Some(n) = super::meta::pace_notice(f)
        {
            self.paced_notice = true;
            let clear = if self.terminal { "\r\x1b[2K" } else { "" };
            writeln!(io::stderr().lock(), "{clear}synsweep: {n}")?;
        }
        if self.terminal {
            let mut e = io::stderr().lock();
            write!(e, "\r\x1b[2K{}", line(f, self.rate, self.held))?;
            e.flush()?;
        }
        if let Some(j) = &mut self.json {
            let mut v = serde_json::to_value(f)?;
            v["type"] = "status".into();
            v["rate_pps"] = ((self.rate * 10.0).round() / 10.0).into();
            // Always present (0 when not held), unlike the cumulative `held_s`.
            v["held_pct"] = ((self.held * 1000.0).round() / 10.0).into();
            serde_json::to_writer(&mut *j, &v)?;
            j.write_all(b"\n")?;
            j.flush()?;
        }
        Ok(())
    }

    /// A result as it is found, as masscan says it, above the progress line (which the next
    /// tick draws again).
    pub fn found(&mut self, e: &Event, sweep: bool) -> io::Result<()> {
        if !self.live {
            return Ok(());
        }
        let line = match e {
            Event::Port(p) if p.state == PortState::Open => format!(
                "Discovered open port {}/{} on {}",
                p.port,
                p.proto.as_str(),
                p.ip
            ),
            Event::Host(h) if sweep => {
                format!("Discovered host {} up ({})", h.ip, h.reason.as_str())
            }
            _ => return Ok(()),
        };
        let mut err = io::stderr().lock();
        let clear = if self.terminal { "\r\x1b[2K" } else { "" };
        writeln!(err, "{clear}{line}")
    }

    /// Leaves the terminal line clean for what follows.
    pub fn clear(&mut self) {
        if self.terminal {
            eprint!("\r\x1b[2K");
        }
    }
}

/// `held`: the share of the last tick the engine was held back by the stages after it.
pub fn line(f: &Figures, rate: f64, held: f64) -> String {
    let pct = if f.total > 0 {
        100.0 * f.done as f64 / f.total as f64
    } else {
        100.0
    };
    let eta = if f.done > 0 && f.total > f.done {
        let secs = (f.total - f.done) as f64 * f.elapsed_s / f.done as f64;
        format!("{}:{:02}", secs as u64 / 60, secs as u64 % 60)
    } else {
        "-".into()
    };
    let mut l = format!(
        "sent {} ({pct:.1}% done) · {}/s · ETA {eta} · found {} open, {} hosts up · errors {}",
        si(f.sent as f64),
        si(rate),
        f.open,
        f.hosts_up,
        f.errors
    );
    if held >= 0.005 {
        l.push_str(&format!(" · held back by output {:.0}%", held * 100.0));
    }
    if f.answers_all_hosts > 0 {
        l.push_str(&format!(" · {} answer every port", f.answers_all_hosts));
    }
    if f.ring_drops > 0 {
        l.push_str(&format!(" · {} dropped in capture", f.ring_drops));
    }
    if f.pace_pps > 0 {
        l.push_str(&format!(
            " · pace {}/s, loss {:.1}%",
            si(f.pace_pps as f64),
            f.loss_ppm as f64 / 1e4
        ));
    }
    l
}

fn si(x: f64) -> String {
    match x {
        x if x >= 1e6 => format!("{:.2}M", x / 1e6),
        x if x >= 1e3 => format!("{:.1}k", x / 1e3),
        x => format!("{x:.0}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_shows_progress_rate_and_eta() {
        let f = Figures {
            elapsed_s: 10.0,
            total: 1000,
            sent: 260,
            done: 250,
            open: 3,
            ..Figures::default()
        };
        let l = line(&f, 25_000.0, 0.0);
        assert!(l.contains("25.0% done"), "{l}");
        assert!(l.contains("25.0k/s"), "{l}");
        assert!(l.contains("ETA 0:30"), "{l}");
        assert!(l.contains("found 3 open"), "{l}");
        assert!(!l.contains("held"), "{l}");
        let l = line(&f, 25_000.0, 0.37);
        assert!(l.ends_with("· held back by output 37%"), "{l}");
    }

    #[test]
    fn the_share_held_is_that_of_the_last_tick() {
        let mut p = Progress::new(false, false, None);
        let at = |elapsed_s: f64, held_s: f64| Figures {
            elapsed_s,
            held_s,
            ..Figures::default()
        };
        p.tick(&at(1.0, 0.0)).unwrap();
        p.tick(&at(1.25, 0.1)).unwrap();
        assert!((p.held - 0.4).abs() < 1e-9, "{}", p.held);
        p.tick(&at(1.5, 0.1)).unwrap();
        assert_eq!(p.held, 0.0);
    }
}

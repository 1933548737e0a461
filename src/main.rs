use anyhow::Context;
use std::io::Write;
use std::process::ExitCode;
use synsweep::cli::{self, first_line};
use synsweep::config::from_cli::Inputs;
use synsweep::drop::account;
use synsweep::link::route;
use synsweep::privilege::Privilege;
use synsweep::scan;
use synsweep::stop::StopSignal;

/// Exit codes: 0 complete, 1 failed while running, 2 bad input, 130 stopped (resume saved).
const EXIT_FAILED: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_STOPPED: u8 = 130;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = match cli::parse(args) {
        Ok(p) => p,
        Err(e) if !e.use_stderr() => {
            // --help and --version
            print_quietly(&e.to_string());
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("synsweep: error: {}", first_line(&e.to_string()));
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match run(parsed) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("synsweep: error: {e:#}");
            let code = e
                .downcast_ref::<synsweep::Error>()
                .map_or(EXIT_FAILED, synsweep::Error::exit_code);
            ExitCode::from(code)
        }
    }
}

/// Writes `text` to standard output. A reader that has gone (`synsweep --help | head -1`)
/// wanted no more: that is no error, and `print!` would panic on it.
fn print_quietly(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

fn run(parsed: cli::Parsed) -> anyhow::Result<ExitCode> {
    if let Some(what) = parsed.cli.generate {
        let text = synsweep::generate::render(what).context("--generate")?;
        print_quietly(&String::from_utf8_lossy(&text));
        return Ok(ExitCode::SUCCESS);
    }
    if parsed.cli.iflist {
        print!("{}", synsweep::link::iflist::render());
        return Ok(ExitCode::SUCCESS);
    }
    let privilege = Privilege::discover();
    let (config, saved) = scan::configure(&parsed, &Inputs::system())?;
    if parsed.cli.echo {
        print_quietly(&scan::echo::render(&config, privilege));
        return Ok(ExitCode::SUCCESS);
    }
    let user = match parsed.cli.user.as_deref() {
        Some(name) => Some(account::lookup(name).map_err(synsweep::Error::Refused)?),
        None => None,
    };
    let mut scan = scan::prepare(config, saved, privilege, &route::route)?;
    // Before any thread starts and any probe is sent: open the packet sockets, drop to the
    // user the scan runs as, and try its files as that user.
    scan::open_and_drop(&mut scan, user)?;
    let quiet = scan.config.output.quiet;
    let offline = scan.config.engine.backend == synsweep::link::Backend::Offline;
    if !quiet {
        for n in &scan.plan.notices {
            eprintln!("synsweep: {n}");
        }
    }
    let fin = scan::run(scan, StopSignal::default()).context("scan failed")?;
    let f = &fin.figures;
    if offline {
        // The benchmark's one line goes out even with -q: it is the result.
        eprintln!(
            "synsweep: offline: {} probes crafted in {:.3}s: {:.2} M probes/s on one sender thread (nothing sent)",
            f.sent,
            f.elapsed_s,
            f.sent as f64 / f.elapsed_s.max(1e-9) / 1e6
        );
    } else if fin.stdout_closed {
        // A reader that went away (`| head`) is no failure: the resume line below is all.
    } else if !quiet {
        eprintln!(
            "synsweep: {} in {:.2}s: {} probes; {} open, {} closed, {} filtered; {} hosts up; {} local errors retried",
            if fin.complete { "done" } else { "stopped" },
            f.elapsed_s,
            f.sent,
            f.open,
            f.closed,
            f.filtered,
            f.hosts_up,
            f.errors
        );
        for line in synsweep::output::meta::more_figures(f) {
            eprintln!("synsweep: {line}");
        }
    }
    if let Some(why) = &fin.failure {
        eprintln!("synsweep: error: {why}");
    }
    // The hand-off to nmap: a host it failed on is an error (the scan's results stand).
    let nmap = fin.nmap.clone().unwrap_or_default();
    for why in &nmap.failures {
        eprintln!("synsweep: error: {why}");
    }
    if let Some(n) = nmap.notice().filter(|_| !quiet) {
        eprintln!("synsweep: {n}");
    }
    if let Some(p) = fin.resume_saved {
        let why = if fin.stdout_closed {
            "standard output closed: scan stopped; "
        } else {
            ""
        };
        eprintln!(
            "synsweep: {why}resume point saved to {0}; continue with: synsweep --resume {0}",
            p.display()
        );
        let code = if fin.failure.is_some() {
            EXIT_FAILED
        } else {
            EXIT_STOPPED
        };
        return Ok(ExitCode::from(code));
    }
    if fin.failure.is_some() || !nmap.failures.is_empty() {
        return Ok(ExitCode::from(EXIT_FAILED));
    }
    // Stopped while nmap ran, or with nowhere to save a resume point (said before the scan).
    if nmap.stopped || !fin.complete {
        return Ok(ExitCode::from(EXIT_STOPPED));
    }
    Ok(ExitCode::SUCCESS)
}

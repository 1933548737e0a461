//! Signals become stop levels: the first Ctrl-C or SIGTERM a graceful stop, the second an abort.

use crate::stop::{StopLevel, StopSignal};

/// First Ctrl-C / SIGTERM: graceful stop. Second: abort.
pub async fn watch_signals(stop: StopSignal, quiet: bool, timeout: std::time::Duration) {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    loop {
        #[cfg(unix)]
        let terminated = async {
            match term.as_mut() {
                Some(t) => t.recv().await,
                None => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let terminated = std::future::pending::<Option<()>>();
        tokio::select! {
            r = tokio::signal::ctrl_c() => if r.is_err() { return },
            _ = terminated => {},
        }
        let level = stop.escalate();
        if !quiet {
            // The one message not routed through the output thread: it must show at once.
            match level {
                StopLevel::Graceful => eprintln!(
                    "\r\x1b[2Ksynsweep: stopping: no new probes; waiting up to {:.1}s for those in flight (Ctrl-C again to stop now)",
                    timeout.as_secs_f64()
                ),
                _ => eprintln!("\r\x1b[2Ksynsweep: stopping now"),
            }
        }
    }
}

/// Watches for signals on a runtime of its own for as long as the returned value lives: the
/// whole run, engine and post stages (the nmap hand-off runs after the engine's runtime ended).
pub fn watch(
    stop: StopSignal,
    quiet: bool,
    timeout: std::time::Duration,
) -> std::io::Result<tokio::runtime::Runtime> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("signals")
        .enable_all()
        .build()?;
    rt.spawn(watch_signals(stop, quiet, timeout));
    Ok(rt)
}

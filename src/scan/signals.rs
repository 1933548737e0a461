//! Signals become stop levels: the first SIGINT, SIGTERM, SIGHUP or SIGQUIT a graceful stop,
//! the second an abort — in every phase of a run (scanning, banners, names, the nmap
//! hand-off, writing), since the watcher lives on its own runtime for the whole run.
//!
//! - A signal ignored when synsweep starts (`nohup` ignores SIGHUP; a shell's `&` job may
//!   ignore SIGINT) stays ignored: no handler is installed for it.
//! - SIGQUIT would dump core and leave 0-byte documents: it stops like SIGTERM.
//! - SIGUSR1 (whose default is to terminate) is caught and ignored, so a stray `kill -USR1`
//!   leaves the scan running. (A handler, not SIG_IGN: handlers do not survive exec, so nmap
//!   starts with the default.)

use crate::stop::{StopLevel, StopSignal};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[cfg(unix)]
use tokio::signal::unix::{Signal, SignalKind, signal};

/// The signals that stop a scan.
#[cfg(unix)]
const STOPPING: [(libc::c_int, &str); 4] = [
    (libc::SIGINT, "SIGINT"),
    (libc::SIGTERM, "SIGTERM"),
    (libc::SIGHUP, "SIGHUP"),
    (libc::SIGQUIT, "SIGQUIT"),
];

/// Whether `sig` was ignored (SIG_IGN) when the process started.
#[cfg(unix)]
pub fn ignored_at_start(sig: libc::c_int) -> bool {
    // SAFETY: sigaction with a NULL new action only reads the current one into `old`.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
    }
}

/// What the watcher saw.
#[derive(Clone, Default)]
pub struct Signalled(Arc<AtomicBool>);

impl Signalled {
    /// A stopping signal arrived (the scan, however far it got, is not complete).
    pub fn any(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// The watcher: for as long as it lives, stopping signals escalate `stop`.
pub struct Watcher {
    _rt: tokio::runtime::Runtime,
    pub signalled: Signalled,
}

#[cfg(unix)]
async fn watch_signals(
    mut streams: Vec<(Signal, &'static str)>,
    mut usr1: Option<Signal>,
    stop: StopSignal,
    seen: Signalled,
    quiet: bool,
    timeout: std::time::Duration,
) {
    loop {
        let any = first_of(&mut streams);
        let usr = async {
            match usr1.as_mut() {
                Some(s) => s.recv().await,
                None => std::future::pending().await,
            }
        };
        let name = tokio::select! {
            n = any => n,
            _ = usr => continue,
        };
        seen.0.store(true, Ordering::SeqCst);
        let level = stop.escalate();
        if !quiet {
            // The one message not routed through the output thread: it must show at once.
            match level {
                StopLevel::Graceful => eprintln!(
                    "\r\x1b[2Ksynsweep: {name}: stopping: no new probes; waiting up to {:.1}s for those in flight (again to stop now)",
                    timeout.as_secs_f64()
                ),
                _ => eprintln!("\r\x1b[2Ksynsweep: {name}: stopping now"),
            }
        }
    }
}

/// The first of the streams to deliver: its signal's name.
#[cfg(unix)]
async fn first_of(streams: &mut [(Signal, &'static str)]) -> &'static str {
    std::future::poll_fn(|cx| {
        for (s, name) in streams.iter_mut() {
            if let std::task::Poll::Ready(Some(())) = s.poll_recv(cx) {
                return std::task::Poll::Ready(*name);
            }
        }
        std::task::Poll::Pending
    })
    .await
}

/// Watches for signals on a runtime of its own for as long as the returned value lives: the
/// whole run, engine and post stages (the nmap hand-off runs after the engine's runtime ended).
pub fn watch(
    stop: StopSignal,
    quiet: bool,
    timeout: std::time::Duration,
) -> std::io::Result<Watcher> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("signals")
        .enable_all()
        .build()?;
    let seen = Signalled::default();
    #[cfg(unix)]
    {
        // Handlers are installed here, on the caller's thread, before the first probe: a
        // signal after this returns is never the default action.
        let _guard = rt.enter();
        let mut streams = Vec::new();
        for (sig, name) in STOPPING {
            if !ignored_at_start(sig) {
                streams.push((signal(SignalKind::from_raw(sig))?, name));
            }
        }
        let usr1 = (!ignored_at_start(libc::SIGUSR1))
            .then(|| signal(SignalKind::user_defined1()))
            .transpose()?;
        rt.spawn(watch_signals(
            streams,
            usr1,
            stop,
            seen.clone(),
            quiet,
            timeout,
        ));
    }
    #[cfg(not(unix))]
    rt.spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            stop.escalate();
        }
    });
    Ok(Watcher {
        _rt: rt,
        signalled: seen,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ignored_signal_is_seen_as_ignored() {
        // SIGWINCH is nobody's business in the test process; its disposition is restored.
        // SAFETY: plain signal(2) calls with constant arguments.
        unsafe {
            let before = libc::signal(libc::SIGWINCH, libc::SIG_IGN);
            assert!(ignored_at_start(libc::SIGWINCH));
            libc::signal(libc::SIGWINCH, libc::SIG_DFL);
            assert!(!ignored_at_start(libc::SIGWINCH));
            libc::signal(libc::SIGWINCH, before);
        }
    }
}

//! The open-file limit bounds how many connect attempts can be in flight.

/// Raises the soft RLIMIT_NOFILE to the hard limit and returns the soft limit now in force.
pub fn raise_nofile_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 1024;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
    }
    #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 on every platform
    let soft = lim.rlim_cur as u64;
    soft
}

/// Attempts in flight by default: leave room for the process's own files, and stay at a
/// window that one core of tokio turns over without starving timers.
pub fn default_inflight(nofile: u64) -> usize {
    nofile.saturating_sub(128).clamp(16, 4096) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_fits_the_limit() {
        assert_eq!(default_inflight(256), 128);
        assert_eq!(default_inflight(1 << 20), 4096);
        assert_eq!(default_inflight(10), 16);
        assert!(raise_nofile_limit() >= 16);
    }
}

//! The monitor on made-up time: windows close, canaries are drawn, answered or given up on,
//! and verdicts reach the senders.

use super::control::Verdict;
use super::*;

const MS: Duration = Duration::from_millis(1);

fn monitor() -> PathMonitor {
    PathMonitor::new(
        PathOptions {
            ceiling: 100_000,
            floor: 100,
            timeout: Duration::from_secs(1),
            retries: 0,
        },
        Duration::ZERO,
    )
}

/// Sends `canaries` canaries in window time `[t, t + 10 ms)` at 100k/s, answering those
/// `answer` says, each after 1 ms; ticks through; returns the window's number.
fn window(m: &PathMonitor, t: Duration, canaries: u64, answer: impl Fn(u64) -> bool) -> u32 {
    let w = m.window();
    for i in 0..canaries {
        m.offer(1000 * u64::from(w) + i);
    }
    let drawn: Vec<u64> = (0..canaries).filter_map(|_| m.draw_canary(t)).collect();
    assert_eq!(drawn.len() as u64, canaries);
    m.record_sent(w, 1000);
    for (k, j) in drawn.iter().enumerate() {
        if answer(k as u64) {
            assert!(m.canary_answered(*j, t + MS));
        }
    }
    m.tick(t + 10 * MS, 0);
    w
}

#[test]
fn a_window_with_lost_canaries_is_lossy_once_their_wait_is_over() {
    let m = monitor();
    let w = window(&m, Duration::ZERO, 60, |k| k % 2 == 0);
    assert_ne!(m.window(), w, "the window closed");
    assert_eq!(m.verdict(w), Verdict::Pending, "canaries still waited for");
    m.tick(30 * MS, 0);
    assert_eq!(m.verdict(w), Verdict::Lossy);
    // Half of 100k/s went through.
    assert!((45_000..=50_000).contains(&m.rate()), "{}", m.rate());
    assert_eq!(m.figures().cuts, 1);
}

#[test]
fn answered_canaries_make_a_clean_window_and_our_drops_make_it_ours() {
    let m = monitor();
    let w = window(&m, Duration::ZERO, 60, |_| true);
    m.tick(40 * MS, 0);
    assert_eq!(m.verdict(w), Verdict::Clean);
    let w2 = window(&m, 40 * MS, 60, |_| true);
    m.tick(100 * MS, 7);
    assert_eq!(m.verdict(w2), Verdict::Ours);
    assert_eq!(m.rate(), 100_000);
}

#[test]
fn a_window_stays_open_for_canaries_and_without_them_is_unknown() {
    let m = monitor();
    m.tick(10 * MS, 0);
    assert_eq!(m.window(), 0, "no canary yet: the window waits for some");
    m.tick(MAX_WINDOW, 0);
    assert_eq!(m.window(), 1);
    m.tick(MAX_WINDOW + FIRST_CANARY_WAIT, 0);
    assert_eq!(
        m.verdict(0),
        Verdict::Pending,
        "the scan's first: waits for a measure"
    );
    m.tick(MAX_WINDOW + Duration::from_secs(1), 0);
    assert_eq!(
        m.verdict(0),
        Verdict::Unknown,
        "nothing measured within --timeout"
    );
}

#[test]
fn the_first_windows_take_the_first_measured_verdict() {
    let m = monitor();
    m.tick(MAX_WINDOW, 0); // window 0 closes with no canary
    let t = MAX_WINDOW + FIRST_CANARY_WAIT;
    m.tick(t, 0);
    assert_eq!(m.verdict(0), Verdict::Pending);
    let w = window(&m, t, 60, |k| k % 3 == 0);
    m.tick(t + 100 * MS, 0);
    assert_eq!(m.verdict(w), Verdict::Lossy);
    assert_eq!(
        m.verdict(0),
        Verdict::Lossy,
        "sent at the same ceiling, as lossy"
    );
}

#[test]
fn a_canary_that_cannot_be_sent_is_not_waited_for() {
    let m = monitor();
    for i in 0..20 {
        m.offer(i);
    }
    let drawn: Vec<u64> = (0..20)
        .filter_map(|_| m.draw_canary(Duration::ZERO))
        .collect();
    for &j in &drawn {
        m.cancel_canary(j);
    }
    assert!(!m.canary_answered(drawn[0], MS), "no longer a canary");
    m.tick(MAX_WINDOW, 0);
    m.tick(MAX_WINDOW + Duration::from_secs(1), 0);
    assert_eq!(m.verdict(0), Verdict::Unknown, "no canary counted");
}

#[test]
fn verdicts_too_old_to_remember_are_unknown() {
    let m = monitor();
    m.window.store(RING as u32 + 5, Relaxed);
    assert_eq!(m.verdict(2), Verdict::Unknown);
    assert_eq!(m.verdict(RING as u32 + 5), Verdict::Pending);
}

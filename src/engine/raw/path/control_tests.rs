//! The controller on made-up windows: every decision, without a clock or a network.

use super::*;

/// A window at `rate` through a policer at `cap` with `base` loss besides, `n` canaries.
fn window(rate: f64, cap: f64, base: f64, n: u32) -> WindowStats {
    let through = (cap / rate).min(1.0) * (1.0 - base);
    WindowStats {
        sent_rate: rate,
        allowed_rate: rate,
        canaries: n,
        lost: (f64::from(n) * (1.0 - through)).round() as u32,
        ring_drops: false,
    }
}

#[test]
fn a_policer_sets_the_rate_in_one_window_just_under_what_it_carries() {
    let mut c = Controller::new(1_000_000, 100, 0.0);
    assert_eq!(c.rate(), 1_000_000);
    assert_eq!(
        c.observe(&window(300_000.0, 50_000.0, 0.0, 400)),
        Verdict::Lossy
    );
    let r = c.rate() as f64;
    assert!((0.93 * 50_000.0..50_000.0).contains(&r), "{r}");
    // With retries, a slight overshoot costs attempts, not a second walk.
    let mut c = Controller::new(1_000_000, 100, WALK_AGAIN_ABOVE);
    assert_eq!(
        c.observe(&window(300_000.0, 50_000.0, 0.0, 400)),
        Verdict::Lossy
    );
    assert_eq!(
        c.observe(&window(55_000.0, 50_000.0, 0.0, 400)),
        Verdict::Over
    );
    assert!(!Verdict::Over.walk_again());
    assert_eq!(c.carried().map(|x| x / 1000), Some(50));
}

#[test]
fn it_cruises_then_probes_to_the_edge_and_past_it_in_doubling_steps() {
    let mut c = Controller::new(1_000_000, 100, 0.0);
    assert_eq!(
        c.observe(&window(60_000.0, 50_000.0, 0.0, 400)),
        Verdict::Lossy
    );
    let cut = c.rate();
    let edge = c.carried().unwrap() as f64 * (1.0 + FIRST_STEP);
    for _ in 0..HOLD_AFTER_CUT {
        c.observe(&window(cut as f64, 1e9, 0.0, 400));
        assert_eq!(c.rate(), cut, "cruising");
    }
    // The path's capacity came back: +5 %, then a step capped at the edge (5 % over what
    // the path carried), held there…
    c.observe(&window(c.rate() as f64, 1e9, 0.0, 400));
    assert!(((c.rate() as f64 / cut as f64) - 1.05).abs() < 1e-3);
    for _ in 0..=HOLD_BETWEEN_PROBES {
        c.observe(&window(c.rate() as f64, 1e9, 0.0, 400));
    }
    assert!(
        (c.rate() as f64 - edge).abs() < 2.0,
        "{} at the edge {edge}",
        c.rate()
    );
    for _ in 0..HOLD_AT_EDGE {
        c.observe(&window(c.rate() as f64, 1e9, 0.0, 400));
        assert!((c.rate() as f64 - edge).abs() < 2.0, "held at the edge");
    }
    // …and once a full window there came back clean, the steps grow again: +5 %, +10 %, …
    let mut rate = c.rate();
    for step in [0.05, 0.1, 0.2, 0.4] {
        c.observe(&window(c.rate() as f64, 1e9, 0.0, 400));
        let grew = c.rate() as f64 / rate as f64;
        assert!((grew - (1.0 + step)).abs() < 1e-3, "{step}: {grew}");
        rate = c.rate();
        for _ in 0..HOLD_BETWEEN_PROBES {
            c.observe(&window(c.rate() as f64, 1e9, 0.0, 400));
        }
    }
    assert!(c.rate() > 2 * cut, "{}", c.rate());
}

#[test]
fn loss_that_does_not_depend_on_the_rate_is_the_baseline_not_congestion() {
    let mut c = Controller::new(200_000, 100, 0.0);
    // 1 % loss at any rate, as noisy samples of 200 canaries: 0 to 4 lost.
    let mut cuts = 0;
    for i in 0..200u32 {
        let lost = [2, 0, 1, 4, 2, 3, 1, 2][(i % 8) as usize];
        let w = WindowStats {
            sent_rate: c.rate() as f64,
            allowed_rate: c.rate() as f64,
            canaries: 200,
            lost,
            ring_drops: false,
        };
        if c.observe(&w) == Verdict::Lossy {
            cuts += 1;
        }
    }
    assert_eq!(cuts, 0);
    assert_eq!(c.rate(), 200_000);
}

#[test]
fn a_rough_cut_is_probed_from_sooner() {
    let mut c = Controller::new(1_000_000, 100, 0.0);
    c.observe(&window(300_000.0, 50_000.0, 0.0, 400));
    let cut = c.rate();
    for _ in 0..HOLD_AFTER_ROUGH_CUT {
        c.observe(&window(cut as f64, 1e9, 0.0, 400));
    }
    assert_eq!(c.rate(), cut);
    c.observe(&window(cut as f64, 1e9, 0.0, 400));
    assert!(c.rate() > cut);
}

#[test]
fn loss_there_from_the_start_is_learned_when_cutting_does_not_lower_it() {
    let mut c = Controller::new(100_000, 100, 0.0);
    let mut verdicts = vec![];
    for _ in 0..6 {
        let rate = c.rate() as f64;
        verdicts.push(c.observe(&window(rate, 1e9, 0.06, 1000)));
    }
    // Cut, cut, and the loss stayed: it is the baseline, the rate comes back.
    assert_eq!(
        &verdicts[..3],
        &[Verdict::Lossy, Verdict::Lossy, Verdict::Clean]
    );
    assert!(
        verdicts[3..].iter().all(|&v| v == Verdict::Clean),
        "{verdicts:?}"
    );
    assert_eq!(c.rate(), 100_000);
    assert!((0.05..0.07).contains(&c.baseline()));
}

#[test]
fn a_rate_dependent_loss_above_a_baseline_is_seen_and_the_cut_allows_for_the_baseline() {
    let mut c = Controller::new(1_000_000, 100, 0.0);
    for _ in 0..4 {
        let rate = c.rate() as f64;
        c.observe(&window(rate, 1e9, 0.05, 1000));
    }
    assert_eq!(c.rate(), 1_000_000, "the 5 % was learned");
    assert_eq!(
        c.observe(&window(100_000.0, 40_000.0, 0.05, 1000)),
        Verdict::Lossy
    );
    // Not 40 000 × 0.95 (the 5 % baseline is not the policer's): about 40 000.
    let carried = c.carried().unwrap() as f64;
    assert!((38_000.0..42_000.0).contains(&carried), "{carried}");
}

#[test]
fn our_own_drops_and_thin_samples_move_nothing() {
    let mut c = Controller::new(100_000, 100, 0.0);
    let mut w = window(100_000.0, 10_000.0, 0.0, 400);
    w.ring_drops = true;
    assert_eq!(c.observe(&w), Verdict::Ours);
    assert_eq!(
        c.observe(&window(100_000.0, 10_000.0, 0.0, MIN_JUDGED - 1)),
        Verdict::Unknown
    );
    assert_eq!(c.rate(), 100_000);
    assert!(Verdict::Ours.walk_again() && !Verdict::Unknown.walk_again());
}

#[test]
fn a_sender_held_below_its_rate_does_not_probe_upward_and_the_floor_holds() {
    let mut c = Controller::new(1_000_000, 5_000, 0.0);
    c.observe(&window(100_000.0, 1_000.0, 0.0, 400));
    assert_eq!(c.rate(), 12_500, "an eighth at most at once");
    c.observe(&window(12_500.0, 1_000.0, 0.0, 400));
    assert_eq!(c.rate(), 5_000, "never under --min-rate");
    assert_eq!(
        c.observe(&window(5_000.0, 1_000.0, 0.0, 400)),
        Verdict::Over,
        "at the floor, walking again would meet the same loss"
    );
    let held = WindowStats {
        sent_rate: 1_000.0,
        allowed_rate: 5_000.0,
        canaries: 100,
        lost: 0,
        ring_drops: false,
    };
    for _ in 0..50 {
        c.observe(&held);
    }
    assert_eq!(c.rate(), 5_000);
}

#[test]
fn verdicts_survive_their_byte_form() {
    for v in [
        Verdict::Pending,
        Verdict::Clean,
        Verdict::Lossy,
        Verdict::Ours,
        Verdict::Unknown,
        Verdict::Over,
    ] {
        assert_eq!(Verdict::from_u8(v as u8), v);
    }
}

//! Timing templates, nmap's `-T0`…`-T5` in spirit: each sets the rate, the timeout and the
//! retries together; an option given beside a template wins over it.

use super::{RateMode, Timing};
use std::time::Duration;

/// (rate, timeout, retries) of template `t`; rate `None` keeps the engine's default (raw
/// 20,000/s, connect as fast as its window allows).
pub fn template(t: u8) -> (Option<u64>, Duration, u32) {
    let ms = Duration::from_millis;
    match t {
        // paranoid and sneaky: one probe a second or ten; patient waits
        0 => (Some(1), ms(5000), 3),
        1 => (Some(10), ms(3000), 3),
        // polite
        2 => (Some(100), ms(2000), 2),
        // normal: the defaults
        3 => (None, ms(1000), 1),
        // aggressive, for fast reliable networks (nmap's -T4 waits at most 1.25 s, retries 6;
        // synsweep's retries only ever re-probe the silent)
        4 => (Some(100_000), ms(500), 1),
        // insane
        _ => (Some(1_000_000), ms(250), 1),
    }
}

/// What a command line asks of the timing; `None`: not given.
#[derive(Debug, Clone, Copy, Default)]
pub struct Asked {
    pub template: Option<u8>,
    pub rate: Option<u64>,
    pub min_rate: Option<u64>,
    pub timeout: Option<Duration>,
    pub retries: Option<u32>,
    pub wait: Option<Duration>,
    pub mode: RateMode,
    pub max_host_rate: Option<u64>,
}

/// The timing a command line asks for: the template's values (`-T3` without one), each
/// replaced by the option given for it, and the rate raised to `min_rate`.
pub fn resolve(a: Asked) -> Result<Timing, String> {
    let (t_rate, t_timeout, t_retries) = template(a.template.unwrap_or(3));
    let mut rate = a.rate.or(t_rate);
    if let Some(floor) = a.min_rate {
        match rate {
            Some(r) if r < floor => {
                return Err(format!(
                    "--min-rate {floor} is above the rate's ceiling {r} (--rate / --max-rate / -T)"
                ));
            }
            // The raw engine's default rate is no ceiling the user chose: in fixed mode the
            // floor lifts it; adaptive, the engine's ceiling is the default or the floor,
            // whichever is higher (`scan::engine`), and the rate moves above the floor.
            None if a.mode == RateMode::Fixed => rate = Some(floor),
            _ => {}
        }
    }
    Ok(Timing {
        rate,
        min_rate: a.min_rate,
        mode: a.mode,
        max_host_rate: a.max_host_rate,
        timeout: a.timeout.unwrap_or(t_timeout),
        retries: a.retries.unwrap_or(t_retries),
        wait: a.wait,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(template: Option<u8>, rate: Option<u64>, min_rate: Option<u64>) -> Asked {
        Asked {
            template,
            rate,
            min_rate,
            ..Asked::default()
        }
    }

    #[test]
    fn templates_set_all_three_and_given_options_win() {
        let t4 = resolve(asked(Some(4), None, None)).unwrap();
        assert_eq!(
            (t4.rate, t4.timeout, t4.retries),
            (Some(100_000), Duration::from_millis(500), 1)
        );
        let mine = resolve(Asked {
            timeout: Some(Duration::from_secs(2)),
            retries: Some(0),
            ..asked(Some(4), Some(5000), None)
        })
        .unwrap();
        assert_eq!(
            (mine.rate, mine.timeout, mine.retries),
            (Some(5000), Duration::from_secs(2), 0)
        );
        let plain = resolve(Asked::default()).unwrap();
        assert_eq!(
            (plain.rate, plain.timeout, plain.retries),
            (None, Duration::from_secs(1), 1)
        );
        assert_eq!(plain.mode, RateMode::Adaptive, "adaptive unless asked");
        // Each template is slower than the next.
        for t in 0..5 {
            let (a, b) = (template(t), template(t + 1));
            assert!(a.1 >= b.1, "-T{t} waits less than -T{}", t + 1);
        }
    }

    #[test]
    fn min_rate_is_a_floor_under_the_ceiling_and_is_kept() {
        // Adaptive: the floor is kept, and the engine's own ceiling is at least that.
        let adaptive = resolve(asked(None, None, Some(50_000))).unwrap();
        assert_eq!((adaptive.rate, adaptive.min_rate), (None, Some(50_000)));
        // Fixed: the floor lifts the default rate to it, as nmap's --min-rate does.
        let fixed = resolve(Asked {
            mode: RateMode::Fixed,
            ..asked(None, None, Some(50_000))
        })
        .unwrap();
        assert_eq!((fixed.rate, fixed.min_rate), (Some(50_000), Some(50_000)));
        let under = resolve(asked(None, Some(90_000), Some(50_000))).unwrap();
        assert_eq!((under.rate, under.min_rate), (Some(90_000), Some(50_000)));
        let e = resolve(asked(Some(2), None, Some(1000))).unwrap_err();
        assert!(e.contains("--min-rate 1000") && e.contains("100"), "{e}");
    }

    /// Resume files saved before the rate options still load: adaptive, no floor, no
    /// per-host rate.
    #[test]
    fn timings_saved_before_the_rate_options_still_load() {
        let t = resolve(Asked {
            min_rate: Some(5),
            mode: RateMode::Fixed,
            max_host_rate: Some(7),
            ..Asked::default()
        })
        .unwrap();
        let mut json = serde_json::to_value(t).unwrap();
        let fields = json.as_object_mut().unwrap();
        for key in ["min_rate", "mode", "max_host_rate"] {
            assert!(fields.remove(key).is_some(), "{key} is saved");
        }
        let old: Timing = serde_json::from_value(json).unwrap();
        assert_eq!(
            (old.min_rate, old.mode, old.max_host_rate),
            (None, RateMode::Adaptive, None)
        );
        assert_eq!((old.rate, old.timeout), (t.rate, t.timeout));
    }
}

//! Timing templates, nmap's `-T0`…`-T5` in spirit: each sets the rate, the timeout and the
//! retries together; an option given beside a template wins over it.

use super::Timing;
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

/// The timing a command line asks for: the template's values (`-T3` without one), each
/// replaced by the option given for it, and the rate raised to `min_rate`.
pub fn resolve(
    template_index: Option<u8>,
    rate: Option<u64>,
    min_rate: Option<u64>,
    timeout: Option<Duration>,
    retries: Option<u32>,
    wait: Option<Duration>,
) -> Result<Timing, String> {
    let (t_rate, t_timeout, t_retries) = template(template_index.unwrap_or(3));
    let mut rate = rate.or(t_rate);
    if let Some(floor) = min_rate {
        match rate {
            Some(r) if r < floor => {
                return Err(format!(
                    "--min-rate {floor} is above the rate's ceiling {r} (--rate / --max-rate / -T)"
                ));
            }
            // The raw engine's default rate is no ceiling the user chose: the floor lifts it.
            None => rate = Some(floor),
            Some(_) => {}
        }
    }
    Ok(Timing {
        rate,
        timeout: timeout.unwrap_or(t_timeout),
        retries: retries.unwrap_or(t_retries),
        wait,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_set_all_three_and_given_options_win() {
        let t4 = resolve(Some(4), None, None, None, None, None).unwrap();
        assert_eq!(
            (t4.rate, t4.timeout, t4.retries),
            (Some(100_000), Duration::from_millis(500), 1)
        );
        let mine = resolve(
            Some(4),
            Some(5000),
            None,
            Some(Duration::from_secs(2)),
            Some(0),
            None,
        )
        .unwrap();
        assert_eq!(
            (mine.rate, mine.timeout, mine.retries),
            (Some(5000), Duration::from_secs(2), 0)
        );
        let plain = resolve(None, None, None, None, None, None).unwrap();
        assert_eq!(
            (plain.rate, plain.timeout, plain.retries),
            (None, Duration::from_secs(1), 1)
        );
        // Each template is slower than the next.
        for t in 0..5 {
            let (a, b) = (template(t), template(t + 1));
            assert!(a.1 >= b.1, "-T{t} waits less than -T{}", t + 1);
        }
    }

    #[test]
    fn min_rate_is_a_floor_under_the_ceiling() {
        assert_eq!(
            resolve(None, None, Some(50_000), None, None, None)
                .unwrap()
                .rate,
            Some(50_000)
        );
        assert_eq!(
            resolve(None, Some(90_000), Some(50_000), None, None, None)
                .unwrap()
                .rate,
            Some(90_000)
        );
        let e = resolve(Some(2), None, Some(1000), None, None, None).unwrap_err();
        assert!(e.contains("--min-rate 1000") && e.contains("100"), "{e}");
    }
}

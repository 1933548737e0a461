//! Is a window's loss more than the baseline's noise? Its canaries are few (dozens), so the
//! question is asked of the binomial distribution itself, not of a normal approximation.

/// A window's loss counts when the baseline would give that much this seldom.
const SIGNIFICANCE: f64 = 0.01;

/// Would `lost` or more of `n` canaries be lost less often than `SIGNIFICANCE` if each were
/// lost with chance `p`? Exact (the binomial tail) for the few canaries of a short window,
/// where a normal approximation would call one stray loss of eight significant; normal for
/// many.
pub fn unlikely(lost: u32, n: u32, p: f64) -> bool {
    let p = p.clamp(1e-6, 0.5);
    if n > 200 {
        let mean = f64::from(n) * p;
        let z = (f64::from(lost) - mean) / (mean * (1.0 - p)).sqrt();
        return z > 2.33; // the one-sided 1 % point
    }
    // P(X < lost) by the pmf's recurrence from P(X = 0) = (1 − p)^n.
    let mut pmf = (1.0 - p).powi(n as i32);
    let mut below = 0.0;
    for i in 0..lost {
        below += pmf;
        pmf *= f64::from(n - i) / f64::from(i + 1) * p / (1.0 - p);
    }
    1.0 - below < SIGNIFICANCE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loss_is_significant_by_the_binomial_tail() {
        assert!(unlikely(8, 8, 0.01), "all of eight");
        assert!(!unlikely(1, 8, 0.01), "one stray loss of eight");
        assert!(!unlikely(3, 48, 0.01) && unlikely(4, 48, 0.01));
        assert!(!unlikely(15, 1000, 0.01) && unlikely(20, 1000, 0.01));
        assert!(!unlikely(0, 0, 0.01));
    }
}

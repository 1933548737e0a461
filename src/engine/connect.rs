//! The connect engine: walks the cursor, paces with the rate limiter, keeps at most
//! `max_inflight` attempts running (and `per_host` per host, at most `max_host_rate` a second
//! each), and turns each finished target into events. Local shortages (EMFILE, EADDRNOTAVAIL,
//! ENOBUFS …) shrink the window and are retried after a back-off; they never become a port
//! state. In adaptive mode the window also narrows when hosts that answer lose attempts
//! (`congestion`).

use super::EngineContext;
use super::answers_all;
use super::congestion::Window;
use super::connector::{Attempt, Connector};
use super::host_gate::HostGate;
use super::host_rate::HostRate;
use super::pressure::{HOLD_NAP, Hold};
use super::report::Answer;
use super::rtt::RttEstimator;
use crate::cursor::{Cursor, CursorState};
use crate::event::{PortState, Proto, Reason};
use crate::rate::{Pace, RateLimiter};
use crate::stop::StopLevel;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use tokio::task::JoinSet;

#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// The longest wait for an answer; the last attempt always waits this long, earlier ones
    /// follow the measured RTT (see `rtt`).
    pub timeout: Duration,
    /// Extra attempts for targets that stayed silent (answers are never retried).
    pub retries: u32,
    pub max_inflight: usize,
    pub per_host: u32,
    /// Attempts per second; `None` = as fast as the window allows.
    pub rate: Option<u64>,
    /// nmap's `--host-timeout`: a host gets no attempt this long after its first one.
    pub host_timeout: Option<Duration>,
    /// `--rate-mode adaptive`: the window narrows when hosts that answer lose attempts (see
    /// `congestion`); false: `max_inflight` throughout.
    pub adaptive: bool,
    /// `--max-host-rate`: attempts per second to any one host, retries included.
    pub max_host_rate: Option<u64>,
}

/// One target's next attempt.
#[derive(Debug, Clone, Copy)]
struct Item {
    /// Position in the walk.
    pos: u64,
    /// Index in the space.
    idx: u64,
    /// 0 for the first attempt.
    attempt: u32,
    /// When the attempt before this one went out (for the congestion window).
    earlier: Duration,
}

impl Item {
    fn first(pos: u64, idx: u64) -> Item {
        Item {
            pos,
            idx,
            attempt: 0,
            earlier: Duration::ZERO,
        }
    }
}

/// Runs until the cursor is exhausted or a stop is asked; returns where it stood.
pub async fn run<C: Connector>(
    connector: Arc<C>,
    mut cursor: Cursor,
    ctx: &EngineContext,
    opts: &ConnectOptions,
) -> CursorState {
    let origin = tokio::time::Instant::now();
    let now = || origin.elapsed();
    let mut limiter = RateLimiter::new(opts.rate, RateLimiter::default_burst(opts.rate), now());
    let mut gate: HostGate<Item> = HostGate::new(opts.per_host);
    let mut host_rate: HostRate<Item> = HostRate::new(opts.max_host_rate);
    let mut tasks = JoinSet::new();
    let mut in_flight: HashSet<u64> = HashSet::new();
    // Hosts up, open ports per host, and events waiting for room: reporting never blocks.
    let mut local = ctx.report.local(&ctx.space);
    let mut hold = Hold::new(1);
    // Only with --host-timeout: when each host got its first attempt.
    let mut first_seen: HashMap<IpAddr, Duration> = HashMap::new();
    let max_window = opts.max_inflight.max(1);
    // Narrowed by local shortages (at once, grown back per answer) and, adaptive, by
    // congestion (per epoch): the smaller one holds.
    let mut window = max_window;
    let mut congestion = Window::new(max_window, opts.adaptive, now());
    let mut backoff_until = Duration::ZERO;
    let mut shortage_streak = 0u32;
    let mut exhausted = false;
    let mut rtt = RttEstimator::new(opts.timeout);
    let udp = ctx.space.proto() == Proto::Udp;
    // A space of only echo slots: a host sweep through ping sockets.
    let echo = ctx.space.has_echo() && ctx.space.ports().is_empty();
    let mut next_checkpoint = ctx.checkpoint_every.map(|every| now() + every);

    loop {
        let level = ctx.stop.level();
        if level == StopLevel::Abort {
            break;
        }
        ctx.report.flush(&mut local);
        if let (Some(at), Some(every)) = (next_checkpoint, ctx.checkpoint_every)
            && now() >= at
        {
            // Every answer reported so far went down the stream before this.
            let state = checkpoint(&cursor, &in_flight, &gate, &host_rate);
            ctx.report.checkpoint(&mut local, state);
            next_checkpoint = Some(now() + every);
        }
        // An epoch is about the time a lost attempt takes to show: its first wait.
        congestion.tick(now(), rtt.timeout(0, 2));
        // `--rate` stays the ceiling; a congested window paces under it.
        let pace = min_rate_of(opts.rate, congestion.pace(rtt.srtt()));
        if pace != limiter.rate() {
            // Retuned, not rebuilt: a new limiter starts with a full bucket, a burst on every
            // change of pace.
            match pace {
                Some(p) => limiter.retune(p, now()),
                None => limiter.set_rate(None, now()),
            }
        }
        let room = window.min(congestion.size());
        let mut wait = None;
        // While the stages after the engine are behind, no new attempt starts.
        let held = hold.check(&ctx.report, now());
        while level == StopLevel::Running && !held && tasks.len() < room {
            let t = now();
            if t < backoff_until {
                wait = Some(backoff_until - t);
                break;
            }
            let held = gate.parked() + host_rate.waiting();
            if !host_rate.has_due(t) && !gate.has_ready() && (exhausted || held >= max_window) {
                break;
            }
            if let Pace::Wait(d) = limiter.poll(t, 1) {
                wait = Some(d);
                break;
            }
            let next = match host_rate.pop_due(t) {
                Some(due) => Some(due),
                None => next_item(
                    &mut gate,
                    &mut host_rate,
                    &mut cursor,
                    &mut exhausted,
                    ctx,
                    max_window,
                    t,
                ),
            };
            let Some((host, item)) = next else {
                break;
            };
            let Item {
                pos, idx, attempt, ..
            } = item;
            if let Some(limit) = opts.host_timeout {
                let first = *first_seen.entry(host).or_insert(t);
                if t.saturating_sub(first) > limit {
                    // Its other ports are given up on unprobed and unreported, as nmap does.
                    ctx.stats.done.fetch_add(1, Relaxed);
                    gate.release(host);
                    continue;
                }
            }
            let target = ctx.space.target(idx);
            in_flight.insert(pos);
            // Every attempt, retries included, passed the limiter above: the rate is exact.
            let wait = rtt.timeout(attempt, opts.retries + 1);
            ctx.stats.sent.fetch_add(1, Relaxed);
            let c = connector.clone();
            tasks.spawn(async move {
                let outcome = c.attempt(target, wait).await;
                (item, t, host, target, outcome)
            });
        }
        if tasks.len() >= room && (!exhausted || gate.has_ready() || host_rate.waiting() > 0) {
            // There was more to send: the window is what holds the engine back.
            congestion.limited();
        }
        // Attempts waiting for their host's token wake the loop when it comes (at least a
        // millisecond on: a due token the limiter held back must not spin the loop).
        let host_wake = match (wait, level) {
            (None, StopLevel::Running) if tasks.len() < room => host_rate
                .next_wake()
                .map(|at| at.saturating_sub(now()).max(Duration::from_millis(1))),
            _ => None,
        };
        let drained =
            exhausted && !gate.has_ready() && gate.parked() == 0 && host_rate.waiting() == 0;
        if tasks.is_empty() && (drained || level != StopLevel::Running) {
            break;
        }
        tokio::select! {
            Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                // A task cannot panic (no unwraps inside); a join error leaves its position
                // in `in_flight`, so it lands in the resume point rather than being lost.
                let Ok((item, sent, host, target, outcome)) = joined else { continue };
                let Item { pos, idx, attempt, .. } = item;
                in_flight.remove(&pos);
                let (state, reason, measured) = match outcome {
                    Attempt::Resource(_) => {
                        // Says nothing about the target: same attempt again, later, narrower.
                        ctx.stats.errors.fetch_add(1, Relaxed);
                        shortage_streak = (shortage_streak + 1).min(8);
                        window = (tasks.len() * 3 / 4).max(1);
                        backoff_until = now() + Duration::from_millis(4 << shortage_streak);
                        gate.retry(host, item);
                        continue;
                    }
                    Attempt::Silent if attempt < opts.retries => {
                        congestion.timed_out(attempt, sent);
                        gate.retry(host, Item { attempt: attempt + 1, earlier: sent, ..item });
                        continue;
                    }
                    // Silent TCP is a filter; silent UDP may be a service that ignored us.
                    Attempt::Silent => {
                        congestion.timed_out(attempt, sent);
                        let state = if udp { PortState::OpenFiltered } else { PortState::Filtered };
                        (state, Reason::NoResponse, None)
                    }
                    Attempt::Open { rtt } if udp => (PortState::Open, Reason::UdpResponse, Some(rtt)),
                    Attempt::Open { rtt } if echo => (PortState::Open, Reason::EchoReply, Some(rtt)),
                    Attempt::Open { rtt } => (PortState::Open, Reason::SynAck, Some(rtt)),
                    Attempt::Closed { reason, rtt } => (PortState::Closed, reason, Some(rtt)),
                    Attempt::Unreachable { reason, rtt } => (PortState::Filtered, reason, Some(rtt)),
                };
                if let Some(d) = measured {
                    rtt.observe(d);
                    // Hosts ration ICMP errors: a closed UDP port heard late is no path loss.
                    let proves_loss = !(udp && state == PortState::Closed);
                    congestion.answered(attempt, sent, item.earlier, proves_loss);
                }
                shortage_streak = 0;
                window = (window + 1).min(max_window);
                gate.release(host);
                ctx.stats.done.fetch_add(1, Relaxed);
                let (ip, port, proto) = (target.ip(), target.port(), ctx.space.proto());
                let (rtt, ttl) = (measured, None);
                let host = idx % ctx.space.hosts().max(1);
                let a = Answer { ip, host, port, proto, state, reason, rtt, ttl };
                // Finished targets are exactly those whose answers could have come.
                let done = ctx.stats.done.load(Relaxed);
                local.probed_per_host =
                    answers_all::per_host(done, ctx.space.ports().len(), ctx.space.size());
                ctx.report.answer(&mut local, a);
            }
            _ = tokio::time::sleep(wait.unwrap_or_default()), if wait.is_some() => {}
            _ = tokio::time::sleep(host_wake.unwrap_or_default()), if host_wake.is_some() => {}
            _ = tokio::time::sleep(next_checkpoint.unwrap_or_default().saturating_sub(now())),
                if next_checkpoint.is_some() => {}
            _ = tokio::time::sleep(HOLD_NAP), if held || local.waiting() > 0 => {}
            _ = ctx.stop.changed_from(level) => {}
        }
    }
    // Everything reported reaches the channel before the final resume point is returned.
    while !ctx.report.flush(&mut local) {
        tokio::time::sleep(HOLD_NAP).await;
    }
    // Dropping the JoinSet aborts what an Abort left running; those positions are pending.
    drop(tasks);
    checkpoint(&cursor, &in_flight, &gate, &host_rate)
}

/// The tighter of two rates, `None` being unlimited.
fn min_rate_of(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Where the walk stands: every position handed out and not finished — running, waiting at
/// the host gate or for its host's token, or owed a retry — is pending.
fn checkpoint(
    cursor: &Cursor,
    in_flight: &HashSet<u64>,
    gate: &HostGate<Item>,
    host_rate: &HostRate<Item>,
) -> CursorState {
    let waiting = gate.unsent().chain(host_rate.unsent()).map(|i| i.pos);
    cursor.state(in_flight.iter().copied().chain(waiting))
}

/// The next attempt that may go now: one the host gate made ready, else a new target; either
/// waits instead if its host is at its rate. None when nothing may go and no more may be held
/// (`max_held` at the gate and waiting for tokens together).
fn next_item(
    gate: &mut HostGate<Item>,
    host_rate: &mut HostRate<Item>,
    cursor: &mut Cursor,
    exhausted: &mut bool,
    ctx: &EngineContext,
    max_held: usize,
    now: Duration,
) -> Option<(IpAddr, Item)> {
    loop {
        let (host, item) = match gate.pop_ready() {
            Some(ready) => ready,
            None => {
                if *exhausted || gate.parked() + host_rate.waiting() >= max_held {
                    return None;
                }
                let Some((pos, idx)) = cursor.next_target() else {
                    *exhausted = true;
                    return None;
                };
                let host = ctx.space.target(idx).ip();
                if ctx.space.skips(host) {
                    ctx.stats.done.fetch_add(1, Relaxed);
                    continue;
                }
                match gate.admit(host, Item::first(pos, idx)) {
                    Some(item) => (host, item),
                    None => continue,
                }
            }
        };
        if let Some(item) = host_rate.offer(host, item, now) {
            return Some((host, item));
        }
    }
}

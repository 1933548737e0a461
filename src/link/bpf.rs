//! The kernel-side filter for the capture socket (classic BPF): only IPv4 packets to our
//! address that are TCP or UDP to our source-port range (unfragmented) or ICMP reach user
//! space. The
//! scanner's own probes go to the targets, so they never match — a capture ring that also
//! fills with our own outgoing frames is a known way to lose replies at high rates.

/// One classic BPF instruction (`struct sock_filter`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SockFilter {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

// Opcodes (linux/filter.h).
const LD_H_ABS: u16 = 0x28;
const LD_W_ABS: u16 = 0x20;
const LD_B_ABS: u16 = 0x30;
const LDX_B_MSH: u16 = 0xb1;
const LD_H_IND: u16 = 0x48;
const JEQ_K: u16 = 0x15;
const JGE_K: u16 = 0x35;
const JGT_K: u16 = 0x25;
const JSET_K: u16 = 0x45;
const RET_K: u16 = 0x06;

const fn op(code: u16, jt: u8, jf: u8, k: u32) -> SockFilter {
    SockFilter { code, jt, jf, k }
}

/// The filter for frames whose IP header starts at `ip_at` (14 on Ethernet, 0 on bare-IP
/// links), addressed to `us`, TCP or UDP to `[port_lo, port_hi]`, or ICMP.
pub fn reply_filter(
    ip_at: u32,
    us: std::net::Ipv4Addr,
    port_lo: u16,
    port_hi: u16,
) -> Vec<SockFilter> {
    let mut prog = Vec::with_capacity(16);
    if ip_at >= 14 {
        // Ethernet: the EtherType must be IPv4.
        prog.push(op(LD_H_ABS, 0, 0, ip_at - 2));
        prog.push(op(JEQ_K, 0, 13, 0x0800)); // -> drop
    } else {
        // Bare IP: the version nibble must be 4.
        prog.push(op(LD_B_ABS, 0, 0, ip_at));
        prog.push(op(JSET_K, 13, 0, 0x20)); // version 4 is 0100; 6 is 0110 -> drop
    }
    prog.extend([
        op(LD_W_ABS, 0, 0, ip_at + 16),      // destination address
        op(JEQ_K, 0, 11, u32::from(us)),     // not us -> drop
        op(LD_B_ABS, 0, 0, ip_at + 9),       // protocol
        op(JEQ_K, 8, 0, 1),                  // ICMP -> accept
        op(JEQ_K, 1, 0, 6),                  // TCP -> its port
        op(JEQ_K, 0, 7, 17),                 // not UDP either -> drop
        op(LD_H_ABS, 0, 0, ip_at + 6),       // flags + fragment offset
        op(JSET_K, 5, 0, 0x1fff),            // a later fragment -> drop
        op(LDX_B_MSH, 0, 0, ip_at),          // X = IP header length
        op(LD_H_IND, 0, 0, ip_at + 2),       // TCP or UDP destination port
        op(JGE_K, 0, 2, u32::from(port_lo)), // below the range -> drop
    ]);
    // Jumps skip that many instructions; laid out as: 0-1 link check, 2-12 above,
    // 13 upper port check, 14 accept, 15 drop (the interpreter test below runs them).
    prog.push(op(JGT_K, 1, 0, u32::from(port_hi))); // above the range -> drop
    prog.push(op(RET_K, 0, 0, 0x0004_0000)); // accept (whole packet)
    prog.push(op(RET_K, 0, 0, 0)); // drop
    prog
}

/// Nothing at all: for a socket that only sends.
pub fn drop_all() -> Vec<SockFilter> {
    vec![op(RET_K, 0, 0, 0)]
}

/// Ethernet frames of one EtherType (ARP replies for neighbour resolution).
pub fn ethertype_filter(ethertype: u16) -> Vec<SockFilter> {
    vec![
        op(LD_H_ABS, 0, 0, 12),
        op(JEQ_K, 0, 1, u32::from(ethertype)),
        op(RET_K, 0, 0, 0x0004_0000),
        op(RET_K, 0, 0, 0),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny classic-BPF interpreter for the opcodes above, to run the filter on test frames
    /// here instead of trusting jump offsets by eye.
    fn run(prog: &[SockFilter], pkt: &[u8]) -> u32 {
        let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
        let byte = |i: usize| pkt.get(i).copied();
        loop {
            let Some(i) = prog.get(pc) else { return 0 };
            let k = i.k as usize;
            pc += 1;
            match i.code {
                LD_H_ABS => match (byte(k), byte(k + 1)) {
                    (Some(h), Some(l)) => a = u32::from(u16::from_be_bytes([h, l])),
                    _ => return 0,
                },
                LD_W_ABS => match pkt.get(k..k + 4) {
                    Some(w) => a = u32::from_be_bytes([w[0], w[1], w[2], w[3]]),
                    None => return 0,
                },
                LD_B_ABS => match byte(k) {
                    Some(b) => a = u32::from(b),
                    None => return 0,
                },
                LDX_B_MSH => match byte(k) {
                    Some(b) => x = u32::from(b & 0xf) * 4,
                    None => return 0,
                },
                LD_H_IND => match (byte(x as usize + k), byte(x as usize + k + 1)) {
                    (Some(h), Some(l)) => a = u32::from(u16::from_be_bytes([h, l])),
                    _ => return 0,
                },
                JEQ_K | JGE_K | JGT_K | JSET_K => {
                    let taken = match i.code {
                        JEQ_K => a == i.k,
                        JGE_K => a >= i.k,
                        JGT_K => a > i.k,
                        _ => a & i.k != 0,
                    };
                    pc += usize::from(if taken { i.jt } else { i.jf });
                }
                RET_K => return i.k,
                other => panic!("opcode {other:#x} not in the interpreter"),
            }
        }
    }

    fn ipv4(dst: [u8; 4], proto: u8, frag: u16, dport: u16) -> Vec<u8> {
        let mut p = vec![0u8; 40];
        p[0] = 0x45;
        p[6..8].copy_from_slice(&frag.to_be_bytes());
        p[9] = proto;
        p[12..16].copy_from_slice(&[198, 18, 0, 7]);
        p[16..20].copy_from_slice(&dst);
        p[22..24].copy_from_slice(&dport.to_be_bytes());
        p
    }

    fn eth(ip: Vec<u8>, ethertype: u16) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend(ethertype.to_be_bytes());
        f.extend(ip);
        f
    }

    #[test]
    fn passes_answers_to_us_and_nothing_else() {
        let us = [198, 19, 0, 1];
        for ip_at in [14u32, 0] {
            let prog = reply_filter(ip_at, us.into(), 40000, 40999);
            let frame = |ip: Vec<u8>| if ip_at == 14 { eth(ip, 0x0800) } else { ip };
            let pass = |p: &[u8]| run(&prog, p) > 0;
            assert!(pass(&frame(ipv4(us, 6, 0, 40000))), "TCP to the first port");
            assert!(
                pass(&frame(ipv4(us, 6, 0x4000, 40999))),
                "TCP to the last port, DF set"
            );
            assert!(pass(&frame(ipv4(us, 1, 0, 0))), "ICMP");
            assert!(!pass(&frame(ipv4(us, 6, 0, 39999))), "below the range");
            assert!(!pass(&frame(ipv4(us, 6, 0, 41000))), "above the range");
            assert!(
                !pass(&frame(ipv4([198, 18, 0, 7], 6, 0, 40000))),
                "our own probe (to a target)"
            );
            assert!(pass(&frame(ipv4(us, 17, 0, 40500))), "UDP to our range");
            assert!(!pass(&frame(ipv4(us, 17, 0, 53))), "UDP to another port");
            assert!(
                !pass(&frame(ipv4(us, 17, 0x0020, 40500))),
                "a later UDP fragment"
            );
            assert!(!pass(&frame(ipv4(us, 47, 0, 40000))), "GRE");
            assert!(
                !pass(&frame(ipv4(us, 6, 0x0010, 40000))),
                "a later fragment"
            );
            assert!(!pass(&frame(ipv4(us, 6, 0, 40000))[..10]), "truncated");
        }
        let prog = reply_filter(14, us.into(), 40000, 40999);
        assert_eq!(
            run(&prog, &eth(ipv4(us, 6, 0, 40000), 0x86dd)),
            0,
            "not IPv4"
        );
    }

    #[test]
    fn ethertype_filter_passes_one_type() {
        let prog = ethertype_filter(0x0806);
        assert!(run(&prog, &eth(vec![0; 28], 0x0806)) > 0);
        assert_eq!(run(&prog, &eth(vec![0; 28], 0x0800)), 0);
        assert_eq!(run(&prog, &[0u8; 5]), 0);
    }
}

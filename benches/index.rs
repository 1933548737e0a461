//! Per-probe index work on the sender's path: shuffle a position, turn it into a target.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::net::Ipv4Addr;
use synsweep::cursor::{Cursor, Shard};
use synsweep::packet::cookie::{CookieKey, SourcePorts};
use synsweep::packet::syn::{EthernetAddrs, SynFields, SynTemplate};
use synsweep::permutation::Permutation;
use synsweep::ports::PortList;
use synsweep::space::TargetSpace;
use synsweep::targets::range::{IpRange, RangeSet};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("index");
    g.throughput(Throughput::Elements(1));
    // A /8 x 1000 ports: 16.7 G positions, the size of a large real scan.
    let n = (1u64 << 24) * 1000;
    let p = Permutation::new(n, 42);
    let mut i = 0u64;
    g.bench_function("shuffle /8 x 1000", |b| {
        b.iter(|| {
            i = (i + 1) % n;
            black_box(p.shuffle(black_box(i)))
        })
    });
    let set = RangeSet::from_ranges(vec![
        IpRange::from_net("10.0.0.0/8".parse().unwrap()),
        IpRange::from_net("172.16.0.0/12".parse().unwrap()),
        IpRange::from_net("192.168.0.0/16".parse().unwrap()),
    ]);
    let space = TargetSpace::new(set, PortList::new((1..=1000).collect())).unwrap();
    let mut cursor = Cursor::new(space.size(), 7, Shard::WHOLE, None);
    g.bench_function("cursor + target, 3 ranges x 1000 ports", |b| {
        b.iter(|| {
            let (_, idx) = cursor.next_target().unwrap_or((0, 0));
            black_box(space.target(idx))
        })
    });
    // One whole SYN probe as the sender will make it: cookie, then template + patch.
    let key = CookieKey::from_seed(42);
    let ports = SourcePorts {
        base: 40000,
        count: 16384,
    };
    let us = Ipv4Addr::new(198, 19, 0, 1);
    let eth = EthernetAddrs {
        src: [2, 0, 0, 0, 0, 1],
        dst: [2, 0, 0, 0, 0, 2],
    };
    let template = SynTemplate::new_v4(us, Some(eth), 64);
    let mut frame = [0u8; 128];
    let mut k = 0u32;
    g.bench_function("cookie + craft SYN", |b| {
        b.iter(|| {
            k = k.wrapping_add(1);
            let dst = Ipv4Addr::from(0xc612_0000 | (k & 0xffff));
            let dport = (k >> 16) as u16;
            let (seq, sport) = ports.pick(key.cookie_v4(dst, dport, us));
            let f = SynFields {
                dst,
                dport,
                sport,
                seq,
                tsval: k,
                ip_id: seq as u16,
            };
            black_box(template.craft(black_box(&mut frame), &f))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

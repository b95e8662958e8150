//! The plain benchmark's capture: N UDP flows, one frame each per pass: the first pass the
//! clients' requests in creation order, later passes reordered and (by default) half of
//! them the servers' replies.

use crate::frames::{build, L4};
use std::net::{IpAddr, Ipv4Addr};
use svcard_dataplane::pcapfile::Record;

/// The client address of flow `i` of a many-flow recipe: 10.0.0.0/8, 16M distinct.
#[must_use]
pub fn client_v4(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(0x0a00_0000 | (i & 0x00ff_ffff))
}

/// The destination ports of [`udp_flows`].
pub const UDP_FLOW_PORTS: [u16; 6] = [5353, 123, 443, 4500, 5004, 8080];

/// `n` distinct UDP flows of `frame_len`-byte frames (client → server only, one frame per
/// flow per round), source ports and addresses spread the way real clients are. The
/// destination ports name no application with an ALG (the benchmark's established traffic
/// stays on the workers; DNS on 53 would go to the control core).
#[must_use]
pub fn udp_flows(n: u32, frame_len: usize) -> Vec<Record> {
    (0..n)
        .map(|i| Record {
            ts_ns: u64::from(i) * 1000,
            data: udp_flow_frame(i, frame_len, false),
        })
        .collect()
}

/// The frame of flow `i` of [`udp_flows`]: the client's datagram, or (`reply`) the
/// server's answer on the same flow (addresses and ports swapped).
#[must_use]
pub fn udp_flow_frame(i: u32, frame_len: usize, reply: bool) -> Vec<u8> {
    let payload = frame_len.saturating_sub(14 + 20 + 8);
    let client = IpAddr::V4(client_v4(i.wrapping_mul(2_654_435_761) >> 8));
    let server = IpAddr::V4(Ipv4Addr::new(192, 0, 2, (i % 200) as u8 + 1));
    let (cport, sport) = (1024 + (i % 64_000) as u16, UDP_FLOW_PORTS[(i % 6) as usize]);
    let (src, dst, sp, dp) = if reply {
        (server, client, sport, cport)
    } else {
        (client, server, cport, sport)
    };
    let l4 = L4::Udp {
        sport: sp,
        dport: dp,
        payload: vec![0x5a; payload.min(1472)],
    };
    build(src, dst, &l4, frame_len.max(60), !reply)
}

/// Most passes [`udp_flows_passes`] writes.
pub const MAX_PASSES: u32 = 8;

/// Multipliers of the later passes' orders: primes above any flow count ([`MAX_V4_FLOWS`]
/// and `svcard bench`'s 2^24), so that `(j + 1) * P mod n` visits every flow once.
pub(crate) const PASS_ORDER: [u64; MAX_PASSES as usize - 1] = [
    2_654_435_761,
    2_246_822_519,
    3_266_489_917,
    668_265_263,
    374_761_393,
    4_294_967_291,
    2_147_483_647,
];

/// Most frames [`udp_flows_passes`] is asked for (the capture is built in memory first).
pub const MAX_PASS_FRAMES: u64 = 1 << 24;

/// Whether `passes` passes over `flows` flows are within [`MAX_PASSES`] and
/// [`MAX_PASS_FRAMES`]; else the error, naming the options (`--flows`, `--passes`) of the
/// commands that take them.
///
/// # Errors
/// The text to show.
pub fn check_passes(flows: u32, passes: u32) -> Result<(), String> {
    if !(1..=MAX_PASSES).contains(&passes) {
        return Err(format!("--passes must be 1 to {MAX_PASSES}"));
    }
    if u64::from(flows) * u64::from(passes) > MAX_PASS_FRAMES {
        return Err(format!(
            "--flows × --passes must be at most {MAX_PASS_FRAMES} frames"
        ));
    }
    Ok(())
}

/// The flow frame `j` of pass `pass` of [`udp_flows_passes`] carries: pass 0 in flow order,
/// each later pass in an order of its own.
#[must_use]
pub fn pass_order(pass: u32, j: u32, n: u32) -> u32 {
    match pass.checked_sub(1).and_then(|k| PASS_ORDER.get(k as usize)) {
        Some(&p) if n > 0 => ((u64::from(j) + 1) * p % u64::from(n)) as u32,
        _ => j,
    }
}

/// [`udp_flows`] written `passes` times (1 to [`MAX_PASSES`]): the first pass in flow
/// order, each later one in an order of its own ([`pass_order`]).
///
/// Why: a replay repeats its capture, and the flows' sessions are made during the first
/// pass, in that pass's order. With one pass every later round meets the sessions in the
/// order they were made, so a table that hands out slots in creation order reads its
/// sessions in memory order, which hardware prefetching hides; traffic seldom keeps
/// that order. With `passes` passes, only one frame in `passes` comes in creation order.
#[must_use]
pub fn udp_flows_passes(n: u32, frame_len: usize, passes: u32) -> Vec<Record> {
    udp_flows_both_ways(n, frame_len, passes, false)
}

/// [`udp_flows_passes`], and with `replies` every later pass carries the reply in place of
/// the request for half the flows (those whose index and pass number differ in parity, so
/// from the third pass on every flow has been seen both ways):
/// traffic as it arrives, both directions, in no order related to the sessions' creation.
/// The first pass is the requests in creation order (it makes the sessions).
#[must_use]
pub fn udp_flows_both_ways(n: u32, frame_len: usize, passes: u32, replies: bool) -> Vec<Record> {
    let passes = passes.clamp(1, MAX_PASSES);
    let base = udp_flows(n, frame_len);
    if passes == 1 {
        return base;
    }
    pass_sequence(n, passes, replies)
        .enumerate()
        .map(|(k, (f, reply))| Record {
            ts_ns: k as u64 * 1000,
            data: if reply {
                udp_flow_frame(f, frame_len, true)
            } else {
                base[f as usize].data.clone()
            },
        })
        .collect()
}

/// The frames of `passes` passes over `n` flows, as `(flow, reply)`: the first pass the
/// requests in flow order, each later one in its own order ([`pass_order`]) and, with
/// `replies`, the reply for the flows whose index and pass number differ in parity
/// ([`udp_flows_both_ways`] and the mixed traffic walk it alike).
pub fn pass_sequence(n: u32, passes: u32, replies: bool) -> impl Iterator<Item = (u32, bool)> {
    let passes = passes.clamp(1, MAX_PASSES);
    (0..passes).flat_map(move |pass| {
        (0..n).map(move |j| {
            let f = pass_order(pass, j, n);
            (f, replies && pass > 0 && (f + pass) % 2 == 1)
        })
    })
}

/// Frames of [`udp_flows_both_ways`] that come from the client side.
#[must_use]
pub fn client_frames_both_ways(n: u32, passes: u32, replies: bool) -> u64 {
    let passes = passes.clamp(1, MAX_PASSES);
    let all = u64::from(n) * u64::from(passes);
    if !replies || passes == 1 {
        return all;
    }
    // Pass p replies for the flows f with f + p odd: n/2 of them for an even p, the rest
    // for an odd one.
    let n = u64::from(n);
    let replies: u64 = (1..passes)
        .map(|p| if p % 2 == 0 { n / 2 } else { n - n / 2 })
        .sum();
    all - replies
}

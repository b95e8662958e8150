//! The configuration's tables other than the service sets, each read into its part of
//! the model, with every error naming file, line and field.

use core::ops::Range;
use std::path::Path;

use toml::Spanned;

use crate::app::{builtin_applications, has_ports, AlgKind, Application, PortRange};
use crate::{AlgSettings, Algs, Card, Dpdk, LimitPolicy, Limits, Port, Timeouts, Workers};

use super::reader::*;

/// The `[card]` table.
pub(super) fn card(_src: &Src<'_>, root: &Tab<'_, '_>) -> R<Card> {
    let mut card = Card::default();
    if let Some(t) = root.table(
        "card",
        &["fpc", "pic-base", "bundle", "member-prefix", "hostname"],
    )? {
        if let Some(n) = t.num("fpc", 0, 255)? {
            card.fpc = n;
        }
        if let Some(n) = t.num("pic-base", 0, 255)? {
            card.pic_base = n;
        }
        if let Some((s, _)) = t.word("bundle")? {
            card.bundle = s.to_string();
        }
        if let Some((s, _)) = t.word("member-prefix")? {
            card.member_prefix = s.to_string();
        }
        if let Some((s, _)) = t.word("hostname")? {
            card.hostname = s.to_string();
        }
    }
    Ok(card)
}

/// The `[workers]` table (its PICs must fit beside `card`'s base PIC).
pub(super) fn workers(src: &Src<'_>, root: &Tab<'_, '_>, card: &Card) -> R<Workers> {
    let mut workers = Workers::default();
    if let Some(t) = root.table("workers", &["count", "cores", "control-core", "burst"])? {
        if let Some(n) = t.num("count", 1, 1024)? {
            workers.count = n;
        }
        for v in t.items("cores") {
            workers
                .cores
                .push(int_as(src, v, &t.field("cores"), 0, 4095)?);
        }
        if let Some(v) = t.get("cores") {
            if workers.cores.len() != usize::from(workers.count) {
                return Err(t.err(
                    &v.span(),
                    "cores",
                    format!(
                        "{} cores for {} workers (give one core per worker)",
                        workers.cores.len(),
                        workers.count
                    ),
                ));
            }
        }
        if let Some(n) = t.num("control-core", 0, 4095)? {
            workers.control_core = Some(n);
        }
        if let Some(n) = t.num("burst", 1, i64::from(crate::MAX_BURST))? {
            workers.burst = n;
        }
        if u32::from(card.pic_base) + u32::from(workers.count) > 256 {
            let span = t.get("count").map_or(t.span.clone(), Spanned::span);
            return Err(t.err(
                &span,
                "count",
                format!(
                    "workers are PICs {}..{}: past 255",
                    card.pic_base,
                    u32::from(card.pic_base) + u32::from(workers.count) - 1
                ),
            ));
        }
    }
    Ok(workers)
}

/// The `[dpdk]` table.
pub(super) fn dpdk(src: &Src<'_>, root: &Tab<'_, '_>) -> R<Dpdk> {
    let mut dpdk = Dpdk::default();
    if let Some(t) = root.table(
        "dpdk",
        &[
            "eal-args",
            "mbufs",
            "mbuf-cache",
            "mbuf-data-room",
            "rx-desc",
            "tx-desc",
        ],
    )? {
        if t.get("eal-args").is_some() {
            dpdk.eal_args = t
                .items("eal-args")
                .into_iter()
                .map(|v| string(src, v, &t.field("eal-args")).map(str::to_string))
                .collect::<R<_>>()?;
        }
        if let Some(n) = t.num("mbufs", 1, i64::from(u32::MAX))? {
            dpdk.mbufs = n;
        }
        if let Some(n) = t.num("mbuf-cache", 0, 512)? {
            dpdk.mbuf_cache = n;
        }
        if let Some(n) = t.num("mbuf-data-room", 256, 65535)? {
            dpdk.mbuf_data_room = n;
        }
        if let Some(n) = t.num("rx-desc", 1, 32768)? {
            dpdk.rx_desc = n;
        }
        if let Some(n) = t.num("tx-desc", 1, 32768)? {
            dpdk.tx_desc = n;
        }
    }
    Ok(dpdk)
}

/// The `[[port]]` tables, peers checked (each port's peer names it back); relative capture paths resolve against `base`.
pub(super) fn ports(src: &Src<'_>, root: &Tab<'_, '_>, base: &Path) -> R<Vec<Port>> {
    let mut ports: Vec<Port> = Vec::new();
    let mut port_lines: Vec<usize> = Vec::new();
    let mut peers: Vec<(&str, Range<usize>, String)> = Vec::new();
    for t in root.tables(
        "port",
        &["name", "dpdk", "pcap-rx", "pcap-tx", "peer", "vlan-units"],
    )? {
        let (name, span) = t.req_word("name")?;
        if !valid_ifname(name) {
            return Err(t.err(
                &span,
                "name",
                format!("'{name}' is not an interface name like ge-0/0/0.0"),
            ));
        }
        if let Some(i) = ports.iter().position(|p| p.name == name) {
            return Err(t.err(
                &span,
                "name",
                format!(
                    "duplicate port name '{name}' (first defined on line {})",
                    port_lines[i]
                ),
            ));
        }
        let dpdk = t.word("dpdk")?.map(|(s, _)| s.to_string());
        let pcap_rx = t.word("pcap-rx")?.map(|(s, _)| resolve(base, s));
        let pcap_tx = t.word("pcap-tx")?.map(|(s, _)| resolve(base, s));
        if dpdk.is_none() && pcap_rx.is_none() && pcap_tx.is_none() {
            return Err(src.err(
                &t.span,
                &t.path,
                format!(
                    "port '{name}' has no device: set pcap-rx and/or pcap-tx (pure-Rust backend) \
                     and/or dpdk"
                ),
            ));
        }
        let (peer, peer_span) = t.req_word("peer")?;
        if ports.len() >= crate::MAX_PORTS {
            return Err(t.err(
                &span,
                "name",
                format!("too many ports (at most {})", crate::MAX_PORTS),
            ));
        }
        let mut units: Vec<crate::VlanUnit> = Vec::new();
        for v in t.items("vlan-units") {
            let field = t.field("vlan-units");
            let vlan: u16 = int_as(src, v, &field, 1, 4094)?;
            if units.iter().any(|u| u.vlan == vlan) {
                return Err(src.err(&v.span(), &field, format!("VLAN {vlan} is listed twice")));
            }
            units.push(crate::VlanUnit {
                vlan,
                name: crate::units::unit_name(name, vlan),
            });
        }
        peers.push((peer, peer_span, t.field("peer")));
        port_lines.push(src.line(span.start));
        ports.push(Port {
            name: name.to_string(),
            dpdk,
            pcap_rx,
            pcap_tx,
            peer: 0,
            units,
        });
    }
    for (i, (peer, span, field)) in peers.iter().enumerate() {
        let Some(j) = ports.iter().position(|p| p.name == *peer) else {
            return Err(src.err(
                span,
                field,
                format!("unknown port '{peer}' (no [[port]] has that name)"),
            ));
        };
        if j == i {
            return Err(src.err(span, field, format!("port '{peer}' cannot peer itself")));
        }
        ports[i].peer = j;
    }
    for i in 0..ports.len() {
        let j = ports[i].peer;
        if ports[j].peer != i {
            let (_, span, field) = &peers[i];
            return Err(src.err(
                span,
                field,
                format!(
                    "'{}' peers '{}' but '{}' peers '{}' (pairing must be symmetric)",
                    ports[i].name, ports[j].name, ports[j].name, ports[ports[j].peer].name
                ),
            ));
        }
    }
    Ok(ports)
}

/// The catalogue: the built-in Junos applications, then the `[[application]]` tables (which may redefine them).
pub(super) fn applications(src: &Src<'_>, root: &Tab<'_, '_>) -> R<Vec<Application>> {
    let mut applications = builtin_applications();
    let mut own_lines: Vec<(usize, usize)> = Vec::new(); // (catalogue index, line)
    for t in root.tables(
        "application",
        &[
            "name",
            "protocol",
            "destination-port",
            "alg",
            "inactivity-timeout",
        ],
    )? {
        let (name, span) = t.req_word("name")?;
        let proto = protocol(src, t.req("protocol")?, &t.field("protocol"))?;
        let destination_ports = match t.get("destination-port") {
            None => PortRange::ANY,
            Some(v) => {
                if !has_ports(proto) {
                    return Err(t.err(
                        &v.span(),
                        "destination-port",
                        format!("protocol {proto} has no ports (only tcp, udp and sctp do)"),
                    ));
                }
                port_range(src, v, &t.field("destination-port"))?
            }
        };
        let alg = match t.string("alg")? {
            None => None,
            Some((s, span)) => Some(AlgKind::from_junos_name(s).ok_or_else(|| {
                t.err(
                    &span,
                    "alg",
                    format!(
                        "unknown ALG '{s}'; expected one of: {}",
                        alg_names().join(", ")
                    ),
                )
            })?),
        };
        let app = Application {
            name: name.to_string(),
            protocol: proto,
            destination_ports,
            alg,
            inactivity_timeout: t.seconds("inactivity-timeout", 1, MAX_IDLE)?,
            builtin: false,
        };
        match applications.iter().position(|a| a.name == name) {
            Some(i) if !applications[i].builtin => {
                let first = own_lines.iter().find(|(k, _)| *k == i).map_or(0, |x| x.1);
                return Err(t.err(
                    &span,
                    "name",
                    format!("duplicate application '{name}' (first defined on line {first})"),
                ));
            }
            Some(i) => {
                applications[i] = app;
                own_lines.push((i, src.line(span.start)));
            }
            None => {
                if applications.len() >= usize::from(u16::MAX) {
                    return Err(t.err(&span, "name", "too many applications"));
                }
                own_lines.push((applications.len(), src.line(span.start)));
                applications.push(app);
            }
        }
    }
    Ok(applications)
}

/// The `[alg.NAME]` tables (`applications` says which ALGs have applications with ports).
pub(super) fn algs(src: &Src<'_>, root: &Tab<'_, '_>, applications: &[Application]) -> R<Algs> {
    let mut algs = Algs::default();
    let names = alg_names();
    if let Some(at) = root.table("alg", &names)? {
        for kind in AlgKind::ALL {
            let Some(t) = at.table(
                kind.junos_name(),
                &[
                    "enabled",
                    "ports",
                    "timeout",
                    "max-pinholes-per-conversation",
                    "max-conversations",
                    "loose",
                    "t1-interval",
                    "maximum-call-duration",
                    "max-dialogs",
                ],
            )?
            else {
                continue;
            };
            let mut s = AlgSettings::default();
            if let Some(b) = t.boolean("enabled")? {
                s.enabled = b;
            }
            if let Some(b) = t.boolean("loose")? {
                // The ALGs that refuse an address other than the announcer's own.
                let third_party = [
                    AlgKind::Ftp,
                    AlgKind::RpcPortmap,
                    AlgKind::Talk,
                    AlgKind::Sip,
                    AlgKind::Rtsp,
                    AlgKind::Sqlnet,
                    AlgKind::DceRpcPortmap,
                ];
                if !third_party.contains(&kind) {
                    return Err(t.err(
                        &t.get("loose").map(|v| v.span()).unwrap_or_default(),
                        "loose",
                        format!(
                            "the {} ALG has no loose mode (it refuses no third-party address)",
                            kind.junos_name()
                        ),
                    ));
                }
                s.loose = b;
            }
            for v in t.items("ports") {
                let r = port_range(src, v, &t.field("ports"))?;
                if r.lo != r.hi {
                    return Err(t.err(
                        &v.span(),
                        "ports",
                        format!("'{r}': give single ports, not ranges"),
                    ));
                }
                s.ports.push(r.lo);
            }
            if let Some(v) = t.get("ports") {
                let movable = applications
                    .iter()
                    .any(|a| a.alg == Some(kind) && has_ports(a.protocol));
                if !movable {
                    return Err(t.err(
                        &v.span(),
                        "ports",
                        format!(
                            "no application with ports uses the {} ALG; define an [[application]] \
                             with alg = \"{}\" instead",
                            kind.junos_name(),
                            kind.junos_name()
                        ),
                    ));
                }
            }
            for key in ["t1-interval", "maximum-call-duration", "max-dialogs"] {
                if let (Some(v), false) = (t.get(key), kind == AlgKind::Sip) {
                    return Err(t.err(
                        &v.span(),
                        key,
                        "only the sip ALG has call timers and a dialog table".to_string(),
                    ));
                }
            }
            // Junos's ranges: t1-interval 500..5000 ms, maximum-call-duration 3..720 min.
            s.sip_t1_ms = t.num("t1-interval", 500, 5000)?;
            s.sip_max_call_min = t.num("maximum-call-duration", 3, 720)?;
            s.sip_max_dialogs = t.num("max-dialogs", 1, 1 << 20)?;
            s.timeout = t.seconds("timeout", 1, MAX_IDLE)?;
            s.max_pinholes_per_conversation =
                t.seconds("max-pinholes-per-conversation", 1, i64::from(u32::MAX))?;
            s.max_conversations = t.seconds("max-conversations", 1, i64::from(u32::MAX))?;
            algs.settings[kind as usize] = s;
        }
    }
    Ok(algs)
}

/// The `[timeouts]` table.
pub(super) fn timeouts(_src: &Src<'_>, root: &Tab<'_, '_>) -> R<Timeouts> {
    let mut timeouts = Timeouts::default();
    if let Some(t) = root.table("timeouts", TIMEOUT_KEYS)? {
        let o = timeout_overrides(&t)?;
        timeouts = Timeouts {
            tcp_syn: o.tcp_syn.unwrap_or(timeouts.tcp_syn),
            tcp_established: o.tcp_established.unwrap_or(timeouts.tcp_established),
            tcp_closing: o.tcp_closing.unwrap_or(timeouts.tcp_closing),
            tcp_closed: o.tcp_closed.unwrap_or(timeouts.tcp_closed),
            udp: o.udp.unwrap_or(timeouts.udp),
            icmp: o.icmp.unwrap_or(timeouts.icmp),
            other: o.other.unwrap_or(timeouts.other),
            lifetime: o.lifetime.unwrap_or(timeouts.lifetime),
            ..timeouts
        };
    }
    if let Some(t) = root.table(
        "aging",
        &["early-ageout", "high-watermark", "low-watermark"],
    )? {
        if let Some(n) = t.seconds("early-ageout", 1, 65_535)? {
            timeouts.early_ageout = n;
        }
        if let Some(n) = t.num("high-watermark", 1, 100)? {
            timeouts.high_watermark = n;
        }
        if let Some(n) = t.num("low-watermark", 0, 100)? {
            timeouts.low_watermark = n;
        }
        if timeouts.low_watermark > timeouts.high_watermark {
            let (_, span) = t
                .get("low-watermark")
                .map(|v| ((), v.span()))
                .unwrap_or(((), t.span.clone()));
            return Err(t.err(
                &span,
                "low-watermark",
                format!(
                    "low-watermark {} is above high-watermark {}",
                    timeouts.low_watermark, timeouts.high_watermark
                ),
            ));
        }
    }
    Ok(timeouts)
}

/// The `[limits]` table.
pub(super) fn limits(_src: &Src<'_>, root: &Tab<'_, '_>) -> R<Limits> {
    let mut max_sessions = Limits::DEFAULT_MAX_SESSIONS;
    let mut per_worker = None;
    let mut setup_rate = None;
    let mut at_limit = LimitPolicy::Drop;
    if let Some(t) = root.table(
        "limits",
        &[
            "max-sessions",
            "max-sessions-per-worker",
            "setup-rate",
            "at-limit",
        ],
    )? {
        if let Some(n) = t.num("max-sessions", 1, i64::from(u32::MAX))? {
            max_sessions = n;
        }
        per_worker = t.seconds("max-sessions-per-worker", 1, i64::from(u32::MAX))?;
        setup_rate = t.seconds("setup-rate", 1, i64::from(u32::MAX))?;
        if let Some((s, span)) = t.string("at-limit")? {
            at_limit = match s {
                "drop" => LimitPolicy::Drop,
                "bypass" => LimitPolicy::Bypass,
                _ => {
                    return Err(t.err(
                        &span,
                        "at-limit",
                        format!("'{s}' is not a limit policy (drop or bypass)"),
                    ))
                }
            };
        }
    }
    let limits = Limits {
        max_sessions,
        max_sessions_per_worker: per_worker,
        setup_rate,
        at_limit,
    };
    Ok(limits)
}

/// The `[metrics]` table: `listen`, the address of the Prometheus endpoint.
pub(super) fn metrics(_src: &Src<'_>, root: &Tab<'_, '_>) -> R<crate::Metrics> {
    let mut m = crate::Metrics::default();
    if let Some(t) = root.table("metrics", &["listen"])? {
        if let Some((s, span)) = t.word("listen")? {
            let addr = s.parse::<std::net::SocketAddr>().map_err(|_| {
                t.err(
                    &span,
                    "listen",
                    format!("'{s}' is not an address and port like 127.0.0.1:9464"),
                )
            })?;
            m.listen = Some(addr);
        }
    }
    Ok(m)
}

/// `[ipfix]`: flow records to an IPFIX collector.
pub(super) fn ipfix(root: &Tab<'_, '_>) -> R<crate::Ipfix> {
    let mut x = crate::Ipfix::default();
    let Some(t) = root.table(
        "ipfix",
        &[
            "collector",
            "active-timeout",
            "template-refresh",
            "observation-domain",
        ],
    )?
    else {
        return Ok(x);
    };
    let (s, span) = t.req_word("collector")?;
    x.collector = Some(s.parse::<std::net::SocketAddr>().map_err(|_| {
        t.err(
            &span,
            "collector",
            format!("'{s}' is not an address and port like 127.0.0.1:4739"),
        )
    })?);
    if let Some(v) = t.seconds("active-timeout", 0, 86_400)? {
        x.active_timeout_s = v;
    }
    if let Some(v) = t.seconds("template-refresh", 1, 86_400)? {
        x.template_refresh_s = v;
    }
    if let Some(v) = t.num::<u32>("observation-domain", 0, i64::from(u32::MAX))? {
        x.observation_domain = v;
    }
    Ok(x)
}

/// `[log]`: session logs to a syslog collector.
/// The `events` and `alg-only` keys of `[log]` or `[service-set.log]`, over `base`.
pub(super) fn log_events(
    src: &Src<'_>,
    t: &Tab<'_, '_>,
    base: crate::LogEvents,
) -> R<crate::LogEvents> {
    let mut e = base;
    if t.get("events").is_some() {
        (e.session_init, e.session_close, e.deny) = (false, false, false);
        for v in t.items("events") {
            let field = t.field("events");
            match string(src, v, &field)? {
                "session-init" => e.session_init = true,
                "session-close" => e.session_close = true,
                "deny" => e.deny = true,
                x => {
                    return Err(src.err(
                        &v.span(),
                        &field,
                        format!("'{x}' is not an event (session-init, session-close, deny)"),
                    ))
                }
            }
        }
    }
    if let Some(b) = t.boolean("alg-only")? {
        e.alg_only = b;
    }
    Ok(e)
}

pub(super) fn log(src: &Src<'_>, root: &Tab<'_, '_>) -> R<crate::Log> {
    let mut l = crate::Log::default();
    let Some(t) = root.table(
        "log",
        &[
            "host",
            "transport",
            "events",
            "alg-only",
            "rate-limit",
            "hostname",
        ],
    )?
    else {
        return Ok(l);
    };
    let (s, span) = t.req_word("host")?;
    l.host = Some(s.parse::<std::net::SocketAddr>().map_err(|_| {
        t.err(
            &span,
            "host",
            format!("'{s}' is not an address and port like 127.0.0.1:514"),
        )
    })?);
    if let Some((w, wspan)) = t.word("transport")? {
        l.tcp = match w {
            "udp" => false,
            "tcp" => true,
            _ => return Err(t.err(&wspan, "transport", format!("'{w}' is not udp or tcp"))),
        };
    }
    l.events = log_events(src, &t, crate::LogEvents::default())?;
    if let Some(n) = t.num("rate-limit", 1, 10_000_000)? {
        l.rate_limit = n;
    }
    if let Some((h, _)) = t.word("hostname")? {
        l.hostname = h.to_string();
    }
    Ok(l)
}

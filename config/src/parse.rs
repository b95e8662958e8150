//! TOML → [`Config`]: a walk over the spanned document (`toml::de::DeTable`) so that every
//! error carries the line of the key or value it is about.

use core::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::app::{
    builtin_applications, has_ports, protocol_number, AlgKind, Application, PortRange,
};
use crate::{
    AlgSettings, Algs, Card, Config, ConfigError, Dpdk, LimitPolicy, Limits, Port, Prefix, Rule,
    RuleAction, ServiceSet, TimeoutOverrides, Timeouts, Workers,
};

type V<'i> = Spanned<DeValue<'i>>;
type R<T> = Result<T, ConfigError>;

/// Longest idle timeout accepted, in seconds (one day, as Junos `inactivity-timeout`).
const MAX_IDLE: i64 = 86_400;
/// Longest absolute session lifetime accepted, in seconds (one year).
const MAX_LIFETIME: i64 = 31_536_000;

struct Src<'a> {
    text: &'a str,
    file: &'a Path,
}

impl Src<'_> {
    fn line(&self, off: usize) -> usize {
        let off = off.min(self.text.len());
        self.text.as_bytes()[..off]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    fn err(&self, span: &Range<usize>, field: &str, msg: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.to_path_buf(),
            line: self.line(span.start),
            field: field.to_string(),
            message: msg.into(),
        }
    }
}

/// A table being read: knows its path (`service-set[0].rule[2]`) and span.
struct Tab<'a, 'i> {
    src: &'a Src<'a>,
    t: &'a DeTable<'i>,
    span: Range<usize>,
    path: String,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

impl<'a, 'i> Tab<'a, 'i> {
    /// Reads `v` as a table whose keys must all be in `known` (unknown keys are errors at
    /// the line of the key; the first one in the file is reported).
    fn of(src: &'a Src<'a>, v: &'a V<'i>, path: String, known: &[&str]) -> R<Self> {
        let DeValue::Table(t) = v.get_ref() else {
            return Err(src.err(
                &v.span(),
                &path,
                format!("expected a table, found {}", v.get_ref().type_str()),
            ));
        };
        let unknown = t
            .iter()
            .map(|(k, _)| k)
            .filter(|k| !known.contains(&k.get_ref().as_ref()))
            .min_by_key(|k| k.span().start);
        if let Some(k) = unknown {
            return Err(src.err(
                &k.span(),
                &join(&path, k.get_ref()),
                format!("unknown field; expected one of: {}", known.join(", ")),
            ));
        }
        Ok(Tab {
            src,
            t,
            span: v.span(),
            path,
        })
    }

    fn field(&self, key: &str) -> String {
        join(&self.path, key)
    }

    fn get(&self, key: &str) -> Option<&'a V<'i>> {
        self.t.get(key)
    }

    fn req(&self, key: &str) -> R<&'a V<'i>> {
        self.get(key).ok_or_else(|| {
            self.src
                .err(&self.span, &self.field(key), "missing required field")
        })
    }

    fn int(&self, key: &str, lo: i64, hi: i64) -> R<Option<i64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => int(self.src, v, &self.field(key), lo, hi).map(Some),
        }
    }

    fn seconds(&self, key: &str, lo: i64, hi: i64) -> R<Option<u32>> {
        Ok(self.int(key, lo, hi)?.map(|n| n as u32))
    }

    fn boolean(&self, key: &str) -> R<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match v.get_ref() {
                DeValue::Boolean(b) => Ok(Some(*b)),
                o => Err(self.src.err(
                    &v.span(),
                    &self.field(key),
                    format!("expected true or false, found {}", o.type_str()),
                )),
            },
        }
    }

    fn string(&self, key: &str) -> R<Option<(&'a str, Range<usize>)>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => Ok(Some((string(self.src, v, &self.field(key))?, v.span()))),
        }
    }

    /// A non-empty string without whitespace.
    fn word(&self, key: &str) -> R<Option<(&'a str, Range<usize>)>> {
        let r = self.string(key)?;
        if let Some((s, span)) = &r {
            if s.is_empty() || s.chars().any(char::is_whitespace) {
                return Err(self.src.err(
                    span,
                    &self.field(key),
                    format!("'{s}' must be non-empty and without spaces"),
                ));
            }
        }
        Ok(r)
    }

    fn req_word(&self, key: &str) -> R<(&'a str, Range<usize>)> {
        self.req(key)?;
        Ok(self.word(key)?.expect("present"))
    }

    /// An array of tables (`[[key]]`), each checked against `known`.
    fn tables(&self, key: &str, known: &[&str]) -> R<Vec<Tab<'a, 'i>>> {
        let Some(v) = self.get(key) else {
            return Ok(Vec::new());
        };
        let field = self.field(key);
        match v.get_ref() {
            DeValue::Array(a) => a
                .iter()
                .enumerate()
                .map(|(i, e)| Tab::of(self.src, e, format!("{field}[{i}]"), known))
                .collect(),
            o => Err(self.src.err(
                &v.span(),
                &field,
                format!(
                    "expected an array of tables ([[{}]]), found {}",
                    field,
                    o.type_str()
                ),
            )),
        }
    }

    fn table(&self, key: &str, known: &[&str]) -> R<Option<Tab<'a, 'i>>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => Tab::of(self.src, v, self.field(key), known).map(Some),
        }
    }

    /// The elements of a list field (a single value counts as a one-element list).
    fn items(&self, key: &str) -> Vec<&'a V<'i>> {
        match self.get(key) {
            None => Vec::new(),
            Some(v) => match v.get_ref() {
                DeValue::Array(a) => a.iter().collect(),
                _ => vec![v],
            },
        }
    }

    fn err(&self, span: &Range<usize>, key: &str, msg: impl Into<String>) -> ConfigError {
        self.src.err(span, &self.field(key), msg)
    }
}

fn string<'a>(src: &Src<'_>, v: &'a V<'_>, field: &str) -> R<&'a str> {
    match v.get_ref() {
        DeValue::String(s) => Ok(s.as_ref()),
        o => Err(src.err(
            &v.span(),
            field,
            format!("expected a string, found {}", o.type_str()),
        )),
    }
}

fn int(src: &Src<'_>, v: &V<'_>, field: &str, lo: i64, hi: i64) -> R<i64> {
    match v.get_ref() {
        DeValue::Integer(i) => {
            let n = i64::from_str_radix(i.as_str(), i.radix()).ok();
            match n {
                Some(n) if (lo..=hi).contains(&n) => Ok(n),
                _ => Err(src.err(
                    &v.span(),
                    field,
                    format!("'{i}' is out of range ({lo}-{hi})"),
                )),
            }
        }
        o => Err(src.err(
            &v.span(),
            field,
            format!("expected an integer, found {}", o.type_str()),
        )),
    }
}

/// `21`, `"21"` or `"1024-65535"`.
fn port_range(src: &Src<'_>, v: &V<'_>, field: &str) -> R<PortRange> {
    let text = match v.get_ref() {
        DeValue::Integer(i) => i.to_string(),
        DeValue::String(s) => s.to_string(),
        o => {
            return Err(src.err(
                &v.span(),
                field,
                format!(
                    "expected a port (21) or a port range (\"1024-65535\"), found {}",
                    o.type_str()
                ),
            ))
        }
    };
    text.parse::<PortRange>().map_err(|()| {
        let msg = if text.contains('-') && !text.starts_with('-') {
            format!("'{text}' is not a port range (N-M with 0 <= N <= M <= 65535)")
        } else {
            format!("'{text}' is not a port (0-65535)")
        };
        src.err(&v.span(), field, msg)
    })
}

/// `"tcp"`, `"17"` or `6`.
fn protocol(src: &Src<'_>, v: &V<'_>, field: &str) -> R<u8> {
    let text = match v.get_ref() {
        DeValue::Integer(i) => i.to_string(),
        DeValue::String(s) => s.to_string(),
        o => {
            return Err(src.err(
                &v.span(),
                field,
                format!("expected a protocol name or number, found {}", o.type_str()),
            ))
        }
    };
    protocol_number(&text).ok_or_else(|| {
        src.err(
            &v.span(),
            field,
            format!(
                "'{text}' is not an IP protocol (tcp, udp, icmp, icmp6, gre, esp, ah, sctp, \
                 igmp, ipip, ospf, pim, rsvp, egp, or a number 0-255)"
            ),
        )
    })
}

fn action(src: &Src<'_>, v: &V<'_>, field: &str) -> R<RuleAction> {
    let s = string(src, v, field)?;
    match s {
        "accept" => Ok(RuleAction::Accept),
        "discard" => Ok(RuleAction::Discard),
        "reject" => Ok(RuleAction::Reject),
        _ => Err(src.err(
            &v.span(),
            field,
            format!("'{s}' is not an action (accept, discard or reject)"),
        )),
    }
}

/// Junos-like interface name: letters, then `-F/P/N` or digits, then an optional `.unit`
/// (`ge-0/0/0.0`, `xe-1/2/3`, `et-0/0/0:1.100`, `ae0.0`).
pub(crate) fn valid_ifname(s: &str) -> bool {
    let (base, unit) = match s.rsplit_once('.') {
        Some((b, u)) => (b, Some(u)),
        None => (s, None),
    };
    if let Some(u) = unit {
        if u.is_empty() || u.len() > 5 || !u.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    let letters = base.bytes().take_while(u8::is_ascii_lowercase).count();
    if letters == 0 {
        return false;
    }
    let rest = &base[letters..];
    let nums = if let Some(r) = rest.strip_prefix('-') {
        // F/P/N with an optional :channel on the last part.
        let (r, chan) = match r.split_once(':') {
            Some((a, c)) => (a, Some(c)),
            None => (r, None),
        };
        if let Some(c) = chan {
            if c.is_empty() || !c.bytes().all(|b| b.is_ascii_digit()) {
                return false;
            }
        }
        r
    } else if rest.contains('/') {
        // Without a dash only `ae0`-style names: letters and one number.
        return false;
    } else {
        rest
    };
    !nums.is_empty()
        && nums
            .split('/')
            .all(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
}

fn resolve(base: &Path, s: &str) -> PathBuf {
    let p = Path::new(s);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

const TIMEOUT_KEYS: &[&str] = &[
    "tcp-syn",
    "tcp-established",
    "tcp-closing",
    "tcp-closed",
    "udp",
    "icmp",
    "other",
    "lifetime",
];

fn timeout_overrides(t: &Tab<'_, '_>) -> R<TimeoutOverrides> {
    Ok(TimeoutOverrides {
        tcp_syn: t.seconds("tcp-syn", 1, MAX_IDLE)?,
        tcp_established: t.seconds("tcp-established", 1, MAX_IDLE)?,
        tcp_closing: t.seconds("tcp-closing", 1, MAX_IDLE)?,
        tcp_closed: t.seconds("tcp-closed", 1, MAX_IDLE)?,
        udp: t.seconds("udp", 1, MAX_IDLE)?,
        icmp: t.seconds("icmp", 1, MAX_IDLE)?,
        other: t.seconds("other", 1, MAX_IDLE)?,
        lifetime: t.seconds("lifetime", 0, MAX_LIFETIME)?,
    })
}

/// Parses and validates `text`, the contents of `file`.
pub(crate) fn build(text: &str, file: &Path) -> R<Config> {
    let src = Src { text, file };
    let doc = DeTable::parse(text).map_err(|e| ConfigError {
        file: file.to_path_buf(),
        line: e.span().map_or(1, |s| src.line(s.start)),
        field: String::new(),
        message: e.message().to_string(),
    })?;
    let root_v: V<'_> = Spanned::new(doc.span(), DeValue::Table(doc.into_inner()));
    let root = Tab::of(
        &src,
        &root_v,
        String::new(),
        &[
            "card",
            "workers",
            "dpdk",
            "port",
            "service-set",
            "application",
            "timeouts",
            "limits",
            "alg",
        ],
    )?;
    let base = file.parent().unwrap_or(Path::new("")).to_path_buf();

    // [card]
    let mut card = Card::default();
    if let Some(t) = root.table(
        "card",
        &["fpc", "pic-base", "bundle", "member-prefix", "hostname"],
    )? {
        if let Some(n) = t.int("fpc", 0, 255)? {
            card.fpc = n as u8;
        }
        if let Some(n) = t.int("pic-base", 0, 255)? {
            card.pic_base = n as u8;
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

    // [workers]
    let mut workers = Workers::default();
    if let Some(t) = root.table("workers", &["count", "cores", "control-core", "burst"])? {
        if let Some(n) = t.int("count", 1, 1024)? {
            workers.count = n as u16;
        }
        for v in t.items("cores") {
            workers
                .cores
                .push(int(&src, v, &t.field("cores"), 0, 4095)? as usize);
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
        if let Some(n) = t.int("control-core", 0, 4095)? {
            workers.control_core = Some(n as usize);
        }
        if let Some(n) = t.int("burst", 1, i64::from(crate::MAX_BURST))? {
            workers.burst = n as u16;
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

    // [dpdk]
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
                .map(|v| string(&src, v, &t.field("eal-args")).map(str::to_string))
                .collect::<R<_>>()?;
        }
        if let Some(n) = t.int("mbufs", 1, i64::from(u32::MAX))? {
            dpdk.mbufs = n as u32;
        }
        if let Some(n) = t.int("mbuf-cache", 0, 512)? {
            dpdk.mbuf_cache = n as u32;
        }
        if let Some(n) = t.int("mbuf-data-room", 256, 65535)? {
            dpdk.mbuf_data_room = n as u16;
        }
        if let Some(n) = t.int("rx-desc", 1, 32768)? {
            dpdk.rx_desc = n as u16;
        }
        if let Some(n) = t.int("tx-desc", 1, 32768)? {
            dpdk.tx_desc = n as u16;
        }
    }

    // [[port]]
    let mut ports: Vec<Port> = Vec::new();
    let mut port_lines: Vec<usize> = Vec::new();
    let mut peers: Vec<(&str, Range<usize>, String)> = Vec::new();
    for t in root.tables("port", &["name", "dpdk", "pcap-rx", "pcap-tx", "peer"])? {
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
        let pcap_rx = t.word("pcap-rx")?.map(|(s, _)| resolve(&base, s));
        let pcap_tx = t.word("pcap-tx")?.map(|(s, _)| resolve(&base, s));
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
        if ports.len() >= usize::from(u16::MAX) {
            return Err(t.err(&span, "name", "too many ports"));
        }
        peers.push((peer, peer_span, t.field("peer")));
        port_lines.push(src.line(span.start));
        ports.push(Port {
            name: name.to_string(),
            dpdk,
            pcap_rx,
            pcap_tx,
            peer: 0,
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

    // [[application]]
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
        let proto = protocol(&src, t.req("protocol")?, &t.field("protocol"))?;
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
                port_range(&src, v, &t.field("destination-port"))?
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

    // [alg.NAME]
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
                if kind != AlgKind::Ftp {
                    return Err(t.err(
                        &t.get("loose").map(|v| v.span()).unwrap_or_default(),
                        "loose",
                        "only the ftp ALG has a loose mode (third-party PORT addresses)"
                            .to_string(),
                    ));
                }
                s.loose = b;
            }
            for v in t.items("ports") {
                let r = port_range(&src, v, &t.field("ports"))?;
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
            s.timeout = t.seconds("timeout", 1, MAX_IDLE)?;
            s.max_pinholes_per_conversation =
                t.seconds("max-pinholes-per-conversation", 1, i64::from(u32::MAX))?;
            s.max_conversations = t.seconds("max-conversations", 1, i64::from(u32::MAX))?;
            algs.settings[kind as usize] = s;
        }
    }

    // [timeouts]
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
        };
    }

    // [limits]
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
        if let Some(n) = t.int("max-sessions", 1, i64::from(u32::MAX))? {
            max_sessions = n as u32;
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

    // [[service-set]]
    let mut service_sets: Vec<ServiceSet> = Vec::new();
    let mut ss_lines: Vec<usize> = Vec::new();
    let mut port_ss: Vec<u16> = vec![crate::NONE; ports.len()];
    for t in root.tables(
        "service-set",
        &[
            "name",
            "ports",
            "rule",
            "default-action",
            "max-sessions",
            "timeouts",
        ],
    )? {
        let (name, span) = t.req_word("name")?;
        if let Some(i) = service_sets.iter().position(|s| s.name == name) {
            return Err(t.err(
                &span,
                "name",
                format!(
                    "duplicate service set '{name}' (first defined on line {})",
                    ss_lines[i]
                ),
            ));
        }
        if service_sets.len() >= usize::from(u16::MAX) {
            return Err(t.err(&span, "name", "too many service sets"));
        }
        let ss = service_sets.len() as u16;
        let mut members = Vec::new();
        for v in t.items("ports") {
            let field = t.field("ports");
            let p = string(&src, v, &field)?;
            let Some(i) = ports.iter().position(|x| x.name == p) else {
                return Err(src.err(
                    &v.span(),
                    &field,
                    format!("unknown port '{p}' (no [[port]] has that name)"),
                ));
            };
            if port_ss[i] == ss {
                return Err(src.err(&v.span(), &field, format!("port '{p}' is listed twice")));
            }
            if port_ss[i] != crate::NONE {
                return Err(src.err(
                    &v.span(),
                    &field,
                    format!(
                        "port '{p}' is already in service set '{}' (a port belongs to at most \
                         one service set)",
                        service_sets[usize::from(port_ss[i])].name
                    ),
                ));
            }
            port_ss[i] = ss;
            members.push(i);
        }
        let default_action = match t.get("default-action") {
            None => RuleAction::Discard,
            Some(v) => action(&src, v, &t.field("default-action"))?,
        };
        let max = match t.get("max-sessions") {
            None => None,
            Some(v) => Some(int(
                &src,
                v,
                &t.field("max-sessions"),
                1,
                i64::from(limits.max_sessions),
            )? as u32),
        };
        let overrides = match t.table("timeouts", TIMEOUT_KEYS)? {
            None => TimeoutOverrides::default(),
            Some(tt) => timeout_overrides(&tt)?,
        };
        let mut rules: Vec<Rule> = Vec::new();
        let mut rule_lines: Vec<usize> = Vec::new();
        for r in t.tables(
            "rule",
            &[
                "name",
                "source",
                "destination",
                "protocol",
                "source-port",
                "destination-port",
                "application",
                "action",
            ],
        )? {
            let (rname, rspan) = r.req_word("name")?;
            if let Some(i) = rules.iter().position(|x| x.name == rname) {
                return Err(r.err(
                    &rspan,
                    "name",
                    format!(
                        "duplicate rule '{rname}' in service set '{name}' (first defined on line {})",
                        rule_lines[i]
                    ),
                ));
            }
            if rules.len() >= usize::from(u16::MAX - 1) {
                return Err(r.err(&rspan, "name", "too many rules"));
            }
            let prefixes = |key: &str| -> R<Vec<Prefix>> {
                r.items(key)
                    .into_iter()
                    .map(|v| {
                        let field = r.field(key);
                        let s = string(&src, v, &field)?;
                        s.parse::<Prefix>().map_err(|e| {
                            src.err(&v.span(), &field, format!("'{s}' is not a prefix: {e}"))
                        })
                    })
                    .collect()
            };
            let ranges = |key: &str| -> R<Vec<PortRange>> {
                r.items(key)
                    .into_iter()
                    .map(|v| port_range(&src, v, &r.field(key)))
                    .collect()
            };
            let source = prefixes("source")?;
            let destination = prefixes("destination")?;
            let proto = match r.get("protocol") {
                None => None,
                Some(v) => Some(protocol(&src, v, &r.field("protocol"))?),
            };
            let source_ports = ranges("source-port")?;
            let destination_ports = ranges("destination-port")?;
            let mut apps = Vec::new();
            for v in r.items("application") {
                let field = r.field("application");
                let a = string(&src, v, &field)?;
                let Some(i) = applications.iter().position(|x| x.name == a) else {
                    return Err(src.err(&v.span(), &field, format!("unknown application '{a}'")));
                };
                apps.push(i as u16);
            }
            let act = action(&src, r.req("action")?, &r.field("action"))?;
            rule_lines.push(src.line(rspan.start));
            rules.push(Rule {
                name: rname.to_string(),
                index: rules.len() as u16 + 1,
                source,
                destination,
                protocol: proto,
                source_ports,
                destination_ports,
                applications: apps,
                action: act,
            });
        }
        ss_lines.push(src.line(span.start));
        service_sets.push(ServiceSet {
            name: name.to_string(),
            ports: members,
            rules,
            default_action,
            max_sessions: max,
            timeouts: overrides,
        });
    }

    Ok(Config::assemble(
        file.to_path_buf(),
        card,
        workers,
        dpdk,
        ports,
        service_sets,
        applications,
        timeouts,
        limits,
        algs,
        port_ss,
    ))
}

fn alg_names() -> Vec<&'static str> {
    AlgKind::ALL.iter().map(|k| k.junos_name()).collect()
}

/// Reading a configuration: the entry points, here beside the parser they call.
impl Config {
    /// Parses and validates a configuration; `file` names it in errors and is the base of
    /// relative paths.
    ///
    /// # Errors
    /// The first problem found, as `file:line: field: message`.
    pub fn from_toml_str(text: &str, file: &Path) -> Result<Config, ConfigError> {
        build(text, file)
    }

    /// Reads, parses and validates the configuration file at `path`.
    ///
    /// # Errors
    /// The file cannot be read, or [`Config::from_toml_str`] fails.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            line: 0,
            field: String::new(),
            message: format!("cannot read: {e}"),
        })?;
        Config::from_toml_str(&text, path)
    }
}

#[cfg(test)]
mod tests {
    use super::valid_ifname;

    #[test]
    fn interface_names() {
        for ok in [
            "ge-0/0/0.0",
            "xe-1/2/3",
            "et-0/0/0:1.100",
            "ae0.0",
            "ae0",
            "ge-0/0/1",
        ] {
            assert!(valid_ifname(ok), "{ok}");
        }
        for bad in [
            "",
            "ge",
            "ge-",
            "ge-0//0",
            "ge-0/0/0.",
            "GE-0/0/0",
            "0/0/0",
            "ge-a/0/0",
            "ge 0/0/0",
            "ge-0/0/0.x",
            "eth0/1",
        ] {
            assert!(!valid_ifname(bad), "{bad}");
        }
    }
}

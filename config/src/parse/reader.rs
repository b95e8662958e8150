//! Reading TOML with line-precise errors: the source ([`Src`]: lines of byte offsets),
//! tables that refuse unknown keys ([`Tab`]), and typed readers of values (strings, integers
//! in a range, ports and port ranges, protocols, actions, interface names, timeouts).

use core::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::app::{protocol_number, AlgKind, PortRange};
use crate::{ConfigError, RuleAction, TimeoutOverrides};

pub(super) type V<'i> = Spanned<DeValue<'i>>;
pub(super) type R<T> = Result<T, ConfigError>;

/// Longest idle timeout accepted, in seconds (one day, as Junos `inactivity-timeout`).
pub(super) const MAX_IDLE: i64 = 86_400;
/// Longest absolute session lifetime accepted, in seconds (one year).
pub(super) const MAX_LIFETIME: i64 = 31_536_000;

pub(super) struct Src<'a> {
    pub(super) text: &'a str,
    pub(super) file: &'a Path,
}

impl Src<'_> {
    pub(super) fn line(&self, off: usize) -> usize {
        let off = off.min(self.text.len());
        self.text.as_bytes()[..off]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    pub(super) fn err(
        &self,
        span: &Range<usize>,
        field: &str,
        msg: impl Into<String>,
    ) -> ConfigError {
        ConfigError {
            file: self.file.to_path_buf(),
            line: self.line(span.start),
            field: field.to_string(),
            message: msg.into(),
        }
    }
}

/// A table being read: knows its path (`service-set[0].rule[2]`) and span.
pub(super) struct Tab<'a, 'i> {
    pub(super) src: &'a Src<'a>,
    pub(super) t: &'a DeTable<'i>,
    pub(super) span: Range<usize>,
    pub(super) path: String,
}

pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

impl<'a, 'i> Tab<'a, 'i> {
    /// Reads `v` as a table whose keys must all be in `known` (unknown keys are errors at
    /// the line of the key; the first one in the file is reported).
    pub(super) fn of(src: &'a Src<'a>, v: &'a V<'i>, path: String, known: &[&str]) -> R<Self> {
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

    pub(super) fn field(&self, key: &str) -> String {
        join(&self.path, key)
    }

    pub(super) fn get(&self, key: &str) -> Option<&'a V<'i>> {
        self.t.get(key)
    }

    pub(super) fn req(&self, key: &str) -> R<&'a V<'i>> {
        self.get(key).ok_or_else(|| {
            self.src
                .err(&self.span, &self.field(key), "missing required field")
        })
    }

    pub(super) fn int(&self, key: &str, lo: i64, hi: i64) -> R<Option<i64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => int(self.src, v, &self.field(key), lo, hi).map(Some),
        }
    }

    /// [`int`](Self::int) as the type its field has (`lo..=hi` must fit it).
    pub(super) fn num<T: TryFrom<i64>>(&self, key: &str, lo: i64, hi: i64) -> R<Option<T>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => int_as(self.src, v, &self.field(key), lo, hi).map(Some),
        }
    }

    pub(super) fn seconds(&self, key: &str, lo: i64, hi: i64) -> R<Option<u32>> {
        self.num(key, lo, hi)
    }

    pub(super) fn boolean(&self, key: &str) -> R<Option<bool>> {
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

    pub(super) fn string(&self, key: &str) -> R<Option<(&'a str, Range<usize>)>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => Ok(Some((string(self.src, v, &self.field(key))?, v.span()))),
        }
    }

    /// A non-empty string without whitespace.
    pub(super) fn word(&self, key: &str) -> R<Option<(&'a str, Range<usize>)>> {
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

    pub(super) fn req_word(&self, key: &str) -> R<(&'a str, Range<usize>)> {
        self.req(key)?;
        Ok(self.word(key)?.expect("present"))
    }

    /// An array of tables (`[[key]]`), each checked against `known`.
    pub(super) fn tables(&self, key: &str, known: &[&str]) -> R<Vec<Tab<'a, 'i>>> {
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

    pub(super) fn table(&self, key: &str, known: &[&str]) -> R<Option<Tab<'a, 'i>>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => Tab::of(self.src, v, self.field(key), known).map(Some),
        }
    }

    /// The elements of a list field (a single value counts as a one-element list).
    pub(super) fn items(&self, key: &str) -> Vec<&'a V<'i>> {
        match self.get(key) {
            None => Vec::new(),
            Some(v) => match v.get_ref() {
                DeValue::Array(a) => a.iter().collect(),
                _ => vec![v],
            },
        }
    }

    pub(super) fn err(
        &self,
        span: &Range<usize>,
        key: &str,
        msg: impl Into<String>,
    ) -> ConfigError {
        self.src.err(span, &self.field(key), msg)
    }
}

pub(super) fn string<'a>(src: &Src<'_>, v: &'a V<'_>, field: &str) -> R<&'a str> {
    match v.get_ref() {
        DeValue::String(s) => Ok(s.as_ref()),
        o => Err(src.err(
            &v.span(),
            field,
            format!("expected a string, found {}", o.type_str()),
        )),
    }
}

pub(super) fn int(src: &Src<'_>, v: &V<'_>, field: &str, lo: i64, hi: i64) -> R<i64> {
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

/// [`int`] as the type its field has: a value that does not fit is out of range like any
/// other (the bounds are the field's, so it never happens with bounds that fit).
pub(super) fn int_as<T: TryFrom<i64>>(
    src: &Src<'_>,
    v: &V<'_>,
    field: &str,
    lo: i64,
    hi: i64,
) -> R<T> {
    let n = int(src, v, field, lo, hi)?;
    T::try_from(n).map_err(|_| {
        src.err(
            &v.span(),
            field,
            format!("'{n}' is out of range ({lo}-{hi})"),
        )
    })
}

/// `21`, `"21"` or `"1024-65535"`.
pub(super) fn port_range(src: &Src<'_>, v: &V<'_>, field: &str) -> R<PortRange> {
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
pub(super) fn protocol(src: &Src<'_>, v: &V<'_>, field: &str) -> R<u8> {
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

pub(super) fn action(src: &Src<'_>, v: &V<'_>, field: &str) -> R<RuleAction> {
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

pub(super) fn resolve(base: &Path, s: &str) -> PathBuf {
    let p = Path::new(s);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

pub(super) const TIMEOUT_KEYS: &[&str] = &[
    "tcp-syn",
    "tcp-established",
    "tcp-closing",
    "tcp-closed",
    "udp",
    "icmp",
    "other",
    "lifetime",
];

pub(super) fn timeout_overrides(t: &Tab<'_, '_>) -> R<TimeoutOverrides> {
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

pub(super) fn alg_names() -> Vec<&'static str> {
    AlgKind::ALL.iter().map(|k| k.junos_name()).collect()
}

/// A list field of prefixes (`source = ["10.0.0.0/8"]`), each error at its own value.
pub(super) fn prefixes(src: &Src<'_>, t: &Tab<'_, '_>, key: &str) -> R<Vec<crate::Prefix>> {
    t.items(key)
        .into_iter()
        .map(|v| {
            let field = t.field(key);
            let s = string(src, v, &field)?;
            s.parse::<crate::Prefix>()
                .map_err(|e| src.err(&v.span(), &field, format!("'{s}' is not a prefix: {e}")))
        })
        .collect()
}

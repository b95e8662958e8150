//! IP address prefixes (`10.0.0.0/8`, `2001:db8::/32`), parsed strictly.

use core::net::IpAddr;

/// An address prefix (`10.0.0.0/8`, `2001:db8::/32`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Prefix {
    /// The network address.
    pub addr: IpAddr,
    /// Prefix length.
    pub len: u8,
}

/// Why a prefix did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    /// Not an address.
    #[error("invalid address '{0}'")]
    Address(String),
    /// Length not a number or too long for the family.
    #[error("invalid prefix length '{0}'")]
    Length(String),
}

impl core::str::FromStr for Prefix {
    type Err = PrefixError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (a, l) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().map_err(|_| PrefixError::Address(a.to_string()))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match l {
            None => max,
            Some(l) => {
                if l.is_empty() || !l.bytes().all(|b| b.is_ascii_digit()) || l.len() > 3 {
                    return Err(PrefixError::Length(l.to_string()));
                }
                let n: u8 = l.parse().map_err(|_| PrefixError::Length(l.to_string()))?;
                if n > max {
                    return Err(PrefixError::Length(l.to_string()));
                }
                n
            }
        };
        Ok(Prefix { addr, len })
    }
}

impl core::fmt::Display for Prefix {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl Prefix {
    /// True when `a` lies inside the prefix (families must agree).
    #[must_use]
    pub fn contains(&self, a: IpAddr) -> bool {
        if self.addr.is_ipv4() != a.is_ipv4() {
            return false;
        }
        let n = slot(self.addr);
        let x = slot(a);
        let full = usize::from(self.len / 8);
        if n[..full] != x[..full] {
            return false;
        }
        let rem = self.len % 8;
        if rem == 0 {
            return true;
        }
        let mask = 0xffu8 << (8 - rem);
        (n[full] & mask) == (x[full] & mask)
    }
}

fn slot(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(v4) => {
            let mut s = [0u8; 16];
            s[..4].copy_from_slice(&v4.octets());
            s
        }
        IpAddr::V6(v6) => v6.octets(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn prefixes_parse_strictly_and_match() {
        let p: Prefix = "10.1.0.0/16".parse().unwrap();
        assert!(p.contains("10.1.200.3".parse().unwrap()));
        assert!(!p.contains("10.2.0.1".parse().unwrap()));
        assert!(!p.contains("::1".parse().unwrap()));
        let q: Prefix = "10.1.2.3/20".parse().unwrap();
        assert!(q.contains("10.1.15.255".parse().unwrap()));
        assert!(!q.contains("10.1.16.0".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Prefix>().is_err());
        assert!("10.0.0/8".parse::<Prefix>().is_err());
        assert!("10.0.0.0/+8".parse::<Prefix>().is_err());
        let h: Prefix = "2001:db8::1".parse().unwrap();
        assert_eq!(h.len, 128);
        assert!(h.contains("2001:db8::1".parse().unwrap()));
    }
}

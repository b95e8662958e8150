//! The Linux kernel's forwarding path with nftables connection tracking as a peer
//! (`--peer nft-ct`): what a Linux router or firewall does with the same capture.
//!
//! Three network namespaces of the run's own, joined by veth pairs:
//!
//! ```text
//!  gen ns: testpmd (net_pcap, infinite_rx) ─g0══r0─ router ns ─r1══s0─ sink ns
//!          on the generator's CPU               ip_forward, nftables      counts s0's
//!          (`mac` mode: each frame to r0's MAC)  ct state new,established  received packets
//!                                                accept; RPS on r0 to the
//!                                                forwarding CPU
//! ```
//!
//! The generator is testpmd replaying the capture from memory into an `af_packet` port on
//! `g0`; the kernel receives on `r0` with RPS steering it to the forwarding CPU (lcore 1,
//! as testpmd's, OVS's and svcard's forwarding), where it runs conntrack, the nftables
//! forward chain (connections in state new or established accepted, the rest dropped), the
//! route to the sink and the veth to it. The rate is the sink's received packets, read
//! once a second; the connection count is the router namespace's `nf_conntrack_count`.
//! The offered rate (the generator's) is kept beside it: when the kernel keeps up with
//! the generator, the generator was the limit and the report says so.
//!
//! Conntrack's table size is global (`nf_conntrack_max`, the `hashsize` parameter): it is
//! raised to the flow count for the run and put back afterwards. Everything is ended and
//! removed when [`Nft`] drops: the generator by its PID, the namespaces (and so the veths)
//! by name, the settings restored.

use anyhow::{bail, Context as _, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The program that sets rules.
pub const NFT: &str = "/usr/sbin/nft";
/// What the bench tells the user when nftables is missing.
pub const NFT_MISSING: &str = "nftables is not installed (Debian: apt-get install nftables; \
     svcard's CI installs it with its packages)";
/// The router's receiving port's MAC: the generator sends every frame to it.
pub const ROUTER_MAC: &str = "02:00:00:00:00:fe";
/// The sink port's MAC (a permanent neighbour of the router, so no ARP is in the way).
pub const SINK_MAC: &str = "02:00:00:00:00:fd";
/// The router's and the sink's addresses on their link.
pub const ROUTER_ADDR: &str = "192.168.250.1/30";
/// The sink's address: the next hop of every route.
pub const SINK_ADDR: &str = "192.168.250.2";
/// The destinations the capture's frames go to (clients and servers): routed to the sink.
pub const ROUTES: [&str; 2] = ["10.0.0.0/8", "198.18.0.0/15"];
/// The router's and the sink's IPv6 addresses on their link.
pub const ROUTER_ADDR6: &str = "fd00:250::1/64";
/// The sink's IPv6 address: the next hop of the IPv6 route.
pub const SINK_ADDR6: &str = "fd00:250::2";
/// The IPv6 clients and servers of the recipes (2001:db8:1::/64, 2001:db8:2::/64).
pub const ROUTE6: &str = "2001:db8::/32";
/// The VLAN of the tagged frames of the mix ([`crate::recipes::MIX_VLAN`]): a unit of its
/// own on the router's receiving port.
pub const VLAN: u16 = crate::recipes::MIX_VLAN;
/// The nftables table the peer adds in its router namespace.
pub const TABLE: &str = "svbench";

/// Whether the kernel has 802.1Q VLANs (built in or loaded: `/proc/net/vlan`).
#[must_use]
pub fn kernel_has_vlan() -> bool {
    Path::new("/proc/net/vlan").exists()
}

/// What the peer's note says where the kernel has no 802.1Q and the capture has tagged
/// frames.
pub const NO_VLAN: &str = "this kernel has no 802.1Q VLANs, so the kernel drops the \
     capture's tagged frames";

/// Whether nftables is installed.
#[must_use]
pub fn installed() -> bool {
    Path::new(NFT).is_file()
}

/// The peer's namespaces (its links are named inside them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NftNames {
    /// The generator's namespace.
    pub gen: String,
    /// The router's.
    pub router: String,
    /// The sink's.
    pub sink: String,
}

impl NftNames {
    /// Names made from a tag unique to the run.
    #[must_use]
    pub fn new(tag: &str) -> Self {
        Self {
            gen: format!("{tag}-g"),
            router: format!("{tag}-r"),
            sink: format!("{tag}-s"),
        }
    }
    /// All three, in the order they are made.
    #[must_use]
    pub fn all(&self) -> [&str; 3] {
        [&self.gen, &self.router, &self.sink]
    }
}

pub use super::process::Step;

fn ip_in(ns: &str, args: &[&str]) -> Step {
    let mut a = vec!["-n".to_string(), ns.to_string()];
    a.extend(args.iter().map(|x| (*x).to_string()));
    ("ip".into(), a)
}

fn exec_in(ns: &str, args: &[&str]) -> Step {
    let mut a = vec!["netns".to_string(), "exec".into(), ns.to_string()];
    a.extend(args.iter().map(|x| (*x).to_string()));
    ("ip".into(), a)
}

/// The commands that build the path, in order: the namespaces, the two veth pairs, the
/// router's forwarding of IPv4 and IPv6, untagged and on the mix's VLAN (RPS of `r0` to
/// CPU `fwd_cpu`, no reverse-path filter, routes to the sink through permanent
/// neighbours) and its nftables forward chain.
/// Without `vlan` (a kernel without 802.1Q) there is no VLAN unit, and tagged frames are
/// dropped before IP.
#[must_use]
pub fn setup_steps(n: &NftNames, fwd_cpu: u32, vlan: bool) -> Vec<Step> {
    let (g, r, s) = (n.gen.as_str(), n.router.as_str(), n.sink.as_str());
    let mut v: Vec<Step> = n
        .all()
        .iter()
        .map(|ns| {
            (
                "ip".to_string(),
                vec!["netns".into(), "add".into(), (*ns).to_string()],
            )
        })
        .collect();
    v.extend([
        ip_in(
            g,
            &[
                "link", "add", "g0", "type", "veth", "peer", "name", "r0", "netns", r,
            ],
        ),
        ip_in(
            r,
            &[
                "link", "add", "r1", "type", "veth", "peer", "name", "s0", "netns", s,
            ],
        ),
        ip_in(r, &["link", "set", "r0", "address", ROUTER_MAC]),
        ip_in(s, &["link", "set", "s0", "address", SINK_MAC]),
        ip_in(r, &["addr", "add", ROUTER_ADDR, "dev", "r1"]),
        ip_in(s, &["addr", "add", &format!("{SINK_ADDR}/30"), "dev", "s0"]),
        ip_in(r, &["addr", "add", ROUTER_ADDR6, "dev", "r1", "nodad"]),
        ip_in(
            s,
            &[
                "addr",
                "add",
                &format!("{SINK_ADDR6}/64"),
                "dev",
                "s0",
                "nodad",
            ],
        ),
    ]);
    let mut up = vec![(g, "g0"), (r, "lo"), (r, "r0"), (r, "r1"), (s, "s0")];
    if vlan {
        let id = VLAN.to_string();
        v.push(ip_in(
            r,
            &[
                "link", "add", "link", "r0", "name", "r0.v", "type", "vlan", "id", &id,
            ],
        ));
        up.push((r, "r0.v"));
    }
    for (ns, dev) in up {
        v.push(ip_in(ns, &["link", "set", dev, "up"]));
    }
    v.push(exec_in(
        r,
        &[
            "sysctl",
            "-qw",
            "net.ipv4.ip_forward=1",
            "net.ipv4.conf.all.rp_filter=0",
            "net.ipv4.conf.r0.rp_filter=0",
            "net.ipv4.conf.r1.rp_filter=0",
            "net.ipv6.conf.all.forwarding=1",
        ],
    ));
    if vlan {
        v.push(exec_in(
            r,
            &["sysctl", "-qw", "net.ipv4.conf.r0/v.rp_filter=0"],
        ));
    }
    v.push(exec_in(
        r,
        &[
            "sh",
            "-c",
            &format!(
                "echo {:x} > /sys/class/net/r0/queues/rx-0/rps_cpus",
                1u64 << fwd_cpu
            ),
        ],
    ));
    // The sink is a permanent neighbour for each family: no ARP or ND in the way.
    for (family, addr) in [("-4", SINK_ADDR), ("-6", SINK_ADDR6)] {
        v.push(ip_in(
            r,
            &[
                family,
                "neigh",
                "replace",
                addr,
                "lladdr",
                SINK_MAC,
                "dev",
                "r1",
                "nud",
                "permanent",
            ],
        ));
    }
    for dst in ROUTES {
        v.push(ip_in(
            r,
            &["route", "add", dst, "via", SINK_ADDR, "dev", "r1"],
        ));
    }
    v.push(ip_in(
        r,
        &["-6", "route", "add", ROUTE6, "via", SINK_ADDR6, "dev", "r1"],
    ));
    let nft = |args: &[&str]| {
        let mut a = vec![NFT];
        a.extend_from_slice(args);
        exec_in(r, &a)
    };
    v.push(nft(&["add", "table", "inet", TABLE]));
    v.push(nft(&[
        "add",
        "chain",
        "inet",
        TABLE,
        "forward",
        "{ type filter hook forward priority 0 ; policy drop ; }",
    ]));
    v.push(nft(&[
        "add",
        "rule",
        "inet",
        TABLE,
        "forward",
        "ct",
        "state",
        "new,established",
        "accept",
    ]));
    v
}

/// The `af_packet` port's frame slot for frames up to `max_len` bytes, and the mbuf data
/// room its receive queue then asks for: the slot holds the frame and the packet socket's
/// headers (`tpacket2_hdr` and `sockaddr_ll`, 52 bytes), a power of two so that it divides
/// the 4 KiB block; the PMD wants what a slot can carry to fit in an mbuf beside its
/// 128-byte headroom.
#[must_use]
pub fn af_packet_frame(max_len: usize) -> (u32, u32) {
    let slot = (max_len as u32 + 52).next_power_of_two().max(128);
    (slot, slot + 128)
}

/// The generator: testpmd in the generator's namespace, both its lcores on CPU `cpu`,
/// replaying `capture` from memory (`net_pcap`, `infinite_rx`) into an `af_packet` port on
/// `g0` in `mac` mode (each frame's destination rewritten to the router's MAC).
#[must_use]
pub fn generator_args(
    testpmd: &Path,
    ns: &str,
    capture: &Path,
    cpu: u32,
    framesz: u32,
    eal_memory: &[String],
    pool: &[String],
) -> Vec<String> {
    let mut a: Vec<String> = vec![
        "netns".into(),
        "exec".into(),
        ns.into(),
        testpmd.display().to_string(),
        format!("--lcores=0@{cpu},1@{cpu}"),
    ];
    a.extend_from_slice(eal_memory);
    a.extend([
        "--no-pci".into(),
        "--no-shconf".into(),
        "--no-telemetry".into(),
        format!(
            "--vdev=net_pcap0,rx_pcap={},infinite_rx=1",
            capture.display()
        ),
        format!(
            "--vdev=net_af_packet0,iface=g0,qpairs=1,blocksz=4096,framesz={framesz},framecnt=4096"
        ),
        "--".into(),
        "--forward-mode=mac".into(),
        format!("--eth-peer=1,{ROUTER_MAC}"),
    ]);
    a.extend_from_slice(pool);
    a.extend(["--stats-period=1".into(), "--nb-cores=1".into()]);
    a
}

/// The received packets of `dev` from `ip -s -j link show dev` (its `stats64.rx.packets`).
#[must_use]
pub fn parse_rx_packets(json: &str) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    v.get(0)?
        .get("stats64")?
        .get("rx")?
        .get("packets")?
        .as_u64()
}

/// Runs `step`, failing with its output.
///
/// # Errors
/// It could not start or exited with an error.
pub fn run_step((prog, args): &Step) -> Result<String> {
    let o = Command::new(prog)
        .args(args)
        .output()
        .with_context(|| prog.clone())?;
    if !o.status.success() {
        bail!(
            "{prog} {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr).trim(),
            String::from_utf8_lossy(&o.stdout).trim()
        );
    }
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

/// A global setting raised for the run, and its value before.
#[derive(Debug)]
struct Raised {
    path: PathBuf,
    before: String,
}

/// The peer's path, built: the namespaces are deleted and the settings put back when it
/// drops (the generator, a process of the caller's, is ended before by its PID).
#[derive(Debug)]
pub struct Nft {
    /// Its namespaces.
    pub names: NftNames,
    raised: Vec<Raised>,
}

impl Nft {
    /// Builds the path ([`setup_steps`]) with conntrack room for `connections`; what was
    /// made is removed again on a failure.
    ///
    /// # Errors
    /// nftables is missing; a step failed.
    pub fn start(names: NftNames, fwd_cpu: u32, connections: u64) -> Result<Self> {
        if !installed() {
            bail!("{NFT_MISSING}");
        }
        let mut nft = Nft {
            names,
            raised: Vec::new(),
        };
        // Room in conntrack for every flow, and a bucket per connection (the kernel's
        // default is far smaller on a small machine).
        let want = connections.saturating_mul(2).max(65_536);
        nft.raise("/proc/sys/net/netfilter/nf_conntrack_max", want)?;
        nft.raise(
            "/sys/module/nf_conntrack/parameters/hashsize",
            connections.next_power_of_two().max(16_384),
        )?;
        for step in setup_steps(&nft.names, fwd_cpu, kernel_has_vlan()) {
            run_step(&step)?;
        }
        Ok(nft)
    }

    /// Sets a global number to at least `want`, remembering the value before.
    fn raise(&mut self, path: &str, want: u64) -> Result<()> {
        let path = PathBuf::from(path);
        let before = std::fs::read_to_string(&path)
            .with_context(|| path.display().to_string())?
            .trim()
            .to_string();
        if before.parse::<u64>().is_ok_and(|b| b >= want) {
            return Ok(());
        }
        std::fs::write(&path, want.to_string())
            .with_context(|| format!("{} = {want}", path.display()))?;
        self.raised.push(Raised { path, before });
        Ok(())
    }

    /// The packets the sink has received.
    ///
    /// # Errors
    /// `ip` failed or printed no count.
    pub fn sink_packets(&self) -> Result<u64> {
        let out = run_step(&ip_in(
            &self.names.sink,
            &["-s", "-j", "link", "show", "s0"],
        ))?;
        parse_rx_packets(&out).with_context(|| format!("no rx packets in: {out}"))
    }

    /// The router namespace's conntrack entries.
    ///
    /// # Errors
    /// The count could not be read.
    pub fn conntrack(&self) -> Result<u64> {
        let out = run_step(&exec_in(
            &self.names.router,
            &["cat", "/proc/sys/net/netfilter/nf_conntrack_count"],
        ))?;
        out.trim()
            .parse()
            .with_context(|| format!("nf_conntrack_count: {out}"))
    }
}

impl Drop for Nft {
    fn drop(&mut self) {
        for ns in self.names.all().iter().rev() {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(std::process::Stdio::null())
                .status();
        }
        for r in self.raised.iter().rev() {
            let _ = std::fs::write(&r.path, &r.before);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .map(|(p, a)| format!("{p} {}", a.join(" ")))
            .collect()
    }

    /// The path: three namespaces of the run, two veth pairs, forwarding with RPS to the
    /// forwarding CPU, routes to the sink through a permanent neighbour, and a forward
    /// chain that drops what conntrack does not take as new or established.
    #[test]
    fn the_steps_build_a_private_routed_path_with_conntrack() {
        let n = NftNames::new("svb9");
        let l = lines(&setup_steps(&n, 1, true));
        let text = l.join("\n");
        assert_eq!(
            &l[..3],
            [
                "ip netns add svb9-g",
                "ip netns add svb9-r",
                "ip netns add svb9-s"
            ]
        );
        for want in [
            "ip -n svb9-g link add g0 type veth peer name r0 netns svb9-r",
            "ip -n svb9-r link add r1 type veth peer name s0 netns svb9-s",
            "ip -n svb9-r link set r0 address 02:00:00:00:00:fe",
            "ip netns exec svb9-r sysctl -qw net.ipv4.ip_forward=1",
            "echo 2 > /sys/class/net/r0/queues/rx-0/rps_cpus",
            "ip -n svb9-r -4 neigh replace 192.168.250.2 lladdr 02:00:00:00:00:fd dev r1 nud permanent",
            "ip -n svb9-r -6 neigh replace fd00:250::2 lladdr 02:00:00:00:00:fd dev r1 nud permanent",
            "ip -n svb9-r route add 10.0.0.0/8 via 192.168.250.2 dev r1",
            "ip -n svb9-r route add 198.18.0.0/15 via 192.168.250.2 dev r1",
            "ip -n svb9-r -6 route add 2001:db8::/32 via fd00:250::2 dev r1",
            "ip -n svb9-r link add link r0 name r0.v type vlan id 100",
            "net.ipv6.conf.all.forwarding=1",
            "ip netns exec svb9-r /usr/sbin/nft add chain inet svbench forward { type filter hook forward priority 0 ; policy drop ; }",
            "ip netns exec svb9-r /usr/sbin/nft add rule inet svbench forward ct state new,established accept",
        ] {
            assert!(text.contains(want), "{want}:\n{text}");
        }
        // Every command names one of the run's namespaces (nothing in the host's).
        for s in &l {
            assert!(s.contains("svb9-"), "{s}");
        }
        assert!(lines(&setup_steps(&n, 0, true))
            .join("\n")
            .contains("echo 1 > "));
        // Without 802.1Q: no unit.
        let text = lines(&setup_steps(&n, 1, false)).join("\n");
        assert!(!text.contains("vlan") && !text.contains("r0/v"), "{text}");
    }

    #[test]
    fn the_generator_runs_in_its_namespace_on_one_cpu_towards_the_router() {
        let a = generator_args(
            Path::new("/usr/bin/dpdk-testpmd"),
            "svb9-g",
            Path::new("/w/c.pcap"),
            0,
            128,
            &["--no-huge".into(), "-m".into(), "512".into()],
            &["--total-num-mbufs=9000".into()],
        )
        .join(" ");
        assert!(
            a.starts_with(
                "netns exec svb9-g /usr/bin/dpdk-testpmd --lcores=0@0,1@0 --no-huge -m 512 "
            ),
            "{a}"
        );
        for want in [
            "--vdev=net_pcap0,rx_pcap=/w/c.pcap,infinite_rx=1",
            "--vdev=net_af_packet0,iface=g0,qpairs=1,blocksz=4096,framesz=128,framecnt=4096",
            "--forward-mode=mac",
            "--eth-peer=1,02:00:00:00:00:fe",
            "--total-num-mbufs=9000",
        ] {
            assert!(a.contains(want), "{want}: {a}");
        }
    }

    /// A 64-byte frame fits a 128-byte slot (and a 256-byte mbuf), a tagged IPv6 TCP one
    /// of 78 bytes needs 256; a full frame 2 KiB.
    #[test]
    fn af_packet_slots_hold_the_frames_and_fit_the_mbufs() {
        assert_eq!(af_packet_frame(60), (128, 256));
        assert_eq!(af_packet_frame(78), (256, 384));
        assert_eq!(af_packet_frame(1514), (2048, 2176));
        for len in [60, 78, 200, 1514] {
            let (slot, room) = af_packet_frame(len);
            assert!(slot as usize >= len + 52 && 4096 % slot == 0);
            assert!(slot - 52 <= room - 128);
        }
    }

    #[test]
    fn sink_counts_parse() {
        let j = r#"[{"ifindex":2,"ifname":"s0","stats64":{"rx":{"bytes":600,"packets":10,"errors":0},"tx":{"bytes":0,"packets":0}}}]"#;
        assert_eq!(parse_rx_packets(j), Some(10));
        assert_eq!(parse_rx_packets("[]"), None);
        assert_eq!(parse_rx_packets("not json"), None);
    }
}

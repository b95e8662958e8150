//! The DPDK layer on virtual devices: replay a capture through `net_pcap0`, transmit it back
//! to `net_pcap0`'s TX capture, and compare byte for byte; negative cases for the EAL, pools,
//! ports and queues. One EAL per process, so everything is in one test.
//!
//! `CARGO_TARGET_DIR=/work/tgt/dpdk cargo test -p svcard-dataplane --features dpdk --test dpdk_vdev`
#![cfg(feature = "dpdk")]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use svcard_config::{PortId, QueueId, WorkerId};

use svcard_dataplane::port::dpdk::{
    self, DpdkError, DpdkLink, DpdkQueues, Eal, EthPort, Mempool, PortConfig,
};
use svcard_dataplane::port::{Burst, PacketBuf, PortIo};

const FRAMES: usize = 100;

/// A temporary directory removed on drop (also when the test panics).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let p = std::env::temp_dir().join(format!("svcard-dpdk-vdev-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Ethernet + IPv4 + UDP, 60 bytes, source port `10000 + i`.
fn udp_frame(i: usize) -> Vec<u8> {
    let sport = 10000 + i as u16;
    let mut f = Vec::with_capacity(60);
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x02]); // dst MAC
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x01]); // src MAC
    f.extend_from_slice(&[0x08, 0x00]); // IPv4
    let mut ip = [
        0x45, 0x00, 0x00, 46, // v4, ihl 5, total length 46
        0x00, i as u8, 0x40, 0x00, // id, DF
        64, 17, 0x00, 0x00, // ttl, UDP, checksum (below)
        10, 0, 0, 1, // src
        10, 0, 0, 2, // dst
    ];
    let mut sum: u32 = ip
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&53u16.to_be_bytes());
    f.extend_from_slice(&26u16.to_be_bytes()); // UDP length
    f.extend_from_slice(&[0, 0]); // no checksum
    f.extend_from_slice(&[i as u8; 18]);
    assert_eq!(f.len(), 60);
    f
}

/// A classic pcap file (microsecond timestamps, Ethernet).
fn write_pcap(path: &Path, frames: &[Vec<u8>]) {
    let mut b = Vec::new();
    b.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&4u16.to_le_bytes());
    b.extend_from_slice(&0i32.to_le_bytes()); // thiszone
    b.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
    b.extend_from_slice(&65535u32.to_le_bytes()); // snaplen
    b.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
    for (i, f) in frames.iter().enumerate() {
        b.extend_from_slice(&1_700_000_000u32.to_le_bytes());
        b.extend_from_slice(&(i as u32).to_le_bytes());
        b.extend_from_slice(&(f.len() as u32).to_le_bytes());
        b.extend_from_slice(&(f.len() as u32).to_le_bytes());
        b.extend_from_slice(f);
    }
    std::fs::write(path, b).expect("write pcap");
}

/// The frames of a pcap file (either byte order, micro- or nanosecond magic).
fn read_pcap(path: &Path) -> Vec<Vec<u8>> {
    let b = std::fs::read(path).expect("read pcap");
    assert!(
        b.len() >= 24,
        "{} has no pcap header ({} bytes)",
        path.display(),
        b.len()
    );
    let magic = [b[0], b[1], b[2], b[3]];
    let le = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => false,
        _ => panic!("{}: bad pcap magic {magic:02x?}", path.display()),
    };
    let u32_at = |o: usize| {
        let w = [b[o], b[o + 1], b[o + 2], b[o + 3]];
        if le {
            u32::from_le_bytes(w)
        } else {
            u32::from_be_bytes(w)
        }
    };
    let mut out = Vec::new();
    let mut o = 24;
    while o + 16 <= b.len() {
        let incl = u32_at(o + 8) as usize;
        let start = o + 16;
        assert!(start + incl <= b.len(), "truncated record at offset {o}");
        out.push(b[start..start + incl].to_vec());
        o = start + incl;
    }
    assert_eq!(o, b.len(), "trailing bytes in {}", path.display());
    out
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|a| (*a).to_string()).collect()
}

/// Set in the child process that checks the one-shot `UnusedArguments` path.
const CHILD_ENV: &str = "SVCARD_DPDK_VDEV_CHILD";

/// In a child process (the EAL cannot be initialised twice): positional arguments the EAL
/// does not take are an error, and the EAL is cleaned up for good.
fn child_unused_arguments() {
    let args = s(&[
        "--no-huge",
        "-m",
        "256",
        "stray",
        "--no-pci",
        "--no-shconf",
        "--no-telemetry",
        "-l",
        "0",
    ]);
    assert_eq!(
        Eal::init(&args).unwrap_err(),
        DpdkError::UnusedArguments(s(&["stray"]))
    );
    assert!(!dpdk::eal_running());
    assert_eq!(Eal::init(&args).unwrap_err(), DpdkError::EalFinished);
}

#[test]
fn pcap_replay_through_dpdk_vdevs() {
    if std::env::var_os(CHILD_ENV).is_some() {
        child_unused_arguments();
        return;
    }
    let child = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "pcap_replay_through_dpdk_vdevs",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .output()
        .expect("run the child test");
    assert!(
        child.status.success(),
        "child (unused EAL arguments) failed:\n{}{}",
        String::from_utf8_lossy(&child.stdout),
        String::from_utf8_lossy(&child.stderr)
    );
    assert!(
        String::from_utf8_lossy(&child.stdout).contains("1 passed"),
        "the child ran no test"
    );

    // --- before the EAL -------------------------------------------------------------------
    assert_eq!(dpdk::register_thread(), Err(DpdkError::EalNotRunning));
    assert!(!dpdk::eal_running());
    let e = DpdkError::Call {
        call: "rte_eal_init",
        code: -22,
        text: "Invalid argument".into(),
    };
    assert_eq!(e.to_string(), "rte_eal_init failed: Invalid argument (-22)");
    assert_eq!(e.code(), Some(-22));
    assert_eq!(
        Eal::init(&s(&["--no-huge", "bad\0arg"])).unwrap_err(),
        DpdkError::InvalidArgument {
            what: "EAL argument",
            why: "\"bad\\0arg\" contains a NUL byte".into()
        }
    );
    // A static build refuses to load a plugin (it would bring a second EAL).
    if Eal::link() == DpdkLink::Static {
        for a in [&["-d", "/tmp"][..], &["-d/tmp"], &["--driver-path=/tmp"]] {
            let e = Eal::init(&s(a)).unwrap_err();
            assert!(
                matches!(&e, DpdkError::InvalidArgument { why, .. } if why.contains("PMD plugin")),
                "{a:?}: {e}"
            );
        }
    }
    // A bad option: rte_eal_init fails with EINVAL, and DPDK lets us try again.
    let bad = Eal::init(&s(&["--no-huge", "--no-pci", "--svcard-no-such-option"])).unwrap_err();
    assert_eq!(bad.code(), Some(-22), "{bad}");
    assert_eq!(
        bad.to_string(),
        "rte_eal_init failed: Invalid argument (-22)"
    );

    // --- EAL with net_pcap0 and net_null0 ----------------------------------------------------
    let dir = TempDir::new();
    let input = dir.0.join("in.pcap");
    let output = dir.0.join("out.pcap");
    let frames: Vec<Vec<u8>> = (0..FRAMES).map(udp_frame).collect();
    write_pcap(&input, &frames);

    let mut args = s(&[
        "--no-huge",
        "-m",
        "512",
        "--no-pci",
        "--no-shconf",
        "--no-telemetry",
        "-l",
        "0",
    ]);
    args.push(format!(
        "--vdev=net_pcap0,rx_pcap={},tx_pcap={}",
        input.display(),
        output.display()
    ));
    args.push("--vdev=net_null0".to_string());
    args.push("--vdev=net_null1".to_string());
    args.extend(s(&["--", "app-arg", "--app-flag"]));
    let eal = Eal::init(&args).expect("EAL init");
    assert!(dpdk::eal_running());
    assert_eq!(eal.app_args(), &s(&["app-arg", "--app-flag"])[..]);
    assert!(eal.version().starts_with("22.11"), "{}", eal.version());
    assert_eq!(Eal::init(&args).unwrap_err(), DpdkError::AlreadyInitialized);
    assert_eq!(
        dpdk::lcore_id(),
        Some(0),
        "the init thread is the main lcore"
    );
    assert_eq!(dpdk::register_thread(), Ok(0));

    // The PMDs probed the vdevs: built into a static build, loaded from Debian's plugin
    // directory by a shared one. A static build maps no DPDK shared object (not even a
    // plugin the EAL might have loaded anyway); a shared one maps the EAL's.
    let maps = std::fs::read_to_string("/proc/self/maps").expect("read /proc/self/maps");
    let mapped = |lib: &str| maps.lines().any(|l| l.contains(lib));
    match Eal::link() {
        DpdkLink::Static => assert!(!mapped("librte_"), "a static build mapped a DPDK library"),
        DpdkLink::Shared => assert!(mapped("librte_eal.so") && mapped("librte_net_pcap.so")),
    }
    assert_eq!(EthPort::port_count(&eal), 3);
    let pcap_id = EthPort::find_by_name(&eal, "net_pcap0").expect("net_pcap0 probed");
    let null_id = EthPort::find_by_name(&eal, "net_null0").expect("net_null0 probed");
    assert_eq!(EthPort::find_by_name(&eal, "net_nothing9"), None);
    assert_eq!(EthPort::name_of(&eal, pcap_id).as_deref(), Ok("net_pcap0"));
    assert!(matches!(
        EthPort::name_of(&eal, 31),
        Err(DpdkError::PortCall {
            call: "rte_eth_dev_get_name_by_port",
            port: 31,
            ..
        })
    ));

    let pool =
        Mempool::new(&eal, "svcard_test", 2047, 32, Mempool::DEFAULT_DATA_ROOM).expect("mempool");
    assert_eq!(pool.data_room(), Mempool::DEFAULT_DATA_ROOM);
    assert_eq!(pool.in_use(), 0);
    let dup = Mempool::new(&eal, "svcard_test", 63, 0, Mempool::DEFAULT_DATA_ROOM).unwrap_err();
    assert_eq!(dup.code(), Some(-17), "EEXIST expected: {dup}");
    assert!(
        dup.to_string()
            .starts_with("rte_pktmbuf_pool_create failed: "),
        "{dup}"
    );

    // net_pcap has one TX queue per tx_pcap=: asking for the control core's extra one fails.
    let pcap_cfg = PortConfig {
        rx_queues: 1,
        tx_queues: 1,
        rx_desc: 256,
        tx_desc: 256,
        rss: true,
    };
    assert_eq!(
        EthPort::configure(
            pcap_id,
            &PortConfig {
                tx_queues: 2,
                ..pcap_cfg
            },
            &pool
        )
        .unwrap_err(),
        DpdkError::QueueCount {
            port: pcap_id,
            dir: "tx",
            requested: 2,
            max: 1
        }
    );
    assert_eq!(
        EthPort::configure(30, &pcap_cfg, &pool).unwrap_err(),
        DpdkError::NoSuchPort(30)
    );
    let pcap = EthPort::configure(pcap_id, &pcap_cfg, &pool).expect("configure net_pcap0");
    assert_eq!(
        EthPort::configure(pcap_id, &pcap_cfg, &pool).unwrap_err(),
        DpdkError::PortInUse(pcap_id)
    );
    let null = EthPort::configure(null_id, &PortConfig::for_workers(1), &pool)
        .expect("configure net_null0");
    assert_eq!((null.rx_queues(), null.tx_queues()), (1, 2));
    assert_eq!(pcap.rss_hf(), 0, "one RX queue: no RSS");
    assert_eq!(pcap.name().as_deref(), Ok("net_pcap0"));
    let link = pcap.link().expect("link");
    assert!(link.up, "{link:?}");
    let ports = vec![pcap, null];

    // --- queues -------------------------------------------------------------------------
    let mut q = DpdkQueues::worker(&ports, WorkerId(0)).expect("worker 0 queues");
    assert_eq!(q.port_count(), 2);
    assert_eq!(q.port_id(0), Some(pcap_id));
    assert!(matches!(
        DpdkQueues::worker(&ports, WorkerId(0)),
        Err(DpdkError::QueueInUse {
            dir: "rx",
            queue: QueueId(0),
            ..
        })
    ));
    assert!(matches!(
        DpdkQueues::worker(&ports, WorkerId(1)),
        Err(DpdkError::QueueOutOfRange {
            dir: "rx",
            queue: QueueId(1),
            count: 1,
            ..
        })
    ));
    // net_pcap0's only TX queue is worker 0's, so the control core has none there.
    assert!(matches!(
        DpdkQueues::control(&ports),
        Err(DpdkError::QueueInUse {
            dir: "tx",
            queue: QueueId(0),
            ..
        })
    ));
    assert!(matches!(
        ports[0].stop(),
        Err(DpdkError::QueuesInUse { handles: 2, .. })
    ));
    let ctl = DpdkQueues::control(&ports[1..]).expect("control queues on net_null0");
    drop(ctl);

    // A port with more RX queues than workers (net_af_packet with more qpairs than workers
    // receives on all of them): worker w of 2 takes RX queues w, w + 2, ...
    let null1_id = EthPort::find_by_name(&eal, "net_null1").expect("net_null1 probed");
    let mut three = PortConfig::for_workers(2);
    three.rx_queues = 3;
    let multi = vec![EthPort::configure(null1_id, &three, &pool).expect("configure net_null1")];
    assert_eq!(multi[0].rx_queues(), 3, "net_null: the queues configured");
    let w0 = DpdkQueues::worker_of(&multi, WorkerId(0), 2).expect("worker 0 of 2");
    let w1 = DpdkQueues::worker_of(&multi, WorkerId(1), 2).expect("worker 1 of 2");
    // Queue 2 is worker 0's.
    assert!(matches!(
        DpdkQueues::worker(&multi, WorkerId(2)),
        Err(DpdkError::QueueInUse {
            dir: "rx",
            queue: QueueId(2),
            ..
        })
    ));
    // A fourth worker of four would have no queue: refused, as a worker past the queues was.
    assert!(matches!(
        DpdkQueues::worker_of(&multi, WorkerId(3), 4),
        Err(DpdkError::QueueOutOfRange {
            dir: "rx",
            queue: QueueId(3),
            count: 3,
            ..
        })
    ));
    drop((w0, w1));
    // Released: worker 0 of 1 now takes all three.
    let mut all = DpdkQueues::worker_of(&multi, WorkerId(0), 1).expect("worker 0 of 1");
    assert!(matches!(
        DpdkQueues::worker(&multi, WorkerId(1)),
        Err(DpdkError::QueueInUse { dir: "rx", .. })
    ));
    // net_null receives on every queue; the worker's receives take the queues in turn.
    let mut got = 0;
    for _ in 0..6 {
        let mut b: Burst<dpdk::Mbuf> = Burst::default();
        got += all.rx_burst(PortId(0), &mut b);
    }
    assert!(got > 0, "net_null1 gave nothing");
    drop(all);
    drop(multi);

    let mut burst: Burst<dpdk::Mbuf> = Burst::default();
    let mut received = Vec::new();
    let mut sent = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    while received.len() < FRAMES && Instant::now() < deadline {
        let n = q.rx_burst(PortId(0), &mut burst);
        if n == 0 {
            std::thread::sleep(Duration::from_millis(1));
            continue;
        }
        for i in 0..burst.len() {
            let m = burst.get(i).expect("packet");
            assert_eq!(m.port(), pcap_id);
            assert_eq!(m.segments(), 1);
            assert_eq!(m.pkt_len() as usize, m.data().len());
            received.push(m.data().to_vec());
        }
        sent += q.tx_burst(PortId(0), &mut burst);
        assert!(burst.is_empty());
    }
    assert_eq!(received.len(), FRAMES, "frames received from net_pcap0");
    assert_eq!(received, frames, "received frames differ from the capture");
    assert_eq!(sent, FRAMES, "frames net_pcap0 TX took");
    assert_eq!(
        q.rx_burst(PortId(0), &mut burst),
        0,
        "the capture is exhausted"
    );
    assert_eq!(q.rx_burst(PortId(7), &mut burst), 0, "unknown port index");

    // A built packet through net_null0, and the PacketBuf length rules.
    let mut m = pool.alloc().expect("alloc");
    assert_eq!(m.data().len(), 0);
    assert_eq!(m.headroom(), 128);
    assert_eq!(m.capacity(), 2048);
    assert!(!m.set_len(2049));
    assert!(m.set_len(60));
    m.data_mut().copy_from_slice(&frames[7]);
    assert_eq!(m.pkt_len(), 60);
    assert_eq!(m.tailroom(), 2048 - 60);
    assert!(m.set_len(14));
    assert_eq!(m.data(), &frames[7][..14]);
    m.prefetch();
    burst.push(m).expect("room");
    assert_eq!(q.tx_burst(PortId(1), &mut burst), 1);
    // TX to an unknown port index frees the packets.
    burst
        .push(dpdk::alloc(&pool).expect("alloc"))
        .expect("room");
    assert_eq!(q.tx_burst(PortId(9), &mut burst), 0);
    assert!(burst.is_empty());
    // Receive and transmit work on the burst's slots in place; a burst with a packet taken
    // out of its middle is compacted first (DPDK never sees an empty slot): the pool gets
    // every mbuf back.
    let before = pool.in_use();
    for _ in 0..3 {
        burst
            .push(dpdk::alloc(&pool).expect("alloc"))
            .expect("room");
    }
    let middle = burst.take(1).expect("the middle packet");
    assert_eq!(q.tx_burst(PortId(1), &mut burst), 2);
    assert!(burst.is_empty());
    drop(middle);
    burst
        .push(dpdk::alloc(&pool).expect("alloc"))
        .expect("room");
    // A reset leaves the packet in its slot; a receive into the burst frees it before it
    // fills the slots (the capture is over: nothing comes in).
    burst.reset();
    assert_eq!(pool.in_use(), before + 1);
    assert_eq!(q.rx_burst(PortId(0), &mut burst), 0);
    assert!(burst.spare_mut().iter().all(Option::is_none));
    assert_eq!(pool.in_use(), before, "every mbuf back in the pool");

    // A pinned non-EAL thread gets an lcore id of its own.
    let pool2 = pool.clone();
    let id = std::thread::spawn(move || {
        let id = dpdk::register_thread().expect("register");
        assert_eq!(
            dpdk::register_thread(),
            Ok(id),
            "registering twice is harmless"
        );
        let m = pool2.alloc().expect("alloc on a registered thread");
        drop(m);
        dpdk::unregister_thread();
        assert_eq!(dpdk::lcore_id(), None);
        id
    })
    .join()
    .expect("thread");
    assert_ne!(id, 0);

    // --- counters, then stop (net_pcap closes its capture files) ---------------------------
    let st = ports[0].stats().expect("stats");
    assert_eq!(st.ipackets, FRAMES as u64, "{st:?}");
    assert_eq!(st.opackets, FRAMES as u64, "{st:?}");
    assert_eq!(st.ibytes, 60 * FRAMES as u64, "{st:?}");
    assert_eq!(st.obytes, 60 * FRAMES as u64, "{st:?}");
    assert_eq!((st.ierrors, st.oerrors, st.imissed), (0, 0, 0), "{st:?}");
    let ns = ports[1].stats().expect("stats");
    assert_eq!(
        ns.opackets, 3,
        "{ns:?}: the built packet, then two of three"
    );

    drop(q);
    assert_eq!(pool.in_use(), 0, "every mbuf went back to the pool");
    ports[0].stop().expect("stop net_pcap0");
    ports[0].stop().expect("stopping twice is harmless");
    let written = read_pcap(&output);
    assert_eq!(written.len(), FRAMES, "frames in the TX capture after stop");
    assert_eq!(written, frames, "the TX capture differs from the input");
    drop(ports);

    // --- teardown: ports closed, pool freed, rte_eal_cleanup --------------------------------
    drop(pool);
    drop(eal);
    assert!(!dpdk::eal_running());
    assert_eq!(Eal::init(&args).unwrap_err(), DpdkError::EalFinished);
    drop(dir);
}

#[test]
fn worker_rx_queues_share_out_a_ports_queues() {
    assert_eq!(dpdk::worker_rx_queues(0, 1, 1), vec![0]);
    assert_eq!(dpdk::worker_rx_queues(0, 1, 2), vec![0, 1]);
    assert_eq!(dpdk::worker_rx_queues(0, 2, 5), vec![0, 2, 4]);
    assert_eq!(dpdk::worker_rx_queues(1, 2, 5), vec![1, 3]);
    assert_eq!(dpdk::worker_rx_queues(1, 2, 2), vec![1]);
    assert_eq!(dpdk::worker_rx_queues(2, 4, 2), Vec::<u16>::new());
}

//! Ethernet ports: configuration (queues per worker, symmetric RSS), start, link, statistics, stop.

use std::ffi::{c_char, c_uint, CStr, CString};
use std::ptr::{self};
use std::sync::{Arc, Mutex};

use dpdk_sys as sys;

use crate::flow::SYMMETRIC_RSS_KEY;
use crate::port::PortStats;

use super::eal::*;
use super::error::*;
use super::mempool::*;

/// How to set up one port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortConfig {
    /// RX queues: one per worker.
    pub rx_queues: u16,
    /// TX queues: one per worker plus one for the control core.
    pub tx_queues: u16,
    /// Descriptors per RX queue (adjusted to the device's limits).
    pub rx_desc: u16,
    /// Descriptors per TX queue (adjusted to the device's limits).
    pub tx_desc: u16,
    /// Spread flows over the RX queues with symmetric RSS when the device can.
    pub rss: bool,
}

impl PortConfig {
    /// The usual set-up for `workers` workers: an RX queue each, a TX queue each plus one
    /// for the control core, 1024 descriptors, symmetric RSS.
    #[must_use]
    pub fn for_workers(workers: u16) -> Self {
        Self {
            rx_queues: workers,
            tx_queues: workers.saturating_add(1),
            rx_desc: 1024,
            tx_desc: 1024,
            rss: true,
        }
    }
}

/// The RSS hash functions svcard asks for (intersected with what the device supports).
pub const RSS_HF: u64 = sys::RTE_ETH_RSS_IPV4
    | sys::RTE_ETH_RSS_NONFRAG_IPV4_TCP
    | sys::RTE_ETH_RSS_NONFRAG_IPV4_UDP
    | sys::RTE_ETH_RSS_IPV6
    | sys::RTE_ETH_RSS_NONFRAG_IPV6_TCP
    | sys::RTE_ETH_RSS_NONFRAG_IPV6_UDP;

/// A port's link state (`rte_eth_link_get_nowait`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Link {
    /// Link up.
    pub up: bool,
    /// Speed in Mbit/s (0 when unknown; `u32::MAX` when the device cannot tell).
    pub speed_mbps: u32,
    /// Full duplex.
    pub full_duplex: bool,
    /// Autonegotiated.
    pub autoneg: bool,
}

#[derive(Debug)]
pub(super) struct PortState {
    pub(super) started: bool,
    pub(super) rx_claimed: Vec<bool>,
    pub(super) tx_claimed: Vec<bool>,
}

impl PortState {
    pub(super) fn claims(&self) -> usize {
        self.rx_claimed
            .iter()
            .chain(&self.tx_claimed)
            .filter(|&&c| c)
            .count()
    }
}

/// `RTE_ETH_RX_METADATA_USER_MARK` (rte_ethdev.h): deliver `MARK` actions' values.
const RX_METADATA_USER_MARK: u64 = 1 << 1;

#[derive(Debug)]
pub(super) struct PortInner {
    pub(super) id: u16,
    pub(super) rx_queues: u16,
    pub(super) tx_queues: u16,
    pub(super) rss_hf: u64,
    /// The device delivers `rte_flow` `MARK`s in received mbufs (negotiated at configure).
    pub(super) rx_marks: bool,
    /// Control-path calls on the port are serialised through this lock.
    pub(super) state: Mutex<PortState>,
    /// The pool the RX queues fill from: alive until the port is closed.
    pub(super) pool: Mempool,
}

impl Drop for PortInner {
    fn drop(&mut self) {
        let st = lock(&self.state);
        if st.started {
            // SAFETY: the port was configured and started by this handle; no DpdkQueues
            // exists any more (each holds an Arc of this PortInner).
            let ret = unsafe { sys::rte_eth_dev_stop(self.id) };
            if ret < 0 {
                eprintln!(
                    "svcard: {}",
                    DpdkError::port("rte_eth_dev_stop", self.id, ret)
                );
            }
        }
        drop(st);
        // SAFETY: the port is stopped and nothing polls it; closing releases its queues (and
        // the mbufs they hold) before `pool` is dropped.
        let ret = unsafe { sys::rte_eth_dev_close(self.id) };
        if ret < 0 {
            eprintln!(
                "svcard: {}",
                DpdkError::port("rte_eth_dev_close", self.id, ret)
            );
        }
        lock(&PORTS_IN_USE).remove(&self.id);
    }
}

/// RX queues a device receives on whatever it is configured with (0 for the usual device,
/// whose queues are the ones configured, RSS spreading only over those): `net_af_packet`
/// opens its `qpairs` sockets at probe time in one `PACKET_FANOUT_HASH` group, so the kernel
/// spreads the flows over all of them, configured or not.
pub(super) fn receiving_rx_queues(info: &sys::rte_eth_dev_info) -> u16 {
    if info.driver_name.is_null() {
        return 0;
    }
    // SAFETY: a filled rte_eth_dev_info's driver_name points to the driver's static
    // NUL-terminated name (checked non-null above).
    let driver = unsafe { CStr::from_ptr(info.driver_name) };
    if driver.to_bytes() == b"net_af_packet" {
        info.max_rx_queues
    } else {
        0
    }
}

/// A configured and started Ethernet port. Dropping it (its last clone, after every
/// [`DpdkQueues`] that uses it) stops and closes the port; for virtual devices closing
/// releases the port id.
#[derive(Debug, Clone)]
pub struct EthPort {
    pub(super) inner: Arc<PortInner>,
}

impl EthPort {
    /// Configures port `port_id` with `cfg.rx_queues` RX queues filled from `pool` and
    /// `cfg.tx_queues` TX queues, starts it and turns promiscuous mode on (devices that have
    /// no such mode are left as they are). A device that receives on all its RX queues
    /// whatever it is configured with (`net_af_packet`, which opens its `qpairs` sockets in one
    /// kernel fanout group) gets
    /// all of them set up, so that none of its traffic lands on a queue nobody polls:
    /// [`rx_queues`](Self::rx_queues) says how many.
    ///
    /// With `cfg.rss`, more than one RX queue, and a device that reports RSS capabilities,
    /// RSS is enabled with the symmetric Toeplitz key [`SYMMETRIC_RSS_KEY`] (repeated to the
    /// device's key size) over [`RSS_HF`] intersected with the device's hash functions, so
    /// both directions of a flow reach the same queue. Virtual devices have no RSS.
    ///
    /// # Errors
    /// [`DpdkError::NoSuchPort`], [`DpdkError::PortInUse`], [`DpdkError::InvalidArgument`]
    /// (zero queues), [`DpdkError::QueueCount`] (more queues than the device has: a
    /// `net_pcap` device has one RX queue per `rx_pcap=` and one TX queue per `tx_pcap=`),
    /// or [`DpdkError::PortCall`] from the DPDK call that failed.
    pub fn configure(port_id: u16, cfg: &PortConfig, pool: &Mempool) -> Result<EthPort, DpdkError> {
        // SAFETY: the EAL runs (pool holds it alive); the call only reads the port table.
        if unsafe { sys::rte_eth_dev_is_valid_port(port_id) } == 0 {
            return Err(DpdkError::NoSuchPort(port_id));
        }
        if cfg.rx_queues == 0 || cfg.tx_queues == 0 {
            return Err(DpdkError::InvalidArgument {
                what: "port config",
                why: format!(
                    "port {port_id}: rx_queues {} and tx_queues {} must be at least 1",
                    cfg.rx_queues, cfg.tx_queues
                ),
            });
        }
        if !lock(&PORTS_IN_USE).insert(port_id) {
            return Err(DpdkError::PortInUse(port_id));
        }
        match Self::setup(port_id, cfg, pool) {
            Ok((rss_hf, rx_queues, rx_marks)) => Ok(EthPort {
                inner: Arc::new(PortInner {
                    id: port_id,
                    rx_queues,
                    tx_queues: cfg.tx_queues,
                    rss_hf,
                    rx_marks,
                    state: Mutex::new(PortState {
                        started: true,
                        rx_claimed: vec![false; usize::from(rx_queues)],
                        tx_claimed: vec![false; usize::from(cfg.tx_queues)],
                    }),
                    pool: pool.clone(),
                }),
            }),
            Err(e) => {
                lock(&PORTS_IN_USE).remove(&port_id);
                Err(e)
            }
        }
    }

    /// Configures, sets up the queues, starts. Returns the RSS hash functions in use, the
    /// RX queues set up, and whether received mbufs carry `rte_flow` marks.
    pub(super) fn setup(
        port: u16,
        cfg: &PortConfig,
        pool: &Mempool,
    ) -> Result<(u64, u16, bool), DpdkError> {
        let mut info = sys::rte_eth_dev_info::default();
        // SAFETY: port is valid; info is a writable rte_eth_dev_info.
        let ret = unsafe { sys::rte_eth_dev_info_get(port, &mut info) };
        check_port("rte_eth_dev_info_get", port, ret)?;
        if cfg.rx_queues > info.max_rx_queues {
            return Err(DpdkError::QueueCount {
                port,
                dir: "rx",
                requested: cfg.rx_queues,
                max: info.max_rx_queues,
            });
        }
        if cfg.tx_queues > info.max_tx_queues {
            return Err(DpdkError::QueueCount {
                port,
                dir: "tx",
                requested: cfg.tx_queues,
                max: info.max_tx_queues,
            });
        }
        let rx_queues = cfg.rx_queues.max(receiving_rx_queues(&info));

        let mut conf = sys::rte_eth_conf::default();
        let key_len = if info.hash_key_size == 0 {
            40
        } else {
            usize::from(info.hash_key_size)
        };
        // The symmetric key is a repeated 0x6d5a pattern; a longer device key repeats it on.
        let mut key: Vec<u8> = SYMMETRIC_RSS_KEY
            .iter()
            .copied()
            .cycle()
            .take(key_len)
            .collect::<Vec<u8>>();
        let rss_hf = RSS_HF & info.flow_type_rss_offloads;
        let use_rss = cfg.rss && rx_queues > 1 && rss_hf != 0;
        if use_rss {
            conf.rxmode.mq_mode = sys::RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_key = key.as_mut_ptr();
            conf.rx_adv_conf.rss_conf.rss_key_len = u8::try_from(key_len).unwrap_or(40);
            conf.rx_adv_conf.rss_conf.rss_hf = rss_hf;
        }
        // Marks (partial offload) reach the mbuf only where the device was asked for them
        // before configure; -ENOTSUP means the PMD needs no asking (rte_ethdev.h).
        let mut features = RX_METADATA_USER_MARK;
        // SAFETY: port is valid and not yet configured; features is a live u64.
        let ret = unsafe { sys::rte_eth_rx_metadata_negotiate(port, &mut features) };
        let rx_marks = ret == -libc::ENOTSUP || (ret == 0 && features & RX_METADATA_USER_MARK != 0);
        // SAFETY: port is valid and not started by anyone else (PORTS_IN_USE); conf and the
        // key it points to live across the call (DPDK copies the key).
        let ret = unsafe { sys::rte_eth_dev_configure(port, rx_queues, cfg.tx_queues, &conf) };
        check_port("rte_eth_dev_configure", port, ret)?;

        let (mut rx_desc, mut tx_desc) = (cfg.rx_desc, cfg.tx_desc);
        // SAFETY: port is configured; both pointers are to live u16s.
        let ret =
            unsafe { sys::rte_eth_dev_adjust_nb_rx_tx_desc(port, &mut rx_desc, &mut tx_desc) };
        check_port("rte_eth_dev_adjust_nb_rx_tx_desc", port, ret)?;

        // SAFETY: port is valid.
        let socket = unsafe { sys::rte_eth_dev_socket_id(port) };
        // DPDK takes the socket as unsigned; SOCKET_ID_ANY (-1) becomes UINT_MAX as in C.
        let socket = c_uint::try_from(socket).unwrap_or(c_uint::MAX);
        for q in 0..rx_queues {
            // SAFETY: port is configured with rx_queues queues and q < rx_queues; a null
            // rx_conf means the device defaults; the pool outlives the port (PortInner holds
            // it until after rte_eth_dev_close).
            let ret = unsafe {
                sys::rte_eth_rx_queue_setup(port, q, rx_desc, socket, ptr::null(), pool.as_ptr())
            };
            check_port("rte_eth_rx_queue_setup", port, ret)?;
        }
        for q in 0..cfg.tx_queues {
            // SAFETY: port is configured with tx_queues queues and q < tx_queues; a null
            // tx_conf means the device defaults.
            let ret = unsafe { sys::rte_eth_tx_queue_setup(port, q, tx_desc, socket, ptr::null()) };
            check_port("rte_eth_tx_queue_setup", port, ret)?;
        }
        // SAFETY: every queue is set up.
        let ret = unsafe { sys::rte_eth_dev_start(port) };
        check_port("rte_eth_dev_start", port, ret)?;
        // Virtual devices may not support promiscuous mode (-ENOTSUP): not an error here.
        // SAFETY: port is started.
        let _ = unsafe { sys::rte_eth_promiscuous_enable(port) };
        Ok((if use_rss { rss_hf } else { 0 }, rx_queues, rx_marks))
    }

    /// Whether received mbufs carry the marks of `rte_flow` `MARK` rules (the device
    /// agreed to deliver them, or needs no negotiation).
    #[must_use]
    pub fn rx_marks(&self) -> bool {
        self.inner.rx_marks
    }

    /// The DPDK port id.
    #[must_use]
    pub fn id(&self) -> u16 {
        self.inner.id
    }

    /// RX queues configured.
    #[must_use]
    pub fn rx_queues(&self) -> u16 {
        self.inner.rx_queues
    }

    /// TX queues configured.
    #[must_use]
    pub fn tx_queues(&self) -> u16 {
        self.inner.tx_queues
    }

    /// The RSS hash functions in use (`RTE_ETH_RSS_*` bits); 0 when RSS is off.
    #[must_use]
    pub fn rss_hf(&self) -> u64 {
        self.inner.rss_hf
    }

    /// The pool the port's RX queues fill from.
    #[must_use]
    pub fn pool(&self) -> &Mempool {
        &self.inner.pool
    }

    /// The device name (`rte_eth_dev_get_name_by_port`), e.g. `net_pcap0`.
    ///
    /// # Errors
    /// [`DpdkError::PortCall`] when DPDK has no name for the port.
    pub fn name(&self) -> Result<String, DpdkError> {
        port_name(self.inner.id)
    }

    /// The link state, without waiting.
    ///
    /// # Errors
    /// [`DpdkError::PortCall`] from `rte_eth_link_get_nowait`.
    pub fn link(&self) -> Result<Link, DpdkError> {
        let _st = lock(&self.inner.state);
        let mut l = sys::rte_eth_link::default();
        // SAFETY: the port is configured (owned by self); l is a writable rte_eth_link.
        let ret = unsafe { sys::rte_eth_link_get_nowait(self.inner.id, &mut l) };
        check_port("rte_eth_link_get_nowait", self.inner.id, ret)?;
        Ok(Link {
            up: u32::from(l.link_status()) == sys::RTE_ETH_LINK_UP,
            speed_mbps: l.link_speed,
            full_duplex: l.link_duplex() != 0,
            autoneg: l.link_autoneg() != 0,
        })
    }

    /// The port counters (`rte_eth_stats_get`).
    ///
    /// # Errors
    /// [`DpdkError::PortCall`] from `rte_eth_stats_get`.
    pub fn stats(&self) -> Result<PortStats, DpdkError> {
        let _st = lock(&self.inner.state);
        let mut s = sys::rte_eth_stats::default();
        // SAFETY: the port is configured (owned by self); s is a writable rte_eth_stats.
        let ret = unsafe { sys::rte_eth_stats_get(self.inner.id, &mut s) };
        check_port("rte_eth_stats_get", self.inner.id, ret)?;
        Ok(PortStats {
            ipackets: s.ipackets,
            opackets: s.opackets,
            ibytes: s.ibytes,
            obytes: s.obytes,
            imissed: s.imissed,
            ierrors: s.ierrors,
            oerrors: s.oerrors,
        })
    }

    /// Stops the port (`rte_eth_dev_stop`; `net_pcap` closes its capture files here, which
    /// flushes the TX capture). Only while no [`DpdkQueues`] holds a queue of the port.
    ///
    /// # Errors
    /// [`DpdkError::QueuesInUse`], or [`DpdkError::PortCall`] from `rte_eth_dev_stop`.
    pub fn stop(&self) -> Result<(), DpdkError> {
        let mut st = lock(&self.inner.state);
        let handles = st.claims();
        if handles != 0 {
            return Err(DpdkError::QueuesInUse {
                port: self.inner.id,
                handles,
            });
        }
        if st.started {
            // SAFETY: the port is started by this handle and no queue handle polls it (no
            // claims, checked under the state lock that claiming takes).
            let ret = unsafe { sys::rte_eth_dev_stop(self.inner.id) };
            check_port("rte_eth_dev_stop", self.inner.id, ret)?;
            st.started = false;
        }
        Ok(())
    }

    /// Starts the port again after [`EthPort::stop`].
    ///
    /// # Errors
    /// [`DpdkError::QueuesInUse`], or [`DpdkError::PortCall`] from `rte_eth_dev_start`.
    pub fn start(&self) -> Result<(), DpdkError> {
        let mut st = lock(&self.inner.state);
        let handles = st.claims();
        if handles != 0 {
            return Err(DpdkError::QueuesInUse {
                port: self.inner.id,
                handles,
            });
        }
        if !st.started {
            // SAFETY: the port is configured with its queues set up, and stopped.
            let ret = unsafe { sys::rte_eth_dev_start(self.inner.id) };
            check_port("rte_eth_dev_start", self.inner.id, ret)?;
            st.started = true;
        }
        Ok(())
    }

    /// Ports DPDK knows (`rte_eth_dev_count_avail`): probed PCI devices and `--vdev`s.
    #[must_use]
    pub fn port_count(_eal: &Eal) -> u16 {
        // SAFETY: the EAL runs (borrowed); the call only reads the port table.
        unsafe { sys::rte_eth_dev_count_avail() }
    }

    /// The port id of the device named `devname` (`net_pcap0`, `0000:01:00.0`), if any.
    #[must_use]
    pub fn find_by_name(_eal: &Eal, devname: &str) -> Option<u16> {
        let name = CString::new(devname).ok()?;
        let mut id = 0u16;
        // SAFETY: the EAL runs (borrowed); name is NUL-terminated; id is a writable u16.
        let ret = unsafe { sys::rte_eth_dev_get_port_by_name(name.as_ptr(), &mut id) };
        (ret == 0).then_some(id)
    }

    /// The device name of any port id (see [`EthPort::name`]).
    ///
    /// # Errors
    /// [`DpdkError::PortCall`] for a port id DPDK does not know.
    pub fn name_of(_eal: &Eal, port_id: u16) -> Result<String, DpdkError> {
        port_name(port_id)
    }
}

pub(super) fn port_name(port: u16) -> Result<String, DpdkError> {
    let mut buf = [0 as c_char; sys::ETH_NAME_MAX_LEN];
    // SAFETY: buf has RTE_ETH_NAME_MAX_LEN bytes, the size the call writes at most.
    let ret = unsafe { sys::rte_eth_dev_get_name_by_port(port, buf.as_mut_ptr()) };
    check_port("rte_eth_dev_get_name_by_port", port, ret)?;
    // SAFETY: on success buf holds a NUL-terminated name within its bounds.
    Ok(unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned())
}

#![allow(unsafe_code)]
//! The safe DPDK layer (feature `dpdk`): the EAL, mbuf pools, mbufs, Ethernet ports and the
//! per-worker queue view that implements [`PortIo`].
//!
//! Raw symbols come from the `dpdk-sys` crate; this module is the only place in the dataplane
//! that calls them, and every `unsafe` block says why it is sound.
//!
//! # Lifetimes of DPDK objects
//!
//! DPDK frees everything in `rte_eal_cleanup`, after which every DPDK pointer dangles. The
//! handles here keep what they depend on alive with reference counts taken at set-up time
//! (never per packet):
//!
//! * a [`Mempool`] keeps the EAL alive; an [`EthPort`] keeps its pool alive; a [`DpdkQueues`]
//!   keeps its ports alive. `rte_eal_cleanup` runs when the [`Eal`] and the last handle that
//!   depends on it are gone.
//! * An [`Mbuf`] holds no count (that would cost an atomic per packet). Instead a pool that is
//!   dropped while some of its mbufs are still out is *not* freed, and the EAL is then not
//!   cleaned up either (a warning says so): an outstanding mbuf never points into unmapped
//!   memory.
//!
//! # Threads
//!
//! A queue of a DPDK port must be polled by one thread at a time; [`DpdkQueues`] claims its
//! queues and [`DpdkQueues::worker`] / [`DpdkQueues::control`] refuse a queue another handle
//! holds. A thread that DPDK did not launch has no lcore id and so no mempool cache: pinned
//! worker threads call [`register_thread`] first.

use std::collections::BTreeSet;
use std::ffi::{c_char, c_int, c_uint, CStr, CString};
use std::fmt;
use std::ptr::{self, NonNull};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use dpdk_sys as sys;

use super::{Burst, PacketBuf, PortIo, PortStats};
use crate::flow::SYMMETRIC_RSS_KEY;

/// Errors of the DPDK layer. `code` is always the negative errno (DPDK's own convention for
/// return values; calls that report through `rte_errno` are converted), and `text` is what
/// `rte_strerror` says about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DpdkError {
    /// A DPDK call that is not about one port failed.
    #[error("{call} failed: {text} ({code})")]
    Call {
        /// The DPDK function that failed.
        call: &'static str,
        /// Negative errno.
        code: i32,
        /// `rte_strerror(-code)`.
        text: String,
    },
    /// A DPDK call about one port failed.
    #[error("{call} on port {port} failed: {text} ({code})")]
    PortCall {
        /// The DPDK function that failed.
        call: &'static str,
        /// The DPDK port id.
        port: u16,
        /// Negative errno.
        code: i32,
        /// `rte_strerror(-code)`.
        text: String,
    },
    /// `Eal::init` was called while an EAL is running in this process (DPDK allows one).
    #[error("the EAL is already initialised in this process (DPDK allows one EAL per process)")]
    AlreadyInitialized,
    /// The EAL of this process was cleaned up; DPDK cannot initialise it again.
    #[error("the EAL of this process was cleaned up; DPDK cannot initialise it again")]
    EalFinished,
    /// A call that needs a running EAL was made without one.
    #[error("the EAL is not running (call Eal::init first)")]
    EalNotRunning,
    /// `rte_eal_init` parsed its options but left arguments it did not take (positional
    /// arguments, which belong after `--`). The EAL was cleaned up again.
    #[error("rte_eal_init did not take the arguments {0:?} (application arguments go after `--`)")]
    UnusedArguments(Vec<String>),
    /// An argument the caller gave is unusable before DPDK sees it.
    #[error("invalid {what}: {why}")]
    InvalidArgument {
        /// What was wrong (`EAL argument`, `mempool name`, `port config`).
        what: &'static str,
        /// Why.
        why: String,
    },
    /// No DPDK port has this id.
    #[error("port {0} does not exist")]
    NoSuchPort(u16),
    /// Another live [`EthPort`] already configured this port.
    #[error("port {0} is already configured by another EthPort")]
    PortInUse(u16),
    /// More queues were asked for than the device has.
    #[error("port {port}: {dir} queues requested {requested}, the device allows {max}")]
    QueueCount {
        /// The DPDK port id.
        port: u16,
        /// `"rx"` or `"tx"`.
        dir: &'static str,
        /// Requested queue count.
        requested: u16,
        /// The device's maximum (`rte_eth_dev_info`).
        max: u16,
    },
    /// A queue index beyond what the port was configured with.
    #[error("port {port}: {dir} queue {queue} does not exist (the port has {count})")]
    QueueOutOfRange {
        /// The DPDK port id.
        port: u16,
        /// `"rx"` or `"tx"`.
        dir: &'static str,
        /// The requested queue.
        queue: u16,
        /// Queues the port was configured with.
        count: u16,
    },
    /// Another [`DpdkQueues`] polls this queue.
    #[error("port {port}: {dir} queue {queue} is already held by another DpdkQueues")]
    QueueInUse {
        /// The DPDK port id.
        port: u16,
        /// `"rx"` or `"tx"`.
        dir: &'static str,
        /// The queue.
        queue: u16,
    },
    /// The port cannot be stopped or started while queue handles poll it.
    #[error("port {port}: {handles} DpdkQueues still hold queues of this port")]
    QueuesInUse {
        /// The DPDK port id.
        port: u16,
        /// How many queue claims are outstanding.
        handles: usize,
    },
}

/// `rte_strerror` of a (positive or negative) errno.
fn strerror(code: i32) -> String {
    // SAFETY: rte_strerror accepts any int and returns a pointer to a NUL-terminated string
    // (a static message or a per-thread buffer), valid at least until the next call on this
    // thread; it is copied out at once.
    let p = unsafe { sys::rte_strerror(code.saturating_abs()) };
    if p.is_null() {
        return format!("error {code}");
    }
    // SAFETY: p is non-null and NUL-terminated (see above).
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// The calling thread's `rte_errno`.
fn rte_errno() -> i32 {
    // SAFETY: reads the calling thread's TLS rte_errno; no preconditions.
    unsafe { sys::svcard_rte_errno() }
}

impl DpdkError {
    /// The error of a call that returned `ret < 0` (a negative errno).
    fn call(call: &'static str, ret: c_int) -> Self {
        let code = -ret.saturating_abs();
        Self::Call {
            call,
            code,
            text: strerror(code),
        }
    }
    /// The error of a call that failed and set `rte_errno`.
    fn errno(call: &'static str) -> Self {
        Self::call(call, rte_errno())
    }
    /// The error of a port call that returned `ret < 0`.
    fn port(call: &'static str, port: u16, ret: c_int) -> Self {
        let code = -ret.saturating_abs();
        Self::PortCall {
            call,
            port,
            code,
            text: strerror(code),
        }
    }
    /// The negative errno this error carries, when it came from DPDK.
    #[must_use]
    pub fn code(&self) -> Option<i32> {
        match self {
            Self::Call { code, .. } | Self::PortCall { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// Converts a DPDK return value (`< 0` is a negative errno) into a `Result`.
fn check_port(call: &'static str, port: u16, ret: c_int) -> Result<c_int, DpdkError> {
    if ret < 0 {
        Err(DpdkError::port(call, port, ret))
    } else {
        Ok(ret)
    }
}

// ---------------------------------------------------------------------------------------------
// EAL

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EalState {
    Uninit,
    Running,
    Finished,
}

/// The state of this process's one EAL.
static EAL_STATE: Mutex<EalState> = Mutex::new(EalState::Uninit);
/// Set when a pool was dropped with mbufs still out: the EAL is then never cleaned up.
static POOL_LEAKED: Mutex<bool> = Mutex::new(false);
/// Ports configured by a live [`EthPort`].
static PORTS_IN_USE: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `rte_eal_cleanup` when the last handle that depends on the EAL is gone.
#[derive(Debug)]
struct EalInner;

impl Drop for EalInner {
    fn drop(&mut self) {
        let mut state = lock(&EAL_STATE);
        if *lock(&POOL_LEAKED) {
            eprintln!(
                "svcard: a mempool was dropped with mbufs still in use; not calling rte_eal_cleanup"
            );
        } else {
            // SAFETY: this is the last handle that depends on the EAL (pools and ports hold an
            // Arc of it, and no mbuf outlives its pool's memory: see POOL_LEAKED), so nothing
            // uses DPDK memory after this call. Called once: the state moves to Finished.
            let ret = unsafe { sys::rte_eal_cleanup() };
            if ret < 0 {
                eprintln!("svcard: {}", DpdkError::call("rte_eal_cleanup", ret));
            }
        }
        *state = EalState::Finished;
    }
}

/// This process's DPDK Environment Abstraction Layer. One per process.
///
/// Dropping it calls `rte_eal_cleanup` once every [`Mempool`], [`EthPort`] and
/// [`DpdkQueues`] is gone as well (they keep the EAL alive). DPDK cannot initialise an EAL
/// twice in one process, even after cleanup.
#[derive(Debug)]
pub struct Eal {
    inner: Arc<EalInner>,
    app_args: Vec<String>,
}

impl Eal {
    /// Initialises the EAL (`rte_eal_init`).
    ///
    /// `args` are the operator's EAL arguments **without a program name** (svcard supplies
    /// `argv[0]` itself), e.g. `["-l", "0-1", "--no-huge", "-m", "1024", "--no-pci",
    /// "--vdev=net_pcap0,rx_pcap=in.pcap"]`. Everything after the first `--` is application
    /// arguments: not passed to the EAL, returned by [`Eal::app_args`]. The calling thread
    /// becomes the main lcore (the EAL pins it to the first core of `-l`).
    ///
    /// The PMDs are built in ([`DpdkLink::Static`]: the drivers `dpdk-sys` lists) or,
    /// in a shared build, load by themselves from the EAL's plugin directory (`-d DIR` loads
    /// more; a static build refuses `-d`: a plugin would bring a second EAL).
    ///
    /// # Errors
    /// [`DpdkError::AlreadyInitialized`] / [`DpdkError::EalFinished`] when this process
    /// already has (had) an EAL; [`DpdkError::InvalidArgument`] for an argument with a NUL
    /// byte, or `-d` in a static build; [`DpdkError::Call`] when `rte_eal_init` fails (bad options, not enough memory:
    /// after a failure caused by bad options DPDK allows another attempt);
    /// [`DpdkError::UnusedArguments`] when the EAL left positional arguments it did not take.
    pub fn init(args: &[String]) -> Result<Eal, DpdkError> {
        let mut state = lock(&EAL_STATE);
        match *state {
            EalState::Uninit => {}
            EalState::Running => return Err(DpdkError::AlreadyInitialized),
            EalState::Finished => return Err(DpdkError::EalFinished),
        }
        let (eal_args, app_args) = match args.iter().position(|a| a == "--") {
            Some(i) => (&args[..i], args[i + 1..].to_vec()),
            None => (args, Vec::new()),
        };
        let mut owned = Vec::with_capacity(eal_args.len() + 1);
        owned.push(CString::from(c"svcard"));
        for a in eal_args {
            if Self::link() == DpdkLink::Static && loads_plugin(a) {
                return Err(DpdkError::InvalidArgument {
                    what: "EAL argument",
                    why: format!(
                        "{a:?} loads a PMD plugin, which would bring a second EAL into this \
                         statically linked build (build with SVCARD_DPDK_LINK=shared for plugins)"
                    ),
                });
            }
            owned.push(
                CString::new(a.as_str()).map_err(|_| DpdkError::InvalidArgument {
                    what: "EAL argument",
                    why: format!("{a:?} contains a NUL byte"),
                })?,
            );
        }
        // The EAL permutes argv and may keep pointers into it: the strings and the array are
        // leaked on purpose (once per process, a few hundred bytes).
        let argv: &'static mut [*mut c_char] = Box::leak(
            owned
                .into_iter()
                .map(CString::into_raw)
                .chain(std::iter::once(ptr::null_mut()))
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        );
        let argc = argv.len() - 1;
        let argc_c = c_int::try_from(argc).map_err(|_| DpdkError::InvalidArgument {
            what: "EAL argument",
            why: format!("{argc} arguments are too many"),
        })?;
        // SAFETY: argv holds argc valid NUL-terminated strings followed by NULL, and lives for
        // the rest of the process (leaked). EAL_STATE is locked and Uninit, so no other EAL
        // init or cleanup runs concurrently in this process.
        let ret = unsafe { sys::rte_eal_init(argc_c, argv.as_mut_ptr()) };
        if ret < 0 {
            return Err(DpdkError::errno("rte_eal_init"));
        }
        *state = EalState::Running;
        let taken = usize::try_from(ret).unwrap_or(0);
        if taken + 1 < argc {
            // getopt moved the positional arguments it did not take to the end of argv.
            let unused = argv[taken + 1..argc]
                .iter()
                // SAFETY: every entry of argv[..argc] is one of the leaked CStrings (the EAL
                // only permutes them and writes argv[taken] = program name).
                .map(|&p| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
                .collect();
            drop(state);
            drop(EalInner);
            return Err(DpdkError::UnusedArguments(unused));
        }
        Ok(Eal {
            inner: Arc::new(EalInner),
            app_args,
        })
    }

    /// The arguments after `--` (not given to the EAL).
    #[must_use]
    pub fn app_args(&self) -> &[String] {
        &self.app_args
    }

    /// The CPU of each lcore the EAL arguments enabled (`-l`, `-c`, `--lcores`), in lcore
    /// order; the first is the main lcore. Threads registered later are not counted.
    #[must_use]
    pub fn lcore_cpus(&self) -> Vec<usize> {
        let mut cpus = Vec::new();
        for lcore in 0..sys::RTE_MAX_LCORE {
            // SAFETY: the EAL is initialised (self exists); both calls only read its lcore
            // table and accept any id (out-of-range ids answer "not enabled" / -1).
            let enabled = unsafe { sys::rte_lcore_is_enabled(lcore) } != 0;
            if !enabled {
                continue;
            }
            // SAFETY: as above.
            let cpu = unsafe { sys::rte_lcore_to_cpu_id(lcore as c_int) };
            if let Ok(cpu) = usize::try_from(cpu) {
                cpus.push(cpu);
            }
        }
        cpus
    }

    /// The DPDK version svcard was built against.
    #[must_use]
    pub fn version(&self) -> &'static str {
        sys::DPDK_VERSION
    }

    /// How DPDK is linked into svcard.
    #[must_use]
    pub fn link() -> DpdkLink {
        if sys::DPDK_LINK == "static" {
            DpdkLink::Static
        } else {
            DpdkLink::Shared
        }
    }
}

/// How DPDK is linked into svcard (chosen at build time, see `dpdk-sys`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DpdkLink {
    /// A fixed set of drivers built in; the EAL loads no plugins.
    Static,
    /// The EAL loads every PMD from its plugin directory (`SVCARD_DPDK_LINK=shared`).
    Shared,
}

/// Whether an EAL argument is `-d` / `--driver-path` (load a PMD plugin), in any of its
/// spellings (`-d DIR`, `-dDIR`, `--driver-path=DIR`).
fn loads_plugin(arg: &str) -> bool {
    arg.starts_with("-d") || arg == "--driver-path" || arg.starts_with("--driver-path=")
}

/// True while an EAL runs in this process.
#[must_use]
pub fn eal_running() -> bool {
    *lock(&EAL_STATE) == EalState::Running
}

/// Gives the calling thread (one the EAL did not launch, e.g. a pinned worker) an lcore id
/// and thus a mempool cache (`rte_thread_register`). Returns the lcore id; a thread that
/// already has one (the main lcore, or a thread registered before) just gets it back.
///
/// # Errors
/// [`DpdkError::EalNotRunning`] without an EAL; [`DpdkError::Call`] when DPDK refuses (no
/// free lcore id: `ENOMEM`; multi-process in use: `EINVAL`).
pub fn register_thread() -> Result<u32, DpdkError> {
    let state = lock(&EAL_STATE);
    if *state != EalState::Running {
        return Err(DpdkError::EalNotRunning);
    }
    if let Some(id) = lcore_id() {
        return Ok(id);
    }
    // SAFETY: the EAL is initialised (state Running, held locked so cleanup cannot run
    // concurrently); rte_thread_register only touches the calling thread's TLS and the EAL's
    // lcore table.
    let ret = unsafe { sys::rte_thread_register() };
    if ret < 0 {
        return Err(DpdkError::errno("rte_thread_register"));
    }
    lcore_id().ok_or_else(|| DpdkError::Call {
        call: "rte_thread_register",
        code: -22,
        text: "the registered thread has no lcore id".to_string(),
    })
}

/// Gives back the lcore id [`register_thread`] gave the calling thread (a no-op for a thread
/// without one, and for the EAL's own lcores).
pub fn unregister_thread() {
    let state = lock(&EAL_STATE);
    if *state != EalState::Running || lcore_id().is_none() {
        return;
    }
    // SAFETY: the EAL runs (state locked); rte_thread_unregister releases the calling
    // thread's lcore id if it is a registered non-EAL thread and does nothing otherwise.
    unsafe { sys::rte_thread_unregister() };
}

/// The calling thread's lcore id (`rte_lcore_id`), `None` for a thread without one.
#[must_use]
pub fn lcore_id() -> Option<u32> {
    // SAFETY: reads the calling thread's TLS lcore id; no preconditions.
    let id = unsafe { sys::svcard_rte_lcore_id() };
    (id != sys::LCORE_ID_ANY).then_some(id)
}

// ---------------------------------------------------------------------------------------------
// Mempool

struct PoolInner {
    raw: NonNull<sys::rte_mempool>,
    name: String,
    _eal: Arc<EalInner>,
}

// SAFETY: an rte_mempool created by rte_pktmbuf_pool_create uses the default multi-producer,
// multi-consumer ring handler: get and put are safe from any thread (threads without an lcore
// id bypass the per-lcore cache). The pointer stays valid until PoolInner's Drop.
unsafe impl Send for PoolInner {}
// SAFETY: see Send; &PoolInner only allows alloc (MP/MC safe) and read-only counters.
unsafe impl Sync for PoolInner {}

impl Drop for PoolInner {
    fn drop(&mut self) {
        // SAFETY: raw is a live pool (freed only here).
        let in_use = unsafe { sys::svcard_rte_mempool_in_use_count(self.raw.as_ptr()) };
        if in_use == 0 {
            // SAFETY: no mbuf of the pool is out (none in ports either: an EthPort holds its
            // pool alive until the port is closed), and no other handle refers to it.
            unsafe { sys::rte_mempool_free(self.raw.as_ptr()) };
        } else {
            *lock(&POOL_LEAKED) = true;
            eprintln!(
                "svcard: mempool {} dropped with {in_use} mbufs in use; leaking it",
                self.name
            );
        }
    }
}

/// A pool of packet buffers (`rte_pktmbuf_pool_create`) on the caller's NUMA socket.
/// Cloning gives another handle to the same pool.
#[derive(Clone)]
pub struct Mempool {
    inner: Arc<PoolInner>,
}

impl fmt::Debug for Mempool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mempool")
            .field("name", &self.inner.name)
            .field("in_use", &self.in_use())
            .field("available", &self.available())
            .finish()
    }
}

impl Mempool {
    /// Buffer size per mbuf that holds a 2048-byte frame after DPDK's 128-byte headroom
    /// (`RTE_MBUF_DEFAULT_BUF_SIZE`).
    pub const DEFAULT_DATA_ROOM: u16 = 2176;

    /// Creates a pool of `n_mbufs` mbufs with a per-lcore cache of `cache` (at most 512 and
    /// at most `n_mbufs / 1.5`) and `data_room` bytes of buffer each, *including* the
    /// 128-byte headroom ([`Mempool::DEFAULT_DATA_ROOM`]). `n_mbufs` is best a power of two
    /// minus one. The pool must fit in the EAL's memory (`-m`).
    ///
    /// # Errors
    /// [`DpdkError::InvalidArgument`] for a name with a NUL byte; [`DpdkError::Call`] from
    /// `rte_pktmbuf_pool_create` (`EEXIST` name taken, `ENOMEM`/`ENOSPC` no memory, `EINVAL`
    /// bad cache size).
    pub fn new(
        eal: &Eal,
        name: &str,
        n_mbufs: u32,
        cache: u32,
        data_room: u16,
    ) -> Result<Mempool, DpdkError> {
        let cname = CString::new(name).map_err(|_| DpdkError::InvalidArgument {
            what: "mempool name",
            why: format!("{name:?} contains a NUL byte"),
        })?;
        // SAFETY: no preconditions beyond a running EAL (held alive by `eal`).
        let socket = unsafe { sys::rte_socket_id() };
        let socket = c_int::try_from(socket).unwrap_or(sys::SOCKET_ID_ANY);
        // SAFETY: the EAL runs (`eal` borrowed); cname is NUL-terminated and outlives the
        // call (DPDK copies the name).
        let raw = unsafe {
            sys::rte_pktmbuf_pool_create(cname.as_ptr(), n_mbufs, cache, 0, data_room, socket)
        };
        let raw = NonNull::new(raw).ok_or_else(|| DpdkError::errno("rte_pktmbuf_pool_create"))?;
        Ok(Mempool {
            inner: Arc::new(PoolInner {
                raw,
                name: name.to_string(),
                _eal: Arc::clone(&eal.inner),
            }),
        })
    }

    /// Takes one mbuf from the pool (`rte_pktmbuf_alloc`), empty (length 0) with the default
    /// headroom; `None` when the pool is exhausted.
    #[inline]
    #[must_use]
    pub fn alloc(&self) -> Option<Mbuf> {
        // SAFETY: the pool is alive (self holds it); rte_pktmbuf_alloc is MP/MC safe.
        let m = unsafe { sys::svcard_rte_pktmbuf_alloc(self.inner.raw.as_ptr()) };
        NonNull::new(m).map(|raw| Mbuf { raw })
    }

    /// The pool's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Mbufs taken out of the pool (held by the application or by device queues).
    #[must_use]
    pub fn in_use(&self) -> u32 {
        // SAFETY: the pool is alive (self holds it); the count only reads the pool.
        unsafe { sys::svcard_rte_mempool_in_use_count(self.inner.raw.as_ptr()) }
    }

    /// Mbufs available in the pool (including per-lcore caches).
    #[must_use]
    pub fn available(&self) -> u32 {
        // SAFETY: the pool is alive (self holds it); the count only reads the pool.
        unsafe { sys::svcard_rte_mempool_avail_count(self.inner.raw.as_ptr()) }
    }

    /// Buffer bytes per mbuf, including the headroom.
    #[must_use]
    pub fn data_room(&self) -> u16 {
        // SAFETY: the pool is alive and was created by rte_pktmbuf_pool_create, so its
        // private area holds the pktmbuf pool information this reads.
        unsafe { sys::svcard_rte_pktmbuf_data_room_size(self.inner.raw.as_ptr()) }
    }

    /// The raw pool, for DPDK calls this module does not wrap. Valid while `self` lives.
    #[must_use]
    pub fn as_ptr(&self) -> *mut sys::rte_mempool {
        self.inner.raw.as_ptr()
    }
}

/// Takes one mbuf from `pool` for building a packet (same as [`Mempool::alloc`]).
#[inline]
#[must_use]
pub fn alloc(pool: &Mempool) -> Option<Mbuf> {
    pool.alloc()
}

// ---------------------------------------------------------------------------------------------
// Mbuf

/// One DPDK packet buffer, owned: not `Clone`, freed (`rte_pktmbuf_free`) on drop. The
/// ports receive into and transmit from a [`Burst`]'s slots in place, as raw pointers.
///
/// [`PacketBuf::data`] is the first segment; svcard's pools and ports give single-segment
/// mbufs (no scatter), and [`PacketBuf::set_len`] refuses to change a chained mbuf.
#[repr(transparent)]
pub struct Mbuf {
    raw: NonNull<sys::rte_mbuf>,
}

// `Option<Mbuf>` is a nullable `*mut rte_mbuf` (a `repr(transparent)` struct around a
// `NonNull` has the null-pointer niche, as the standard library documents for `Option`):
// the ports receive into and transmit from a burst's slots in place.
const _: () = assert!(
    core::mem::size_of::<Option<Mbuf>>() == core::mem::size_of::<*mut sys::rte_mbuf>()
        && core::mem::align_of::<Option<Mbuf>>() == core::mem::align_of::<*mut sys::rte_mbuf>()
        && core::mem::size_of::<Option<Mbuf>>() == core::mem::size_of::<usize>()
        && core::mem::align_of::<Option<Mbuf>>() == core::mem::align_of::<usize>()
);

// SAFETY: an Mbuf is the only owner of its rte_mbuf (not Clone; only the pool and the ports'
// receive make one), and freeing an mbuf into its MP/MC pool is safe from any thread.
unsafe impl Send for Mbuf {}

impl fmt::Debug for Mbuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.hdr();
        f.debug_struct("Mbuf")
            .field("ptr", &self.raw)
            .field("data_off", &m.data_off)
            .field("data_len", &m.data_len)
            .field("pkt_len", &m.pkt_len)
            .field("nb_segs", &m.nb_segs)
            .finish()
    }
}

impl Drop for Mbuf {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: self owns the mbuf, which is live (its pool outlives it: see the module
        // docs); it is not used after this.
        unsafe { sys::svcard_rte_pktmbuf_free(self.raw.as_ptr()) }
    }
}

impl Mbuf {
    /// The raw mbuf, still owned by `self`.
    #[inline]
    #[must_use]
    pub fn as_ptr(&self) -> *const sys::rte_mbuf {
        self.raw.as_ptr()
    }

    #[inline]
    fn hdr(&self) -> &sys::rte_mbuf {
        // SAFETY: self owns a live mbuf; &self gives shared access to its header.
        unsafe { self.raw.as_ref() }
    }

    #[inline]
    fn hdr_mut(&mut self) -> &mut sys::rte_mbuf {
        // SAFETY: self owns a live mbuf; &mut self gives exclusive access to its header.
        unsafe { self.raw.as_mut() }
    }

    /// The DPDK port the frame arrived on.
    #[inline]
    #[must_use]
    pub fn port(&self) -> u16 {
        self.hdr().port
    }

    /// Bytes free before the data.
    #[inline]
    #[must_use]
    pub fn headroom(&self) -> usize {
        usize::from(self.hdr().data_off)
    }

    /// Bytes free after the data in this (the last, for single-segment mbufs) segment.
    #[inline]
    #[must_use]
    pub fn tailroom(&self) -> usize {
        let m = self.hdr();
        usize::from(m.buf_len).saturating_sub(usize::from(m.data_off) + usize::from(m.data_len))
    }

    /// Number of segments.
    #[inline]
    #[must_use]
    pub fn segments(&self) -> u16 {
        self.hdr().nb_segs
    }

    /// The whole-packet length (`pkt_len`, all segments).
    #[inline]
    #[must_use]
    pub fn pkt_len(&self) -> u32 {
        self.hdr().pkt_len
    }

    /// Prefetches the first cache line of the frame (`rte_prefetch0`).
    #[inline]
    pub fn prefetch(&self) {
        let p = self.data_ptr();
        // SAFETY: a prefetch is a hint and never faults; p points into the mbuf's buffer.
        unsafe { sys::svcard_rte_prefetch0(p.cast()) }
    }

    #[inline]
    fn data_ptr(&self) -> *mut u8 {
        let m = self.hdr();
        // buf_addr + data_off is rte_pktmbuf_mtod; data_off <= buf_len by DPDK's invariants,
        // so the address stays in the buffer.
        m.buf_addr
            .cast::<u8>()
            .wrapping_add(usize::from(m.data_off))
    }
}

impl PacketBuf for Mbuf {
    #[inline]
    fn frame_len(&self) -> usize {
        usize::from(self.hdr().data_len)
    }

    #[inline]
    fn data(&self) -> &[u8] {
        let len = usize::from(self.hdr().data_len);
        // SAFETY: mtod .. mtod + data_len lies inside the mbuf's buffer and is initialised
        // frame data (DPDK's invariant: data_off + data_len <= buf_len); self owns the mbuf,
        // so nothing writes it while the shared borrow lives.
        unsafe { std::slice::from_raw_parts(self.data_ptr(), len) }
    }

    #[inline]
    fn data_mut(&mut self) -> &mut [u8] {
        let len = usize::from(self.hdr().data_len);
        let p = self.data_ptr();
        // SAFETY: as in data(); &mut self makes the borrow exclusive. An mbuf received from a
        // PMD or allocated from a pool has refcnt 1 and no indirect attachment in svcard, so
        // the buffer is not shared with another mbuf.
        unsafe { std::slice::from_raw_parts_mut(p, len) }
    }

    #[inline]
    fn set_len(&mut self, len: usize) -> bool {
        if self.segments() != 1 {
            return len == usize::from(self.hdr().data_len);
        }
        let Ok(len16) = u16::try_from(len) else {
            return false;
        };
        if len > self.capacity() {
            return false;
        }
        // Growing exposes buffer bytes that may hold an earlier frame's data, never
        // uninitialised memory: DPDK's memory comes from mmap (zero-filled by the kernel) and
        // is only ever written with bytes, so every byte of the buffer is a valid u8.
        let m = self.hdr_mut();
        m.data_len = len16;
        m.pkt_len = u32::from(len16);
        true
    }

    #[inline]
    fn capacity(&self) -> usize {
        let m = self.hdr();
        if m.nb_segs != 1 {
            return usize::from(m.data_len);
        }
        usize::from(m.buf_len).saturating_sub(usize::from(m.data_off))
    }
}

// ---------------------------------------------------------------------------------------------
// Ports

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
struct PortState {
    started: bool,
    rx_claimed: Vec<bool>,
    tx_claimed: Vec<bool>,
}

impl PortState {
    fn claims(&self) -> usize {
        self.rx_claimed
            .iter()
            .chain(&self.tx_claimed)
            .filter(|&&c| c)
            .count()
    }
}

#[derive(Debug)]
struct PortInner {
    id: u16,
    rx_queues: u16,
    tx_queues: u16,
    rss_hf: u64,
    /// Control-path calls on the port are serialised through this lock.
    state: Mutex<PortState>,
    /// The pool the RX queues fill from: alive until the port is closed.
    pool: Mempool,
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
fn receiving_rx_queues(info: &sys::rte_eth_dev_info) -> u16 {
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

/// A configured and started Ethernet port. Dropping it (after every [`DpdkQueues`] that uses
/// it) stops and closes the port; for virtual devices closing releases the port id.
#[derive(Debug)]
pub struct EthPort {
    inner: Arc<PortInner>,
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
            Ok((rss_hf, rx_queues)) => Ok(EthPort {
                inner: Arc::new(PortInner {
                    id: port_id,
                    rx_queues,
                    tx_queues: cfg.tx_queues,
                    rss_hf,
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

    /// Configures, sets up the queues, starts. Returns the RSS hash functions in use and
    /// the RX queues set up.
    fn setup(port: u16, cfg: &PortConfig, pool: &Mempool) -> Result<(u64, u16), DpdkError> {
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
        Ok((if use_rss { rss_hf } else { 0 }, rx_queues))
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

fn port_name(port: u16) -> Result<String, DpdkError> {
    let mut buf = [0 as c_char; sys::ETH_NAME_MAX_LEN];
    // SAFETY: buf has RTE_ETH_NAME_MAX_LEN bytes, the size the call writes at most.
    let ret = unsafe { sys::rte_eth_dev_get_name_by_port(port, buf.as_mut_ptr()) };
    check_port("rte_eth_dev_get_name_by_port", port, ret)?;
    // SAFETY: on success buf holds a NUL-terminated name within its bounds.
    Ok(unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned())
}

// ---------------------------------------------------------------------------------------------
// Per-worker queues

#[derive(Debug)]
struct QueueSlot {
    port: Arc<PortInner>,
    /// The RX queues this handle polls on the port (none for the control core; one for a
    /// worker, or more when the port has more RX queues than there are workers).
    rx: Vec<u16>,
    /// Which of `rx` the next receive polls (they take turns).
    next_rx: usize,
    tx: u16,
}

/// The RX queues worker `index` of `workers` polls on a port with `queues` RX queues:
/// `index`, `index + workers`, ... (one each when there are as many queues as workers).
#[must_use]
pub fn worker_rx_queues(index: u16, workers: u16, queues: u16) -> Vec<u16> {
    let step = usize::from(workers.max(1));
    (index..queues).step_by(step).collect()
}

/// One worker's (or the control core's) queues on every port: implements [`PortIo`].
/// The `port` argument of [`PortIo`] methods is the index into the port list given at
/// construction (equal to the DPDK port id when the ports were listed in id order).
///
/// Holds its queues exclusively until dropped, and keeps the ports alive.
#[derive(Debug)]
pub struct DpdkQueues {
    slots: Vec<QueueSlot>,
}

impl DpdkQueues {
    /// Worker `index`: RX queue `index` and TX queue `index` of every port.
    ///
    /// # Errors
    /// [`DpdkError::QueueOutOfRange`] or [`DpdkError::QueueInUse`].
    pub fn worker(ports: &[EthPort], index: u16) -> Result<DpdkQueues, DpdkError> {
        Self::claim(ports, |_| (vec![index], index))
    }

    /// Worker `index` of `workers`: TX queue `index` of every port and, of a port's RX
    /// queues, those [`worker_rx_queues`] gives it (queue `index` alone when the port has
    /// one RX queue per worker; more when it has more, as `net_af_packet` with more
    /// `qpairs` than workers, whose every queue receives its share of the flows and must
    /// be polled).
    ///
    /// # Errors
    /// [`DpdkError::QueueOutOfRange`] or [`DpdkError::QueueInUse`].
    pub fn worker_of(ports: &[EthPort], index: u16, workers: u16) -> Result<DpdkQueues, DpdkError> {
        Self::claim(ports, |p| {
            let mut rx = worker_rx_queues(index, workers, p.rx_queues);
            if rx.is_empty() {
                // More workers than queues: claiming queue `index` reports it out of range.
                rx.push(index);
            }
            (rx, index)
        })
    }

    /// The control core: no RX queue, the last TX queue of every port.
    ///
    /// # Errors
    /// [`DpdkError::QueueInUse`] when a worker holds that TX queue (the ports were configured
    /// without the control core's extra queue).
    pub fn control(ports: &[EthPort]) -> Result<DpdkQueues, DpdkError> {
        Self::claim(ports, |p| (Vec::new(), p.tx_queues - 1))
    }

    fn claim(
        ports: &[EthPort],
        pick: impl Fn(&PortInner) -> (Vec<u16>, u16),
    ) -> Result<DpdkQueues, DpdkError> {
        let mut q = DpdkQueues {
            slots: Vec::with_capacity(ports.len()),
        };
        for p in ports {
            let inner = &p.inner;
            let (rx, tx) = pick(inner);
            let mut st = lock(&inner.state);
            for &r in &rx {
                let Some(&claimed) = st.rx_claimed.get(usize::from(r)) else {
                    return Err(DpdkError::QueueOutOfRange {
                        port: inner.id,
                        dir: "rx",
                        queue: r,
                        count: inner.rx_queues,
                    });
                };
                if claimed {
                    return Err(DpdkError::QueueInUse {
                        port: inner.id,
                        dir: "rx",
                        queue: r,
                    });
                }
            }
            let Some(&claimed) = st.tx_claimed.get(usize::from(tx)) else {
                return Err(DpdkError::QueueOutOfRange {
                    port: inner.id,
                    dir: "tx",
                    queue: tx,
                    count: inner.tx_queues,
                });
            };
            if claimed {
                return Err(DpdkError::QueueInUse {
                    port: inner.id,
                    dir: "tx",
                    queue: tx,
                });
            }
            for &r in &rx {
                st.rx_claimed[usize::from(r)] = true;
            }
            st.tx_claimed[usize::from(tx)] = true;
            drop(st);
            // From here the Drop of `q` releases this claim if a later port fails.
            q.slots.push(QueueSlot {
                port: Arc::clone(inner),
                rx,
                next_rx: 0,
                tx,
            });
        }
        Ok(q)
    }

    /// The DPDK port id behind index `port`.
    #[must_use]
    pub fn port_id(&self, port: u16) -> Option<u16> {
        self.slots.get(usize::from(port)).map(|s| s.port.id)
    }
}

impl Drop for DpdkQueues {
    fn drop(&mut self) {
        for s in &self.slots {
            let mut st = lock(&s.port.state);
            for &r in &s.rx {
                st.rx_claimed[usize::from(r)] = false;
            }
            st.tx_claimed[usize::from(s.tx)] = false;
        }
    }
}

/// A burst's slots as the words they are: 0 for an empty slot, the mbuf's address for a
/// filled one (Option<Mbuf> has the size and alignment of a usize: asserted at Mbuf).
#[inline]
fn slot_words(slots: &[Option<Mbuf>]) -> &[usize] {
    // SAFETY: same size and alignment, and a pointer or null is a valid usize; the shared
    // borrow keeps the slots unchanged while the words are read.
    unsafe { core::slice::from_raw_parts(slots.as_ptr().cast::<usize>(), slots.len()) }
}

impl PortIo for DpdkQueues {
    type Pkt = Mbuf;

    fn thread_init(&mut self) -> Result<(), String> {
        register_thread().map(|_| ()).map_err(|e| e.to_string())
    }

    fn port_count(&self) -> usize {
        self.slots.len()
    }

    #[inline]
    fn rx_burst(&mut self, port: u16, out: &mut Burst<Mbuf>) -> usize {
        let Some(slot) = self.slots.get_mut(usize::from(port)) else {
            return 0;
        };
        let queue = match slot.rx.len() {
            0 => return 0,
            1 => slot.rx[0],
            n => {
                // Several queues: each receive polls the next.
                let q = slot.rx[slot.next_rx % n];
                slot.next_rx = (slot.next_rx + 1) % n;
                q
            }
        };
        // One OR over the spare slots (vectorised): packets a reset left there are dropped
        // before the slots are overwritten.
        if slot_words(out.spare_mut()).iter().fold(0, |a, &w| a | w) != 0 {
            out.clear_spare();
        }
        let spare = out.spare_mut();
        let want = spare.len();
        if want == 0 {
            return 0;
        }
        let raw = spare.as_mut_ptr().cast::<*mut sys::rte_mbuf>();
        // want <= BURST = 64 fits u16. The slots are all empty (cleared above): null
        // *mut rte_mbuf, the layout of Option<Mbuf> (asserted at Mbuf).
        let (id, want16) = (slot.port.id, want as u16);
        // SAFETY: this handle owns RX queue `queue` of the live port (claimed, slot holds
        // it); raw[..want] are writable empty slots of the burst.
        let n = unsafe { sys::svcard_rte_eth_rx_burst(id, queue, raw, want16) };
        let n = usize::from(n).min(want);
        if n < want {
            // A vector PMD may have written pointers past the ones it returned (not handed
            // over): those slots go back to empty.
            // SAFETY: n < want, so raw + n is inside the burst's slots.
            let rest = unsafe { raw.add(n) };
            // SAFETY: rest[..want - n] are slots of the burst (in bounds); null is None.
            unsafe { ptr::write_bytes(rest, 0, want - n) };
        }
        // raw[..n] now hold the n received mbufs, owned by the burst's slots from here (each
        // freed when its Option<Mbuf> is dropped).
        out.filled(n);
        n
    }

    #[inline]
    fn tx_burst(&mut self, port: u16, pkts: &mut Burst<Mbuf>) -> usize {
        if slot_words(pkts.filled_mut()).contains(&0) {
            // A packet was taken out of the middle: DPDK must not see the empty slot.
            pkts.compact();
        }
        let items = pkts.filled_mut();
        let n = items.len();
        if n == 0 {
            return 0;
        }
        let raw = items.as_mut_ptr().cast::<*mut sys::rte_mbuf>();
        let sent = match self.slots.get(usize::from(port)) {
            Some(slot) => {
                // n <= BURST = 64 fits u16. Every filled slot holds an mbuf (compacted above),
                // as a *mut rte_mbuf (layout asserted at Mbuf).
                let (id, q, n16) = (slot.port.id, slot.tx, n as u16);
                // SAFETY: this handle holds TX queue `q` exclusively; raw[..n] are live mbufs
                // the burst owns; TX takes ownership of the first `sent`.
                let sent = unsafe { sys::svcard_rte_eth_tx_burst(id, q, raw, n16) };
                usize::from(sent).min(n)
            }
            None => 0,
        };
        // SAFETY: raw[..sent] are slots of the burst whose mbufs DPDK now owns: emptied (null
        // is None) without freeing them.
        unsafe { ptr::write_bytes(raw, 0, sent) };
        // Frees the ones TX did not take, now.
        for s in &mut pkts.filled_mut()[sent..] {
            *s = None;
        }
        pkts.reset();
        sent
    }
}

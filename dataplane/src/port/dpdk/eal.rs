//! The EAL: start-up (once a process), clean-up when the last handle goes, lcore registration of threads DPDK did not launch, and how DPDK is linked.

use std::collections::BTreeSet;
use std::ffi::{c_char, c_int, CStr, CString};
use std::ptr::{self};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use dpdk_sys as sys;

use super::error::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EalState {
    Uninit,
    Running,
    Finished,
}

/// The state of this process's one EAL.
pub(super) static EAL_STATE: Mutex<EalState> = Mutex::new(EalState::Uninit);
/// Set when a pool was dropped with mbufs still out: the EAL is then never cleaned up.
pub(super) static POOL_LEAKED: Mutex<bool> = Mutex::new(false);
/// Ports configured by a live [`EthPort`].
pub(super) static PORTS_IN_USE: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `rte_eal_cleanup` when the last handle that depends on the EAL is gone.
#[derive(Debug)]
pub(super) struct EalInner;

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
    pub(super) inner: Arc<EalInner>,
    pub(super) app_args: Vec<String>,
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
pub(super) fn loads_plugin(arg: &str) -> bool {
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

//! Errors of the DPDK layer: the negative errno DPDK returns, with the call that failed.

use std::ffi::{c_int, CStr};

use dpdk_sys as sys;
use svcard_config::QueueId;

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
        queue: QueueId,
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
        queue: QueueId,
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
pub(super) fn strerror(code: i32) -> String {
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
pub(super) fn rte_errno() -> i32 {
    // SAFETY: reads the calling thread's TLS rte_errno; no preconditions.
    unsafe { sys::svcard_rte_errno() }
}

impl DpdkError {
    /// The error of a call that returned `ret < 0` (a negative errno).
    pub(super) fn call(call: &'static str, ret: c_int) -> Self {
        let code = -ret.saturating_abs();
        Self::Call {
            call,
            code,
            text: strerror(code),
        }
    }
    /// The error of a call that failed and set `rte_errno`.
    pub(super) fn errno(call: &'static str) -> Self {
        Self::call(call, rte_errno())
    }
    /// The error of a port call that returned `ret < 0`.
    pub(super) fn port(call: &'static str, port: u16, ret: c_int) -> Self {
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
pub(super) fn check_port(call: &'static str, port: u16, ret: c_int) -> Result<c_int, DpdkError> {
    if ret < 0 {
        Err(DpdkError::port(call, port, ret))
    } else {
        Ok(ret)
    }
}

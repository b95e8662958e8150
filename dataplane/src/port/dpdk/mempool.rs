//! Mbuf pools: created once at start, kept alive by the ports that receive into them.

use std::ffi::{c_int, CString};
use std::fmt;
use std::ptr::NonNull;
use std::sync::Arc;

use dpdk_sys as sys;

use super::eal::*;
use super::error::*;
use super::mbuf::*;

pub(super) struct PoolInner {
    pub(super) raw: NonNull<sys::rte_mempool>,
    pub(super) name: String,
    pub(super) _eal: Arc<EalInner>,
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
    pub(super) inner: Arc<PoolInner>,
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

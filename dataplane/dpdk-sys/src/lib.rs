//! Raw DPDK bindings (being written).

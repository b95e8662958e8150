//! pcap backend (being written).

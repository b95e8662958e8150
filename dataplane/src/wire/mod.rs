//! Packet views (filled in by the wire work).

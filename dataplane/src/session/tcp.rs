//! TCP tracking (placeholder while it is written).
/// TCP state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpState(pub u8);

//! Timer wheel (placeholder while it is written).
/// The wheel.
#[derive(Debug)]
pub struct TimerWheel;

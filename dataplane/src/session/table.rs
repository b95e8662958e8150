//! The session table (placeholder while it is written).
/// A session.
#[derive(Debug)]
pub struct Session;
/// The table.
#[derive(Debug)]
pub struct SessionTable;
/// Table errors.
#[derive(Debug)]
pub enum TableError {}

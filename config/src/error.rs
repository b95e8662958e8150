//! Configuration errors that name the file, the line and the field.

use std::path::PathBuf;

/// A configuration error: `file:line: field: message`.
///
/// `line` is 1-based; 0 means the error has no line (the file could not be read).
/// `field` is the dotted path of the offending key (`service-set[0].rule[2].destination-port`,
/// 0-based array indices); empty for TOML syntax errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ConfigError {
    /// The configuration file, as given to the loader.
    pub file: PathBuf,
    /// 1-based line of the offending key or value (0 when there is none).
    pub line: usize,
    /// Dotted path of the offending field (empty for syntax and I/O errors).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    fn render(&self) -> String {
        let file = self.file.display();
        match (self.line, self.field.is_empty()) {
            (0, true) => format!("{file}: {}", self.message),
            (0, false) => format!("{file}: {}: {}", self.field, self.message),
            (l, true) => format!("{file}:{l}: {}", self.message),
            (l, false) => format!("{file}:{l}: {}: {}", self.field, self.message),
        }
    }
}

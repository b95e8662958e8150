//! TOML → [`Config`]: a walk over the spanned document (`toml::de::DeTable`) so that every
//! error carries the line of the key or value it is about.
//!
//! The rooms: [`reader`] (spanned values, tables, typed readers), [`sections`] (each table
//! but the service sets), [`service_sets`], [`offload`] (the card's and each service set's), [`nat`] (pools and rules), [`tcp`] (the TCP checks); [`build`] reads them in order and assembles the
//! model.

use std::path::Path;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::{Config, ConfigError};

mod nat;
mod offload;
mod reader;
mod sections;
mod service_sets;
mod tcp;

use reader::{Src, Tab, R, V};

/// Parses and validates a whole configuration.
pub(crate) fn build(text: &str, file: &Path) -> R<Config> {
    let src = Src { text, file };
    let doc = DeTable::parse(text).map_err(|e| ConfigError {
        file: file.to_path_buf(),
        line: e.span().map_or(1, |s| src.line(s.start)),
        field: String::new(),
        message: e.message().to_string(),
    })?;
    let root_v: V<'_> = Spanned::new(doc.span(), DeValue::Table(doc.into_inner()));
    let root = Tab::of(
        &src,
        &root_v,
        String::new(),
        &[
            "card",
            "workers",
            "dpdk",
            "port",
            "service-set",
            "application",
            "timeouts",
            "limits",
            "alg",
            "offload",
            "aging",
            "metrics",
            "nat",
            "log",
            "tcp-session",
            "ipfix",
        ],
    )?;
    let base = file.parent().unwrap_or(Path::new("")).to_path_buf();

    let card = sections::card(&src, &root)?;
    let workers = sections::workers(&src, &root, &card)?;
    let dpdk = sections::dpdk(&src, &root)?;
    let ports = sections::ports(&src, &root, &base)?;
    let applications = sections::applications(&src, &root)?;
    let algs = sections::algs(&src, &root, &applications)?;
    let timeouts = sections::timeouts(&src, &root)?;
    let limits = sections::limits(&src, &root)?;
    let offload = offload::offload(&src, &root)?;
    let metrics = sections::metrics(&src, &root)?;
    let nat = nat::nat(&src, &root)?;
    let log = sections::log(&src, &root)?;
    let ipfix = sections::ipfix(&root)?;
    let tcp_session = tcp::tcp_session(&root, crate::TcpSession::default())?;
    let (service_sets, port_ss, unit_ss) = service_sets::service_sets(
        &src,
        &root,
        &ports,
        &applications,
        &limits,
        &nat,
        (tcp_session, log.events),
    )?;

    let mut config = Config::assemble(
        file.to_path_buf(),
        card,
        workers,
        dpdk,
        ports,
        service_sets,
        applications,
        timeouts,
        limits,
        algs,
        offload,
        metrics,
        nat,
        log,
        tcp_session,
        port_ss,
        unit_ss,
    );
    config.ipfix = ipfix;
    Ok(config)
}

/// Reading a configuration: the entry points, here beside the parser they call.
impl Config {
    /// Parses and validates a configuration; `file` names it in errors and is the base of
    /// relative paths.
    ///
    /// # Errors
    /// The first problem found, as `file:line: field: message`.
    pub fn from_toml_str(text: &str, file: &Path) -> Result<Config, ConfigError> {
        build(text, file)
    }

    /// Reads, parses and validates the configuration file at `path`.
    ///
    /// # Errors
    /// The file cannot be read, or [`Config::from_toml_str`] fails.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            line: 0,
            field: String::new(),
            message: format!("cannot read: {e}"),
        })?;
        Config::from_toml_str(&text, path)
    }
}

#[cfg(test)]
mod tests {
    use super::reader::valid_ifname;

    #[test]
    fn interface_names() {
        for ok in [
            "ge-0/0/0.0",
            "xe-1/2/3",
            "et-0/0/0:1.100",
            "ae0.0",
            "ae0",
            "ge-0/0/1",
        ] {
            assert!(valid_ifname(ok), "{ok}");
        }
        for bad in [
            "",
            "ge",
            "ge-",
            "ge-0//0",
            "ge-0/0/0.",
            "GE-0/0/0",
            "0/0/0",
            "ge-a/0/0",
            "ge 0/0/0",
            "ge-0/0/0.x",
            "eth0/1",
        ] {
            assert!(!valid_ifname(bad), "{bad}");
        }
    }
}

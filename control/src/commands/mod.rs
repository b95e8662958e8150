//! svcard's operational commands, one file each (or one for a show and its clear): its
//! options, the command they make, its request RPC and its execution together. This file
//! lists the commands ([`Command`]), places them in the keyword tree ([`ROOT`]), and runs a
//! command line ([`execute`]: parse, run or render the RPC, pipes, `| save`).
//!
//! Adding a command: a file here with its option tables, `build`, `request` and `show` /
//! `clear`; a variant of [`Command`]; its words in the tree below; one arm in [`run`] and one
//! in [`request`]. Its layout goes in a file of [`crate::show`]. A command file never
//! imports this one: the tree maps what it builds into [`Command`].
//!
//! A line ending in `?` lists what may come next instead of running.

pub mod alg_conversations;
pub mod alg_statistics;
pub mod cli;
pub mod context;
pub mod flow_gate;
pub mod flow_session;
pub mod flow_statistics;
pub mod grammar;
pub mod help;
pub mod interfaces;
pub mod nat_deterministic;
pub mod nat_mappings;
pub mod nat_pool;
pub mod offload_statistics;
pub mod out;
pub mod reload;
pub mod resource_manager;
pub mod runtime;
pub mod selectors;
pub mod service_sets;
pub mod services_sessions;
pub mod sfw_statistics;
pub mod svcard_statistics;
pub mod version;

#[cfg(test)]
mod tests;

use std::io::{self, Write};

use crate::show::model::Elem;
use crate::show::pipe::DisplayFormat;
use crate::show::tree::{write_rpc, write_xnm_error, JsonOut, TreeOut as _, XmlOut};
use crate::show::IoFmt;
pub use context::{ConfigNames, Context};
pub use grammar::{render_error, CliError, CliErrorKind};
use grammar::{CommandDef, Next, Node};
pub use help::{Help, HelpItem};
use out::{Failure, Out, Outcome};

pub use alg_conversations::ShowAlgConversations;
pub use flow_session::{ClearFlowSession, ShowFlowSession, SummaryForm};
pub use selectors::{FlowSessionFilter, ResolveError};
pub use services_sessions::ShowServicesSessions;

/// A command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `show security flow session …`.
    ShowFlowSession(ShowFlowSession),
    /// `show services sessions …`.
    ShowServicesSessions(ShowServicesSessions),
    /// `show services alg conversations …`.
    ShowAlgConversations(ShowAlgConversations),
    /// `show services alg statistics [application-protocol P]`.
    ShowAlgStatistics(Option<&'static str>),
    /// `clear security flow session …`.
    ClearFlowSession(ClearFlowSession),
    /// `clear services sessions …`.
    ClearServicesSessions(FlowSessionFilter),
    /// `show services nat mappings endpoint-independent`.
    ShowNatMappingsEim,
    /// `show services nat mappings address-pooling-paired`.
    ShowNatMappingsPaired,
    /// `show services nat mappings detail`.
    ShowNatMappingsDetail,
    /// `clear services nat mappings`.
    ClearNatMappings,
    /// `show services nat deterministic-nat (internal-host | nat-port-block) …`.
    ShowNatDeterministic(nat_deterministic::DetQuery),
    /// `show services nat pool [brief | detail]`.
    ShowNatPool(crate::show::nat::PoolLevel),
    /// `show services offload statistics`.
    ShowOffloadStatistics,
    /// `clear services offload statistics`.
    ClearOffloadStatistics,
    /// `show svcard statistics`.
    ShowSvcardStatistics,
    /// `show svcard runtime`.
    ShowSvcardRuntime,
    /// `clear svcard runtime`.
    ClearSvcardRuntime,
    /// `show security flow statistics`.
    ShowFlowStatistics,
    /// `show version`.
    ShowVersion,
    /// `show interfaces …`.
    ShowInterfaces(interfaces::ShowInterfaces),
    /// `request system configuration reload`.
    RequestConfigurationReload,
    /// `show services stateful-firewall statistics …`.
    ShowSfwStatistics(sfw_statistics::ShowSfwStatistics),
    /// `clear services stateful-firewall statistics [interface I]`.
    ClearSfwStatistics(Option<String>),
    /// `set cli screen-length N` / `screen-width N`: the interactive shell's own settings
    /// (`svcard cli` keeps them; the server only acknowledges).
    SetCli(cli::SetCli),
    /// `show cli`: the interactive shell's settings.
    ShowCli,
    /// `show security flow gate …`.
    ShowFlowGate(flow_gate::ShowFlowGate),
    /// `show security resource-manager summary | group active | resource active`.
    ShowResourceManager(resource_manager::RmView),
    /// `show services service-sets statistics packet-drops [interface I]`.
    ShowServiceSetDrops(Option<String>),
    /// `clear services service-sets statistics packet-drops [interface I]`.
    ClearServiceSetDrops(Option<String>),
    /// `clear services alg statistics [application-protocol P]`.
    ClearAlgStatistics(Option<&'static str>),
}

/// A parsed command line.
pub type CommandLine = grammar::CommandLine<Command>;

/// Parses a command line against svcard's commands.
///
/// # Errors
/// Unknown, ambiguous or missing words, values out of range or malformed, bad patterns.
pub fn parse(line: &str) -> Result<CommandLine, CliError> {
    grammar::parse(ROOT, line)
}

/// What may come after `line` (a `?`).
///
/// # Errors
/// An earlier word does not parse (the error the command would give).
pub fn help(line: &str) -> Result<Help, CliError> {
    help::help(ROOT, line)
}

fn run(ctx: &Context, cmd: &Command, out: &mut Out<'_>) -> Outcome {
    match cmd {
        Command::ShowFlowSession(s) => flow_session::show(ctx, s, out),
        Command::ClearFlowSession(c) => flow_session::clear(ctx, c, out),
        Command::ShowServicesSessions(s) => services_sessions::show(ctx, s, out),
        Command::ClearServicesSessions(f) => services_sessions::clear(ctx, f, out),
        Command::ShowAlgConversations(s) => alg_conversations::show(ctx, s, out),
        Command::ShowAlgStatistics(p) => alg_statistics::show(ctx, *p, out),
        Command::ShowNatPool(l) => nat_pool::show(ctx, *l, out),
        Command::ShowNatMappingsEim => nat_mappings::show(ctx, nat_mappings::MappingKind::Eim, out),
        Command::ShowNatMappingsPaired => {
            nat_mappings::show(ctx, nat_mappings::MappingKind::Paired, out)
        }
        Command::ShowNatMappingsDetail => {
            nat_mappings::show(ctx, nat_mappings::MappingKind::Detail, out)
        }
        Command::ClearNatMappings => nat_mappings::clear(ctx, out),
        Command::ShowNatDeterministic(q) => nat_deterministic::show(ctx, *q, out),
        Command::ShowOffloadStatistics => offload_statistics::show(ctx, out),
        Command::ClearOffloadStatistics => offload_statistics::clear(ctx, out),
        Command::ShowSvcardStatistics => svcard_statistics::show(ctx, out),
        Command::ShowSvcardRuntime => runtime::show(ctx, out),
        Command::ClearSvcardRuntime => runtime::clear(ctx, out),
        Command::ShowFlowStatistics => flow_statistics::show(ctx, out),
        Command::ShowVersion => version::show(ctx, out),
        Command::ShowInterfaces(s) => interfaces::show(ctx, s, out),
        Command::RequestConfigurationReload => reload::run(ctx, out),
        Command::ShowSfwStatistics(s) => sfw_statistics::show(ctx, s, out),
        Command::ClearSfwStatistics(i) => sfw_statistics::clear(ctx, i.as_ref(), out),
        Command::SetCli(s) => cli::set(*s, out),
        Command::ShowCli => cli::show(&cli::CliSettings::default(), out),
        Command::ShowFlowGate(s) => flow_gate::show(ctx, s, out),
        Command::ShowResourceManager(v) => resource_manager::show(ctx, *v, out),
        Command::ShowServiceSetDrops(i) => service_sets::show(ctx, i.as_ref(), out),
        Command::ClearServiceSetDrops(i) => service_sets::clear(ctx, i.as_ref(), out),
        Command::ClearAlgStatistics(p) => alg_statistics::clear(ctx, *p, out),
    }
}

/// The request RPC a command maps to (`| display xml rpc`).
#[must_use]
pub fn request(cmd: &Command) -> Elem {
    match cmd {
        Command::ShowFlowSession(s) => flow_session::show_request(s),
        Command::ClearFlowSession(c) => flow_session::clear_request(c),
        Command::ShowServicesSessions(s) => services_sessions::show_request(s),
        Command::ClearServicesSessions(f) => services_sessions::clear_request(f),
        Command::ShowAlgConversations(s) => alg_conversations::request(s),
        Command::ShowAlgStatistics(p) => alg_statistics::request(*p),
        Command::ShowNatPool(l) => nat_pool::request(*l),
        Command::ShowNatMappingsEim => nat_mappings::request(nat_mappings::MappingKind::Eim),
        Command::ShowNatMappingsPaired => nat_mappings::request(nat_mappings::MappingKind::Paired),
        Command::ShowNatMappingsDetail => nat_mappings::request(nat_mappings::MappingKind::Detail),
        Command::ClearNatMappings => nat_mappings::clear_request(),
        Command::ShowNatDeterministic(q) => nat_deterministic::request(*q),
        Command::ShowOffloadStatistics => offload_statistics::request(),
        Command::ClearOffloadStatistics => offload_statistics::clear_request(),
        Command::ShowSvcardStatistics => svcard_statistics::request(),
        Command::ShowSvcardRuntime => runtime::request(),
        Command::ClearSvcardRuntime => runtime::clear_request(),
        Command::ShowFlowStatistics => flow_statistics::request(),
        Command::ShowVersion => version::request(),
        Command::ShowInterfaces(s) => interfaces::request(s),
        Command::RequestConfigurationReload => reload::request(),
        Command::ShowSfwStatistics(s) => sfw_statistics::show_request(s),
        Command::ClearSfwStatistics(i) => sfw_statistics::clear_request(i.as_ref()),
        Command::SetCli(s) => cli::set_request(*s),
        Command::ShowCli => cli::show_request(),
        Command::ShowFlowGate(s) => flow_gate::request(s),
        Command::ShowResourceManager(v) => resource_manager::request(*v),
        Command::ShowServiceSetDrops(i) => service_sets::show_request(i.as_ref()),
        Command::ClearServiceSetDrops(i) => service_sets::clear_request(i.as_ref()),
        Command::ClearAlgStatistics(p) => alg_statistics::clear_request(*p),
    }
}

// ---------------------------------------------------------------------------------------
// The keyword tree.

/// The top of the command tree.
pub static ROOT: &[Node<Command>] = &[
    Node {
        word: "clear",
        help: "Clear information in the system",
        next: Next::Nodes(CLEAR),
    },
    Node {
        word: "request",
        help: "Make system-level requests",
        next: Next::Nodes(&[Node {
            word: "system",
            help: "Perform system-level operations",
            next: Next::Nodes(&[Node {
                word: "configuration",
                help: "Request operation on system configuration",
                next: Next::Nodes(&[Node {
                    word: "reload",
                    help: "Read the configuration file again and commit it",
                    next: Next::Command(CommandDef {
                        options: &[],
                        build: |_| Ok(Command::RequestConfigurationReload),
                    }),
                }]),
            }]),
        }]),
    },
    Node {
        word: "set",
        help: "Set CLI properties, date/time, craft interface message",
        next: Next::Nodes(&[Node {
            word: "cli",
            help: "Set CLI properties",
            next: Next::Command(CommandDef {
                options: cli::SET_OPTIONS,
                build: |o| cli::build_set(o).map(Command::SetCli),
            }),
        }]),
    },
    Node {
        word: "show",
        help: "Show system information",
        next: Next::Nodes(SHOW),
    },
];

static SHOW: &[Node<Command>] = &[
    Node {
        word: "cli",
        help: "Show command-line interface settings",
        next: Next::Command(CommandDef {
            options: &[],
            build: |_| Ok(Command::ShowCli),
        }),
    },
    Node {
        word: "security",
        help: "Show security information",
        next: Next::Nodes(&[
            Node {
                word: "flow",
                help: "Show flow information",
                next: Next::Nodes(&[
                    Node {
                        word: "gate",
                        help: "Show flow gate information",
                        next: Next::Command(CommandDef {
                            options: flow_gate::OPTIONS,
                            build: |o| flow_gate::build(o).map(Command::ShowFlowGate),
                        }),
                    },
                    Node {
                        word: "session",
                        help: "Show session information",
                        next: Next::Command(CommandDef {
                            options: flow_session::SHOW_OPTIONS,
                            build: |o| flow_session::build_show(o).map(Command::ShowFlowSession),
                        }),
                    },
                    Node {
                        word: "statistics",
                        help: "Show flow statistics",
                        next: Next::Command(CommandDef {
                            options: &[],
                            build: |_| Ok(Command::ShowFlowStatistics),
                        }),
                    },
                ]),
            },
            Node {
                word: "resource-manager",
                help: "Show resource manager information",
                next: Next::Nodes(&[
                    Node {
                        word: "group",
                        help: "Show resource manager group information",
                        next: Next::Nodes(&[Node {
                            word: "active",
                            help: "Show active groups",
                            next: Next::Command(CommandDef {
                                options: resource_manager::GROUP_OPTIONS,
                                build: |o| {
                                    resource_manager::build_groups(o)
                                        .map(Command::ShowResourceManager)
                                },
                            }),
                        }]),
                    },
                    Node {
                        word: "resource",
                        help: "Show resource manager resource information",
                        next: Next::Nodes(&[Node {
                            word: "active",
                            help: "Show active resources",
                            next: Next::Command(CommandDef {
                                options: resource_manager::RESOURCE_OPTIONS,
                                build: |o| {
                                    resource_manager::build_resources(o)
                                        .map(Command::ShowResourceManager)
                                },
                            }),
                        }]),
                    },
                    Node {
                        word: "summary",
                        help: "Show resource manager summary information",
                        next: Next::Command(CommandDef {
                            options: &[],
                            build: |_| {
                                Ok(Command::ShowResourceManager(
                                    resource_manager::RmView::Summary,
                                ))
                            },
                        }),
                    },
                ]),
            },
        ]),
    },
    Node {
        word: "services",
        help: "Show services information",
        next: Next::Nodes(&[
            Node {
                word: "alg",
                help: "Show ALG information",
                next: Next::Nodes(&[
                    Node {
                        word: "conversations",
                        help: "Show ALG conversations",
                        next: Next::Command(CommandDef {
                            options: alg_conversations::OPTIONS,
                            build: |o| {
                                alg_conversations::build(o).map(Command::ShowAlgConversations)
                            },
                        }),
                    },
                    Node {
                        word: "statistics",
                        help: "Show ALG statistics",
                        next: Next::Command(CommandDef {
                            options: alg_statistics::OPTIONS,
                            build: |o| alg_statistics::build(o).map(Command::ShowAlgStatistics),
                        }),
                    },
                ]),
            },
            Node {
                word: "nat",
                help: "Show Network Address Translation information",
                next: Next::Nodes(&[
                    Node {
                        word: "deterministic-nat",
                        help: "Show deterministic NAT port blocks",
                        next: Next::Command(CommandDef {
                            options: nat_deterministic::OPTIONS,
                            build: |o| {
                                nat_deterministic::build(o).map(Command::ShowNatDeterministic)
                            },
                        }),
                    },
                    Node {
                        word: "mappings",
                        help: "Show NAT address and port mappings",
                        next: Next::Nodes(&[
                            Node {
                                word: "address-pooling-paired",
                                help: "Show address pooling paired mappings",
                                next: Next::Command(CommandDef {
                                    options: &[],
                                    build: |_| Ok(Command::ShowNatMappingsPaired),
                                }),
                            },
                            Node {
                                word: "detail",
                                help: "Show every translation's mapping",
                                next: Next::Command(CommandDef {
                                    options: &[],
                                    build: |_| Ok(Command::ShowNatMappingsDetail),
                                }),
                            },
                            Node {
                                word: "endpoint-independent",
                                help: "Show endpoint-independent mappings",
                                next: Next::Command(CommandDef {
                                    options: &[],
                                    build: |_| Ok(Command::ShowNatMappingsEim),
                                }),
                            },
                        ]),
                    },
                    Node {
                        word: "pool",
                        help: "Show NAT pools",
                        next: Next::Command(CommandDef {
                            options: nat_pool::OPTIONS,
                            build: |o| nat_pool::build(o).map(Command::ShowNatPool),
                        }),
                    },
                ]),
            },
            Node {
                word: "offload",
                help: "Show session offload information",
                next: Next::Nodes(&[Node {
                    word: "statistics",
                    help: "Show offload rules, refusals and counter pulls",
                    next: Next::Command(CommandDef {
                        options: &[],
                        build: |_| Ok(Command::ShowOffloadStatistics),
                    }),
                }]),
            },
            Node {
                word: "service-sets",
                help: "Show service set information",
                next: Next::Nodes(&[Node {
                    word: "statistics",
                    help: "Show service set statistics",
                    next: Next::Nodes(&[Node {
                        word: "packet-drops",
                        help: "Show packets dropped at the service sets' limits",
                        next: Next::Command(CommandDef {
                            options: service_sets::OPTIONS,
                            build: |o| service_sets::build(o).map(Command::ShowServiceSetDrops),
                        }),
                    }]),
                }]),
            },
            Node {
                word: "sessions",
                help: "Show session table",
                next: Next::Command(CommandDef {
                    options: services_sessions::SHOW_OPTIONS,
                    build: |o| services_sessions::build_show(o).map(Command::ShowServicesSessions),
                }),
            },
            Node {
                word: "stateful-firewall",
                help: "Show stateful firewall information",
                next: Next::Nodes(&[Node {
                    word: "statistics",
                    help: "Show stateful firewall statistics",
                    next: Next::Command(CommandDef {
                        options: sfw_statistics::SHOW_OPTIONS,
                        build: |o| sfw_statistics::build_show(o).map(Command::ShowSfwStatistics),
                    }),
                }]),
            },
        ]),
    },
    Node {
        word: "svcard",
        help: "Show svcard's own information",
        next: Next::Nodes(&[
            Node {
                word: "runtime",
                help: "Show each worker's loop: polls, packets per poll, time per packet",
                next: Next::Command(CommandDef {
                    options: &[],
                    build: |_| Ok(Command::ShowSvcardRuntime),
                }),
            },
            Node {
                word: "statistics",
                help: "Show every counter and gauge of each worker",
                next: Next::Command(CommandDef {
                    options: &[],
                    build: |_| Ok(Command::ShowSvcardStatistics),
                }),
            },
        ]),
    },
    Node {
        word: "interfaces",
        help: "Show interface information",
        next: Next::Command(CommandDef {
            options: interfaces::OPTIONS,
            build: |o| interfaces::build(o).map(Command::ShowInterfaces),
        }),
    },
    Node {
        word: "version",
        help: "Show software process revision levels",
        next: Next::Command(CommandDef {
            options: &[],
            build: |_| Ok(Command::ShowVersion),
        }),
    },
];

static CLEAR: &[Node<Command>] = &[
    Node {
        word: "security",
        help: "Clear security information",
        next: Next::Nodes(&[Node {
            word: "flow",
            help: "Clear flow information",
            next: Next::Nodes(&[Node {
                word: "session",
                help: "Clear session",
                next: Next::Command(CommandDef {
                    options: flow_session::CLEAR_OPTIONS,
                    build: |o| flow_session::build_clear(o).map(Command::ClearFlowSession),
                }),
            }]),
        }]),
    },
    Node {
        word: "services",
        help: "Clear services information",
        next: Next::Nodes(&[
            Node {
                word: "alg",
                help: "Clear ALG information",
                next: Next::Nodes(&[Node {
                    word: "statistics",
                    help: "Clear ALG statistics",
                    next: Next::Command(CommandDef {
                        options: alg_statistics::OPTIONS,
                        build: |o| alg_statistics::build(o).map(Command::ClearAlgStatistics),
                    }),
                }]),
            },
            Node {
                word: "nat",
                help: "Clear Network Address Translation information",
                next: Next::Nodes(&[Node {
                    word: "mappings",
                    help: "Clear NAT mappings (the sessions that hold them)",
                    next: Next::Command(CommandDef {
                        options: &[],
                        build: |_| Ok(Command::ClearNatMappings),
                    }),
                }]),
            },
            Node {
                word: "offload",
                help: "Clear session offload information",
                next: Next::Nodes(&[Node {
                    word: "statistics",
                    help: "Clear offload statistics",
                    next: Next::Command(CommandDef {
                        options: &[],
                        build: |_| Ok(Command::ClearOffloadStatistics),
                    }),
                }]),
            },
            Node {
                word: "service-sets",
                help: "Clear service set information",
                next: Next::Nodes(&[Node {
                    word: "statistics",
                    help: "Clear service set statistics",
                    next: Next::Nodes(&[Node {
                        word: "packet-drops",
                        help: "Clear the packet drop counters",
                        next: Next::Command(CommandDef {
                            options: service_sets::OPTIONS,
                            build: |o| service_sets::build(o).map(Command::ClearServiceSetDrops),
                        }),
                    }]),
                }]),
            },
            Node {
                word: "sessions",
                help: "Clear session table",
                next: Next::Command(CommandDef {
                    options: services_sessions::CLEAR_OPTIONS,
                    build: |o| {
                        services_sessions::build_clear(o).map(Command::ClearServicesSessions)
                    },
                }),
            },
            Node {
                word: "stateful-firewall",
                help: "Clear stateful firewall information",
                next: Next::Nodes(&[Node {
                    word: "statistics",
                    help: "Clear stateful firewall statistics",
                    next: Next::Command(CommandDef {
                        options: sfw_statistics::CLEAR_OPTIONS,
                        build: |o| sfw_statistics::build_clear(o).map(Command::ClearSfwStatistics),
                    }),
                }]),
            },
        ]),
    },
    Node {
        word: "svcard",
        help: "Clear svcard's own information",
        next: Next::Nodes(&[Node {
            word: "runtime",
            help: "Start the runtime totals again",
            next: Next::Command(CommandDef {
                options: &[],
                build: |_| Ok(Command::ClearSvcardRuntime),
            }),
        }]),
    },
];

// ---------------------------------------------------------------------------------------
// Running a command line.

/// How a command line ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// It ran.
    Done,
    /// It was refused (syntax, a value out of range, a name not found): the output is the
    /// error.
    Failed,
}

/// Whether the line pipes to `display xml` (looked for in the raw line, so that an error
/// in the command itself is still answered in XML).
fn wants_xml(line: &str) -> bool {
    line.split('|').skip(1).any(|seg| {
        let w: Vec<&str> = seg.split_whitespace().collect();
        w.len() == 2 && "display".starts_with(w[0]) && w[0].len() >= 3 && w[1] == "xml"
    })
}

/// The word the caret of `err` points into.
fn token_at(line: &str, column: usize) -> Option<&str> {
    let rest = line.get(column..)?;
    let t = rest.split(|c: char| c.is_whitespace() || c == '|').next()?;
    (!t.is_empty()).then_some(t)
}

/// Runs one command line, writing its output (errors in Junos form: text, or `<xnm:error>`
/// under `| display xml`). Returns whether it ran; an error only when the client went away.
///
/// # Errors
/// The client's connection failed.
pub fn execute(ctx: &Context, line: &str, out: &mut dyn Write) -> io::Result<Status> {
    // One configuration for the whole command (a reload may come while it runs).
    let pinned = ctx.pinned();
    let ctx = &pinned;
    if let Some(before) = line.trim_end().strip_suffix('?') {
        return match help(before) {
            Ok(h) => out.write_all(h.render().as_bytes()).map(|()| Status::Done),
            Err(e) => {
                writeln!(out, "{before}")?;
                out.write_all(render_error(0, before, &e).as_bytes())?;
                Ok(Status::Failed)
            }
        };
    }
    let cl = match parse(line) {
        Ok(c) => c,
        Err(e) => {
            if wants_xml(line) {
                let mut s = String::new();
                let _ = write_xnm_error(&mut s, token_at(line, e.column), &e.to_string());
                out.write_all(s.as_bytes())?;
            } else {
                writeln!(out, "{line}")?;
                out.write_all(render_error(0, line, &e).as_bytes())?;
            }
            return Ok(Status::Failed);
        }
    };
    if cl.pipes.save().is_some() {
        // The server never writes files for its clients: `svcard cli` takes the `save` off
        // the line, asks for the rest and writes the file itself, with the user's rights.
        writeln!(
            out,
            "error: '| save' is written by the client: use svcard cli, which saves with your rights"
        )?;
        return Ok(Status::Failed);
    }
    let dest: &mut dyn Write = &mut *out;
    let mut sink = IoFmt::new(dest);
    let mut w = cl.pipes.writer(&mut sink);
    let r = match cl.pipes.display() {
        Some(DisplayFormat::XmlRpc) => {
            write_rpc(&mut w, &request(&cl.command)).map_err(Failure::from)
        }
        Some(DisplayFormat::Xml) => {
            let mut t = XmlOut::new(&mut w);
            run(ctx, &cl.command, &mut Out::Tree(&mut t))
                .and_then(|()| t.finish().map_err(Failure::from))
        }
        Some(DisplayFormat::Json) => {
            let mut t = JsonOut::new(&mut w);
            run(ctx, &cl.command, &mut Out::Tree(&mut t))
                .and_then(|()| t.finish().map_err(Failure::from))
        }
        None => run(ctx, &cl.command, &mut Out::Text(&mut w)),
    };
    let finished = match r {
        Ok(()) => w.finish().is_ok(),
        Err(_) => {
            drop(w);
            true
        }
    };
    if let Some(e) = sink.take_error() {
        return Err(e);
    }
    let dest = sink.into_inner();
    dest.flush()?;
    match r {
        Ok(()) if finished => Ok(Status::Done),
        Err(Failure::Message(m)) if cl.pipes.display() == Some(DisplayFormat::Xml) => {
            let mut s = String::new();
            let _ = write_xnm_error(&mut s, None, &m);
            out.write_all(s.as_bytes())?;
            Ok(Status::Failed)
        }
        Err(Failure::Message(m)) => out.write_all(m.as_bytes()).map(|()| Status::Failed),
        _ => Err(io::Error::new(
            io::ErrorKind::BrokenPipe,
            "client went away",
        )),
    }
}

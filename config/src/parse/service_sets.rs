//! The `[[service-set]]` tables: members, default action, limits, timeout overrides and
//! the ordered rules (prefixes, protocol, ports, applications, action).

use crate::app::{Application, PortRange};
use crate::{Limits, Port, Rule, RuleAction, ServiceSet, TimeoutOverrides};

use super::reader::*;

/// The service sets, and which one each port (untagged traffic) and each of its VLAN units is
/// in.
pub(super) type Membership = (Vec<ServiceSet>, Vec<u16>, Vec<Vec<u16>>);

/// The `[[service-set]]` tables and their rules, against the ports, applications and limits
/// read before; also which service set each port and VLAN unit is in.
pub(super) fn service_sets(
    src: &Src<'_>,
    root: &Tab<'_, '_>,
    ports: &[Port],
    applications: &[Application],
    limits: &Limits,
    nat: &crate::nat::Nat,
    (tcp_session, log_events): (crate::TcpSession, crate::LogEvents),
) -> R<Membership> {
    let mut service_sets: Vec<ServiceSet> = Vec::new();
    let mut ss_lines: Vec<usize> = Vec::new();
    let mut port_ss: Vec<u16> = vec![crate::NONE; ports.len()];
    let mut unit_ss: Vec<Vec<u16>> = ports
        .iter()
        .map(|p| vec![crate::NONE; p.units.len()])
        .collect();
    for t in root.tables(
        "service-set",
        &[
            "name",
            "ports",
            "rule",
            "default-action",
            "max-sessions",
            "timeouts",
            "offload",
            "nat-rules",
            "tcp-session",
            "log",
        ],
    )? {
        let (name, span) = t.req_word("name")?;
        if let Some(i) = service_sets.iter().position(|s| s.name == name) {
            return Err(t.err(
                &span,
                "name",
                format!(
                    "duplicate service set '{name}' (first defined on line {})",
                    ss_lines[i]
                ),
            ));
        }
        if service_sets.len() >= usize::from(u16::MAX) {
            return Err(t.err(&span, "name", "too many service sets"));
        }
        let ss = u16::try_from(service_sets.len()).unwrap_or(crate::NONE);
        let mut members = Vec::new();
        for v in t.items("ports") {
            let field = t.field("ports");
            let p = string(src, v, &field)?;
            // A VLAN unit of a port (`vlan-units`): its own member.
            let unit = ports
                .iter()
                .enumerate()
                .find_map(|(i, x)| x.units.iter().position(|u| u.name == p).map(|u| (i, u)));
            if let Some((i, u)) = unit {
                let slot = &mut unit_ss[i][u];
                if *slot != crate::NONE {
                    return Err(src.err(
                        &v.span(),
                        &field,
                        format!(
                            "unit '{p}' is already in service set '{}'",
                            service_sets
                                .get(usize::from(*slot))
                                .map_or(name, |s: &ServiceSet| s.name.as_str())
                        ),
                    ));
                }
                *slot = ss;
                continue;
            }
            let Some(i) = ports.iter().position(|x| x.name == p) else {
                return Err(src.err(
                    &v.span(),
                    &field,
                    format!("unknown port '{p}' (no [[port]] or VLAN unit has that name)"),
                ));
            };
            if port_ss[i] == ss {
                return Err(src.err(&v.span(), &field, format!("port '{p}' is listed twice")));
            }
            if port_ss[i] != crate::NONE {
                return Err(src.err(
                    &v.span(),
                    &field,
                    format!(
                        "port '{p}' is already in service set '{}' (a port belongs to at most \
                         one service set)",
                        service_sets[usize::from(port_ss[i])].name
                    ),
                ));
            }
            port_ss[i] = ss;
            members.push(i);
        }
        let default_action = match t.get("default-action") {
            None => RuleAction::Discard,
            Some(v) => action(src, v, &t.field("default-action"))?,
        };
        let max = match t.get("max-sessions") {
            None => None,
            Some(v) => Some(int_as(
                src,
                v,
                &t.field("max-sessions"),
                1,
                i64::from(limits.max_sessions),
            )?),
        };
        let overrides = match t.table("timeouts", TIMEOUT_KEYS)? {
            None => TimeoutOverrides::default(),
            Some(tt) => timeout_overrides(&tt)?,
        };
        let offload = super::offload::service_set(src, &t, applications)?;
        let nat_rules = super::nat::service_set_rules(src, &t, nat)?;
        let tcp_session = super::tcp::tcp_session(&t, tcp_session)?;
        let log = match t.table("log", &["events", "alg-only"])? {
            None => None,
            Some(lt) => Some(super::sections::log_events(src, &lt, log_events)?),
        };
        let mut rules: Vec<Rule> = Vec::new();
        let mut rule_lines: Vec<usize> = Vec::new();
        for r in t.tables(
            "rule",
            &[
                "name",
                "source",
                "destination",
                "protocol",
                "source-port",
                "destination-port",
                "application",
                "action",
            ],
        )? {
            let (rname, rspan) = r.req_word("name")?;
            if let Some(i) = rules.iter().position(|x| x.name == rname) {
                return Err(r.err(
                    &rspan,
                    "name",
                    format!(
                        "duplicate rule '{rname}' in service set '{name}' (first defined on line {})",
                        rule_lines[i]
                    ),
                ));
            }
            if rules.len() >= usize::from(u16::MAX - 1) {
                return Err(r.err(&rspan, "name", "too many rules"));
            }
            let ranges = |key: &str| -> R<Vec<PortRange>> {
                r.items(key)
                    .into_iter()
                    .map(|v| port_range(src, v, &r.field(key)))
                    .collect()
            };
            let source = prefixes(src, &r, "source")?;
            let destination = prefixes(src, &r, "destination")?;
            let proto = match r.get("protocol") {
                None => None,
                Some(v) => Some(protocol(src, v, &r.field("protocol"))?),
            };
            let source_ports = ranges("source-port")?;
            let destination_ports = ranges("destination-port")?;
            let mut apps = Vec::new();
            for v in r.items("application") {
                let field = r.field("application");
                let a = string(src, v, &field)?;
                let Some(i) = applications.iter().position(|x| x.name == a) else {
                    return Err(src.err(&v.span(), &field, format!("unknown application '{a}'")));
                };
                apps.push(u16::try_from(i).unwrap_or(crate::NONE));
            }
            let act = action(src, r.req("action")?, &r.field("action"))?;
            rule_lines.push(src.line(rspan.start));
            rules.push(Rule {
                name: rname.to_string(),
                index: u16::try_from(rules.len() + 1).unwrap_or(u16::MAX),
                id: u16::try_from(rules.len()).unwrap_or(u16::MAX),
                source,
                destination,
                protocol: proto,
                source_ports,
                destination_ports,
                applications: apps,
                action: act,
            });
        }
        ss_lines.push(src.line(span.start));
        service_sets.push(ServiceSet {
            name: name.to_string(),
            ports: members,
            rule_names: rules.iter().map(|r| r.name.clone()).collect(),
            rules,
            default_action,
            max_sessions: max,
            timeouts: overrides,
            offload,
            nat_rules,
            tcp_session,
            log,
        });
    }
    Ok((service_sets, port_ss, unit_ss))
}

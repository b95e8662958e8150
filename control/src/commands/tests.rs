//! The grammar of svcard's commands: parsing, abbreviation, errors, `?` help.

use super::*;
use crate::show::model::Level;
use crate::show::names::StaticNames;
use crate::show::services::ServicesLevel;
use crate::show::{Pipe, Pipes};
use regex::Regex;
use svcard_dataplane::query::Prefix;

fn show(line: &str) -> ShowFlowSession {
    match parse(line)
        .unwrap_or_else(|e| panic!("{line}: {e}"))
        .command
    {
        Command::ShowFlowSession(s) => s,
        other => panic!("{line}: {other:?}"),
    }
}

fn err(line: &str) -> CliError {
    parse(line).expect_err(line)
}

fn pfx(s: &str) -> Prefix {
    s.parse().unwrap()
}

#[test]
fn full_and_abbreviated_keywords() {
    assert_eq!(
        show("show security flow session"),
        ShowFlowSession::default()
    );
    let s = show("sh sec fl sess sum");
    assert_eq!(s.level, Level::Summary);
    assert!(!s.resource_manager);
    let s = show("  show   security flow session   resource-manager  brief ");
    assert_eq!((s.level, s.resource_manager), (Level::Brief, true));
    let s = show("show security flow session ext res");
    assert_eq!((s.level, s.resource_manager), (Level::Extensive, true));
    assert_eq!(show("show security flow session b").level, Level::Brief);
    assert_eq!(show("show security flow session e").level, Level::Extensive);
}

#[test]
fn every_filter_in_any_order() {
    let s = show(
        "show security flow session interface ge-0/0/0.0 application junos-ftp \
         session-identifier 410000664 destination-port 21 source-port 41047 \
         destination-prefix 60.0.0.0/8 source-prefix 200.0.0.10 protocol tcp extensive",
    );
    assert_eq!(s.level, Level::Extensive);
    let f = &s.filter;
    assert_eq!(f.protocol, Some(6));
    assert_eq!(f.source_prefix, Some(pfx("200.0.0.10/32")));
    assert_eq!(f.destination_prefix, Some(pfx("60.0.0.0/8")));
    assert_eq!(f.source_port, Some(41047));
    assert_eq!(f.destination_port, Some(21));
    assert_eq!(f.session_id, Some(410_000_664));
    assert_eq!(f.application.as_deref(), Some("junos-ftp"));
    assert_eq!(f.interface.as_deref(), Some("ge-0/0/0.0"));

    let s = show("sh sec fl sess pro 17 source-po 1");
    assert_eq!(s.filter.protocol, Some(17));
    assert_eq!(s.filter.source_port, Some(1));

    let s =
        show("show security flow session destination-prefix 2001:db8::/32 protocol icmp6 summary");
    assert_eq!(s.filter.destination_prefix, Some(pfx("2001:db8::/32")));
    assert_eq!(s.filter.protocol, Some(58));
    assert_eq!(s.summary_form(), SummaryForm::Counts);
    assert_eq!(show("sh sec fl sess sum").summary_form(), SummaryForm::Full);
    assert_eq!(
        show("sh sec fl sess sum res").summary_form(),
        SummaryForm::Counts
    );
    assert_eq!(show("sh sec fl sess protocol 0").filter.protocol, Some(0));
    assert_eq!(
        show("sh sec fl sess protocol 255").filter.protocol,
        Some(255)
    );
    assert_eq!(
        show("sh sec fl sess destination-port 65535")
            .filter
            .destination_port,
        Some(65535)
    );
    assert_eq!(
        show("sh sec fl sess source-port 0").filter.source_port,
        Some(0)
    );
    assert_eq!(
        show("sh sec fl sess app \"junos-ftp\"")
            .filter
            .application
            .as_deref(),
        Some("junos-ftp")
    );
}

#[test]
fn syntax_error_caret_under_the_start_of_the_bad_word() {
    let line = "show security flow sesion";
    let e = err(line);
    assert_eq!(e.column, 19);
    assert_eq!(
        render_error("user@host> ".len(), line, &e),
        format!("{}^\nsyntax error, expecting <command>.\n", " ".repeat(30))
    );
    assert_eq!(err("show securty").column, 5);
    assert_eq!(err("shw").column, 0);
    assert_eq!(err("show security flow session brief bogus").column, 33);
    assert_eq!(err("show security flow session sessionx 1").column, 27);
    // A level may not be given twice, nor two levels.
    assert_eq!(err("show security flow session brief extensive").column, 33);
    assert_eq!(
        err("show security flow session protocol tcp protocol udp").column,
        40
    );
    assert_eq!(
        render_error(0, "xshow", &err("xshow")),
        "^\nsyntax error, expecting <command>.\n"
    );
}

#[test]
fn incomplete_commands_point_past_the_end() {
    let e = err("show security");
    assert_eq!(e.column, 14);
    assert_eq!(
        e.kind,
        CliErrorKind::Syntax {
            expecting: "<command>".into()
        }
    );
    assert_eq!(err("").column, 0);
    let e = err("show security flow session source-port");
    assert_eq!(e.column, 39);
    assert_eq!(e.to_string(), "syntax error, expecting <source-port>.");
    let e = err("show security flow session protocol | count");
    assert_eq!(e.column, 36);
    assert_eq!(e.to_string(), "syntax error, expecting <protocol>.");
}

#[test]
fn ambiguous_words_list_completions() {
    let e = err("show security flow session s 1");
    assert_eq!(e.column, 27);
    assert_eq!(
        e.to_string(),
        "'s' is ambiguous.\nPossible completions:\n\
         \x20 session-identifier   Show session with specified session identifier\n\
         \x20 source-port          Source port\n\
         \x20 source-prefix        Source IP prefix or address\n\
         \x20 summary              Display output summary"
    );
    assert!(matches!(
        err("sh sec fl sess source 1").kind,
        CliErrorKind::Ambiguous { .. }
    ));
    assert!(matches!(
        err("sh sec fl sess des 1").kind,
        CliErrorKind::Ambiguous { .. }
    ));
}

#[test]
fn values_are_range_checked() {
    let line = "show security flow session destination-port 70000";
    let e = err(line);
    assert_eq!(e.column, 44);
    assert_eq!(e.to_string(), "Value 70000 is not within range (0..65535)");
    assert_eq!(
        render_error(0, line, &e),
        format!(
            "{}^\nValue 70000 is not within range (0..65535)\n",
            " ".repeat(44)
        )
    );
    assert_eq!(
        err("sh sec fl sess source-port 99999999999999999999999").to_string(),
        "Value 99999999999999999999999 is not within range (0..65535)"
    );
    assert_eq!(
        err("sh sec fl sess protocol 256").to_string(),
        "Value 256 is not within range (0..255)"
    );
    assert_eq!(
        err("sh sec fl sess session-identifier 0").to_string(),
        "Value 0 is not within range (1..4294967295)"
    );
    assert_eq!(
        err("sh sec fl sess session-identifier 4294967296").column,
        34
    );
    assert_eq!(
        err("sh sec fl sess source-port -1").to_string(),
        "invalid numeric value: '-1'"
    );
    assert_eq!(
        err("sh sec fl sess source-port abc").to_string(),
        "invalid numeric value: 'abc'"
    );
    assert_eq!(
        err("sh sec fl sess protocol foo").to_string(),
        "invalid protocol: 'foo'"
    );
    let e = err("sh sec fl sess source-prefix 10.0.0/8");
    assert_eq!(
        (e.column, e.to_string().as_str()),
        (29, "invalid prefix: '10.0.0/8'")
    );
    assert_eq!(
        err("sh sec fl sess destination-prefix 10.0.0.0/33").to_string(),
        "invalid prefix: '10.0.0.0/33'"
    );
}

#[test]
fn pipes_are_separated_and_parsed() {
    let l = parse("show security flow session | match \"Forward|Watch\" | except Drop | count")
        .unwrap();
    assert_eq!(
        l.pipes,
        Pipes(vec![
            Pipe::Match(Regex::new("Forward|Watch").unwrap()),
            Pipe::Except(Regex::new("Drop").unwrap()),
            Pipe::Count,
        ])
    );
    let l = parse("sh sec fl sess|last 5|no-more|trim 3|find Session|display xml").unwrap();
    assert_eq!(
        l.pipes,
        Pipes(vec![
            Pipe::Last(Some(5)),
            Pipe::NoMore,
            Pipe::Trim(3),
            Pipe::Find(Regex::new("Session").unwrap()),
            Pipe::Display(DisplayFormat::Xml),
        ])
    );
    let line = "sh sec fl sess | display xml rpc | last | save /tmp/out";
    let l = parse(line).unwrap();
    assert_eq!(
        l.pipes,
        Pipes(vec![
            Pipe::Display(DisplayFormat::XmlRpc),
            Pipe::Last(None),
            Pipe::Save("/tmp/out".into()),
        ])
    );
    // The client asks for the line before the save and writes the file itself.
    assert_eq!(
        &line[..l.save_at.unwrap()],
        "sh sec fl sess | display xml rpc | last "
    );
    // Nothing follows a save.
    let line = "sh sec fl sess | save /tmp/out | last";
    assert_eq!(err(line).column, line.rfind('|').unwrap());
    assert_eq!(
        parse("sh sec fl sess | disp json").unwrap().pipes.display(),
        Some(DisplayFormat::Json)
    );
    assert_eq!(err("sh sec fl sess |").column, 17);
    assert_eq!(err("sh sec fl sess | count 3").column, 23);
    assert_eq!(
        err("sh sec fl sess | last 100001").to_string(),
        "Value 100001 is not within range (1..100000)"
    );
    assert_eq!(
        err("sh sec fl sess | match").to_string(),
        "syntax error, expecting <pattern>."
    );
    assert_eq!(
        err("sh sec fl sess | match \"(\"").to_string(),
        "invalid regular expression: '('"
    );
    assert_eq!(
        err("sh sec fl sess | match \"abc").kind,
        CliErrorKind::UnterminatedQuote
    );
    assert_eq!(err("sh sec fl sess | bogus").column, 17);
}

#[test]
fn render_error_counts_characters() {
    let line = "show security flow session interface \"é\" zzzzz";
    let e = err(line);
    assert_eq!(e.column, line.len() - 5);
    let r = render_error(2, line, &e);
    assert_eq!(r.find('^'), Some(2 + line.chars().count() - 5));
}

#[test]
fn filters_resolve_names() {
    let names = StaticNames::new(
        &["ge-0/0/0.0", "ge-0/0/1.0"],
        &[],
        &["junos-ftp", "junos-sip"],
    );
    let s = show("sh sec fl sess interface ge-0/0/1.0 application junos-sip protocol udp");
    let f = s.filter.resolve(&names).unwrap();
    assert_eq!(f.port, Some(svcard_config::PortId(1)));
    assert_eq!(f.application, Some(1));
    assert_eq!(f.protocol, Some(17));
    let s = show("sh sec fl sess interface xe-0/0/0.0");
    assert_eq!(
        s.filter.resolve(&names),
        Err(ResolveError::Interface("xe-0/0/0.0".into()))
    );
    assert!(show("sh sec fl sess")
        .filter
        .resolve(&names)
        .unwrap()
        .is_all());
}

fn cmd(line: &str) -> Command {
    parse(line)
        .unwrap_or_else(|e| panic!("{line}: {e}"))
        .command
}

#[test]
fn services_sessions_every_option() {
    let Command::ShowServicesSessions(c) = cmd(
        "show services sessions extensive application-protocol ftp destination-port 21 \
         destination-prefix 20.0.0.0/8 interface mams-5/0/0 limit 10 protocol tcp \
         service-set ss1 source-port 1024 source-prefix 10.1.1.2",
    ) else {
        panic!()
    };
    assert_eq!(c.level, ServicesLevel::Extensive);
    assert_eq!(c.limit, Some(10));
    assert_eq!(c.filter.application_protocol, Some("ftp"));
    assert_eq!(c.filter.service_set.as_deref(), Some("ss1"));
    assert_eq!(c.filter.interface.as_deref(), Some("mams-5/0/0"));
    assert_eq!(c.filter.protocol, Some(6));
    assert_eq!(c.filter.source_port, Some(1024));
    assert_eq!(c.filter.destination_port, Some(21));
    let Command::ShowServicesSessions(c) = cmd("sh ser sess count app none") else {
        panic!()
    };
    assert!(c.count);
    assert_eq!(c.filter.application_protocol, Some("none"));
    let Command::ShowServicesSessions(c) = cmd("sh ser sess te util") else {
        panic!()
    };
    assert!(c.utilization);
    assert_eq!(c.level, ServicesLevel::Terse);
    // count and utilization exclude each other; levels too.
    assert!(parse("show services sessions count utilization").is_err());
    assert!(parse("show services sessions brief terse").is_err());
    assert_eq!(
        err("show services sessions limit 0").to_string(),
        "Value 0 is not within range (1..4294967295)"
    );
    assert!(matches!(
        err("show services sessions application-protocol rp").kind,
        CliErrorKind::Ambiguous { .. }
    ));
    assert_eq!(
        err("show services sessions application-protocol xyz").column,
        44
    );
}

/// Values from a list take a unique prefix, whatever the option, as the Junos CLI
/// completes them; a bad one gets the wording of every bad value (issue 19, item 9).
#[test]
fn enumerated_values_take_prefixes_and_fail_alike() {
    let Command::ShowFlowSession(s) = cmd("sh sec fl sess protocol tc") else {
        panic!("not a flow session command");
    };
    assert_eq!(s.filter.protocol, Some(6));
    let Command::ShowServicesSessions(s) = cmd("show services sessions application-protocol ft")
    else {
        panic!("not a services sessions command");
    };
    assert_eq!(s.filter.application_protocol, Some("ftp"));
    // A prefix of several lists them, for a protocol as for a keyword.
    match err("sh sec fl sess protocol ic").kind {
        CliErrorKind::Ambiguous { completions, .. } => {
            let words: Vec<&str> = completions.iter().map(|c| c.word).collect();
            assert_eq!(words, ["icmp", "icmp6"]);
        }
        k => panic!("{k:?}"),
    }
    assert_eq!(
        err("sh sec fl sess protocol foo").to_string(),
        "invalid protocol: 'foo'"
    );
    let e = err("show services sessions application-protocol xyz");
    assert_eq!(e.to_string(), "invalid application-protocol: 'xyz'");
    assert_eq!(
        err("show security flow gate family inet7").to_string(),
        "invalid family: 'inet7'"
    );
}

#[test]
fn alg_conversations_options() {
    let Command::ShowAlgConversations(c) = cmd(
        "show services alg conversations extensive application-protocol sip interface ms-1/1/0",
    ) else {
        panic!()
    };
    assert!(c.extensive);
    assert_eq!(c.application_protocol, Some("sip"));
    assert_eq!(c.interface.as_deref(), Some("ms-1/1/0"));
    assert!(parse("show services alg conversations brief extensive").is_err());
}

#[test]
fn clear_commands_reject_display_modifiers_and_junk() {
    let Command::ClearFlowSession(c) = cmd("clear security flow session all") else {
        panic!()
    };
    assert!(c.all);
    let Command::ClearFlowSession(c) =
        cmd("clear security flow session protocol udp destination-port 53")
    else {
        panic!()
    };
    assert_eq!(
        (c.filter.protocol, c.filter.destination_port),
        (Some(17), Some(53))
    );
    let Command::ClearServicesSessions(f) =
        cmd("clear services sessions service-set ss1 application-protocol ftp")
    else {
        panic!()
    };
    assert_eq!(f.service_set.as_deref(), Some("ss1"));
    for bad in [
        "clear security flow session summary",
        "clear security flow session brief",
        "clear security flow session extensive",
        "clear security flow session protocol tcp ext",
        "clear services sessions count",
        "clear services sessions terse",
        "clear services sessions brief",
        "clear services sessions extensive",
        "clear services sessions bogus",
        "clear services sessions source-port 70000",
        "clear services sessions source-port x",
        "clear security flow session all protocol tcp",
        "clear security flow session protocol tcp all",
    ] {
        assert!(parse(bad).is_err(), "{bad} must be an error");
    }
    assert_eq!(err("clear security flow session summary").column, 28);
}

#[test]
fn question_mark_lists_what_comes_next() {
    let h = help("").unwrap();
    assert_eq!(
        h.render(),
        "Possible completions:\n  clear                Clear information in the system\n  request              Make system-level requests\n  set                  Set CLI properties, date/time, craft interface message\n  show                 Show system information\n"
    );
    let h = help("request system configuration ").unwrap();
    assert_eq!(
        h.render(),
        "Possible completions:\n  reload               Read the configuration file again and commit it\n"
    );
    let h = help("show s").unwrap();
    let words: Vec<&str> = h.items.iter().map(|i| i.word.as_str()).collect();
    assert_eq!(words, ["security", "services", "svcard"]);
    assert_eq!(h.partial_start, 5);
    let h = help("show security flow session ").unwrap();
    assert_eq!(h.items[0].word, "<[Enter]>");
    assert_eq!(h.items.last().unwrap().word, "|");
    assert!(h.items.iter().any(|i| i.word == "summary"));
    let h = help("show security flow session summary ").unwrap();
    assert!(
        !h.items.iter().any(|i| i.word == "brief"),
        "a level excludes the others"
    );
    let h = help("show security flow session source-port ").unwrap();
    assert_eq!(
        h.render(),
        "Possible completions:\n  <source-port>        Source port\n"
    );
    let h = help("show services sessions application-protocol rt").unwrap();
    assert_eq!(h.items.len(), 1);
    assert_eq!(h.items[0].word, "rtsp");
    let h = help("show security flow session | ").unwrap();
    assert!(h.items.iter().any(|i| i.word == "match"));
    let h = help("show security flow session | display ").unwrap();
    let words: Vec<&str> = h.items.iter().map(|i| i.word.as_str()).collect();
    assert_eq!(words, ["json", "xml"]);
    let h = help("show security flow session | display xml ").unwrap();
    assert!(h.items.iter().any(|i| i.word == "rpc"));
    assert!(help("show securty ").is_err());
    assert_eq!(help("show zzz").unwrap().render(), "No valid completions\n");
}

proptest::proptest! {
    #[test]
    fn parser_and_help_never_panic(line in "\\PC{0,80}") {
        let _ = parse(&line);
        let _ = help(&line);
        if let Err(e) = parse(&line) {
            let _ = render_error(11, &line, &e);
        }
    }

    #[test]
    fn grammar_words_never_panic(words in proptest::collection::vec(
        proptest::sample::select(vec![
            "show", "clear", "security", "services", "flow", "session", "sessions", "alg",
            "conversations", "brief", "extensive", "summary", "terse", "count", "all",
            "protocol", "tcp", "256", "source-port", "65536", "|", "match", "\"", "display",
            "xml", "json", "rpc", "last", "100001", "?", "limit", "0", "interface", "s",
            "application-protocol", "none", "10.0.0.0/33", "2001:db8::/129", "é",
        ]), 0..12)) {
        let line = words.join(" ");
        let _ = parse(&line);
        let _ = help(&line);
    }
}

//! The operational command grammar: a tree of keywords (each abbreviable to a unique
//! prefix, as in Junos), commands with options in any order, then pipes. Generic over the
//! command type: the tree of svcard's commands and each command's options live in
//! [`crate::commands`]; this file only walks them.
//!
//! Errors carry the column of the offending input and print in Junos form with
//! [`render_error`]:
//!
//! ```text
//! user@host> show security flow sesion
//!                                  ^
//! syntax error, expecting <command>.
//! ```
//!
//! The caret stands where the input stops matching any keyword.

use core::fmt;
use core::str::FromStr;

use regex::Regex;
use svcard_dataplane::query::Prefix;

use crate::show::names::{protocol_number, PROTOCOLS};
use crate::show::pipe::{DisplayFormat, Pipe, Pipes, LAST_MAX};

/// A parsed command line: the command and its pipes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLine<C> {
    /// The command.
    pub command: C,
    /// The pipes after it, in order.
    pub pipes: Pipes,
    /// Byte offset of the `|` of a `save` pipe (always the last): the line before it is
    /// what the client asks the server for, the file is the client's to write.
    pub save_at: Option<usize>,
}

/// A keyword the input could have been, listed when a word is ambiguous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion {
    /// The keyword.
    pub word: &'static str,
    /// Its help text.
    pub help: &'static str,
}

/// What is wrong with a command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliErrorKind {
    /// A word fits nothing here, or the line ends early: `syntax error, expecting <x>.`
    Syntax {
        /// What was expected (`<command>`, `<source-port>`).
        expecting: String,
    },
    /// A word abbreviates several keywords.
    Ambiguous {
        /// The word.
        word: String,
        /// The keywords it abbreviates.
        completions: Vec<Completion>,
    },
    /// A number outside its range.
    OutOfRange {
        /// The number as typed.
        value: String,
        /// Least value.
        min: u64,
        /// Greatest value.
        max: u64,
    },
    /// A value that does not parse as what it should be.
    Invalid {
        /// What it should be (`numeric value`, `prefix`, `protocol`, `regular expression`).
        what: &'static str,
        /// The value as typed.
        value: String,
    },
    /// A quoted string without its closing quote.
    UnterminatedQuote,
}

/// A command-line error at a column (byte offset into the line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    /// Byte offset into the line of the place the caret marks.
    pub column: usize,
    /// What is wrong.
    pub kind: CliErrorKind,
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            CliErrorKind::Syntax { expecting } => write!(f, "syntax error, expecting {expecting}."),
            CliErrorKind::Ambiguous { word, completions } => {
                write!(f, "'{word}' is ambiguous.\nPossible completions:")?;
                for c in completions {
                    write!(f, "\n  {:<20} {}", c.word, c.help)?;
                }
                Ok(())
            }
            CliErrorKind::OutOfRange { value, min, max } => {
                write!(f, "Value {value} is not within range ({min}..{max})")
            }
            CliErrorKind::Invalid { what, value } => write!(f, "invalid {what}: '{value}'"),
            CliErrorKind::UnterminatedQuote => {
                f.write_str("syntax error, unterminated quoted string.")
            }
        }
    }
}

impl std::error::Error for CliError {}

/// The error as the CLI prints it under the echoed command: a caret line (the prompt's
/// width plus the column, counted in characters), then the message; ends with a newline.
/// `prompt_len` is 0 when the command was not echoed after a prompt (`cli -c`).
#[must_use]
pub fn render_error(prompt_len: usize, line: &str, err: &CliError) -> String {
    let col = line
        .get(..err.column.min(line.len()))
        .map_or(err.column, |s| s.chars().count());
    let pad = prompt_len + col + err.column.saturating_sub(line.len());
    format!("{:pad$}^\n{err}\n", "")
}

// ---------------------------------------------------------------------------------------
// The grammar.

/// A keyword of the command tree.
#[derive(Debug)]
pub struct Node<C: 'static> {
    /// The keyword.
    pub word: &'static str,
    /// Its help text.
    pub help: &'static str,
    /// What follows it.
    pub next: Next<C>,
}

/// What follows a keyword.
#[derive(Debug)]
pub enum Next<C: 'static> {
    /// More keywords.
    Nodes(&'static [Node<C>]),
    /// A command.
    Command(CommandDef<C>),
}

/// A command: its options and how they make the command.
#[derive(Debug)]
pub struct CommandDef<C> {
    /// Its options, in tables (a command may share a table with others, as a show and its
    /// clear share their selectors): in any order on the line, each at most once.
    pub options: &'static [&'static [OptSpec]],
    /// Makes the command from the options given (each with its value and column).
    pub build: fn(Opts) -> Result<C, CliError>,
}

impl<C> CommandDef<C> {
    /// Every option, by word.
    pub(super) fn specs(&self) -> Vec<&'static OptSpec> {
        let mut v: Vec<&'static OptSpec> = self.options.iter().flat_map(|t| t.iter()).collect();
        v.sort_by_key(|s| s.word);
        v
    }
}

/// The options of a command line: each option, its value and the column it stood at.
pub type Opts = Vec<(&'static OptSpec, Value, usize)>;

/// An option of a command.
#[derive(Debug)]
pub struct OptSpec {
    /// The keyword.
    pub word: &'static str,
    /// Its help text.
    pub help: &'static str,
    /// Its argument.
    pub arg: Arg,
    /// Options of one nonzero group exclude each other (`brief | extensive | summary`).
    pub group: u8,
}

/// A keyword value and its help text.
pub type Keyword = (&'static str, &'static str);

/// The argument an option takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// None: a toggle.
    Flag,
    /// A protocol name or number 0-255.
    Protocol,
    /// An address prefix.
    Prefix,
    /// A port 0-65535.
    Port,
    /// A session identifier 1-4294967295.
    SessionId,
    /// A name (application, interface).
    Name,
    /// One of a list of keywords (unique prefixes accepted).
    Keyword(&'static [Keyword]),
    /// A number in a range.
    Number(u64, u64),
}

/// An option (for the option tables).
#[must_use]
pub const fn opt(word: &'static str, help: &'static str, arg: Arg, group: u8) -> OptSpec {
    OptSpec {
        word,
        help,
        arg,
        group,
    }
}

pub(super) static PIPES: &[OptSpec] = &[
    opt("count", "Count occurrences", Arg::Flag, 0),
    opt(
        "display",
        "Show additional kinds of information",
        Arg::Flag,
        0,
    ),
    opt(
        "except",
        "Show only text that does not match a pattern",
        Arg::Name,
        0,
    ),
    opt(
        "find",
        "Search for first occurrence of pattern",
        Arg::Name,
        0,
    ),
    opt("last", "Display end of output only", Arg::Flag, 0),
    opt(
        "match",
        "Show only text that matches a pattern",
        Arg::Name,
        0,
    ),
    opt("no-more", "Don't paginate output", Arg::Flag, 0),
    opt("save", "Save output text to file", Arg::Name, 0),
    opt(
        "trim",
        "Trim specified number of columns from start of line",
        Arg::Flag,
        0,
    ),
];

pub(super) static DISPLAY: &[OptSpec] = &[
    opt("json", "Show JSON text for the command", Arg::Flag, 0),
    opt("xml", "Show XML text for the command", Arg::Flag, 0),
];

pub(super) static DISPLAY_XML: &[OptSpec] = &[opt(
    "rpc",
    "Show XML RPC text for the command",
    Arg::Flag,
    0,
)];

// ---------------------------------------------------------------------------------------
// Tokens.

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token {
    /// The text (unquoted).
    pub(super) text: String,
    /// Byte offset of the token (its opening quote, if quoted).
    pub(super) start: usize,
    /// Byte offset just past it.
    pub(super) end: usize,
    /// Written in quotes.
    pub(super) quoted: bool,
    /// A `|`.
    pub(super) pipe: bool,
}

impl Token {
    /// Byte offset of the token's text.
    fn text_start(&self) -> usize {
        self.start + usize::from(self.quoted)
    }
}

pub(super) fn tokenize(line: &str) -> Result<Vec<Token>, CliError> {
    let mut out = Vec::new();
    let mut it = line.char_indices().peekable();
    while let Some(&(i, c)) = it.peek() {
        if c.is_whitespace() {
            it.next();
        } else if c == '|' {
            it.next();
            out.push(Token {
                text: "|".into(),
                start: i,
                end: i + 1,
                quoted: false,
                pipe: true,
            });
        } else if c == '"' {
            it.next();
            let mut text = String::new();
            let mut end = None;
            while let Some((j, d)) = it.next() {
                match d {
                    '"' => {
                        end = Some(j + 1);
                        break;
                    }
                    '\\' if matches!(it.peek(), Some((_, '"' | '\\'))) => {
                        if let Some((_, e)) = it.next() {
                            text.push(e);
                        }
                    }
                    _ => text.push(d),
                }
            }
            let end = end.ok_or(CliError {
                column: i,
                kind: CliErrorKind::UnterminatedQuote,
            })?;
            out.push(Token {
                text,
                start: i,
                end,
                quoted: true,
                pipe: false,
            });
        } else {
            let mut end = line.len();
            while let Some(&(j, d)) = it.peek() {
                if d.is_whitespace() || d == '|' {
                    end = j;
                    break;
                }
                it.next();
            }
            out.push(Token {
                text: line[i..end].to_string(),
                start: i,
                end,
                quoted: false,
                pipe: false,
            });
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Parsing.

pub(crate) fn syntax(column: usize, expecting: &str) -> CliError {
    CliError {
        column,
        kind: CliErrorKind::Syntax {
            expecting: expecting.to_string(),
        },
    }
}

/// Resolves a word among candidate keywords (word, help): exact match first, else a unique
/// prefix. Returns the candidate's index in `cands`.
pub(super) fn resolve(
    tok: &Token,
    cands: &[(&'static str, &'static str)],
) -> Result<usize, CliError> {
    if tok.pipe {
        return Err(syntax(tok.start, "<command>"));
    }
    let w = tok.text.as_str();
    if let Some(i) = cands.iter().position(|(c, _)| *c == w) {
        return Ok(i);
    }
    let hits: Vec<usize> = (0..cands.len())
        .filter(|&i| !w.is_empty() && cands[i].0.starts_with(w))
        .collect();
    match hits.len() {
        1 => Ok(hits[0]),
        // The caret goes under the start of the word no keyword begins with, as the Junos
        // CLI puts it.
        0 => Err(syntax(tok.start, "<command>")),
        _ => {
            let mut completions: Vec<Completion> = hits
                .iter()
                .map(|&i| Completion {
                    word: cands[i].0,
                    help: cands[i].1,
                })
                .collect();
            completions.sort_by_key(|c| c.word);
            Err(CliError {
                column: tok.start,
                kind: CliErrorKind::Ambiguous {
                    word: w.to_string(),
                    completions,
                },
            })
        }
    }
}

/// Where the caret goes when the input ends early: one past the last token, as if a space
/// had been typed.
fn end_column(toks: &[Token], line: &str) -> usize {
    toks.last().map_or(line.len(), |t| t.end + 1)
}

/// A number in `min..=max`.
fn number(tok: &Token, min: u64, max: u64) -> Result<u64, CliError> {
    let s = tok.text.as_str();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CliError {
            column: tok.text_start(),
            kind: CliErrorKind::Invalid {
                what: "numeric value",
                value: s.to_string(),
            },
        });
    }
    match s.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(CliError {
            column: tok.text_start(),
            kind: CliErrorKind::OutOfRange {
                value: s.to_string(),
                min,
                max,
            },
        }),
    }
}

/// [`number`] in `min..=max`, as the type that holds that range (a range wider than the
/// type is refused like any value out of range).
fn number_as<T: TryFrom<u64>>(tok: &Token, min: u64, max: u64) -> Result<T, CliError> {
    let n = number(tok, min, max)?;
    T::try_from(n).map_err(|_| CliError {
        column: tok.text_start(),
        kind: CliErrorKind::OutOfRange {
            value: tok.text.clone(),
            min,
            max,
        },
    })
}

/// The value of an option's argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A toggle.
    Flag,
    /// A protocol number.
    Protocol(u8),
    /// An address prefix.
    Prefix(Prefix),
    /// A port.
    Port(u16),
    /// A session identifier.
    Id(u32),
    /// A name.
    Name(String),
    /// A keyword of the option's list.
    Keyword(&'static str),
    /// A number.
    Number(u64),
}

/// One of a list of values (`application-protocol ftp`, `protocol tcp`): the word, or a
/// prefix of exactly one (`ft`, `tc`), as the Junos CLI completes enumerated values; a
/// prefix of several lists them; anything else is `invalid OPTION: 'word'`, the wording of
/// every bad value.
fn enumerated(tok: &Token, cands: &[Keyword], what: &'static str) -> Result<usize, CliError> {
    resolve(tok, cands).map_err(|e| match e.kind {
        CliErrorKind::Ambiguous { .. } => e,
        _ => CliError {
            column: tok.text_start(),
            kind: CliErrorKind::Invalid {
                what,
                value: tok.text.clone(),
            },
        },
    })
}

/// The value of option `what` (its word, for errors), of kind `arg`.
pub(super) fn value(arg: Arg, what: &'static str, tok: &Token) -> Result<Value, CliError> {
    let s = tok.text.as_str();
    let invalid = |what: &'static str| CliError {
        column: tok.text_start(),
        kind: CliErrorKind::Invalid {
            what,
            value: s.to_string(),
        },
    };
    Ok(match arg {
        Arg::Flag => Value::Flag,
        Arg::Protocol => {
            if s.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
                Value::Protocol(number_as(tok, 0, 255)?)
            } else {
                let names: Vec<Keyword> =
                    PROTOCOLS.iter().map(|(n, _)| (*n, "IP protocol")).collect();
                let name = names[enumerated(tok, &names, what)?].0;
                Value::Protocol(protocol_number(name).ok_or_else(|| invalid(what))?)
            }
        }
        Arg::Prefix => Value::Prefix(Prefix::from_str(s).map_err(|_| invalid("prefix"))?),
        Arg::Port => Value::Port(number_as(tok, 0, 65_535)?),
        Arg::SessionId => Value::Id(number_as(tok, 1, u64::from(u32::MAX))?),
        Arg::Name => {
            if s.is_empty() {
                return Err(invalid("name"));
            }
            Value::Name(s.to_string())
        }
        Arg::Keyword(words) => Value::Keyword(words[enumerated(tok, words, what)?].0),
        Arg::Number(min, max) => Value::Number(number(tok, min, max)?),
    })
}

/// Parses a command's options: each at most once, a group's options exclude each other.
fn options(toks: &[Token], specs: &[&'static OptSpec], line: &str) -> Result<Opts, CliError> {
    let mut got: Opts = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let open: Vec<&'static OptSpec> = specs
            .iter()
            .copied()
            .filter(|s| {
                !got.iter()
                    .any(|(g, _, _)| g.word == s.word || (s.group != 0 && g.group == s.group))
            })
            .collect();
        let cands: Vec<(&'static str, &'static str)> =
            open.iter().map(|s| (s.word, s.help)).collect();
        let spec = open[resolve(&toks[i], &cands)?];
        let at = toks[i].start;
        i += 1;
        let v = if spec.arg == Arg::Flag {
            Value::Flag
        } else {
            let t = toks.get(i).filter(|t| !t.pipe).ok_or_else(|| {
                syntax(
                    toks.get(i).map_or(end_column(toks, line), |t| t.start),
                    &format!("<{}>", spec.word),
                )
            })?;
            i += 1;
            value(spec.arg, spec.word, t)?
        };
        got.push((spec, v, at));
    }
    Ok(got)
}

pub(super) fn word_cands(specs: &[OptSpec]) -> Vec<(&'static str, &'static str)> {
    specs.iter().map(|s| (s.word, s.help)).collect()
}

/// Parses one pipe (the tokens after a `|`); `bar` is the `|` token.
fn pipe(bar: &Token, toks: &[Token], line: &str) -> Result<Pipe, CliError> {
    let Some(first) = toks.first() else {
        return Err(syntax(bar.end + 1, "<command>"));
    };
    let spec = &PIPES[resolve(first, &word_cands(PIPES))?];
    let args = &toks[1..];
    let mut used = 0;
    let mut arg = |what: &str| -> Result<&Token, CliError> {
        let t = args
            .get(used)
            .ok_or_else(|| syntax(end_column(toks, line), what))?;
        used += 1;
        Ok(t)
    };
    let regex = |t: &Token| {
        Regex::new(&t.text).map_err(|_| CliError {
            column: t.text_start(),
            kind: CliErrorKind::Invalid {
                what: "regular expression",
                value: t.text.clone(),
            },
        })
    };
    let p = match spec.word {
        "count" => Pipe::Count,
        "no-more" => Pipe::NoMore,
        "match" => Pipe::Match(regex(arg("<pattern>")?)?),
        "except" => Pipe::Except(regex(arg("<pattern>")?)?),
        "find" => Pipe::Find(regex(arg("<pattern>")?)?),
        "save" => Pipe::Save(arg("<filename>")?.text.clone()),
        "trim" => Pipe::Trim(number_as(arg("<columns>")?, 0, 1024)?),
        "last" => match args.first() {
            None => Pipe::Last(None),
            Some(t) => {
                used = 1;
                Pipe::Last(Some(number_as(t, 1, u64::from(LAST_MAX))?))
            }
        },
        _ => {
            // display
            let t = arg("<command>")?;
            match DISPLAY[resolve(t, &word_cands(DISPLAY))?].word {
                "json" => Pipe::Display(DisplayFormat::Json),
                _ => match args.get(used) {
                    None => Pipe::Display(DisplayFormat::Xml),
                    Some(t) => {
                        resolve(t, &word_cands(DISPLAY_XML))?;
                        used += 1;
                        Pipe::Display(DisplayFormat::XmlRpc)
                    }
                },
            }
        }
    };
    if let Some(extra) = args.get(used) {
        return Err(syntax(extra.text_start(), "<command>"));
    }
    Ok(p)
}

/// Parses a command line: keywords abbreviated to unique prefixes, options in any order,
/// then `| pipe …` sections.
///
/// # Errors
/// Unknown, ambiguous or missing words, values out of range or malformed, bad patterns.
pub fn parse<C>(root: &'static [Node<C>], line: &str) -> Result<CommandLine<C>, CliError> {
    let toks = tokenize(line)?;
    let cmd_end = toks.iter().position(|t| t.pipe).unwrap_or(toks.len());
    let (cmd, rest) = toks.split_at(cmd_end);

    // Walk the keyword tree to a command.
    let mut nodes = root;
    let mut i = 0;
    let def = loop {
        let Some(tok) = cmd.get(i) else {
            return Err(syntax(end_column(cmd, line), "<command>"));
        };
        let cands: Vec<(&'static str, &'static str)> =
            nodes.iter().map(|n| (n.word, n.help)).collect();
        let node = &nodes[resolve(tok, &cands)?];
        i += 1;
        match &node.next {
            Next::Nodes(n) => nodes = n,
            Next::Command(def) => break def,
        }
    };
    let command = (def.build)(options(&cmd[i..], &def.specs(), line)?)?;

    // Pipes. `save` ends the line: what it writes is what the pipes before it give.
    let mut pipes = Vec::new();
    let mut save_at = None;
    let mut rest = rest;
    while let Some((bar, after)) = rest.split_first() {
        if save_at.is_some() {
            return Err(syntax(bar.start, "<[Enter]>"));
        }
        let end = after.iter().position(|t| t.pipe).unwrap_or(after.len());
        let p = pipe(bar, &after[..end], line)?;
        if matches!(p, Pipe::Save(_)) {
            save_at = Some(bar.start);
        }
        pipes.push(p);
        rest = &after[end..];
    }
    Ok(CommandLine {
        command,
        pipes: Pipes(pipes),
        save_at,
    })
}

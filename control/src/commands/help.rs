//! `?`: what may come next at the end of a partial command line, as Junos lists it.

use super::grammar::{
    resolve, tokenize, value, word_cands, Arg, CliError, Keyword, Next, Node, OptSpec, Token,
    DISPLAY, DISPLAY_XML, PIPES,
};

/// One entry of a `?` listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpItem {
    /// The word (`brief`), placeholder (`<source-port>`), `<[Enter]>` or `|`.
    pub word: String,
    /// Its help text.
    pub help: &'static str,
}

impl HelpItem {
    fn new(word: impl Into<String>, help: &'static str) -> Self {
        Self {
            word: word.into(),
            help,
        }
    }
    /// True for a word that can be typed as is (not a placeholder, `<[Enter]>` or `|`).
    #[must_use]
    pub fn is_word(&self) -> bool {
        !self.word.starts_with('<') && self.word != "|"
    }
}

/// What may come next at the end of a partial command line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Help {
    /// The partial word being typed (empty after a space).
    pub partial: String,
    /// Byte offset of the partial word in the line.
    pub partial_start: usize,
    /// What may come next, filtered by the partial word.
    pub items: Vec<HelpItem>,
}

impl Help {
    /// The Junos listing: `Possible completions:` then `  word                 help`;
    /// `error: unknown command` style message when nothing fits.
    #[must_use]
    pub fn render(&self) -> String {
        if self.items.is_empty() {
            return "No valid completions\n".to_string();
        }
        let mut s = String::from("Possible completions:\n");
        for i in &self.items {
            s.push_str(&format!("  {:<20} {}\n", i.word, i.help));
        }
        s
    }
}

const ENTER: (&str, &str) = ("<[Enter]>", "Execute this command");
const PIPE: (&str, &str) = ("|", "Pipe through a command");

fn arg_items(spec: &OptSpec) -> Vec<HelpItem> {
    match spec.arg {
        Arg::Flag => Vec::new(),
        Arg::Keyword(words) => words.iter().map(|(w, h)| HelpItem::new(*w, h)).collect(),
        Arg::Protocol => {
            let mut v = vec![HelpItem::new("<number>", "Numeric protocol value (0..255)")];
            v.extend(
                crate::show::names::PROTOCOLS
                    .iter()
                    .map(|(n, _)| HelpItem::new(*n, "IP protocol")),
            );
            v
        }
        _ => vec![HelpItem::new(format!("<{}>", spec.word), spec.help)],
    }
}

/// Lists what may come after `line` (the text before the cursor), as Junos does on `?`:
/// the keywords, options, argument placeholders, `<[Enter]>` when the command is complete
/// and `|`. A partial last word narrows the list to the words it begins.
///
/// # Errors
/// An earlier word does not parse (the error the command would give).
pub fn help<C>(root: &'static [Node<C>], line: &str) -> Result<Help, CliError> {
    let mut toks = tokenize(line)?;
    let ends_open = line.is_empty()
        || line.ends_with(char::is_whitespace)
        || toks.last().is_some_and(|t| t.pipe || t.quoted);
    let (partial, partial_start) = if ends_open {
        (String::new(), line.len())
    } else {
        let t = toks.pop().unwrap_or(Token {
            text: String::new(),
            start: line.len(),
            end: line.len(),
            quoted: false,
            pipe: false,
        });
        (t.text, t.start)
    };
    let mut items: Vec<HelpItem> = match toks.iter().rposition(|t| t.pipe) {
        Some(bar) => pipe_help(&toks[bar + 1..])?,
        None => command_help(root, &toks)?,
    };
    items.retain(|i| !i.is_word() || i.word.starts_with(partial.as_str()));
    if !partial.is_empty() {
        items.retain(HelpItem::is_word);
    }
    Ok(Help {
        partial,
        partial_start,
        items,
    })
}

fn command_help<C>(root: &'static [Node<C>], toks: &[Token]) -> Result<Vec<HelpItem>, CliError> {
    let mut nodes = root;
    let mut i = 0;
    let specs = loop {
        let Some(tok) = toks.get(i) else {
            return Ok(nodes
                .iter()
                .map(|n| HelpItem::new(n.word, n.help))
                .collect());
        };
        let cands: Vec<Keyword> = nodes.iter().map(|n| (n.word, n.help)).collect();
        let node = &nodes[resolve(tok, &cands)?];
        i += 1;
        match &node.next {
            Next::Nodes(n) => nodes = n,
            Next::Command(def) => break def.specs(),
        }
    };
    // Options so far; an option at the end still waiting for its argument lists that.
    let rest = &toks[i..];
    let mut used: Vec<&'static OptSpec> = Vec::new();
    let mut j = 0;
    while j < rest.len() {
        let open: Vec<&'static OptSpec> = specs
            .iter()
            .copied()
            .filter(|s| {
                !used
                    .iter()
                    .any(|g| g.word == s.word || (s.group != 0 && g.group == s.group))
            })
            .collect();
        let cands: Vec<Keyword> = open.iter().map(|s| (s.word, s.help)).collect();
        let spec = open[resolve(&rest[j], &cands)?];
        j += 1;
        if spec.arg != Arg::Flag {
            match rest.get(j) {
                None => return Ok(arg_items(spec)),
                Some(t) => {
                    value(spec.arg, spec.word, t)?;
                    j += 1;
                }
            }
        }
        used.push(spec);
    }
    let mut items = vec![HelpItem::new(ENTER.0, ENTER.1)];
    items.extend(
        specs
            .iter()
            .filter(|s| {
                !used
                    .iter()
                    .any(|g| g.word == s.word || (s.group != 0 && g.group == s.group))
            })
            .map(|s| HelpItem::new(s.word, s.help)),
    );
    items.push(HelpItem::new(PIPE.0, PIPE.1));
    Ok(items)
}

fn pipe_help(toks: &[Token]) -> Result<Vec<HelpItem>, CliError> {
    let Some(first) = toks.first() else {
        return Ok(PIPES
            .iter()
            .map(|s| HelpItem::new(s.word, s.help))
            .collect());
    };
    let spec = &PIPES[resolve(first, &word_cands(PIPES))?];
    let done = || {
        vec![
            HelpItem::new(ENTER.0, ENTER.1),
            HelpItem::new(PIPE.0, PIPE.1),
        ]
    };
    Ok(match (spec.word, toks.len()) {
        ("display", 1) => DISPLAY
            .iter()
            .map(|s| HelpItem::new(s.word, s.help))
            .collect(),
        ("display", 2) => {
            let mut v = done();
            if DISPLAY[resolve(&toks[1], &word_cands(DISPLAY))?].word == "xml" {
                v.splice(
                    1..1,
                    DISPLAY_XML.iter().map(|s| HelpItem::new(s.word, s.help)),
                );
            }
            v
        }
        ("match" | "except" | "find", 1) => vec![HelpItem::new("<pattern>", "Pattern to match")],
        ("save", 1) => vec![HelpItem::new(
            "<filename>",
            "Name of file to save output to",
        )],
        ("trim", 1) => vec![HelpItem::new("<columns>", "Number of columns to trim")],
        ("last", 1) => {
            let mut v = vec![HelpItem::new(
                "<lines>",
                "Number of lines to show (1..100000)",
            )];
            v.extend(done());
            v
        }
        _ => done(),
    })
}

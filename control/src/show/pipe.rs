//! Output pipes (`| count`, `| match RE`, `| except RE`, `| find RE`, `| last N`,
//! `| trim N`, `| no-more`, `| display …`, `| save FILE`), applied to rendered text lines,
//! left to right, streaming: a [`PipeWriter`] takes the renderer's output and passes each
//! completed line through the chain, holding only what `last` must keep.
//!
//! `display` and `save` choose the renderer and the destination; they are carried here for
//! the caller ([`Pipes::display`], [`Pipes::save`]) and pass text through unchanged, as does
//! `no-more`.

use core::fmt::{self, Write};
use std::collections::VecDeque;

use regex::Regex;

/// Most lines `| last N` keeps.
pub const LAST_MAX: u32 = 100_000;

/// What `| display` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisplayFormat {
    /// `display xml`: the RPC reply XML.
    Xml,
    /// `display xml rpc`: the request RPC.
    XmlRpc,
    /// `display json`.
    Json,
}

/// One pipe of a command line.
#[derive(Debug, Clone)]
pub enum Pipe {
    /// `count`: `Count: N lines`.
    Count,
    /// `match RE`: lines that match.
    Match(Regex),
    /// `except RE`: lines that do not match.
    Except(Regex),
    /// `find RE`: from the first matching line on.
    Find(Regex),
    /// `last [N]`: the last N lines (all without N: there is no screen to fill).
    Last(Option<u32>),
    /// `trim N`: drop the first N columns of every line.
    Trim(u32),
    /// `no-more`: no pager.
    NoMore,
    /// `display xml | json | xml rpc`.
    Display(DisplayFormat),
    /// `save FILE`.
    Save(String),
}

impl PartialEq for Pipe {
    fn eq(&self, other: &Self) -> bool {
        use Pipe::*;
        match (self, other) {
            (Count, Count) | (NoMore, NoMore) => true,
            (Match(a), Match(b)) | (Except(a), Except(b)) | (Find(a), Find(b)) => {
                a.as_str() == b.as_str()
            }
            (Last(a), Last(b)) => a == b,
            (Trim(a), Trim(b)) => a == b,
            (Display(a), Display(b)) => a == b,
            (Save(a), Save(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Pipe {}

/// The pipes of a command line, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pipes(pub Vec<Pipe>);

impl Pipes {
    /// True without pipes.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The last `display` format asked for.
    #[must_use]
    pub fn display(&self) -> Option<DisplayFormat> {
        self.0.iter().rev().find_map(|p| match p {
            Pipe::Display(d) => Some(*d),
            _ => None,
        })
    }

    /// Whether `| no-more` asks the interactive shell not to page the answer.
    #[must_use]
    pub fn no_more(&self) -> bool {
        self.0.iter().any(|p| matches!(p, Pipe::NoMore))
    }

    /// The file of a `save` pipe.
    #[must_use]
    pub fn save(&self) -> Option<&str> {
        self.0.iter().find_map(|p| match p {
            Pipe::Save(f) => Some(f.as_str()),
            _ => None,
        })
    }

    /// Applies the pipes to a whole text.
    #[must_use]
    pub fn apply(&self, text: &str) -> String {
        let mut w = self.writer(String::new());
        // Writing to a String cannot fail.
        let _ = w.write_str(text);
        w.finish().unwrap_or_default()
    }

    /// A streaming writer: write rendered text into it, then [`PipeWriter::finish`].
    #[must_use]
    pub fn writer<W: Write>(&self, out: W) -> PipeWriter<'_, W> {
        PipeWriter {
            stages: self
                .0
                .iter()
                .filter_map(|p| {
                    let s = match p {
                        Pipe::Count => Stage::Count(0),
                        Pipe::Match(r) => Stage::Match(r, true),
                        Pipe::Except(r) => Stage::Match(r, false),
                        Pipe::Find(r) => Stage::Find(r, false),
                        Pipe::Last(Some(n)) => Stage::Last(*n as usize, VecDeque::new()),
                        Pipe::Trim(n) => Stage::Trim(*n as usize),
                        Pipe::Last(None) | Pipe::NoMore | Pipe::Display(_) | Pipe::Save(_) => {
                            return None
                        }
                    };
                    Some(s)
                })
                .collect(),
            partial: String::new(),
            out,
        }
    }
}

#[derive(Debug)]
enum Stage<'p> {
    Count(u64),
    Match(&'p Regex, bool),
    Find(&'p Regex, bool),
    Last(usize, VecDeque<String>),
    Trim(usize),
}

/// Streams text through a chain of pipes into `out`, line by line.
#[derive(Debug)]
pub struct PipeWriter<'p, W: Write> {
    stages: Vec<Stage<'p>>,
    partial: String,
    out: W,
}

impl<W: Write> PipeWriter<'_, W> {
    /// Flushes the last unterminated line and what `count` and `last` hold; returns the
    /// destination.
    ///
    /// # Errors
    /// The destination's.
    pub fn finish(mut self) -> Result<W, fmt::Error> {
        if !self.partial.is_empty() {
            let line = core::mem::take(&mut self.partial);
            self.feed(0, &line)?;
        }
        for i in 0..self.stages.len() {
            let held: Vec<String> = match &mut self.stages[i] {
                Stage::Count(n) => vec![format!("Count: {n} lines")],
                Stage::Last(_, buf) => core::mem::take(buf).into(),
                _ => continue,
            };
            for line in held {
                self.feed(i + 1, &line)?;
            }
        }
        Ok(self.out)
    }

    /// Passes one line (without its newline) through stages `i..`.
    fn feed(&mut self, i: usize, line: &str) -> fmt::Result {
        let mut line = std::borrow::Cow::Borrowed(line);
        for j in i..self.stages.len() {
            match &mut self.stages[j] {
                Stage::Count(n) => {
                    *n += 1;
                    return Ok(());
                }
                Stage::Match(re, keep) => {
                    if re.is_match(&line) != *keep {
                        return Ok(());
                    }
                }
                Stage::Find(re, found) => {
                    if !*found && !re.is_match(&line) {
                        return Ok(());
                    }
                    *found = true;
                }
                Stage::Last(n, buf) => {
                    if *n == 0 {
                        return Ok(());
                    }
                    if buf.len() == *n {
                        buf.pop_front();
                    }
                    buf.push_back(line.into_owned());
                    return Ok(());
                }
                Stage::Trim(n) => {
                    let cut = line.char_indices().nth(*n).map_or(line.len(), |(b, _)| b);
                    line = match line {
                        std::borrow::Cow::Borrowed(s) => std::borrow::Cow::Borrowed(&s[cut..]),
                        std::borrow::Cow::Owned(s) => std::borrow::Cow::Owned(s[cut..].to_string()),
                    };
                }
            }
        }
        self.out.write_str(&line)?;
        self.out.write_char('\n')
    }
}

impl<W: Write> Write for PipeWriter<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut rest = s;
        while let Some(nl) = rest.find('\n') {
            let (head, tail) = rest.split_at(nl);
            if self.partial.is_empty() {
                self.feed(0, head)?;
            } else {
                self.partial.push_str(head);
                let line = core::mem::take(&mut self.partial);
                self.feed(0, &line)?;
            }
            rest = &tail[1..];
        }
        self.partial.push_str(rest);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(s: &str) -> Regex {
        Regex::new(s).unwrap()
    }

    const TEXT: &str = "a Forward 1\nb Watch 2\nc Forward 3\nd Drop 4\n";

    #[test]
    fn no_pipes_pass_through() {
        assert_eq!(Pipes::default().apply(TEXT), TEXT);
        assert_eq!(Pipes(vec![Pipe::NoMore]).apply("x\ny"), "x\ny\n");
    }

    #[test]
    fn match_except_count_chain() {
        let p = Pipes(vec![Pipe::Match(re("Forward|Watch"))]);
        assert_eq!(p.apply(TEXT), "a Forward 1\nb Watch 2\nc Forward 3\n");
        let p = Pipes(vec![Pipe::Except(re("Forward")), Pipe::Count]);
        assert_eq!(p.apply(TEXT), "Count: 2 lines\n");
        assert_eq!(Pipes(vec![Pipe::Count]).apply(""), "Count: 0 lines\n");
        assert_eq!(Pipes(vec![Pipe::Count]).apply("\n\n"), "Count: 2 lines\n");
    }

    #[test]
    fn find_last_trim() {
        assert_eq!(
            Pipes(vec![Pipe::Find(re("Watch"))]).apply(TEXT),
            "b Watch 2\nc Forward 3\nd Drop 4\n"
        );
        assert_eq!(
            Pipes(vec![Pipe::Last(Some(2))]).apply(TEXT),
            "c Forward 3\nd Drop 4\n"
        );
        assert_eq!(
            Pipes(vec![Pipe::Last(Some(2)), Pipe::Count]).apply(TEXT),
            "Count: 2 lines\n"
        );
        assert_eq!(
            Pipes(vec![Pipe::Count, Pipe::Last(Some(5))]).apply(TEXT),
            "Count: 4 lines\n"
        );
        assert_eq!(Pipes(vec![Pipe::Trim(2)]).apply("abc\nd\n"), "c\n\n");
    }

    #[test]
    fn streaming_splits_lines_across_writes() {
        let pipes = Pipes(vec![Pipe::Match(re("^ab"))]);
        let mut w = pipes.writer(String::new());
        for chunk in ["a", "b1\nx", "y\nab", "2"] {
            w.write_str(chunk).unwrap();
        }
        assert_eq!(w.finish().unwrap(), "ab1\nab2\n");
    }

    #[test]
    fn display_and_save_are_reported() {
        let p = Pipes(vec![
            Pipe::Display(DisplayFormat::Json),
            Pipe::Save("/tmp/x".into()),
        ]);
        assert_eq!(p.display(), Some(DisplayFormat::Json));
        assert_eq!(p.save(), Some("/tmp/x"));
        assert_eq!(p.apply("x\n"), "x\n");
    }
}

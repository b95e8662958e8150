//! The interactive shell's pager, as the Junos CLI's: an answer longer than the screen stops
//! after each screenful at `---(more N%)---`; space shows the next screen, Enter the next
//! line, `q` (or Ctrl-C) ends the answer, `G` shows the rest without stopping. The screen
//! length is the terminal's rows, or what `set cli screen-length N` said (0: never stop);
//! `| no-more` turns it off for one command. Only a terminal is paged: `svcard cli -c`
//! and piped output never are.

use std::io::{self, Read, Write};

use rustix::termios::{self, LocalModes, OptionalActions};

/// What the pager prints while it waits (the answer streams: how much is left is not
/// known); erased before the next line.
const MORE: &str = "---(more)---";

/// The error a write returns when the user ended the answer with `q`: the query stops
/// there (the connection closes, and the server drops the walk).
#[derive(Debug)]
pub struct Quit;

impl std::fmt::Display for Quit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the answer was ended at the pager")
    }
}

impl std::error::Error for Quit {}

/// Whether `e` is the pager's [`Quit`].
#[must_use]
pub fn is_quit(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|i| i.is::<Quit>())
}

/// A key the pager acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// The next screenful.
    Page,
    /// One more line.
    Line,
    /// Stop the answer here.
    Quit,
    /// Everything that is left, without stopping.
    Rest,
}

impl Key {
    /// The key a byte read from the terminal means (others are ignored).
    #[must_use]
    pub fn of(b: u8) -> Option<Key> {
        match b {
            b' ' | b'f' => Some(Key::Page),
            b'\r' | b'\n' | b'j' => Some(Key::Line),
            b'q' | b'Q' | 3 => Some(Key::Quit),
            b'G' => Some(Key::Rest),
            _ => None,
        }
    }
}

/// The terminal's rows and columns, if stdout is one.
#[must_use]
pub fn terminal_size() -> Option<(u32, u32)> {
    let out = io::stdout();
    if !termios::isatty(&out) {
        return None;
    }
    termios::tcgetwinsize(&out)
        .ok()
        .map(|w| (u32::from(w.ws_row), u32::from(w.ws_col)))
        .filter(|&(r, _)| r > 1)
}

/// The terminal's rows, if stdout is one.
#[must_use]
pub fn terminal_rows() -> Option<usize> {
    terminal_size().map(|(r, _)| r as usize)
}

/// Reads keys from the terminal with its line discipline off (no echo, a byte at a time),
/// restoring it when dropped.
struct RawKeys {
    saved: Option<termios::Termios>,
}

impl RawKeys {
    fn new() -> RawKeys {
        let stdin = io::stdin();
        let saved = termios::tcgetattr(&stdin).ok();
        if let Some(t) = &saved {
            let mut raw = t.clone();
            raw.local_modes
                .remove(LocalModes::ICANON | LocalModes::ECHO | LocalModes::ISIG);
            let _ = termios::tcsetattr(&stdin, OptionalActions::Now, &raw);
        }
        RawKeys { saved }
    }

    /// The next key the pager acts on (Quit at the end of input).
    fn next(&mut self) -> Key {
        let mut b = [0u8; 1];
        loop {
            match io::stdin().read(&mut b) {
                Ok(1) => {
                    if let Some(k) = Key::of(b[0]) {
                        return k;
                    }
                }
                _ => return Key::Quit,
            }
        }
    }
}

impl Drop for RawKeys {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            let _ = termios::tcsetattr(io::stdin(), OptionalActions::Now, t);
        }
    }
}

/// A writer that passes an answer through to `out`, stopping after every `length - 1`
/// lines (the last row holds the prompt) for a key from `keys`.
pub struct Pager<'a> {
    out: &'a mut dyn Write,
    screen: usize,
    budget: usize,
    keys: &'a mut dyn FnMut() -> Key,
}

impl<'a> Pager<'a> {
    /// A pager for a screen of `length` rows (at least 2).
    pub fn new(out: &'a mut dyn Write, length: usize, keys: &'a mut dyn FnMut() -> Key) -> Self {
        let screen = length.saturating_sub(1).max(1);
        Pager {
            out,
            screen,
            budget: screen,
            keys,
        }
    }

    /// The screen is full: ask for a key, erase the prompt, and go on as it says.
    fn wait(&mut self) -> io::Result<()> {
        self.out.write_all(MORE.as_bytes())?;
        self.out.flush()?;
        let k = (self.keys)();
        write!(self.out, "\r{}\r", " ".repeat(MORE.len()))?;
        self.budget = match k {
            Key::Page => self.screen,
            Key::Line => 1,
            Key::Rest => usize::MAX,
            Key::Quit => {
                self.out.flush()?;
                return Err(io::Error::other(Quit));
            }
        };
        Ok(())
    }
}

impl Write for Pager<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while !rest.is_empty() {
            if self.budget == 0 {
                self.wait()?;
            }
            // Up to the end of this line (or of the buffer).
            let end = rest
                .iter()
                .position(|&b| b == b'\n')
                .map_or(rest.len(), |i| i + 1);
            self.out.write_all(&rest[..end])?;
            if rest[end - 1] == b'\n' {
                self.budget -= 1;
            }
            rest = &rest[end..];
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Reads the pager's keys from the terminal (raw while the answer lasts).
pub struct TerminalKeys {
    raw: Option<RawKeys>,
}

impl TerminalKeys {
    /// Keys from stdin, put in raw mode at the first prompt.
    #[must_use]
    pub fn new() -> TerminalKeys {
        TerminalKeys { raw: None }
    }

    /// The next key.
    pub fn next(&mut self) -> Key {
        self.raw.get_or_insert_with(RawKeys::new).next()
    }
}

impl Default for TerminalKeys {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paged(lines: usize, length: usize, keys: &[Key]) -> (String, bool) {
        let mut out = Vec::new();
        let mut k = keys.iter().copied();
        let mut next = || k.next().unwrap_or(Key::Quit);
        let mut p = Pager::new(&mut out, length, &mut next);
        let mut quit = false;
        // Written in odd pieces, as a socket delivers them.
        let text: String = (1..=lines).map(|i| format!("line {i}\n")).collect();
        for chunk in text.as_bytes().chunks(7) {
            if let Err(e) = p.write_all(chunk) {
                assert!(is_quit(&e), "{e}");
                quit = true;
                break;
            }
        }
        (String::from_utf8(out).unwrap(), quit)
    }

    #[test]
    fn stops_each_screen_and_follows_the_keys() {
        // 10 lines on a 5-row screen: 4 lines, the prompt; Enter: one more; space: 4 more;
        // q: the end.
        let (out, quit) = paged(10, 5, &[Key::Line, Key::Page, Key::Quit]);
        assert!(quit);
        let visible = out.matches("line ").count();
        assert_eq!(visible, 4 + 1 + 4, "{out:?}");
        assert_eq!(out.matches(MORE).count(), 3, "{out:?}");
        assert!(!out.contains("line 10\n"), "q ended it: {out:?}");
        // G shows the rest; an answer that fits never stops.
        let (out, quit) = paged(10, 5, &[Key::Rest]);
        assert!(!quit && out.contains("line 10\n"), "{out:?}");
        let (out, _) = paged(4, 5, &[]);
        assert!(!out.contains(MORE), "{out:?}");
    }

    #[test]
    fn keys_are_junos_s() {
        assert_eq!(Key::of(b' '), Some(Key::Page));
        assert_eq!(Key::of(b'\r'), Some(Key::Line));
        assert_eq!(Key::of(b'q'), Some(Key::Quit));
        assert_eq!(Key::of(3), Some(Key::Quit));
        assert_eq!(Key::of(b'x'), None);
    }
}

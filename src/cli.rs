//! `svcard cli`: one command (`-c "…"`, for scripts) or an interactive shell with a
//! `user@host> ` prompt, history (`~/.svcard_history`), tab completion from the command
//! grammar and `?`, which lists what may come next without sending the line (as Junos
//! does), then gives the line back for editing. Answers longer than the screen stop at
//! `---(more)---` (the pager, [`crate::pager`]; `set cli screen-length 0` or `| no-more`
//! turns it off).

use anyhow::Result;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{
    Cmd, ConditionalEventHandler, Editor, Event, EventContext, EventHandler, Helper, KeyEvent,
    RepeatCount,
};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use svcard_control::commands::cli::{self, CliSettings, SetCli};
use svcard_control::commands::out::Out;
use svcard_control::commands::{help, Command};
use svcard_control::server::query;

/// The default show-server socket (override with --socket or SVCARD_SOCKET).
pub fn default_socket() -> PathBuf {
    std::env::var_os("SVCARD_SOCKET")
        .map_or_else(|| PathBuf::from("/tmp/svcard.sock"), PathBuf::from)
}

/// Runs `svcard cli`. With `-c`, the exit status says whether the command ran: 0, or 1
/// when it was refused (syntax, range, a name not found; its error is the output), as
/// scripts test it.
pub fn cli(command: Option<String>, socket: &Path) -> Result<()> {
    match command {
        Some(c) => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            let ran = run_line(socket, &c, &mut out)?;
            out.flush()?;
            if !ran {
                std::process::exit(1);
            }
            Ok(())
        }
        None => interactive(socket),
    }
}

/// Counts the lines written through it.
struct Lines<W: Write> {
    inner: W,
    lines: u64,
}

impl<W: Write> Write for Lines<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Runs one command line against the server, writing the answer to `out`; returns
/// whether it ran. A line ending in `| save FILE` is carried out here: the server is asked
/// for the line before the `save`, and FILE is written by this process, with the user's
/// rights (a path the user cannot write is refused before anything is asked), then
/// `Wrote N lines of output to 'FILE'`, as Junos says it.
fn run_line(socket: &Path, line: &str, out: &mut dyn Write) -> Result<bool> {
    let save = svcard_control::commands::parse(line)
        .ok()
        .and_then(|cl| Some((cl.save_at?, cl.pipes.save()?.to_string())));
    let Some((at, path)) = save else {
        return Ok(query(socket, line, out)?);
    };
    let file = match std::fs::File::create(&path) {
        Ok(f) => f,
        Err(e) => {
            writeln!(out, "error: could not create {path}: {e}")?;
            return Ok(false);
        }
    };
    let mut w = Lines {
        inner: std::io::BufWriter::new(file),
        lines: 0,
    };
    let ran = query(socket, &line[..at], &mut w)?;
    w.flush()?;
    if !ran {
        // The answer is the command's error: the terminal's, not the file's.
        drop(w);
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let _ = std::fs::remove_file(&path);
        out.write_all(text.as_bytes())?;
        return Ok(false);
    }
    writeln!(out, "Wrote {} lines of output to '{path}'", w.lines)?;
    Ok(true)
}

/// Completion from the grammar.
struct Grammar;

impl Completer for Grammar {
    type Candidate = Pair;
    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let Ok(h) = help(&line[..pos]) else {
            return Ok((pos, Vec::new()));
        };
        let c = h
            .items
            .iter()
            .filter(|i| i.is_word())
            .map(|i| Pair {
                display: i.word.clone(),
                replacement: format!("{} ", i.word),
            })
            .collect();
        Ok((h.partial_start, c))
    }
}

impl Hinter for Grammar {
    type Hint = String;
}
impl Highlighter for Grammar {}
impl Validator for Grammar {}
impl Helper for Grammar {}

/// `?`: remembers the line and the cursor, and ends the edit; the shell prints the
/// completions and edits the same line again.
struct Question(Arc<Mutex<Option<(String, usize)>>>);

impl ConditionalEventHandler for Question {
    fn handle(
        &self,
        _evt: &Event,
        _n: RepeatCount,
        _positive: bool,
        ctx: &EventContext<'_>,
    ) -> Option<Cmd> {
        let line = ctx.line();
        // Inside a quoted pattern `?` is a character.
        if line[..ctx.pos()].matches('"').count() % 2 == 1 {
            return None;
        }
        if let Ok(mut q) = self.0.lock() {
            *q = Some((line.to_string(), ctx.pos()));
        }
        Some(Cmd::AcceptLine)
    }
}

/// Space: completes a unique keyword prefix (`sh` becomes `show `), as Junos does; after a
/// full word, a value, an ambiguous prefix or inside a quoted pattern it is a space.
struct SpaceCompletes;

/// What space inserts at the end of `before` (the line up to the cursor), if it completes
/// a keyword: the rest of the word and the space.
fn space_completion(before: &str) -> Option<String> {
    if before.matches('"').count() % 2 == 1 {
        return None;
    }
    let h = help(before).ok()?;
    if h.partial.is_empty() {
        return None;
    }
    let words: Vec<&str> = h
        .items
        .iter()
        .filter(|i| i.is_word() && i.word.starts_with(h.partial.as_str()))
        .map(|i| i.word.as_str())
        .collect();
    match words.as_slice() {
        [w] if *w != h.partial => Some(format!("{} ", &w[h.partial.len()..])),
        _ => None,
    }
}

impl ConditionalEventHandler for SpaceCompletes {
    fn handle(
        &self,
        _evt: &Event,
        _n: RepeatCount,
        _positive: bool,
        ctx: &EventContext<'_>,
    ) -> Option<Cmd> {
        let before = &ctx.line()[..ctx.pos()];
        space_completion(before).map(|rest| Cmd::Insert(1, rest))
    }
}

fn hostname(socket: &Path) -> String {
    let mut out = Vec::new();
    if query(socket, "show version", &mut out).is_ok() {
        if let Some(h) = String::from_utf8_lossy(&out)
            .lines()
            .find_map(|l| l.strip_prefix("Hostname: "))
        {
            return h.trim().to_string();
        }
    }
    "svcard".to_string()
}

/// The shell's own settings (`set cli …`, `show cli`).
#[derive(Debug, Default)]
struct Settings(CliSettings);

impl Settings {
    /// The rows the pager fills before it stops (0: it never does): `set cli
    /// screen-length`, else the terminal's; no terminal, no pager.
    fn screen_length(&self) -> usize {
        match crate::pager::terminal_rows() {
            None => 0,
            Some(rows) => self.0.screen_length.map_or(rows, |n| n as usize),
        }
    }

    /// Carries out `cmd` if it is one of the shell's own; returns its answer.
    fn apply(&mut self, cmd: &Command) -> Option<String> {
        let mut text = String::new();
        match cmd {
            Command::SetCli(s) => {
                match *s {
                    SetCli::ScreenLength(n) => self.0.screen_length = Some(n),
                    SetCli::ScreenWidth(n) => self.0.screen_width = Some(n),
                }
                let _ = cli::set(*s, &mut Out::Text(&mut text));
            }
            Command::ShowCli => {
                let mut shown = self.0;
                shown.terminal = crate::pager::terminal_size();
                let _ = cli::show(&shown, &mut Out::Text(&mut text));
            }
            _ => return None,
        }
        Some(text)
    }
}

fn interactive(socket: &Path) -> Result<()> {
    let user = std::env::var("USER").unwrap_or_else(|_| "user".into());
    let prompt = format!("{user}@{}> ", hostname(socket));
    // Tab completes the longest prefix the candidates share and a second Tab lists them,
    // as the Junos CLI does (rustyline's default cycles through them, so a second Tab
    // took a completion back).
    let config = rustyline::Config::builder()
        .completion_type(rustyline::CompletionType::List)
        .build();
    let mut rl: Editor<Grammar, rustyline::history::DefaultHistory> = Editor::with_config(config)?;
    rl.set_helper(Some(Grammar));
    let pending = Arc::new(Mutex::new(None));
    rl.bind_sequence(
        KeyEvent::from('?'),
        EventHandler::Conditional(Box::new(Question(Arc::clone(&pending)))),
    );
    rl.bind_sequence(
        KeyEvent::from(' '),
        EventHandler::Conditional(Box::new(SpaceCompletes)),
    );
    let history = std::env::var_os("HOME").map(|h| Path::new(&h).join(".svcard_history"));
    if let Some(h) = &history {
        let _ = rl.load_history(h);
    }
    let mut initial: Option<(String, String)> = None;
    let mut settings = Settings::default();
    loop {
        let read = match &initial {
            Some((l, r)) => rl.readline_with_initial(&prompt, (l, r)),
            None => rl.readline(&prompt),
        };
        initial = None;
        let line = match read {
            Ok(l) => l,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        };
        if let Some((l, pos)) = pending.lock().ok().and_then(|mut p| p.take()) {
            let before = &l[..pos];
            match help(before) {
                Ok(h) => print!("{}", h.render()),
                Err(e) => print!(
                    "{}",
                    svcard_control::commands::render_error(prompt.chars().count(), before, &e)
                ),
            }
            initial = Some((before.to_string(), l[pos..].to_string()));
            continue;
        }
        let l = line.trim();
        if l.is_empty() {
            continue;
        }
        let _ = rl.add_history_entry(l);
        if matches!(l, "quit" | "exit") {
            break;
        }
        let parsed = svcard_control::commands::parse(l).ok();
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        // The shell's own settings: kept here, answered here.
        if let Some(cl) = &parsed {
            if let Some(text) = settings.apply(&cl.command) {
                out.write_all(text.as_bytes())?;
                out.flush()?;
                continue;
            }
        }
        let no_more = parsed.as_ref().is_some_and(|cl| cl.pipes.no_more());
        let length = settings.screen_length();
        let r = if no_more || length == 0 {
            run_line(socket, l, &mut out)
        } else {
            let mut keys = crate::pager::TerminalKeys::new();
            let mut next = || keys.next();
            let mut pager = crate::pager::Pager::new(&mut out, length, &mut next);
            run_line(socket, l, &mut pager)
        };
        if let Err(e) = r {
            let quit = e
                .downcast_ref::<std::io::Error>()
                .is_some_and(crate::pager::is_quit);
            if quit {
                writeln!(out)?;
            } else {
                eprintln!("svcard: {e:#}");
            }
        }
        out.flush()?;
    }
    if let Some(h) = &history {
        let _ = rl.save_history(h);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::space_completion;

    #[test]
    fn space_completes_unique_keyword_prefixes_only() {
        assert_eq!(space_completion("sh").as_deref(), Some("ow "));
        assert_eq!(space_completion("show sec").as_deref(), Some("urity "));
        assert_eq!(space_completion("show security fl").as_deref(), Some("ow "));
        // A whole word, nothing typed, an ambiguous prefix, a value, a quoted pattern.
        assert_eq!(space_completion("show"), None);
        assert_eq!(space_completion("show "), None);
        assert_eq!(
            space_completion("show s"),
            None,
            "security, services, svcard"
        );
        assert_eq!(
            space_completion("show services sessions destination-port 8"),
            None
        );
        assert_eq!(space_completion("show version | match \"sh"), None);
    }
}

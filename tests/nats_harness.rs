//! Self-tests of the nats-server test harness (tests/support/nats_server.rs).
//! They need a real nats-server >= 2.10: run scripts/install-nats-server.sh.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use support::nats_server::{self, NatsServer};

/// Minimal std-only NATS protocol client, just enough for JetStream API
/// requests in these tests.
struct RawClient {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    next_sid: u32,
}

impl RawClient {
    /// Connects, consumes INFO, sends CONNECT + PING and waits for PONG.
    /// Returns the server's `-ERR` line as `Err` (e.g. authorization failures).
    fn connect(port: u16, connect_json: &str) -> Result<RawClient, String> {
        let stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).map_err(|e| e.to_string())?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).map_err(|e| e.to_string())?;
        let writer = stream.try_clone().map_err(|e| e.to_string())?;
        let mut c = RawClient { reader: BufReader::new(stream), writer, next_sid: 1 };
        let info = c.line()?;
        assert!(info.starts_with("INFO "), "expected INFO, got {info:?}");
        c.send(&format!("CONNECT {connect_json}\r\nPING\r\n"))?;
        loop {
            let l = c.line()?;
            match l.as_str() {
                "PONG" => return Ok(c),
                "+OK" => {}
                // The server may send an updated INFO right after CONNECT.
                _ if l.starts_with("INFO ") => {}
                _ if l.starts_with("-ERR") => return Err(l),
                _ => return Err(format!("unexpected {l:?} while connecting")),
            }
        }
    }

    fn line(&mut self) -> Result<String, String> {
        let mut l = String::new();
        match self.reader.read_line(&mut l) {
            Ok(0) => Err("connection closed".into()),
            Ok(_) => Ok(l.trim_end().to_owned()),
            Err(e) => Err(e.to_string()),
        }
    }

    fn send(&mut self, s: &str) -> Result<(), String> {
        self.writer.write_all(s.as_bytes()).map_err(|e| e.to_string())
    }

    /// Publishes `payload` to `subject` with a unique reply inbox and returns
    /// the first reply's payload.
    fn request(&mut self, subject: &str, payload: &str) -> String {
        let sid = self.next_sid;
        self.next_sid += 1;
        let inbox = format!("_INBOX.harness.{sid}");
        self.send(&format!(
            "SUB {inbox} {sid}\r\nUNSUB {sid} 1\r\nPUB {subject} {inbox} {}\r\n{payload}\r\n",
            payload.len()
        ))
        .unwrap();
        loop {
            let l = self.line().unwrap_or_else(|e| panic!("request {subject}: {e}"));
            let parts: Vec<&str> = l.split_whitespace().collect();
            match parts.first().copied() {
                Some("PING") => self.send("PONG\r\n").unwrap(),
                Some("MSG" | "HMSG") => {
                    // MSG <subj> <sid> [reply] <len> / HMSG <subj> <sid> [reply] <hlen> <len>
                    let len: usize = parts.last().unwrap().parse().unwrap();
                    let mut buf = vec![0; len + 2];
                    self.reader.read_exact(&mut buf).unwrap();
                    if parts[1] != inbox {
                        continue;
                    }
                    if parts[0] == "HMSG" {
                        let hlen: usize = parts[parts.len() - 2].parse().unwrap();
                        buf.drain(..hlen);
                    }
                    buf.truncate(buf.len() - 2);
                    return String::from_utf8(buf).unwrap();
                }
                // Async INFO (e.g. `"connect_info":true` after CONNECT).
                Some("+OK" | "PONG" | "INFO") => {}
                _ => panic!("request {subject}: unexpected {l:?}"),
            }
        }
    }
}

const CONNECT_PLAIN: &str = r#"{"verbose":false,"pedantic":false,"headers":true,"protocol":1}"#;

#[test]
fn starts_with_jetstream_on_loopback() {
    let srv = NatsServer::start();
    assert_eq!(srv.url(), format!("nats://127.0.0.1:{}", srv.port()));
    assert!(srv.store_dir().is_dir());
    let v = nats_server::parse_version(srv.version()).expect("version parses");
    assert!(v >= nats_server::MIN_VERSION, "{}", srv.version());

    let info = nats_server::read_info(srv.port()).expect("INFO line");
    assert!(info.contains(r#""jetstream":true"#), "{info}");
    assert!(info.contains(r#""host":"127.0.0.1""#), "{info}");
    assert!(info.contains(&format!(r#""port":{}"#, srv.port())), "{info}");

    let mut c = RawClient::connect(srv.port(), CONNECT_PLAIN).unwrap();
    let account = c.request("$JS.API.INFO", "");
    assert!(account.contains(r#""type":"io.nats.jetstream.api.v1.account_info_response""#), "{account}");
    assert!(!account.contains(r#""error""#), "{account}");
}

#[test]
fn kill9_then_restart_keeps_port_and_file_stream() {
    let mut srv = NatsServer::start();
    let port = srv.port();
    let store = srv.store_dir().to_path_buf();
    {
        let mut c = RawClient::connect(port, CONNECT_PLAIN).unwrap();
        let created = c.request("$JS.API.STREAM.CREATE.T", r#"{"name":"T","subjects":["t.>"],"storage":"file"}"#);
        assert!(!created.contains(r#""error""#), "{created}");
        let ack = c.request("t.one", "hello");
        assert!(ack.contains(r#""stream":"T""#) && ack.contains(r#""seq":1"#), "{ack}");
    }

    let pid = srv.pid().expect("running");
    let status = srv.kill9().expect("was running");
    assert_eq!(status.signal(), Some(9), "Child::kill must send SIGKILL, got {status:?}");
    assert!(!srv.is_running());
    assert!(srv.kill9().is_none(), "second kill9 is a no-op");
    assert!(TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err(), "port {port} still accepts after kill9");

    srv.restart();
    assert_ne!(srv.pid(), Some(pid));
    assert_eq!(srv.port(), port);
    assert_eq!(srv.store_dir(), store);

    let mut c = RawClient::connect(port, CONNECT_PLAIN).unwrap();
    let info = c.request("$JS.API.STREAM.INFO.T", "");
    assert!(!info.contains(r#""error""#), "{info}");
    assert!(info.contains(r#""storage":"file""#), "{info}");
    assert!(info.contains(r#""messages":1"#), "stream lost its message: {info}");
}

#[test]
fn restart_of_running_server_works() {
    let mut srv = NatsServer::start();
    let port = srv.port();
    srv.restart();
    assert_eq!(srv.port(), port);
    assert!(srv.is_running());
    assert!(nats_server::read_info(port).is_some());
}

#[test]
fn start_with_config_enforces_authorization() {
    let srv = NatsServer::start_with_config(
        r#"
        # ports/store in the config are overridden by the harness' command line
        port: 4222
        authorization {
            users = [ { user: "app", password: "s3cret" } ]
        }
        "#,
    );
    assert_ne!(srv.port(), 4222);
    let info = nats_server::read_info(srv.port()).unwrap();
    assert!(info.contains(r#""auth_required":true"#), "{info}");

    let err = RawClient::connect(srv.port(), r#"{"verbose":false,"user":"app","pass":"wrong"}"#)
        .err()
        .expect("wrong password must be rejected");
    assert!(err.contains("Authorization Violation"), "{err}");

    let mut c =
        RawClient::connect(srv.port(), r#"{"verbose":false,"headers":true,"user":"app","pass":"s3cret"}"#).unwrap();
    let account = c.request("$JS.API.INFO", "");
    assert!(!account.contains(r#""error""#), "{account}");
}

#[test]
fn drop_kills_server_and_removes_temp_dir() {
    let srv = NatsServer::start();
    let port = srv.port();
    let dir = srv.store_dir().parent().unwrap().to_path_buf();
    assert!(dir.is_dir());
    assert!(srv.log_path().is_file());
    drop(srv);
    assert!(!dir.exists(), "{} not removed", dir.display());
    assert!(TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err());
}

#[test]
fn concurrent_servers_are_isolated() {
    let servers: Vec<NatsServer> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..3).map(|_| s.spawn(NatsServer::start)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut ports: Vec<u16> = servers.iter().map(NatsServer::port).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 3);
    for srv in &servers {
        let info = nats_server::read_info(srv.port()).unwrap();
        assert!(info.contains(&format!(r#""server_name":"{}""#, srv.name())), "{info}");
    }
}

#[test]
fn parses_versions() {
    assert_eq!(nats_server::parse_version("nats-server: v2.15.1"), Some((2, 15)));
    assert_eq!(nats_server::parse_version("nats-server: v2.9.10"), Some((2, 9)));
    assert_eq!(nats_server::parse_version("nats-server version 2.10.0-beta"), Some((2, 10)));
    assert_eq!(nats_server::parse_version("garbage"), None);
    assert!(nats_server::parse_version("nats-server: v2.9.10").unwrap() < nats_server::MIN_VERSION);
}

#[test]
#[should_panic(expected = "exited during startup")]
fn bad_config_panics_with_log_tail() {
    let _srv = NatsServer::start_with_config("authorization { users = [ { user: ");
}

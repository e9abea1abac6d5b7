//! A 3-node nats-server cluster on loopback for fault tests: three processes
//! (the pinned binary, see `nats_server.rs`), free client, cluster and
//! monitoring ports, full-mesh routes, JetStream with separate store dirs.
//! Nodes can be killed with SIGKILL and restarted on the same ports and store.
//!
//! Readiness is polled, never slept for: a node is up when its `/healthz`
//! answers 200 (for a clustered JetStream server that means it sees a meta
//! leader and its assets are current).

use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NODES: usize = 3;
const READY_DEADLINE: Duration = Duration::from_secs(30);

struct Node {
    name: String,
    client_port: u16,
    cluster_port: u16,
    monitor_port: u16,
    config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

/// Three clustered nats-servers; dropping it kills them and removes their files.
pub struct NatsCluster {
    bin: PathBuf,
    nodes: Vec<Node>,
    _dir: tempfile::TempDir,
}

fn free_ports(n: usize) -> Vec<u16> {
    // Hold every listener until all are chosen, so no port is handed out twice.
    let listeners: Vec<TcpListener> =
        (0..n).map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0")).collect();
    listeners.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

impl NatsCluster {
    /// Starts three nodes and waits until each is healthy.
    pub fn start() -> NatsCluster {
        let bin = crate::nats_server::NatsServer::binary();
        let dir = tempfile::Builder::new().prefix("nats-cluster-").tempdir().expect("temp dir");
        let ports = free_ports(NODES * 3);
        let routes: Vec<String> = (0..NODES).map(|i| format!("nats-route://127.0.0.1:{}", ports[NODES + i])).collect();
        let nodes = (0..NODES)
            .map(|i| {
                let name = format!("n{i}");
                let store = dir.path().join(&name);
                fs::create_dir_all(&store).unwrap();
                let config = dir.path().join(format!("{name}.conf"));
                let text = format!(
                    "server_name: {name}\nlisten: \"127.0.0.1:{client}\"\nhttp: \"127.0.0.1:{monitor}\"\n\
                     jetstream {{ store_dir: {store:?} }}\n\
                     cluster {{\n  name: test-cluster\n  listen: \"127.0.0.1:{cluster}\"\n  routes: [{routes}]\n}}\n",
                    client = ports[i],
                    cluster = ports[NODES + i],
                    monitor = ports[2 * NODES + i],
                    store = store.display().to_string(),
                    routes = routes.iter().map(|r| format!("\"{r}\"")).collect::<Vec<_>>().join(", "),
                );
                fs::write(&config, text).unwrap();
                Node {
                    log: dir.path().join(format!("{name}.log")),
                    name,
                    client_port: ports[i],
                    cluster_port: ports[NODES + i],
                    monitor_port: ports[2 * NODES + i],
                    config,
                    child: None,
                }
            })
            .collect();
        let mut cluster = NatsCluster { bin, nodes, _dir: dir };
        for i in 0..NODES {
            cluster.spawn(i);
        }
        for i in 0..NODES {
            cluster.wait_healthy(i);
        }
        cluster
    }

    fn spawn(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let log = fs::OpenOptions::new().create(true).append(true).open(&node.log).unwrap();
        let child = Command::new(&self.bin)
            .arg("-c")
            .arg(&node.config)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {}: {e}", self.bin.display()));
        node.child = Some(child);
    }

    fn wait_healthy(&mut self, i: usize) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.nodes[i].child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("node {} exited: {status}\n{}", self.nodes[i].name, self.log_tail(i));
            }
            if http_get(self.nodes[i].monitor_port, "/healthz").is_some_and(|(code, _)| code == 200) {
                return;
            }
            assert!(
                start.elapsed() < READY_DEADLINE,
                "node {} not healthy within {READY_DEADLINE:?}\n{}",
                self.nodes[i].name,
                self.log_tail(i)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Client URLs of all nodes (what a service is configured with).
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(|n| format!("nats://127.0.0.1:{}", n.client_port)).collect()
    }

    /// Node names (`n0`, `n1`, `n2`), as reported in stream and consumer cluster info.
    pub fn index_of(&self, name: &str) -> usize {
        self.nodes.iter().position(|n| n.name == name).unwrap_or_else(|| panic!("no node {name}"))
    }

    /// SIGKILL node `i` (no graceful shutdown).
    pub fn kill9(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            let _ = child.kill();
            child.wait().expect("reap killed node");
        }
    }

    /// Starts node `i` again (same ports, same store) and waits until it is healthy.
    pub fn restart(&mut self, i: usize) {
        self.kill9(i);
        self.spawn(i);
        self.wait_healthy(i);
    }

    pub fn cluster_port(&self, i: usize) -> u16 {
        self.nodes[i].cluster_port
    }

    pub fn log_tail(&self, i: usize) -> String {
        let text = fs::read_to_string(&self.nodes[i].log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill9(i);
        }
    }
}

/// `GET path` on a monitoring port: (status, body).
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), Duration::from_millis(500)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let code = resp.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, resp.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default()))
}

/// A client for a service: every node's URL, unlimited reconnects.
pub async fn connect_all(cluster: &NatsCluster) -> (async_nats::Client, async_nats::jetstream::Context) {
    let addrs: Vec<async_nats::ServerAddr> = cluster.urls().iter().map(|u| u.parse().unwrap()).collect();
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .max_reconnects(None)
        .reconnect_delay_callback(|attempt| Duration::from_millis(50 * (attempt as u64).min(10)))
        .connect(addrs)
        .await
        .expect("connect to the cluster");
    let js = async_nats::jetstream::new(client.clone());
    (client, js)
}

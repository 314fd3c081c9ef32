//! What `cxsql serve` is told: the address, the token, TLS, limits, the log format.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How the server runs (the command line's `serve` flags).
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    /// The bearer token every call must carry; `None`: loopback only.
    pub token: Option<String>,
    /// A PEM certificate chain and key: TLS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Queries running at once; the others wait.
    pub max_concurrent: usize,
    pub query_timeout: Option<Duration>,
    /// How long running queries may take to finish after a stop signal.
    pub grace: Duration,
    /// Read the tables' file listings again this often (new files in a lake); `None`: on `REFRESH` only.
    pub refresh: Option<Duration>,
    pub log: LogFormat,
    /// Results keep DataFusion's view types (`Utf8View`, `BinaryView`, `ListView`); by default they are sent
    /// as the plain `Utf8`, `Binary`, `List` that most clients expect.
    pub view_types: bool,
}

/// The per-query log line's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The memory budget of a server started without `--memory-limit`: half of the memory this process may use
/// (the machine's, or its control group's limit when lower), at least 256 MB.
pub fn default_memory_limit() -> usize {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let total = read("/proc/meminfo")
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        })
        .map(|kb| kb * 1024);
    let cgroup = read("/sys/fs/cgroup/memory.max").and_then(|v| v.trim().parse::<usize>().ok());
    let usable = match (total, cgroup) {
        (Some(t), Some(c)) => t.min(c),
        (Some(t), None) => t,
        (None, Some(c)) => c,
        (None, None) => 4 << 30,
    };
    (usable / 2).max(256 << 20)
}

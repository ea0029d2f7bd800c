//! A `redis-server` of one test: on a Unix socket in its own temporary directory (so no port is picked and released,
//! and a restart gets its address back whatever else runs), without persistence, stopped when dropped. Tests that
//! stop, pause and restart Redis use it, so that the machine's shared Redis is never touched by a test. A server
//! speaking TLS listens on a loopback port instead (Redis serves TLS over TCP only).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A private `redis-server` (the binary must be on `PATH`).
#[derive(Debug)]
pub struct PrivateRedis {
    dir: tempfile::TempDir,
    /// The TLS port of a server started with [`PrivateRedis::start_tls`].
    tls_port: Option<u16>,
    args: Vec<String>,
    child: Option<Child>,
}

impl PrivateRedis {
    /// Starts `redis-server` on a socket of its own and returns once it accepts connections (panics after 5
    /// seconds).
    pub fn start() -> PrivateRedis {
        let mut redis =
            PrivateRedis { dir: tempfile::tempdir().unwrap(), tls_port: None, args: Vec::new(), child: None };
        redis.restart();
        redis
    }

    /// Starts `redis-server` speaking TLS only, on a loopback port, with the certificate and key (PEM files) given;
    /// clients need no certificate of their own. (The one server here on a port picked by binding 0 and releasing
    /// it, which Redis's TLS needs.)
    pub fn start_tls(cert: &Path, key: &Path) -> PrivateRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let (cert, key) = (cert.to_str().expect("UTF-8 path"), key.to_str().expect("UTF-8 path"));
        let args = ["--bind", "127.0.0.1", "--tls-port", &port.to_string(), "--tls-cert-file", cert, "--tls-key-file"];
        let mut args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        args.extend([key.to_owned(), "--tls-auth-clients".to_owned(), "no".to_owned()]);
        let mut redis = PrivateRedis { dir: tempfile::tempdir().unwrap(), tls_port: Some(port), args, child: None };
        redis.restart();
        redis
    }

    /// The socket's path.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("redis.sock")
    }

    /// `redis+unix://{socket}`, or `rediss://127.0.0.1:{port}/` for a server started with
    /// [`PrivateRedis::start_tls`].
    pub fn url(&self) -> String {
        match self.tls_port {
            Some(port) => format!("rediss://127.0.0.1:{port}/"),
            None => format!("redis+unix://{}", self.socket().display()),
        }
    }

    /// Starts the server again where it was (empty: nothing is persisted); nothing if it runs.
    pub fn restart(&mut self) {
        if self.child.is_some() {
            return;
        }
        let socket = self.socket();
        let _ = std::fs::remove_file(&socket);
        let child = Command::new("redis-server")
            .args(["--port", "0", "--unixsocket"])
            .arg(&socket)
            .args(["--unixsocketperm", "700", "--save", "", "--appendonly", "no"])
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(5);
        let up = |port: Option<u16>| match port {
            Some(port) => std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
            None => std::os::unix::net::UnixStream::connect(&socket).is_ok(),
        };
        while !up(self.tls_port) {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Freezes the server (SIGSTOP): connections stay open and nothing is answered, as during a stall; its keys'
    /// time to live runs on.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Thaws a paused server (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("running");
        let status = Command::new("kill").args([signal, &child.id().to_string()]).status().expect("kill");
        assert!(status.success(), "kill {signal}");
    }

    /// Kills the server (its data is lost); [`PrivateRedis::restart`] brings an empty one back where it was.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[ignore = "needs redis-server on PATH"]
    fn starts_stops_and_restarts_on_its_socket() {
        let mut redis = PrivateRedis::start();
        assert!(redis.url().starts_with("redis+unix:///"), "{}", redis.url());
        redis.stop();
        assert!(std::os::unix::net::UnixStream::connect(redis.socket()).is_err(), "stopped");
        redis.restart();
        assert!(std::os::unix::net::UnixStream::connect(redis.socket()).is_ok());
    }
}

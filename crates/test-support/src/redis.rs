//! A `redis-server` of one test: on a free loopback port, without persistence, stopped when dropped. Tests that stop
//! and restart Redis use it, so that the machine's shared Redis is never stopped by a test.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A private `redis-server` (the binary must be on `PATH`).
#[derive(Debug)]
pub struct PrivateRedis {
    pub port: u16,
    tls: bool,
    child: Option<Child>,
}

impl PrivateRedis {
    /// A loopback port free now, to start (and restart) a server on.
    pub fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
    }

    /// Starts `redis-server` on `port` and returns once it accepts connections (panics after 5 seconds).
    pub fn start(port: u16) -> PrivateRedis {
        PrivateRedis::spawn(port, &["--port", &port.to_string()], false)
    }

    /// Starts `redis-server` speaking TLS only on `port`, with the certificate and key (PEM files) given; clients
    /// need no certificate of their own.
    pub fn start_tls(port: u16, cert: &std::path::Path, key: &std::path::Path) -> PrivateRedis {
        let (cert, key) = (cert.to_str().expect("UTF-8 path"), key.to_str().expect("UTF-8 path"));
        let args = ["--port", "0", "--tls-port", &port.to_string(), "--tls-cert-file", cert, "--tls-key-file", key];
        PrivateRedis::spawn(port, &[&args[..], &["--tls-auth-clients", "no"]].concat(), true)
    }

    fn spawn(port: u16, args: &[&str], tls: bool) -> PrivateRedis {
        let child = Command::new("redis-server")
            .args(args)
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server");
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        PrivateRedis { port, tls, child: Some(child) }
    }

    /// `redis://127.0.0.1:{port}/`, or `rediss://…` for a server started with [`PrivateRedis::start_tls`].
    pub fn url(&self) -> String {
        format!("{}://127.0.0.1:{}/", if self.tls { "rediss" } else { "redis" }, self.port)
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

    /// Kills the server (its data is lost); `start` on the same port brings an empty one back.
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
    fn starts_stops_and_restarts_on_its_port() {
        let port = PrivateRedis::free_port();
        let mut redis = PrivateRedis::start(port);
        assert_eq!(redis.url(), format!("redis://127.0.0.1:{port}/"));
        redis.stop();
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "stopped");
        let again = PrivateRedis::start(port);
        assert!(std::net::TcpStream::connect(("127.0.0.1", again.port)).is_ok());
    }
}

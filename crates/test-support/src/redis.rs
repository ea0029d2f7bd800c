//! A `redis-server` of one test: on a Unix socket in its own temporary directory (so no port is picked and released,
//! and a restart gets its address back whatever else runs), without persistence, stopped when dropped. Tests that
//! stop and restart Redis use it, so that the machine's shared Redis is never stopped by a test.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A private `redis-server` (the binary must be on `PATH`).
#[derive(Debug)]
pub struct PrivateRedis {
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl PrivateRedis {
    /// Starts `redis-server` on a socket of its own and returns once it accepts connections (panics after 5
    /// seconds).
    pub fn start() -> PrivateRedis {
        let mut redis = PrivateRedis { dir: tempfile::tempdir().unwrap(), child: None };
        redis.restart();
        redis
    }

    /// The socket's path.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("redis.sock")
    }

    /// `redis+unix://{socket}`.
    pub fn url(&self) -> String {
        format!("redis+unix://{}", self.socket().display())
    }

    /// Starts the server again on the same socket (empty: nothing is persisted); nothing if it runs.
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
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server (its data is lost); [`PrivateRedis::restart`] brings an empty one back on the same socket.
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

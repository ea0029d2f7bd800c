//! A PostgreSQL server of one test, made with the machine's `initdb` and `pg_ctl` in its own temporary directory and
//! stopped when dropped: used where a test needs a server configured in a way the shared one is not (TLS with a
//! certificate the test made). It listens on a loopback port picked by binding 0 and releasing it, because
//! PostgreSQL serves TLS over TCP only. Run as root, the server runs as the `postgres` user (initdb refuses root).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A private PostgreSQL server.
#[derive(Debug)]
pub struct PrivatePostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// The account the server runs as when this process is root.
    run_as: Option<String>,
}

impl PrivatePostgres {
    /// The directory holding `initdb` and `pg_ctl`: on `PATH`, else the newest `/usr/lib/postgresql/*/bin`.
    pub fn binaries() -> Option<PathBuf> {
        let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
        let on_path = std::env::var_os("PATH").into_iter().flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>());
        if let Some(dir) = on_path.into_iter().find(|d| has_both(d)) {
            return Some(dir);
        }
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let version = entry.file_name().to_str()?.parse().ok()?;
                Some((version, entry.path().join("bin")))
            })
            .filter(|(_, bin)| has_both(bin))
            .collect();
        versions.sort();
        versions.pop().map(|(_, bin)| bin)
    }

    /// Starts a server in `bin` (see [`PrivatePostgres::binaries`]) that speaks TLS with the certificate chain and
    /// key given (PEM) and trusts every local user; returns once it accepts connections (panics after 30 seconds).
    pub fn start_tls(bin: &Path, cert_pem: &str, key_pem: &str) -> PrivatePostgres {
        let dir = tempfile::tempdir().unwrap();
        let is_root = std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false);
        let run_as = is_root.then(|| "postgres".to_owned());
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let server = PrivatePostgres { dir, bin: bin.to_owned(), port, run_as };
        std::fs::write(server.dir.path().join("server.crt"), cert_pem).unwrap();
        std::fs::write(server.dir.path().join("server.key"), key_pem).unwrap();
        std::fs::set_permissions(server.dir.path().join("server.key"), PermissionsExt::from_mode(0o600)).unwrap();
        std::fs::set_permissions(server.dir.path(), PermissionsExt::from_mode(0o700)).unwrap();
        server.own_directory();
        let data = server.data();
        let init = server.run("initdb", &["-D", data.as_str(), "-U", "postgres", "-A", "trust", "--no-sync"]);
        assert!(init.status.success(), "initdb failed: {}", String::from_utf8_lossy(&init.stderr));
        let dir = server.dir.path().display().to_string();
        let options = format!(
            "-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={dir} -c ssl=on \
             -c ssl_cert_file={dir}/server.crt -c ssl_key_file={dir}/server.key -c fsync=off"
        );
        let log = format!("{dir}/server.log");
        let start = server.run("pg_ctl", &["-D", data.as_str(), "-l", log.as_str(), "-o", options.as_str(), "start"]);
        assert!(start.status.success(), "pg_ctl start failed: {}", String::from_utf8_lossy(&start.stderr));
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the private PostgreSQL never listened: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// `postgres://postgres@{host}:{port}/postgres`: `host` is what the certificate is checked against (it resolves
    /// to loopback: `localhost` or `127.0.0.1`).
    pub fn url(&self, host: &str) -> String {
        format!("postgres://postgres@{host}:{}/postgres", self.port)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// Run as root, hands the directory (and the key, which PostgreSQL wants to be its own) to the server's account.
    fn own_directory(&self) {
        if let Some(user) = &self.run_as {
            let chown = Command::new("chown").args(["-R", user]).arg(self.dir.path()).output().expect("chown");
            assert!(chown.status.success(), "chown failed: {}", String::from_utf8_lossy(&chown.stderr));
        }
    }

    /// Runs one of the server's programs, as the server's account.
    fn run(&self, program: &str, args: &[&str]) -> Output {
        let path = self.bin.join(program);
        let mut command = match &self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(path);
                command
            }
            None => Command::new(path),
        };
        command.args(args).output().unwrap_or_else(|err| panic!("cannot run {program}: {err}"))
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self.run("pg_ctl", &["-D", data.as_str(), "-m", "immediate", "-w", "stop"]);
    }
}

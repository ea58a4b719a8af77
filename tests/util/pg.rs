//! A real PostgreSQL server for the team archive tests, started by the test itself:
//! `initdb` and `pg_ctl` in a temp dir, listening on a unix socket there (and on a local
//! TCP port with TLS when asked), password authentication, stopped when dropped. Run as
//! root, the server runs as an unprivileged user (PostgreSQL refuses root).
//!
//! Without server binaries the tests say so and skip, unless `ROLLDEX_REQUIRE_PG` is set
//! (CI sets it, and installs them).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The superuser the tests connect as, and its password.
pub const USER: &str = "rolldex";
pub const PASSWORD: &str = "team-archive-pw-7f3a";

/// A running server.
pub struct Pg {
    _dir: tempfile::TempDir,
    data: PathBuf,
    socket: PathBuf,
    bin: PathBuf,
    owner: Option<(u32, u32)>,
    /// The TCP port, when started with TLS.
    pub tcp_port: Option<u16>,
    /// The CA that signed the server's certificate, when started with TLS.
    pub ca: Option<PathBuf>,
}

/// The folder holding `initdb`, `pg_ctl` and `postgres`.
fn bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("ROLLDEX_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<PathBuf> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("initdb").is_file() && b.join("pg_ctl").is_file())
        .collect();
    versions.sort();
    if let Some(b) = versions.pop() {
        return Some(b);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
}

/// Skips (returns `None`) without server binaries, unless they are required.
pub fn start() -> Option<Pg> {
    start_with(false)
}

/// A server that also listens on 127.0.0.1 with TLS (a certificate for `localhost` signed
/// by a CA of its own, in [`Pg::ca`]).
pub fn start_tls() -> Option<Pg> {
    start_with(true)
}

fn start_with(tls: bool) -> Option<Pg> {
    let Some(bin) = bin_dir() else {
        if std::env::var_os("ROLLDEX_REQUIRE_PG").is_some() {
            panic!("ROLLDEX_REQUIRE_PG is set but no PostgreSQL server binaries were found");
        }
        eprintln!("skipped: no PostgreSQL server binaries (initdb, pg_ctl)");
        return None;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let root = is_root();
    // As root, the server runs as `postgres` (or `nobody`), which must reach its folders.
    let owner = root.then(|| {
        ["postgres", "nobody"]
            .iter()
            .find_map(|u| user_ids(u))
            .expect("an unprivileged user (postgres or nobody) to run the server")
    });
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o711)).expect("chmod");
    let data = dir.path().join("data");
    let socket = dir.path().join("sock");
    fs::create_dir(&socket).expect("mkdir");
    let pwfile = dir.path().join("pw");
    fs::write(&pwfile, PASSWORD).expect("pwfile");
    if let Some((uid, gid)) = owner {
        for p in [dir.path(), &socket, &pwfile] {
            std::os::unix::fs::chown(p, Some(uid), Some(gid)).expect("chown");
        }
    }
    let pg = Pg {
        data: data.clone(),
        socket: socket.clone(),
        bin: bin.clone(),
        owner,
        tcp_port: None,
        ca: None,
        _dir: dir,
    };
    pg.run(
        "initdb",
        &[
            "-D",
            path_str(&data),
            "-U",
            USER,
            &format!("--pwfile={}", path_str(&pwfile)),
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ],
    );
    let mut pg = pg;
    let mut options = format!(
        "-k {} -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
        path_str(&socket)
    );
    if tls {
        let port = free_port();
        let ca = pg.make_certs();
        options = format!(
            "-k {} -p {port} -c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key -c fsync=off",
            path_str(&socket)
        );
        pg.tcp_port = Some(port);
        pg.ca = Some(ca);
    }
    let log = pg.data.join("log");
    pg.run(
        "pg_ctl",
        &[
            "-D",
            path_str(&pg.data),
            "-l",
            path_str(&log),
            "-w",
            "-t",
            "60",
            "-o",
            &options,
            "start",
        ],
    );
    Some(pg)
}

impl Pg {
    /// A server tool, run as the server's user.
    fn command(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        match self.owner {
            Some((uid, gid)) => {
                let mut c = Command::new("setpriv");
                c.arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={gid}"))
                    .arg("--clear-groups")
                    .arg(&exe);
                c
            }
            None => Command::new(&exe),
        }
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let out = self
            .command(tool)
            .args(args)
            .env("LC_ALL", "C")
            .output()
            .unwrap_or_else(|e| panic!("{tool}: {e}"));
        if !out.status.success() {
            let log = fs::read_to_string(self.data.join("log")).unwrap_or_default();
            panic!(
                "{tool} failed: {}\n{}\n{log}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    /// A CA and a server certificate for `localhost` signed by it, in the data folder.
    fn make_certs(&self) -> PathBuf {
        let d = &self.data;
        let ca = d.join("ca.crt");
        let sh = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(d)
                .output()
                .expect("openssl");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        sh(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=rolldex test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        ]);
        sh(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ]);
        fs::write(d.join("ext"), "subjectAltName=DNS:localhost\n").expect("ext");
        sh(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "ext",
            "-out",
            "server.crt",
        ]);
        let key = d.join("server.key");
        fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).expect("chmod");
        if let Some((uid, gid)) = self.owner {
            for f in ["server.key", "server.crt"] {
                std::os::unix::fs::chown(d.join(f), Some(uid), Some(gid)).expect("chown");
            }
        }
        // Over TCP, TLS or nothing.
        fs::write(
            d.join("pg_hba.conf"),
            "local all all scram-sha-256\n\
             hostssl all all 127.0.0.1/32 scram-sha-256\n\
             hostnossl all all 127.0.0.1/32 reject\n",
        )
        .expect("pg_hba");
        if let Some((uid, gid)) = self.owner {
            std::os::unix::fs::chown(d.join("pg_hba.conf"), Some(uid), Some(gid)).expect("chown");
        }
        // The tests read the CA from outside the server's private folder.
        let shared = self._dir.path().join("ca.crt");
        fs::copy(&ca, &shared).expect("copy ca");
        shared
    }

    /// A URL to database `db` over the unix socket, with the password in it.
    pub fn url(&self, db: &str) -> String {
        self.url_with(db, PASSWORD)
    }

    /// The same with another password.
    pub fn url_with(&self, db: &str, password: &str) -> String {
        let port = self.tcp_port.map(|p| format!(":{p}")).unwrap_or_default();
        format!(
            "postgresql://{USER}:{password}@{}{port}/{db}",
            encode(path_str(&self.socket))
        )
    }

    /// A URL over TCP to `localhost` (TLS servers only), without sslmode.
    pub fn tcp_url(&self, db: &str) -> String {
        format!(
            "postgresql://{USER}:{PASSWORD}@localhost:{}/{db}",
            self.tcp_port.expect("a TLS server")
        )
    }

    /// Creates an empty database.
    pub fn create_db(&self, name: &str) {
        let mut c = self.client("postgres");
        c.batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .expect("create database");
    }

    /// A client connected to `db`.
    pub fn client(&self, db: &str) -> postgres::Client {
        let mut config = postgres::Config::new();
        if let Some(port) = self.tcp_port {
            config.port(port);
        }
        config
            .host_path(&self.socket)
            .user(USER)
            .password(PASSWORD)
            .dbname(db)
            .connect(postgres::NoTls)
            .expect("connect")
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let data = path_str(&self.data).to_string();
        let _ = self
            .command("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .output();
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn is_root() -> bool {
    // The owner of a file this process just made is this process's user.
    let probe = tempfile::NamedTempFile::new().expect("tmp");
    use std::os::unix::fs::MetadataExt;
    probe.as_file().metadata().expect("meta").uid() == 0
}

fn user_ids(name: &str) -> Option<(u32, u32)> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.first() == Some(&name) && f.len() > 3)
            .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
            .flatten()
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

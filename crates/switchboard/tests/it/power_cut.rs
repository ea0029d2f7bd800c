//! Acknowledged writes survive a power cut: the real binary runs under an `fsync` shim
//! (`tests/fixtures/power-cut/shadow_fsync.c`), is killed, and restarts on what its last syncs made durable.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use aws_sdk_ivschat::error::ProvideErrorMetadata;
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::apigatewayv2::{sdk, sdk_at, websocket_api};
use crate::chat::{join, refused};
use crate::harness::*;

const SHIM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/power-cut/shadow_fsync.c");

/// `switchboard serve` on `data` under the shim, which records in `shadow` what each sync made durable.
struct Recorded {
    child: Child,
    addr: SocketAddr,
}

impl Recorded {
    fn start(shim: &Path, data: &Path, shadow: &Path) -> Recorded {
        let mut command = serve_command(data);
        command.env("LD_PRELOAD", shim).env("POWER_CUT_WATCH", data).env("POWER_CUT_SHADOW", shadow);
        let (child, addr, _) = spawn_serve(command);
        Recorded { child, addr }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SIGKILL: nothing the process still had in mind reaches the disk.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// `switchboard serve` on loopback with the test key pair and `data` as its data directory; more arguments may follow.
pub(crate) fn serve_command(data: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--access-key-id", AKID, "--secret-access-key", SECRET])
        .arg("--data-dir")
        .arg(data)
        .env_remove("SWITCHBOARD_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    command
}

/// Spawns a [`serve_command`] and waits until it listens: the child, its address and its admin listener's.
pub(crate) fn spawn_serve(mut command: Command) -> (Child, SocketAddr, SocketAddr) {
    let mut child = command.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut addr, mut admin) = (None, None);
    while admin.is_none() {
        let line = lines.next().expect("the server exited").unwrap();
        if let Some(listening) = line.strip_prefix("Switchboard is listening on ") {
            addr = Some(listening.trim().parse().unwrap());
        } else if let Some(health) = line.trim().strip_prefix("Health: http://") {
            admin = Some(health.split('/').next().unwrap().parse().unwrap());
        }
    }
    std::thread::spawn(move || for _ in lines {});
    (child, addr.expect("the listening line comes first"), admin.unwrap())
}

impl Drop for Recorded {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Builds in `into` what a power cut leaves of the directory whose inode is `ino`: the names its last `fsync` saw,
/// each with the contents of its inode's last sync (empty if it had none); nothing if it was never synced.
fn surviving(ino: u64, shadow: &Path, into: &Path) {
    let Ok(listing) = std::fs::read_to_string(shadow.join(format!("dir-{ino}"))) else { return };
    for line in listing.lines() {
        let mut fields = line.splitn(3, ' ');
        let (ino, kind, name) = (fields.next().unwrap(), fields.next().unwrap(), fields.next().unwrap());
        let (ino, path) = (ino.parse().unwrap(), into.join(name));
        if kind == "d" {
            std::fs::create_dir(&path).unwrap();
            surviving(ino, shadow, &path);
        } else {
            match std::fs::copy(shadow.join(format!("file-{ino}")), &path) {
                Ok(_) => {}
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => drop(std::fs::File::create(&path).unwrap()),
                Err(err) => panic!("{err}"),
            }
        }
    }
}

async fn token(sdk: &aws_sdk_ivschat::Client, room: &str, user: &str) -> String {
    sdk.create_chat_token().room_identifier(room).user_id(user).send().await.unwrap().token().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_a_power_cut() {
    let root = tempfile::tempdir().unwrap();
    let (data, shadow, shim) = (root.path().join("data"), root.path().join("shadow"), root.path().join("shim.so"));
    std::fs::create_dir(&data).unwrap();
    std::fs::create_dir(&shadow).unwrap();
    let cc = Command::new("cc").args(["-shared", "-fPIC", "-O2", "-o"]).arg(&shim).arg(SHIM).arg("-ldl").status();
    assert!(cc.expect("a C compiler, cc").success(), "the shim builds");

    let server = Recorded::start(&shim, &data, &shadow);
    let (chat, control) = (chat_sdk_at(&server.url()), sdk_at(&server.url()));
    let mut rooms = Vec::new();
    for n in 0..5 {
        let room = chat.create_room().name(format!("room-{n}")).tags("n", n.to_string()).send().await.unwrap();
        rooms.push(room.arn().unwrap().to_owned());
    }
    let deleted = rooms.pop().unwrap();
    chat.delete_room().identifier(&deleted).send().await.unwrap();
    let api = websocket_api(&control, "kept").await;
    let route = control.create_route().api_id(&api).route_key("say").send().await.unwrap();
    let (used, unused) = (token(&chat, &rooms[0], "ann").await, token(&chat, &rooms[0], "bob").await);
    let mut request = format!("ws://{}/", server.addr).into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", used.parse().unwrap());
    let (ws, _) = tokio_tungstenite::connect_async(request).await.expect("the token is admitted once");
    // The last acknowledgement: an update, answered after the rest.
    chat.update_room().identifier(&rooms[1]).name("renamed").send().await.unwrap();

    let live_shm = std::fs::metadata(data.join("ivschat.sqlite3-shm")).unwrap().len();
    let data_ino = std::fs::metadata(&data).unwrap().ino();
    server.kill();
    drop(ws);

    let after = Arc::new(tempfile::tempdir().unwrap());
    surviving(data_ino, &shadow, after.path());
    // The model does drop what was never synced: the WAL index (mmapped, never synced) comes back empty.
    assert!(live_shm > 0);
    assert_eq!(std::fs::metadata(after.path().join("ivschat.sqlite3-shm")).map(|m| m.len()).unwrap_or(0), 0);

    let server = TestServer::start_in(after, "", |_| {}).await;
    let chat = server.chat_sdk();
    for (n, arn) in rooms.iter().enumerate() {
        let room = chat.get_room().identifier(arn).send().await.unwrap_or_else(|e| panic!("room {n} is lost: {e:?}"));
        assert_eq!(room.tags().unwrap()["n"], n.to_string());
        let name = if n == 1 { "renamed".to_owned() } else { format!("room-{n}") };
        assert_eq!(room.name().unwrap(), name);
    }
    let gone = chat.get_room().identifier(&deleted).send().await.unwrap_err();
    assert_eq!(gone.code(), Some("ResourceNotFoundException"), "a deleted room stays deleted");
    let control = sdk(&server);
    let kept = control.get_api().api_id(&api).send().await.expect("the API is kept");
    assert_eq!(kept.name(), Some("kept"));
    let kept = control.get_route().api_id(&api).route_id(route.route_id().unwrap()).send().await.unwrap();
    assert_eq!(kept.route_key(), Some("say"));
    assert_eq!(refused(&server, Some(&used)).await, (401, json!({"message": "The chat token has already been used"})));
    drop(join(&server, &unused).await);
    server.shutdown().await;
}

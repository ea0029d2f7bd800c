//! `switchboard tail`, `switchboard connections` and `switchboard rooms`: the console's live log and lists, read from
//! a server's admin listener (`/@switchboard/console/api/…`; default the local server's, `http://127.0.0.1:4511`).
//!
//! When the console asks to sign in (its admin listener is not on loopback), the command signs in with
//! `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` (one of the server's key pairs) and keeps the session cookie for
//! its own requests only.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::{Value, json};

use crate::CliError;
use crate::output::{self, Format};

/// The admin listener of a server started with the default `--listen`.
pub const DEFAULT_ADMIN_ENDPOINT: &str = "http://127.0.0.1:4511";

/// A stream that sends nothing, not even its heartbeat (every 15 s), for this long is taken for dead.
const STREAM_SILENCE: Duration = Duration::from_secs(45);

/// What `switchboard tail` streams.
#[derive(Clone, Debug, Default)]
pub struct TailOptions {
    pub admin_endpoint: Option<String>,
    pub stage: Option<String>,
    pub connection: Option<String>,
    pub room: Option<String>,
    pub route: Option<String>,
    /// Events from before the command started, printed first.
    pub backlog: usize,
    /// One JSON document per line instead of text.
    pub json: bool,
}

/// What `switchboard connections` and `switchboard rooms` list.
#[derive(Clone, Debug, Default)]
pub struct ListOptions {
    pub admin_endpoint: Option<String>,
    pub stage: Option<String>,
    pub room: Option<String>,
    /// A part of the id, source address, user agent or user.
    pub search: Option<String>,
    /// `--output`: json, text or yaml (else `AWS_DEFAULT_OUTPUT`, else json).
    pub output: Option<String>,
}

/// The console's API at one admin endpoint, signed in when it asks for it.
struct Console {
    base: String,
    http: reqwest::Client,
    cookie: Option<String>,
}

impl Console {
    fn new(endpoint: Option<&str>) -> Result<Console, CliError> {
        let base =
            format!("{}/@switchboard/console/api/", endpoint.unwrap_or(DEFAULT_ADMIN_ENDPOINT).trim_end_matches('/'));
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .read_timeout(STREAM_SILENCE)
            .build()
            .map_err(|err| CliError::other(format!("cannot build the HTTP client: {err}")))?;
        Ok(Console { base, http, cookie: None })
    }

    async fn get(&mut self, path: &str, query: &[(&str, &str)]) -> Result<reqwest::Response, CliError> {
        for attempt in 0..2 {
            let mut request = self.http.get(format!("{}{path}", self.base)).query(query);
            if let Some(cookie) = &self.cookie {
                request = request.header(reqwest::header::COOKIE, cookie);
            }
            let response = request.send().await.map_err(|err| self.unreachable(&err))?;
            match response.status().as_u16() {
                200 => return Ok(response),
                401 if attempt == 0 => self.sign_in().await?,
                404 => return Err(CliError::other(format!("{}: no console here (is it --console off?)", self.base))),
                status => return Err(CliError::other(format!("{}{path} answered HTTP {status}", self.base))),
            }
        }
        Err(CliError::other("the console refused the session it had just given".to_owned()))
    }

    async fn sign_in(&mut self) -> Result<(), CliError> {
        let (Ok(id), Ok(secret)) = (std::env::var("AWS_ACCESS_KEY_ID"), std::env::var("AWS_SECRET_ACCESS_KEY")) else {
            return Err(CliError::config(
                "The console asks to sign in (its admin listener is not on loopback): set AWS_ACCESS_KEY_ID and \
                 AWS_SECRET_ACCESS_KEY to one of the server's key pairs"
                    .to_owned(),
            ));
        };
        let body = json!({ "accessKeyId": id, "secretAccessKey": secret }).to_string();
        let response = self
            .http
            .post(format!("{}signin", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("x-switchboard-console", "1")
            .body(body)
            .send()
            .await
            .map_err(|err| self.unreachable(&err))?;
        let cookie = response.headers().get(reqwest::header::SET_COOKIE).and_then(|v| v.to_str().ok());
        match cookie.and_then(|c| c.split(';').next()) {
            Some(pair) if response.status().is_success() => {
                self.cookie = Some(pair.to_owned());
                Ok(())
            }
            _ => Err(CliError::config("The console refused AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".to_owned())),
        }
    }

    fn unreachable(&self, err: &reqwest::Error) -> CliError {
        CliError::other(format!("cannot reach the console at {}: {err}", self.base))
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| CliError::other(format!("cannot start the runtime: {err}")))
}

fn finish(result: Result<String, CliError>) -> ExitCode {
    crate::print_outcome(result)
}

/// `switchboard tail`: prints the live log until the server ends it or the command is interrupted.
pub fn tail(options: &TailOptions) -> ExitCode {
    finish(runtime().and_then(|rt| rt.block_on(stream(options))))
}

async fn stream(options: &TailOptions) -> Result<String, CliError> {
    let mut console = Console::new(options.admin_endpoint.as_deref())?;
    let backlog = options.backlog.to_string();
    let mut query = vec![("backlog", backlog.as_str())];
    for (name, value) in [
        ("stage", &options.stage),
        ("connection", &options.connection),
        ("room", &options.room),
        ("route", &options.route),
    ] {
        if let Some(value) = value {
            query.push((name, value));
        }
    }
    let mut response = console.get("events", &query).await?;
    let mut pending = String::new();
    let mut stdout = std::io::stdout();
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => return Ok(String::new()),
            Err(err) => return Err(CliError::other(format!("the live log ended: {err}"))),
        };
        pending.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = pending.find("\n\n") {
            let block: String = pending.drain(..end + 2).collect();
            let Some(data) = block.lines().find_map(|line| line.strip_prefix("data: ")) else { continue };
            let line = if options.json { data.to_owned() } else { describe(data) };
            // A closed stdout (`| head`) ends the command quietly.
            if writeln!(stdout, "{line}").and_then(|()| stdout.flush()).is_err() {
                return Ok(String::new());
            }
        }
    }
}

/// One event as a line of text: time, subject, type and what happened.
pub(crate) fn describe(data: &str) -> String {
    let Ok(event) = serde_json::from_str::<Value>(data) else { return data.to_owned() };
    let s = |name: &str| event[name].as_str().unwrap_or_default().to_owned();
    let at = event["at"]
        .as_i64()
        .and_then(|ms| time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok());
    let at = at.map_or_else(String::new, |t| {
        format!("{:02}:{:02}:{:02}.{:03}", t.hour(), t.minute(), t.second(), t.millisecond())
    });
    let subject = match (event["stage"].as_str(), event["room"].as_str()) {
        (Some(stage), _) => format!("{stage} {}", s("connection")),
        (None, Some(room)) => format!("room {room} {}", s("connection")),
        _ => s("connection"),
    };
    let what = match s("type").as_str() {
        "opened" => format!("opened from {} at {}", s("sourceIp"), s("path")),
        "frameIn" => format!("in   {}", s("data")),
        "frameOut" => format!("out  {}", s("data")),
        "route" => format!(
            "route {} → {} {} in {} ms; event {}; answer {}",
            s("route"),
            s("outcome"),
            event["status"],
            event["latencyMs"],
            s("event"),
            event["answer"].as_str().unwrap_or("(none)")
        ),
        "management" => format!("call {} → {}", s("operation"), event["status"]),
        "limit" => format!("limit {}: {}", s("limit"), s("detail")),
        "closed" => format!("closed {} {} ({})", event["code"], s("reason"), s("cause")),
        other => format!("{other} {data}"),
    };
    format!("{at} {subject} {what}")
}

/// `switchboard connections`: the live connections, newest first (at most 200).
pub fn connections(options: &ListOptions) -> ExitCode {
    finish(runtime().and_then(|rt| rt.block_on(list(options, Listing::Connections))))
}

/// `switchboard rooms`: the chat rooms with members on the node, and the APIs' stages with their connections.
pub fn rooms(options: &ListOptions) -> ExitCode {
    finish(runtime().and_then(|rt| rt.block_on(list(options, Listing::Rooms))))
}

enum Listing {
    Connections,
    Rooms,
}

async fn list(options: &ListOptions, listing: Listing) -> Result<String, CliError> {
    let format = Format::resolve(options.output.as_deref(), None)?;
    let mut console = Console::new(options.admin_endpoint.as_deref())?;
    let value = match listing {
        Listing::Connections => {
            let mut query = vec![("pageSize", "200")];
            for (name, value) in [("stage", &options.stage), ("room", &options.room), ("q", &options.search)] {
                if let Some(value) = value {
                    query.push((name, value));
                }
            }
            let page: Value = read(console.get("connections", &query).await?).await?;
            json!({ "Connections": page["items"], "Total": page["total"] })
        }
        Listing::Rooms => {
            let overview: Value = read(console.get("overview", &[]).await?).await?;
            json!({ "Rooms": overview["rooms"], "Stages": overview["stages"], "Node": overview["node"] })
        }
    };
    output::render(value, format, None)
}

async fn read(response: reqwest::Response) -> Result<Value, CliError> {
    let bytes =
        response.bytes().await.map_err(|err| CliError::other(format!("the console's answer broke off: {err}")))?;
    serde_json::from_slice(&bytes).map_err(|err| CliError::other(format!("the console's answer is not JSON: {err}")))
}

#[cfg(test)]
mod tests {
    use super::{DEFAULT_ADMIN_ENDPOINT, describe};

    #[test]
    fn the_default_endpoint_is_a_default_servers_admin_listener() {
        let port: u16 = local::DEFAULT_LISTEN.rsplit(':').next().unwrap().parse().unwrap();
        assert_eq!(DEFAULT_ADMIN_ENDPOINT, format!("http://127.0.0.1:{}", port + 1));
    }

    #[test]
    fn events_read_as_one_line_each() {
        let route = r#"{"seq":3,"at":0,"connection":"c1","stage":"prod","type":"route","route":"$default","event":"{}","outcome":"answered","status":200,"answer":"hi","latencyMs":4}"#;
        assert_eq!(describe(route), "00:00:00.000 prod c1 route $default → answered 200 in 4 ms; event {}; answer hi");
        let member = r#"{"seq":4,"at":0,"connection":"c2","room":"r","type":"frameIn","data":"x"}"#;
        assert_eq!(describe(member), "00:00:00.000 room r c2 in   x");
        assert_eq!(describe("not json"), "not json");
    }
}

//! Where a command goes and as whom: the profile (`--profile`, `AWS_PROFILE`), the endpoint (`--endpoint-url`,
//! `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`, the profile's `[services]` section and `endpoint_url`, else the
//! local Switchboard server), the region and the credentials (the standard AWS chain; against a local server without
//! credentials, the pair that server generated in its data directory).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

use aws_config::profile::ProfileSet;
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use aws_runtime::env_config::EnvConfigValue;
use aws_runtime::env_config::file::EnvConfigFiles;
use aws_types::os_shim_internal::{Env, Fs};
use aws_types::region::Region;

use super::CliError;
use super::args::{BinaryFormat, Globals};
use super::chain;
use super::model::Service;
use local::{CREDENTIALS_FILE, DEFAULT_LISTEN, default_data_dir, read_credentials};

/// The region of a local server when none is configured (the server accepts signatures of any region).
const LOCAL_REGION: &str = "us-east-1";

const NO_CREDENTIALS: &str =
    "Unable to locate credentials. You can configure credentials by running \"aws configure\".";

/// The shared config and credentials files, with the selected profile.
pub(crate) struct Profiles {
    set: ProfileSet,
    name: String,
}

impl Profiles {
    /// Reads `~/.aws/config` and `~/.aws/credentials` (or `AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE`); a
    /// profile named by `--profile` or `AWS_PROFILE` must exist.
    pub(crate) async fn load(globals: &Globals) -> Result<Profiles, CliError> {
        let selected = globals.profile.clone().or_else(|| non_empty_var("AWS_PROFILE"));
        let set = aws_config::profile::load(
            &Fs::real(),
            &Env::real(),
            &EnvConfigFiles::default(),
            selected.map(std::borrow::Cow::Owned),
        )
        .await
        .map_err(|err| CliError::config(format!("Cannot read the AWS config files: {err}")))?;
        let name = set.selected_profile().to_owned();
        if name != "default" && set.get_profile(&name).is_none() {
            return Err(CliError::config(format!("The config profile ({name}) could not be found")));
        }
        Ok(Profiles { set, name })
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.set.get_profile(&self.name).and_then(|p| p.get(key)).filter(|v| !v.is_empty())
    }

    /// The profile's `cli_binary_format` (unknown values are ignored here and left to the default).
    pub(crate) fn binary_format(&self) -> Option<BinaryFormat> {
        self.get("cli_binary_format").and_then(|v| BinaryFormat::parse(v, "cli_binary_format").ok())
    }

    /// The profile's `output`.
    pub(crate) fn output(&self) -> Option<&str> {
        self.get("output")
    }

    fn has_credentials(&self) -> bool {
        const KEYS: &[&str] = &[
            "aws_access_key_id",
            "role_arn",
            "credential_process",
            "sso_session",
            "sso_start_url",
            "web_identity_token_file",
            "login_session",
        ];
        KEYS.iter().any(|key| self.get(key).is_some())
    }
}

/// Where and as whom to send the request.
pub(crate) struct Target {
    /// The endpoint URL, as given (the SDK appends the operation's path).
    pub(crate) endpoint: String,
    pub(crate) region: String,
    pub(crate) credentials: Credentials,
    pub(crate) read_timeout: u64,
    pub(crate) connect_timeout: u64,
}

pub(crate) async fn resolve(globals: &Globals, service: &Service, profiles: &Profiles) -> Result<Target, CliError> {
    let (endpoint, endpoint_source) = endpoint(globals, service, profiles)?;
    let local = is_local(&endpoint);
    tracing::debug!(%endpoint, source = %endpoint_source, local, "Resolved the endpoint.");
    let region = region(globals, profiles, local)?;
    tracing::debug!(%region, "Resolved the region.");
    let (credentials, credentials_source) = credentials(profiles, &region, local).await?;
    tracing::debug!(access_key_id = credentials.access_key_id(), source = %credentials_source,
        "Resolved the credentials.");
    Ok(Target {
        endpoint,
        region,
        credentials,
        read_timeout: globals.read_timeout.unwrap_or(60),
        connect_timeout: globals.connect_timeout.unwrap_or(60),
    })
}

/// The endpoint and where it came from.
fn endpoint(globals: &Globals, service: &Service, profiles: &Profiles) -> Result<(String, String), CliError> {
    if let Some(url) = &globals.endpoint_url {
        check_url(url)
            .map_err(|reason| CliError::usage(format!("Bad value for --endpoint-url \"{url}\": {reason}")))?;
        return Ok((url.clone(), "--endpoint-url".to_owned()));
    }
    let ignore = non_empty_var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .or_else(|| profiles.get("ignore_configured_endpoint_urls").map(str::to_owned))
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if !ignore {
        let env = Env::real();
        let configured = EnvConfigValue::new()
            .env("AWS_ENDPOINT_URL")
            .profile("endpoint_url")
            .service_id(service.service_id)
            .load(&env, Some(&profiles.set))
            .filter(|(value, _)| !value.is_empty())
            .map(|(value, source)| (value.into_owned(), source.to_string()));
        if let Some((url, source)) = configured {
            check_url(&url)
                .map_err(|reason| CliError::config(format!("Bad endpoint URL \"{url}\" from {source}: {reason}")))?;
            return Ok((url, source));
        }
    }
    Ok((local_endpoint(), "the local Switchboard default (SWITCHBOARD_LISTEN or 127.0.0.1:4510)".to_owned()))
}

/// `http://` and the address a local `switchboard serve` listens on: `SWITCHBOARD_LISTEN` (an unspecified address
/// reached through loopback), else 127.0.0.1:4510.
fn local_endpoint() -> String {
    let default: SocketAddr = DEFAULT_LISTEN.parse().unwrap_or(SocketAddr::from((Ipv4Addr::LOCALHOST, 4510)));
    let listen = non_empty_var("SWITCHBOARD_LISTEN").and_then(|v| v.parse::<SocketAddr>().ok()).unwrap_or(default);
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, listen.port()))
}

fn check_url(url: &str) -> Result<(), &'static str> {
    const FORM: &str = "Must be of the form http://<hostname>/ or https://<hostname>/";
    let uri: http::Uri = url.parse().map_err(|_| FORM)?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http" | "https"), Some(host)) if !host.is_empty() => Ok(()),
        _ => Err(FORM),
    }
}

/// Whether the endpoint is this machine: `localhost` or a loopback address.
fn is_local(url: &str) -> bool {
    let Some(host) = url.parse::<http::Uri>().ok().and_then(|u| u.host().map(str::to_owned)) else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.to_ascii_lowercase().ends_with(".localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `--region`, `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`; a local server needs none.
fn region(globals: &Globals, profiles: &Profiles, local: bool) -> Result<String, CliError> {
    globals
        .region
        .clone()
        .filter(|r| !r.is_empty())
        .or_else(|| non_empty_var("AWS_REGION"))
        .or_else(|| non_empty_var("AWS_DEFAULT_REGION"))
        .or_else(|| profiles.get("region").map(str::to_owned))
        .or_else(|| local.then(|| non_empty_var("SWITCHBOARD_REGION").unwrap_or_else(|| LOCAL_REGION.to_owned())))
        .ok_or_else(|| {
            CliError::config(
                "You must specify a region. You can also configure your region by running \"aws configure\".",
            )
        })
}

/// The credentials and where they came from. Against a local server: the environment, the profile if it
/// configures credentials, else the pair stored in the server's data directory (never the instance metadata
/// service). Elsewhere: the SDK's default chain.
async fn credentials(profiles: &Profiles, region: &str, local: bool) -> Result<(Credentials, String), CliError> {
    if !local {
        let default_chain = aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
            .profile_name(&profiles.name)
            .region(Region::new(region.to_owned()))
            .build()
            .await;
        return match default_chain.provide_credentials().await {
            Ok(credentials) => Ok((credentials, "the default credential chain".to_owned())),
            Err(err) => {
                tracing::debug!(error = %chain(&err), "No credentials.");
                Err(CliError::config(NO_CREDENTIALS))
            }
        };
    }
    let environment = aws_config::environment::credentials::EnvironmentVariableCredentialsProvider::new();
    if let Ok(credentials) = environment.provide_credentials().await {
        return Ok((credentials, "the environment".to_owned()));
    }
    if profiles.has_credentials() {
        let provider =
            aws_config::profile::ProfileFileCredentialsProvider::builder().profile_name(&profiles.name).build();
        return match provider.provide_credentials().await {
            Ok(credentials) => Ok((credentials, format!("the profile {}", profiles.name))),
            Err(err) => Err(CliError::config(format!(
                "Cannot load the credentials of the profile {}: {}",
                profiles.name,
                chain(&err)
            ))),
        };
    }
    let dir =
        std::env::var_os("SWITCHBOARD_DATA_DIR").filter(|v| !v.is_empty()).map_or_else(default_data_dir, PathBuf::from);
    let path = dir.join(CREDENTIALS_FILE);
    match read_credentials(&path) {
        Ok(Some(pairs)) if !pairs.is_empty() => {
            let pair = &pairs[0];
            let credentials =
                Credentials::new(&pair.access_key_id, &pair.secret_access_key, None, None, "switchboard-data-dir");
            Ok((credentials, path.display().to_string()))
        }
        Ok(_) => Err(CliError::config(format!(
            "{NO_CREDENTIALS} (No key pair is stored in {} either: start `switchboard serve` once, or set \
             SWITCHBOARD_DATA_DIR to the server's data directory.)",
            path.display()
        ))),
        Err(err) => Err(CliError::config(format!("{err:#}"))),
    }
}

fn non_empty_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_endpoints_are_loopback_or_localhost() {
        assert!(is_local("http://127.0.0.1:4510"));
        assert!(is_local("http://127.3.0.1/prod"));
        assert!(is_local("http://localhost:4510/prod"));
        assert!(is_local("http://api.localhost:4510"));
        assert!(is_local("http://[::1]:4510"));
        assert!(!is_local("https://abc.execute-api.us-west-2.amazonaws.com/prod"));
        assert!(!is_local("http://192.0.2.1:4510"));
    }

    #[test]
    fn endpoint_urls_need_a_scheme_and_a_host() {
        assert!(check_url("http://127.0.0.1:4510/prod").is_ok());
        assert!(check_url("https://ivschat.us-west-2.amazonaws.com").is_ok());
        assert!(check_url("127.0.0.1:4510").is_err());
        assert!(check_url("ftp://host").is_err());
        assert!(check_url("not a url").is_err());
    }
}

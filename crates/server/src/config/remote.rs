//! Remote Lambda functions: `--lambda-endpoint` (with `--lambda-access-key-id` / `--lambda-secret-access-key`), the
//! `[lambda]` table and `[[remote_functions]]` entries of the config file — where functions that are not hosted
//! are called through the Lambda Invoke API.

use anyhow::{Context, bail};
use functions::remote::{Keys, RemoteFunction, RemoteSettings};
use serde::Deserialize;

/// The flags of remote functions.
#[derive(Debug, Default, clap::Args)]
pub struct RemoteArgs {
    /// The Lambda API that functions named by integrations and authorizers but not hosted here are invoked at
    /// (another Switchboard, an emulator, or AWS's `https://lambda.{region}.amazonaws.com`).
    #[arg(long, env = "SWITCHBOARD_LAMBDA_ENDPOINT", value_name = "URL")]
    pub lambda_endpoint: Option<String>,
    /// The key pair remote calls are signed with [default: the standard AWS credential chain].
    #[arg(long, env = "SWITCHBOARD_LAMBDA_ACCESS_KEY_ID", value_name = "AKID", requires = "lambda_secret_access_key")]
    pub lambda_access_key_id: Option<String>,
    #[arg(long, env = "SWITCHBOARD_LAMBDA_SECRET_ACCESS_KEY", value_name = "SECRET", hide_env_values = true)]
    pub lambda_secret_access_key: Option<String>,
}

/// `[lambda]`: the same settings in the config file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaFile {
    pub endpoint: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

/// One `[[remote_functions]]` entry: a function called remotely, with its own endpoint, region or keys.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteFunctionFile {
    pub name: String,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

/// Flags over `[lambda]`, and the entries; `region` is the server's.
pub(super) fn merge(
    args: RemoteArgs,
    file: LambdaFile,
    entries: Vec<RemoteFunctionFile>,
    region: &str,
) -> anyhow::Result<RemoteSettings> {
    let endpoint = args.lambda_endpoint.or(file.endpoint).map(|e| checked_endpoint(&e)).transpose()?;
    let keys = key_pair(
        args.lambda_access_key_id.or(file.access_key_id),
        args.lambda_secret_access_key.or(file.secret_access_key),
    )
    .context("the Lambda key pair")?;
    let mut functions = Vec::with_capacity(entries.len());
    for entry in entries {
        let name = entry.name.clone();
        let what = || format!("[[remote_functions]] `{name}`");
        if functions::FunctionRef::parse(&entry.name).is_none_or(|f| f.qualifier.is_some()) {
            bail!("{}: the name must be 1 to 64 characters of letters, digits, `-` and `_`", what());
        }
        if functions.iter().any(|f: &RemoteFunction| f.name == entry.name) {
            bail!("{} is defined twice", what());
        }
        functions.push(RemoteFunction {
            endpoint: entry.endpoint.map(|e| checked_endpoint(&e)).transpose().with_context(what)?,
            region: entry.region,
            keys: key_pair(entry.access_key_id, entry.secret_access_key).with_context(what)?,
            name: entry.name,
        });
    }
    Ok(RemoteSettings { endpoint, keys, functions, region: region.to_owned() })
}

fn checked_endpoint(endpoint: &str) -> anyhow::Result<String> {
    let ok = endpoint
        .strip_prefix("http://")
        .or_else(|| endpoint.strip_prefix("https://"))
        .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
    if !ok {
        bail!("the Lambda endpoint `{endpoint}` must be an http:// or https:// URL");
    }
    Ok(endpoint.trim_end_matches('/').to_owned())
}

fn key_pair(id: Option<String>, secret: Option<String>) -> anyhow::Result<Option<Keys>> {
    match (id, secret) {
        (Some(access_key_id), Some(secret_access_key)) => Ok(Some(Keys { access_key_id, secret_access_key })),
        (None, None) => Ok(None),
        _ => bail!("an access key id needs its secret access key, and the other way round"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_file_and_entries_say_where_remote_functions_are() {
        let entries: Vec<RemoteFunctionFile> = toml::from_str::<toml::Table>(
            r#"
            [[remote_functions]]
            name = "auth"
            endpoint = "https://lambda.eu-west-1.amazonaws.com/"
            region = "eu-west-1"
            access_key_id = "AKID"
            secret_access_key = "SECRET"
            "#,
        )
        .unwrap()["remote_functions"]
            .clone()
            .try_into()
            .unwrap();
        let args = RemoteArgs { lambda_endpoint: Some("http://127.0.0.1:4511".to_owned()), ..RemoteArgs::default() };
        let file = LambdaFile { endpoint: Some("http://ignored:1".to_owned()), ..LambdaFile::default() };
        let settings = merge(args, file, entries.clone(), "us-east-1").unwrap();
        assert_eq!(settings.endpoint.as_deref(), Some("http://127.0.0.1:4511"), "flags over the file");
        assert_eq!(settings.keys, None, "the standard credential chain");
        let auth = &settings.functions[0];
        assert_eq!(auth.endpoint.as_deref(), Some("https://lambda.eu-west-1.amazonaws.com"));
        assert_eq!(auth.keys.as_ref().map(|k| k.access_key_id.as_str()), Some("AKID"));

        let bad_endpoint = RemoteArgs { lambda_endpoint: Some("127.0.0.1:4511".to_owned()), ..RemoteArgs::default() };
        let err = merge(bad_endpoint, LambdaFile::default(), Vec::new(), "us-east-1").unwrap_err();
        assert!(format!("{err:#}").contains("must be an http:// or https:// URL"), "{err:#}");
        let half = LambdaFile { access_key_id: Some("AKID".to_owned()), ..LambdaFile::default() };
        assert!(merge(RemoteArgs::default(), half, Vec::new(), "us-east-1").is_err());
        let twice = [entries.clone(), entries].concat();
        let err = merge(RemoteArgs::default(), LambdaFile::default(), twice, "us-east-1").unwrap_err();
        assert!(format!("{err:#}").contains("defined twice"), "{err:#}");
    }
}

//! IVS Chat messaging settings: `--chat-*` flags, `SWITCHBOARD_CHAT_*` variables and the `[chat]` table.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

/// Chat messaging flags.
#[derive(Debug, Default, clap::Args)]
pub struct ChatArgs {
    /// IVS Chat: seconds a chat token can be redeemed, never past its session [default: 3600].
    #[arg(long, env = "SWITCHBOARD_CHAT_TOKEN_LIFETIME_SECS", value_name = "SECS")]
    pub chat_token_lifetime_secs: Option<u64>,
    /// IVS Chat: milliseconds the message review handler may take before the fallback result [default: 200].
    #[arg(long, env = "SWITCHBOARD_CHAT_REVIEW_TIMEOUT_MS", value_name = "MS")]
    pub chat_review_timeout_ms: Option<u64>,
    /// IVS Chat: the URL serving a Lambda ARN used as messageReviewHandler.uri, 'ARN=URL'. Repeatable.
    #[arg(
        long = "chat-review-handler",
        env = "SWITCHBOARD_CHAT_REVIEW_HANDLERS",
        value_name = "ARN=URL",
        value_delimiter = ' '
    )]
    pub chat_review_handlers: Vec<String>,
    /// IVS Chat: the Firehose HTTP endpoint of a delivery stream, 'STREAM=URL'. Repeatable.
    #[arg(
        long = "chat-firehose-endpoint",
        env = "SWITCHBOARD_CHAT_FIREHOSE_ENDPOINTS",
        value_name = "STREAM=URL",
        value_delimiter = ' '
    )]
    pub chat_firehose_endpoints: Vec<String>,
    /// IVS Chat: S3-compatible endpoint for s3 logging destinations (needs the S3 key pair) [default: files].
    #[arg(long, env = "SWITCHBOARD_CHAT_S3_ENDPOINT", value_name = "URL")]
    pub chat_s3_endpoint: Option<String>,
    /// IVS Chat: access key id for --chat-s3-endpoint.
    #[arg(long, env = "SWITCHBOARD_CHAT_S3_ACCESS_KEY_ID", value_name = "ID", hide_env_values = true)]
    pub chat_s3_access_key_id: Option<String>,
    /// IVS Chat: secret access key for --chat-s3-endpoint.
    #[arg(long, env = "SWITCHBOARD_CHAT_S3_SECRET_ACCESS_KEY", value_name = "SECRET", hide_env_values = true)]
    pub chat_s3_secret_access_key: Option<String>,
    /// IVS Chat: milliseconds between deliveries to CloudWatch Logs files and Firehose [default: 1000].
    #[arg(long, env = "SWITCHBOARD_CHAT_LOG_FLUSH_MS", value_name = "MS")]
    pub chat_log_flush_ms: Option<u64>,
    /// IVS Chat: milliseconds between S3 log objects [default: 60000].
    #[arg(long, env = "SWITCHBOARD_CHAT_S3_FLUSH_MS", value_name = "MS")]
    pub chat_s3_flush_ms: Option<u64>,
    /// IVS Chat: bytes of log records waiting for the writer before new ones are dropped [default: 67108864].
    #[arg(long, env = "SWITCHBOARD_CHAT_LOG_QUEUE_BYTES", value_name = "BYTES")]
    pub chat_log_queue_bytes: Option<usize>,
}

/// The `[chat]` table of the config file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatFile {
    pub token_lifetime_secs: Option<u64>,
    pub review_timeout_ms: Option<u64>,
    /// Lambda ARN → URL.
    #[serde(default)]
    pub review_handlers: BTreeMap<String, String>,
    /// Delivery stream name → Firehose HTTP endpoint URL.
    #[serde(default)]
    pub firehose_endpoints: BTreeMap<String, String>,
    pub firehose_access_key: Option<String>,
    pub log_flush_ms: Option<u64>,
    pub s3_flush_ms: Option<u64>,
    pub log_queue_bytes: Option<usize>,
    pub s3: Option<ChatS3File>,
}

/// `[chat.s3]`: an S3-compatible endpoint.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatS3File {
    pub endpoint: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub region: Option<String>,
}

/// Effective chat messaging settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatSettings {
    pub token_lifetime: Duration,
    pub review_timeout: Duration,
    pub review_handlers: BTreeMap<String, String>,
    pub firehose_endpoints: BTreeMap<String, String>,
    pub firehose_access_key: Option<String>,
    pub log_flush: Duration,
    pub s3_flush: Duration,
    pub log_queue_bytes: usize,
    pub s3: Option<chat::S3Endpoint>,
}

impl ChatSettings {
    /// Flags over the file over the defaults; map entries from flags replace the file's for the same key.
    pub fn merge(args: ChatArgs, file: ChatFile) -> anyhow::Result<ChatSettings> {
        let mut review_handlers = file.review_handlers;
        review_handlers.extend(pairs("--chat-review-handler", &args.chat_review_handlers)?);
        let mut firehose_endpoints = file.firehose_endpoints;
        firehose_endpoints.extend(pairs("--chat-firehose-endpoint", &args.chat_firehose_endpoints)?);
        for url in review_handlers.values().chain(firehose_endpoints.values()) {
            if !url.starts_with("http://") && !url.starts_with("https://") {
                bail!("chat: `{url}` must be an http:// or https:// URL");
            }
        }
        let s3_file = file.s3.unwrap_or_default();
        let s3 = match args.chat_s3_endpoint.or(s3_file.endpoint) {
            None => None,
            Some(endpoint) => Some(chat::S3Endpoint {
                endpoint,
                access_key_id: args
                    .chat_s3_access_key_id
                    .or(s3_file.access_key_id)
                    .context("chat: the S3 endpoint needs an access key id")?,
                secret_access_key: args
                    .chat_s3_secret_access_key
                    .or(s3_file.secret_access_key)
                    .context("chat: the S3 endpoint needs a secret access key")?,
                region: s3_file.region,
            }),
        };
        let settings = ChatSettings {
            token_lifetime: super::secs(
                "token_lifetime_secs",
                args.chat_token_lifetime_secs.or(file.token_lifetime_secs).unwrap_or(3600),
            )?,
            review_timeout: super::millis(
                "review_timeout_ms",
                args.chat_review_timeout_ms.or(file.review_timeout_ms).unwrap_or(200),
            )?,
            review_handlers,
            firehose_endpoints,
            firehose_access_key: file.firehose_access_key,
            log_flush: super::millis("log_flush_ms", args.chat_log_flush_ms.or(file.log_flush_ms).unwrap_or(1000))?,
            s3_flush: super::millis("s3_flush_ms", args.chat_s3_flush_ms.or(file.s3_flush_ms).unwrap_or(60_000))?,
            log_queue_bytes: args
                .chat_log_queue_bytes
                .or(file.log_queue_bytes)
                .unwrap_or(chat::DEFAULT_LOG_QUEUE_BYTES),
            s3,
        };
        if settings.token_lifetime.is_zero() || settings.review_timeout.is_zero() {
            bail!("chat: the token lifetime and the review timeout must be positive");
        }
        if settings.log_flush.is_zero() || settings.s3_flush.is_zero() {
            bail!("chat: flush intervals must be positive");
        }
        if settings.log_queue_bytes == 0 {
            bail!("chat: log_queue_bytes must be positive");
        }
        Ok(settings)
    }

    /// The messaging layer's configuration.
    pub fn chat_config(&self, data_dir: &Path, region: &str, account_id: &str) -> chat::ChatConfig {
        let mut config = chat::ChatConfig::new(data_dir, region, account_id);
        config.token_lifetime = self.token_lifetime;
        config.review_timeout = self.review_timeout;
        config.review_handlers = self.review_handlers.clone();
        config.firehose_endpoints = self.firehose_endpoints.clone();
        config.firehose_access_key = self.firehose_access_key.clone();
        config.log_flush_interval = self.log_flush;
        config.s3_flush_interval = self.s3_flush;
        config.log_queue_bytes = self.log_queue_bytes;
        config.s3 = self.s3.clone();
        config
    }
}

fn pairs(flag: &str, specs: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    specs
        .iter()
        .map(|spec| {
            let (key, url) = spec.split_once('=').with_context(|| format!("{flag} `{spec}` must look like KEY=URL"))?;
            Ok((key.to_owned(), url.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser)]
    struct Flags {
        #[command(flatten)]
        chat: ChatArgs,
    }

    fn flags(argv: &[&str]) -> ChatArgs {
        <Flags as clap::Parser>::try_parse_from(std::iter::once("serve").chain(argv.iter().copied())).unwrap().chat
    }

    #[test]
    fn defaults() {
        let settings = ChatSettings::merge(ChatArgs::default(), ChatFile::default()).unwrap();
        assert_eq!(settings.token_lifetime, Duration::from_secs(3600));
        assert_eq!(settings.review_timeout, Duration::from_millis(200));
        assert_eq!(settings.log_flush, Duration::from_secs(1));
        assert_eq!(settings.s3_flush, Duration::from_secs(60));
        assert!(settings.review_handlers.is_empty() && settings.firehose_endpoints.is_empty());
        assert_eq!(settings.s3, None);
    }

    #[test]
    fn log_queue_bytes_from_the_file_and_flags() {
        let defaults = ChatSettings::merge(ChatArgs::default(), ChatFile::default()).unwrap();
        assert_eq!(defaults.log_queue_bytes, 64 << 20);
        let file: ChatFile = toml::from_str("log_queue_bytes = 1048576").unwrap();
        let settings = ChatSettings::merge(ChatArgs::default(), file.clone()).unwrap();
        assert_eq!(settings.log_queue_bytes, 1 << 20);
        let settings = ChatSettings::merge(flags(&["--chat-log-queue-bytes", "4096"]), file).unwrap();
        assert_eq!(settings.log_queue_bytes, 4096);
        let config = settings.chat_config(Path::new("/data"), "us-east-1", "000000000000");
        assert_eq!(config.log_queue_bytes, 4096);
        assert!(ChatSettings::merge(flags(&["--chat-log-queue-bytes", "0"]), ChatFile::default()).is_err());
    }

    #[test]
    fn flags_override_the_file() {
        let file: ChatFile = toml::from_str(
            r#"
            token_lifetime_secs = 60
            review_timeout_ms = 300
            firehose_access_key = "k"
            [review_handlers]
            "arn:aws:lambda:us-east-1:000000000000:function:a" = "http://127.0.0.1:1/a"
            [firehose_endpoints]
            stream = "http://127.0.0.1:1/file"
            [s3]
            endpoint = "http://127.0.0.1:9000"
            access_key_id = "minio"
            secret_access_key = "secret"
            region = "eu-west-1"
            "#,
        )
        .unwrap();
        let args = flags(&[
            "--chat-token-lifetime-secs",
            "120",
            "--chat-review-handler",
            "arn:aws:lambda:us-east-1:000000000000:function:a=http://127.0.0.1:2/a?x=1",
            "--chat-firehose-endpoint",
            "other=https://firehose.example/",
            "--chat-s3-flush-ms",
            "500",
        ]);
        let settings = ChatSettings::merge(args, file).unwrap();
        assert_eq!(settings.token_lifetime, Duration::from_secs(120));
        assert_eq!(settings.review_timeout, Duration::from_millis(300));
        assert_eq!(
            settings.review_handlers["arn:aws:lambda:us-east-1:000000000000:function:a"],
            "http://127.0.0.1:2/a?x=1"
        );
        assert_eq!(settings.firehose_endpoints.len(), 2);
        assert_eq!(settings.s3_flush, Duration::from_millis(500));
        let s3 = settings.s3.unwrap();
        assert_eq!((s3.endpoint.as_str(), s3.region.as_deref()), ("http://127.0.0.1:9000", Some("eu-west-1")));
        let config = ChatSettings::merge(ChatArgs::default(), ChatFile::default()).unwrap().chat_config(
            Path::new("/data"),
            "us-west-2",
            "123456789012",
        );
        assert_eq!(config.data_dir, Path::new("/data"));
        assert_eq!(config.region, "us-west-2");
    }

    #[test]
    fn refuses_bad_settings() {
        assert!(ChatSettings::merge(flags(&["--chat-review-handler", "no-equals"]), ChatFile::default()).is_err());
        assert!(ChatSettings::merge(flags(&["--chat-firehose-endpoint", "s=ftp://x"]), ChatFile::default()).is_err());
        assert!(
            ChatSettings::merge(flags(&["--chat-s3-endpoint", "http://127.0.0.1:9000"]), ChatFile::default()).is_err()
        );
        assert!(ChatSettings::merge(flags(&["--chat-log-flush-ms", "0"]), ChatFile::default()).is_err());
    }
}

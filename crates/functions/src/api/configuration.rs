//! `GetFunction` and `ListFunctions`: a hosted function's definition as the model's `FunctionConfiguration`
//! (its code's size and last change read from its code directory), and the list paginated with an opaque `Marker`.

use std::path::Path;
use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as MARKER;
use serde_json::{Value, json};
use time::OffsetDateTime;
use wire::ApiError;

use super::{LATEST, LambdaApi, Reply, invalid, route::Query};
use crate::arn::function_arn;
use crate::spec::FunctionSpec;

/// `ListFunctions` answers at most this many functions when `MaxItems` is not given, as Lambda does.
const DEFAULT_MAX_ITEMS: usize = 50;

/// The most directory entries read to size a function's code; a larger tree is reported by what was read.
const MAX_CODE_ENTRIES: usize = 20_000;

impl LambdaApi {
    /// `GetFunction`: `Configuration`, and `Concurrency` when the function reserves some.
    pub(super) fn get_function(&self, name: &str, query: &Query) -> Result<Reply, ApiError> {
        let function = self.resolve(name, query.get("Qualifier"))?;
        let spec = self.functions.spec(&function.name).ok_or_else(|| invalid("the function is gone"))?;
        let mut configuration = self.configuration(spec);
        if function.qualifier.is_some() {
            let settings = self.functions.settings();
            configuration["FunctionArn"] = json!(function.invoked_arn(&settings.region, &settings.account_id));
        }
        let mut answer = json!({ "Configuration": configuration });
        if let Some(reserved) = spec.reserved_concurrency {
            answer["Concurrency"] = json!({ "ReservedConcurrentExecutions": reserved });
        }
        Ok(Reply::json(&answer))
    }

    /// `ListFunctions`: the hosted functions by name, `MaxItems` (1–10000, default 50) at a time, `NextMarker` while
    /// more follow. `FunctionVersion=ALL` lists the same (hosted functions have only `$LATEST`); with `MasterRegion`
    /// (Lambda@Edge replicas) the list is empty.
    pub(super) fn list_functions(&self, query: &Query) -> Result<Reply, ApiError> {
        let max_items = match query.get("MaxItems") {
            None => DEFAULT_MAX_ITEMS,
            Some(text) => {
                let shape = &aws_models::lambda::shapes::MAX_LIST_ITEMS;
                let (min, max) = (shape.min.unwrap_or(1), shape.max.unwrap_or(10_000));
                match text.parse::<i64>() {
                    Ok(n) if (min..=max).contains(&n) => n as usize,
                    _ => {
                        return Err(invalid(format!(
                            "1 validation error detected: Value '{text}' at 'maxItems' failed to satisfy constraint: \
                             Member must have value between {min} and {max}"
                        )));
                    }
                }
            }
        };
        match query.get("FunctionVersion") {
            None | Some("ALL") => {}
            Some(other) => {
                return Err(invalid(format!(
                    "1 validation error detected: Value '{other}' at 'functionVersion' failed to satisfy constraint: \
                     Member must satisfy enum value set: [ALL]"
                )));
            }
        }
        let edge_only = query.get("MasterRegion").is_some();
        if edge_only && query.get("FunctionVersion") != Some("ALL") {
            return Err(invalid("FunctionVersion must be ALL when MasterRegion is specified."));
        }
        let after = match query.get("Marker").filter(|m| !m.is_empty()) {
            None => None,
            Some(marker) => Some(
                MARKER
                    .decode(marker)
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .ok_or_else(|| invalid(format!("Invalid marker: {marker}")))?,
            ),
        };
        let remaining: Vec<&FunctionSpec> = self
            .functions
            .specs()
            .filter(|_| !edge_only)
            .filter(|spec| after.as_deref().is_none_or(|after| spec.name.as_str() > after))
            .collect();
        let page = &remaining[..remaining.len().min(max_items)];
        let mut answer = json!({ "Functions": page.iter().map(|spec| self.configuration(spec)).collect::<Vec<_>>() });
        if remaining.len() > page.len()
            && let Some(last) = page.last()
        {
            answer["NextMarker"] = json!(MARKER.encode(&last.name));
        }
        Ok(Reply::json(&answer))
    }

    /// The model's `FunctionConfiguration` of a hosted function.
    fn configuration(&self, spec: &FunctionSpec) -> Value {
        let settings = self.functions.settings();
        let (code_size, modified) = code_facts(&spec.code_dir);
        let mut configuration = json!({
            "FunctionName": spec.name,
            "FunctionArn": function_arn(&settings.region, &settings.account_id, &spec.name),
            "Runtime": spec.runtime.name(),
            "Handler": spec.handler,
            "CodeSize": code_size,
            "Description": "",
            "Timeout": spec.timeout.as_secs(),
            "MemorySize": spec.memory_mb,
            "LastModified": last_modified(modified),
            "Version": LATEST,
            "TracingConfig": { "Mode": "PassThrough" },
            "State": "Active",
            "LastUpdateStatus": "Successful",
            "PackageType": "Zip",
            "Architectures": [architecture()],
            "EphemeralStorage": { "Size": 512 },
            "LoggingConfig": { "LogFormat": "Text", "LogGroup": format!("/aws/lambda/{}", spec.name) },
        });
        if !spec.environment.is_empty() {
            configuration["Environment"] = json!({ "Variables": spec.environment });
        }
        configuration
    }
}

/// The size of a code directory's files and the time the newest of them changed (at most
/// [`MAX_CODE_ENTRIES`] entries read; symbolic links not followed).
fn code_facts(dir: &Path) -> (u64, Option<SystemTime>) {
    let mut size = 0u64;
    let mut newest: Option<SystemTime> = None;
    let mut pending = vec![dir.to_path_buf()];
    let mut seen = 0usize;
    while let Some(next) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&next) else { continue };
        for entry in entries.flatten() {
            seen += 1;
            if seen > MAX_CODE_ENTRIES {
                return (size, newest);
            }
            let Ok(meta) = entry.path().symlink_metadata() else { continue };
            if meta.is_dir() {
                pending.push(entry.path());
            } else if meta.is_file() {
                size += meta.len();
                if let Ok(modified) = meta.modified() {
                    newest = Some(newest.map_or(modified, |n| n.max(modified)));
                }
            }
        }
    }
    (size, newest)
}

/// Lambda's `LastModified` format: `2024-05-01T12:00:00.000+0000`.
fn last_modified(at: Option<SystemTime>) -> String {
    let at = at.map_or_else(OffsetDateTime::now_utc, OffsetDateTime::from);
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]+0000");
    at.to_offset(time::UtcOffset::UTC).format(&format).unwrap_or_default()
}

/// The machine's architecture as Lambda names it.
fn architecture() -> &'static str {
    if std::env::consts::ARCH == "aarch64" { "arm64" } else { "x86_64" }
}

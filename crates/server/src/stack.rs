//! A SAM or CloudFormation template run by this server (`--template`): applied through the apigatewayv2 control
//! plane before the listener accepts (its functions hosted beside the others), applied again when the file changes
//! (`--watch`).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use apigatewayv2::ControlPlane;
use functions::FunctionSpec;
use parking_lot::Mutex;
use tasks::Background;

use crate::config::{Config, TemplateSettings};
use crate::metrics::ReloadLabels;
use crate::state::AppState;

/// How often `--watch` looks at the template file.
pub(crate) const WATCH_INTERVAL: Duration = Duration::from_millis(500);

/// What the last successful apply of the template did, for the banner and reloads.
#[derive(Debug, Default)]
pub struct Stack {
    pub applied: Mutex<Option<template::Applied>>,
}

fn options(config: &Config, settings: &TemplateSettings) -> template::Options {
    template::Options {
        stack_name: settings.stack_name.clone(),
        region: config.region.clone(),
        account_id: config.account_id.clone(),
        parameter_overrides: settings.parameter_overrides.clone(),
        data_dir: config.data_dir.clone(),
    }
}

/// Loads and applies the configured template.
pub(crate) async fn apply(
    config: &Config,
    settings: &TemplateSettings,
    control: &ControlPlane,
) -> Result<template::Applied, template::Error> {
    let loaded = template::Template::load(&settings.file)?;
    template::apply(&loaded, &options(config, settings), control).await
}

/// After a reload: the functions are hosted as they were defined at start (their code is watched, their definitions
/// are not), so a definition that changed or appeared is named, with what it takes to apply it.
fn report_function_changes(hosted: &functions::Functions, defined: &[FunctionSpec]) {
    for spec in defined {
        match hosted.spec(&spec.name) {
            Some(current) if current == spec => {}
            Some(_) => tracing::warn!(
                function = %spec.name,
                "The template changed this function's definition; restart the server to run it with the new one."
            ),
            None => tracing::warn!(
                function = %spec.name,
                "The template defines a new function; restart the server to host it."
            ),
        }
    }
}

/// Logs what an apply did, line by line.
pub(crate) fn log_report(applied: &template::Applied) {
    for line in applied.report() {
        tracing::info!("{line}");
    }
}

/// With `--watch`: applies the template again whenever its contents change. A template that fails to load or
/// apply leaves what runs as it was (every stage keeps its deployment) and says why.
pub(crate) fn watch(state: &Arc<AppState>, background: &Background) {
    let Some(settings) = state.config.template.clone() else { return };
    if !state.config.watch {
        return;
    }
    let state = state.clone();
    background.spawn(async move {
        let mut last = contents(&settings.file);
        loop {
            tokio::time::sleep(WATCH_INTERVAL).await;
            let now = contents(&settings.file);
            if now == last {
                continue;
            }
            last = now;
            tracing::info!(template = %settings.file.display(), "The template changed; applying it again.");
            match apply(&state.config, &settings, &state.apigatewayv2).await {
                Ok(applied) => {
                    log_report(&applied);
                    report_function_changes(&state.functions, &applied.functions);
                    *state.stack.applied.lock() = Some(applied);
                    state.metrics.template_reloads.get_or_create(&ReloadLabels { outcome: "applied" }).inc();
                }
                Err(err) => {
                    tracing::warn!(%err, "The template was not applied; what runs is unchanged.");
                    state.metrics.template_reloads.get_or_create(&ReloadLabels { outcome: "refused" }).inc();
                }
            }
        }
    });
}

/// The file's bytes, or `None` while it cannot be read (an editor replacing it).
fn contents(path: &Path) -> Option<Vec<u8>> {
    std::fs::read(path).ok()
}
